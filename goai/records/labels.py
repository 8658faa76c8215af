"""Ownership and score targets of finished games: GNU Go's dead stones, checked by the record.

A game that ended by counting (``RE[B+3.5]``, about a quarter of the Tom and
Tygem 9-dan games) says who owns every point at its end, once the dead stones
are off, and by how much Black won. Those are KataGo's ownership and score
targets: 361 labels a position instead of one result bit.

The judge of dead stones is GNU Go (``final_status_list dead`` on the final
position): a first probe found its area count within 1.5 points of the
recorded margin in 60 of 66 counted 9-dan games, at under a second a game.
Each label is then checked against the record: the area margin after removal
(``territory.area_margin``) must be within ``TOLERANCE`` (1 point) of the
recorded one. Tom counts by area; Tygem by territory, which differs from area
by the difference in stones played (0 or 1 with Black first and no extra
passes), so one point covers both. A game that fails the check gets no
labels at all: if GNU Go misjudged a group, its ownership is wrong too.

Resigned and timed-out games get no ownership. Their final position is not
settled (the loser resigned because a fight was lost, often before it was
played out), so any labels would be a guess by GNU Go about the open areas,
and there is no recorded count to catch its mistakes. Their result still
trains the value head. Decided here rather than per point ("use only the
settled points"): the settled points of a resigned game are mostly the ones
the network already owns without help, and a guess is never checked.

Imports no torch (it runs in ``goai prepare``'s worker processes).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from goai.gtp.client import GtpClient, GtpClientError
from goai.rules.board import COLOR_LETTERS
from goai.rules.coords import CoordinateError, move_from_gtp, move_to_gtp
from goai.rules.game import GameState
from goai.rules.territory import area_margin, area_ownership

TOLERANCE = 1.0
GNUGO_CANDIDATES = ("gnugo", "/usr/games/gnugo")
_MARGIN = re.compile(r"^\s*([BW])\+(\d+(?:\.\d+)?)\s*$", re.IGNORECASE)


def recorded_margin(result: str | None) -> float | None:
    """Black's winning margin from an SGF ``RE``: ``B+3.5`` -> 3.5, ``W+0.5`` -> -0.5,
    ``0``/``Draw`` -> 0; None for resignations, time, forfeits and unknown results."""
    text = (result or "").strip()
    if text in ("0", "Draw", "draw", "Jigo", "jigo"):
        return 0.0
    match = _MARGIN.match(text)
    if match is None:
        return None
    margin = float(match.group(2))
    return margin if match.group(1).upper() == "B" else -margin


def find_gnugo() -> str | None:
    """The GNU Go executable on this machine (PATH, then Debian's /usr/games), or None."""
    for candidate in GNUGO_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Label:
    """A finished game's targets: ``ownership`` int8 (361,) (+1 Black, -1 White, 0 nobody),
    ``margin`` the recorded Black margin, ``counted`` the area margin after removal."""

    ownership: np.ndarray
    margin: float
    counted: float
    dead: frozenset[int]

    @property
    def agrees(self) -> bool:
        return abs(self.counted - self.margin) <= TOLERANCE


class LabelError(RuntimeError):
    """GNU Go could not be run, or could not judge a game; the message says which."""


class GnuGoJudge:
    """GNU Go as a judge of dead stones, one engine process reused from game to game.

    ``judge(...)`` replays a game into GNU Go and asks ``final_status_list
    dead``. Use as a context manager, or call ``close()``. Raises
    ``LabelError`` when GNU Go cannot be started (and on a game it rejects).
    """

    def __init__(self, command: str | Sequence[str] | None = None,
                 timeout: float = 60.0) -> None:
        if command is None:
            command = find_gnugo()
            if command is None:
                raise LabelError("GNU Go is not installed (apt-get install gnugo); it judges "
                                 "the dead stones of counted games")
            command = [command, "--mode", "gtp", "--chinese-rules"]
        self.client = GtpClient(command)
        self.timeout = timeout

    def __enter__(self) -> GnuGoJudge:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def dead_stones(self, size: int, komi: float, moves: Sequence[tuple[int, int]],
                    setup_black: Sequence[int] = (), setup_white: Sequence[int] = ()
                    ) -> frozenset[int]:
        """GNU Go's dead stones (flat points) after ``moves`` ((colour, move) pairs)."""
        try:
            if not self.client.running:
                self.client.start()
            ask = self.client.send
            ask(f"boardsize {size}", self.timeout)
            ask("clear_board", self.timeout)
            ask(f"komi {komi:g}", self.timeout)
            for color, points in (("B", setup_black), ("W", setup_white)):
                for point in points:
                    ask(f"play {color} {move_to_gtp(point, size)}", self.timeout)
            for color, move in moves:
                ask(f"play {COLOR_LETTERS[color]} {move_to_gtp(move, size)}", self.timeout)
            reply = ask("final_status_list dead", self.timeout)
        except GtpClientError as error:
            self.client.kill()  # the next game starts a fresh engine
            raise LabelError(f"GNU Go: {error}") from None
        try:
            return frozenset(move_from_gtp(vertex, size) for vertex in reply.split())
        except CoordinateError as error:
            raise LabelError(f"GNU Go answered a vertex that is not a point: {error}") from None

    def label(self, size: int, komi: float, moves: Sequence[tuple[int, int]], result: str | None,
              setup_black: Sequence[int] = (), setup_white: Sequence[int] = ()) -> Label | None:
        """The game's ``Label``, or None when its record has no counted margin.

        Raises ``LabelError`` (GNU Go failed) and ``board.IllegalMoveError`` (the
        moves do not replay; stored games always do).
        """
        margin = recorded_margin(result)
        if margin is None:
            return None
        if not moves:
            return None
        state = GameState(size, komi, superko=False)  # records may repeat a position
        state.setup(setup_black, setup_white)
        for color, move in moves:
            state.play(move, color)
        dead = self.dead_stones(size, komi, moves, setup_black, setup_white)
        if any(state.board.stones[point] == 0 for point in dead):
            raise LabelError("GNU Go called an empty point dead")
        ownership = area_ownership(state.board, dead)
        return Label(ownership, margin, area_margin(ownership, komi), dead)


__all__ = ["GnuGoJudge", "Label", "LabelError", "TOLERANCE", "find_gnugo",
           "recorded_margin"]
