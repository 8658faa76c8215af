"""Checkpoints: named models, half-precision storage, and one CheckpointError for every bad file.

A checkpoint is not trusted: each test below starts from a good tiny checkpoint,
spoils one thing, and expects a ``CheckpointError`` that says what is wrong,
before anything large is allocated.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from goai import cli
from goai.nn.checkpoint import (
    BUNDLED_MODELS,
    CheckpointError,
    load_model,
    read_checkpoint,
    resolve_model,
    save_checkpoint,
)
from goai.nn.features import get_feature_set
from goai.nn.model import PolicyNet, config_from_preset
from goai.nn.policy import Policy

MODELS = Path(__file__).resolve().parents[1] / "goai" / "models"


def _spoiled(tmp_path: Path, tiny_model_path: Path, spoil: Callable[[dict], None]) -> Path:
    payload = torch.load(tiny_model_path, weights_only=True)
    spoil(payload)
    path = tmp_path / "spoiled.pt"
    torch.save(payload, path)
    return path


def _set(*keys: str, value: object) -> Callable[[dict], None]:
    def spoil(payload: dict) -> None:
        target = payload
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return spoil


def _drop(*keys: str) -> Callable[[dict], None]:
    def spoil(payload: dict) -> None:
        target = payload
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return spoil


def _fill(name: str, value: float) -> Callable[[dict], None]:
    def spoil(payload: dict) -> None:
        payload["model"][name] = torch.full_like(payload["model"][name], value)
    return spoil


def _grow(name: str) -> Callable[[dict], None]:
    def spoil(payload: dict) -> None:
        payload["model"][name] = torch.zeros(payload["model"][name].shape[0] + 1)
    return spoil


SPOILED = {
    # what is wrong                       how the file is spoiled             the error says
    "another format version":            (_set("version", value=2),           "format version 2"),
    "no format tag":                     (_drop("format"),                    "not a goai"),
    "another feature set":               (_set("feature_set", value="nope"),  "nope"),
    "another channel count":             (_set("input_channels", value=9),    "trained with 9"),
    "feature set not a string":          (_set("feature_set", value=3),       "'feature_set'"),
    "weights not a dict":                (_set("model", value=[1, 2]),        "'model'"),
    "config not a dict":                 (_set("model_config", value="b1c8"), "'model_config'"),
    "100,000 blocks":                    (_set("model_config", "blocks", value=100_000),
                                          "blocks = 100000 is outside"),
    "negative filters":                  (_set("model_config", "filters", value=-8),
                                          "filters = -8 is outside"),
    "zero value hidden":                 (_set("model_config", "value_hidden", value=0),
                                          "value_hidden = 0"),
    "blocks as a float":                 (_set("model_config", "blocks", value=1.0),
                                          "blocks must be an integer"),
    "blocks as a bool":                  (_set("model_config", "blocks", value=True),
                                          "blocks must be an integer"),
    "filters as a string":               (_set("model_config", "filters", value="8"),
                                          "filters must be an integer"),
    "value head not a bool":             (_set("model_config", "value_head", value="yes"),
                                          "value_head must be true or false"),
    "an unknown config field":           (_set("model_config", "dropout", value=0.1),
                                          "unknown model_config field"),
    "a missing config field":            (_drop("model_config", "filters"),
                                          "model_config lacks filters"),
    "config channels differ":            (_set("model_config", "input_channels", value=9),
                                          "input_channels = 9"),
    "config bigger than the weights":    (_set("model_config", "filters", value=16),
                                          "shape"),
    "a missing weight":                  (_drop("model", "point_bias"), "missing point_bias"),
    "an extra weight":                   (_set("model", "extra.weight", value=torch.zeros(1)),
                                          "unexpected extra.weight"),
    "a weight of another shape":         (_grow("point_bias"), r"point_bias has shape \(362,\)"),
    "a NaN weight":                      (_fill("stem.0.weight", float("nan")),
                                          "stem.0.weight holds NaN"),
    "an infinite weight":                (_fill("value_out.bias", float("inf")),
                                          "value_out.bias holds NaN or infinite"),
}


@pytest.mark.parametrize("case", SPOILED, ids=list(SPOILED))
def test_spoiled_checkpoints_give_one_clear_error(tmp_path: Path, tiny_model_path: Path,
                                                  case: str, monkeypatch) -> None:
    spoil, message = SPOILED[case]
    path = _spoiled(tmp_path, tiny_model_path, spoil)
    built = []  # the devices networks were built on while loading

    def recording(config):
        network = PolicyNet(config)
        built.append(next(network.parameters()).device.type)
        return network

    monkeypatch.setattr("goai.nn.checkpoint.PolicyNet", recording)
    with pytest.raises(CheckpointError, match=message) as raised:
        load_model(path)
    assert str(path) in str(raised.value)
    # Refused before allocating: at most the shapes were built, on the meta device, so even
    # 100,000 blocks costs nothing (before: a wall-clock budget, which a busy machine broke).
    assert set(built) <= {"meta"}


def test_truncated_file(tmp_path: Path, tiny_model_path: Path) -> None:
    data = tiny_model_path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.pt"
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="not a readable torch checkpoint, or cut short"):
            load_model(path)


def test_files_that_are_not_checkpoints(tmp_path: Path) -> None:
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable torch checkpoint"):
        load_model(text)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(CheckpointError, match="not a goai checkpoint"):
        load_model(plain)
    with pytest.raises(CheckpointError, match="a folder, not a checkpoint"):
        load_model(tmp_path)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_model(tmp_path / "missing.pt")


def test_asking_for_another_feature_set(tiny_model_path: Path) -> None:
    with pytest.raises(CheckpointError, match="trained on feature set 'default'"):
        load_model(tiny_model_path, feature_set="simple")


def test_half_precision_is_half_the_size_and_loads_as_float32(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = PolicyNet(config_from_preset("b2c16", get_feature_set("default").num_channels)).eval()
    save_checkpoint(tmp_path / "full.pt", model, "default")
    save_checkpoint(tmp_path / "half.pt", model, "default", half_precision=True)
    full_size, half_size = ((tmp_path / n).stat().st_size for n in ("full.pt", "half.pt"))
    assert half_size < 0.6 * full_size
    stored = read_checkpoint(tmp_path / "half.pt")["model"]
    assert stored["stem.0.weight"].dtype == torch.float16
    assert stored["stem.1.num_batches_tracked"].dtype == torch.int64  # integers stay as they are
    loaded = load_model(tmp_path / "half.pt").model
    for name, tensor in loaded.state_dict().items():
        original = model.state_dict()[name]
        assert tensor.dtype == original.dtype
        torch.testing.assert_close(tensor, original, rtol=1e-3, atol=1e-3)


def test_half_precision_refuses_weights_float16_cannot_hold(tmp_path: Path) -> None:
    model = PolicyNet(config_from_preset("b1c8", get_feature_set("default").num_channels))
    with torch.no_grad():
        model.point_bias[0] = 1e6
    with pytest.raises(CheckpointError, match="point_bias do not fit in float16"):
        save_checkpoint(tmp_path / "half.pt", model, "default", half_precision=True)
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------- names


def test_bundled_names_resolve_to_the_package_files() -> None:
    assert resolve_model(None) == resolve_model("default") == MODELS / "default.pt"
    assert resolve_model("small") == MODELS / "small.pt"
    assert set(BUNDLED_MODELS) == {"default", "small"}


def test_a_path_is_a_path(tiny_model_path: Path) -> None:
    assert resolve_model(tiny_model_path) == tiny_model_path
    assert resolve_model(str(tiny_model_path)) == tiny_model_path


def test_unknown_names_and_folders_say_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no model 'large': give default, small or the path"):
        resolve_model("large")
    with pytest.raises(CheckpointError, match="is a folder, not a checkpoint file$"):
        resolve_model(tmp_path)
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="did you mean .*checkpoint.pt"):
        resolve_model(tmp_path)


@pytest.mark.parametrize(("name", "preset", "parameters", "new_heads"),
                         [("default", (10, 128), 2_997_133, True),
                          ("small", (4, 48), 201_149, False)])
def test_the_bundled_models(name: str, preset: tuple[int, int], parameters: int,
                            new_heads: bool) -> None:
    """The default carries issue 21's heads (pooled value, ownership, score); the small
    model predates them and keeps its flat value head."""
    policy = Policy(name, device="cpu")
    config = policy.model.config
    assert (config.blocks, config.filters) == preset
    assert sum(p.numel() for p in policy.model.parameters()) == parameters
    assert policy.has_value_head and policy.feature_set == "default"
    assert (config.value_pooling, config.ownership_head, config.score_head) == (new_heads,) * 3
    assert policy.has_ownership_head == new_heads
    assert all(p.dtype == torch.float32 for p in policy.model.parameters())


def test_the_default_model_ships_in_half_precision() -> None:
    stored = read_checkpoint(MODELS / "default.pt")["model"]
    assert {t.dtype for t in stored.values() if t.is_floating_point()} == {torch.float16}
    for name in BUNDLED_MODELS:
        assert (MODELS / f"{name}.md").is_file(), f"{name} has no model card"


def test_cli_model_errors_are_one_line(tmp_path: Path, tiny_model_path: Path) -> None:
    sgf = tmp_path / "game.sgf"
    sgf.write_text("(;GM[1]SZ[19]KM[7.5];B[pd];W[dp];B[pp])")
    spoiled = _spoiled(tmp_path, tiny_model_path, _set("model_config", "blocks", value=10**5))
    for model, message in (("large", "give default, small or the path"),
                           (str(tmp_path), "is a folder"), (str(spoiled), "outside")):
        with pytest.raises(SystemExit, match=message) as raised:
            cli.main(["predict", str(sgf), "--model", model])
        assert "\n" not in str(raised.value.code)


def test_gtp_takes_a_bundled_name_without_a_warning() -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "goai", "gtp", "--model", "small"],
                            input=b"1 name\n2 quit\n", capture_output=True, timeout=120)
    assert result.stdout == b"=1 goai\n\n=2 \n\n"
    assert b"no model" not in result.stderr
