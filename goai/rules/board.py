"""Stones, groups, liberties and captures on one board, tracked incrementally.

A ``Board`` knows where the stones are and which group each belongs to; it does
not know whose turn it is or what happened before (``game.GameState`` owns
that). Points are flat indices as defined in ``coords``.

Representation (chosen for pure-Python speed, not elegance):

* ``stones[point]`` is ``EMPTY``, ``BLACK`` or ``WHITE``.
* ``group_of[point]`` is the *group id* of the stone there (``NO_GROUP`` when
  empty). Group ids are arbitrary ints, never reused while the group lives.
* ``group_stones[id]`` lists the group's points and ``group_liberties[id]`` is
  the set of its empty neighbours.

Playing a stone touches only the (at most four) neighbouring groups: merge
friends (smaller into larger), take a liberty from enemies, remove enemies
left without liberties and hand their points back as liberties. No flood fill
per move; the cost of a capture is proportional to the stones captured.

Rules enforced here: occupied points, suicide (illegal, never played) and the
simple-ko point. Positional superko needs the history and lives in ``game``;
the Zobrist hash that it uses is kept here.
"""

from __future__ import annotations

import random
from functools import cache

from goai.rules.coords import PASS, check_size, to_point

EMPTY, BLACK, WHITE = 0, 1, 2
NO_GROUP = -1
# The colour's names, one table each: GTP and the command line ("black"), sentences
# ("Black"), SGF properties and compact labels ("B").
COLOR_NAMES = {BLACK: "black", WHITE: "white"}
COLOR_WORDS = {BLACK: "Black", WHITE: "White"}
COLOR_LETTERS = {BLACK: "B", WHITE: "W"}
_COLORS_BY_NAME = {"b": BLACK, "black": BLACK, "w": WHITE, "white": WHITE}


def color_from_name(text: str) -> int:
    """``"b"``, ``"black"``, ``"w"`` or ``"white"`` (any case) -> BLACK or WHITE.

    Raises ``ValueError`` for anything else.
    """
    try:
        return _COLORS_BY_NAME[text.lower()]
    except KeyError:
        raise ValueError(f"not a colour: {text!r}") from None


def opponent(color: int) -> int:
    """BLACK <-> WHITE."""
    return 3 - color


class IllegalMoveError(ValueError):
    """A move the rules forbid. ``reason`` is one word: occupied, suicide, ko, superko."""

    def __init__(self, reason: str, move: int, color: int) -> None:
        super().__init__(f"illegal move ({reason})")
        self.reason = reason
        self.move = move
        self.color = color


@cache
def neighbor_table(size: int) -> tuple[tuple[int, ...], ...]:
    """For each point, the points orthogonally next to it (2 to 4 of them)."""
    table = []
    for row in range(size):
        for col in range(size):
            around = []
            if row > 0:
                around.append(to_point(row - 1, col, size))
            if row < size - 1:
                around.append(to_point(row + 1, col, size))
            if col > 0:
                around.append(to_point(row, col - 1, size))
            if col < size - 1:
                around.append(to_point(row, col + 1, size))
            table.append(tuple(around))
    return tuple(table)


@cache
def zobrist_table(size: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """64-bit keys per (colour, point): index 0 unused, 1 black, 2 white. Seeded: stable."""
    rng = random.Random(0x60A1 + size)
    empty = tuple(0 for _ in range(size * size))
    black = tuple(rng.getrandbits(64) for _ in range(size * size))
    white = tuple(rng.getrandbits(64) for _ in range(size * size))
    return empty, black, white


class Board:
    """A Go board of ``size`` x ``size`` points with incremental group tracking.

    ``play`` enforces occupied, suicide and the simple-ko point and raises
    ``IllegalMoveError`` without changing the board. ``place`` puts setup stones
    (handicap, SGF ``AB``/``AW``) without capturing or checking anything.
    """

    __slots__ = (
        "size",
        "stones",
        "group_of",
        "group_stones",
        "group_liberties",
        "ko_point",
        "hash",
        "captures",
        "_next_group",
        "neighbor_table",
        "_zobrist",
    )

    def __init__(self, size: int = 19) -> None:
        self.size = check_size(size)
        self.stones: list[int] = [EMPTY] * (size * size)
        self.group_of: list[int] = [NO_GROUP] * (size * size)
        self.group_stones: dict[int, list[int]] = {}
        self.group_liberties: dict[int, set[int]] = {}
        # The point the side to move may not play because it would retake a
        # single stone just captured (simple ko); None when there is none.
        self.ko_point: int | None = None
        self.hash = 0
        # Stones captured *by* each colour, as GTP/SGF scores count them.
        self.captures = {BLACK: 0, WHITE: 0}
        self._next_group = 0
        self.neighbor_table = neighbor_table(size)  # shared, read-only
        self._zobrist = zobrist_table(size)

    def copy(self) -> Board:
        """An independent copy (groups' lists and sets are copied too)."""
        other = Board.__new__(Board)
        other.size = self.size
        other.stones = self.stones.copy()
        other.group_of = self.group_of.copy()
        other.group_stones = {gid: s.copy() for gid, s in self.group_stones.items()}
        other.group_liberties = {gid: s.copy() for gid, s in self.group_liberties.items()}
        other.ko_point = self.ko_point
        other.hash = self.hash
        other.captures = dict(self.captures)
        other._next_group = self._next_group
        other.neighbor_table = self.neighbor_table
        other._zobrist = self._zobrist
        return other

    # ----------------------------------------------------------------- queries

    def neighbors(self, point: int) -> tuple[int, ...]:
        return self.neighbor_table[point]

    def liberty_count(self, point: int) -> int:
        """Liberties of the group at ``point``; 0 for an empty point."""
        gid = self.group_of[point]
        return 0 if gid == NO_GROUP else len(self.group_liberties[gid])

    def group_at(self, point: int) -> list[int]:
        """The points of the group at ``point`` (empty list for an empty point)."""
        gid = self.group_of[point]
        return [] if gid == NO_GROUP else list(self.group_stones[gid])

    def illegal_reason(self, point: int, color: int) -> str | None:
        """Why ``color`` may not play at ``point`` (occupied/ko/suicide), or None if legal.

        Superko is not considered here (see ``game.GameState``).
        """
        if self.stones[point] != EMPTY:
            return "occupied"
        # Every neighbour of the ko point is a stone of the capturer, who may
        # fill the ko (non-alternating play); only the other colour is barred.
        if point == self.ko_point and self.stones[self.neighbor_table[point][0]] != color:
            return "ko"
        if self._is_suicide(point, color):
            return "suicide"
        return None

    def is_legal(self, point: int, color: int) -> bool:
        return self.illegal_reason(point, color) is None

    def _is_suicide(self, point: int, color: int) -> bool:
        stones = self.stones
        group_of = self.group_of
        libs = self.group_liberties
        for n in self.neighbor_table[point]:
            here = stones[n]
            if here == EMPTY:
                return False
            n_libs = len(libs[group_of[n]])
            if here == color:
                if n_libs > 1:
                    return False  # connects to a group that keeps a liberty
            elif n_libs == 1:
                return False  # captures, which frees a liberty
        return True

    def captured_by(self, point: int, color: int) -> list[int]:
        """Stones that ``color`` playing at ``point`` would capture (no change made)."""
        opp = opponent(color)
        seen: list[int] = []
        taken: list[int] = []
        for n in self.neighbor_table[point]:
            if self.stones[n] == opp:
                gid = self.group_of[n]
                if gid not in seen and len(self.group_liberties[gid]) == 1:
                    seen.append(gid)
                    taken.extend(self.group_stones[gid])
        return taken

    def hash_after(self, point: int, color: int) -> int:
        """The Zobrist hash the board would have after a legal play (for superko)."""
        keys = self._zobrist
        value = self.hash ^ keys[color][point]
        opp_keys = keys[opponent(color)]
        for stone in self.captured_by(point, color):
            value ^= opp_keys[stone]
        return value

    # ----------------------------------------------------------------- changes

    def place(self, point: int, color: int) -> None:
        """Put a setup stone (no capture, no ko). The point must be empty."""
        if self.stones[point] != EMPTY:
            raise IllegalMoveError("occupied", point, color)
        self._add_stone(point, color)
        self.ko_point = None

    def play(self, point: int, color: int) -> list[int]:
        """Play ``color`` at ``point``; return the captured points.

        Raises ``IllegalMoveError`` (occupied, ko, suicide) and leaves the board
        unchanged. ``PASS`` is not a point: passing is ``GameState``'s business,
        but a PASS here clears the ko point and captures nothing.
        """
        if point == PASS:
            self.ko_point = None
            return []
        reason = self.illegal_reason(point, color)
        if reason is not None:
            raise IllegalMoveError(reason, point, color)
        gid = self._add_stone(point, color)
        captured: list[int] = []
        opp = opponent(color)
        for n in self.neighbor_table[point]:
            if self.stones[n] == opp:
                n_gid = self.group_of[n]
                if not self.group_liberties[n_gid]:
                    captured.extend(self._remove_group(n_gid))
        self.captures[color] += len(captured)
        # Simple ko: a lone stone that took exactly one stone and now sits in
        # atari at the point it emptied; retaking there at once would repeat.
        gid = self.group_of[point]
        if (
            len(captured) == 1
            and len(self.group_stones[gid]) == 1
            and len(self.group_liberties[gid]) == 1
        ):
            self.ko_point = captured[0]
        else:
            self.ko_point = None
        return captured

    def _add_stone(self, point: int, color: int) -> int:
        """Add a stone, merge it with friends, take the liberty from enemies."""
        stones = self.stones
        group_of = self.group_of
        stones[point] = color
        self.hash ^= self._zobrist[color][point]
        gid = self._next_group
        self._next_group += 1
        members = [point]
        liberties: set[int] = set()
        group_of[point] = gid
        self.group_stones[gid] = members
        self.group_liberties[gid] = liberties
        neighbors = self.neighbor_table[point]
        for n in neighbors:
            here = stones[n]
            if here == EMPTY:
                liberties.add(n)
            else:
                self.group_liberties[group_of[n]].discard(point)
        # Merge afterwards: merging may hand this stone's liberty set to a larger group.
        for n in neighbors:
            if stones[n] == color and group_of[n] != group_of[point]:
                gid = self._merge(group_of[point], group_of[n])
        return gid

    def _merge(self, a: int, b: int) -> int:
        """Merge groups ``a`` and ``b``; the larger keeps its id. Returns that id."""
        if len(self.group_stones[a]) < len(self.group_stones[b]):
            a, b = b, a
        group_of = self.group_of
        moved = self.group_stones.pop(b)
        for stone in moved:
            group_of[stone] = a
        self.group_stones[a].extend(moved)
        self.group_liberties[a] |= self.group_liberties.pop(b)
        return a

    def _remove_group(self, gid: int) -> list[int]:
        """Take a group off the board and give its points back as liberties."""
        members = self.group_stones.pop(gid)
        del self.group_liberties[gid]
        stones = self.stones
        group_of = self.group_of
        keys = self._zobrist[stones[members[0]]]
        for stone in members:
            self.hash ^= keys[stone]
            stones[stone] = EMPTY
            group_of[stone] = NO_GROUP
        libs = self.group_liberties
        for stone in members:
            for n in self.neighbor_table[stone]:
                n_gid = group_of[n]
                if n_gid != NO_GROUP:
                    libs[n_gid].add(stone)
        return members

    # ----------------------------------------------------------------- scoring

    def area_score(self) -> tuple[int, int]:
        """Tromp-Taylor area: (black, white) = stones + empty regions reaching only that colour."""
        size2 = self.size * self.size
        counts = {BLACK: 0, WHITE: 0}
        for point in range(size2):
            if self.stones[point] != EMPTY:
                counts[self.stones[point]] += 1
        owner = self.empty_region_owners()
        for point in range(size2):
            color = owner[point]
            if self.stones[point] == EMPTY and color != EMPTY:
                counts[color] += 1
        return counts[BLACK], counts[WHITE]

    def empty_region_owners(self) -> list[int]:
        """For each empty point, the one colour its region reaches, else EMPTY (dame or seki)."""
        size2 = self.size * self.size
        owner = [EMPTY] * size2
        seen = [False] * size2
        for start in range(size2):
            if self.stones[start] != EMPTY or seen[start]:
                continue
            region = [start]
            seen[start] = True
            reaches: set[int] = set()
            i = 0
            while i < len(region):
                for n in self.neighbor_table[region[i]]:
                    here = self.stones[n]
                    if here == EMPTY:
                        if not seen[n]:
                            seen[n] = True
                            region.append(n)
                    else:
                        reaches.add(here)
                i += 1
            if len(reaches) == 1:
                color = reaches.pop()
                for point in region:
                    owner[point] = color
        return owner

    # ----------------------------------------------------------------- drawing

    def __str__(self) -> str:
        """Rows top to bottom: ``X`` black, ``O`` white, ``.`` empty, as test boards are drawn."""
        glyph = {EMPTY: ".", BLACK: "X", WHITE: "O"}
        rows = []
        for row in range(self.size):
            start = row * self.size
            rows.append(" ".join(glyph[s] for s in self.stones[start : start + self.size]))
        return "\n".join(rows)

    @classmethod
    def from_text(cls, text: str) -> Board:
        """A board drawn as rows of ``X`` (black), ``O`` (white), ``.`` (empty); spaces ignored.

        Stones are placed as setup stones, so a drawing with a group that has no
        liberties is rejected (``ValueError``): no real position has one.
        """
        rows = [line.replace(" ", "") for line in text.strip().splitlines() if line.strip()]
        size = len(rows)
        if any(len(row) != size for row in rows):
            raise ValueError("a drawn board must be square")
        board = cls(size)
        colors = {"X": BLACK, "O": WHITE, ".": EMPTY}
        for row, line in enumerate(rows):
            for col, char in enumerate(line):
                if colors[char] != EMPTY:
                    board.place(to_point(row, col, size), colors[char])
        for gid, libs in board.group_liberties.items():
            if not libs:
                raise ValueError(f"group at {board.group_stones[gid][0]} has no liberties")
        return board
