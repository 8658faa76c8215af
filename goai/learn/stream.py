"""The training stream: a game store -> shuffled, augmented batches of encoded positions.

Training replays the stored games, each under a random board symmetry, and
encodes positions on the fly (``goai.records.store`` says why the store holds moves,
not planes). On CPU the network is ~50x slower than that (``goai bench``
measures both); on a GPU the work spreads over loader processes
(``LoaderStreams``), each running its own ``PositionStream`` on its share of
the games, and hand their batches over through shared memory
(``SharedBatchLoader``); ``DeviceFeeder`` copies them to the GPU ahead of the
step. This is the one data module that imports torch (shared-memory tensors,
pinned memory, CUDA streams); preparing a store needs none.
"""

from __future__ import annotations

import mmap
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from goai.nn.features import FeatureSet, encode_into, get_feature_set
from goai.records.store import GameStore, code_colors_and_indices
from goai.rules.board import WHITE
from goai.rules.coords import NETWORK_SIZE, NUM_POINTS
from goai.rules.symmetry import NUM_SYMMETRIES, transform_move_indices, transform_planes

TARGETS = ("moves", "values", "ownership", "scores")


@dataclass
class Batch:
    """Positions for training, all targets from the side to move's view:

    ``planes`` uint8 (B, C, 19, 19); ``moves`` int64 (B,) move indices 0..361;
    ``values`` float32 (B,) game result (+1 win, -1 loss, 0 unknown);
    ``ownership`` int8 (B, 361) final owner of each point (+1 the side to move,
    -1 the opponent, 0 nobody) and ``scores`` float32 (B,) final margin in points,
    both for positions of labelled games only: elsewhere ``scores`` is NaN (the
    mask of both) and ``ownership`` 0.
    """

    planes: np.ndarray
    moves: np.ndarray
    values: np.ndarray
    ownership: np.ndarray
    scores: np.ndarray
    stream_state: dict | None = None  # where the stream was when this batch's chunk began

    @classmethod
    def empty(cls, size: int, channels: int) -> Batch:
        """A batch of ``size`` positions with uninitialised contents, to be filled in place."""
        return cls(np.empty((size, channels, NETWORK_SIZE, NETWORK_SIZE), np.uint8),
                   np.empty(size, np.int64), np.empty(size, np.float32),
                   np.empty((size, NUM_POINTS), np.int8), np.empty(size, np.float32))

    def rows(self, start: int, end: int, stream_state: dict | None = None) -> Batch:
        """Positions ``start:end`` as a batch of views."""
        return Batch(*(getattr(self, name)[start:end] for name in ("planes", *TARGETS)),
                     stream_state)

    def copy(self) -> Batch:
        """A batch owning its arrays (a loader's batch is a view of a slot that is reused)."""
        return Batch(*(getattr(self, name).copy() for name in ("planes", *TARGETS)),
                     None if self.stream_state is None else dict(self.stream_state))


def _encode_positions(store: GameStore, game: int, numbers: np.ndarray, feature_set: FeatureSet,
                      out: Batch, rows: np.ndarray, symmetry: int = 0) -> None:
    """Encode the positions before moves ``numbers`` of ``game`` into rows ``rows`` of ``out``.

    ``numbers`` (sorted move numbers, 0 = before the first move) and ``rows``
    are int arrays of one length; position ``numbers[j]`` goes to row ``rows[j]``
    of ``out.planes`` (planes), ``out.moves`` (the move played there, an index
    0..361) and ``out.values`` (the result for the side to move), all under
    ``symmetry`` (see ``GameStore.replay``), and the game's ownership and score
    into ``out.ownership`` and ``out.scores`` (NaN score: none). The replay stops
    after the last wanted position.
    """
    if len(numbers) == 0:
        return
    colors, indices = code_colors_and_indices(store.moves[store.game_offsets[game] + numbers])
    out.moves[rows] = transform_move_indices(indices, symmetry)
    black_result = float(store.result[game])
    sign = np.where(colors == WHITE, -1, 1).astype(np.int8)
    out.values[rows] = sign * black_result
    ownership = store.game_ownership(game)
    if ownership is None:
        out.ownership[rows] = 0
        out.scores[rows] = np.nan
    else:
        board = transform_planes(ownership.reshape(NETWORK_SIZE, NETWORK_SIZE), symmetry)
        out.ownership[rows] = sign[:, None] * board.reshape(1, NUM_POINTS)
        out.scores[rows] = sign * store.score[game]
    wanted = dict(zip(numbers.tolist(), rows.tolist(), strict=True))
    last = int(numbers[-1])
    planes = out.planes
    for number, (state, _, _) in enumerate(store.replay(game, symmetry)):
        row = wanted.get(number)
        if row is not None:
            encode_into(planes[row], state, feature_set)
            if number == last:
                return


class PositionStream:
    """Shuffled, augmented training batches from a ``GameStore``, resumable.

    Games are visited in a seeded random order, epoch after epoch. Positions
    of ``games_per_chunk`` games (each kept with probability ``sample_rate``,
    so neighbouring positions of one game rarely share a batch) are shuffled
    together and cut into batches. ``state()`` gives the position in that
    order at the start of the current chunk; a stream made with that state
    starts the chunk again, so a resumed run repeats at most one chunk and
    skips nothing.

    Augmentation: each game is replayed under one random symmetry of the 8
    (``GameStore.replay``), so its positions come out already rotated or
    reflected. Transforming each position's planes instead cost 4-16 us a
    position (strided copies of 8 KB), up to a quarter of the encoding. The price:
    the positions of one game share their orientation within an epoch.

    Speed: each chunk is one array, and each position is encoded straight into
    the row a random permutation gives it, so a batch is a slice of the chunk
    (a view, no copy) and nothing is allocated per position. The price is
    memory: a chunk holds ``games_per_chunk`` x ~100 positions x 7.9 KB
    (default planes), ~50 MB with the defaults, alive until its last batch is
    consumed.
    """

    def __init__(self, store: GameStore, feature_set: str, batch_size: int, *, seed: int = 0,
                 games_per_chunk: int = 64, sample_rate: float = 0.5, symmetries: bool = True,
                 state: dict | None = None, shard: tuple[int, int] = (0, 1)) -> None:
        if len(store) == 0:
            raise ValueError(f"{store.path}: no games to train on")
        self.store = store
        self.feature_set = feature_set
        self.batch_size = batch_size
        self.seed = seed
        self.games_per_chunk = games_per_chunk
        self.sample_rate = sample_rate
        self.symmetries = symmetries
        # shard = (rank, world size): each process of a distributed run reads its own games.
        self.rank, self.world = shard
        self.epoch = state["epoch"] if state else 0
        self.cursor = state["cursor"] if state else 0
        self._chunk_start = (self.epoch, self.cursor)

    def state(self) -> dict:
        epoch, cursor = self._chunk_start
        return {"epoch": epoch, "cursor": cursor}

    def _order(self, epoch: int) -> np.ndarray:
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.store))
        return order[self.rank :: self.world]

    def __iter__(self) -> Iterator[Batch]:
        feature_set = get_feature_set(self.feature_set)
        pending = Batch.empty(0, feature_set.num_channels)
        while True:
            order = self._order(self.epoch)
            if self.cursor >= len(order):
                self.epoch, self.cursor = self.epoch + 1, 0
                continue
            self._chunk_start = (self.epoch, self.cursor)
            rng = np.random.default_rng([self.seed, self.epoch, self.cursor, 1])
            games = order[self.cursor : self.cursor + self.games_per_chunk]
            self.cursor += len(games)
            chunk = self._encode_chunk(games, pending, feature_set, rng)
            full = len(chunk.moves) - len(chunk.moves) % self.batch_size
            for start in range(0, full, self.batch_size):
                yield chunk.rows(start, start + self.batch_size, self.state())
            # Positions that did not fill a batch go into the next chunk.
            pending = chunk.rows(full, len(chunk.moves)).copy()

    def _encode_chunk(self, games: np.ndarray, pending: Batch, feature_set: FeatureSet,
                      rng: np.random.Generator) -> Batch:
        """The sampled positions of ``games`` plus ``pending``, augmented, in shuffled rows."""
        offsets = self.store.game_offsets
        picks = [np.flatnonzero(rng.random(int(offsets[g + 1] - offsets[g])) < self.sample_rate)
                 for g in games]
        held = len(pending.moves)
        rows = rng.permutation(held + sum(len(numbers) for numbers in picks))
        chunk = Batch.empty(len(rows), feature_set.num_channels)
        for name in ("planes", *TARGETS):
            getattr(chunk, name)[rows[:held]] = getattr(pending, name)
        symmetries = rng.integers(NUM_SYMMETRIES if self.symmetries else 1, size=len(games))
        start = held
        for game, numbers, symmetry in zip(games, picks, symmetries.tolist(), strict=True):
            game_rows = rows[start : start + len(numbers)]
            _encode_positions(self.store, int(game), numbers, feature_set, chunk, game_rows,
                              symmetry)
            start += len(numbers)
        return chunk


def fixed_positions(store: GameStore, feature_set: str, max_positions: int,
                    seed: int = 0) -> Batch:
    """Up to ``max_positions`` positions of ``store``, no augmentation, the same every call.

    Games are taken in a seeded order and every position of each is used, so
    the phases of the game are represented as in real play.
    """
    features = get_feature_set(feature_set)
    order = np.random.default_rng(seed).permutation(len(store))
    lengths = np.diff(store.game_offsets)[order]
    batch = Batch.empty(int(min(max_positions, lengths.sum())), features.num_channels)
    start = 0
    for game, length in zip(order, lengths, strict=True):
        if start >= len(batch.moves):
            break
        numbers = np.arange(min(int(length), len(batch.moves) - start))
        _encode_positions(store, int(game), numbers, features, batch, start + numbers)
        start += len(numbers)
    return batch


# ----------------------------------------------------------------- loader processes


def exit_with_parent(parent: int, _worker: int = 0) -> None:
    """Make this (loader) process end when process ``parent`` dies; called first in a worker.

    Without it a ``kill -9`` of the trainer leaves its loader processes behind:
    reparented, each blocked for ever on a full pipe nobody reads. On Linux the
    kernel sends SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``);
    elsewhere a daemon thread notices the new parent id within a second.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # it died before prctl took effect
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class LoaderStreams:
    """``PositionStream``s for loader processes, and the loader that runs them.

    With ``workers`` loader processes in a run of ``world`` processes, worker
    ``w`` of rank ``r`` reads shard ``r * workers + w`` of the games, so encoding
    runs beside the network instead of between its steps (``workers=0``: one
    stream, run in the training process). ``loader()`` hands out batches from
    the workers in turn (worker 0, 1, ..., 0, ...), so the order of batches does
    not depend on timing; each batch says which worker made it and where that
    worker's stream stood. ``states`` collects those for the checkpoint, and a
    loader made with them resumes every worker where it was.
    """

    def __init__(self, store: GameStore, feature_set: str, batch_size: int, *, workers: int,
                 rank: int = 0, world: int = 1, states: list[dict | None] | None = None,
                 **stream_options: object) -> None:
        self.store = store
        self.feature_set = feature_set
        self.batch_size = batch_size
        self.workers = workers
        self.rank, self.world = rank, world
        streams = max(workers, 1)
        self.states = states if states else [None] * streams
        if len(self.states) != streams:
            raise ValueError(f"resume state is for {len(self.states)} loader workers, "
                             f"not {self.workers}; resume with the same --loader-workers")
        self.stream_options = stream_options

    def stream(self, worker: int) -> Iterator[Batch]:
        """Worker ``worker``'s batches; ``stream_state`` = {"worker", "epoch", "cursor"}."""
        streams = max(self.workers, 1)
        shard = (self.rank * streams + worker, self.world * streams)
        stream = PositionStream(self.store, self.feature_set, self.batch_size, shard=shard,
                                state=self.states[worker], **self.stream_options)
        for batch in stream:
            batch.stream_state = {"worker": worker, **(batch.stream_state or {})}
            yield batch

    def loader(self, slots_per_worker: int = 3) -> Iterator[Batch]:
        """The batches of all workers in turn: in this process (``workers=0``), else a
        ``SharedBatchLoader`` over loader processes. A batch's arrays are valid until the
        next batch is asked for."""
        if self.workers == 0:
            return self.stream(0)
        return iter(SharedBatchLoader(self, slots_per_worker))


# Seconds between checks that the loader processes are still alive while waiting on them.
_POLL_SECONDS = 1.0


class SharedBatchLoader:
    """Batches from loader processes through preallocated shared memory, not pickles.

    Why: a batch of 1024 positions is ~8 MB of planes. Sent through a queue, it
    is pickled in the worker, copied through a pipe and unpickled in the trainer:
    three copies, two of them in the one training process, which every worker's
    batches pass through (``goai bench --loader-workers`` measures the cost).
    Here each worker owns ``slots_per_worker`` slots of one shared-memory ring
    (planes and targets for one batch each); it copies a batch into a free
    slot and sends only the slot's number and its stream state (~100 bytes)
    through a queue. The training process reads the slot in place and hands it
    back when the next batch is asked for.

    Order: batches come from worker 0, 1, ..., n-1, 0, ... in turn (each
    worker's own queue), the same order on every run, whatever the timing.

    Lifetime: iterating starts the processes (forked where the OS can, so
    they share the store's arrays without copying them); ending or closing the
    iteration (or a worker dying, which raises ``RuntimeError``) stops them.
    They also die with the training process (``exit_with_parent``).
    """

    def __init__(self, streams: LoaderStreams, slots_per_worker: int = 3) -> None:
        if streams.workers < 1:
            raise ValueError("a SharedBatchLoader needs 1 or more loader workers")
        if slots_per_worker < 2:
            raise ValueError("each loader worker needs 2 or more slots: one read, one filled")
        self.streams = streams
        self.slots_per_worker = slots_per_worker
        channels = get_feature_set(streams.feature_set).num_channels
        slots = streams.workers * slots_per_worker
        size = streams.batch_size
        import torch.multiprocessing as mp

        self._fork = "fork" in mp.get_all_start_methods()
        self.slots = {
            "planes": self._shared((slots, size, channels, NETWORK_SIZE, NETWORK_SIZE), np.uint8),
            "moves": self._shared((slots, size), np.int64),
            "values": self._shared((slots, size), np.float32),
            "ownership": self._shared((slots, size, NUM_POINTS), np.int8),
            "scores": self._shared((slots, size), np.float32),
        }

    def _shared(self, shape: tuple[int, ...], dtype: type) -> torch.Tensor:
        """A zeroed tensor the loader processes write and this process reads.

        Where processes are forked: an anonymous shared mapping, inherited by the
        children. Unlike torch's shared memory it needs no room in /dev/shm,
        which containers often cap at 64 MB (15 processes x 3 slots of a batch of
        2048 take ~750 MB). Elsewhere (spawn): torch's shared memory, which is
        handed to the children by name.
        """
        if not self._fork:
            return torch.zeros(shape, dtype=torch.from_numpy(np.zeros(0, dtype)).dtype
                               ).share_memory_()
        count = int(np.prod(shape))
        buffer = mmap.mmap(-1, max(count * np.dtype(dtype).itemsize, 1))
        return torch.from_numpy(np.frombuffer(buffer, dtype=dtype, count=count).reshape(shape))

    def __iter__(self) -> Iterator[Batch]:
        """Start the loader processes now, in this thread, and return their batches.

        Started here rather than at the first ``next``: that may come from
        another thread (``DeviceFeeder``'s), and a process's parent-death signal
        fires when the *thread* that forked it ends.
        """
        import torch.multiprocessing as mp

        context = mp.get_context("fork" if self._fork else None)
        workers = self.streams.workers
        # One pair of pipes per worker (free slots in, filled slots out): one reader and one
        # writer each, so no locks, and no feeder thread that must win the GIL from a worker
        # busy encoding before a message leaves (multiprocessing.Queue's, up to a 5 ms wait).
        free = [context.Pipe(duplex=False) for _ in range(workers)]  # (worker's end, ours)
        ready = [context.Pipe(duplex=False) for _ in range(workers)]  # (our end, worker's)
        for worker in range(workers):
            for slot in self._slots(worker):
                free[worker][1].send(slot)
        processes = [context.Process(
            target=_fill_slots, name=f"goai-loader-{worker}", daemon=True,
            args=(self.streams, worker, self.slots, free[worker][0], ready[worker][1],
                  os.getpid())) for worker in range(workers)]
        for process in processes:
            process.start()
        for worker_end, _ in free:  # the workers' ends live in the workers now
            worker_end.close()
        for _, worker_end in ready:
            worker_end.close()
        return self._batches(processes, [ours for _, ours in free], [ours for ours, _ in ready])

    def _batches(self, processes: list, free: list, ready: list) -> Iterator[Batch]:
        workers = self.streams.workers
        held: tuple[int, int] | None = None
        arrays = [self.slots[name].numpy() for name in ("planes", *TARGETS)]
        try:
            worker = 0
            while True:
                slot, state = self._next_ready(ready[worker], processes[worker])
                if held is not None:  # the caller is done with the previous batch
                    free[held[0]].send(held[1])
                held = (worker, slot)
                yield Batch(*(array[slot] for array in arrays), state)
                worker = (worker + 1) % workers
        finally:
            for pipe in free:
                try:
                    pipe.send(None)  # a worker waiting for a slot ends at once
                except OSError:  # that worker is gone already
                    pass
            for process in processes:
                process.join(timeout=_POLL_SECONDS)
                if process.is_alive():  # busy encoding a chunk: no need to wait for it
                    process.kill()
                    process.join()
            for pipe in free + ready:
                pipe.close()

    def _slots(self, worker: int) -> range:
        first = worker * self.slots_per_worker
        return range(first, first + self.slots_per_worker)

    @staticmethod
    def _next_ready(pipe, process) -> tuple[int, dict]:
        """The next (slot, stream state) of one worker; RuntimeError if it died or failed."""
        while True:
            try:
                message = pipe.recv() if pipe.poll(_POLL_SECONDS) else None
            except EOFError:  # the worker closed its end: it has ended
                message = None
            if message is None:
                if not process.is_alive():
                    process.join()
                    raise RuntimeError(f"loader process {process.name} died "
                                       f"(exit code {process.exitcode})")
                continue
            if isinstance(message[0], str):  # ("error", traceback text)
                raise RuntimeError(f"loader process {process.name} failed:\n{message[1]}")
            return message


def _fill_slots(streams: LoaderStreams, worker: int, slots: dict[str, torch.Tensor], free,
                ready, parent: int) -> None:
    """A loader process: worker ``worker``'s batches, each copied into a free slot."""
    exit_with_parent(parent)
    torch.set_num_threads(1)  # numpy does the work here; torch threads would only compete
    arrays = {name: tensor.numpy() for name, tensor in slots.items()}
    try:
        for batch in streams.stream(worker):
            slot = free.recv()
            if slot is None:
                return
            for name, array in arrays.items():
                array[slot] = getattr(batch, name)
            ready.send((slot, batch.stream_state))
    except (EOFError, BrokenPipeError):  # the trainer closed the loader
        return
    except Exception:  # the trainer raises it with the worker's traceback
        import traceback

        ready.send(("error", traceback.format_exc()))


# ----------------------------------------------------------------- onto the device


class Targets(NamedTuple):
    """A batch's targets on the device (``Batch`` says what each holds): ``moves`` int64
    (B,), ``values`` float32 (B,), ``ownership`` int8 (B, 361), ``scores`` float32 (B,)."""

    moves: torch.Tensor
    values: torch.Tensor
    ownership: torch.Tensor
    scores: torch.Tensor


def batch_to_device(batch: Batch, device: torch.device, planes_dtype: torch.dtype = torch.float32
                    ) -> tuple[torch.Tensor, Targets]:
    """``(planes, targets)`` of ``batch`` on ``device``, in the current stream.

    The planes cross as uint8 (a quarter of the float bytes) and become
    ``planes_dtype`` channels-last (B, C, 19, 19) in one conversion there. The
    copies are ``non_blocking``, which only overlaps anything from pinned memory.
    """
    planes = torch.from_numpy(batch.planes).to(device, non_blocking=True)
    planes = planes.to(planes_dtype, memory_format=torch.channels_last)
    targets = Targets(*(torch.from_numpy(getattr(batch, name)).to(device, non_blocking=True)
                        for name in TARGETS))
    return planes, targets


class DeviceFeeder:
    """Batches as device tensors ``(planes, targets, stream_state)``, prefetched.

    ``planes`` arrive as ``planes_dtype`` in channels-last layout (B, C, 19, 19),
    ``targets`` as ``Targets``. On CUDA a background thread
    copies each batch out of the loader's slot into one of a few pinned host
    buffers, then to the GPU with ``non_blocking`` copies on a side stream, and
    converts the planes there, ``depth`` batches ahead of the training step; the
    training stream waits on each batch's copy event (no host synchronisation),
    and the tensors are marked as used on it (``record_stream``) so the caching
    allocator does not hand their memory back to the side stream too early. On
    other devices the batch is converted in the caller's thread when asked for
    (on the CPU the copy-and-convert is the work; a thread would only compete for
    the same cores).

    On the CPU the targets are views of the loader's slot: like the loader's
    batches, valid until the next batch is asked for.

    ``close()`` stops the thread and closes ``batches``.
    """

    def __init__(self, batches: Iterator[Batch], device: torch.device,
                 planes_dtype: torch.dtype = torch.float32, depth: int = 2) -> None:
        self.batches = batches
        if device.type == "cuda" and device.index is None:
            # The feeder thread must name the device: the current one is per thread.
            device = torch.device("cuda", torch.cuda.current_device())
        self.device = device
        self.planes_dtype = planes_dtype
        self.depth = depth
        self._thread: threading.Thread | None = None
        if device.type == "cuda":
            import queue

            self._queue: queue.Queue = queue.Queue(maxsize=depth)
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._copy_ahead, name="goai-device-feeder",
                                            daemon=True)
            self._thread.start()

    def __iter__(self) -> DeviceFeeder:
        return self

    def __next__(self) -> tuple[torch.Tensor, Targets, dict | None]:
        if self._thread is None:
            batch = next(self.batches)
            return (*self.convert(batch), batch.stream_state)
        item = self._queue.get()
        if item is None:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        planes, targets, state, event = item
        stream = torch.cuda.current_stream(self.device)
        stream.wait_event(event)
        for tensor in (planes, *targets):
            tensor.record_stream(stream)
        return planes, targets, state

    def convert(self, batch: Batch) -> tuple[torch.Tensor, Targets]:
        """``batch`` on the device in the caller's thread and stream (no prefetch)."""
        return batch_to_device(batch, self.device, self.planes_dtype)

    def _copy_ahead(self) -> None:
        """The CUDA thread: slot -> pinned buffer -> side stream copy, ``depth`` ahead."""
        names = ("planes", *TARGETS)
        try:
            torch.cuda.set_device(self.device)
            side = torch.cuda.Stream(self.device)
            buffers: list[dict] = []
            for index, batch in enumerate(self.batches):
                if len(buffers) < self.depth + 2:
                    buffers.append({name: torch.from_numpy(getattr(batch, name)).pin_memory()
                                    for name in names})
                    buffers[-1]["event"] = None
                buffer = buffers[index % len(buffers)]
                if buffer["event"] is not None:
                    buffer["event"].synchronize()  # its last copy to the GPU has finished
                for name in names:
                    buffer[name].copy_(torch.from_numpy(getattr(batch, name)))
                # The loader's slot is free again once the next batch is asked for.
                with torch.cuda.stream(side):
                    planes = buffer["planes"].to(self.device, non_blocking=True)
                    planes = planes.to(self.planes_dtype, memory_format=torch.channels_last)
                    targets = Targets(*(buffer[name].to(self.device, non_blocking=True)
                                        for name in TARGETS))
                    event = torch.cuda.Event()
                    event.record(side)
                buffer["event"] = event
                if not self._put((planes, targets, batch.stream_state, event)):
                    return
            self._put(None)
        except BaseException as error:  # raised again in the training thread
            self._put(error)

    def _put(self, item: object) -> bool:
        import queue

        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        close = getattr(self.batches, "close", None)
        if close is not None:
            close()
