"""GTP version 2 engine: what Sabaki, Lizzie, GoGui, q5Go and match runners talk to.

Every method named ``cmd_<name>`` handles the GTP command ``<name>`` (a
``@command_name("kgs-genmove_cleanup")`` decorator names the ones with a dash);
``list_commands`` and ``known_command`` are derived from them, never kept as a
separate list. A handler gets the arguments as strings and returns the
response body, raises ``GtpError`` with the error text, or, for streaming
analysis, returns an iterator of lines.

Framing (GTP 2, as GNU Go, the reference implementation, writes it)
-------------------------------------------------------------------
* Input: ``[id] command [arguments]``. Bytes are decoded as UTF-8 with
  replacement; control characters other than HT and LF are removed, ``#``
  starts a comment, HT becomes a space, leading white space is dropped. Empty
  lines get no response. Lines over ``MAX_LINE_BYTES`` are answered
  ``? line too long``.
* Output: ``=id body`` or ``?id error`` followed by one blank line; the id is
  echoed only when given. stdout carries nothing else and is flushed after
  every response; logs go to stderr only with ``--verbose``, or to ``--log``.
* Errors use the canonical texts: ``unknown command``, ``illegal move``,
  ``cannot undo``, ``unacceptable size``, ``syntax error`` (bad or missing
  arguments), plus ``board not empty``, ``invalid handicap``, ``bad vertex
  list``, ``cannot load file``, ``cannot save file`` as GNU Go words them.
* Colours ``b``/``black``/``w``/``white`` and vertices are read in any case.

Start-up is instant: torch and the model load on the first command that needs
the network (genmove and friends, analysis); ``name``, ``protocol_version``
and ``list_commands`` never wait for them.

Board size
----------
The network plays 19x19 only, so ``boardsize`` answers ``unacceptable size``
for any other size (as Leela Zero and KataGo do beyond their compiled size),
and so does ``loadsgf`` for other records: a GUI then says at once that the
engine cannot play that board, instead of failing at the first genmove.

Analysis
--------
There is no search, so ``lz-analyze``/``kata-analyze`` report the policy:
``prior`` is the policy probability, ``visits`` is ``round(prior * 1000)``
(Sabaki draws its heat map from visits x winrate, Lizzie colours the listed
moves by prior), ``winrate`` is the value head's estimate for the side to move
(0.5 without one) and ``pv`` is the move itself. Moves with no visit are left
out unless ``minmoves`` asks for them. The ``info`` line is written at once
and then repeated every interval (at least ``MIN_INTERVAL`` seconds) until any
input line arrives; the response then ends with the blank line and the new
line is handled as usual (Sabaki interrupts with ``protocol_version``, Lizzie
with ``name``). ``lz-`` prints integers x 10000, ``kata-`` floats.

Time
----
``time_settings``/``kgs-time_settings``/``time_left`` give a budget per move:
the time left divided by the stones left in an overtime period, else by an
estimate of the moves left (a third of the empty points, at least 20), minus
``lag_buffer``. A policy move costs one network evaluation per symmetry;
when the configured 8 symmetries would not fit the budget, the move is made
with 1. The first move also pays for loading torch and the model.
"""

from __future__ import annotations

import colorsys
import logging
import math
import os
import re
import sys
import threading
import time
import tomllib
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import BinaryIO

import numpy as np

from goai import __version__
from goai.board import BLACK, EMPTY, WHITE, IllegalMoveError
from goai.coords import NETWORK_SIZE, PASS, CoordinateError, move_from_gtp, move_to_gtp
from goai.game import HANDICAP_VERTICES, GameState, fixed_handicap, format_result
from goai.player import (
    Decision,
    MovePolicy,
    Player,
    PlayerConfig,
    dead_stones,
    estimated_score,
)
from goai.render import render_board
from goai.sgf import GameRecord, parse_sgf, write_sgf

log = logging.getLogger("goai.gtp")

ENGINE_NAME = "goai"
MAX_LINE_BYTES = 64 * 1024
MAX_SGF_BYTES = 16 * 1024 * 1024
ANALYSIS_VISITS = 1000
MIN_INTERVAL = 0.1
MIN_MOVES_LEFT = 20

_COLORS = {"b": BLACK, "black": BLACK, "w": WHITE, "white": WHITE}
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Plain decimal numbers only: float() would also take "nan", "inf" and "7_5".
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
_KATA_FLAGS = {"ownership", "ownershipStdev", "pvVisits", "pvEdgeVisits", "movesOwnership",
               "rootInfo", "includePolicy"}


class GtpError(Exception):
    """A command failed; the message is the GTP error text (one line)."""


# ----------------------------------------------------------------- configuration


@dataclass(frozen=True)
class GtpConfig:
    """Everything ``goai gtp`` is told: command-line options and config-file keys alike.

    ``model`` None means the bundled model. ``symmetries`` is 1 or 8. ``threads``
    is torch's CPU threads, 0 for torch's default; 1 by default because one
    position is too small a batch to share: on two busy cores a second thread
    made a b6c64 genmove 50x slower (0.74 s instead of 0.015 s), waiting on the
    other. ``seed`` seeds sampling (temperature > 0).
    ``lag_buffer`` is seconds kept in hand per move under time control.
    """

    model: str | None = None
    symmetries: int = 1
    threads: int = 1
    seed: int | None = None
    lag_buffer: float = 0.2
    log: str | None = None
    verbose: bool = False
    player: PlayerConfig = field(default_factory=PlayerConfig)

    def __post_init__(self) -> None:
        if self.symmetries not in (1, 8):
            raise ValueError(f"symmetries must be 1 or 8, not {self.symmetries}")
        if self.threads < 0 or not self.lag_buffer >= 0:
            raise ValueError("threads and lag_buffer must not be negative")

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> GtpConfig:
        """Build from option names (``resign-threshold`` or ``resign_threshold``) and values.

        Keys are this class's fields (but ``player``) and ``PlayerConfig``'s
        fields. Raises ``ValueError`` for an unknown key or a value of the wrong
        type or range.
        """
        player_fields = {f.name: f.type for f in fields(PlayerConfig)}
        own_fields = {f.name: f.type for f in fields(cls) if f.name != "player"}
        engine: dict[str, object] = {}
        player: dict[str, object] = {}
        for key, value in options.items():
            name = key.replace("-", "_")
            if name in own_fields:
                engine[name] = _checked(key, value, own_fields[name])
            elif name in player_fields:
                player[name] = _checked(key, value, player_fields[name])
            else:
                raise ValueError(f"unknown option {key!r}")
        return cls(**engine, player=PlayerConfig(**player))


def _checked(key: str, value: object, declared: str) -> object:
    """``value`` converted to the declared type (``int``, ``float``, ``str | None``...)."""
    if value is None and "None" in declared:
        return None
    if declared.startswith("bool"):
        ok = isinstance(value, bool)
    elif declared.startswith("int"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif declared.startswith("float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value  # type: ignore[arg-type]
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"option {key!r} must be {declared}, not {value!r}")
    return value


def load_config_file(path: str | Path) -> dict[str, object]:
    """Options from a TOML file with the command line's long option names as keys.

    ``model`` and ``log`` paths are taken relative to the file's folder, so a
    config file next to the weights works from any working directory (GUIs
    start engines in their own). Raises ``ValueError`` for unreadable TOML.
    """
    path = Path(path)
    try:
        options: dict[str, object] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read config file {path}: {error}") from None
    for key in ("model", "weights", "log"):
        if isinstance(options.get(key), str):
            options[key] = str(path.parent / Path(str(options[key])).expanduser())
    if "weights" in options:
        options["model"] = options.pop("weights")
    return options


# ----------------------------------------------------------------- input lines


class LineQueue:
    """Input lines handed from a reader thread to the engine, with a peek for analysis.

    ``feed`` splits bytes into lines (LF; a CR before it is removed later as a
    control character). A line longer than ``MAX_LINE_BYTES`` is kept as its
    first ``MAX_LINE_BYTES`` bytes, marked truncated; the rest is dropped.
    """

    def __init__(self) -> None:
        self._lines: deque[tuple[bytes, bool]] = deque()
        self._partial = bytearray()
        self._overlong = False
        self._closed = False
        self._ready = threading.Condition()

    def feed(self, data: bytes) -> None:
        with self._ready:
            start = 0
            while (end := data.find(b"\n", start)) != -1:
                self._add(data[start:end])
                self._lines.append((bytes(self._partial), self._overlong))
                self._partial.clear()
                self._overlong = False
                start = end + 1
            self._add(data[start:])
            self._ready.notify_all()

    def _add(self, piece: bytes) -> None:
        room = MAX_LINE_BYTES - len(self._partial)
        if len(piece) > room:
            self._overlong = True
        self._partial += piece[:max(room, 0)]

    def close(self) -> None:
        """End of input: a last line without LF still counts."""
        with self._ready:
            if self._partial or self._overlong:
                self._lines.append((bytes(self._partial), self._overlong))
                self._partial.clear()
            self._closed = True
            self._ready.notify_all()

    def get(self) -> tuple[bytes, bool] | None:
        """The next line and its truncated flag; blocks; None once input has ended."""
        with self._ready:
            self._ready.wait_for(lambda: self._lines or self._closed)
            return self._lines.popleft() if self._lines else None

    def wait(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` s (None: for ever) for a line or the end; True if either."""
        with self._ready:
            return self._ready.wait_for(lambda: self._lines or self._closed, timeout)


def read_into(fd: int, lines: LineQueue) -> None:
    """Copy a file descriptor into ``lines`` until end of file (the reader thread's loop).

    ``os.read`` instead of ``sys.stdin.buffer``: a daemon thread blocked inside
    a buffered reader holds its lock, and interpreter shutdown then aborts.
    """
    try:
        while data := os.read(fd, 65536):
            lines.feed(data)
    except OSError as error:
        log.warning("stdin: %s", error)
    finally:
        lines.close()


# ----------------------------------------------------------------- time


@dataclass
class Clock:
    """Time settings and the latest ``time_left`` per colour; ``budget`` per move."""

    main_time: float = 0.0
    byo_yomi_time: float = 0.0
    byo_yomi_stones: int = 0
    limited: bool = False
    left: dict[int, tuple[float, int]] = field(default_factory=dict)

    def set(self, main_time: float, byo_yomi_time: float, byo_yomi_stones: int) -> None:
        """GTP ``time_settings``: byo-yomi time with 0 stones means no limit at all."""
        self.main_time, self.byo_yomi_time, self.byo_yomi_stones = (
            main_time, byo_yomi_time, byo_yomi_stones)
        self.limited = main_time > 0 or (byo_yomi_time > 0 and byo_yomi_stones > 0)
        self.left.clear()

    def budget(self, color: int, empty_points: int) -> float | None:
        """Seconds this move may take (before the lag buffer), or None without a limit."""
        if not self.limited:
            return None
        default = ((self.main_time, 0) if self.main_time > 0
                   else (self.byo_yomi_time, self.byo_yomi_stones))
        seconds, stones = self.left.get(color, default)
        if seconds <= 0 and stones == 0 and self.byo_yomi_stones > 0:
            seconds, stones = self.byo_yomi_time, self.byo_yomi_stones  # "0 0": main time over
        if stones > 0:
            return seconds / stones
        budget = seconds / max(MIN_MOVES_LEFT, empty_points // 3)
        if self.byo_yomi_time > 0 and self.byo_yomi_stones > 0:
            budget += self.byo_yomi_time / self.byo_yomi_stones
        return budget


# ----------------------------------------------------------------- the engine


def command_name(name: str) -> Callable[[Callable], Callable]:
    """Give a ``cmd_*`` handler a GTP name that a method name cannot spell (a dash)."""

    def mark(handler: Callable) -> Callable:
        handler.gtp_name = name  # type: ignore[attr-defined]
        return handler

    return mark


Response = str | Iterator[str]


class Engine:
    """The GTP engine: one game state, one lazily loaded policy, handlers ``cmd_*``.

    ``serve(lines, out)`` runs the protocol until ``quit`` or end of input.
    ``policy_factory`` builds the policy on first need (default: ``Policy``
    from ``config``); tests pass a fake one.
    """

    def __init__(self, config: GtpConfig | None = None,
                 policy_factory: Callable[[], MovePolicy] | None = None) -> None:
        self.config = config or GtpConfig()
        self._policy_factory = policy_factory or self._load_policy
        self._player: Player | None = None
        self.komi = 7.5
        self.state = GameState(NETWORK_SIZE, self.komi)
        self.clock = Clock()
        self._seconds_per_symmetry = 0.0
        self._lines: LineQueue | None = None
        self._quit = False

    # ------------------------------------------------------------- protocol loop

    def serve(self, lines: LineQueue, out: BinaryIO) -> None:
        """Answer the lines of ``lines`` on ``out`` until ``quit`` or end of input."""
        self._lines = lines
        while not self._quit:
            item = lines.get()
            if item is None:
                break
            raw, truncated = item
            try:
                self._answer(raw, truncated, out)
            except BrokenPipeError:
                log.info("controller closed stdout; stopping")
                break

    def _answer(self, raw: bytes, truncated: bool, out: BinaryIO) -> None:
        text = _CONTROL.sub("", raw.decode("utf-8", errors="replace").split("#", 1)[0])
        words = text.replace("\t", " ").split()
        if not words:
            return
        id_ = ""
        if words[0].isascii() and words[0].isdigit():
            id_ = words.pop(0).lstrip("0") or "0"
        name, args = (words[0], words[1:]) if words else ("", [])
        log.debug("<< %s", text.strip()[:200])
        started = time.perf_counter()
        try:
            if truncated:
                raise GtpError("line too long")
            handler = _HANDLERS.get(name)
            if handler is None:
                raise GtpError("unknown command")
            result = handler(self, args)
            if isinstance(result, str):
                _write(out, f"={id_} {result}\n\n")
            else:
                self._stream(result, id_, out)
        except GtpError as error:
            _write(out, f"?{id_} {_one_line(str(error))}\n\n")
        except (BrokenPipeError, KeyboardInterrupt):
            raise
        except Exception as error:  # a bug must cost one answer, never the engine
            log.exception("internal error in %r", name)
            detail = _one_line(f"{type(error).__name__}: {error}")
            _write(out, f"?{id_} internal error: {detail}\n\n")
        log.info("%s answered in %.3f s", name or "?", time.perf_counter() - started)

    def _stream(self, lines: Iterator[str], id_: str, out: BinaryIO) -> None:
        """A streaming response: ``=id`` alone, the lines, then the blank line."""
        first = next(lines, None)  # may raise GtpError: then no header was written
        _write(out, f"={id_}\n")
        try:
            if first is not None:
                _write(out, first + "\n")
            for line in lines:
                _write(out, line + "\n")
        finally:
            _write(out, "\n")

    def _input_waiting(self, timeout: float | None) -> bool:
        """Has any input line (or the end of input) arrived, waiting up to ``timeout`` s?"""
        return self._lines is None or self._lines.wait(timeout)

    # ------------------------------------------------------------- helpers

    def _load_policy(self) -> MovePolicy:
        from goai.policy import Policy  # torch: only now, never at start-up

        return Policy(self.config.model, symmetries=self.config.symmetries,
                      threads=self.config.threads)

    def _get_player(self) -> Player:
        if self._player is None:
            started = time.perf_counter()
            try:
                policy = self._policy_factory()
            except Exception as error:  # a missing file, not a checkpoint, torch.load's own
                raise GtpError(f"cannot load model: {error}") from None
            self._player = Player(policy, self.config.player,
                                  np.random.default_rng(self.config.seed))
            log.info("model loaded in %.2f s", time.perf_counter() - started)
        return self._player

    def _decide(self, color: int, *, cleanup: bool = False) -> Decision:
        """A decision for ``color`` in the current position, within the time budget."""
        player = self._get_player()
        self.state.to_play = color
        policy = player.policy
        configured = getattr(policy, "symmetries", 1)
        budget = self.clock.budget(color, self.state.board.stones.count(EMPTY))
        use = configured
        if budget is not None:
            budget -= self.config.lag_buffer
            if self._seconds_per_symmetry * configured > budget:
                use = 1
        started = time.perf_counter()
        try:
            if use != configured:
                policy.symmetries = use  # type: ignore[attr-defined]
            decision = player.decide(self.state, cleanup=cleanup)
        finally:
            if use != configured:
                policy.symmetries = configured  # type: ignore[attr-defined]
        per_symmetry = (time.perf_counter() - started) / use
        self._seconds_per_symmetry = (per_symmetry if not self._seconds_per_symmetry
                                      else 0.5 * (self._seconds_per_symmetry + per_symmetry))
        return decision

    def _generate(self, args: list[str], *, play: bool, cleanup: bool = False) -> str:
        _arity(args, 1)
        color = _color(args[0])
        to_play = self.state.to_play
        decision = self._decide(color, cleanup=cleanup)
        if decision.resign:
            self.state.to_play = to_play
            return "resign"
        if play:
            self.state.play(decision.move, color)
        else:
            self.state.to_play = to_play
        return move_to_gtp(decision.move, NETWORK_SIZE)

    def _new_game(self) -> None:
        self.state = GameState(NETWORK_SIZE, self.komi)
        if self._player is not None:
            self._player.reset()

    def _require_empty_board(self) -> None:
        if self.state.history or any(self.state.board.stones):
            raise GtpError("board not empty")

    def _place_handicap(self, points: list[int]) -> None:
        self.state.setup(black=points, handicap=len(points))

    # ------------------------------------------------------------- administrative

    def cmd_protocol_version(self, args: list[str]) -> str:
        _arity(args, 0)
        return "2"

    def cmd_name(self, args: list[str]) -> str:
        _arity(args, 0)
        return ENGINE_NAME

    def cmd_version(self, args: list[str]) -> str:
        _arity(args, 0)
        return __version__

    def cmd_known_command(self, args: list[str]) -> str:
        _arity(args, 1)
        return "true" if args[0] in _HANDLERS else "false"

    def cmd_list_commands(self, args: list[str]) -> str:
        _arity(args, 0)
        return "\n".join(sorted(_HANDLERS))

    def cmd_quit(self, args: list[str]) -> str:
        self._quit = True
        return ""

    # ------------------------------------------------------------- setting up

    def cmd_boardsize(self, args: list[str]) -> str:
        _arity(args, 1)
        if _integer(args[0]) != NETWORK_SIZE:
            raise GtpError("unacceptable size")
        self._new_game()
        return ""

    def cmd_clear_board(self, args: list[str]) -> str:
        _arity(args, 0)
        self._new_game()
        return ""

    def cmd_komi(self, args: list[str]) -> str:
        _arity(args, 1)
        self.komi = _number(args[0])
        self.state.komi = self.komi
        return ""

    def cmd_fixed_handicap(self, args: list[str]) -> str:
        _arity(args, 1)
        count = _integer(args[0])
        if count not in HANDICAP_VERTICES:
            raise GtpError("invalid handicap")
        self._require_empty_board()
        self._place_handicap(fixed_handicap(count))
        return HANDICAP_VERTICES[count]

    def cmd_place_free_handicap(self, args: list[str]) -> str:
        """The engine's choice of handicap points: the fixed ones (as Pachi does)."""
        return self.cmd_fixed_handicap(args)

    def cmd_set_free_handicap(self, args: list[str]) -> str:
        if not args:
            raise GtpError("syntax error")
        points = [_vertex(v) for v in args]
        if len(points) < 2 or PASS in points or len(set(points)) != len(points):
            raise GtpError("bad vertex list")
        self._require_empty_board()
        self._place_handicap(points)
        return ""

    def cmd_loadsgf(self, args: list[str]) -> str:
        """``loadsgf FILE [N]``: the position before move N (default: after the last move)."""
        if len(args) not in (1, 2):
            raise GtpError("syntax error")
        limit = _integer(args[1]) - 1 if len(args) == 2 else None
        if limit is not None and limit < 0:
            raise GtpError("syntax error")
        try:
            path = Path(args[0])
            if path.stat().st_size > MAX_SGF_BYTES:
                raise GtpError("cannot load file")
            data = path.read_bytes()
        except OSError:
            raise GtpError("cannot load file") from None
        record = next((item for item in parse_sgf(data, args[0]) if isinstance(item, GameRecord)),
                      None)
        if record is None:
            raise GtpError("cannot load file")
        if record.size != NETWORK_SIZE:
            raise GtpError("unacceptable size")
        if limit is not None:
            limit = min(limit, len(record.moves))
        state = record.to_state(limit, stop_at_illegal=True)  # keep a damaged record's legal part
        state.superko = True
        self.komi = record.komi
        self.state = state
        if self._player is not None:
            self._player.reset()
        return "black" if state.to_play == BLACK else "white"

    # ------------------------------------------------------------- playing

    def cmd_play(self, args: list[str]) -> str:
        _arity(args, 2)
        color, move = _color(args[0]), _vertex(args[1])
        try:
            self.state.play(move, color)
        except IllegalMoveError:
            raise GtpError("illegal move") from None
        return ""

    def cmd_genmove(self, args: list[str]) -> str:
        return self._generate(args, play=True)

    def cmd_reg_genmove(self, args: list[str]) -> str:
        """The move genmove would play, without playing it."""
        return self._generate(args, play=False)

    @command_name("kgs-genmove_cleanup")
    def cmd_kgs_genmove_cleanup(self, args: list[str]) -> str:
        """genmove that captures the stones it thinks dead before it passes."""
        return self._generate(args, play=True, cleanup=True)

    def cmd_undo(self, args: list[str]) -> str:
        _arity(args, 0)
        try:
            self.state.undo()
        except ValueError:
            raise GtpError("cannot undo") from None
        return ""

    # ------------------------------------------------------------- looking

    def cmd_showboard(self, args: list[str]) -> str:
        _arity(args, 0)
        state = self.state
        to_play = "Black" if state.to_play == BLACK else "White"
        captures = state.board.captures
        return (f"\n{render_board(state.board, state.last_move)}\n"
                f"{to_play} to play; komi {state.komi:g}; "
                f"captured by Black {captures[BLACK]}, by White {captures[WHITE]}")

    def cmd_final_score(self, args: list[str]) -> str:
        """Area score with the estimated dead stones removed (see ``player.dead_stones``)."""
        _arity(args, 0)
        return format_result(estimated_score(self.state))

    def cmd_final_status_list(self, args: list[str]) -> str:
        """``alive``/``dead``/``seki``: one string of stones per line (seki is never found)."""
        _arity(args, 1)
        status = args[0].lower()
        if status not in ("alive", "dead", "seki"):
            raise GtpError("syntax error")
        board = self.state.board
        dead = dead_stones(board)
        lines = []
        for gid in sorted(board.group_stones, key=lambda g: min(board.group_stones[g])):
            stones = sorted(board.group_stones[gid])
            is_dead = stones[0] in dead
            if (status == "dead" and is_dead) or (status == "alive" and not is_dead):
                lines.append(" ".join(move_to_gtp(p, board.size) for p in stones))
        return "\n".join(lines)

    def cmd_printsgf(self, args: list[str]) -> str:
        """The game as SGF: in the response, or written to FILE (``printsgf FILE``)."""
        if len(args) > 1:
            raise GtpError("syntax error")
        record = GameRecord.from_state(self.state, source="goai gtp")
        text = write_sgf(record).rstrip("\n")
        if not args:
            return text
        try:
            Path(args[0]).write_text(text + "\n", encoding="utf-8")
        except OSError:
            raise GtpError("cannot save file") from None
        return ""

    # ------------------------------------------------------------- time

    def cmd_time_settings(self, args: list[str]) -> str:
        _arity(args, 3)
        main_time, byo_time, stones = _seconds(args[0]), _seconds(args[1]), _integer(args[2])
        if stones < 0:
            raise GtpError("syntax error")
        self.clock.set(main_time, byo_time, stones)
        return ""

    @command_name("kgs-time_settings")
    def cmd_kgs_time_settings(self, args: list[str]) -> str:
        """``none``, ``absolute M``, ``byoyomi M T P`` (one stone a period), ``canadian M T S``."""
        kinds = {"none": 0, "absolute": 1, "byoyomi": 3, "canadian": 3}
        if not args or args[0].lower() not in kinds or len(args) != 1 + kinds[args[0].lower()]:
            raise GtpError("syntax error")
        kind = args[0].lower()
        if kind == "none":
            self.clock.set(0, 0, 0)
        elif kind == "absolute":
            self.clock.set(_seconds(args[1]), 0, 0)
        elif kind == "byoyomi":
            _integer(args[3])
            self.clock.set(_seconds(args[1]), _seconds(args[2]), 1)
        else:
            stones = _integer(args[3])
            if stones < 0:
                raise GtpError("syntax error")
            self.clock.set(_seconds(args[1]), _seconds(args[2]), stones)
        return ""

    def cmd_time_left(self, args: list[str]) -> str:
        _arity(args, 3)
        color, seconds, stones = _color(args[0]), _number(args[1]), _integer(args[2])
        if stones < 0:
            raise GtpError("syntax error")
        self.clock.left[color] = (seconds, stones)
        return ""

    # ------------------------------------------------------------- analysis

    @command_name("lz-analyze")
    def cmd_lz_analyze(self, args: list[str]) -> Iterator[str]:
        return self._analyze(args, "lz")

    @command_name("kata-analyze")
    def cmd_kata_analyze(self, args: list[str]) -> Iterator[str]:
        return self._analyze(args, "kata")

    @command_name("lz-genmove_analyze")
    def cmd_lz_genmove_analyze(self, args: list[str]) -> Iterator[str]:
        return self._genmove_analyze(args, "lz")

    @command_name("kata-genmove_analyze")
    def cmd_kata_genmove_analyze(self, args: list[str]) -> Iterator[str]:
        return self._genmove_analyze(args, "kata")

    def _analyze(self, args: list[str], dialect: str) -> Iterator[str]:
        request = _AnalysisRequest.parse(args, self.state.to_play)
        probabilities, value = self._evaluate(request.color)
        return self._repeat(_info_line(probabilities, value, request, dialect), request.interval)

    def _evaluate(self, color: int) -> tuple[np.ndarray, float | None]:
        """(policy probabilities (362,), value or None) with ``color`` to move; no move made."""
        policy = self._get_player().policy
        to_play = self.state.to_play
        self.state.to_play = color
        try:
            probabilities, value = policy.analyze(self.state)
        finally:
            self.state.to_play = to_play
        return probabilities, value

    def _repeat(self, line: str, interval: float | None) -> Iterator[str]:
        """``line`` now and every ``interval`` s until input arrives; nothing if it is empty
        (every move avoided): an empty line would end the response early."""
        if not line or interval is None or interval <= 0:
            if line:
                yield line
            self._input_waiting(None)
            return
        yield line
        while not self._input_waiting(max(interval, MIN_INTERVAL)):
            yield line

    def _genmove_analyze(self, args: list[str], dialect: str) -> Iterator[str]:
        """genmove that also prints the analysis line, then ``play <move>``; not interruptible."""
        if not args:
            raise GtpError("syntax error")
        to_play = self.state.to_play
        request = _AnalysisRequest.parse(args, to_play)
        color = request.color
        decision = self._decide(color)
        lines = [_info_line(decision.probabilities, decision.value, request, dialect)]
        if decision.resign:
            self.state.to_play = to_play
            lines.append("play resign")
        else:
            self.state.play(decision.move, color)
            lines.append(f"play {move_to_gtp(decision.move, NETWORK_SIZE)}")
        return iter(lines)

    @command_name("gogui-analyze_commands")
    def cmd_gogui_analyze_commands(self, args: list[str]) -> str:
        _arity(args, 0)
        return "gfx/Policy heat map/goai-policy_heatmap %c"

    @command_name("goai-policy_heatmap")
    def cmd_goai_policy_heatmap(self, args: list[str]) -> str:
        """GoGui gfx: every point coloured by policy (blue low, red high, log scale),
        the top moves labelled with their percentage, pass and value in the status bar."""
        if len(args) > 1:
            raise GtpError("syntax error")
        color = _color(args[0]) if args else self.state.to_play
        return _heatmap_gfx(*self._evaluate(color), color)


def _collect_handlers() -> dict[str, Callable[[Engine, list[str]], Response]]:
    handlers = {}
    for attribute, handler in vars(Engine).items():
        if attribute.startswith("cmd_"):
            handlers[getattr(handler, "gtp_name", attribute.removeprefix("cmd_"))] = handler
    return handlers


_HANDLERS = _collect_handlers()


# ----------------------------------------------------------------- analysis output


@dataclass
class _AnalysisRequest:
    """Arguments of ``lz-analyze``/``kata-analyze`` and the ``*-genmove_analyze`` commands:
    ``[color] [interval] [interval N] [minmoves N] [maxmoves N] [avoid|allow C V,V.. N]``
    and KataGo's boolean flags (accepted, not provided)."""

    color: int
    interval: float | None = None
    min_moves: int = 0
    max_moves: int | None = None
    avoid: set[int] = field(default_factory=set)
    allow: set[int] | None = None

    @classmethod
    def parse(cls, args: list[str], to_play: int) -> _AnalysisRequest:
        request = cls(to_play)
        rest = list(args)
        if rest and rest[0].lower() in _COLORS:
            request.color = _COLORS[rest.pop(0).lower()]
        if rest and _is_number(rest[0]):
            request.interval = _number(rest.pop(0)) / 100
        while rest:
            key = rest.pop(0)
            if key in ("interval", "minmoves", "maxmoves") and rest:
                value = _integer(rest.pop(0))
                if value < 0:
                    raise GtpError("syntax error")
                if key == "interval":
                    request.interval = value / 100
                elif key == "minmoves":
                    request.min_moves = value
                else:
                    request.max_moves = value
            elif key in ("avoid", "allow") and len(rest) >= 3:
                color, vertices, _until = _color(rest[0]), _vertex_list(rest[1]), _integer(rest[2])
                del rest[:3]
                if color == request.color:
                    if key == "avoid":
                        request.avoid |= vertices
                    else:
                        request.allow = (request.allow or set()) | vertices
            elif key in _KATA_FLAGS and rest and rest[0].lower() in ("true", "false"):
                rest.pop(0)
            else:
                raise GtpError("syntax error")
        return request


def _info_line(probabilities: np.ndarray, value: float | None, request: _AnalysisRequest,
               dialect: str) -> str:
    """All candidates on one line, best first, in the Leela Zero or KataGo dialect."""
    winrate = 0.5 if value is None else (value + 1) / 2
    entries = []
    for index in np.argsort(-probabilities, kind="stable"):
        prior = float(probabilities[index])
        move = PASS if index == len(probabilities) - 1 else int(index)
        if prior <= 0 or move in request.avoid or (
                request.allow is not None and move not in request.allow):
            continue
        visits = round(prior * ANALYSIS_VISITS)
        if visits < 1 and len(entries) >= request.min_moves:
            break
        if request.max_moves is not None and len(entries) >= request.max_moves:
            break
        vertex = move_to_gtp(move, NETWORK_SIZE)
        if dialect == "lz":
            numbers = (f"winrate {round(winrate * 10000)} prior {round(prior * 10000)} "
                       f"lcb {round(winrate * 10000)}")
        else:
            numbers = f"winrate {winrate:.6f} prior {prior:.6f} lcb {winrate:.6f}"
        entries.append(f"info move {vertex} visits {visits} {numbers} "
                       f"order {len(entries)} pv {vertex}")
    return " ".join(entries)


def _heatmap_gfx(probabilities: np.ndarray, value: float | None, color: int) -> str:
    """GoGui gfx lines: COLOR groups, LABEL for the top ten, TEXT with pass and value."""
    levels: dict[str, list[str]] = {}
    points = probabilities[:-1]
    for point in np.flatnonzero(points >= 0.001):
        # Log scale as Pachi's DCNN colour map: 0.1 % -> 0, 100 % -> 1.
        strength = min(1.0, math.log(points[point] * 1000) / math.log(1000))
        red, green, blue = colorsys.hsv_to_rgb((1 - round(strength, 1)) * 2 / 3, 0.8, 1.0)
        hex_color = f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"
        levels.setdefault(hex_color, []).append(move_to_gtp(int(point), NETWORK_SIZE))
    lines = [f"COLOR {hex_color} {' '.join(vertices)}" for hex_color, vertices in levels.items()]
    top = [int(p) for p in np.argsort(-points, kind="stable")[:10] if points[p] >= 0.005]
    if top:
        labels = " ".join(f"{move_to_gtp(p, NETWORK_SIZE)} {round(100 * points[p])}" for p in top)
        lines.append(f"LABEL {labels}")
    side = "Black" if color == BLACK else "White"
    text = f"TEXT {side}: pass {100 * probabilities[-1]:.1f}%"
    if value is not None:
        text += f", win {50 * (value + 1):.0f}%"
    lines.append(text)
    return "\n".join(lines)


# ----------------------------------------------------------------- argument parsing


def _arity(args: list[str], count: int) -> None:
    if len(args) != count:
        raise GtpError("syntax error")


def _color(text: str) -> int:
    try:
        return _COLORS[text.lower()]
    except KeyError:
        raise GtpError("syntax error") from None


def _vertex(text: str) -> int:
    try:
        return move_from_gtp(text, NETWORK_SIZE)
    except CoordinateError:
        raise GtpError("syntax error") from None


def _vertex_list(text: str) -> set[int]:
    """``D4,Q16`` or rectangles ``A1:C3`` (Leela Zero's avoid/allow lists)."""
    points: set[int] = set()
    for part in text.split(","):
        if ":" in part:
            first, _, last = part.partition(":")
            (r1, c1), (r2, c2) = (divmod(_vertex(v), NETWORK_SIZE) for v in (first, last))
            points |= {r * NETWORK_SIZE + c for r in range(min(r1, r2), max(r1, r2) + 1)
                       for c in range(min(c1, c2), max(c1, c2) + 1)}
        else:
            points.add(_vertex(part))
    return points


def _integer(text: str) -> int:
    if not (text.isascii() and text.lstrip("+-").isdigit()) or len(text) > 10:
        raise GtpError("syntax error")
    return int(text)


def _is_number(text: str) -> bool:
    return len(text) <= 32 and _NUMBER.fullmatch(text) is not None and math.isfinite(float(text))


def _number(text: str) -> float:
    if not _is_number(text):
        raise GtpError("syntax error")
    return float(text)


def _seconds(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise GtpError("syntax error")
    return value


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "error"


def _write(out: BinaryIO, text: str) -> None:
    out.write(text.encode("utf-8"))
    out.flush()


# ----------------------------------------------------------------- running


def configure_logging(config: GtpConfig) -> None:
    """Quiet by default: stderr only with ``verbose``, a file with ``log``.

    Lizzie merges the engine's stderr into stdout, so nothing may be printed
    there unless asked for.
    """
    # The root logger, so that torch's messages and Python warnings obey the same rule.
    logging.captureWarnings(True)
    logger = logging.getLogger()
    logger.handlers.clear()
    logger.addHandler(logging.NullHandler())
    formatter = logging.Formatter("%(asctime)s %(name)s: %(message)s")
    if config.verbose:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter)
        handler.setLevel(logging.INFO)
        logger.addHandler(handler)
    if config.log:
        file_handler = logging.FileHandler(config.log, encoding="utf-8")
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
    logger.setLevel(logging.DEBUG if config.log else logging.INFO)


def run_gtp(config: GtpConfig, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Serve GTP on the given streams until ``quit`` or end of input; returns 0."""
    configure_logging(config)
    lines = LineQueue()
    reader = threading.Thread(target=read_into, args=(stdin.fileno(), lines),
                              name="gtp-stdin", daemon=True)
    reader.start()
    log.info("goai %s GTP ready (model %s)", __version__, config.model or "bundled")
    # "default" and "small" name bundled models (checkpoint.BUNDLED_MODELS; not imported
    # here, since that would load torch before the first command).
    if config.model and config.model not in ("default", "small") \
            and not Path(config.model).is_file():
        # Said even when quiet: GUIs show stderr, and genmove will fail with the same news.
        print(f"goai gtp: no model file {config.model}", file=sys.stderr, flush=True)
    Engine(config).serve(lines, stdout)
    try:
        stdout.flush()
    except BrokenPipeError:
        # The controller is gone; point stdout at /dev/null so that the flush at
        # interpreter exit does not print a traceback (Python's documented remedy).
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
    return 0


__all__ = [
    "Engine",
    "GtpConfig",
    "GtpError",
    "LineQueue",
    "load_config_file",
    "run_gtp",
]
