"""Lizzie 0.7 analyses with goai: its start-up, read the way Lizzie reads it.

Lizzie (Debian's ``liblizzie-java`` 0.7.4; featurecat/lizzie ``Leelaz.java``)
takes any engine whose ``name`` does not start with "KataGo" for Leela Zero. It
splits the first word of the ``version`` answer at the dots and reads the second
part as an integer: below 15 it shows "Lizzie requires version 0.15 or later of
Leela Zero for analysis" in a modal dialog and sends nothing more until someone
clicks it away; a word with no dot, or a second part that is not a number,
throws inside its reader thread. Its analysis is ``lz-analyze <interval>``, whose
``info`` lines it splits at single spaces, reading ``visits`` and ``winrate``
with ``Integer.parseInt`` (``MoveData.fromInfo``). The transcript
``tests/gtp/lizzie.txt`` is its start-up sequence; here the answers go through
those checks.
"""

from __future__ import annotations

from pathlib import Path

from test_gtp import read_transcript, run_engine

from goai.engine.config import GtpConfig
from goai.engine.engine import GtpEngine

TRANSCRIPT = Path(__file__).resolve().parent / "gtp" / "lizzie.txt"


def lizzie_version_check(answer_line: str) -> int:
    """Leelaz.java's check of the ``=2 ...`` line: the minor version it reads; raises
    ``ValueError`` (Java: an exception in the reader thread) where Lizzie breaks."""
    params = answer_line.strip().split(" ")
    return int(params[1].split(".")[1])  # ver[1]; IndexError/ValueError: Lizzie's throw


def lizzie_reads_info(line: str) -> list[tuple[str, int, float]]:
    """``MoveData.fromInfo`` over each candidate of an ``info`` line: (move, visits, win%)."""
    assert line.startswith("info ")
    moves = []
    for part in line[5:].split(" info "):
        data = part.strip().split(" ")
        found: dict[str, str] = {}
        index = 0
        while index < len(data):
            key = data[index]
            if key == "pv":
                break
            found[key] = data[index + 1]
            index += 2
        moves.append((found["move"], int(found["visits"]), int(found["winrate"]) / 100.0))
    return moves


def test_lizzie_start_up_passes_its_version_check_and_reads_the_analysis(
        tiny_model_path: Path) -> None:
    sent, _ = read_transcript(TRANSCRIPT)
    out = run_engine(GtpEngine(GtpConfig(model=str(tiny_model_path))), sent.encode()).decode()
    responses = {}
    for response in out.split("\n\n")[:-1]:
        header = response.split("\n", 1)[0]
        responses[int(header[1:].split(" ")[0])] = response  # currentCmdNum, as Lizzie reads it
    assert not responses[1].split(" ")[1].startswith("KataGo")  # so the check applies to goai
    assert lizzie_version_check(responses[2]) >= 15
    for number in (7, 9):
        header, line = responses[number].split("\n")
        assert header == f"={number}"
        moves = lizzie_reads_info(line)
        assert moves and all(visits > 0 and 0 <= winrate <= 100 for _, visits, winrate in moves)


def test_goai_s_own_version_number_would_fail_lizzie_s_check() -> None:
    """Why the answer leads with Leela Zero's number: goai's own, or a KataGo-like 1.x
    below 1.15, stops Lizzie at its dialog."""
    from goai import __version__

    for version in (__version__, "1.0", "1.14.2"):
        assert lizzie_version_check(f"=2 {version}") < 15

