"""Move-prediction accuracy on held-out games.

For every position of every game: does the expert's move rank first (top-1),
in the first 5 or 10 of the model's probabilities, and what is the log-loss
``-log p(expert move)``? Counted overall, by phase (moves 1-50, 51-150, 151+)
and by move number (for the plot).

Accuracy is measured on the network's raw distribution over all 362 moves,
without removing illegal moves, so it is the figure the literature reports
(and a slightly conservative one: masking can only help). Sources are SGF
files, collections, folders and archives, or ``.npz`` game stores written by
``goai prepare`` (so a prepared test split can be evaluated directly).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from goai.board import IllegalMoveError
from goai.coords import NETWORK_SIZE, PASS, PASS_INDEX, move_to_gtp
from goai.features import encode_into, get_feature_set
from goai.policy import Policy
from goai.progress import Progress
from goai.sgf import GameRecord, Problem, iter_games
from goai.store import GameStore

PHASES = (("1-50", 1, 50), ("51-150", 51, 150), ("151+", 151, 10_000))
TOP_K = (1, 5, 10)


@dataclass
class Tally:
    """Running sums for one group of positions."""

    positions: int = 0
    hits: dict[int, int] = field(default_factory=lambda: dict.fromkeys(TOP_K, 0))
    log_loss: float = 0.0

    def add(self, ranks: np.ndarray, probabilities: np.ndarray) -> None:
        self.positions += len(ranks)
        for k in TOP_K:
            self.hits[k] += int((ranks < k).sum())
        self.log_loss += float(-np.log(np.maximum(probabilities, 1e-12)).sum())

    def as_dict(self) -> dict[str, float | int]:
        n = max(self.positions, 1)
        return {"positions": self.positions,
                **{f"top{k}": self.hits[k] / n for k in TOP_K},
                "log_loss": self.log_loss / n}


@dataclass
class _Game:
    label: str
    moves: Iterator  # of (state, color, move), as game.replay yields


def _games(sources: Sequence[str | Path], skipped: list[dict]) -> Iterator[_Game]:
    """Replayable games from SGF sources and ``.npz`` stores; the unusable go to ``skipped``."""
    for source in sources:
        path = Path(source)
        if path.suffix == ".npz":
            store = GameStore(path)
            for game in range(len(store)):
                yield _Game(f"{path} game {game}", store.replay(game))
            continue
        for item in iter_games([path]):
            if isinstance(item, Problem):
                if not item.record_follows:
                    skipped.append({"game": f"{item.source} game {item.index}",
                                    "reason": f"{item.kind}: {item.reason}"})
                continue
            if item.size != NETWORK_SIZE:
                skipped.append({"game": _label(item), "reason": f"{item.size}x{item.size} board"})
                continue
            yield _Game(_label(item), item.replay())


def _label(record: GameRecord) -> str:
    return f"{record.source} game {record.index}"


def evaluate(policy: Policy, sources: Sequence[str | Path], *, max_games: int | None = None,
             batch_size: int = 256, show_progress: bool = True) -> dict:
    """Accuracy of ``policy`` on every position of the games in ``sources``.

    Returns a JSON-ready dict: ``overall`` and ``by_phase`` tallies (positions,
    top1, top5, top10, log_loss), ``by_move`` (top-1 per move number), games
    and positions counted, and ``skipped`` games with reasons. A game with an
    illegal move counts up to that move and is listed as truncated.
    """
    channels = get_feature_set(policy.feature_set).num_channels
    planes = np.empty((batch_size, channels, NETWORK_SIZE, NETWORK_SIZE), dtype=np.uint8)
    targets = np.empty(batch_size, dtype=np.int64)
    move_numbers = np.empty(batch_size, dtype=np.int64)
    overall = Tally()
    phases = {name: Tally() for name, _, _ in PHASES}
    by_move: dict[int, Tally] = {}
    skipped: list[dict] = []
    games = 0
    filled = 0

    def flush(count: int) -> None:
        probabilities, _ = policy.evaluate_batch(planes[:count])
        expert = probabilities[np.arange(count), targets[:count]]
        ranks = (probabilities > expert[:, None]).sum(axis=1)
        overall.add(ranks, expert)
        numbers = move_numbers[:count]
        for name, low, high in PHASES:
            chosen = (numbers >= low) & (numbers <= high)
            if chosen.any():
                phases[name].add(ranks[chosen], expert[chosen])
        for number in np.unique(numbers):
            chosen = numbers == number
            by_move.setdefault(int(number), Tally()).add(ranks[chosen], expert[chosen])

    with Progress("evaluate", total=max_games, unit="games", enabled=show_progress) as bar:
        for game in _games(sources, skipped):
            if max_games is not None and games >= max_games:
                break
            games += 1
            number = 0
            try:
                for state, _, move in game.moves:
                    number += 1
                    encode_into(planes[filled], state, policy.feature_set)
                    targets[filled] = PASS_INDEX if move == PASS else move
                    move_numbers[filled] = number
                    filled += 1
                    if filled == batch_size:
                        flush(filled)
                        filled = 0
            except IllegalMoveError as error:
                skipped.append({"game": game.label,
                                "reason": f"truncated at move {number} "
                                          f"({move_to_gtp(error.move, NETWORK_SIZE)}, "
                                          f"{error.reason})"})
            bar.update(1, top1=f"{overall.as_dict()['top1']:.3f}")
        if filled:
            flush(filled)
    return {
        "model": str(policy.path),
        "feature_set": policy.feature_set,
        "symmetries": policy.symmetries,
        "games": games,
        "positions": overall.positions,
        "overall": overall.as_dict(),
        "by_phase": {name: tally.as_dict() for name, tally in phases.items()},
        "by_move": {number: by_move[number].as_dict()["top1"] for number in sorted(by_move)},
        "skipped": skipped,
    }


def plot_accuracy(report: dict, path: str | Path, bucket: int = 10) -> None:
    """PNG of top-1 accuracy by move number (buckets of ``bucket`` moves). Needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plots need matplotlib: pip install 'goai[plot]'") from None
    by_move = report["by_move"]
    numbers = sorted(int(n) for n in by_move)
    buckets: dict[int, list[float]] = {}
    for n in numbers:
        buckets.setdefault((n - 1) // bucket, []).append(by_move[n])
    xs = [b * bucket + bucket / 2 for b in sorted(buckets)]
    ys = [100 * float(np.mean(buckets[b])) for b in sorted(buckets)]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    axes.plot(xs, ys, marker="o", markersize=3)
    axes.set_xlabel("move number")
    axes.set_ylabel("top-1 accuracy (%)")
    overall = 100 * report["overall"]["top1"]
    axes.set_title(f"{Path(report['model']).name}: top-1 {overall:.1f}% over "
                   f"{report['positions']} positions")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
