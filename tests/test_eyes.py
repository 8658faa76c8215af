"""The eye rule (``goai.rules.eyes``) on drawn boards, and its two forms agreeing.

Boards are drawn as in ``boards.py`` (``X`` black, ``O`` white, top row first).
Each eye test draws the board and lists the points that are Black's eyes as a
second drawing: ``e`` an eye, ``.`` not.
"""

from __future__ import annotations

import numpy as np
import pytest
from boards import TWO_EYES, move, position

from goai.rules.board import BLACK, WHITE, Board
from goai.rules.eyes import diagonal_table, eye_mask, is_eye
from goai.rules.game import GameState


def eyes_drawn(board: Board, color: int) -> str:
    """Every point as ``e`` (an eye of ``color``) or ``.``, drawn as the board is."""
    size = board.size
    return "\n".join(" ".join("e" if is_eye(board, row * size + col, color) else "."
                              for col in range(size)) for row in range(size))


def drawing(text: str) -> str:
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines())


# (name, board, Black's eyes)
EYES = [
    ("one eye in the middle", """
        . . . . .
        . . X . .
        . X . X .
        . . X . .
        . . . . .
        """, """
        . . . . .
        . . . . .
        . . e . .
        . . . . .
        . . . . .
        """),
    ("one enemy diagonal in the middle is still an eye", """
        . . . . .
        . O X . .
        . X . X .
        . . X . .
        . . . . .
        """, """
        . . . . .
        . . . . .
        . . e . .
        . . . . .
        . . . . .
        """),
    ("two enemy diagonals make a false eye", """
        . . . . .
        . O X . .
        . X . X .
        . . X O .
        . . . . .
        """, """
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        """),
    ("edge and corner eyes", """
        . X . X .
        X X X X X
        . . . . .
        X X . . .
        . X . . .
        """, """
        e . e . e
        . . . . .
        . . . . .
        . . . . .
        e . . . .
        """),
    ("an enemy diagonal makes a corner eye false", """
        . X . . .
        X O . . .
        . . . . .
        . . . . .
        . . . . .
        """, """
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        """),
    ("an enemy diagonal makes an edge eye false", """
        X . X . .
        . X O . .
        . . . . .
        . . . . .
        . . . . .
        """, """
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        """),
]


@pytest.mark.parametrize(("board", "eyes"), [case[1:] for case in EYES],
                         ids=[case[0] for case in EYES])
def test_black_s_eyes(board: str, eyes: str) -> None:
    drawn = Board.from_text(board)
    assert eyes_drawn(drawn, BLACK) == drawing(eyes)
    assert eye_mask(drawn, BLACK).tolist() == [char == "e" for char in drawing(eyes).split()]


@pytest.mark.parametrize(("vertex", "color", "expected"), [
    ("A7", BLACK, True),   # corner, all neighbours black
    ("C7", BLACK, True),   # edge, no enemy diagonal
    ("C7", WHITE, False),  # neighbours are not white
    ("A5", BLACK, False),  # open area, not surrounded
    ("D4", BLACK, False),  # occupied
])
def test_eye_like_points(vertex: str, color: int, expected: bool) -> None:
    state = position(TWO_EYES)
    assert is_eye(state.board, move(vertex, 7), color) is expected


def test_diagonals_are_the_points_on_the_board_corner_to_corner() -> None:
    table = diagonal_table(5)
    assert table[0] == (6,)  # A5: only B4
    assert table[2] == (6, 8)  # C5, on the edge
    assert table[12] == (6, 8, 16, 18)  # C3, in the middle


@pytest.mark.parametrize("size", [2, 5, 7, 19])
def test_the_mask_and_the_point_by_point_rule_agree_on_random_boards(size: int) -> None:
    rng = np.random.default_rng(size)
    for _ in range(30):
        state = GameState(size, 0.5, superko=False)
        for _ in range(int(rng.integers(0, 3 * size * size))):
            state.play(int(rng.choice(state.legal_moves())))
        for color in (BLACK, WHITE):
            expected = [is_eye(state.board, point, color) for point in range(size * size)]
            assert eye_mask(state.board, color).tolist() == expected
