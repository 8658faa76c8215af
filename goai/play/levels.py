"""Playing strengths below the engine's best: the level ladder and its move choice.

Most people who load a Go engine are kyu players, and the full engine beats
them every game. A *level* weakens the move choice, not the rules around it:
``player.Player`` still never plays an illegal move nor fills its own eye,
still decides when to pass, cleans up dead stones and resigns as at full
strength (those are the game's end, where a weaker choice only annoys); only
the ordinary move in mid-game is chosen here.

A weak human does not play random points: they play a reasonable-looking
move that is not the best. So every weakened level first narrows the legal,
non-eye-filling points to a *pool*, the moves the policy gives at least
``floor`` (its first choice always belongs), then plays the **best of n**:
it draws ``pick`` moves of the pool at random, without replacement, and plays
the one the policy likes most (KaTrain's "pick" strategy, on the pool rather
than on every legal point). One knob, so the ladder is ordered by
construction: the best of more draws is never a worse-ranked move in
distribution, whatever the policy (the draws of n + 1 contain those of n), and
without ``pick`` the level plays the policy's first choice.

Sampling the policy at a temperature was the other candidate. It is not a
level: it ranks against best-of-n differently from one position to another
(on a flat pool of ten moves, sampling at temperature 1 plays lower-ranked
moves than the best of 4; in game positions, where the policy is sharper,
higher-ranked ones), so mixed into the ladder it would break the ordering.
It stays what ``--temperature`` gives, and the README measures it beside the
levels.

The ladder (``LEVELS``, weakest first) and what each level measured, against
GNU Go 3.8 and against its neighbours, are in the README's section "Playing
at your level"; the names are numbers because the measurements, not hopes,
say what each is. The top level, ``full``, is no weakening at all: each
front end's own default (``goai gtp``, ``goai play`` and ``goai serve``
search 32 visits; the environment's policy opponent samples the raw policy
unless told to search), so that no level given and ``full`` play the same
moves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Level:
    """One rung of the ladder: how an ordinary move is chosen (see the module docstring).

    ``pick`` set: the best of that many pool moves drawn at random; None: the
    policy's first choice. ``floor`` is the smallest policy probability a move
    needs to be in the pool. ``full`` is the engine's own move choice, none of
    the rest applying.
    """

    name: str
    pick: int | None = None
    floor: float = 0.0
    full: bool = False

    def __post_init__(self) -> None:
        if self.pick is not None and self.pick < 1:
            raise ValueError(f"pick must be >= 1, not {self.pick}")
        if not 0 <= self.floor < 1:
            raise ValueError(f"floor must be in [0, 1), not {self.floor}")


FULL = "full"
FLOOR = 0.002  # the pool: moves the policy gives at least 0.2%

LEVELS: dict[str, Level] = {level.name: level for level in (
    Level("1", pick=2, floor=FLOOR),  # the best of 2 pool moves drawn at random
    Level("2", pick=4, floor=FLOOR),
    Level("3", pick=8, floor=FLOOR),
    Level("4"),  # the policy's first choice: one network call, no search
    Level(FULL, full=True),  # the engine's own default (goai gtp: a search of 32 visits)
)}


def level_named(name: str) -> Level:
    """The level called ``name``; ``ValueError`` naming the choices for any other."""
    try:
        return LEVELS[name]
    except KeyError:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {name!r}") from None


def engine_name(level: str | None, name: str = "goai") -> str:
    """The engine's name in a game record and on screen: ``goai (level 2)``, ``goai (small,
    level 2)`` for a name with its own parenthesis; ``name`` alone without a level."""
    if level is None:
        return name
    if name.endswith(")"):
        return f"{name[:-1]}, level {level})"
    return f"{name} (level {level})"


def pool(level: Level, probabilities: np.ndarray, points: list[int],
         excluded: Callable[[int], bool]) -> list[int]:
    """The moves ``level`` chooses among: ``points`` (legal points, no pass) the policy gives
    at least ``level.floor``, less those ``excluded`` (own eyes), most probable first.

    The most probable point that is not excluded always belongs (sorted, the
    pool starts with it), so the pool is empty only when every point is excluded.
    """
    order = sorted(points, key=lambda point: -probabilities[point])
    chosen = [point for point in order
              if probabilities[point] >= level.floor and not excluded(point)]
    if not chosen:  # nothing above the floor: the first choice alone
        best = next((point for point in order if not excluded(point)), None)
        chosen = [] if best is None else [best]
    return chosen


def choose(level: Level, candidates: list[int], rng: np.random.Generator) -> int:
    """The best of ``level.pick`` moves drawn from ``candidates``: its ``pool``, not empty,
    most probable first. ``ValueError`` for an empty pool or a level without ``pick`` (the
    policy's first choice, and ``full``, are the player's own choices)."""
    if not candidates or level.pick is None:
        raise ValueError("choose needs a pool and a level that draws (pick)")
    drawn = rng.choice(len(candidates), size=min(level.pick, len(candidates)), replace=False)
    # The pool is sorted best first, so the lowest index drawn is the policy's favourite.
    return candidates[int(drawn.min())]


__all__ = ["FULL", "LEVELS", "Level", "choose", "engine_name", "level_named", "pool"]
