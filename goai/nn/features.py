"""Feature planes: what the network sees of a ``GameState``.

Every plane is declared once, below, with its channel count, a one-line meaning
and the function that fills it; a feature set is a named tuple of plane names
and its input width (``FeatureSet.num_channels``) is derived, never typed.

``encode(state, feature_set)`` returns a ``uint8`` array of shape ``(C, N, N)``
(C = the set's ``num_channels``, N the board size: 19 for the network),
indexed ``[channel, row, col]`` with the rows and columns of ``coords`` (row 0
at the top). Planes speak of *own* and
*opponent* stones, own being the side to move (``state.to_play``), never of
black and white.

Any board size is encoded on its own N x N grid (the gymnasium environment
plays 9x9 and 13x13 too); the network takes 19x19 only and ``policy`` says so.
A small board is never padded into a corner of the 19x19 input: that would
silently break the 8 symmetries (``symmetry`` maps corner to corner) and the
network's move indices (``coords.move_to_index``).

Feature sets (channels in this order):

=========  ==  ===================================================================
name       C   planes
=========  ==  ===================================================================
simple     8   own_stones, opponent_stones, empty, ones, last_4_moves
default    22  own_stones, opponent_stones, empty, own_liberties,
               opponent_liberties, ko, last_moves, ones, legal
ladders    24  default + ladder_capture, ladder_escape
=========  ==  ===================================================================

Speed: the data pipeline encodes every training position, so the planes work
on flat ``(N*N,)`` numpy arrays built once per position (``_Position``); Python
loops are left to what numpy cannot see: the few dozen groups short of
liberties, superko candidates (only when the state enforces superko) and the
ladder reader. On one core of the 2-core development box, replaying the sample
games, "default" took about 40 us a position (25,000 positions/s) and
"simple" about 15 us. The ladder planes read each ladder out on board copies
and add about 1 ms a position: keep them out of bulk data preparation unless
you mean it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np

from goai.rules.board import BLACK, EMPTY, WHITE, Board, neighbor_table, opponent
from goai.rules.coords import PASS
from goai.rules.game import GameState

__all__ = [
    "FEATURE_SETS",
    "PLANES",
    "FeatureSet",
    "Plane",
    "encode",
    "encode_into",
    "get_feature_set",
]

PlaneFill = Callable[[np.ndarray, "_Position"], None]


@dataclass(frozen=True)
class Plane:
    """A named group of ``channels`` feature channels.

    ``fill(out, position)`` writes the group into ``out``, a zeroed ``uint8``
    view of shape ``(channels, N*N)`` (flat points, ``coords`` order).
    """

    name: str
    channels: int
    meaning: str
    fill: PlaneFill


PLANES: dict[str, Plane] = {}


def _plane(name: str, channels: int, meaning: str) -> Callable[[PlaneFill], PlaneFill]:
    """Register ``fill`` as the plane ``name``; stackable, so one fill may serve two planes."""

    def register(fill: PlaneFill) -> PlaneFill:
        if name in PLANES:
            raise ValueError(f"plane {name!r} is declared twice")
        PLANES[name] = Plane(name, channels, meaning, fill)
        return fill

    return register


_LIBERTY_BINS = np.arange(1, 5, dtype=np.uint8)[:, None]  # (4, 1): 1, 2, 3, >=4 liberties

@cache
def _neighbor_index(size: int) -> np.ndarray:
    """``(N*N, 4)`` intp: each point's neighbours, ``N*N`` standing for "off the board"
    (an extra False entry appended to the mask being gathered)."""
    points = size * size
    return np.array([list(around) + [points] * (4 - len(around))
                     for around in neighbor_table(size)], dtype=np.intp)


def _any_neighbor(mask: np.ndarray, size: int) -> np.ndarray:
    """``(N*N,)`` bool: has the point a neighbour where ``mask`` (``(N*N,)`` bool) is set?"""
    points = size * size
    padded = np.zeros(points + 1, dtype=bool)
    padded[:points] = mask
    # The (N*N, 4) gather holds 4 bytes a row: read each row as one uint32
    # rather than pay for .any(axis=1), the slowest step here otherwise.
    return padded[_neighbor_index(size)].view(np.uint32).ravel() != 0


def _breathing_table(color: int) -> np.ndarray:
    """Does a neighbour keep a play by ``color`` from being suicide? ``(3, 5)`` bool.

    Indexed ``[stone there, liberties of its group capped at 4]``, as ``Board``'s
    suicide test: an empty neighbour does; an own group does if it has another
    liberty; an opponent group does if it is in atari (the play captures it).
    """
    table = np.zeros((3, 5), dtype=bool)
    table[EMPTY, :] = True
    table[color, 2:] = True
    table[opponent(color), 1] = True
    return table


# Flattened to (15,), indexed by stone * 5 + liberties: one take() is about
# twice as fast as the 2-D fancy index [stones, liberties].
_BREATHES = {color: _breathing_table(color).ravel() for color in (BLACK, WHITE)}
_FOUR_IF_STONE = bytes([0, 4, 4]).ljust(256, b"\0")  # a bytes.translate table: EMPTY 0, stones 4


class _Position:
    """What several planes share, each part computed at most once per encoding.

    All arrays are flat, shape ``(N*N,)``, indexed by point. The stone masks are
    built at once (every feature set uses them); liberties and legality only
    when a plane asks. (Plain attributes, not ``functools.cached_property``,
    whose lock costs more than some of the arrays it would guard.)
    """

    def __init__(self, state: GameState) -> None:
        self.state = state
        self.board = state.board
        self.color = state.to_play
        # bytearray() of a list of small ints runs in C: the fastest way into numpy.
        self._stone_bytes = bytearray(self.board.stones)
        self.stones = np.frombuffer(self._stone_bytes, dtype=np.uint8)
        self.own = self.stones == self.color
        self.opponent = self.stones == opponent(self.color)
        self.empty = self.stones == EMPTY
        # The simple-ko point bars only the colour that would retake; asking
        # the board keeps that rule in one place (the capturer may fill it
        # when colours do not alternate).
        ko_point = self.board.ko_point
        barred = ko_point is not None and self.board.illegal_reason(ko_point, self.color) == "ko"
        self.ko_point = ko_point if barred else None
        self._liberties: np.ndarray | None = None
        self._legal: np.ndarray | None = None

    @property
    def liberties(self) -> np.ndarray:
        """``uint8``: liberties of the group at each point, capped at 4; 0 on empty points."""
        if self._liberties is None:
            self._liberties = self._count_liberties()
        return self._liberties

    @property
    def legal(self) -> np.ndarray:
        """Points the side to move may play (bool), superko included when the state enforces it."""
        if self._legal is None:
            self._legal = self._find_legal()
        return self._legal

    def _count_liberties(self) -> np.ndarray:
        # Every stone starts at 4 (bytes.translate, in C); then the stones of
        # groups short of liberties are written one by one, in Python. That
        # loop over a few dozen groups costs less than converting the whole
        # group_of list to numpy, and less than one numpy call per group.
        liberties = self._stone_bytes.translate(_FOUR_IF_STONE)
        group_stones = self.board.group_stones
        for group_id, group_liberties in self.board.group_liberties.items():
            count = len(group_liberties)
            if count < 4:
                for stone in group_stones[group_id]:
                    liberties[stone] = count
        return np.frombuffer(liberties, dtype=np.uint8)

    def _find_legal(self) -> np.ndarray:
        # Board's suicide test, for all points at once.
        breathes = _BREATHES[self.color].take(self.stones * 5 + self.liberties)
        legal = self.empty & _any_neighbor(breathes, self.board.size)
        if self.ko_point is not None:
            legal[self.ko_point] = False
        if self.state.superko:
            stone_bytes = self._stone_bytes  # faster than numpy for one point at a time
            for point in self.state.superko_candidates(self.color):
                if (
                    stone_bytes[point] == EMPTY
                    and legal[point]
                    and self.state.repeats_position(point, self.color)
                ):
                    legal[point] = False
        return legal


# ------------------------------------------------------------------- planes


@_plane("own_stones", 1, "stones of the side to move")
def _own_stones(out: np.ndarray, position: _Position) -> None:
    out[0] = position.own


@_plane("opponent_stones", 1, "stones of the opponent")
def _opponent_stones(out: np.ndarray, position: _Position) -> None:
    out[0] = position.opponent


@_plane("empty", 1, "empty points")
def _empty(out: np.ndarray, position: _Position) -> None:
    out[0] = position.empty


@_plane("own_liberties", 4, "own stones whose group has 1, 2, 3, >=4 liberties")
def _own_liberties(out: np.ndarray, position: _Position) -> None:
    # The comparison writes its 0s and 1s straight into the uint8 channels
    # (viewed as bool): no temporary array, no cast.
    np.equal(position.liberties * position.own, _LIBERTY_BINS, out=out.view(np.bool_))


@_plane("opponent_liberties", 4, "opponent stones whose group has 1, 2, 3, >=4 liberties")
def _opponent_liberties(out: np.ndarray, position: _Position) -> None:
    np.equal(position.liberties * position.opponent, _LIBERTY_BINS, out=out.view(np.bool_))


@_plane("ko", 1, "the simple-ko point the side to move may not play")
def _ko(out: np.ndarray, position: _Position) -> None:
    if position.ko_point is not None:
        out[0, position.ko_point] = 1


@_plane("last_moves", 8, "channel k: the point of the move k+1 moves ago (a pass marks nothing)")
@_plane("last_4_moves", 4, "channel k: the point of the move k+1 moves ago (a pass marks nothing)")
def _last_moves(out: np.ndarray, position: _Position) -> None:
    # The point is marked even if its stone has been captured since: the plane
    # says where play happened, the stone planes say what is there now.
    recent = position.state.history[-len(out) :]
    for moves_ago, (_, move) in enumerate(reversed(recent)):
        if move != PASS:
            out[moves_ago, move] = 1


@_plane("ones", 1, "1 on every point: under zero padding it shows the network the edge")
def _ones(out: np.ndarray, position: _Position) -> None:
    out[:] = 1


@_plane("legal", 1, "legal moves of the side to move (superko when the state enforces it)")
def _legal(out: np.ndarray, position: _Position) -> None:
    out[0] = position.legal


@_plane("ladder_capture", 1, "playing here ataris an opponent group that cannot escape a ladder")
def _ladder_capture(out: np.ndarray, position: _Position) -> None:
    board = position.board
    prey_color = opponent(position.color)
    legal = position.legal
    for group_id, liberties in board.group_liberties.items():
        prey_point = board.group_stones[group_id][0]
        if len(liberties) != 2 or board.stones[prey_point] != prey_color:
            continue
        for point in liberties:
            if legal[point] and _atari_captures(board, prey_point, point, LADDER_DEPTH):
                out[0, point] = 1


@_plane("ladder_escape", 1, "playing here extends an own group in atari out of its ladder")
def _ladder_escape(out: np.ndarray, position: _Position) -> None:
    # Only the extension is marked: a capture that also saves the group is a
    # move the network can see from the liberty planes.
    board = position.board
    legal = position.legal
    for group_id, liberties in board.group_liberties.items():
        prey_point = board.group_stones[group_id][0]
        if len(liberties) != 1 or board.stones[prey_point] != position.color:
            continue
        (point,) = liberties
        if legal[point] and _play_escapes(board, prey_point, point, LADDER_DEPTH):
            out[0, point] = 1


# ------------------------------------------------------------------ ladders
#
# A small ladder reader: the hunter ataris, the prey extends or captures a
# hunter group in atari next to it, and so on, each ply on a Board.copy().
# Superko is not considered. Reading stops after LADDER_DEPTH plies and then
# calls the prey escaped: a ladder across the whole board is about 2 * 19 plies
# of each side, and 100 leaves room for the odd counter-capture while bounding
# the reading in positions that are not ladders at all.

LADDER_DEPTH = 100


def _atari_captures(board: Board, prey_point: int, move: int, depth: int) -> bool:
    """Does the hunter's atari at ``move`` capture the group at ``prey_point`` in a ladder?

    The group has exactly two liberties, ``move`` one of them; the hunter is
    its opponent. True when every reply of the prey still dies.
    """
    if depth <= 0:
        return False
    hunter = opponent(board.stones[prey_point])
    (other,) = board.group_liberties[board.group_of[prey_point]] - {move}
    # A cheap look before the costly copy: three empty points around the other
    # liberty (the atari stone aside) are three liberties for the prey there.
    if _empty_around(board, other, move) >= 3 or not board.is_legal(move, hunter):
        return False
    after = board.copy()
    after.play(move, hunter)
    prey_id = after.group_of[prey_point]
    if len(after.group_liberties[prey_id]) != 1:
        return False  # the atari stone captured stones next to the prey
    replies = _counter_captures(after, prey_id) | after.group_liberties[prey_id]
    return not any(_play_escapes(after, prey_point, reply, depth - 1) for reply in replies)


def _play_escapes(board: Board, prey_point: int, move: int, depth: int) -> bool:
    """Does the prey's play at ``move`` get the group at ``prey_point`` out of atari for good?

    The group is in atari, its owner to move. Out means three liberties or
    more after the play, or two that no hunter atari captures.
    """
    if depth <= 0:
        return True
    prey_color = board.stones[prey_point]
    if not board.is_legal(move, prey_color):
        return False
    if move in board.group_liberties[board.group_of[prey_point]] and not board.captured_by(
        move, prey_color
    ):
        # An extension that captures nothing: count its liberties without a
        # copy, and copy only when the ladder goes on (two liberties).
        liberties = _liberties_after(board, move, prey_color)
        if len(liberties) != 2:
            return len(liberties) >= 3
    after = board.copy()
    after.play(move, prey_color)
    liberties = after.group_liberties[after.group_of[prey_point]]
    if len(liberties) != 2:
        return len(liberties) >= 3
    return not any(_atari_captures(after, prey_point, atari, depth - 1) for atari in liberties)


def _empty_around(board: Board, point: int, ignore: int) -> int:
    """How many neighbours of ``point`` are empty, not counting ``ignore``."""
    return sum(board.stones[n] == EMPTY and n != ignore for n in board.neighbors(point))


def _liberties_after(board: Board, point: int, color: int) -> set[int]:
    """The liberties of ``color``'s group after a play at ``point`` that captures nothing."""
    liberties: set[int] = set()
    for neighbor in board.neighbors(point):
        here = board.stones[neighbor]
        if here == EMPTY:
            liberties.add(neighbor)
        elif here == color:
            liberties |= board.group_liberties[board.group_of[neighbor]]
    liberties.discard(point)
    return liberties


def _counter_captures(board: Board, prey_id: int) -> set[int]:
    """The liberties of hunter groups in atari that touch the prey group ``prey_id``."""
    stones = board.stones
    group_of = board.group_of
    prey_color = stones[board.group_stones[prey_id][0]]
    moves: set[int] = set()
    for stone in board.group_stones[prey_id]:
        for neighbor in board.neighbors(stone):
            if stones[neighbor] not in (EMPTY, prey_color):
                liberties = board.group_liberties[group_of[neighbor]]
                if len(liberties) == 1:
                    moves |= liberties
    return moves


# ------------------------------------------------------------- feature sets


@dataclass(frozen=True)
class FeatureSet:
    """A named, ordered tuple of plane names; ``num_channels`` is derived from ``PLANES``."""

    name: str
    planes: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [plane for plane in self.planes if plane not in PLANES]
        if unknown:
            raise ValueError(f"feature set {self.name!r}: unknown planes {unknown}")

    @cached_property
    def num_channels(self) -> int:
        # Cached: encode_into reads it for every position of the training stream.
        return sum(PLANES[plane].channels for plane in self.planes)

    @cached_property
    def slices(self) -> dict[str, slice]:
        """Each plane's channels in the encoded array: ``planes[feature_set.slices["ko"]]``."""
        result = {}
        start = 0
        for plane in self.planes:
            result[plane] = slice(start, start + PLANES[plane].channels)
            start += PLANES[plane].channels
        return result


_DEFAULT_PLANES = (
    "own_stones",
    "opponent_stones",
    "empty",
    "own_liberties",
    "opponent_liberties",
    "ko",
    "last_moves",
    "ones",
    "legal",
)

FEATURE_SETS: dict[str, FeatureSet] = {
    feature_set.name: feature_set
    for feature_set in (
        FeatureSet("simple", ("own_stones", "opponent_stones", "empty", "ones", "last_4_moves")),
        FeatureSet("default", _DEFAULT_PLANES),
        FeatureSet("ladders", (*_DEFAULT_PLANES, "ladder_capture", "ladder_escape")),
    )
}


def get_feature_set(name: str) -> FeatureSet:
    """The feature set called ``name``; ``ValueError`` naming the known sets otherwise."""
    try:
        return FEATURE_SETS[name]
    except KeyError:
        known = ", ".join(sorted(FEATURE_SETS))
        raise ValueError(f"unknown feature set {name!r}; known: {known}") from None


# ----------------------------------------------------------------- encoding


def encode(state: GameState, feature_set: str | FeatureSet = "default") -> np.ndarray:
    """The planes of ``state`` from the side to move's view: ``uint8`` ``(C, N, N)``.

    N is the board's size (the network's input is 19x19). Raises ``ValueError``
    for an unknown feature set.
    """
    if isinstance(feature_set, str):
        feature_set = get_feature_set(feature_set)
    size = state.size
    out = np.empty((feature_set.num_channels, size, size), dtype=np.uint8)
    encode_into(out, state, feature_set)
    return out


def encode_into(
    out: np.ndarray, state: GameState, feature_set: str | FeatureSet = "default"
) -> None:
    """Write ``encode(state, feature_set)`` into ``out`` (e.g. one row of a batch array).

    ``out`` must be a C-contiguous ``uint8`` array of shape ``(C, N, N)``; its
    old contents are overwritten. Raises ``ValueError`` for an unknown feature
    set, or an ``out`` of the wrong shape, dtype or layout.
    """
    if isinstance(feature_set, str):
        feature_set = get_feature_set(feature_set)
    size = state.size
    shape = (feature_set.num_channels, size, size)
    if out.shape != shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous uint8 array of shape {shape}")
    flat = out.reshape(feature_set.num_channels, size * size)
    flat[:] = 0
    position = _Position(state)
    for plane, channels in feature_set.slices.items():
        PLANES[plane].fill(flat[channels], position)
