"""Which stones are dead, alive or in seki at the end of a game, read from an ownership map.

The judge behind GTP's ``final_status_list``/``final_score``, ``goai play``'s
``score`` and the browser board's count, when the network has an ownership
head (``PolicyOutput.ownership``). The rules it applies:

=========  =================================================================================
status     rule
=========  =================================================================================
dead       a string whose stones the ownership gives to the other colour: the mean of its
           stones' ownership, from its own colour's view, is below ``-DEAD_MARGIN`` (0.5:
           the network must lean three to one against the stones, (1 - 0.5) / 2 = 25% own
           them). A string the network is unsure of stays alive: early in a game nothing
           is called dead, where a rule of thumb about eyes calls every lone stone dead
seki       a live string with a *seki liberty*: an empty point it shares with a live enemy
           string where either colour's stone would be in atari and capture nothing, so
           that neither side can fill it (mutual damezumari, what a seki is made of)
alive      every other string
=========  =================================================================================

Ownership arrives in ``coords`` point order as the network gives it, for the
side to move (+1: the side to move will own the point); ``black_view`` turns
it to Black's. Whole strings are judged, never single stones, so that a group
is never split between dead and alive by a noisy point.

No torch: the rules layer (numpy for the map only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from goai.rules.board import BLACK, WHITE, Board, IllegalMoveError, opponent

DEAD_MARGIN = 0.5


@dataclass(frozen=True)
class StoneStatus:
    """The judged stones of a position: ``dead`` and ``seki`` as sets of points (the
    others are alive), and ``source``: ``"ownership"`` (this module's rules on a
    network's map) or ``"estimate"`` (``player.dead_stones``, a rule of thumb about
    eyes, for models without an ownership head; it finds no seki)."""

    dead: frozenset[int]
    seki: frozenset[int]
    source: str


def black_view(ownership: np.ndarray, to_play: int) -> np.ndarray:
    """An ownership map (size * size,) for the side to move ``to_play`` turned to Black's view."""
    return ownership if to_play == BLACK else -ownership


def dead_from_ownership(board: Board, ownership: np.ndarray,
                        margin: float = DEAD_MARGIN) -> set[int]:
    """The stones of every string the ownership gives to the other side (see the module table).

    ``ownership`` (size * size,) in [-1, 1] from Black's view (+1 Black's).
    Raises ``ValueError`` for a map of another length.
    """
    if ownership.shape != (board.size * board.size,):
        raise ValueError(f"ownership must have {board.size * board.size} points, "
                         f"not shape {ownership.shape}")
    dead: set[int] = set()
    for stones in board.group_stones.values():
        color = board.stones[stones[0]]
        sign = 1.0 if color == BLACK else -1.0
        if sign * float(np.mean(ownership[stones])) < -margin:
            dead.update(stones)
    return dead


def seki_stones(board: Board, dead: set[int] | frozenset[int] = frozenset()) -> set[int]:
    """The stones of the live strings (not in ``dead``) that share a seki liberty (module
    table) with a live enemy string."""
    seki: set[int] = set()
    for gid, stones in board.group_stones.items():
        if stones[0] in dead:
            continue
        color = board.stones[stones[0]]
        for liberty in board.group_liberties[gid]:
            enemies = [board.group_of[n] for n in board.neighbors(liberty)
                       if board.stones[n] == opponent(color)
                       and board.group_stones[board.group_of[n]][0] not in dead]
            if enemies and _unfillable(board, liberty):
                seki.update(stones)
                break
    return seki


def _unfillable(board: Board, point: int) -> bool:
    """Would a stone of either colour on the empty ``point`` be in atari and capture nothing?"""
    for color in (BLACK, WHITE):
        if board.captured_by(point, color):
            return False
        after = board.copy()
        try:
            after.play(point, color)
        except IllegalMoveError:  # suicide (or a ko): this colour cannot fill it now
            continue
        if after.liberty_count(point) > 1:
            return False
    return True


def judge(board: Board, ownership: np.ndarray, margin: float = DEAD_MARGIN) -> StoneStatus:
    """Dead and seki stones of ``board`` from ``ownership`` (Black's view), as the module says."""
    dead = dead_from_ownership(board, ownership, margin)
    return StoneStatus(frozenset(dead), frozenset(seki_stones(board, dead)), "ownership")


__all__ = [
    "DEAD_MARGIN",
    "StoneStatus",
    "black_view",
    "dead_from_ownership",
    "judge",
    "seki_stones",
]
