"""The controller's side of GTP: a GTP engine in a subprocess, asked one command at a time.

Used by ``goai match`` (engines and the referee) and by the gymnasium
environment's ``gtp:`` opponent. A reader thread moves the engine's stdout
lines into a queue, so an engine that stays silent costs a timeout, not a
hang. The engine runs in its own session, so stopping it also ends any
processes a wrapper script started; an engine still running when its client
is garbage collected, or when the interpreter exits, is killed.

An engine's output is bounded as ``goai gtp`` bounds its input: a line over
``MAX_LINE_BYTES`` (64 KB) or a response over ``MAX_RESPONSE_BYTES`` ends the
engine (``EngineFailure``) after reading no more than that, so a 20 MB
``genmove`` answer costs 64 KB of memory, not 20 MB.

Two kinds of failure, one base class (``GtpClientError``):

* ``EngineFailure``: the engine could not be started, exited, or stayed
  silent past the timeout (it is then killed);
* ``CommandFailed``: the engine answered ``?`` (from ``send``; ``ask`` returns
  the answer instead).
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Sequence
from typing import IO

_RESPONSE_START = re.compile(r"([=?])\d*\s?(.*)")
# The longest GTP line either side reads: goai gtp caps its input at it, and the
# controller an engine's answer lines. Defined here, the lower module, for both.
MAX_LINE_BYTES = 64 * 1024
# A response's lines together: far above any real one (list_commands, showboard,
# an analysis line of 361 moves are a few KB).
MAX_RESPONSE_BYTES = 1024 * 1024


class _TooLong:
    """Put in the line queue by the reader when a line passed ``MAX_LINE_BYTES``."""


_TOO_LONG = _TooLong()


class GtpClientError(RuntimeError):
    """Talking to a GTP engine failed; the message says how."""


class EngineFailure(GtpClientError):
    """The engine could not be started, exited, or stayed silent past the timeout."""


class CommandFailed(GtpClientError):
    """The engine answered a command with ``?``; ``reply`` is its error text."""

    def __init__(self, message: str, reply: str) -> None:
        super().__init__(message)
        self.reply = reply


class GtpClient:
    """A GTP engine in a subprocess: ``start``, then ``ask``/``send`` commands, then ``close``.

    ``command`` is a shell-like string or an argument list. The engine's stderr
    is discarded unless ``show_stderr`` (engines chatter there). A client can
    be started again after its engine died (the match restarts a crashed
    engine for the next game).
    """

    def __init__(self, command: str | Sequence[str], *, show_stderr: bool = False) -> None:
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise ValueError("empty GTP engine command")
        self.command = command if isinstance(command, str) else shlex.join(self.argv)
        self._show_stderr = show_stderr
        self._process: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[str | _TooLong | None] = queue.Queue()
        self._finalizer: weakref.finalize | None = None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The running engine's process, None before ``start`` and after it ended."""
        return self._process

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the engine. Raises ``EngineFailure`` when it cannot be run."""
        self.kill()
        try:
            process = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=None if self._show_stderr else subprocess.DEVNULL,
                start_new_session=True)
        except OSError as error:
            raise EngineFailure(f"cannot start GTP engine {self.command!r}: {error}") from None
        self._process = process
        self._lines = queue.Queue()
        self._finalizer = weakref.finalize(self, _kill, process)
        threading.Thread(target=_read_lines, args=(process.stdout, self._lines),
                         daemon=True, name=f"gtp-client-{process.pid}").start()

    def ask(self, command: str, timeout: float | None = None) -> tuple[bool, str]:
        """Send ``command``; return (success, response body without ``=``/``?``).

        Waits at most ``timeout`` s (None: for ever). Raises ``EngineFailure``,
        and kills the engine, when it exits, stays silent, or writes a line over
        ``MAX_LINE_BYTES`` or a response over ``MAX_RESPONSE_BYTES``. Lines before
        the first ``=``/``?`` line are not part of a response and are skipped;
        the response ends at a blank line.
        """
        process = self._process
        if process is None or not self.running:
            raise EngineFailure(f"the engine is not running; cannot send {command!r}")
        assert process.stdin is not None
        try:
            process.stdin.write(command.encode() + b"\n")
            process.stdin.flush()
        except OSError:
            raise EngineFailure(f"engine exited before {command!r}") from None
        deadline = None if timeout is None else time.monotonic() + timeout
        status: str | None = None
        body: list[str] = []
        size = 0
        while True:
            try:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                line = self._lines.get(timeout=wait)
            except queue.Empty:
                self.kill()
                raise EngineFailure(f"no answer to {command!r} in {timeout:g} s") from None
            if line is None:
                code = process.wait()
                self._forget()
                raise EngineFailure(f"engine exited with code {code} during {command!r}")
            if isinstance(line, _TooLong):
                self.kill()
                raise EngineFailure(f"answered {command!r} with a line over "
                                    f"{MAX_LINE_BYTES // 1024} KB")
            if status is None:
                match = _RESPONSE_START.fullmatch(line)
                if match:
                    status, first = match.groups()
                    body.append(first)
            elif not line.strip():
                return status == "=", "\n".join(body).strip()
            else:
                size += len(line) + 1
                if size > MAX_RESPONSE_BYTES:
                    self.kill()
                    raise EngineFailure(f"answered {command!r} with over "
                                        f"{MAX_RESPONSE_BYTES // 1024} KB")
                body.append(line)

    def send(self, command: str, timeout: float | None = None) -> str:
        """``ask``, but an ``?`` answer raises ``CommandFailed``; returns the body."""
        ok, reply = self.ask(command, timeout)
        if not ok:
            raise CommandFailed(f"engine rejected {command!r}: {reply}", reply)
        return reply

    def kill(self) -> None:
        """End the engine (and its session) at once. Safe to call when none runs."""
        if self._finalizer is not None:
            self._finalizer()
        self._forget()

    def close(self, timeout: float = 5.0) -> None:
        """``quit``, then kill whatever has not exited within ``timeout`` s. Safe to call twice."""
        process = self._process
        if process is not None and self.running:
            try:
                self.ask("quit", timeout)
                process.wait(timeout)
            except (EngineFailure, subprocess.TimeoutExpired):
                pass
        self.kill()

    def _forget(self) -> None:
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = None
        self._process = None


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the engine's session (a wrapper script's children too) and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()
    process.wait()
    if process.stdin is not None:
        try:
            process.stdin.close()
        except OSError:  # a write was pending on a dead pipe
            pass


def _read_lines(stream: IO[bytes], lines: queue.Queue[str | _TooLong | None]) -> None:
    """The reader thread: stdout lines into ``lines``, then None; closes the stream at the end.

    A line is read at most ``MAX_LINE_BYTES`` (and its line end) at a time: a
    longer one puts ``_TOO_LONG`` and ends the reading (``ask`` kills the engine).
    """
    try:
        while raw := stream.readline(MAX_LINE_BYTES + 2):  # room for "\r\n"
            if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
                lines.put(_TOO_LONG)
                return
            lines.put(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
    except (OSError, ValueError):
        pass
    finally:
        lines.put(None)
        stream.close()


__all__ = ["CommandFailed", "EngineFailure", "GtpClient", "GtpClientError"]
