"""Supervised training of the policy network on a prepared game store.

``train(config)`` reads top to bottom: set up (device, distributed, data,
model, optimizer), maybe resume, then loop: batch -> loss -> step, with
validation, metrics and checkpoints at intervals.

Run directory layout::

    RUN_DIR/checkpoint.pt    training checkpoint: weights + optimizer + step + data position
    RUN_DIR/model.pt         the latest weights alone (what goai predict / gtp load)
    RUN_DIR/metrics.jsonl    one JSON object per log interval and per validation
    RUN_DIR/config.json      the TrainConfig of the run

Resuming (``resume=True``) restores weights, optimizer, step, elapsed time,
learning-rate progress and the data stream's position, and drops metrics lines
written after the checkpoint, so a run killed at any moment (even by SIGKILL)
continues as if it had paused at its last checkpoint.

Distributed: under ``torchrun`` (``WORLD_SIZE`` > 1) each process trains on
its own share of the games with DistributedDataParallel (NCCL on CUDA, gloo
on CPU); rank 0 validates and writes the run directory.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from goai.checkpoint import read_checkpoint, save_checkpoint
from goai.features import get_feature_set
from goai.model import ModelConfig, PolicyNet, config_from_preset, count_parameters
from goai.progress import Progress
from goai.store import GameStore
from goai.stream import Batch, LoaderStreams, fixed_positions


@dataclass
class TrainConfig:
    """Everything a training run needs; stored as RUN_DIR/config.json."""

    data: str
    out: str
    preset: str = "b6c64"
    feature_set: str = "default"
    steps: int = 10_000
    minutes: float | None = None  # wall-clock budget; the LR schedule follows it when set
    batch_size: int = 256
    lr: float = 2e-3
    min_lr_fraction: float = 0.02
    warmup_steps: int = 100
    weight_decay: float = 1e-4
    value_weight: float = 0.1
    sample_rate: float = 0.5
    games_per_chunk: int = 64
    loader_workers: int = 1  # processes encoding positions beside the network; 0: in-process
    eval_every: int = 500
    log_every: int = 50
    checkpoint_every: int = 200
    val_positions: int = 4096
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    resume: bool = False
    show_progress: bool = True
    extra: dict = field(default_factory=dict)


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA if present, else Apple MPS, else CPU."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def learning_rate(config: TrainConfig, step: int, progress: float) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_fraction * lr`` as progress goes 0 -> 1."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    floor = config.lr * config.min_lr_fraction
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return floor + (config.lr - floor) * cosine


def to_tensors(batch: Batch, device: torch.device) -> tuple[torch.Tensor, ...]:
    """uint8 planes -> float (channels-last on CUDA/CPU), targets -> device.

    The planes cross to the device as uint8 (a quarter of the float bytes) and
    become channels-last floats in one copy there.
    """
    planes = torch.from_numpy(batch.planes).to(device, non_blocking=True)
    planes = planes.to(torch.float32, memory_format=torch.channels_last)
    moves = torch.from_numpy(batch.moves).to(device, non_blocking=True)
    values = torch.from_numpy(batch.values).to(device, non_blocking=True)
    return planes, moves, values


def losses(model: nn.Module, planes: torch.Tensor, moves: torch.Tensor, values: torch.Tensor,
           value_weight: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total loss, policy loss, logits). The value loss counts only decided games."""
    logits, predicted = model(planes)
    policy_loss = F.cross_entropy(logits.float(), moves)
    total = policy_loss
    if predicted is not None and value_weight > 0:
        known = values != 0
        if known.any():
            total = total + value_weight * F.mse_loss(predicted.float()[known], values[known])
    return total, policy_loss, logits


@torch.no_grad()
def validate(model: nn.Module, batch: Batch, device: torch.device,
             batch_size: int = 512) -> dict[str, float]:
    """Policy loss and top-1 accuracy over fixed positions (no augmentation)."""
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    for start in range(0, len(batch.moves), batch_size):
        part = Batch(batch.planes[start : start + batch_size],
                     batch.moves[start : start + batch_size],
                     batch.values[start : start + batch_size])
        planes, moves, _ = to_tensors(part, device)
        logits, _ = model(planes)
        loss_sum += F.cross_entropy(logits.float(), moves, reduction="sum").item()
        correct += (logits.argmax(dim=1) == moves).sum().item()
        count += len(moves)
    model.train()
    return {"val_loss": loss_sum / max(count, 1), "val_top1": correct / max(count, 1)}


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises torch.distributed under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def train(config: TrainConfig) -> dict:
    """Train as configured; returns the last metrics record."""
    # --- set up
    rank, world = _distributed()
    device = pick_device(config.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if config.threads:
        torch.set_num_threads(config.threads)
    if device.type == "cuda":
        # Every batch has the same shape: let cuDNN time its kernels once and keep the fastest.
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(config.seed + rank)
    random.seed(config.seed + rank)
    out = Path(config.out)
    is_main = rank == 0
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(asdict(config), indent=2))

    data = Path(config.data)
    train_store = GameStore(data / "train.npz")
    channels = get_feature_set(config.feature_set).num_channels
    model_config: ModelConfig = config_from_preset(config.preset, channels)
    model = PolicyNet(model_config).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    step, positions, elapsed_before, data_state = 0, 0, 0.0, None

    # --- resume
    checkpoint_path = out / "checkpoint.pt"
    if config.resume and checkpoint_path.exists():
        saved = read_checkpoint(checkpoint_path)
        if saved["model_config"] != model_config.to_dict():
            raise ValueError(f"{checkpoint_path}: model config differs from --preset "
                             f"{config.preset}; resume with the run's own settings")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        step = saved["training"]["step"]
        positions = saved["training"]["positions"]
        elapsed_before = saved["training"]["elapsed_seconds"]
        data_state = saved["data_state"]
        if is_main:
            _truncate_metrics(out / "metrics.jsonl", step)

    training_model: nn.Module = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        training_model = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    streams = LoaderStreams(train_store, config.feature_set, config.batch_size,
                            workers=config.loader_workers, rank=rank, world=world,
                            states=data_state, seed=config.seed,
                            games_per_chunk=config.games_per_chunk,
                            sample_rate=config.sample_rate)
    stream_states = list(streams.states)
    val_batch = None
    if is_main and (data / "val.npz").exists():
        val_store = GameStore(data / "val.npz")
        if len(val_store):
            val_batch = fixed_positions(val_store, config.feature_set, config.val_positions)

    use_amp = device.type == "cuda"
    started = time.perf_counter()
    metrics: dict = {}
    running_loss, running_count, window_start, window_positions = 0.0, 0, started, 0
    last_val_top1 = float("nan")

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - started

    def progress() -> float:
        by_steps = step / config.steps
        if config.minutes:
            return max(by_steps, elapsed() / (60 * config.minutes))
        return by_steps

    def save() -> None:
        training = {
            "step": step, "positions": positions, "elapsed_seconds": elapsed(),
            "preset": config.preset, "data": str(data), "train_games": len(train_store),
            "device": str(device), "world_size": world, "batch_size": config.batch_size,
            "parameters": count_parameters(model), "last_metrics": metrics,
        }
        save_checkpoint(checkpoint_path, model, config.feature_set, training,
                        optimizer=optimizer.state_dict(), data_state=stream_states)
        save_checkpoint(out / "model.pt", model, config.feature_set, training)

    bar = Progress("train", total=config.steps, unit="steps",
                   enabled=config.show_progress and is_main)
    bar.update(step)
    model.train()

    # --- the loop
    for batch in streams.loader():
        if step >= config.steps or progress() >= 1.0:
            break
        state = dict(batch.stream_state)
        stream_states[state.pop("worker")] = state
        lr = learning_rate(config, step, progress())
        for group in optimizer.param_groups:
            group["lr"] = lr
        planes, moves, values = to_tensors(batch, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            loss, policy_loss, _ = losses(training_model, planes, moves, values,
                                          config.value_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        positions += len(moves) * world
        window_positions += len(moves) * world
        running_loss += policy_loss.item()
        running_count += 1

        if step % config.log_every == 0 or step == config.steps:
            now = time.perf_counter()
            metrics = {"step": step, "positions": positions, "lr": lr,
                       "train_policy_loss": running_loss / running_count,
                       "positions_per_second": window_positions / (now - window_start),
                       "elapsed_seconds": elapsed()}
            running_loss, running_count, window_start, window_positions = 0.0, 0, now, 0
            if val_batch is not None and (step % config.eval_every == 0
                                          or step == config.steps):
                metrics |= validate(model, val_batch, device)
            if is_main:
                with (out / "metrics.jsonl").open("a") as log:
                    log.write(json.dumps(metrics) + "\n")
        if "val_top1" in metrics:
            last_val_top1 = metrics["val_top1"]
        bar.update(1, loss=f"{policy_loss.item():.3f}",
                   pos_s=f"{metrics.get('positions_per_second', 0):.0f}",
                   val_top1=f"{last_val_top1:.3f}")
        if is_main and step % config.checkpoint_every == 0:
            save()

    # --- finish
    if val_batch is not None and "val_top1" not in metrics:
        metrics |= {"step": step, "positions": positions} | validate(model, val_batch, device)
        with (out / "metrics.jsonl").open("a") as log:
            log.write(json.dumps(metrics) + "\n")
    bar.close()
    if is_main:
        save()
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    return metrics


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop metrics written after the checkpoint we resume from."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step]
    path.write_text("".join(line + "\n" for line in kept))


def synthetic_throughput(preset: str, feature_set: str, batch_size: int, steps: int,
                         device: str = "auto") -> float:
    """Training positions/s of the same model on random tensors: the model-only limit."""
    dev = pick_device(device)
    channels = get_feature_set(feature_set).num_channels
    model = PolicyNet(config_from_preset(preset, channels)).to(dev)
    model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    batch = Batch(rng.integers(0, 2, (batch_size, channels, 19, 19), dtype=np.uint8),
                  rng.integers(0, 362, batch_size).astype(np.int64),
                  rng.choice([-1.0, 1.0], batch_size).astype(np.float32))
    start = None
    for i in range(steps + 2):
        if i == 2:  # the first steps warm up allocators and kernels
            start = time.perf_counter()
        planes, moves, values = to_tensors(batch, dev)
        loss, _, _ = losses(model, planes, moves, values, 0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch_size / (time.perf_counter() - start)
