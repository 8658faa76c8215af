"""Training data: SGF collections -> a compact game store -> batches of positions.

Preparing (``prepare``) reads any mix of sources, keeps 19x19 games that pass
the filters, replays each one to check it (a game is cut at its first illegal
move), and stores the *moves*, not the planes. Training replays the stored
games, each under a random board symmetry, and encodes positions on the fly.

Why move lists rather than bit-packed planes: a stored position costs about
one byte (its int16 move, compressed) instead of ~1 KB of packed planes (22
planes x 361 bits), so the whole Tom + Tygem collection (34 million positions)
fits in under 40 MB instead of tens of GB, and a change of feature set needs
no new preparation. The price is replaying and encoding during training; on
CPU the network is ~50x slower than that (``goai bench`` measures both), and
on a GPU the work spreads over loader processes.

Store layout (one ``.npz`` per split, ``train``, ``val``, ``test``; version 2,
written with ``np.savez_compressed``)::

    version       int          2
    move_low      uint8 (M,)   low byte of each move code
    move_high     uint8 (M,)   high byte: bit 0 = move index bit 8, bit 1 = White moved
    game_lengths  int32 (G,)   moves per game, games in store order
    setup         int16 (S,)   setup stones, as move codes (the colour bit is the stone's)
    setup_lengths int32 (G,)
    komi          float32 (G,)
    handicap      int8 (G,)
    result        int8 (G,)    +1 Black won, -1 White won, 0 draw or unknown
    game_keys     uint64 (G,)  hash of size, setup and moves: splits and de-duplication

A move code is the move index 0..361 (361 = pass) + 512 if White moved
(``encode_move``). Storing its two bytes as separate arrays lets zlib see the
low bytes (the points, ~8.4 bits of entropy a move) apart from the nearly
constant high bits: 36 MB for the 34 million moves of Tom + Tygem, against
43 MB for the compressed int16 codes and 69 MB uncompressed. Version 1
stores (uncompressed ``moves`` int16 and int64 ``game_offsets``/
``setup_offsets``) are still read. ``GameStore`` rebuilds the int16 codes in
memory (2 bytes a move: 69 MB for the full collection).

The split is by game, from ``game_keys`` (a hash of the move sequence), so it
is the same on every machine and for every subset of the sources: a game in
the test split of one preparation is never in the train split of another.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from goai.board import BLACK, WHITE, IllegalMoveError
from goai.coords import NETWORK_SIZE, NUM_MOVES, PASS, PASS_INDEX, move_to_gtp
from goai.features import FeatureSet, encode_into, get_feature_set
from goai.game import GameState, replay
from goai.progress import Progress
from goai.sgf import GameRecord, Problem, iter_games
from goai.symmetry import NUM_SYMMETRIES, transform_move_index

STORE_VERSION = 2
READABLE_STORE_VERSIONS = (1, 2)
# The cached parts (prepare's per-source files) keep their own format and
# version, so a new store layout does not throw away hours of parsed sources.
PART_VERSION = 1
WHITE_BIT = 512
SPLITS = ("train", "val", "test")


# ----------------------------------------------------------------- preparing


@dataclass(frozen=True)
class PrepareConfig:
    """Filters and split of ``prepare``. Fractions are of games, by hash."""

    val_fraction: float = 0.005
    test_fraction: float = 0.01
    min_moves: int = 20
    skip_handicap: bool = False
    min_rank: str | None = None
    workers: int = 0  # 0: one per CPU core


def game_key(size: int, setup: Sequence[int], moves: Sequence[int]) -> int:
    """64-bit hash of a game's size, setup and encoded moves (split and duplicate key)."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(np.array([size, len(setup)], dtype=np.int64).tobytes())
    digest.update(np.asarray(setup, dtype=np.int16).tobytes())
    digest.update(np.asarray(moves, dtype=np.int16).tobytes())
    return int.from_bytes(digest.digest(), "little")


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


def result_value(result: str | None) -> int:
    """+1 when Black won, -1 when White won, 0 otherwise (draw, void, unknown)."""
    text = (result or "").strip().upper()
    if text.startswith("B+"):
        return 1
    if text.startswith("W+"):
        return -1
    return 0


def encode_move(color: int, move: int) -> int:
    """(colour, move on 19x19) -> the store's int16 code."""
    index = PASS_INDEX if move == PASS else move
    return index + (WHITE_BIT if color == WHITE else 0)


def decode_move(code: int) -> tuple[int, int]:
    """The store's int16 code -> (colour, move)."""
    color = WHITE if code & WHITE_BIT else BLACK
    index = code & (WHITE_BIT - 1)
    return color, PASS if index == PASS_INDEX else index


@dataclass
class _Part:
    """The games kept from one source, as arrays, plus what was dropped and why."""

    moves: list[np.ndarray] = field(default_factory=list)
    setups: list[np.ndarray] = field(default_factory=list)
    komi: list[float] = field(default_factory=list)
    handicap: list[int] = field(default_factory=list)
    result: list[int] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    games_read: int = 0


def _filter_reason(record: GameRecord, config: PrepareConfig) -> str | None:
    if record.size != NETWORK_SIZE:
        return "not 19x19"
    if config.skip_handicap and (record.handicap > 0 or record.setup_black):
        return "handicap"
    if config.min_rank is not None:
        floor = rank_value(config.min_rank)
        ranks = [rank_value(record.black_rank), rank_value(record.white_rank)]
        if floor is not None and any(r is not None and r < floor for r in ranks):
            return "below minimum rank"
    return None


def _checked_moves(record: GameRecord) -> tuple[list[int], str | None]:
    """Encoded moves up to the first illegal one, and why it stopped (None if complete)."""
    codes = []
    try:
        for _, color, move in record.replay():
            codes.append(encode_move(color, move))
    except IllegalMoveError as error:
        # replay yields a move before playing it, so the illegal one is already in codes.
        codes.pop()
        move = move_to_gtp(error.move, record.size)
        return codes, f"illegal move {len(codes) + 1} ({move}, {error.reason})"
    return codes, None


def _setup_codes(record: GameRecord) -> np.ndarray:
    """The record's setup stones as int16 move codes, black ones first."""
    setup = [encode_move(BLACK, p) for p in record.setup_black]
    setup += [encode_move(WHITE, p) for p in record.setup_white]
    return np.array(setup, dtype=np.int16)


def _prepare_unit(unit: tuple[Path, ...], config: PrepareConfig) -> _Part:
    """Read one unit of sources, filter and check its games (runs in a worker process)."""
    part = _Part()
    for item in iter_games(unit):
        if isinstance(item, Problem):
            if not item.record_follows:
                part.dropped[f"unreadable ({item.kind})"] += 1
            part.notes.append(str(item))
            continue
        part.games_read += 1
        reason = _filter_reason(item, config)
        if reason is None:
            codes, illegal = _checked_moves(item)
            if illegal is not None:
                part.notes.append(f"{item.source} game {item.index}: truncated at {illegal}")
                part.dropped["truncated at an illegal move (kept)"] += 1
            if len(codes) < config.min_moves:
                reason = f"fewer than {config.min_moves} moves"
        if reason is not None:
            part.dropped[reason] += 1
            continue
        part.moves.append(np.array(codes, dtype=np.int16))
        part.setups.append(_setup_codes(item))
        part.komi.append(item.komi)
        part.handicap.append(item.handicap)
        part.result.append(result_value(item.result))
    return part


LOOSE_FILES_PER_UNIT = 2000
_ARCHIVE = re.compile(r"\.(zip|tar|tgz|tbz2|tar\.gz|tar\.bz2)$", re.IGNORECASE)


def _source_units(sources: Sequence[str | Path]) -> list[tuple[Path, ...]]:
    """Cut the sources into units of work, each read by one worker and cached as one part.

    An archive or a single file is a unit; loose ``.sgf`` files found in a
    directory are grouped, up to ``LOOSE_FILES_PER_UNIT`` per unit, so a folder
    of 50,000 games does not become 50,000 parts.
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


def _unit_digest(unit: tuple[Path, ...]) -> str:
    """SHA-256 over the bytes of the unit's files, for the manifest."""
    digest = hashlib.sha256()
    for path in unit:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _unit_name(unit: tuple[Path, ...]) -> str:
    if len(unit) == 1:
        return str(unit[0])
    return f"{unit[0].parent} ({len(unit)} files from {unit[0].name})"


def _part_path(parts_dir: Path, unit: tuple[Path, ...], config: PrepareConfig) -> Path:
    """Cache file for one unit: named by its files' paths, sizes, mtimes and the filters."""
    filters = [config.min_moves, config.skip_handicap, config.min_rank, PART_VERSION]
    ident = json.dumps(filters) + "".join(
        f"|{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in unit
    )
    tag = hashlib.sha1(ident.encode()).hexdigest()[:12]
    return parts_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', unit[0].name)}-{tag}.npz"


def _save_part(path: Path, part: _Part) -> None:
    lengths = np.array([len(m) for m in part.moves], dtype=np.int64)
    setup_lengths = np.array([len(s) for s in part.setups], dtype=np.int64)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(
        tmp,
        moves=np.concatenate(part.moves) if part.moves else np.zeros(0, np.int16),
        lengths=lengths,
        setup=np.concatenate(part.setups) if part.setups else np.zeros(0, np.int16),
        setup_lengths=setup_lengths,
        komi=np.array(part.komi, dtype=np.float32),
        handicap=np.array(part.handicap, dtype=np.int8),
        result=np.array(part.result, dtype=np.int8),
        summary=np.array(json.dumps(
            {"games_read": part.games_read, "dropped": dict(part.dropped), "notes": part.notes}
        )),
    )
    os.replace(tmp, path)


def _load_part(path: Path) -> tuple[list[dict], dict]:
    """A cached part as a list of games (dicts of arrays) and its summary."""
    with np.load(path) as data:
        move_ends = np.cumsum(data["lengths"])
        setup_ends = np.cumsum(data["setup_lengths"])
        moves = np.split(data["moves"], move_ends[:-1]) if len(move_ends) else []
        setups = np.split(data["setup"], setup_ends[:-1]) if len(setup_ends) else []
        games = [
            {"moves": m, "setup": s, "komi": k, "handicap": h, "result": r}
            for m, s, k, h, r in zip(
                moves, setups, data["komi"], data["handicap"], data["result"], strict=True
            )
        ]
        summary = json.loads(str(data["summary"]))
    return games, summary


def prepare(sources: Sequence[str | Path], out_dir: str | Path,
            config: PrepareConfig = PrepareConfig(), *, show_progress: bool = True) -> dict:
    """Prepare ``sources`` into ``out_dir`` and return the manifest (also written there).

    Each source file is read once into ``out_dir/parts/`` (in parallel, one
    worker per core); a rerun reuses finished parts, so an interrupted
    preparation resumes. Then games are de-duplicated in source order (later
    copies dropped), split by hash and written as ``train.npz``, ``val.npz``
    and ``test.npz`` with ``manifest.json``.
    """
    out_dir = Path(out_dir)
    parts_dir = out_dir / "parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    units = _source_units(sources)
    part_paths = [_part_path(parts_dir, unit, config) for unit in units]
    todo = [(u, p) for u, p in zip(units, part_paths, strict=True) if not p.exists()]
    workers = config.workers or os.cpu_count() or 1
    with Progress("prepare", total=len(units), unit="sources", enabled=show_progress) as bar:
        bar.update(len(units) - len(todo))
        if todo:
            with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
                futures = {pool.submit(_prepare_unit, u, config): p for u, p in todo}
                for future in as_completed(futures):
                    _save_part(futures[future], future.result())
                    bar.update(1, last=futures[future].name)
    return _assemble(units, part_paths, out_dir, config)


def _assemble(units: list[tuple[Path, ...]], part_paths: list[Path], out_dir: Path,
              config: PrepareConfig) -> dict:
    seen: set[int] = set()
    splits: dict[str, list[tuple[int, dict]]] = {name: [] for name in SPLITS}
    dropped: Counter = Counter()
    notes: list[str] = []
    games_read = 0
    source_info = []
    for unit, part_path in zip(units, part_paths, strict=True):
        games, summary = _load_part(part_path)
        games_read += summary["games_read"]
        dropped.update(summary["dropped"])
        notes += summary["notes"]
        kept = 0
        for game in games:
            key = game_key(NETWORK_SIZE, game["setup"], game["moves"])
            if key in seen:
                dropped["duplicate"] += 1
                continue
            seen.add(key)
            splits[split_of(key, config)].append((key, game))
            kept += 1
        source_info.append({"path": _unit_name(unit), "sha256": _unit_digest(unit),
                            "games_read": summary["games_read"], "games_kept": kept})
    counts = {}
    for name, games in splits.items():
        _write_store(out_dir / f"{name}.npz", games)
        positions = int(sum(len(g["moves"]) for _, g in games))
        counts[name] = {"games": len(games), "positions": positions}
    manifest = {
        "format": "goai-game-store",
        "version": STORE_VERSION,
        "sources": source_info,
        "config": asdict(config),
        "games_read": games_read,
        "dropped": dict(sorted(dropped.items())),
        "splits": counts,
        "problems": notes[:1000],
        "problems_total": len(notes),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def _write_store(path: Path, games: list[tuple[int, dict]]) -> None:
    """Write ``games`` ((key, game dict) pairs) as a version-2 store (layout: module doc)."""
    moves = [g["moves"] for _, g in games]
    setups = [g["setup"] for _, g in games]
    codes = (np.concatenate(moves) if moves else np.zeros(0, np.int16)).astype(np.uint16)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        version=np.array(STORE_VERSION),
        move_low=(codes & 0xFF).astype(np.uint8),
        move_high=(codes >> 8).astype(np.uint8),
        game_lengths=np.array([len(m) for m in moves], dtype=np.int32),
        setup=np.concatenate(setups) if setups else np.zeros(0, np.int16),
        setup_lengths=np.array([len(s) for s in setups], dtype=np.int32),
        komi=np.array([g["komi"] for _, g in games], dtype=np.float32),
        handicap=np.array([g["handicap"] for _, g in games], dtype=np.int8),
        result=np.array([g["result"] for _, g in games], dtype=np.int8),
        game_keys=np.array([k for k, _ in games], dtype=np.uint64),
    )
    os.replace(tmp, path)


def write_games(records: Iterable[GameRecord], path: str | Path) -> int:
    """Write the 19x19 games of ``records`` as one store file; return how many.

    No filters, no de-duplication, no split: this is for benchmarks and tests
    that start from parsed games, while ``prepare`` makes training data. As
    there, a game is cut at its first illegal move.
    """
    games = []
    for record in records:
        if record.size != NETWORK_SIZE:
            continue
        codes, _ = _checked_moves(record)
        game = {"moves": np.array(codes, dtype=np.int16), "setup": _setup_codes(record),
                "komi": record.komi, "handicap": record.handicap,
                "result": result_value(record.result)}
        games.append((game_key(NETWORK_SIZE, game["setup"], game["moves"]), game))
    _write_store(Path(path), games)
    return len(games)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    """Lengths (G,) -> int64 offsets (G+1,): item g spans ``offsets[g]:offsets[g+1]``."""
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])


# ----------------------------------------------------------------- the store


class GameStore:
    """One split of prepared games, held in memory (a few bytes per position).

    ``moves`` int16 (M,) and ``game_offsets`` int64 (G+1,) are as in a version-1
    store whatever the file's version; ``setup``/``setup_offsets`` likewise.
    Raises ``ValueError`` for a store version this goai cannot read.
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        with np.load(path) as data:
            version = int(data["version"])
            if version not in READABLE_STORE_VERSIONS:
                raise ValueError(f"{path}: game store version {version}, this goai reads "
                                 f"{READABLE_STORE_VERSIONS}; run goai prepare again")
            if version == 1:
                self.moves = data["moves"]
                self.game_offsets = data["game_offsets"]
                self.setup_offsets = data["setup_offsets"]
            else:
                self.moves = data["move_high"].astype(np.int16)
                self.moves <<= 8  # in place: the full store is 69 MB of int16
                self.moves |= data["move_low"]
                self.game_offsets = _offsets(data["game_lengths"])
                self.setup_offsets = _offsets(data["setup_lengths"])
            self.setup = data["setup"]
            self.komi = data["komi"]
            self.handicap = data["handicap"]
            self.result = data["result"]
        self.path = path

    def __len__(self) -> int:
        return len(self.komi)

    @property
    def num_positions(self) -> int:
        return len(self.moves)

    def game_moves(self, game: int, symmetry: int = 0) -> list[tuple[int, int]]:
        """(colour, move) of each move of stored game ``game``, moved by ``symmetry`` (0..7)."""
        codes = self.moves[self.game_offsets[game] : self.game_offsets[game + 1]]
        return _decoded(codes, symmetry)

    def replay(self, game: int, symmetry: int = 0) -> Iterator[tuple[GameState, int, int]]:
        """``game.replay`` of stored game ``game``: (state, colour, move) before each move.

        With ``symmetry`` k, every setup stone and move is first moved by
        symmetry k, so each position is the stored one under ``transform_planes(.., k)``:
        the rules do not change under rotation and reflection, and augmenting
        this way costs nothing per position.
        """
        setup_codes = self.setup[self.setup_offsets[game] : self.setup_offsets[game + 1]]
        setup = _decoded(setup_codes, symmetry)
        black = [p for c, p in setup if c == BLACK]
        white = [p for c, p in setup if c == WHITE]
        return replay(NETWORK_SIZE, float(self.komi[game]), self.game_moves(game, symmetry),
                      black, white, int(self.handicap[game]))


# _MOVE_TARGETS[k, i] = transform_move_index(i, k): moves a whole array of indices at once.
_MOVE_TARGETS = np.array([[transform_move_index(i, k) for i in range(NUM_MOVES)]
                          for k in range(NUM_SYMMETRIES)], dtype=np.int64)


def _decoded(codes: np.ndarray, symmetry: int = 0) -> list[tuple[int, int]]:
    """Move codes (int16 array) -> ``[(colour, move)]`` as ``decode_move``, moved by ``symmetry``.

    Vectorised because the training stream decodes every move it replays;
    one ``decode_move`` call a move cost about as much as playing it.
    """
    colors = np.where(codes & WHITE_BIT, WHITE, BLACK)
    indices = _MOVE_TARGETS[symmetry, codes & (WHITE_BIT - 1)]
    moves = np.where(indices == PASS_INDEX, PASS, indices)
    return list(zip(colors.tolist(), moves.tolist(), strict=True))


@dataclass
class Batch:
    """Positions for training: ``planes`` uint8 (B, C, 19, 19), ``moves`` int64 (B,) move
    indices 0..361, ``values`` float32 (B,) game result for the side to move (+1 win,
    -1 loss, 0 unknown)."""

    planes: np.ndarray
    moves: np.ndarray
    values: np.ndarray
    stream_state: dict | None = None  # where the stream was when this batch's chunk began

    @classmethod
    def empty(cls, size: int, channels: int) -> Batch:
        """A batch of ``size`` positions with uninitialised contents, to be filled in place."""
        return cls(np.empty((size, channels, NETWORK_SIZE, NETWORK_SIZE), np.uint8),
                   np.empty(size, np.int64), np.empty(size, np.float32))


def _encode_positions(store: GameStore, game: int, numbers: np.ndarray, feature_set: FeatureSet,
                      out: Batch, rows: np.ndarray, symmetry: int = 0) -> None:
    """Encode the positions before moves ``numbers`` of ``game`` into rows ``rows`` of ``out``.

    ``numbers`` (sorted move numbers, 0 = before the first move) and ``rows``
    are int arrays of one length; position ``numbers[j]`` goes to row ``rows[j]``
    of ``out.planes`` (planes), ``out.moves`` (the move played there, an index
    0..361) and ``out.values`` (the result for the side to move), all under
    ``symmetry`` (see ``GameStore.replay``). The replay stops after the last
    wanted position.
    """
    if len(numbers) == 0:
        return
    codes = store.moves[store.game_offsets[game] + numbers]
    out.moves[rows] = _MOVE_TARGETS[symmetry, codes & (WHITE_BIT - 1)]
    black_result = float(store.result[game])
    out.values[rows] = np.where(codes & WHITE_BIT, -black_result, black_result)
    wanted = dict(zip(numbers.tolist(), rows.tolist(), strict=True))
    last = int(numbers[-1])
    planes = out.planes
    for number, (state, _, _) in enumerate(store.replay(game, symmetry)):
        row = wanted.get(number)
        if row is not None:
            encode_into(planes[row], state, feature_set)
            if number == last:
                return


class PositionStream:
    """Shuffled, augmented training batches from a ``GameStore``, resumable.

    Games are visited in a seeded random order, epoch after epoch. Positions
    of ``games_per_chunk`` games (each kept with probability ``sample_rate``,
    so neighbouring positions of one game rarely share a batch) are shuffled
    together and cut into batches. ``state()`` gives the position in that
    order at the start of the current chunk; a stream made with that state
    starts the chunk again, so a resumed run repeats at most one chunk and
    skips nothing.

    Augmentation: each game is replayed under one random symmetry of the 8
    (``GameStore.replay``), so its positions come out already rotated or
    reflected. Transforming each position's planes instead cost 4-16 us a
    position (strided copies of 8 KB), up to a quarter of the encoding. The price:
    the positions of one game share their orientation within an epoch.

    Speed: each chunk is one array, and each position is encoded straight into
    the row a random permutation gives it, so a batch is a slice of the chunk
    (a view, no copy) and nothing is allocated per position. The price is
    memory: a chunk holds ``games_per_chunk`` x ~100 positions x 7.9 KB
    (default planes), ~50 MB with the defaults, alive until its last batch is
    consumed.
    """

    def __init__(self, store: GameStore, feature_set: str, batch_size: int, *, seed: int = 0,
                 games_per_chunk: int = 64, sample_rate: float = 0.5, symmetries: bool = True,
                 state: dict | None = None, shard: tuple[int, int] = (0, 1)) -> None:
        if len(store) == 0:
            raise ValueError(f"{store.path}: no games to train on")
        self.store = store
        self.feature_set = feature_set
        self.batch_size = batch_size
        self.seed = seed
        self.games_per_chunk = games_per_chunk
        self.sample_rate = sample_rate
        self.symmetries = symmetries
        # shard = (rank, world size): each process of a distributed run reads its own games.
        self.rank, self.world = shard
        self.epoch = state["epoch"] if state else 0
        self.cursor = state["cursor"] if state else 0
        self._chunk_start = (self.epoch, self.cursor)

    def state(self) -> dict:
        epoch, cursor = self._chunk_start
        return {"epoch": epoch, "cursor": cursor}

    def _order(self, epoch: int) -> np.ndarray:
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.store))
        return order[self.rank :: self.world]

    def __iter__(self) -> Iterator[Batch]:
        feature_set = get_feature_set(self.feature_set)
        pending = Batch.empty(0, feature_set.num_channels)
        while True:
            order = self._order(self.epoch)
            if self.cursor >= len(order):
                self.epoch, self.cursor = self.epoch + 1, 0
                continue
            self._chunk_start = (self.epoch, self.cursor)
            rng = np.random.default_rng([self.seed, self.epoch, self.cursor, 1])
            games = order[self.cursor : self.cursor + self.games_per_chunk]
            self.cursor += len(games)
            chunk = self._encode_chunk(games, pending, feature_set, rng)
            full = len(chunk.moves) - len(chunk.moves) % self.batch_size
            for start in range(0, full, self.batch_size):
                end = start + self.batch_size
                yield Batch(chunk.planes[start:end], chunk.moves[start:end],
                            chunk.values[start:end], self.state())
            # Positions that did not fill a batch go into the next chunk.
            pending = Batch(chunk.planes[full:].copy(), chunk.moves[full:].copy(),
                            chunk.values[full:].copy())

    def _encode_chunk(self, games: np.ndarray, pending: Batch, feature_set: FeatureSet,
                      rng: np.random.Generator) -> Batch:
        """The sampled positions of ``games`` plus ``pending``, augmented, in shuffled rows."""
        offsets = self.store.game_offsets
        picks = [np.flatnonzero(rng.random(int(offsets[g + 1] - offsets[g])) < self.sample_rate)
                 for g in games]
        held = len(pending.moves)
        rows = rng.permutation(held + sum(len(numbers) for numbers in picks))
        chunk = Batch.empty(len(rows), feature_set.num_channels)
        chunk.planes[rows[:held]] = pending.planes
        chunk.moves[rows[:held]] = pending.moves
        chunk.values[rows[:held]] = pending.values
        symmetries = rng.integers(NUM_SYMMETRIES if self.symmetries else 1, size=len(games))
        start = held
        for game, numbers, symmetry in zip(games, picks, symmetries.tolist(), strict=True):
            game_rows = rows[start : start + len(numbers)]
            _encode_positions(self.store, int(game), numbers, feature_set, chunk, game_rows,
                              symmetry)
            start += len(numbers)
        return chunk


def fixed_positions(store: GameStore, feature_set: str, max_positions: int,
                    seed: int = 0) -> Batch:
    """Up to ``max_positions`` positions of ``store``, no augmentation, the same every call.

    Games are taken in a seeded order and every position of each is used, so
    the phases of the game are represented as in real play.
    """
    features = get_feature_set(feature_set)
    order = np.random.default_rng(seed).permutation(len(store))
    lengths = np.diff(store.game_offsets)[order]
    batch = Batch.empty(int(min(max_positions, lengths.sum())), features.num_channels)
    start = 0
    for game, length in zip(order, lengths, strict=True):
        if start >= len(batch.moves):
            break
        numbers = np.arange(min(int(length), len(batch.moves) - start))
        _encode_positions(store, int(game), numbers, features, batch, start + numbers)
        start += len(numbers)
    return batch


class LoaderStreams(torch.utils.data.IterableDataset):
    """``PositionStream``s for the worker processes of a torch ``DataLoader``.

    With ``workers`` loader processes in a run of ``world`` processes, worker
    ``w`` of rank ``r`` reads shard ``r * workers + w`` of the games, so encoding
    runs beside the network instead of between its steps (``workers=0``: one
    stream, made in the training process). The DataLoader hands
    out batches from the workers in turn, and each batch says which worker made
    it and where that worker's stream stood; ``states`` collects those for the
    checkpoint, and a loader made with them resumes every worker where it was.
    """

    def __init__(self, store: GameStore, feature_set: str, batch_size: int, *, workers: int,
                 rank: int = 0, world: int = 1, states: list[dict | None] | None = None,
                 **stream_options: object) -> None:
        super().__init__()
        self.store = store
        self.feature_set = feature_set
        self.batch_size = batch_size
        self.workers = workers
        self.rank, self.world = rank, world
        streams = max(workers, 1)
        self.states = states if states else [None] * streams
        if len(self.states) != streams:
            raise ValueError(f"resume state is for {len(self.states)} loader workers, "
                             f"not {self.workers}; resume with the same --loader-workers")
        self.stream_options = stream_options

    def __iter__(self) -> Iterator[Batch]:
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        streams = max(self.workers, 1)
        shard = (self.rank * streams + worker, self.world * streams)
        stream = PositionStream(self.store, self.feature_set, self.batch_size, shard=shard,
                                state=self.states[worker], **self.stream_options)
        for batch in stream:
            batch.stream_state = {"worker": worker, **(batch.stream_state or {})}
            yield batch

    def loader(self) -> torch.utils.data.DataLoader:
        """A DataLoader over these streams, one worker process per stream."""
        background = self.workers > 0
        return torch.utils.data.DataLoader(
            self, batch_size=None, num_workers=self.workers,
            prefetch_factor=4 if background else None, persistent_workers=background)
