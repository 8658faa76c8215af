"""Boards as text, with the coordinates Go GUIs show (A-T without I, row 19 at the top).

Used by ``goai show``/``predict``, the GTP ``showboard`` command and the
terminal game. The last move is drawn in parentheses, as GNU Go does::

       A B C D
     4 . . . . 4
     3 . X(O). 3
     2 . . . . 2
     1 . . . . 1
       A B C D
"""

from __future__ import annotations

from goai.rules.board import BLACK, EMPTY, WHITE, Board
from goai.rules.coords import GTP_COLUMNS, PASS, to_point, to_row_col

# The stones as GNU Go draws them; the terminal game labels the players with the same glyphs.
GLYPHS = {EMPTY: ".", BLACK: "X", WHITE: "O"}
_STAR_POINTS = {9: (2, 6), 13: (3, 9), 19: (3, 15)}


def is_star_point(size: int, row: int, col: int) -> bool:
    """Is (row, col) a hoshi of a 9x9, 13x13 or 19x19 board (GUIs mark them; plots too)?"""
    if size not in _STAR_POINTS:
        return False
    low, high = _STAR_POINTS[size]
    lines = (low, size // 2, high) if size >= 13 else (low, high)
    centre = size % 2 == 1 and row == col == size // 2
    return centre or (row in lines and col in lines)


def render_board(board: Board, last_move: int | None = None,
                 labels: dict[int, str] | None = None) -> str:
    """The board as text, one line per row, coordinates on all four sides.

    ``labels`` maps empty points to one character drawn instead of ``.`` (a
    move rank in ``goai predict``); hoshi are drawn ``+``.
    """
    size = board.size
    labels = labels or {}
    header = "    " + " ".join(GTP_COLUMNS[:size])
    lines = [header]
    for row in range(size):
        number = size - row
        cells = []
        for col in range(size):
            point = to_point(row, col, size)
            stone = board.stones[point]
            if stone == EMPTY and point in labels:
                cells.append(labels[point][:1])
            elif stone == EMPTY and is_star_point(size, row, col):
                cells.append("+")
            else:
                cells.append(GLYPHS[stone])
        # Cell i sits at 1 + 2i; the last move's neighbouring spaces become "(" and ")".
        line = list(" " + " ".join(cells) + " ")
        if last_move is not None and last_move != PASS:
            last_row, last_col = to_row_col(last_move, size)
            if last_row == row:
                line[2 * last_col], line[2 * last_col + 2] = "(", ")"
        lines.append(f"{number:>3}{''.join(line)}{number}")
    lines.append(header)
    return "\n".join(lines)
