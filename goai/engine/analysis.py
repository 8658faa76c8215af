"""Analysis for GUIs: lz-analyze / kata-analyze ``info`` lines, streamed, and GoGui's gfx.

What an analysis says is a list of ``AnalysisCandidate`` moves, best first; this
module reads the requests, writes the formats and streams a running search's
lines (``analysis_lines``, ``search_lines``). With a search
(``goai.search.result.MoveStats``) the candidates are the root's children: real
visits, the win rate and its lower confidence bound for the side to move,
the prior, and the principal variation (``pv``) down the most visited moves.
Sabaki draws its heat map from visits x winrate and the variation on hover;
Lizzie lists the moves with visits, win rate and the variation.

Without a search (a model without a value head) the candidates come from the
policy (``policy_candidates``):
``prior`` is the policy probability, ``visits`` is ``round(prior * 1000)``
(Sabaki draws its heat map from visits x winrate, Lizzie colours the listed
moves by prior), ``winrate`` is the value head's estimate for the side to move
(0.5 without one) and ``pv`` is the move itself.

``info`` lines
--------------
All candidates go on one line, best first, as Leela Zero writes them:
``info move D4 visits 120 winrate 5312 prior 2210 lcb 5010 order 0 pv D4 Q16``
(``lz-``: win rate, prior and LCB as integers x 10000; ``kata-``: floats in
[0, 1] with six decimals). ``kata-`` adds KataGo's ``scoreLead`` after the
win rate when the network that gives the values has a score head: the
search's mean score after the move, in points, for the side to move (KataGo's
``SIDETOMOVE`` view, the one GUIs expect); without a score head it is left
out, never made up. A candidate with no visit ends the
line once ``minmoves`` candidates are listed; ``maxmoves`` caps the count;
``avoid``/``allow`` bar moves at the root: the search spends no visits on
them, ``lz-genmove_analyze`` never plays them, and they are left off the
line (the "until move N" is read, but deeper moves are not restricted). The
line is written at once and then repeated every interval (at least ``MIN_INTERVAL`` seconds, at most
``MAX_INTERVAL``) until any input line arrives; the response then ends with
the blank line and the new line is handled as usual (Sabaki interrupts with
``protocol_version``, Lizzie with ``name``). ``lz-`` prints integers x 10000,
``kata-`` floats.

Streaming
---------
``lz-analyze``/``kata-analyze`` search one batch first, so that even an
analysis interrupted at once has visits to report, then until any input line
arrives or ``MAX_ANALYSIS_VISITS`` (the tree's memory grows with every visit),
writing an ``info`` line per interval and one when stopped. The search runs in
a worker thread so that the lines can be written while it grows
(``search_lines``); the GTP thread waits for it.

Ownership
---------
``kata-analyze ... ownership true`` ends every line with ``ownership`` and
361 floats in [-1, 1], as KataGo does: row-major from the top-left (A19, B19
... T19, A18 ... T1), +1 = the side to move will own the point (KataGo's
"perspective of the current player"). KaTrain, Lizzie and Sabaki draw the
territory from it. The map is one forward pass of the network with the
ownership head at the root (KataGo averages it over the search tree, which
would cost 361 numbers per node). Without an ownership head the field is
left out (the ``info`` lines still come) and the engine's log says why.
GoGui gets the same map from ``ownership_gfx`` as ``INFLUENCE`` (positive
Black's, as GoGui draws it).
"""

from __future__ import annotations

import colorsys
import logging
import math
import queue
import threading
from collections.abc import Callable, Collection, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from goai.gtp.protocol import (
    GtpError,
    is_color,
    is_number,
    parse_color,
    parse_integer,
    parse_number,
    parse_vertex_list,
)
from goai.rules.board import BLACK, COLOR_WORDS
from goai.rules.coords import NETWORK_SIZE, PASS, index_to_move, move_to_gtp
from goai.search.limits import SearchLimits

if TYPE_CHECKING:
    from goai.play.player import Player
    from goai.rules.game import GameState
    from goai.search.result import SearchResult

log = logging.getLogger("goai.gtp.protocol")

ANALYSIS_VISITS = 1000
# About 15 KB of tree per visit on an open 19x19 board: 25,000 visits stay under 400 MB.
MAX_ANALYSIS_VISITS = 25_000
MIN_INTERVAL = 0.1
# Centiseconds arrive as any number a controller sends; an hour between
# repeats is as good as never, and a longer wait overflows the thread timeout.
MAX_INTERVAL = 3600.0
_KATA_FLAGS = {"ownership", "ownershipStdev", "pvVisits", "pvEdgeVisits", "movesOwnership",
               "rootInfo", "includePolicy"}


class AnalysisCandidate(Protocol):
    """What an ``info`` line says about one move (``search.MoveStats`` is one).

    ``winrate`` and ``lcb`` are the side to move's win probability in [0, 1]
    (``winrate`` None: never visited, printed as 0); ``prior`` the policy
    probability; ``pv`` the expected variation starting with ``move``. An
    optional ``score_lead`` (read with ``getattr``; None: no score) is the
    side to move's expected lead in points after the move.
    """

    @property
    def move(self) -> int: ...
    @property
    def visits(self) -> int: ...
    @property
    def winrate(self) -> float | None: ...
    @property
    def prior(self) -> float: ...
    @property
    def lcb(self) -> float: ...
    @property
    def pv(self) -> tuple[int, ...]: ...


@dataclass(frozen=True)
class PolicyCandidate:
    """An ``AnalysisCandidate`` read from the policy alone: no search, so no real visits."""

    move: int
    visits: int
    winrate: float
    prior: float
    lcb: float
    pv: tuple[int, ...]
    score_lead: float | None = None


def policy_candidates(probabilities: np.ndarray, value: float | None) -> list[PolicyCandidate]:
    """The policy's moves with probability > 0, most probable first (ties: lowest index).

    ``probabilities`` (362,) in network move order; ``value`` in [-1, 1] for
    the side to move, or None (reported as a win rate of 0.5). ``visits`` is
    ``round(prior * ANALYSIS_VISITS)``, ``lcb`` the win rate, ``pv`` the move.
    """
    winrate = 0.5 if value is None else (value + 1) / 2
    candidates = []
    for index in np.argsort(-probabilities, kind="stable"):
        prior = float(probabilities[index])
        if prior <= 0:
            break
        move = index_to_move(int(index))
        candidates.append(PolicyCandidate(move, round(prior * ANALYSIS_VISITS), winrate, prior,
                                          winrate, (move,)))
    return candidates


@dataclass
class AnalysisRequest:
    """Arguments of ``lz-analyze``/``kata-analyze`` and the ``*-genmove_analyze`` commands:
    ``[color] [interval] [interval N] [minmoves N] [maxmoves N] [avoid|allow C V,V.. N]``
    and KataGo's boolean flags: ``ownership true`` sets ``ownership``, the others
    are accepted and not provided.

    ``interval`` is in seconds (the command gives centiseconds), None or <= 0
    for one line only, else clamped to ``MAX_INTERVAL``.
    """

    color: int
    interval: float | None = None
    min_moves: int = 0
    max_moves: int | None = None
    avoid: set[int] = field(default_factory=set)
    allow: set[int] | None = None
    ownership: bool = False

    @classmethod
    def parse(cls, args: list[str], to_play: int) -> AnalysisRequest:
        """Raises ``GtpError("syntax error")`` for arguments it cannot read."""
        request = cls(to_play)
        rest = list(args)
        if rest and is_color(rest[0]):
            request.color = parse_color(rest.pop(0))
        if rest and is_number(rest[0]):
            request.interval = _seconds(parse_number(rest.pop(0)))
        while rest:
            key = rest.pop(0)
            if key in ("interval", "minmoves", "maxmoves") and rest:
                value = parse_integer(rest.pop(0))
                if value < 0:
                    raise GtpError("syntax error")
                if key == "interval":
                    request.interval = _seconds(value)
                elif key == "minmoves":
                    request.min_moves = value
                else:
                    request.max_moves = value
            elif key in ("avoid", "allow") and len(rest) >= 3:
                color, moves = parse_color(rest[0]), parse_vertex_list(rest[1])
                parse_integer(rest[2])  # "until move N": read; only the root is restricted
                del rest[:3]
                if color == request.color:
                    if key == "avoid":
                        request.avoid |= moves
                    else:
                        request.allow = (request.allow or set()) | moves
            elif key in _KATA_FLAGS and rest and rest[0].lower() in ("true", "false"):
                value = rest.pop(0).lower() == "true"
                if key == "ownership":
                    request.ownership = value
            else:
                raise GtpError("syntax error")
        return request

    def wants(self, move: int) -> bool:
        return move not in self.avoid and (self.allow is None or move in self.allow)


def _seconds(centiseconds: float) -> float:
    return min(centiseconds / 100, MAX_INTERVAL)


def info_line(candidates: Sequence[AnalysisCandidate], request: AnalysisRequest, dialect: str,
              ownership: np.ndarray | None = None) -> str:
    """The candidates, best first, on one line in the Leela Zero (``"lz"``) or KataGo
    (``"kata"``) dialect; ``order`` counts the candidates written. Empty when the
    request leaves no candidate. In the KataGo dialect a request with
    ``ownership`` ends the line with ``ownership_field(ownership)`` when the map
    (361,) for the side to move is given.
    """
    entries: list[str] = []
    for candidate in candidates:
        if not request.wants(candidate.move):
            continue
        if candidate.visits < 1 and len(entries) >= request.min_moves:
            break
        if request.max_moves is not None and len(entries) >= request.max_moves:
            break
        vertex = move_to_gtp(candidate.move, NETWORK_SIZE)
        winrate = 0.0 if candidate.winrate is None else candidate.winrate
        prior, lcb = candidate.prior, candidate.lcb
        if dialect == "lz":
            numbers = (f"winrate {round(winrate * 10000)} prior {round(prior * 10000)} "
                       f"lcb {round(lcb * 10000)}")
        else:
            score = getattr(candidate, "score_lead", None)
            lead = "" if score is None else f" scoreLead {score:.6f}"
            numbers = f"winrate {winrate:.6f}{lead} prior {prior:.6f} lcb {lcb:.6f}"
        pv = " ".join(move_to_gtp(move, NETWORK_SIZE) for move in candidate.pv)
        entries.append(f"info move {vertex} visits {candidate.visits} {numbers} "
                       f"order {len(entries)} pv {pv}")
    if entries and dialect == "kata" and request.ownership and ownership is not None:
        entries.append(ownership_field(ownership))
    return " ".join(entries)


def ownership_field(ownership: np.ndarray) -> str:
    """``ownership`` and the (361,) map's values with six decimals, in ``coords`` point
    order, which is KataGo's: row by row from the top (A19 ... T19, A18 ... T1)."""
    return "ownership " + " ".join(f"{value:.6f}" for value in np.asarray(ownership).tolist())


def ownership_gfx(ownership: np.ndarray, dead: Collection[int], seki: Collection[int],
                  text: str) -> str:
    """GoGui gfx of a territory map: ``INFLUENCE`` per point of the (361,) map from
    Black's view (GoGui draws positive black, negative white; points below 0.05 are
    left out), ``MARK`` on the ``dead`` stones, ``TRIANGLE`` on the ``seki`` ones, and
    ``text`` in the status bar."""
    influence = [f"{move_to_gtp(point, NETWORK_SIZE)} {value:.2f}"
                 for point, value in enumerate(np.asarray(ownership).tolist())
                 if abs(value) >= 0.05]
    lines = [f"INFLUENCE {' '.join(influence)}"] if influence else []
    for command, points in (("MARK", dead), ("TRIANGLE", seki)):
        if points:
            lines.append(f"{command} "
                         + " ".join(move_to_gtp(point, NETWORK_SIZE) for point in sorted(points)))
    lines.append(f"TEXT {text}")
    return "\n".join(lines)


def repeat(line: str, interval: float | None,
           input_waiting: Callable[[float | None], bool]) -> Iterator[str]:
    """``line`` now and every ``interval`` s until ``input_waiting(timeout)`` says input came.

    Nothing when ``line`` is empty (every move avoided): an empty line would end
    the response early. With no interval the line is written once and the
    response stays open until input arrives, as Leela Zero does.
    """
    if not line or interval is None or interval <= 0:
        if line:
            yield line
        input_waiting(None)
        return
    yield line
    while not input_waiting(min(max(interval, MIN_INTERVAL), MAX_INTERVAL)):
        yield line


# ----------------------------------------------------------------- streaming a search


def snapshot_interval(request: AnalysisRequest) -> float | None:
    """Seconds between ``info`` lines, at least ``MIN_INTERVAL``; None: only the last."""
    if request.interval is None or request.interval <= 0:
        return None
    return max(request.interval, MIN_INTERVAL)


def requested_ownership(player: Player, position: GameState, request: AnalysisRequest,
                        dialect: str) -> np.ndarray | None:
    """The ownership map (361,) for ``position``'s side to move when the request asks for
    it (``kata-`` with ``ownership true``) and a network has the head, else None."""
    if not (request.ownership and dialect == "kata"):
        return None
    analysis = player.ownership_analysis(position)
    if analysis is None or analysis.ownership is None:
        log.warning("ownership asked for, but neither network has an ownership head")
        return None
    return analysis.ownership


def search_lines(work: Callable[[Callable[[SearchResult], None]], object],
                 request: AnalysisRequest, dialect: str,
                 ownership: np.ndarray | None = None) -> Generator[str, None, object]:
    """Run ``work(on_snapshot)`` in a thread, yielding an ``info`` line per snapshot;
    return what ``work`` returned (or raise what it raised).

    The search runs in a worker thread so that the lines can be written while
    it grows; the caller's thread waits for it, so no command is handled meanwhile.
    """
    lines: queue.Queue[str | None] = queue.Queue()
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = work(lambda result: lines.put(
                info_line(result.moves, request, dialect, ownership)))
        except BaseException as error:  # handed to the GTP thread, which answers for it
            outcome["error"] = error
        finally:
            lines.put(None)

    thread = threading.Thread(target=target, name="goai-search", daemon=True)
    thread.start()
    while (line := lines.get()) is not None:
        if line:
            yield line
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]


def analysis_lines(player: Player, position: GameState, request: AnalysisRequest,
                   dialect: str, input_waiting: Callable[[float | None], bool],
                   symmetries: int = 1) -> Iterator[str]:
    """The ``info`` lines of ``lz-analyze``/``kata-analyze`` on ``position``: a search
    that runs until ``input_waiting`` says input arrived, or ``MAX_ANALYSIS_VISITS``.

    One batch first, so that even an analysis interrupted at once has visits to
    report; an ``info`` line per interval and one when stopped. Without a value
    head, the policy's line, repeated until input. ``symmetries`` 8 averages
    every evaluation over the 8 board symmetries.
    """
    ownership = requested_ownership(player, position, request, dialect)
    if not player.can_search:
        result = player.policy.analyze(position)
        line = info_line(policy_candidates(result.probabilities, result.value), request,
                         dialect, ownership)
        yield from repeat(line, request.interval, input_waiting)
        return
    search = player.prepared_search(symmetries)
    interval = snapshot_interval(request)

    def work(on_snapshot: Callable[[SearchResult], None]) -> SearchResult:
        search.run(position, SearchLimits(playouts=search.config.batch_size),
                   allowed=request.wants)
        return search.run(position, SearchLimits(visits=MAX_ANALYSIS_VISITS),
                          stop=lambda: input_waiting(0),
                          on_snapshot=on_snapshot if interval else None,
                          snapshot_interval=interval or 1.0, allowed=request.wants)

    result = yield from search_lines(work, request, dialect, ownership)
    line = info_line(result.moves, request, dialect, ownership)  # type: ignore[attr-defined]
    if line:
        yield line
    input_waiting(None)  # at the visit cap: the answer stays open until input


def search_gfx(result: SearchResult, color: int) -> str:
    """GoGui gfx of a search: candidates coloured by visits (log scale, as ``heatmap_gfx``
    colours the policy) and labelled with them, the best move's variation as ``VAR``,
    the win rate and the visits in the status bar."""
    levels: dict[str, list[str]] = {}
    labels = []
    most = max((stats.visits for stats in result.moves), default=0)
    for stats in result.moves:
        if stats.visits < 1 or stats.move == PASS:
            continue
        vertex = move_to_gtp(stats.move, NETWORK_SIZE)
        strength = math.log(1 + stats.visits) / math.log(1 + most)
        levels.setdefault(_heat_color(strength), []).append(vertex)
        labels.append(f"{vertex} {stats.visits}")
    lines = [f"COLOR {hex_color} {' '.join(vertices)}" for hex_color, vertices in levels.items()]
    if labels:
        lines.append(f"LABEL {' '.join(labels)}")
    if result.moves and result.moves[0].visits > 0:
        colors = ("b", "w") if color == BLACK else ("w", "b")
        moves = [f"{colors[k % 2]} {move_to_gtp(move, NETWORK_SIZE)}"
                 for k, move in enumerate(result.moves[0].pv)]
        lines.append(f"VAR {' '.join(moves)}")
    lines.append(f"TEXT {COLOR_WORDS[color]}: win {100 * result.winrate:.1f}%, "
                 f"{result.visits} visits")
    return "\n".join(lines)


def _heat_color(strength: float) -> str:
    """``#rrggbb`` from blue (0) to red (1), in tenths."""
    red, green, blue = colorsys.hsv_to_rgb((1 - round(strength, 1)) * 2 / 3, 0.8, 1.0)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def heatmap_gfx(probabilities: np.ndarray, value: float | None, color: int) -> str:
    """GoGui gfx lines: COLOR groups, LABEL for the top ten, TEXT with pass and value."""
    levels: dict[str, list[str]] = {}
    points = probabilities[:-1]
    for point in np.flatnonzero(points >= 0.001):
        # Log scale as Pachi's DCNN colour map: 0.1 % -> 0, 100 % -> 1.
        strength = min(1.0, math.log(points[point] * 1000) / math.log(1000))
        levels.setdefault(_heat_color(strength), []).append(move_to_gtp(index_to_move(int(point)),
                                                            NETWORK_SIZE))
    lines = [f"COLOR {hex_color} {' '.join(vertices)}" for hex_color, vertices in levels.items()]
    top = [int(p) for p in np.argsort(-points, kind="stable")[:10] if points[p] >= 0.005]
    if top:
        labels = " ".join(f"{move_to_gtp(index_to_move(p), NETWORK_SIZE)} {round(100 * points[p])}"
                          for p in top)
        lines.append(f"LABEL {labels}")
    text = f"TEXT {COLOR_WORDS[color]}: pass {100 * probabilities[-1]:.1f}%"
    if value is not None:
        text += f", win {50 * (value + 1):.0f}%"
    lines.append(text)
    return "\n".join(lines)


__all__ = [
    "AnalysisCandidate",
    "AnalysisRequest",
    "PolicyCandidate",
    "analysis_lines",
    "heatmap_gfx",
    "info_line",
    "ownership_field",
    "ownership_gfx",
    "policy_candidates",
    "repeat",
    "requested_ownership",
    "search_gfx",
    "search_lines",
    "snapshot_interval",
]
