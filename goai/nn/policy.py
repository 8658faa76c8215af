"""The one seam between a trained network and everything that uses it.

``Policy`` = checkpoint + feature set + symmetry averaging. The GTP engine,
``goai predict``/``evaluate``, the gymnasium opponent and the terminal game all
ask it for move probabilities and never touch planes or logits themselves.

Symmetry averaging: with ``symmetries=8`` each position is evaluated in all 8
orientations and the probabilities (after undoing each orientation) are
averaged, as AlphaGo did at play time; with ``symmetries=1`` only the identity
is used. A CNN is not rotation invariant by construction, so averaging removes
some of its orientation-specific noise at 8x the cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from goai.nn.checkpoint import BUNDLED_MODELS, CheckpointError, load_model, resolve_model
from goai.nn.device import resolve_device
from goai.nn.features import encode, get_feature_set
from goai.rules.coords import NETWORK_SIZE
from goai.rules.game import GameState
from goai.rules.symmetry import NUM_SYMMETRIES, inverse, transform_planes, transform_policy

DEFAULT_MODEL = BUNDLED_MODELS["default"]


def default_model_path() -> Path:
    """The model shipped inside the package (``goai/models/default.pt``).

    Raises ``FileNotFoundError`` when the installation lacks it.
    """
    try:
        return resolve_model("default")
    except CheckpointError as error:
        raise FileNotFoundError(str(error)) from None


@dataclass(frozen=True)
class PolicyOutput:
    """What one forward pass says about a position, for its side to move.

    ``probabilities`` (362,) float: legal moves only (illegal ones are 0), summing
    to 1; ``value`` the expected result in [-1, 1], or None without a value head;
    ``legal`` (362,) bool: the legal moves the mask was made from (pass always);
    ``ownership`` (361,) float in [-1, 1] in ``coords`` point order, +1 = the side
    to move will own the point at the end, or None without an ownership head;
    ``score`` the expected final margin of the side to move in points (komi
    included), or None without a score head.
    """

    probabilities: np.ndarray
    value: float | None
    legal: np.ndarray
    ownership: np.ndarray | None = None
    score: float | None = None


@dataclass(frozen=True)
class Heads:
    """A batch's network outputs as numpy, averaged over the symmetries asked for.

    ``probabilities`` (N, 362) over all moves, legal or not; ``values`` (N,) or
    None; ``ownership`` (N, 361) in [-1, 1] or None; ``scores`` (N,) in points or
    None. All from the view of each position's side to move.
    """

    probabilities: np.ndarray
    values: np.ndarray | None
    ownership: np.ndarray | None = None
    scores: np.ndarray | None = None


class Policy:
    """Move probabilities for positions, from one checkpoint.

    ``probabilities_batch`` is the raw network view (no legality), used for
    measuring accuracy; ``move_probabilities`` is the playing view: illegal
    moves (superko included when the state enforces it) get probability 0.
    """

    def __init__(self, path: str | Path | None = None, *, device: str | torch.device = "auto",
                 symmetries: int = 1, threads: int = 0) -> None:
        """Load a model: ``path`` is ``None`` or ``"default"`` (the bundled default),
        ``"small"`` (the bundled small model) or a checkpoint path.

        ``device`` is ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda[:N]`` or
        ``mps``; ``threads`` > 0 sets torch's CPU threads. Raises ``CheckpointError``
        for a model that cannot be found or used, ``DeviceError`` (a ``ValueError``)
        for a device this machine lacks, ``ValueError`` for ``symmetries`` not 1 or 8.
        """
        if symmetries not in (1, NUM_SYMMETRIES):
            raise ValueError(f"symmetries must be 1 or {NUM_SYMMETRIES}, not {symmetries}")
        self.device = resolve_device(device)
        if threads:
            torch.set_num_threads(threads)
        self.path = resolve_model(path)
        loaded = load_model(self.path, self.device)
        self.model = loaded.model
        self.feature_set = loaded.feature_set
        self.training = loaded.training
        self.symmetries = symmetries

    @property
    def has_value_head(self) -> bool:
        return self.model.config.value_head

    @property
    def has_ownership_head(self) -> bool:
        return self.model.config.ownership_head

    @property
    def has_score_head(self) -> bool:
        return self.model.config.score_head

    def evaluate_batch(
        self, planes: np.ndarray, symmetries: int | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """planes uint8 (N, C, 19, 19) -> (probabilities (N, 362), value (N,) or None).

        Probabilities are over all 362 moves, legal or not, averaged over
        ``symmetries`` (1 or 8; default: the configured number); value is the
        expected result for the side to move. ``evaluate_heads`` adds ownership and score.
        """
        heads = self.evaluate_heads(planes, symmetries)
        return heads.probabilities, heads.values

    @torch.inference_mode()
    def evaluate_heads(self, planes: np.ndarray, symmetries: int | None = None) -> Heads:
        """planes uint8 (N, C, 19, 19) -> every head's output (``Heads``), averaged over
        ``symmetries`` (1 or 8; default: the configured number), each map moved back to
        the position's own orientation first."""
        symmetries = self.symmetries if symmetries is None else symmetries
        x = torch.from_numpy(np.ascontiguousarray(planes)).to(self.device, torch.float32)
        sums: dict[str, torch.Tensor] = {}

        def add(name: str, tensor: torch.Tensor | None) -> None:
            if tensor is not None:
                tensor = tensor.float()
                sums[name] = tensor if name not in sums else sums[name] + tensor

        for k in range(symmetries):
            # The identity needs no transforms: with symmetries=1 (play) this is
            # one forward and one softmax, nothing else on the tensors.
            out = self.model(transform_planes(x, k).contiguous() if k else x)
            probabilities = torch.softmax(out.logits.float(), dim=1)
            ownership = out.ownership
            if k:
                probabilities = transform_policy(probabilities, inverse(k))
                if ownership is not None:
                    board = ownership.view(-1, 1, NETWORK_SIZE, NETWORK_SIZE)
                    ownership = transform_planes(board, inverse(k)).reshape(len(x), -1)
            add("probabilities", probabilities)
            add("values", out.value)
            add("ownership", ownership)
            add("scores", out.score)
        arrays = {name: (total / symmetries).cpu().numpy() for name, total in sums.items()}
        return Heads(arrays["probabilities"], arrays.get("values"), arrays.get("ownership"),
                     arrays.get("scores"))

    def analyze(self, state: GameState, *, symmetries: int | None = None) -> PolicyOutput:
        """One forward pass for ``state.to_play``: legal-masked probabilities, value, legal mask.

        ``symmetries`` (1 or 8) overrides the configured number for this call
        only (a move under time pressure). Raises ``ValueError`` for boards
        other than 19x19 (the network's size).
        """
        if state.size != NETWORK_SIZE:
            raise ValueError(f"the model plays 19x19 only, not {state.size}x{state.size}")
        if symmetries not in (None, 1, NUM_SYMMETRIES):
            raise ValueError(f"symmetries must be 1 or {NUM_SYMMETRIES}, not {symmetries}")
        feature_set = get_feature_set(self.feature_set)
        planes = encode(state, feature_set)
        heads = self.evaluate_heads(planes[None], symmetries)
        value = None if heads.values is None else float(heads.values[0])
        if "legal" in feature_set.slices:  # the encoder has already found the legal points
            legal = np.append(planes[feature_set.slices["legal"]].reshape(-1) != 0, True)
        else:
            legal = state.legal_mask()
        return PolicyOutput(mask_illegal(heads.probabilities[0], legal), value, legal,
                        None if heads.ownership is None else heads.ownership[0],
                        None if heads.scores is None else float(heads.scores[0]))

    def move_probabilities(self, state: GameState) -> np.ndarray:
        """(362,) probabilities of the side to move's moves; illegal moves get 0."""
        return self.analyze(state).probabilities

    def value(self, state: GameState) -> float | None:
        """Expected result in [-1, 1] for the side to move, or None without a value head."""
        return self.analyze(state).value


def mask_illegal(probabilities: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """Zero ``probabilities`` (362,) where ``legal`` (362,) bool is False and renormalise.

    When the network gives every legal move probability 0 (underflow), the
    legal moves share it equally.
    """
    masked = np.where(legal, probabilities, 0.0)
    total = masked.sum()
    return masked / total if total > 0 else legal / legal.sum()
