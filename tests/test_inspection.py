"""``goai inspect`` and ``goai show``: what they print, and that text from the data is escaped."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from goai.cli.parser import main
from goai.records.inspection import inspect_sources, printable

ESCAPES = "\x1b]0;owned\x07\x1b[2J\u202e"  # retitle the window, clear the screen, reorder


@pytest.mark.parametrize(("text", "shown"), [
    ("Lee Sedol", "Lee Sedol"),
    ("井山裕太", "井山裕太"),
    ("\x1b[31mred", "\\x1b[31mred"),
    ("a\nb\tc\x00", "a\\nb\\tc\\x00"),
    ("\u202eabc\x9b", "\\u202eabc\\x9b"),
])  # fmt: skip
def test_printable_escapes_control_and_format_characters(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_inspect_prints_member_names_escaped(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # Issue 13.17: a member name is a terminal's command if printed raw.
    path = tmp_path / "games.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{ESCAPES}.sgf", "(;SZ[19];B[pd];W[dd])")  # a short game: listed
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b]0;owned\\x07\\x1b[2J\\u202e.sgf game 0: short game" in out


def test_show_prints_names_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "game.sgf"
    escaped = ESCAPES.replace("]", "\\]")  # as SGF text
    path.write_text(f"(;SZ[9]PB[{escaped}]PW[Cho]RE[B+R\x1b[0m];B[ee])", encoding="utf-8")
    assert main(["show", str(path)]) == 0
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line == ("\\x1b]0;owned\\x07\\x1b[2J\\u202e (B) vs Cho (W), 9x9, komi 0, "
                          "result B+R\\x1b[0m")


def test_inspect_reports_no_sgf_games_found(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    # Issue 12.7: an empty folder, an empty zip or a zip of zips gave 0 games and no reason.
    empty = tmp_path / "empty"
    empty.mkdir()
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as archive:
        archive.writestr("inner.zip", b"PK\x05\x06" + bytes(18))
    report = inspect_sources([empty, nested], show_progress=False)
    assert report["games"] == 0 and report["problems"] == {"no game": 2}
    assert main(["inspect", str(empty)]) == 0
    out = capsys.readouterr().out
    assert f"{empty}: no game: no SGF games found" in out


def test_show_says_why_there_is_no_game(tmp_path: Path) -> None:
    path = tmp_path / "othello.sgf"
    path.write_text("(;GM[2]SZ[8];B[dd])")
    with pytest.raises(SystemExit, match=r"no readable game \(.*GM\[2\] is not a game of Go\)"):
        main(["show", str(path)])



def test_json_output_escapes_what_a_terminal_would_obey(capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    import json

    from goai.cli.common import print_json

    # A C1 control (CSI, \x9b), DEL and a bidi override in a name; Korean stays as it is.
    name = "이세돌\x9b2J\x7f\u202e"
    print_json({"black": name})
    out = capsys.readouterr().out
    assert not {"\x9b", "\x7f", "\u202e"} & set(out)
    assert '"이세돌\\u009b2J\\u007f\\u202e"' in out
    assert json.loads(out) == {"black": name}  # the escapes read back as the same characters
