"""``goai serve``'s HTTP connections: a time limit on reading a request, and a cap that slow
clients cannot fill.

What uvicorn offers (read in its 0.55 source), and why it is not enough on its own:

* ``timeout_keep_alive`` (5 s) closes a connection that sends nothing after a
  response; it is armed only after a response and disarmed by any byte, so a
  connection that never completes its first request, or trickles one byte a
  second, is never timed out;
* h11's ``max_incomplete_event_size`` (16 KB) bounds the bytes of a request
  head, not its time: one header line every 2 s stays far under it;
* ``limit_concurrency`` answers 503 to a new request once that many
  connections are open, counting the half-open ones: 50 connections each
  sending a header line every 2 s made ``GET /`` 503 for everyone.

So ``BoundedH11Protocol`` (uvicorn's h11 protocol, subclassed) adds two things:

* **A request-read deadline**: a connection that owes a request (its head or
  its body) has ``request_seconds`` from the first byte it owes (or from its
  opening) to deliver it whole, else it is closed. Keep-alive waiting is
  uvicorn's; answering the request is not timed.
* **Slow clients make room**: when a new connection arrives and the connection
  cap (``limit_concurrency``) is reached, the connections that are only
  reading a request (or idle between requests) are closed, the oldest first,
  until there is room. A connection whose request is complete and is being
  answered (a genmove) is never closed for that, and WebSockets are not HTTP
  connections here. So slow clients can take at most the cap between them,
  and each new visitor pushes the oldest of them out: the page stays up.

This subclasses uvicorn's own protocol (its constructor arguments and
attributes ``conn``, ``connections``, ``transport``, ``loop``), so it follows
uvicorn's h11 implementation; ``tests/test_serve.py`` runs it against the
installed one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

REQUEST_SECONDS = 10.0  # to send a request whole: a 1 MB upload at 100 KB/s


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-read deadline and room made for new connections.

    ``request_seconds`` is a class attribute: ``bounded_protocol`` makes a
    subclass with it set, as uvicorn constructs the protocol itself.
    """

    request_seconds = REQUEST_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self.owing_since = 0.0  # loop time since this connection owes a request

    # ------------------------------------------------------------- uvicorn's hooks

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()
        self._make_room()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._stop_watch()  # the socket is a WebSocket's now
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_watch()
        super().connection_lost(exc)

    # ------------------------------------------------------------- the bounds

    @property
    def owes_request(self) -> bool:
        """Still reading a request (head or body) or waiting for the next: nothing of this
        connection is being answered."""
        # h11 leaves IDLE when a request's head is complete and SEND_BODY when its body is.
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def _watch(self) -> None:
        """Arm the deadline while the connection owes a request, disarm it once read."""
        if self.transport.is_closing():
            return
        if self.owes_request and self._deadline is None:
            self.owing_since = self.loop.time()
            self._deadline = self.loop.call_later(self.request_seconds, self._too_slow)
        elif not self.owes_request:
            self._stop_watch()

    def _stop_watch(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.owes_request and not self.transport.is_closing():
            self.transport.close()  # a request's handler, if one waits for the body, ends

    def _make_room(self) -> None:
        """Close the oldest connections that only owe a request while the cap is reached."""
        limit = self.limit_concurrency
        if limit is None:
            return
        open_ = [connection for connection in self.connections
                 if not connection.transport.is_closing()]
        if len(open_) < limit:
            return
        slow = sorted((connection for connection in open_
                       if isinstance(connection, BoundedH11Protocol) and connection is not self
                       and connection.owes_request), key=lambda connection: connection.owing_since)
        for connection in slow[: len(open_) - limit + 1]:
            connection._stop_watch()
            connection.transport.close()


def bounded_protocol(request_seconds: float = REQUEST_SECONDS) -> type[BoundedH11Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)`` with that request-read deadline."""
    return type("BoundedH11Protocol", (BoundedH11Protocol,),
                {"request_seconds": request_seconds})


__all__ = ["REQUEST_SECONDS", "BoundedH11Protocol", "bounded_protocol"]
