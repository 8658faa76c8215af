"""A match's statistics, on counts alone: win shares, Wilson intervals, Elo."""

from __future__ import annotations

import pytest

from goai.play.stats import elo_difference, wilson_interval, win_rate, win_shares


def test_a_draw_is_half_a_win_to_each_side():
    assert win_shares(["A", None, "B", "A"]) == {"A": 2.5, "B": 1.5}
    assert win_shares([]) == {"A": 0.0, "B": 0.0}


@pytest.mark.parametrize("wins, games, low, high", [
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (5, 10, 0.2366, 0.7634),
    (30, 40, 0.5981, 0.8581),
    (0, 0, 0.0, 1.0),  # no games: nothing is known
])
def test_wilson_interval(wins, games, low, high):
    assert wilson_interval(wins, games) == pytest.approx((low, high), abs=1e-4)


def test_elo_difference():
    assert elo_difference(0.5) == 0.0
    assert str(elo_difference(0.5)) == "0.0"  # not -0.0
    assert elo_difference(0.75) == pytest.approx(190.85, abs=0.01)
    assert elo_difference(0.25) == pytest.approx(-190.85, abs=0.01)
    assert elo_difference(0.0) is None and elo_difference(1.0) is None


def test_win_rate_maps_the_wilson_bounds_to_elo():
    record = win_rate(30, 40)
    assert record.rate == 0.75
    assert (record.low, record.high) == pytest.approx((0.5981, 0.8581), abs=1e-4)
    assert record.elo == pytest.approx(190.85, abs=0.01)
    assert record.elo_low == pytest.approx(elo_difference(record.low))
    assert record.elo_high == pytest.approx(elo_difference(record.high))


def test_win_rate_at_every_game_won_is_unbounded_above():
    record = win_rate(10, 10)
    assert record.elo is None and record.elo_high is None
    assert record.elo_low == pytest.approx(elo_difference(0.7225), abs=0.5)


def test_win_rate_of_no_games():
    record = win_rate(0, 0)
    assert (record.rate, record.low, record.high) == (0.0, 0.0, 1.0)
    assert (record.elo, record.elo_low, record.elo_high) == (None, None, None)
