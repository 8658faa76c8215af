"""goai's rules against sgfmill's: same stones and same simple-ko point after every move.

Two sources of games: the sample records in ``shared/data/sample`` (200 single
files and a 50-game collection; skipped when the folder is absent) and seeded
random games on every board size, with setup stones.

sgfmill counts rows from the *bottom* (row 0 is the first line), goai from the
top, so ``goai_row = size - 1 - sgfmill_row``. sgfmill's ``play`` returns the
point the next player may not retake (simple ko), which is goai's ``ko_point``.
sgfmill allows suicide and goai refuses it; neither the records nor the random
games (drawn from goai's legal moves) contain one.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sgfmill import boards, sgf, sgf_grammar, sgf_moves

from goai.rules.board import BLACK, EMPTY, WHITE
from goai.rules.coords import PASS
from goai.rules.game import GameState

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "sample"
COLLECTION = "collection-50.sgf"

TO_SGFMILL = {EMPTY: None, BLACK: "b", WHITE: "w"}
FROM_SGFMILL = {"b": BLACK, "w": WHITE}


def sgfmill_stones(board: boards.Board) -> list[str | None]:
    """sgfmill's board as one list in goai's point order (top row first)."""
    return [colour for row in reversed(board.board) for colour in row]


def goai_stones(state: GameState) -> list[str | None]:
    return [TO_SGFMILL[stone] for stone in state.board.stones]


def to_goai(row_col: tuple[int, int] | None, size: int) -> int:
    """An sgfmill (row, col), or None for a pass, as a goai move."""
    if row_col is None:
        return PASS
    row, col = row_col
    return (size - 1 - row) * size + col


def replay_against_sgfmill(
    size: int,
    setup: boards.Board,
    moves: list[tuple[str, tuple[int, int] | None]],
) -> str | None:
    """Play ``moves`` on both engines from the ``setup`` position.

    Returns None when the two agree after every move, else where they first differ.
    """
    state = GameState(size, superko=False)
    reference = setup.copy()
    occupied = setup.list_occupied_points()
    state.setup(
        black=[to_goai(point, size) for colour, point in occupied if colour == "b"],
        white=[to_goai(point, size) for colour, point in occupied if colour == "w"],
    )
    if goai_stones(state) != sgfmill_stones(reference):
        return "setup stones differ"
    for number, (colour, row_col) in enumerate(moves, start=1):
        if row_col is None:
            ko = None
        else:
            ko = reference.play(*row_col, colour)
        state.play(to_goai(row_col, size), FROM_SGFMILL[colour])
        if goai_stones(state) != sgfmill_stones(reference):
            return f"stones differ after move {number}"
        if state.board.ko_point != (None if ko is None else to_goai(ko, size)):
            return f"ko point {state.board.ko_point} != sgfmill {ko} after move {number}"
    return None


def sample_games() -> list[tuple[str, sgf.Sgf_game]]:
    """Every game of the sample: the single files, then the collection's games."""
    if not SAMPLE.is_dir():
        pytest.skip(f"no sample records at {SAMPLE}")
    games = [
        (path.name, sgf.Sgf_game.from_bytes(path.read_bytes()))
        for path in sorted(SAMPLE.glob("*.sgf"))
        if path.name != COLLECTION
    ]
    collection = SAMPLE / COLLECTION
    if collection.exists():
        trees = sgf_grammar.parse_sgf_collection(collection.read_bytes())
        games += [
            (f"{COLLECTION}[{i}]", sgf.Sgf_game.from_coarse_game_tree(tree))
            for i, tree in enumerate(trees)
        ]
    return games


def test_sample_records_replay_exactly_as_sgfmill() -> None:
    games = sample_games()
    assert len(games) >= 200
    disagreements = {}
    for name, game in games:
        setup, moves = sgf_moves.get_setup_and_moves(game)
        problem = replay_against_sgfmill(game.get_size(), setup, moves)
        if problem is not None:
            disagreements[name] = problem
    assert disagreements == {}


def random_moves_with_setup(
    size: int, length: int, seed: int
) -> tuple[boards.Board, list[tuple[str, tuple[int, int] | None]]]:
    """A few scattered setup stones, then ``length`` random legal moves (sgfmill form)."""
    rng = random.Random(seed)
    setup = boards.Board(size)
    black, white = [], []
    taken: set[tuple[int, int]] = set()
    for _ in range(size):
        row, col = rng.randrange(size), rng.randrange(size)
        around = {(row + dr, col + dc) for dr, dc in ((0, 0), (0, 1), (1, 0), (0, -1), (-1, 0))}
        if around & taken:
            continue  # keep setup stones apart, so every one has liberties
        taken.add((row, col))
        (black if rng.random() < 0.5 else white).append((row, col))
    setup.apply_setup(black, white, [])

    state = GameState(size, superko=False)
    state.setup(
        black=[to_goai(point, size) for point in black],
        white=[to_goai(point, size) for point in white],
    )
    moves: list[tuple[str, tuple[int, int] | None]] = []
    for _ in range(length):
        choice = rng.choice(state.legal_moves())
        colour = TO_SGFMILL[state.to_play]
        state.play(choice)
        row_col = None if choice == PASS else (size - 1 - choice // size, choice % size)
        moves.append((colour, row_col))
    return setup, moves


@pytest.mark.parametrize("size", [2, 3, 4, 5, 6, 7, 9, 13, 19, 25])
def test_random_games_replay_exactly_as_sgfmill(size: int) -> None:
    setup, moves = random_moves_with_setup(size, length=300, seed=size)
    assert replay_against_sgfmill(size, setup, moves) is None
