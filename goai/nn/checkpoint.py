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

Loading trusts nothing in the file: every descriptive field is checked, the
model config is validated (known fields, right types, sizes within bounds)
before anything is allocated, the weights must have exactly the shapes that
config implies, and must all be finite. Any failure is one ``CheckpointError``
that says what differs, never a traceback from deep in torch: a net trained on
other planes would play nonsense, and a file claiming 100,000 blocks would
allocate gigabytes before failing.

Weights may be stored in half precision (``save_checkpoint(..., half_precision=True)``,
how the bundled models ship: half the bytes); they are upcast to float32 on
load, so the network always computes in float32.

Writes are atomic (temporary file, then ``os.replace``) so a run killed while
saving leaves the previous checkpoint intact.

Models are named where a user gives one (``--model``): ``default`` and
``small`` are the checkpoints shipped in ``goai/models/``, anything else is a
path (``resolve_model``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from goai.nn.features import get_feature_set
from goai.nn.model import ModelConfig, PolicyNet

CHECKPOINT_FORMAT = "goai-checkpoint"
CHECKPOINT_VERSION = 1

# Bundled models by name (files in goai/models/, each with a .md model card).
BUNDLED_MODELS = {"default": "default.pt", "small": "small.pt"}

# Bounds on a checkpoint's ModelConfig, checked before the network is built.
# Far above anything trained for 19x19 Go (KataGo's largest nets are b40c256
# and b18c384), and low enough that a hostile config cannot ask for gigabytes
# before the weights' shapes are compared with it.
CONFIG_BOUNDS = {
    "input_channels": (1, 512),
    "blocks": (0, 80),
    "filters": (1, 1024),
    "policy_filters": (1, 1024),
    "value_hidden": (1, 4096),
    "value_channels": (1, 1024),
}
# Fields added after checkpoints were first written: a file without them gets the
# ModelConfig default, which is the network such a file holds (a flat value head).
LATER_FIELDS = {"value_pooling", "value_channels", "ownership_head", "score_head"}
BOOL_FIELDS = ("value_head", "value_pooling", "ownership_head", "score_head")


class CheckpointError(ValueError):
    """A file that is not a goai checkpoint, or one this version cannot use."""


@dataclass
class LoadedModel:
    model: PolicyNet
    feature_set: str
    config: ModelConfig
    training: dict[str, Any]


def resolve_model(model: str | Path | None = None) -> Path:
    """The checkpoint file ``--model`` names: ``None`` or ``"default"`` -> the bundled
    default, ``"small"`` -> the bundled small model, anything else -> that path.

    Raises ``CheckpointError`` naming the choices when the path does not exist or
    is a folder (a training run's folder gets its ``checkpoint.pt`` suggested).
    The file's contents are checked later, by ``load_model``.
    """
    name = "default" if model is None else str(model)
    choices = f"{', '.join(BUNDLED_MODELS)} or the path of a checkpoint file"
    if name in BUNDLED_MODELS:
        path = Path(str(resources.files("goai") / "models" / BUNDLED_MODELS[name]))
        if not path.is_file():
            raise CheckpointError(f"the bundled model {name!r} is missing from this installation "
                                  f"({path}); give --model {choices}")
        return path
    path = Path(name)
    if path.is_dir():
        hint = (f" (a training run: did you mean {path / 'checkpoint.pt'}?)"
                if (path / "checkpoint.pt").is_file() else "")
        raise CheckpointError(f"model {name!r} is a folder, not a checkpoint file{hint}")
    if not path.exists():
        raise CheckpointError(f"no model {name!r}: give {choices}")
    return path


def save_checkpoint(path: str | Path, model: PolicyNet, feature_set: str,
                    training: dict[str, Any] | None = None, *, half_precision: bool = False,
                    **extra: Any) -> None:
    """Write a self-describing checkpoint atomically. ``extra`` holds resume state.

    ``half_precision`` stores floating-point weights as float16 (half the bytes;
    ``load_model`` upcasts them). Raises ``CheckpointError`` if a weight does not
    fit in float16 (it would become inf).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if half_precision:
        weights = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
        overflow = [k for k, v in weights.items() if v.is_floating_point() and
                    not bool(torch.isfinite(v).all())]
        if overflow:
            raise CheckpointError(f"weights {', '.join(overflow)} do not fit in float16")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_config": model.config.to_dict(),
        "feature_set": feature_set,
        "input_channels": get_feature_set(feature_set).num_channels,
        "model": weights,
        "training": training or {},
        **extra,
    }
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:  # a full disk, Ctrl-C: the old file stays and no partial one
        tmp.unlink(missing_ok=True)
        raise


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint dict, after checking format, version and field types.

    Raises ``CheckpointError`` for a missing file or a folder, a file torch cannot
    read (not a checkpoint, truncated), another format or format version, and
    descriptive fields of the wrong type.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a non-checkpoint file
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{path}: not a readable torch checkpoint, or cut short "
                              f"({reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a goai checkpoint (no format tag)")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {payload.get('version')!r}, "
            f"this goai reads version {CHECKPOINT_VERSION}"
        )
    expected = {"feature_set": str, "input_channels": int, "model_config": dict, "model": dict}
    for key, kind in expected.items():
        value = payload.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointError(f"{path}: field {key!r} is missing or not a {kind.__name__} "
                                  f"(found {type(value).__name__})")
    if not isinstance(payload.get("training", {}), dict):
        raise CheckpointError(f"{path}: field 'training' is not a dict")
    return payload


def validate_config(config: Any) -> ModelConfig:
    """A checkpoint's ``model_config`` dict -> ``ModelConfig``, or ``ValueError`` saying why.

    Every field of ``ModelConfig`` must be present (those in ``LATER_FIELDS``
    may be missing: older files), no other field, integers as integers (not
    bools or floats), the switches bools, sizes within ``CONFIG_BOUNDS``, and
    heads that fit together. Nothing is allocated.
    """
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(config) - known)
    missing = sorted(known - set(config) - LATER_FIELDS)
    if unknown:
        raise ValueError(f"unknown model_config field(s) {', '.join(map(str, unknown))}")
    if missing:
        raise ValueError(f"model_config lacks {', '.join(missing)}")
    for key in BOOL_FIELDS:
        if key in config and not isinstance(config[key], bool):
            raise ValueError(f"model_config {key} must be true or false, not {config[key]!r}")
    for key, (low, high) in CONFIG_BOUNDS.items():
        if key not in config:
            continue
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"model_config {key} must be an integer, not {value!r}")
        if not low <= value <= high:
            raise ValueError(f"model_config {key} = {value} is outside {low}..{high}")
    return ModelConfig(**config)


def _check_weights(model: PolicyNet, weights: dict[str, Any]) -> None:
    """``ValueError`` unless ``weights`` has exactly the model's names and shapes, all finite."""
    expected = model.state_dict()
    unknown = sorted(set(weights) - set(expected))
    missing = sorted(set(expected) - set(weights))
    if missing or unknown:
        what = ([f"missing {', '.join(missing[:3])}"] if missing else []) + \
               ([f"unexpected {', '.join(map(str, unknown[:3]))}"] if unknown else [])
        raise ValueError(f"weights do not match the model config: {'; '.join(what)}")
    for name, tensor in weights.items():
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(f"weight {name} is not a tensor")
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ValueError(f"weight {name} has shape {tuple(tensor.shape)}, the model config "
                             f"implies {tuple(expected[name].shape)}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"weight {name} holds NaN or infinite values")


def load_model(path: str | Path, device: str | torch.device = "cpu",
               feature_set: str | None = None) -> LoadedModel:
    """Rebuild the network from a checkpoint, in float32 and eval mode on ``device``.

    ``feature_set``, when given, must match the checkpoint's. Raises
    ``CheckpointError`` when the file is not a goai checkpoint (or a truncated
    one), has another format version, names an unknown feature set, when that
    feature set now has a different channel count than the net was trained
    with, when the model config is invalid (unknown or missing fields, wrong
    types, sizes out of bounds), when the weights do not fit the config, or
    when a weight is NaN or infinite.
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
    try:
        config = validate_config(payload["model_config"])
        if config.input_channels != channels:
            raise ValueError(f"model_config input_channels = {config.input_channels}, but "
                             f"feature set {name!r} has {channels}")
        # Shapes first, on the meta device (no memory), then the real network.
        with torch.device("meta"):
            _check_weights(PolicyNet(config), payload["model"])
    except ValueError as error:
        raise CheckpointError(f"{path}: {error}") from None
    model = PolicyNet(config)
    weights = {k: v.float() if v.is_floating_point() else v for k, v in payload["model"].items()}
    model.load_state_dict(weights)
    model.to(device).eval()
    return LoadedModel(model, name, config, payload.get("training", {}))
