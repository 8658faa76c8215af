"""The progress line on stderr, for long work (prepare, train, evaluate, review, match).

``Progress("evaluate", total=n, unit="positions")`` counts the work done; with a
total it shows the share done and the time left at the pace so far. A caller may
add figures (``loss 2.31``) and a note (``game 3, move 57``) that change as it goes.

On a terminal it redraws one line (at most five times a second) and ends it when
closed. In a log file, a pipe or CI it prints a plain line at most every
``log_interval`` seconds (the first at once), and its closing line only when it
says something the last one did not: no carriage returns in logs, and no line
twice.

Why not tqdm or rich: both draw terminals well, but tqdm writes its redraws into
a pipe or a log file as carriage returns on one endless line (tqdm issue #750,
open since 2019: the advice is to disable it there), and rich shows nothing in a
pipe until the work ends. A long ``goai train`` in a batch job or a CI log needs
the plain, spaced lines this class writes, and goai's few needs (a count, a
total, the time left, a few figures) fit in this module without a dependency.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def duration(seconds: float) -> str:
    """``3725`` -> ``"1h02m"``, ``200`` -> ``"3m20s"``, ``42`` -> ``"42s"``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def rate_text(rate: float, unit: str) -> str:
    """``12.3/s`` for fast work; ``80s each`` below one a second (``0.0/s`` says nothing)."""
    if rate >= 1 or rate <= 0:
        return f"{rate:.1f}/s" if rate < 100 else f"{rate:.0f}/s"
    return f"{duration(1 / rate)} each"


class Progress:
    """``with Progress("prepare", total=n) as bar: bar.update(1, games=...)``.

    ``total`` may be set later (``bar.total = n``). ``initial`` is work done before
    (a resumed run's steps): counted, but not in the rate. ``time_left=False`` leaves
    the estimate to the caller (``goai train`` puts its own, by its budget, in the
    figures). ``enabled=False`` draws nothing.
    """

    def __init__(self, label: str, total: int | None = None, *, unit: str = "",
                 stream: TextIO | None = None, enabled: bool = True,
                 log_interval: float = 30.0, time_left: bool = True, initial: int = 0) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.time_left = time_left
        self.count = self.initial = initial
        self.start = time.perf_counter()
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._interval = 0.2 if self._tty else log_interval
        self._last: float | None = None  # when a line was last drawn
        self._drawn: tuple | None = None  # what it said: count, total, figures, note
        self._fields = ""
        self._note = ""

    def update(self, amount: int = 1, *, note: str | None = None, **fields: object) -> None:
        """Count ``amount`` more done (0: only new figures); ``fields`` replace the figures
        shown (``loss=2.31`` -> ``loss 2.31``), ``note`` the text after them."""
        self.count += amount
        if fields:
            self._fields = " ".join(f"{key} {value}" for key, value in fields.items())
        if note is not None:
            self._note = note
        now = time.perf_counter()
        if self.enabled and (self._last is None or now - self._last >= self._interval):
            self._last = now
            self._draw(final=False)

    def _state(self) -> tuple:
        return self.count, self.total, self._fields, self._note

    def _draw(self, final: bool) -> None:
        elapsed = time.perf_counter() - self.start
        rate = (self.count - self.initial) / elapsed if elapsed > 0 else 0.0
        done = f"{self.count:,}" if self.total is None else f"{self.count:,}/{self.total:,}"
        done += f" {self.unit}" if self.unit else ""
        if self.total:
            done += f" ({100 * self.count / self.total:.0f}%)"
        left = ""
        if self.time_left and self.total and rate > 0 and not final and self.count < self.total:
            left = f", {duration((self.total - self.count) / rate)} left"
        line = f"{self.label}: {done} [{duration(elapsed)}, {rate_text(rate, self.unit)}{left}]"
        line += "".join(f" {part}" for part in (self._fields, self._note) if part)
        if self._tty:
            self.stream.write("\r" + line + ("\n" if final else "\x1b[K"))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._drawn = self._state()

    def close(self) -> None:
        """The closing line: on a terminal the line is redrawn and ended; elsewhere it is
        printed unless the last line printed already said the same."""
        if self.enabled and (self._tty or self._drawn != self._state()):
            self._draw(final=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
