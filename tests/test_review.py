"""``goai review``: figures per move, the annotated SGF read back with sgfmill, JSON, plot.

A hand-made policy (``WantsPolicy``) makes every probability and rank known in
the small games; the tiny untrained model runs the command on the sample game
and on a handicap game, where only the shape of the output can be checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from boards import move
from sgfmill import boards, sgf

from goai import cli
from goai.board import BLACK, EMPTY, WHITE
from goai.coords import PASS, PASS_INDEX
from goai.review import annotated_sgf, percent, plot_probabilities, review_game
from goai.sgf import GameRecord

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

    def analyze(self, state):
        return self.move_probabilities(state), self.value(state)


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


def test_plot_is_a_png_as_wide_as_the_game(tmp_path: Path):
    path = tmp_path / "plot.png"
    plot_probabilities(review_game(WantsPolicy(), FOUR_MOVES), path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (48 + 8 * 4 + 16, 12 + 240 + 28)


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
