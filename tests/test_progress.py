"""The progress line: counts, rate, the time left at the pace so far, and no line twice."""

from __future__ import annotations

import io

import pytest

from goai.display import progress
from goai.display.progress import Progress, duration, rate_text


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("seconds, shown", [(42, "42s"), (200, "3m20s"), (3725, "1h02m")])
def test_durations(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


@pytest.mark.parametrize("rate, shown", [(17.04, "17.0/s"), (1234.5, "1234/s"),
                                         (1 / 80, "1m20s each"), (0.0, "0.0/s")])
def test_rates_slower_than_one_a_second_read_as_time_each(rate: float, shown: str) -> None:
    assert rate_text(rate, "games") == shown


def test_a_log_line_shows_the_time_left_and_the_last_line_comes_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 100.0, 100.0, 400.0, 400.0, 400.0])  # start, then now + elapsed
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()  # not a terminal: a plain line at most every log_interval
    bar = Progress("evaluate", total=4, unit="games", stream=stream, log_interval=1.0)
    bar.update(1, top1="0.500")  # 1 game in 100 s: 3 more take 300 s
    bar.update(3)
    bar.close()  # says nothing new: not printed again
    assert stream.getvalue().splitlines() == [
        "evaluate: 1/4 games (25%) [1m40s, 1m40s each, 5m00s left] top1 0.500",
        "evaluate: 4/4 games (100%) [6m40s, 1m40s each] top1 0.500"]


def test_a_log_gets_the_closing_line_when_it_says_more_than_the_last() -> None:
    stream = io.StringIO()
    bar = Progress("inspect", unit="games", stream=stream, log_interval=3600)
    bar.update(1)
    bar.update(249)  # within the interval: not printed
    bar.close()
    first, last = stream.getvalue().splitlines()
    assert first.startswith("inspect: 1 games [") and last.startswith("inspect: 250 games [")


def test_a_terminal_redraws_one_line_and_ends_it_once() -> None:
    stream = Terminal()
    bar = Progress("match", total=2, unit="games", stream=stream)
    bar.update(0, note="game 1, move 57: A 12s, B 8s")
    bar.close()
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("game 1, move 57: A 12s, B 8s\n")
    assert text.startswith("\rmatch: 0/2 games (0%) [") and "\x1b[K\rmatch: " in text


def test_no_estimate_without_a_total_or_when_the_caller_gives_its_own() -> None:
    for options in ({"total": None}, {"total": 10, "time_left": False}):
        stream = io.StringIO()
        bar = Progress("train", stream=stream, log_interval=0.0, **options)
        bar.update(1)
        assert "left" not in stream.getvalue()
