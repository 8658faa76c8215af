"""Stand-ins for what tests must not depend on: ``goai.nn.policy.Policy`` (a network), and the
wall clock (``FakeTime``: a busy machine must not fail a test of time limits)."""

from __future__ import annotations

import numpy as np

from goai.nn.policy import PolicyOutput
from goai.rules.board import BLACK
from goai.rules.game import GameState


def analysis(state: GameState, probabilities: np.ndarray, value: float | None) -> PolicyOutput:
    """What ``Policy.analyze`` would return with these network outputs, on any board size.

    ``probabilities`` (N * N + 1,) are masked to the side to move's legal moves
    and renormalised, as the policy does.
    """
    legal = state.legal_mask()
    masked = np.where(legal, probabilities, 0.0)
    return PolicyOutput(masked / masked.sum(), value, legal)


class FakeTime:
    """A ``time`` module stand-in whose clock moves only when told: ``monkeypatch.setattr(
    module, "time", clock)`` makes ``module``'s ``time.perf_counter()`` and
    ``time.monotonic()`` read ``clock.now``, and the code under test pays for what it
    does only through ``advance`` (a fake evaluator's cost, say)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def blunder_value(state: GameState, blunder: int) -> float:
    """A value head for the lessons' tests: Black wins 80% until a black stone stands on
    ``blunder``, 20% after; the side to move's value in [-1, 1]."""
    black = 0.2 if state.board.stones[blunder] == BLACK else 0.8
    return (2 * black - 1) * (1 if state.to_play == BLACK else -1)
