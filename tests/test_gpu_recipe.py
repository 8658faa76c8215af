"""scripts/train_gpu.sh runs end to end on CPU with a tiny budget; loader workers share the games.

On a machine with a GPU the same script picks CUDA, big batches and one loader
process per core but one; here it must install nothing (all is present), train
for a few seconds and leave a checkpoint, a model and metrics in the run
folder. The loader test checks what several workers add: each reads its own
share of the games, and each resumes from its own saved state.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from goai.learn.stream import LoaderStreams, PositionStream
from goai.records.store import GameStore

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_gpu.sh"


@pytest.fixture(scope="module")
def tiny_store(make_store) -> Path:
    """20 sample games, with a fifth of them held out for validation."""
    return make_store(20, val=0.2, test=0.0)


def test_recipe_trains_on_cpu_for_a_tiny_budget(tiny_store: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS="1",
               CUDA_VISIBLE_DEVICES="")
    completed = subprocess.run(
        ["bash", str(SCRIPT), "--minutes", "0.05", "--out", str(run), "--data", str(tiny_store),
         "--preset", "b1c8", "--", "--val-positions", "64", "--threads", "1",
         "--games-per-chunk", "4"],
        capture_output=True, text=True, timeout=120, env=env)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "gpu=0" in completed.stderr
    for name in ("checkpoint.pt", "model.pt", "config.json", "metrics.jsonl"):
        assert (run / name).is_file(), name
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] >= 1 and 0.0 <= last["val_top1"] <= 1.0
    config = json.loads((run / "config.json").read_text())
    assert config["minutes"] == 0.05 and config["batch_size"] == 64


def test_recipe_refuses_a_missing_store(tmp_path: Path) -> None:
    completed = subprocess.run(
        ["bash", str(SCRIPT), "--minutes", "1", "--out", str(tmp_path / "run"), "--data",
         str(tmp_path / "nothing")], capture_output=True, text=True, timeout=30)
    assert completed.returncode == 1 and "no " in completed.stderr


def test_two_loader_workers_read_their_own_games_and_resume_each(tiny_store: Path) -> None:
    store = GameStore(tiny_store / "train.npz")
    options = {"seed": 1, "games_per_chunk": 1}
    batches = list(itertools.islice(
        LoaderStreams(store, "default", 8, workers=2, **options).loader(), 8))
    states: list[dict | None] = [None, None]
    for batch in batches:
        state = dict(batch.stream_state)
        states[state.pop("worker")] = state
    assert all(state is not None for state in states), "both workers made batches"
    # Worker w reads shard w of 2 of the game order: the shards split the games.
    shards = [set(PositionStream(store, "default", 8, shard=(w, 2), **options)._order(0))
              for w in range(2)]
    assert not shards[0] & shards[1] and len(shards[0] | shards[1]) == len(store)

    # A batch's arrays are the loader's shared slot: valid until the next batch is asked for.
    resumed = [b.copy() for b in itertools.islice(LoaderStreams(store, "default", 8, workers=2,
                                                       states=states, **options).loader(), 2)]
    for batch in resumed:
        worker = batch.stream_state["worker"]
        alone = next(iter(PositionStream(store, "default", 8, shard=(worker, 2),
                                         state=states[worker], **options)))
        assert np.array_equal(batch.planes, alone.planes)
        assert np.array_equal(batch.moves, alone.moves)


def test_training_with_two_loader_workers_saves_and_resumes_both(tiny_store: Path,
                                                                  tmp_path: Path) -> None:
    from goai.learn.train import TrainConfig, train
    from goai.nn.checkpoint import read_checkpoint

    options = dict(data=str(tiny_store), out=str(tmp_path / "run"), preset="b1c8",
                   batch_size=8, warmup_steps=1, log_every=2, eval_every=1000,
                   checkpoint_every=2, val_positions=32, games_per_chunk=1, loader_workers=2,
                   threads=1, show_progress=False)
    train(TrainConfig(steps=4, **options))
    saved = read_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert len(saved["data_state"]) == 2 and all(saved["data_state"])
    resumed = train(TrainConfig(steps=6, resume=True, **options))
    assert resumed["step"] == 6 and resumed["positions"] == 6 * 8


def test_the_hour_profile_sets_the_recipe_and_a_window_ends_the_session(
        tiny_store: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS="1",
               CUDA_VISIBLE_DEVICES="")
    completed = subprocess.run(
        ["bash", str(SCRIPT), "--profile", "hour", "--window", "0.02", "--out", str(run),
         "--data", str(tiny_store), "--preset", "b1c8", "--", "--val-positions", "64",
         "--threads", "1", "--games-per-chunk", "4"],
        capture_output=True, text=True, timeout=120, env=env)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "profile=hour" in completed.stderr and "window=0.02" in completed.stderr
    config = json.loads((run / "config.json").read_text())
    assert (config["minutes"], config["window_minutes"]) == (60, 0.02)
    assert (config["ema"], config["value_weight"], config["lr"]) == (0.999, 0.5, 2.8e-3)
    assert config["preset"] == "b1c8"  # the options given win over the profile's
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    # The window ended the session, not the hour: saved, validated, far from the end.
    assert last["elapsed_seconds"] < 60 and "val_top1" in last
    assert (run / "checkpoint.pt").is_file()


def test_an_unknown_profile_is_one_line(tmp_path: Path) -> None:
    completed = subprocess.run(["bash", str(SCRIPT), "--profile", "day", "--minutes", "1",
                                "--out", str(tmp_path / "run")],
                               capture_output=True, text=True, timeout=30)
    assert completed.returncode == 2 and "unknown profile day" in completed.stderr
