"""Who owns each point at the end (``goai.rules.territory``) and which stones are dead, alive or in
seki (``goai.rules.status``), on drawn boards.

Boards are drawn as in ``boards.py`` (``X`` black, ``O`` white, top row first).
Expected ownership is drawn the same way: ``+`` Black's, ``-`` White's, ``0``
nobody's (dame, a seki's shared liberties).
"""

from __future__ import annotations

import numpy as np
import pytest
from boards import DEAD_STONE, TWO_EYES, position, vertices

from goai.play.player import Player
from goai.rules.board import BLACK, WHITE, Board
from goai.rules.game import GameState
from goai.rules.status import (
    black_view,
    dead_from_ownership,
    dead_stones,
    estimate,
    estimated_score,
    judge,
    seki_stones,
)
from goai.rules.territory import area_margin, area_ownership

_OWNER = {"+": 1, "-": -1, "0": 0}


def owners(drawing: str) -> list[int]:
    """An expected ownership drawing (``+``, ``-``, ``0``) as a flat list, top row first."""
    return [_OWNER[mark] for line in drawing.strip().splitlines() for mark in line.split()]


def points(board: Board, vertex_list: str) -> set[int]:
    from boards import move

    return {move(vertex, board.size) for vertex in vertex_list.split()}


# A white stone at B4 inside Black's area: dead, given as such. (boards.DEAD_STONE)

# A white group with one eye (C7) inside Black's area: dead.
ONE_EYE_GROUP = """
    . . . . X O . . .
    . O O O X O . . .
    . O . O X O . . .
    . O O O X O . . .
    X X X X X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    """

# The same group with two eyes (A8 and C8 ... B6 side): alive.
TWO_EYE_GROUP = """
    O O O O X O . . .
    . O . O X O . . .
    O O O O X O . . .
    . O . O X O . . .
    X X X X X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    . . . . X O . . .
    """

# Black's group in the top-left corner and White's around it (column D and row 4)
# have no eye; they share the liberties C7 and C6, and whoever fills one is taken:
# seki. Black's wall on column E and row 3 lives outside.
SEKI = """
    X X . O X . .
    X X . O X . .
    X X X O X . .
    O O O O X . .
    X X X X X . .
    . . . . . . .
    . . . . . . .
    """

# Column C touches both colours: seven dame points.
DAME = """
    X X . O O
    X X . O O
    X X . O O
    X X . O O
    X X . O O
    """

CASES = [
    ("a living group with two eyes", TWO_EYES, "", """
        + + + + - - -
        + + + + - - -
        + + + + - - -
        + + + + - - -
        + + + + - - -
        + + + + - - -
        + + + + - - -
        """),
    ("a dead stone inside territory, removed", DEAD_STONE, "B4", """
        + + + + - - -
        + + + + - - -
        + + + + - - -
        + + + + - - -
        + + + + - - -
        + + + + - - -
        + + + + - - -
        """),
    ("seki: the stones keep their owner, the shared liberties are nobody's", SEKI, "", """
        + + 0 - + + +
        + + 0 - + + +
        + + + - + + +
        - - - - + + +
        + + + + + + +
        + + + + + + +
        + + + + + + +
        """),
    ("dame count for nobody", DAME, "", """
        + + 0 - -
        + + 0 - -
        + + 0 - -
        + + 0 - -
        + + 0 - -
        """),
]


@pytest.mark.parametrize("drawing, dead, expected", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_area_ownership_of_drawn_boards(drawing: str, dead: str, expected: str):
    board = Board.from_text(drawing)
    ownership = area_ownership(board, points(board, dead) if dead else ())
    assert ownership.dtype == np.int8
    assert ownership.tolist() == owners(expected)


def test_without_the_dead_stone_taken_off_it_spoils_black_s_region():
    board = Board.from_text(DEAD_STONE)
    ownership = area_ownership(board)
    assert ownership[3 * 7 + 1] == -1  # B4 itself, a white stone counted where it stands
    assert ownership[0] == 0  # A7: the region reaches both colours now
    state = position(DEAD_STONE, komi=0.5)
    assert area_margin(ownership, 0.5) == state.score()


# ----------------------------------------------------------------- status from ownership


def test_dead_stones_are_whole_strings_the_ownership_gives_to_the_other_side():
    board = Board.from_text(DEAD_STONE)
    truth = area_ownership(board, points(board, "B4")).astype(float)
    assert vertices(dead_from_ownership(board, truth), 7) == {"B4"}
    # Unsure: the map leans only 0.4 to Black at White's stone B4, short of the 0.5 margin.
    unsure = truth.copy()
    unsure[3 * 7 + 1] = 0.4
    assert dead_from_ownership(board, unsure) == set()
    with pytest.raises(ValueError, match="49 points"):
        dead_from_ownership(board, np.zeros(361))


def test_seki_is_found_from_the_shared_liberties_neither_side_can_fill():
    board = Board.from_text(SEKI)
    judged = judge(board, area_ownership(board).astype(float))
    assert judged.dead == frozenset() and judged.source == "ownership"
    assert vertices(judged.seki, 7) == {"A7", "B7", "A6", "B6", "A5", "B5", "C5",
                                        "D7", "D6", "D5", "D4", "A4", "B4", "C4"}
    # Dame is not seki: filling C3 in DAME puts nobody in atari.
    assert seki_stones(Board.from_text(DAME)) == set()


def test_black_view_turns_the_side_to_move_s_map():
    ownership = np.array([0.5, -1.0])
    assert black_view(ownership, BLACK) is ownership
    assert black_view(ownership, WHITE).tolist() == [-0.5, 1.0]


class MapPolicy:
    """A fake network with an ownership head that says ``black_map`` (Black's view)."""

    has_value_head = True
    has_ownership_head = True
    has_score_head = False

    def __init__(self, black_map: np.ndarray) -> None:
        self.black_map = black_map

    def analyze(self, state, *, symmetries=None):
        from goai.nn.policy import PolicyOutput

        legal = np.ones(state.size * state.size + 1, dtype=bool)
        ownership = black_view(self.black_map, state.to_play)  # the side to move's view
        return PolicyOutput(legal / legal.sum(), 0.0, legal, ownership, None)


def test_the_player_judges_from_the_ownership_map_for_either_side_to_move():
    state = position(DEAD_STONE, WHITE)
    truth = area_ownership(state.board, points(state.board, "B4")).astype(float)
    player = Player(MapPolicy(truth))
    status = player.stone_status(state)
    assert vertices(status.dead, 7) == {"B4"} and status.source == "ownership"
    state.to_play = BLACK
    assert player.stone_status(state).dead == status.dead


# ----------------------------------------------------------------- the rule of thumb


@pytest.mark.parametrize("drawing, dead", [
    (TWO_EYES, set()),
    (DEAD_STONE, {"B4"}),
    (ONE_EYE_GROUP, {"B8", "C8", "D8", "B7", "D7", "B6", "C6", "D6"}),
    (TWO_EYE_GROUP, set()),
])
def test_dead_stone_estimate(drawing, dead):
    state = position(drawing)
    assert vertices(dead_stones(state.board), state.size) == dead
    assert estimate(state.board).dead == dead_stones(state.board)


def test_estimated_score_removes_dead_stones_and_counts_komi():
    state = position(DEAD_STONE, komi=0.5)
    assert state.score() == -15.5  # as the stones stand, B4 spoils Black's area
    assert estimated_score(state) == 6.5  # 28 - 21 - 0.5


def test_early_in_a_game_no_stone_is_called_dead():
    """The rule of thumb used to call every stone dead at move 4: none has eyes yet."""
    state = GameState(19, 7.5)
    for move_number, vertex in enumerate(("D4", "Q16", "Q4", "D16", "R10"), 1):
        from boards import move

        state.play(move(vertex, 19))
        assert dead_stones(state.board) == set(), f"after move {move_number}"


def test_without_an_ownership_head_the_player_falls_back_to_the_estimate():
    from fakes import analysis

    class Plain:
        has_value_head = False

        def analyze(self, state, *, symmetries=None):
            return analysis(state, np.full(50, 1 / 50), None)

    status = Player(Plain()).stone_status(position(DEAD_STONE))
    assert vertices(status.dead, 7) == {"B4"} and status.source == "estimate"
