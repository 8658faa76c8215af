"""The match runner: forfeits for crashed, hung or lying engines, scoring, the summary, SGF.

Most games are between tiny fake GTP engines (a script written by the test:
it passes, resigns, crashes, hangs or answers nonsense), so they take
milliseconds and need no network. Games with GNU Go run when
/usr/games/gnugo (or gnugo on PATH) is installed and skip otherwise.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from goai.cli.parser import main
from goai.play.match import (
    MatchConfig,
    MatchError,
    format_summary,
    run_match,
)
from goai.records.record import GameRecord
from goai.records.sgf import parse_sgf
from goai.rules.board import BLACK, WHITE, IllegalMoveError
from goai.rules.game import fixed_handicap, replay

FAKE_ENGINE = '''
import os, sys, time
mode = sys.argv[1]
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "quit":
        print("= \\n", flush=True)
        break
    name = "-".join(["fake"] + sys.argv[1:])  # fake-pass, or fake-slow-2 with an extra word
    reply = {"name": name, "version": "1.0"}.get(words[0], "")
    if words[0] == "genmove":
        if mode == "crash":
            sys.exit(3)
        if mode == "hang":
            time.sleep(600)
        if mode == "stall":  # thinks for ever, and says so with a file beside this script
            open(os.path.join(os.path.dirname(sys.argv[0]), f"stalled-{os.getpid()}"), "w")
            time.sleep(600)
        if mode == "error":
            print("? no move\\n", flush=True)
            continue
        if mode == "slow":
            time.sleep(0.2)
        if mode == "flood":  # one 20 MB line
            print("= " + "A" * 20_000_000 + "\\n", flush=True)
            continue
        if mode == "chatter":  # 2.4 MB in lines of 60 KB
            print("= " + "\\n".join(["B" * 60_000] * 40) + "\\n", flush=True)
            continue
        reply = {"pass": "pass", "slow": "pass", "resign": "resign",
                 "nonsense": "Z99", "same": "D4"}[mode]
    print("= " + reply + "\\n", flush=True)
'''

GNUGO = shutil.which("gnugo") or shutil.which("/usr/games/gnugo")
needs_gnugo = pytest.mark.skipif(GNUGO is None, reason="GNU Go is not installed")


@pytest.fixture
def fake(tmp_path: Path):
    """``fake("crash")`` -> the command line of a fake engine in that mode."""
    script = tmp_path / "fake_engine.py"
    script.write_text(FAKE_ENGINE)
    return lambda mode: f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {mode}"


def play(black: str, white: str, games: int = 2, **options) -> dict:
    options.setdefault("referee", "none")
    return run_match(MatchConfig(black=black, white=white, games=games, **options),
                     show_progress=False)


def test_two_passers_are_scored_and_colours_alternate(fake):
    summary = play(fake("pass"), fake("pass"))
    results = summary["results"]
    assert [r["black"] for r in results] == ["A", "B"]
    assert [r["result"] for r in results] == ["W+7.5", "W+7.5"]  # empty board, komi
    assert [r["winner"] for r in results] == ["B", "A"]
    assert summary["wins"] == {"A": 1.0, "B": 1.0} and summary["elo_a_minus_b"] == 0.0
    assert summary["engines"]["A"]["name"] == "fake-pass 1.0"


def test_the_progress_line_shows_the_move_and_each_engine_s_time_during_a_game(
        fake, monkeypatch, capsys):
    import functools

    from goai.play import match

    # Every update printed (a log line, not a terminal), to see each move's.
    monkeypatch.setattr(match, "Progress", functools.partial(match.Progress, log_interval=0))
    run_match(MatchConfig(black=fake("slow"), white=fake("pass"), games=2, referee="none"))
    lines = capsys.readouterr().err.splitlines()
    assert any(re.search(r"match: 0/2 games \(0%\) \[.*\] \| game 1, move 1: A 0s, B 0s "
                         "thinking$", line) for line in lines), lines
    assert any(line.endswith("| game 2, move 2: A 0s, B 0s thinking") for line in lines)
    assert re.search(r"^match: 2/2 games \(100%\) \[.*\] A 1 B 1$", lines[-1])
    assert len(lines) == len(set(lines))  # the closing line is not printed twice


@pytest.mark.parametrize("mode, detail", [
    ("crash", "exited with code 3"),
    ("error", "genmove failed"),
    ("nonsense", "answered genmove with 'Z99'"),
    ("same", "illegal move D4 (occupied)"),
])
def test_a_failing_engine_loses_and_the_match_goes_on(fake, mode, detail):
    # "same" answers D4 every time: legal once, then occupied.
    summary = play(fake("pass"), fake(mode), games=3)
    assert summary["games"] == 3
    assert summary["wins"] == {"A": 3.0, "B": 0.0}
    assert summary["forfeits"] == 3
    assert all(detail in r["detail"] and r["detail"].startswith("B:")
               for r in summary["results"])
    assert [r["result"] for r in summary["results"]] == ["B+F", "W+F", "B+F"]


@pytest.mark.parametrize("mode, detail", [
    ("flood", "answered 'genmove white' with a line over 64 KB"),
    ("chatter", "answered 'genmove white' with over 1024 KB"),
])
def test_an_engine_s_answer_is_read_within_a_cap(fake, mode, detail):
    # Before the cap, a 20 MB genmove answer was read whole (the match grew to 118 MB).
    summary = play(fake("pass"), fake(mode), games=1)
    result = summary["results"][0]
    assert result["reason"] == "forfeit" and result["detail"] == f"B: {detail}"


def test_thinking_time_is_measured_per_engine(fake):
    # Two passes end each game: every engine answers one genmove a game.
    summary = play(fake("slow"), fake("pass"), games=2)
    a, b = summary["engines"]["A"], summary["engines"]["B"]
    assert a["genmoves"] == b["genmoves"] == 2
    assert 0.2 <= a["seconds_per_move"] <= a["longest_move_seconds"]
    assert b["seconds_per_move"] < a["seconds_per_move"]
    assert all(r["seconds"]["A"][0] == 1 and r["seconds"]["A"][1] >= 0.2
               for r in summary["results"])
    assert re.search(r"^A thought \d+\.\d\d s a move \(longest \d+\.\d s, 2 moves\)$",
                     format_summary(summary), re.MULTILINE)


def test_games_at_once_keep_their_numbers_colours_and_slots(fake, tmp_path: Path):
    # Four games at two seats; {slot} tells the seats' engines apart in the records.
    summary = play(fake("slow") + " {slot}", fake("pass"), games=4, parallel=2,
                   sgf_dir=str(tmp_path))
    results = summary["results"]
    assert [r["number"] for r in results] == [1, 2, 3, 4]
    assert [r["black"] for r in results] == ["A", "B", "A", "B"]
    assert [r["winner"] for r in results] == ["B", "A", "B", "A"]  # White wins by komi
    assert summary["parallel"] == 2 and summary["engines"]["A"]["command"].endswith("{slot}")
    names = set()
    for number in range(1, 5):
        record = next(r for r in parse_sgf((tmp_path / f"game-{number:03d}.sgf").read_bytes())
                      if isinstance(r, GameRecord))
        names.add(record.black_name if number % 2 else record.white_name)
    assert names == {"fake-slow-1 1.0 (A)", "fake-slow-2 1.0 (A)"}


def test_no_more_seats_than_games_and_at_least_one(fake):
    assert play(fake("pass"), fake("pass"), games=1, parallel=4)["parallel"] == 1
    with pytest.raises(ValueError, match="parallel"):
        MatchConfig(black="a", white="b", games=2, parallel=0)


def test_ctrl_c_ends_the_match_with_the_games_finished_so_far(fake, monkeypatch):
    from goai.play import match

    # Ctrl-C while the match waits for engine A's second move (in game 2). Raised here
    # rather than sent as SIGINT by the fake engine, as it once was: in the full suite
    # that signal was now and then not seen (2 full runs of 3 on one day; never in 30
    # runs of the test alone), for a reason not found. The signal's own path is the
    # SIGTERM tests' below (goai match turns SIGTERM into the same KeyboardInterrupt).
    asked = {"A": 0}
    ask_move = match._ask_move

    def ask_move_or_ctrl_c(player, *args):
        if player.label == "A":
            asked["A"] += 1
            if asked["A"] == 2:
                raise KeyboardInterrupt
        return ask_move(player, *args)

    monkeypatch.setattr(match, "_ask_move", ask_move_or_ctrl_c)
    summary = play(fake("pass"), fake("pass"), games=3)
    assert summary["interrupted"] and summary["games"] == 1 and summary["planned_games"] == 3
    assert summary["results"][0]["number"] == 1
    assert "interrupted: 1 of 3 games finished" in format_summary(summary)


def test_sigterm_ends_goai_match_with_its_summary_and_records(fake, tmp_path: Path):
    command = [sys.executable, "-m", "goai", "match", "--black", fake("slow"), "--white",
               fake("pass"), "--games", "100", "--referee", "none", "--json",
               "--sgf-dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("*.sgf")) and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    summary = json.loads(out)
    assert summary["interrupted"] and 1 <= summary["games"] < 100
    assert len(list(tmp_path.glob("*.sgf"))) >= summary["games"]
    assert b"Traceback" not in err
    # The record keeps each engine's thinking time (A sleeps 0.2 s a move).
    assert re.search(r"A thought \d+\.\d\d s a move \(1 move\); B thought",
                     (tmp_path / "game-001.sgf").read_text())


def test_sigterm_during_games_at_once_writes_no_result_for_the_games_cut_off(fake,
                                                                            tmp_path: Path):
    # Before: "interrupted: 0 of 6 games finished", yet game-001.sgf held RE[W+F]: the
    # shutdown killed the engines and the games in progress were scored as forfeits.
    games = tmp_path / "games"
    command = [sys.executable, "-m", "goai", "match", "--black", fake("stall"), "--white",
               fake("pass"), "--games", "6", "--parallel", "2", "--referee", "none",
               "--move-timeout", "30", "--sgf-dir", str(games)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("stalled-*"))) < 2:  # both seats are in a game
        assert time.monotonic() < deadline and process.poll() is None, "no game started"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted: 0 of 6 games finished" in out.decode()
    assert "forfeits 0" in out.decode() and b"Traceback" not in err
    assert list(games.iterdir()) == []  # no record, no partial file


def test_a_hung_engine_is_killed_after_the_move_timeout(fake):
    summary = play(fake("hang"), fake("pass"), games=2, move_timeout=1.0)
    assert summary["wins"] == {"A": 0.0, "B": 2.0}
    assert all("no answer to 'genmove" in r["detail"] for r in summary["results"])


def test_resigning_ends_the_game(fake):
    summary = play(fake("resign"), fake("pass"), games=1)
    assert summary["results"][0]["result"] == "W+R"
    assert summary["results"][0]["reason"] == "resign"


def test_an_engine_that_cannot_start_stops_the_match_at_once(fake):
    with pytest.raises(MatchError, match="cannot start"):
        play("/no/such/engine --gtp", fake("pass"))


def test_cli_json_and_sgf_records(fake, tmp_path: Path, capsys):
    sgf_dir = tmp_path / "games"
    code = main(["match", "--black", fake("pass"), "--white", fake("resign"), "--games", "2",
                 "--referee", "none", "--sgf-dir", str(sgf_dir), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert [r["result"] for r in summary["results"]] == ["B+R", "W+R"]  # B resigns at once
    assert summary["wins"] == {"A": 2.0, "B": 0.0}
    records = [next(parse_sgf(path.read_bytes())) for path in sorted(sgf_dir.glob("*.sgf"))]
    assert [r.result for r in records] == ["B+R", "W+R"]
    assert records[0].black_name == "fake-pass 1.0 (A)"
    assert records[1].white_name == "fake-pass 1.0 (A)"


@needs_gnugo
def test_goai_against_gnugo_plays_legal_moves_and_records_them(tiny_model_path, tmp_path):
    goai = f"{shlex.quote(sys.executable)} -m goai gtp --model {tiny_model_path}"
    gnugo = f"{GNUGO} --mode gtp --level 1 --chinese-rules"
    summary = play(goai, gnugo, games=2, max_moves=12, sgf_dir=str(tmp_path))
    assert summary["forfeits"] == 0
    for result in summary["results"]:
        assert result["moves"] == 12 and result["reason"] == "move cap"
        record = next(parse_sgf(Path(result["sgf"]).read_bytes()))
        assert isinstance(record, GameRecord) and len(record.moves) == 12
        try:
            for _ in replay(19, 7.5, record.moves):
                pass
        except IllegalMoveError as error:
            pytest.fail(f"illegal move in {result['sgf']}: {error}")


@needs_gnugo
def test_gnugo_referee_scores_finished_games():
    gnugo = f"{GNUGO} --mode gtp --level 1"
    summary = play(gnugo, gnugo, games=2, size=9, referee="gnugo")
    assert all(r["scorer"] == "referee" and r["reason"] == "score" for r in summary["results"])
    assert summary["wins"]["A"] + summary["wins"]["B"] == 2


@needs_gnugo
def test_a_handicap_game_starts_from_gnugo_stones_with_white_to_move(tiny_model_path, tmp_path):
    goai = f"{shlex.quote(sys.executable)} -m goai gtp --model {tiny_model_path}"
    gnugo = f"{GNUGO} --mode gtp --level 1 --chinese-rules"
    summary = play(gnugo, goai, games=1, max_moves=4, komi=0.5, handicap=4, alternate=False,
                   sgf_dir=str(tmp_path))
    assert summary["forfeits"] == 0 and summary["handicap"] == 4
    record = next(parse_sgf(Path(summary["results"][0]["sgf"]).read_bytes()))
    assert record.handicap == 4 and record.komi == 0.5
    assert sorted(record.setup_black) == sorted(fixed_handicap(4))  # D4 Q16 D16 Q4
    assert [color for color, _ in record.moves] == [WHITE, BLACK, WHITE, BLACK]


def test_an_engine_without_fixed_handicap_forfeits(fake):
    summary = play(fake("pass"), fake("pass"), games=1, handicap=2)
    result = summary["results"][0]
    assert result["reason"] == "forfeit" and "not GNU Go's points" in result["detail"]


@pytest.mark.parametrize("options", [{"handicap": 1}, {"handicap": 10},
                                     {"handicap": 4, "size": 9}])
def test_impossible_handicaps_are_refused(options):
    with pytest.raises(ValueError):
        MatchConfig(black="a", white="b", games=1, **options)
