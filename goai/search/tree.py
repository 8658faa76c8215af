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
                  ``coords`` order, then pass (``coords.move_to_slot``; on 19x19: the
                  network's 362 move indices)
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
contract), less the points that fill one of the mover's own eyes (the eye rule of
``goai.rules.eyes``, which the player applies too; ``avoid_own_eyes``). Pass is a
child only by the pass rule of ``goai.search.endings`` (after Leela Zero's, plus
exact endings: a finished game is scored exactly).

The best move is the most visited child, ties broken by LCB (``goai.search.result``),
then by prior (``visits 1`` therefore plays the raw policy's top legal non-eye
move), then the two root rules of ``goai.search.endings`` on passing apply.
The player's own rules (``goai.play.player``) are meant to apply on top, so the
result exposes every candidate's visits and prior.

Limits (``goai.search.limits``): the first reached of ``visits`` (the root's,
reused ones included), ``playouts`` (new in this call) and ``seconds`` (wall
clock for this call, each batch cut to the leaves that still fit), or a
``stop`` callback checked between batches. The root is always evaluated, so
there is always a move. With limits by visits or playouts the search is
deterministic for a deterministic evaluator (``PolicyEvaluator`` draws its
symmetries from its seed).

Tree reuse: ``run`` on a state that continues the last root's game by some moves
(our move, the opponent's reply) keeps the subtree under those moves, with its
statistics; anything else starts a fresh tree.

Costs: every playout copies the root state and replays its path (a ``GameState``
copy is tens of microseconds; positions are not stored in nodes, which would
cost kilobytes each). A node holds 48 bytes per child (six 8-byte arrays), about
15 KB on an open 19x19 board, and each visit adds at most one node: 100,000
visits can take 1.5 GB. Long analyses on a GPU would want float32 statistics or
children kept only for the moves with a real prior; neither is done. Nodes are
objects the garbage collector tracks, so a search now and then triggers a full
collection, which with torch loaded walks some 170,000 objects
(0.2-0.5 s on the shared 2-core machine; ``scripts/bench_search.py`` shows it
as one run with 2-4 times the tree time). An engine can call ``gc.freeze()``
once its model is loaded, so that collections skip everything older.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from goai.rules.board import IllegalMoveError
from goai.rules.coords import PASS
from goai.rules.eyes import eye_mask
from goai.rules.game import GameState
from goai.search.endings import pass_allowed, root_move, terminal_result
from goai.search.evaluator import Evaluator, evaluate_scored
from goai.search.limits import BatchCost, SearchLimits
from goai.search.result import MoveStats, SearchResult, SearchTiming, lower_confidence_bound

__all__ = ["Node", "Search", "SearchConfig"]


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
        self._cost = BatchCost()  # kept between runs: the device's speed does not change
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
            self._cost.root_measured(time.perf_counter() - root_started)
        assert self.root is not None
        self._barred = None
        if allowed is not None and len(self.root.moves):
            barred = np.array([not allowed(int(move)) for move in self.root.moves])
            self._barred = barred if barred.any() and not barred.all() else None
        last_snapshot = started
        while not self.root.terminal:
            wanted = min(limits.playouts_left(self.root_visits, start_visits),
                         self.config.batch_size)
            if wanted <= 0:
                break
            now = time.perf_counter()
            if limits.seconds is not None:
                wanted = min(wanted, self._cost.leaves_that_fit(limits.seconds - (now - started)))
                if wanted <= 0:
                    break
            if stop is not None and stop():
                break
            leaves = self._run_batch(wanted)
            self._cost.batch_measured(leaves, time.perf_counter() - now)
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
        best = root_move(state, moves)
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
            root.set_terminal(*terminal_result(state))
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
                leaf.set_terminal(*terminal_result(state))
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
            points = points[~eye_mask(state.board, state.to_play)[points]]
        point_priors = priors[points]
        pass_prior = float(priors[size2])
        if pass_allowed(state, len(points), point_priors, pass_prior, value,
                        self.config.pass_value):
            moves = np.append(points, PASS)
            chosen = np.append(point_priors, pass_prior)
        else:
            moves, chosen = points, point_priors
        total = chosen.sum()
        chosen = chosen / total if total > 0 else np.full(len(chosen), 1.0 / len(chosen))
        return moves.astype(np.int64), chosen.astype(np.float64)

    # ------------------------------------------------------------- reading the root

    def _ranked_children(self, node: Node) -> list[int]:
        """Child indices by visits, then LCB, then prior (all descending; then move order)."""
        keys = [(-float(node.visits[i]), -self._lcb(node, i), -float(node.priors[i]), i)
                for i in range(len(node.moves))]
        return [key[3] for key in sorted(keys)]

    def _lcb(self, node: Node, index: int) -> float:
        """``lower_confidence_bound`` of child ``index``'s win rate."""
        return lower_confidence_bound(float(node.visits[index]), float(node.value_sums[index]),
                                      float(node.value_squares[index]), self.config.lcb_alpha)

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
