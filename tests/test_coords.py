"""coords: every text and index form of a point converts there and back, on every size.

The table below is the convention in examples a Go player can check by eye on a
19x19 board: row 0 is the top (GTP row 19), GTP skips the letter I, SGF counts
columns then rows from the top-left corner.
"""

from __future__ import annotations

import pytest

from goai.rules.coords import (
    GTP_COLUMNS,
    MAX_SIZE,
    MIN_SIZE,
    NETWORK_SIZE,
    NUM_MOVES,
    PASS,
    PASS_INDEX,
    CoordinateError,
    check_size,
    index_to_move,
    move_from_gtp,
    move_from_sgf,
    move_to_gtp,
    move_to_index,
    move_to_sgf,
    move_to_slot,
    slot_to_move,
    to_point,
    to_row_col,
)

SIZES = range(MIN_SIZE, MAX_SIZE + 1)

# (row, col) on 19x19, GTP vertex, SGF point, flat point
EXAMPLES_19 = [
    ((0, 0), "A19", "aa", 0),
    ((0, 18), "T19", "sa", 18),
    ((18, 0), "A1", "as", 342),
    ((18, 18), "T1", "ss", 360),
    ((15, 3), "D4", "dp", 288),
    ((3, 15), "Q16", "pd", 72),
    ((9, 9), "K10", "jj", 180),  # tengen: the ninth letter after H is K, not I
    ((18, 7), "H1", "hs", 349),
    ((18, 8), "J1", "is", 350),  # GTP skips I, SGF does not
]


@pytest.mark.parametrize(("row_col", "vertex", "sgf", "point"), EXAMPLES_19)
def test_the_convention_on_19x19(row_col: tuple[int, int], vertex: str, sgf: str,
                                 point: int) -> None:
    assert to_point(*row_col, 19) == point and to_row_col(point, 19) == row_col
    assert move_to_gtp(point, 19) == vertex and move_from_gtp(vertex, 19) == point
    assert move_to_sgf(point, 19) == sgf and move_from_sgf(sgf, 19) == point
    assert move_to_index(point) == point and index_to_move(point) == point


def test_gtp_columns_skip_i_and_reach_z_at_25() -> None:
    assert "I" not in GTP_COLUMNS and len(GTP_COLUMNS) == MAX_SIZE == 25
    assert GTP_COLUMNS[7:9] == "HJ"
    assert move_to_gtp(to_point(0, 24, 25), 25) == "Z25"
    assert move_to_gtp(to_point(0, 8, 9), 9) == "J9"


@pytest.mark.parametrize("size", SIZES)
def test_every_point_round_trips_through_every_form(size: int) -> None:
    vertices, sgf_points = set(), set()
    for point in range(size * size):
        row, col = to_row_col(point, size)
        assert 0 <= row < size and 0 <= col < size and to_point(row, col, size) == point
        vertex, sgf = move_to_gtp(point, size), move_to_sgf(point, size)
        assert move_from_gtp(vertex, size) == point
        assert move_from_gtp(vertex.lower(), size) == point  # GTP is case-insensitive
        assert move_from_sgf(sgf, size) == point
        vertices.add(vertex)
        sgf_points.add(sgf)
    assert len(vertices) == len(sgf_points) == size * size  # no two points share a name
    # GTP row 1 is the bottom row; SGF row "a" is the top one.
    assert move_to_gtp(to_point(size - 1, 0, size), size) == "A1"
    assert move_to_gtp(to_point(0, size - 1, size), size) == f"{GTP_COLUMNS[size - 1]}{size}"
    assert move_to_sgf(to_point(0, size - 1, size), size) == chr(ord("a") + size - 1) + "a"


@pytest.mark.parametrize("size", SIZES)
def test_pass_round_trips(size: int) -> None:
    assert move_to_gtp(PASS, size) == "pass"
    assert move_from_gtp("pass", size) == move_from_gtp("PASS", size) == PASS
    assert move_to_sgf(PASS, size) == "" and move_from_sgf("", size) == PASS
    # "tt" is the FF[3] pass on boards up to 19x19 and a point on the larger ones.
    if size <= 19:
        assert move_from_sgf("tt", size) == PASS
    else:
        assert move_from_sgf("tt", size) == to_point(19, 19, size)


def test_network_indices_cover_the_points_then_pass() -> None:
    indices = [move_to_index(point) for point in range(NETWORK_SIZE ** 2)]
    assert indices == list(range(PASS_INDEX)) and move_to_index(PASS) == PASS_INDEX
    assert NUM_MOVES == PASS_INDEX + 1 == 362
    assert [index_to_move(i) for i in range(NUM_MOVES)] == list(range(PASS_INDEX)) + [PASS]


@pytest.mark.parametrize("size", [2, 9, 19, 25])
def test_move_slots_are_the_points_then_pass_on_any_board(size: int) -> None:
    slots = [move_to_slot(point, size) for point in range(size * size)] + [
        move_to_slot(PASS, size)]
    assert slots == list(range(size * size + 1))
    assert [slot_to_move(slot, size) for slot in slots] == [*range(size * size), PASS]


@pytest.mark.parametrize("size", [9, 13, 18, 20])
def test_network_index_refuses_other_sizes(size: int) -> None:
    with pytest.raises(ValueError, match="19x19"):
        move_to_index(0, size)
    assert move_to_index(PASS, size) == PASS_INDEX  # a pass is a pass on any board


@pytest.mark.parametrize(("text", "size"), [
    ("", 19), ("D", 19), ("4", 19), ("I5", 19), ("D0", 19), ("D20", 19), ("U1", 19),
    ("K1", 9), ("A10", 9), ("D-4", 19), ("D4.5", 19), ("44", 19), ("DD", 19), ("pas", 19),
    ("Z26", 25),
    # GTP's grammar: ASCII digits, no leading zero (Python's int() takes both).
    ("D04", 19), ("D00", 19), ("D\u0664", 19), ("D\uff14", 19), ("\u017f4", 19),
    ("pa\u017fs", 19), ("D4\u0661", 19), ("D+4", 19), ("D 4", 19), ("D100", 25),
])
def test_invalid_gtp_vertices_raise(text: str, size: int) -> None:
    with pytest.raises(CoordinateError):
        move_from_gtp(text, size)


@pytest.mark.parametrize(("text", "size"), [
    ("a", 19), ("abc", 19), ("a1", 19), ("jt", 19), ("ta", 19), ("ja", 9), ("aj", 9),
    ("zz", 25), ("A!", 19),
])
def test_invalid_sgf_points_raise(text: str, size: int) -> None:
    with pytest.raises(CoordinateError):
        move_from_sgf(text, size)


def test_coordinate_errors_are_value_errors() -> None:
    # Callers that catch ValueError (a bad command line, a bad file) catch these too.
    assert issubclass(CoordinateError, ValueError)


@pytest.mark.parametrize("size", [-1, 0, 1, 26, 100])
def test_sizes_outside_2_to_25_are_refused(size: int) -> None:
    with pytest.raises(ValueError, match=str(size)):
        check_size(size)


@pytest.mark.parametrize("size", SIZES)
def test_sizes_2_to_25_are_accepted(size: int) -> None:
    assert check_size(size) == size
