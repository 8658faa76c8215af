"""What ``goai serve`` keeps per browser: one game (or one reviewed record) per session.

No web framework here: ``serve`` turns HTTP and WebSocket requests into calls
on a ``GameSession`` and its answers into JSON. Every use of the model goes
through one ``SessionModel`` (``goai.serve.model``), the adapter between the web
page and the playing modules, so that a new move chooser is plugged in at one place.

The JSON shapes (``GameSession.state_json``, ``Analysis.as_json``,
``ReviewSession.as_json``) are the API documented in the README; points are
GTP vertices (``D4``, ``pass``) and colours ``"B"``/``"W"``. A board is one
string of ``size * size`` characters, row 19 first (the top row, as drawn),
``.`` empty, ``X`` black, ``O`` white: 361 bytes instead of a nested list.

Win rates are Black's win probability from the value head, ``(v + 1) / 2``
for a side-to-move value ``v`` in [-1, 1], so that a graph of them along the
game does not flip every move. With a search (a model with a value head and
``visits`` above 1) the value is the search root's, and the candidates carry
the search's visits, win rates (for the side to move, 0-1) and variations.

Ownership and score: with ``--value-model`` the searches take their values
from that network. When the network that gives the values has a score head,
an analysis carries ``black_score_lead`` (Black's expected lead in points:
the search root's mean score, or the head's for the policy alone) and each
searched candidate its ``score_lead`` (for the side to move, as its win
rate); when a network has an ownership head (the value network first), the
analysis carries ``ownership``, 361 values in [-1, 1] from Black's view in the
board string's order (row 19 first), one forward pass at the position. Both
are null without the heads. A game ended by two passes is counted with the
dead stones judged from that map (``Player.stone_status``), else by the rule
of thumb, and the game object's ``count`` says which stones were dead and who
owns each point.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from goai.play.levels import engine_name, level_named
from goai.play.report import annotated_sgf, winrate_change
from goai.play.review import (
    COLOR_LETTERS,
    POINTS_PER_PERCENT,
    GameReview,
    Loss,
    biggest_losses,
    turning_points,
)
from goai.play.terminal import ILLEGAL_REASONS, score_text
from goai.records.record import GameRecord
from goai.records.sgf import Problem, ProblemKind, parse_sgf, write_sgf
from goai.records.sgf import max_moves as sgf_max_moves
from goai.rules.board import BLACK, WHITE, opponent
from goai.rules.coords import (
    NETWORK_SIZE,
    CoordinateError,
    move_from_gtp,
)
from goai.rules.game import GameState, fixed_handicap, format_result
from goai.rules.status import StoneStatus, estimated_score
from goai.rules.territory import area_ownership

if TYPE_CHECKING:  # policy imports torch; the server starts answering before it loads
    pass

from goai.serve.model import (
    Analysis,
    SessionModel,
    board_string,
    vertex,
)

LESSONS = 3  # the moves shown at a game's end where the human lost most


def loss_json(loss: Loss) -> dict[str, object]:
    """``{number, move, why}`` of a move that cost its player (``review.biggest_losses``)."""
    return {"number": loss.number, "move": f"{COLOR_LETTERS[loss.color]} {vertex(loss.move)}",
            "why": loss.why}


class RequestError(ValueError):
    """A request the game cannot carry out; ``str()`` is the one-line reason for the page.

    ``reason`` is a short machine-readable code (``occupied``, ``not-your-turn`` ...).
    """

    def __init__(self, message: str, reason: str = "bad-request") -> None:
        super().__init__(message)
        self.reason = reason




# ----------------------------------------------------------------- a game


@dataclass(frozen=True)
class NewGame:
    """The page's new-game form: the human's colour, handicap (0 or 2-9), komi and the
    engine's level (a name of ``levels.LEVELS``; None: the server's own setting).

    Raises ``RequestError`` for values out of range.
    """

    human: int = BLACK
    handicap: int = 0
    komi: float = 7.5
    level: str | None = None

    def __post_init__(self) -> None:
        if self.level is not None:
            try:
                level_named(self.level)
            except ValueError as error:
                raise RequestError(str(error)) from None
        if self.human not in (BLACK, WHITE):
            raise RequestError("colour must be black or white")
        if self.handicap:
            try:
                fixed_handicap(self.handicap)
            except ValueError as error:
                raise RequestError(str(error)) from None
        if not -150 <= self.komi <= 150 or self.komi * 2 != int(self.komi * 2):
            raise RequestError(f"komi must be a multiple of 0.5 within ±150, not {self.komi:g}")


class GameSession:
    """One browser's game against the engine, and the last record it reviewed.

    Not thread-safe by itself: ``serve`` runs one request of a session at a
    time (a per-session lock) and the engine work in a worker thread. An
    analysis runs on a copy of the position outside that lock (``position``,
    then ``store_analysis``), so that it never holds up the human's move.
    ``analyses`` caches one ``Analysis`` per position (index = moves played),
    for the heat map and the win-rate graph; undo cuts it back.
    """

    def __init__(self, engine: SessionModel, setup: NewGame | None = None) -> None:
        self.engine = engine
        self.id = secrets.token_urlsafe(18)
        self.last_used = time.monotonic()
        self.review: ReviewSession | None = None
        self.new_game(setup or NewGame())

    def new_game(self, setup: NewGame) -> None:
        self.setup = setup
        self.human = setup.human
        self.state = GameState(NETWORK_SIZE, setup.komi)
        if setup.handicap:
            self.state.setup(black=fixed_handicap(setup.handicap), handicap=setup.handicap)
        self.player = self.engine.new_game(setup.level)
        self.result: str | None = None
        self.result_text: str | None = None
        self.count: StoneStatus | None = None  # the judged stones of a game ended by passes
        self.analyses: list[Analysis | None] = [None]
        self.version = getattr(self, "version", 0) + 1

    @property
    def engine_color(self) -> int:
        return opponent(self.human)

    @property
    def engine_name(self) -> str:
        """The engine's name with this game's level: ``goai (level 2)``, in the SGF too."""
        return engine_name(self.player.config.level, self.engine.name)

    @property
    def engine_to_play(self) -> bool:
        return self.result is None and self.state.to_play == self.engine_color

    # ------------------------------------------------------------- moves

    def play(self, text: str) -> None:
        """The human's move, a GTP vertex or ``pass``. Raises ``RequestError`` with the reason."""
        if self.result is not None:
            raise RequestError("the game is over: start a new game or undo", "game-over")
        if self.state.to_play != self.human:
            raise RequestError("it is the engine's turn", "not-your-turn")
        try:
            move = move_from_gtp(text, NETWORK_SIZE)
        except CoordinateError:
            raise RequestError(f"{text[:12]!r} is not a move: use A1 to T19 (no I) or pass",
                               "not-a-move") from None
        reason = self.state.illegal_reason(move)
        if reason is not None:
            raise RequestError(f"illegal move {vertex(move)}: {ILLEGAL_REASONS[reason]}", reason)
        self.state.play(move)
        self._after_move()

    def engine_move(self) -> None:
        """The engine plays (or resigns). Raises ``RequestError`` when it is not its turn."""
        if not self.engine_to_play:
            raise RequestError("it is not the engine's turn", "not-engine-turn")
        chosen = self.engine.choose(self.player, self.state)
        self.analyses[-1] = chosen.analysis
        if chosen.resign:
            self.result = f"{COLOR_LETTERS[self.human]}+R"
            self.result_text = f"{self.engine_name} resigns"
            return
        self.state.play(chosen.move)
        self._after_move()

    def resign(self) -> None:
        if self.result is not None:
            raise RequestError("the game is over already", "game-over")
        self.result = f"{COLOR_LETTERS[self.engine_color]}+R"
        self.result_text = "you resign"

    def undo(self) -> None:
        """Take back the human's last move and the engine's moves after it; reopens the game."""
        state = self.state
        if all(color != self.human for color, _ in state.history):
            raise RequestError("nothing to undo: you have not played a move yet", "no-undo")
        while state.history[-1][0] != self.human:  # undo() replaces the history list
            state.undo()
        state.undo()
        self.player.reset()
        self.result = self.result_text = None
        self.count = None
        self.version += 1
        del self.analyses[len(self.state.history) + 1:]

    def _after_move(self) -> None:
        self.version += 1
        self.analyses.append(None)
        if self.state.is_over:  # counted with the judged dead stones (a forward pass)
            self.count = self.player.stone_status(self.state)
            self.result = format_result(estimated_score(self.state, set(self.count.dead)))
            self.result_text = score_text(self.state, self.count)

    def cached_analysis(self) -> Analysis | None:
        """The current position's analysis if it has been computed."""
        return self.analyses[-1]

    def position(self) -> tuple[int, GameState]:
        """``(version, a copy of the position)``: what an analysis outside the lock works on.

        The version changes with every move, undo and new game, so that
        ``store_analysis`` can drop an answer about a position already left.
        """
        return self.version, self.state.copy()

    def store_analysis(self, version: int, analysis: Analysis) -> bool:
        """Keep ``analysis`` if the game is still at ``version``; says whether it was kept."""
        if version != self.version:
            return False
        self.analyses[-1] = analysis
        return True

    # ------------------------------------------------------------- output

    def record(self) -> GameRecord:
        names = {self.human: "human", self.engine_color: self.engine_name}
        return GameRecord.from_state(self.state, source="goai serve", result=self.result,
                                     black_name=names[BLACK], white_name=names[WHITE],
                                     date=date.today().isoformat())

    def sgf(self) -> str:
        return write_sgf(self.record())

    def state_json(self) -> dict[str, object]:
        """The API's game object (see the README)."""
        state = self.state
        captures = state.board.captures
        return {
            "type": "game", "size": state.size, "komi": state.komi, "handicap": state.handicap,
            "human": COLOR_LETTERS[self.human], "engine": COLOR_LETTERS[self.engine_color],
            "engine_name": self.engine_name, "level": self.player.config.level,
            "to_play": COLOR_LETTERS[state.to_play],
            "move_number": len(state.history), "board": board_string(state),
            "last_move": None if state.last_move is None else vertex(state.last_move),
            "captures": {"B": captures[BLACK], "W": captures[WHITE]},
            "moves": [f"{COLOR_LETTERS[color]} {vertex(move)}" for color, move in state.history],
            "over": self.result is not None, "result": self.result,
            "result_text": self.result_text, "engine_to_play": self.engine_to_play,
            "winrates": [None if item is None else item.black_winrate
                         for item in self.analyses],
            "score_leads": [None if item is None else item.black_score_lead
                            for item in self.analyses],
            "count": None if self.count is None else self.count_json(),
            "lessons": self.lessons() if self.result is not None else [],
        }

    def lessons(self) -> list[dict[str, object]]:
        """The ``LESSONS`` moves where the human lost most, by the win rates (and score leads)
        the engine and the page's analyses saw along the game (``review.biggest_losses``, the
        review's turning points); positions never analysed are skipped."""
        moves = self.state.history
        winrates = [None if item is None else item.black_winrate for item in self.analyses]
        leads = [None if item is None else item.black_score_lead for item in self.analyses]
        return [loss_json(loss) for loss in biggest_losses(
            moves, winrates, leads, players=(self.human,), count=LESSONS)]

    def count_json(self) -> dict[str, object]:
        """The count of a game ended by passes: how the dead stones were judged
        (``ownership`` or ``estimate``), the dead and seki stones as vertices, and who owns
        each point once the dead are off (``area``: the board string's order, ``X``
        Black's, ``O`` White's, ``.`` nobody's)."""
        assert self.count is not None
        board = self.state.board
        owners = area_ownership(board, self.count.dead)
        return {"judge": self.count.source,
                "dead": [vertex(point) for point in sorted(self.count.dead)],
                "seki": [vertex(point) for point in sorted(self.count.seki)],
                "area": "".join("X" if owner > 0 else "O" if owner < 0 else "."
                                for owner in owners.tolist())}


# ----------------------------------------------------------------- a review


@dataclass
class ReviewSession:
    """An uploaded record, reviewed: the boards to step through and the review's figures."""

    record: GameRecord
    review: GameReview
    winrates: list[float | None]
    notes: list[str] = field(default_factory=list)
    score_leads: list[float | None] = field(default_factory=list)

    @classmethod
    def from_upload(cls, engine: SessionModel, data: bytes, *, max_moves: int) -> ReviewSession:
        """Read the first game of SGF ``data`` and review it.

        Raises ``RequestError`` for data without a readable 19x19 game, a game
        without moves or one longer than ``max_moves``; for a game the reader cut
        (at its move cap, or at damage) the message says so, where and why.
        Truncated or partly ignored records are reviewed, with the reader's
        notes in ``notes``.
        """
        notes: list[str] = []
        record = None
        cut: Problem | None = None
        for item in parse_sgf(data, source="upload"):
            if isinstance(item, Problem):
                if not item.record_follows:
                    raise RequestError(f"unreadable SGF: {item.reason}", "bad-sgf")
                notes.append(f"{item.kind}: {item.reason}")
                if item.kind == ProblemKind.TRUNCATED:
                    cut = item
            else:
                record = item
                break
        if record is None:
            raise RequestError("unreadable SGF: no game found", "bad-sgf")
        if record.size != NETWORK_SIZE:
            raise RequestError(f"the game is {record.size}x{record.size}; the model plays "
                               "19x19 only", "bad-size")
        if len(record.moves) > max_moves:
            moves = len(record.moves)
            if cut is not None and moves >= sgf_max_moves(record.size):
                told = (f"the game has more than {moves} moves: the SGF reader keeps at most "
                        f"{moves} on {record.size}x{record.size} and cut it after move {moves}")
            elif cut is not None:
                told = f"the game has {moves} moves before the SGF reader cut it ({cut.reason})"
            else:
                told = f"the game has {moves} moves"
            raise RequestError(f"{told}; at most {max_moves} are reviewed", "too-long")
        try:
            review, winrates, score_leads = engine.review(record)
        except ValueError as error:
            raise RequestError(str(error), "bad-sgf") from None
        if review.stopped:
            notes.append(f"review stopped: {review.stopped}")
        return cls(record, review, winrates, notes, score_leads)

    def least_likely(self) -> list[dict[str, object]]:
        """The review's least likely moves (its summary's), each as ``{number, move, why}``."""
        return [{"number": item.number, "move": f"{COLOR_LETTERS[item.color]} "
                 f"{vertex(item.move)}", "why": f"unlikely: {100 * item.probability:.2g}%, "
                 f"rank {item.rank}"} for item in self.review.least_likely()]

    def turning_points(self) -> list[dict[str, object]]:
        """The review's ``turning_points`` by the value head's win rates (and score leads,
        with a score head) before and after each move, as ``{number, move, why}``; ``why``
        says whether the win rate or the score moved more. Empty without a value head.
        """
        rates, leads = self.winrates, self.score_leads
        losses = []
        for index, item in enumerate(self.review.moves[:-1]):
            before, after = rates[index], rates[index + 1]
            sign = 1 if item.color == BLACK else -1
            drop = None if before is None or after is None else sign * (before - after)
            score_drop = None
            if index + 1 < len(leads) and None not in (leads[index], leads[index + 1]):
                score_drop = sign * (leads[index] - leads[index + 1])  # type: ignore[operator]
            losses.append((item, drop, score_drop))
        points = []
        for item, (size, which) in turning_points(losses):
            why = (f"lost {size / POINTS_PER_PERCENT:.1f} points of score" if which == "score"
                   else winrate_change(item.color, size / 100))
            points.append({"number": item.number, "move": f"{COLOR_LETTERS[item.color]} "
                           f"{vertex(item.move)}", "why": why})
        return points

    def as_json(self) -> dict[str, object]:
        """The API's review object (see the README): the figures and every board to step to."""
        record = self.record
        shown = len(self.review.moves)
        boards: list[str] = []
        last_moves: list[str | None] = [None]
        captures: list[dict[str, int]] = []

        def show(state: GameState) -> None:
            boards.append(board_string(state))
            captures.append({"B": state.board.captures[BLACK], "W": state.board.captures[WHITE]})

        for played, (state, _, move) in enumerate(record.replay()):
            show(state)  # the position after ``played`` moves
            if played == shown:
                break
            last_moves.append(vertex(move))
        else:
            show(state)  # the replay ran out: ``state`` now holds the final position
        review = self.review
        return {
            "type": "review", "black": record.black_name, "white": record.white_name,
            "komi": record.komi, "handicap": record.handicap, "result": record.result,
            "model": review.model, "moves_in_game": len(record.moves),
            "match_rate": review.match_rate, "mean_probability": review.mean_probability,
            "stopped": review.stopped, "notes": self.notes,
            "moves": [item.as_dict() for item in review.moves],
            "winrates": self.winrates, "score_leads": self.score_leads,
            "least_likely": self.least_likely(), "turning_points": self.turning_points(),
            "boards": boards, "last_moves": last_moves, "captures": captures,
        }

    def annotated_sgf(self) -> str:
        return annotated_sgf(self.review)
