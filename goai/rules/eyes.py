"""The eye rule: which empty points a side must not fill, for every player and the search.

A policy network happily fills its own eyes; the player, the search and the
random opponent all refuse to, by one rule. An *eye* of ``color`` is the
"eye-like" point of Pachi, michi and minigo:

=================  ======================================================================
condition          meaning
=================  ======================================================================
empty              a stone is no eye
orthogonal         every neighbour on the board is a ``color`` stone
diagonal, edge     on the edge or in a corner (a diagonal off the board): no enemy
                   diagonal at all (one already makes the eye false)
diagonal, middle   at most one enemy diagonal (two make it false)
=================  ======================================================================

A false eye is not an eye, so connecting through it stays allowed (often the
only way to connect). Nothing here reads life and death: a real eye of a dead
group is still an eye, and a point that only looks false in a seki is still false.

``is_eye`` asks about one point; ``eye_mask`` about all points at once, with
numpy, for the search's expansions. Both read the rule from the same tables
(``board.neighbor_table`` and ``diagonal_table``) and the same
``enemy_diagonals_allowed``; ``tests/test_eyes.py`` checks that they agree.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from goai.rules.board import EMPTY, Board, neighbor_table, opponent
from goai.rules.coords import to_point

__all__ = ["diagonal_table", "enemy_diagonals_allowed", "eye_mask", "is_eye"]


@cache
def diagonal_table(size: int) -> tuple[tuple[int, ...], ...]:
    """For each point, the points diagonally next to it on the board (1 to 4 of them)."""
    table = []
    for row in range(size):
        for col in range(size):
            table.append(tuple(to_point(row + dr, col + dc, size)
                               for dr, dc in ((-1, -1), (-1, 1), (1, -1), (1, 1))
                               if 0 <= row + dr < size and 0 <= col + dc < size))
    return tuple(table)


def enemy_diagonals_allowed(diagonals_on_board: int) -> int:
    """How many enemy diagonals an eye may have: 0 on the edge (fewer than 4 diagonals on
    the board), 1 in the middle."""
    return 1 if diagonals_on_board == 4 else 0


def is_eye(board: Board, point: int, color: int) -> bool:
    """Is ``point`` an eye of ``color`` by the eye rule (see the module table)?"""
    stones = board.stones
    if stones[point] != EMPTY:
        return False
    if any(stones[n] != color for n in board.neighbors(point)):
        return False
    enemy = opponent(color)
    diagonals = diagonal_table(board.size)[point]
    enemies = sum(1 for d in diagonals if stones[d] == enemy)
    return enemies <= enemy_diagonals_allowed(len(diagonals))


_OFF_BOARD = 3  # neither EMPTY, BLACK nor WHITE: the stone "beyond the edge" in eye_mask


@cache
def _padded_tables(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``neighbor_table`` and ``diagonal_table`` as ``(size * size, 4)`` arrays, padded
    with ``size * size`` (the off-board slot), and each point's enemy diagonals allowed."""
    size2 = size * size

    def padded(table: tuple[tuple[int, ...], ...]) -> np.ndarray:
        array = np.full((size2, 4), size2, dtype=np.int64)
        for point, around in enumerate(table):
            array[point, :len(around)] = around
        return array

    diagonals = diagonal_table(size)
    allowed = np.array([enemy_diagonals_allowed(len(d)) for d in diagonals], dtype=np.int64)
    return padded(neighbor_table(size)), padded(diagonals), allowed


def eye_mask(board: Board, color: int) -> np.ndarray:
    """``(size * size,)`` bool: ``is_eye(board, point, color)`` for every point at once.

    The diagonals are looked at only for the few points that pass the orthogonal
    test (the search calls this at every expansion).
    """
    orthogonal, diagonal, allowed = _padded_tables(board.size)
    stones = np.frombuffer(bytearray(board.stones) + bytes([_OFF_BOARD]), dtype=np.uint8)
    own = (stones == color) | (stones == _OFF_BOARD)
    eyes = stones[:-1] == EMPTY
    for side in range(4):
        eyes &= own[orthogonal[:, side]]
    points = np.flatnonzero(eyes)
    if len(points):
        enemy = stones == opponent(color)  # the off-board slot is never an enemy
        eyes[points[enemy[diagonal[points]].sum(axis=1) > allowed[points]]] = False
    return eyes
