"""The 8 board symmetries: where points go, inverses, numpy/torch agreement, and
that encoding a transformed game equals transforming the encoding."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from goai.nn.features import encode
from goai.rules.coords import NUM_MOVES, PASS, PASS_INDEX, index_to_move, move_to_index, to_point
from goai.rules.game import GameState
from goai.rules.symmetry import (
    NUM_SYMMETRIES,
    inverse,
    transform_move_index,
    transform_move_indices,
    transform_planes,
    transform_policy,
)

SYMMETRIES = range(NUM_SYMMETRIES)
N = 18  # the last row and column

# Where each symmetry sends (row, col), as the module docstring's table says.
WHERE = {
    0: lambda row, col: (row, col),
    1: lambda row, col: (N - col, row),
    2: lambda row, col: (N - row, N - col),
    3: lambda row, col: (col, N - row),
    4: lambda row, col: (row, N - col),
    5: lambda row, col: (col, row),
    6: lambda row, col: (N - row, col),
    7: lambda row, col: (N - col, N - row),
}


def one_hot(row: int, col: int) -> np.ndarray:
    plane = np.zeros((19, 19), dtype=np.uint8)
    plane[row, col] = 1
    return plane


@pytest.mark.parametrize("k", SYMMETRIES)
def test_each_symmetry_moves_points_as_documented(k: int) -> None:
    for row, col in [(0, 0), (2, 5), (9, 9), (3, 18), (17, 1)]:
        new_row, new_col = WHERE[k](row, col)
        assert np.array_equal(transform_planes(one_hot(row, col), k), one_hot(new_row, new_col))
        index = transform_move_index(to_point(row, col, 19), k)
        assert index == to_point(new_row, new_col, 19)


@pytest.mark.parametrize("k", SYMMETRIES)
def test_move_index_agrees_with_planes_for_every_point(k: int) -> None:
    every_point = np.eye(361, dtype=np.uint8).reshape(361, 19, 19)  # plane i marks point i
    moved = transform_planes(every_point, k).reshape(361, 361)
    assert moved.argmax(axis=1).tolist() == [transform_move_index(i, k) for i in range(361)]
    assert transform_move_index(PASS_INDEX, k) == PASS_INDEX


@pytest.mark.parametrize("k", SYMMETRIES)
def test_move_indices_of_an_array_move_as_each_index_does(k: int) -> None:
    indices = np.array([[0, 18, 360], [PASS_INDEX, 20, 7]])
    moved = transform_move_indices(indices, k)
    assert moved.shape == indices.shape
    assert moved.tolist() == [[transform_move_index(int(i), k) for i in row] for row in indices]


@pytest.mark.parametrize("k", SYMMETRIES)
def test_inverse_undoes_the_transform(k: int) -> None:
    planes = np.random.default_rng(k).integers(0, 256, (2, 3, 19, 19), dtype=np.uint8)
    assert np.array_equal(transform_planes(transform_planes(planes, k), inverse(k)), planes)
    tensor = torch.from_numpy(planes)
    assert torch.equal(transform_planes(transform_planes(tensor, k), inverse(k)), tensor)
    for index in range(NUM_MOVES):
        assert transform_move_index(transform_move_index(index, k), inverse(k)) == index
    policy = np.random.default_rng(k).random((4, NUM_MOVES))
    assert np.array_equal(transform_policy(transform_policy(policy, k), inverse(k)), policy)


def test_the_eight_are_distinct_and_closed_under_composition() -> None:
    plane = np.arange(361).reshape(19, 19)
    images = [transform_planes(plane, k).tobytes() for k in SYMMETRIES]
    assert len(set(images)) == NUM_SYMMETRIES
    for a in SYMMETRIES:
        for b in SYMMETRIES:
            assert transform_planes(transform_planes(plane, a), b).tobytes() in images


@pytest.mark.parametrize("k", SYMMETRIES)
def test_policy_entries_follow_their_moves_and_pass_stays(k: int) -> None:
    policy = np.random.default_rng(k).random((2, NUM_MOVES)).astype(np.float32)
    moved = transform_policy(policy, k)
    for index in range(NUM_MOVES):
        assert np.array_equal(moved[:, transform_move_index(index, k)], policy[:, index])
    assert np.array_equal(moved[:, PASS_INDEX], policy[:, PASS_INDEX])


@pytest.mark.parametrize("k", SYMMETRIES)
def test_torch_and_numpy_agree(k: int) -> None:
    planes = np.random.default_rng(k).random((2, 5, 19, 19)).astype(np.float32)
    from_torch = transform_planes(torch.from_numpy(planes), k)
    assert isinstance(from_torch, torch.Tensor) and from_torch.dtype == torch.float32
    assert np.array_equal(from_torch.numpy(), transform_planes(planes, k))
    policy = np.random.default_rng(k).random((3, NUM_MOVES)).astype(np.float32)
    assert np.array_equal(
        transform_policy(torch.from_numpy(policy), k).numpy(), transform_policy(policy, k)
    )


def test_averaging_recipe_recovers_the_original_output() -> None:
    # A toy "network" that commutes with symmetries: logits are plane 0 read
    # point by point, plus a pass logit that ignores orientation.
    def net(planes: np.ndarray) -> np.ndarray:
        points = np.ascontiguousarray(planes[..., 0, :, :]).reshape(*planes.shape[:-3], 361)
        return np.concatenate([points, points.sum(axis=-1, keepdims=True)], axis=-1)

    planes = np.random.default_rng(7).random((2, 4, 19, 19))
    for k in SYMMETRIES:
        answer = transform_policy(net(transform_planes(planes, k)), inverse(k))
        assert np.allclose(answer, net(planes))


def test_a_bad_symmetry_number_is_refused() -> None:
    for call in (
        lambda: inverse(8),
        lambda: transform_planes(np.zeros((19, 19)), -1),
        lambda: transform_move_index(0, 8),
        lambda: transform_policy(np.zeros(NUM_MOVES), 9),
    ):
        with pytest.raises(ValueError, match="symmetry"):
            call()
    with pytest.raises(ValueError, match="move index"):
        transform_move_index(PASS, 1)  # a move, not an index


# ------------------------------------------------- features commute with them


def random_game(seed: int, moves: int) -> GameState:
    """``moves`` random legal moves (about one in 30 a pass), superko enforced."""
    rng = random.Random(seed)
    state = GameState(19)
    for _ in range(moves):
        state.play(PASS if rng.random() < 1 / 30 else rng.choice(state.legal_moves()))
    return state


def transformed_game(state: GameState, k: int) -> GameState:
    """The same game with every move moved by symmetry ``k``."""
    other = GameState(19, superko=state.superko)
    for color, move in state.history:
        other.play(index_to_move(transform_move_index(move_to_index(move), k)), color)
    return other


@pytest.mark.parametrize(("seed", "moves"), [(1, 40), (2, 150), (3, 260)])
def test_encoding_a_transformed_game_is_transforming_the_encoding(seed: int, moves: int) -> None:
    state = random_game(seed, moves)
    planes = encode(state, "ladders")
    for k in SYMMETRIES:
        assert np.array_equal(
            encode(transformed_game(state, k), "ladders"), transform_planes(planes, k)
        )
