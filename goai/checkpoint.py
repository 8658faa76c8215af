"""Checkpoints that describe themselves.

A checkpoint file is a ``torch.save`` of one dict::

    format        "goai-checkpoint"
    version       CHECKPOINT_VERSION (int)
    model_config  ModelConfig as a dict  -> the network can be rebuilt from the file alone
    feature_set   name of the feature set (features.get_feature_set) the net was trained on
    input_channels the channel count that feature set had at training time
    model         state_dict of the network
    training      free-form metadata: steps, positions seen, data manifest, wall time, ...
    optimizer / scheduler / data_state   only in training checkpoints, for --resume

Loading checks every descriptive field and fails with a message that says what
differs, never silently: a net trained on other planes would play nonsense.
Writes are atomic (temporary file, then ``os.replace``) so a run killed while
saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from goai.features import get_feature_set
from goai.model import ModelConfig, PolicyNet

CHECKPOINT_FORMAT = "goai-checkpoint"
CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a goai checkpoint, or one this version cannot use."""


@dataclass
class LoadedModel:
    model: PolicyNet
    feature_set: str
    config: ModelConfig
    training: dict[str, Any]


def save_checkpoint(path: str | Path, model: PolicyNet, feature_set: str,
                    training: dict[str, Any] | None = None, **extra: Any) -> None:
    """Write a self-describing checkpoint atomically. ``extra`` holds resume state."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_config": model.config.to_dict(),
        "feature_set": feature_set,
        "input_channels": get_feature_set(feature_set).num_channels,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "training": training or {},
        **extra,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint dict, after checking format and version."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a non-checkpoint file
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({error})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a goai checkpoint (no format tag)")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {payload.get('version')}, "
            f"this goai reads version {CHECKPOINT_VERSION}"
        )
    return payload


def load_model(path: str | Path, device: str | torch.device = "cpu",
               feature_set: str | None = None) -> LoadedModel:
    """Rebuild the network from a checkpoint, in eval mode on ``device``.

    ``feature_set``, when given, must match the checkpoint's. Raises
    ``CheckpointError`` when the file is not a goai checkpoint, has another
    format version, names an unknown feature set, or when that feature set now
    has a different channel count than the net was trained with.
    """
    payload = read_checkpoint(path)
    name = payload["feature_set"]
    if feature_set is not None and feature_set != name:
        raise CheckpointError(
            f"{path}: trained on feature set {name!r}, but {feature_set!r} was asked for"
        )
    try:
        channels = get_feature_set(name).num_channels
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{path}: {error}") from None
    if channels != payload["input_channels"]:
        raise CheckpointError(
            f"{path}: feature set {name!r} has {channels} channels here, "
            f"the checkpoint was trained with {payload['input_channels']}"
        )
    config = ModelConfig(**payload["model_config"])
    model = PolicyNet(config)
    model.load_state_dict(payload["model"])
    model.to(device).eval()
    return LoadedModel(model, name, config, payload.get("training", {}))
