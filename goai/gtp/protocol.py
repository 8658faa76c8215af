"""GTP version 2, the protocol: framing, input lines, arguments, handlers, the answer loop.

Nothing here knows Go positions or models: ``goai.engine.engine.GtpEngine`` holds the
game and its ``cmd_*`` handlers, ``gtp_analysis`` the analysis output. A
``GtpServer`` subclass handles the GTP command ``<name>`` with its method
``cmd_<name>`` (``@command_name("kgs-genmove_cleanup")`` names the ones with
a dash); ``list_commands`` and ``known_command`` are derived from them, never
kept as a separate list. A handler gets the arguments as strings and returns
the response body, raises ``GtpError`` with the error text, or, for streaming
analysis, returns an iterator of lines (its errors raised before it returns it).

Framing (GTP 2, as GNU Go, the reference implementation, writes it)
-------------------------------------------------------------------
* Input: ``[id] command [arguments]``. Bytes are decoded as UTF-8 with
  replacement; control characters other than HT and LF are removed, ``#``
  starts a comment, HT becomes a space, leading white space is dropped. Empty
  lines get no response. Lines over ``MAX_LINE_BYTES`` are answered
  ``? line too long``.
* Output: ``=id body`` or ``?id error`` followed by one blank line; the id is
  echoed only when given. Every command gets exactly one response, whatever
  fails inside its handler (a GUI that counts answers must never fall out of
  step). stdout carries nothing else and is flushed after every response.
* Errors use the canonical texts: ``unknown command``, ``illegal move``,
  ``cannot undo``, ``unacceptable size``, ``syntax error`` (bad or missing
  arguments), plus ``board not empty``, ``invalid handicap``, ``bad vertex
  list``, ``cannot load file``, ``cannot save file`` as GNU Go words them.
* Colours ``b``/``black``/``w``/``white`` and vertices are read in any case.

Input is read by a thread into a ``LineQueue`` of at most ``MAX_QUEUED_LINES``
lines: a controller that writes faster than the engine answers (``yes name |
goai gtp``) is held back by the pipe, so memory stays flat. The queue also
lets streaming analysis notice that a new command has arrived.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import BinaryIO, ClassVar

from goai import __version__
from goai.gtp.client import MAX_LINE_BYTES  # one cap for both sides of the protocol
from goai.rules.board import color_from_name
from goai.rules.coords import (
    NETWORK_SIZE,
    PASS,
    CoordinateError,
    move_from_gtp,
    to_point,
    to_row_col,
)

log = logging.getLogger("goai.gtp.protocol")

# The answer to ``version`` starts with the Leela Zero version whose analysis goai speaks
# (``lz-analyze`` with ``lcb`` and ``order``, 0.17), then names goai's own version. Lizzie
# 0.7 treats every engine whose name does not start with "KataGo" as Leela Zero: it splits
# the answer's first word at the dots and, when the second number is below 15, shows
# "Lizzie requires version 0.15 or later of Leela Zero" and stops until it is clicked away
# (under Xvfb or a script, for ever); a word without a dot stops its reader thread.
# goai's own "0.1.0" fails that check, and so would any 1.x below 1.15: bumping goai's
# number to pass it would break again at the next major version.
LEELA_ZERO_VERSION = "0.17"
VERSION_ANSWER = f"{LEELA_ZERO_VERSION} (goai {__version__})"
# Lines read ahead of the engine. Each is at most MAX_LINE_BYTES, so the queue
# never holds more than 16 MiB; a GUI never has more than a few commands in flight.
MAX_QUEUED_LINES = 256

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Plain decimal numbers only: float() would also take "nan", "inf" and "7_5".
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")


class GtpError(Exception):
    """A command failed; the message is the GTP error text (one line)."""


# ----------------------------------------------------------------- input lines


class LineQueue:
    """Input lines handed from a reader thread to the engine, with a peek for analysis.

    ``feed`` splits bytes into lines (LF; a CR before it is removed later as a
    control character). A line longer than ``MAX_LINE_BYTES`` is kept as its
    first ``MAX_LINE_BYTES`` bytes, marked truncated; the rest is dropped.
    With ``max_lines`` (default ``MAX_QUEUED_LINES``; None: no bound) ``feed``
    blocks while that many lines wait, so it must run in another thread than
    ``get``.
    """

    def __init__(self, max_lines: int | None = MAX_QUEUED_LINES) -> None:
        self.max_lines = max_lines
        self._lines: deque[tuple[bytes, bool]] = deque()
        self._partial = bytearray()
        self._overlong = False
        self._closed = False
        self._ready = threading.Condition()

    def __len__(self) -> int:
        """Complete lines waiting to be read."""
        return len(self._lines)

    def feed(self, data: bytes) -> None:
        with self._ready:
            start = 0
            while (end := data.find(b"\n", start)) != -1:
                self._add(data[start:end])
                if self.max_lines is not None:
                    self._ready.wait_for(lambda: len(self._lines) < self.max_lines)
                self._lines.append((bytes(self._partial), self._overlong))
                self._ready.notify_all()
                self._partial.clear()
                self._overlong = False
                start = end + 1
            self._add(data[start:])

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
            if not self._lines:
                return None
            line = self._lines.popleft()
            self._ready.notify_all()  # room for a blocked feed
            return line

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


# ----------------------------------------------------------------- handlers and the loop


Response = str | Iterator[str]
Handler = Callable[..., Response]


def command_name(name: str) -> Callable[[Handler], Handler]:
    """Give a ``cmd_*`` handler a GTP name that a method name cannot spell (a dash)."""

    def mark(handler: Handler) -> Handler:
        handler.gtp_name = name  # type: ignore[attr-defined]
        return handler

    return mark


class GtpServer:
    """The answer loop and the administrative commands; subclasses add ``cmd_*`` handlers.

    ``handlers`` maps each GTP command name to its (unbound) method, collected
    from the class and its bases when the class is made. ``serve(lines, out)``
    runs the protocol until ``quit`` or end of input. ``name`` is what
    ``name`` answers.
    """

    name: ClassVar[str] = "goai"
    handlers: ClassVar[dict[str, Handler]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = _collect_handlers(cls)

    def __init__(self) -> None:
        self._lines: LineQueue | None = None
        self._quit = False

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

    def input_waiting(self, timeout: float | None) -> bool:
        """Has any input line (or the end of input) arrived, waiting up to ``timeout`` s?

        For streaming analysis, which runs until the controller sends anything.
        """
        return self._lines is None or self._lines.wait(timeout)

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
            handler = self.handlers.get(name)
            if handler is None:
                raise GtpError("unknown command")
            result = handler(self, args)
            if isinstance(result, str):
                _write(out, f"={id_} {result}\n\n")
            else:
                self._stream(result, id_, name, out)
        except GtpError as error:
            _write(out, f"?{id_} {_one_line(str(error))}\n\n")
        except (BrokenPipeError, KeyboardInterrupt):
            raise
        except Exception as error:  # a bug must cost one answer, never the engine
            log.exception("internal error in %r", name)
            detail = _one_line(f"{type(error).__name__}: {error}")
            _write(out, f"?{id_} internal error: {detail}\n\n")
        log.info("%s answered in %.3f s", name or "?", time.perf_counter() - started)

    def _stream(self, lines: Iterator[str], id_: str, name: str, out: BinaryIO) -> None:
        """A streaming response: ``=id`` alone at once, the lines, then the blank line.

        The header goes out before the first line is computed: Sabaki and Lizzie
        wait for it before they count the command as accepted, and a search's
        first line takes a second on a CPU. So a handler raises ``GtpError``
        (an ordinary ``?`` response) before it returns its iterator: it checks
        its arguments and loads the model first. Once the header is written the
        response is under way: a later error ends it (and is logged) instead of
        starting a second response for one command.
        """
        _write(out, f"={id_}\n")
        try:
            for line in lines:
                _write(out, line + "\n")
        except (BrokenPipeError, KeyboardInterrupt):
            raise
        except Exception:
            log.exception("error in the stream of %r; ending it", name)
        finally:
            _write(out, "\n")

    # ------------------------------------------------------------- administrative

    def cmd_protocol_version(self, args: list[str]) -> str:
        expect_count(args, 0)
        return "2"

    def cmd_name(self, args: list[str]) -> str:
        expect_count(args, 0)
        return self.name

    def cmd_version(self, args: list[str]) -> str:
        """``0.17 (goai 0.1.0)``: Leela Zero's version for the GUIs built on it, then goai's."""
        expect_count(args, 0)
        return VERSION_ANSWER

    def cmd_known_command(self, args: list[str]) -> str:
        expect_count(args, 1)
        return "true" if args[0] in self.handlers else "false"

    def cmd_list_commands(self, args: list[str]) -> str:
        expect_count(args, 0)
        return "\n".join(sorted(self.handlers))

    def cmd_quit(self, args: list[str]) -> str:
        self._quit = True
        return ""


def _collect_handlers(cls: type) -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    for klass in reversed(cls.__mro__):  # subclasses override their bases
        for attribute, handler in vars(klass).items():
            if attribute.startswith("cmd_"):
                handlers[getattr(handler, "gtp_name", attribute.removeprefix("cmd_"))] = handler
    return handlers


GtpServer.handlers = _collect_handlers(GtpServer)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "error"


def _write(out: BinaryIO, text: str) -> None:
    out.write(text.encode("utf-8"))
    out.flush()


# ----------------------------------------------------------------- argument parsing
# Each raises GtpError("syntax error") for text that is not what it reads.


def expect_count(args: list[str], count: int) -> None:
    """Exactly ``count`` arguments."""
    if len(args) != count:
        raise GtpError("syntax error")


def parse_color(text: str) -> int:
    """``b``, ``black``, ``w``, ``white`` (any case) -> BLACK or WHITE."""
    try:
        return color_from_name(text)
    except ValueError:
        raise GtpError("syntax error") from None


def is_color(text: str) -> bool:
    try:
        color_from_name(text)
    except ValueError:
        return False
    return True


def parse_vertex(text: str) -> int:
    """A GTP vertex of the 19x19 board (``D4``, ``pass``, any case) -> move."""
    try:
        return move_from_gtp(text, NETWORK_SIZE)
    except CoordinateError:
        raise GtpError("syntax error") from None


def parse_vertex_list(text: str) -> set[int]:
    """``D4,Q16`` or rectangles ``A1:C3`` (Leela Zero's avoid/allow lists) -> moves."""
    moves: set[int] = set()
    for part in text.split(","):
        if ":" in part:
            corners = [parse_vertex(vertex) for vertex in part.split(":", 1)]
            if PASS in corners:
                raise GtpError("syntax error")
            (r1, c1), (r2, c2) = (to_row_col(point, NETWORK_SIZE) for point in corners)
            moves |= {to_point(row, col, NETWORK_SIZE)
                      for row in range(min(r1, r2), max(r1, r2) + 1)
                      for col in range(min(c1, c2), max(c1, c2) + 1)}
        else:
            moves.add(parse_vertex(part))
    return moves


def parse_integer(text: str) -> int:
    """A decimal integer of at most 10 characters (sign included)."""
    if not (text.isascii() and text.lstrip("+-").isdigit()) or len(text) > 10:
        raise GtpError("syntax error")
    return int(text)


def is_number(text: str) -> bool:
    """A plain finite decimal number (no ``nan``, ``inf``, ``7_5``), at most 32 characters."""
    return len(text) <= 32 and _NUMBER.fullmatch(text) is not None and math.isfinite(float(text))


def parse_number(text: str) -> float:
    if not is_number(text):
        raise GtpError("syntax error")
    return float(text)


def parse_seconds(text: str) -> float:
    """A number that is not negative."""
    value = parse_number(text)
    if value < 0:
        raise GtpError("syntax error")
    return value


__all__ = [
    "GtpError",
    "GtpServer",
    "LineQueue",
    "command_name",
    "read_into",
]
