"""The progress line: counts, rate, and the time left at the pace so far."""

from __future__ import annotations

import io

import pytest

from goai import progress
from goai.progress import Progress, duration


@pytest.mark.parametrize("seconds, shown", [(42, "42s"), (200, "3m20s"), (3725, "1h02m")])
def test_durations(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_a_log_line_shows_the_time_left_until_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 100.0, 100.0, 400.0, 400.0, 400.0])  # start, then now + elapsed
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()  # not a terminal: a plain line at most every log_interval
    bar = Progress("evaluate", total=4, unit="games", stream=stream, log_interval=1.0)
    bar.update(1, top1="0.500")  # 1 game in 100 s: 3 more take 300 s
    bar.update(3)
    bar.close()
    first, last, final = stream.getvalue().splitlines()
    assert first == "evaluate: 1/4 (25%) games [100s, 0.0/s, 5m00s left] top1 0.500"
    assert "left" not in last and "left" not in final  # done: nothing left to wait for


def test_no_estimate_without_a_total_or_when_the_caller_gives_its_own() -> None:
    for options in ({"total": None}, {"total": 10, "time_left": False}):
        stream = io.StringIO()
        bar = Progress("train", stream=stream, log_interval=0.0, **options)
        bar.update(1)
        assert "left" not in stream.getvalue()
