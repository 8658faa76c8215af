"""A match's statistics: win shares, the win rate's Wilson interval, and Elo.

Pure functions of counts, so each is tested on its own numbers
(``tests/test_stats.py``); ``goai.play.match`` calls them on its results.

Games are treated as independent trials, a draw as half a win. The Wilson
score interval (z = 1.96 for 95%) is used because it stays inside [0, 1] and
behaves at 0 or N wins, where the normal approximation collapses. The Elo
difference is ``-400 * log10(1 / p - 1)``, and its interval maps the Wilson
bounds the same way; at 0% or 100% it is unbounded and reported as None.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

Z_95 = 1.96


def win_shares(winners: Iterable[str | None], labels: tuple[str, ...] = ("A", "B")
               ) -> dict[str, float]:
    """Wins per label from each game's winner (``None``: a draw, half a win to each label)."""
    wins = dict.fromkeys(labels, 0.0)
    for winner in winners:
        if winner is None:
            for label in labels:
                wins[label] += 0.5
        else:
            wins[winner] += 1
    return wins


def wilson_interval(wins: float, games: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for a win rate of ``wins / games`` (draws as halves);
    ``(0, 1)`` for no games."""
    if games == 0:
        return 0.0, 1.0
    p = wins / games
    denominator = 1 + z * z / games
    centre = (p + z * z / (2 * games)) / denominator
    half = z * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def elo_difference(win_rate: float) -> float | None:
    """Elo difference implied by a win rate; None (unbounded) at 0 or 1."""
    if not 0 < win_rate < 1:
        return None
    return -400 * math.log10(1 / win_rate - 1) + 0.0  # + 0.0: no "-0" at 50%


@dataclass(frozen=True)
class WinRate:
    """One side's record over ``games``: ``rate`` (0 for no games), its 95% Wilson interval
    ``low``-``high``, the Elo difference ``elo`` and its interval ``elo_low``-``elo_high``
    (the Wilson bounds mapped to Elo); the Elo figures are None where unbounded."""

    rate: float
    low: float
    high: float
    elo: float | None
    elo_low: float | None
    elo_high: float | None


def win_rate(wins: float, games: int) -> WinRate:
    """``wins`` (draws as halves) of ``games`` as a ``WinRate``."""
    rate = wins / games if games else 0.0
    low, high = wilson_interval(wins, games)
    return WinRate(rate, low, high, elo_difference(rate), elo_difference(low),
                   elo_difference(high))


__all__ = ["Z_95", "WinRate", "elo_difference", "wilson_interval", "win_rate", "win_shares"]
