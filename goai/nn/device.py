"""Which torch device runs the network: ``auto``, ``cpu``, ``cuda`` (``cuda:N``) or ``mps``.

``auto`` takes the fastest device present: CUDA, then Apple's MPS, then the
CPU. A device asked for by name that this machine or this torch build lacks is
an error (``DeviceError``), never a silent fall back to the CPU: someone who
typed ``--device cuda`` wants to know their GPU is not being used.
"""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(ValueError):
    """A device name that is not one of ours, or a device this machine does not have."""


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA if present, else MPS, else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:1"``,
    ``"mps"`` -> that device, after checking it exists.

    Raises ``DeviceError`` for an unknown name, for CUDA or MPS when this
    machine or torch build has none, and for a CUDA index past the last GPU.
    """
    if isinstance(name, torch.device):
        name = str(name)
    text = name.strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind, _, index = text.partition(":")
    if kind not in DEVICE_CHOICES[1:] or (index and (kind != "cuda" or not index.isdigit())):
        raise DeviceError(f"unknown device {name!r}: use one of {', '.join(DEVICE_CHOICES)} "
                          "(or cuda:N)")
    if kind == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU-only torch build" if torch.version.cuda is None else "no CUDA GPU found"
            raise DeviceError(f"--device {name}: CUDA is not available ({build}); "
                              "use --device cpu or auto")
        count = torch.cuda.device_count()
        if index and int(index) >= count:
            raise DeviceError(f"--device {name}: this machine has {count} CUDA device(s), "
                              f"cuda:0 to cuda:{count - 1}")
    if kind == "mps" and not _mps_available():
        raise DeviceError(f"--device {name}: Apple MPS is not available here; "
                          "use --device cpu or auto")
    return torch.device(text)
