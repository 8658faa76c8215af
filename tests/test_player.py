"""Move choice on drawn boards: eyes, dead stones, passing, cleanup, resigning.

Positions are drawn as in ``boards.py`` (``X`` black, ``O`` white, top row
first; columns A-T without I). The policy is a hand-made probability array,
so every test says exactly what the "network" wants and checks what the
player does with it.
"""

from __future__ import annotations

import numpy as np
import pytest
from boards import DEAD_STONE, KO_SHAPE, TWO_EYES, move, play, position, vertices
from fakes import analysis

from goai.play.player import (
    DEFAULT_VISITS,
    Player,
    PlayerConfig,
    choose_move,
    select_move,
    with_to_play,
)
from goai.rules.board import BLACK, WHITE
from goai.rules.coords import PASS

# boards.DEAD_STONE: counted as the stones stand, White leads (the dead stone at B4 counts).

# Only eyes left for Black; every empty point is suicide for White.
ONLY_EYES = """
    X X X X X
    X . X . X
    X X X X X
    X X X X X
    X X X X X
    """


def policy_on(state, favourites: dict[str, float], rest: float = 0.0) -> np.ndarray:
    """Probabilities over the board's points and pass: ``favourites`` by vertex, ``rest`` else."""
    size = state.size
    probabilities = np.full(size * size + 1, rest)
    for vertex, probability in favourites.items():
        probabilities[move(vertex, size)] = probability
    return probabilities


def after_pass(state, color: int):
    """``state`` after ``color`` passed (so the other side moves, its opponent having passed)."""
    state.play(PASS, color)
    return state


@pytest.mark.parametrize("settings, visits, playouts, time", [
    ({}, DEFAULT_VISITS, None, None),  # no limit: the front ends' default search
    ({"visits": None, "playouts": None, "time": None}, DEFAULT_VISITS, None, None),
    ({"visits": 1}, 1, None, None),  # the raw policy, asked for
    ({"playouts": 10}, None, 10, None),  # any limit given: no default visits beside it
    ({"time": 2.0, "temperature": None}, None, None, 2.0),
])
def test_a_front_end_with_no_limit_searches_the_default_visits(settings, visits, playouts,
                                                                time):
    config = PlayerConfig.with_default_limit(**settings)
    assert (config.visits, config.playouts, config.time) == (visits, playouts, time)
    assert config.temperature == PlayerConfig().temperature  # None: the field's default
    assert PlayerConfig().raw  # the dataclass alone still plays the raw policy


def test_players_from_one_seed_draw_alike():
    policy = object()
    first, second = (Player.from_config(policy, PlayerConfig(), seed=7) for _ in range(2))
    assert first.rng.integers(1 << 30) == second.rng.integers(1 << 30)
    shared = np.random.default_rng(3)
    assert Player.from_config(policy, PlayerConfig(), seed=shared).rng is shared
    assert Player.from_config(policy, PlayerConfig(), value_policy=policy).value_policy is policy


def test_never_fills_an_own_eye_even_when_the_policy_wants_it():
    state = position(TWO_EYES)
    probabilities = policy_on(state, {"A7": 0.6, "C7": 0.3, "B3": 0.01})
    assert select_move(probabilities, state) == move("B3", 7)


def test_passes_when_only_own_eyes_are_left():
    state = position(ONLY_EYES)
    probabilities = policy_on(state, {"B4": 0.5, "D4": 0.5})
    assert select_move(probabilities, state) == PASS
    assert select_move(probabilities, position(ONLY_EYES, to_play=WHITE)) == PASS


def test_never_plays_an_illegal_move_ko_included():
    state = position(KO_SHAPE)
    play(state, "C3")  # Black takes at B3; White may not retake at once
    probabilities = policy_on(state, {"B3": 0.9, "E5": 0.05})
    assert state.illegal_reason(move("B3", 5)) == "ko"
    assert select_move(probabilities, state) == move("E5", 5)


def test_a_flat_policy_with_pass_on_top_does_not_pass():
    state = position(DEAD_STONE)
    probabilities = np.full(50, 1 / 50)
    probabilities[-1] *= 1.01  # pass "best" by a hair, as an untrained net has it
    assert select_move(probabilities, state) != PASS


def test_passes_when_the_policy_clearly_says_pass():
    state = position(TWO_EYES)
    probabilities = policy_on(state, {"B3": 0.1})
    probabilities[-1] = 0.8
    assert select_move(probabilities, state) == PASS


def test_after_the_opponent_passes_a_player_ahead_passes():
    state = after_pass(position(TWO_EYES, to_play=WHITE, komi=0.5), WHITE)
    probabilities = policy_on(state, {"B3": 0.9})  # a "good" move is still offered
    assert select_move(probabilities, state) == PASS


def test_after_the_opponent_passes_a_player_behind_plays_useful_moves_else_passes():
    state = after_pass(position(TWO_EYES, to_play=WHITE, komi=7.5), WHITE)  # Black 28 - 21 - 7.5
    assert select_move(policy_on(state, {"B3": 0.5}), state) == move("B3", 7)
    assert select_move(policy_on(state, {"B3": 0.01}), state) == PASS  # below pass_floor


def test_behind_after_a_pass_black_captures_the_dead_stone_then_passes():
    """White passes throughout; Black must take B4 (free under area scoring), then pass."""
    state = position(DEAD_STONE, to_play=WHITE, komi=0.5)
    flat = np.full(50, 1 / 50)
    for _ in range(10):
        state.play(PASS, WHITE)
        black_move = select_move(flat, state)
        state.play(black_move, BLACK)
        if black_move == PASS:
            break
    assert black_move == PASS
    assert state.board.stones[move("B4", 7)] == 0  # captured
    assert state.score() > 0
    assert all(state.board.stones[move(v, 7)] == 0 for v in ("A7", "A1"))  # no eye filled


def test_cleanup_captures_dead_stones_before_anything_else():
    state = position(DEAD_STONE, komi=0.5)
    play(state, "B5 pass B3 pass A4 pass")  # B4 is now in atari at C4
    probabilities = policy_on(state, {"G1": 0.9}, rest=0.001)
    assert select_move(probabilities, state, cleanup=True) == move("C4", 7)


def test_cleanup_never_passes_while_dead_stones_remain():
    state = position(DEAD_STONE, komi=100)  # hopelessly behind: passing would be "ahead"-free
    probabilities = policy_on(state, {}, rest=0.0)
    probabilities[-1] = 1.0
    assert select_move(probabilities, state, cleanup=True) in {
        move(v, 7) for v in ("B5", "B3", "A4", "C4")}


def test_sampling_follows_the_temperature_and_never_picks_an_eye():
    state = position(TWO_EYES)
    probabilities = policy_on(state, {"A7": 0.5, "B3": 0.3, "B2": 0.2})
    rng = np.random.default_rng(0)
    picks = [select_move(probabilities, state, PlayerConfig(temperature=1.0), rng=rng)
             for _ in range(300)]
    counts = {v: picks.count(move(v, 7)) for v in ("B3", "B2")}
    assert sum(counts.values()) == 300
    assert 140 < counts["B3"] < 220  # 0.3 / (0.3 + 0.2) = 60%
    greedy = select_move(probabilities, state, PlayerConfig(temperature=0.0))
    assert greedy == move("B3", 7)


def test_probabilities_of_the_wrong_size_are_refused():
    with pytest.raises(ValueError):
        select_move(np.ones(362), position(TWO_EYES))


class FakePolicy:
    """A policy that always wants B3 and thinks the side to move is ``value``."""

    def __init__(self, value: float | None) -> None:
        self.value_estimate = value

    @property
    def has_value_head(self) -> bool:
        return self.value_estimate is not None

    def move_probabilities(self, state):
        return policy_on(state, {"B3": 0.9}, rest=0.0001)

    def analyze(self, state, *, symmetries=None):
        return analysis(state, self.move_probabilities(state), self.value_estimate)


def test_choose_move_uses_the_policy():
    state = position(TWO_EYES)
    assert choose_move(FakePolicy(None), state, temperature=0) == move("B3", 7)


def test_resigns_only_after_consecutive_lost_turns_past_the_minimum_move():
    config = PlayerConfig(resign_threshold=0.1, resign_min_moves=2, resign_consecutive=2)
    player = Player(FakePolicy(-0.95), config)  # 2.5% to win
    state = position(TWO_EYES, to_play=WHITE)  # White is behind: Black has more area
    assert not player.decide(state).resign  # move 0 < resign_min_moves
    play(state, "pass pass")
    state.to_play = WHITE
    assert not player.decide(state).resign  # first lost turn
    decision = player.decide(state)
    assert decision.resign and decision.value == -0.95


def test_deciding_for_either_colour_changes_neither_the_state_nor_the_policy():
    state = position(TWO_EYES)  # Black to move
    before = (state.to_play, list(state.history), list(state.board.stones))
    policy = FakePolicy(None)
    decision = Player(policy).decide(state, WHITE)
    assert (state.to_play, state.history, state.board.stones) == (before[0], before[1],
                                                                   before[2])
    assert decision.move == select_move(policy.move_probabilities(state), with_to_play(state,
                                                                                       WHITE))
    assert with_to_play(state, BLACK) is state and with_to_play(state, WHITE).to_play == WHITE


def test_never_resigns_without_a_value_head_or_when_the_area_count_is_ahead():
    config = PlayerConfig(resign_threshold=0.5, resign_min_moves=0, resign_consecutive=1)
    state = position(TWO_EYES)  # Black leads by area
    assert not Player(FakePolicy(None), config).decide(state).resign
    assert not Player(FakePolicy(-1.0), config).decide(state).resign
    assert not Player(FakePolicy(-1.0), PlayerConfig(resign_threshold=0)).decide(state).resign


@pytest.mark.parametrize("options", [
    {"temperature": -1}, {"temperature": float("nan")}, {"pass_floor": 2},
    {"resign_threshold": 1.0}, {"resign_consecutive": 0},
])
def test_config_rejects_nonsense(options):
    with pytest.raises(ValueError):
        PlayerConfig(**options)


# ----------------------------------------------------------------- with a search


class Favourite:
    """A search evaluator: priors ``weights`` by vertex (the rest share ``rest``), pass
    ``pass_weight``; legal moves only, as the contract asks. The value is
    ``black_value`` for Black to move and its negation for White (one game, one view)."""

    def __init__(self, weights: dict[str, float], *, rest: float = 0.01,
                 pass_weight: float = 0.001, black_value: float = 0.0) -> None:
        self.weights, self.rest, self.pass_weight = weights, rest, pass_weight
        self.black_value = black_value

    def evaluate(self, states):
        priors = []
        for state in states:
            legal = state.legal_mask()
            row = np.where(legal, self.rest, 0.0)
            row[-1] = self.pass_weight
            for vertex, weight in self.weights.items():
                point = move(vertex, state.size)
                if legal[point]:
                    row[point] = weight
            priors.append(row / row.sum())
        values = [self.black_value if s.to_play == BLACK else -self.black_value for s in states]
        return np.array(priors), np.array(values)


def searching(evaluator, **options) -> Player:
    return Player(FakePolicy(None), PlayerConfig(**options), np.random.default_rng(0),
                  evaluator=evaluator)


def test_a_search_plays_its_most_visited_move_and_reports_it():
    state = position(TWO_EYES)
    decision = searching(Favourite({"B3": 0.6}), visits=40).decide(state)
    result = decision.search
    assert result is not None and result.visits == 40
    assert sum(stats.visits for stats in result.moves) == 39  # the root's own evaluation
    assert decision.move == result.moves[0].move
    assert decision.value == pytest.approx(2 * result.winrate - 1)


def test_a_search_never_fills_an_own_eye_whatever_the_prior():
    state = position(TWO_EYES)
    decision = searching(Favourite({"A7": 0.9, "C7": 0.05}), visits=30).decide(state)
    assert decision.move not in (move("A7", 7), move("C7", 7))
    assert all(stats.move not in (move("A7", 7), move("C7", 7))
               for stats in decision.search.moves)


def test_a_search_passes_after_the_opponent_passed_when_ahead():
    state = after_pass(position(TWO_EYES), WHITE)  # Black to move, ahead by area
    decision = searching(Favourite({"B3": 0.9}, black_value=0.5), visits=20).decide(state)
    assert decision.move == PASS


def test_cleanup_with_a_search_captures_the_dead_stone_first():
    state = after_pass(position(DEAD_STONE), WHITE)
    decision = searching(Favourite({"F1": 0.9}), visits=20).decide(state, cleanup=True)
    assert decision.move in {move(v, 7) for v in ("A4", "C4", "B5", "B3")}


def test_resigning_by_the_search_needs_enough_visits():
    state = position(TWO_EYES, to_play=WHITE)  # White is behind by area
    lost = Favourite({"F1": 0.5}, black_value=0.98)  # White to move: 1% to win
    options = {"resign_threshold": 0.1, "resign_min_moves": 0, "resign_consecutive": 1}
    assert not searching(lost, visits=10, resign_min_visits=20, **options).decide(state).resign
    decision = searching(lost, visits=30, resign_min_visits=20, **options).decide(state)
    assert decision.resign and decision.search.visits == 30
    assert decision.search.winrate < 0.1


def test_one_visit_is_the_raw_policy_without_a_tree():
    state = position(TWO_EYES)
    for config in (PlayerConfig(), PlayerConfig(visits=1)):
        player = Player(FakePolicy(None), config, evaluator=Favourite({"F1": 0.9}))
        decision = player.decide(state)
        assert decision.search is None and player._search is None
        assert decision.move == select_move(FakePolicy(None).move_probabilities(state), state)


@pytest.mark.parametrize("options", [
    {"visits": 0}, {"playouts": 0}, {"time": 0.0}, {"resign_min_visits": -1},
])
def test_search_limits_reject_nonsense(options):
    with pytest.raises(ValueError):
        PlayerConfig(**options)


def test_a_seed_repeats_a_searched_game_with_a_real_network(tiny_model_path):
    """The tiny network is noise, so only the seed makes its symmetries (and moves) repeat."""
    from goai.nn.policy import Policy
    from goai.rules.game import GameState

    policy = Policy(tiny_model_path)

    def game(seed: int) -> list[int]:
        player = Player(policy, PlayerConfig(visits=24), np.random.default_rng(seed))
        state = GameState(19)
        for _ in range(6):
            state.play(player.decide(state).move)
        return [m for _, m in state.history]

    assert game(7) == game(7)
    raw = Player(policy, PlayerConfig(visits=1)).decide(GameState(19))
    assert raw.search is None
    assert raw.move == select_move(policy.analyze(GameState(19)).probabilities, GameState(19))


def test_a_raw_move_keeps_to_the_allowed_moves():
    state = position(TWO_EYES)
    player = Player(FakePolicy(None))
    assert player.decide(state).move == move("B3", 7)  # the policy's choice
    b3 = move("B3", 7)
    assert player.decide(state, allowed=lambda m: m != b3).move not in {b3, PASS}
    # An allow list without pass: the one point, though the policy rates it low.
    g1 = move("G1", 7)
    assert player.decide(state, allowed=lambda m: m == g1).move == g1
    # A list that allows nothing legal restricts nothing.
    assert player.decide(state, allowed=lambda m: False).move == b3


# ----------------------------------------------------------------- levels

# Black to move; A9 is Black's own eye (the policy's favourite, never to be filled) and
# B9, a stone, is where the policy also puts weight (illegal: masked).
LEVEL_POSITION = """
    . X . . . . . . .
    X X . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . . . O . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    """
# The candidates, best first, then everything else at 0.05% (below every level's floor).
LEVEL_CHOICES = ("C3", "G7", "C7", "G3", "E7", "E3", "C5", "G5", "D4", "F6")


class Favourites:
    """A network with fixed probabilities: A9 (an own eye) and B9 (a stone) on top, then
    ``LEVEL_CHOICES`` falling from 20% to 1%."""

    has_value_head = False

    def analyze(self, state, *, symmetries=None):
        weights = (0.2, 0.15, 0.1, 0.08, 0.06, 0.05, 0.04, 0.03, 0.02, 0.01)
        favourites = {"A9": 0.3, "B9": 0.1, **dict(zip(LEVEL_CHOICES, weights, strict=True))}
        return analysis(state, policy_on(state, favourites, rest=0.0005), None)


def test_each_weaker_level_plays_lower_ranked_moves_and_all_stay_legal_and_off_the_eye():
    state = position(LEVEL_POSITION)
    ranks = {vertex: rank for rank, vertex in enumerate(LEVEL_CHOICES, 1)}
    mean_rank, first_share = {}, {}
    for level in ("4", "3", "2", "1"):  # strongest first
        player = Player(Favourites(), PlayerConfig(level=level), rng=np.random.default_rng(25))
        chosen = [vertices({player.decide(state).move}, 9).pop() for _ in range(2000)]
        assert set(chosen) <= set(LEVEL_CHOICES), level  # never the eye, a stone, or a 0.05% move
        mean_rank[level] = np.mean([ranks[vertex] for vertex in chosen])
        first_share[level] = chosen.count(LEVEL_CHOICES[0]) / len(chosen)
    assert first_share["4"] == 1.0
    assert mean_rank["4"] < mean_rank["3"] < mean_rank["2"] < mean_rank["1"], mean_rank
    assert first_share["4"] > first_share["3"] > first_share["2"] > first_share["1"], first_share


def test_levels_keep_the_end_of_the_game_and_full_is_no_level():
    # After the opponent's pass a player ahead passes at every level, as at full strength.
    state = after_pass(position(LEVEL_POSITION, komi=-50), WHITE)
    for level in ("1", "2", "3", "4"):
        assert Player(Favourites(), PlayerConfig(level=level)).decide(state).move == PASS
    assert PlayerConfig(level="full").weakened is None
    assert PlayerConfig(level="full", visits=32).raw is False
    assert PlayerConfig(level="1", visits=32).raw is True  # a level below full does not search
    with pytest.raises(ValueError, match="level must be one of"):
        PlayerConfig(level="7")
