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
``floor`` (its first choice always belongs), and chooses within it in one of
two ways:

* **best of n** (KaTrain's "pick" strategy, on the pool rather than on every
  legal point): draw ``pick`` moves of the pool at random, without
  replacement, and play the one the policy likes most. Small n is weak.
* **temperature**: sample the pool with probability proportional to
  ``p ** (1 / temperature)``; temperature 0 plays the policy's first choice.

The ladder (``LEVELS``, weakest first) and what each level measured, against
GNU Go 3.8 and against its neighbours, are in the README's section "Playing
at the player's level"; the names are numbers because the measurements,
not hopes, say what each is. The top level, ``full``, is no weakening at all:
each front end's own default (``goai gtp`` searches, ``goai play`` and the
environment play the raw policy unless told to search), so that no level
given and ``full`` play the same moves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Level:
    """One rung of the ladder: how an ordinary move is chosen (see the module docstring).

    ``pick`` set: the best of that many pool moves drawn at random; else
    sampling at ``temperature`` (0: the policy's first choice). ``floor`` is
    the smallest policy probability a move needs to be in the pool. ``full``
    is the engine's own move choice, none of the rest applying. ``summary`` is
    the one line the help, the browser's chooser and the README show.
    """

    name: str
    summary: str
    pick: int | None = None
    temperature: float = 0.0
    floor: float = 0.0
    full: bool = False

    def __post_init__(self) -> None:
        if self.pick is not None and self.pick < 1:
            raise ValueError(f"pick must be >= 1, not {self.pick}")
        if not self.temperature >= 0 or not 0 <= self.floor < 1:
            raise ValueError("temperature must be >= 0 and floor in [0, 1)")


FULL = "full"

LEVELS: dict[str, Level] = {level.name: level for level in (
    Level("1", "the best of 2 moves drawn at random from those the policy gives >= 0.2%",
          pick=2, floor=0.002),
    Level("2", "the best of 4 moves drawn at random from those the policy gives >= 0.2%",
          pick=4, floor=0.002),
    Level("3", "a move sampled from the policy (temperature 1) among those it gives >= 0.2%",
          temperature=1.0, floor=0.002),
    Level("4", "the policy's first choice: one network call, no search", temperature=0.0),
    Level(FULL, "the engine's own default (goai gtp: a search of 32 visits)", full=True),
)}


def level_named(name: str) -> Level:
    """The level called ``name``; ``ValueError`` naming the choices for any other."""
    try:
        return LEVELS[name]
    except KeyError:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {name!r}") from None


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


def choose(level: Level, probabilities: np.ndarray, candidates: list[int],
           rng: np.random.Generator) -> int:
    """``level``'s move among ``candidates`` (its ``pool``, not empty), by ``probabilities``.

    Raises ``ValueError`` for an empty pool or the ``full`` level (not chosen here).
    """
    if not candidates:
        raise ValueError("no candidate to choose from")
    if level.full:
        raise ValueError("the full level is the engine's own choice, not a level's")
    weights = np.array([probabilities[point] for point in candidates], dtype=np.float64)
    if level.pick is not None:
        drawn = rng.choice(len(candidates), size=min(level.pick, len(candidates)), replace=False)
        return candidates[int(max(drawn, key=lambda i: (weights[i], -i)))]
    if level.temperature == 0 or weights.sum() <= 0:
        return candidates[int(np.argmax(weights))]
    # Scale in log space: p ** (1/T) underflows for small T and small p.
    logits = np.log(np.maximum(weights, 1e-30)) / level.temperature
    weights = np.exp(logits - logits.max())
    return candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))]


__all__ = ["FULL", "LEVELS", "Level", "choose", "level_named", "pool"]
