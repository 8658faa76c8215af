"""The PUCT search on drawn boards, with a hand-made evaluator, and once with a real (tiny) model.

Positions are drawn as in ``boards.py`` (``X`` black, ``O`` white, top row
first; GTP columns skip I). ``Tactics`` stands in for a network: its prior
likes contact moves and the liberty of any group in atari, plus one
*favourite* point that the test makes its first choice; its value is the
material on the board (own stones minus the opponent's) for the side to move.
So every tactical test says what the "network" wrongly prefers, and a search
must read a few moves ahead to overrule it. ``Ladders`` adds what a ladder
needs: a prior that likes ataris and a value that sees the capture one ply ahead.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from boards import TWO_EYES, move, play, position
from fakes import FakeTime

from goai.rules.board import BLACK, EMPTY, WHITE, opponent
from goai.rules.coords import PASS, move_to_gtp
from goai.rules.game import GameState
from goai.search import tree as search_module
from goai.search.evaluator import PolicyEvaluator
from goai.search.limits import SearchLimits
from goai.search.tree import Node, Search, SearchConfig


class Tactics:
    """A fake evaluator: contact and atari-liberty priors, a favourite point, material value."""

    def __init__(self, favourite: int | None = None, weight: float = 0.3,
                 scale: float = 3.0, pass_weight: float = 1.0, delay: float = 0.0) -> None:
        self.favourite = favourite
        self.weight = weight
        self.scale = scale
        self.pass_weight = pass_weight
        self.delay = delay
        self.states_seen = 0

    def evaluate(self, states):
        if self.delay:
            time.sleep(self.delay)
        self.states_seen += len(states)
        priors, values = [], []
        for state in states:
            board = state.board
            legal = state.legal_mask()
            weights = legal.astype(float)
            weights[-1] = self.pass_weight
            for point in np.flatnonzero(legal[:-1]):
                if any(board.stones[n] != EMPTY for n in board.neighbors(point)):
                    weights[point] += 8
            for liberties in board.group_liberties.values():
                if len(liberties) == 1:
                    (liberty,) = liberties
                    if legal[liberty]:
                        weights[liberty] += 16
            weights /= weights.sum()
            if self.favourite is not None and legal[self.favourite]:
                weights *= 1 - self.weight
                weights[self.favourite] += self.weight
            priors.append(weights)
            own = board.stones.count(state.to_play)
            other = board.stones.count(3 - state.to_play)
            values.append(np.tanh((own - other) / self.scale))
        return np.array(priors), np.array(values)


def gtp(moves, size):
    return [move_to_gtp(m, size) for m in moves]


def check_tree(search: Search) -> int:
    """Assert the statistics' invariants over the whole tree; return the number of nodes.

    Every expanded node: visits = 1 + the children's visits; value sum (own view)
    = its value + the children's value sums; no virtual loss left; running sums
    right; every visited child present. A terminal node: every visit worth its value.
    """
    nodes = 0
    stack: list[tuple[Node, float, float]] = [
        (search.root, search.root_visits, search.root_value_sum)]
    while stack:
        node, visits, value_sum = stack.pop()
        nodes += 1
        assert node.expanded
        if node.terminal:
            assert value_sum == pytest.approx(visits * node.value)
            continue
        assert visits == 1 + node.visits.sum()
        assert value_sum == pytest.approx(node.value + node.value_sums.sum())
        assert not node.virtual.any()
        assert node.in_flight == node.visits.sum()
        assert node.visited_prior == pytest.approx(node.priors[node.visits > 0].sum())
        assert node.priors.sum() == pytest.approx(1.0)
        assert set(node.children) == set(np.flatnonzero(node.visits > 0).tolist())
        for index, child in node.children.items():
            stack.append((child, node.visits[index], -node.value_sums[index]))
    return nodes


# ----------------------------------------------------------------- tactics

# The black pair C4-D4 is in atari; E4 saves it. The prior's favourite is B2.
ATARI = """
    . . . . . . .
    . . . . . . .
    . . O O . . .
    . O X X . . .
    . . O O . . .
    . . . . . . .
    . . . . . . .
    """

# A capturing race, two liberties each (black A3-D3 and A2: E3 and A1; white
# B2-D2: C1 and E2), Black to move: taking a white liberty (C1 or E2) wins the
# race. The favourite, E3, extends the black group to three liberties but leaves
# White to move: White E2 takes one and gains two, and White wins.
SEMEAI = """
    . . . . . .
    . . . . . .
    O O O O . .
    X X X X . .
    X O O O . .
    . X . X . .
    """


@pytest.mark.parametrize("drawing, favourite, right", [
    (ATARI, "B2", {"E4"}),
    (SEMEAI, "E3", {"C1", "E2"}),
], ids=["save-the-group-in-atari", "semeai"])
def test_a_short_search_overrules_a_wrong_first_choice(drawing, favourite, right):
    state = position(drawing, BLACK, komi=0.5)
    evaluator = Tactics(move(favourite, state.size))
    raw = Search(evaluator).run(state, SearchLimits(visits=1))
    assert move_to_gtp(raw.best_move, state.size) == favourite  # the prior alone is wrong
    result = Search(evaluator, SearchConfig(batch_size=8)).run(state, SearchLimits(visits=400))
    assert move_to_gtp(result.best_move, state.size) in right
    best = result.moves[0]
    wrong = next(m for m in result.moves if m.move == move(favourite, state.size))
    assert best.prior < wrong.prior and best.winrate > wrong.winrate


class Ladders(Tactics):
    """Tactics reading one ply further, as a ladder needs.

    The prior gives half its weight to the liberties of every group with two
    liberties (the ataris that chase, and the extensions that answer them), and
    the value counts the stones in atari of the side that has just moved as
    already captured (the side to move takes them next). Extending out of atari
    still looks good one ply deep; only reading the ladder to its end shows it fail.
    """

    def evaluate(self, states):
        priors, values = super().evaluate(states)
        for row, state in enumerate(states):
            board = state.board
            legal = state.legal_mask()
            chase = np.zeros_like(priors[row])
            lost = 0
            for group, liberties in board.group_liberties.items():
                if len(liberties) == 2:
                    for liberty in liberties:
                        chase[liberty] += legal[liberty]
                elif len(liberties) == 1 and board.stones[board.group_stones[group][0]] != \
                        state.to_play:
                    lost += len(board.group_stones[group])
            if chase.any():
                priors[row] = (priors[row] + chase / chase.sum()) / 2
            own = board.stones.count(state.to_play)
            other = board.stones.count(opponent(state.to_play))
            values[row] = np.tanh((own - other + lost) / self.scale)
        return priors, values


# The black stone C3 is in atari in a ladder: C2 runs, White D2 (or C1) ataris
# again, and the ladder ends on the edge, a few moves on, with four black stones
# taken. With a black stone on D2 running connects out, and C2 is right.
LADDER = """
    . . . . . . . . .
    . . . . . . X X .
    . . . . . . X X .
    . . . . . . . . .
    . . . . . . . . .
    . . O . . . . . .
    . O X O . . . . .
    . O . {breaker} . . . . .
    . . . . . . . . .
    """


@pytest.mark.parametrize("batch_size", [1, 16])
def test_a_ladder_that_does_not_work_is_not_run_and_one_that_does_is(batch_size):
    state = position(LADDER.format(breaker="."), BLACK, komi=0.5)
    raw = Search(Ladders()).run(state, SearchLimits(visits=1))
    assert move_to_gtp(raw.best_move, state.size) == "C2"  # the prior runs
    config = SearchConfig(batch_size=batch_size)
    search = Search(Ladders(), config)
    result = search.run(state, SearchLimits(visits=1000))
    run = next(m for m in result.moves if move_to_gtp(m.move, state.size) == "C2")
    assert result.best_move != run.move and run.winrate < result.moves[0].winrate
    assert gtp(run.pv[:2], state.size)[1] in {"C1", "D2"}  # White's answer: the ladder's atari
    check_tree(search)

    broken = position(LADDER.format(breaker="X"), BLACK, komi=0.5)
    result = Search(Ladders(), config).run(broken, SearchLimits(visits=1000))
    assert move_to_gtp(result.best_move, broken.size) == "C2"


def test_white_captures_what_black_left_in_atari():
    state = position(ATARI, BLACK, komi=0.5)
    play(state, "B2")
    result = Search(Tactics(move("A7", state.size))).run(state, SearchLimits(visits=400))
    assert move_to_gtp(result.best_move, state.size) == "E4"
    assert result.moves[0].pv[0] == result.best_move


def test_moves_barred_at_the_root_get_no_visits_and_are_never_chosen():
    state = position(ATARI, BLACK, komi=0.5)
    rescue = move("E4", state.size)
    search = Search(Tactics(move("B2", state.size)), SearchConfig(batch_size=8))
    first = search.run(state, SearchLimits(visits=200))
    assert first.best_move == rescue
    # Reused: the tree holds E4's visits, which stay as they were and out of the result.
    barred = search.run(state, SearchLimits(playouts=200), allowed=lambda m: m != rescue)
    assert barred.best_move != rescue and rescue not in {m.move for m in barred.moves}
    assert sum(m.visits for m in barred.moves) == barred.visits - 1 - first.moves[0].visits
    check_tree(search)
    # Barring every move bars nothing.
    free = Search(Tactics()).run(state, SearchLimits(visits=50), allowed=lambda m: False)
    assert len(free.moves) > 1


# ----------------------------------------------------------------- statistics


@pytest.mark.parametrize("batch_size", [1, 8, 32])
def test_visits_add_up_and_the_limit_is_exact(batch_size):
    state = position(ATARI, BLACK, komi=0.5)
    search = Search(Tactics(), SearchConfig(batch_size=batch_size))
    result = search.run(state, SearchLimits(visits=150))
    assert result.visits == search.root_visits == 150
    assert result.playouts == 150
    assert sum(m.visits for m in result.moves) == 149  # the root's own evaluation is the 150th
    assert check_tree(search) > 1
    assert [m.order for m in result.moves] == list(range(len(result.moves)))
    visits = [m.visits for m in result.moves]
    assert visits == sorted(visits, reverse=True)
    assert result.visit_counts().sum() == 149


def test_win_rates_lcb_and_principal_variations_are_consistent():
    state = position(SEMEAI, BLACK, komi=0.5)
    search = Search(Tactics(move("E3", 6)))
    result = search.run(state, SearchLimits(visits=300))
    for stats in result.moves:
        if stats.visits:
            assert 0 <= stats.lcb <= stats.winrate <= 1
        else:
            assert stats.winrate is None and stats.lcb == 0
        replay = state.copy()
        for pv_move in stats.pv:  # every PV is a legal line from the root
            replay.play(pv_move)
    assert len(result.moves[0].pv) > 1
    assert 0 <= result.winrate <= 1


def test_visits_1_plays_the_raw_prior():
    state = position(ATARI, BLACK)
    result = Search(Tactics(move("A1", 7), weight=0.9)).run(state, SearchLimits(visits=1))
    assert result.visits == 1 and result.playouts == 1
    assert all(m.visits == 0 for m in result.moves)
    assert move_to_gtp(result.best_move, 7) == "A1"


# ----------------------------------------------------------------- reuse


def test_the_tree_is_reused_after_our_move_and_the_reply():
    state = position(SEMEAI, BLACK, komi=0.5)
    search = Search(Tactics(move("E3", 6)), SearchConfig(batch_size=4))
    first = search.run(state, SearchLimits(visits=300))
    assert state.history == [] and state.to_play == BLACK  # the caller's state is untouched
    ours = first.best_move
    node = search.root.children[int(np.flatnonzero(search.root.moves == ours)[0])]
    reply_index = int(np.argmax(node.visits))
    reply = int(node.moves[reply_index])
    kept = int(node.visits[reply_index])
    state.play(ours)
    state.play(reply)
    second = search.run(state, SearchLimits(playouts=0))
    assert second.visits == kept > 1 and second.playouts == 0
    check_tree(search)
    third = search.run(state, SearchLimits(visits=kept + 50))
    assert third.visits == kept + 50 and third.playouts == 50
    check_tree(search)


def test_a_position_that_does_not_continue_the_game_gets_a_fresh_tree():
    state = position(SEMEAI, BLACK, komi=0.5)
    search = Search(Tactics())
    search.run(state, SearchLimits(visits=50))
    other = position(ATARI, BLACK, komi=0.5)
    assert search.run(other, SearchLimits(playouts=20)).visits == 20
    search.run(state, SearchLimits(visits=30))
    two_black_moves = state.copy()
    two_black_moves.play(move("E2", 6), BLACK)
    two_black_moves.play(move("C1", 6), BLACK)
    result = search.run(two_black_moves, SearchLimits(playouts=10))
    assert result.visits == 10  # colours did not alternate: nothing reused
    check_tree(search)


def test_reuse_can_be_switched_off():
    state = position(SEMEAI, BLACK, komi=0.5)
    search = Search(Tactics(), SearchConfig(reuse_tree=False))
    result = search.run(state, SearchLimits(visits=40))
    state.play(result.best_move)
    assert search.run(state, SearchLimits(playouts=5)).visits == 5


# ----------------------------------------------------------------- limits


class TimedTactics(Tactics):
    """``Tactics`` whose every batch costs ``cost`` seconds of a fake clock."""

    def __init__(self, clock: FakeTime, cost: float) -> None:
        super().__init__()
        self.clock, self.cost = clock, cost

    def evaluate(self, states):
        self.clock.advance(self.cost)
        return super().evaluate(states)


def test_a_time_limit_is_respected(monkeypatch):
    # On a fake clock that only the evaluator moves (tests/test_time.py has the budget's
    # rules): a wall-clock bound here failed on a busy machine.
    clock = FakeTime()
    monkeypatch.setattr(search_module, "time", clock)
    state = GameState(7, 7.5)
    search = Search(TimedTactics(clock, 0.01), SearchConfig(batch_size=4))
    result = search.run(state, SearchLimits(seconds=0.3))
    elapsed = clock.now - 1000.0
    assert 0.3 - 0.01 <= elapsed <= 0.3  # the limit, used up to its last batch
    assert result.visits > 1 and result.timing.total == pytest.approx(elapsed)


def test_stop_and_snapshots():
    state = GameState(7, 7.5)
    asked = []
    snapshots = []

    def stop():
        asked.append(True)
        return len(asked) > 5

    result = Search(Tactics(), SearchConfig(batch_size=4)).run(
        state, SearchLimits(), stop=stop, on_snapshot=snapshots.append, snapshot_interval=0)
    assert len(asked) == 6
    assert result.visits == 1 + 5 * 4
    assert [s.visits for s in snapshots] == [1 + 4 * k for k in range(1, 6)]


def test_limits_are_checked():
    with pytest.raises(ValueError, match="limit"):
        Search(Tactics()).run(GameState(5), SearchLimits())
    for bad in (dict(visits=0), dict(playouts=-1), dict(seconds=-1.0)):
        with pytest.raises(ValueError):
            SearchLimits(**bad)
    with pytest.raises(ValueError):
        SearchConfig(batch_size=0)


def test_the_same_evaluator_gives_the_same_search():
    def searched():
        state = GameState(7, 7.5)
        return Search(Tactics(), SearchConfig(batch_size=8)).run(state, SearchLimits(visits=120))

    first, second = searched(), searched()
    assert first.best_move == second.best_move
    assert np.array_equal(first.visit_counts(), second.visit_counts())


# ----------------------------------------------------------------- passing and eyes


def children(search: Search) -> set[str]:
    return set(gtp(search.root.moves.tolist(), search.root_state.size))


def test_never_passes_early_and_never_fills_its_own_eyes():
    state = GameState(9, 7.5)
    search = Search(Tactics())
    result = search.run(state, SearchLimits(visits=60))
    assert "pass" not in children(search) and result.best_move != PASS
    eyes = position(TWO_EYES, BLACK, komi=0.5)
    search = Search(Tactics(move("A7", 7), weight=0.9))
    result = search.run(eyes, SearchLimits(visits=30))
    assert not {"A7", "C7"} & children(search)
    assert move_to_gtp(result.best_move, 7) not in {"A7", "C7"}


def test_pass_is_searched_when_the_policy_ranks_it_first_but_never_played_to_lose():
    state = GameState(9, 7.5)
    search = Search(Tactics(pass_weight=500.0))
    result = search.run(state, SearchLimits(visits=40))
    assert "pass" in children(search)
    # Black is behind by komi: after a pass White passes and wins, and the search sees it.
    assert result.best_move != PASS
    passing = next(m for m in result.moves if m.move == PASS)
    assert passing.visits > 0 and passing.winrate < result.moves[0].winrate


class BlackLovesPass(Tactics):
    """Black's policy wants to pass everywhere; White's never does; every value is 0."""

    def evaluate(self, states):
        priors, _ = super().evaluate(states)
        for row, state in enumerate(states):
            if state.to_play == BLACK:
                priors[row, -1] = 50.0
                priors[row] /= priors[row].sum()
        return priors, np.zeros(len(states))


def test_a_pass_that_loses_by_area_is_not_played_even_when_most_visited():
    state = GameState(9, 7.5)  # Black is behind by komi on the empty board
    result = Search(BlackLovesPass()).run(state, SearchLimits(visits=40))
    assert result.moves[0].move == PASS
    assert result.best_move == result.moves[1].move != PASS


# Black's wall on the fifth column: Black 45 points by area, White 36.
WALL = """
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    """


class Confident(Tactics):
    """``Tactics`` with one value for every position, from every side's view."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def evaluate(self, states):
        priors, _ = super().evaluate(states)
        return priors, np.full(len(states), self.value)


@pytest.mark.parametrize("komi, value, searched", [
    (7.5, 0.9, True),   # ahead by area (45 - 36 - 7.5) and by the value: pass is searched
    (9.5, 0.9, False),  # behind by area after komi
    (7.5, 0.2, False),  # the value does not say Black wins
])
def test_pass_is_searched_only_by_a_side_that_wins_already(komi, value, searched):
    state = position(WALL, BLACK, komi=komi)
    search = Search(Confident(value))
    search.run(state, SearchLimits(visits=1))
    assert ("pass" in children(search)) == searched


def test_after_the_opponent_passes_a_player_ahead_passes_and_wins():
    state = position(TWO_EYES, WHITE, komi=0.5)
    play(state, "pass")  # White passed; Black leads by area, 28 to 21 + 0.5
    search = Search(Tactics())
    result = search.run(state, SearchLimits(visits=50))
    assert result.best_move == PASS
    pass_stats = next(m for m in result.moves if m.move == PASS)
    assert pass_stats.visits == 0 or pass_stats.winrate == 1.0
    check_tree(search)


def test_after_the_opponent_passes_a_player_behind_plays_on():
    state = position(TWO_EYES, WHITE, komi=0.5)
    play(state, "F4 pass")  # Black passed; White, behind by area (22 to 28), must not pass
    search = Search(Tactics())
    result = search.run(state, SearchLimits(visits=60))
    assert result.best_move != PASS
    pass_stats = next(m for m in result.moves if m.move == PASS)
    assert pass_stats.winrate in (None, 0.0)  # the pass ends the game, lost
    check_tree(search)


def test_a_finished_game_has_nothing_to_search():
    state = GameState(5, 0.5)
    play(state, "C3 pass pass")
    result = Search(Tactics()).run(state, SearchLimits(visits=10))
    assert result.best_move == PASS and result.moves == ()


def test_two_passes_end_the_game_inside_the_tree_scored_exactly():
    # Both sides have two eyes and nothing else to play: pass is the only child.
    settled = """
        X X X O O
        X . X O .
        X X X O O
        X . X O .
        X X X O O
        """
    state = position(settled, BLACK, komi=0.5)  # Black 15, White 10 + 0.5
    search = Search(Tactics(), SearchConfig(batch_size=4))
    result = search.run(state, SearchLimits(visits=20))
    assert children(search) == {"pass"} and result.best_move == PASS
    # One visit is the evaluator's guess after Black's pass; every other one the exact win.
    assert result.moves[0].winrate > 0.99 and result.moves[0].pv == (PASS, PASS)
    after_pass = search.root.children[0]
    assert children_of(after_pass) == {PASS}
    assert after_pass.children[0].terminal and after_pass.children[0].value == 1.0
    check_tree(search)


def children_of(node: Node) -> set[int]:
    return set(node.moves.tolist())


# ----------------------------------------------------------------- the real network, tiny


def test_policy_evaluator_on_19x19_with_the_tiny_model(tiny_model_path):
    from goai.nn.policy import Policy

    policy = Policy(tiny_model_path)
    state = GameState(19, 7.5)
    play(state, "D4 Q16 D16")
    evaluator = PolicyEvaluator(policy, seed=3)
    priors, values = evaluator.evaluate([state, state])
    assert priors.shape == (2, 362) and values.shape == (2,)
    assert np.array_equal(priors[0] > 0, state.legal_mask())
    assert np.allclose(priors.sum(axis=1), 1) and np.all(np.abs(values) <= 1)

    def searched(seed):
        search = Search(PolicyEvaluator(policy, seed=seed), SearchConfig(batch_size=8))
        return search, search.run(state, SearchLimits(visits=48))

    search, first = searched(7)
    assert first.visits == 48 and check_tree(search) > 1
    assert state.is_legal(first.best_move)
    _, again = searched(7)
    assert np.array_equal(first.visit_counts(), again.visit_counts())
    everything = PolicyEvaluator(policy, all_symmetries=True)
    averaged, _ = everything.evaluate([state])
    assert np.array_equal(averaged[0] > 0, state.legal_mask())
    with pytest.raises(ValueError, match="19x19"):
        evaluator.evaluate([GameState(9)])


# ----------------------------------------------------------------- scores


class Scored(Tactics):
    """``Tactics`` with a score head: the material on the board, in points, for the side to move."""

    def evaluate_scored(self, states):
        priors, values = self.evaluate(states)
        scores = [state.board.stones.count(state.to_play)
                  - state.board.stones.count(opponent(state.to_play)) for state in states]
        return priors, values, np.array(scores, dtype=float)


def check_scores(search: Search) -> None:
    """Score sums obey the value sums' rule: own score + the children's, negated upwards."""
    stack = [(search.root, search.root_visits, search.root_score_sum)]
    while stack:
        node, visits, score_sum = stack.pop()
        if node.terminal:
            assert score_sum == pytest.approx(visits * node.score)
            continue
        assert score_sum == pytest.approx(node.score + node.score_sums.sum())
        for index, child in node.children.items():
            stack.append((child, node.visits[index], -node.score_sums[index]))


def test_scores_are_backed_up_like_values_and_reported_per_move():
    state = position(ATARI, BLACK, komi=0.5)  # Black 2 stones, White 5: Black is 3 behind
    search = Search(Scored(move("B2", 7)), SearchConfig(batch_size=4))
    result = search.run(state, SearchLimits(visits=200))
    check_tree(search)
    check_scores(search)
    assert result.score_lead == pytest.approx(search.root_score_sum / result.visits)
    for stats in result.moves:
        if stats.visits:
            index = int(np.flatnonzero(search.root.moves == stats.move)[0])
            assert stats.score_lead == pytest.approx(
                search.root.score_sums[index] / stats.visits)
        else:
            assert stats.score_lead is None
    # E4 saves the pair: after it Black keeps 3 stones to White's 5 (-2), the best line.
    best = result.moves[0]
    assert move_to_gtp(best.move, 7) == "E4" and best.score_lead > -3


def test_an_evaluator_without_scores_reports_none_and_the_tree_is_reused_with_scores():
    state = position(SEMEAI, BLACK, komi=0.5)
    plain = Search(Tactics()).run(state, SearchLimits(visits=40))
    assert plain.score_lead is None and all(m.score_lead is None for m in plain.moves)
    search = Search(Scored(move("E3", 6)), SearchConfig(batch_size=4))
    first = search.run(state, SearchLimits(visits=200))
    ours = first.best_move
    node = search.root.children[int(np.flatnonzero(search.root.moves == ours)[0])]
    reply = int(node.moves[int(np.argmax(node.visits))])
    state.play(ours)
    state.play(reply)
    second = search.run(state, SearchLimits(playouts=0))
    check_scores(search)
    assert second.score_lead == pytest.approx(search.root_score_sum / second.visits)


def test_a_finished_line_scores_its_exact_area_margin():
    settled = """
        X X X O O
        X . X O .
        X X X O O
        X . X O .
        X X X O O
        """
    state = position(settled, BLACK, komi=0.5)  # Black 15, White 10 + 0.5: Black by 4.5
    search = Search(Scored(), SearchConfig(batch_size=4))
    result = search.run(state, SearchLimits(visits=20))
    terminal = search.root.children[0].children[0]
    assert terminal.terminal and terminal.score == 4.5  # Black to move after two passes
    check_scores(search)
    assert result.moves[0].score_lead == pytest.approx(4.5, abs=1.0)


def test_policy_evaluator_scores_come_from_the_network_with_a_score_head(tiny_model_path):
    from goai.nn.policy import Policy

    policy = Policy(tiny_model_path)  # built with ownership and score heads
    old = Policy("small")  # a checkpoint from before them: a flat value head only
    state = GameState(19, 7.5)
    play(state, "D4 Q16")
    priors, values, scores = PolicyEvaluator(policy, seed=1).evaluate_scored([state])
    assert scores is not None and scores.shape == (1,) and np.isfinite(scores).all()
    _, _, none = PolicyEvaluator(old, seed=1).evaluate_scored([state])
    assert none is None
    # Priors from the old net, values and scores from the tiny one: AlphaGo's split.
    split = PolicyEvaluator(old, seed=1, value_policy=policy)
    split_priors, split_values, split_scores = split.evaluate_scored([state])
    assert split_scores is not None and split_values[0] == pytest.approx(values[0], abs=1e-5)
    assert not np.allclose(split_priors, priors)
    result = Search(split, SearchConfig(batch_size=4)).run(state, SearchLimits(visits=12))
    assert result.score_lead is not None
