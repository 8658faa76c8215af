"""The training stream: a game store -> shuffled, augmented batches of encoded positions.

Training replays the stored games, each under a random board symmetry, and
encodes positions on the fly (``goai.store`` says why the store holds moves,
not planes). On CPU the network is ~50x slower than that (``goai bench``
measures both); on a GPU the work spreads over loader processes
(``LoaderStreams``), each running its own ``PositionStream`` on its share of
the games. This is the one data module that imports torch (for the
DataLoader); preparing a store needs none.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from goai.board import WHITE
from goai.coords import NETWORK_SIZE
from goai.features import FeatureSet, encode_into, get_feature_set
from goai.store import GameStore, code_colors_and_indices
from goai.symmetry import NUM_SYMMETRIES, transform_move_indices


@dataclass
class Batch:
    """Positions for training: ``planes`` uint8 (B, C, 19, 19), ``moves`` int64 (B,) move
    indices 0..361, ``values`` float32 (B,) game result for the side to move (+1 win,
    -1 loss, 0 unknown)."""

    planes: np.ndarray
    moves: np.ndarray
    values: np.ndarray
    stream_state: dict | None = None  # where the stream was when this batch's chunk began

    @classmethod
    def empty(cls, size: int, channels: int) -> Batch:
        """A batch of ``size`` positions with uninitialised contents, to be filled in place."""
        return cls(np.empty((size, channels, NETWORK_SIZE, NETWORK_SIZE), np.uint8),
                   np.empty(size, np.int64), np.empty(size, np.float32))


def _encode_positions(store: GameStore, game: int, numbers: np.ndarray, feature_set: FeatureSet,
                      out: Batch, rows: np.ndarray, symmetry: int = 0) -> None:
    """Encode the positions before moves ``numbers`` of ``game`` into rows ``rows`` of ``out``.

    ``numbers`` (sorted move numbers, 0 = before the first move) and ``rows``
    are int arrays of one length; position ``numbers[j]`` goes to row ``rows[j]``
    of ``out.planes`` (planes), ``out.moves`` (the move played there, an index
    0..361) and ``out.values`` (the result for the side to move), all under
    ``symmetry`` (see ``GameStore.replay``). The replay stops after the last
    wanted position.
    """
    if len(numbers) == 0:
        return
    colors, indices = code_colors_and_indices(store.moves[store.game_offsets[game] + numbers])
    out.moves[rows] = transform_move_indices(indices, symmetry)
    black_result = float(store.result[game])
    out.values[rows] = np.where(colors == WHITE, -black_result, black_result)
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
                end = start + self.batch_size
                yield Batch(chunk.planes[start:end], chunk.moves[start:end],
                            chunk.values[start:end], self.state())
            # Positions that did not fill a batch go into the next chunk.
            pending = Batch(chunk.planes[full:].copy(), chunk.moves[full:].copy(),
                            chunk.values[full:].copy())

    def _encode_chunk(self, games: np.ndarray, pending: Batch, feature_set: FeatureSet,
                      rng: np.random.Generator) -> Batch:
        """The sampled positions of ``games`` plus ``pending``, augmented, in shuffled rows."""
        offsets = self.store.game_offsets
        picks = [np.flatnonzero(rng.random(int(offsets[g + 1] - offsets[g])) < self.sample_rate)
                 for g in games]
        held = len(pending.moves)
        rows = rng.permutation(held + sum(len(numbers) for numbers in picks))
        chunk = Batch.empty(len(rows), feature_set.num_channels)
        chunk.planes[rows[:held]] = pending.planes
        chunk.moves[rows[:held]] = pending.moves
        chunk.values[rows[:held]] = pending.values
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
    """Make this (loader) process end when process ``parent`` dies; a DataLoader worker_init_fn.

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


class LoaderStreams(torch.utils.data.IterableDataset):
    """``PositionStream``s for the worker processes of a torch ``DataLoader``.

    With ``workers`` loader processes in a run of ``world`` processes, worker
    ``w`` of rank ``r`` reads shard ``r * workers + w`` of the games, so encoding
    runs beside the network instead of between its steps (``workers=0``: one
    stream, made in the training process). The DataLoader hands
    out batches from the workers in turn, and each batch says which worker made
    it and where that worker's stream stood; ``states`` collects those for the
    checkpoint, and a loader made with them resumes every worker where it was.
    """

    def __init__(self, store: GameStore, feature_set: str, batch_size: int, *, workers: int,
                 rank: int = 0, world: int = 1, states: list[dict | None] | None = None,
                 **stream_options: object) -> None:
        super().__init__()
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

    def __iter__(self) -> Iterator[Batch]:
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        streams = max(self.workers, 1)
        shard = (self.rank * streams + worker, self.world * streams)
        stream = PositionStream(self.store, self.feature_set, self.batch_size, shard=shard,
                                state=self.states[worker], **self.stream_options)
        for batch in stream:
            batch.stream_state = {"worker": worker, **(batch.stream_state or {})}
            yield batch

    def loader(self) -> torch.utils.data.DataLoader:
        """A DataLoader over these streams, one worker process per stream."""
        background = self.workers > 0
        return torch.utils.data.DataLoader(
            self, batch_size=None, num_workers=self.workers,
            prefetch_factor=4 if background else None, persistent_workers=background,
            worker_init_fn=functools.partial(exit_with_parent, os.getpid()) if background
            else None)
