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
  measured in the same run so the ratio is fair.
* ``bench_prepare``: wall time and bytes written of ``prepare`` over sources
  (minutes for the full collections, so only on request).
* ``peak_rss``: the peak resident memory of this process and its children.

These are commands (``goai bench``), not tests: timings on a shared machine
vary, and a test that asserts a speed fails for reasons that are not bugs.
"""

from __future__ import annotations

import itertools
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from goai.checkpoint import save_checkpoint
from goai.coords import NETWORK_SIZE
from goai.features import encode_into, get_feature_set
from goai.game import GameState
from goai.model import PolicyNet, config_from_preset
from goai.player import Player
from goai.policy import Policy, default_model_path
from goai.prepare import PrepareConfig, prepare
from goai.sgf import GameRecord, iter_games
from goai.store import SPLITS, GameStore, write_games
from goai.stream import PositionStream, fixed_positions

# The targets of the fast-data-path issue, reported beside each figure.
TARGET_POSITIONS_PER_SECOND_PER_CORE = 20_000
TARGET_REAL_OVER_SYNTHETIC = 0.9
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


def bench_training(data: str | Path, *, preset: str = "b6c64", feature_set: str = "default",
                   batch_size: int = 256, steps: int = 20, loader_workers: int = 1,
                   device: str = "auto") -> dict:
    """Training positions/s on real data vs synthetic tensors, same model, same run.

    The run goes to a temporary folder: ``data`` is only read.
    """
    from goai.train import TrainConfig, synthetic_throughput, train

    synthetic = synthetic_throughput(preset, feature_set, batch_size, steps, device)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "bench-run"
        config = TrainConfig(data=str(data), out=str(out), preset=preset,
                             feature_set=feature_set, steps=steps + 5, batch_size=batch_size,
                             warmup_steps=1, eval_every=10**9, log_every=5,
                             checkpoint_every=10**9, val_positions=0,
                             loader_workers=loader_workers, device=device, show_progress=False)
        train(config)
        # Skip the first log window: it includes starting the loader and the first chunk.
        lines = (out / "metrics.jsonl").read_text().splitlines()
    windows = [json.loads(line) for line in lines][1:]
    real = float(np.mean([w["positions_per_second"] for w in windows])) if windows else 0.0
    stores = [Path(data) / f"{name}.npz" for name in SPLITS]
    return {
        "data": str(data),
        "store_bytes": sum(path.stat().st_size for path in stores if path.exists()),
        "target_store_bytes": TARGET_STORE_BYTES,
        "preset": preset,
        "feature_set": feature_set,
        "batch_size": batch_size,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "loader_workers": loader_workers,
        "synthetic_positions_per_second": synthetic,
        "real_positions_per_second": real,
        "real_over_synthetic": real / synthetic if synthetic else 0.0,
        "target_real_over_synthetic": TARGET_REAL_OVER_SYNTHETIC,
    }


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
