"""Preparing a game store: SGF sources -> filtered, checked, de-duplicated, split games.

``prepare`` reads any mix of sources, keeps 19x19 games that pass the filters,
replays each one to check it (a game is cut before its first illegal move),
drops later copies of a game, splits by game and writes the three splits
(``train.npz``, ``val.npz``, ``test.npz``, format: ``goai.records.store``) and
``manifest.json``. It imports no torch, so neither do its worker processes.

The split is by game, from the game's key (a hash of its setup and moves), so
it is the same on every machine and for every subset of the sources: a game in
the test split of one preparation is never in the train split of another. One
exception, said in the manifest's warnings: in a collection so small that a
held-out split would get fewer than ``min_held_out`` games (50; at most 10% of
the games, at least one), its lowest-keyed train games are moved there, since
a split of one or two games measures nothing.

Ownership and score targets (``goai.records.labels``): with ``ownership="gnugo"``
(``auto``, the default, when GNU Go is installed) every game that ended by
counting is judged by GNU Go, and the games whose count after removing the
dead stones gives the recorded margin (within a point) keep their final
ownership and margin in the store; resigned games keep none. The manifest
says how many were counted, judged and kept. This is the slow part of a
preparation: GNU Go takes about a second a counted game.

Each source is read once, in parallel, into a cached part (``OUT/parts/``, a
store file of the games kept plus a summary of what was dropped), so an
interrupted preparation resumes and a rerun with other fractions reuses them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from goai.display.progress import Progress
from goai.records.labels import GnuGoJudge, LabelError, find_gnugo, recorded_margin
from goai.records.record import GameRecord
from goai.records.sgf import Problem, iter_games
from goai.records.sources import reads_whole_file
from goai.records.store import (
    SPLITS,
    STORE_VERSION,
    GameStore,
    StoredGame,
    stored_game,
    write_store,
)
from goai.rules.coords import NETWORK_SIZE

# The most of a collection that min_held_out may take for one held-out split: a
# 100-game collection keeps 80 games to train on.
MAX_HELD_OUT_SHARE = 0.1
# A part is a store file plus a summary; the version is in each part's name, so
# parts of an older format are not read but made again.
PART_VERSION = 3
OWNERSHIP_CHOICES = ("auto", "gnugo", "none")
STORE_FILES = ("manifest.json", *(f"{name}.npz" for name in SPLITS))


class PrepareError(Exception):
    """A preparation that cannot go ahead; the message says why, in one line."""


@dataclass(frozen=True)
class PrepareConfig:
    """Filters and split of ``prepare``. Fractions are of games, by hash.

    A held-out split whose fraction is above 0 gets at least ``min_held_out``
    games, or 10% of the collection when that is fewer (and at least one game);
    1 keeps the fractions but for an empty split. Raises ``ValueError`` for a
    fraction outside 0..1 (or val + test reaching 1), negative ``workers``,
    ``min_moves`` or ``min_held_out``, or a ``min_rank`` that is not a rank.
    """

    val_fraction: float = 0.005
    test_fraction: float = 0.01
    min_held_out: int = 50
    min_moves: int = 20
    skip_handicap: bool = False
    min_rank: str | None = None
    workers: int = 0  # 0: one per CPU core
    ownership: str = "auto"  # gnugo: label counted games; none; auto: gnugo when installed

    def __post_init__(self) -> None:
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name.replace('_', ' ')} {value:g} is not between 0 and 1")
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val and test fractions add up to 1 or more: no games left to train")
        if self.workers < 0:
            raise ValueError(f"workers {self.workers}: give 0 (one per core) or more")
        if self.min_moves < 0:
            raise ValueError(f"min moves {self.min_moves} is negative")
        if self.ownership not in OWNERSHIP_CHOICES:
            raise ValueError(f"ownership {self.ownership!r}: give {', '.join(OWNERSHIP_CHOICES)}")
        if self.min_held_out < 0:
            raise ValueError(f"min held out {self.min_held_out} is negative")
        if self.min_rank is not None and rank_value(self.min_rank) is None:
            raise ValueError(f"min rank {self.min_rank!r} is not a rank such as 30k, 6d or 1p")


def split_of(key: int, config: PrepareConfig) -> str:
    """The split a game key falls in: uniform in [0, 1) from the key's bits."""
    fraction = key / 2**64
    if fraction < config.test_fraction:
        return "test"
    if fraction < config.test_fraction + config.val_fraction:
        return "val"
    return "train"


_RANK = re.compile(r"^\s*(\d+)\s*([kdp])", re.IGNORECASE)


def rank_value(rank: str | None) -> int | None:
    """``"30k"`` -> -30, ``"6d"`` -> 6, ``"1p"`` -> 10 (pros above 9 dan); None if unreadable."""
    match = _RANK.match(rank or "")
    if match is None:
        return None
    number, kind = int(match.group(1)), match.group(2).lower()
    return {"k": -number, "d": number, "p": 9 + number}[kind]


# ----------------------------------------------------------------- reading sources


@dataclass
class _Part:
    """The games kept from one unit of sources, plus what was dropped and why."""

    games: list[StoredGame] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    games_read: int = 0
    labels: Counter = field(default_factory=Counter)


def _filter_reason(record: GameRecord, config: PrepareConfig) -> str | None:
    if record.size != NETWORK_SIZE:
        return "not 19x19"
    if config.skip_handicap and (record.handicap > 0 or record.setup_black):
        return "handicap"
    if config.min_rank is not None:
        floor = rank_value(config.min_rank)
        ranks = [rank_value(record.black_rank), rank_value(record.white_rank)]
        if any(r is not None and r < floor for r in ranks):
            return "below minimum rank"
    return None


def _prepare_unit(unit: tuple[Path, ...], config: PrepareConfig) -> _Part:
    """Read one unit of sources, filter, check and label its games (runs in a worker process)."""
    part = _Part()
    judge = GnuGoJudge() if config.ownership == "gnugo" else None
    try:
        _read_unit(unit, config, part, judge)
    finally:
        if judge is not None:
            judge.close()
    return part


def _label(game: StoredGame, record: GameRecord, judge: GnuGoJudge, part: _Part) -> None:
    """Give a counted ``game`` its ownership and score when GNU Go's count agrees."""
    if recorded_margin(record.result) is None:
        return
    part.labels["counted"] += 1
    if len(game.moves) < len(record.moves):  # cut at an illegal move: not the counted end
        part.labels["truncated"] += 1
        return
    black, white = game.setup_points()
    try:
        label = judge.label(NETWORK_SIZE, game.komi, game.moves_and_colors(), record.result,
                            black, white)
    except LabelError as error:
        part.labels["judge failed"] += 1
        part.notes.append(f"{record.source} game {record.index}: no ownership ({error})")
        return
    if label is None or not label.agrees:
        part.labels["count disagrees"] += 1
        return
    part.labels["labelled"] += 1
    game.score = label.margin
    game.ownership = label.ownership


def _read_unit(unit: tuple[Path, ...], config: PrepareConfig, part: _Part,
               judge: GnuGoJudge | None) -> None:
    for item in iter_games(unit):
        if isinstance(item, Problem):
            if not item.record_follows:
                part.dropped[f"unreadable ({item.kind})"] += 1
            part.notes.append(str(item))
            continue
        part.games_read += 1
        reason = _filter_reason(item, config)
        if reason is None:
            game, illegal = stored_game(item)
            if illegal is not None:
                part.notes.append(f"{item.source} game {item.index}: truncated at {illegal}")
                part.dropped["truncated at an illegal move (kept)"] += 1
            if len(game.moves) < config.min_moves:
                reason = f"fewer than {config.min_moves} moves"
        if reason is not None:
            part.dropped[reason] += 1
            continue
        if judge is not None:
            _label(game, item, judge, part)
        part.games.append(game)


LOOSE_FILES_PER_UNIT = 2000
_ARCHIVE = re.compile(r"\.(zip|tar|tgz|tbz2|tar\.gz|tar\.bz2)$", re.IGNORECASE)


def _source_units(sources: Sequence[str | Path]) -> list[tuple[Path, ...]]:
    """Cut the sources into units of work, each read by one worker and cached as one part.

    An archive or a single file is a unit; loose ``.sgf`` files found in a
    directory are grouped, up to ``LOOSE_FILES_PER_UNIT`` per unit, so a folder
    of 50,000 games does not become 50,000 parts. Raises ``FileNotFoundError``
    for a missing source.
    """
    units: list[tuple[Path, ...]] = []
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        if not path.is_dir():
            units.append((path,))
            continue
        files = sorted(p for p in path.rglob("*") if p.is_file())
        units += [(p,) for p in files if _ARCHIVE.search(p.name)]
        loose = [p for p in files if p.suffix.lower() == ".sgf"]
        for start in range(0, len(loose), LOOSE_FILES_PER_UNIT):
            units.append(tuple(loose[start : start + LOOSE_FILES_PER_UNIT]))
    return units


def _unit_digest(unit: tuple[Path, ...]) -> str | None:
    """SHA-256 over the bytes of the unit's files that the reader read, for the manifest;
    None when it read none.

    A source the reader refused unread (``/dev/zero``, a FIFO, an ``.sgf`` over
    the size cap: ``sources.reads_whole_file``) is not read here either: the
    checksum would otherwise never end, block, or read a 1 GB file it refused.
    """
    digest = hashlib.sha256()
    hashed = False
    for path in unit:
        if not reads_whole_file(path):
            continue
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        hashed = True
    return digest.hexdigest() if hashed else None


def _unit_name(unit: tuple[Path, ...]) -> str:
    if len(unit) == 1:
        return str(unit[0])
    return f"{unit[0].parent} ({len(unit)} files from {unit[0].name})"


def _part_path(parts_dir: Path, unit: tuple[Path, ...], config: PrepareConfig) -> Path:
    """Cache file for one unit: named by its files' paths, sizes, mtimes and the filters."""
    filters = [config.min_moves, config.skip_handicap, config.min_rank, config.ownership,
               PART_VERSION]
    ident = json.dumps(filters) + "".join(
        f"|{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in unit
    )
    tag = hashlib.sha1(ident.encode()).hexdigest()[:12]
    return parts_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', unit[0].name)}-{tag}.npz"


def _save_part(path: Path, part: _Part) -> None:
    summary = {"games_read": part.games_read, "dropped": dict(part.dropped), "notes": part.notes,
               "labels": dict(part.labels)}
    write_store(path, part.games, summary=np.array(json.dumps(summary)))


def _load_part(path: Path) -> tuple[GameStore, dict]:
    """A cached part: its games as a store, and its summary."""
    with np.load(path) as data:
        summary = json.loads(str(data["summary"]))
    return GameStore(path), summary


# ----------------------------------------------------------------- the store


def _check_out(out_dir: Path, overwrite: bool) -> None:
    """Refuse an ``out_dir`` that is a file, holds a store, or holds anything but parts.

    A folder holding only ``parts/`` is an interrupted preparation: it resumes.
    ``overwrite`` allows replacing a store (and writing into a folder of other files).
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise PrepareError(f"{out_dir} is a file; --out takes a folder")
    if not out_dir.exists() or overwrite:
        return
    names = {path.name for path in out_dir.iterdir()}
    if names & set(STORE_FILES):
        raise PrepareError(f"{out_dir} already holds a game store; prepare into a new "
                           "folder, or replace it with --force")
    others = sorted(names - {"parts"})
    if others:
        raise PrepareError(f"{out_dir} is not empty ({others[0]}, ...) and is no game store; "
                           "prepare into a new or empty folder, or write there with --force")


def prepare(sources: Sequence[str | Path], out_dir: str | Path,
            config: PrepareConfig = PrepareConfig(), *, overwrite: bool = False,
            show_progress: bool = True) -> dict:
    """Prepare ``sources`` into ``out_dir`` and return the manifest (also written there).

    Each source unit is read once into ``out_dir/parts/`` (in parallel, one
    worker per core); a rerun reuses finished parts, so an interrupted
    preparation resumes. Then games are de-duplicated in source order (later
    copies dropped), split by hash and written as ``train.npz``, ``val.npz``
    and ``test.npz`` with ``manifest.json``.

    Raises ``FileNotFoundError`` for a missing source, and ``PrepareError``
    when ``out_dir`` is a file, cannot be made (a read-only file system, a path
    under a file) or already holds a store (unless ``overwrite``), or when no
    game is kept: a store is never replaced by an empty one, and a folder this
    call created is removed again. Every file is written whole or not at all,
    so an ``OSError`` while writing (a full disk) leaves no partial file.
    """
    out_dir = Path(out_dir)
    _check_out(out_dir, overwrite)
    if config.ownership == "auto":
        config = replace(config, ownership="gnugo" if find_gnugo() else "none")
    elif config.ownership == "gnugo" and find_gnugo() is None:
        raise PrepareError("--ownership gnugo: GNU Go is not installed (apt-get install gnugo); "
                           "it judges the dead stones of counted games")
    units = _source_units(sources)
    if not units:
        raise PrepareError(f"no SGF files or archives found in {', '.join(map(str, sources))}")
    created = not out_dir.exists()
    parts_dir = out_dir / "parts"
    try:
        parts_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a read-only file system, a path under a file
        raise PrepareError(f"cannot write to {out_dir}: {error.strerror}") from None
    part_paths = [_part_path(parts_dir, unit, config) for unit in units]
    todo = [(u, p) for u, p in zip(units, part_paths, strict=True) if not p.exists()]
    workers = config.workers or os.cpu_count() or 1
    with Progress("prepare", total=len(units), unit="sources", enabled=show_progress,
                  initial=len(units) - len(todo)) as bar:  # parts done before: not in the rate
        if todo:
            with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
                futures = {pool.submit(_prepare_unit, u, config): p for u, p in todo}
                for future in as_completed(futures):
                    _save_part(futures[future], future.result())
                    bar.update(1, last=futures[future].name)
    try:
        return _assemble(units, part_paths, out_dir, config)
    except PrepareError:
        if created:
            shutil.rmtree(out_dir)
        raise


def _assemble(units: list[tuple[Path, ...]], part_paths: list[Path], out_dir: Path,
              config: PrepareConfig) -> dict:
    """De-duplicate and split the parts' games, write the splits and the manifest."""
    seen: set[int] = set()
    splits: dict[str, list[StoredGame]] = {name: [] for name in SPLITS}
    dropped: Counter = Counter()
    labels: Counter = Counter()
    notes: list[str] = []
    games_read = 0
    source_info = []
    for unit, part_path in zip(units, part_paths, strict=True):
        part, summary = _load_part(part_path)
        games_read += summary["games_read"]
        dropped.update(summary["dropped"])
        labels.update(summary.get("labels", {}))
        notes += summary["notes"]
        kept = 0
        for index in range(len(part)):
            game = part.game(index)
            if game.key in seen:
                dropped["duplicate"] += 1
                continue
            seen.add(game.key)
            splits[split_of(game.key, config)].append(game)
            kept += 1
        source_info.append({"path": _unit_name(unit), "sha256": _unit_digest(unit),
                            "games_read": summary["games_read"], "games_kept": kept})
    if not seen:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(dropped.items()))
        raise PrepareError(f"no games to store: {games_read} games read"
                           + (f", dropped: {reasons}" if reasons else "; no SGF games found"))
    warnings = _fill_held_out_splits(splits, config)
    counts = {}
    for name, games in splits.items():
        write_store(out_dir / f"{name}.npz", games)
        counts[name] = {"games": len(games), "positions": int(sum(len(g.moves) for g in games)),
                        "labelled_games": sum(g.ownership is not None for g in games)}
    manifest = {
        "format": "goai-game-store",
        "version": STORE_VERSION,
        "sources": source_info,
        "config": asdict(config),
        "games_read": games_read,
        "dropped": dict(sorted(dropped.items())),
        "ownership": _ownership_summary(config, labels),
        "splits": counts,
        "warnings": warnings,
        "problems": notes[:1000],
        "problems_total": len(notes),
    }
    partial = out_dir / "manifest.json.tmp"
    try:
        partial.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        os.replace(partial, out_dir / "manifest.json")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def _ownership_summary(config: PrepareConfig, labels: Counter) -> dict:
    """The manifest's account of the ownership targets: who judged, how many agreed."""
    summary: dict = {"judge": "GNU Go final_status_list dead" if config.ownership == "gnugo"
                     else None, **{key: int(labels[key]) for key in sorted(labels)}}
    counted = labels["counted"] - labels["truncated"]
    if config.ownership == "gnugo" and counted:
        summary["agreement"] = round(labels["labelled"] / counted, 4)
    return summary


def _fill_held_out_splits(splits: dict[str, list[StoredGame]],
                          config: PrepareConfig) -> list[str]:
    """Give a small test or val split (fraction above 0) games from train; say so.

    By hash alone, 250 games at the default 1% test and 0.5% val put 1 or 2 games
    in each: a top-1 measured on 300 positions of one game means nothing. Each
    held-out split is topped up to ``config.min_held_out`` games, or to
    ``MAX_HELD_OUT_SHARE`` of the collection when that is fewer, and to one game
    at least. The games moved are train's lowest-keyed, so the choice is
    reproducible; the price is that, unlike every other game, they may sit in
    train in a larger preparation. Train always keeps at least one game.
    Returns the warnings, each saying what to do instead.
    """
    warnings = []
    total = sum(len(games) for games in splits.values())
    for name, fraction in (("test", config.test_fraction), ("val", config.val_fraction)):
        if fraction == 0:
            continue
        have = len(splits[name])
        want = max(1, min(config.min_held_out, int(MAX_HELD_OUT_SHARE * total)))
        if have >= want:
            continue
        train = splits["train"]
        move = min(want - have, len(train) - 1)
        if move <= 0:
            warnings.append(f"only {len(train)} game for training: the {name} split is "
                            + ("empty" if not have else f"{have} games"))
            continue
        train.sort(key=lambda game: game.key)
        splits[name].extend(train[:move])
        del train[:move]
        warnings.append(
            f"the {name} split got {move} of the lowest-keyed training games: {have} of the "
            f"{total} games hashed into it at --{name}-fraction {fraction:g}, too few to "
            f"measure, so it now holds {have + move} ({(have + move) / total:.0%}). For "
            f"another size give --{name}-fraction or --min-held-out N (1: the fraction "
            "alone); more games make every split better")
    return warnings
