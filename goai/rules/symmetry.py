"""The 8 symmetries of the 19x19 board, for feature planes, move indices and policies.

A Go position and its rotations and reflections are the same position, so
training augments with them and play may average the network over them.
Symmetry ``k`` (0 to 7) moves the stone at ``(row, col)`` as follows (rows and
columns as in ``coords``: row 0 at the top; ``n = 18``):

==  ===============================  ====================  =======
k   what it does                     (row, col) goes to    inverse
==  ===============================  ====================  =======
0   identity                         (row, col)            0
1   rotate a quarter turn, counter-  (n - col, row)        3
    clockwise as the board is drawn
2   rotate a half turn               (n - row, n - col)    2
3   rotate a quarter turn, clockwise (col, n - row)        1
4   mirror left <-> right            (row, n - col)        4
5   transpose (main diagonal)        (col, row)            5
6   mirror top <-> bottom            (n - row, col)        6
7   anti-transpose                   (n - col, n - row)    7
==  ===============================  ====================  =======

Symmetries 4-7 are "mirror left-right, then symmetry k - 4". ``PASS_INDEX``
(361) never moves. To use a network on a transformed position and read its
answer for the original one::

    policy = transform_policy(net(transform_planes(planes, k)), inverse(k))

Planes may be numpy arrays or torch tensors; torch is imported only when a
tensor is passed, so data workers without torch can use this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import numpy as np

from goai.rules.coords import NETWORK_SIZE, NUM_MOVES, NUM_POINTS, PASS_INDEX

if TYPE_CHECKING:
    import torch

__all__ = [
    "NUM_SYMMETRIES",
    "inverse",
    "transform_move_index",
    "transform_move_indices",
    "transform_planes",
    "transform_policy",
]

NUM_SYMMETRIES = 8
_INVERSE = (0, 3, 2, 1, 4, 5, 6, 7)

Array = TypeVar("Array", np.ndarray, "torch.Tensor")


def inverse(k: int) -> int:
    """The symmetry that undoes ``k``: ``transform(transform(x, k), inverse(k)) == x``."""
    _check(k)
    return _INVERSE[k]


def _check(k: int) -> None:
    if not 0 <= k < NUM_SYMMETRIES:
        raise ValueError(f"symmetry must be 0..{NUM_SYMMETRIES - 1}, not {k}")


def transform_planes(planes: Array, k: int) -> Array:
    """Apply symmetry ``k`` to the last two dims (row, col) of ``(..., 19, 19)`` planes.

    Works on numpy arrays (returns a view, not a copy: ``np.ascontiguousarray``
    it before writing) and torch tensors (returns a new tensor, on the same device).
    """
    _check(k)
    quarter_turns = k % 4
    if isinstance(planes, np.ndarray):
        mirrored = np.flip(planes, -1) if k >= 4 else planes
        return np.rot90(mirrored, quarter_turns, axes=(-2, -1))
    import torch

    mirrored = torch.flip(planes, dims=(-1,)) if k >= 4 else planes
    return torch.rot90(mirrored, quarter_turns, dims=(-2, -1))


def _source_tables() -> np.ndarray:
    """``(8, 362)`` int: entry ``[k, i]`` is the move index that symmetry ``k`` moves to ``i``."""
    points = np.arange(NUM_POINTS).reshape(NETWORK_SIZE, NETWORK_SIZE)
    tables = np.empty((NUM_SYMMETRIES, NUM_MOVES), dtype=np.intp)
    for k in range(NUM_SYMMETRIES):
        tables[k, :NUM_POINTS] = transform_planes(points, k).ravel()
        tables[k, PASS_INDEX] = PASS_INDEX
    return tables


# Precomputed permutations, both directions, so move and policy transforms are
# one indexing operation each. _SOURCE gathers (new[i] = old[_SOURCE[k, i]]);
# _TARGET scatters (index i goes to _TARGET[k, i]).
_SOURCE = _source_tables()
_TARGET = np.argsort(_SOURCE, axis=1)


def transform_move_index(index: int, k: int) -> int:
    """Where symmetry ``k`` moves network move index ``index`` (0..361; pass stays 361).

    Raises ``ValueError`` for an index outside 0..361 (``coords.PASS``, -1, is a
    move, not an index: convert with ``coords.move_to_index`` first).
    """
    _check(k)
    if not 0 <= index < NUM_MOVES:
        raise ValueError(f"move index must be 0..{NUM_MOVES - 1}, not {index}")
    return int(_TARGET[k, index])


def transform_move_indices(indices: np.ndarray, k: int) -> np.ndarray:
    """``transform_move_index`` for a whole array of move indices, in one indexing operation.

    Returns a new int array of ``indices``' shape. The indices are not checked
    (a data path moves every move it replays): they must lie in 0..361.
    """
    _check(k)
    return _TARGET[k, indices]


def transform_policy(policy: Array, k: int) -> Array:
    """Apply symmetry ``k`` to ``(..., 362)`` logits or probabilities (pass entry kept).

    The result's entry for ``transform_move_index(i, k)`` is ``policy[..., i]``.
    Returns a new array (numpy) or tensor (torch, on the policy's device).
    """
    _check(k)
    if isinstance(policy, np.ndarray):
        return policy[..., _SOURCE[k]]
    import torch

    source = torch.from_numpy(_SOURCE[k]).to(policy.device)
    return policy.index_select(-1, source)
