"""Matches between two GTP engines, as gogui-twogtp plays them, with a GNU Go referee.

``run_match(MatchConfig(black=CMD_A, white=CMD_B, games=N))`` starts both
engines, plays N games (A takes Black in games 1, 3, 5... when colours
alternate) and returns a summary: wins, A's win rate with a 95% Wilson
interval, and the Elo difference that win rate implies.

How a game is refereed
----------------------
* goai keeps the game itself (``GameState``, positional superko): a move that
  is off the board, illegal or not a move at all loses the game for its
  engine, and so does an engine that crashes, answers ``genmove`` with an
  error, rejects a legal move of its opponent, or stays silent on a command
  for ``move_timeout`` seconds (it is then killed). Such a loss is recorded
  ``B+F``/``W+F`` (forfeit) with the reason; the engine is restarted for the
  next game and the match goes on.
* ``resign`` ends the game: ``B+R``/``W+R``.
* Two passes in a row, or ``max_moves`` moves, end the game and the referee
  scores it: every move is also played on the referee, which answers
  ``final_score`` with its own dead-stone judgement (GNU Go with
  ``--chinese-rules``: area scoring, as the komi of 7.5 assumes), given
  ``SCORE_TIMEOUT_FACTOR`` times the move timeout to think. Without a
  referee (``referee="none"``), or if it fails, goai's own estimate scores the
  game (``rules.status.estimated_score``: area with estimated dead stones removed).
* Draws (jigo) count half a win to each engine.
* A match stopped by Ctrl-C or SIGTERM keeps the games finished by then; a game
  it cuts off has no result and no SGF (its engines are killed by the stop,
  and a killed engine is no forfeit when the match itself is ending).
* Games at once (``parallel`` N): N seats, each with its own two engines and
  referee, take the next game number in turn; game k is played as it would be
  alone (colours by k, SGF ``game-k``), and the results are put back in game
  order. ``{slot}`` in an engine or referee command becomes the seat's number
  (1..N): two engines that play the same moves every time (GNU Go, goai with a
  ``--seed``) would otherwise replay the same games in every seat.
* Thinking time: the wall time from sending ``genmove`` to its answer, per
  engine and game (``seconds``: ``{"A": [moves, total, longest], ...}``), and
  over the match as seconds a move. It is what the engine took on this
  machine while the match ran, so other work on the machine shows in it.
* Handicap games (``handicap`` 2 to 9 on 19x19): every engine and the referee
  get ``fixed_handicap N`` after ``komi``, Black's stones stand where GNU Go
  puts them, and White moves first. An engine that refuses the command or
  places its stones elsewhere forfeits.

Statistics
----------
Games are independent trials, a draw half a win; the win rate's 95% Wilson
interval and the Elo difference (with the interval mapped from Wilson's
bounds) are ``goai.play.stats``.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from goai.display.progress import Progress, duration
from goai.gtp.client import EngineFailure, GtpClient
from goai.play.stats import win_rate, win_shares
from goai.records.record import GameRecord
from goai.records.sgf import write_sgf
from goai.rules.board import BLACK, COLOR_LETTERS, COLOR_NAMES, WHITE, opponent
from goai.rules.coords import CoordinateError, check_size, move_from_gtp, move_to_gtp
from goai.rules.game import GameState, fixed_handicap, format_result
from goai.rules.status import estimated_score

SCORE_TIMEOUT_FACTOR = 5
GNUGO_PATHS = ("gnugo", "/usr/games/gnugo")
_SCORE = re.compile(r"([BW])\+(\d+(?:\.\d+)?)|0")


class MatchError(Exception):
    """The match cannot be played at all (an engine or the referee does not start)."""


@dataclass(frozen=True)
class MatchConfig:
    """A match between engine A (``black``) and engine B (``white``).

    ``referee`` is ``"gnugo"`` (GNU Go found on PATH or in /usr/games),
    ``"none"`` (goai's own estimate), or any GTP command line with a
    ``final_score``. ``engine_stderr`` shows the engines' stderr; by default
    it is discarded.
    """

    black: str
    white: str
    games: int
    size: int = 19
    komi: float = 7.5
    alternate: bool = True
    referee: str = "gnugo"
    move_timeout: float = 60.0
    max_moves: int = 1000
    sgf_dir: str | None = None
    engine_stderr: bool = False
    handicap: int = 0
    parallel: int = 1

    def __post_init__(self) -> None:
        check_size(self.size)
        if self.handicap:
            if self.size != 19:
                raise ValueError("handicap games are played on 19x19")
            fixed_handicap(self.handicap)  # 2 to 9, else ValueError
        if self.games < 1 or self.max_moves < 1 or not self.move_timeout > 0:
            raise ValueError("games, max_moves and move_timeout must be positive")
        if self.parallel < 1:
            raise ValueError(f"parallel must be 1 or more games at once, not {self.parallel}")
        if not math.isfinite(self.komi):
            raise ValueError(f"komi must be a number, not {self.komi}")


# ----------------------------------------------------------------- one game


@dataclass
class GameResult:
    """One game: who had which colour, the SGF result and why the game ended.

    ``winner`` is ``"A"``, ``"B"`` or None for a draw; ``reason`` is one of
    score, resign, forfeit, move cap (scored as it stood); ``detail`` says
    more for forfeits.
    """

    number: int
    black: str
    result: str
    winner: str | None
    reason: str
    moves: int
    scorer: str
    detail: str = ""
    sgf: str | None = None
    seconds: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class _Player:
    label: str  # "A" or "B"
    process: GtpClient
    name: str = ""
    clock: list[float] = field(default_factory=lambda: [0, 0.0, 0.0])  # this game's genmoves

    def timed(self, seconds: float) -> None:
        self.clock[0] += 1
        self.clock[1] += seconds
        self.clock[2] = max(self.clock[2], seconds)


class _Forfeit(Exception):
    def __init__(self, color: int, detail: str) -> None:
        super().__init__(detail)
        self.color = color
        self.detail = detail


# Called after each move of a game: (game number, moves played, the game's players).
MoveHook = Callable[[int, int, dict[int, "_Player"]], None]


def _play_game(number: int, players: dict[int, _Player], referee: GtpClient | None,
               config: MatchConfig, on_move: MoveHook | None = None
               ) -> tuple[GameResult, GameState]:
    for player in players.values():
        player.clock = [0, 0.0, 0.0]
    result, state = _play_moves(number, players, referee, config, on_move)
    result.seconds = {player.label: list(player.clock) for player in players.values()}
    return result, state


def _play_moves(number: int, players: dict[int, _Player], referee: GtpClient | None,
                config: MatchConfig, on_move: MoveHook | None = None
                ) -> tuple[GameResult, GameState]:
    state = GameState(config.size, config.komi)
    timeout = config.move_timeout
    setup = [f"boardsize {config.size}", "clear_board", f"komi {config.komi:g}"]
    stones: set[int] = set()
    if config.handicap:
        setup.append(f"fixed_handicap {config.handicap}")
        stones = set(fixed_handicap(config.handicap))
        state.setup(black=sorted(stones), handicap=config.handicap)
    for color, player in players.items():
        try:
            if not player.process.running:
                player.process.start()
            for command in setup:
                ok, reply = player.process.ask(command, timeout)
                if not ok:
                    raise EngineFailure(f"{command!r} failed: {reply}")
                if command.startswith("fixed_handicap") and _points(reply, config.size) != stones:
                    raise EngineFailure(f"{command!r} placed {reply!r}, not GNU Go's points")
        except EngineFailure as failure:
            return _forfeit(number, players, state, color, f"setup: {failure}"), state
    referee_ok = referee is not None and _referee_setup(referee, setup, timeout)

    try:
        while not state.is_over and len(state.history) < config.max_moves:
            color = state.to_play
            move = _ask_move(players[color], color, state, timeout)
            if move is None:
                return _resigned(number, players, state, color), state
            state.play(move, color)
            vertex = move_to_gtp(move, config.size)
            try:
                ok, _ = players[opponent(color)].process.ask(
                    f"play {COLOR_NAMES[color]} {vertex}", timeout)
            except EngineFailure as failure:
                raise _Forfeit(opponent(color), str(failure)) from None
            if not ok:
                raise _Forfeit(opponent(color), f"rejected the legal move {vertex}")
            if referee_ok:
                referee_ok = _referee_play(referee, f"play {COLOR_NAMES[color]} {vertex}", timeout)
            if on_move is not None:
                on_move(number, len(state.history), players)
    except _Forfeit as forfeit:
        return _forfeit(number, players, state, forfeit.color, forfeit.detail), state

    margin, scorer = None, "goai estimate"
    if referee_ok and referee is not None:
        # GNU Go's dead-stone analysis of an unsettled 19x19 board can take minutes.
        margin = _referee_score(referee, SCORE_TIMEOUT_FACTOR * timeout)
        scorer = "referee"
    if margin is None:
        margin, scorer = estimated_score(state), "goai estimate"
    winner_color = BLACK if margin > 0 else WHITE if margin < 0 else None
    reason = "score" if state.is_over else "move cap"
    return GameResult(number, players[BLACK].label, format_result(margin),
                      None if winner_color is None else players[winner_color].label,
                      reason, len(state.history), scorer), state


def _points(vertices: str, size: int) -> set[int] | None:
    """The points of a ``fixed_handicap`` reply (``D4 Q16 ...``); None if one is not a point."""
    try:
        return {move_from_gtp(vertex, size) for vertex in vertices.split()}
    except CoordinateError:
        return None


def _ask_move(player: _Player, color: int, state: GameState, timeout: float) -> int | None:
    """The engine's legal move, None for resign; raises ``_Forfeit`` otherwise."""
    start = time.monotonic()
    try:
        ok, reply = player.process.ask(f"genmove {COLOR_NAMES[color]}", timeout)
    except EngineFailure as failure:
        raise _Forfeit(color, str(failure)) from None
    player.timed(time.monotonic() - start)
    if not ok:
        raise _Forfeit(color, f"genmove failed: {reply}")
    if reply.strip().lower() == "resign":
        return None
    try:
        move = move_from_gtp(reply, state.size)
    except CoordinateError:
        raise _Forfeit(color, f"answered genmove with {reply[:40]!r}") from None
    reason = state.illegal_reason(move, color)
    if reason is not None:
        raise _Forfeit(color, f"illegal move {move_to_gtp(move, state.size)} ({reason})")
    return move


def _forfeit(number: int, players: dict[int, _Player], state: GameState, loser: int,
             detail: str) -> GameResult:
    winner = opponent(loser)
    result = f"{COLOR_LETTERS[winner]}+F"
    return GameResult(number, players[BLACK].label, result, players[winner].label, "forfeit",
                      len(state.history), "none", f"{players[loser].label}: {detail}")


def _resigned(number: int, players: dict[int, _Player], state: GameState,
              loser: int) -> GameResult:
    winner = opponent(loser)
    return GameResult(number, players[BLACK].label, f"{COLOR_LETTERS[winner]}+R",
                      players[winner].label, "resign", len(state.history), "none")


def _referee_setup(referee: GtpClient, setup: list[str], timeout: float) -> bool:
    try:
        if not referee.running:
            referee.start()
        return all(referee.ask(command, timeout)[0] for command in setup)
    except EngineFailure:
        return False


def _referee_play(referee: GtpClient, command: str, timeout: float) -> bool:
    try:
        return referee.ask(command, timeout)[0]
    except EngineFailure:
        return False


def _referee_score(referee: GtpClient, timeout: float) -> float | None:
    """The referee's ``final_score`` as a margin from Black's side, or None."""
    try:
        ok, reply = referee.ask("final_score", timeout)
    except EngineFailure:
        return None
    match = _SCORE.fullmatch(reply.strip()) if ok else None
    if match is None:
        return None
    if match.group(1) is None:
        return 0.0
    margin = float(match.group(2))
    return margin if match.group(1) == "B" else -margin


# ----------------------------------------------------------------- the match


def referee_command(choice: str) -> str | None:
    """``"gnugo"`` -> GNU Go's GTP command line with Chinese rules; ``"none"`` -> None."""
    if choice.lower() == "none":
        return None
    if choice != "gnugo":
        return choice
    for candidate in GNUGO_PATHS:
        path = shutil.which(candidate)
        if path:
            return f"{shlex.quote(path)} --mode gtp --chinese-rules"
    raise MatchError("GNU Go not found (apt-get install gnugo); or pass --referee none")


@dataclass
class _Seat:
    """One table of a match: engines A and B and the referee, for one game at a time."""

    engines: list[_Player]
    referee: GtpClient | None

    @classmethod
    def open(cls, config: MatchConfig, referee_cmd: str | None, slot: int) -> _Seat:
        def command(text: str) -> str:
            return text.replace("{slot}", str(slot))

        return cls([_Player("A", GtpClient(command(config.black),
                                           show_stderr=config.engine_stderr)),
                    _Player("B", GtpClient(command(config.white),
                                           show_stderr=config.engine_stderr))],
                   GtpClient(command(referee_cmd)) if referee_cmd else None)

    def start(self, timeout: float) -> None:
        for player in self.engines:
            player.name = _start_and_name(player.process, timeout)
        if self.referee is not None:
            _start_and_name(self.referee, timeout)

    def play(self, number: int, config: MatchConfig, sgf_dir: Path | None,
             on_move: MoveHook | None = None,
             stopping: Callable[[], bool] = lambda: False) -> GameResult | None:
        """Game ``number`` at this seat (A is Black in odd games when colours alternate).

        None when ``stopping()`` says the match was stopped while the game ran:
        its end (an engine killed by the shutdown reads as a forfeit) is no result,
        and nothing is written for it.
        """
        if stopping():  # stopped as this seat took the game: no engine is restarted for it
            return None
        swap = config.alternate and number % 2 == 0
        a, b = self.engines
        black, white = (b, a) if swap else (a, b)
        result, state = _play_game(number, {BLACK: black, WHITE: white}, self.referee, config,
                                   on_move)
        if stopping():
            return None
        if sgf_dir is not None:
            result.sgf = str(_save_sgf(sgf_dir, result, state, black, white, config))
        return result

    def kill(self) -> None:
        """End every process of the seat at once (a stopping match: no ``quit`` to wait for)."""
        for process in self._processes():
            process.kill()

    def close(self) -> None:
        for process in self._processes():
            process.close()

    def _processes(self) -> list[GtpClient]:
        return [player.process for player in self.engines] + (
            [self.referee] if self.referee else [])


def run_match(config: MatchConfig, *, show_progress: bool = True) -> dict:
    """Play the match; return the summary (see ``summarize``), with ``interrupted``
    True when a ``KeyboardInterrupt`` stopped it early (the summary then covers the
    games finished by then). Raises ``MatchError`` when an engine or the referee
    cannot be started at all."""
    referee_cmd = referee_command(config.referee)
    seats = [_Seat.open(config, referee_cmd, slot)
             for slot in range(1, min(config.parallel, config.games) + 1)]
    sgf_dir = Path(config.sgf_dir) if config.sgf_dir else None
    if sgf_dir is not None:
        sgf_dir.mkdir(parents=True, exist_ok=True)
    results: list[GameResult] = []
    interrupted = False
    try:
        for seat in seats:
            seat.start(config.move_timeout)
        with Progress("match", total=config.games, unit="games",
                      enabled=show_progress) as progress:
            lock = threading.Lock()  # seats report from their own threads

            def finished(result: GameResult) -> None:
                results.append(result)
                wins = _wins(results)
                with lock:
                    progress.update(1, note="", A=f"{wins['A']:g}", B=f"{wins['B']:g}")

            def moved(number: int, moves: int, players: dict[int, _Player]) -> None:
                # A game takes a minute or more: say where it stands and what it costs whom.
                seconds = sorted((player.label, player.clock[1]) for player in players.values())
                spent = ", ".join(f"{label} {duration(total)}" for label, total in seconds)
                with lock:
                    progress.update(0, note=f"| game {number}, move {moves}: {spent} thinking")

            try:
                if len(seats) == 1:
                    for number in range(1, config.games + 1):
                        # Ctrl-C is raised here, in this thread: a game it cuts off
                        # returns nothing, so play() needs no stop signal.
                        result = seats[0].play(number, config, sgf_dir, moved)
                        assert result is not None
                        finished(result)
                else:
                    _play_at_seats(seats, config, sgf_dir, finished, moved)
            except KeyboardInterrupt:
                # Ctrl-C (or SIGTERM through goai match) ends the match, not the
                # results: the games in progress are dropped, the finished ones stand.
                interrupted = True
    finally:
        for seat in seats:
            seat.close()
    results.sort(key=lambda result: result.number)
    summary = summarize(config, seats[0].engines, referee_cmd, results)
    summary["interrupted"] = interrupted
    return summary


def _play_at_seats(seats: list[_Seat], config: MatchConfig, sgf_dir: Path | None,
                   finished: Callable[[GameResult], None], moved: MoveHook | None = None
                   ) -> None:
    """Games 1..N over the seats, a thread per seat (the engines do the work, in their
    own processes); ``finished`` is called under a lock. An error in a seat's thread
    is raised here once every seat has stopped. Ctrl-C sets the stop signal, then
    kills the seats' engines so that the games in progress end at once, and waits
    for the seats: a game cut off so is neither counted nor written (its killed
    engine is no forfeit), and nothing is written after this returns.
    """
    numbers = iter(range(1, config.games + 1))
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def work(seat: _Seat) -> None:
        try:
            while not stop.is_set():
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                result = seat.play(number, config, sgf_dir, moved, stopping=stop.is_set)
                if result is None:
                    return
                with lock:  # a game that ended before the stop stands, even if it came since
                    finished(result)
        except BaseException as error:  # re-raised in the main thread
            errors.append(error)
            stop.set()

    threads = [threading.Thread(target=work, args=(seat,), name=f"match-seat-{slot}",
                                daemon=True) for slot, seat in enumerate(seats, 1)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)  # a bare join() would not see Ctrl-C
    except BaseException:
        stop.set()  # before the kill: a game that ends by it sees the stop
        for seat in seats:
            seat.kill()
        for thread in threads:
            thread.join(10)
        raise
    if errors:
        raise errors[0]


def _start_and_name(process: GtpClient, timeout: float) -> str:
    """Start an engine and ask its name and version. Raises ``MatchError`` if it fails."""
    try:
        process.start()
        ok, name = process.ask("name", timeout)
        ok_version, version = process.ask("version", timeout)
    except EngineFailure as failure:
        raise MatchError(f"{process.command!r}: {failure}") from None
    name = name if ok and name else Path(process.argv[0]).name
    return f"{name} {version}" if ok_version and version else name


def _save_sgf(folder: Path, result: GameResult, state: GameState, black: _Player,
              white: _Player, config: MatchConfig) -> Path:
    record = GameRecord.from_state(
        state, source="goai match", index=result.number - 1, result=result.result,
        black_name=f"{black.name} ({black.label})", white_name=f"{white.name} ({white.label})",
        date=date.today().isoformat())
    note = f"{result.reason}; scored by {result.scorer}" + (
        f"; {result.detail}" if result.detail else "") + "".join(
        f"; {label} thought {clock[1] / clock[0]:.2f} s a move ({int(clock[0])} "
        f"move{'s' if clock[0] != 1 else ''})" for label, clock in sorted(result.seconds.items())
        if clock[0])
    extra = {len(state.history) - 1: {"C": [note]}} if state.history else None
    path = folder / f"game-{result.number:03d}.sgf"
    # Written whole or not at all: Ctrl-C may come at any moment.
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(write_sgf(record, node_properties=extra), encoding="utf-8")
    os.replace(partial, path)
    return path


# ----------------------------------------------------------------- summary


def _wins(results: list[GameResult]) -> dict[str, float]:
    return win_shares(result.winner for result in results)


def summarize(config: MatchConfig, engines: list[_Player], referee: str | None,
              results: list[GameResult]) -> dict:
    """Plain data for ``--json``: engines, counts, A's win rate and Elo with 95% intervals."""
    games = len(results)
    wins = _wins(results)
    record = win_rate(wins["A"], games)
    by_colour = {}
    for colour in ("black", "white"):
        played = [r for r in results if (r.black == "A") == (colour == "black")]
        by_colour[f"a_as_{colour}"] = {"games": len(played),
                                       "wins": _wins(played)["A"] if played else 0.0}
    commands = {"A": config.black, "B": config.white}
    return {
        "engines": {p.label: {"command": commands[p.label], "name": p.name,
                              **_thinking(results, p.label)} for p in engines},
        "referee": referee or "goai estimate",
        "size": config.size, "komi": config.komi, "handicap": config.handicap,
        "parallel": min(config.parallel, config.games), "planned_games": config.games,
        "games": games,
        "wins": wins, "draws": sum(1 for r in results if r.winner is None),
        "forfeits": sum(1 for r in results if r.reason == "forfeit"),
        "a_win_rate": record.rate, "a_win_rate_95": [record.low, record.high],
        "elo_a_minus_b": record.elo, "elo_95": [record.elo_low, record.elo_high],
        **by_colour,
        "results": [asdict(r) for r in results],
    }


def _thinking(results: list[GameResult], label: str) -> dict:
    """One engine's genmove times over the match: moves, seconds a move, the longest."""
    clocks = [r.seconds[label] for r in results if label in r.seconds]
    moves = sum(int(clock[0]) for clock in clocks)
    total = sum(clock[1] for clock in clocks)
    return {"genmoves": moves, "seconds_per_move": total / moves if moves else None,
            "longest_move_seconds": max((clock[2] for clock in clocks), default=None)}


def format_summary(summary: dict) -> str:
    """The summary as a few lines of text."""
    def elo(value: float | None) -> str:
        return "unbounded" if value is None else f"{value:+.0f}"

    engines = summary["engines"]
    low, high = summary["a_win_rate_95"]
    elo_low, elo_high = summary["elo_95"]
    lines = [f"A: {engines['A']['name']}  [{engines['A']['command']}]",
             f"B: {engines['B']['name']}  [{engines['B']['command']}]",
             f"{summary['games']} games {summary['size']}x{summary['size']}, komi "
             f"{summary['komi']:g}"
             + (f", {summary['handicap']} handicap stones" if summary.get("handicap") else "")
             + (f", {summary['parallel']} at a time" if summary.get("parallel", 1) > 1 else "")
             + f", scored by {summary['referee']}",
             f"A won {summary['wins']['A']:g}, B won {summary['wins']['B']:g} "
             f"(draws {summary['draws']}, forfeits {summary['forfeits']}); A as Black "
             f"{summary['a_as_black']['wins']:g}/{summary['a_as_black']['games']}, as White "
             f"{summary['a_as_white']['wins']:g}/{summary['a_as_white']['games']}",
             f"A win rate {100 * summary['a_win_rate']:.1f}% (95% CI {100 * low:.1f}-"
             f"{100 * high:.1f}%), Elo A-B {elo(summary['elo_a_minus_b'])} "
             f"(95% CI {elo(elo_low)} to {elo(elo_high)})"]
    for label in ("A", "B"):
        engine = engines[label]
        if engine.get("seconds_per_move") is not None:
            lines.append(f"{label} thought {engine['seconds_per_move']:.2f} s a move "
                         f"(longest {engine['longest_move_seconds']:.1f} s, "
                         f"{engine['genmoves']} moves)")
    if summary.get("interrupted"):
        lines.append(f"interrupted: {summary['games']} of {summary['planned_games']} games "
                     "finished")
    for result in summary["results"]:
        if result["reason"] == "forfeit":
            lines.append(f"  game {result['number']}: {result['result']}, {result['detail']}")
    return "\n".join(lines)


__all__ = ["GameResult", "MatchConfig", "MatchError", "format_summary", "run_match"]
