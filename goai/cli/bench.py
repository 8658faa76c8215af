"""Throughput figures, each next to the limit or target it is compared with.

* ``bench_data``: on one core, SGF games parsed/s, moves replayed/s (rules
  engine only), positions encoded/s (replay + the feature planes) and the
  training stream's positions/s (``PositionStream``: replay, encode, random
  symmetry, shuffle, batches), all in this process.
* ``bench_inference``: batched forward positions/s and single-position
  latency of a model through ``Policy``, next to the bare network on random
  tensors (the limit), and the genmove overhead (``Player.decide``) beyond
  the bare forward pass.
* ``bench_training``: training positions/s of one model on real prepared data
  (loader + network) and on synthetic tensors (the network alone: the limit),
  both through ``goai train``'s own step, measured in the same run so the
  ratio is fair, with an estimate of the TFLOP/s the step reaches.
* ``bench_loader``: the loader's own positions/s by number of processes, and
  what handing one batch to the trainer costs (pickle vs shared memory).
* ``bench_prepare``: wall time and bytes written of ``prepare`` over sources
  (minutes for the full collections, so only on request).
* ``peak_rss``: the peak resident memory of this process and its children.

These are commands (``goai bench``), not tests: timings on a shared machine
vary, and a test that asserts a speed fails for reasons that are not bugs.
"""

from __future__ import annotations

import itertools
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from goai.learn.stream import Batch, DeviceFeeder, LoaderStreams, PositionStream, fixed_positions
from goai.nn.checkpoint import save_checkpoint
from goai.nn.features import encode_into, get_feature_set
from goai.nn.model import ModelConfig, PolicyNet, config_from_preset
from goai.nn.policy import Policy, default_model_path
from goai.play.player import Player
from goai.records.prepare import PrepareConfig, prepare
from goai.records.record import GameRecord
from goai.records.sgf import iter_games
from goai.records.store import SPLITS, GameStore, write_games
from goai.rules.coords import NETWORK_SIZE, NUM_POINTS
from goai.rules.game import GameState

# The targets of the fast-data-path issue, reported beside each figure.
TARGET_POSITIONS_PER_SECOND_PER_CORE = 20_000
TARGET_REAL_OVER_SYNTHETIC = 0.9
TARGET_GPU_REAL_OVER_SYNTHETIC = 0.95  # the GPU-pace issue's, for b6c64 and b10c128 on CUDA
TARGET_GENMOVE_OVERHEAD = 0.2
TARGET_PREPARE_SECONDS = 15 * 60
TARGET_STORE_BYTES = 40_000_000
LIMIT_PEAK_RSS_MB = 4096


def bench_data(source: str | Path, *, max_games: int = 2000, feature_set: str = "default",
               stream_positions: int = 20_000) -> dict:
    """Parse, replay and encode up to ``max_games`` games of ``source`` in this process.

    The stream figure runs ``PositionStream`` (defaults: sample rate 0.5,
    symmetries, batches of 256) over a store of the same games for about
    ``stream_positions`` positions, counting from the stream's start (its first
    chunk included), so it is what one loader process feeds a trainer.
    """
    start = time.perf_counter()
    records = [item for item in itertools.islice(
        (i for i in iter_games([source]) if isinstance(i, GameRecord)), max_games)]
    parse_seconds = time.perf_counter() - start
    records = [r for r in records if r.size == NETWORK_SIZE]

    start = time.perf_counter()
    moves = 0
    for record in records:
        for _ in record.replay():
            moves += 1
    replay_seconds = time.perf_counter() - start

    channels = get_feature_set(feature_set).num_channels
    planes = np.empty((channels, NETWORK_SIZE, NETWORK_SIZE), dtype=np.uint8)
    start = time.perf_counter()
    positions = 0
    for record in records:
        for state, _, _ in record.replay():
            encode_into(planes, state, feature_set)
            positions += 1
    encode_seconds = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as folder:
        write_games(records, Path(folder) / "bench.npz")
        store = GameStore(Path(folder) / "bench.npz")
    stream = bench_stream(store, feature_set, positions=stream_positions)
    return {
        "source": str(source),
        "games": len(records),
        "cores": 1,
        "feature_set": feature_set,
        "channels": channels,
        "sgf_games_parsed_per_second": len(records) / parse_seconds,
        "moves_replayed_per_second": moves / replay_seconds,
        "positions_encoded_per_second": positions / encode_seconds,
        "stream_positions_per_second": stream,
        "target_positions_per_second": TARGET_POSITIONS_PER_SECOND_PER_CORE,
    }


def bench_stream(store: GameStore, feature_set: str = "default", *, batch_size: int = 256,
                 positions: int = 20_000) -> float:
    """Positions/s of one ``PositionStream`` over ``store``, from its start.

    The stream encodes a chunk (64 games, ~6,000 positions) before yielding
    its batches, so the clock stops at the last batch of the chunk that passes
    ``positions``: the figure covers whole chunks, not a half-consumed one.
    """
    done, elapsed, chunk = 0, 0.0, None
    start = time.perf_counter()
    for batch in PositionStream(store, feature_set, batch_size):
        if batch.stream_state != chunk:  # a new chunk has just been encoded
            if done >= positions:
                break
            chunk = batch.stream_state
        done += len(batch.moves)
        elapsed = time.perf_counter() - start
    return done / elapsed


def _policy_for(model: str | Path | None, preset: str, feature_set: str,
                folder: Path) -> tuple[Policy, str]:
    """``Policy`` of ``model``, else the bundled model, else an untrained ``preset`` network.

    Speed does not depend on the weights, so the untrained fallback (saved in
    ``folder``) measures the same thing when no trained model is at hand.
    Returns the policy and a name for the report.
    """
    if model is None:
        try:
            model = default_model_path()
        except FileNotFoundError:
            channels = get_feature_set(feature_set).num_channels
            net = PolicyNet(config_from_preset(preset, channels)).eval()
            model = folder / f"untrained-{preset}.pt"
            save_checkpoint(model, net, feature_set, {"note": "untrained, for goai bench"})
            return Policy(model, device="cpu"), f"untrained {preset}"
    # On the CPU whatever the machine has: these are CPU figures (threads), and the bare
    # forward they are compared with runs on CPU tensors.
    return Policy(model, device="cpu"), str(model)


@torch.no_grad()
def _bare_forward_seconds(net: torch.nn.Module, batch: int, channels: int, repeats: int) -> float:
    """Seconds per forward pass of ``net`` on a random float (batch, C, 19, 19) tensor."""
    x = torch.rand(batch, channels, NETWORK_SIZE, NETWORK_SIZE)
    net(x)  # warm-up: allocator and kernel choice
    start = time.perf_counter()
    for _ in range(repeats):
        net(x)
    return (time.perf_counter() - start) / repeats


def bench_inference(source: str | Path, *, model: str | Path | None = None,
                    preset: str = "b6c64", batch_size: int = 256, positions: int = 200,
                    threads: int = 1) -> dict:
    """Forward throughput and latency through ``Policy`` against the bare network.

    Real figures run on positions of the first games of ``source``: batched,
    ``Policy.evaluate_batch`` on encoded planes (numpy in, probabilities out);
    single, ``Policy.move_probabilities`` on each of ``positions`` states
    (encode, forward, mask illegal moves); genmove, ``Player.decide`` (what GTP
    ``genmove`` runs), with the network calls it makes per move. Limits: the
    same network on random tensors. Latencies are medians over the states, each
    state timed for bare forward, single and genmove in turn; overheads are
    against the bare forward of one position. torch runs on ``threads``
    threads (1, as ``goai gtp`` by default).
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with tempfile.TemporaryDirectory() as folder:
            policy, name = _policy_for(model, preset, "default", Path(folder))
            records = []
            for item in iter_games([source]):
                if isinstance(item, GameRecord) and item.size == NETWORK_SIZE:
                    records.append(item)
                if sum(len(r.moves) for r in records) >= max(positions, batch_size):
                    break
            write_games(records, Path(folder) / "positions.npz")
            store = GameStore(Path(folder) / "positions.npz")
        channels = get_feature_set(policy.feature_set).num_channels
        planes = fixed_positions(store, policy.feature_set, batch_size).planes
        states: list[GameState] = []
        for game in range(len(store)):
            states += [state.copy() for state, _, _ in store.replay(game)]
        states = states[:positions]
        for state in states:
            state.superko = True  # as in GTP: legal moves then check positional superko

        policy.evaluate_batch(planes)
        repeats = 3
        start = time.perf_counter()
        for _ in range(repeats):
            policy.evaluate_batch(planes)
        batch_seconds = (time.perf_counter() - start) / repeats
        bare_batch_seconds = _bare_forward_seconds(policy.model, len(planes), channels, repeats)

        bare_single_seconds, single_seconds, genmove_seconds, forwards = _latencies(
            policy, Player(policy), states, torch.rand(1, channels, NETWORK_SIZE, NETWORK_SIZE))
    finally:
        torch.set_num_threads(previous_threads)
    return {
        "model": name,
        "feature_set": policy.feature_set,
        "threads": threads,
        "batch_size": len(planes),
        "batch_positions_per_second": len(planes) / batch_seconds,
        "bare_batch_positions_per_second": len(planes) / bare_batch_seconds,
        "single_position_ms": 1000 * single_seconds,
        "bare_single_position_ms": 1000 * bare_single_seconds,
        "single_position_overhead": single_seconds / bare_single_seconds - 1,
        "genmove_ms": 1000 * genmove_seconds,
        "genmove_forward_passes": forwards / len(states),
        "genmove_overhead": genmove_seconds / bare_single_seconds - 1,
        "target_genmove_overhead": TARGET_GENMOVE_OVERHEAD,
    }


def _latencies(policy: Policy, player: Player, states: list[GameState],
               x: torch.Tensor) -> tuple[float, float, float, int]:
    """Median seconds of a bare forward of ``x``, ``move_probabilities`` and ``decide``,
    and the network calls ``decide`` made in all.

    The three run one after another on each state, so that a busy machine slows
    all of them alike, and medians drop the stalls: the overheads compare like
    with like. One warm-up round first.
    """
    times: list[list[float]] = [[], [], []]
    forwards = 0
    evaluate_batch = policy.evaluate_batch

    def counted(planes: np.ndarray, *args: object) -> tuple:
        nonlocal forwards
        forwards += 1
        return evaluate_batch(planes, *args)

    with torch.no_grad():
        for round_, state in enumerate([states[0], *states]):
            t0 = time.perf_counter()
            policy.model(x)
            t1 = time.perf_counter()
            policy.move_probabilities(state)
            t2 = time.perf_counter()
            policy.evaluate_batch = counted
            player.decide(state)
            policy.evaluate_batch = evaluate_batch
            t3 = time.perf_counter()
            if round_:
                for kind, seconds in enumerate((t1 - t0, t2 - t1, t3 - t2)):
                    times[kind].append(seconds)
    bare, single, genmove = (statistics.median(kind) for kind in times)
    return bare, single, genmove, forwards - 1  # the warm-up round's call


def training_flops_per_position(config: ModelConfig) -> float:
    """Floating-point operations of one training step per position: 3 x the forward pass.

    The forward pass counts 2 operations per multiply-add of every convolution
    (stem, tower, heads) and linear layer, at every one of the 361 points; the
    backward pass costs about twice the forward (gradients of the inputs and of
    the weights). Batch norm, ReLU and the loss are left out: memory-bound and
    small next to the convolutions.
    """
    points = NETWORK_SIZE * NETWORK_SIZE
    f, p = config.filters, config.policy_filters
    multiply_adds = 9 * config.input_channels * f * points  # stem
    multiply_adds += config.blocks * 2 * 9 * f * f * points  # two 3x3 convolutions a block
    multiply_adds += (f * p + p) * points + p  # policy head: 1x1 convolutions, pass logit
    if config.value_head:
        multiply_adds += f * points + points * config.value_hidden + config.value_hidden
    return 3 * 2 * multiply_adds


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed_steps(step, batches, steps: int, warmup: int, device: torch.device) -> float:
    """Seconds for ``steps`` steps of ``step`` on ``batches``, after ``warmup`` untimed ones.

    The device is synchronised before each reading of the clock: CUDA kernels
    run behind the host, and a clock read without waiting times the launches.
    """
    start = 0.0
    for index in range(warmup + steps):
        if index == warmup:
            _synchronize(device)
            start = time.perf_counter()
        planes, targets, _ = next(batches)
        step(planes, targets, 1e-3)
    _synchronize(device)
    return time.perf_counter() - start


def bench_training(data: str | Path, *, preset: str = "b6c64", feature_set: str = "default",
                   batch_size: int = 256, steps: int = 20, loader_workers: int = 1,
                   device: str = "auto", compile: bool = False, warmup: int = 5,
                   games_per_chunk: int = 64) -> dict:
    """Training positions/s on random tensors and on real data: the same step, same model.

    Both run ``goai train``'s own step (``TrainStep``: bf16 autocast and
    channels-last on CUDA, fused AdamW, optionally compiled), ``warmup`` steps
    untimed, then ``steps`` timed with the device synchronised at both ends.
    Synthetic: random planes already on the device (the network alone: the
    limit). Real: batches of ``data``'s train split through ``goai train``'s
    feed (``loader_workers`` processes, shared memory, ``DeviceFeeder``). The
    TFLOP/s figures count the network's convolutions and linear layers
    (``training_flops_per_position``). ``data`` is only read.
    """
    from goai.learn.stream import Targets
    from goai.learn.train import LossWeights, TrainStep, planes_dtype
    from goai.nn.device import resolve_device

    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as goai train: fixed shapes, fastest kernels
    channels = get_feature_set(feature_set).num_channels
    config = config_from_preset(preset, channels)

    def fresh_step() -> TrainStep:
        torch.manual_seed(0)
        model = PolicyNet(config).to(dev).to(memory_format=torch.channels_last).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=dev.type == "cuda")
        return TrainStep(model, optimizer, dev, LossWeights(), compile=compile)

    generator = torch.Generator(device="cpu").manual_seed(0)
    planes = torch.randint(0, 2, (batch_size, channels, NETWORK_SIZE, NETWORK_SIZE),
                           generator=generator, dtype=torch.uint8)
    # Every position labelled: the synthetic step pays for every head's loss.
    targets = Targets(torch.randint(0, 362, (batch_size,), generator=generator).to(dev),
                      (torch.randint(0, 3, (batch_size,), generator=generator) - 1.0).to(dev),
                      (torch.randint(0, 3, (batch_size, NUM_POINTS), generator=generator) - 1
                       ).to(dev, torch.int8),
                      (torch.randn(batch_size, generator=generator) * 20).to(dev))
    random_batch = (planes.to(dev).to(planes_dtype(dev), memory_format=torch.channels_last),
                    targets, None)
    synthetic_seconds = _timed_steps(fresh_step(), itertools.repeat(random_batch), steps,
                                     warmup, dev)

    streams = LoaderStreams(GameStore(Path(data) / "train.npz"), feature_set, batch_size,
                            workers=loader_workers, games_per_chunk=games_per_chunk)
    feeder = DeviceFeeder(streams.loader(), dev, planes_dtype(dev))
    try:
        # Warm up until every loader process has handed over its first batch.
        real_seconds = _timed_steps(fresh_step(), feeder, steps, warmup + loader_workers, dev)
    finally:
        feeder.close()

    positions = steps * batch_size
    synthetic, real = positions / synthetic_seconds, positions / real_seconds
    flops = training_flops_per_position(config)
    stores = [Path(data) / f"{name}.npz" for name in SPLITS]
    return {
        "data": str(data),
        "store_bytes": sum(path.stat().st_size for path in stores if path.exists()),
        "target_store_bytes": TARGET_STORE_BYTES,
        "preset": preset,
        "feature_set": feature_set,
        "batch_size": batch_size,
        "device": str(dev),
        "compile": compile,
        "threads": torch.get_num_threads(),
        "loader_workers": loader_workers,
        "steps_timed": steps,
        "synthetic_positions_per_second": synthetic,
        "real_positions_per_second": real,
        "real_over_synthetic": real / synthetic,
        "target_real_over_synthetic": TARGET_REAL_OVER_SYNTHETIC,
        "target_real_over_synthetic_gpu": TARGET_GPU_REAL_OVER_SYNTHETIC,
        "training_gflop_per_position": flops / 1e9,
        "synthetic_tflops": synthetic * flops / 1e12,
        "real_tflops": real * flops / 1e12,
    }


def bench_loader(data: str | Path, workers: Sequence[int], *, feature_set: str = "default",
                 batch_size: int = 1024, chunks: int = 3, games_per_chunk: int = 128) -> dict:
    """The loader's own positions/s by number of processes, nothing consuming but a loop.

    For each count ``n`` of ``workers`` (0: the stream in this process): start
    ``goai train``'s loader (``SharedBatchLoader``) over ``data``'s train split
    and take batches until every process has handed over its first ``chunks``
    whole chunks. A process encodes a chunk before its first batch, so the
    rate counts whole chunks from the start (process start-up included), from
    the positions of those chunks and the arrival of their last batches;
    ``first_batches_seconds`` is the wait for a first batch of every process.
    Also the cost of handing one batch to the trainer, in this process: pickled
    and unpickled (what a multiprocessing queue or torch's DataLoader did with a
    numpy batch, before the pipe's own copies) against a copy into a shared slot,
    and (``processes_N_trainer_cpu_ms_per_batch``) the CPU this process spent per
    batch it received from the ring.
    """
    store = GameStore(Path(data) / "train.npz")
    figures: dict = {"data": str(data), "batch_size": batch_size,
                     "games_per_chunk": games_per_chunk, "chunks_per_process": chunks,
                     "cpu_cores": os.cpu_count()}
    for count in workers:
        streams = LoaderStreams(store, feature_set, batch_size, workers=count,
                                games_per_chunk=games_per_chunk)
        processes = max(count, 1)
        seen = [0] * processes  # chunks begun by each process
        state: list[object] = [None] * processes
        last_arrival = [0.0] * processes
        positions, first, done, received = 0, None, [0.0] * processes, 0
        start, cpu_start = time.perf_counter(), time.process_time()
        loader = streams.loader()
        for batch in loader:
            received += 1
            now = time.perf_counter()
            worker = batch.stream_state["worker"]
            if batch.stream_state != state[worker]:
                state[worker] = batch.stream_state
                seen[worker] += 1
                if seen[worker] == chunks + 1:
                    done[worker] = last_arrival[worker]
                    if all(seen_ > chunks for seen_ in seen):
                        break
            if seen[worker] <= chunks:
                positions += len(batch.moves)
            last_arrival[worker] = now
            if first is None and all(seen):
                first = now - start
        cpu = time.process_time() - cpu_start
        loader.close()
        rate = positions / (max(done) - start)
        if count:  # the trainer's own CPU per batch (with 0, it encodes them itself)
            figures[f"processes_{count}_trainer_cpu_ms_per_batch"] = 1000 * cpu / received
        figures[f"processes_{count}_positions_per_second"] = rate
        figures[f"processes_{count}_per_process"] = rate / processes
        figures[f"processes_{count}_first_batches_seconds"] = first
    figures |= _handoff_costs(batch_size, get_feature_set(feature_set).num_channels)
    return figures


def _handoff_costs(batch_size: int, channels: int, repeats: int = 8) -> dict:
    """Milliseconds per batch of the trainer's CPU: a numpy ``Batch`` received through a
    ``multiprocessing.Queue`` from another process (pipe reads and unpickling: how the
    batches came before the shared ring, through torch's DataLoader), pickle + unpickle
    alone, against receiving a slot of the ring (copying the batch into the slot is the
    loader process's work: ``bench_loader`` measures the receiving)."""
    import multiprocessing
    import pickle

    rng = np.random.default_rng(0)
    batch = Batch.empty(batch_size, channels)
    batch.planes[:] = rng.integers(0, 2, batch.planes.shape, dtype=np.uint8)
    for target in (batch.moves, batch.values, batch.ownership, batch.scores):
        target[:] = 0
    figures = {"batch_megabytes": batch.planes.nbytes / 1e6}
    if "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")
        queue = context.Queue(maxsize=2)
        sender = context.Process(target=_send_batches, args=(queue, batch, repeats + 1),
                                 daemon=True)
        sender.start()
        queue.get()  # the first one waits for the process to start
        start = time.process_time()
        for _ in range(repeats):
            queue.get()
        figures["queue_receive_cpu_ms_per_batch"] = 1000 * (time.process_time() - start) / repeats
        sender.join()
    start = time.perf_counter()
    for _ in range(repeats):
        pickle.loads(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
    figures["pickle_roundtrip_ms_per_batch"] = 1000 * (time.perf_counter() - start) / repeats
    slot = np.empty_like(batch.planes)
    start = time.perf_counter()
    for _ in range(repeats):
        np.copyto(slot, batch.planes)
    figures["shared_slot_copy_ms_per_batch"] = 1000 * (time.perf_counter() - start) / repeats
    return figures


def _send_batches(queue, batch: Batch, count: int) -> None:
    for _ in range(count):
        queue.put(batch)


def bench_prepare(sources: list[str | Path], *, workers: int = 0) -> dict:
    """Wall time and bytes of a fresh ``prepare`` of ``sources`` (no cached parts)."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        manifest = prepare(sources, folder, PrepareConfig(workers=workers), show_progress=False)
        seconds = time.perf_counter() - start
        store_bytes = sum((Path(folder) / f"{name}.npz").stat().st_size for name in SPLITS)
        part_bytes = sum(p.stat().st_size for p in (Path(folder) / "parts").iterdir())
    return {
        "sources": [str(s) for s in sources],
        "workers": workers or "one per core",
        "games_read": manifest["games_read"],
        "positions": sum(split["positions"] for split in manifest["splits"].values()),
        "wall_seconds": seconds,
        "target_wall_seconds": TARGET_PREPARE_SECONDS,
        "store_bytes": store_bytes,
        "target_store_bytes": TARGET_STORE_BYTES,
        "part_bytes": part_bytes,
    }


def peak_rss() -> dict:
    """Peak resident memory (MB) of this process and of its waited-for children (loaders, workers).

    ``ru_maxrss`` is in KB on Linux (bytes on macOS, where these figures read 1024x too high).
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self_mb": own, "largest_child_mb": children, "limit_mb": LIMIT_PEAK_RSS_MB}
