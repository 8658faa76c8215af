"""The game store: prepared games as move lists in one ``.npz`` file per split.

``goai prepare`` writes stores (``prepare``), training reads them
(``stream``), and ``evaluate`` takes a store as a source. This module is the
format alone: move codes, the layout, the one writer (used for the splits and
for prepare's cached parts alike) and ``GameStore``, the reader. No torch.

Why move lists rather than bit-packed planes: a stored position costs about
one byte (its move, compressed) instead of ~1 KB of packed planes (22 planes
x 361 bits), so the whole Tom + Tygem collection (34 million positions) fits
in under 40 MB instead of tens of GB, and a change of feature set needs no new
preparation. The price is replaying and encoding during training.

Layout (version 2, written with ``np.savez_compressed``)::

    version       int          2
    move_low      uint8 (M,)   low byte of each move code
    move_high     uint8 (M,)   high byte: bit 0 = move index bit 8, bit 1 = White moved
    game_lengths  int32 (G,)   moves per game, games in store order
    setup         int16 (S,)   setup stones, as move codes (the colour bit is the stone's)
    setup_lengths int32 (G,)
    komi          float32 (G,)
    handicap      int8 (G,)
    result        int8 (G,)    +1 Black won, -1 White won, 0 draw or unknown
    game_keys     uint64 (G,)  ``game_key``: splits and de-duplication
    score         float32 (G,) Black's counted margin (komi included), NaN where the game
                               has no checked count (``goai.records.labels``); optional
    ownership_index int32 (G,) row of ``ownership`` holding the game's final ownership,
                               -1 for none; optional
    ownership     int8 (K, 361) final ownership of the K labelled games: +1 Black's,
                               -1 White's, 0 nobody's (``goai.rules.territory``); optional

A game has ownership exactly when it has a score: both come from one checked
count. Stores written before the targets existed lack the three optional
arrays and read as having no labelled game (no ownership or score loss).

A move code is the move index 0..361 (361 = pass) + 512 if White moved
(``encode_move``). Storing its two bytes as separate arrays lets zlib see the
low bytes (the points, ~8.4 bits of entropy a move) apart from the nearly
constant high bits: 36 MB for the 34 million moves of Tom + Tygem, against
43 MB for the compressed int16 codes and 69 MB uncompressed. Version 1
stores (uncompressed ``moves`` int16 and int64 ``game_offsets``/
``setup_offsets``) are still read. ``GameStore`` rebuilds the int16 codes in
memory (2 bytes a move: 69 MB for the full collection).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from goai.records.record import GameRecord
from goai.rules.board import BLACK, WHITE, IllegalMoveError
from goai.rules.coords import (
    NETWORK_SIZE,
    NUM_POINTS,
    PASS,
    PASS_INDEX,
    index_to_move,
    move_to_gtp,
    move_to_index,
)
from goai.rules.game import GameState, replay
from goai.rules.symmetry import transform_move_indices

STORE_VERSION = 2
READABLE_STORE_VERSIONS = (1, 2)
WHITE_BIT = 512
INDEX_MASK = WHITE_BIT - 1
SPLITS = ("train", "val", "test")


def encode_move(color: int, move: int) -> int:
    """(colour, move on 19x19) -> the store's int16 code."""
    return move_to_index(move) + (WHITE_BIT if color == WHITE else 0)


def decode_move(code: int) -> tuple[int, int]:
    """The store's int16 code -> (colour, move)."""
    return (WHITE if code & WHITE_BIT else BLACK), index_to_move(code & INDEX_MASK)


def code_colors_and_indices(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move codes (int16 array) -> (colours, move indices 0..361), as ``decode_move`` for each."""
    return np.where(codes & WHITE_BIT, WHITE, BLACK), codes & INDEX_MASK


def game_key(size: int, setup: Sequence[int], moves: Sequence[int]) -> int:
    """64-bit hash of a game's size, setup and encoded moves (split and duplicate key)."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(np.array([size, len(setup)], dtype=np.int64).tobytes())
    digest.update(np.asarray(setup, dtype=np.int16).tobytes())
    digest.update(np.asarray(moves, dtype=np.int16).tobytes())
    return int.from_bytes(digest.digest(), "little")


def result_value(result: str | None) -> int:
    """+1 when Black won, -1 when White won, 0 otherwise (draw, void, unknown)."""
    text = (result or "").strip().upper()
    if text.startswith("B+"):
        return 1
    if text.startswith("W+"):
        return -1
    return 0


@dataclass
class StoredGame:
    """One game as the store holds it: ``moves`` and ``setup`` are int16 move codes;
    ``score`` (Black's checked margin, NaN for none) and ``ownership`` (int8 (361,), or
    None) are the targets of a counted game (``goai.records.labels``)."""

    moves: np.ndarray
    setup: np.ndarray
    komi: float
    handicap: int
    result: int
    key: int
    score: float = math.nan
    ownership: np.ndarray | None = None

    def moves_and_colors(self) -> list[tuple[int, int]]:
        """``[(colour, move)]`` of the game's moves, as ``game.replay`` takes them."""
        return _decoded(self.moves)

    def setup_points(self) -> tuple[list[int], list[int]]:
        """(black setup points, white setup points)."""
        setup = _decoded(self.setup)
        return [p for c, p in setup if c == BLACK], [p for c, p in setup if c == WHITE]


def stored_game(record: GameRecord) -> tuple[StoredGame, str | None]:
    """A 19x19 record in store form, cut before its first illegal move, and why it was cut.

    The reason is None for a complete game, else e.g. ``"illegal move 57 (D4, occupied)"``.
    Replaying is how the legality is checked: the store holds only playable games.
    """
    codes = []
    reason = None
    try:
        for _, color, move in record.replay():
            codes.append(encode_move(color, move))
    except IllegalMoveError as error:
        # replay yields a move before playing it, so the illegal one is already in codes.
        codes.pop()
        reason = (f"illegal move {len(codes) + 1} "
                  f"({move_to_gtp(error.move, record.size)}, {error.reason})")
    setup = [encode_move(BLACK, p) for p in record.setup_black]
    setup += [encode_move(WHITE, p) for p in record.setup_white]
    moves = np.array(codes, dtype=np.int16)
    setup_codes = np.array(setup, dtype=np.int16)
    game = StoredGame(moves, setup_codes, record.komi, record.handicap,
                      result_value(record.result), game_key(NETWORK_SIZE, setup_codes, moves))
    return game, reason


def write_store(path: str | Path, games: Sequence[StoredGame], **extra: np.ndarray) -> None:
    """Write ``games`` in store order as a version-2 store (layout: module doc), atomically.

    ``extra`` arrays are stored beside the layout's (prepare's cached parts
    keep their summary so); ``GameStore`` ignores them. The file appears
    complete or not at all (written to a temporary name, then renamed).
    """
    path = Path(path)
    moves = [g.moves for g in games]
    setups = [g.setup for g in games]
    codes = (np.concatenate(moves) if moves else np.zeros(0, np.int16)).astype(np.uint16)
    labelled = [g.ownership for g in games if g.ownership is not None]
    index = np.cumsum([g.ownership is not None for g in games], dtype=np.int64) - 1
    ownership_index = np.where([g.ownership is not None for g in games], index, -1)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        version=np.array(STORE_VERSION),
        move_low=(codes & 0xFF).astype(np.uint8),
        move_high=(codes >> 8).astype(np.uint8),
        game_lengths=np.array([len(m) for m in moves], dtype=np.int32),
        setup=np.concatenate(setups) if setups else np.zeros(0, np.int16),
        setup_lengths=np.array([len(s) for s in setups], dtype=np.int32),
        komi=np.array([g.komi for g in games], dtype=np.float32),
        handicap=np.array([g.handicap for g in games], dtype=np.int8),
        result=np.array([g.result for g in games], dtype=np.int8),
        game_keys=np.array([g.key for g in games], dtype=np.uint64),
        score=np.array([g.score for g in games], dtype=np.float32),
        ownership_index=ownership_index.astype(np.int32),
        ownership=(np.stack(labelled).astype(np.int8) if labelled
                   else np.zeros((0, NUM_POINTS), np.int8)),
        **extra,
    )
    os.replace(tmp, path)


def write_games(records: Iterable[GameRecord], path: str | Path) -> int:
    """Write the 19x19 games of ``records`` as one store file; return how many.

    No filters, no de-duplication, no split: this is for benchmarks and tests
    that start from parsed games, while ``goai prepare`` makes training data.
    As there, a game is cut before its first illegal move.
    """
    games = [stored_game(r)[0] for r in records if r.size == NETWORK_SIZE]
    write_store(path, games)
    return len(games)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    """Lengths (G,) -> int64 offsets (G+1,): item g spans ``offsets[g]:offsets[g+1]``."""
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])


class GameStore:
    """One store file (a split, or a cached part), held in memory (a few bytes per position).

    ``moves`` int16 (M,) and ``game_offsets`` int64 (G+1,) are as in a version-1
    store whatever the file's version; ``setup``/``setup_offsets`` likewise.
    Raises ``ValueError`` for a store version this goai cannot read, and what
    ``np.load`` raises for a file that is not a store (``OSError``, ``KeyError``).
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
            self.game_keys = data["game_keys"]
            games = len(self.komi)
            if "ownership_index" in data:
                self.score = data["score"]
                self.ownership_index = data["ownership_index"]
                self.ownership = data["ownership"]
            else:  # a store from before the targets: no game is labelled
                self.score = np.full(games, np.nan, np.float32)
                self.ownership_index = np.full(games, -1, np.int32)
                self.ownership = np.zeros((0, NUM_POINTS), np.int8)
        self.path = path

    def __len__(self) -> int:
        return len(self.komi)

    @property
    def num_positions(self) -> int:
        return len(self.moves)

    @property
    def labelled_games(self) -> int:
        """How many games carry ownership and score targets."""
        return int(np.count_nonzero(self.ownership_index >= 0))

    def game_ownership(self, game: int) -> np.ndarray | None:
        """int8 (361,) final ownership of stored game ``game`` (+1 Black), or None."""
        row = int(self.ownership_index[game])
        return None if row < 0 else self.ownership[row]

    def game(self, game: int) -> StoredGame:
        """Stored game ``game`` as ``write_store`` takes it (arrays are views into the store)."""
        return StoredGame(
            self.moves[self.game_offsets[game] : self.game_offsets[game + 1]],
            self.setup[self.setup_offsets[game] : self.setup_offsets[game + 1]],
            float(self.komi[game]), int(self.handicap[game]), int(self.result[game]),
            int(self.game_keys[game]), float(self.score[game]), self.game_ownership(game))

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


class StoreError(ValueError):
    """A folder or file that is not a usable game store; the message says what to run."""


def load_split(folder: str | Path, split: str = "train") -> GameStore:
    """``folder/<split>.npz`` as a ``GameStore``, refusing anything training cannot use.

    Raises ``StoreError``, in one line that names ``goai prepare``, when
    ``folder`` is missing, is an SGF source (a file, or a folder of SGF files)
    rather than a store, lacks the split, holds a file that is no store, or
    holds a split without games.
    """
    folder = Path(folder)
    prepare_it = f"make one with: goai prepare SGF_SOURCES --out {folder}"
    if not folder.exists():
        raise StoreError(f"{folder}: no such folder; {prepare_it}")
    path = folder / f"{split}.npz"
    if not path.is_file():
        if folder.is_file() or next(folder.rglob("*.[sS][gG][fF]"), None) is not None:
            raise StoreError(f"{folder} holds SGF games, not a game store; prepare them first: "
                             f"goai prepare {folder} --out DIR, then use --data DIR")
        raise StoreError(f"{folder} is not a game store (no {split}.npz); {prepare_it}")
    try:
        store = GameStore(path)
    except (OSError, KeyError, ValueError) as error:
        raise StoreError(f"{path} is not a readable game store ({error}); "
                         f"prepare it again: goai prepare SGF_SOURCES --out {folder} "
                         "--force") from None
    if len(store) == 0:
        raise StoreError(f"{path} holds no games; {prepare_it} --force, from more games")
    return store


def _decoded(codes: np.ndarray, symmetry: int = 0) -> list[tuple[int, int]]:
    """Move codes (int16 array) -> ``[(colour, move)]`` as ``decode_move``, moved by ``symmetry``.

    Vectorised because the training stream decodes every move it replays;
    one ``decode_move`` call a move cost about as much as playing it.
    """
    colors, indices = code_colors_and_indices(codes)
    moved = transform_move_indices(indices, symmetry)
    moves = np.where(moved == PASS_INDEX, PASS, moved)
    return list(zip(colors.tolist(), moves.tolist(), strict=True))
