"""A run trained in several sessions has one run's schedule; the weight average is what is saved.

``window_steps``/``window_minutes`` end a session early with a checkpoint, and
``--resume`` continues it; the learning rate at every step must equal that of
the same run trained in one go. With ``--ema`` the saved model is the average,
validation measures it, and a resumed run picks the average up again.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch

from goai.learn.train import TrainConfig, learning_rate, train
from goai.nn.checkpoint import load_model, read_checkpoint


@pytest.fixture(scope="module")
def store(make_store) -> Path:
    return make_store(12, val=0.25, test=0.0)


def options(store: Path, out: Path, **changes: object) -> dict:
    return dict(data=str(store), out=str(out), preset="b1c8", batch_size=8, steps=12,
                warmup_steps=3, log_every=1, eval_every=1000, checkpoint_every=1000,
                val_positions=16, games_per_chunk=1, loader_workers=0, threads=1,
                show_progress=False) | changes


def logged_lr(out: Path) -> dict[int, float]:
    return {r["step"]: r["lr"] for r in map(json.loads, (out / "metrics.jsonl").open())}


def test_training_in_three_windows_has_the_learning_rate_of_one_run(store: Path,
                                                                     tmp_path: Path) -> None:
    one = tmp_path / "one"
    train(TrainConfig(**options(store, one)))
    windowed = tmp_path / "windowed"
    sessions = []
    for resume in (False, True, True):
        sessions.append(train(TrainConfig(**options(store, windowed, window_steps=5,
                                                    resume=resume))))
    assert [s["step"] for s in sessions] == [5, 10, 12]
    # Every session's last step was validated and saved.
    assert all("val_top1" in s for s in sessions)
    single, split = logged_lr(one), logged_lr(windowed)
    assert sorted(split) == list(range(1, 13)) == sorted(single)
    assert split == single
    config = TrainConfig(**options(store, one))
    assert [single[step] for step in range(1, 13)] == [
        learning_rate(config, step, step / 12) for step in range(12)]


@pytest.mark.parametrize("steps, warmup_steps, fraction, progress, factor", [
    (10_000, 100, 0.05, 0.0, 1 / 100),     # a long run: the step count ends the warm-up
    (10_000, 100, 0.05, 0.005, 51 / 100),  # (step 50 of 10,000)
    (20, 100, 0.05, 0.0, 0.0 + 1 / 100),   # a short one: its first step is the warm-up's
    (20, 100, 0.05, 0.05, 1.0),            # ... which ends after 5% of it, at step 1
    (10**6, 100, 0.05, 1 / 7, 1.0),        # a minute at 7 steps: full rate from the 2nd
    (10**6, 100, 0.0, 0.0, 1.0),           # no fraction, no warm-up (as --warmup-steps 0)
])
def test_the_warm_up_scales_to_the_budget(steps: int, warmup_steps: int, fraction: float,
                                          progress: float, factor: float,
                                          tmp_path: Path) -> None:
    """Warm-up ends at --warmup-steps or at --warmup-fraction of the run, the first reached."""
    config = TrainConfig(data=str(tmp_path), out=str(tmp_path), steps=steps, lr=1e-3,
                         warmup_steps=warmup_steps, warmup_fraction=fraction)
    step = round(progress * steps) if steps < 10**6 else 1
    lr = learning_rate(config, step, progress)
    if factor < 1:
        assert lr == pytest.approx(1e-3 * factor)
    else:  # warm: on the cosine, which starts at the peak
        assert lr == pytest.approx(1e-3 * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi
                                                                              * progress))))


def test_a_window_in_minutes_ends_the_session_not_the_run(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = train(TrainConfig(**options(store, out, steps=10**6, minutes=5.0,
                                        window_minutes=0.02)))
    assert 1.2 <= first["elapsed_seconds"] < 60
    saved = read_checkpoint(out / "checkpoint.pt")["training"]
    assert saved["step"] == first["step"]
    second = train(TrainConfig(**options(store, out, steps=10**6, minutes=5.0,
                                         window_minutes=0.02, resume=True)))
    # The schedule runs on the training time of both sessions: it goes on from the first.
    assert second["step"] > first["step"]
    assert second["elapsed_seconds"] >= first["elapsed_seconds"] + 1.2
    assert second["lr"] <= first["lr"]


def test_the_weight_average_is_saved_validated_and_resumed(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(TrainConfig(**options(store, out, steps=6, ema=0.9)))
    checkpoint = read_checkpoint(out / "checkpoint.pt")
    assert checkpoint["training"]["ema"] == 0.9
    model = load_model(out / "model.pt").model.state_dict()
    weights, average = checkpoint["model"], checkpoint["ema"]
    name = "stem.0.weight"
    assert torch.equal(model[name], average[name])
    assert not torch.equal(weights[name], average[name])
    # Batch-norm statistics are the model's, copied.
    assert torch.equal(average["stem.1.running_mean"], weights["stem.1.running_mean"])

    train(TrainConfig(**options(store, out, steps=8, ema=0.9, resume=True)))
    resumed = read_checkpoint(out / "checkpoint.pt")
    assert resumed["training"]["step"] == 8
    # Two more steps moved the average from where it was, not from the weights.
    moved = resumed["ema"][name] - average[name]
    assert 0 < moved.abs().max() < (weights[name] - average[name]).abs().max() * 10


def test_compile_wraps_the_network_and_eager_stays_the_default(store: Path,
                                                               tmp_path: Path) -> None:
    from goai.learn.train import TrainStep
    from goai.nn.model import PolicyNet, config_from_preset

    assert TrainConfig(**options(store, tmp_path)).compile is False
    net = PolicyNet(config_from_preset("b1c8", 22))
    optimizer = torch.optim.AdamW(net.parameters())
    assert TrainStep(net, optimizer, torch.device("cpu"), 0.5).model is net
    compiled = TrainStep(net, optimizer, torch.device("cpu"), 0.5, compile=True).model
    # Compiling itself takes minutes on a busy 2-core CPU: run it only when asked.
    assert compiled is not net and compiled._orig_mod is net
    if os.environ.get("GOAI_TEST_COMPILE") == "1":
        metrics = train(TrainConfig(**options(store, tmp_path / "run", steps=2, compile=True)))
        assert metrics["step"] == 2 and metrics["train_policy_loss"] > 0


@pytest.mark.parametrize("field, value, message", [
    ("ema", 1.0, "ema decay"), ("window_steps", 0, "window steps"),
    ("window_minutes", 0.0, "window minutes")])
def test_bad_settings_are_refused(store: Path, tmp_path: Path, field: str, value: object,
                                  message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**options(store, tmp_path, **{field: value}))
