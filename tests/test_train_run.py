"""goai train as a user meets it: bad data, a folder holding a run, a lock, a cut-off metrics
line, a finished run resumed, the progress line, the CPU default, and loader processes that
die with their trainer. All on generated games and a 1-block network, in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from games import write_collection

from goai.learn.run import RunError, RunFolder
from goai.learn.train import TrainConfig, train
from goai.records.prepare import PrepareConfig, prepare
from goai.records.store import write_store

TINY = ["--preset", "b1c8", "--batch-size", "8", "--loader-workers", "0", "--val-positions",
        "16", "--games-per-chunk", "2", "--threads", "1"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 generated games, a fifth of them for validation."""
    folder = tmp_path_factory.mktemp("train-run")
    out = folder / "store"
    prepare([write_collection(folder / "sgf", 20)], out,
            PrepareConfig(val_fraction=0.2, test_fraction=0.0, workers=1), show_progress=False)
    return out


def _config(store: Path, run: Path, **changes: object) -> TrainConfig:
    options = dict(data=str(store), out=str(run), preset="b1c8", steps=4, batch_size=8,
                   warmup_steps=1, log_every=2, eval_every=2, checkpoint_every=2,
                   val_positions=16, games_per_chunk=2, loader_workers=0, threads=1,
                   show_progress=False)
    options.update(changes)
    return TrainConfig(**options)


def _steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


# ----------------------------------------------------------------- data that is no store


def _sgf_folder(tmp_path: Path) -> Path:
    return write_collection(tmp_path / "games", 2)


def _sgf_file(tmp_path: Path) -> Path:
    return _sgf_folder(tmp_path) / "000.sgf"


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "nothing-here"


def _empty_store(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    write_store(tmp_path / "empty" / "train.npz", [])
    return tmp_path / "empty"


def _not_a_store(tmp_path: Path) -> Path:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "train.npz").write_bytes(b"not a zip")
    return tmp_path / "junk"


@pytest.mark.parametrize(("make", "reason"), [
    (_sgf_folder, "holds SGF games, not a game store"),
    (_sgf_file, "holds SGF games, not a game store"),
    (_missing, "no such folder"),
    (_empty_store, "holds no games"),
    (_not_a_store, "is not a readable game store"),
])
def test_data_that_is_no_store_is_one_line_naming_prepare_and_writes_nothing(
        tmp_path: Path, run_goai, make, reason: str) -> None:
    data = make(tmp_path)
    run = tmp_path / "run"
    for extra in ([], ["--epochs", "1"]):
        code, out, err = run_goai("train", "--data", str(data), "--out", str(run), *TINY, *extra)
        assert code != 0 and out == ""
        assert len(err.strip().splitlines()) == 1 and reason in err and "goai prepare" in err
        assert not run.exists()


# ----------------------------------------------------------------- the options


def test_train_options_are_trainconfig_fields_with_their_defaults(run_goai) -> None:
    from goai.cli.parser import build_parser

    fields = [f for f in dataclasses.fields(TrainConfig) if f.metadata.get("command_line", True)]
    args = build_parser().parse_args(["train", "--data", "d", "--out", "o", "--batch-size",
                                      "32", "--features", "simple", "--minutes", "2.5",
                                      "--resume"])
    assert {f.name for f in fields} <= set(vars(args))
    assert (args.batch_size, args.feature_set, args.minutes, args.resume) == (32, "simple",
                                                                              2.5, True)
    # What was not given stays None, so TrainConfig's default is the one that applies.
    assert args.lr is None and args.force is None and args.steps is None
    code, out, _ = run_goai("train", "--help")
    assert code == 0
    for f in fields:
        if f.default not in (dataclasses.MISSING, None, False):
            assert f"(default: {f.default})" in " ".join(out.split()), f.name


# ----------------------------------------------------------------- the run folder


def test_a_folder_holding_a_run_is_refused_without_resume_or_force(store: Path, tmp_path: Path,
                                                                   run_goai) -> None:
    run = tmp_path / "run"
    assert run_goai("train", "--data", str(store), "--out", str(run), "--steps", "4",
                    "--log-every", "2", *TINY)[0] == 0
    before = (run / "metrics.jsonl").read_text()
    code, _, err = run_goai("train", "--data", str(store), "--out", str(run), "--steps", "2",
                            *TINY)
    assert code != 0 and "--resume" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1
    assert (run / "metrics.jsonl").read_text() == before
    # --force starts over: only the new run's lines, and its checkpoint.
    assert run_goai("train", "--data", str(store), "--out", str(run), "--steps", "2",
                    "--log-every", "1", "--force", *TINY)[0] == 0
    assert _steps(run) == [1, 2]
    code, _, err = run_goai("train", "--data", str(store), "--out", str(run), "--resume",
                            "--force", *TINY)
    assert code != 0 and "give one" in err


def test_a_locked_folder_is_refused_and_free_again_when_released(store: Path, tmp_path: Path,
                                                                 run_goai) -> None:
    run = tmp_path / "run"
    holder = RunFolder(run)
    holder.open(_config(store, run))  # another training, as far as the lock can tell
    try:
        code, _, err = run_goai("train", "--data", str(store), "--out", str(run), "--resume",
                                "--steps", "2", *TINY)
        assert code != 0 and "in use by another goai train" in err
        assert not (run / "checkpoint.pt").exists()
    finally:
        holder.close()
    assert run_goai("train", "--data", str(store), "--out", str(run), "--resume",
                    "--steps", "2", *TINY)[0] == 0


def test_resuming_with_another_preset_is_refused_and_keeps_the_run(store: Path, tmp_path: Path,
                                                                    run_goai) -> None:
    run = tmp_path / "run"
    train(_config(store, run, steps=2))
    config = (run / "config.json").read_text()
    code, _, err = run_goai("train", "--data", str(store), "--out", str(run), "--resume",
                            "--steps", "4", *TINY[2:], "--preset", "b2c8")
    assert code != 0 and "model config differs" in err
    assert (run / "config.json").read_text() == config and _steps(run) == [2]


def test_a_cut_off_metrics_line_is_dropped_on_resume(store: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(_config(store, run, steps=4))
    with (run / "metrics.jsonl").open("a") as log:
        log.write('{"step": 5, "positions": 4')  # killed mid-write
    resumed = train(_config(store, run, steps=6, resume=True))
    assert resumed["step"] == 6
    assert _steps(run) == [2, 4, 6]


def test_resuming_a_finished_run_appends_nothing(store: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    finished = train(_config(store, run, steps=4))
    before = (run / "metrics.jsonl").read_text()
    again = train(_config(store, run, steps=4, resume=True))
    assert (run / "metrics.jsonl").read_text() == before
    assert again["step"] == finished["step"] == 4 and again["val_top1"] == finished["val_top1"]


def test_the_last_step_is_logged_with_validation_whatever_the_interval(store: Path,
                                                                       tmp_path: Path) -> None:
    run = tmp_path / "run"
    last = train(_config(store, run, steps=5, log_every=2, eval_every=100))
    assert _steps(run) == [2, 4, 5] and last["step"] == 5 and "val_top1" in last


# ----------------------------------------------------------------- what the user sees


@pytest.mark.parametrize("length", [{"steps": 6}, {"steps": 10**6, "minutes": 0.03}])
def test_progress_shows_measured_figures_the_logged_loss_and_time_left(
        store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], length: dict) -> None:
    last = train(_config(store, tmp_path / "run", show_progress=True, **length))
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and all("nan" not in line and "pos_s 0 " not in line for line in lines)
    assert all(line.startswith("train: ") for line in lines)
    final = lines[-1]
    assert f"loss {last['train_policy_loss']:.3f}" in final
    assert f"val_top1 {last['val_top1']:.3f}" in final
    assert " left " in final + " "


def test_on_the_cpu_with_no_length_given_the_run_is_sized_by_time(
        store: Path, tmp_path: Path, run_goai, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("goai.learn.run.CPU_DEFAULT_MINUTES", 0.02)
    run = tmp_path / "run"
    code, out, err = run_goai("train", "--data", str(store), "--out", str(run), "--device",
                              "cpu", *TINY)
    assert code == 0 and "stopping after 0.02 minutes" in err
    config = json.loads((run / "config.json").read_text())
    assert config["minutes"] == 0.02 and config["steps"] == 10_000
    assert json.loads(out)["step"] < 10_000


def test_on_the_cpu_with_no_preset_a_network_that_learns_there_is_chosen_and_named(
        store: Path, tmp_path: Path, run_goai, monkeypatch: pytest.MonkeyPatch) -> None:
    from goai.learn.run import CPU_RECIPES

    # The choice itself, for a short run, is measured by scripts/bench_cpu_training.py.
    (_, short_preset, short_batch), (_, long_preset, long_batch) = CPU_RECIPES
    no_preset = [word for word in TINY if word not in ("--preset", "b1c8", "--batch-size", "8")]
    run = tmp_path / "short"
    code, _, err = run_goai("train", "--data", str(store), "--out", str(run), "--device", "cpu",
                            "--minutes", "0.01", *no_preset)
    assert code == 0, err
    assert (f"on the CPU with no --preset: {short_preset} at batch {short_batch}, which learns "
            "within 0.01 minutes there (--preset and --batch-size choose)") in err
    config = json.loads((run / "config.json").read_text())
    assert (config["preset"], config["batch_size"]) == (short_preset, short_batch)
    # A batch size given stays; a run sized by steps gets the longer recipe.
    run = tmp_path / "steps"
    code, _, err = run_goai("train", "--data", str(store), "--out", str(run), "--device", "cpu",
                            "--steps", "1", "--batch-size", "8", *no_preset)
    assert code == 0 and f"no --preset: {long_preset} at batch 8, " in err
    assert json.loads((run / "config.json").read_text())["preset"] == long_preset
    # A preset given: nothing chosen, nothing said.
    code, _, err = run_goai("train", "--data", str(store), "--out", str(tmp_path / "given"),
                            "--device", "cpu", "--steps", "1", *TINY)
    assert code == 0 and "no --preset" not in err


def test_on_the_cpu_torch_threads_leave_the_loader_its_cores(store: Path, tmp_path: Path,
                                                               run_goai) -> None:
    no_threads = [word for word in TINY if word not in ("--threads", "1")]
    run = tmp_path / "run"
    code, _, err = run_goai("train", "--data", str(store), "--out", str(run), "--device", "cpu",
                            "--steps", "1", *no_threads)
    threads = max(1, (os.cpu_count() or 1) - 0)  # TINY has --loader-workers 0
    assert code == 0 and json.loads((run / "config.json").read_text())["threads"] == threads
    assert f"goai train: {threads} torch thread" in err and "beside 0 loader processes" in err


def test_plot_draws_the_learning_curve_into_a_run_folder_it_makes(store: Path, tmp_path: Path,
                                                                  run_goai) -> None:
    """The README's recipe: --plot runs/mine/curve.png while runs/mine does not exist yet."""
    run = tmp_path / "runs" / "mine"
    code, _, err = run_goai("train", "--data", str(store), "--out", str(run), "--device", "cpu",
                            "--steps", "4", "--log-every", "2", "--eval-every", "2",
                            "--plot", str(run / "curve.png"), *TINY)
    assert code == 0, err
    assert (run / "curve.png").read_bytes()[:4] == b"\x89PNG"
    assert f"learning curve: {run / 'curve.png'}" in err
    code, _, err = run_goai("train", "--data", str(store), "--out", str(tmp_path / "other"),
                            "--steps", "1", "--plot", str(tmp_path / "nowhere" / "c.png"), *TINY)
    assert code == 1 and "no folder" in err and not (tmp_path / "other").exists()


# ----------------------------------------------------------------- loader processes


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent (PID 1 in a container may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_loader_processes_die_with_a_killed_trainer(store: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    command = [sys.executable, "-m", "goai", "train", "--data", str(store), "--out", str(run),
               "--steps", "100000", "--checkpoint-every", "1", "--eval-every", "100000",
               *TINY[:4], "--loader-workers", "1", "--val-positions", "16", "--threads", "1"]
    trainer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    loaders: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (run / "checkpoint.pt").exists():
            time.sleep(0.2)
        assert (run / "checkpoint.pt").exists(), "training made no step in time"
        loaders = _children(trainer.pid)
        assert loaders, "the trainer runs its loader in a child process"
    finally:
        trainer.send_signal(signal.SIGKILL)
        trainer.wait()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(pid) for pid in loaders):
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in loaders), "a loader outlived its trainer"
        # The loader shared the trainer's lock (forked with it): gone with both of them. Polled,
        # not read once: on a loaded box a loader forked after the snapshot above is still
        # being torn down by its death signal when the first attempt comes.
        deadline = time.monotonic() + 30
        while True:
            holder = RunFolder(run)
            try:
                holder.open(_config(store, run, resume=True))
                break
            except RunError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        holder.close()
    finally:
        for pid in loaders:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_without_pdeathsig_a_watcher_thread_ends_the_orphan() -> None:
    # A parent forks a child that arms exit_with_parent as on macOS (no prctl), prints the
    # child's pid and dies; the child, sleeping, must notice within seconds.
    script = (
        "import os, sys, time\n"
        "from goai.learn.stream import exit_with_parent\n"
        "parent = os.getpid()\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    sys.platform = 'darwin'\n"
        "    exit_with_parent(parent)\n"
        "    time.sleep(60)\n"
        "    os._exit(0)\n"
        "print(child, flush=True)\n"
        "time.sleep(0.5)\n"
        "os._exit(0)\n")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=60)
    child = int(completed.stdout.split()[0])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.2)
        assert not _alive(child), "the orphan outlived its parent"
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)


# ----------------------------------------------------------------- no training on NaN


def _spoil_with_nan(path: Path, field: str = "model") -> None:
    """Put a NaN into the first floating-point tensor of the checkpoint's ``field``."""
    import torch

    payload = torch.load(path, weights_only=True)
    tensors = payload[field] if field == "model" else payload[field]["state"][0]
    name = next(key for key, value in tensors.items()
                if isinstance(value, torch.Tensor) and value.is_floating_point()
                and value.dim() > 0)
    tensors[name].view(-1)[0] = float("nan")
    torch.save(payload, path)


@pytest.mark.parametrize("field", ["model", "optimizer"])
def test_resume_refuses_a_checkpoint_holding_nan(store: Path, tmp_path: Path, run_goai,
                                                 field: str) -> None:
    # Before: the run resumed, logged train_policy_loss NaN for every step, exited 0 and
    # wrote a NaN model.pt that every loader then refused.
    run = tmp_path / "run"
    train(_config(store, run, steps=2))
    _spoil_with_nan(run / "checkpoint.pt", field)
    model = (run / "model.pt").read_bytes()
    code, out, err = run_goai("train", "--data", str(store), "--out", str(run), "--resume",
                              "--steps", "4", "--log-every", "1", *TINY)
    assert code == 1 and out == "" and "holds NaN or infinite values" in err
    assert len(err.strip().splitlines()) == 1
    assert (run / "model.pt").read_bytes() == model and _steps(run) == [2]


def test_a_non_finite_loss_stops_training_and_keeps_the_last_good_files(
        store: Path, tmp_path: Path, run_goai, monkeypatch: pytest.MonkeyPatch) -> None:
    import goai.learn.train

    run = tmp_path / "run"
    lr = goai.learn.train.learning_rate
    # From step 5 on the learning rate is NaN: the step makes every weight NaN, and the
    # loss of the next one is NaN. Checkpoints at steps 2 and 4 are good.
    monkeypatch.setattr(goai.learn.train, "learning_rate",
                        lambda config, step, progress: float("nan") if step >= 4
                        else lr(config, step, progress))
    code, out, err = run_goai("train", "--data", str(store), "--out", str(run), "--steps", "10",
                              "--log-every", "2", "--checkpoint-every", "2", *TINY)
    assert code == 1 and out == ""
    message = err.strip().splitlines()[-1]
    assert message.startswith("goai train: training stopped at step 6: train_policy_loss is nan")
    assert "(step 4)" in message and "kept" in message
    assert _steps(run) == [2, 4]  # nothing written for the NaN steps
    from goai.nn.checkpoint import load_model, read_checkpoint

    load_model(run / "model.pt")  # finite: the loaders take it
    assert read_checkpoint(run / "checkpoint.pt")["training"]["step"] == 4


def test_resume_from_a_model_file_is_one_line(store: Path, tmp_path: Path, run_goai) -> None:
    # Before: KeyError: 'optimizer'.
    run = tmp_path / "run"
    train(_config(store, run, steps=2))
    (run / "checkpoint.pt").write_bytes((run / "model.pt").read_bytes())
    code, out, err = run_goai("train", "--data", str(store), "--out", str(run), "--resume",
                              "--steps", "4", *TINY)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "a model file, not a training checkpoint" in err


def test_an_out_folder_that_cannot_be_written_is_one_line(store: Path, tmp_path: Path,
                                                          run_goai,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    a_file = tmp_path / "a-file"
    a_file.write_text("")
    code, out, err = run_goai("train", "--data", str(store), "--out", str(a_file / "run"),
                              "--steps", "2", *TINY)
    assert code == 1 and err.strip() == (f"goai train: cannot write to {a_file / 'run'}: "
                                         "Not a directory")

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    code, out, err = run_goai("train", "--data", str(store), "--out", str(tmp_path / "run"),
                              "--steps", "2", *TINY)
    assert code == 1 and err.strip() == (f"goai train: cannot write to {tmp_path / 'run'}: "
                                         "Read-only file system")
