"""What a search reports: the root's candidates, its chosen move, and how sure it is of each.

``SearchResult`` is a snapshot of the root (``Search.result``), ``MoveStats`` one
candidate as ``lz-analyze`` reports it, ``SearchTiming`` where the time went.
Win rates are ``(value + 1) / 2`` for the side to move at the root, in [0, 1].

The *lower confidence bound* (LCB) of a candidate's win rate breaks ties in
visits when the search ranks its candidates, as Leela Zero does: the mean win
rate less Student's t quantile for the one-sided error ``alpha`` times the
standard error of the mean (the sample variance of the backed-up values over
the visits). Below two visits there is no variance: the bound is ``-1e6 +
visits``, so that a visited move still ranks above an unvisited one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist

import numpy as np

from goai.rules.coords import move_to_slot

__all__ = ["MoveStats", "SearchResult", "SearchTiming", "lower_confidence_bound"]


@dataclass(frozen=True)
class MoveStats:
    """One candidate at the root, as ``lz-analyze`` reports it.

    ``winrate`` and ``lcb`` are for the side to move at the root, in [0, 1];
    ``winrate`` is None for a move never visited and ``lcb`` is 0 below two
    visits (Leela Zero prints it clipped at 0 too). ``order`` 0 is the best.
    ``pv`` starts with ``move`` and follows the most visited children.
    ``score_lead`` is the mean score after the move for the side to move at the
    root, in points (KataGo's ``scoreLead``): None when the evaluator gives no
    scores, or the move was never visited.
    """

    move: int
    visits: int
    winrate: float | None
    prior: float
    lcb: float
    order: int
    pv: tuple[int, ...]
    score_lead: float | None = None


@dataclass(frozen=True)
class SearchTiming:
    """Where a run's time went: ``evaluate`` in the evaluator, ``tree`` in everything else
    (selection, replaying paths, expansion, backup)."""

    total: float
    evaluate: float
    tree: float
    batches: int
    collisions: int


@dataclass(frozen=True)
class SearchResult:
    """A snapshot of the root: every candidate (``moves``, in ``order``), the chosen move.

    ``winrate`` is the root's mean value for its side to move, in [0, 1];
    ``visits`` the root's (reused included), ``playouts`` those added by this run.
    ``best_move`` is ``coords.PASS`` with no candidates (the game is over).
    ``score_lead`` is the root's mean score for its side to move, in points, or
    None when the evaluator gives no scores.
    """

    best_move: int
    moves: tuple[MoveStats, ...]
    winrate: float
    visits: int
    playouts: int
    size: int
    timing: SearchTiming
    score_lead: float | None = None

    def visit_counts(self) -> np.ndarray:
        """``(size * size + 1,)`` int: each move's visits (pass last), 0 for non-candidates."""
        counts = np.zeros(self.size * self.size + 1, dtype=np.int64)
        for stats in self.moves:
            counts[move_to_slot(stats.move, self.size)] = stats.visits
        return counts


def lower_confidence_bound(visits: float, value_sum: float, value_squares: float,
                           alpha: float) -> float:
    """Lower confidence bound of a win rate from ``visits`` values in [-1, 1], their sum
    and the sum of their squares (module docstring); below 2 visits ``-1e6 + visits``."""
    if visits < 2:
        return -1e6 + visits
    mean = value_sum / visits
    variance = max(0.0, (value_squares - visits * mean * mean) / (visits - 1))
    # On the win-rate scale (value + 1) / 2 the standard deviation halves.
    spread = math.sqrt(variance / visits) / 2
    return (mean + 1) / 2 - _t_quantile(alpha, int(visits) - 1) * spread


@cache
def _normal_quantile(alpha: float) -> float:
    return NormalDist().inv_cdf(1 - alpha)


def _t_quantile(alpha: float, degrees: int) -> float:
    """Student's t quantile for one-sided error ``alpha``, by the Cornish-Fisher series
    (Abramowitz and Stegun 26.7.5). At ``alpha`` 1e-5 it is within 4% of the exact
    quantile from 5 degrees of freedom and within 0.2% from 10; below 5 it is too
    small (2 degrees: 110 for 224), where the bound is far below 0 all the same."""
    x = _normal_quantile(alpha)
    n = float(degrees)
    g1 = (x**3 + x) / 4
    g2 = (5 * x**5 + 16 * x**3 + 3 * x) / 96
    g3 = (3 * x**7 + 19 * x**5 + 17 * x**3 - 15 * x) / 384
    g4 = (79 * x**9 + 776 * x**7 + 1482 * x**5 - 1920 * x**3 - 945 * x) / 92160
    return x + g1 / n + g2 / n**2 + g3 / n**3 + g4 / n**4

