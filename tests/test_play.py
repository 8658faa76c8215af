"""``goai play`` by transcript: lines typed in, the exact lines written back.

Most games are played against ``ScriptedPolicy``, whose wishes are fixed, so
the engine's replies and the hint list are known; the board drawings are
left out of the transcripts (``render`` has its own tests) except where a
test looks at them. The last tests run ``goai play`` itself on the tiny
untrained model, in-process and as a piped subprocess.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from boards import move
from fakes import analysis, blunder_value
from sgfmill import sgf

from goai import cli
from goai.play.player import Player
from goai.play.terminal import Command, InputError, PlayConfig, TerminalGame, parse_command
from goai.rules.board import BLACK, WHITE
from goai.rules.coords import PASS, move_to_index
from goai.rules.game import fixed_handicap

BOARD_LINE = re.compile(r"^ +A B C|^ *\d+[ (].*\d$")


class ScriptedPolicy:
    """Wants the ``wanted`` vertices with those probabilities, everything else at 0.001."""

    has_value_head = False

    def __init__(self, wanted: dict[str, float]) -> None:
        self.probabilities = np.full(362, 0.001)
        for vertex, probability in wanted.items():
            point = move(vertex, 19)
            self.probabilities[move_to_index(point)] = probability

    def move_probabilities(self, state):
        return self.probabilities

    def analyze(self, state, *, symmetries=None):
        return analysis(state, self.probabilities, None)


WANTS = {"Q16": 0.4, "D16": 0.2, "Q4": 0.1, "C3": 0.05, "pass": 0.03}


def play_game(typed: str, config: PlayConfig | None = None, wanted: dict[str, float] = WANTS,
              setup=None, **options) -> tuple[list[str], str, TerminalGame]:
    """Run a game on ``typed``; return the lines without boards, the whole output, the game."""
    out = io.StringIO()
    game = TerminalGame(Player(ScriptedPolicy(wanted)), config or PlayConfig(), out, echo=True,
                        **options)
    if setup is not None:
        setup(game.state)
    game.run(io.StringIO(typed))
    text = out.getvalue()
    return [line for line in text.splitlines() if not BOARD_LINE.match(line)], text, game


INTRO = [
    "goai play: you are Black (X), goai is White (O); 19x19, komi 7.5.",
    "Type a move (D4), pass, resign, undo, hint, score, save FILE.sgf, help or quit.",
]


# ----------------------------------------------------------------- parsing


@pytest.mark.parametrize("line, command", [
    ("D4", Command("move", move=move("D4", 19))),
    ("  q16 \n", Command("move", move=move("Q16", 19))),
    ("T19", Command("move", move=move("T19", 19))),
    ("pass", Command("move", move=PASS)),
    ("PASS", Command("move", move=PASS)),
    ("resign", Command("resign")),
    ("Undo", Command("undo")),
    ("hint", Command("hint")),
    ("score", Command("score")),
    ("help", Command("help")),
    ("quit", Command("quit")),
    ("save game.sgf", Command("save", path="game.sgf")),
    ("save my games/one.sgf", Command("save", path="my games/one.sgf")),
])
def test_parse_command(line: str, command: Command):
    assert parse_command(line) == command


@pytest.mark.parametrize("line, explanation", [
    ("", "type a move such as D4, or 'help' for the commands"),
    ("   ", "type a move such as D4, or 'help' for the commands"),
    ("save", "save needs a file name: save FILE.sgf"),
    ("undo 2", "'undo' takes no argument"),
    ("D4 Q16", "one move at a time: 'D4 Q16' is more than a move"),
    ("I5", "'I5' is neither a move (A1 to T19, no I) nor a command; type 'help'"),
    ("U4", "'U4' is neither a move (A1 to T19, no I) nor a command; type 'help'"),
    ("D20", "'D20' is neither a move (A1 to T19, no I) nor a command; type 'help'"),
    ("moo", "'moo' is neither a move (A1 to T19, no I) nor a command; type 'help'"),
])
def test_parse_command_explains_bad_input(line: str, explanation: str):
    with pytest.raises(InputError) as error:
        parse_command(line)
    assert str(error.value) == explanation


def test_fixed_handicap_places_gnugo_points():
    assert fixed_handicap(2) == [move("D4", 19), move("Q16", 19)]
    assert len(fixed_handicap(9)) == 9
    for count in (1, 10, -1):
        with pytest.raises(ValueError):
            fixed_handicap(count)


@pytest.mark.parametrize("options", [{"size": 9}, {"handicap": 1}, {"handicap": 10}])
def test_play_config_refuses_what_the_model_cannot_play(options):
    with pytest.raises(ValueError):
        PlayConfig(**options)


# ----------------------------------------------------------------- games


def test_a_short_game_with_a_hint_ends_on_two_passes_and_saves(tmp_path: Path):
    saved = tmp_path / "game.sgf"
    lines, text, game = play_game(f"D4\nhint\npass\nsave {saved}\nquit\n")
    assert lines == INTRO + [
        "Black (X) to play, move 1. Captures: Black 0, White 0.",
        "Black (X) move 1> D4",
        "White (goai) plays Q16.",
        "Black (X) to play, move 3. Captures: Black 0, White 0.",
        "Black (X) move 3> hint",
        "The model's top 5 moves for Black:",
        "  1. Q16    40.0%",
        "  2. D16    20.0%",
        "  3. Q4     10.0%",
        "  4. C3      5.0%",
        "  5. pass    3.0%",
        "Black (X) move 3> pass",
        "White (goai) passes.",
        "Two passes: the game is over. Result: W+7.5 by area with komi 7.5, 0 stones "
        "estimated dead and removed; as the stones stand (Tromp-Taylor): W+7.5.",
        "Type 'save FILE.sgf' to keep the game, 'undo' to take back your last move, or 'quit'.",
        f"game over> save {saved}",
        f"Saved 4 moves to {saved}.",
        "game over> quit",
        "Bye.",
    ]
    # The board after White's reply: both stones, the last move in parentheses.
    assert " 16 . . . + . . . . . + . . . . .(O). . . 16" in text
    assert "  4 . . . X . . . . . + . . . . . + . . . 4" in text
    assert game.result == "W+7.5"

    record = sgf.Sgf_game.from_bytes(saved.read_bytes())
    root = record.get_root()
    assert (root.get("RE"), root.get("KM"), root.get("PB"), root.get("PW")) == (
        "W+7.5", 7.5, "human", "goai")
    assert [node.get_move() for node in record.get_main_sequence()[1:]] == [
        ("b", (3, 3)), ("w", (15, 15)), ("b", None), ("w", None)]


def test_illegal_moves_say_why():
    # White's C2 takes the black stone at B2: a ko that Black may not retake at once.
    def ko_corner(state):
        state.setup(black=[move(v, 19) for v in ("C3", "B2", "D2", "C1")],
                    white=[move(v, 19) for v in ("B3", "A2", "B1")])
        state.to_play = WHITE

    lines, _, game = play_game("B2\nA1\nC2\nZ9\n\nQ16\n", wanted={"C2": 0.9, "D16": 0.5},
                               setup=ko_corner)
    assert lines == INTRO + [
        "White (goai) plays C2.",
        "Black (X) to play, move 2. Captures: Black 0, White 1.",
        "Black (X) move 2> B2",
        "Illegal move B2: ko (the stone just taken cannot be retaken at once; play elsewhere "
        "first).",
        "Black (X) move 2> A1",
        "Illegal move A1: suicide (the stone would have no liberty and capture nothing).",
        "Black (X) move 2> C2",
        "Illegal move C2: the point is occupied.",
        "Black (X) move 2> Z9",
        "'Z9' is neither a move (A1 to T19, no I) nor a command; type 'help'",
        "Black (X) move 2> ",
        "type a move such as D4, or 'help' for the commands",
        "Black (X) move 2> Q16",
        "White (goai) plays D16.",
        "Black (X) to play, move 4. Captures: Black 0, White 1.",
        "Black (X) move 4> ",
        "End of input: leaving the game.",
    ]
    assert game.result is None


def test_undo_takes_back_the_move_and_the_reply():
    lines, _, game = play_game("undo\nD4\nundo\nK10\n")
    assert lines[len(INTRO):] == [
        "Black (X) to play, move 1. Captures: Black 0, White 0.",
        "Black (X) move 1> undo",
        "Nothing to undo: you have not played a move yet.",
        "Black (X) move 1> D4",
        "White (goai) plays Q16.",
        "Black (X) to play, move 3. Captures: Black 0, White 0.",
        "Black (X) move 3> undo",
        "Took back 2 moves.",
        "Black (X) to play, move 1. Captures: Black 0, White 0.",
        "Black (X) move 1> K10",
        "White (goai) plays Q16.",
        "Black (X) to play, move 3. Captures: Black 0, White 0.",
        "Black (X) move 3> ",
        "End of input: leaving the game.",
    ]
    assert game.state.history == [(BLACK, move("K10", 19)), (WHITE, move("Q16", 19))]


def test_undo_after_two_passes_reopens_the_game():
    lines, _, game = play_game("pass\nundo\nD4\n")
    assert "game over> undo" in lines
    assert lines[lines.index("game over> undo") + 1:] == [
        "Took back 2 moves.",
        "Black (X) to play, move 1. Captures: Black 0, White 0.",
        "Black (X) move 1> D4",
        "White (goai) plays Q16.",
        "Black (X) to play, move 3. Captures: Black 0, White 0.",
        "Black (X) move 3> ",
        "End of input: leaving the game.",
    ]
    assert game.result is None


def test_resign_score_and_moves_after_the_end():
    lines, _, game = play_game("D4\nscore\nresign\nQ4\nscore\nquit\n")
    assert lines[lines.index("Black (X) move 3> score") + 1:] == [
        "Score: W+7.5 by area with komi 7.5, 0 stones estimated dead and removed; "
        "as the stones stand (Tromp-Taylor): W+7.5",
        "Black (X) move 3> resign",
        "You resign. Result: W+R.",
        "Type 'save FILE.sgf' to keep the game, 'undo' to take back your last move, or 'quit'.",
        "game over> Q4",
        "the game is over: save FILE.sgf, undo or quit",
        "game over> score",
        "Score: W+7.5 by area with komi 7.5, 0 stones estimated dead and removed; "
        "as the stones stand (Tromp-Taylor): W+7.5",
        "game over> quit",
        "Bye.",
    ]
    assert game.result == "W+R"


class BlunderPolicy(ScriptedPolicy):
    """``ScriptedPolicy`` with a value head: Black wins 80% until a black stone stands on
    C3, 20% after (said from the side to move's view)."""

    has_value_head = True

    def analyze(self, state, *, symmetries=None):
        value = blunder_value(state, move("C3", 19))
        return analysis(state, self.probabilities, value)


def test_the_end_of_the_game_shows_where_the_human_lost_most():
    out = io.StringIO()
    game = TerminalGame(Player(BlunderPolicy(WANTS)), PlayConfig(), out, echo=True)
    game.run(io.StringIO("D4\nC3\nE5\nresign\nquit\n"))
    lines = out.getvalue().splitlines()
    assert lines[lines.index("You resign. Result: W+R.") + 1:][:3] == [
        "Looking back over your 3 moves (the network's win rate at each of the game's "
        "positions)...",
        "Where you lost most:",
        "  1. move 3 B C3: Black's win rate -60%",
    ]


def test_goai_play_at_a_level_names_it_on_screen_and_in_the_sgf(tiny_model_path: Path,
                                                                tmp_path: Path, monkeypatch,
                                                                capsys):
    saved = tmp_path / "level.sgf"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"D4\nsave {saved}\nquit\n"))
    assert cli.main(["play", "--model", str(tiny_model_path), "--level", "1",
                     "--handicap", "2"]) == 0
    assert "goai (level 1) is White (O)" in capsys.readouterr().out
    root = sgf.Sgf_game.from_bytes(saved.read_bytes()).get_root()
    assert root.get("PW") == "goai (level 1)" and root.get("PB") == "human"


class OwnershipPolicy(ScriptedPolicy):
    """``ScriptedPolicy`` with an ownership head: the map gives the whole board to White
    (Black's D4 with it: dead), from the side to move's view as a network says it. With
    D4 taken off, the empty board is nobody's: White wins by komi."""

    has_ownership_head = True
    has_score_head = False

    def analyze(self, state, *, symmetries=None):
        from dataclasses import replace

        white = np.full(361, -0.9)
        return replace(super().analyze(state),
                       ownership=white if state.to_play == BLACK else -white)


def test_score_and_the_end_judge_dead_stones_from_the_ownership_map():
    out = io.StringIO()
    game = TerminalGame(Player(OwnershipPolicy({"pass": 0.9})), PlayConfig(), out, echo=True)
    game.run(io.StringIO("D4\nscore\npass\nquit\n"))
    lines = [line for line in out.getvalue().splitlines() if not BOARD_LINE.match(line)]
    assert ("Score: W+7.5 by area with komi 7.5, 1 stone dead by the ownership map and "
            "removed; as the stones stand (Tromp-Taylor): B+353.5") in lines
    assert ("Two passes: the game is over. Result: W+7.5 by area with komi 7.5, 1 stone dead "
            "by the ownership map and removed; as the stones stand (Tromp-Taylor): "
            "B+353.5.") in lines
    assert game.result == "W+7.5"


def test_help_and_a_save_that_fails(tmp_path: Path):
    lines, _, _ = play_game(f"help\nsave {tmp_path}/missing/game.sgf\nquit\n")
    assert "  save FILE     save the game as SGF" in lines
    assert f"could not save {tmp_path}/missing/game.sgf: No such file or directory" in lines
    assert lines[-1] == "Game left unfinished. Bye."


def test_handicap_stones_are_placed_and_white_moves_first(tmp_path: Path):
    saved = tmp_path / "handicap.sgf"
    lines, _, _ = play_game(f"save {saved}\n", PlayConfig(handicap=2, komi=0.5),
                               wanted={"Q16": 0.5, "C3": 0.4})
    assert lines[:5] == [
        "goai play: you are Black (X), goai is White (O); 19x19, komi 0.5, handicap 2.",
        "Type a move (D4), pass, resign, undo, hint, score, save FILE.sgf, help or quit.",
        "White (goai) plays C3.",  # Q16 holds a handicap stone
        "Black (X) to play, move 2. Captures: Black 0, White 0.",
        f"Black (X) move 2> save {saved}",
    ]
    root = sgf.Sgf_game.from_bytes(saved.read_bytes()).get_root()
    assert root.get("HA") == 2
    assert root.get("AB") == {(3, 3), (15, 15)}


def test_playing_white_without_handicap_the_engine_opens():
    lines, _, _ = play_game("", PlayConfig(human=WHITE))
    assert lines == [
        "goai play: you are White (O), goai is Black (X); 19x19, komi 7.5.",
        "Type a move (D4), pass, resign, undo, hint, score, save FILE.sgf, help or quit.",
        "Black (goai) plays Q16.",
        "White (O) to play, move 2. Captures: Black 0, White 0.",
        "White (O) move 2> ",
        "End of input: leaving the game.",
    ]


def test_colour_paints_stones_but_not_the_coordinates():
    _, text, _ = play_game("D4\n", color=True)
    rows = text.splitlines()
    header = next(line for line in rows if line.lstrip().startswith("A B C"))
    assert "\x1b" not in header  # the column letter O stays plain
    assert "\x1b[1;34mX\x1b[0m" in text and "\x1b[1;31mO\x1b[0m" in text


# ----------------------------------------------------------------- the command


def test_goai_play_piped_on_the_tiny_model(tiny_model_path: Path, tmp_path: Path, monkeypatch,
                                           capsys):
    saved = tmp_path / "piped.sgf"
    typed = f"D4\nD4\nhint\nundo\nD4\npass\nsave {saved}\nquit\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    assert cli.main(["play", "--model", str(tiny_model_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Illegal move D4: the point is occupied." in lines
    hint = lines.index("Black (X) move 3> hint")
    assert lines[hint + 1] == "The model's top 5 moves for Black:"
    for rank, line in enumerate(lines[hint + 2 : hint + 7], 1):
        assert re.fullmatch(rf"  {rank}\. (pass|[A-HJ-T]\d+) +\d+\.\d%", line), line
    assert "Took back 2 moves." in lines
    assert any(line.startswith("Two passes: the game is over. Result: W+7.5") for line in lines)
    moves = [node.get_move() for node in sgf.Sgf_game.from_bytes(
        saved.read_bytes()).get_main_sequence()[1:]]
    assert moves[0] == ("b", (3, 3)) and moves[2:] == [("b", None), ("w", None)]


def test_goai_play_passes_model_and_device_to_the_policy(monkeypatch, capsys):
    made = []

    class Recorded:
        def __init__(self, model, **options) -> None:
            made.append((model, options.get("device", "auto")))

    monkeypatch.setattr("goai.nn.policy.Policy", Recorded)
    monkeypatch.setattr(sys, "stdin", io.StringIO("quit\n"))
    assert cli.main(["play", "--model", "small", "--device", "cpu"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("quit\n"))
    assert cli.main(["play"]) == 0
    assert made == [("small", "cpu"), (None, "auto")]


def test_goai_play_refuses_other_sizes_at_once(tmp_path: Path):
    with pytest.raises(SystemExit) as error:
        cli.main(["play", "--size", "9", "--model", str(tmp_path / "never-loaded.pt")])
    assert str(error.value) == ("goai play: the model plays 19x19 only; board size 9 is not "
                                "supported")


def test_end_of_input_in_a_subprocess_is_clean(tiny_model_path: Path):
    result = subprocess.run([sys.executable, "-m", "goai", "play", "--model",
                             str(tiny_model_path)], input="D4\n", capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "Black (X) move 1> D4\nWhite (goai) plays " in result.stdout
    assert "\x1b" not in result.stdout  # not a terminal: no colour
    assert result.stdout.endswith("Black (X) move 3> \nEnd of input: leaving the game.\n")


def test_goai_play_searches_and_says_how_it_sees_the_game(tiny_model_path: Path, monkeypatch,
                                                          capsys):
    def replies(*options: str) -> list[str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO("D4\nQ16\nquit\n"))
        assert cli.main(["play", "--model", str(tiny_model_path), *options]) == 0
        return [line for line in capsys.readouterr().out.splitlines() if " plays " in line]

    searched = replies("--visits", "8", "--seed", "1")
    assert len(searched) == 2
    # The tiny model has a score head: its lead comes next to the win rate.
    lead = r"(?:(?:ahead|behind) by \d+\.\d points|even)"
    assert all(re.fullmatch(rf"White \(goai\) plays [A-HJ-T]\d+ \(win \d+%, {lead}, "
                            r"\d+ visits\)\.", line) for line in searched), searched
    assert replies("--visits", "8", "--seed", "1") == searched
    # The bundled small model has none (an old checkpoint): the win rate alone.
    old = replies("--visits", "8", "--model", "small")
    assert all(re.fullmatch(r"White \(goai\) plays [A-HJ-T]\d+ \(win \d+%, \d+ visits\)\.",
                            line) for line in old), old
    # A value model: priors from small, values and scores from the tiny model.
    split = replies("--visits", "8", "--model", "small", "--value-model", str(tiny_model_path))
    assert all(re.fullmatch(rf"White \(goai\) plays [A-HJ-T]\d+ \(win \d+%, {lead}, "
                            r"\d+ visits\)\.", line) for line in split), split
    raw = replies("--visits", "1")
    assert all(re.fullmatch(r"White \(goai\) plays [A-HJ-T]\d+\.", line) for line in raw), raw


@pytest.mark.parametrize("options, message", [
    (["--visits", "0"], "goai play: visits must be >= 1, not 0"),
    (["--time", "-1"], "goai play: time must be > 0 seconds, not -1.0"),
])
def test_goai_play_refuses_bad_search_limits(options, message):
    with pytest.raises(SystemExit) as error:
        cli.main(["play", *options])
    assert str(error.value) == message
