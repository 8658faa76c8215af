"""The fast data path gives the positions the plain one does.

The training stream replays each game under a random board symmetry instead of
transforming every encoded position, writes positions straight into shuffled
rows of one chunk array, and reads a compressed (version 2) store. Each shortcut
is checked here against the plain route: ``encode`` on a plain replay, then
``transform_planes``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from goai.learn.stream import PositionStream, fixed_positions
from goai.nn.features import encode
from goai.records.store import GameStore
from goai.rules.coords import move_to_index
from goai.rules.symmetry import NUM_SYMMETRIES, transform_move_index, transform_planes


@pytest.fixture(scope="module")
def store_dir(make_store) -> Path:
    """16 sample games, all in the train split."""
    return make_store(16, val=0.0, test=0.0)


def test_replay_under_a_symmetry_gives_the_transformed_planes(store_dir: Path) -> None:
    store = GameStore(store_dir / "train.npz")
    assert len(store) == 16
    checked = 0
    for game in range(len(store)):
        k = game % NUM_SYMMETRIES
        plain = store.replay(game)
        moved = store.replay(game, k)
        for (state, _, move), (moved_state, _, moved_move) in zip(plain, moved, strict=True):
            expected = transform_planes(encode(state), k)
            assert np.array_equal(encode(moved_state), expected), (game, k, len(state.history))
            assert move_to_index(moved_move) == transform_move_index(move_to_index(move), k)
            checked += 1
    assert checked == store.num_positions


def _rows(planes: np.ndarray, moves: np.ndarray, values: np.ndarray) -> list[tuple]:
    return [(p.tobytes(), int(m), float(v)) for p, m, v in zip(planes, moves, values,
                                                                  strict=True)]


def test_stream_rows_are_the_stored_positions_with_their_targets(store_dir: Path) -> None:
    store = GameStore(store_dir / "train.npz")
    everything = fixed_positions(store, "default", store.num_positions)
    known = Counter(_rows(everything.planes, everything.moves, everything.values))
    assert len(everything.moves) == store.num_positions
    stream = PositionStream(store, "default", 32, sample_rate=1.0, symmetries=False,
                            games_per_chunk=3)
    batches = iter(stream)
    seen = []
    while len(seen) < store.num_positions - 32:
        batch = next(batches)
        assert batch.planes.shape[0] == 32
        seen += _rows(batch.planes, batch.moves, batch.values)
    # Every row is a real position with its own move and value, and one epoch
    # (sample rate 1) gives each position once, except the last partial batch.
    # (Counted as multisets: games that open alike share their first positions.)
    assert not Counter(seen) - known


def test_stream_symmetries_apply_to_planes_and_moves_together(store_dir: Path) -> None:
    store = GameStore(store_dir / "train.npz")
    everything = fixed_positions(store, "default", store.num_positions)
    known = set()
    for k in range(NUM_SYMMETRIES):
        planes = np.ascontiguousarray(transform_planes(everything.planes, k))
        moves = np.array([transform_move_index(int(m), k) for m in everything.moves])
        known |= set(_rows(planes, moves, everything.values))
    batch = next(iter(PositionStream(store, "default", 256, seed=5, games_per_chunk=16)))
    assert set(_rows(batch.planes, batch.moves, batch.values)) <= known


def test_version_1_stores_still_load(store_dir: Path, tmp_path: Path) -> None:
    store = GameStore(store_dir / "train.npz")
    old = tmp_path / "v1.npz"
    np.savez(old, version=np.array(1), moves=store.moves, game_offsets=store.game_offsets,
             setup=store.setup, setup_offsets=store.setup_offsets, komi=store.komi,
             handicap=store.handicap, result=store.result,
             game_keys=np.zeros(len(store), np.uint64))
    again = GameStore(old)
    for name in ("moves", "game_offsets", "setup", "setup_offsets", "komi", "result"):
        assert np.array_equal(getattr(again, name), getattr(store, name)), name
    assert store.moves.dtype == again.moves.dtype == np.int16
