"""Move choice from a policy: the one place that turns probabilities into a move.

Shared by the GTP engine, the terminal game and the gymnasium opponent, so
that they all play by the same rules of thumb. A policy network alone knows
nothing about the end of a game, so four rules sit on top of it:

* **Never illegal, never an own eye.** Candidates are the legal points
  (positional superko included when the state enforces it) that do not fill
  one of the mover's own eyes, by the eye rule of ``goai.rules.eyes`` (the
  search's too). Filling a false eye is allowed: that is often the only way
  to connect.
* **Passing.** Pass is never *sampled*; it is a decision:

  - no candidate is left, or
  - the policy itself puts pass above every candidate and above
    ``pass_floor`` (an untrained net's flat policy does not count), or
  - the opponent has just passed and (a) we are ahead by area, counted both
    as the stones stand (Tromp-Taylor) and with the estimated dead stones
    removed, or (b) nothing useful is left: no dead enemy stone to capture and
    the best candidate has probability below ``pass_floor``.

  Being behind after the opponent passed first sends us capturing dead enemy
  stones (free under area scoring), and only then to pass.
* **Cleanup** (``kgs-genmove_cleanup``): while the estimate sees dead enemy
  stones, play on their liberties, captures first, then ataris, then the
  liberty of the weakest one, ties broken by the policy; never pass while any
  remain unless no move is left.
* **Resigning** (``Player`` only): when the value head gives the side to move
  a win probability below ``resign_threshold`` on ``resign_consecutive`` of
  its turns in a row, not before move ``resign_min_moves``, and only if the
  estimated area score does not favour it. Off without a value head. With a
  search the win probability is the search's (the root's mean value), and
  resigning is off for a move searched with fewer than ``resign_min_visits``
  visits: a handful of visits is the value head's guess again, only noisier.

Searching (``Player`` only)
---------------------------
``PlayerConfig.visits``, ``playouts`` and ``time`` (seconds per move) limit a
PUCT search (``goai.search.tree``); the first limit reached ends it. With none of
them, or with ``visits`` 1 alone, the player plays the raw policy as above:
one forward pass and no tree. With a search the rules above apply to the
search's *visit counts* in place of the policy's probabilities: the most
visited move (ties: the search's order, by lower confidence bound then
prior), never an own eye, pass only when pass is the most visited (or by the
rules after the opponent's pass), cleanup on the same counts, and sampling in
proportion to ``visits ** (1 / temperature)`` above temperature 0. With
limits by visits or playouts the moves are a function of the seed of the
player's generator (the evaluator's symmetries are drawn from it); a time
limit makes them depend on the machine's speed.

Levels (``PlayerConfig.level``)
-------------------------------
A level below ``full`` (``goai.play.levels``) plays from one forward pass,
whatever the search limits and temperature: the rules above pick the move
at temperature 0 (so passing, cleanup and resigning are as at full
strength), and an ordinary move, not after the opponent's pass, is then the
level's best of n drawn from the moves the policy rates, never an own eye.
Level ``4`` keeps the policy's first choice; ``full`` is no level at all.

Dead stones, for passing and cleanup, are ``goai.rules.status.dead_stones``' estimate
(a rule of thumb about eyes, meant for finished positions); ``Player.stone_status``
judges from the ownership map instead when the model has one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from goai.play.levels import FULL, LEVELS, Level, level_named
from goai.play.levels import choose as choose_at_level
from goai.play.levels import pool as level_pool
from goai.rules.board import BLACK, opponent
from goai.rules.coords import PASS, move_to_slot, slot_to_move
from goai.rules.eyes import is_eye
from goai.rules.game import GameState
from goai.rules.status import StoneStatus, black_view, dead_stones, estimate, estimated_score, judge
from goai.search.evaluator import Evaluator
from goai.search.limits import SearchLimits
from goai.search.result import SearchResult
from goai.search.tree import Search

if TYPE_CHECKING:  # policy imports torch; the player is used without it (GTP start-up)
    from goai.nn.policy import PolicyOutput

# The search of a front end (goai gtp, play, serve) given no limit: root visits a move.
# In a batch of 16 on one core the b10c128 (the default model) costs about 43 ms of CPU
# time a position and the b4c48 (small) about 4.3 ms (process CPU time on the shared
# 2-core machine, standing for a quiet core's wall time). With 20-30 of the 32 visits
# new after reusing the last move's tree, a move takes about a second with the b10c128
# on one core, a tenth of that with small. A visit limit, unlike a time limit, keeps the
# moves reproducible with a seed.
DEFAULT_VISITS = 32
_SEARCH_LIMITS = ("visits", "playouts", "time")


def _setting(default: object, help: str, **metadata: object) -> Any:
    """A ``PlayerConfig`` field: its default and its help text, read by the commands that
    make options of the fields (``goai.cli.common.add_config_options``)."""
    return field(default=default, metadata={"help": help, **metadata})



class MovePolicy(Protocol):
    """What the player needs from ``goai.nn.policy.Policy`` (a fake in tests).

    ``has_ownership_head`` and ``has_score_head`` are read with ``getattr`` (a
    fake without them has neither head): see ``has_head``.
    """

    @property
    def has_value_head(self) -> bool: ...

    def move_probabilities(self, state: GameState) -> np.ndarray: ...

    def analyze(self, state: GameState, *, symmetries: int | None = None) -> PolicyOutput:
        """Probabilities, value and legal mask for ``state.to_play`` from one forward pass."""
        ...


def has_head(policy: MovePolicy | None, head: str) -> bool:
    """Does ``policy`` have the ``"ownership"`` or ``"score"`` head? False for None."""
    return policy is not None and bool(getattr(policy, f"has_{head}_head", False))


def with_to_play(state: GameState, color: int) -> GameState:
    """``state`` itself when ``color`` is to move, else a copy with ``color`` to move.

    GTP lets a controller ask for a move of either colour; asking must not
    change whose turn the game says it is.
    """
    if state.to_play == color:
        return state
    position = state.copy()
    position.to_play = color
    return position


@dataclass(frozen=True)
class PlayerConfig:
    """How moves are chosen; see the module docstring for what each rule does.

    ``temperature`` 0 plays the most probable candidate; above 0 samples with
    probability proportional to ``p ** (1 / temperature)``. ``resign_threshold``
    is a win probability in [0, 1); 0 never resigns. ``visits`` (root visits,
    reused ones included), ``playouts`` (new ones) and ``time`` (seconds per
    move) limit the search; all None, or ``visits`` 1 alone, plays the raw
    policy (``raw``). ``level`` names a rung of ``levels.LEVELS``; below
    ``full`` it plays the raw policy weakened, whatever the limits and
    temperature say (see the module docstring). Each field's help is the
    option's help in ``goai gtp`` (and ``play``, ``serve`` for the limits and the level).
    """

    temperature: float = _setting(
        0.0, "0 plays the best move; above 0 samples p^(1/T) (p: the share of the search's "
             "visits, or the policy's)", metavar="T")
    pass_floor: float = _setting(
        0.05, "after the opponent passes, pass when the best move is below this probability, "
              "or share of the visits", metavar="P")
    resign_threshold: float = _setting(
        0.05, "resign below this win probability (the search's, or the value head's with "
              "--visits 1; 0: never)", metavar="P", short="-r")
    resign_min_moves: int = _setting(50, "never resign before move N", metavar="N")
    # A config-file key of goai gtp, not an option: the command line never had it.
    resign_consecutive: int = _setting(3, "resign after this many lost turns in a row",
                                       command_line=False)
    resign_min_visits: int = _setting(
        30, "never resign after a search of fewer than N visits", metavar="N")
    visits: int | None = _setting(
        None, f"search until the root has N visits (default {DEFAULT_VISITS} when no limit is "
              "given, about a second a move on a laptop CPU; 1, or a model without a value "
              "head: the raw policy, no search)", metavar="N")
    playouts: int | None = _setting(
        None, "search N new playouts a move (visits reused from the last move's tree not "
              "counted)", metavar="N")
    time: float | None = _setting(
        None, "search at most SECONDS a move (with a game clock, the smaller budget wins; "
              "moves then depend on the machine's speed)", metavar="SECONDS")
    level: str | None = _setting(
        None, "playing strength, weakest first: 1, 2, 3, 4 or full (the default; the README's "
              "level table says what each measured). Below full the search limits and "
              "temperature are not used", metavar="LEVEL", choices=tuple(LEVELS))

    def __post_init__(self) -> None:
        if not self.temperature >= 0:  # also rejects NaN
            raise ValueError(f"temperature must be >= 0, not {self.temperature}")
        if not 0 <= self.pass_floor <= 1:
            raise ValueError(f"pass_floor must be in [0, 1], not {self.pass_floor}")
        if not 0 <= self.resign_threshold < 1:
            raise ValueError(f"resign_threshold must be in [0, 1), not {self.resign_threshold}")
        if self.resign_min_moves < 0 or self.resign_consecutive < 1:
            raise ValueError("resign_min_moves must be >= 0 and resign_consecutive >= 1")
        if self.resign_min_visits < 0:
            raise ValueError(f"resign_min_visits must be >= 0, not {self.resign_min_visits}")
        if self.visits is not None and self.visits < 1:
            raise ValueError(f"visits must be >= 1, not {self.visits}")
        if self.playouts is not None and self.playouts < 1:
            raise ValueError(f"playouts must be >= 1, not {self.playouts}")
        if self.time is not None and not self.time > 0:
            raise ValueError(f"time must be > 0 seconds, not {self.time}")
        if self.level is not None:
            level_named(self.level)

    @property
    def weakened(self) -> Level | None:
        """The level that weakens the move choice; None for no level or ``full``."""
        if self.level is None or self.level == FULL:
            return None
        return level_named(self.level)

    @classmethod
    def with_default_limit(cls, **settings: object) -> PlayerConfig:
        """A config of ``settings`` (field names; None: the field's default) that searches
        ``DEFAULT_VISITS`` visits when none of ``visits``, ``playouts`` and ``time`` is given:
        the rule of every front end that plays (``goai gtp``, ``play``, ``serve``). The
        dataclass's own default, no limit, is the raw policy. Raises ``ValueError`` as the
        constructor does."""
        given = {name: value for name, value in settings.items() if value is not None}
        if not given.keys() & set(_SEARCH_LIMITS):
            given["visits"] = DEFAULT_VISITS
        return cls(**given)  # type: ignore[arg-type]

    @property
    def raw(self) -> bool:
        """Does this config play the raw policy (no search limit, or ``visits`` 1 alone, or a
        level below full)?"""
        return (self.weakened is not None
                or self.playouts is None and self.time is None and self.visits in (None, 1))

    def limits(self, seconds: float | None = None) -> SearchLimits:
        """The search's limits for one move; ``seconds`` (a time budget) caps ``time``."""
        time = self.time if seconds is None else (
            seconds if self.time is None else min(self.time, seconds))
        return SearchLimits(visits=self.visits, playouts=self.playouts, seconds=time)


# ----------------------------------------------------------------- choosing a move


def select_move(probabilities: np.ndarray, state: GameState, config: PlayerConfig | None = None,
                *, rng: np.random.Generator | None = None, cleanup: bool = False,
                legal: np.ndarray | None = None) -> int:
    """The move for the side to move, given the policy's ``probabilities``.

    ``probabilities`` has one entry per point of the board (``coords`` order)
    followed by pass: shape ``(size * size + 1,)``, the network's 362 moves on
    19x19. They need not be masked or normalised. ``legal``, the same shape
    (bool), is the side to move's legal moves when the caller already has them
    (``Policy.analyze`` does); without it they are computed. Returns a legal
    move (a point or ``PASS``), never one that fills an own eye. ``rng`` is
    used only when ``config.temperature > 0`` (default: a fresh unseeded
    generator). Raises ``ValueError`` for probabilities of the wrong shape.
    """
    config = config or PlayerConfig()
    board = state.board
    pass_index = board.size * board.size
    if probabilities.shape != (pass_index + 1,):
        raise ValueError(f"expected {pass_index + 1} probabilities, got {probabilities.shape}")
    color = state.to_play
    if legal is None:
        points = state.legal_moves(color)[:-1]  # without PASS
    else:
        points = np.flatnonzero(legal[:-1]).tolist()
    # The most probable point that is not an own eye. Checking eyes in order of
    # probability usually stops at the first point, where filtering all ~300
    # legal points first would cost a third of a network call on every genmove.
    order = np.argsort(-probabilities[points], kind="stable")  # ties: lowest point first
    best = next((points[i] for i in order if not is_eye(board, points[i], color)), None)
    if best is None:
        return PASS
    opponent_passed = bool(state.history) and state.history[-1] == (opponent(color), PASS)
    if not (cleanup or opponent_passed):
        if probabilities[pass_index] > max(probabilities[best], config.pass_floor):
            return PASS
        if config.temperature == 0:
            return best
    candidates = [move for move in points if not is_eye(board, move, color)]
    if not (cleanup or opponent_passed):
        return _sample(probabilities, candidates, config.temperature, rng)

    dead = dead_stones(board)
    targets = [point for point in dead if board.stones[point] == opponent(color)]
    ahead = _ahead(state, color, dead)
    if targets and (cleanup or not ahead):
        move = _cleanup_move(state, candidates, targets, probabilities)
        if move is not None:
            return move
        if cleanup:
            return best
    if ahead:
        return PASS
    if probabilities[pass_index] >= probabilities[best] or probabilities[best] < config.pass_floor:
        return PASS
    return _sample(probabilities, candidates, config.temperature, rng)


def choose_move(policy: MovePolicy, state: GameState, *, temperature: float | None = None,
                rng: np.random.Generator | None = None, cleanup: bool = False,
                config: PlayerConfig | None = None) -> int:
    """The policy's move for the side to move of ``state`` (see ``select_move``).

    ``temperature``, when given, overrides ``config.temperature`` (0: the most
    probable candidate). Resigning is ``Player``'s business, not this one's.
    """
    config = config or PlayerConfig()
    if temperature is not None:
        config = replace(config, temperature=temperature)
    result = policy.analyze(state)
    return select_move(result.probabilities, state, config, rng=rng, cleanup=cleanup,
                       legal=result.legal)


def _sample(probabilities: np.ndarray, candidates: list[int], temperature: float,
            rng: np.random.Generator | None) -> int:
    weights = probabilities[candidates].astype(np.float64)
    if temperature == 0 or weights.sum() <= 0:
        return candidates[int(np.argmax(weights))]
    # Scale in log space: p ** (1/T) underflows for small T and small p.
    logits = np.log(np.maximum(weights, 1e-30)) / temperature
    weights = np.exp(logits - logits.max())
    rng = rng or np.random.default_rng()
    return candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))]


def _ahead(state: GameState, color: int, dead: set[int]) -> bool:
    """Does ``color`` lead by area both as the stones stand and with ``dead`` removed?"""
    sign = 1 if color == BLACK else -1
    return min(sign * state.score(), sign * estimated_score(state, dead)) > 0


def _cleanup_move(state: GameState, candidates: list[int], targets: list[int],
                  probabilities: np.ndarray) -> int | None:
    """The best candidate on a liberty of a target string, or None when none is one."""
    board = state.board
    color = state.to_play
    target_set = set(targets)
    target_groups = {board.group_of[point] for point in targets}
    liberty_of: dict[int, int] = {}  # liberty -> fewest liberties among the targets it touches
    for gid in target_groups:
        count = len(board.group_liberties[gid])
        for liberty in board.group_liberties[gid]:
            liberty_of[liberty] = min(count, liberty_of.get(liberty, count))

    def rank(move: int) -> tuple[int, bool, int, float]:
        captured = board.captured_by(move, color)
        after = board.copy()
        after.play(move, color)
        self_atari = not captured and after.liberty_count(move) == 1
        taken = sum(1 for point in captured if point in target_set)
        return taken, not self_atari, -liberty_of[move], float(probabilities[move])

    options = [move for move in candidates if move in liberty_of]
    return max(options, key=rank) if options else None


# ----------------------------------------------------------------- a player with resigning


@dataclass(frozen=True)
class Decision:
    """What ``Player.decide`` chose, with what it saw.

    ``move`` is the move to play (meaningless when ``resign``); ``probabilities``
    the policy's (362,) legal-masked probabilities (with a search: the root's
    priors, over the moves the search considered); ``value`` the side to move's
    expected result in [-1, 1] (with a search: from the root's win rate), or
    None when it was not computed; ``search`` the search's result, None for a
    raw policy move; ``score`` the side to move's expected final margin in
    points (the search root's mean score, or the score head's for a raw move),
    None without a score head.
    """

    move: int
    resign: bool
    probabilities: np.ndarray
    value: float | None = None
    search: SearchResult | None = None
    score: float | None = None


@dataclass
class Player:
    """A policy with a ``PlayerConfig`` and a random generator: ``decide`` is one genmove.

    Keeps, per colour, how many turns in a row the game has looked lost, for
    ``resign_consecutive``, and the search tree between moves (reused when the
    next position continues the game); ``reset`` forgets both (a new game).
    ``evaluator`` is what the search asks for priors and values; by default a
    ``search.PolicyEvaluator`` over ``policy`` (which must then be a real
    ``goai.nn.policy.Policy`` with a value head, made with ``symmetries=1``), its
    symmetries drawn from a seed taken from ``rng``. A policy without a value
    head and no evaluator: the raw policy, whatever the limits.

    ``value_policy``, when given, is a second network (``--value-model``) that
    gives the values (and the scores, with a score head): the search takes its
    priors from ``policy`` and its values from this one (AlphaGo's split; see
    ``search.PolicyEvaluator``), and a raw move's value is its value. The
    territory map and the judged dead stones (``ownership_analysis``,
    ``stone_status``) come from whichever of the two has an ownership head,
    the value network first.
    """

    policy: MovePolicy
    config: PlayerConfig = field(default_factory=PlayerConfig)
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    evaluator: Evaluator | None = None
    value_policy: MovePolicy | None = None
    _lost_turns: dict[int, int] = field(default_factory=dict)
    _search: Search | None = None

    @classmethod
    def from_config(cls, policy: MovePolicy, config: PlayerConfig, *,
                    seed: int | np.random.Generator | None = None,
                    value_policy: MovePolicy | None = None) -> Player:
        """The one way the front ends (``goai gtp``, ``play``, ``serve``, the env's opponent)
        make a player: ``config`` as given, a generator from ``seed`` (an int repeats the
        moves of a search limited by visits or playouts; a ``Generator`` is used as it is;
        None: fresh entropy) and the optional ``value_policy`` (``--value-model``)."""
        return cls(policy, config, np.random.default_rng(seed), value_policy=value_policy)

    def reset(self) -> None:
        self._lost_turns.clear()
        if self._search is not None:
            self._search.reset()

    @property
    def valuer(self) -> MovePolicy:
        """The network that gives the values: the value network if any, else the policy."""
        return self.value_policy if self.value_policy is not None else self.policy

    @property
    def can_search(self) -> bool:
        """Is there something to search with: an evaluator, or a network with a value head?
        Without one the player plays the raw policy whatever its limits."""
        return self.evaluator is not None or self.valuer.has_value_head

    @property
    def ownership_policy(self) -> MovePolicy | None:
        """The network with an ownership head, the value network first; None if neither."""
        for policy in (self.value_policy, self.policy):
            if has_head(policy, "ownership"):
                return policy
        return None

    @property
    def has_score(self) -> bool:
        """Does the network that gives the values have a score head?"""
        return has_head(self.valuer, "score")

    @property
    def search(self) -> Search:
        """The player's ``Search`` (made on first use, with its evaluator)."""
        if self._search is None:
            if self.evaluator is None:
                from goai.search.evaluator import PolicyEvaluator

                seed = int(self.rng.integers(2**63))
                self.evaluator = PolicyEvaluator(
                    self.policy, seed=seed,  # type: ignore[arg-type]
                    value_policy=self.value_policy)  # type: ignore[arg-type]
            self._search = Search(self.evaluator)
        return self._search

    def prepared_search(self, symmetries: int | None) -> Search:
        """``search``, its evaluator set to average every evaluation over the 8 board
        symmetries when ``symmetries`` is 8, else to draw one at random (an evaluator
        without the setting, a test's, is left as it is)."""
        search = self.search
        if hasattr(self.evaluator, "all_symmetries"):
            self.evaluator.all_symmetries = symmetries == 8  # type: ignore[union-attr]
        return search

    def ownership_analysis(self, state: GameState) -> PolicyOutput | None:
        """One forward pass of ``ownership_policy`` on ``state`` (its ``ownership`` and
        ``score`` are for ``state.to_play``), or None when no network has the head."""
        policy = self.ownership_policy
        return None if policy is None else policy.analyze(state)

    def stone_status(self, state: GameState) -> StoneStatus:
        """The dead and seki stones of ``state``: from the ownership map (``goai.rules.status``)
        when a network has an ownership head, else ``dead_stones``' estimate (no seki)."""
        analysis = self.ownership_analysis(state)
        if analysis is None or analysis.ownership is None:
            return estimate(state.board)
        return judge(state.board, black_view(analysis.ownership, state.to_play))

    def decide(self, state: GameState, color: int | None = None, *, cleanup: bool = False,
               symmetries: int | None = None, seconds: float | None = None,
               stop: Callable[[], bool] | None = None,
               on_snapshot: Callable[[SearchResult], None] | None = None,
               snapshot_interval: float = 1.0,
               allowed: Callable[[int], bool] | None = None) -> Decision:
        """Choose a move for ``color`` (default ``state.to_play``) in ``state``, or resign.

        See the module docstring for the rules. ``symmetries`` (1 or 8) is used
        for this move only (None: the policy's own setting for a raw move, one
        random symmetry per evaluation for a search). ``seconds`` caps the
        search's time (a clock's budget); ``stop``, ``on_snapshot`` and
        ``snapshot_interval`` go to ``Search.run``. Neither ``state`` nor the
        policy is changed. ``allowed(move)`` (GTP's ``avoid``/``allow``) bars the
        other moves, unless it bars every legal one.
        """
        color = state.to_play if color is None else color
        position = with_to_play(state, color)
        if self.config.raw or not self.can_search:
            return self._decide_raw(position, color, cleanup, symmetries, allowed)
        search = self.prepared_search(symmetries)
        result = search.run(position, self.config.limits(seconds), stop=stop,
                            on_snapshot=on_snapshot, snapshot_interval=snapshot_interval,
                            allowed=allowed)
        size2 = position.size * position.size
        probabilities = np.zeros(size2 + 1)
        weights = np.zeros(size2 + 1)
        count = len(result.moves)
        for stats in result.moves:
            slot = move_to_slot(stats.move, position.size)
            probabilities[slot] = stats.prior
            # The search's order breaks ties in visits (by LCB, then prior): a bonus
            # below one visit, largest for the first.
            weights[slot] = stats.visits + 0.5 * (count - stats.order) / count
        value = 2 * result.winrate - 1
        score = result.score_lead
        config = self.config
        if (config.resign_threshold > 0 and not cleanup
                and result.visits >= config.resign_min_visits
                and self._resigns(position, color, result.winrate)):
            return Decision(PASS, True, probabilities, value, result, score)
        if count == 0:
            return Decision(PASS, False, probabilities, value, result, score)
        move = select_move(weights / weights.sum(), position, config, rng=self.rng,
                           cleanup=cleanup)
        return Decision(move, False, probabilities, value, result, score)

    def _decide_raw(self, position: GameState, color: int, cleanup: bool,
                    symmetries: int | None,
                    allowed: Callable[[int], bool] | None = None) -> Decision:
        """The policy's move from one forward pass: no tree."""
        # One forward pass gives both: asking for the value separately would double genmove's cost.
        result = self.policy.analyze(position, symmetries=symmetries)
        probabilities, value, score = result.probabilities, result.value, result.score
        if self.value_policy is not None:
            valued = self.value_policy.analyze(position, symmetries=symmetries)
            value, score = valued.value, valued.score
        legal, choice = result.legal, probabilities
        if allowed is not None:
            size2 = position.size * position.size
            wanted = np.array([allowed(slot_to_move(slot, position.size))
                               for slot in range(size2 + 1)])
            if (legal & wanted).any():
                legal = legal & wanted
                if not wanted[size2]:  # select_move may always pass: not if pass is barred
                    choice = probabilities.copy()
                    choice[size2] = 0.0
        config = self.config
        if (config.resign_threshold > 0 and not cleanup and self.valuer.has_value_head
                and value is not None and self._resigns(position, color, (value + 1) / 2)):
            return Decision(PASS, True, probabilities, value, score=score)
        level = config.weakened
        if level is not None:  # the end of the game (passes, cleanup) at full strength
            config = replace(config, temperature=0.0)
        move = select_move(choice, position, config, rng=self.rng, cleanup=cleanup,
                           legal=legal)
        opponent_passed = bool(position.history) and position.history[-1] == (
            opponent(color), PASS)
        if (level is not None and level.pick is not None and move != PASS and not cleanup
                and not opponent_passed):
            board = position.board
            candidates = level_pool(level, choice, np.flatnonzero(legal[:-1]).tolist(),
                                    lambda point: is_eye(board, point, color))
            move = choose_at_level(level, candidates, self.rng)
        return Decision(move, False, probabilities, value, score=score)

    def _resigns(self, position: GameState, color: int, winrate: float) -> bool:
        """Count this turn as lost or not; resign after ``resign_consecutive`` lost turns."""
        config = self.config
        if len(position.history) < config.resign_min_moves:
            return False
        lost = winrate < config.resign_threshold
        self._lost_turns[color] = self._lost_turns.get(color, 0) + 1 if lost else 0
        sign = 1 if color == BLACK else -1
        return (self._lost_turns[color] >= config.resign_consecutive
                and sign * estimated_score(position) <= 0)
