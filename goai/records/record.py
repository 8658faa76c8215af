"""A game as goai keeps it from a record: the main line and the metadata, and its positions.

``GameRecord`` is what the SGF reader (``goai.records.sgf``) makes and writes,
what data preparation stores, what the review, the browser and the GTP engine's
``loadsgf`` replay. From a record to its positions there is one path, the rules'
``game.replay`` (``GameRecord.replay``, and ``to_state`` for one position);
``from_state`` turns a game played in goai back into a record.

No parsing and no files here: the rules layer and dataclasses only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from goai.rules.board import BLACK, WHITE, IllegalMoveError
from goai.rules.game import GameState, replay, replay_moves, setup_position

__all__ = ["GameRecord"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GameRecord:
    """One game as read from SGF: the main line and the metadata goai uses.

    Points are flat indices as defined in ``goai.rules.coords``; a move is a point or
    ``coords.PASS``. ``setup_black``/``setup_white`` are sorted, applied before the
    first move. ``moves`` are ``(color, move)`` pairs with ``color`` ``BLACK`` or
    ``WHITE``; colors are as recorded, not checked to alternate.
    ``first_player`` is the color of the first move, else ``PL``, else ``BLACK``.
    Text fields are ``None`` when the property is absent.
    """

    source: str
    index: int
    size: int
    komi: float = 0.0
    handicap: int = 0
    setup_black: tuple[int, ...] = ()
    setup_white: tuple[int, ...] = ()
    moves: tuple[tuple[int, int], ...] = ()
    result: str | None = None
    black_name: str | None = None
    white_name: str | None = None
    black_rank: str | None = None
    white_rank: str | None = None
    date: str | None = None
    first_player: int = BLACK

    @classmethod
    def from_state(cls, state: GameState, *, source: str, index: int = 0,
                   **metadata: str | None) -> GameRecord:
        """The game played so far in ``state`` (setup stones, handicap, komi, every move).

        ``metadata`` fills the text fields (``result``, ``black_name``, ``date`` ...).
        """
        return cls(
            source=source, index=index, size=state.size, komi=state.komi,
            handicap=state.handicap, setup_black=tuple(sorted(state.setup_black)),
            setup_white=tuple(sorted(state.setup_white)), moves=tuple(state.history),
            first_player=state.history[0][0] if state.history else state.to_play, **metadata,
        )

    def replay(self) -> Iterator[tuple[GameState, int, int]]:
        """``game.replay`` of this record: ``(state, color, move)`` before each move.

        The one way from a record to its positions (simple ko, as the servers
        that wrote the records enforced). The same state object is yielded each
        time; copy or encode it before advancing. Raises ``IllegalMoveError`` at
        an illegal move, with the state as it was before it.
        """
        return replay(self.size, self.komi, self.moves, self.setup_black, self.setup_white,
                      self.handicap)

    def to_state(self, moves: int | None = None, *, stop_at_illegal: bool = False) -> GameState:
        """The position after the first ``moves`` moves (all when None): the inverse of
        ``from_state``.

        Setup stones, handicap, komi and history as recorded; the side to move is
        the colour of the next recorded move, else the opponent of the last one,
        else ``first_player`` (``PL``). Superko is off (records may repeat a
        position under simple ko); an engine that continues the game turns it on.
        An illegal move raises ``IllegalMoveError``, or with ``stop_at_illegal``
        ends the replay there (``len(state.history)`` says how far it got).
        Raises ``ValueError`` if ``moves`` is outside ``0..len(self.moves)``.
        """
        limit = len(self.moves) if moves is None else moves
        if not 0 <= limit <= len(self.moves):
            raise ValueError(f"move {moves}: the game has {len(self.moves)} moves")
        state = setup_position(self.size, self.komi, self.setup_black, self.setup_white,
                               self.handicap)
        if not self.moves and self.first_player == WHITE:  # PL[W]; setup() handles handicap
            state.to_play = WHITE
        try:
            # Stopped before move ``limit`` (its colour to move), or after the last move.
            for played, _ in enumerate(replay_moves(state, self.moves)):
                if played == limit:
                    break
        except IllegalMoveError:  # the state as before the illegal move, its colour to move
            if not stop_at_illegal:
                raise
        return state
