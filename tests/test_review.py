"""``goai review``: figures per move, the annotated SGF read back with sgfmill, JSON, plot.

A hand-made policy (``WantsPolicy``) makes every probability and rank known in
the small games, and a scripted evaluator (``ScriptedEvaluator``) every win rate
of a search review at one visit a position; the tiny untrained model runs the
command on the sample game and on a handicap game, where only the shape of the
output and the relations between its figures can be checked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from boards import move
from sgfmill import boards, sgf

from goai import cli
from goai.nn.policy import PolicyOutput
from goai.play.report import (
    annotated_sgf,
    format_review,
    move_comment,
    percent,
    plot_review,
    summary_lines,
)
from goai.play.review import ReviewConfig, review_game, run_review
from goai.records.record import GameRecord
from goai.rules.board import BLACK, EMPTY, WHITE
from goai.rules.coords import PASS, PASS_INDEX
from goai.search.limits import SearchLimits
from goai.search.tree import Search

TESTS = Path(__file__).resolve().parent
SAMPLE_GAME = TESTS.parent / "data" / "sample-game.sgf"
HANDICAP_GAME = TESTS / "data" / "sgf" / "ai_style_handicap.sgf"


class WantsPolicy:
    """Q16 0.5, D4 0.3, pass 0.1, every other point 0.001; occupied points 0."""

    has_value_head = False

    def move_probabilities(self, state):
        probabilities = np.full(362, 0.001)
        probabilities[[move("Q16", 19), move("D4", 19), PASS_INDEX]] = (0.5, 0.3, 0.1)
        probabilities[:361][np.array(state.board.stones) != EMPTY] = 0.0
        return probabilities

    def value(self, state):
        return None

    def analyze(self, state, *, symmetries=None):
        return PolicyOutput(self.move_probabilities(state), None, np.ones(362, dtype=bool))


def game(*moves: str, size: int = 19) -> GameRecord:
    """A record of alternating moves from Black: ``game("Q16", "Q4", "pass")``."""
    colors = (BLACK, WHITE)
    return GameRecord(source="test", index=0, size=size, komi=7.5,
                      moves=tuple((colors[i % 2], move(v, size)) for i, v in enumerate(moves)))


FOUR_MOVES = game("Q16", "Q4", "D4", "pass")


def read_back(text: str) -> list[sgf.Tree_node]:
    return sgf.Sgf_game.from_bytes(text.encode()).get_main_sequence()


# ----------------------------------------------------------------- figures


def test_probability_rank_and_top_three_of_each_move():
    review = review_game(WantsPolicy(), FOUR_MOVES, model="wants")
    rows = [(r.number, r.color, r.move, r.probability, r.rank, r.top) for r in review.moves]
    q16, d4, q4, a19, b19 = (move(v, 19) for v in ("Q16", "D4", "Q4", "A19", "B19"))
    assert rows == [
        (1, BLACK, q16, 0.5, 1, ((q16, 0.5), (d4, 0.3), (PASS, 0.1))),
        (2, WHITE, q4, 0.001, 3, ((d4, 0.3), (PASS, 0.1), (a19, 0.001))),
        (3, BLACK, d4, 0.3, 1, ((d4, 0.3), (PASS, 0.1), (a19, 0.001))),
        (4, WHITE, PASS, 0.1, 1, ((PASS, 0.1), (a19, 0.001), (b19, 0.001))),
    ]
    assert review.match_rate == 0.75
    assert review.mean_probability == pytest.approx((0.5 + 0.001 + 0.3 + 0.1) / 4)
    assert [r.number for r in review.least_likely()] == [2, 4, 3, 1]
    assert review.stopped is None


def test_only_the_chosen_players_moves_are_reviewed():
    review = review_game(WantsPolicy(), FOUR_MOVES, players={WHITE})
    assert [r.number for r in review.moves] == [2, 4]


def test_a_review_config_without_limits_reviews_by_the_policy_alone():
    config = ReviewConfig(player="white", moves=(3, None))
    assert not config.searching
    review = run_review(WantsPolicy(), FOUR_MOVES, config, model="wants")
    assert [r.number for r in review.moves] == [4]
    assert review.limits is None and review.model == "wants"


@pytest.mark.parametrize("settings, message", [
    ({"visits": 0}, "--visits must be at least 1, not 0"),
    ({"time": 0.0}, "--time must be above 0, not 0"),
    ({"turning_points": -1}, "--turning-points must be 0 or more, not -1"),
    ({"player": "nobody"}, "--player nobody: give black, white, both"),
    ({"symmetries": 4}, "--symmetries must be 1 or 8, not 4"),
])
def test_a_review_config_refuses_what_cannot_run(settings, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ReviewConfig(**settings)


def test_an_illegal_move_stops_the_review_there():
    review = review_game(WantsPolicy(), game("D4", "D4", "Q16"))
    assert [r.number for r in review.moves] == [1]
    assert review.stopped == "move 2 (W D4) is illegal (occupied)"


@pytest.mark.parametrize("record, reason", [
    (game("C3", size=9), "the game is 9x9; the model plays 19x19 only"),
    (game(), "the game has no moves to review"),
])
def test_games_the_model_cannot_review(record: GameRecord, reason: str):
    with pytest.raises(ValueError, match=reason):
        review_game(WantsPolicy(), record)


@pytest.mark.parametrize("probability, text", [
    (0.5, "50.0%"), (1.0, "100.0%"), (0.001, "0.1%"), (0.0001234, "0.012%"), (0.0, "0.0%"),
])
def test_percent(probability: float, text: str):
    assert percent(probability) == text


# ----------------------------------------------------------------- the annotated SGF


def test_comments_on_each_move_and_candidates_on_the_node_before():
    nodes = read_back(annotated_sgf(review_game(WantsPolicy(), FOUR_MOVES, model="wants")))
    root = nodes[0]
    assert root.get("C") == (
        "goai review, model wants: 4 moves of Black and White reviewed\n"
        "Match rate (the model's first choice was played): 75.0% (3 of 4)\n"
        "Mean probability of the move played: 22.5%\n"
        "Least likely moves: 2 W Q4 0.1% (rank 3); 4 W pass 10.0% (rank 1); "
        "3 B D4 30.0% (rank 1); 1 B Q16 50.0% (rank 1)\n"
        "Labels A, B, C: the model's top 3 for move 1 (Black)")
    assert nodes[2].get("C") == (
        "Move 2, White Q4: 0.1%, rank 3 of 362\n"
        "The model's top 3: A D4 30.0%, B pass 10.0%, C A19 0.1%\n"
        "Labels A, B, C: the model's top 3 for move 3 (Black)")
    assert nodes[4].get("C") == (
        "Move 4, White pass: 10.0%, the model's first choice\n"
        "The model's top 3: A pass 10.0%, B A19 0.1%, C B19 0.1%")
    # sgfmill points are (row from the bottom, column); a pass candidate has no label.
    q16, d4, a19, b19 = (15, 15), (3, 3), (18, 0), (18, 1)
    assert [node.get("LB") if node.has_property("LB") else None for node in nodes] == [
        [(q16, "A"), (d4, "B")],  # for move 1, on the empty board
        [(d4, "A"), (a19, "C")],
        [(d4, "A"), (a19, "C")],
        [(a19, "B"), (b19, "C")],
        None,  # no move 5
    ]
    assert [node.get_move() for node in nodes[1:]] == [
        ("b", q16), ("w", (3, 15)), ("b", d4), ("w", None)]


def test_reviewing_one_player_labels_only_before_their_moves():
    review = review_game(WantsPolicy(), FOUR_MOVES, players={WHITE})
    nodes = read_back(annotated_sgf(review))
    assert nodes[0].get("C").startswith("goai review, model ?: 2 moves of White reviewed\n")
    assert [node.has_property("LB") for node in nodes] == [False, True, False, True, False]
    assert nodes[1].get("C") == "Labels A, B, C: the model's top 3 for move 2 (White)"
    assert nodes[2].get("C").startswith("Move 2, White Q4")
    assert not nodes[3].get("C").startswith("Move")


def test_a_stopped_review_keeps_the_whole_game_and_says_where_it_stopped():
    nodes = read_back(annotated_sgf(review_game(WantsPolicy(), game("D4", "D4", "Q16"))))
    assert len(nodes) == 4
    assert "Review stopped: move 2 (W D4) is illegal (occupied)" in nodes[0].get("C")
    assert not nodes[2].has_property("C") and not nodes[3].has_property("C")


def test_plot_is_a_png_of_the_game(tmp_path: Path):
    path = tmp_path / "plot.png"
    plot_review(review_game(WantsPolicy(), FOUR_MOVES), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------- with a search


class ScriptedEvaluator:
    """An ``Evaluator`` whose value is scripted by how many moves have been played.

    ``black_values[n]`` is the value for Black after ``n`` moves, whoever is to
    move (turned for White); beyond the script Black's value is 0. The prior is
    0.9 on ``favourite`` (when legal) and the rest spread over the legal moves,
    so that a search follows the game and can reuse its tree.
    ``evaluated`` counts the states evaluated.
    """

    def __init__(self, black_values, favourite: dict[int, int] | None = None) -> None:
        self.black_values = black_values
        self.favourite = favourite or {}
        self.evaluated = 0

    def evaluate(self, states):
        priors, values = [], []
        for state in states:
            legal = state.legal_mask()
            prior = legal / legal.sum()
            favourite = self.favourite.get(len(state.history))
            if favourite is not None:
                slot = 361 if favourite == PASS else favourite
                if legal[slot]:
                    prior = 0.1 * prior
                    prior[slot] += 0.9
            played = len(state.history)
            black = self.black_values[played] if played < len(self.black_values) else 0.0
            priors.append(prior)
            values.append(black if state.to_play == BLACK else -black)
        self.evaluated += len(states)
        return np.array(priors), np.array(values)


SIX_MOVES = game("Q16", "Q4", "D4", "D16", "R10", "C10")
# Black's win rate after 0..6 moves: 50, 60, 30, 50, 80, 75, 95 (value = 2 * rate - 1).
SIX_RATES = (0.5, 0.6, 0.3, 0.5, 0.8, 0.75, 0.95)


def scripted_review(record=SIX_MOVES, rates=SIX_RATES, **options):
    """Review ``record`` with one visit a position: every win rate is the scripted one."""
    search = Search(ScriptedEvaluator([2 * rate - 1 for rate in rates]))
    return review_game(WantsPolicy(), record, search=search, limits=SearchLimits(visits=1),
                       **options)


def test_win_rates_are_blacks_and_each_drop_is_the_movers_loss():
    review = scripted_review()
    assert [position.played for position in review.positions] == list(range(7))
    assert [position.winrate for position in review.positions] == pytest.approx(SIX_RATES)
    rows = [(item.number, item.before.winrate, item.after.winrate, item.drop)
            for item in review.moves]
    assert np.array(rows) == pytest.approx(np.array([
        (1, 0.5, 0.6, -0.1),   # Black gained
        (2, 0.6, 0.3, -0.3),   # Black's rate fell: White gained
        (3, 0.3, 0.5, -0.2),
        (4, 0.5, 0.8, 0.3),    # Black's rate rose: White lost
        (5, 0.8, 0.75, 0.05),
        (6, 0.75, 0.95, 0.2),
    ]))
    assert [item.number for item in review.turning_points()] == [4, 6, 5]  # losses only


def test_turning_points_are_the_largest_drops_ties_to_the_earlier_move():
    review = scripted_review(rates=(0.5, 0.4, 0.5, 0.4, 0.5, 0.4, 0.5), turning_points=2)
    assert [round(item.drop, 6) for item in review.moves] == [0.1] * 6
    assert [item.number for item in review.turning_points()] == [1, 2]
    assert scripted_review(turning_points=0).turning_points() == []


def test_a_search_review_of_one_player_and_a_range_of_moves():
    review = scripted_review(players={WHITE}, moves=(2, 5))
    assert [item.number for item in review.moves] == [2, 4]
    assert [position.played for position in review.positions] == [1, 2, 3, 4, 5]
    assert [(item.before.played, item.after.played) for item in review.moves] == [(1, 2), (3, 4)]
    assert [item.number for item in scripted_review(moves=(3, None)).moves] == [3, 4, 5, 6]
    assert [item.number for item in scripted_review(moves=(5, 99)).moves] == [5, 6]


@pytest.mark.parametrize("moves, reason", [
    ((7, None), "moves 7-: the game has 6 moves"),
    ((0, 3), "moves 0-3: give 1 <= A <= B"),
    ((4, 3), "moves 4-3: give 1 <= A <= B"),
])
def test_move_ranges_outside_the_game(moves, reason: str):
    with pytest.raises(ValueError, match=reason):
        scripted_review(moves=moves)


def test_a_search_review_stops_at_an_illegal_move_with_the_position_before_it():
    review = scripted_review(record=game("D4", "Q16", "D4", "C3"))
    assert review.stopped == "move 3 (B D4) is illegal (occupied)"
    assert [position.played for position in review.positions] == [0, 1, 2]
    assert [(item.number, item.after.played) for item in review.moves] == [(1, 1), (2, 2)]


def test_the_search_reuses_its_tree_along_the_game():
    favourite = {number - 1: move_ for number, (_, move_) in enumerate(SIX_MOVES.moves, 1)}
    evaluator = ScriptedEvaluator([0.0] * 7, favourite)
    limits = SearchLimits(visits=16)
    review = review_game(WantsPolicy(), SIX_MOVES, search=Search(evaluator), limits=limits)
    assert all(position.visits >= 16 for position in review.positions)
    # Without reuse every position would cost at least 16 evaluations of its own.
    assert evaluator.evaluated < 7 * 16
    assert review.moves[0].before.best_move == move("Q16", 19)


def test_the_annotated_sgf_carries_sabakis_win_rates_and_marks_the_turning_points():
    nodes = read_back(annotated_sgf(scripted_review(turning_points=2)))
    assert [node.get("SBKV") for node in nodes] == ["50", "60", "30", "50", "80", "75", "95"]
    assert [node.has_property("BM") and node.has_property("HO") for node in nodes] == [
        False, False, False, False, True, False, True]
    assert nodes[4].get("C").splitlines()[2:5] == [
        "Black's win rate: 50.0% before, 80.0% after: White's win rate -30.0%",
        "The search preferred A19 (0 of 1 visits)",
        "Turning point 1 of the game"]
    assert nodes[1].get("C").splitlines()[2] == (
        "Black's win rate: 50.0% before, 60.0% after: Black's win rate +10.0%")
    summary = nodes[0].get("C").splitlines()
    assert summary[4:8] == [
        "Search: 1 visits a position, 7 positions; every win rate is Black's",
        "Turning points (where the player's win rate fell most):",
        "  1. 4 W D16: Black's win rate 50.0% -> 80.0%, White's win rate -30.0%; "
        "the search preferred A19",
        "  2. 6 W C10: Black's win rate 75.0% -> 95.0%, White's win rate -20.0%; "
        "the search preferred A19"]


def test_the_text_report_s_change_is_black_s_as_the_column_beside_it():
    """Move 4 (White) raised Black's rate from 50% to 80%: the change column, next to Black's
    win rate, says +30.0%, and the summary names whose rate fell ("White's win rate -30.0%")
    in percent, not "points", which a Go player reads as the score."""
    text = format_review(scripted_review(turning_points=2))
    header, *rows = text.splitlines()[1:8]
    assert "Black win rate  change" in header
    fourth = next(row for row in rows if row.lstrip().startswith("4 W"))
    assert "80.0%  +30.0%" in fourth and fourth.endswith("turning point")
    second = next(row for row in rows if row.lstrip().startswith("2 W"))
    assert "30.0%  -30.0%" in second  # White's move 2 lowered Black's rate: White gained
    assert "points" not in text.replace("Turning points", "").replace("turning point", "")


def test_the_json_of_a_search_review():
    report = json.loads(json.dumps(scripted_review(turning_points=1).as_dict()))
    assert report["search"] == {"visits": 1, "seconds": None, "winrate_view": "black",
                                "positions": 7}
    assert [item["number"] for item in report["turning_points"]] == [4]
    fourth = report["moves"][3]
    assert (fourth["winrate_before"], fourth["winrate_after"]) == pytest.approx((0.5, 0.8))
    assert fourth["drop"] == pytest.approx(0.3)
    assert fourth["search"]["visits"] == 1 and fourth["search"]["best_move"] == "A19"
    assert "winrate_before" not in review_game(WantsPolicy(), SIX_MOVES).as_dict()["moves"][0]


def test_the_plot_of_a_search_review_draws_the_win_rate_above_the_bars(monkeypatch):
    from goai.display import plot

    figures = []
    monkeypatch.setattr(plot, "_save", lambda figure, path: figures.append(figure))
    plot_review(scripted_review(turning_points=1), "unused.png")
    plot_review(review_game(WantsPolicy(), SIX_MOVES), "unused.png")
    searched, policy_only = figures
    rates, bars = searched.axes
    assert len(policy_only.axes) == 1 and len(bars.patches) == len(policy_only.axes[0].patches)
    (turning,) = rates.patches  # move 4, the turning point: from 3 to 4 on the move axis
    assert (turning.get_x(), turning.get_width()) == (3, 1)
    (line,) = [line for line in rates.get_lines() if line.get_label().startswith("Black's")]
    assert list(line.get_xdata()) == list(range(7))
    assert line.get_ydata()[6] == pytest.approx(95)  # Black's 95% after move 6
    assert "win rates by a search of 1 visits a position" in rates.get_title()


class ScoredEvaluator(ScriptedEvaluator):
    """``ScriptedEvaluator`` with a score head: ``black_leads[n]`` is Black's lead in points
    after ``n`` moves (turned for White)."""

    def __init__(self, black_values, black_leads) -> None:
        super().__init__(black_values)
        self.black_leads = black_leads

    def evaluate_scored(self, states):
        priors, values = self.evaluate(states)
        scores = [self.black_leads[len(state.history)] * (1 if state.to_play == BLACK else -1)
                  for state in states]
        return priors, values, np.array(scores, dtype=float)


# Black's lead after 0..6 moves: move 5 (Black) throws away 12 points, while Black's win
# rate falls only 5 points (80% -> 75%): a turning point by score.
SIX_LEADS = (0.0, 1.0, -1.0, 0.0, 20.0, 8.0, 21.0)


def scored_review(**options):
    search = Search(ScoredEvaluator([2 * rate - 1 for rate in SIX_RATES], SIX_LEADS))
    return review_game(WantsPolicy(), SIX_MOVES, search=search, limits=SearchLimits(visits=1),
                       **options)


def test_turning_points_come_from_whichever_of_win_rate_and_score_moved_most():
    review = scored_review()
    assert review.scored
    assert [position.score_lead for position in review.positions] == list(SIX_LEADS)
    assert [item.score_drop for item in review.moves] == [-1.0, -2.0, -1.0, 20.0, 12.0, 13.0]
    # Gains are negative losses: the smaller gain is the larger "loss".
    assert [(round(size, 6), which) for size, which in (item.swing for item in review.moves)] == [
        (-1.0, "score"), (-2.0, "score"), (-1.0, "score"), (30.0, "winrate"), (12.0, "score"),
        (20.0, "winrate")]
    assert [item.number for item in review.turning_points()] == [4, 6, 5]
    summary = summary_lines(review)
    assert summary[5:9] == [
        "Turning points (where the player's win rate or score fell most; a point of score "
        "weighs as 1 point of win rate):",
        "  1. 4 W D16: Black's win rate 50.0% -> 80.0%, White's win rate -30.0%; "
        "the search preferred A19",
        "  2. 6 W C10: Black's win rate 75.0% -> 95.0%, White's win rate -20.0%; "
        "the search preferred A19",
        "  3. 5 B R10: Black lost 12.0 points of score (Black's lead +20.0 -> +8.0); "
        "the search preferred A19"]
    fifth = move_comment(review.moves[4], 3).splitlines()
    assert fifth[2:4] == ["Black's win rate: 80.0% before, 75.0% after: Black's win rate -5.0%",
                          "Black's lead: +20.0 before, +8.0 after: Black lost 12.0 points of "
                          "score"]
    report = format_review(review).splitlines()
    assert report[1].split()[-8:] == ["Black", "win", "rate", "lead", "change", "search's", "best",
                                      "(visits)"]
    line = next(text for text in report if text.lstrip().startswith("5 B"))
    assert " 75.0%   +8.0   -5.0%  A19" in line and line.endswith("turning point (score)")
    data = review.as_dict()["moves"][4]
    assert (data["score_lead_before"], data["score_lead_after"], data["score_drop"]) == (
        20.0, 8.0, 12.0)
    # Without a score head only the win rate counts, and nothing is said of scores.
    plain = scripted_review()
    assert not plain.scored and all(item.score_drop is None for item in plain.moves)
    assert "score" not in "\n".join(summary_lines(plain))


def test_a_search_review_needs_limits():
    with pytest.raises(ValueError, match="needs limits"):
        review_game(WantsPolicy(), SIX_MOVES, search=Search(ScriptedEvaluator([0.0])))


# ----------------------------------------------------------------- the command


def test_goai_review_on_the_sample_game(tiny_model_path: Path, tmp_path: Path, capsys):
    out, plot = tmp_path / "reviewed.sgf", tmp_path / "plot.png"
    assert cli.main(["review", str(SAMPLE_GAME), "--model", str(tiny_model_path),
                     "--out", str(out), "--plot", str(plot)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == " move     played  probability  rank  the model's top 3"
    assert lines[2].startswith("    1 B   Q16 ")
    assert lines[-6] == "goai review, model tiny.pt: 350 moves of Black and White reviewed"
    assert lines[-2:] == [f"annotated SGF: {out}", f"plot: {plot}"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    game_tree = sgf.Sgf_game.from_bytes(out.read_bytes())
    nodes = game_tree.get_main_sequence()
    assert len(nodes) == 351
    assert nodes[0].get("C").startswith("goai review, model tiny.pt: 350 moves")
    for number, node in enumerate(nodes[1:], 1):
        assert node.get("C").startswith(f"Move {number}, ")
    # Every label sits on an empty point of the position it is drawn on.
    replayed = boards.Board(19)
    for node in nodes[:-1]:
        if node.get_move()[1] is not None:
            replayed.play(*node.get_move()[1], node.get_move()[0])
        labels = node.get("LB")
        assert 1 <= len(labels) <= 3
        assert all(replayed.get(*point) is None for point, _ in labels)


def test_goai_review_json_on_a_handicap_game(tiny_model_path: Path, tmp_path: Path, capsys):
    out = tmp_path / "handicap.sgf"
    assert cli.main(["review", str(HANDICAP_GAME), "--model", str(tiny_model_path), "--json",
                     "--player", "white", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["players"], report["moves_in_game"], report["moves_reviewed"]) == (
        "White", 10, 5)
    first = report["moves"][0]
    assert (first["number"], first["color"], first["move"]) == (1, "W", "Q4")
    assert len(first["top"]) == 3 and 1 <= first["rank"] <= 362
    root = sgf.Sgf_game.from_bytes(out.read_bytes()).get_root()
    assert (root.get("HA"), len(root.get("AB"))) == (3, 3)


def test_goai_review_skips_other_board_sizes(tmp_path: Path):
    small = tmp_path / "small.sgf"
    small.write_text("(;GM[1]FF[4]SZ[9]KM[7];B[ee];W[cc])")
    with pytest.raises(SystemExit) as error:
        cli.main(["review", str(small), "--model", str(tmp_path / "never-loaded.pt")])
    assert str(error.value) == (f"goai review: {small} game 0 is 9x9; the model plays 19x19 "
                                "only: skipped")


def test_goai_review_says_when_it_cannot_write(tiny_model_path: Path, tmp_path: Path):
    out = tmp_path / "missing" / "reviewed.sgf"
    with pytest.raises(SystemExit) as error:
        cli.main(["review", str(HANDICAP_GAME), "--model", str(tiny_model_path), "--out",
                  str(out)])
    assert str(error.value) == f"goai review: cannot write {out}: No such file or directory"


def test_goai_review_with_a_search(tiny_model_path: Path, tmp_path: Path, capsys):
    out, plot = tmp_path / "searched.sgf", tmp_path / "searched.png"
    assert cli.main(["review", str(SAMPLE_GAME), "--model", str(tiny_model_path), "--visits",
                     "4", "--moves", "1-8", "--json", "--out", str(out), "--plot",
                     str(plot)]) == 0
    captured = capsys.readouterr()
    assert "review: 9/9 positions (100%)" in captured.err  # the progress bar, with its
    assert " left] left " not in captured.err and "left 0m" not in captured.err  # own estimate
    report = json.loads(captured.out)
    moves = report["moves"]
    assert [item["number"] for item in moves] == list(range(1, 9))
    for item, following in zip(moves, moves[1:], strict=False):
        assert item["winrate_after"] == following["winrate_before"]  # one position, one view
        assert item["score_lead_after"] == following["score_lead_before"]
    for item in moves:
        assert 0 <= item["winrate_before"] <= 1 and 0 <= item["winrate_after"] <= 1
        assert item["search"]["visits"] >= 4
        sign = 1 if item["color"] == "B" else -1
        assert item["drop"] == pytest.approx(sign * (item["winrate_before"]
                                                     - item["winrate_after"]))
        # The tiny model has a score head: Black's lead and what the move cost in points.
        assert item["score_drop"] == pytest.approx(sign * (item["score_lead_before"]
                                                           - item["score_lead_after"]))

    def loss(item):  # whichever moved more, a point of score as a point of win rate
        return max(100 * item["drop"], item["score_drop"])

    losses = sorted((item for item in moves if loss(item) > 0),
                    key=lambda item: (-loss(item), item["number"]))[:5]
    assert report["turning_points"] == losses
    nodes = sgf.Sgf_game.from_bytes(out.read_bytes()).get_main_sequence()
    assert [float(node.get("SBKV")) for node in nodes[:9]] == pytest.approx(
        [100 * moves[0]["winrate_before"]] + [100 * item["winrate_after"] for item in moves],
        abs=0.006)
    assert not nodes[9].has_property("SBKV") and not nodes[9].has_property("C")
    assert sorted(k for k, node in enumerate(nodes) if node.has_property("BM")) == sorted(
        item["number"] for item in losses)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_goai_review_search_needs_a_value_head(tmp_path: Path, run_goai):
    import dataclasses

    import torch

    from goai.nn.checkpoint import save_checkpoint
    from goai.nn.features import get_feature_set
    from goai.nn.model import PolicyNet, config_from_preset

    config = config_from_preset("b1c8", get_feature_set("default").num_channels)
    path = tmp_path / "no-value.pt"
    torch.manual_seed(0)
    headless = dataclasses.replace(config, value_head=False, ownership_head=False,
                                   score_head=False)
    save_checkpoint(path, PolicyNet(headless).eval(), "default", {})
    out = tmp_path / "never.sgf"
    code, stdout, stderr = run_goai("review", str(HANDICAP_GAME), "--model", str(path),
                                    "--visits", "4", "--out", str(out))
    assert (code, stdout) == (1, "")
    assert stderr == f"goai review: {path} has no value head: the search needs one (--visits, " \
                     "--time)\n"
    assert not out.exists()
    assert run_goai("review", str(HANDICAP_GAME), "--model", str(path))[0] == 0  # policy alone


@pytest.mark.parametrize("options, message", [
    (("--visits", "0"), "goai review: --visits must be at least 1, not 0"),
    (("--time", "0"), "goai review: --time must be above 0, not 0"),
    (("--moves", "5"), "goai review: --moves 5: give A-B or A- (move numbers, e.g. 1-60)"),
    (("--moves", "20-"), "goai review: {game} game 0: moves 20-: the game has 10 moves"),
    (("--turning-points", "-1"), "goai review: --turning-points must be 0 or more, not -1"),
])
def test_goai_review_refuses_bad_search_options(options, message, tiny_model_path: Path,
                                                run_goai):
    code, stdout, stderr = run_goai("review", str(HANDICAP_GAME), "--model",
                                    str(tiny_model_path), *options)
    assert (code, stdout, stderr) == (1, "", message.format(game=HANDICAP_GAME) + "\n")


def test_goai_review_with_a_value_model(tiny_model_path: Path, tmp_path: Path, capsys):
    """Priors from the old small model (no score head), values and scores from the tiny one."""
    assert cli.main(["review", str(SAMPLE_GAME), "--model", "small", "--value-model",
                     str(tiny_model_path), "--visits", "2", "--moves", "1-3", "--json"]) == 0
    moves = json.loads(capsys.readouterr().out)["moves"]
    assert all(isinstance(item["score_drop"], float) for item in moves)
    with pytest.raises(SystemExit, match="--value-model gives a search its values"):
        cli.main(["review", str(SAMPLE_GAME), "--value-model", str(tiny_model_path)])
    assert cli.main(["review", str(SAMPLE_GAME), "--model", "small", "--visits", "2",
                     "--moves", "1-2", "--json"]) == 0
    old = json.loads(capsys.readouterr().out)["moves"]
    assert "score_drop" not in old[0] and "score_lead" not in old[0]["search"]
