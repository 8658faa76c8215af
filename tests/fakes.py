"""Stand-ins for ``goai.policy.Policy`` in tests that must not depend on a network."""

from __future__ import annotations

import numpy as np

from goai.coords import PASS
from goai.game import GameState
from goai.policy import Analysis


def analysis(state: GameState, probabilities: np.ndarray, value: float | None) -> Analysis:
    """What ``Policy.analyze`` would return with these network outputs, on any board size.

    ``probabilities`` (N * N + 1,) are masked to the side to move's legal moves
    and renormalised, as the policy does.
    """
    legal = np.zeros(state.size * state.size + 1, dtype=bool)
    legal[[len(legal) - 1 if move == PASS else move for move in state.legal_moves()]] = True
    masked = np.where(legal, probabilities, 0.0)
    return Analysis(masked / masked.sum(), value, legal)
