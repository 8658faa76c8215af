"""resolve_device: auto picks CUDA, then MPS, then CPU; a named device that is absent: error."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from goai import cli
from goai.nn import device as device_module
from goai.nn.device import DeviceError, resolve_device


def _machine(monkeypatch: pytest.MonkeyPatch, *, cuda: int = 0, mps: bool = False) -> None:
    """Pretend this machine has ``cuda`` CUDA devices and MPS or not."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
    monkeypatch.setattr(device_module, "_mps_available", lambda: mps)


@pytest.mark.parametrize(("cuda", "mps", "expected"), [
    (0, False, "cpu"),
    (0, True, "mps"),
    (1, True, "cuda"),
    (2, False, "cuda"),
])
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch, cuda: int,
                                            mps: bool, expected: str) -> None:
    _machine(monkeypatch, cuda=cuda, mps=mps)
    assert resolve_device("auto") == torch.device(expected)
    assert resolve_device() == torch.device(expected)


def test_named_devices_that_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    _machine(monkeypatch, cuda=2, mps=True)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("CUDA") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("mps") == torch.device("mps")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize(("name", "message"), [
    ("cuda", "CUDA is not available"),
    ("cuda:0", "CUDA is not available"),
    ("mps", "MPS is not available"),
    ("gpu", "unknown device 'gpu'"),
    ("cpu:1", "unknown device"),
    ("cuda:x", "unknown device"),
    ("", "unknown device"),
])
def test_absent_or_unknown_devices_are_errors(monkeypatch: pytest.MonkeyPatch, name: str,
                                              message: str) -> None:
    _machine(monkeypatch, cuda=0, mps=False)
    with pytest.raises(DeviceError, match=message):
        resolve_device(name)


def test_cuda_index_past_the_last_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    _machine(monkeypatch, cuda=2)
    with pytest.raises(DeviceError, match="2 CUDA device"):
        resolve_device("cuda:2")


def test_policy_defaults_to_auto(monkeypatch: pytest.MonkeyPatch, tiny_model_path: Path) -> None:
    from goai.nn.policy import Policy

    _machine(monkeypatch, cuda=0, mps=False)
    assert Policy(tiny_model_path).device == torch.device("cpu")


@pytest.mark.parametrize("command", [["evaluate", "{sgf}"], ["predict", "{sgf}"],
                                     ["review", "{sgf}"]])
def test_cli_device_that_is_absent_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                               tiny_model_path: Path, tmp_path: Path,
                                               command: list[str]) -> None:
    _machine(monkeypatch, cuda=0, mps=False)
    sgf = tmp_path / "game.sgf"
    sgf.write_text("(;GM[1]SZ[19]KM[7.5];B[pd];W[dp];B[pp])")
    argv = [part.format(sgf=sgf) for part in command]
    with pytest.raises(SystemExit, match="CUDA is not available") as raised:
        cli.main([*argv, "--model", str(tiny_model_path), "--device", "cuda"])
    assert "\n" not in str(raised.value.code)
