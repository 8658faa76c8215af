"""The model behind ``goai serve``: ``SessionModel``, the one adapter between the web
page's sessions and the playing modules, and the ``Analysis`` it answers with.

Every use of the network by the server goes through ``SessionModel``: analysing a
position (a bounded search, or the policy alone), choosing the engine's move
(``player.Player.decide``) and reviewing a record. A new move chooser is plugged in
here, at one place. Win rates are Black's (``(v + 1) / 2`` for a side-to-move value
``v``), so a graph along the game does not flip every move; score leads are Black's
too. ``Analysis.as_json`` is part of the API documented in the README.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from goai.play.player import MovePolicy, Player, PlayerConfig, has_head
from goai.play.review import (
    COLOR_LETTERS,
    GameReview,
    review_game,
    top_moves,
)
from goai.records.record import GameRecord
from goai.rules.board import BLACK, EMPTY, WHITE
from goai.rules.coords import (
    NETWORK_SIZE,
    NUM_MOVES,
    move_to_gtp,
    move_to_slot,
)
from goai.rules.game import GameState
from goai.rules.status import black_view
from goai.search.evaluator import Evaluator, evaluate_scored
from goai.search.limits import SearchLimits
from goai.search.result import SearchResult
from goai.search.tree import Search

if TYPE_CHECKING:  # policy imports torch; the server starts answering before it loads
    from goai.nn.policy import PolicyOutput

CANDIDATES = 10  # candidates listed per analysis (the heat map has all 361 points)
ANALYSIS_VISITS = 400  # the visit cap of one analysis (the think-seconds cap applies too)
SNAPSHOT_SECONDS = 0.5  # how often a streamed analysis reports while it searches
STONE_CHARS = {EMPTY: ".", BLACK: "X", WHITE: "O"}


class EngineUnavailable(RuntimeError):
    """The model could not be loaded; the message says why (the server answers 503)."""


def vertex(move: int) -> str:
    return move_to_gtp(move, NETWORK_SIZE)


def board_string(state: GameState) -> str:
    """The stones as one string, row 0 (GTP row 19, the top) first; see the module docstring."""
    return "".join(STONE_CHARS[stone] for stone in state.board.stones)


def black_winrate(value: float | None, to_play: int) -> float | None:
    """Black's win probability from a value for the side to move ``to_play`` (None stays None)."""
    if value is None:
        return None
    win = (value + 1) / 2
    return win if to_play == BLACK else 1 - win


def black_lead(score: float | None, to_play: int) -> float | None:
    """Black's lead in points from a score for the side to move ``to_play`` (None stays None)."""
    if score is None:
        return None
    return score if to_play == BLACK else -score


# ----------------------------------------------------------------- the engine adapter


@dataclass(frozen=True)
class Candidate:
    """One move the engine considers: the policy's prior, and the search's figures when searched.

    ``visits``, ``winrate`` and ``score_lead`` (for the side to move) and ``pv``
    (moves from this one on) stay None / empty while no search runs;
    ``score_lead`` stays None without a score head.
    """

    move: int
    prior: float
    visits: int | None = None
    winrate: float | None = None
    pv: tuple[int, ...] = ()
    score_lead: float | None = None

    def as_json(self) -> dict[str, object]:
        return {"move": vertex(self.move), "prior": round(self.prior, 5), "visits": self.visits,
                "winrate": self.winrate, "score_lead": self.score_lead,
                "pv": [vertex(move) for move in self.pv]}


@dataclass(frozen=True)
class Analysis:
    """What the engine thinks of one position.

    ``priors`` (362,) are the policy's legal-masked probabilities (points in
    ``coords`` order, then pass; with a search: the root's priors over the
    moves it considered); ``value`` the side to move's expected result in
    [-1, 1] (None without a value head; with a search: the root's mean value);
    ``candidates`` the best moves, best first (with a search: in its order).
    ``visits`` is the search root's visits (None without a search); ``final``
    is False for an intermediate snapshot of a running search. ``score`` is
    the side to move's expected lead in points (the search root's mean score,
    or the score head's), None without a score head; ``ownership`` (361,) in
    [-1, 1] from Black's view, None without an ownership head.
    """

    move_number: int
    to_play: int
    priors: np.ndarray
    value: float | None
    candidates: tuple[Candidate, ...]
    search: bool = False
    final: bool = True
    visits: int | None = None
    score: float | None = None
    ownership: np.ndarray | None = None

    @property
    def black_winrate(self) -> float | None:
        return black_winrate(self.value, self.to_play)

    @property
    def black_score_lead(self) -> float | None:
        lead = black_lead(self.score, self.to_play)
        return None if lead is None else round(lead, 2)

    def as_json(self) -> dict[str, object]:
        """The API's analysis object (see the README): priors rounded to 4 decimals,
        ownership to 3."""
        ownership = (None if self.ownership is None
                     else [round(float(value), 3) for value in self.ownership])
        return {"type": "analysis", "move_number": self.move_number,
                "to_play": COLOR_LETTERS[self.to_play], "value": self.value,
                "black_winrate": self.black_winrate, "search": self.search,
                "final": self.final, "visits": self.visits,
                "black_score_lead": self.black_score_lead, "ownership": ownership,
                "priors": [round(float(p), 4) for p in self.priors[: NUM_MOVES - 1]],
                "pass_prior": round(float(self.priors[NUM_MOVES - 1]), 4),
                "candidates": [candidate.as_json() for candidate in self.candidates]}


@dataclass(frozen=True)
class EngineMove:
    """The engine's turn: ``move`` (meaningless when ``resign``) and the analysis it chose by."""

    move: int
    resign: bool
    analysis: Analysis


class _SharedPolicy:
    """The one policy of the server: loaded once, then used with a lock around each forward pass.

    ``load`` runs once (``SessionModel.start_loading`` runs it in a thread while the
    server already answers, so that the page is up before torch is); every
    evaluation waits for it and raises ``EngineUnavailable`` if it failed. One
    position at a time is plenty for a b4c48 net (milliseconds), and the lock
    covers only the forward pass, so a long search would interleave with
    other sessions' calls instead of holding them for its whole time.
    """

    def __init__(self, load: Callable[[], MovePolicy],
                 lock: threading.Lock | None = None) -> None:
        self._load = load
        self._policy: MovePolicy | None = None
        self._error: BaseException | None = None
        self._loaded = threading.Event()
        # A value network shares the policy's lock: one forward pass at a time in all.
        self._lock = lock or threading.Lock()

    def load(self) -> BaseException | None:
        """Load the policy unless done already; the loading error, or None."""
        with self._lock:
            if not self._loaded.is_set():
                try:
                    self._policy = self._load()
                    # The model's objects stay for the server's life: a search need not
                    # walk them in every collection (as goai gtp does; see goai.search.tree).
                    gc.collect()
                    gc.freeze()
                except Exception as error:  # reported to the pages and to the command
                    self._error = error
                finally:
                    self._loaded.set()
        return self._error

    def _ready(self) -> MovePolicy:
        if not self._loaded.is_set():
            self.load()  # waits while the loading thread holds the lock
        if self._policy is None:
            raise EngineUnavailable(f"the model could not be loaded: {self._error}")
        return self._policy

    @property
    def has_value_head(self) -> bool:
        return self._ready().has_value_head

    @property
    def has_ownership_head(self) -> bool:
        return has_head(self._ready(), "ownership")

    @property
    def has_score_head(self) -> bool:
        return has_head(self._ready(), "score")

    def analyze(self, state: GameState, *, symmetries: int | None = None) -> PolicyOutput:
        policy = self._ready()
        with self._lock:
            return policy.analyze(state, symmetries=symmetries)

    def move_probabilities(self, state: GameState) -> np.ndarray:
        return self.analyze(state).probabilities

    def value(self, state: GameState) -> float | None:
        return self.analyze(state).value


class _ValueRecorder:
    """A policy that remembers the value and score of every position it is asked about.

    ``review_game`` asks only for probabilities; this keeps the value (and the
    score, with a score head) that the same forward pass gives, so the review's
    win-rate graph costs nothing. With a ``value_policy`` (``--value-model``)
    they come from that network's forward pass instead, one more a position.
    """

    def __init__(self, policy: _SharedPolicy, value_policy: _SharedPolicy | None = None) -> None:
        self._policy = policy
        self._value_policy = value_policy
        # (side to move, value, score) per call
        self.values: list[tuple[int, float | None, float | None]] = []

    @property
    def has_value_head(self) -> bool:
        return self._policy.has_value_head

    def analyze(self, state: GameState, *, symmetries: int | None = None) -> PolicyOutput:
        result = self._policy.analyze(state, symmetries=symmetries)
        valued = (result if self._value_policy is None
                  else self._value_policy.analyze(state, symmetries=symmetries))
        self.values.append((state.to_play, valued.value, valued.score))
        return result

    def move_probabilities(self, state: GameState) -> np.ndarray:
        return self.analyze(state).probabilities

    def value(self, state: GameState) -> float | None:
        return self.analyze(state).value


class _LockedEvaluator:
    """A search ``Evaluator`` over the server's one policy, one evaluation batch at a time.

    Made per game (and per analysis) with its own seed; the ``PolicyEvaluator``
    over the real policy is built on first use (the policy loads in the
    background). The lock is ``_SharedPolicy``'s, so a long search interleaves
    its batches with other sessions' forward passes instead of holding them.
    ``make`` builds the inner evaluator from the loaded policy (tests: a fake).
    """

    def __init__(self, shared: _SharedPolicy, make: Callable[[MovePolicy, int], Evaluator],
                 seed: int) -> None:
        self._shared = shared
        self._make = make
        self._seed = seed
        self._inner: Evaluator | None = None

    def evaluate(self, states):  # type: ignore[no-untyped-def]  # Evaluator.evaluate
        priors, values, _ = self.evaluate_scored(states)
        return priors, values

    def evaluate_scored(self, states):  # type: ignore[no-untyped-def]  # ScoredEvaluator's
        """The inner evaluator's priors, values and scores (None when it gives none)."""
        if self._inner is None:
            self._inner = self._make(self._shared._ready(), self._seed)
        with self._shared._lock:
            return evaluate_scored(self._inner, states)


class SessionModel:
    """The model every session of ``goai serve`` uses: the one adapter between the server
    and the playing modules.

    Everything the server asks of the model goes through here: ``analyze`` a
    position, ``choose`` the engine's move, ``review`` a record. A move is
    ``player.Player.decide`` under ``config``: with a value head and a search
    limit (``config.visits`` above 1) a PUCT search (``goai.search.tree``), capped
    at ``think_seconds`` of wall clock, each game's player keeping its own tree
    between moves; otherwise one forward pass. An analysis is a search of a
    copy of the position, at most ``analysis_visits`` visits and
    ``think_seconds``, stopped early by ``stop()``; with ``analysis_visits`` 1
    or no value head it is the policy's priors and value. ``make_evaluator``
    (policy, seed) -> ``Evaluator`` is what the searches evaluate with (by
    default a ``search.PolicyEvaluator``, which needs a real ``Policy``); every
    evaluation holds the policy's lock. Thread-safe: the sessions call it from
    worker threads.

    ``load_value`` loads a value network (``--value-model``) beside the
    policy: the default evaluator takes its values and scores from it, a raw
    move its value, and the territory map comes from it when it has an
    ownership head (else from the policy's, if any).
    """

    def __init__(self, policy: MovePolicy | None = None, *,
                 load: Callable[[], MovePolicy] | None = None, name: str = "goai",
                 config: PlayerConfig | None = None, think_seconds: float = 10.0,
                 analysis_visits: int = ANALYSIS_VISITS,
                 make_evaluator: Callable[[MovePolicy, int], Evaluator] | None = None,
                 seed: int | None = None,
                 load_value: Callable[[], MovePolicy] | None = None) -> None:
        if (policy is None) == (load is None):
            raise ValueError("give the engine a policy or a function that loads one")
        if not think_seconds > 0:
            raise ValueError(f"thinking time must be positive, not {think_seconds}")
        if analysis_visits < 1:
            raise ValueError(f"analysis visits must be at least 1, not {analysis_visits}")
        self.policy = _SharedPolicy(load or (lambda: policy))
        self.value_policy = (None if load_value is None
                             else _SharedPolicy(load_value, self.policy._lock))
        self.name = name
        self.config = config or PlayerConfig()
        self.think_seconds = think_seconds
        self.analysis_visits = analysis_visits
        self._make_evaluator = make_evaluator or self._policy_evaluator
        self._seeds = np.random.default_rng(seed)
        self._seed_lock = threading.Lock()

    def start_loading(self, done: Callable[[BaseException | None], None]) -> None:
        """Load the policy (and the value network) in a background thread; ``done(error or
        None)`` is called after."""

        def load() -> BaseException | None:
            error = self.policy.load()
            if error is None and self.value_policy is not None:
                error = self.value_policy.load()
            return error

        threading.Thread(target=lambda: done(load()), name="goai-load-model",
                         daemon=True).start()

    def _policy_evaluator(self, policy: MovePolicy, seed: int) -> Evaluator:
        from goai.search.evaluator import PolicyEvaluator

        value = None if self.value_policy is None else self.value_policy._ready()
        return PolicyEvaluator(policy, seed=seed,  # type: ignore[arg-type]  # real Policies
                               value_policy=value)  # type: ignore[arg-type]

    def _evaluator(self) -> _LockedEvaluator:
        with self._seed_lock:  # numpy generators are not thread-safe
            seed = int(self._seeds.integers(2**63))
        return _LockedEvaluator(self.policy, self._make_evaluator, seed)

    def _can_search(self) -> bool:
        """A value head to search with (waits for the model; call from a worker thread)."""
        return (self.value_policy or self.policy).has_value_head

    def new_game(self, level: str | None = None) -> Player:
        """The per-game memory the engine keeps (resignation counters, the search tree);
        ``level`` (``levels.LEVELS``) replaces the configured one for this game."""
        with self._seed_lock:
            seed = int(self._seeds.integers(2**63))
        config = self.config if level is None else replace(self.config, level=level)
        return Player.from_config(self.policy, config, seed=seed, value_policy=self.value_policy)

    def _outlook(self, state: GameState) -> tuple[np.ndarray | None, float | None]:
        """``(ownership from Black's view or None, the score head's score for the side to
        move or None)`` at ``state``: one forward pass of the network with the ownership
        head, and one of the value network for the score when that is another one."""
        # A player only for its view of the heads: it plays no move, so no seed is drawn.
        player = Player.from_config(self.policy, self.config, value_policy=self.value_policy)
        owner = player.ownership_analysis(state)
        ownership = None if owner is None else owner.ownership
        score = None
        if player.has_score:
            same = owner is not None and player.ownership_policy is player.valuer
            score = (owner if same else player.valuer.analyze(state)).score
        return (None if ownership is None else black_view(ownership, state.to_play)), score

    def analyze(self, state: GameState, *, stop: Callable[[], bool] | None = None,
                on_snapshot: Callable[[Analysis], None] | None = None) -> Analysis:
        """The analysis of ``state`` (not changed): a bounded search, or the policy alone.

        ``on_snapshot(analysis)`` gets intermediate analyses (``final`` False)
        every ``SNAPSHOT_SECONDS`` while the search runs; ``stop()`` ends it early.
        """
        ownership, score = self._outlook(state)
        if self.analysis_visits > 1 and self._can_search():
            search = Search(self._evaluator())
            limits = SearchLimits(visits=self.analysis_visits, seconds=self.think_seconds)
            snapshot = None if on_snapshot is None else (
                lambda result: on_snapshot(self._search_analysis(state, result, final=False,
                                                                 ownership=ownership)))
            result = search.run(state, limits, stop=stop, on_snapshot=snapshot,
                                snapshot_interval=SNAPSHOT_SECONDS)
            return self._search_analysis(state, result, ownership=ownership)
        result = self.policy.analyze(state)
        value = result.value
        if self.value_policy is not None:
            value = self.value_policy.analyze(state).value
        return self._analysis(state, result.probabilities, value, score, ownership)

    def choose(self, game: Player, state: GameState) -> EngineMove:
        """The engine's move for ``state.to_play``, or a resignation."""
        if game.evaluator is None and not game.config.raw and self._can_search():
            game.evaluator = self._evaluator()
        decision = game.decide(state, seconds=self.think_seconds)
        ownership, _ = self._outlook(state)
        if decision.search is not None:
            analysis = self._search_analysis(state, decision.search, ownership=ownership)
        else:
            analysis = self._analysis(state, decision.probabilities, decision.value,
                                      decision.score, ownership)
        return EngineMove(decision.move, decision.resign, analysis)

    def review(self, record: GameRecord
               ) -> tuple[GameReview, list[float | None], list[float | None]]:
        """``review.review_game`` of ``record``, and Black's win rate and Black's score lead
        (None without a score head) before each reviewed move.

        Raises ``ValueError`` as ``review_game`` does (not 19x19, no moves).
        """
        recorder = _ValueRecorder(self.policy, self.value_policy)
        review = review_game(recorder, record, model=self.name)
        return (review, [black_winrate(value, color) for color, value, _ in recorder.values],
                [None if score is None else round(black_lead(score, color), 2)
                 for color, _, score in recorder.values])

    @staticmethod
    def _analysis(state: GameState, priors: np.ndarray, value: float | None,
                  score: float | None = None, ownership: np.ndarray | None = None) -> Analysis:
        candidates = tuple(Candidate(move, probability)
                           for move, probability in top_moves(priors, CANDIDATES)
                           if probability > 0)
        return Analysis(len(state.history), state.to_play, priors, value, candidates,
                        score=score, ownership=ownership)

    @staticmethod
    def _search_analysis(state: GameState, result: SearchResult, *, final: bool = True,
                         ownership: np.ndarray | None = None) -> Analysis:
        """An ``Analysis`` from a search: the root's priors, value, score and the first
        candidates in the search's order (unvisited ones with ``visits`` 0 and no win
        rate), and the ``ownership`` map (Black's view) when given."""
        priors = np.zeros(state.size * state.size + 1)
        for stats in result.moves:
            priors[move_to_slot(stats.move, state.size)] = stats.prior
        candidates = tuple(
            Candidate(stats.move, stats.prior, stats.visits,
                      None if stats.winrate is None else round(stats.winrate, 4), stats.pv,
                      None if stats.score_lead is None else round(stats.score_lead, 2))
            for stats in result.moves[:CANDIDATES])
        return Analysis(len(state.history), state.to_play, priors, 2 * result.winrate - 1,
                        candidates, search=True, final=final, visits=result.visits,
                        score=result.score_lead, ownership=ownership)


