"""When a search stops: limits by visits, playouts and seconds, and what a batch costs.

``SearchLimits`` says when a ``Search.run`` stops: the first limit reached of
``visits`` (the root's, reused ones included), ``playouts`` (new in this run)
and ``seconds`` (wall clock for this run); a ``stop`` callback, checked between
batches, is the search's own business.

A time limit needs a guess of what the next batch will cost before it runs.
``BatchCost`` keeps it: a batch of ``n`` leaves is taken to cost one
evaluation (``single``) plus ``n - 1`` times the marginal cost of a leaf
(``leaf``), both measured on the batches before, and a batch is cut to the
leaves that still fit. Until a batch has been measured a leaf is assumed to
cost a whole evaluation, the root's: an over-estimate on every device, which
keeps the limit. No clock is read here; the search measures and reports.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BatchCost", "SearchLimits"]

UNLIMITED = 1 << 62  # playouts left when neither visits nor playouts are limited


@dataclass(frozen=True)
class SearchLimits:
    """When a ``run`` stops: the first limit reached (``None`` = no such limit).

    ``visits``: the root's visits, reused ones included (1 = evaluate the root
    only, i.e. play the raw policy). ``playouts``: visits added by this run.
    ``seconds``: wall-clock time of this run.
    """

    visits: int | None = None
    playouts: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.visits is not None and self.visits < 1:
            raise ValueError(f"visits must be >= 1, not {self.visits}")
        if self.playouts is not None and self.playouts < 0:
            raise ValueError(f"playouts must be >= 0, not {self.playouts}")
        if self.seconds is not None and not self.seconds >= 0:
            raise ValueError(f"seconds must be >= 0, not {self.seconds}")

    @property
    def bounded(self) -> bool:
        return self.visits is not None or self.playouts is not None or self.seconds is not None

    def playouts_left(self, root_visits: int, start_visits: int) -> int:
        """Playouts still allowed by the visit and playout limits, for a root at
        ``root_visits`` that had ``start_visits`` when the run began (``UNLIMITED`` if none)."""
        remaining = UNLIMITED
        if self.visits is not None:
            remaining = min(remaining, self.visits - root_visits)
        if self.playouts is not None:
            remaining = min(remaining, self.playouts - (root_visits - start_visits))
        return remaining


@dataclass
class BatchCost:
    """What the next batch of leaves is taken to cost, in seconds (see the module docstring):
    ``single`` for one evaluation, ``leaf`` for each further leaf of a batch."""

    single: float = 0.0
    leaf: float = 0.0

    def root_measured(self, seconds: float) -> None:
        """The root's evaluation took ``seconds``: one evaluation's cost, and until a batch
        is measured, each further leaf's too."""
        self.single = seconds
        self.leaf = max(self.leaf, seconds)

    def leaves_that_fit(self, seconds_left: float) -> int:
        """How many leaves a batch started now may hold to end within ``seconds_left``;
        0 when not even one fits."""
        left = seconds_left - self.single
        if left < 0:
            return 0
        return 1 + int(left / max(self.leaf, 1e-9))

    def batch_measured(self, leaves: int, seconds: float) -> None:
        """A batch of ``leaves`` took ``seconds``: a lone leaf measures ``single``, more
        measure ``leaf`` (what they took beyond one evaluation, shared out)."""
        if leaves > 1:
            self.leaf = max(0.0, seconds - self.single) / (leaves - 1)
        elif leaves == 1:
            self.single = seconds
