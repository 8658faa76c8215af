"""Throughput figures, each next to the limit it is compared with.

* ``bench_data``: on one core, SGF games parsed/s, moves replayed/s (rules
  engine only) and positions encoded/s (replay + the feature planes).
* ``bench_training``: training positions/s of one model on real prepared data
  (loader + network) and on synthetic tensors (the network alone: the limit),
  measured in the same run so the ratio is fair.

These are commands (``goai bench``), not tests: timings on a shared machine
vary, and a test that asserts a speed fails for reasons that are not bugs.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch

from goai.coords import NETWORK_SIZE
from goai.features import encode_into, get_feature_set
from goai.game import replay
from goai.sgf import GameRecord, iter_games


def bench_data(source: str | Path, *, max_games: int = 2000,
               feature_set: str = "default") -> dict:
    """Parse, replay and encode up to ``max_games`` games of ``source`` in this process."""
    start = time.perf_counter()
    records = [item for item in itertools.islice(
        (i for i in iter_games([source]) if isinstance(i, GameRecord)), max_games)]
    parse_seconds = time.perf_counter() - start
    records = [r for r in records if r.size == NETWORK_SIZE]

    start = time.perf_counter()
    moves = 0
    for record in records:
        for _ in replay(record.size, record.komi, record.moves, record.setup_black,
                        record.setup_white, record.handicap):
            moves += 1
    replay_seconds = time.perf_counter() - start

    channels = get_feature_set(feature_set).num_channels
    planes = np.empty((channels, NETWORK_SIZE, NETWORK_SIZE), dtype=np.uint8)
    start = time.perf_counter()
    positions = 0
    for record in records:
        for state, _, _ in replay(record.size, record.komi, record.moves, record.setup_black,
                                  record.setup_white, record.handicap):
            encode_into(planes, state, feature_set)
            positions += 1
    encode_seconds = time.perf_counter() - start
    return {
        "source": str(source),
        "games": len(records),
        "cores": 1,
        "sgf_games_parsed_per_second": len(records) / parse_seconds,
        "moves_replayed_per_second": moves / replay_seconds,
        "positions_encoded_per_second": positions / encode_seconds,
        "feature_set": feature_set,
        "channels": channels,
        "target_positions_encoded_per_second": 20_000,
    }


def bench_training(data: str | Path, *, preset: str = "b6c64", feature_set: str = "default",
                   batch_size: int = 256, steps: int = 20, loader_workers: int = 1,
                   device: str = "auto") -> dict:
    """Training positions/s on real data vs synthetic tensors, same model, same run."""
    from goai.train import TrainConfig, synthetic_throughput, train

    synthetic = synthetic_throughput(preset, feature_set, batch_size, steps, device)
    out = Path(data) / "bench-run"
    config = TrainConfig(data=str(data), out=str(out), preset=preset, feature_set=feature_set,
                         steps=steps + 5, batch_size=batch_size, warmup_steps=1,
                         eval_every=10**9, log_every=5, checkpoint_every=10**9,
                         val_positions=0, loader_workers=loader_workers, device=device,
                         show_progress=False)
    for leftover in ("metrics.jsonl", "checkpoint.pt"):
        (out / leftover).unlink(missing_ok=True)
    train(config)
    # Skip the first log window: it includes starting the loader and the first chunk.
    lines = (out / "metrics.jsonl").read_text().splitlines()
    windows = [json.loads(line) for line in lines][1:]
    real = float(np.mean([w["positions_per_second"] for w in windows])) if windows else 0.0
    return {
        "preset": preset,
        "feature_set": feature_set,
        "batch_size": batch_size,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "loader_workers": loader_workers,
        "synthetic_positions_per_second": synthetic,
        "real_positions_per_second": real,
        "real_over_synthetic": real / synthetic if synthetic else 0.0,
    }
