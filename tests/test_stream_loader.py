"""The shared-memory loader and the device feeder give the plain stream's batches, in order.

``SharedBatchLoader`` moves batches from loader processes through a ring of
shared-memory slots instead of pickles; ``DeviceFeeder`` puts them on the
device ahead of the step. Neither may change what the network sees: the
batches must be, byte for byte, those of the workers' own ``PositionStream``s
taken in turn, and a worker that fails must say why in the trainer.
"""

from __future__ import annotations

import itertools
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import torch

from goai.learn.stream import (
    Batch,
    DeviceFeeder,
    LoaderStreams,
    PositionStream,
    SharedBatchLoader,
    batch_to_device,
)
from goai.records.store import GameStore

OPTIONS = {"seed": 3, "games_per_chunk": 1, "sample_rate": 0.2}


@pytest.fixture(scope="module")
def store(make_store) -> GameStore:
    return GameStore(make_store(12, val=0.0, test=0.0) / "train.npz")


def copies(batches, count: int) -> list[Batch]:
    """The first ``count`` batches, copied out of the loader's slots."""
    return [b.copy() for b in itertools.islice(batches, count)]


def assert_same(got: list[Batch], expected: list[Batch]) -> None:
    assert len(got) == len(expected)
    for index, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert np.array_equal(a.planes, b.planes), index
        assert np.array_equal(a.moves, b.moves), index
        assert np.array_equal(a.values, b.values), index
        assert np.array_equal(a.ownership, b.ownership), index
        assert np.array_equal(a.scores, b.scores, equal_nan=True), index
        assert a.stream_state == b.stream_state, index


def test_one_loader_process_gives_the_in_process_stream_batch_for_batch(store: GameStore) -> None:
    plain = copies(LoaderStreams(store, "default", 16, workers=0, **OPTIONS).loader(), 12)
    shared = copies(LoaderStreams(store, "default", 16, workers=1, **OPTIONS).loader(), 12)
    assert_same(shared, plain)
    assert len({b.stream_state["cursor"] for b in plain}) > 1, "more than one chunk was read"


def test_several_processes_take_turns_in_a_fixed_order(store: GameStore) -> None:
    streams = LoaderStreams(store, "default", 8, workers=3, **OPTIONS)
    got = copies(streams.loader(slots_per_worker=2), 9)
    alone = [streams.stream(worker) for worker in range(3)]
    assert_same(got, [next(alone[index % 3]) for index in range(9)])
    assert [b.stream_state["worker"] for b in got] == [0, 1, 2] * 3


def test_a_batch_is_a_view_of_the_shared_slot_not_a_copy(store: GameStore) -> None:
    loader = SharedBatchLoader(LoaderStreams(store, "default", 8, workers=1, **OPTIONS))
    batches = iter(loader)
    batch = next(batches)
    for name in ("planes", "moves", "values", "ownership", "scores"):
        assert np.shares_memory(getattr(batch, name), loader.slots[name].numpy()), name
    batches.close()


def test_closing_the_loader_ends_its_processes(store: GameStore) -> None:
    before = set(multiprocessing.active_children())
    batches = LoaderStreams(store, "default", 8, workers=2, **OPTIONS).loader()
    next(batches)
    assert len(set(multiprocessing.active_children()) - before) == 2
    batches.close()
    assert set(multiprocessing.active_children()) - before == set()


def test_a_failing_worker_is_reported_with_its_traceback(store: GameStore,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> Batch:
        raise OSError("disk on fire")

    # Forked workers inherit the patch.
    monkeypatch.setattr(PositionStream, "_encode_chunk", broken)
    batches = LoaderStreams(store, "default", 8, workers=1, **OPTIONS).loader()
    with pytest.raises(RuntimeError, match="goai-loader-0 failed(.|\n)*disk on fire"):
        next(batches)
    batches.close()


def test_the_device_feeder_gives_channels_last_tensors_of_the_same_batches(
        store: GameStore) -> None:
    expected = copies(LoaderStreams(store, "default", 8, workers=0, **OPTIONS).loader(), 5)
    feeder = DeviceFeeder(LoaderStreams(store, "default", 8, workers=1, **OPTIONS).loader(),
                          torch.device("cpu"), torch.float32)
    for batch, (planes, (moves, values, ownership, scores), state) in zip(expected, feeder,
                                                                          strict=False):
        assert planes.dtype == torch.float32 and planes.shape == (8, 22, 19, 19)
        assert planes.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(planes, torch.from_numpy(batch.planes).float())
        assert torch.equal(moves, torch.from_numpy(batch.moves))
        assert torch.equal(values, torch.from_numpy(batch.values))
        assert torch.equal(ownership, torch.from_numpy(batch.ownership))
        assert torch.equal(scores.isnan(), torch.from_numpy(batch.scores).isnan())
        assert state == batch.stream_state
    feeder.close()


def test_planes_convert_exactly_to_bfloat16(store: GameStore) -> None:
    batch = next(iter(PositionStream(store, "default", 8, **OPTIONS)))
    planes, _ = batch_to_device(batch, torch.device("cpu"), torch.bfloat16)
    assert planes.dtype == torch.bfloat16
    assert torch.equal(planes.float(), torch.from_numpy(batch.planes).float())


def test_a_loader_needs_a_worker_and_two_slots(store: GameStore) -> None:
    with pytest.raises(ValueError, match="1 or more loader workers"):
        SharedBatchLoader(LoaderStreams(store, "default", 8, workers=0))
    with pytest.raises(ValueError, match="2 or more slots"):
        SharedBatchLoader(LoaderStreams(store, "default", 8, workers=1), slots_per_worker=1)


def test_the_store_files_are_only_read(make_store) -> None:
    folder: Path = make_store(12, val=0.0, test=0.0)
    before = {p: p.stat().st_mtime_ns for p in folder.iterdir()}
    batches = LoaderStreams(GameStore(folder / "train.npz"), "default", 8, workers=1).loader()
    next(batches)
    batches.close()
    assert {p: p.stat().st_mtime_ns for p in folder.iterdir()} == before
