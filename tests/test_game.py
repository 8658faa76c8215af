"""GameState: ko and superko over several moves, passes, undo, legal moves, area scoring.

Positions are drawn and set up as stones; moves are GTP vertices played
alternately from the side to move (see ``boards.py`` for the column letters).
"""

from __future__ import annotations

import collections
import random

import numpy as np
import pytest
from boards import KO_SHAPE, TRIPLE_KO, drawn, move, play, position, vertices

from goai.rules.board import BLACK, WHITE, IllegalMoveError, opponent
from goai.rules.coords import PASS
from goai.rules.game import GameState, format_result

# After Black takes the ko at C3.
KO_TAKEN = """
    . . . . .
    . X O . .
    X . X O .
    . X O . .
    . . . . .
    """

# (name, moves from KO_SHAPE with Black to play, the last one's illegal reason or None)
KO_SEQUENCES = [
    ("immediate retake is forbidden", "C3 B3", "ko"),
    ("retake after a ko threat and its answer", "C3 E1 E2 B3", None),
    ("retake after a pass and a move elsewhere", "C3 pass E5 B3", None),
    ("second retake after another exchange", "C3 E1 E2 B3 E5 D5 C3", None),
    ("immediate re-retake is forbidden", "C3 E1 E2 B3 C3", "ko"),
]


@pytest.mark.parametrize(
    ("moves", "reason"),
    [case[1:] for case in KO_SEQUENCES],
    ids=[case[0] for case in KO_SEQUENCES],
)
@pytest.mark.parametrize("superko", [True, False], ids=["superko", "simple-ko"])
def test_ko_sequence(moves: str, reason: str | None, superko: bool) -> None:
    state = position(KO_SHAPE, superko=superko)
    *before, last = moves.split()
    play(state, " ".join(before))
    last_move = move(last, 5)
    assert state.illegal_reason(last_move) == reason
    if reason is None:
        state.play(last_move)
    else:
        with pytest.raises(IllegalMoveError) as error:
            state.play(last_move)
        assert error.value.reason == reason


def test_ko_retake_after_threat_exchange_gives_expected_board() -> None:
    state = position(KO_SHAPE)
    play(state, "C3")
    assert str(state.board) == drawn(KO_TAKEN)
    assert state.board.ko_point == move("B3", 5)
    play(state, "E1 E2")
    assert vertices(state.play(move("B3", 5)), 5) == {"C3"}
    assert str(state.board) == drawn(
        """
        . . . . .
        . X O . .
        X O . O .
        . X O . X
        . . . . O
        """
    )
    assert state.board.ko_point == move("C3", 5)


def test_pass_clears_ko_point_and_undo_restores_it() -> None:
    state = position(KO_SHAPE)
    play(state, "C3 pass")
    assert state.board.ko_point is None
    state.undo()
    assert state.board.ko_point == move("B3", 5)
    assert state.to_play == WHITE


# boards.TRIPLE_KO: Black C8, White B4, Black H8, White B8, Black C4, White G8.
TRIPLE_KO_CYCLE = "C8 B4 H8 B8 C4 G8"


def test_triple_ko_cycle_is_superko_with_superko_on() -> None:
    state = position(TRIPLE_KO, superko=True)
    *first_five, sixth = TRIPLE_KO_CYCLE.split()
    play(state, " ".join(first_five))
    assert state.board.illegal_reason(move(sixth, 9), WHITE) is None  # simple ko allows it
    assert state.repeats_position(move(sixth, 9), WHITE)
    assert state.illegal_reason(move(sixth, 9)) == "superko"
    assert move(sixth, 9) not in state.legal_moves()
    before = str(state.board)
    with pytest.raises(IllegalMoveError) as error:
        state.play(move(sixth, 9))
    assert error.value.reason == "superko"
    assert str(state.board) == before
    assert state.to_play == WHITE
    assert len(state.history) == 5


def test_triple_ko_cycle_repeats_the_start_with_superko_off() -> None:
    state = position(TRIPLE_KO, superko=False)
    *first_five, sixth = TRIPLE_KO_CYCLE.split()
    play(state, " ".join(first_five))
    assert state.repeats_position(move(sixth, 9), WHITE)
    assert state.illegal_reason(move(sixth, 9)) is None
    assert move(sixth, 9) in state.legal_moves()
    play(state, sixth)
    assert str(state.board) == drawn(TRIPLE_KO)
    assert state.board.captures == {BLACK: 3, WHITE: 3}


def test_ko_retake_after_two_passes_is_superko_only() -> None:
    # The passes clear the simple-ko point, but the retake would rebuild the start.
    for superko, reason in [(True, "superko"), (False, None)]:
        state = position(KO_SHAPE, superko=superko)
        play(state, "C3 pass pass")
        assert state.repeats_position(move("B3", 5), WHITE)
        assert state.illegal_reason(move("B3", 5)) == reason


def test_repeats_position_is_false_for_new_positions() -> None:
    state = position(KO_SHAPE)
    assert not state.repeats_position(move("C3", 5), BLACK)
    assert not state.repeats_position(PASS, BLACK)
    play(state, "C3 E1 E2")
    assert not state.repeats_position(move("B3", 5), WHITE)


# (name, position with Black to play, moves played, points then not legal, why)
NOT_LEGAL = [
    ("occupied", KO_SHAPE, "", "B4 C4 A3 B3 D3 B2 C2", "occupied"),
    (
        "suicide",
        """
        . O . . .
        O . . . .
        . . . . .
        . . . . .
        . . . . .
        """,
        "",
        "A5",
        "suicide",
    ),
    ("ko", KO_SHAPE, "C3", "B3", "ko"),
    ("superko", TRIPLE_KO, "C8 B4 H8 B8 C4", "G8", "superko"),
]


@pytest.mark.parametrize(
    ("drawing", "moves", "excluded", "reason"),
    [case[1:] for case in NOT_LEGAL],
    ids=[case[0] for case in NOT_LEGAL],
)
def test_legal_moves_exclude(drawing: str, moves: str, excluded: str, reason: str) -> None:
    state = position(drawing)
    play(state, moves)
    legal = state.legal_moves()
    assert legal[-1] == PASS
    mask = state.legal_mask()
    assert mask.shape == (state.size ** 2 + 1,) and mask[-1]  # pass last, always legal
    assert np.flatnonzero(mask).tolist() == sorted(legal[:-1]) + [state.size ** 2]
    for vertex in excluded.split():
        assert move(vertex, state.size) not in legal
        assert not mask[move(vertex, state.size)]
        assert state.illegal_reason(move(vertex, state.size)) == reason


def test_the_legal_mask_drawn_as_a_board() -> None:
    # Black takes the ko at C3; for White, B3 is then the ko point and A1 suicide.
    state = position("""
        . . . . .
        . X O . .
        X O . O .
        X X O . .
        . X . . .
        """)
    play(state, "C3")
    mask = state.legal_mask()
    legal = "\n".join(" ".join("+" if mask[row * 5 + col] else "-" for col in range(5))
                      for row in range(5))
    assert legal == drawn("""
        + + + + +
        + - - + +
        - - - - +
        - - - + +
        - - + + +
        """)
    assert mask[25]  # pass, in the last slot


def test_legal_moves_are_the_empty_points_plus_pass_on_an_open_board() -> None:
    state = GameState(5)
    play(state, "C3 D4")
    legal = state.legal_moves()
    assert legal[-1] == PASS
    occupied = {move("C3", 5), move("D4", 5)}
    assert sorted(legal[:-1]) == [p for p in range(25) if p not in occupied]


def test_pass_is_legal_when_nothing_else_is() -> None:
    state = position(
        """
        . X
        X .
        """,
        to_play=WHITE,
    )
    assert state.legal_moves() == [PASS]
    assert state.is_legal(PASS)


def test_two_passes_in_a_row_end_the_game() -> None:
    state = GameState(5)
    play(state, "C3 pass")
    assert state.passes_in_a_row == 1 and not state.is_over
    play(state, "D3 pass")
    assert not state.is_over
    play(state, "pass")
    assert state.passes_in_a_row == 2 and state.is_over
    assert state.last_move == PASS
    assert state.to_play == WHITE
    state.undo()
    assert not state.is_over


def test_a_pass_changes_side_but_not_the_position() -> None:
    state = GameState(5)
    play(state, "C3")
    board_before, hash_before = str(state.board), state.board.hash
    assert state.play(PASS) == []
    assert state.to_play == BLACK
    assert (str(state.board), state.board.hash) == (board_before, hash_before)


def test_undo_of_a_capture_restores_stones_captures_and_side_to_move() -> None:
    state = position(KO_SHAPE)
    play(state, "C3")
    state.undo()
    assert str(state.board) == drawn(KO_SHAPE)
    assert state.board.captures == {BLACK: 0, WHITE: 0}
    assert state.board.ko_point is None
    assert state.to_play == BLACK
    assert state.history == []


def test_undo_forgets_the_position_for_superko() -> None:
    state = position(KO_SHAPE)
    c3 = move("C3", 5)
    play(state, "C3")
    state.undo()
    assert not state.repeats_position(c3, BLACK)
    play(state, "C3")
    assert state.board.ko_point == move("B3", 5)


def test_undo_of_a_pass_restores_side_to_move() -> None:
    state = GameState(5)
    play(state, "C3 pass")
    state.undo()
    assert state.to_play == WHITE
    assert state.history == [(BLACK, move("C3", 5))]
    assert state.passes_in_a_row == 0


def test_undo_back_to_the_empty_board_then_raises() -> None:
    state = GameState(5, komi=6.5, superko=False)
    play(state, "C3 D3")
    state.undo()
    state.undo()
    assert str(state.board) == drawn(". . . . .\n" * 5)
    assert state.to_play == BLACK
    assert (state.komi, state.superko) == (6.5, False)
    with pytest.raises(ValueError, match="no move to undo"):
        state.undo()


def test_undo_keeps_handicap_stones_and_white_to_move() -> None:
    state = GameState(9, komi=0.5)
    state.setup(black=[move("C7", 9), move("G3", 9)], handicap=2)
    assert state.to_play == WHITE
    play(state, "E5 D5")
    state.undo()
    state.undo()
    assert state.to_play == WHITE
    assert state.handicap == 2
    stones = state.board.stones
    assert vertices([p for p, s in enumerate(stones) if s == BLACK], 9) == {"C7", "G3"}
    assert vertices([p for p, s in enumerate(stones) if s == WHITE], 9) == set()
    with pytest.raises(ValueError):
        state.undo()


def test_undo_keeps_setup_stones_of_both_colours() -> None:
    state = position(KO_SHAPE, to_play=BLACK)
    play(state, "C3 E1")
    state.undo()
    assert str(state.board) == drawn(KO_TAKEN)
    assert state.to_play == WHITE


def test_setup_after_a_move_is_refused() -> None:
    state = GameState(5)
    play(state, "C3")
    with pytest.raises(ValueError, match="before the first move"):
        state.setup(black=[move("A1", 5)])


def snapshot(state: GameState) -> tuple:
    board = state.board
    return str(board), board.hash, board.ko_point, dict(board.captures), state.to_play


def test_undo_matches_the_positions_of_a_random_game() -> None:
    rng = random.Random(7)
    state = GameState(7, superko=True)
    seen = []
    for _ in range(150):
        seen.append(snapshot(state))
        state.play(rng.choice(state.legal_moves()))
    assert min(state.board.captures.values()) > 10
    while seen:
        state.undo()
        assert snapshot(state) == seen.pop()


def test_copy_is_independent() -> None:
    state = position(KO_SHAPE)
    other = state.copy()
    play(other, "C3 E1")
    assert str(state.board) == drawn(KO_SHAPE)
    assert state.history == [] and state.to_play == BLACK
    assert not state.repeats_position(move("E1", 5), WHITE)


# (name, finished position, komi, score from Black's side, result)
SCORES = [
    (
        "empty board is komi for White",
        """
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        """,
        7.5,
        -7.5,
        "W+7.5",
    ),
    (
        "territory: 10 against 15",
        """
        . X O . .
        . X O . .
        . X O . .
        . X O . .
        . X O . .
        """,
        0.5,
        -5.5,
        "W+5.5",
    ),
    (
        "dame count for nobody: a draw",
        """
        X X . O O
        X X . O O
        X X . O O
        X X . O O
        X X . O O
        """,
        0.0,
        0.0,
        "0",
    ),
    (
        "a stone left in territory spoils it (no dead-stone removal)",
        """
        . . X . .
        . O X . .
        . . X . .
        . . X . .
        . . X . .
        """,
        0.0,
        14.0,
        "B+14",
    ),
    (
        "seki: the two shared liberties count for nobody",
        """
        X X . O X . .
        X X . O X . .
        X X X O X . .
        O O O O X . .
        X X X X X . .
        . . . . . . .
        . . . . . . .
        """,
        7.5,
        25.5,
        "B+25.5",
    ),
    (
        "eyes count as area",
        """
        . X O . O
        X X O O .
        . X O . O
        X X O O O
        . X O . O
        """,
        6.5,
        -11.5,
        "W+11.5",
    ),
]


@pytest.mark.parametrize(
    ("drawing", "komi", "score", "result"),
    [case[1:] for case in SCORES],
    ids=[case[0] for case in SCORES],
)
def test_area_score(drawing: str, komi: float, score: float, result: str) -> None:
    state = position(drawing, komi=komi)
    play(state, "pass pass")
    assert state.is_over
    assert state.score() == score
    assert state.result() == result


@pytest.mark.parametrize(
    ("margin", "result"),
    [(3.5, "B+3.5"), (-0.5, "W+0.5"), (0.0, "0"), (12.0, "B+12"), (-361.0, "W+361")],
)
def test_format_result(margin: float, result: str) -> None:
    assert format_result(margin) == result


@pytest.mark.parametrize("size", range(2, 26))
def test_game_sizes_2_to_25_are_accepted(size: int) -> None:
    state = GameState(size)
    assert state.size == size
    assert len(state.legal_moves()) == size * size + 1


@pytest.mark.parametrize("size", [1, 26])
def test_game_sizes_1_and_26_are_rejected(size: int) -> None:
    with pytest.raises(ValueError):
        GameState(size)


def test_setup_with_black_stones_only_gives_white_the_move() -> None:
    state = GameState(9)
    state.setup(black=[move("C3", 9), move("G7", 9)], handicap=2)
    assert state.to_play == WHITE
    assert state.handicap == 2
    both = GameState(9)
    both.setup(black=[move("C3", 9)], white=[move("G7", 9)])
    assert both.to_play == BLACK


def test_non_alternating_moves_give_the_turn_to_the_other_colour() -> None:
    state = GameState(5)
    state.play(move("C3", 5), BLACK)
    state.play(move("D3", 5), BLACK)
    assert state.to_play == WHITE
    state.undo()
    assert state.to_play == BLACK
    assert str(state.board) == drawn(
        """
        . . . . .
        . . . . .
        . . X . .
        . . . . .
        . . . . .
        """
    )


@pytest.mark.parametrize("size", [3, 4, 5, 9])
def test_legal_moves_agree_with_asking_every_point(size: int) -> None:
    """The fast scan (empty neighbour, superko candidates) = illegal_reason point by point."""
    rng = random.Random(size)
    reasons = collections.Counter()
    for game in range(12):
        state = GameState(size, superko=True)
        if game % 3 == 0:
            state.setup(black=[rng.randrange(size * size)])
        for _ in range(6 * size * size):
            for color in (BLACK, WHITE):
                slow = []
                for point in range(size * size):
                    reason = state.illegal_reason(point, color)
                    reasons[reason] += 1
                    if reason is None:
                        slow.append(point)
                assert state.legal_moves(color) == [*slow, PASS]
            # Mostly alternating, sometimes the same colour twice (GTP allows it).
            color = state.to_play if rng.random() < 0.9 else opponent(state.to_play)
            moves = state.legal_moves(color)
            state.play(PASS if len(moves) == 1 or rng.random() < 0.02 else rng.choice(moves[:-1]),
                       color)
    # The positions must have exercised every rule, or the comparison proves little.
    assert all(reasons[reason] for reason in ("occupied", "suicide", "ko", "superko"))
