"""The policy network: a pooling-free residual CNN over 19x19 feature planes.

Shape of the computation (N = batch, C = input planes, F = filters)::

    planes (N, C, 19, 19) float
      -> stem: 3x3 conv C->F, batch norm, ReLU                    (N, F, 19, 19)
      -> B residual blocks: [3x3 conv, BN, ReLU, 3x3 conv, BN] + skip, ReLU
      -> policy head: 1x1 conv F->P, BN, ReLU, 1x1 conv P->1, + per-point bias
         = 361 point logits                                       (N, 361)
         pass logit: linear map of the head's per-channel board mean (N, 1)
      -> logits (N, 362)   [points in coords' flat order, then pass]
      -> value head (optional), one of two designs:
         flat (``value_pooling`` off; models trained before ownership):
           1x1 conv F->1, ReLU, linear 361->V, ReLU, linear V->1, tanh  (N,)
         pooled (KataGo's): 1x1 conv F->K, BN, ReLU = value features  (N, K, 19, 19)
           -> global mean and max over the board (N, 2K) -> linear 2K->V, ReLU,
              linear V->1 (+1 for the score): value = tanh (N,), score = 20 x (N,)
           -> ownership (optional): 1x1 conv K->1 on the value features = 361
              ownership logits (N, 361); ownership = tanh(logit), +1 = the side to move's
      All of them from the side to move's view: value = expected result in [-1, 1],
      score = expected final margin in points (komi included), ownership = who ends
      up owning each point.

Why this shape: a 3x3 convolution sees a local shape and shares its weights
across the board, because a ladder, an eye or a cut means the same thing
everywhere; stacking blocks widens what each output sees (the stem and B
blocks of two 3x3 convolutions see 1 + 2B points each way: a square of 4B+3,
the whole board from B = 9 on). There is no pooling and no stride, so every
point keeps its own activation to the end, and the point logits come from
convolutions, not from a fully connected layer over the flattened board. The
only global summary is the board mean feeding the single pass logit, which
has no point of its own to sit on.

The value head pools, unlike the policy head: who is winning is one number
for the whole board, and squeezing the trunk to one channel per point and a
dense layer over the 361 of them (the flat head) learnt little from one result
bit a game. The pooled head reads K channels per point, summed up by mean and
max, and learns ownership and score from the same features, 361 targets a
position: what KataGo showed makes a value worth searching with. The ownership
map stays per point (a 1x1 convolution, no pooling), so it keeps where things are.

Convolutions use zero padding; the ``ones`` feature plane tells the net where
the edge is.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
from torch import nn

from goai.rules.coords import NUM_POINTS


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network (stored in every checkpoint)."""

    input_channels: int
    blocks: int = 6
    filters: int = 64
    policy_filters: int = 32
    value_head: bool = True
    value_hidden: int = 64
    # The heads of the ownership design (module docstring). Off in checkpoints written
    # before it, which lack these fields and so load as the flat value head they have.
    value_pooling: bool = False
    value_channels: int = 32
    ownership_head: bool = False
    score_head: bool = False

    def __post_init__(self) -> None:
        if (self.ownership_head or self.score_head) and not (self.value_head
                                                             and self.value_pooling):
            raise ValueError("ownership and score heads grow from the pooled value head: "
                             "they need value_head and value_pooling")

    def to_dict(self) -> dict:
        return asdict(self)


SCORE_SCALE = 20.0  # points per unit of the score head's linear output


class NetOutput(NamedTuple):
    """What the network says about a batch of positions, all for the side to move.

    ``logits`` (N, 362) move logits; ``value`` (N,) in [-1, 1] or None;
    ``ownership_logits`` (N, 361) or None (``ownership`` = their tanh, +1 = owned
    by the side to move at the end); ``score`` (N,) expected final margin in points,
    or None. The logits, not the tanh, are kept so the loss is a stable
    cross-entropy.
    """

    logits: torch.Tensor
    value: torch.Tensor | None
    ownership_logits: torch.Tensor | None = None
    score: torch.Tensor | None = None

    @property
    def ownership(self) -> torch.Tensor | None:
        return None if self.ownership_logits is None else torch.tanh(self.ownership_logits)


PRESETS = ("b4c48", "b6c64", "b6c96", "b10c128", "b15c192", "b20c256")
_PRESET_PATTERN = re.compile(r"^b(\d+)c(\d+)$")


def config_from_preset(preset: str, input_channels: int) -> ModelConfig:
    """``"b6c64"`` -> 6 residual blocks of 64 filters. Any ``bNcM`` is accepted."""
    match = _PRESET_PATTERN.match(preset)
    if match is None:
        raise ValueError(f"unknown preset {preset!r}: use bNcM, e.g. one of {', '.join(PRESETS)}")
    blocks, filters = int(match.group(1)), int(match.group(2))
    return ModelConfig(
        input_channels=input_channels,
        blocks=blocks,
        filters=filters,
        policy_filters=max(16, filters // 2),
        value_pooling=True,
        value_channels=max(8, min(32, filters // 4)),
        ownership_head=True,
        score_head=True,
    )


def with_ownership_heads(config: ModelConfig) -> ModelConfig:
    """``config`` with the pooled value head, ownership and score (the trunk unchanged)."""
    return ModelConfig(**{**config.to_dict(), "value_head": True, "value_pooling": True,
                          "value_channels": max(8, min(32, config.filters // 4)),
                          "ownership_head": True, "score_head": True})


def _conv_bn(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a skip connection. (N,F,19,19) -> same."""

    def __init__(self, filters: int) -> None:
        super().__init__()
        self.first = _conv_bn(filters, filters, 3)
        self.second = _conv_bn(filters, filters, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.first(x))
        return torch.relu(x + self.second(out))


class PolicyNet(nn.Module):
    """Residual tower with a convolutional policy head and an optional value head."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        f, p = config.filters, config.policy_filters
        self.stem = _conv_bn(config.input_channels, f, 3)
        self.tower = nn.Sequential(*(ResidualBlock(f) for _ in range(config.blocks)))
        self.policy_conv = _conv_bn(f, p, 1)
        self.policy_points = nn.Conv2d(p, 1, 1, bias=False)
        # A bias per point: the edge and corners deserve different priors.
        self.point_bias = nn.Parameter(torch.zeros(NUM_POINTS))
        self.pass_linear = nn.Linear(p, 1)
        if config.value_head and not config.value_pooling:
            self.value_conv = _conv_bn(f, 1, 1)
            self.value_hidden = nn.Linear(NUM_POINTS, config.value_hidden)
            self.value_out = nn.Linear(config.value_hidden, 1)
        elif config.value_head:
            k = config.value_channels
            self.value_conv = _conv_bn(f, k, 1)
            self.value_hidden = nn.Linear(2 * k, config.value_hidden)
            self.value_out = nn.Linear(config.value_hidden, 2 if config.score_head else 1)
            if config.ownership_head:
                self.ownership_conv = nn.Conv2d(k, 1, 1)

    def forward(self, planes: torch.Tensor) -> NetOutput:
        """planes (N, C, 19, 19) float -> ``NetOutput`` (logits, value, ownership, score)."""
        x = torch.relu(self.stem(planes))
        x = self.tower(x)
        head = torch.relu(self.policy_conv(x))
        points = self.policy_points(head).flatten(1) + self.point_bias
        pass_logit = self.pass_linear(head.mean(dim=(2, 3)))
        logits = torch.cat([points, pass_logit], dim=1)
        config = self.config
        if not config.value_head:
            return NetOutput(logits, None)
        if not config.value_pooling:
            v = torch.relu(self.value_conv(x)).flatten(1)
            value = torch.tanh(self.value_out(torch.relu(self.value_hidden(v)))).squeeze(1)
            return NetOutput(logits, value)
        features = torch.relu(self.value_conv(x))
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        out = self.value_out(torch.relu(self.value_hidden(pooled)))
        value = torch.tanh(out[:, 0])
        score = SCORE_SCALE * out[:, 1] if config.score_head else None
        ownership = self.ownership_conv(features).flatten(1) if config.ownership_head else None
        return NetOutput(logits, value, ownership, score)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

