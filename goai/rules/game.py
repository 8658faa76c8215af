"""A game in progress: board, side to move, komi, history, superko, undo, scoring.

``GameState`` is what the feature encoder, the GTP engine, the gymnasium
environment and the SGF replay all share. It wraps a ``board.Board`` and adds
what needs the past: whose turn it is, the moves played (for history planes
and undo), passes, and the set of earlier positions for positional superko.

Superko is *detectable* always (``repeats_position``) and *enforced* only when
``superko=True``: engines enforce it (Tromp-Taylor, Chinese rules, KGS), but
game records from servers that used simple ko may legally repeat a position
(triple ko), so replaying records uses ``superko=False``.

Undo replays the game from its setup without the last move. That costs
O(moves) per undo, which is nothing at GTP speed, and keeps the board free of
snapshot bookkeeping on the hot path of data preparation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from goai.rules.board import BLACK, COLOR_WORDS, EMPTY, WHITE, Board, IllegalMoveError, opponent
from goai.rules.coords import NETWORK_SIZE, PASS, move_from_gtp, move_to_gtp, move_to_slot

__all__ = [
    "GameState", "IllegalMoveError", "fixed_handicap", "format_result", "replay", "replay_moves",
    "setup_position",
]


class GameState:
    """Board + side to move + komi + move history.

    ``history`` holds ``(color, move)`` for every move played since the setup
    stones, passes included. Colours need not alternate (GTP ``play`` may give
    two moves of one colour); the side to move is always the opponent of the
    last mover.
    """

    def __init__(self, size: int = 19, komi: float = 7.5, *, superko: bool = True) -> None:
        self.board = Board(size)
        self.komi = komi
        self.superko = superko
        self.to_play = BLACK
        self.history: list[tuple[int, int]] = []
        self.setup_black: list[int] = []
        self.setup_white: list[int] = []
        self.handicap = 0
        # Hashes of every position reached, for positional superko.
        self._seen_hashes: dict[int, int] = {self.board.hash: 1}

    @property
    def size(self) -> int:
        return self.board.size

    def copy(self) -> GameState:
        other = GameState.__new__(GameState)
        other.board = self.board.copy()
        other.komi = self.komi
        other.superko = self.superko
        other.to_play = self.to_play
        other.history = self.history.copy()
        other.setup_black = self.setup_black.copy()
        other.setup_white = self.setup_white.copy()
        other.handicap = self.handicap
        other._seen_hashes = dict(self._seen_hashes)
        return other

    # ----------------------------------------------------------------- setup

    def setup(self, black: Iterable[int] = (), white: Iterable[int] = (),
              handicap: int | None = None) -> None:
        """Place setup stones (handicap, SGF ``AB``/``AW``) before any move.

        With black stones and no white ones, White moves next, as in a
        handicap game; otherwise the side to move is unchanged.
        Raises ``ValueError`` once moves have been played.
        """
        if self.history:
            raise ValueError("setup stones can only be placed before the first move")
        black, white = list(black), list(white)
        for point in black:
            self.board.place(point, BLACK)
        for point in white:
            self.board.place(point, WHITE)
        self.setup_black += black
        self.setup_white += white
        if handicap is not None:
            self.handicap = handicap
        if black and not white:
            self.to_play = WHITE
        self._seen_hashes = {self.board.hash: 1}

    # ----------------------------------------------------------------- rules

    def illegal_reason(self, move: int, color: int | None = None) -> str | None:
        """Why ``move`` is illegal for ``color`` (default: side to move), or None."""
        if move == PASS:
            return None
        color = self.to_play if color is None else color
        reason = self.board.illegal_reason(move, color)
        if reason is None and self.superko and self.repeats_position(move, color):
            return "superko"
        return reason

    def is_legal(self, move: int, color: int | None = None) -> bool:
        return self.illegal_reason(move, color) is None

    def repeats_position(self, move: int, color: int) -> bool:
        """Would this (otherwise legal) play recreate an earlier whole-board position?"""
        return move != PASS and self.board.hash_after(move, color) in self._seen_hashes

    def legal_moves(self, color: int | None = None) -> list[int]:
        """Every legal point for ``color`` followed by PASS (always legal).

        Same answer as asking ``illegal_reason`` of every point, at a fraction
        of the cost (it runs on every genmove): an empty point with an empty
        neighbour can be neither suicide nor the ko point, so only the points
        hemmed in by stones get the full check, and superko only the points
        of ``superko_candidates``.
        """
        color = self.to_play if color is None else color
        board = self.board
        stones = board.stones
        neighbors = board.neighbor_table
        repeats = self.superko_candidates(color) if self.superko else set()
        moves = []
        for point, stone in enumerate(stones):
            if stone != EMPTY:
                continue
            for n in neighbors[point]:
                if stones[n] == EMPTY:
                    break
            else:  # hemmed in: maybe suicide or ko
                if board.illegal_reason(point, color) is not None:
                    continue
            if point in repeats and self.repeats_position(point, color):
                continue
            moves.append(point)
        moves.append(PASS)
        return moves

    def legal_mask(self, color: int | None = None) -> np.ndarray:
        """``legal_moves`` as a bool array of ``size * size + 1`` move slots (points in
        ``coords`` order, then pass, always True): the legal-move mask of the network's
        priors, the search's evaluators and the gymnasium environment's actions."""
        mask = np.zeros(self.size * self.size + 1, dtype=bool)
        size = self.size
        mask[[move_to_slot(move, size) for move in self.legal_moves(color)]] = True
        return mask

    def superko_candidates(self, color: int) -> set[int]:
        """The points where a play by ``color`` could recreate an earlier position.

        Playing at ``p`` recreates an earlier position only if that position had
        a ``color`` stone at ``p``; ``p`` is empty now, so the stone was captured
        since, and it got there as a setup stone or as a move of ``color``. None
        of ``color``'s stones ever captured: no candidates at all.
        """
        if not self.board.captures[opponent(color)]:
            return set()
        candidates = {move for mover, move in self.history if mover == color}
        candidates.update(self.setup_black if color == BLACK else self.setup_white)
        candidates.discard(PASS)
        return candidates

    def play(self, move: int, color: int | None = None) -> list[int]:
        """Play ``move`` (a point or PASS) for ``color`` (default: side to move).

        Returns the captured points. Raises ``IllegalMoveError`` (occupied, ko,
        suicide, superko) and leaves the state unchanged.
        """
        color = self.to_play if color is None else color
        if move == PASS:
            captured: list[int] = []
            self.board.ko_point = None
        else:
            if self.superko and self.board.is_legal(move, color) and self.repeats_position(
                move, color
            ):
                raise IllegalMoveError("superko", move, color)
            captured = self.board.play(move, color)
            seen = self._seen_hashes
            seen[self.board.hash] = seen.get(self.board.hash, 0) + 1
        self.history.append((color, move))
        self.to_play = opponent(color)
        return captured

    def undo(self) -> None:
        """Take back the last move. Raises ``ValueError`` when there is none."""
        if not self.history:
            raise ValueError("no move to undo")
        fresh = setup_position(self.size, self.komi, self.setup_black, self.setup_white,
                               self.handicap)
        for _ in replay_moves(fresh, self.history[:-1]):
            pass
        fresh.superko = self.superko
        fresh.to_play = self.history[-1][0]  # the side whose move was taken back
        self.__dict__.update(fresh.__dict__)

    # ----------------------------------------------------------------- status

    @property
    def last_move(self) -> int | None:
        """The last move played (a point or PASS), None at the start."""
        return self.history[-1][1] if self.history else None

    @property
    def passes_in_a_row(self) -> int:
        count = 0
        for _, move in reversed(self.history):
            if move != PASS:
                break
            count += 1
        return count

    @property
    def is_over(self) -> bool:
        """Two passes in a row end the game."""
        return self.passes_in_a_row >= 2

    def score(self) -> float:
        """Tromp-Taylor area score from Black's side: black area - white area - komi."""
        black, white = self.board.area_score()
        return black - white - self.komi

    def result(self) -> str:
        """The area-scoring result as SGF writes it: ``B+3.5``, ``W+0.5``, ``0`` (draw)."""
        return format_result(self.score())

    def __str__(self) -> str:
        last = "none" if self.last_move is None else move_to_gtp(self.last_move, self.size)
        return (f"{self.board}\n{COLOR_WORDS[self.to_play]} to play, komi {self.komi}, "
                f"last move {last}")


def format_result(black_margin: float) -> str:
    """``B+3.5`` / ``W+0.5`` / ``0`` for a score margin from Black's side."""
    if black_margin > 0:
        return f"B+{black_margin:g}"
    if black_margin < 0:
        return f"W+{-black_margin:g}"
    return "0"


def replay(
    size: int,
    komi: float,
    moves: Iterable[tuple[int, int]],
    setup_black: Iterable[int] = (),
    setup_white: Iterable[int] = (),
    handicap: int = 0,
) -> Iterator[tuple[GameState, int, int]]:
    """Replay a recorded game: yield ``(state, color, move)`` before each move is played.

    The one way from a record to its positions: ``replay_moves`` from
    ``setup_position``. The same ``state``
    object is yielded every time and changes once the caller asks for the next
    item, so encode or copy it before advancing; once the moves run out it
    holds the final position. Replay uses simple ko only (``superko=False``):
    records from servers that did not enforce superko may legally repeat a
    position. An illegal move raises ``IllegalMoveError`` with the state left
    as it was before that move.
    """
    yield from replay_moves(setup_position(size, komi, setup_black, setup_white, handicap),
                            moves)


def setup_position(size: int, komi: float, setup_black: Iterable[int] = (),
                   setup_white: Iterable[int] = (), handicap: int = 0) -> GameState:
    """A recorded game's position before its first move: the setup stones on an empty board,
    simple ko only (``superko=False``, see ``replay``). White moves first when there are
    black setup stones only (``GameState.setup``)."""
    state = GameState(size, komi, superko=False)
    state.setup(setup_black, setup_white, handicap)
    return state


def replay_moves(state: GameState, moves: Iterable[tuple[int, int]]
                 ) -> Iterator[tuple[GameState, int, int]]:
    """Play ``moves`` (``(color, move)`` pairs) on ``state``, yielding ``(state, color,
    move)`` before each, with ``color`` made the side to move: ``replay``'s loop, for a
    caller that built the starting position itself. ``state`` is changed in place."""
    for color, move in moves:
        state.to_play = color
        yield state, color, move
        state.play(move, color)


# Handicap stones of a 19x19 board in the order GNU Go places them (GTP fixed_handicap).
HANDICAP_VERTICES = {
    2: "D4 Q16",
    3: "D4 Q16 D16",
    4: "D4 Q16 D16 Q4",
    5: "D4 Q16 D16 Q4 K10",
    6: "D4 Q16 D16 Q4 D10 Q10",
    7: "D4 Q16 D16 Q4 D10 Q10 K10",
    8: "D4 Q16 D16 Q4 D10 Q10 K4 K16",
    9: "D4 Q16 D16 Q4 D10 Q10 K4 K16 K10",
}


def fixed_handicap(count: int) -> list[int]:
    """The points of ``count`` handicap stones (2 to 9) on 19x19, as GNU Go places them.

    Raises ``ValueError`` for any other count.
    """
    if count not in HANDICAP_VERTICES:
        raise ValueError(f"handicap must be 0 or 2 to 9 stones, not {count}")
    return [move_from_gtp(vertex, NETWORK_SIZE) for vertex in HANDICAP_VERTICES[count].split()]
