"""The GTP engine, by transcript: commands in, exact responses out.

Transcripts live in ``tests/gtp/*.txt`` (one engine per file, like KataGo's
``cpp/tests/gtp``) and read like a GTP console session:

* a line ``> TEXT`` sends ``TEXT`` (``{data}`` becomes the tests/data folder);
* a line starting with ``#`` is a note for the reader, but ``#! key = value`` (TOML, as in
  a ``--config`` file) sets an engine option for that file's engine;
* every other line is expected output, blank lines included.

Expected lines may hold ``<vertex>`` (a vertex or pass), ``<pv>`` (vertices
separated by single spaces), ``<n>`` (a number),
``<color>`` (black/white), ``<...>`` (the rest of a line) and ``<lines>``
(any number of non-empty lines), for what the untrained test network decides.
Trailing spaces are ignored there; ``test_framing_bytes`` checks the exact
bytes (``=id body\\n\\n`` with the space GNU Go writes before an empty body).

Streams that need a real process (start-up, interrupting analysis, hostile
input) run ``goai gtp`` as GUIs do.
"""

from __future__ import annotations

import difflib
import io
import os
import random
import re
import resource
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeTime, analysis

from goai import cli
from goai.engine import engine as gtp_engine
from goai.engine.config import GtpConfig, load_config_file
from goai.engine.engine import GtpEngine
from goai.gtp.protocol import MAX_LINE_BYTES, LineQueue, read_into
from goai.play.player import DEFAULT_VISITS, PlayerConfig
from goai.rules.coords import PASS, move_from_gtp, move_to_gtp
from goai.rules.game import GameState, format_result

TESTS = Path(__file__).resolve().parent
TRANSCRIPTS = sorted((TESTS / "gtp").glob("*.txt"))
GTP_COMMAND = [sys.executable, "-m", "goai", "gtp"]
_VERTEX = r"(?:[A-HJ-T](?:1[0-9]|[1-9])|pass)"
_PLACEHOLDERS = {
    "<vertex>": _VERTEX,
    "<pv>": rf"{_VERTEX}(?: {_VERTEX})*",
    "<n>": r"-?\d+(?:\.\d+)?",
    "<color>": r"(?:black|white)",
    "<...>": r"[^\n]*",
    "<lines>": r"(?:[^\n]+\n)*",
}


def run_engine(engine: GtpEngine, data: bytes) -> bytes:
    """Feed ``data`` to ``engine`` as its whole input; return everything it wrote."""
    lines = LineQueue(max_lines=None)  # fed whole, before serving: no reader thread to block
    lines.feed(data)
    lines.close()
    out = io.BytesIO()
    engine.serve(lines, out)
    return out.getvalue()


def transcript_options(path: Path) -> dict[str, object]:
    """The engine options a transcript sets with ``#!`` lines (TOML keys and values)."""
    import tomllib

    lines = [line[2:] for line in path.read_text(encoding="utf-8").splitlines()
             if line.startswith("#!")]
    return tomllib.loads("\n".join(lines))


def read_transcript(path: Path) -> tuple[str, str]:
    """(input to send, expected output) of a transcript file."""
    sent, expected = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(">"):
            sent.append(line[2:].replace("{data}", str(TESTS / "data")))
        elif not line.startswith("#"):
            expected.append(line)
    return "\n".join(sent) + "\n", "\n".join(expected) + "\n"


def expected_pattern(expected: str) -> re.Pattern[str]:
    parts = re.split("(" + "|".join(re.escape(p) for p in _PLACEHOLDERS) + ")", expected)
    return re.compile("".join(_PLACEHOLDERS.get(part, re.escape(part)) for part in parts))


def _strip_line_ends(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n"))


@pytest.fixture
def engine(tiny_model_path: Path) -> GtpEngine:
    return GtpEngine(GtpConfig(model=str(tiny_model_path)))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_transcript(path: Path, engine: GtpEngine, tiny_model_path: Path):
    sent, expected = read_transcript(path)
    if options := transcript_options(path):
        engine = GtpEngine(GtpConfig.from_options({"model": str(tiny_model_path), **options}))
    actual = _strip_line_ends(run_engine(engine, sent.encode()).decode())
    # Compare response by response (a blank line ends each) for a readable failure.
    expected_responses = _strip_line_ends(expected).split("\n\n")
    actual_responses = actual.split("\n\n")
    for number, (want, got) in enumerate(zip(expected_responses, actual_responses, strict=False)):
        if not expected_pattern(want).fullmatch(got):
            diff = difflib.unified_diff(_short(want), _short(got), "expected", "actual",
                                        lineterm="")
            pytest.fail(f"{path.name}, response {number + 1}:\n" + "\n".join(diff))
    assert len(actual_responses) == len(expected_responses), f"{path.name}: response count"


def _short(text: str) -> list[str]:
    return [line if len(line) < 160 else line[:150] + " [...]" for line in text.split("\n")]


@pytest.mark.parametrize("sent, answer", [
    (b"1 name\n", b"=1 goai\n\n"),
    (b"name\n", b"= goai\n\n"),
    (b"2 clear_board\n", b"=2 \n\n"),
    (b"  \t 3 name\r\n", b"=3 goai\n\n"),
    (b"4\tknown_command\tplay\n", b"=4 true\n\n"),
    (b"5 na\x01me\x7f\n", b"=5 goai\n\n"),  # control characters are removed (GTP 2.2)
    (b"6 name # comment\n", b"=6 goai\n\n"),
    (b"\n   \n# only a comment\n\x00\n", b""),
    (b"\xff\xfe name\n", b"? unknown command\n\n"),  # invalid UTF-8 is a word like any other
    (b"7 \xc3\xa9 name\n", b"?7 unknown command\n\n"),
    (b"0008 name\n", b"=8 goai\n\n"),
    (b"9 play b D4\n10 play w d4\n", b"=9 \n\n?10 illegal move\n\n"),
    (b"11 play b " + b"A1 " * 40000 + b"\n12 name", b"?11 line too long\n\n=12 goai\n\n"),
    (b"13 komi 1e400\n14 boardsize 99999999999999999999\n",
     b"?13 syntax error\n\n?14 syntax error\n\n"),
    (b"15 name", b"=15 goai\n\n"),  # a last line without LF still counts
], ids=lambda value: repr(value)[:40])
def test_framing_bytes(sent: bytes, answer: bytes):
    assert run_engine(GtpEngine(), sent) == answer


def test_an_overlong_line_keeps_its_id_and_nothing_leaks_into_the_next():
    line = b"3 " + b"x" * (2 * MAX_LINE_BYTES) + b" name\n4 name\n"
    assert run_engine(GtpEngine(), line) == b"?3 line too long\n\n=4 goai\n\n"


def test_no_response_contains_a_blank_line_before_its_end(engine: GtpEngine):
    """Sabaki ends a response at the first empty line, so bodies must never hold one."""
    sent = b"showboard\nlist_commands\ngenmove b\nprintsgf\ngoai-policy_heatmap\nquit\n"
    responses = run_engine(engine, sent).decode().split("\n\n")
    assert responses[-1] == ""
    assert all(part.startswith(("=", "?")) for part in responses[:-1])
    assert len(responses) - 1 == 6


def test_a_stream_s_header_goes_out_before_its_first_line_is_computed(engine: GtpEngine,
                                                                    monkeypatch):
    """Sabaki and Lizzie wait for lz-analyze's "=" before they count it accepted; the search's
    first info line takes about a second on a CPU, so the "=" must not wait for it."""
    out = io.BytesIO()
    written_when_asked: list[bytes] = []
    real = gtp_engine.analysis_lines

    def watched(*args):
        written_when_asked.append(out.getvalue())  # runs when the first line is asked for
        yield from real(*args)

    monkeypatch.setattr(gtp_engine, "analysis_lines", watched)
    lines = LineQueue(max_lines=None)
    lines.feed(b"1 lz-analyze 10\n2 name\n")
    lines.close()
    engine.serve(lines, out)
    assert written_when_asked == [b"=1\n"]
    assert out.getvalue().startswith(b"=1\ninfo move ") and out.getvalue().endswith(b"=2 goai\n\n")


def test_an_analysis_that_cannot_load_its_model_is_an_error_answer(tmp_path: Path):
    engine = GtpEngine(GtpConfig(model=str(tmp_path / "missing.pt")))
    out = run_engine(engine, b"1 lz-analyze 10\n2 kata-genmove_analyze b\n").decode()
    assert out.startswith("?1 cannot load model") and "\n\n?2 cannot load model" in out


def test_undo_restores_the_position_genmove_changed(engine: GtpEngine):
    out = run_engine(engine, b"play b Q16\n1 genmove w\nundo\nshowboard\n").decode()
    rows = out.split("\n\n")[3].splitlines()[2:-2]  # the board without the column letters
    assert "".join(rows).count("X") == 1 and "".join(rows).count("O") == 0


def test_printsgf_to_a_file_and_loadsgf_give_back_the_game(engine: GtpEngine, tmp_path: Path):
    record = tmp_path / "game.sgf"
    sent = (f"komi 6.5\nset_free_handicap D4 Q16\nplay w Q4\nplay b C3\nplay w pass\n"
            f"showboard\n1 printsgf {record}\nclear_board\n2 loadsgf {record}\nshowboard\n")
    responses = run_engine(engine, sent.encode()).decode().split("\n\n")
    assert responses[6] == "=1 " and responses[8] == "=2 black"
    assert responses[9] == responses[5]  # the same board, komi and side to move
    assert "komi 6.5" in responses[9]


def test_asking_for_the_other_colour_leaves_the_side_to_move(engine: GtpEngine):
    sent = b"1 reg_genmove w\n2 lz-analyze w\n3 goai-policy_heatmap w\n4 showboard\n"
    responses = run_engine(engine, sent).decode().split("\n\n")
    assert "\nTEXT White: pass " in responses[2]
    assert "Black to play" in responses[3]


def test_reg_genmove_does_not_play(engine: GtpEngine):
    out = run_engine(engine, b"play b D4\n1 reg_genmove w\n2 printsgf\n").decode()
    assert out.split("\n\n")[2].endswith(";B[dp])")


class ScriptedPolicy:
    """A policy that always wants ``vertex`` most, so genmove's answer is known."""

    has_value_head = False

    def __init__(self, vertex_index: int) -> None:
        self.index = vertex_index

    def move_probabilities(self, state):
        return self.analyze(state).probabilities

    def analyze(self, state, *, symmetries=None):
        probabilities = np.full(362, 0.4 / 361)
        probabilities[self.index] = 0.6
        return analysis(state, probabilities, None)


def test_genmove_plays_the_policy_move_and_never_an_illegal_one():
    d4 = 15 * 19 + 3
    engine = GtpEngine(policy_factory=lambda: ScriptedPolicy(d4))
    out = run_engine(engine, b"1 lz-analyze 10\n2 genmove b\n3 genmove w\n4 lz-analyze 10\n"
                             b"5 name\n").decode()
    before, first, second, after = out.split("\n\n")[:4]
    assert before.startswith("=1\ninfo move D4 visits 600 winrate 5000 prior 6000 ")
    assert first == "=2 D4"
    assert second.startswith("=3 ") and second != "=3 D4"  # D4 is occupied now
    assert after.startswith("=4\ninfo move ") and " D4 " not in after


def test_a_missing_model_is_an_error_answer_not_a_crash(tmp_path: Path):
    engine = GtpEngine(GtpConfig(model=str(tmp_path / "missing.pt")))
    out = run_engine(engine, b"1 genmove b\n2 name\n3 lz-analyze\n").decode()
    assert out.startswith("?1 cannot load model: ")
    assert "\n\n=2 goai\n\n?3 cannot load model" in out


class _RecordingOutput(io.BytesIO):
    """An engine's stdout that notes each write in ``events``."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    def write(self, data) -> int:
        self.events.append("answer")
        return super().write(data)


def _stdin_with(data: bytes):
    """A real pipe holding ``data`` then its end, as ``run_gtp`` reads stdin by descriptor."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    return os.fdopen(read_fd, "rb")


def test_goai_gtp_loads_the_model_before_its_first_answer(monkeypatch):
    # Before, the first genmove of `goai gtp --time 0.5` took 3 s: it paid for torch and
    # the model out of its budget. Leela Zero and KataGo load before answering anything.
    events: list[str] = []

    def load(self):
        events.append("load")
        return ScriptedPolicy(15 * 19 + 3)

    monkeypatch.setattr(GtpEngine, "_load_policy", load)
    out = _RecordingOutput(events)
    with _stdin_with(b"1 name\n2 genmove b\n") as stdin:
        gtp_engine.run_gtp(GtpConfig.from_options({"time": 0.5}), stdin, out)
    assert out.getvalue() == b"=1 goai\n\n=2 D4\n\n"
    assert events[0] == "load" and events.count("load") == 1


def test_a_model_that_cannot_load_at_start_up_is_one_line_and_the_engine_goes_on(
        tmp_path: Path, capsys):
    missing = str(tmp_path / "missing.pt")
    out = io.BytesIO()
    with _stdin_with(b"1 name\n2 genmove b\n") as stdin:
        gtp_engine.run_gtp(GtpConfig(model=missing), stdin, out)
    assert out.getvalue().startswith(b"=1 goai\n\n?2 cannot load model: ")
    error = capsys.readouterr().err
    assert error.startswith("goai gtp: cannot load model: ") and error.count("\n") == 1


def test_a_bug_in_a_handler_costs_one_answer(monkeypatch):
    def broken(self, args):
        raise RuntimeError("boom\nwith a second line")

    monkeypatch.setitem(GtpEngine.handlers, "showboard", broken)
    out = run_engine(GtpEngine(), b"1 showboard\n2 name\n")
    assert out == b"?1 internal error: RuntimeError: boom with a second line\n\n=2 goai\n\n"


def test_time_budget_drops_to_one_symmetry_when_eight_would_not_fit(monkeypatch):
    calls = []
    clock = FakeTime()  # the engine's clock: only the policy moves it
    monkeypatch.setattr(gtp_engine, "time", clock)

    class Counting(ScriptedPolicy):
        def analyze(self, state, *, symmetries=None):
            calls.append(symmetries)
            clock.advance(0.05 * symmetries)
            return super().analyze(state)

    engine = GtpEngine(GtpConfig(symmetries=8, lag_buffer=0.0), policy_factory=lambda: Counting(0))
    run_engine(engine, b"genmove b\ntime_settings 0 1 5\ngenmove w\ngenmove b\n")
    # 8 x 50 ms does not fit 1 s / 5 stones = 200 ms; 1 x 50 ms does. Each move
    # asks for its own number: nothing is switched on the policy and left behind.
    assert calls == [8, 1, 1]


def test_config_file_and_options(tmp_path: Path):
    config_file = tmp_path / "goai.toml"
    config_file.write_text('model = "nets/best.pt"\nsymmetries = 8\nresign-threshold = 0.1\n'
                           "temperature = 1\n")
    options = load_config_file(config_file)
    config = GtpConfig.from_options(options)
    assert config.model == str(tmp_path / "nets" / "best.pt")
    assert config.symmetries == 8 and config.player.resign_threshold == 0.1
    assert config.player.temperature == 1.0
    for bad in ({"symmetries": 3}, {"colour": "black"}, {"threads": "two"}, {"verbose": 1}):
        with pytest.raises(ValueError):
            GtpConfig.from_options(bad)
    config_file.write_text("model = [")
    with pytest.raises(ValueError, match="cannot read config file"):
        load_config_file(config_file)
    # The value model is a path from the file's folder too, or a bundled name.
    config_file.write_text('value-model = "nets/value.pt"\n')
    config = GtpConfig.from_options(load_config_file(config_file))
    assert config.value_model == str(tmp_path / "nets" / "value.pt") and config.model is None
    config_file.write_text('value_model = "small"\n')
    assert GtpConfig.from_options(load_config_file(config_file)).value_model == "small"


def test_goai_gtp_takes_the_value_model_from_the_command_line(monkeypatch):
    configs = []
    monkeypatch.setattr("goai.engine.engine.run_gtp", lambda config, *_: configs.append(config))
    monkeypatch.setattr("os._exit", lambda code: None)  # cmd_gtp leaves without teardown
    monkeypatch.setattr("logging.shutdown", lambda: None)  # and closes every log handler
    cli.main(["gtp", "--model", "small", "--value-model", "nets/v.pt"])
    assert configs[0].value_model == "nets/v.pt" and configs[0].model == "small"


class RecordedPolicy:
    """Stands in for ``goai.nn.policy.Policy``: remembers how it was made."""

    made: list[tuple[object, dict]] = []

    def __init__(self, model, **options) -> None:
        RecordedPolicy.made.append((model, options))


def test_model_and_device_reach_the_policy_as_given(monkeypatch, tmp_path: Path):
    monkeypatch.setattr("goai.nn.policy.Policy", RecordedPolicy)
    RecordedPolicy.made.clear()
    config_file = tmp_path / "goai.toml"
    config_file.write_text('model = "small"\ndevice = "cuda:1"\n')
    options = load_config_file(config_file)
    assert options == {"model": "small", "device": "cuda:1"}  # a name, not a path to resolve
    configs = [GtpConfig.from_options(options), GtpConfig(model="nets/best.pt", device="cpu"),
               GtpConfig()]
    for config in configs:
        GtpEngine(config)._load_policy()
    for config, (model, options) in zip(configs, RecordedPolicy.made, strict=True):
        assert model == config.model and options.get("device", "auto") == config.device
    with pytest.raises(ValueError, match="device must be"):
        GtpConfig.from_options({"device": "tpu"})
    with pytest.raises(SystemExit, match="goai gtp: device must be auto, cpu"):
        cli.main(["gtp", "--device", "tpu"])
    with pytest.raises(SystemExit, match="^goai gtp: visits must be >= 1, not 0$"):
        cli.main(["gtp", "--visits", "0"])
    with pytest.raises(SystemExit, match="^goai gtp: time must be > 0 seconds, not -2.0$"):
        cli.main(["gtp", "--time", "-2"])


# ----------------------------------------------------------------- hostile input (issue 13)


def run_engine_slowly(engine: GtpEngine, commands: list[bytes]) -> bytes:
    """Serve ``commands`` arriving one by one, each a moment after the previous.

    Streaming analysis waits for the next line; fed at once (``run_engine``) it
    would find it already there and never wait.
    """
    lines = LineQueue()

    def controller() -> None:
        for command in commands:
            lines.feed(command + b"\n")
            time.sleep(0.05)
        lines.close()

    thread = threading.Thread(target=controller, daemon=True)
    thread.start()
    out = io.BytesIO()
    engine.serve(lines, out)
    thread.join()
    return out.getvalue()


HOSTILE_ANALYSIS_ARGS = [
    "99999999999999", "1e30", "interval 9999999999", "b 99999999999999 minmoves 400",
    "-5", "0", "1e-300", "w interval 0 maxmoves 0", "interval 99999999999", "nan",
    "b 10 avoid b A1:T19 1 allow b pass 1", "avoid w A1:pass 1", "10 ownership maybe",
    "maxmoves -1", "b " + "9" * 40, "interval", "avoid b",
]


@pytest.mark.parametrize("command", ["lz-analyze", "kata-analyze", "lz-genmove_analyze"])
def test_every_analysis_request_gets_exactly_one_response(command: str):
    # lz-analyze 99999999999999 used to answer twice: the info lines, then
    # "? internal error: OverflowError" when the repeat interval overflowed the wait.
    d4 = 15 * 19 + 3
    engine = GtpEngine(policy_factory=lambda: ScriptedPolicy(d4))
    sent = [f"{number} {command} {args}".encode()
            for number, args in enumerate(HOSTILE_ANALYSIS_ARGS, 1)]
    out = run_engine_slowly(engine, [*sent, b"999 name"]).decode()
    ids = [int(m.group(1)) for m in re.finditer(r"^[=?](\d+)", out, re.M)]
    assert ids == [*range(1, len(HOSTILE_ANALYSIS_ARGS) + 1), 999]
    assert "internal error" not in out and out.endswith("=999 goai\n\n")


def test_a_stream_that_fails_midway_still_ends_as_one_response(monkeypatch):
    def failing(self, args):
        yield "info move D4 visits 1"
        raise RuntimeError("lost the network")

    monkeypatch.setitem(GtpEngine.handlers, "lz-analyze", failing)
    out = run_engine(GtpEngine(), b"1 lz-analyze 10\n2 name\n")
    assert out == b"=1\ninfo move D4 visits 1\n\n=2 goai\n\n"


def _one_gib_of_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_loadsgf_refuses_devices_and_fifos_at_once(tmp_path: Path):
    # /dev/zero used to grow the engine to its memory cap (its size is 0, so the
    # size check passed), and a FIFO without a writer blocked it for ever. No
    # model is loaded for these commands, so 1 GiB of address space is plenty.
    fifo = tmp_path / "game.sgf"
    os.mkfifo(fifo)
    sent = f"1 loadsgf /dev/zero\n2 loadsgf {fifo}\n3 loadsgf {tmp_path}\n4 name\n"
    result = subprocess.run(GTP_COMMAND, input=sent.encode(), capture_output=True, timeout=60,
                            preexec_fn=_one_gib_of_memory)
    assert result.stdout == (b"?1 cannot load file: not a regular file\n\n"
                             b"?2 cannot load file: not a regular file\n\n"
                             b"?3 cannot load file: not a regular file\n\n=4 goai\n\n")


def test_loadsgf_reads_no_more_than_the_cap(engine: GtpEngine, tmp_path: Path, monkeypatch):
    game = b"(;GM[1]FF[4]SZ[19];B[pd];W[dp])"
    monkeypatch.setattr(gtp_engine, "MAX_SGF_BYTES", len(game))
    exact, over = tmp_path / "exact.sgf", tmp_path / "over.sgf"
    exact.write_bytes(game)
    over.write_bytes(game + b"\n")
    out = run_engine(engine, f"1 loadsgf {exact}\n2 loadsgf {over}\n".encode())
    assert out == f"=1 black\n\n?2 cannot load file: larger than {len(game)} bytes\n\n".encode()


def test_a_fast_writer_is_held_back_by_the_pipe_not_queued():
    # yes name | goai gtp used to grow without bound: the reader queued all of stdin.
    read_fd, write_fd = os.pipe()
    lines = LineQueue(max_lines=8)
    threading.Thread(target=read_into, args=(read_fd, lines), daemon=True).start()
    total, batch = 200_000, 1000  # 1 MB of "name\n", far more than a pipe holds
    written = []

    def writer() -> None:
        with os.fdopen(write_fd, "wb") as pipe:
            for _ in range(total // batch):
                pipe.write(b"name\n" * batch)
                written.append(batch)

    threading.Thread(target=writer, daemon=True).start()
    # The queue full and the pipe full: the reader stops reading, so the writer can only
    # wait. Conditions, not a sleep: a busy machine only takes longer to reach them.
    deadline = time.monotonic() + 60
    while len(lines) < lines.max_lines or select.select([], [write_fd], [], 0)[1]:
        assert time.monotonic() < deadline, "the queue or the pipe never filled"
        time.sleep(0.01)
    assert len(lines) == lines.max_lines and sum(written) < total  # the writer waits
    received = 0
    while (item := lines.get()) is not None:
        assert item == (b"name", False) and len(lines) <= lines.max_lines
        received += 1
    assert received == total


# ----------------------------------------------------------------- real processes


def _send(process: subprocess.Popen, line: str) -> None:
    process.stdin.write(line.encode() + b"\n")
    process.stdin.flush()


def _read_response(process: subprocess.Popen) -> str:
    """The lines up to the next blank line."""
    answer = []
    while (text := process.stdout.readline().decode()) != "\n":
        assert text, "engine closed stdout"
        answer.append(text)
    return "".join(answer)


def test_the_engine_module_imports_neither_torch_nor_gymnasium():
    # Both would delay the answer to a GUI's first command (name).
    code = ("import sys, goai.cli.parser, goai.engine.engine, goai.gtp.client\n"
            "print('torch' in sys.modules, 'gymnasium' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False False"


def test_start_up_loads_the_model_and_analysis_stops_on_input(tiny_model_path: Path):
    started = time.perf_counter()
    process = subprocess.Popen([*GTP_COMMAND, "--model", str(tiny_model_path)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        _send(process, "1 name")
        assert _read_response(process) == "=1 goai\n"
        name_seconds = time.perf_counter() - started
        _send(process, "2 lz-analyze 10")
        assert process.stdout.readline() == b"=2\n"
        for _ in range(2):  # the line repeats every interval until input arrives
            assert process.stdout.readline().startswith(b"info move ")
        # Sabaki interrupts with protocol_version: the stream ends with its blank line
        # (after any lines written before the engine saw the input), then the answer.
        _send(process, "3 protocol_version")
        rest = _read_response(process).splitlines()
        assert all(line.startswith("info move ") for line in rest)
        assert _read_response(process) == "=3 2\n"
        _send(process, "4 quit")
        assert _read_response(process) == "=4 \n"
        assert process.wait(60) == 0
        assert process.stderr.read() == b""  # quiet by default
    finally:
        process.kill()
    print(f"name answered {name_seconds:.2f} s after start (the model loaded first)")


def test_quit_after_genmove_leaves_complete_output_and_log(tiny_model_path: Path,
                                                            tmp_path: Path):
    # goai gtp skips the interpreter's teardown after quit (os._exit): nothing
    # written before it may be lost, on stdout or in the log file.
    log = tmp_path / "gtp.log"
    result = subprocess.run([*GTP_COMMAND, "--model", str(tiny_model_path), "--log", str(log)],
                            input=b"1 genmove b\n2 showboard\n3 quit\n", capture_output=True,
                            timeout=120)
    assert result.returncode == 0
    assert re.fullmatch(rb"=1 [A-T]\d+\n\n=2 \n(.+\n)+\n=3 \n\n", result.stdout)
    text = log.read_text()
    assert "genmove answered" in text and re.search(r"quit answered in [\d.]+ s\n$", text)


def test_hostile_input_leaves_the_engine_alive(tiny_model_path: Path, tmp_path: Path):
    """Thousands of lines of junk, each behind an id: every one gets its answer, in order."""
    rng = random.Random(4)
    words = ["play", "genmove", "boardsize", "komi", "undo", "fixed_handicap", "loadsgf",
             "time_left", "lz-analyze", "kata-analyze", "final_status_list", "known_command",
             "set_free_handicap", "kgs-time_settings", "showboard", "reg_genmove", "name"]
    junk_args = ["b", "W", "D4", "pass", "Z99", "-1", "1e9", "nan", "\u00e9", "19", "0",
                 "A1:T19", "interval", "avoid", "\x00", "\t", "#", "9" * 30]
    lines = []
    for index in range(3000):
        kind = rng.random()
        if kind < 0.3:
            payload = bytes(rng.choice(range(256)) for _ in range(rng.randint(0, 60)))
            payload = payload.replace(b"\n", b" ")
        elif kind < 0.35:
            payload = b"\xc3\x28\xa0\xa1\xf0\x28\x8c\x28 play b"  # invalid UTF-8
        else:
            args = " ".join(rng.choice(junk_args) for _ in range(rng.randint(0, 5)))
            payload = f"{rng.choice(words)} {args}".encode()
        lines.append(f"{index} ".encode() + payload)
    lines.insert(1500, b"1500000 play b " + b"Q16" * 350_000)  # a 1 MB line
    data = b"\n".join(lines) + b"\n999999 name\n1000000 quit\n"
    result = subprocess.run([*GTP_COMMAND, "--model", str(tiny_model_path)], input=data,
                            capture_output=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0
    ids = [int(m.group(1)) for m in re.finditer(rb"^[=?](\d+)(?: |$)", result.stdout, re.M)]
    assert ids == [*range(1500), 1500000, *range(1500, 3000), 999999, 1000000]
    assert b"=999999 goai\n\n=1000000 \n\n" in result.stdout
    assert b"?1500000 line too long" in result.stdout
    assert b"internal error" not in result.stdout


# ----------------------------------------------------------------- analysis by search

_INFO_FIELDS = ("move", "visits", "winrate", "prior", "lcb", "order", "pv")


def parse_info(line: str) -> list[dict[str, str]]:
    """The candidates of an ``info`` line, each field by name (``pv`` the whole variation),
    checking that the fields come in Leela Zero's order (KataGo's ``scoreLead`` may
    follow ``winrate``). A trailing ``ownership`` field is ``parse_ownership``'s."""
    assert line.startswith("info ")
    candidates = []
    line = line.split(" ownership ")[0]
    for part in line[len("info "):].split(" info "):
        words = part.split()
        end = words.index("pv")
        names = words[0:end:2]
        assert tuple(name for name in names if name != "scoreLead") == _INFO_FIELDS[:6], part
        if "scoreLead" in names:
            assert names.index("scoreLead") == names.index("winrate") + 1, part
        entry = dict(zip(names, words[1:end:2], strict=True))
        entry["pv"] = " ".join(words[end + 1:])
        candidates.append(entry)
    return candidates


@pytest.mark.parametrize("command, scale", [("lz-analyze", 10000), ("kata-analyze", 1)])
def test_analysis_reports_the_search_tree(tiny_model_path: Path, command: str, scale: int):
    """Every candidate with visits, best first, numbered by order; the visits add up to
    the root's; win rates and priors on the dialect's scale; every variation legal."""
    from goai.rules.coords import move_from_gtp

    engine = GtpEngine(GtpConfig(model=str(tiny_model_path), seed=1))
    out = run_engine(engine, f"play b D4\n1 {command} w 10\n2 name\n".encode()).decode()
    responses = out.split("\n\n")
    assert responses[1].startswith("=1\ninfo move ") and responses[2] == "=2 goai"
    lines = responses[1].split("\n")[1:]
    candidates = parse_info(lines[-1])
    # The tiny model has a score head: kata-analyze gives each visited move's scoreLead.
    assert all(("scoreLead" in c) == (scale == 1) for c in candidates)
    search = engine._player.search
    assert sum(int(c["visits"]) for c in candidates) == search.root_visits - 1
    assert [int(c["order"]) for c in candidates] == list(range(len(candidates)))
    visits = [int(c["visits"]) for c in candidates]
    assert visits == sorted(visits, reverse=True) and visits[-1] > 0
    for candidate in candidates:
        for name in ("winrate", "prior", "lcb"):
            number = float(candidate[name])
            assert 0 <= number <= scale
            assert number == int(number) if scale > 1 else "." in candidate[name]
        assert float(candidate["lcb"]) <= float(candidate["winrate"])
        state = engine.state.copy()
        state.to_play = 2  # White, as asked
        pv = candidate["pv"].split()
        assert pv[0] == candidate["move"]
        for vertex in pv:
            state.play(move_from_gtp(vertex, 19))  # raises for an illegal move


def test_genmove_with_a_seed_repeats_and_visits_one_plays_the_raw_policy(tiny_model_path: Path):
    sent = b"genmove b\ngenmove w\ngenmove b\nlz-genmove_analyze w\n"

    def moves(**options) -> bytes:
        return run_engine(GtpEngine(GtpConfig(model=str(tiny_model_path), **options)), sent)

    searched = moves(seed=3)
    assert searched == moves(seed=3)
    raw = moves(player=PlayerConfig(visits=1))
    # The raw policy's moves: what the player picks from one forward pass.
    from goai.nn.policy import Policy
    from goai.play.player import select_move
    from goai.rules.game import GameState

    policy, state, expected = Policy(tiny_model_path), GameState(19), []
    for _ in range(4):
        result = policy.analyze(state)
        move = select_move(result.probabilities, state, legal=result.legal)
        expected.append(move)
        state.play(move)
    from goai.rules.coords import move_to_gtp

    words = re.findall(rb"(?:^= |^play )(\S+)", raw, re.M)
    assert [w.decode() for w in words] == [move_to_gtp(m, 19) for m in expected]


def test_search_options_from_the_command_line_and_config_file(tmp_path: Path):
    assert GtpConfig.from_options({}).player.visits == DEFAULT_VISITS
    config = GtpConfig.from_options({"time": 2.5})
    assert (config.player.visits, config.player.time) == (None, 2.5)
    config_file = tmp_path / "goai.toml"
    config_file.write_text("playouts = 200\nvisits = 800\n")
    config = GtpConfig.from_options(load_config_file(config_file))
    assert (config.player.visits, config.player.playouts) == (800, 200)
    with pytest.raises(ValueError):
        GtpConfig.from_options({"visits": 0})
    with pytest.raises(ValueError):
        GtpConfig.from_options({"time": "soon"})


def test_analysis_lines_grow_while_the_engine_searches(tiny_model_path: Path):
    process = subprocess.Popen([*GTP_COMMAND, "--model", str(tiny_model_path), "--seed", "0"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        _send(process, "1 lz-analyze 20")
        assert process.stdout.readline() == b"=1\n"
        totals = []
        for _ in range(3):
            line = process.stdout.readline().decode().strip()
            totals.append(sum(int(c["visits"]) for c in parse_info(line)))
        _send(process, "2 name")
        rest = _read_response(process).splitlines()
        assert all(line.startswith("info move ") for line in rest)
        assert _read_response(process) == "=2 goai\n"
        assert totals == sorted(totals) and totals[-1] > totals[0]
        _send(process, "3 quit")
        assert _read_response(process) == "=3 \n"
        assert process.wait(60) == 0
    finally:
        process.kill()


# ----------------------------------------------------------------- ownership and score


def _black_map() -> np.ndarray:
    """Black's view: Black owns A19 (the top-left corner) for sure, White T1 half-sure."""
    black = np.zeros(361)
    black[0] = 1.0  # A19: coords point 0, row 0 = the top
    black[360] = -0.5  # T1: the bottom-right corner
    return black


class OwnershipPolicy:
    """A fake network with value, ownership and score heads and no search (``can_search``
    is off without a real ``Policy``: has_value_head False), whose map is ``black_map``
    turned to the side to move's view, as a network gives it."""

    has_value_head = False
    has_ownership_head = True
    has_score_head = True

    def __init__(self, black_map: np.ndarray, black_score: float = 3.5) -> None:
        self.black_map = black_map
        self.black_score = black_score

    def move_probabilities(self, state):
        return self.analyze(state).probabilities

    def analyze(self, state, *, symmetries=None):
        from dataclasses import replace

        from goai.rules.board import BLACK

        probabilities = np.zeros(362)
        probabilities[15 * 19 + 3] = 1.0  # D4
        sign = 1 if state.to_play == BLACK else -1
        return replace(analysis(state, probabilities, 0.2), ownership=sign * self.black_map,
                       score=sign * self.black_score)


def test_kata_analyze_ownership_gives_361_values_from_a19_for_the_side_to_move():
    """KataGo's order (row-major from A19, the top-left) and view (the current player's)."""
    engine = GtpEngine(policy_factory=lambda: OwnershipPolicy(_black_map()))
    sent = (b"1 kata-analyze b 10 ownership true\n2 kata-analyze w 10 ownership true\n"
            b"3 kata-analyze b 10\n4 lz-analyze b 10 ownership true\n5 name\n")
    responses = run_engine(engine, sent).decode().split("\n\n")
    head = "info move D4 visits 1000 winrate 0.600000 prior 1.000000 lcb 0.600000 order 0 pv D4"
    for number, sign in ((1, 1), (2, -1)):
        header, line = responses[number - 1].split("\n")
        assert header == f"={number}"
        info, ownership = line.split(" ownership ")
        assert info == head
        values = [float(value) for value in ownership.split()]
        assert len(values) == 361
        assert values[0] == sign * 1.0  # A19 first: Black's, so +1 for Black, -1 for White
        assert values[360] == sign * -0.5  # T1 last
        assert values[18] == values[342] == 0.0  # T19, A1: the other corners
    assert responses[2] == f"=3\n{head}"  # not asked for: no ownership field
    assert "ownership" not in responses[3]  # the Leela Zero dialect has none
    assert responses[4] == "=5 goai"


def test_kata_analyze_without_an_ownership_head_still_analyses():
    d4 = 15 * 19 + 3
    engine = GtpEngine(policy_factory=lambda: ScriptedPolicy(d4))
    out = run_engine(engine, b"1 kata-analyze b 10 ownership true\n2 name\n").decode()
    first = out.split("\n\n")[0]
    assert first.startswith("=1\ninfo move D4 ") and "ownership" not in first


def test_gogui_territory_draws_black_s_view_whoever_is_to_move():
    engine = GtpEngine(policy_factory=lambda: OwnershipPolicy(_black_map()))
    out = run_engine(engine, b"1 goai-territory w\n2 goai-territory\n").decode()
    first, second = out.split("\n\n")[:2]
    assert first.startswith("=1 INFLUENCE A19 1.00 T1 -0.50\n")
    assert "TEXT Territory by ownership:" in first
    assert first.endswith("score head: Black leads by 3.5")
    assert second.startswith("=2 INFLUENCE A19 1.00 T1 -0.50\n")
    plain = GtpEngine(policy_factory=lambda: ScriptedPolicy(0))
    assert run_engine(plain, b"goai-territory\n").decode().startswith(
        "? the model has no ownership head")


def _finished_game() -> tuple[GameState, set[str], set[str]]:
    """A finished 19x19 game: Black's wall on row 10 and White's on row 9, with a dame at
    K9 (between Black's K10 and White's J9, L9, K8), a dead white stone at L14, two dead
    black stones at L4 M4, and a seki in the top-left corner (``test_territory.SEKI``).
    Returns the state and the dead and seki vertices."""
    rows = [["."] * 19 for _ in range(19)]
    for r, text in enumerate(["X X . O X", "X X . O X", "X X X O X", "O O O O X",
                              "X X X X X"]):
        rows[r][:5] = text.split()
    rows[9] = ["X"] * 19
    rows[10] = ["O"] * 19
    rows[10][9] = "."  # K9, dame
    rows[11][9] = "O"  # K8
    rows[5][10] = "O"  # L14, dead
    rows[15][10] = rows[15][11] = "X"  # L4 M4, dead
    board = "\n".join(" ".join(row) for row in rows)
    state = _drawn_state(board)
    state.play(PASS)
    state.play(PASS)
    seki = {"A19", "B19", "A18", "B18", "A17", "B17", "C17",
            "D19", "D18", "D17", "D16", "A16", "B16", "C16"}
    return state, {"L14", "L4", "M4"}, seki


def _drawn_state(drawing: str) -> GameState:
    from goai.rules.board import BLACK, WHITE, Board

    board = Board.from_text(drawing)
    state = GameState(19, 7.5)
    state.setup(black=[p for p, s in enumerate(board.stones) if s == BLACK],
                white=[p for p, s in enumerate(board.stones) if s == WHITE])
    return state


def _status_lists(engine: GtpEngine) -> dict[str, set[str]]:
    out = run_engine(engine, b"final_status_list dead\nfinal_status_list seki\n"
                             b"final_status_list alive\nfinal_score\n").decode()
    answers = [answer[2:] for answer in out.split("\n\n")[:4]]
    lists = {status: set(answer.split()) for status, answer in
             zip(("dead", "seki", "alive"), answers[:3], strict=True)}
    lists["score"] = {answers[3]}
    return lists


def test_final_status_list_of_a_finished_game_judged_from_ownership():
    from goai.rules.territory import area_margin, area_ownership

    state, dead, seki = _finished_game()
    dead_points = {move_from_gtp(vertex, 19) for vertex in dead}
    # The "network" is sure of the truth, at 0.9 a point, from the side to move's view.
    truth = 0.9 * area_ownership(state.board, dead_points).astype(float)
    engine = GtpEngine(policy_factory=lambda: OwnershipPolicy(truth))
    engine.state = state
    lists = _status_lists(engine)
    assert lists["dead"] == dead
    assert lists["seki"] == seki
    stones = {move_to_gtp(point, 19) for point, stone in enumerate(state.board.stones) if stone}
    assert lists["alive"] == stones - dead - seki
    margin = area_margin(area_ownership(state.board, dead_points), 7.5)
    assert lists["score"] == {format_result(margin)}
    # The same verdict whichever side is to move (the map is turned to Black's view).
    engine.state.to_play = 3 - engine.state.to_play
    assert _status_lists(engine)["dead"] == dead


def test_final_status_list_without_an_ownership_head_uses_the_estimate():
    state, dead, _ = _finished_game()
    engine = GtpEngine(policy_factory=lambda: ScriptedPolicy(0))
    engine.state = state
    lists = _status_lists(engine)
    assert dead <= lists["dead"] and lists["seki"] == set()  # the rule of thumb finds no seki


def test_no_stone_is_dead_early_in_a_game_with_either_judge(tiny_model_path: Path):
    sent = b"play b D4\nplay w Q16\nplay b Q4\nplay w D16\nfinal_status_list dead\n"
    for engine in (GtpEngine(policy_factory=lambda: ScriptedPolicy(0)),
                   GtpEngine(policy_factory=lambda: OwnershipPolicy(np.zeros(361)))):
        assert run_engine(engine, sent).decode().split("\n\n")[4] == "= "


def test_an_old_checkpoint_without_the_new_heads_loads_and_plays():
    """The bundled small model predates ownership and score: everything still works, and
    what needs the heads says so."""
    engine = GtpEngine(GtpConfig(model="small", seed=1, player=PlayerConfig(visits=8)))
    sent = (b"1 genmove b\n2 kata-analyze w 10 ownership true\n3 name\n4 final_score\n"
            b"5 goai-territory\n6 kata-genmove_analyze w\n")
    responses = run_engine(engine, sent).decode().split("\n\n")
    assert re.fullmatch(rf"=1 {_VERTEX}", responses[0])
    assert responses[1].startswith("=2\ninfo move ")
    assert "ownership" not in responses[1] and "scoreLead" not in responses[1]
    assert re.fullmatch(r"=4 (B\+|W\+)[0-9.]+|=4 0", responses[3])
    assert responses[4] == ("?5 the model has no ownership head: no territory map "
                            "(give a --value-model with one)")
    assert responses[5].startswith("=6\ninfo move ") and "\nplay " in responses[5]


def test_a_value_model_gives_the_search_its_values_scores_and_ownership(tiny_model_path: Path):
    """Priors from the old small model, values, scores and the map from the tiny one."""
    engine = GtpEngine(GtpConfig(model="small", value_model=str(tiny_model_path), seed=1,
                              player=PlayerConfig(visits=8)))
    sent = b"1 kata-analyze b 10 ownership true\n2 genmove b\n3 goai-territory\n"
    responses = run_engine(engine, sent).decode().split("\n\n")
    line = responses[0].split("\n")[1]
    assert " scoreLead " in line and len(line.split(" ownership ")[1].split()) == 361
    player = engine._player
    assert player.value_policy is not None and player.policy.path.name == "small.pt"
    assert player.search.evaluator.value_policy is player.value_policy
    assert re.fullmatch(rf"=2 {_VERTEX}", responses[1])
    assert responses[2].startswith("=3 ")


def test_a_value_model_that_cannot_serve_is_one_gtp_error(tmp_path: Path):
    engine = GtpEngine(GtpConfig(model="small", value_model=str(tmp_path / "missing.pt")))
    out = run_engine(engine, b"1 genmove b\n2 name\n").decode()
    assert out.startswith("?1 cannot load value model: ") and out.endswith("=2 goai\n\n")


def test_level_from_the_command_line_and_config_file(tmp_path: Path, monkeypatch):
    config_file = tmp_path / "goai.toml"
    config_file.write_text("level = 2\n")  # a number in TOML names the level "2"
    config = GtpConfig.from_options(load_config_file(config_file))
    assert config.player.level == "2" and config.player.raw
    assert GtpConfig.from_options({"level": "full"}).player.visits == DEFAULT_VISITS
    assert not GtpConfig.from_options({"level": "full"}).player.raw
    with pytest.raises(ValueError, match="level must be one of"):
        GtpConfig.from_options({"level": "9"})
    configs = []
    monkeypatch.setattr("goai.engine.engine.run_gtp", lambda config, *_: configs.append(config))
    monkeypatch.setattr("os._exit", lambda code: None)
    monkeypatch.setattr("logging.shutdown", lambda: None)
    cli.main(["gtp", "--config", str(config_file), "--level", "1"])
    assert configs[0].player.level == "1"  # the command line wins over the file
