"""Helpers for rules tests: draw a position, name moves as GTP does, compare drawings.

Positions are drawn as in ``Board.from_text``: ``X`` black, ``O`` white, ``.``
empty, top row first, spaces optional. Moves are GTP vertices (``"C3"``,
``"pass"``), so a test reads like a game record; columns skip the letter I.

Reference for a 5x5 drawing::

      A B C D E
    5 . . . . .
    4 . . . . .
    3 . . . . .
    2 . . . . .
    1 . . . . .
"""

from __future__ import annotations

from goai.rules.board import BLACK, EMPTY, NO_GROUP, WHITE, Board, zobrist_table
from goai.rules.coords import move_from_gtp, move_to_gtp
from goai.rules.game import GameState

COLORS = {"B": BLACK, "W": WHITE}

# Black to play C3 takes the white stone at B3; White may not retake at once.
KO_SHAPE = """
    . . . . .
    . X O . .
    X O . O .
    . X O . .
    . . . . .
    """


# Three kos: in A (C8/B8) and B (H8/G8) Black can take, in C (B4/C4) White can.
# Black C8, White B4, Black H8, White B8, Black C4, White G8 takes each ko in
# turn, each legal by simple ko, and the sixth move recreates the start.
TRIPLE_KO = """
    . X O . . . X O .
    X O . O . X O . O
    . X O . . . X O .
    . . . . . . . . .
    . X O . . . . . .
    X . X O . . . . .
    . X O . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    """


def drawn(text: str) -> str:
    """A drawing in the exact form ``str(Board)`` prints: one space between points."""
    rows = [line.split() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(" ".join("".join(row)) for row in rows)


def position(
    text: str, to_play: int = BLACK, komi: float = 0.0, *, superko: bool = True
) -> GameState:
    """A ``GameState`` whose setup stones are the drawing, with ``to_play`` to move."""
    board = Board.from_text(text)
    state = GameState(board.size, komi, superko=superko)
    state.setup(
        black=[p for p, s in enumerate(board.stones) if s == BLACK],
        white=[p for p, s in enumerate(board.stones) if s == WHITE],
    )
    state.to_play = to_play
    return state


def move(vertex: str, size: int) -> int:
    """A GTP vertex (or ``"pass"``) as a goai move."""
    return move_from_gtp(vertex, size)


def play(state: GameState, moves: str) -> None:
    """Play space-separated GTP vertices, alternating from the side to move."""
    for vertex in moves.split():
        state.play(move(vertex, state.size))


def play_on_board(board: Board, colored_move: str) -> list[int]:
    """Play ``"B C3"`` / ``"W A1"`` on a bare board; return the captured points."""
    color, vertex = colored_move.split()
    return board.play(move(vertex, board.size), COLORS[color])


def vertices(points: list[int] | set[int], size: int) -> set[str]:
    """Points as a set of GTP vertices, for readable assertions."""
    return {move_to_gtp(p, size) for p in points}


def assert_groups_consistent(board: Board) -> None:
    """Recompute every group and liberty set by flood fill and compare with the board's own.

    Checks that ``group_of`` and ``group_stones`` agree, that each group is one
    colour and connected, that its liberty set is exactly its empty neighbours,
    and that the Zobrist hash equals a recomputation from the stones.
    """
    size = board.size
    seen: set[int] = set()
    found_groups: set[frozenset[int]] = set()
    for start, color in enumerate(board.stones):
        if color == EMPTY:
            assert board.group_of[start] == NO_GROUP, f"empty point {start} has a group"
            continue
        if start in seen:
            continue
        stones, liberties, frontier = {start}, set(), [start]
        while frontier:
            point = frontier.pop()
            for n in board.neighbors(point):
                if board.stones[n] == EMPTY:
                    liberties.add(n)
                elif board.stones[n] == color and n not in stones:
                    stones.add(n)
                    frontier.append(n)
        seen |= stones
        found_groups.add(frozenset(stones))
        gid = board.group_of[start]
        assert all(board.group_of[p] == gid for p in stones), "one chain, several group ids"
        assert set(board.group_stones[gid]) == stones, f"group {gid} stones differ"
        assert len(board.group_stones[gid]) == len(stones), f"group {gid} lists a stone twice"
        assert board.group_liberties[gid] == liberties, (
            f"group {gid} liberties {sorted(board.group_liberties[gid])} != {sorted(liberties)}"
        )
    assert {frozenset(s) for s in board.group_stones.values()} == found_groups, "stale groups"
    assert board.group_stones.keys() == board.group_liberties.keys()
    keys = zobrist_table(size)
    expected_hash = 0
    for point, color in enumerate(board.stones):
        if color != EMPTY:
            expected_hash ^= keys[color][point]
    assert board.hash == expected_hash, "Zobrist hash drifted from the stones"

# Black owns the left with two eyes, at A7 and C7; White has territory on the right.
TWO_EYES = """
    . X . X O . .
    X X X X O . .
    . . . X O . .
    . . . X O . .
    . . . X O . .
    . . . X O . .
    . . . X O . .
    """


# A white stone at B4 inside Black's area (column D), White's wall on column E: the
# stone is dead. Drawn once for the rules tests that judge or count it.
DEAD_STONE = """
    . . . X O . .
    . . . X O . .
    . . . X O . .
    . O . X O . .
    . . . X O . .
    . . . X O . .
    . . . X O . .
    """
