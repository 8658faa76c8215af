"""PUCT tree search over a policy and a value, as AlphaGo Zero and Leela Zero search.

``Search`` grows a tree from a ``GameState``: each playout descends by the PUCT
rule, evaluates the new leaf with an ``Evaluator`` (priors over moves and a
value for the side to move; no rollouts) and backs the value up. Leaves are
gathered in batches under *virtual loss*, so the network runs batched.

Conventions (each is tested in ``tests/test_search.py``):

================  =====================================================================
thing             convention
================  =====================================================================
move slot         an evaluator's priors have ``size * size + 1`` entries: the points in
                  ``coords`` order, then pass (on 19x19: the network's 362 move indices)
value             in [-1, 1], from the view of the side to move at that position;
                  a win rate is ``(value + 1) / 2``
edge statistics   a node keeps its children's statistics in numpy arrays, one entry per
                  child: ``moves``, ``priors``, ``visits``, ``value_sums`` (from the
                  view of the side choosing the child), ``value_squares``, ``virtual``
visits            a node's visits = 1 (its own evaluation) + the sum of its children's
                  visits; a terminal node (two passes) has no children and counts every
                  visit, each scored exactly. The root's visits are ``Search.root_visits``
value sums        a node's value sum from its own side to move's view = its evaluator
                  value + the sum of its children's ``value_sums``; its parent stores
                  the negation (the other side's view)
score sums        the same for scores (the expected final margin in points, komi
                  included, from the view of the side to move), in ``score_sums``: kept
                  only when the evaluator gives scores (``ScoredEvaluator``); a
                  terminal node's score is its exact area margin
================  =====================================================================

Selection: child ``i`` of a node maximises ``Q_i + c_puct * P_i * sqrt(N) / (1 + n_i)``
with ``N`` the node's visits (in-flight playouts included) and ``n_i`` the child's.
An unvisited child's ``Q`` is the *first-play urgency*: the node's own evaluator
value minus ``fpu_reduction * sqrt(sum of the priors of visited children)``,
as Leela Zero does (an untried move is assumed somewhat worse than the position,
more so the more of the policy has been tried). Virtual loss: a playout in flight
counts as ``virtual_loss`` lost visits on every edge of its path until its leaf is
evaluated. Two playouts of one batch that reach the same new leaf are a
*collision*: the second is dropped (its virtual loss taken back).

Children: the legal moves (those with a prior above 0: the ``Evaluator``
contract), less the points that fill one of the mover's own eyes (the eye-like
rule of ``goai.play.player``; ``avoid_own_eyes``). Pass is a child only when one of these
holds, a rule after Leela Zero's (which never passes early) plus exact endings:

* the opponent has just passed: passing ends the game, which is scored exactly
  (Tromp-Taylor area with komi, ``GameState.score``), so the search sees a win or a loss;
* few moves are left: at most ``max(5, size)`` children besides pass;
* the policy ranks pass above every other move;
* the evaluator's value for the mover is at least ``pass_value`` and the mover
  is not behind by area as the stones stand.

The best move is the most visited child, ties broken by LCB, then by prior
(``visits 1`` therefore plays the raw policy's top legal non-eye move). Two root
rules after Leela Zero's then apply: when the opponent has just passed and
passing wins by area, pass; when the best move is pass but the mover is behind
by area (the opponent could pass and win), play the most visited other move.
The player's own rules (``goai.play.player``) are meant to apply on top, so the
result exposes every candidate's visits and prior.

Limits: ``visits`` (the root's, reused ones included), ``playouts`` (new in this
call), ``seconds`` (wall clock for this call: a batch of n leaves is taken to cost
one evaluation plus n - 1 times the marginal cost of a leaf, both measured on
the batches before, and is cut to the leaves that still fit; until a batch
has been measured, a leaf is assumed to cost a whole evaluation, the root's),
and a ``stop`` callback checked between batches.
The root is always evaluated, so there is always a move. With limits by visits
or playouts the search is deterministic for a deterministic evaluator
(``PolicyEvaluator`` draws its symmetries from its seed).

Tree reuse: ``run`` on a state that continues the last root's game by some moves
(our move, the opponent's reply) keeps the subtree under those moves, with its
statistics; anything else starts a fresh tree.

Costs: every playout copies the root state and replays its path (a ``GameState``
copy is tens of microseconds; positions are not stored in nodes, which would
cost kilobytes each). A node holds 48 bytes per child (six 8-byte arrays), about
15 KB on an open 19x19 board, and each visit adds at most one node: 100,000
visits can take 1.5 GB. Long analyses on a GPU would want float32 statistics or
children kept only for the moves with a real prior; neither is done. The pass
rule's area count (``GameState.score``, a Python flood fill, about 0.5 ms on
19x19) runs at an expansion only when the value already says the mover wins.
Nodes are objects the garbage collector tracks, so a search now and then
triggers a full collection, which with torch loaded walks some 170,000 objects
(0.2-0.5 s on the shared 2-core machine; ``scripts/bench_search.py`` shows it
as one run with 2-4 times the tree time). An engine can call ``gc.freeze()``
once its model is loaded, so that collections skip everything older.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from statistics import NormalDist
from typing import TYPE_CHECKING, Protocol

import numpy as np

from goai.rules.board import BLACK, EMPTY, WHITE, IllegalMoveError, opponent
from goai.rules.coords import NETWORK_SIZE, PASS
from goai.rules.game import GameState

if TYPE_CHECKING:
    from goai.nn.policy import Policy

__all__ = [
    "Evaluator",
    "MoveStats",
    "ScoredEvaluator",
    "Node",
    "PolicyEvaluator",
    "Search",
    "SearchConfig",
    "SearchLimits",
    "SearchResult",
    "SearchTiming",
    "check_value_network",
    "evaluate_scored",
    "legal_move_mask",
]


# ----------------------------------------------------------------- evaluators


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


def legal_move_mask(state: GameState) -> np.ndarray:
    """``(size * size + 1,)`` bool: the legal moves of the side to move, pass last (always True).

    Superko is included when the state enforces it. A helper for evaluators.
    """
    size2 = state.size * state.size
    mask = np.zeros(size2 + 1, dtype=bool)
    for move in state.legal_moves():
        mask[size2 if move == PASS else move] = True
    return mask


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
                legal[row] = legal_move_mask(state)
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


# ----------------------------------------------------------------- configuration


@dataclass(frozen=True)
class SearchConfig:
    """How the tree grows; see the module docstring for each rule.

    Values are on the [-1, 1] scale: ``fpu_reduction`` 0.5 is Leela Zero's 0.25
    on win rates, ``c_puct`` 1.6 about its 0.8. ``virtual_loss`` is 1 lost visit
    per playout in flight, not AlphaGo Zero's 3: with 16 leaves a batch and a few
    hundred visits a move, 3 spread a batch over too many weak moves (in the
    tests' drawn capture, 400 visits at batch 16 find it with 1, not with 3).
    ``lcb_alpha`` is the one-sided error of the lower confidence bound on a win
    rate (Leela Zero's 1e-5). Each field's help (its metadata) is what an
    option made of it says (``goai.cli.common.add_config_options``).
    """

    c_puct: float = field(default=1.6, metadata={
        "help": "exploration weight of the PUCT rule (values on the [-1, 1] scale)"})
    fpu_reduction: float = field(default=0.5, metadata={
        "help": "an unvisited move's value: the node's own, less this times the square root "
                "of the visited moves' priors"})
    batch_size: int = field(default=16, metadata={
        "help": "leaves evaluated in one batch, under virtual loss (1 to 1024)", "metavar": "N"})
    virtual_loss: int = field(default=1, metadata={
        "help": "lost visits counted on the path of each playout in flight", "metavar": "N"})
    avoid_own_eyes: bool = field(default=True, metadata={
        "help": "leave out the moves that fill one of the mover's own eyes"})
    pass_value: float = field(default=0.6, metadata={
        "help": "pass is searched when the mover's value is at least this and it is not "
                "behind by area (among other rules)"})
    lcb_alpha: float = field(default=1e-5, metadata={
        "help": "one-sided error of the lower confidence bound on a win rate"})
    reuse_tree: bool = field(default=True, metadata={
        "help": "keep the subtree under the moves played since the last search"})

    def __post_init__(self) -> None:
        if not self.c_puct > 0:
            raise ValueError(f"c_puct must be > 0, not {self.c_puct}")
        if not self.fpu_reduction >= 0:
            raise ValueError(f"fpu_reduction must be >= 0, not {self.fpu_reduction}")
        if not 1 <= self.batch_size <= 1024:
            raise ValueError(f"batch_size must be 1..1024, not {self.batch_size}")
        if self.virtual_loss < 0:
            raise ValueError(f"virtual_loss must be >= 0, not {self.virtual_loss}")
        if not 0 < self.lcb_alpha < 0.5:
            raise ValueError(f"lcb_alpha must be in (0, 0.5), not {self.lcb_alpha}")


@dataclass(frozen=True)
class SearchLimits:
    """When a ``run`` stops: the first limit reached (``None`` = no such limit).

    ``visits``: the root's visits, reused ones included (1 = evaluate the root
    only, i.e. play the raw policy). ``playouts``: visits added by this run.
    ``seconds``: wall-clock time of this run.
    """

    visits: int | None = None
    playouts: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.visits is not None and self.visits < 1:
            raise ValueError(f"visits must be >= 1, not {self.visits}")
        if self.playouts is not None and self.playouts < 0:
            raise ValueError(f"playouts must be >= 0, not {self.playouts}")
        if self.seconds is not None and not self.seconds >= 0:
            raise ValueError(f"seconds must be >= 0, not {self.seconds}")

    @property
    def bounded(self) -> bool:
        return self.visits is not None or self.playouts is not None or self.seconds is not None


# ----------------------------------------------------------------- results


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
            counts[-1 if stats.move == PASS else stats.move] = stats.visits
        return counts


# ----------------------------------------------------------------- the tree


class Node:
    """A position in the tree and its children's statistics (one array entry per child).

    ``value`` is the evaluator's value for the position's side to move (for a
    terminal node: the exact result); ``score`` the same for the score (0 when
    the evaluator gives none; a terminal node: the exact area margin).
    ``children`` maps a child's array index to its ``Node`` once it has been
    reached. A node is *pending* from the moment a playout reaches it until its
    evaluation is back (``expanded`` False).
    """

    __slots__ = ("moves", "priors", "visits", "value_sums", "value_squares", "virtual",
                 "score_sums", "children", "value", "score", "terminal", "expanded",
                 "in_flight", "visited_prior")

    def __init__(self) -> None:
        self.moves = _NO_MOVES
        self.priors = _NO_FLOATS
        self.visits = _NO_FLOATS
        self.value_sums = _NO_FLOATS
        self.value_squares = _NO_FLOATS
        self.virtual = _NO_FLOATS
        self.score_sums = _NO_FLOATS
        self.children: dict[int, Node] = {}
        self.value = 0.0
        self.score = 0.0
        self.terminal = False
        self.expanded = False
        # Sum over children of visits + virtual loss, and the priors of the children
        # visited at least once: kept as running sums so selection need not add arrays.
        self.in_flight = 0.0
        self.visited_prior = 0.0

    def expand(self, moves: np.ndarray, priors: np.ndarray, value: float,
               score: float | None = None) -> None:
        """``score`` None: the evaluator gives none, and no score sums are kept."""
        count = len(moves)
        self.moves = moves
        self.priors = priors
        self.visits = np.zeros(count)
        self.value_sums = np.zeros(count)
        self.value_squares = np.zeros(count)
        self.virtual = np.zeros(count)
        self.score_sums = _NO_FLOATS if score is None else np.zeros(count)
        self.value = value
        self.score = 0.0 if score is None else score
        self.expanded = True

    def set_terminal(self, value: float, score: float = 0.0) -> None:
        self.value = value
        self.score = score
        self.terminal = True
        self.expanded = True


_NO_MOVES = np.zeros(0, dtype=np.int64)
_NO_FLOATS = np.zeros(0)
Path = list[tuple[Node, int]]


class Search:
    """A PUCT search with one tree, kept between ``run`` calls for reuse.

    ``run(state, limits)`` searches ``state`` (never modified) and returns a
    ``SearchResult``. ``stop()`` (if given) is asked between batches;
    ``on_snapshot(result)`` (if given) is called every ``snapshot_interval``
    seconds and not again at the end (the return value is the last word).
    """

    def __init__(self, evaluator: Evaluator, config: SearchConfig | None = None) -> None:
        self.evaluator = evaluator
        self.config = config or SearchConfig()
        self.root: Node | None = None
        self.root_state: GameState | None = None
        self.root_visits = 0
        self.root_value_sum = 0.0
        self.root_score_sum = 0.0
        # Whether the evaluator gave scores at its last call (None: not asked yet); without
        # them the tree's score sums hold only terminal margins and are never reported.
        self._scored: bool | None = None
        self._start_timing = time.perf_counter()
        self._evaluate_seconds = 0.0
        self._batches = self._collisions = 0
        self._single_seconds = self._leaf_seconds = 0.0
        self._barred: np.ndarray | None = None  # root children ``allowed`` bars, this run

    # ------------------------------------------------------------- public

    def reset(self) -> None:
        """Forget the tree (a new game, or a position that is not a continuation)."""
        self.root = None
        self.root_state = None
        self.root_visits = 0
        self.root_value_sum = 0.0
        self.root_score_sum = 0.0
        self._barred = None

    def run(
        self,
        state: GameState,
        limits: SearchLimits,
        *,
        stop: Callable[[], bool] | None = None,
        on_snapshot: Callable[[SearchResult], None] | None = None,
        snapshot_interval: float = 1.0,
        allowed: Callable[[int], bool] | None = None,
    ) -> SearchResult:
        """Search ``state`` until a limit is reached or ``stop()`` says so.

        ``allowed(move)``, when given, bars the root's other moves (GTP's
        ``avoid``/``allow``): they get no new visits and are left out of the
        result; moves deeper in the tree are not restricted. If it bars every
        move, nothing is barred. Raises ``ValueError`` when neither a limit nor
        ``stop`` is given.
        """
        if not limits.bounded and stop is None:
            raise ValueError("give the search a limit (visits, playouts, seconds) or a stop")
        started = time.perf_counter()
        self._start_timing = started
        self._evaluate_seconds = 0.0
        self._batches = self._collisions = 0
        self._adopt(state)
        start_visits = self.root_visits
        if self.root is None:
            root_started = time.perf_counter()
            self._evaluate_root()
            # One evaluation's cost; until a batch is measured, each further leaf is assumed
            # to cost as much (an over-estimate on every device, which keeps a time limit).
            self._single_seconds = time.perf_counter() - root_started
            self._leaf_seconds = max(self._leaf_seconds, self._single_seconds)
        assert self.root is not None
        self._barred = None
        if allowed is not None and len(self.root.moves):
            barred = np.array([not allowed(int(move)) for move in self.root.moves])
            self._barred = barred if barred.any() and not barred.all() else None
        last_snapshot = started
        while not self.root.terminal:
            wanted = min(self._remaining(limits, start_visits), self.config.batch_size)
            if wanted <= 0:
                break
            now = time.perf_counter()
            if limits.seconds is not None:
                # A batch of n leaves is taken to cost single + leaf * (n - 1): cut it to
                # what still fits, and start none when not even one leaf does.
                left = limits.seconds - (now - started) - self._single_seconds
                if left < 0:
                    break
                wanted = min(wanted, 1 + int(left / max(self._leaf_seconds, 1e-9)))
            if stop is not None and stop():
                break
            leaves = self._run_batch(wanted)
            took = time.perf_counter() - now
            if leaves > 1:
                self._leaf_seconds = max(0.0, took - self._single_seconds) / (leaves - 1)
            elif leaves == 1:
                self._single_seconds = took
            if on_snapshot is not None and time.perf_counter() - last_snapshot >= snapshot_interval:
                on_snapshot(self.result(start_visits))
                last_snapshot = time.perf_counter()
        return self.result(start_visits)

    def result(self, start_visits: int | None = None) -> SearchResult:
        """The root as it stands (``playouts`` counted from ``start_visits``)."""
        assert self.root is not None and self.root_state is not None
        root, state = self.root, self.root_state
        size = state.size
        candidates = self._ranked_children(root)
        if self._barred is not None:
            candidates = [index for index in candidates if not self._barred[index]]
        moves = []
        scored = bool(self._scored)
        for order, index in enumerate(candidates):
            visits = float(root.visits[index])
            mean = float(root.value_sums[index]) / visits if visits else None
            score = float(root.score_sums[index]) / visits if visits and scored else None
            moves.append(MoveStats(
                move=int(root.moves[index]),
                visits=int(visits),
                winrate=None if mean is None else (mean + 1) / 2,
                prior=float(root.priors[index]),
                lcb=min(1.0, max(0.0, self._lcb(root, index))),
                order=order,
                pv=tuple(self._principal_variation(root, index)),
                score_lead=score,
            ))
        best = self._best_move(state, moves)
        visits = max(self.root_visits, 1)
        elapsed = time.perf_counter() - self._start_timing
        return SearchResult(
            best_move=best,
            moves=tuple(moves),
            winrate=(float(self.root_value_sum) / visits + 1) / 2,
            visits=self.root_visits,
            playouts=self.root_visits - (start_visits or 0),
            size=size,
            timing=SearchTiming(
                total=elapsed,
                evaluate=self._evaluate_seconds,
                tree=elapsed - self._evaluate_seconds,
                batches=self._batches,
                collisions=self._collisions,
            ),
            score_lead=float(self.root_score_sum) / visits if scored else None,
        )

    # ------------------------------------------------------------- reuse

    def _adopt(self, state: GameState) -> None:
        """Make ``state`` the root: the matching subtree of the old tree, or a fresh root."""
        old_root, old_state = self.root, self.root_state
        visits, value_sum, score_sum = self.root_visits, self.root_value_sum, self.root_score_sum
        self.reset()
        self.root_state = state.copy()
        if not self.config.reuse_tree or old_root is None or old_state is None:
            return
        path = _continuation(old_state, state)
        if path is None:
            return
        node = old_root
        for move in path:
            if node.terminal:
                return
            hits = np.flatnonzero(node.moves == move)
            if len(hits) == 0 or int(hits[0]) not in node.children:
                return
            index = int(hits[0])
            # The parent's statistics for the child, turned to the child's side to move.
            visits = int(node.visits[index])
            value_sum = -float(node.value_sums[index])
            score_sum = -float(node.score_sums[index]) if len(node.score_sums) else 0.0
            node = node.children[index]
        if visits > 0:
            self.root, self.root_visits = node, visits
            self.root_value_sum, self.root_score_sum = value_sum, score_sum

    # ------------------------------------------------------------- one batch

    def _evaluate_root(self) -> None:
        state = self.root_state
        assert state is not None
        root = Node()
        self.root = root
        if state.is_over:
            root.set_terminal(*_terminal(state))
        else:
            priors, values, scores = self._evaluate([state])
            self._expand(root, state, priors[0], float(values[0]),
                         None if scores is None else float(scores[0]))
        self.root_visits = 1
        self.root_value_sum = root.value
        self.root_score_sum = root.score

    def _run_batch(self, wanted: int) -> int:
        """Gather up to ``wanted`` playouts, evaluate their new leaves together, back up;
        return how many leaves went to the evaluator.

        A playout that ends at a terminal node is backed up at once; one that
        reaches a leaf already pending in this batch is a collision and dropped.
        At most ``2 * wanted`` descents are tried, so a small tree whose paths
        all collide still ends the batch.
        """
        leaves: list[tuple[Path, Node, GameState]] = []
        finished = 0
        for _ in range(2 * wanted):
            if len(leaves) + finished >= wanted:
                break
            path, leaf, new = self._descend()
            if leaf.terminal:
                self._backup(path, leaf.value, leaf.score)
                finished += 1
                continue
            if not new:
                self._revert(path)
                self._collisions += 1
                continue
            state = self._replay(path)
            if state.is_over:
                leaf.set_terminal(*_terminal(state))
                self._backup(path, leaf.value, leaf.score)
                finished += 1
                continue
            leaves.append((path, leaf, state))
        if leaves:
            priors, values, scores = self._evaluate([state for _, _, state in leaves])
            for row, (path, leaf, state) in enumerate(leaves):
                self._expand(leaf, state, priors[row], float(values[row]),
                             None if scores is None else float(scores[row]))
                self._backup(path, leaf.value, leaf.score)
        self._batches += 1
        return len(leaves)

    def _descend(self) -> tuple[Path, Node, bool]:
        """Follow PUCT from the root, adding virtual loss, to a leaf: ``(path, leaf, new)``.

        The leaf is a node created here (``new``), a terminal node, or a node
        still pending in this batch. Every node met on the way is expanded.
        """
        config = self.config
        node = self.root
        assert node is not None
        path: Path = []
        virtual_loss = config.virtual_loss
        barred = self._barred
        while True:
            index = _select(node, config.c_puct, config.fpu_reduction, barred)
            barred = None  # only the root's moves are restricted
            path.append((node, index))
            node.virtual[index] += virtual_loss
            node.in_flight += virtual_loss
            child = node.children.get(index)
            if child is None:
                child = Node()
                node.children[index] = child
                return path, child, True
            if child.terminal or not child.expanded:
                return path, child, False
            node = child

    def _replay(self, path: Path) -> GameState:
        state = self.root_state.copy()
        for node, index in path:
            state.play(int(node.moves[index]))
        return state

    def _revert(self, path: Path) -> None:
        virtual_loss = self.config.virtual_loss
        for node, index in path:
            node.virtual[index] -= virtual_loss
            node.in_flight -= virtual_loss

    def _backup(self, path: Path, leaf_value: float, leaf_score: float = 0.0) -> None:
        """Add one visit with ``leaf_value`` and ``leaf_score`` (the leaf's side to move's
        view) along ``path``."""
        virtual_loss = self.config.virtual_loss
        scored = self._scored  # without scores the tree keeps no score sums: no work for them
        value, score = leaf_value, leaf_score
        for node, index in reversed(path):
            value = -value  # now from the view of the side choosing ``index`` at ``node``
            if node.visits[index] == 0:
                node.visited_prior += node.priors[index]
            node.visits[index] += 1
            node.value_sums[index] += value
            node.value_squares[index] += value * value
            if scored:
                score = -score
                node.score_sums[index] += score
            node.virtual[index] -= virtual_loss
            node.in_flight += 1 - virtual_loss
        self.root_visits += 1
        self.root_value_sum += value
        if scored:
            self.root_score_sum += score

    def _evaluate(self, states: list[GameState]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        started = time.perf_counter()
        priors, values, scores = evaluate_scored(self.evaluator, states)
        self._scored = scores is not None
        self._evaluate_seconds += time.perf_counter() - started
        return priors, values, scores

    # ------------------------------------------------------------- expansion

    def _expand(self, node: Node, state: GameState, priors: np.ndarray, value: float,
                score: float | None = None) -> None:
        moves, child_priors = self._children(state, priors, value)
        node.expand(moves, child_priors, value, score)

    def _children(self, state: GameState, priors: np.ndarray,
                  value: float) -> tuple[np.ndarray, np.ndarray]:
        """The moves worth searching at ``state`` and their renormalised priors (pass last)."""
        size = state.size
        size2 = size * size
        points = np.flatnonzero(priors[:size2] > 0)
        if self.config.avoid_own_eyes and len(points):
            points = points[~_own_eyes(state)[points]]
        point_priors = priors[points]
        pass_prior = float(priors[size2])
        if self._allow_pass(state, len(points), point_priors, pass_prior, value):
            moves = np.append(points, PASS)
            chosen = np.append(point_priors, pass_prior)
        else:
            moves, chosen = points, point_priors
        total = chosen.sum()
        chosen = chosen / total if total > 0 else np.full(len(chosen), 1.0 / len(chosen))
        return moves.astype(np.int64), chosen.astype(np.float64)

    def _allow_pass(self, state: GameState, count: int, point_priors: np.ndarray,
                    pass_prior: float, value: float) -> bool:
        """The pass rule of the module docstring. Cheapest tests first."""
        if count == 0 or _opponent_passed(state):
            return True
        if count <= max(5, state.size):
            return True
        if pass_prior > float(point_priors.max()):
            return True
        return value >= self.config.pass_value and _area_margin(state) >= 0

    # ------------------------------------------------------------- reading the root

    def _ranked_children(self, node: Node) -> list[int]:
        """Child indices by visits, then LCB, then prior (all descending; then move order)."""
        keys = [(-float(node.visits[i]), -self._lcb(node, i), -float(node.priors[i]), i)
                for i in range(len(node.moves))]
        return [key[3] for key in sorted(keys)]

    def _lcb(self, node: Node, index: int) -> float:
        """Lower confidence bound of child ``index``'s win rate; below 2 visits -1e6 + visits."""
        visits = float(node.visits[index])
        if visits < 2:
            return -1e6 + visits
        mean = float(node.value_sums[index]) / visits
        variance = max(0.0, (node.value_squares[index] - visits * mean * mean) / (visits - 1))
        # On the win-rate scale (value + 1) / 2 the standard deviation halves.
        spread = math.sqrt(variance / visits) / 2
        return (mean + 1) / 2 - _t_quantile(self.config.lcb_alpha, int(visits) - 1) * spread

    def _principal_variation(self, node: Node, index: int) -> list[int]:
        line = [int(node.moves[index])]
        child = node.children.get(index)
        while child is not None and child.expanded and not child.terminal and len(child.moves):
            best = int(np.argmax(child.visits))
            if child.visits[best] == 0:
                break
            line.append(int(child.moves[best]))
            child = child.children.get(best)
        return line

    def _best_move(self, state: GameState, moves: list[MoveStats]) -> int:
        if not moves:
            return PASS
        best = moves[0].move
        if _opponent_passed(state) and any(m.move == PASS for m in moves) and (
                _area_margin(state) > 0):
            return PASS  # passing ends the game, and wins it
        if best == PASS and _area_margin(state) < 0:
            others = [m for m in moves if m.move != PASS and m.visits > 0]
            if others:
                return others[0].move
        return best

    def _remaining(self, limits: SearchLimits, start_visits: int) -> int:
        """Playouts still allowed by the visit and playout limits (a large number if none)."""
        remaining = 1 << 62
        if limits.visits is not None:
            remaining = min(remaining, limits.visits - self.root_visits)
        if limits.playouts is not None:
            remaining = min(remaining, limits.playouts - (self.root_visits - start_visits))
        return remaining


# ----------------------------------------------------------------- helpers


def _select(node: Node, c_puct: float, fpu_reduction: float,
            barred: np.ndarray | None = None) -> int:
    """The child maximising Q + U under virtual loss (the first on ties), never a
    ``barred`` one.

    One pass of a few numpy operations over the node's arrays; this runs once
    per level of every playout, so it is written for speed over brevity.
    """
    counts = node.visits + node.virtual
    score = node.value_sums - node.virtual
    score /= np.maximum(counts, 1.0)
    score[counts == 0] = node.value - fpu_reduction * math.sqrt(node.visited_prior)
    score += (c_puct * math.sqrt(1.0 + node.in_flight)) * node.priors / (1.0 + counts)
    if barred is not None:
        score[barred] = -np.inf
    return int(score.argmax())


def _continuation(old: GameState, new: GameState) -> list[int] | None:
    """The moves that lead from ``old`` to ``new`` in one game, or None if ``new`` is not one.

    Colours must alternate (the tree assumes it) and the replayed position must
    be ``new``'s, side to move and rules included.
    """
    if (old.size, old.komi, old.superko) != (new.size, new.komi, new.superko):
        return None
    if old.setup_black != new.setup_black or old.setup_white != new.setup_white:
        return None
    count = len(old.history)
    if new.history[:count] != old.history:
        return None
    replayed = old.copy()
    moves = []
    for color, move in new.history[count:]:
        if color != replayed.to_play:
            return None
        try:
            replayed.play(move)
        except IllegalMoveError:  # played under other rules: not this tree's game
            return None
        moves.append(move)
    if replayed.board.hash != new.board.hash or replayed.to_play != new.to_play:
        return None
    return moves


def _opponent_passed(state: GameState) -> bool:
    """Did the other side pass last (so that a pass now ends the game)?"""
    return bool(state.history) and state.history[-1] == (opponent(state.to_play), PASS)


def _area_margin(state: GameState) -> float:
    """The Tromp-Taylor area result with komi from the side to move's view."""
    score = state.score()
    return score if state.to_play == BLACK else -score


def _terminal(state: GameState) -> tuple[float, float]:
    """The exact result of a finished game for its side to move: ``(value, score)``, the
    value 1, -1, or 0 for a draw, the score the area margin with komi."""
    margin = _area_margin(state)
    return (1.0 if margin > 0 else -1.0 if margin < 0 else 0.0), margin


@cache
def _eye_tables(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: its 4 orthogonal and 4 diagonal neighbours (``size * size`` = off the
    board), and how many diagonals are off the board."""
    size2 = size * size
    orthogonal = np.full((size2, 4), size2, dtype=np.int64)
    diagonal = np.full((size2, 4), size2, dtype=np.int64)
    for row in range(size):
        for col in range(size):
            point = row * size + col
            for k, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
                r, c = row + dr, col + dc
                if 0 <= r < size and 0 <= c < size:
                    orthogonal[point, k] = r * size + c
            for k, (dr, dc) in enumerate(((-1, -1), (-1, 1), (1, -1), (1, 1))):
                r, c = row + dr, col + dc
                if 0 <= r < size and 0 <= c < size:
                    diagonal[point, k] = r * size + c
    off_board = (diagonal == size2).sum(axis=1)
    return orthogonal, diagonal, off_board


_OFF_BOARD = 3  # neither EMPTY, BLACK nor WHITE


def _own_eyes(state: GameState) -> np.ndarray:
    """``(size * size,)`` bool: the eye-like points of the side to move.

    The rule of ``goai.play.player.is_eye``, for all points at once: empty, every
    neighbour an own stone, and no enemy diagonal (on the edge) or at most one
    (in the middle). A false eye is not an eye, so connecting through it stays
    allowed. The diagonals are looked at only for the few points that pass the
    first test (this runs at every expansion).
    """
    orthogonal, diagonal, off_board = _eye_tables(state.size)
    stones = np.frombuffer(bytearray(state.board.stones) + bytes([_OFF_BOARD]), dtype=np.uint8)
    color = state.to_play
    own = (stones == color) | (stones == _OFF_BOARD)
    eyes = stones[:-1] == EMPTY
    for side in range(4):
        eyes &= own[orthogonal[:, side]]
    points = np.flatnonzero(eyes)
    if len(points):
        enemy = stones == opponent(color)
        allowed = np.where(off_board[points] > 0, 0, 1)
        eyes[points[enemy[diagonal[points]].sum(axis=1) > allowed]] = False
    return eyes


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


assert WHITE == 3 - BLACK  # opponent() and the eye tables rely on it
