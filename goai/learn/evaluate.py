"""Move-prediction accuracy, and value-head quality, on held-out games.

For every position of every game: does the expert's move rank first (top-1),
in the first 5 or 10 of the model's probabilities, and what is the log-loss
``-log p(expert move)``? Counted overall, by phase (moves 1-50, 51-150, 151+)
and by move number (for the plot).

When the model has a value head, its prediction for each position is compared
with how the game ended, from the side to move's view (+1 won, -1 lost): how
often the sign agrees, the mean squared error (answering 0 everywhere scores
1.0), both by phase (moves 1-50, 51-100, 101-150, 151+), and a calibration
table: positions binned by predicted win chance ``(v + 1) / 2`` against how
often the side to move went on to win. Games without a decisive result (draw,
void, unknown) are left out of the value figures and counted. The same
figures are given again for the *counted* games alone (those a store holds
ownership and score targets for, ``goai.records.labels``): they end close, so they
are the hard case for a value.

With an ownership head, on the positions of counted games: how often the sign
of its map agrees with the final owner of each point (points nobody owns left
out), by phase. With a score head: its mean absolute error against the final
margin, and how often its sign agrees with the result, by phase.

Accuracy is measured on the network's raw distribution over all 362 moves,
without removing illegal moves, so it is the figure the literature reports
(and a slightly conservative one: masking can only help). Sources are SGF
files, collections, folders and archives, or ``.npz`` game stores written by
``goai prepare`` (so a prepared test split can be evaluated directly).

Encoding runs in worker processes (``workers``), a few games per task, while
the main process runs the network on full batches: on a CPU the network is the
cost, and on a GPU one process encoding (about 14k positions/s) would hold a
network that runs several times faster. Results come back in order, so the
figures do not depend on the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from goai.display.progress import Progress
from goai.nn.features import encode_into, get_feature_set
from goai.records.record import GameRecord
from goai.records.sgf import Problem, iter_games
from goai.records.store import GameStore, result_value
from goai.rules.board import BLACK, IllegalMoveError
from goai.rules.coords import NETWORK_SIZE, NUM_POINTS, move_to_gtp, move_to_index

if TYPE_CHECKING:
    import torch

    from goai.nn.policy import Policy

PHASES = (("1-50", 1, 50), ("51-150", 51, 150), ("151+", 151, 10_000))
VALUE_PHASES = (("1-50", 1, 50), ("51-100", 51, 100), ("101-150", 101, 150),
                ("151+", 151, 10_000))
CALIBRATION_BINS = 10  # of predicted win chance: 0-10%, ..., 90-100%
TOP_K = (1, 5, 10)
GAMES_PER_TASK = 4  # games one worker encodes per task: a few MB of planes each way


class EvaluationError(ValueError):
    """Nothing to evaluate: no source, or no 19x19 game with a move in the sources."""


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
class ValueTally:
    """Running sums of the value head against results (+1 / -1) for one group of positions."""

    positions: int = 0
    agree: int = 0
    squared_error: float = 0.0

    def add(self, values: np.ndarray, outcomes: np.ndarray) -> None:
        self.positions += len(values)
        self.agree += int((np.sign(values) == outcomes).sum())
        self.squared_error += float(((values - outcomes) ** 2).sum())

    def as_dict(self) -> dict[str, float | int]:
        n = max(self.positions, 1)
        return {"positions": self.positions, "sign_agreement": self.agree / n,
                "mse": self.squared_error / n}


@dataclass
class ValueReport:
    """The value head's figures: overall, by phase, and a calibration table."""

    overall: ValueTally = field(default_factory=ValueTally)
    phases: dict[str, ValueTally] = field(
        default_factory=lambda: {name: ValueTally() for name, _, _ in VALUE_PHASES})
    bin_positions: np.ndarray = field(default_factory=lambda: np.zeros(CALIBRATION_BINS, int))
    bin_predicted: np.ndarray = field(default_factory=lambda: np.zeros(CALIBRATION_BINS))
    bin_won: np.ndarray = field(default_factory=lambda: np.zeros(CALIBRATION_BINS, int))
    games: int = 0
    games_without_result: int = 0
    positions_without_result: int = 0

    def add(self, values: np.ndarray, outcomes: np.ndarray, numbers: np.ndarray) -> None:
        """values (N,) in [-1, 1]; outcomes (N,) +1/-1, or 0 (left out); numbers (N,) from 1."""
        decided = outcomes != 0
        self.positions_without_result += int((~decided).sum())
        values, outcomes, numbers = values[decided], outcomes[decided], numbers[decided]
        self.overall.add(values, outcomes)
        for name, low, high in VALUE_PHASES:
            chosen = (numbers >= low) & (numbers <= high)
            if chosen.any():
                self.phases[name].add(values[chosen], outcomes[chosen])
        chance = (values + 1) / 2
        bins = np.minimum((chance * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
        np.add.at(self.bin_positions, bins, 1)
        np.add.at(self.bin_predicted, bins, chance)
        np.add.at(self.bin_won, bins, (outcomes > 0).astype(int))

    def as_dict(self) -> dict:
        width = 100 // CALIBRATION_BINS
        calibration = [
            {"bin": f"{width * b}-{width * (b + 1)}%", "positions": int(n),
             "predicted": float(self.bin_predicted[b] / n) if n else None,
             "won": float(self.bin_won[b] / n) if n else None}
            for b, n in enumerate(self.bin_positions)]
        return {"games": self.games, "games_without_result": self.games_without_result,
                "positions_without_result": self.positions_without_result,
                "overall": self.overall.as_dict(),
                "by_phase": {name: tally.as_dict() for name, tally in self.phases.items()},
                "calibration": calibration}


@dataclass
class OwnershipReport:
    """The ownership and score heads against counted games' final ownership and margin."""

    points: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_PHASE_NAMES, 0))
    agree: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_PHASE_NAMES, 0))
    positions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_PHASE_NAMES, 0))
    score_error: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(_PHASE_NAMES, 0.0))
    score_agree: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_PHASE_NAMES, 0))
    has_ownership: bool = False
    has_score: bool = False

    def add(self, ownership: np.ndarray | None, targets: np.ndarray, scores: np.ndarray | None,
            margins: np.ndarray, numbers: np.ndarray) -> None:
        """ownership (N, 361) predicted and targets (N, 361) int8 final owners; scores (N,)
        predicted and margins (N,) final; all for the side to move; numbers (N,) from 1."""
        for name, low, high in (("all", 1, 10_000), *VALUE_PHASES):
            chosen = (numbers >= low) & (numbers <= high)
            if not chosen.any():
                continue
            self.positions[name] += int(chosen.sum())
            if ownership is not None:
                self.has_ownership = True
                owned = targets[chosen] != 0
                right = np.sign(ownership[chosen]) == targets[chosen]
                self.points[name] += int(owned.sum())
                self.agree[name] += int((right & owned).sum())
            if scores is not None:
                self.has_score = True
                self.score_error[name] += float(np.abs(scores[chosen] - margins[chosen]).sum())
                self.score_agree[name] += int((np.sign(scores[chosen])
                                               == np.sign(margins[chosen])).sum())

    def as_dict(self) -> dict:
        rows = {}
        for name in _PHASE_NAMES:
            n = self.positions[name]
            row: dict = {"positions": n}
            if self.has_ownership:
                row["ownership_agreement"] = (self.agree[name] / self.points[name]
                                              if self.points[name] else None)
            if self.has_score:
                row["score_mae"] = self.score_error[name] / n if n else None
                row["score_sign_agreement"] = self.score_agree[name] / n if n else None
            rows[name] = row
        return {"overall": rows["all"], "by_phase": {k: v for k, v in rows.items() if k != "all"}}


_PHASE_NAMES = ("all", *(name for name, _, _ in VALUE_PHASES))


@dataclass
class EncodedGame:
    """One game's positions, as a worker returns them.

    ``planes`` uint8 (n, C, 19, 19); ``moves`` int64 (n,) the expert's move
    index 0..361; ``outcomes`` int8 (n,) the result for the side to move (+1
    won, -1 lost, 0 no decisive result); ``truncated`` the reason the replay
    stopped early at an illegal move, else None. For a counted game of a
    store: ``ownership`` int8 (n, 361) and ``margins`` float32 (n,), the final
    ownership and margin for each position's side to move; else None.
    """

    label: str
    planes: np.ndarray
    moves: np.ndarray
    outcomes: np.ndarray
    decided: bool
    truncated: str | None
    ownership: np.ndarray | None = None
    margins: np.ndarray | None = None


# A game to encode: ("store", path, index) for a game of a prepared store, or
# ("record", GameRecord, label) for a game read from SGF.
_Task = tuple

# Stores opened by this process, by path: the main process opens them before
# the workers start, so forked workers share them instead of reading the file again.
_STORES: dict[str, GameStore] = {}


def _store(path: str) -> GameStore:
    if path not in _STORES:
        _STORES[path] = GameStore(path)
    return _STORES[path]


def encode_game(task: _Task, feature_set: str) -> EncodedGame:
    """Replay one game and encode every position before each of its moves."""
    final, margin = None, float("nan")
    if task[0] == "store":
        _, path, index = task
        store = _store(path)
        label = f"{path} game {index}"
        length = int(store.game_offsets[index + 1] - store.game_offsets[index])
        replay, black_result = store.replay(index), int(store.result[index])
        final, margin = store.game_ownership(index), float(store.score[index])
    else:
        _, record, label = task
        length = len(record.moves)
        replay, black_result = record.replay(), result_value(record.result)
    features = get_feature_set(feature_set)
    planes = np.empty((length, features.num_channels, NETWORK_SIZE, NETWORK_SIZE), np.uint8)
    moves = np.empty(length, np.int64)
    outcomes = np.empty(length, np.int8)
    movers = np.empty(length, np.int8)  # +1 where Black is to move, -1 where White is
    count, truncated = 0, None
    try:
        for state, color, move in replay:
            encode_into(planes[count], state, features)
            moves[count] = move_to_index(move)
            movers[count] = 1 if color == BLACK else -1
            outcomes[count] = movers[count] * black_result
            count += 1
    except IllegalMoveError as error:
        truncated = (f"truncated at move {count + 1} "
                     f"({move_to_gtp(error.move, NETWORK_SIZE)}, {error.reason})")
    ownership = margins = None
    if final is not None:
        signs = movers[:count]
        ownership = signs[:, None] * final[None, :].astype(np.int8)
        margins = (signs * margin).astype(np.float32)
    return EncodedGame(label, planes[:count], moves[:count], outcomes[:count],
                       black_result != 0, truncated, ownership, margins)


def _encode_tasks(tasks: list[_Task], feature_set: str) -> list[EncodedGame]:
    return [encode_game(task, feature_set) for task in tasks]


def _watch_parent(parent: int) -> None:
    """In a worker: exit when the evaluating process is gone (killed, even by -9)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def default_workers() -> int:
    """Encoding processes for this machine: one per core beside the network, at most 15."""
    return max(1, min((os.cpu_count() or 1) - 1, 15))


def _encoded(tasks: Iterator[list[_Task]], feature_set: str,
             workers: int) -> Iterator[EncodedGame]:
    """Encode the tasks, in ``workers`` processes (0: here), yielding games in order.

    At most ``4 * workers`` tasks are in flight, so memory stays bounded however
    many games the sources hold.
    """
    if workers <= 0:
        for chunk in tasks:
            yield from _encode_tasks(chunk, feature_set)
        return
    # fork where there is one: workers share the opened stores and the parsed
    # code; the rules layer they run never touches torch.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with context.Pool(workers, initializer=_watch_parent, initargs=(os.getpid(),)) as pool:
        pending: deque = deque()
        for chunk in tasks:
            pending.append(pool.apply_async(_encode_tasks, (chunk, feature_set)))
            if len(pending) >= 4 * workers:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()


def _open_sources(sources: Sequence[str | Path]) -> None:
    """Check every source exists and open the ``.npz`` stores; ``EvaluationError`` otherwise."""
    if not sources:
        raise EvaluationError("no source given")
    _STORES.clear()  # a store rewritten since the last evaluation is read again
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise EvaluationError(f"{path}: no such file or folder")
        if path.suffix == ".npz":
            if path.is_dir():
                raise EvaluationError(f"{path}: a folder, not a game store")
            try:
                _store(str(path))
            except Exception as error:  # numpy/zipfile raise many kinds for a foreign .npz
                raise EvaluationError(f"{path}: not a game store from goai prepare "
                                      f"({type(error).__name__}: {error})") from None


def _tasks(sources: Sequence[str | Path], skipped: list[dict],
           max_games: int | None) -> Iterator[list[_Task]]:
    """Chunks of ``GAMES_PER_TASK`` games to encode; unusable games go to ``skipped``."""
    chunk: list[_Task] = []
    games = 0
    for task in _each_game(sources, skipped):
        if max_games is not None and games >= max_games:
            break
        games += 1
        chunk.append(task)
        if len(chunk) == GAMES_PER_TASK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _each_game(sources: Sequence[str | Path], skipped: list[dict]) -> Iterator[_Task]:
    for source in sources:
        path = Path(source)
        if path.suffix == ".npz":
            for index in range(len(_store(str(path)))):
                yield ("store", str(path), index)
            continue
        for item in iter_games([path]):
            if isinstance(item, Problem):
                if not item.record_follows:
                    where = item.source if item.index is None else \
                        f"{item.source} game {item.index}"
                    skipped.append({"game": where, "reason": f"{item.kind}: {item.reason}"})
                continue
            if item.size != NETWORK_SIZE:
                skipped.append({"game": _label(item),
                                "reason": f"{item.size}x{item.size} board"})
                continue
            yield ("record", item, _label(item))


def _totals(sources: Sequence[str | Path], max_games: int | None) -> tuple[int, int]:
    """(games, positions) that ``evaluate`` will go through, at most ``max_games`` games:
    from a store's index, and by reading SGF sources once without replaying them. That
    pass costs a few percent of an evaluation on a GPU, and well under 1% on a CPU, where
    the network is the cost. Games cut by an illegal move count whole."""
    games = positions = 0
    for source in sources:
        path = Path(source)
        if path.suffix == ".npz":
            offsets = _store(str(path)).game_offsets
            take = len(offsets) - 1 if max_games is None else min(len(offsets) - 1,
                                                                  max_games - games)
            games += take
            positions += int(offsets[take] - offsets[0])
        else:
            for item in iter_games([path]):
                if max_games is not None and games >= max_games:
                    break
                if isinstance(item, GameRecord) and item.size == NETWORK_SIZE:
                    games += 1
                    positions += len(item.moves)
        if max_games is not None and games >= max_games:
            break
    return games, positions


def _label(record: GameRecord) -> str:
    return f"{record.source} game {record.index}"


def _nothing_to_evaluate(sources: Sequence[str | Path], skipped: list[dict],
                         games: int) -> EvaluationError:
    named = ", ".join(str(s) for s in sources)
    if games:
        return EvaluationError(f"no position to evaluate in {named}: "
                               f"{games} game(s), none with a legal first move")
    if not skipped:
        return EvaluationError(f"no game to evaluate in {named}: no SGF game found "
                               "(an empty folder or store?)")
    reasons: dict[str, int] = {}
    for item in skipped:
        reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
    listed = "; ".join(f"{reason} ({count})" for reason, count in list(reasons.items())[:3])
    # "no 19x19 game" only when games were there but on other boards.
    what = "19x19 game" if any("board" in reason for reason in reasons) else "game"
    return EvaluationError(f"no {what} to evaluate in {named}: "
                           f"{len(skipped)} skipped: {listed}")


def default_batch_size(device: torch.device) -> int:
    """Positions per forward pass for ``device``: 32 on a CPU, 256 elsewhere.

    On a CPU a larger batch is slower, not faster: at 256 the activations
    (256 x 128 x 19 x 19 floats, 47 MB a layer for a 128-filter network)
    outgrow the cache, and on 2 cores the b10c128 ran 30 positions/s at 256
    against 47 at 16-48. A GPU needs the larger batch to be busy.
    """
    return 32 if device.type == "cpu" else 256


def evaluate(policy: Policy, sources: Sequence[str | Path], *, max_games: int | None = None,
             batch_size: int = 256, workers: int | None = None,
             show_progress: bool = True) -> dict:
    """Accuracy (and value quality) of ``policy`` on every position of the games in ``sources``.

    Returns a JSON-ready dict: ``overall`` and ``by_phase`` tallies (positions,
    top1, top5, top10, log_loss), ``by_move`` (top-1 per move number), games
    and positions counted, ``skipped`` games with reasons, ``value`` (see
    ``ValueReport.as_dict``; None without a value head), and the speed
    (``seconds``, ``positions_per_second``, ``network_seconds``: the part spent
    in the network). A game with an illegal move counts up to that move and is
    listed as truncated. ``workers``: encoding processes (None: one per core
    beside the network, 0: encode in this process).

    Raises ``EvaluationError`` for a missing source, a ``.npz`` that is not a
    game store, or sources with no 19x19 game to evaluate (the reasons the
    games were skipped are in the message).
    """
    started = time.perf_counter()
    _open_sources(sources)
    workers = default_workers() if workers is None else workers
    channels = get_feature_set(policy.feature_set).num_channels
    planes = np.empty((batch_size, channels, NETWORK_SIZE, NETWORK_SIZE), dtype=np.uint8)
    targets = np.empty(batch_size, dtype=np.int64)
    move_numbers = np.empty(batch_size, dtype=np.int64)
    outcomes = np.empty(batch_size, dtype=np.int8)
    final_owners = np.zeros((batch_size, NUM_POINTS), dtype=np.int8)
    margins = np.full(batch_size, np.nan, dtype=np.float32)
    overall = Tally()
    phases = {name: Tally() for name, _, _ in PHASES}
    by_move: dict[int, Tally] = {}
    value = ValueReport() if policy.has_value_head else None
    counted_value = ValueReport() if policy.has_value_head else None
    ownership = OwnershipReport()
    skipped: list[dict] = []
    games = 0
    filled = 0
    network_seconds = 0.0

    def flush(count: int) -> None:
        nonlocal network_seconds
        before = time.perf_counter()
        heads = policy.evaluate_heads(planes[:count])
        probabilities, values = heads.probabilities, heads.values
        network_seconds += time.perf_counter() - before
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
        if value is not None and values is not None:
            value.add(values.astype(np.float64), outcomes[:count].astype(np.float64), numbers)
        labelled = np.isfinite(margins[:count])
        if labelled.any():
            if counted_value is not None and values is not None:
                counted_value.add(values[labelled].astype(np.float64),
                                  outcomes[:count][labelled].astype(np.float64),
                                  numbers[labelled])
            ownership.add(None if heads.ownership is None else heads.ownership[labelled],
                          final_owners[:count][labelled],
                          None if heads.scores is None else heads.scores[labelled],
                          margins[:count][labelled], numbers[labelled])

    tasks = _tasks(sources, skipped, max_games)
    total_games, total_positions = (_totals(sources, max_games) if show_progress
                                    else (None, None))
    if show_progress:
        # Said before the work: at a CPU's 17 positions/s a test split takes hours, and the
        # progress line's time left follows from the first batches.
        print(f"evaluate: {total_games:,} games, {total_positions:,} positions",
              file=sys.stderr, flush=True)
    with Progress("evaluate", total=total_positions, unit="positions",
                  enabled=show_progress) as bar:
        for game in _encoded(tasks, policy.feature_set, workers):
            games += 1
            if value is not None:
                value.games += game.decided
                value.games_without_result += not game.decided
                counted_value.games += game.margins is not None
            if game.truncated:
                skipped.append({"game": game.label, "reason": game.truncated})
            start = 0
            while start < len(game.moves):
                take = min(batch_size - filled, len(game.moves) - start)
                rows, part = slice(filled, filled + take), slice(start, start + take)
                planes[rows] = game.planes[part]
                targets[rows] = game.moves[part]
                move_numbers[rows] = np.arange(start + 1, start + take + 1)
                outcomes[rows] = game.outcomes[part]
                if game.margins is None:
                    margins[rows] = np.nan
                else:
                    final_owners[rows] = game.ownership[part]
                    margins[rows] = game.margins[part]
                filled += take
                start += take
                if filled == batch_size:
                    flush(filled)
                    filled = 0
            bar.update(len(game.moves), games=games, top1=f"{overall.as_dict()['top1']:.3f}")
        if filled:
            flush(filled)
    if overall.positions == 0:
        raise _nothing_to_evaluate(sources, skipped, games)
    seconds = time.perf_counter() - started
    return {
        "model": str(policy.path),
        "feature_set": policy.feature_set,
        "symmetries": policy.symmetries,
        "device": str(policy.device),
        "games": games,
        "positions": overall.positions,
        "overall": overall.as_dict(),
        "by_phase": {name: tally.as_dict() for name, tally in phases.items()},
        "by_move": {number: by_move[number].as_dict()["top1"] for number in sorted(by_move)},
        "value": None if value is None else value.as_dict(),
        "value_counted_games": (None if counted_value is None or not counted_value.games
                                else counted_value.as_dict()),
        "ownership": ownership.as_dict() if ownership.has_ownership or ownership.has_score
        else None,
        "skipped": skipped,
        "workers": workers,
        "batch_size": batch_size,
        "seconds": seconds,
        "positions_per_second": overall.positions / seconds,
        "network_seconds": network_seconds,
    }
