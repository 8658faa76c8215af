"""The GTP engine: one game, one player loaded at start-up, a ``cmd_*`` handler per command.

What Sabaki, Lizzie, GoGui, q5Go, KGS and match runners talk to. The protocol
(framing, arguments, the answer loop, ``name``/``list_commands``...) is
``goai.gtp.protocol``; the analysis formats are ``goai.engine.analysis``; here are the
commands that set up, play and look at the game.

``run_gtp`` loads torch and the model before it answers anything, as Leela
Zero and KataGo load their network: a first ``genmove`` under ``--time`` or a
game clock would otherwise spend seconds of its budget loading it (3 s of a
0.5 s move). Input that arrives meanwhile waits in the line queue. A model
that cannot be loaded is said once on stderr, and every command that needs
it answers ``? cannot load model: ...``; the engine goes on. ``GtpEngine`` itself
loads on first need (tests pass a fake policy). This module imports neither
torch nor gymnasium: a ``goai gtp --help`` or a test of the protocol stays fast.

Commands never change more than they say: ``genmove``/``reg_genmove``/
analysis for either colour leave the side to move and the policy's settings
as they were (the player takes the colour and the symmetries as arguments).

Board size
----------
The network plays 19x19 only, so ``boardsize`` answers ``unacceptable size``
for any other size (as Leela Zero and KataGo do beyond their compiled size),
and so does ``loadsgf`` for other records: a GUI then says at once that the
engine cannot play that board, instead of failing at the first genmove.
``loadsgf`` reads regular files of at most ``MAX_SGF_BYTES`` only
(``goai.records.sources.read_regular_file``): a device (``/dev/zero``) or a
FIFO is refused at once instead of filling memory or blocking the engine.

Time
----
``time_settings``/``kgs-time_settings``/``time_left`` set the engine's
``gtp_clock.Clock``, which gives each move its budget (see that module).

Ownership and score
-------------------
With ``--value-model`` the search takes its values (and scores) from that
network and its priors from ``--model``. ``kata-analyze ... ownership true``
ends each line with the 361 ownership values, and ``kata-*`` lines carry
``scoreLead``, when the networks have those heads (``goai.engine.analysis``);
``goai-territory`` draws the map in GoGui. ``final_status_list`` and
``final_score`` judge the dead stones from the ownership map when a network
has an ownership head (``goai.rules.status``: a string is dead when its stones'
mean ownership leans at least 0.5 the other way; seki from the shared
liberties neither side can fill), else by ``rules.status.dead_stones``' rule of
thumb (no seki); a model that cannot be loaded leaves them the rule of thumb.

Search
------
``genmove`` and friends play the ``Player``'s move: a search to the
configured ``visits``/``playouts``/``time`` (``goai.play.player``), or the raw
policy with ``visits`` 1. ``lz-analyze``/``kata-analyze`` always search (when
the model has a value head; without one they report the policy as before)
until any input line arrives, streaming ``info`` lines from a worker thread
(``goai.engine.analysis.analysis_lines``); the engine waits for it, so commands
are never handled during a search. The tree is kept between commands and reused
when the next position continues the game (``undo`` and ``play`` need
nothing: the search checks the history); ``clear_board``, ``boardsize`` and
``loadsgf`` drop it.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from goai import __version__
from goai.display.render import render_board
from goai.engine.analysis import (
    AnalysisRequest,
    analysis_lines,
    heatmap_gfx,
    info_line,
    ownership_gfx,
    policy_candidates,
    requested_ownership,
    search_gfx,
    search_lines,
    snapshot_interval,
)
from goai.engine.clock import Clock
from goai.engine.config import GtpConfig
from goai.gtp.protocol import (
    GtpError,
    GtpServer,
    LineQueue,
    command_name,
    expect_count,
    parse_color,
    parse_integer,
    parse_number,
    parse_seconds,
    parse_vertex,
    read_into,
)
from goai.play.player import (
    DEFAULT_VISITS,
    Decision,
    MovePolicy,
    Player,
    with_to_play,
)
from goai.records.record import GameRecord
from goai.records.sgf import parse_sgf, write_sgf
from goai.records.sources import DEFAULT_MAX_MEMBER_BYTES, read_regular_file
from goai.rules.board import BLACK, COLOR_NAMES, COLOR_WORDS, EMPTY, WHITE, IllegalMoveError
from goai.rules.coords import NETWORK_SIZE, PASS, move_to_gtp
from goai.rules.game import HANDICAP_VERTICES, GameState, fixed_handicap, format_result
from goai.rules.status import StoneStatus, black_view, dead_stones, estimated_score, judge
from goai.search.limits import SearchLimits
from goai.search.result import SearchResult

log = logging.getLogger("goai.gtp.protocol")

MAX_SGF_BYTES = DEFAULT_MAX_MEMBER_BYTES  # the cap on one file of goai's readers

def read_sgf_file(path: str) -> bytes:
    """The bytes of a regular file of at most ``MAX_SGF_BYTES`` (``sources.read_regular_file``),
    or ``GtpError``."""
    try:
        return read_regular_file(path, MAX_SGF_BYTES)
    except OSError:
        raise GtpError("cannot load file") from None
    except ValueError as error:  # a device, a FIFO, a folder; over the cap
        raise GtpError(f"cannot load file: {error}") from None


# ----------------------------------------------------------------- the engine


class GtpEngine(GtpServer):
    """The GTP engine: one game state, one lazily loaded policy, handlers ``cmd_*``.

    ``serve(lines, out)`` runs the protocol until ``quit`` or end of input.
    ``policy_factory`` builds the policy on first need (default: ``Policy``
    from ``config``); tests pass a fake one. ``value_factory`` builds the
    value network the same way (default: ``config.value_model``'s, None
    without one).
    """

    def __init__(self, config: GtpConfig | None = None,
                 policy_factory: Callable[[], MovePolicy] | None = None,
                 value_factory: Callable[[], MovePolicy | None] | None = None) -> None:
        super().__init__()
        self.config = config or GtpConfig()
        self._policy_factory = policy_factory or self._load_policy
        self._value_factory = value_factory or self._load_value_policy
        self._player: Player | None = None
        self.state = GameState(NETWORK_SIZE)
        self.clock = Clock()
        self._seconds_per_symmetry = 0.0

    # ------------------------------------------------------------- helpers

    def _load_policy(self) -> MovePolicy:
        from goai.nn.policy import Policy  # torch: only now, never at start-up

        options = {} if self.config.device == "auto" else {"device": self.config.device}
        # One orientation per forward: the raw move asks for 8 explicitly when configured,
        # and the search's evaluator draws (or averages) its own symmetries.
        policy = Policy(self.config.model, symmetries=1, threads=self.config.threads, **options)
        # Everything loaded so far lives as long as the engine: a full collection
        # inside a search would walk torch's objects for 0.2-0.5 s (goai.search.tree).
        gc.collect()
        gc.freeze()
        return policy

    def _load_value_policy(self) -> MovePolicy | None:
        if self.config.value_model is None:
            return None
        from goai.nn.policy import Policy

        options = {} if self.config.device == "auto" else {"device": self.config.device}
        return Policy(self.config.value_model, symmetries=1, threads=self.config.threads,
                      **options)

    def _get_player(self) -> Player:
        if self._player is None:
            started = time.perf_counter()
            try:
                policy = self._policy_factory()
            except Exception as error:  # a missing file, not a checkpoint, torch.load's own
                raise GtpError(f"cannot load model: {error}") from None
            try:
                value_policy = self._value_factory()
                if value_policy is not None:
                    from goai.search.evaluator import check_value_network

                    check_value_network(policy, value_policy)  # type: ignore[arg-type]
            except Exception as error:  # as above; or no value head, another feature set
                raise GtpError(f"cannot load value model: {error}") from None
            self._player = Player.from_config(policy, self.config.player, seed=self.config.seed,
                                              value_policy=value_policy)
            log.info("model loaded in %.2f s", time.perf_counter() - started)
        return self._player

    def _decide(self, color: int, *, cleanup: bool = False, play: bool = True,
                on_snapshot: Callable[[SearchResult], None] | None = None,
                snapshot_interval: float = 1.0,
                allowed: Callable[[int], bool] | None = None) -> Decision:
        """A decision for ``color`` in the current position, within the time budget;
        its time is counted on the engine's own clock when the move is ``play``ed."""
        started = time.perf_counter()
        try:
            return self._decide_timed(color, started, cleanup, on_snapshot, snapshot_interval,
                                      allowed)
        finally:
            if play:
                self.clock.spend(color, time.perf_counter() - started)

    def _decide_timed(self, color: int, started: float, cleanup: bool,
                      on_snapshot: Callable[[SearchResult], None] | None,
                      snapshot_interval: float,
                      allowed: Callable[[int], bool] | None = None) -> Decision:
        player = self._get_player()  # the first move pays for loading: counted below
        seconds = self.clock.move_seconds(color, self.state.board.stones.count(EMPTY),
                                          self.config.lag_buffer,
                                          time.perf_counter() - started)
        configured = self.config.symmetries
        if player.config.raw or not player.can_search:
            use = configured
            if seconds is not None and self._seconds_per_symmetry * configured > seconds:
                use = 1
            before = time.perf_counter()
            decision = player.decide(self.state, color, cleanup=cleanup, symmetries=use,
                                     allowed=allowed)
            per_symmetry = (time.perf_counter() - before) / use
            self._seconds_per_symmetry = (per_symmetry if not self._seconds_per_symmetry
                                          else 0.5 * (self._seconds_per_symmetry + per_symmetry))
            return decision
        decision = player.decide(self.state, color, cleanup=cleanup, symmetries=configured,
                                 seconds=seconds, on_snapshot=on_snapshot,
                                 snapshot_interval=snapshot_interval, allowed=allowed)
        result = decision.search
        if result is not None:
            timing = result.timing
            log.info("searched %d playouts (%d visits) in %.2f s, %.0f playouts/s, limit %s s",
                     result.playouts, result.visits, timing.total,
                     result.playouts / max(timing.total, 1e-9),
                     "none" if seconds is None else f"{seconds:.2f}")
        return decision

    def _generate(self, args: list[str], *, play: bool, cleanup: bool = False) -> str:
        expect_count(args, 1)
        color = parse_color(args[0])
        decision = self._decide(color, cleanup=cleanup, play=play)
        if decision.resign:
            return "resign"
        if play:
            self.state.play(decision.move, color)
        return move_to_gtp(decision.move, NETWORK_SIZE)

    def _new_game(self) -> None:
        self.state = GameState(NETWORK_SIZE, self.state.komi)
        if self._player is not None:
            self._player.reset()  # the clock's settings stay: a GUI sends them once

    def _require_empty_board(self) -> None:
        if self.state.history or any(self.state.board.stones):
            raise GtpError("board not empty")

    def _place_handicap(self, points: list[int]) -> None:
        self.state.setup(black=points, handicap=len(points))

    # ------------------------------------------------------------- setting up

    def cmd_boardsize(self, args: list[str]) -> str:
        expect_count(args, 1)
        if parse_integer(args[0]) != NETWORK_SIZE:
            raise GtpError("unacceptable size")
        self._new_game()
        return ""

    def cmd_clear_board(self, args: list[str]) -> str:
        expect_count(args, 0)
        self._new_game()
        return ""

    def cmd_komi(self, args: list[str]) -> str:
        expect_count(args, 1)
        self.state.komi = parse_number(args[0])
        return ""

    def cmd_fixed_handicap(self, args: list[str]) -> str:
        expect_count(args, 1)
        count = parse_integer(args[0])
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
        points = [parse_vertex(v) for v in args]
        if len(points) < 2 or PASS in points or len(set(points)) != len(points):
            raise GtpError("bad vertex list")
        self._require_empty_board()
        self._place_handicap(points)
        return ""

    def cmd_loadsgf(self, args: list[str]) -> str:
        """``loadsgf FILE [N]``: the position before move N (default: after the last move)."""
        if len(args) not in (1, 2):
            raise GtpError("syntax error")
        limit = parse_integer(args[1]) - 1 if len(args) == 2 else None
        if limit is not None and limit < 0:
            raise GtpError("syntax error")
        data = read_sgf_file(args[0])
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
        self.state = state
        if self._player is not None:
            self._player.reset()
        return COLOR_NAMES[state.to_play]

    # ------------------------------------------------------------- playing

    def cmd_play(self, args: list[str]) -> str:
        expect_count(args, 2)
        color, move = parse_color(args[0]), parse_vertex(args[1])
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
        expect_count(args, 0)
        try:
            self.state.undo()
        except ValueError:
            raise GtpError("cannot undo") from None
        return ""

    # ------------------------------------------------------------- looking

    def cmd_showboard(self, args: list[str]) -> str:
        expect_count(args, 0)
        state = self.state
        captures = state.board.captures
        return (f"\n{render_board(state.board, state.last_move)}\n"
                f"{COLOR_WORDS[state.to_play]} to play; komi {state.komi:g}; "
                f"captured by Black {captures[BLACK]}, by White {captures[WHITE]}")

    def _stone_status(self) -> StoneStatus:
        """The judged dead and seki stones of the position (the module docstring says how)."""
        try:
            player = self._get_player()
        except GtpError:  # no model to ask: the rule of thumb still counts the game
            return StoneStatus(frozenset(dead_stones(self.state.board)), frozenset(), "estimate")
        return player.stone_status(self.state)

    def cmd_final_score(self, args: list[str]) -> str:
        """Area score with komi, the judged dead stones removed (see ``_stone_status``)."""
        expect_count(args, 0)
        return format_result(estimated_score(self.state, set(self._stone_status().dead)))

    def cmd_final_status_list(self, args: list[str]) -> str:
        """``alive``/``dead``/``seki``: one string of stones per line, judged from the
        ownership map when a network has the head (``_stone_status``)."""
        expect_count(args, 1)
        wanted = args[0].lower()
        if wanted not in ("alive", "dead", "seki"):
            raise GtpError("syntax error")
        board = self.state.board
        judged = self._stone_status()
        lines = []
        for gid in sorted(board.group_stones, key=lambda g: min(board.group_stones[g])):
            stones = sorted(board.group_stones[gid])
            status = ("dead" if stones[0] in judged.dead
                      else "seki" if stones[0] in judged.seki else "alive")
            if status == wanted:
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
        expect_count(args, 3)
        main_time, byo_time = parse_seconds(args[0]), parse_seconds(args[1])
        self.clock.set(main_time, byo_time, _stones(args[2]))
        self._preload()
        return ""

    def _preload(self) -> None:
        """Load the model now when the game has a clock, before the clock runs for us: the
        first genmove would otherwise spend seconds of its budget loading it. A model
        that fails to load is reported by the first command that needs it."""
        if self.clock.limited:
            self.load()

    def load(self) -> str | None:
        """Load the model unless loaded; the reason it cannot be loaded, or None.

        ``run_gtp`` calls it before the first answer. A failed load is tried
        again by the next command that needs the model.
        """
        if self._player is None:
            try:
                self._get_player()
            except GtpError as error:
                return str(error)
        return None

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
            self.clock.set(parse_seconds(args[1]), 0, 0)
        elif kind == "byoyomi":
            parse_integer(args[3])
            self.clock.set(parse_seconds(args[1]), parse_seconds(args[2]), 1)
        else:
            self.clock.set(parse_seconds(args[1]), parse_seconds(args[2]), _stones(args[3]))
        self._preload()
        return ""

    def cmd_time_left(self, args: list[str]) -> str:
        expect_count(args, 3)
        color, seconds = parse_color(args[0]), parse_number(args[1])
        self.clock.left[color] = (seconds, _stones(args[2]))
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
        # Arguments and model first: their errors are answered "?", before the stream's "=".
        request = AnalysisRequest.parse(args, self.state.to_play)
        return analysis_lines(self._get_player(), with_to_play(self.state, request.color),
                              request, dialect, self.input_waiting, self.config.symmetries)

    def _genmove_analyze(self, args: list[str], dialect: str) -> Iterator[str]:
        """genmove that also prints ``info`` lines while it searches (every interval, and
        the final one), then ``play <move>``; not interruptible."""
        if not args:
            raise GtpError("syntax error")
        request = AnalysisRequest.parse(args, self.state.to_play)
        self._get_player()  # a model that cannot load is a "?" answer, not a broken stream
        return self._genmove_analyze_lines(request, dialect)

    def _genmove_analyze_lines(self, request: AnalysisRequest, dialect: str) -> Iterator[str]:
        interval = snapshot_interval(request)
        ownership = requested_ownership(self._get_player(),
                                        with_to_play(self.state, request.color), request, dialect)

        def work(on_snapshot: Callable[[SearchResult], None]) -> Decision:
            return self._decide(request.color, on_snapshot=on_snapshot if interval else None,
                                snapshot_interval=interval or 1.0, allowed=request.wants)

        decision = yield from search_lines(work, request, dialect, ownership)
        assert isinstance(decision, Decision)
        if decision.search is not None:
            line = info_line(decision.search.moves, request, dialect, ownership)
        else:
            line = info_line(policy_candidates(decision.probabilities, decision.value),
                             request, dialect, ownership)
        if line:
            yield line
        if decision.resign:
            yield "play resign"
        else:
            self.state.play(decision.move, request.color)
            yield f"play {move_to_gtp(decision.move, NETWORK_SIZE)}"

    @command_name("gogui-analyze_commands")
    def cmd_gogui_analyze_commands(self, args: list[str]) -> str:
        expect_count(args, 0)
        return ("gfx/Policy heat map/goai-policy_heatmap %c\n"
                "gfx/Search: visits and variation/goai-search_heatmap %c\n"
                "gfx/Territory (ownership)/goai-territory %c")

    @command_name("goai-territory")
    def cmd_goai_territory(self, args: list[str]) -> str:
        """GoGui gfx of the ownership map with ``color`` to move (default: the side to move):
        ``INFLUENCE`` per point (black positive), the judged dead stones marked, seki
        stones as triangles, the area count and the score head's lead in the status bar.
        An error without an ownership head."""
        if len(args) > 1:
            raise GtpError("syntax error")
        color = parse_color(args[0]) if args else self.state.to_play
        position = with_to_play(self.state, color)
        analysis = self._get_player().ownership_analysis(position)
        if analysis is None or analysis.ownership is None:
            raise GtpError("the model has no ownership head: no territory map "
                           "(give a --value-model with one)")
        board = position.board
        ownership = black_view(analysis.ownership, color)
        judged = judge(board, ownership)
        count = format_result(estimated_score(position, set(judged.dead)))
        text = (f"Territory by ownership: {count} by area with komi {position.komi:g}, "
                f"{len(judged.dead)} stones dead")
        if analysis.score is not None:
            lead = analysis.score if color == BLACK else -analysis.score
            text += f"; score head: {'Black' if lead >= 0 else 'White'} leads by {abs(lead):.1f}"
        return ownership_gfx(ownership, judged.dead, judged.seki, text)

    @command_name("goai-policy_heatmap")
    def cmd_goai_policy_heatmap(self, args: list[str]) -> str:
        """GoGui gfx: every point coloured by policy (blue low, red high, log scale),
        the top moves labelled with their percentage, pass and value in the status bar."""
        if len(args) > 1:
            raise GtpError("syntax error")
        color = parse_color(args[0]) if args else self.state.to_play
        result = self._get_player().policy.analyze(with_to_play(self.state, color),
                                                   symmetries=self.config.symmetries)
        return heatmap_gfx(result.probabilities, result.value, color)

    @command_name("goai-search_heatmap")
    def cmd_goai_search_heatmap(self, args: list[str]) -> str:
        """GoGui gfx of a search to the configured limits (``DEFAULT_VISITS`` with the raw
        policy configured): candidates coloured and labelled by visits, the principal
        variation as ``VAR``, win rate and visits in the status bar."""
        if len(args) > 1:
            raise GtpError("syntax error")
        color = parse_color(args[0]) if args else self.state.to_play
        player = self._get_player()
        if not player.can_search:
            raise GtpError("the model has no value head: no search")
        limits = (SearchLimits(visits=DEFAULT_VISITS) if player.config.raw
                  else player.config.limits())
        result = player.prepared_search(self.config.symmetries).run(
            with_to_play(self.state, color), limits)
        return search_gfx(result, color)


def _stones(text: str) -> int:
    """A stone count of the time commands: a whole number, 0 or more; else a syntax error."""
    stones = parse_integer(text)
    if stones < 0:
        raise GtpError("syntax error")
    return stones


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
    log.info("goai %s GTP ready (model %s, device %s)", __version__, config.model or "default",
             config.device)
    engine = GtpEngine(config)
    problem = engine.load()  # before any answer: see the module docstring
    if problem is not None:
        # Said even when quiet: GUIs show stderr, and genmove will fail with the same news.
        print(f"goai gtp: {problem}", file=sys.stderr, flush=True)
    engine.serve(lines, stdout)
    try:
        stdout.flush()
    except BrokenPipeError:
        # The controller is gone; point stdout at /dev/null so that the flush at
        # interpreter exit does not print a traceback (Python's documented remedy).
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
    return 0


__all__ = [
    "GtpEngine",
    "read_sgf_file",
    "run_gtp",
]
