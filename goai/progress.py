"""A small progress bar on stderr, for long work (prepare, train, evaluate).

With a total it shows the time left at the pace so far.

On a terminal it redraws one line; in a log file or CI it prints a plain line
at most every ``log_interval`` seconds, so logs stay readable. Written here
instead of depending on tqdm because it is twenty lines and goai needs only this.
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


class Progress:
    """``with Progress("prepare", total=n) as bar: bar.update(1, games=...)``."""

    def __init__(self, label: str, total: int | None = None, *, unit: str = "",
                 stream: TextIO | None = None, enabled: bool = True,
                 log_interval: float = 30.0, time_left: bool = True) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.time_left = time_left  # False: the caller shows its own estimate in the fields
        self.count = 0
        self.start = time.perf_counter()
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._interval = 0.2 if self._tty else log_interval
        self._last = 0.0
        self._extra = ""

    def update(self, amount: int = 1, **fields: object) -> None:
        self.count += amount
        if fields:
            self._extra = " ".join(f"{key} {value}" for key, value in fields.items())
        now = time.perf_counter()
        if self.enabled and now - self._last >= self._interval:
            self._last = now
            self._draw(final=False)

    def _draw(self, final: bool) -> None:
        elapsed = time.perf_counter() - self.start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        done = f"{self.count}" if self.total is None else f"{self.count}/{self.total}"
        if self.total:
            done += f" ({100 * self.count / self.total:.0f}%)"
        left = ""
        if self.time_left and self.total and rate > 0 and not final and self.count < self.total:
            left = f", {duration((self.total - self.count) / rate)} left"
        line = (f"{self.label}: {done} {self.unit} [{elapsed:.0f}s, {rate:.1f}/s{left}] "
                f"{self._extra}")
        if self._tty:
            self.stream.write("\r" + line.rstrip() + ("\n" if final else "\x1b[K"))
        else:
            self.stream.write(line.rstrip() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(final=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
