"""``goai play``: a game against the model in the terminal, like GNU Go's ASCII mode.

The human types one command per line; the engine answers with ``player.Player``
(the move choice GTP uses too): by default a search of ``DEFAULT_VISITS``
visits a move (``goai play --visits N``, ``--playouts N``, ``--time SECONDS``;
``--visits 1`` is the raw policy), its move printed with the search's win
rate for the engine, its score lead when the network that gives the values
has a score head (``ahead by 2.5 points``), and the visits. The board is
drawn, with the coordinates GUIs show and the last move in parentheses, every
time it is the human's turn and the position has changed, followed by whose
turn it is and the captures.

===================  ===========================================================
input                effect
===================  ===========================================================
``D4``, ``pass``     play that move (any case); an illegal one is refused with why
``resign``           resign the game
``undo``             take back your last move and the engine's reply
``hint``             the model's top 5 moves for you, with probabilities
``score``            area score estimate: dead stones removed, and as the stones stand
``save FILE.sgf``    write the game so far (with its result once over) as SGF
``help``             list these commands
``quit``             leave (also: end of input)
===================  ===========================================================

With ``--level`` (``goai.play.levels``) the engine plays at that level and is
called ``goai (level 2)`` on screen and in the saved SGF. At the end of a
game, with a value head, the three moves where the human lost most are shown
(``review.biggest_losses``, the review's turning points), by the network's
win rate at each position: one forward pass a position, seconds on a CPU.

The game ends on two passes in a row or a resignation. Two passes are scored by
area with komi after removing the dead stones (as GTP ``final_score`` does):
judged from the ownership map when a network has an ownership head
(``Player.stone_status``, ``goai.rules.status``: a string is dead only when the map
leans at least 0.5 against it, so that early in a game nothing is), else
estimated by ``goai.rules.status.dead_stones``' rule of thumb; the plain Tromp-Taylor count
of the board as it stands is printed beside it. After the end the loop goes on for ``save``,
``score``, ``undo`` (which reopens the game) and ``quit``.

Everything goes through the ``lines``/``out`` streams given to ``TerminalGame.run``,
so a game can be piped: when the input is not a terminal, each command is
echoed after its prompt so that the transcript reads like a session. ANSI
colour is used only when asked (the command line asks when stdout is a terminal).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from goai.display.render import render_board
from goai.play.player import Player
from goai.play.review import biggest_losses, top_moves
from goai.records.record import GameRecord
from goai.records.sgf import write_sgf
from goai.rules.board import BLACK, COLOR_LETTERS, COLOR_WORDS, WHITE, opponent
from goai.rules.coords import (
    GTP_COLUMNS,
    NETWORK_SIZE,
    PASS,
    CoordinateError,
    move_from_gtp,
    move_to_gtp,
)
from goai.rules.game import GameState, fixed_handicap, format_result, replay_moves
from goai.rules.status import StoneStatus, estimate, estimated_score

if TYPE_CHECKING:  # policy imports torch
    from goai.nn.policy import PolicyOutput

HINT_MOVES = 5
LESSONS = 3  # the moves shown at the end where the human lost most
GLYPHS = {BLACK: "X", WHITE: "O"}

ILLEGAL_REASONS = {
    "occupied": "the point is occupied",
    "suicide": "suicide (the stone would have no liberty and capture nothing)",
    "ko": "ko (the stone just taken cannot be retaken at once; play elsewhere first)",
    "superko": "superko (it would repeat an earlier whole-board position)",
}

HELP = """\
Commands:
  D4            play a move: column A-T (no I), row 1-19
  pass          pass; two passes in a row end the game
  resign        resign the game
  undo          take back your last move and goai's reply
  hint          the model's top 5 moves for you
  score         area score estimate (dead stones removed, and as the stones stand)
  save FILE     save the game as SGF
  help          this list
  quit          leave the game"""

_WORDS = ("resign", "undo", "hint", "score", "help", "quit")


class InputError(ValueError):
    """A line that is not a command; the message is the one-line explanation."""


@dataclass(frozen=True)
class PlayConfig:
    """A terminal game: the human's colour, komi and handicap (the board is always 19x19).

    ``size`` exists so that ``--size`` is refused with a reason instead of
    being silently ignored: the network plays 19x19 only. ``handicap`` 0 or
    2-9 black stones on the star points; White then moves first.
    Raises ``ValueError`` for other sizes or handicaps.
    """

    human: int = BLACK
    size: int = NETWORK_SIZE
    komi: float = 7.5
    handicap: int = 0

    def __post_init__(self) -> None:
        if self.size != NETWORK_SIZE:
            raise ValueError(f"the model plays 19x19 only; board size {self.size} is not "
                             "supported")
        if self.handicap:
            fixed_handicap(self.handicap)
        if self.human not in (BLACK, WHITE):
            raise ValueError(f"human colour must be BLACK or WHITE, not {self.human}")


@dataclass(frozen=True)
class Command:
    """One parsed input line: ``name`` is ``move``, ``save`` or one of the plain words.

    ``move`` is set for ``move`` (a point or PASS), ``path`` for ``save``.
    """

    name: str
    move: int | None = None
    path: str | None = None


def parse_command(line: str, size: int = NETWORK_SIZE) -> Command:
    """Read one line of input. Raises ``InputError`` with a one-line explanation.

    Commands and vertices are read in any case; ``save`` takes the rest of the
    line as the file name (it may hold spaces).
    """
    words = line.split(maxsplit=1)
    if not words:
        raise InputError("type a move such as D4, or 'help' for the commands")
    word = words[0].lower()
    rest = words[1].strip() if len(words) > 1 else ""
    if word == "save":
        if not rest:
            raise InputError("save needs a file name: save FILE.sgf")
        return Command("save", path=rest)
    if word in _WORDS:
        if rest:
            raise InputError(f"'{word}' takes no argument")
        return Command(word)
    if rest:
        raise InputError(f"one move at a time: {line.strip()!r} is more than a move")
    try:
        return Command("move", move=move_from_gtp(word, size))
    except CoordinateError:
        last = GTP_COLUMNS[size - 1]
        raise InputError(f"{words[0]!r} is neither a move (A1 to {last}{size}, no I) "
                         "nor a command; type 'help'") from None


def score_text(state: GameState, status: StoneStatus | None = None) -> str:
    """The area score both ways, in one line: dead stones removed, then as they stand.

    ``status`` is the judged dead and seki stones (``Player.stone_status``;
    default: ``goai.rules.status.estimate``, the rule of thumb). The first figure is the
    one a finished game is given (see the module docstring).
    """
    if status is None:
        status = estimate(state.board)
    dead = set(status.dead)
    result = format_result(estimated_score(state, dead))
    stones = "stone" if len(dead) == 1 else "stones"
    judged = ("dead by the ownership map" if status.source == "ownership"
              else "estimated dead")
    seki = f", {len(status.seki)} in seki" if status.seki else ""
    return (f"{result} by area with komi {state.komi:g}, {len(dead)} {stones} {judged} and "
            f"removed{seki}; as the stones stand (Tromp-Taylor): {state.result()}")


def lead_text(score: float) -> str:
    """``ahead by 2.5 points`` / ``behind by 0.5 points`` / ``even``: a score lead in words."""
    if abs(score) < 0.05:
        return "even"
    return f"{'ahead' if score > 0 else 'behind'} by {abs(score):.1f} points"


class TerminalGame:
    """One game between a human (typing lines) and ``player``, written to ``out``.

    ``run`` plays it. ``echo`` repeats each input line after its prompt (for
    piped input); ``color`` paints stones, the last move and errors with ANSI codes.
    """

    _PAINT = {"X": "\x1b[1;34mX\x1b[0m", "O": "\x1b[1;31mO\x1b[0m",
              "(": "\x1b[1;32m(\x1b[0m", ")": "\x1b[1;32m)\x1b[0m"}

    def __init__(self, player: Player, config: PlayConfig, out: TextIO, *,
                 engine_name: str = "goai", echo: bool = False, color: bool = False) -> None:
        self.player = player
        self.config = config
        self.out = out
        self.engine_name = engine_name
        self.echo = echo
        self.color = color
        self.human = config.human
        self.engine = opponent(config.human)
        self.state = GameState(config.size, config.komi)
        if config.handicap:
            self.state.setup(black=fixed_handicap(config.handicap), handicap=config.handicap)
        self.result: str | None = None
        self._drawn: int | None = None  # history length when the board was last drawn

    # ------------------------------------------------------------- the loop

    def run(self, lines: Iterable[str]) -> str | None:
        """Play until ``quit`` or the end of ``lines``; return the result if the game ended.

        The result is as SGF writes it (``B+3.5``, ``W+R``). Never raises for bad
        input: every bad line gets a one-line answer and the prompt again.
        """
        human, engine = COLOR_WORDS[self.human], COLOR_WORDS[self.engine]
        self._say(f"goai play: you are {human} ({GLYPHS[self.human]}), {self.engine_name} is "
                  f"{engine} ({GLYPHS[self.engine]}); 19x19, komi {self.config.komi:g}"
                  + (f", handicap {self.config.handicap}" if self.config.handicap else "")
                  + ".")
        self._say("Type a move (D4), pass, resign, undo, hint, score, save FILE.sgf, help "
                  "or quit.")
        source = iter(lines)
        while True:
            if self.result is None and self.state.to_play == self.engine:
                self._engine_move()
                continue
            if self.result is None and self._drawn != len(self.state.history):
                self._show_board()
            self._prompt()
            line = next(source, None)
            if line is None:
                self._say("")  # the prompt is still open
                self._say("End of input: leaving the game.")
                return self.result
            if self.echo:
                self._say(line.rstrip("\n"))
            try:
                command = parse_command(line, self.state.size)
            except InputError as error:
                self._error(str(error))
                continue
            if command.name == "quit":
                self._say("Bye." if self.result else "Game left unfinished. Bye.")
                return self.result
            self._handle(command)

    def _handle(self, command: Command) -> None:
        if command.name == "undo":
            self._undo()
        elif command.name == "help":
            self._say(HELP)
        elif command.name == "score":
            self._say(f"Score: {score_text(self.state, self.player.stone_status(self.state))}")
        elif command.name == "save":
            self._save(command.path or "")
        elif command.name == "hint":
            self._hint()
        elif self.result is not None:
            self._error("the game is over: save FILE.sgf, undo or quit")
        elif command.name == "resign":
            result = f"{COLOR_LETTERS[self.engine]}+R"
            self._end(result, f"You resign. Result: {result}.")
        elif command.move is not None:
            self._human_move(command.move)

    # ------------------------------------------------------------- moves

    def _human_move(self, move: int) -> None:
        reason = self.state.illegal_reason(move)
        if reason is not None:
            vertex = move_to_gtp(move, self.state.size)
            self._error(f"Illegal move {vertex}: {ILLEGAL_REASONS.get(reason, reason)}.")
            return
        self.state.play(move)
        self._check_two_passes()

    def _engine_move(self) -> None:
        decision = self.player.decide(self.state, self.engine)
        name = f"{COLOR_WORDS[self.engine]} ({self.engine_name})"
        if decision.resign:
            result = f"{COLOR_LETTERS[self.human]}+R"
            self._end(result, f"{name} resigns. Result: {result}.")
            return
        self.state.play(decision.move)
        searched = ""
        if decision.search is not None:
            lead = "" if decision.score is None else f", {lead_text(decision.score)}"
            searched = (f" (win {100 * decision.search.winrate:.0f}%{lead}, "
                        f"{decision.search.visits} visits)")
        if decision.move == PASS:
            self._say(f"{name} passes{searched}.")
        else:
            self._say(f"{name} plays {move_to_gtp(decision.move, self.state.size)}{searched}.")
        self._check_two_passes()

    def _check_two_passes(self) -> None:
        if self.state.is_over:
            self._show_board(status=False)
            status = self.player.stone_status(self.state)
            self._end(format_result(estimated_score(self.state, set(status.dead))),
                      f"Two passes: the game is over. Result: {score_text(self.state, status)}.")

    def _end(self, result: str, message: str) -> None:
        self.result = result
        self._say(message)
        self._lessons()
        self._say("Type 'save FILE.sgf' to keep the game, 'undo' to take back your last move, "
                  "or 'quit'.")

    def _undo(self) -> None:
        """Take back the human's last move and every engine move after it; reopen the game."""
        state = self.state
        if all(color != self.human for color, _ in state.history):
            self._error("Nothing to undo: you have not played a move yet.")
            return
        taken = 0
        while state.history[-1][0] != self.human:
            state.undo()
            taken += 1
        state.undo()
        self.player.reset()
        self.result = None
        self._drawn = None
        self._say(f"Took back {taken + 1} move{'s' if taken else ''}.")

    # ------------------------------------------------------------- looking

    def _lessons(self) -> None:
        """The ``LESSONS`` moves where the human lost most (``review.biggest_losses``, the
        review's turning points), by the value network's win rate at every position of
        the game: one forward pass a position, about ten seconds for a game on a CPU."""
        valuer = self.player.valuer
        humans = sum(color == self.human for color, _ in self.state.history)
        if not valuer.has_value_head or humans == 0:
            return
        moves = list(self.state.history)
        self._say(f"Looking back over your {humans} moves (the network's win rate at each "
                  "of the game's positions)...")
        record = GameRecord.from_state(self.state, source="goai play")
        winrates = [(analysis.value + 1) / 2 if color == BLACK else (1 - analysis.value) / 2
                    for color, analysis in self._values(record)]
        losses = biggest_losses(moves, winrates, players=(self.human,), count=LESSONS)
        if not losses:
            self._say("No move of yours lost win rate by the network's reckoning.")
            return
        self._say("Where you lost most:")
        for rank, loss in enumerate(losses, 1):
            self._say(f"  {rank}. move {loss.text()}")

    def _values(self, record: GameRecord) -> list[tuple[int, PolicyOutput]]:
        """(side to move, the value network's analysis) at every position of ``record``."""
        found = []
        position = record.to_state(0)  # replay_moves plays each move on it in place
        for state, _, _ in replay_moves(position, record.moves):
            found.append((state.to_play, self.player.valuer.analyze(state)))
        found.append((position.to_play, self.player.valuer.analyze(position)))  # the end
        return found

    def _hint(self) -> None:
        probabilities = self.player.policy.move_probabilities(self.state)
        self._say(f"The model's top {HINT_MOVES} moves for {COLOR_WORDS[self.state.to_play]}:")
        for rank, (move, probability) in enumerate(top_moves(probabilities, HINT_MOVES), 1):
            self._say(f"  {rank}. {move_to_gtp(move, self.state.size):<5} "
                      f"{100 * probability:5.1f}%")

    def _show_board(self, *, status: bool = True) -> None:
        """Draw the board; ``status`` adds whose turn it is and the captures."""
        state = self.state
        board = render_board(state.board, state.last_move)
        if self.color:
            lines = board.split("\n")
            # Only the rows: the header rows' column letters include an "O".
            table = str.maketrans(self._PAINT)
            board = "\n".join([lines[0], *(row.translate(table) for row in lines[1:-1]),
                               lines[-1]])
        self._say(board)
        self._drawn = len(state.history)
        if not status:
            return
        captures = state.board.captures
        self._say(f"{COLOR_WORDS[state.to_play]} ({GLYPHS[state.to_play]}) to play, move "
                  f"{len(state.history) + 1}. Captures: Black {captures[BLACK]}, "
                  f"White {captures[WHITE]}.")

    def _save(self, path: str) -> None:
        state = self.state
        names = {self.human: "human", self.engine: self.engine_name}
        record = GameRecord.from_state(state, source="goai play", result=self.result,
                                       black_name=names[BLACK], white_name=names[WHITE],
                                       date=date.today().isoformat())
        try:
            Path(path).write_text(write_sgf(record), encoding="utf-8")
        except OSError as error:
            self._error(f"could not save {path}: {error.strerror or error}")
            return
        moves = len(state.history)
        self._say(f"Saved {moves} move{'' if moves == 1 else 's'} to {path}.")

    # ------------------------------------------------------------- output

    def _prompt(self) -> None:
        if self.result is not None:
            prompt = "game over> "
        else:
            color = self.state.to_play
            prompt = (f"{COLOR_WORDS[color]} ({GLYPHS[color]}) move "
                      f"{len(self.state.history) + 1}> ")
        self._say(prompt, end="")

    def _error(self, text: str) -> None:
        self._say(f"\x1b[31m{text}\x1b[0m" if self.color else text)

    def _say(self, text: str, end: str = "\n") -> None:
        self.out.write(text + end)
        self.out.flush()

