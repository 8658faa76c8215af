"""prepare -> train -> evaluate -> predict on a handful of real games, with a tiny network.

Each step runs the same code as the commands, in seconds. Training here proves the plumbing
(batches, checkpoints, resume, distributed), not accuracy: that is measured by
`goai evaluate` on the shipped model and reported in its model card.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from goai.cli.parser import main
from goai.learn.stream import PositionStream, fixed_positions
from goai.learn.train import TrainConfig, train
from goai.nn.features import get_feature_set
from goai.records.prepare import PrepareConfig, prepare, rank_value, split_of
from goai.records.store import GameStore, decode_move, encode_move, result_value
from goai.rules.board import BLACK, WHITE
from goai.rules.coords import PASS, PASS_INDEX


@pytest.fixture(scope="module")
def prepared(make_store) -> Path:
    """30 sample games, plus one copy of a game (a duplicate), prepared with big val/test shares."""
    return make_store(30, val=0.2, test=0.2, duplicate_first=True)


def test_prepare_counts_splits_and_drops_the_duplicate(prepared: Path) -> None:
    manifest = json.loads((prepared / "manifest.json").read_text())
    assert manifest["games_read"] == 31
    assert manifest["dropped"] == {"duplicate": 1}
    splits = manifest["splits"]
    assert sum(s["games"] for s in splits.values()) == 30
    assert all(splits[name]["games"] > 0 for name in ("train", "val", "test"))
    stores = {name: GameStore(prepared / f"{name}.npz") for name in ("train", "val", "test")}
    assert {name: len(store) for name, store in stores.items()} == {
        name: splits[name]["games"] for name in splits
    }
    assert sum(s.num_positions for s in stores.values()) == sum(
        s["positions"] for s in splits.values()
    )


def test_prepare_rerun_reuses_parts_and_gives_the_same_store(prepared: Path) -> None:
    before = (prepared / "train.npz").read_bytes()
    parts = sorted((prepared / "parts").iterdir())
    stamps = [p.stat().st_mtime_ns for p in parts]
    manifest = json.loads((prepared / "manifest.json").read_text())
    source = manifest["sources"][0]["path"].split(" (")[0]
    prepare([source], prepared, PrepareConfig(val_fraction=0.2, test_fraction=0.2, workers=1),
            overwrite=True, show_progress=False)
    assert [p.stat().st_mtime_ns for p in sorted((prepared / "parts").iterdir())] == stamps
    assert (prepared / "train.npz").read_bytes() == before


def test_stored_games_replay_to_the_recorded_moves(prepared: Path, shared_data: Path) -> None:
    store = GameStore(prepared / "train.npz")
    moves = store.game_moves(0)
    assert moves[0][0] == BLACK and moves[1][0] == WHITE
    replayed = [move for _, _, move in store.replay(0)]
    assert replayed == [move for _, move in moves]


@pytest.mark.parametrize(("color", "move"),
                         [(BLACK, 0), (WHITE, 360), (BLACK, PASS), (WHITE, PASS)])
def test_move_codes_round_trip(color: int, move: int) -> None:
    assert decode_move(encode_move(color, move)) == (color, move)


@pytest.mark.parametrize(("rank", "value"), [("30k", -30), ("1k", -1), ("6d", 6), ("9d", 9),
                                             ("1p", 10), ("", None), ("?", None)])
def test_rank_values(rank: str, value: int | None) -> None:
    assert rank_value(rank) == value


@pytest.mark.parametrize(("result", "value"), [("B+R", 1), ("W+0.5", -1), ("0", 0), (None, 0),
                                               ("Void", 0), ("b+time", 1)])
def test_result_values(result: str | None, value: int) -> None:
    assert result_value(result) == value


def test_split_is_by_hash_fraction() -> None:
    config = PrepareConfig(val_fraction=0.25, test_fraction=0.25)
    assert split_of(0, config) == "test"
    assert split_of(2**62 + 2**61, config) == "val"  # 0.375
    assert split_of(2**63, config) == "train"  # 0.5


def test_position_stream_batches_are_shaped_and_resumable(prepared: Path) -> None:
    store = GameStore(prepared / "train.npz")
    channels = get_feature_set("default").num_channels
    stream = PositionStream(store, "default", 16, seed=3, games_per_chunk=2)
    batches = iter(stream)
    first = next(batches)
    assert first.planes.shape == (16, channels, 19, 19) and first.planes.dtype == np.uint8
    assert first.moves.min() >= 0 and first.moves.max() <= PASS_INDEX
    assert set(np.unique(first.values)) <= {-1.0, 0.0, 1.0}
    # The target is always an empty point (or pass) of the encoded position.
    own, opponent = first.planes[:, 0].reshape(16, -1), first.planes[:, 1].reshape(16, -1)
    for row, move in enumerate(first.moves):
        if move != PASS_INDEX:
            assert own[row, move] == 0 and opponent[row, move] == 0
    # A stream started from a saved state repeats the batches that followed it.
    state = first.stream_state
    following = [next(batches) for _ in range(3)]
    resumed = iter(PositionStream(store, "default", 16, seed=3, games_per_chunk=2, state=state))
    replayed = [next(resumed) for _ in range(4)]
    first_match = next(
        i for i, b in enumerate(replayed) if np.array_equal(b.moves, following[0].moves)
    )
    assert np.array_equal(replayed[first_match].planes, following[0].planes)


def test_fixed_positions_are_the_same_every_call(prepared: Path) -> None:
    store = GameStore(prepared / "val.npz")
    a = fixed_positions(store, "default", 100)
    b = fixed_positions(store, "default", 100)
    assert len(a.moves) == 100
    assert np.array_equal(a.planes, b.planes) and np.array_equal(a.moves, b.moves)


def _tiny_config(prepared: Path, out: Path, **changes: object) -> TrainConfig:
    options = dict(data=str(prepared), out=str(out), preset="b1c8", steps=6, batch_size=16,
                   warmup_steps=2, log_every=2, eval_every=2, checkpoint_every=2,
                   val_positions=64, games_per_chunk=2, loader_workers=0, show_progress=False)
    options.update(changes)
    return TrainConfig(**options)


def test_train_evaluate_predict_end_to_end(prepared: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    metrics = train(_tiny_config(prepared, tmp_path / "run"))
    assert metrics["step"] == 6 and metrics["positions"] == 96
    assert 0.0 <= metrics["val_top1"] <= 1.0 and np.isfinite(metrics["val_loss"])
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [2, 4, 6]
    model = tmp_path / "run" / "model.pt"

    assert main(["evaluate", str(prepared / "test.npz"), "--model", str(model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    test_positions = GameStore(prepared / "test.npz").num_positions
    assert report["positions"] == test_positions
    assert sum(p["positions"] for p in report["by_phase"].values()) == test_positions
    overall = report["overall"]
    assert 0 <= overall["top1"] <= overall["top5"] <= overall["top10"] <= 1

    game = next((prepared.parent).glob("sources*/1*.sgf"))
    assert main(["predict", str(game), "--move", "10", "--model", str(model), "--json"]) == 0
    prediction = json.loads(capsys.readouterr().out)
    assert len(prediction["top"]) == 10 and prediction["after_move"] == 10
    probabilities = [t["probability"] for t in prediction["top"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert prediction["played"]["rank"] >= 1


def test_evaluate_with_eight_symmetries_on_sgf_sources(prepared: Path, tmp_path: Path,
                                                       tiny_model_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    game = next((prepared.parent).glob("sources*/1*.sgf"))
    assert main(["evaluate", str(game), "--model", str(tiny_model_path), "--symmetries", "8",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["symmetries"] == 8 and report["games"] == 1 and report["positions"] > 50


def test_resume_after_sigkill_continues_from_the_checkpoint(prepared: Path,
                                                            tmp_path: Path) -> None:
    run = tmp_path / "run"
    command = [sys.executable, "-m", "goai", "train", "--data", str(prepared), "--out",
               str(run), "--preset", "b1c8", "--batch-size", "8", "--steps", "400",
               "--checkpoint-every", "2", "--eval-every", "1000", "--val-positions", "32",
               "--loader-workers", "0", "--games-per-chunk", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        checkpoint = run / "checkpoint.pt"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (checkpoint.exists() and _step(checkpoint) >= 4):
            time.sleep(0.2)
        assert checkpoint.exists(), "training wrote no checkpoint in time"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    killed_at = _step(checkpoint)
    # The killed trainer held the folder's lock; the kernel released it with the process.
    assert (run / "lock").exists()
    resumed = train(_tiny_config(prepared, run, batch_size=8, steps=killed_at + 4,
                                 log_every=1, eval_every=1000, resume=True))
    assert resumed["step"] == killed_at + 4
    assert resumed["positions"] == (killed_at + 4) * 8
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)), "metrics after the checkpoint must not be duplicated"


def _step(checkpoint: Path) -> int:
    from goai.nn.checkpoint import read_checkpoint

    try:
        return read_checkpoint(checkpoint)["training"]["step"]
    except Exception:  # being replaced at this moment; os.replace makes that brief
        return 0


def test_distributed_training_with_two_gloo_processes(prepared: Path, tmp_path: Path) -> None:
    run = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    completed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "goai", "train", "--data", str(prepared), "--out", str(run), "--preset",
         "b1c8", "--batch-size", "8", "--steps", "4", "--checkpoint-every", "2",
         "--eval-every", "4", "--val-positions", "32", "--loader-workers", "0", "--threads", "1",
         "--games-per-chunk", "2"],
        capture_output=True, text=True, timeout=180, env=env)
    # torchrun prints the failing rank's own traceback first and its summary last.
    assert completed.returncode == 0, completed.stderr[:3000] + "\n...\n" + completed.stderr[-1500:]
    from goai.nn.checkpoint import read_checkpoint

    training = read_checkpoint(run / "checkpoint.pt")["training"]
    assert training["world_size"] == 2 and training["step"] == 4
    assert training["positions"] == 4 * 8 * 2
