"""``goai serve``: play and review in the browser; the HTTP/WebSocket app around ``session``.

Why Starlette + uvicorn and not the standard library: the page streams
analysis over a WebSocket (a search reports as it runs), which
``http.server`` cannot speak; engine work must run in a thread pool while
other sessions' requests go on (``run_in_threadpool`` on an event loop,
where ``ThreadingHTTPServer`` gives every connection a thread and no
bounds); and the framework's test client exercises the app in-process.
The cost is five small pure-Python packages (starlette, anyio, uvicorn,
h11, click) and ``websockets`` for uvicorn's WebSocket support.

The page (``goai/serve/web``: plain JavaScript modules, SVG and CSS, no build step,
nothing fetched from elsewhere) talks to the JSON API below, which scripts can
use too; the README documents it. ``{...}`` bodies are JSON, answers are JSON
unless noted; an error is ``{"error": "one line", "reason": "code"}`` with a
4xx status, never a traceback page.

=============================  ===============================================================
``GET /api/state``             the game object (a session and its game start on first call)
``POST /api/new``              ``{"color": "black", "handicap": 0, "komi": 7.5}``: a new game
``POST /api/play``             ``{"move": "D4"}`` (or ``"pass"``): the human's move
``POST /api/genmove``          the engine's move (the page calls it when ``engine_to_play``)
``POST /api/resign``           the human resigns
``POST /api/undo``             take back the human's last move and the engine's replies
``GET /api/analysis``          the analysis object of the current position
``GET /api/game.sgf``          the game as SGF (a download)
``POST /api/review``           body: SGF text (at most ``max_upload_bytes``): the review object
``GET /api/review.sgf``        the last review as an annotated SGF (a download)
``WS /api/ws``                 send ``{"op": "analyze"}``; analysis objects stream back
                               while the search runs, the last with ``"final": true``;
                               ``{"op": "stop"}`` ends it
=============================  ===============================================================

Sessions: a random id in an HttpOnly, SameSite=Strict cookie, made by the first
API request without one (the page's first call). At most ``max_sessions`` live
at once; an idle one is dropped after ``idle_minutes``, and when all places are
taken a new browser still gets one: the least recently used idle session makes
room, one whose cookie never came back (a script that keeps no cookies) before
any other. Only a session running a request or holding a WebSocket is never
dropped (all of them busy: 503). Requests of one session run one at a time: a
move sent while the engine is thinking gets 409. The model's work runs in worker
threads, so one session's thinking never holds another's page.

Other sites: every API request and WebSocket from another origin (an
``Origin`` other than the server's, or ``Sec-Fetch-Site`` other than
``same-origin``/``none``) gets 403, and a POST must say ``application/json``
(``application/x-go-sgf`` for ``/api/review``), which a page elsewhere can send
only after a CORS preflight this server never grants: 415 otherwise. So a page
on another site, or on another port of this host (same-site, so the Strict
cookie goes along), can neither change a game nor fill the sessions.

Nothing from the client is ever a file path: the page's files are a fixed
table read at start, and uploads are parsed in memory. With a loopback host
(``localhost``, 127.0.0.0/8, ``::1``) only loopback Host headers are accepted,
so a web page elsewhere cannot reach the server by DNS rebinding; IPv6 Host
headers are read with their brackets (``[::1]:8000``). Connections that are
slow to send their request are cut after ``request_seconds`` and make room for
new ones (``goai.serve.connections``).

Memory is bounded by the caps: ``max_sessions`` sessions (each a game, its
analyses and the last review), ``limit_concurrency`` connections, and the
bounded searches; a session that goes is freed, and so is a WebSocket's task.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from goai.rules.board import BLACK, WHITE
from goai.serve.model import Analysis, EngineUnavailable, SessionModel
from goai.serve.session import GameSession, NewGame, RequestError, ReviewSession

COOKIE = "goai_session"
MAX_JSON_BYTES = 4096
JSON = "application/json"
SGF = "application/x-go-sgf"
SAME_ORIGIN_FETCHES = ("same-origin", "none")  # Sec-Fetch-Site values of the page, or typed
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]

if TYPE_CHECKING:  # imported when the server runs: tests of the app need no uvicorn
    import uvicorn

log = logging.getLogger("goai.serve.app")


@dataclass(frozen=True)
class ServeConfig:
    """Where to listen and the bounds on what clients may use.

    ``allowed_hosts`` are the Host header names accepted (``"*"``: any); None:
    the loopback names (``localhost``, any loopback address) when ``host`` is a
    loopback address, any otherwise. ``request_seconds`` is the time a
    connection has to send a request whole (``goai.serve.connections``).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    max_sessions: int = 32
    idle_minutes: float = 60.0
    max_upload_bytes: int = 1_000_000
    max_review_moves: int = 1000
    allowed_hosts: tuple[str, ...] | None = None
    request_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0 to 65535, not {self.port}")
        if self.max_sessions < 1 or self.max_upload_bytes < 1 or self.max_review_moves < 1:
            raise ValueError("the session, upload and review limits must be at least 1")
        if not self.idle_minutes > 0:
            raise ValueError(f"idle minutes must be positive, not {self.idle_minutes}")
        if not self.request_seconds > 0:
            raise ValueError(f"request seconds must be positive, not {self.request_seconds}")

    @property
    def is_loopback(self) -> bool:
        """Whether ``host`` is this machine only: ``localhost`` or any loopback address."""
        return is_loopback_name(self.host.strip("[]"))

    @property
    def max_connections(self) -> int:
        """uvicorn's ``limit_concurrency``: the open connections and running requests."""
        return 8 * self.max_sessions + 16

    def accepts_host(self, header: str) -> bool:
        """Whether a request with this Host header is served (see ``allowed_hosts``)."""
        if self.allowed_hosts is None and not self.is_loopback or "*" in (
                self.allowed_hosts or ()):
            return True
        name = host_name(header)
        if name is None:
            return False
        if self.allowed_hosts is not None:
            return name in self.allowed_hosts
        return is_loopback_name(name)


def host_name(header: str) -> str | None:
    """The host name of a Host header, lower case, without port or IPv6 brackets
    (``[::1]:8000`` -> ``::1``, ``Localhost:80`` -> ``localhost``); None if malformed."""
    header = header.strip().lower()
    if header.startswith("["):
        name, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:]
    else:
        name, _, port = header.partition(":")
    if not name or (port and not (port.isascii() and port.isdigit())):
        return None
    return name


def is_loopback_name(name: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ``::1``)."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# ----------------------------------------------------------------- sessions


@dataclass
class _Slot:
    """A session and what the store needs to know of it: ``lock`` runs its requests one at
    a time; ``returned``: its cookie came back (a browser holds it); ``sockets``: its open
    WebSockets."""

    session: GameSession
    lock: asyncio.Lock
    returned: bool = False
    sockets: int = 0

    @property
    def busy(self) -> bool:
        """Running a request or holding a WebSocket: a page is using it now."""
        return self.lock.locked() or self.sockets > 0


class SessionStore:
    """The live sessions, by cookie id, least recently used first. Used from the event loop
    only, so it needs no lock.

    At most ``max_sessions``: a new one first drops those idle for
    ``idle_minutes``, then, when all places are taken, the least recently used
    one that never came back (its cookie was never sent again: a script without
    cookies, a page that closed at once), else the least recently used idle
    one. Only when every session is busy is a new one refused (503).
    """

    def __init__(self, engine: SessionModel, config: ServeConfig) -> None:
        self.engine = engine
        self.config = config
        self.slots: dict[str, _Slot] = {}  # in order of use: the least recent first

    def get(self, session_id: str | None) -> _Slot | None:
        """The session of this cookie (marked used now, and as come back), or None."""
        slot = self.slots.pop(session_id or "", None)
        if slot is not None:
            self.slots[slot.session.id] = slot  # to the end: the most recently used
            slot.session.last_used = time.monotonic()
            slot.returned = True
        return slot

    def create(self) -> _Slot:
        """A new session, making room as the class docstring says; 503 when all are busy."""
        cutoff = time.monotonic() - 60 * self.config.idle_minutes
        for key, slot in list(self.slots.items()):
            if slot.session.last_used < cutoff and not slot.busy:
                del self.slots[key]
        if len(self.slots) >= self.config.max_sessions:
            idle = [key for key, slot in self.slots.items() if not slot.busy]
            never_back = [key for key in idle if not self.slots[key].returned]
            if not idle:
                raise HTTPException(503, f"the server is full ({self.config.max_sessions} "
                                         "sessions, all in use); try again later")
            del self.slots[(never_back or idle)[0]]
        session = GameSession(self.engine)
        slot = self.slots[session.id] = _Slot(session, asyncio.Lock())
        return slot


# ----------------------------------------------------------------- requests


def _cross_site(headers: Mapping[str, str]) -> str | None:
    """Why a request comes from another site, or None: an ``Origin`` that is not this
    server (the Host it was sent to), or a ``Sec-Fetch-Site`` other than same-origin or
    none. Scripts send neither header, and pass."""
    origin = headers.get("origin")
    if origin is not None and urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
        return f"requests from {origin[:60]} are refused"
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in SAME_ORIGIN_FETCHES:
        return f"{fetch_site[:20]} requests are refused"
    return None


def _check_request(request: Request, content_type: str | None) -> None:
    """403 for a request from another site, 415 for a POST that does not say
    ``content_type``: both before a session is looked up or made."""
    refused = _cross_site(request.headers)
    if refused is not None:
        raise HTTPException(403, refused)
    if content_type is not None:
        sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if sent != content_type:
            raise HTTPException(415, f"send the body as {content_type}")


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (read no further than that)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the request is over the limit of {limit} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"the request is over the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # gone, or cut for being slow: nobody reads the answer
        raise HTTPException(408, "the request was not sent whole in time") from None
    return b"".join(chunks)


async def _read_json(request: Request) -> dict:
    body = await _read_body(request, MAX_JSON_BYTES)
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return data


def _new_game(data: dict) -> NewGame:
    """The new-game form from JSON; 400 for wrong types (``NewGame`` checks the ranges)."""
    colors = {"black": BLACK, "white": WHITE}
    color = data.get("color", "black")
    handicap = data.get("handicap", 0)
    komi = data.get("komi", 7.5)
    if not isinstance(color, str) or color not in colors:
        raise RequestError("color must be \"black\" or \"white\"")
    if isinstance(handicap, bool) or not isinstance(handicap, int):
        raise RequestError("handicap must be a whole number")
    if isinstance(komi, bool) or not isinstance(komi, int | float):
        raise RequestError("komi must be a number")
    level = data.get("level")
    if level is not None and not isinstance(level, str):
        raise RequestError("level must be a level's name, such as \"2\"")
    return NewGame(colors[color], handicap, float(komi), level)


Handler = Callable[[Request, "_Slot"], Awaitable[object]]


def _error(status: int, message: str, reason: str = "bad-request") -> JSONResponse:
    return JSONResponse({"error": message, "reason": reason}, status_code=status)


class App:
    """The routes; ``create_app`` wraps them in Starlette with the middleware."""

    def __init__(self, engine: SessionModel, config: ServeConfig) -> None:
        self.engine = engine
        self.config = config
        self.sessions = SessionStore(engine, config)
        self.files = _web_files()

    def _endpoint(self, handler: Handler, kind: str, content_type: str | None) -> Callable:
        """A route around ``handler(request, slot)``: refuses other sites and a body that is
        not ``content_type`` (``_check_request``), finds or starts the session, runs one
        request of a session at a time (see ``routes`` for ``kind``), turns ``RequestError``
        into 400 and a dict into JSON.
        """

        async def endpoint(request: Request) -> Response:
            _check_request(request, content_type)
            slot = self.sessions.get(request.cookies.get(COOKIE))
            fresh = slot is None
            if slot is None:
                slot = self.sessions.create()
            if kind == "change" and slot.lock.locked():
                return _error(409, "busy: the engine is thinking", "busy")
            try:
                if kind != "free":
                    async with slot.lock:
                        result = await handler(request, slot)
                else:
                    result = await handler(request, slot)
            except RequestError as error:
                return _error(400, str(error), error.reason)
            response = result if isinstance(result, Response) else JSONResponse(result)
            if fresh:
                response.set_cookie(COOKIE, slot.session.id, httponly=True, samesite="strict")
            return response

        return endpoint

    # ------------------------------------------------------------- the game

    async def state(self, request: Request, slot: _Slot) -> object:
        return slot.session.state_json()

    async def new(self, request: Request, slot: _Slot) -> object:
        session = slot.session
        setup = _new_game(await _read_json(request))
        session.new_game(setup)
        return session.state_json()

    async def play(self, request: Request, slot: _Slot) -> object:
        session = slot.session
        move = (await _read_json(request)).get("move")
        if not isinstance(move, str):
            raise RequestError("send {\"move\": \"D4\"} or {\"move\": \"pass\"}", "not-a-move")
        # In a worker thread: a pass that ends the game is counted with the model's help.
        await run_in_threadpool(session.play, move)
        return session.state_json()

    async def genmove(self, request: Request, slot: _Slot) -> object:
        session = slot.session
        await run_in_threadpool(session.engine_move)
        return session.state_json()

    async def resign(self, request: Request, slot: _Slot) -> object:
        session = slot.session
        session.resign()
        return session.state_json()

    async def undo(self, request: Request, slot: _Slot) -> object:
        session = slot.session
        session.undo()
        return session.state_json()

    async def analysis(self, request: Request, slot: _Slot) -> object:
        return (await self._analyze(slot)).as_json()

    async def _analyze(self, slot: _Slot, *, stop: Callable[[], bool] | None = None,
                       on_snapshot: Callable[[Analysis], None] | None = None) -> Analysis:
        """The current position's analysis: the cached one, or computed (a bounded search)
        on a copy of the position without holding the session (a move may come in
        meanwhile). An analysis cut short by ``stop`` is not cached.
        """
        async with slot.lock:
            cached = slot.session.cached_analysis()
            if cached is not None:
                return cached
            version, position = slot.session.position()
        analysis = await run_in_threadpool(
            lambda: self.engine.analyze(position, stop=stop, on_snapshot=on_snapshot))
        if stop is None or not stop():
            async with slot.lock:
                slot.session.store_analysis(version, analysis)
        return analysis

    async def game_sgf(self, request: Request, slot: _Slot) -> object:
        return _download(slot.session.sgf(), "goai-game.sgf")

    # ------------------------------------------------------------- review

    async def review(self, request: Request, slot: _Slot) -> object:
        session = slot.session
        data = await _read_body(request, self.config.max_upload_bytes)
        reviewed = await run_in_threadpool(ReviewSession.from_upload, self.engine, data,
                                           max_moves=self.config.max_review_moves)
        session.review = reviewed
        return reviewed.as_json()

    async def review_sgf(self, request: Request, slot: _Slot) -> object:
        session = slot.session
        if session.review is None:
            raise RequestError("no game reviewed yet: upload one first", "no-review")
        return _download(session.review.annotated_sgf(), "goai-review.sgf")

    # ------------------------------------------------------------- streaming

    async def websocket(self, websocket: WebSocket) -> None:
        """Analysis on request: ``{"op": "analyze"}`` -> analysis objects, the last ``final``;
        ``{"op": "stop"}`` ends a running one (the page sends it before a move).

        The session is the page's (its cookie); a socket without one is closed
        with code 4401. Bad messages get ``{"type": "error", ...}`` and the
        socket stays open. A search streams snapshots (``final`` false) while it
        runs; a new request or the socket closing stops it (a stopped analysis
        sends nothing more), and the engine's visit and time caps bound it.
        """
        if _cross_site(websocket.headers) is not None:
            await websocket.close(code=4403)
            return
        slot = self.sessions.get(websocket.cookies.get(COOKIE))
        if slot is None:
            await websocket.close(code=4401)
            return
        await websocket.accept()
        slot.sockets += 1  # a page shows the session: it is not dropped for a new one
        running: tuple[asyncio.Task, threading.Event] | None = None

        async def finish() -> None:
            if running is not None:
                running[1].set()
                await asyncio.gather(running[0], return_exceptions=True)

        try:
            while True:
                try:
                    message = json.loads(await websocket.receive_text())
                except (ValueError, KeyError):
                    await websocket.send_json({"type": "error", "error": "send JSON text"})
                    continue
                op = message.get("op") if isinstance(message, dict) else None
                if op not in ("analyze", "stop"):
                    await websocket.send_json({"type": "error", "error": "unknown op: send "
                                               "{\"op\": \"analyze\"} or {\"op\": \"stop\"}"})
                    continue
                await finish()
                running = None
                if op == "stop":  # the page is about to move: the engine gets the cores
                    continue
                stop = threading.Event()
                running = (asyncio.create_task(self._stream(websocket, slot, stop)), stop)
        except WebSocketDisconnect:
            return
        finally:
            slot.sockets -= 1
            await finish()

    async def _stream(self, websocket: WebSocket, slot: _Slot, stop: threading.Event) -> None:
        """One streamed analysis: snapshots from the worker thread, then the final one."""
        loop = asyncio.get_running_loop()

        def snapshot(analysis: Analysis) -> None:  # in the worker thread
            if not stop.is_set():
                asyncio.run_coroutine_threadsafe(
                    _send_quietly(websocket, analysis.as_json()), loop).result()

        try:
            analysis = await self._analyze(slot, stop=stop.is_set, on_snapshot=snapshot)
        except (EngineUnavailable, RequestError) as error:
            await _send_quietly(websocket, {"type": "error", "error": str(error)})
            return
        if not stop.is_set():
            await _send_quietly(websocket, analysis.as_json())

    # ------------------------------------------------------------- the page

    async def page(self, request: Request) -> Response:
        name = request.path_params.get("name", "index.html")
        if name not in self.files:
            raise HTTPException(404, f"no such file: {name[:40]}")
        body, content_type = self.files[name]
        return Response(body, media_type=content_type,
                        headers={"cache-control": "no-cache"})

    def routes(self) -> list:
        # (path, handler, method, kind): "read" waits for the session's running request,
        # "change" is refused with 409 while one runs, "free" takes the lock itself.
        # A POST's body must be JSON (the SGF for a review): a content type that a page
        # elsewhere cannot send without a CORS preflight.
        game = [("/api/state", self.state, "GET", "read"),
                ("/api/new", self.new, "POST", "change"),
                ("/api/play", self.play, "POST", "change"),
                ("/api/genmove", self.genmove, "POST", "change"),
                ("/api/resign", self.resign, "POST", "change"),
                ("/api/undo", self.undo, "POST", "change"),
                ("/api/analysis", self.analysis, "GET", "free"),
                ("/api/game.sgf", self.game_sgf, "GET", "read"),
                ("/api/review", self.review, "POST", "change"),
                ("/api/review.sgf", self.review_sgf, "GET", "read")]
        return [Route("/", self.page), Route("/static/{name}", self.page),
                *(Route(path, self._endpoint(handler, kind, None if method == "GET" else
                                             SGF if path == "/api/review" else JSON),
                        methods=[method])
                  for path, handler, method, kind in game),
                WebSocketRoute("/api/ws", self.websocket)]


async def _send_quietly(websocket: WebSocket, data: dict) -> None:
    """Send ``data`` unless the socket has gone (then the receiving loop ends the analysis)."""
    try:
        await websocket.send_json(data)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass


def _download(text: str, filename: str) -> Response:
    return Response(text.encode("utf-8"), media_type="application/x-go-sgf",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


def _web_files() -> dict[str, tuple[bytes, str]]:
    """The page's files, read once from the package: name -> (bytes, content type)."""
    files = {}
    for entry in (resources.files("goai.serve") / "web").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in CONTENT_TYPES:
            files[entry.name] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    return files


HTTP_REASONS = {400: "bad-request", 403: "cross-site", 404: "not-found",
                405: "method-not-allowed", 408: "timeout", 413: "too-large",
                415: "content-type", 503: "full"}


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    reason = HTTP_REASONS.get(error.status_code, "http")
    return _error(error.status_code, str(error.detail), reason)


async def _engine_unavailable(request: Request, error: Exception) -> Response:
    return _error(503, str(error), "no-model")


async def _server_error(request: Request, error: Exception) -> Response:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=error)
    return _error(500, "internal error: the server's log has the details", "internal")


class _HostCheck:
    """Refuses a request whose Host header ``config.accepts_host`` does not accept: 400 for
    HTTP, a closed WebSocket. Starlette's ``TrustedHostMiddleware`` cut ``[::1]:8000`` at
    its first colon, so an IPv6 loopback server refused every request."""

    def __init__(self, app: Callable, config: ServeConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] in ("http", "websocket"):
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if not self.config.accepts_host(host):
                if scope["type"] == "http":
                    response = _error(400, f"the host name {host[:60]!r} is not served here",
                                      "bad-host")
                    await response(scope, receive, send)
                else:
                    await send({"type": "websocket.close", "code": 4400})
                return
        await self.app(scope, receive, send)


class _SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response (the page's own code only, no framing)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def create_app(engine: SessionModel, config: ServeConfig | None = None) -> Starlette:
    """The ASGI app: ``goai serve``'s page and API for ``engine`` under ``config``'s bounds."""
    config = config or ServeConfig()
    routes = App(engine, config)
    app = Starlette(
        routes=routes.routes(),
        middleware=[Middleware(_SecurityHeaders), Middleware(_HostCheck, config=config)],
        exception_handlers={HTTPException: _http_error, EngineUnavailable: _engine_unavailable,
                            Exception: _server_error},
    )
    app.state.goai = routes  # the sessions, for tests and for an embedding program
    return app


def uvicorn_config(app: Starlette, config: ServeConfig) -> uvicorn.Config:
    """uvicorn's settings for ``app``: its h11 protocol with the request-read deadline and
    the room-making cap (``goai.serve.connections``), 64 KB WebSocket messages, no
    ``Server`` header, warnings only."""
    import uvicorn

    from goai.serve.connections import bounded_protocol

    return uvicorn.Config(app, http=bounded_protocol(config.request_seconds),
                          log_level="warning", ws_max_size=64 * 1024,
                          limit_concurrency=config.max_connections, timeout_keep_alive=5,
                          server_header=False)


def run_server(engine: SessionModel, config: ServeConfig, *,
               announce: Callable[[str], None]) -> None:
    """Listen on ``config.host:config.port`` until interrupted.

    The socket is bound here, before uvicorn starts, so that a port in use is
    one ``OSError`` for the caller and port 0 can announce the port it got.
    The model loads in a thread while the page is already served; if it
    cannot be loaded the server stops and the loading error is raised here.
    ``announce`` receives the address line (and the warning when exposed).
    """
    import uvicorn

    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError:
        sock.close()
        raise
    port = sock.getsockname()[1]
    shown = f"[{config.host}]" if family == socket.AF_INET6 else config.host
    if not config.is_loopback:
        announce(f"warning: listening on {config.host}, not only this machine: anyone who can "
                 "reach it can play and upload games")
    server = uvicorn.Server(uvicorn_config(create_app(engine, config), config))
    failed: list[BaseException] = []

    def loaded(error: BaseException | None) -> None:
        if error is not None:
            failed.append(error)
            server.should_exit = True

    async def serve_then_load() -> None:
        # Loading imports torch, which holds the interpreter for seconds: begun only once
        # the server listens, it delays the first page less.
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        engine.start_loading(loaded)
        await serving

    announce(f"goai serve: open http://{shown}:{port}/ (Ctrl-C stops)")
    asyncio.run(serve_then_load())
    if failed:
        raise failed[0]
