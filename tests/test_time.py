"""Time management never loses on time: simulated clocks, no timed test.

Two layers keep a move inside its time. ``Search.run`` with a ``seconds``
limit starts a batch only if it still fits (the first one judged from the
root's evaluation); here its clock is a fake one that only the evaluator
moves, so batches cost exactly what the test says. ``gtp_clock.Clock`` turns
the game clock into seconds for a move; a referee clock written here from the
rules of absolute time, Japanese byo-yomi and Canadian overtime plays whole
games against it, with a first move that loads the model, and must never see
the engine's flag fall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from fakes import FakeTime

from goai.engine.clock import Clock
from goai.rules.board import BLACK, WHITE
from goai.rules.game import GameState
from goai.search import tree as search_module
from goai.search.limits import SearchLimits
from goai.search.tree import Search


class CostlyEvaluator:
    """Uniform priors and value 0; each call advances the fake clock by its cost."""

    def __init__(self, clock: FakeTime, single: float, per_position: float) -> None:
        self.clock, self.single, self.per_position = clock, single, per_position

    def evaluate(self, states):
        self.clock.now += self.single + self.per_position * (len(states) - 1)
        priors = np.array([s.legal_mask() / s.legal_mask().sum() for s in states])
        return priors, np.zeros(len(states))


@pytest.mark.parametrize("seconds", [0.0, 0.05, 0.3, 1.0, 2.5])
@pytest.mark.parametrize("single, per_position", [(0.03, 0.01), (0.03, 0.03), (0.01, 0.002)])
def test_search_never_runs_past_its_seconds(monkeypatch, seconds, single, per_position):
    """Batches cost what the evaluator says (batched positions cost at most a single one):
    the run's clock time stays within the limit, once the root's own evaluation is paid,
    and once the costs are measured the limit is nearly used up."""
    clock = FakeTime()
    monkeypatch.setattr(search_module, "time", clock)
    search = Search(CostlyEvaluator(clock, single, per_position))
    state = GameState(9)
    for reused in (False, True):  # a fresh tree, then a reused one (its costs measured)
        started = clock.now
        result = search.run(state, SearchLimits(seconds=seconds))
        elapsed = clock.now - started
        assert elapsed <= max(seconds, single) + 1e-9
        if reused:  # and it uses its time: batches are cut to fit, not dropped
            assert elapsed >= seconds - single - per_position - 1e-9
        state = state.copy()
        state.play(result.best_move)


@dataclass
class Referee:
    """The controller's clock for one player, by the rules of the time system."""

    main: float
    period: float
    stones: int  # stones a period (1: Japanese byo-yomi; 0: no overtime)
    left: float = 0.0
    stones_left: int = 0
    flagged: bool = False

    def __post_init__(self) -> None:
        self.left = self.main if self.main > 0 else self.period
        self.stones_left = 0 if self.main > 0 else self.stones

    def play(self, seconds: float) -> None:
        if self.stones_left == 0:  # main time
            self.left -= seconds
            if self.left >= 0:
                return
            if self.stones == 0:
                self.flagged = True
                return
            overrun, self.left, self.stones_left = -self.left, self.period, self.stones
            seconds = overrun  # the rest of this move comes out of the first period
            self.left -= seconds
            if self.left < 0:
                self.flagged = True
            return
        self.left -= seconds
        if self.left < 0:
            self.flagged = True
            return
        self.stones_left -= 1
        if self.stones_left == 0:
            self.left, self.stones_left = self.period, self.stones


SETTINGS = [  # (main, period, stones, own moves): the time systems GUIs and servers send
    (600, 0, 0, 150),  # 10 minutes sudden death, a 300-move game
    (600, 0, 0, 300),  # the same in a 600-move game (the estimate of moves left runs out)
    (120, 0, 0, 150),  # 2 minutes sudden death: ~0.5 s a move
    (0, 10, 1, 300),  # Japanese byo-yomi only, 10 s a move
    (60, 5, 1, 300),  # 1 minute + 5 s byo-yomi
    (30, 60, 25, 300),  # Canadian: 30 s, then 25 stones in 60 s
    (0, 30, 10, 300),  # Canadian overtime only
]


def play_game(main: float, period: float, stones: int, *, moves: int, load: float,
              overhead: float, lag_buffer: float, time_left: bool) -> Referee:
    """One engine's moves of a game under ``Clock``, timed by a ``Referee``.

    Each move costs what the engine spent before the search (``load`` on the
    first), the search's seconds, and ``overhead`` after it (choosing the
    move, answering), which the lag buffer is there to cover; the search is
    at least one network evaluation (``overhead`` too). ``time_left``: the
    controller reports the time left before every move, as KGS and twogtp do;
    otherwise the engine keeps its clock itself.
    """
    clock = Clock()
    clock.set(main, period, stones)
    referee = Referee(main, period, stones)
    for number in range(moves):
        if time_left:
            clock.left[BLACK] = (referee.left, referee.stones_left)
        spent = load if number == 0 else 0.0
        empty = max(60, 361 - 2 * number)  # the territories stay empty
        seconds = clock.move_seconds(BLACK, empty, lag_buffer, spent)
        assert seconds is not None
        took = spent + max(seconds, overhead) + overhead
        referee.play(took)
        if referee.flagged:
            return referee
        clock.spend(BLACK, took)
        clock.spend(WHITE, 1.0)  # the other side's clock is not ours to worry about
    return referee


@pytest.mark.parametrize("main, period, stones, moves", SETTINGS)
@pytest.mark.parametrize("time_left", [True, False], ids=["time_left", "own clock"])
@pytest.mark.parametrize("load", [0.0, 4.0], ids=["loaded", "first move loads"])
def test_a_game_never_loses_on_time(main, period, stones, moves, time_left, load):
    """Every move costs at least 0.1 s (a network evaluation and the answer), half the
    default lag buffer; the first may spend 4 s loading torch and the model."""
    referee = play_game(main, period, stones, moves=moves, load=load, overhead=0.05,
                        lag_buffer=0.2, time_left=time_left)
    assert not referee.flagged


def test_the_budget_is_used_not_hoarded():
    """Byo-yomi of 10 s a move: a move gets nearly all of it, less the lag buffer."""
    clock = Clock()
    clock.set(0, 10, 1)
    assert clock.move_seconds(BLACK, 300, 0.2, 0.0) == pytest.approx(9.8)
    assert clock.move_seconds(BLACK, 300, 0.2, 4.0) == pytest.approx(5.8)  # the model load
    clock.set(0, 0, 0)
    assert clock.move_seconds(BLACK, 300, 0.2, 0.0) is None  # no limit


def test_own_clock_follows_canadian_periods():
    clock = Clock()
    clock.set(10, 60, 3)
    clock.spend(BLACK, 12.0)  # main time out, 2 s into the first period
    assert clock.left[BLACK] == (58.0, 3)
    clock.spend(BLACK, 10.0)
    clock.spend(BLACK, 10.0)
    assert clock.left[BLACK] == (38.0, 1)
    clock.spend(BLACK, 10.0)  # the period's last stone: a new period
    assert clock.left[BLACK] == (60.0, 3)
