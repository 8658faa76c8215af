"""Feature planes, checked by hand on drawn corners and against the rules engine.

Drawings show the bottom-left corner of a 19x19 board (column A on the left,
the last drawn row is row 1), so points are named as GTP names them: ``"C3"``.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from goai.nn.features import (
    FEATURE_SETS,
    PLANES,
    FeatureSet,
    encode,
    encode_into,
    get_feature_set,
)
from goai.rules.board import BLACK, WHITE, Board
from goai.rules.coords import PASS, move_from_gtp, move_to_gtp
from goai.rules.game import GameState

SIZE = 19


def drawn(corner: str, to_play: int = BLACK, moves: tuple[str, ...] = ()) -> GameState:
    """A 19x19 state whose bottom-left corner is ``corner`` (X black, O white).

    The drawn stones are setup stones; then ``to_play`` moves and ``moves``
    (GTP vertices or "pass") are played in turn, so they become the history.
    """
    rows = [line.split() for line in corner.strip().splitlines()]
    padded = [["."] * SIZE for _ in range(SIZE - len(rows))]
    padded += [row + ["."] * (SIZE - len(row)) for row in rows]
    board = Board.from_text("\n".join(" ".join(row) for row in padded))
    state = GameState(SIZE)
    black = [p for p in range(SIZE * SIZE) if board.stones[p] == BLACK]
    white = [p for p in range(SIZE * SIZE) if board.stones[p] == WHITE]
    state.setup(black, white)
    state.to_play = to_play
    for vertex in moves:
        state.play(move_from_gtp(vertex, SIZE))
    return state


def marked(
    planes: np.ndarray, plane: str, channel: int = 0, feature_set: str = "default"
) -> set[str]:
    """The GTP names of the points set in one channel of an encoding."""
    layer = planes[get_feature_set(feature_set).slices[plane]][channel]
    return {move_to_gtp(int(p), SIZE) for p in np.flatnonzero(layer)}


# ----------------------------------------------------------------- registry


def test_feature_sets_list_their_planes_and_derive_their_width() -> None:
    assert get_feature_set("default").planes == (
        "own_stones",
        "opponent_stones",
        "empty",
        "own_liberties",
        "opponent_liberties",
        "ko",
        "last_moves",
        "ones",
        "legal",
    )
    assert get_feature_set("simple").planes == (
        "own_stones",
        "opponent_stones",
        "empty",
        "ones",
        "last_4_moves",
    )
    assert get_feature_set("ladders").planes[-2:] == ("ladder_capture", "ladder_escape")
    widths = {name: feature_set.num_channels for name, feature_set in FEATURE_SETS.items()}
    assert widths == {"simple": 8, "default": 22, "ladders": 24}
    for feature_set in FEATURE_SETS.values():
        assert feature_set.num_channels == sum(PLANES[p].channels for p in feature_set.planes)
        assert list(feature_set.slices) == list(feature_set.planes)


def test_slices_cover_the_channels_in_order() -> None:
    slices = get_feature_set("default").slices
    assert slices["own_stones"] == slice(0, 1)
    assert slices["own_liberties"] == slice(3, 7)
    assert slices["opponent_liberties"] == slice(7, 11)
    assert slices["ko"] == slice(11, 12)
    assert slices["last_moves"] == slice(12, 20)
    assert slices["ones"] == slice(20, 21)
    assert slices["legal"] == slice(21, 22)


def test_unknown_names_are_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="default, ladders, simple"):
        get_feature_set("fancy")
    with pytest.raises(ValueError, match="unknown planes"):
        FeatureSet("broken", ("own_stones", "no_such_plane"))


def test_encode_is_uint8_c_n_n_on_the_boards_own_grid() -> None:
    planes = encode(GameState(SIZE), "simple")
    assert planes.dtype == np.uint8 and planes.shape == (8, 19, 19)
    assert encode(GameState(9)).shape == (22, 9, 9)


def test_encode_into_overwrites_a_batch_row_and_checks_its_shape() -> None:
    state = drawn("X O .", moves=("C1",))
    batch = np.full((2, 22, 19, 19), 7, dtype=np.uint8)
    encode_into(batch[1], state)
    assert np.array_equal(batch[1], encode(state))
    assert (batch[0] == 7).all()
    with pytest.raises(ValueError, match="shape"):
        encode_into(np.zeros((8, 19, 19), dtype=np.uint8), state, "default")
    with pytest.raises(ValueError, match="C-contiguous"):
        encode_into(np.zeros((22, 19, 19), dtype=np.float32), state)


# ------------------------------------------------------------------- planes

#   A B C D E      rows 4 to 1
STONES = """
    . . . . .
    . . O . .
    . X O . .
    X . X . .
"""


def test_stone_planes_are_from_the_side_to_move() -> None:
    black_to_play = encode(drawn(STONES, BLACK))
    assert marked(black_to_play, "own_stones") == {"A1", "C1", "B2"}
    assert marked(black_to_play, "opponent_stones") == {"C2", "C3"}
    white_to_play = encode(drawn(STONES, WHITE))
    assert marked(white_to_play, "own_stones") == {"C2", "C3"}
    assert marked(white_to_play, "opponent_stones") == {"A1", "C1", "B2"}


def test_empty_and_ones() -> None:
    planes = encode(drawn(STONES))
    empty = marked(planes, "empty")
    assert len(empty) == 361 - 5
    assert {"A1", "C3"}.isdisjoint(empty) and {"B1", "A2", "T19"} <= empty
    assert (planes[get_feature_set("default").slices["ones"]] == 1).all()


#   A B C D E F G H J      rows 5 to 1
LIBERTIES = """
    . . . . . . . X .
    X X . . O . . O .
    O O X . . . . . X
    . X O . . O O O .
    X O . . . . . . .
"""


def test_liberty_planes_bin_groups_by_liberties() -> None:
    planes = encode(drawn(LIBERTIES, BLACK))
    own = [marked(planes, "own_liberties", k) for k in range(4)]
    opponent = [marked(planes, "opponent_liberties", k) for k in range(4)]
    assert own == [{"A1", "B2"}, {"C3"}, {"A4", "B4", "H5"}, {"J3"}]
    assert opponent == [{"B1", "A3", "B3"}, {"C2"}, {"H4"}, {"E4", "F2", "G2", "H2"}]


#   A B C D E      rows 3 to 1
KO = """
    . . . . .
    . X O . .
    X O . O .
"""


def test_ko_point_is_marked_and_not_legal() -> None:
    state = drawn(KO, BLACK, moves=("C1",))  # Black takes B1: White may not retake at once
    planes = encode(state)
    assert marked(planes, "ko") == {"B1"}
    assert marked(planes, "empty") - marked(planes, "legal") == {"B1"}
    assert state.illegal_reason(move_from_gtp("B1", SIZE)) == "ko"


def test_ko_bars_only_the_side_that_would_retake() -> None:
    # Colours need not alternate (GTP): with Black, the capturer, to play again,
    # B1 is no ko for Black, who may fill it.
    state = drawn(KO, BLACK, moves=("C1",))
    state.to_play = BLACK
    planes = encode(state)
    assert marked(planes, "ko") == set()
    assert "B1" in marked(planes, "legal")
    assert state.is_legal(move_from_gtp("B1", SIZE))


def test_superko_forbids_the_retake_after_two_passes() -> None:
    for superko, retake_is_legal in ((True, False), (False, True)):
        state = drawn(KO, BLACK, moves=("C1", "pass", "pass"))
        state.superko = superko
        planes = encode(state)
        assert marked(planes, "ko") == set()  # a pass clears the simple-ko point
        assert ("B1" in marked(planes, "legal")) == retake_is_legal
        assert state.is_legal(move_from_gtp("B1", SIZE)) == retake_is_legal


#   A B C D E F G H      rows 3 to 1
LEGAL = """
    . . . . . X X .
    O X O . X . X .
    X . X O X X . .
"""


@pytest.mark.parametrize(
    ("to_play", "illegal"),
    [
        (WHITE, {"F2"}),  # F2: suicide in Black's eye; B1 is surrounded too, but captures
        (BLACK, set()),  # B1 connects out through B3; filling the own eye at F2 is legal
    ],
)
def test_legal_plane_is_every_empty_point_but_suicide_and_ko(to_play: int, illegal: set) -> None:
    planes = encode(drawn(LEGAL, to_play))
    assert marked(planes, "legal") == marked(planes, "empty") - illegal


def test_last_moves_mark_where_play_happened() -> None:
    # Black takes the ko, both play elsewhere, White retakes (capturing C1), Black passes.
    state = drawn(KO, BLACK, moves=("C1", "Q16", "Q4", "B1", "pass"))
    planes = encode(state)
    assert [marked(planes, "last_moves", k) for k in range(8)] == [
        set(),  # the pass marks nothing
        {"B1"},
        {"Q4"},
        {"Q16"},
        {"C1"},  # captured since, still marked: the stone planes say what is there now
        set(),
        set(),
        set(),
    ]
    simple = encode(state, "simple")
    assert [marked(simple, "last_4_moves", k, "simple") for k in range(4)] == [
        set(),
        {"B1"},
        {"Q4"},
        {"Q16"},
    ]


# ------------------------------------------------ agreement with the rules


@pytest.mark.parametrize(("size", "superko"), [(19, False), (19, True), (9, True), (13, False)])
def test_planes_agree_with_the_rules_engine_on_random_games(size: int, superko: bool) -> None:
    slices = get_feature_set("default").slices
    points = size * size
    for seed in range(3):
        rng = random.Random(seed)
        state = GameState(size, superko=superko)
        for move_number in range(int(0.75 * points)):
            if move_number % 13 == 0:
                planes = encode(state).reshape(22, points)
                board = state.board
                legal = set(np.flatnonzero(planes[slices["legal"]][0]).tolist())
                assert legal == set(state.legal_moves()) - {PASS}
                ko = np.flatnonzero(planes[slices["ko"]][0]).tolist()
                assert ko == ([] if board.ko_point is None else [board.ko_point])
                for point in range(points):
                    if board.stones[point]:
                        own = board.stones[point] == state.to_play
                        name = "own_liberties" if own else "opponent_liberties"
                        expected = [0, 0, 0, 0]
                        expected[min(board.liberty_count(point), 4) - 1] = 1
                        assert planes[slices[name]][:, point].tolist() == expected
            moves = state.legal_moves()
            state.play(PASS if rng.random() < 1 / 30 else rng.choice(moves))


# ------------------------------------------------------------------ ladders

# Black ataris C4 from above (C5); White runs D4 D3 E3 E2 E1 F1 down to the
# edge and dies. The atari from the side (D4) fails: White B6 is in the way.
# A white stone at F2 (LADDER_BREAKER) sits on the path and saves White.
#   A B C D E F G H      rows 7 to 1
LADDER = """
    . . . . . . . .
    . O . . . . . .
    . . . X . . . .
    . X O . . . . .
    . . X . . . . .
    . . . . . . . .
    . . . . . . . .
"""
LADDER_BREAKER = """
    . . . . . . . .
    . O . . . . . .
    . . . X . . . .
    . X O . . . . .
    . . X . . . . .
    . . . . . O . .
    . . . . . . . .
"""


@pytest.mark.parametrize(
    ("corner", "capture", "escape"),
    [(LADDER, {"C5"}, set()), (LADDER_BREAKER, set(), {"D4"})],
)
def test_ladder_planes_read_the_ladder_out(corner: str, capture: set, escape: set) -> None:
    planes = encode(drawn(corner, BLACK), "ladders")
    assert marked(planes, "ladder_capture", feature_set="ladders") == capture
    # After Black's C5 atari, White's extension at D4 escapes only with the breaker.
    planes = encode(drawn(corner, WHITE, moves=("pass", "C5")), "ladders")
    assert marked(planes, "ladder_escape", feature_set="ladders") == escape


def test_ladder_set_is_default_plus_two_planes() -> None:
    state = drawn(LADDER, BLACK)
    assert np.array_equal(encode(state, "ladders")[:22], encode(state, "default"))
