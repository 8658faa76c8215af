"""Who owns each point at the end of a game: area ownership once the dead stones are off.

Ownership is the network's dense target and the territory map players see
(KataGo's ownership, drawn by Lizzie, KaTrain and Sabaki). At the end of a
game each point is

======  ==========================================================================
+1      Black's: a live black stone, or an empty region reaching only black stones
-1      White's: the same for White
0       nobody's: dame (an empty region reaching both colours), and the shared
        liberties of a seki
======  ==========================================================================

The stones of a seki stay their owner's (they are alive: area scoring counts
them), and only the empty points between the two groups are 0. Dead stones are
taken off first, so the points under them, and the region they sat in, go to
the side that surrounds them. Which stones are dead is the caller's judgement
(``goai.records.labels`` asks GNU Go for a finished game's; the ownership head gives a
live estimate): this module counts, it does not judge.

No torch, no numpy beyond the returned array: the rules layer.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from goai.rules.board import BLACK, EMPTY, WHITE, Board

_SIGN = {BLACK: 1, WHITE: -1, EMPTY: 0}


def without_stones(board: Board, dead: Iterable[int]) -> Board:
    """A copy of ``board`` with the ``dead`` points emptied (each must hold a stone)."""
    dead = set(dead)
    cleaned = Board(board.size)
    for point, color in enumerate(board.stones):
        if color != EMPTY and point not in dead:
            cleaned.place(point, color)
    return cleaned


def area_ownership(board: Board, dead: Iterable[int] = ()) -> np.ndarray:
    """int8 (size * size,) in ``coords`` point order: +1 Black's, -1 White's, 0 nobody's.

    ``dead`` stones are removed first (see the module table). With no dead
    stones this is Tromp-Taylor area: ``ownership.sum()`` is Black's area
    minus White's, as ``Board.area_score`` counts it.
    """
    cleaned = without_stones(board, dead)
    owners = cleaned.empty_region_owners()
    ownership = np.zeros(board.size * board.size, dtype=np.int8)
    for point, color in enumerate(cleaned.stones):
        ownership[point] = _SIGN[color if color != EMPTY else owners[point]]
    return ownership


def area_margin(ownership: np.ndarray, komi: float) -> float:
    """Black's margin by area with komi: the points Black owns less White's, less komi."""
    return float(np.sum(ownership, dtype=np.int64)) - komi
