"""What ``goai serve`` keeps per browser: one game (or one reviewed record) per session.

No web framework here: ``serve`` turns HTTP and WebSocket requests into calls
on a ``GameSession`` and its answers into JSON. Every use of the model goes
through one ``Engine``, the adapter between the web page and the playing
modules, so that a new move chooser (a search) is plugged in at one place.

The JSON shapes (``GameSession.state_json``, ``Analysis.as_json``,
``ReviewSession.as_json``) are the API documented in the README; points are
GTP vertices (``D4``, ``pass``) and colours ``"B"``/``"W"``. A board is one
string of ``size * size`` characters, row 19 first (the top row, as drawn),
``.`` empty, ``X`` black, ``O`` white: 361 bytes instead of a nested list.

Win rates are Black's win probability from the value head, ``(v + 1) / 2``
for a side-to-move value ``v`` in [-1, 1], so that a graph of them along the
game does not flip every move. With a search (a model with a value head and
``visits`` above 1) the value is the search root's, and the candidates carry
the search's visits, win rates (for the side to move, 0-1) and variations.

Ownership and score: with ``--value-model`` the searches take their values
from that network. When the network that gives the values has a score head,
an analysis carries ``black_score_lead`` (Black's expected lead in points:
the search root's mean score, or the head's for the policy alone) and each
searched candidate its ``score_lead`` (for the side to move, as its win
rate); when a network has an ownership head (the value network first), the
analysis carries ``ownership``, 361 values in [-1, 1] from Black's view in the
board string's order (row 19 first), one forward pass at the position. Both
are null without the heads. A game ended by two passes is counted with the
dead stones judged from that map (``Player.stone_status``), else by the rule
of thumb, and the game object's ``count`` says which stones were dead and who
owns each point.
"""

from __future__ import annotations

import gc
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from goai.play.levels import engine_name, level_named
from goai.play.player import MovePolicy, Player, PlayerConfig, estimated_score, has_head
from goai.play.review import (
    COLOR_LETTERS,
    GameReview,
    Loss,
    annotated_sgf,
    biggest_losses,
    review_game,
    top_moves,
)
from goai.play.terminal import ILLEGAL_REASONS, score_text
from goai.records.sgf import GameRecord, Problem, ProblemKind, parse_sgf, write_sgf
from goai.records.sgf import max_moves as sgf_max_moves
from goai.rules.board import BLACK, EMPTY, WHITE, opponent
from goai.rules.coords import (
    NETWORK_SIZE,
    NUM_MOVES,
    PASS,
    CoordinateError,
    move_from_gtp,
    move_to_gtp,
)
from goai.rules.game import GameState, fixed_handicap, format_result
from goai.rules.status import StoneStatus, black_view
from goai.rules.territory import area_ownership
from goai.search.tree import Evaluator, Search, SearchLimits, SearchResult, evaluate_scored

if TYPE_CHECKING:  # policy imports torch; the server starts answering before it loads
    from goai.nn.policy import Analysis as PolicyAnalysis

CANDIDATES = 10  # candidates listed per analysis (the heat map has all 361 points)
ANALYSIS_VISITS = 400  # the visit cap of one analysis (the think-seconds cap applies too)
SNAPSHOT_SECONDS = 0.5  # how often a streamed analysis reports while it searches
TURNING_POINTS = 5
STONE_CHARS = {EMPTY: ".", BLACK: "X", WHITE: "O"}


LESSONS = 3  # the moves shown at a game's end where the human lost most


def loss_json(loss: Loss) -> dict[str, object]:
    """``{number, move, why}`` of a move that cost its player (``review.biggest_losses``)."""
    return {"number": loss.number, "move": f"{COLOR_LETTERS[loss.color]} {vertex(loss.move)}",
            "why": loss.why}


class EngineUnavailable(RuntimeError):
    """The model could not be loaded; the message says why (the server answers 503)."""


class RequestError(ValueError):
    """A request the game cannot carry out; ``str()`` is the one-line reason for the page.

    ``reason`` is a short machine-readable code (``occupied``, ``not-your-turn`` ...).
    """

    def __init__(self, message: str, reason: str = "bad-request") -> None:
        super().__init__(message)
        self.reason = reason


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

    ``load`` runs once (``Engine.start_loading`` runs it in a thread while the
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

    def analyze(self, state: GameState, *, symmetries: int | None = None) -> PolicyAnalysis:
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

    def analyze(self, state: GameState, *, symmetries: int | None = None) -> PolicyAnalysis:
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


class Engine:
    """The one adapter between ``goai serve`` and the playing modules.

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
        from goai.search.tree import PolicyEvaluator

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
            rng = np.random.default_rng(int(self._seeds.integers(2**63)))
        config = self.config if level is None else replace(self.config, level=level)
        return Player(self.policy, config, rng=rng, value_policy=self.value_policy)

    def _outlook(self, state: GameState) -> tuple[np.ndarray | None, float | None]:
        """``(ownership from Black's view or None, the score head's score for the side to
        move or None)`` at ``state``: one forward pass of the network with the ownership
        head, and one of the value network for the score when that is another one."""
        # A player only for its view of the heads: it plays no move, so no seed is drawn.
        player = Player(self.policy, self.config, value_policy=self.value_policy)
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
        size2 = state.size * state.size
        priors = np.zeros(size2 + 1)
        for stats in result.moves:
            priors[size2 if stats.move == PASS else stats.move] = stats.prior
        candidates = tuple(
            Candidate(stats.move, stats.prior, stats.visits,
                      None if stats.winrate is None else round(stats.winrate, 4), stats.pv,
                      None if stats.score_lead is None else round(stats.score_lead, 2))
            for stats in result.moves[:CANDIDATES])
        return Analysis(len(state.history), state.to_play, priors, 2 * result.winrate - 1,
                        candidates, search=True, final=final, visits=result.visits,
                        score=result.score_lead, ownership=ownership)


# ----------------------------------------------------------------- a game


@dataclass(frozen=True)
class NewGame:
    """The page's new-game form: the human's colour, handicap (0 or 2-9), komi and the
    engine's level (a name of ``levels.LEVELS``; None: the server's own setting).

    Raises ``RequestError`` for values out of range.
    """

    human: int = BLACK
    handicap: int = 0
    komi: float = 7.5
    level: str | None = None

    def __post_init__(self) -> None:
        if self.level is not None:
            try:
                level_named(self.level)
            except ValueError as error:
                raise RequestError(str(error)) from None
        if self.human not in (BLACK, WHITE):
            raise RequestError("colour must be black or white")
        if self.handicap:
            try:
                fixed_handicap(self.handicap)
            except ValueError as error:
                raise RequestError(str(error)) from None
        if not -150 <= self.komi <= 150 or self.komi * 2 != int(self.komi * 2):
            raise RequestError(f"komi must be a multiple of 0.5 within ±150, not {self.komi:g}")


class GameSession:
    """One browser's game against the engine, and the last record it reviewed.

    Not thread-safe by itself: ``serve`` runs one request of a session at a
    time (a per-session lock) and the engine work in a worker thread. An
    analysis runs on a copy of the position outside that lock (``position``,
    then ``store_analysis``), so that it never holds up the human's move.
    ``analyses`` caches one ``Analysis`` per position (index = moves played),
    for the heat map and the win-rate graph; undo cuts it back.
    """

    def __init__(self, engine: Engine, setup: NewGame | None = None) -> None:
        self.engine = engine
        self.id = secrets.token_urlsafe(18)
        self.last_used = time.monotonic()
        self.review: ReviewSession | None = None
        self.new_game(setup or NewGame())

    def new_game(self, setup: NewGame) -> None:
        self.setup = setup
        self.human = setup.human
        self.state = GameState(NETWORK_SIZE, setup.komi)
        if setup.handicap:
            self.state.setup(black=fixed_handicap(setup.handicap), handicap=setup.handicap)
        self.player = self.engine.new_game(setup.level)
        self.result: str | None = None
        self.result_text: str | None = None
        self.count: StoneStatus | None = None  # the judged stones of a game ended by passes
        self.analyses: list[Analysis | None] = [None]
        self.version = getattr(self, "version", 0) + 1

    @property
    def engine_color(self) -> int:
        return opponent(self.human)

    @property
    def engine_name(self) -> str:
        """The engine's name with this game's level: ``goai (level 2)``, in the SGF too."""
        return engine_name(self.player.config.level, self.engine.name)

    @property
    def engine_to_play(self) -> bool:
        return self.result is None and self.state.to_play == self.engine_color

    # ------------------------------------------------------------- moves

    def play(self, text: str) -> None:
        """The human's move, a GTP vertex or ``pass``. Raises ``RequestError`` with the reason."""
        if self.result is not None:
            raise RequestError("the game is over: start a new game or undo", "game-over")
        if self.state.to_play != self.human:
            raise RequestError("it is the engine's turn", "not-your-turn")
        try:
            move = move_from_gtp(text, NETWORK_SIZE)
        except CoordinateError:
            raise RequestError(f"{text[:12]!r} is not a move: use A1 to T19 (no I) or pass",
                               "not-a-move") from None
        reason = self.state.illegal_reason(move)
        if reason is not None:
            raise RequestError(f"illegal move {vertex(move)}: {ILLEGAL_REASONS[reason]}", reason)
        self.state.play(move)
        self._after_move()

    def engine_move(self) -> None:
        """The engine plays (or resigns). Raises ``RequestError`` when it is not its turn."""
        if not self.engine_to_play:
            raise RequestError("it is not the engine's turn", "not-engine-turn")
        chosen = self.engine.choose(self.player, self.state)
        self.analyses[-1] = chosen.analysis
        if chosen.resign:
            self.result = f"{COLOR_LETTERS[self.human]}+R"
            self.result_text = f"{self.engine_name} resigns"
            return
        self.state.play(chosen.move)
        self._after_move()

    def resign(self) -> None:
        if self.result is not None:
            raise RequestError("the game is over already", "game-over")
        self.result = f"{COLOR_LETTERS[self.engine_color]}+R"
        self.result_text = "you resign"

    def undo(self) -> None:
        """Take back the human's last move and the engine's moves after it; reopens the game."""
        state = self.state
        if all(color != self.human for color, _ in state.history):
            raise RequestError("nothing to undo: you have not played a move yet", "no-undo")
        while state.history[-1][0] != self.human:  # undo() replaces the history list
            state.undo()
        state.undo()
        self.player.reset()
        self.result = self.result_text = None
        self.count = None
        self.version += 1
        del self.analyses[len(self.state.history) + 1:]

    def _after_move(self) -> None:
        self.version += 1
        self.analyses.append(None)
        if self.state.is_over:  # counted with the judged dead stones (a forward pass)
            self.count = self.player.stone_status(self.state)
            self.result = format_result(estimated_score(self.state, set(self.count.dead)))
            self.result_text = score_text(self.state, self.count)

    def cached_analysis(self) -> Analysis | None:
        """The current position's analysis if it has been computed."""
        return self.analyses[-1]

    def position(self) -> tuple[int, GameState]:
        """``(version, a copy of the position)``: what an analysis outside the lock works on.

        The version changes with every move, undo and new game, so that
        ``store_analysis`` can drop an answer about a position already left.
        """
        return self.version, self.state.copy()

    def store_analysis(self, version: int, analysis: Analysis) -> bool:
        """Keep ``analysis`` if the game is still at ``version``; says whether it was kept."""
        if version != self.version:
            return False
        self.analyses[-1] = analysis
        return True

    # ------------------------------------------------------------- output

    def record(self) -> GameRecord:
        names = {self.human: "human", self.engine_color: self.engine_name}
        return GameRecord.from_state(self.state, source="goai serve", result=self.result,
                                     black_name=names[BLACK], white_name=names[WHITE],
                                     date=date.today().isoformat())

    def sgf(self) -> str:
        return write_sgf(self.record())

    def state_json(self) -> dict[str, object]:
        """The API's game object (see the README)."""
        state = self.state
        captures = state.board.captures
        return {
            "type": "game", "size": state.size, "komi": state.komi, "handicap": state.handicap,
            "human": COLOR_LETTERS[self.human], "engine": COLOR_LETTERS[self.engine_color],
            "engine_name": self.engine_name, "level": self.player.config.level,
            "to_play": COLOR_LETTERS[state.to_play],
            "move_number": len(state.history), "board": board_string(state),
            "last_move": None if state.last_move is None else vertex(state.last_move),
            "captures": {"B": captures[BLACK], "W": captures[WHITE]},
            "moves": [f"{COLOR_LETTERS[color]} {vertex(move)}" for color, move in state.history],
            "over": self.result is not None, "result": self.result,
            "result_text": self.result_text, "engine_to_play": self.engine_to_play,
            "winrates": [None if item is None else item.black_winrate
                         for item in self.analyses],
            "score_leads": [None if item is None else item.black_score_lead
                            for item in self.analyses],
            "count": None if self.count is None else self.count_json(),
            "lessons": self.lessons() if self.result is not None else [],
        }

    def lessons(self) -> list[dict[str, object]]:
        """The ``LESSONS`` moves where the human lost most, by the win rates (and score leads)
        the engine and the page's analyses saw along the game (``review.biggest_losses``, the
        review's turning points); positions never analysed are skipped."""
        moves = self.state.history
        winrates = [None if item is None else item.black_winrate for item in self.analyses]
        leads = [None if item is None else item.black_score_lead for item in self.analyses]
        return [loss_json(loss) for loss in biggest_losses(
            moves, winrates, leads, players=(self.human,), count=LESSONS)]

    def count_json(self) -> dict[str, object]:
        """The count of a game ended by passes: how the dead stones were judged
        (``ownership`` or ``estimate``), the dead and seki stones as vertices, and who owns
        each point once the dead are off (``area``: the board string's order, ``X``
        Black's, ``O`` White's, ``.`` nobody's)."""
        assert self.count is not None
        board = self.state.board
        owners = area_ownership(board, self.count.dead)
        return {"judge": self.count.source,
                "dead": [vertex(point) for point in sorted(self.count.dead)],
                "seki": [vertex(point) for point in sorted(self.count.seki)],
                "area": "".join("X" if owner > 0 else "O" if owner < 0 else "."
                                for owner in owners.tolist())}


# ----------------------------------------------------------------- a review


@dataclass
class ReviewSession:
    """An uploaded record, reviewed: the boards to step through and the review's figures."""

    record: GameRecord
    review: GameReview
    winrates: list[float | None]
    notes: list[str] = field(default_factory=list)
    score_leads: list[float | None] = field(default_factory=list)

    @classmethod
    def from_upload(cls, engine: Engine, data: bytes, *, max_moves: int) -> ReviewSession:
        """Read the first game of SGF ``data`` and review it.

        Raises ``RequestError`` for data without a readable 19x19 game, a game
        without moves or one longer than ``max_moves``; for a game the reader cut
        (at its move cap, or at damage) the message says so, where and why.
        Truncated or partly ignored records are reviewed, with the reader's
        notes in ``notes``.
        """
        notes: list[str] = []
        record = None
        cut: Problem | None = None
        for item in parse_sgf(data, source="upload"):
            if isinstance(item, Problem):
                if not item.record_follows:
                    raise RequestError(f"unreadable SGF: {item.reason}", "bad-sgf")
                notes.append(f"{item.kind}: {item.reason}")
                if item.kind == ProblemKind.TRUNCATED:
                    cut = item
            else:
                record = item
                break
        if record is None:
            raise RequestError("unreadable SGF: no game found", "bad-sgf")
        if record.size != NETWORK_SIZE:
            raise RequestError(f"the game is {record.size}x{record.size}; the model plays "
                               "19x19 only", "bad-size")
        if len(record.moves) > max_moves:
            moves = len(record.moves)
            if cut is not None and moves >= sgf_max_moves(record.size):
                told = (f"the game has more than {moves} moves: the SGF reader keeps at most "
                        f"{moves} on {record.size}x{record.size} and cut it after move {moves}")
            elif cut is not None:
                told = f"the game has {moves} moves before the SGF reader cut it ({cut.reason})"
            else:
                told = f"the game has {moves} moves"
            raise RequestError(f"{told}; at most {max_moves} are reviewed", "too-long")
        try:
            review, winrates, score_leads = engine.review(record)
        except ValueError as error:
            raise RequestError(str(error), "bad-sgf") from None
        if review.stopped:
            notes.append(f"review stopped: {review.stopped}")
        return cls(record, review, winrates, notes, score_leads)

    def turning_points(self) -> list[dict[str, object]]:
        """The least likely moves (the review's summary) and, with a value head, the biggest
        swings against the mover, each as ``{number, move, why}``: in win rate, or in score
        when the network has a score head and the score moved more (``review.larger_loss``:
        a point of score weighs as a percentage point of win rate); ``why`` says which.
        """
        points = [{"number": item.number, "move": f"{COLOR_LETTERS[item.color]} "
                   f"{vertex(item.move)}", "why": f"unlikely: {100 * item.probability:.2g}%, "
                   f"rank {item.rank}"} for item in self.review.least_likely(TURNING_POINTS)]
        moves = [(item.color, item.move) for item in self.review.moves]
        points += [loss_json(loss)
                   for loss in biggest_losses(moves, self.winrates, self.score_leads)]
        return points

    def as_json(self) -> dict[str, object]:
        """The API's review object (see the README): the figures and every board to step to."""
        record = self.record
        boards, last_moves, captures = [], [], []
        state = record.to_state(0)
        boards.append(board_string(state))
        last_moves.append(None)
        captures.append({"B": 0, "W": 0})
        for color, move in self.record.moves[: len(self.review.moves)]:
            state.play(move, color)
            boards.append(board_string(state))
            last_moves.append(vertex(move))
            captures.append({"B": state.board.captures[BLACK], "W": state.board.captures[WHITE]})
        review = self.review
        return {
            "type": "review", "black": record.black_name, "white": record.white_name,
            "komi": record.komi, "handicap": record.handicap, "result": record.result,
            "model": review.model, "moves_in_game": len(record.moves),
            "match_rate": review.match_rate, "mean_probability": review.mean_probability,
            "stopped": review.stopped, "notes": self.notes,
            "moves": [item.as_dict() for item in review.moves],
            "winrates": self.winrates, "score_leads": self.score_leads,
            "turning_points": self.turning_points(),
            "boards": boards, "last_moves": last_moves, "captures": captures,
        }

    def annotated_sgf(self) -> str:
        return annotated_sgf(self.review)
