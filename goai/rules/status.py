"""Which stones are dead, alive or in seki at the end of a game: read from an ownership
map, or estimated by a rule of thumb for models without one; the score once they are off.

The judge behind GTP's ``final_status_list``/``final_score``, ``goai play``'s
``score`` and the browser board's count, when the network has an ownership
head (``PolicyOutput.ownership``). The rules it applies:

=========  =================================================================================
status     rule
=========  =================================================================================
dead       a string whose stones the ownership gives to the other colour: the mean of its
           stones' ownership, from its own colour's view, is below ``-DEAD_MARGIN`` (0.5:
           the network must lean three to one against the stones, (1 - 0.5) / 2 = 25% own
           them). A string the network is unsure of stays alive: early in a game nothing
           is called dead, where a rule of thumb about eyes calls every lone stone dead
seki       a live string with a *seki liberty*: an empty point it shares with a live enemy
           string where either colour's stone would be in atari and capture nothing, so
           that neither side can fill it (mutual damezumari, what a seki is made of)
alive      every other string
=========  =================================================================================

Models without an ownership head
--------------------------------
Dead stones are an *estimate* for finished positions (``dead_stones``, ``estimate``): a
chain (strings joined by a common liberty or a common eye) is alive when it
borders two own eye regions, or one of at least ``ALIVE_REGION_POINTS``
points. An eye region is a connected empty area whose border stones are all
of the chain's colour; enemy chains that are themselves eyeless and smaller
than the chain do not spoil it (a dead stone inside a territory). Seki and
false eyes are not recognised. A stone counts as dead only when, with all
such stones off the board, its region is enclosed by the other colour alone:
so early in a game, where no chain has eyes yet, no stone is called dead. A
live group whose territory is still open inside the enemy's area still
counts as dead, so mid-game estimates are crude: they are meant for the end,
and for models without an ownership head (``judge`` reads the
ownership when the model has one).
``estimated_score`` counts the area with the dead stones off, komi included.

Ownership arrives in ``coords`` point order as the network gives it, for the
side to move (+1: the side to move will own the point); ``black_view`` turns
it to Black's. Whole strings are judged, never single stones, so that a group
is never split between dead and alive by a noisy point.

No torch: the rules layer (numpy for the map only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from goai.rules.board import BLACK, EMPTY, WHITE, Board, IllegalMoveError, opponent
from goai.rules.game import GameState
from goai.rules.territory import without_stones

DEAD_MARGIN = 0.5
ALIVE_REGION_POINTS = 4


@dataclass(frozen=True)
class StoneStatus:
    """The judged stones of a position: ``dead`` and ``seki`` as sets of points (the
    others are alive), and ``source``: ``"ownership"`` (this module's rules on a
    network's map) or ``"estimate"`` (``dead_stones``, a rule of thumb about eyes, for
    models without an ownership head; it finds no seki)."""

    dead: frozenset[int]
    seki: frozenset[int]
    source: str


def black_view(ownership: np.ndarray, to_play: int) -> np.ndarray:
    """An ownership map (size * size,) for the side to move ``to_play`` turned to Black's view."""
    return ownership if to_play == BLACK else -ownership


def dead_from_ownership(board: Board, ownership: np.ndarray,
                        margin: float = DEAD_MARGIN) -> set[int]:
    """The stones of every string the ownership gives to the other side (see the module table).

    ``ownership`` (size * size,) in [-1, 1] from Black's view (+1 Black's).
    Raises ``ValueError`` for a map of another length.
    """
    if ownership.shape != (board.size * board.size,):
        raise ValueError(f"ownership must have {board.size * board.size} points, "
                         f"not shape {ownership.shape}")
    dead: set[int] = set()
    for stones in board.group_stones.values():
        color = board.stones[stones[0]]
        sign = 1.0 if color == BLACK else -1.0
        if sign * float(np.mean(ownership[stones])) < -margin:
            dead.update(stones)
    return dead


def seki_stones(board: Board, dead: set[int] | frozenset[int] = frozenset()) -> set[int]:
    """The stones of the live strings (not in ``dead``) that share a seki liberty (module
    table) with a live enemy string."""
    seki: set[int] = set()
    for gid, stones in board.group_stones.items():
        if stones[0] in dead:
            continue
        color = board.stones[stones[0]]
        for liberty in board.group_liberties[gid]:
            enemies = [board.group_of[n] for n in board.neighbors(liberty)
                       if board.stones[n] == opponent(color)
                       and board.group_stones[board.group_of[n]][0] not in dead]
            if enemies and _unfillable(board, liberty):
                seki.update(stones)
                break
    return seki


def _unfillable(board: Board, point: int) -> bool:
    """Would a stone of either colour on the empty ``point`` be in atari and capture nothing?"""
    for color in (BLACK, WHITE):
        if board.captured_by(point, color):
            return False
        after = board.copy()
        try:
            after.play(point, color)
        except IllegalMoveError:  # suicide (or a ko): this colour cannot fill it now
            continue
        if after.liberty_count(point) > 1:
            return False
    return True


def judge(board: Board, ownership: np.ndarray, margin: float = DEAD_MARGIN) -> StoneStatus:
    """Dead and seki stones of ``board`` from ``ownership`` (Black's view), as the module says."""
    dead = dead_from_ownership(board, ownership, margin)
    return StoneStatus(frozenset(dead), frozenset(seki_stones(board, dead)), "ownership")


# ----------------------------------------------------------------- without an ownership head


def estimate(board: Board) -> StoneStatus:
    """The stones of ``board`` judged by the rule of thumb: ``dead_stones``, no seki."""
    return StoneStatus(frozenset(dead_stones(board)), frozenset(), "estimate")


def _regions(board: Board, passable: set[int]) -> tuple[list[int], list[list[int]], list[set[int]]]:
    """Connected areas of empty points and ``passable`` stones.

    Returns ``region_of`` (per point, -1 for a stone that is not passable), each
    region's points, and the set of colours of the stones bordering it.
    """
    stones = board.stones
    region_of = [-1] * len(stones)
    points_of: list[list[int]] = []
    borders: list[set[int]] = []
    for start in range(len(stones)):
        if region_of[start] != -1 or (stones[start] != EMPTY and start not in passable):
            continue
        index = len(points_of)
        region_of[start] = index
        members, colors = [start], set()
        for point in members:  # grows while iterating: a breadth-first flood
            for n in board.neighbors(point):
                if stones[n] == EMPTY or n in passable:
                    if region_of[n] == -1:
                        region_of[n] = index
                        members.append(n)
                else:
                    colors.add(stones[n])
        points_of.append(members)
        borders.append(colors)
    return region_of, points_of, borders


def _chains(board: Board, region_of: list[int], borders: list[set[int]]) -> list[list[int]]:
    """Group ids joined into chains: same colour, sharing a liberty or an own region."""
    parent = {gid: gid for gid in board.group_stones}

    def find(gid: int) -> int:
        while parent[gid] != gid:
            parent[gid] = parent[parent[gid]]
            gid = parent[gid]
        return gid

    stones = board.stones
    by_region: dict[tuple[int, int], int] = {}
    for point in range(len(stones)):
        if stones[point] != EMPTY:
            continue
        region = region_of[point]
        for n in board.neighbors(point):
            color = stones[n]
            if color == EMPTY:
                continue
            gid = find(board.group_of[n])
            # Joined by this liberty (any colour pair of the same colour meets here) ...
            key = (-1 - point, color)
            # ... or by a region only this colour borders (strings around one eye or territory).
            if borders[region] == {color}:
                key = (region, color)
            other = by_region.setdefault(key, gid)
            if find(other) != gid:
                parent[gid] = find(other)
    chains: dict[int, list[int]] = {}
    for gid in parent:
        chains.setdefault(find(gid), []).append(gid)
    return list(chains.values())


def _own_regions(board: Board, chain: list[int], color: int, region_of: list[int],
                 points_of: list[list[int]], borders: list[set[int]]) -> set[int]:
    """The regions next to ``chain`` that only ``color`` borders."""
    found = set()
    for gid in chain:
        for liberty in board.group_liberties[gid]:
            region = region_of[liberty]
            if borders[region] == {color}:
                found.add(region)
        for stone in board.group_stones[gid]:
            for n in board.neighbors(stone):
                region = region_of[n]
                if region != -1 and borders[region] == {color}:
                    found.add(region)
    return found


def _alive(regions: set[int], points_of: list[list[int]]) -> bool:
    return len(regions) >= 2 or any(len(points_of[r]) >= ALIVE_REGION_POINTS for r in regions)


def dead_stones(board: Board) -> set[int]:
    """Estimated dead stones of both colours (see the module docstring for the rule).

    First pass: chains with two eye regions (or one big one) are alive; the
    rest are *weak*. Second pass, for each weak chain: recount its eye regions
    with the stones of smaller weak enemy chains treated as empty. Chains weak
    in both passes are dead.
    """
    region_of, points_of, borders = _regions(board, set())
    chains = _chains(board, region_of, borders)

    def stones_of(chain: list[int]) -> list[int]:
        return [s for gid in chain for s in board.group_stones[gid]]

    weak = []
    for chain in chains:
        color = board.stones[board.group_stones[chain[0]][0]]
        if not _alive(_own_regions(board, chain, color, region_of, points_of, borders), points_of):
            weak.append((chain, color, stones_of(chain)))
    dead: set[int] = set()
    for chain, color, members in weak:
        passable = {s for other, other_color, other_members in weak
                    if other_color != color and len(other_members) < len(members)
                    for s in other_members}
        if passable:
            regions = _regions(board, passable)
            if _alive(_own_regions(board, chain, color, *regions), regions[1]):
                continue
        dead.update(members)
    return _enclosed(board, dead)


def _enclosed(board: Board, candidates: set[int]) -> set[int]:
    """The ``candidates`` that sit in the other colour's area: with every candidate taken
    off, the empty region around the stones borders the other colour's stones only.

    The rule of thumb above calls every stone without eye space dead, which early in
    a game is every stone: on an open board a lone stone's region reaches both
    colours (or none), so it is not called dead without an enclosing enemy.
    """
    if not candidates:
        return candidates
    region_of, _, borders = _regions(board, candidates)
    return {point for point in candidates
            if borders[region_of[point]] == {opponent(board.stones[point])}}


def estimated_score(state: GameState, dead: set[int] | frozenset[int] | None = None) -> float:
    """Area score from Black's side (komi included) with the ``dead`` stones removed.

    ``dead`` defaults to ``dead_stones(state.board)``, the rule of thumb.
    """
    dead = dead_stones(state.board) if dead is None else dead
    black, white = without_stones(state.board, dead).area_score()
    return black - white - state.komi


__all__ = [
    "ALIVE_REGION_POINTS",
    "DEAD_MARGIN",
    "StoneStatus",
    "black_view",
    "dead_from_ownership",
    "dead_stones",
    "estimate",
    "estimated_score",
    "judge",
    "seki_stones",
]
