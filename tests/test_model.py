"""The policy network keeps the 19x19 grid through every layer and ends in 362 logits.

Checked three ways, for several presets and feature sets: on the module list
(no pooling, every convolution stride 1 with same-size padding, no fully
connected layer producing point logits), on the shapes every layer outputs
(forward hooks), and on what a change at one point can reach (each point
logit sees only its neighbourhood, as a pure stack of convolutions does).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from goai.nn.features import FEATURE_SETS, get_feature_set
from goai.nn.model import ModelConfig, PolicyNet, ResidualBlock, config_from_preset
from goai.rules.coords import NETWORK_SIZE, NUM_MOVES, NUM_POINTS

GRID = (NETWORK_SIZE, NETWORK_SIZE)
CASES = [  # (preset, feature set, value head)
    ("b1c8", "default", True),
    ("b2c16", "simple", False),
    ("b3c8", "ladders", True),
    ("b4c48", "default", False),
]


def _model(preset: str, feature_set: str, value_head: bool) -> PolicyNet:
    torch.manual_seed(0)
    config = config_from_preset(preset, get_feature_set(feature_set).num_channels)
    heads = {} if value_head else {"value_head": False, "value_pooling": False,
                                   "ownership_head": False, "score_head": False}
    config = ModelConfig(**{**config.to_dict(), **heads})
    return PolicyNet(config).eval()


def _planes(model: PolicyNet, batch: int = 2) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(0, 2, (batch, model.config.input_channels, *GRID),
                         generator=generator).float()


def test_the_cases_cover_every_feature_set() -> None:
    assert {feature_set for _, feature_set, _ in CASES} == set(FEATURE_SETS)


@pytest.mark.parametrize(("preset", "feature_set", "value_head"), CASES)
def test_no_pooling_and_no_stride_in_the_module_list(preset: str, feature_set: str,
                                                     value_head: bool) -> None:
    model = _model(preset, feature_set, value_head)
    convolutions = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    # stem + two per block + the policy head's two + the value head's one + ownership's one
    assert len(convolutions) == 1 + 2 * model.config.blocks + 2 + 2 * int(value_head)
    for conv in convolutions:
        assert conv.stride == (1, 1) and conv.dilation == (1, 1), conv
        assert conv.padding == (conv.kernel_size[0] // 2, conv.kernel_size[1] // 2), conv
    for module in model.modules():
        assert type(module).__module__ != "torch.nn.modules.pooling", module
        assert not isinstance(module, nn.Upsample | nn.Flatten | nn.Unfold | nn.Fold), module
        # Point logits come from convolutions: no dense layer maps onto the board.
        if isinstance(module, nn.Linear):
            assert module.out_features not in (NUM_POINTS, NUM_MOVES), module


@pytest.mark.parametrize(("preset", "feature_set", "value_head"), CASES)
def test_every_layer_keeps_the_grid_and_the_output_is_362_logits(
        preset: str, feature_set: str, value_head: bool) -> None:
    model = _model(preset, feature_set, value_head)
    shapes: dict[str, tuple[int, ...]] = {}

    def record(name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            shapes[name] = tuple(output.shape)
        return hook

    # Every layer between the input planes and the heads' flattening: convolutions, batch
    # norms, residual blocks and the sequences that hold them (the tower, the heads' convs).
    spatial = (nn.Conv2d, nn.BatchNorm2d, nn.Sequential, ResidualBlock)
    handles = [module.register_forward_hook(record(name))
               for name, module in model.named_modules() if isinstance(module, spatial)]
    planes = _planes(model, batch=3)
    logits, value, ownership_logits, score = model(planes)
    for handle in handles:
        handle.remove()
    assert len(shapes) >= 3 * model.config.blocks  # every block and its convolutions ran
    for name, shape in shapes.items():
        assert len(shape) == 4 and shape[0] == 3 and shape[2:] == GRID, (name, shape)
    assert shapes["tower"] == (3, model.config.filters, *GRID)
    assert logits.shape == (3, NUM_MOVES) and torch.isfinite(logits).all()
    if value_head:
        assert value is not None and value.shape == (3,) and (value.abs() <= 1).all()
        # The ownership map is per point, from a 1x1 convolution of the value features.
        assert ownership_logits.shape == (3, NUM_POINTS) and torch.isfinite(ownership_logits).all()
        assert score.shape == (3,) and torch.isfinite(score).all()
    else:
        assert value is None and ownership_logits is None and score is None


def test_a_model_from_before_the_ownership_heads_keeps_its_flat_value_head() -> None:
    """A config without the new fields (as old checkpoints store it) builds the old network."""
    old = ModelConfig(input_channels=get_feature_set("default").num_channels, blocks=1,
                      filters=8, policy_filters=16, value_head=True, value_hidden=64)
    model = PolicyNet(old).eval()
    assert model.value_hidden.in_features == NUM_POINTS  # one channel per point, flattened
    out = model(_planes(model))
    assert out.value.shape == (2,) and out.ownership_logits is None and out.score is None
    assert out.ownership is None


def test_ownership_and_score_need_the_pooled_value_head() -> None:
    with pytest.raises(ValueError, match="pooled value head"):
        ModelConfig(input_channels=22, value_pooling=False, ownership_head=True)


@pytest.mark.parametrize(("preset", "feature_set"), [("b1c8", "simple"), ("b2c16", "default")])
def test_a_change_at_one_point_reaches_only_its_neighbourhood(preset: str,
                                                              feature_set: str) -> None:
    """A 3x3 stem and B blocks of two 3x3 convolutions see 1 + 2B points each way.

    Pooling, a stride or a dense layer over the board would let the change reach
    every point logit; batch norm in eval mode is a per-channel affine map, so
    it does not.
    """
    model = _model(preset, feature_set, value_head=False)
    reach = 1 + 2 * model.config.blocks
    planes = _planes(model, batch=1)
    changed = planes.clone()
    row, col = 9, 9
    changed[0, :, row, col] = 1 - changed[0, :, row, col]
    with torch.no_grad():
        before = model(planes).logits
        after = model(changed).logits
    moved = (before[0, :NUM_POINTS] - after[0, :NUM_POINTS]).abs() > 1e-6
    distances = [max(abs(point // NETWORK_SIZE - row), abs(point % NETWORK_SIZE - col))
                 for point in torch.nonzero(moved).flatten().tolist()]
    assert distances and max(distances) == reach
    assert (before[0, NUM_POINTS] != after[0, NUM_POINTS]).item()  # pass sees the whole board
