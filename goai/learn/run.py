"""A training run without the training: its configuration and its folder.

``TrainConfig`` holds every setting of ``goai train``, each with its default
and help text in one place (the command's options are made from these
fields). ``RunFolder`` owns ``RUN_DIR``: it locks it for one training at a
time, refuses to start over a run unless told to, writes the config and keeps
the metrics log. No torch here, so ``goai --help`` stays fast.

Run directory layout::

    RUN_DIR/checkpoint.pt    training checkpoint: weights + optimizer + step + data position
    RUN_DIR/model.pt         the latest weights alone (what goai predict / gtp load)
    RUN_DIR/metrics.jsonl    one JSON object per log interval (with validation at intervals)
    RUN_DIR/config.json      the TrainConfig of the run
    RUN_DIR/lock             held (an OS file lock) while a training runs here
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

# The CPU is ~100x slower than a GPU at training: with no length given, a CPU run
# is sized by time (b6c64 for the default 10,000 steps would take about 20 hours).
CPU_DEFAULT_MINUTES = 60.0
# What a CPU run with no --preset trains: (budget below, preset, batch size). On 2 cores
# b6c64 at batch 256 took 7 steps in a minute and learned nothing; b2c32 at batch 64 takes
# hundreds of steps a minute: 17% validation top-1 after 18 seconds, and 37.4% on the test
# split after 10 minutes on 2,000 games (scripts/bench_cpu_training.py). From an hour on,
# the recipe of the bundled small model (b4c48, batch 256: 42% in 130 minutes) is worth
# its 4-6 times slower steps.
CPU_RECIPES = ((CPU_DEFAULT_MINUTES, "b2c32", 64), (None, "b4c48", 256))


def cpu_recipe(minutes: float | None) -> tuple[str, int]:
    """(preset, batch size) for a CPU run of ``minutes`` (None: sized by steps)."""
    for below, preset, batch_size in CPU_RECIPES:
        if below is None or (minutes is not None and minutes < below):
            return preset, batch_size
    raise AssertionError("CPU_RECIPES ends with an open-ended row")


def _setting(default: Any, help: str, **metadata: Any) -> Any:
    """A ``TrainConfig`` field: its default and its help text, read by ``goai train --help``."""
    return field(default=default, metadata={"help": help, **metadata})


@dataclass
class TrainConfig:
    """Everything a training run needs; stored as RUN_DIR/config.json.

    Raises ``ValueError`` for a length, size or count that cannot run
    (steps, batch size, intervals, windows below 1; minutes not above 0;
    negative workers; an ``ema`` decay outside [0, 1)), and for ``resume`` with
    ``force``.
    """

    data: str = field(metadata={"help": "output of goai prepare (a folder with train.npz)",
                                "metavar": "DIR"})
    out: str = field(metadata={"help": "folder for checkpoints, the model and metrics",
                               "metavar": "RUN_DIR"})
    preset: str = _setting("b6c64", "network size: bNcM is N blocks of M filters")
    init: str | None = _setting(
        None, "start from this model's weights: default, small or a checkpoint PATH (its network "
              "size and feature set replace --preset and --features)", metavar="MODEL")
    train: str = _setting("all", "which weights learn: all, or value (the value head alone; "
                                 "trunk, policy head and batch-norm statistics stay as --init "
                                 "trained them, so the policy's moves do not change)",
                          metavar="all|value")
    feature_set: str = _setting("default", "feature set: default, simple or ladders",
                                flag="--features")
    steps: int = _setting(10_000, "optimizer steps")
    minutes: float | None = _setting(
        None, "wall-clock budget; the learning-rate schedule ends with it")
    batch_size: int = _setting(256, "positions per optimizer step")
    lr: float = _setting(2e-3, "peak learning rate (AdamW)")
    min_lr_fraction: float = _setting(0.02, "the cosine schedule ends at lr times this")
    warmup_steps: int = _setting(100, "steps of linear learning-rate warm-up, at most "
                                      "--warmup-fraction of the run")
    warmup_fraction: float = _setting(
        0.05, "the warm-up ends after this share of the run (of --steps, or of --minutes) "
              "when that comes before --warmup-steps: a short budget is not spent warming up")
    weight_decay: float = _setting(1e-4, "AdamW weight decay")
    heads: str = _setting(
        "same", "with --init: same keeps the model's heads; ownership gives it the pooled value "
                "head with ownership and score heads (new weights; trunk and policy kept). A new "
                "model always has them", metavar="same|ownership")
    value_weight: float = _setting(0.5, "weight of the value loss (models with a value head)")
    ownership_weight: float = _setting(
        1.5, "weight of the ownership loss (per-point cross-entropy, positions of games with "
             "ownership targets: goai prepare --ownership)")
    score_weight: float = _setting(
        0.5, "weight of the score loss (Huber loss on the final margin / 20 points, same "
             "positions as ownership)")
    sample_rate: float = _setting(0.5, "share of each game's positions used per visit")
    games_per_chunk: int = _setting(64, "games whose positions are shuffled together")
    loader_workers: int = _setting(1, "processes encoding positions beside the network "
                                      "(0: in the training process)")
    ema: float = _setting(0.0, "decay of an exponential moving average of the weights, used "
                               "for validation and in model.pt (0: none; e.g. 0.999)",
                          metavar="DECAY")
    compile: bool = _setting(False, "torch.compile the network (a faster step on a GPU after a "
                                    "minute or so of compiling; eager by default)")
    window_minutes: float | None = _setting(
        None, "end this session after this many minutes, saved; continue it with --resume "
              "(the schedule still spans --minutes/--steps)")
    window_steps: int | None = _setting(
        None, "end this session after this many steps, saved; continue it with --resume")
    eval_every: int = _setting(500, "validate every N steps")
    log_every: int = _setting(50, "write a metrics line every N steps")
    checkpoint_every: int = _setting(200, "save the checkpoint every N steps")
    val_positions: int = _setting(4096, "validation positions (0: no validation)")
    seed: int = _setting(0, "seed for the model, the game order and the sampling")
    device: str = _setting("auto", "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    threads: int = _setting(0, "torch CPU threads (0: torch's default)")
    resume: bool = _setting(False, "continue RUN_DIR/checkpoint.pt where it stopped")
    force: bool = _setting(False, "start over in a RUN_DIR that holds a run: its checkpoint, "
                                  "model and metrics are deleted")
    show_progress: bool = _setting(True, "progress bar on stderr", command_line=False)
    extra: dict = field(default_factory=dict, metadata={"command_line": False})

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "games_per_chunk", "eval_every", "log_every",
                     "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be 1 or more, "
                                 f"not {getattr(self, name)}")
        for name in ("loader_workers", "val_positions", "threads", "warmup_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name.replace('_', ' ')} {getattr(self, name)} is negative")
        for name in ("minutes", "window_minutes"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name.replace('_', ' ')} must be above 0, not {value:g}")
        if self.window_steps is not None and self.window_steps < 1:
            raise ValueError(f"window steps must be 1 or more, not {self.window_steps}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema decay {self.ema:g} is not in [0, 1)")
        if not 0 <= self.warmup_fraction < 1:
            raise ValueError(f"warm-up fraction {self.warmup_fraction:g} is not in [0, 1)")
        if not 0 < self.sample_rate <= 1:
            raise ValueError(f"sample rate {self.sample_rate:g} is not in (0, 1]")
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise ValueError(f"device {self.device!r}: give auto, cpu, cuda, cuda:N or mps")
        if self.heads not in ("same", "ownership"):
            raise ValueError(f"--heads {self.heads}: give same or ownership")
        if self.heads == "ownership" and not self.init:
            raise ValueError("--heads ownership adds heads to a trained model: give --init "
                             "MODEL (a new model has them already)")
        for name in ("value_weight", "ownership_weight", "score_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name.replace('_', ' ')} {getattr(self, name):g} is negative")
        if self.train not in ("all", "value"):
            raise ValueError(f"--train {self.train}: give all or value")
        if self.train == "value" and not self.init:
            raise ValueError("--train value fine-tunes a trained model's value head: give "
                             "--init MODEL")
        if self.resume and self.force:
            raise ValueError("--resume continues the run in RUN_DIR, --force deletes it: "
                             "give one")


class RunError(Exception):
    """A run folder that cannot be used now; the message says why and what to do."""


class RunFolder:
    """``RUN_DIR`` of one training (layout: module doc).

    ``open`` makes the folder, takes its lock (released when ``close`` is
    called, and by the kernel when the process dies, even by ``kill -9``, so a
    stale lock never blocks) and refuses a folder holding a run unless resuming
    or forced. Only the main process of a distributed run opens the folder and
    writes into it.
    """

    RUN_FILES = ("checkpoint.pt", "model.pt", "metrics.jsonl", "config.json")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.checkpoint = self.path / "checkpoint.pt"
        self.model = self.path / "model.pt"
        self.metrics = self.path / "metrics.jsonl"
        self._lock: IO[str] | None = None

    def holds_run(self) -> bool:
        return any((self.path / name).exists() for name in self.RUN_FILES)

    def open(self, config: TrainConfig) -> None:
        """Lock the folder for this training.

        Raises ``RunError`` when ``path`` is a file or cannot be written (a
        read-only file system, a path under a file), another training holds the
        lock, or the folder holds a run and ``config`` neither resumes nor forces.
        With ``force`` the old run's checkpoint, model and metrics are deleted.
        """
        if self.path.exists() and not self.path.is_dir():
            raise RunError(f"{self.path} is a file; --out takes a folder")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunError(f"cannot write to {self.path}: {error.strerror}") from None
        self._lock = _locked(self.path / "lock")
        if self.holds_run() and not config.resume:
            if not config.force:
                self.close()
                raise RunError(f"{self.path} holds a training run; continue it with --resume, "
                               "or delete it and start over with --force")
            for name in self.RUN_FILES:
                (self.path / name).unlink(missing_ok=True)

    def write_config(self, config: TrainConfig) -> None:
        (self.path / "config.json").write_text(json.dumps(asdict(config), indent=2))

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def append_metrics(self, record: dict) -> None:
        with self.metrics.open("a") as log:
            log.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict]:
        """The metrics records, without a last line cut off by a kill mid-write."""
        if not self.metrics.exists():
            return []
        records = []
        for line in self.metrics.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a partial line: the process died while writing it
        return records

    def keep_metrics_until(self, step: int) -> dict:
        """Drop metrics records after ``step`` (and partial lines); return the last kept one.

        A resumed run continues from its checkpoint's step, so lines written
        after it would otherwise appear twice.
        """
        kept = [record for record in self.read_metrics() if record.get("step", 0) <= step]
        tmp = self.metrics.with_name(self.metrics.name + ".tmp")
        tmp.write_text("".join(json.dumps(record) + "\n" for record in kept))
        os.replace(tmp, self.metrics)
        return kept[-1] if kept else {}


def _locked(path: Path) -> IO[str]:
    """``path`` opened and exclusively locked (``flock``; ``msvcrt`` on Windows), or RunError."""
    try:
        handle = path.open("a")
    except OSError as error:  # a folder that exists but cannot be written
        raise RunError(f"cannot write to {path.parent}: {error.strerror}") from None
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise RunError(f"{path.parent} is in use by another goai train (it holds {path}); "
                       "wait for it, or train into another --out") from None
    return handle
