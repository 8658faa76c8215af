"""Supervised training of the policy network on a prepared game store.

``train(config)`` reads top to bottom: set up (device, distributed, data,
model, optimizer, run folder), maybe resume, then loop: batch -> loss ->
step, with metrics (and validation) and checkpoints at intervals. ``_Run``
holds what changes as the run goes (step, positions, time, the metrics
window) and does the resuming, logging and saving; ``goai.learn.run`` holds the
config and the run folder (layout, lock, metrics log).

Resuming (``resume=True``) restores weights, optimizer, step, elapsed time,
learning-rate progress and the data stream's position, and drops metrics lines
written after the checkpoint, so a run killed at any moment (even by SIGKILL)
continues as if it had paused at its last checkpoint. The step that ends a run
(by ``steps`` or ``minutes``) is always logged with a validation; resuming a
finished run trains and logs nothing. Resuming refuses a model file (no
optimizer state) and a checkpoint holding a NaN or infinite value.

No training on NaN: a non-finite loss (read at each metrics line) or weight
(checked before each save) stops the run at once (``TrainingDiverged``, one
line from ``goai train``), leaving the last good checkpoint and model as they
were.

Sessions: ``window_minutes``/``window_steps`` end a session early, saved;
``--resume`` continues it, and since the learning-rate schedule is a function
of the step and of the training time summed over sessions, a run trained in
several windows gets the learning rate of one run at every step.

The GPU is fed ahead of the step (``stream.DeviceFeeder``) and never waited
for between log lines (``TrainStep``).

Distributed: under ``torchrun`` (``WORLD_SIZE`` > 1) each process trains on
its own share of the games with DistributedDataParallel (NCCL on CUDA, gloo
on CPU); rank 0 validates and writes the run directory.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from goai.display.progress import Progress, duration
from goai.learn.run import RunError, RunFolder, TrainConfig
from goai.learn.stream import (
    Batch,
    DeviceFeeder,
    LoaderStreams,
    Targets,
    batch_to_device,
    fixed_positions,
)
from goai.nn.checkpoint import (
    CheckpointError,
    load_model,
    read_checkpoint,
    resolve_model,
    save_checkpoint,
)
from goai.nn.device import resolve_device
from goai.nn.features import get_feature_set
from goai.nn.model import PolicyNet, config_from_preset, count_parameters, with_ownership_heads
from goai.records.store import GameStore, load_split

__all__ = ["LossWeights", "TrainConfig", "TrainStep", "learning_rate", "train"]


def learning_rate(config: TrainConfig, step: int, progress: float) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_fraction * lr`` as progress goes 0 -> 1.

    The warm-up ends at ``warmup_steps`` steps or at ``warmup_fraction`` of the run's
    progress, whichever comes first (0 for either: no warm-up). The fraction scales it to
    the budget: 100 steps are a second on a GPU but, at batch 256 on a CPU, more than a
    one-minute run takes, which would then never reach its learning rate.
    """
    by_steps = (step + 1) / config.warmup_steps if config.warmup_steps else 1.0
    by_progress = progress / config.warmup_fraction if config.warmup_fraction else 1.0
    warm = max(by_steps, by_progress)
    if warm < 1:
        return config.lr * warm
    floor = config.lr * config.min_lr_fraction
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return floor + (config.lr - floor) * cosine


def planes_dtype(device: torch.device) -> torch.dtype:
    """The dtype the planes cross to the network in: bf16 on CUDA (autocast would cast the
    first convolution's input to it anyway; 0/1 planes are exact), float32 elsewhere."""
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def to_tensors(batch: Batch, device: torch.device) -> tuple[torch.Tensor, Targets]:
    """uint8 planes -> float32 channels-last on ``device``; targets -> ``device``."""
    return batch_to_device(batch, device, torch.float32)


@dataclass(frozen=True)
class LossWeights:
    """How much each head's loss counts beside the policy's (which counts 1)."""

    value: float = 0.1
    ownership: float = 0.0
    score: float = 0.0


SCORE_LOSS_SCALE = 20.0  # points: the score loss is a Huber loss on margins / this


def _masked_mean(terms: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``terms`` where ``mask`` (float 0/1, same shape) is 1; 0 for an empty mask.
    No host read: a boolean index would have a data-dependent shape."""
    return (terms * mask).sum() / mask.sum().clamp(min=1)


def losses(model: nn.Module, planes: torch.Tensor, targets: Targets, weights: LossWeights
           ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
    """(total loss, each head's loss, logits), each head's loss counting only the positions
    that have its target:

    * policy: cross-entropy with the move played;
    * value: squared error against the result, decided games only;
    * ownership: per-point cross-entropy of ``(1 + ownership) / 2`` against the final
      owner (1 the side to move, 0 the opponent, 1/2 nobody), labelled games only;
    * score: Huber loss on the final margin in units of ``SCORE_LOSS_SCALE`` points,
      labelled games only.

    Nothing here waits for the device, and under autocast every loss is taken in float32.
    """
    out = model(planes)
    head_losses = {"policy": F.cross_entropy(out.logits.float(), targets.moves)}
    total = head_losses["policy"]
    if out.value is not None:
        known = (targets.values != 0).float()
        head_losses["value"] = _masked_mean((out.value.float() - targets.values) ** 2, known)
        total = total + weights.value * head_losses["value"]
    labelled = torch.isfinite(targets.scores)
    if out.ownership_logits is not None:
        # tanh(z) = 2 sigmoid(2z) - 1: the ownership in [-1, 1] is a probability of owning.
        owner = (targets.ownership.float() + 1) / 2
        per_point = F.binary_cross_entropy_with_logits(2 * out.ownership_logits.float(), owner,
                                                       reduction="none").mean(dim=1)
        head_losses["ownership"] = _masked_mean(per_point, labelled.float())
        total = total + weights.ownership * head_losses["ownership"]
    if out.score is not None:
        margin = torch.where(labelled, targets.scores, torch.zeros_like(targets.scores))
        huber = F.smooth_l1_loss(out.score.float() / SCORE_LOSS_SCALE,
                                 margin / SCORE_LOSS_SCALE, reduction="none")
        head_losses["score"] = _masked_mean(huber, labelled.float())
        total = total + weights.score * head_losses["score"]
    return total, head_losses, out.logits


@torch.no_grad()
def validate(model: nn.Module, batch: Batch, device: torch.device,
             batch_size: int = 512) -> dict[str, float]:
    """Policy loss and top-1 accuracy over fixed positions (no augmentation), in float32;
    with a value head, also ``val_value_mse``: its squared error against the results of
    the positions' decided games (always answering 0 scores 1.0); with an ownership head,
    ``val_ownership_accuracy``: the share of points of labelled positions whose owner
    (sign) it gets right, nobody's points left out; with a score head, ``val_score_mae``
    in points."""
    was_training = model.training
    model.eval()
    sums = {name: torch.zeros((), device=device, dtype=torch.float64)
            for name in ("loss", "correct", "squared", "decided", "owned_right", "owned",
                         "score_error", "labelled")}
    count = 0
    for start in range(0, len(batch.moves), batch_size):
        planes, targets = to_tensors(batch.rows(start, start + batch_size), device)
        out = model(planes)
        sums["loss"] += F.cross_entropy(out.logits.float(), targets.moves, reduction="sum")
        sums["correct"] += (out.logits.argmax(dim=1) == targets.moves).sum()
        count += len(targets.moves)
        if out.value is not None:
            known = targets.values != 0
            sums["squared"] += ((out.value.float() - targets.values) ** 2 * known).sum()
            sums["decided"] += known.sum()
        labelled = torch.isfinite(targets.scores)
        if out.ownership_logits is not None:
            owned = (targets.ownership != 0) & labelled[:, None]
            right = torch.sign(out.ownership_logits) == targets.ownership.float()
            sums["owned_right"] += (right & owned).sum()
            sums["owned"] += owned.sum()
        if out.score is not None:
            error = (out.score.float() - targets.scores).abs()
            sums["score_error"] += torch.where(labelled, error, torch.zeros_like(error)).sum()
            sums["labelled"] += labelled.sum()
    model.train(was_training)
    read = {name: total.item() for name, total in sums.items()}
    figures = {"val_loss": read["loss"] / max(count, 1),
               "val_top1": read["correct"] / max(count, 1)}
    if read["decided"]:
        figures["val_value_mse"] = read["squared"] / read["decided"]
    if read["owned"]:
        figures["val_ownership_accuracy"] = read["owned_right"] / read["owned"]
    if read["labelled"]:
        figures["val_score_mae"] = read["score_error"] / read["labelled"]
    return figures


class TrainStep:
    """One optimizer step, as ``goai train`` takes it and ``goai bench`` times it.

    bf16 autocast on CUDA, channels-last planes, AdamW (fused on CUDA: one
    kernel for all parameters), the model optionally ``torch.compile``d. Each
    head's loss and the policy's top-1 add up on the device; ``read_window()``
    reads them (the one host synchronisation) at log intervals, so the host
    runs ahead of the GPU between logs.
    """

    HEADS = ("policy", "value", "ownership", "score")

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, device: torch.device,
                 weights: LossWeights | float, compile: bool = False) -> None:
        self.model = torch.compile(model) if compile else model
        self.optimizer = optimizer
        self.device = device
        self.weights = weights if isinstance(weights, LossWeights) else LossWeights(weights)
        self._sums = torch.zeros(len(self.HEADS) + 1, device=device)  # head losses, correct
        self._seen = torch.zeros(len(self.HEADS), device=device)  # steps with each head
        self._steps = 0
        self._positions = 0

    def __call__(self, planes: torch.Tensor, targets: Targets, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.device.type == "cuda"):
            loss, head_losses, logits = losses(self.model, planes, targets, self.weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            correct = (logits.argmax(dim=1) == targets.moves).sum()
            zero = torch.zeros((), device=self.device)
            self._sums += torch.stack([*(head_losses.get(name, zero).detach().float()
                                         for name in self.HEADS), correct.float()])
            self._seen += torch.tensor([name in head_losses for name in self.HEADS],
                                       device=self.device, dtype=torch.float32)
        self._steps += 1
        self._positions += len(targets.moves)

    def read_window(self) -> dict[str, float]:
        """Mean loss of each head and top-1 over the steps since the last read (waits for
        them); a head the model lacks is left out."""
        *head_sums, correct = self._sums.tolist()
        seen = self._seen.tolist()
        window = {f"train_{name}_loss": total / max(count, 1)
                  for name, total, count in zip(self.HEADS, head_sums, seen, strict=True)
                  if count}
        window["train_top1"] = correct / max(self._positions, 1)
        self._sums.zero_()
        self._seen.zero_()
        self._steps = self._positions = 0
        return window


def make_optimizer(model: nn.Module, config: TrainConfig,
                   device: torch.device) -> torch.optim.Optimizer:
    """AdamW over the parameters that learn (all but those ``freeze_for_value`` froze)."""
    learning = [parameter for parameter in model.parameters() if parameter.requires_grad]
    return torch.optim.AdamW(learning, lr=config.lr, weight_decay=config.weight_decay,
                             fused=device.type == "cuda")


HEAD_PREFIXES = ("value_", "ownership_")


def freeze_for_value(model: PolicyNet) -> None:
    """Let only the value head (and the ownership and score heads that grow from it) learn
    (``--train value``): every other weight is frozen.

    The caller keeps the model in eval mode, so every batch-norm layer acts as
    the fixed affine map it was trained into (the value head's own scale and
    shift still learn): the policy's output stays exactly as it was. Raises
    ``ValueError`` for a model without a value head.
    """
    if not model.config.value_head:
        raise ValueError("--train value: the model has no value head")
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith(HEAD_PREFIXES))


def with_new_heads(model: PolicyNet) -> PolicyNet:
    """``model``'s trunk and policy head under the pooled value head with ownership and score
    (``model.with_ownership_heads``), those heads freshly initialised."""
    grown = PolicyNet(with_ownership_heads(model.config))
    kept = {name: weight for name, weight in model.state_dict().items()
            if not name.startswith(HEAD_PREFIXES)}
    missing, unexpected = grown.load_state_dict(kept, strict=False)
    assert not unexpected and all(name.startswith(HEAD_PREFIXES) for name in missing)
    return grown.to(next(model.parameters()).device)


def _starting_point(config: TrainConfig, device: torch.device
                    ) -> tuple[TrainConfig, PolicyNet | None]:
    """``config`` with the ``--init`` model's preset and feature set, and that model (with
    new heads for ``--heads ownership``); or ``config`` and None without ``--init``.
    Raises ``CheckpointError`` (a ``ValueError``)."""
    if not config.init:
        return config, None
    loaded = load_model(resolve_model(config.init), device)
    model = loaded.model
    if config.heads == "ownership" and not loaded.config.ownership_head:
        model = with_new_heads(model)
    if config.train == "value" and not model.config.value_head:
        raise ValueError(f"--train value: {config.init} has no value head")
    preset = f"b{loaded.config.blocks}c{loaded.config.filters}"
    return replace(config, preset=preset, feature_set=loaded.feature_set), model


class WeightAverage:
    """An exponential moving average of a model's weights (``--ema DECAY``).

    After step ``n`` (1, 2, ...) the average moves towards the weights by
    ``1 - min(decay, (1 + n) / (10 + n))``: early on it follows the weights
    closely, so it does not keep the random start for thousands of steps.
    Batch-norm statistics are copied, not averaged. ``model`` is the averaged
    network (a copy, in eval mode): what validation runs and model.pt holds.
    """

    def __init__(self, model: PolicyNet, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self._pairs = [(mine, theirs) for mine, theirs in
                       zip(self.model.parameters(), model.parameters(), strict=True)]
        self._buffers = list(zip(self.model.buffers(), model.buffers(), strict=True))

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the average after optimizer step ``step`` (counted from 1)."""
        weight = 1 - min(self.decay, (1 + step) / (10 + step))
        torch._foreach_lerp_([mine for mine, _ in self._pairs],
                             [theirs.detach() for _, theirs in self._pairs], weight)
        mine, theirs = [a for a, _ in self._buffers], [b for _, b in self._buffers]
        if hasattr(torch, "_foreach_copy_"):  # one launch for all, not one per buffer
            torch._foreach_copy_(mine, theirs)
        else:
            for a, b in self._buffers:
                a.copy_(b)


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises torch.distributed under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def _device(config: TrainConfig, world: int) -> torch.device:
    """The device to train on, with torch's threads and kernel choice set for it."""
    device = resolve_device(config.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if config.threads:
        torch.set_num_threads(config.threads)
    if device.type == "cuda":
        # Every batch has the same shape: let cuDNN time its kernels once and keep the fastest.
        torch.backends.cudnn.benchmark = True
    return device


def train(config: TrainConfig) -> dict:
    """Train as configured; returns the last metrics record.

    Raises ``store.StoreError`` (``data`` is no usable store), ``ValueError``
    (unknown preset or feature set; on resume, a preset other than the run's)
    and ``run.RunError`` (``out`` holds a run, or another training uses it)
    before anything is written.
    """
    # --- set up
    rank, world = _distributed()
    device = _device(config, world)
    torch.manual_seed(config.seed + rank)
    random.seed(config.seed + rank)
    train_store = load_split(config.data, "train")
    config, start = _starting_point(config, device)
    model_config = start.config if start else config_from_preset(
        config.preset, get_feature_set(config.feature_set).num_channels)
    folder = RunFolder(config.out)
    if rank == 0:
        folder.open(config)
    feeder = None
    try:
        model = (start or PolicyNet(model_config)).to(device).to(memory_format=torch.channels_last)
        if config.train == "value":
            freeze_for_value(model)
        optimizer = make_optimizer(model, config, device)
        average = WeightAverage(model, config.ema) if config.ema else None
        run = _Run(config, folder, device, rank, world, len(train_store))
        data_state = run.resume(model, optimizer, average) if config.resume else None
        if rank == 0:
            folder.write_config(config)
        streams = LoaderStreams(train_store, config.feature_set, config.batch_size,
                                workers=config.loader_workers, rank=rank, world=world,
                                states=data_state, seed=config.seed,
                                games_per_chunk=config.games_per_chunk,
                                sample_rate=config.sample_rate)
        run.stream_states = list(streams.states)
        val_batch = _validation_batch(config) if rank == 0 else None
        weights = LossWeights(config.value_weight, config.ownership_weight, config.score_weight)
        step = TrainStep(_parallel(model, device, world), optimizer, device, weights,
                         compile=config.compile)
        eval_model = average.model if average else model

        # --- the loop
        bar = Progress("train", total=None if config.minutes else config.steps, unit="steps",
                       enabled=config.show_progress and rank == 0, time_left=False,
                       initial=run.step)
        # --train value: batch norm keeps the statistics the trunk was trained with.
        model.train(config.train == "all")
        if not run.finished():
            feeder = DeviceFeeder(streams.loader(), device, planes_dtype(device))
        for planes, targets, stream_state in feeder or ():
            state = dict(stream_state)
            run.stream_states[state.pop("worker")] = state
            lr = learning_rate(config, run.step, run.progress())
            step(planes, targets, lr)
            done = run.count_step(len(targets.moves), lr)
            if average:
                average.update(run.step)
            stop = done or run.window_over()
            validate_now = stop or run.step % config.eval_every == 0
            if validate_now or run.step % config.log_every == 0:
                run.log(step.read_window(), eval_model if validate_now else None, val_batch)
            bar.update(1, **run.progress_fields())
            if rank == 0 and (stop or run.step % config.checkpoint_every == 0):
                run.save(model, optimizer, average)
            if stop:
                break
        bar.close()
    finally:
        if feeder is not None:
            feeder.close()
        folder.close()
    if world > 1:
        import torch.distributed as dist

        # Rank 0 still validates and saves after the last step; the others wait for it
        # here, so that no rank closes its connections while another may still use them.
        dist.barrier()
        dist.destroy_process_group()
    return run.metrics


def _validation_batch(config: TrainConfig) -> Batch | None:
    """Fixed positions of the store's val split, or None (no split, no games, or 0 asked)."""
    path = Path(config.data) / "val.npz"
    if config.val_positions == 0 or not path.exists():
        return None
    store = GameStore(path)
    return fixed_positions(store, config.feature_set, config.val_positions) if len(store) else None


def _parallel(model: nn.Module, device: torch.device, world: int) -> nn.Module:
    """``model`` wrapped in DistributedDataParallel when ``world`` > 1, else itself."""
    if world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                   else None)


class TrainingDiverged(RunError):
    """A non-finite loss or weight: training stopped, the last good checkpoint and model kept.

    Found where the host reads the device anyway: the losses at each metrics
    line, the weights before each save. The steps since the last good line are
    lost with the weights they made, never saved over a good checkpoint.
    """


def _non_finite(tensors: dict, prefix: str = "") -> str | None:
    """The name of the first floating-point tensor holding NaN or inf in the nested dicts,
    lists and tuples ``tensors`` (a state dict, an optimizer's state), or None."""
    items = tensors.items() if isinstance(tensors, dict) else enumerate(tensors)
    found = [(f"{prefix}{key}", value) for key, value in items]
    floats = [(name, value) for name, value in found
              if isinstance(value, torch.Tensor) and value.is_floating_point()]
    # One host read for all the tensors of a level, then the name only when one is bad.
    if floats and not bool(torch.stack([torch.isfinite(value).all()
                                        for _, value in floats]).all()):
        return next(name for name, value in floats if not bool(torch.isfinite(value).all()))
    for name, value in found:
        if isinstance(value, dict | list | tuple):
            bad = _non_finite(value, f"{name}.")
            if bad is not None:
                return bad
    return None


class _Run:
    """What changes as a run goes, and the resuming, logging and saving of it.

    ``metrics`` is the last metrics record (what ``train`` returns); the
    metrics window (positions, start time) covers the steps since it. A
    *session* is one call of ``train``: a run may take several (``--resume``),
    each ended by the run's end, a kill, or ``window_minutes``/``window_steps``.
    """

    def __init__(self, config: TrainConfig, folder: RunFolder, device: torch.device, rank: int,
                 world: int, train_games: int) -> None:
        self.config, self.folder, self.device = config, folder, device
        self.is_main, self.world, self.train_games = rank == 0, world, train_games
        self.step, self.positions, self.elapsed_before, self.lr = 0, 0, 0.0, config.lr
        self.stream_states: list[dict | None] = []
        self.metrics: dict = {}
        self.last_val_top1: float | None = None
        self.started = time.perf_counter()
        self.session_start_step = 0
        self.saved_step: int | None = None  # the step of the last checkpoint, None: none yet
        self._window_positions = 0
        self._window_start = self.started

    def elapsed(self) -> float:
        """Seconds of training in this run, earlier sessions included."""
        return self.elapsed_before + time.perf_counter() - self.started

    def progress(self) -> float:
        """0 -> 1 over the run: by steps, or by time when ``minutes`` is set and ahead."""
        by_steps = self.step / self.config.steps
        if self.config.minutes:
            return max(by_steps, self.elapsed() / (60 * self.config.minutes))
        return by_steps

    def finished(self) -> bool:
        return self.progress() >= 1.0

    def window_over(self) -> bool:
        """True when this session has run its ``window_minutes`` or ``window_steps``."""
        config = self.config
        if config.window_steps and self.step - self.session_start_step >= config.window_steps:
            return True
        session = time.perf_counter() - self.started
        return bool(config.window_minutes) and session >= 60 * config.window_minutes

    def resume(self, model: nn.Module, optimizer: torch.optim.Optimizer,
               average: WeightAverage | None) -> list | None:
        """Restore from the folder's checkpoint; return the data streams' states (None: fresh).

        The weight average comes back too; a run that had none starts one from
        the restored weights.

        Without a checkpoint (killed before the first) the run starts over, and
        metrics from that attempt are dropped. Raises ``CheckpointError`` (a
        ``ValueError``) for a file that is no training checkpoint (a model file:
        no optimizer state) and for one holding a NaN or infinite value, which
        would train on as NaN.
        """
        checkpoint = self.folder.checkpoint
        if not checkpoint.exists():
            if self.is_main:
                self.folder.keep_metrics_until(0)
            return None
        saved = read_checkpoint(checkpoint)
        training = saved.get("training", {})
        if not isinstance(saved.get("optimizer"), dict) or "data_state" not in saved or not {
                "step", "positions", "elapsed_seconds"} <= training.keys():
            raise CheckpointError(f"{checkpoint}: a model file, not a training checkpoint (no "
                                  "optimizer state or progress); --resume continues from the "
                                  "checkpoint.pt that goai train writes (--init starts a new "
                                  "run from a model)")
        bad = _non_finite({"model": saved["model"], "ema": saved.get("ema") or {},
                           "optimizer": saved["optimizer"]})
        if bad is not None:
            raise CheckpointError(f"{checkpoint}: {bad} holds NaN or infinite values; a run "
                                  "cannot resume from it (start over with --force, or from a "
                                  "good model with --init)")
        if saved["model_config"] != model.config.to_dict():
            raise ValueError(f"{checkpoint}: model config differs from --preset "
                             f"{self.config.preset}; resume with the run's own settings")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if average is not None:
            average.model.load_state_dict(saved.get("ema") or saved["model"])
        self.step = self.session_start_step = self.saved_step = training["step"]
        self.positions = training["positions"]
        self.elapsed_before = training["elapsed_seconds"]
        self.metrics = training.get("last_metrics") or {}
        if self.is_main:
            self.metrics = self.folder.keep_metrics_until(self.step) or self.metrics
        self.last_val_top1 = self.metrics.get("val_top1")
        return saved["data_state"]

    def count_step(self, batch_positions: int, lr: float) -> bool:
        """Count one optimizer step, taken at learning rate ``lr``; True when it ends the run."""
        self.step += 1
        self.lr = lr
        self.positions += batch_positions * self.world
        self._window_positions += batch_positions * self.world
        return self.finished()

    def log(self, window: dict[str, float], model: nn.Module | None,
            val_batch: Batch | None) -> None:
        """Close the metrics window into a record and write it.

        ``window`` holds the training figures of the window (``TrainStep.read_window``,
        which waited for the device, so the clock read here is fair); ``model``,
        when given, is validated on ``val_batch``. Raises ``TrainingDiverged``, writing
        nothing, when a figure of the window is not finite.
        """
        for name, figure in window.items():
            if not math.isfinite(figure):
                self.diverged(f"{name} is {figure}")
        now = time.perf_counter()
        self.metrics = {"step": self.step, "positions": self.positions, "lr": self.lr, **window,
                        "positions_per_second": self._window_positions / (now - self._window_start),
                        "elapsed_seconds": self.elapsed()}
        self._window_positions = 0
        if model is not None and val_batch is not None:
            self.metrics |= validate(model, val_batch, self.device)
            self.last_val_top1 = self.metrics["val_top1"]
        if self.is_main:
            self.folder.append_metrics(self.metrics)
        # Validation is not training: the next window's pace starts after it.
        self._window_start = time.perf_counter()

    def progress_fields(self) -> dict[str, str]:
        """The progress bar's figures: only those measured so far, the loss as logged."""
        fields = {}
        if "train_policy_loss" in self.metrics:
            fields["loss"] = f"{self.metrics['train_policy_loss']:.3f}"
            fields["pos_s"] = f"{self.metrics['positions_per_second']:.0f}"
        if self.last_val_top1 is not None:  # the last validation's, until the next one
            fields["val_top1"] = f"{self.last_val_top1:.3f}"
        left = self.seconds_left()
        if left is not None:
            fields["left"] = duration(left)
        return fields

    def seconds_left(self) -> float | None:
        """Time to the end of the run, at this session's pace (None before its first step)."""
        done = self.step - self.session_start_step
        if done <= 0:
            return None
        session = time.perf_counter() - self.started
        left = (self.config.steps - self.step) * session / done
        if self.config.minutes:
            left = min(left, 60 * self.config.minutes - self.elapsed())
        return max(left, 0.0)

    def save(self, model: PolicyNet, optimizer: torch.optim.Optimizer,
             average: WeightAverage | None) -> None:
        """Write the checkpoint (weights, optimizer, progress, data position, weight average)
        and the model (the weight average when there is one, else the weights).

        Raises ``TrainingDiverged`` instead when a weight is not finite: a NaN
        network never replaces the last good files.
        """
        bad = _non_finite({"model": model.state_dict(),
                           "ema": average.model.state_dict() if average else {}})
        if bad is not None:
            self.diverged(f"weight {bad} is not finite")
        config = self.config
        training = {
            "step": self.step, "positions": self.positions, "elapsed_seconds": self.elapsed(),
            "preset": config.preset, "data": config.data, "train_games": self.train_games,
            "device": str(self.device), "world_size": self.world,
            "batch_size": config.batch_size, "parameters": count_parameters(model),
            "last_metrics": self.metrics, "ema": config.ema,
            "init": config.init, "trained": config.train,
        }
        extra = {"ema": {k: v.detach().cpu() for k, v in average.model.state_dict().items()}
                 } if average else {}
        save_checkpoint(self.folder.checkpoint, model, config.feature_set, training,
                        optimizer=optimizer.state_dict(), data_state=self.stream_states, **extra)
        save_checkpoint(self.folder.model, average.model if average else model,
                        config.feature_set, training)
        self.saved_step = self.step

    def diverged(self, what: str) -> None:
        """Stop the run: raise ``TrainingDiverged`` saying ``what`` and what was kept."""
        kept = (f"{self.folder.checkpoint} (step {self.saved_step}) and {self.folder.model} are "
                "kept as they were; resume from there with a lower --lr"
                if self.saved_step is not None else "no checkpoint had been written")
        raise TrainingDiverged(f"training stopped at step {self.step}: {what} (the run "
                               f"diverged); {kept}")
