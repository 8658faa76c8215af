"""Value-only fine-tune of a trained goai model: make its value head worth searching with.

    # 1. Run the frozen part of the network once per position and keep its output
    python scripts/value_finetune.py cache --model M.pt --store STORE/test-sample300.npz \\
        --per-phase 2 --out runs/value/test
    python scripts/value_finetune.py cache --model M.pt --store STORE/val.npz --per-game 1 \\
        --out runs/value/val
    python scripts/value_finetune.py cache --model M.pt --store STORE/train.npz --per-game 1 \\
        --games 6000 --symmetries --out runs/value/train-1
    # 2. Figures of the model as it is, on cached held-out positions
    python scripts/value_finetune.py measure --model M.pt --cache runs/value/test
    # 3. Train the value head (and optionally the last residual block) on the cache
    python scripts/value_finetune.py train --model M.pt --train runs/value/train-1 \\
        --val runs/value/val --test runs/value/test --out runs/value/M-value.pt
    # 4. How correlated the value targets of one batch of today's training stream are
    python scripts/value_finetune.py correlation --store STORE/train.npz

Why a cache: with the trunk frozen, its output for a position never changes,
so each position costs one forward pass of the trunk (about 0.1 s for a
b10c128 on a busy 2-core CPU) and every epoch after that costs only the head.
The cache holds, per position, the trunk's output (``final``, F x 19 x 19) and
the input of the last residual block (``penultimate``, for ``--train-blocks 1``),
both float16 on disk (92 KB each for F = 128), read through a memory map.

``goai train --init MODEL --train value`` is the everyday way to the same end
(the value head alone, no cache, any prepared store); this script stays for
the experiments a cache makes cheap: several heads on the same positions, the
last residual block unfrozen (``--train-blocks``), the linear probe.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from goai.checkpoint import CheckpointError, load_model, read_checkpoint, save_checkpoint
from goai.features import encode_into, get_feature_set
from goai.model import PolicyNet
from goai.store import INDEX_MASK, WHITE_BIT, GameStore
from goai.symmetry import NUM_SYMMETRIES, transform_move_index

# Phases of the game by the number of the move about to be played (1-based):
# the position before move 1 is the empty board.
PHASES = ((1, 50), (51, 100), (101, 150), (151, None))


def phase_name(phase: tuple[int, int | None]) -> str:
    low, high = phase
    return f"{low}-{high}" if high is not None else f"{low}+"


# ----------------------------------------------------------------- core


def freeze_for_value(model: PolicyNet, train_blocks: int = 0) -> list[nn.Parameter]:
    """Freeze everything but the value head and the last ``train_blocks`` residual blocks.

    Returns the parameters left trainable (to hand to the optimizer). The
    policy head is always frozen, so with ``train_blocks=0`` the policy's
    output is exactly the model's before the fine-tune. Batch norm statistics
    are not touched either: the caller keeps the model in ``eval()`` mode, so
    every BN layer acts as the fixed affine map it was trained into (its scale
    and shift stay trainable where its layer is). Raises ``ValueError`` for a
    model without a value head or ``train_blocks`` outside 0..blocks.
    """
    if not model.config.value_head:
        raise ValueError("the model has no value head to fine-tune")
    if not 0 <= train_blocks <= model.config.blocks:
        raise ValueError(f"train_blocks must be in 0..{model.config.blocks}, not {train_blocks}")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    trainable = [model.value_conv, model.value_hidden, model.value_out]
    trainable += list(model.tower)[model.config.blocks - train_blocks :]
    parameters = [p for module in trainable for p in module.parameters()]
    for parameter in parameters:
        parameter.requires_grad_(True)
    return parameters


def value_loss(predicted: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the positions of decided games (target != 0).

    ``predicted`` and ``targets`` are (N,) results for the side to move in
    [-1, 1]. A batch without any decided position gives a zero that still has
    a gradient path, so the training step need not special-case it.
    """
    known = targets != 0
    if not known.any():
        return predicted.sum() * 0.0
    return F.mse_loss(predicted.float()[known], targets.float()[known])


def sample_positions(lengths: np.ndarray, results: np.ndarray, games: np.ndarray,
                     per_game: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``per_game`` distinct positions of each decided game of ``games``.

    ``lengths`` and ``results`` are per stored game (moves, +1/-1/0); games
    whose result is 0 (draw or unknown) are skipped, since they teach the
    value nothing. Positions are drawn uniformly over the game (0 = the empty
    board before move 1, up to ``length - 1``, the position before the last
    move). Returns (game index, move number) int64 arrays, games in the order
    given and numbers sorted within a game (so one replay serves all of them).

    Why few per game: all positions of a game share one result, so a model
    that sees many of them can learn the game rather than the position
    (AlphaGo's value network overfitted on whole games and was trained on one
    position per game).
    """
    picked_games, picked_numbers = [], []
    for game in games:
        if results[game] == 0:
            continue
        length = int(lengths[game])
        numbers = np.sort(rng.choice(length, size=min(per_game, length), replace=False))
        picked_games.append(np.full(len(numbers), game))
        picked_numbers.append(numbers)
    if not picked_games:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(picked_games).astype(np.int64), np.concatenate(picked_numbers)


def sample_by_phase(lengths: np.ndarray, results: np.ndarray, games: np.ndarray,
                    per_phase: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """As ``sample_positions``, but up to ``per_phase`` positions in each of ``PHASES``.

    For measuring: every phase gets positions from every game long enough to reach it.
    """
    picked_games, picked_numbers = [], []
    for game in games:
        if results[game] == 0:
            continue
        length = int(lengths[game])
        numbers = []
        for low, high in PHASES:
            # Move m (1-based) is played from the position with number m - 1.
            candidates = np.arange(low - 1, length if high is None else min(high, length))
            if len(candidates):
                size = min(per_phase, len(candidates))
                numbers.append(rng.choice(candidates, size=size, replace=False))
        numbers = np.sort(np.concatenate(numbers))
        picked_games.append(np.full(len(numbers), game))
        picked_numbers.append(numbers)
    return np.concatenate(picked_games).astype(np.int64), np.concatenate(picked_numbers)


def value_metrics(predicted: np.ndarray, targets: np.ndarray, numbers: np.ndarray) -> dict:
    """Sign agreement and squared error of the value, by phase and from move 101 on.

    ``predicted`` (N,) values for the side to move, ``targets`` (N,) its result
    (+1/-1; 0 = undecided, left out and counted), ``numbers`` (N,) the move
    number of each position (0 = before move 1). A prediction of exactly 0
    counts as disagreeing. Returns ``{"phases": {"1-50": {...}, ...},
    "101+": {...}, "all": {...}, "undecided": n}``, each entry with
    ``positions``, ``sign_agreement`` and ``mse`` (None without positions).
    """
    predicted = np.asarray(predicted, np.float64)
    targets = np.asarray(targets, np.float64)
    moves = np.asarray(numbers) + 1
    decided = targets != 0

    def summary(mask: np.ndarray) -> dict:
        mask = mask & decided
        count = int(mask.sum())
        if count == 0:
            return {"positions": 0, "sign_agreement": None, "mse": None}
        agree = np.sign(predicted[mask]) == targets[mask]
        error = (predicted[mask] - targets[mask]) ** 2
        return {"positions": count, "sign_agreement": float(agree.mean()),
                "mse": float(error.mean())}

    phases = {}
    for low, high in PHASES:
        mask = (moves >= low) & (moves <= (high if high is not None else moves.max(initial=0)))
        phases[phase_name((low, high))] = summary(mask)
    return {"phases": phases, "101+": summary(moves >= 101), "all": summary(moves >= 1),
            "undecided": int((~decided).sum())}


def with_value_hidden(model: PolicyNet, hidden: int, seed: int = 0) -> PolicyNet:
    """A copy of ``model`` whose value head is freshly initialised with ``hidden`` units.

    Trunk and policy head keep their weights; the checkpoint of the result
    stores the new ``value_hidden`` in its config, so ``load_model`` rebuilds it.
    """
    torch.manual_seed(seed)
    fresh = PolicyNet(replace(model.config, value_hidden=hidden))
    kept = {k: v for k, v in model.state_dict().items() if not k.startswith("value_")}
    missing, _ = fresh.load_state_dict(kept, strict=False)
    assert all(k.startswith("value_") for k in missing)
    return fresh.eval()


# ----------------------------------------------------------------- the split network
# These mirror PolicyNet.forward piece by piece (the test checks they compose to it),
# so the frozen front can run once and the trained back many times.


def front(model: PolicyNet, planes: torch.Tensor, train_blocks: int) -> torch.Tensor:
    """planes (N, C, 19, 19) -> the input of the last ``train_blocks`` blocks (N, F, 19, 19)."""
    x = torch.relu(model.stem(planes))
    blocks = list(model.tower)
    for block in blocks[: len(blocks) - train_blocks]:
        x = block(x)
    return x


def back(model: PolicyNet, x: torch.Tensor, train_blocks: int) -> torch.Tensor:
    """Output of ``front`` -> the trunk's output (N, F, 19, 19)."""
    blocks = list(model.tower)
    for block in blocks[len(blocks) - train_blocks :]:
        x = block(x)
    return x


def value_from_trunk(model: PolicyNet, x: torch.Tensor) -> torch.Tensor:
    """Trunk output (N, F, 19, 19) -> value (N,) in [-1, 1] for the side to move."""
    v = torch.relu(model.value_conv(x)).flatten(1)
    return torch.tanh(model.value_out(torch.relu(model.value_hidden(v)))).squeeze(1)


def policy_from_trunk(model: PolicyNet, x: torch.Tensor) -> torch.Tensor:
    """Trunk output (N, F, 19, 19) -> logits (N, 362)."""
    head = torch.relu(model.policy_conv(x))
    points = model.policy_points(head).flatten(1) + model.point_bias
    return torch.cat([points, model.pass_linear(head.mean(dim=(2, 3)))], dim=1)


# ----------------------------------------------------------------- cache


class Cache:
    """A folder of cached positions: ``meta.npz`` (targets and where each came from),
    ``final.npy`` and ``penultimate.npy`` (float16 (N, F, 19, 19) memory maps) and
    ``done.json`` (how many rows are written; a cache is usable while it grows)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        meta = np.load(folder / "meta.npz")
        self.values = meta["values"]
        self.numbers = meta["numbers"]
        self.games = meta["games"]
        self.moves = meta["moves"]
        self.done = json.loads((folder / "done.json").read_text())["rows"]
        self.final = np.load(folder / "final.npy", mmap_mode="r")
        self.penultimate = np.load(folder / "penultimate.npy", mmap_mode="r")

    def features(self, rows: np.ndarray, penultimate: bool = False) -> torch.Tensor:
        """float16 (len(rows), F, 19, 19) copied into memory: ``penultimate`` or ``final``."""
        source = self.penultimate if penultimate else self.final
        return torch.from_numpy(np.ascontiguousarray(source[np.sort(rows)]))[
            torch.from_numpy(np.argsort(np.argsort(rows)))]

    def rows(self, limit: int | None = None) -> np.ndarray:
        """Row indices usable now: the written ones, up to ``limit``, whole games only."""
        count = self.done if limit is None else min(self.done, limit)
        if count < len(self.games) and count > 0:
            # Drop the last game if it is cut: a prefix should hold whole games.
            last = self.games[count - 1]
            while count > 0 and self.games[count - 1] == last and (
                    count == len(self.games) or self.games[count] == last):
                count -= 1
        return np.arange(count)


def build_cache(model: PolicyNet, feature_set: str, store: GameStore, games: np.ndarray,
                numbers: np.ndarray, out: Path, symmetries: bool, seed: int,
                chunk: int = 64) -> None:
    """Encode the positions (games[i], numbers[i]) and store the network's front for each."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 2])
    count = len(games)
    lengths = np.diff(store.game_offsets)
    codes = store.moves[store.game_offsets[games] + numbers]
    black_result = store.result[games].astype(np.float32)
    values = np.where(codes & WHITE_BIT, -black_result, black_result).astype(np.float32)
    game_symmetry = rng.integers(NUM_SYMMETRIES if symmetries else 1, size=len(lengths))
    moves = np.array([transform_move_index(int(c) & INDEX_MASK, int(game_symmetry[g]))
                      for c, g in zip(codes, games, strict=True)], np.int64)
    np.savez(out / "meta.npz", values=values, numbers=numbers, games=games, moves=moves,
             symmetries=game_symmetry[games])
    filters = model.config.filters
    shape = (count, filters, 19, 19)
    final = np.lib.format.open_memmap(out / "final.npy", "w+", np.float16, shape)
    penultimate = np.lib.format.open_memmap(out / "penultimate.npy", "w+", np.float16, shape)
    (out / "done.json").write_text(json.dumps({"rows": 0}))
    features = get_feature_set(feature_set)
    planes = np.zeros((chunk, features.num_channels, 19, 19), np.uint8)
    start_time = time.time()
    for start in range(0, count, chunk):
        end = min(start + chunk, count)
        _encode_rows(store, games[start:end], numbers[start:end], game_symmetry, features,
                     planes[: end - start])
        with torch.inference_mode():
            x = front(model, torch.from_numpy(planes[: end - start]).float(), 1)
            penultimate[start:end] = x.half().numpy()
            final[start:end] = back(model, x, 1).half().numpy()
        final.flush()
        penultimate.flush()
        (out / "done.json").write_text(json.dumps({"rows": end}))
        rate = end / (time.time() - start_time)
        print(f"{out.name}: {end}/{count} positions, {rate:.1f}/s", flush=True)


def _encode_rows(store: GameStore, games: np.ndarray, numbers: np.ndarray,
                 game_symmetry: np.ndarray, features, out: np.ndarray) -> None:
    """Planes of positions (games[i], numbers[i]) into out[i]; games come in runs."""
    row = 0
    while row < len(games):
        game = int(games[row])
        end = row
        while end < len(games) and games[end] == game:
            end += 1
        wanted = {int(n): r for r, n in zip(range(row, end), numbers[row:end], strict=True)}
        last = max(wanted)
        for number, (state, _, _) in enumerate(store.replay(game, int(game_symmetry[game]))):
            if number in wanted:
                encode_into(out[wanted[number]], state, features)
            if number == last:
                break
        row = end


# ----------------------------------------------------------------- measure and train


def predict_values(model: PolicyNet, features: torch.Tensor, train_blocks: int,
                   batch: int = 512) -> np.ndarray:
    """The model's value for cached ``features`` (``Cache.features``: ``penultimate`` ones
    when the last block was trained, else ``final``), float32 (N,)."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(features), batch):
            x = features[start : start + batch].float()
            if train_blocks:
                x = back(model, x, 1)
            out.append(value_from_trunk(model, x).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def policy_top1(model: PolicyNet, cache: Cache, rows: np.ndarray, batch: int = 512) -> float:
    """Top-1 move accuracy of the model's policy on cached rows (from ``penultimate``)."""
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            x = back(model, cache.features(part, penultimate=True).float(), 1)
            logits = policy_from_trunk(model, x)
            correct += int((logits.argmax(1).numpy() == cache.moves[part]).sum())
    return correct / max(len(rows), 1)


def train_value(model: PolicyNet, train: Cache, val: Cache, *, train_blocks: int, epochs: int,
                lr: float, batch_size: int, limit: int | None, seed: int,
                weight_decay: float) -> tuple[PolicyNet, list[dict]]:
    """Train the value head (and last blocks) on ``train``; keep the epoch best on ``val`` MSE.

    The model as given counts as epoch 0: when no epoch beats it on ``val``,
    it comes back unchanged. Returns (model, one metrics dict per epoch).
    """
    torch.manual_seed(seed)
    parameters = freeze_for_value(model, train_blocks)
    model.eval()
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    rows = train.rows(limit)
    decided = rows[train.values[rows] != 0]
    val_rows = val.rows()
    steps = epochs * max(len(decided) // batch_size, 1)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps,
                                                    pct_start=0.1)
    rng = np.random.default_rng(seed)
    # Everything in memory as float16 (92 KB a position for F = 128): memory-mapped reads
    # of random rows cost more than the head's arithmetic.
    source = train.features(decided, penultimate=bool(train_blocks))
    targets = torch.from_numpy(train.values[decided])
    val_features = val.features(val_rows, penultimate=bool(train_blocks))

    def validate() -> dict:
        predicted = predict_values(model, val_features, train_blocks)
        return value_metrics(predicted, val.values[val_rows], val.numbers[val_rows])

    start_metrics = validate()
    best, best_state = start_metrics["all"]["mse"], {k: v.clone()
                                                    for k, v in model.state_dict().items()}
    history = [{"epoch": 0, "val_mse": best,
                "val_sign": start_metrics["all"]["sign_agreement"],
                "val_101+_mse": start_metrics["101+"]["mse"]}]
    print(json.dumps(history[0]), flush=True)
    for epoch in range(epochs):
        order = torch.from_numpy(rng.permutation(len(decided)))
        total, batches = 0.0, 0
        for start in range(0, len(order) - batch_size + 1, batch_size):
            part = order[start : start + batch_size]
            x = source[part].float()
            if train_blocks:
                x = back(model, x, train_blocks)
            loss = value_loss(value_from_trunk(model, x), targets[part])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total, batches = total + loss.item(), batches + 1
        metrics = validate()
        row = {"epoch": epoch + 1, "train_mse": total / max(batches, 1),
               "val_mse": metrics["all"]["mse"], "val_sign": metrics["all"]["sign_agreement"],
               "val_101+_mse": metrics["101+"]["mse"]}
        history.append(row)
        print(json.dumps(row), flush=True)
        if row["val_mse"] < best:
            best = row["val_mse"]
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model, history


def format_table(named: dict[str, dict]) -> str:
    """Markdown table: one row per model, sign agreement and MSE per phase and 101+."""
    columns = [phase_name(p) for p in PHASES] + ["101+"]
    lines = ["| model | " + " | ".join(f"{c} sign | {c} MSE" for c in columns)
             + " | positions by phase |", "|---" * (2 + 2 * len(columns)) + "|"]
    for name, metrics in named.items():
        cells = []
        for column in columns:
            entry = metrics["101+"] if column == "101+" else metrics["phases"][column]
            if entry["positions"] == 0:
                cells += ["-", "-"]
            else:
                cells += [f"{100 * entry['sign_agreement']:.1f}%", f"{entry['mse']:.3f}"]
        counts = "/".join(str(entry["positions"]) for entry in metrics["phases"].values())
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {counts} |")
    return "\n".join(lines)


def pooled_features(cache: Cache, rows: np.ndarray) -> np.ndarray:
    """Mean and max over the board of each trunk channel: float32 (len(rows), 2F)."""
    parts = []
    for start in range(0, len(rows), 256):
        x = cache.features(rows[start : start + 256]).float()
        parts.append(torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1).numpy())
    return np.concatenate(parts)


def ridge_probe(train: tuple[np.ndarray, np.ndarray], ridge: float,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge regression of the result on standardised pooled features (a linear probe).

    ``train`` is (features (N, D), targets (N,)); returns (mean, scale, weights (D + 1,))
    for ``probe_values``. With D + 1 parameters it cannot memorise games, so its
    held-out error says how much the value is readable from the frozen trunk at all.
    """
    features, targets = train
    mean, scale = features.mean(0), features.std(0) + 1e-6
    design = np.c_[(features - mean) / scale, np.ones(len(features))]
    weights = np.linalg.solve(design.T @ design + ridge * np.eye(design.shape[1]),
                              design.T @ targets)
    return mean, scale, weights


def probe_values(probe: tuple[np.ndarray, np.ndarray, np.ndarray],
                 features: np.ndarray) -> np.ndarray:
    mean, scale, weights = probe
    return np.clip(np.c_[(features - mean) / scale, np.ones(len(features))] @ weights, -1, 1)


# ----------------------------------------------------------------- batch correlation


def stream_batch_correlation(lengths: np.ndarray, results: np.ndarray, batch_size: int,
                             games_per_chunk: int, sample_rate: float, chunks: int,
                             seed: int = 0) -> dict:
    """How many games one batch of ``PositionStream`` draws from, replaying its sampling.

    The stream takes ``games_per_chunk`` games, keeps each position with
    probability ``sample_rate``, shuffles the chunk and cuts it into batches
    (leftovers carried into the next chunk, ignored here). Returns the mean
    number of distinct games per batch, the mean positions per game in a
    batch and the share of position pairs of a batch that come from one game.
    All positions of a game share its result (up to the side to move's sign),
    so for the value loss a batch holds as many independent targets as games.
    """
    rng = np.random.default_rng(seed)
    distinct, same_pairs = [], []
    for _ in range(chunks):
        games = rng.choice(len(lengths), size=games_per_chunk, replace=False)
        owners = np.concatenate([np.full(int((rng.random(int(lengths[g])) < sample_rate).sum()),
                                         g) for g in games if results[g] != 0])
        owners = owners[rng.permutation(len(owners))]
        for start in range(0, len(owners) - batch_size + 1, batch_size):
            batch = owners[start : start + batch_size]
            _, counts = np.unique(batch, return_counts=True)
            distinct.append(len(counts))
            pairs = batch_size * (batch_size - 1)
            same_pairs.append(float((counts * (counts - 1)).sum() / pairs))
    games_per_batch = float(np.mean(distinct))
    return {"batch_size": batch_size, "games_per_chunk": games_per_chunk,
            "sample_rate": sample_rate, "batches": len(distinct),
            "distinct_games_per_batch": games_per_batch,
            "positions_per_game": batch_size / games_per_batch,
            "same_game_pair_share": float(np.mean(same_pairs))}


# ----------------------------------------------------------------- command line


def _load(path: str):
    try:
        return load_model(path)
    except CheckpointError as error:
        sys.exit(f"error: {error}")


def _open_store(path: str) -> GameStore:
    try:
        return GameStore(path)
    except (OSError, KeyError, ValueError) as error:
        sys.exit(f"error: {path}: not a readable game store ({error})")


def _open_cache(path: str) -> Cache:
    try:
        return Cache(Path(path))
    except (OSError, KeyError, ValueError) as error:
        sys.exit(f"error: {path}: not a finished cache folder ({error}); make one with cache")


def command_cache(args: argparse.Namespace) -> None:
    loaded = _load(args.model)
    store = _open_store(args.store)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(store))[: args.games] if args.games else np.arange(len(store))
    lengths = np.diff(store.game_offsets)
    if args.per_phase:
        games, numbers = sample_by_phase(lengths, store.result, order, args.per_phase, rng)
    else:
        games, numbers = sample_positions(lengths, store.result, order, args.per_game, rng)
    print(f"{len(games)} positions of {len(np.unique(games))} games", flush=True)
    build_cache(loaded.model, loaded.feature_set, store, games, numbers, Path(args.out),
                args.symmetries, args.seed)


def command_measure(args: argparse.Namespace) -> None:
    named = {}
    for path in args.model:
        loaded = _load(path)
        cache = _open_cache(args.cache)
        rows = cache.rows()
        train_blocks = int(loaded.training.get("value_finetune", {}).get("train_blocks", 0))
        predicted = predict_values(loaded.model, cache.features(rows, bool(train_blocks)),
                                   train_blocks)
        named[Path(path).name] = value_metrics(predicted, cache.values[rows], cache.numbers[rows])
    print(format_table(named))
    if args.json:
        print(json.dumps(named))


def command_train(args: argparse.Namespace) -> None:
    loaded = _load(args.model)
    torch.set_num_threads(args.threads)
    train, val = _open_cache(args.train), _open_cache(args.val)
    model = loaded.model
    if args.hidden:
        model = with_value_hidden(model, args.hidden, args.seed)
    start = time.time()
    model, history = train_value(model, train, val, train_blocks=args.train_blocks,
                                 epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                                 limit=args.limit, seed=args.seed,
                                 weight_decay=args.weight_decay)
    training = dict(read_checkpoint(args.model).get("training", {}))
    training["value_finetune"] = {
        "init": args.model, "train_cache": args.train, "val_cache": args.val,
        "train_positions": int(len(train.rows(args.limit))),
        "train_games": int(len(np.unique(train.games[train.rows(args.limit)]))),
        "train_blocks": args.train_blocks, "value_hidden": model.config.value_hidden,
        "epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
        "history": history, "seconds": time.time() - start}
    if args.out:
        save_checkpoint(args.out, model, loaded.feature_set, training)
        print(f"wrote {args.out}")
    if args.test:
        test = _open_cache(args.test)
        rows = test.rows()
        before = predict_values(_load(args.model).model, test.features(rows), 0)
        after = predict_values(model, test.features(rows, bool(args.train_blocks)),
                               args.train_blocks)
        named = {"before": value_metrics(before, test.values[rows], test.numbers[rows]),
                 "after": value_metrics(after, test.values[rows], test.numbers[rows])}
        print(format_table(named))
        if args.train_blocks:
            before = policy_top1(_load(args.model).model, test, rows)
            after = policy_top1(model, test, rows)
            print(f"policy top-1 on the test positions: {100 * before:.2f}% -> "
                  f"{100 * after:.2f}%")


def command_probe(args: argparse.Namespace) -> None:
    train = _open_cache(args.train)
    rows = train.rows(args.limit)
    rows = rows[train.values[rows] != 0]
    probe = ridge_probe((pooled_features(train, rows), train.values[rows]), args.ridge)
    named = {}
    for path in [args.val, *args.test]:
        cache = _open_cache(path)
        held = cache.rows()
        predicted = probe_values(probe, pooled_features(cache, held))
        named[f"probe on {Path(path).name}"] = value_metrics(predicted, cache.values[held],
                                                             cache.numbers[held])
    print(f"ridge probe on {len(rows)} positions of {len(np.unique(train.games[rows]))} games")
    print(format_table(named))


def command_correlation(args: argparse.Namespace) -> None:
    store = _open_store(args.store)
    lengths = np.diff(store.game_offsets)
    for per_chunk in args.games_per_chunk:
        print(json.dumps(stream_batch_correlation(lengths, store.result, args.batch_size,
                                                  per_chunk, args.sample_rate, args.chunks)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    cache = commands.add_parser("cache", help="run the frozen network once per sampled position")
    cache.add_argument("--model", required=True, help="goai checkpoint")
    cache.add_argument("--store", required=True, help="a game store split (.npz)")
    cache.add_argument("--out", required=True, help="folder for the cache")
    cache.add_argument("--games", type=int, default=0, help="games to draw (0: all)")
    how = cache.add_mutually_exclusive_group()
    how.add_argument("--per-game", type=int, default=1, help="positions per game")
    how.add_argument("--per-phase", type=int, default=0,
                     help="positions per game in each phase (for measuring)")
    cache.add_argument("--symmetries", action="store_true",
                       help="a random board symmetry per game (for training)")
    cache.add_argument("--seed", type=int, default=0)
    cache.add_argument("--threads", type=int, default=2)

    measure = commands.add_parser("measure", help="value figures of models on a cache")
    measure.add_argument("--model", required=True, action="append", help="goai checkpoint(s)")
    measure.add_argument("--cache", required=True)
    measure.add_argument("--json", action="store_true")

    train = commands.add_parser("train", help="fine-tune the value head on a cache")
    train.add_argument("--model", required=True, help="goai checkpoint to start from")
    train.add_argument("--train", required=True, help="cache of training positions")
    train.add_argument("--val", required=True, help="cache of validation positions")
    train.add_argument("--test", help="cache for the before/after figures")
    train.add_argument("--out", help="where to write the fine-tuned checkpoint")
    train.add_argument("--hidden", type=int, default=0,
                       help="re-initialise the value head with this many hidden units "
                       "(0: fine-tune the model's own head)")
    train.add_argument("--train-blocks", type=int, default=0, choices=(0, 1),
                       help="also train the last residual block")
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--weight-decay", type=float, default=1e-2)
    train.add_argument("--batch-size", type=int, default=256)
    train.add_argument("--limit", type=int, help="use only the first N cached positions")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=2)

    probe = commands.add_parser("probe", help="linear probe of the result on pooled trunk "
                                "features (how much value the frozen trunk holds)")
    probe.add_argument("--train", required=True, help="cache to fit on")
    probe.add_argument("--val", required=True, help="cache to measure on")
    probe.add_argument("--test", action="append", default=[], help="more caches to measure on")
    probe.add_argument("--limit", type=int, help="use only the first N cached positions")
    probe.add_argument("--ridge", type=float, default=100.0)

    correlation = commands.add_parser("correlation",
                                      help="games per batch in today's training stream")
    correlation.add_argument("--store", required=True)
    correlation.add_argument("--batch-size", type=int, default=1024)
    correlation.add_argument("--games-per-chunk", type=int, nargs="+", default=[64])
    correlation.add_argument("--sample-rate", type=float, default=0.5)
    correlation.add_argument("--chunks", type=int, default=50)

    args = parser.parse_args(argv)
    {"cache": command_cache, "measure": command_measure, "train": command_train,
     "correlation": command_correlation, "probe": command_probe}[args.command](args)


if __name__ == "__main__":
    main()
