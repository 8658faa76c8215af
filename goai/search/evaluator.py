"""What the search asks of a network: priors over moves and a value, for a batch of positions.

``Evaluator`` is the contract (``goai.search.tree.Search`` trusts it; the tests'
fakes implement it in a few lines), ``ScoredEvaluator`` the same with a score
head, and ``PolicyEvaluator`` the adapter over a ``goai.nn.policy.Policy``:
encoding, a random symmetry per position, the legal mask, one batched forward
pass. Priors have a *move slot* per move (``coords.move_to_slot``: the points
in ``coords`` order, then pass); values are in [-1, 1] for each position's side
to move.

torch is never imported here: a ``Policy`` arrives made, and ``goai.nn.features``
is imported when a ``PolicyEvaluator`` is built.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from goai.rules.coords import NETWORK_SIZE
from goai.rules.game import GameState

if TYPE_CHECKING:
    from goai.nn.policy import Policy

__all__ = [
    "Evaluator",
    "PolicyEvaluator",
    "ScoredEvaluator",
    "check_value_network",
    "evaluate_scored",
]


class Evaluator(Protocol):
    """What the search needs from a network (or from a fake one in tests).

    ``evaluate(states)`` returns ``(priors, values)``: ``priors`` float
    ``(N, size * size + 1)`` (move slots, pass last), above 0 exactly at the
    legal moves of each state (pass is always legal) and summing to 1;
    ``values`` float ``(N,)`` in [-1, 1], the expected result for each state's
    side to move. All states of one call have the same board size. The search
    trusts the legality in ``priors``: a positive prior on an illegal move makes
    ``GameState.play`` raise during a playout.
    """

    def evaluate(self, states: Sequence[GameState]) -> tuple[np.ndarray, np.ndarray]: ...


class ScoredEvaluator(Evaluator, Protocol):
    """An ``Evaluator`` that can also say the score: what a network with a score head gives.

    ``evaluate_scored(states)`` returns ``(priors, values, scores)``: the first
    two as ``evaluate``'s, ``scores`` float ``(N,)`` the expected final margin
    of each state's side to move in points (komi included), or None when the
    network has no score head. The search uses it when the evaluator has it
    (evaluators with ``evaluate`` alone, as the tests' fakes, keep working and
    give no score); it never makes a score up.
    """

    def evaluate_scored(
        self, states: Sequence[GameState]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]: ...


def evaluate_scored(evaluator: Evaluator, states: Sequence[GameState]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(priors, values, scores or None)`` from any ``Evaluator``: its ``evaluate_scored``
    when it has one, else ``evaluate`` and no scores."""
    scored = getattr(evaluator, "evaluate_scored", None)
    if scored is not None:
        return scored(states)
    priors, values = evaluator.evaluate(states)
    return priors, values, None


class PolicyEvaluator:
    """An ``Evaluator`` backed by a ``goai.nn.policy.Policy`` with a value head (19x19 only).

    Each position is encoded with the checkpoint's feature set and evaluated
    under one of the 8 symmetries drawn at random from ``seed`` (so repeated
    visits see different orientations and the whole run is reproducible), or
    under all 8 averaged (``all_symmetries``, 8x the network work). Give it a
    ``Policy`` made with ``symmetries=1``: a policy that averages by itself
    would multiply the work again.

    Legality comes from the encoder's ``legal`` plane when the feature set has
    one, otherwise from the rules; legal moves get a prior of at least
    ``1e-9`` before renormalising, so that none is dropped by underflow.
    ``encode_seconds`` and ``network_seconds`` add up the time spent in each.

    ``value_policy``, when given, is a second network that gives the values
    (AlphaGo's split: priors from a policy network, values from a value
    network): typically a small net trained with ownership and score, cheap
    beside the policy's forward pass. It sees the same planes in the same
    orientation, so it must use the same feature set. The scores
    (``evaluate_scored``) come from the network that gives the values, when it
    has a score head (``scored``); the policy's own score head is not asked
    for when a value network is given.
    Raises ``ValueError`` when the network that gives the values has no value
    head, or the two feature sets differ.
    """

    def __init__(self, policy: Policy, *, all_symmetries: bool = False,
                 seed: int | None = None, value_policy: Policy | None = None) -> None:
        check_value_network(policy, value_policy)
        valuer = value_policy or policy
        from goai.nn.features import get_feature_set

        self.policy = policy
        self.value_policy = value_policy
        self.scored = bool(getattr(valuer, "has_score_head", False))
        self.feature_set = get_feature_set(policy.feature_set)
        self.all_symmetries = all_symmetries
        self.rng = np.random.default_rng(seed)
        self.encode_seconds = 0.0
        self.network_seconds = 0.0

    def evaluate(self, states: Sequence[GameState]) -> tuple[np.ndarray, np.ndarray]:
        priors, values, _ = self.evaluate_scored(states)
        return priors, values

    def evaluate_scored(self, states: Sequence[GameState]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``evaluate``'s priors and values, and the scores when the network that gives
        the values has a score head (else None): ``ScoredEvaluator``."""
        from goai.nn.features import encode_into
        from goai.rules.symmetry import NUM_SYMMETRIES, inverse, transform_planes, transform_policy

        started = time.perf_counter()
        count = len(states)
        for state in states:
            if state.size != NETWORK_SIZE:
                raise ValueError(f"the model plays 19x19 only, not {state.size}x{state.size}")
        feature_set = self.feature_set
        planes = np.empty((count, feature_set.num_channels, NETWORK_SIZE, NETWORK_SIZE),
                          dtype=np.uint8)
        for row, state in enumerate(states):
            encode_into(planes[row], state, feature_set)
        legal = np.ones((count, NETWORK_SIZE * NETWORK_SIZE + 1), dtype=bool)
        if "legal" in feature_set.slices:
            legal[:, :-1] = planes[:, feature_set.slices["legal"]].reshape(count, -1) != 0
        else:
            for row, state in enumerate(states):
                legal[row] = state.legal_mask()
        if self.all_symmetries:
            symmetries = np.tile(np.arange(NUM_SYMMETRIES), count)
            planes = np.repeat(planes, NUM_SYMMETRIES, axis=0)
        else:
            symmetries = self.rng.integers(NUM_SYMMETRIES, size=count)
        batch = np.empty_like(planes)
        for row, k in enumerate(symmetries):
            batch[row] = transform_planes(planes[row], int(k)) if k else planes[row]
        encoded = time.perf_counter()
        heads = self.policy.evaluate_heads(batch)
        probabilities, values, scores = heads.probabilities, heads.values, heads.scores
        if self.value_policy is not None:
            heads = self.value_policy.evaluate_heads(batch)
            values, scores = heads.values, heads.scores
        self.network_seconds += time.perf_counter() - encoded
        self.encode_seconds += encoded - started
        assert values is not None  # checked in __init__
        for row, k in enumerate(symmetries):
            if k:
                probabilities[row] = transform_policy(probabilities[row], inverse(int(k)))
        if self.all_symmetries:
            probabilities = probabilities.reshape(count, NUM_SYMMETRIES, -1).mean(axis=1)
            values = values.reshape(count, NUM_SYMMETRIES).mean(axis=1)
            if scores is not None:
                scores = scores.reshape(count, NUM_SYMMETRIES).mean(axis=1)
        priors = np.where(legal, np.maximum(probabilities, 1e-9), 0.0)
        priors /= priors.sum(axis=1, keepdims=True)
        if scores is not None:
            scores = scores.astype(np.float64)
        return priors, np.clip(values.astype(np.float64), -1.0, 1.0), scores


def check_value_network(policy: Policy, value_policy: Policy | None) -> None:
    """Raise ``ValueError`` unless the network that gives the values (``value_policy``, else
    ``policy``) has a value head and reads ``policy``'s feature set: what
    ``PolicyEvaluator`` needs, checked where a model is loaded, before any search."""
    valuer = value_policy or policy
    if not valuer.has_value_head:
        raise ValueError(f"{valuer.path} has no value head: the search needs one")
    if value_policy is not None and value_policy.feature_set != policy.feature_set:
        raise ValueError(f"the value network {value_policy.path} reads feature set "
                         f"{value_policy.feature_set!r}, the policy {policy.feature_set!r}: "
                         "they must be the same")
