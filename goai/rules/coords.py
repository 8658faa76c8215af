"""The one coordinate convention of goai, defined here and nowhere else.

A board of size ``N`` (2 to 25) has ``N * N`` points. Everything inside goai
speaks of a point by its *flat index*; text forms exist only at the edges
(SGF files, GTP, the terminal).

=================  =====================  ===========================================
name               example (19x19)        meaning
=================  =====================  ===========================================
row, col           (0, 0)                 row 0 is the *top* row, col 0 the left column
point (flat)       0                      ``row * N + col``; 0 is the top-left corner
PASS               -1                     a move that places no stone (a *move*, not a point)
move               point or PASS          what a player does on a turn
GTP vertex         "A19"                  column letter A-Z without I, row N at the top
SGF point          "aa"                   column then row, both from the top-left
=================  =====================  ===========================================

A vector with one entry per move (priors, visit counts, legal masks, the
gymnasium environment's actions) has ``N * N + 1`` *move slots*: the points in
flat order, then pass in slot ``N * N`` (``move_to_slot``, ``slot_to_move``).
The network always sees a 19x19 board, so its outputs are the slots of 19x19,
called *move indices* ``0 .. 361``: the 361 points followed by
``PASS_INDEX = 361`` (``NUM_MOVES = 362``, as Leela Zero's ``POTENTIAL_MOVES``).

Row 0 at the top was chosen because SGF, the text board and numpy's array
printing all put the first row at the top; only GTP counts rows from the
bottom, so only the GTP conversion flips.
"""

from __future__ import annotations

import re

MIN_SIZE = 2
MAX_SIZE = 25
NETWORK_SIZE = 19
NUM_POINTS = NETWORK_SIZE * NETWORK_SIZE
PASS = -1
PASS_INDEX = NUM_POINTS
NUM_MOVES = NUM_POINTS + 1

GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
_SGF_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# GTP's vertex grammar: a column letter and a row number in ASCII digits without a
# leading zero. Python's str.isdigit and int() would also take "٤" or "04" for 4.
_GTP_VERTEX = re.compile(r"([A-HJ-Z])([1-9][0-9]?)", re.ASCII)


class CoordinateError(ValueError):
    """A vertex or SGF point that does not name a point of the board."""


def check_size(size: int) -> int:
    """Return ``size`` if goai supports it, else raise ``ValueError``."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"board size {size} is outside {MIN_SIZE}..{MAX_SIZE}")
    return size


def to_point(row: int, col: int, size: int) -> int:
    """(row, col) -> flat point index. No bounds check: callers own their loops."""
    return row * size + col


def to_row_col(point: int, size: int) -> tuple[int, int]:
    """Flat point index -> (row, col)."""
    return divmod(point, size)


def move_to_gtp(move: int, size: int) -> str:
    """A move (point or PASS) as a GTP vertex: ``"D4"``, ``"pass"``."""
    if move == PASS:
        return "pass"
    row, col = divmod(move, size)
    return f"{GTP_COLUMNS[col]}{size - row}"


def move_from_gtp(text: str, size: int) -> int:
    """A GTP vertex (any case) or ``pass`` -> move. Raises ``CoordinateError`` when the
    text is not a vertex or is off the board.

    Only ASCII is a vertex, and a row number has no leading zero (``D04``,
    ``D٤`` and ``paſs`` are refused), as GTP's grammar says; surrounding
    white space is ignored.
    """
    vertex = text.strip()
    if not vertex.isascii():  # before upper(): "ſ".upper() is "S"
        raise CoordinateError(f"not a vertex: {text!r}")
    vertex = vertex.upper()
    if vertex == "PASS":
        return PASS
    match = _GTP_VERTEX.fullmatch(vertex)
    if match is None:
        raise CoordinateError(f"not a vertex: {text!r}")
    col = GTP_COLUMNS.index(match.group(1))
    number = int(match.group(2))
    if col >= size or number > size:
        raise CoordinateError(f"vertex {text!r} is off a {size}x{size} board")
    return (size - number) * size + col


def move_to_sgf(move: int, size: int) -> str:
    """A move as an SGF point value: ``"dd"``; PASS is the empty value ``""`` (FF[4])."""
    if move == PASS:
        return ""
    row, col = divmod(move, size)
    return _SGF_LETTERS[col] + _SGF_LETTERS[row]


def move_from_sgf(text: str, size: int) -> int:
    """An SGF point value -> move.

    ``""`` is a pass, and so is ``"tt"`` on boards of size 19 or less (the FF[3]
    convention many old records use). Raises ``CoordinateError`` for anything else
    that is off the board.
    """
    value = text.strip().lower()
    if value == "" or (value == "tt" and size <= 19):
        return PASS
    if len(value) != 2 or value[0] not in _SGF_LETTERS or value[1] not in _SGF_LETTERS:
        raise CoordinateError(f"not an SGF point: {text!r}")
    col = _SGF_LETTERS.index(value[0])
    row = _SGF_LETTERS.index(value[1])
    if row >= size or col >= size:
        raise CoordinateError(f"SGF point {text!r} is off a {size}x{size} board")
    return row * size + col


def move_to_slot(move: int, size: int) -> int:
    """A move (point or PASS) -> its slot in a vector of ``size * size + 1``: the point
    itself, or ``size * size`` for PASS. No bounds check."""
    return size * size if move == PASS else move


def slot_to_move(slot: int, size: int) -> int:
    """A slot ``0 .. size * size`` -> the move (point, or PASS for ``size * size``)."""
    return PASS if slot == size * size else slot


def move_to_index(move: int, size: int = NETWORK_SIZE) -> int:
    """A move on a board of ``size`` (must be 19) -> network move index 0..361: its slot."""
    if move != PASS and size != NETWORK_SIZE:
        raise ValueError(f"the network plays 19x19, not {size}x{size}")
    return move_to_slot(move, NETWORK_SIZE)


def index_to_move(index: int) -> int:
    """Network move index 0..361 -> move on the 19x19 board."""
    return slot_to_move(index, NETWORK_SIZE)
