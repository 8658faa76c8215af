"""Rules on a bare board: captures, snapback, suicide, the simple-ko point, group bookkeeping.

Each table row is a drawn position, a move in GTP notation (``"B C3"``), the
drawn position after it and the points captured. Columns skip I; on a 5x5
board they are ``A B C D E`` and row 5 is the top line of the drawing.
"""

from __future__ import annotations

import random

import pytest
from boards import KO_SHAPE, assert_groups_consistent, drawn, move, play_on_board, vertices

from goai.rules.board import BLACK, EMPTY, WHITE, Board, IllegalMoveError, opponent
from goai.rules.coords import PASS

# (name, before, move, after, captured)
CAPTURES = [
    (
        "corner stone",
        """
        O X . . .
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        """,
        "B A4",
        """
        . X . . .
        X . . . .
        . . . . .
        . . . . .
        . . . . .
        """,
        {"A5"},
    ),
    (
        "edge stone",
        """
        . . . . .
        X . . . .
        O X . . .
        . . . . .
        . . . . .
        """,
        "B A2",
        """
        . . . . .
        X . . . .
        . X . . .
        X . . . .
        . . . . .
        """,
        {"A3"},
    ),
    (
        "two edge groups with one move",
        """
        X O . O X
        . X . X .
        . . . . .
        . . . . .
        . . . . .
        """,
        "B C5",
        """
        X . X . X
        . X . X .
        . . . . .
        . . . . .
        . . . . .
        """,
        {"B5", "D5"},
    ),
    (
        "four stones around one point",
        """
        . . X . .
        . X O X .
        X O . O X
        . X O X .
        . . X . .
        """,
        "B C3",
        """
        . . X . .
        . X . X .
        X . X . X
        . X . X .
        . . X . .
        """,
        {"C4", "B3", "D3", "C2"},
    ),
    (
        "capture that saves own group in atari",
        """
        X X O . .
        . O X . .
        . . . . .
        . . . . .
        . . . . .
        """,
        "B D5",
        """
        X X . X .
        . O X . .
        . . . . .
        . . . . .
        . . . . .
        """,
        {"C5"},
    ),
    (
        "eleven-stone group",
        """
        O O O O X
        O O O O X
        O O O . X
        X X X X .
        . . . . .
        """,
        "B D3",
        """
        . . . . X
        . . . . X
        . . . X X
        X X X X .
        . . . . .
        """,
        {"A5", "B5", "C5", "D5", "A4", "B4", "C4", "D4", "A3", "B3", "C3"},
    ),
    (
        "whole board but one point, by a stone with no liberty of its own",
        """
        O O O
        O O O
        O O .
        """,
        "B C1",
        """
        . . .
        . . .
        . . X
        """,
        {"A3", "B3", "C3", "A2", "B2", "C2", "A1", "B1"},
    ),
    (
        "last liberty of own group is legal when it captures",
        """
        X . O X .
        X O X . .
        O . . . .
        . . . . .
        . . . . .
        """,
        "B B5",
        """
        X X . X .
        X O X . .
        O . . . .
        . . . . .
        . . . . .
        """,
        {"C5"},
    ),
]


@pytest.mark.parametrize(
    ("before", "played", "after", "captured"),
    [case[1:] for case in CAPTURES],
    ids=[case[0] for case in CAPTURES],
)
def test_capture(before: str, played: str, after: str, captured: set[str]) -> None:
    board = Board.from_text(before)
    taken = play_on_board(board, played)
    assert str(board) == drawn(after)
    assert vertices(taken, board.size) == captured
    color = BLACK if played.startswith("B") else WHITE
    assert board.captures == {color: len(captured), opponent(color): 0}
    assert_groups_consistent(board)


def test_capture_that_saves_own_group_gives_it_liberties() -> None:
    board = Board.from_text(
        """
        X X O . .
        . O X . .
        . . . . .
        . . . . .
        . . . . .
        """
    )
    a5 = move("A5", 5)
    assert board.liberty_count(a5) == 1
    play_on_board(board, "B D5")
    assert vertices(board.group_liberties[board.group_of[a5]], 5) == {"A4", "C5"}


def test_snapback_throw_in_is_captured_then_recaptures_five() -> None:
    board = Board.from_text(
        """
        . . . . .
        . . . . .
        O O O O .
        X X X O .
        X . . O .
        """
    )
    assert play_on_board(board, "W B1") == []
    assert str(board) == drawn(
        """
        . . . . .
        . . . . .
        O O O O .
        X X X O .
        X O . O .
        """
    )
    assert vertices(play_on_board(board, "B C1"), 5) == {"B1"}
    assert board.ko_point is None  # the capturing stone joined a group: no ko
    assert vertices(play_on_board(board, "W B1"), 5) == {"A1", "A2", "B2", "C2", "C1"}
    assert str(board) == drawn(
        """
        . . . . .
        . . . . .
        O O O O .
        . . . O .
        . O . O .
        """
    )
    assert board.captures == {BLACK: 1, WHITE: 5}
    assert_groups_consistent(board)


# (name, position, move, reason): moves the board refuses, leaving it unchanged.
ILLEGAL = [
    (
        "single-stone suicide in the corner",
        """
        . O . . .
        O . . . .
        . . . . .
        . . . . .
        . . . . .
        """,
        "B A5",
        "suicide",
    ),
    (
        "single-stone suicide in the middle",
        """
        . . . . .
        . . O . .
        . O . O .
        . . O . .
        . . . . .
        """,
        "B C3",
        "suicide",
    ),
    (
        "multi-stone suicide: filling own group's last liberty",
        """
        X . O . .
        X O . . .
        O . . . .
        . . . . .
        . . . . .
        """,
        "B B5",
        "suicide",
    ),
    (
        "multi-stone suicide joining two groups",
        """
        . . . . .
        O O O O .
        X X . X O
        O O O O .
        . . . . .
        """,
        "B C3",
        "suicide",
    ),
    (
        "occupied point",
        """
        . . . . .
        . . . . .
        . . X . .
        . . . . .
        . . . . .
        """,
        "W C3",
        "occupied",
    ),
]


@pytest.mark.parametrize(
    ("before", "played", "reason"),
    [case[1:] for case in ILLEGAL],
    ids=[case[0] for case in ILLEGAL],
)
def test_illegal_move_is_refused_unchanged(before: str, played: str, reason: str) -> None:
    board = Board.from_text(before)
    color, vertex = played.split()
    point = move(vertex, board.size)
    stone_color = BLACK if color == "B" else WHITE
    assert board.illegal_reason(point, stone_color) == reason
    assert not board.is_legal(point, stone_color)
    hash_before = board.hash
    with pytest.raises(IllegalMoveError) as error:
        play_on_board(board, played)
    assert error.value.reason == reason
    assert error.value.move == point
    assert str(board) == drawn(before)
    assert board.hash == hash_before
    assert_groups_consistent(board)


# (name, position, move, ko point after it or None)
KO_POINTS = [
    ("single stone takes single stone: ko", KO_SHAPE, "B C3", "B3"),
    (
        "capture of two stones is no ko",
        """
        . . . . .
        O X X . .
        . O O X .
        O X X . .
        . . . . .
        """,
        "B A3",
        None,
    ),
    (
        "capturing stone keeps a second liberty: no ko",
        """
        . . . . .
        . X O . .
        X O . . .
        . X O . .
        . . . . .
        """,
        "B C3",
        None,
    ),
    (
        "capturing stone joins a group: no ko",
        """
        . . . . .
        . . . . .
        O O O O .
        X X X O .
        X O . O .
        """,
        "B C1",
        None,
    ),
    (
        "corner ko",
        """
        X O . . .
        . X O . .
        X . . . .
        . . . . .
        . . . . .
        """,
        "W A4",
        "A5",
    ),
]


@pytest.mark.parametrize(
    ("before", "played", "ko_point"),
    [case[1:] for case in KO_POINTS],
    ids=[case[0] for case in KO_POINTS],
)
def test_ko_point_after_capture(before: str, played: str, ko_point: str | None) -> None:
    board = Board.from_text(before)
    play_on_board(board, played)
    expected = None if ko_point is None else move(ko_point, board.size)
    assert board.ko_point == expected


def test_ko_forbids_the_immediate_retake_only() -> None:
    board = Board.from_text(KO_SHAPE)
    play_on_board(board, "B C3")
    b3 = move("B3", 5)
    assert board.illegal_reason(b3, WHITE) == "ko"
    with pytest.raises(IllegalMoveError, match="ko"):
        board.play(b3, WHITE)
    play_on_board(board, "W E1")
    assert board.ko_point is None
    assert vertices(play_on_board(board, "W B3"), 5) == {"C3"}
    assert board.ko_point == move("C3", 5)


def test_pass_clears_ko_point() -> None:
    board = Board.from_text(KO_SHAPE)
    play_on_board(board, "B C3")
    assert board.play(PASS, WHITE) == []
    assert board.ko_point is None
    assert board.is_legal(move("B3", 5), WHITE)


def test_capturer_may_fill_its_own_ko() -> None:
    # Non-alternating play (GTP allows it): Black takes the ko and plays again
    # at the ko point. Simple ko bars only White's retake there.
    board = Board.from_text(KO_SHAPE)
    play_on_board(board, "B C3")
    b3 = move("B3", 5)
    assert board.illegal_reason(b3, WHITE) == "ko"
    assert board.illegal_reason(b3, BLACK) is None
    play_on_board(board, "B B3")
    assert str(board) == drawn(
        """
        . . . . .
        . X O . .
        X X X O .
        . X O . .
        . . . . .
        """
    )


def test_place_sets_up_stones_without_capturing() -> None:
    board = Board(3)
    board.place(move("A3", 3), WHITE)
    board.place(move("B3", 3), BLACK)
    board.place(move("A2", 3), BLACK)
    assert str(board) == drawn(
        """
        O X .
        X . .
        . . .
        """
    )
    assert board.liberty_count(move("A3", 3)) == 0
    with pytest.raises(IllegalMoveError, match="occupied"):
        board.place(move("A3", 3), BLACK)


def test_from_text_rejects_a_group_without_liberties() -> None:
    with pytest.raises(ValueError, match="no liberties"):
        Board.from_text(
            """
            O X .
            X . .
            . . .
            """
        )


def test_liberties_after_merging_through_one_stone() -> None:
    board = Board.from_text(
        """
        . . . . .
        . X . X .
        . . . . .
        . X . X .
        . . . . .
        """
    )
    for corner in ("B4", "D4", "B2", "D2"):
        assert board.liberty_count(move(corner, 5)) == 4
    play_on_board(board, "B C4")
    play_on_board(board, "B B3")
    play_on_board(board, "B D3")
    play_on_board(board, "B C2")
    # A ring of eight stones around C3: one group, inner liberty C3, 12 outer ones.
    ring = board.group_at(move("B4", 5))
    assert len(ring) == 8
    assert board.liberty_count(move("C2", 5)) == 13
    play_on_board(board, "W A4")
    play_on_board(board, "W E4")
    assert board.liberty_count(move("B4", 5)) == 11
    assert board.liberty_count(move("C3", 5)) == 0  # empty point
    assert board.group_at(move("C3", 5)) == []
    assert_groups_consistent(board)


@pytest.mark.parametrize("size", range(2, 26))
def test_board_sizes_2_to_25_are_accepted(size: int) -> None:
    board = Board(size)
    assert str(board) == "\n".join([" ".join("." * size)] * size)
    assert board.hash == 0


@pytest.mark.parametrize("size", [0, 1, 26])
def test_board_sizes_outside_2_to_25_are_rejected(size: int) -> None:
    with pytest.raises(ValueError, match="outside 2..25"):
        Board(size)


def test_copy_is_independent() -> None:
    board = Board.from_text(KO_SHAPE)
    copy = board.copy()
    play_on_board(copy, "B C3")
    play_on_board(copy, "W E5")
    assert str(board) == drawn(KO_SHAPE)
    assert board.ko_point is None
    assert board.captures == {BLACK: 0, WHITE: 0}
    assert_groups_consistent(board)
    assert_groups_consistent(copy)


def test_hash_after_predicts_the_hash_of_a_capture() -> None:
    board = Board.from_text(KO_SHAPE)
    c3 = move("C3", 5)
    predicted = board.hash_after(c3, BLACK)
    assert vertices(board.captured_by(c3, BLACK), 5) == {"B3"}
    board.play(c3, BLACK)
    assert board.hash == predicted


def random_game(size: int, moves: int, seed: int) -> Board:
    """Play random legal moves, checking the group bookkeeping after every one."""
    rng = random.Random(seed)
    board = Board(size)
    color = BLACK
    points = list(range(size * size))
    for _ in range(moves):
        rng.shuffle(points)
        legal = next((p for p in points if board.is_legal(p, color)), PASS)
        if legal == PASS or rng.random() < 0.03:
            board.play(PASS, color)
        else:
            board.play(legal, color)
        assert_groups_consistent(board)
        if board.ko_point is not None:
            assert board.stones[board.ko_point] == EMPTY
            assert not board.is_legal(board.ko_point, opponent(color))
        color = opponent(color)
    return board


@pytest.mark.parametrize(
    ("size", "moves"),
    [(2, 300), (3, 400), (4, 400), (5, 500), (6, 500), (7, 500), (9, 600), (19, 900), (25, 800)],
)
def test_random_games_keep_groups_and_liberties_consistent(size: int, moves: int) -> None:
    # Random play fills its own eyes, so every size sees many captures.
    board = random_game(size, moves, seed=size)
    assert board.captures[BLACK] > 50 and board.captures[WHITE] > 50
