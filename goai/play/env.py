"""A gymnasium environment for Go: self-play, reinforcement learning, matches against engines.

``GoEnv`` is registered as ``goai/Go-v0`` when ``goai`` is imported (see
``goai/__init__.py``)::

    env = gymnasium.make("goai/Go-v0", size=9, komi=7.5, opponent="random")
    observation, info = env.reset(seed=0)
    action = env.action_space.sample(info["action_mask"])
    observation, reward, terminated, truncated, info = env.step(action)

=================  ===========================================================
observation        ``uint8`` ``(C, N, N)`` in ``Box(0, 1)``: the feature planes
                   of ``feature_set`` (``goai.nn.features``) from the side to move's
                   view, ``[channel, row, col]`` with row 0 at the top
action             ``Discrete(N * N + 1)``: the flat point ``row * N + col`` of
                   ``coords``, and ``N * N`` for pass (on 19x19 this is the
                   network's move index, ``coords.PASS_INDEX`` = 361)
action mask        ``info["action_mask"]`` (``int8``, as ``Discrete.sample(mask)``
                   takes it) and ``action_masks()`` (``bool``, as maskable-PPO
                   libraries call it): the legal moves of the side to move,
                   positional superko included; pass is always legal
reward             for the player who took the action: +1 win, -1 loss, 0 draw
                   (integer komi) or game not over; area scoring (Tromp-Taylor,
                   every stone on the board counts as alive) with komi
terminated         two passes in a row, a resignation, a forfeit (an illegal
                   move with ``illegal_action="lose"``, or an illegal move from
                   the opponent under goai's rules)
truncated          ``max_moves`` or more moves (passes included) played and the
                   game not over; with an opponent this is checked after its
                   reply (one move over the cap when the agent is White), so
                   the last observation is still the agent's
info               ``action_mask``, ``to_play`` ("black"/"white"); once the
                   episode ends ``score`` (Black's area margin after komi, even
                   when truncated); once terminated ``result`` as SGF writes it
                   (``B+3.5``, ``W+R`` resignation, ``B+F`` forfeit, ``0`` draw)
=================  ===========================================================

Opponents (``opponent=``): ``None`` (the caller plays both colours, and the
observation and reward follow the side to move), ``"random"`` (uniform over
legal points that are not its own eyes; passes only when none is left),
``"policy"`` or ``"policy:MODEL"`` (the bundled default model, another bundled
model by name such as ``"policy:small"``, or a checkpoint path; 19x19 only;
moves chosen as ``goai.play.player`` does for the GTP engine, but sampled at
temperature 1 from the network's probabilities; ``PolicyOpponent`` also takes
a ``device``), either with ``?visits=N`` (``"policy:small?visits=64"``,
``PolicyOpponent(visits=64)``) to search N visits a move and sample from the
visit counts, or with ``?level=L`` (``"policy?level=2"``,
``PolicyOpponent(level="2")``) to play at a level of ``goai.play.levels``, ``"gtp:COMMAND"
or a list of arguments (any GTP engine, e.g. ``"gtp:gnugo --mode gtp --level
1"``), or any object with the ``Opponent`` methods. With an opponent the agent
plays ``agent_color`` and the opponent answers inside ``step``; when the agent
is White, ``reset`` plays the opponent's first move. Engines that the
environment started are stopped by ``close()`` (and when it is garbage
collected); opponent objects passed in stay the caller's to close.

Observations are ``features.encode`` of the position, on the board's own N x N
grid: on 19x19 exactly the network's input.

Rules and their costs: GTP engines are told every move and asked ``genmove``;
an engine's move that goai's rules reject (GNU Go plays simple ko, goai
positional superko) forfeits the game. Scoring counts every stone as alive, as
Tromp-Taylor does, so an agent that passes next to dead enemy stones is scored
as if they lived; engines such as GNU Go pass in that situation, expecting a
dead-stone agreement the environment does not have.

Illegal actions raise ``IllegalActionError`` unless the environment is made
with ``illegal_action="lose"``. ``gymnasium.utils.env_checker.check_env``
steps unmasked random actions, so with the default it passes only when those
happen to be legal (they are, for its fixed seeds, on the sizes tested here).

This module does not import torch; the policy opponent imports it when made.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import gymnasium
import numpy as np
from gymnasium import spaces

from goai.display.plot import board_frame
from goai.display.render import render_board
from goai.gtp.client import CommandFailed, GtpClient
from goai.nn.features import encode, get_feature_set
from goai.play.levels import LEVELS
from goai.play.player import Player, PlayerConfig, choose_move
from goai.rules.board import BLACK, COLOR_LETTERS, COLOR_NAMES, EMPTY, WHITE, opponent
from goai.rules.coords import (
    NETWORK_SIZE,
    PASS,
    move_from_gtp,
    move_to_gtp,
    move_to_slot,
    slot_to_move,
)
from goai.rules.eyes import is_eye
from goai.rules.game import GameState, format_result

if TYPE_CHECKING:
    from goai.nn.policy import Policy

__all__ = [
    "GoEnv",
    "GtpOpponent",
    "IllegalActionError",
    "Opponent",
    "PolicyOpponent",
    "RandomOpponent",
    "action_to_move",
    "make_opponent",
    "move_to_action",
]


def action_to_move(action: int, size: int) -> int:
    """Env action ``0 .. N*N`` -> move (a point, or ``coords.PASS`` for ``N*N``): an action
    is a move slot (``coords.slot_to_move``)."""
    return slot_to_move(int(action), size)


def move_to_action(move: int, size: int) -> int:
    """Move (a point or ``coords.PASS``) -> env action ``0 .. N*N`` (``coords.move_to_slot``)."""
    return move_to_slot(move, size)


class IllegalActionError(ValueError):
    """An action the rules forbid, stepped with ``illegal_action="raise"`` (the default)."""


# --------------------------------------------------------------- opponents


@runtime_checkable
class Opponent(Protocol):
    """What ``GoEnv`` asks of an opponent.

    ``new_game`` is called by ``GoEnv.__init__`` (so a board the opponent cannot
    play fails at once, with ``ValueError``) and by every ``reset``. ``choose``
    returns the opponent's move for ``state`` (its side is ``state.to_play``)
    without playing it, or ``None`` to resign; ``rng`` is the environment's
    seeded generator. ``close`` releases what the opponent holds.
    """

    def new_game(self, size: int, komi: float) -> None: ...

    def choose(self, state: GameState, rng: np.random.Generator) -> int | None: ...

    def close(self) -> None: ...


class RandomOpponent:
    """Uniform over the legal points that are not its own eyes (``rules.eyes.is_eye``); passes
    when none is left."""

    def new_game(self, size: int, komi: float) -> None:
        """Nothing to prepare: a random player plays any size."""

    def choose(self, state: GameState, rng: np.random.Generator) -> int:
        color = state.to_play
        candidates = [
            point for point in state.legal_moves(color)[:-1]
            if not is_eye(state.board, point, color)
        ]
        return candidates[rng.integers(len(candidates))] if candidates else PASS

    def close(self) -> None:
        """Nothing to release."""


class PolicyOpponent:
    """A ``goai.nn.policy.Policy`` choosing its moves by ``goai.play.player`` (19x19 only).

    As the GTP engine plays, but sampling: at ``temperature`` 1 a move is drawn
    in proportion to the network's probability among the legal points that are
    not own eyes, 0 plays the most probable one; passes follow the player's
    rules (nothing left, pass rated above every move, or ahead after the
    agent passed). It never resigns. ``visits`` above 1 makes it search
    (``goai.search.tree``) to that many root visits a move and draw from the visit
    counts instead (temperature 0: the most visited move), at about ``visits``
    network evaluations a move; 1 (the default) is one forward pass, no tree.
    The search's symmetries are drawn from the environment's generator, so a
    seeded ``reset`` repeats the opponent's moves. ``policy`` is a ``Policy``,
    a bundled model's name (``"default"``, ``"small"``), a checkpoint path, or
    ``None`` for the bundled default; ``device`` (``auto``, ``cpu``, ``cuda``,
    ``mps``) is where a model loaded here runs. torch is imported here, not
    when ``goai.play.env`` is. ``level`` (``goai.play.levels``: ``"1"`` weakest
    to ``"4"``, ``"full"``) plays the level's moves, one forward pass each,
    in place of ``temperature`` and ``visits`` (``"full"``: as without a level).
    """

    def __init__(self, policy: Policy | str | Path | None = None, *,
                 temperature: float = 1.0, device: str = "auto", visits: int = 1,
                 level: str | None = None) -> None:
        from goai.nn.policy import Policy

        if visits < 1:
            raise ValueError(f"visits must be >= 1, not {visits}")
        self.level = PlayerConfig(level=level).weakened  # ValueError for an unknown level
        if isinstance(policy, Policy):
            self.policy = policy
        else:
            options = {} if device == "auto" else {"device": device}  # auto: Policy's default
            self.policy = Policy(policy, **options)
        if visits > 1 and not self.policy.has_value_head:
            raise ValueError(f"{self.policy.path} has no value head: visits > 1 needs one")
        self.temperature = temperature
        self.visits = visits
        self._player: Player | None = None

    def new_game(self, size: int, komi: float) -> None:
        if size != NETWORK_SIZE:
            raise ValueError(
                f"the policy opponent plays 19x19 only (the network's size), not {size}x{size}"
            )
        self._player = None  # a new tree, its symmetries seeded from the next game's generator

    def choose(self, state: GameState, rng: np.random.Generator) -> int:
        if self.visits == 1 and self.level is None:
            return choose_move(self.policy, state, temperature=self.temperature, rng=rng)
        if self._player is None:
            config = PlayerConfig(temperature=self.temperature, resign_threshold=0.0,
                                  visits=self.visits,
                                  level=None if self.level is None else self.level.name)
            self._player = Player.from_config(self.policy, config, seed=rng)
        self._player.rng = rng
        return self._player.decide(state).move

    def close(self) -> None:
        """Nothing to release: the model is freed with the object."""


class GtpOpponent:
    """A GTP engine as the opponent, spoken to with ``boardsize komi clear_board play genmove``.

    The engine is told the moves it has not seen just before each ``genmove``,
    so it follows any game the environment plays. ``resign`` is returned as
    ``None``. ``command`` is an argument list or a shell-like string.
    """

    def __init__(self, command: str | Sequence[str]) -> None:
        self.client = GtpClient(command)
        self.client.start()
        self._size = 0
        self._moves_sent = 0

    def new_game(self, size: int, komi: float) -> None:
        try:
            self.client.send(f"boardsize {size}")
        except CommandFailed as error:
            raise ValueError(f"{self.client.command}: {error}") from None
        self.client.send(f"komi {komi}")
        self.client.send("clear_board")
        self._size = size
        self._moves_sent = 0

    def choose(self, state: GameState, rng: np.random.Generator) -> int | None:
        for color, move in state.history[self._moves_sent:]:
            self.client.send(f"play {COLOR_NAMES[color]} {move_to_gtp(move, self._size)}")
        answer = self.client.send(f"genmove {COLOR_NAMES[state.to_play]}").lower()
        # genmove also plays the move on the engine's board.
        self._moves_sent = len(state.history) + 1
        return None if answer == "resign" else move_from_gtp(answer, self._size)

    def close(self) -> None:
        self.client.close()


OPPONENT_FORMS = ('"random", "policy", "policy:MODEL" (default, small or a checkpoint path), '
                  'either with "?visits=N" to search or "?level=L" to play at a level, '
                  '"gtp:COMMAND", a GTP argument list')


def make_opponent(spec: str | Sequence[str]) -> Opponent:
    """An opponent from its text form (see ``OPPONENT_FORMS``). Raises ``ValueError``."""
    if isinstance(spec, str):
        kind, _, argument = spec.partition(":")
        if spec == "random":
            return RandomOpponent()
        if spec == "policy" or spec.startswith(("policy:", "policy?")):
            return _policy_opponent(spec)
        if kind == "gtp" and argument.strip():
            return GtpOpponent(argument)
        raise ValueError(f"unknown opponent {spec!r}; use None, {OPPONENT_FORMS}")
    if all(isinstance(part, str) for part in spec):
        return GtpOpponent(spec)
    raise ValueError(f"unknown opponent {spec!r}; use None, {OPPONENT_FORMS}")


def _policy_opponent(spec: str) -> PolicyOpponent:
    """``policy[:MODEL][?visits=N|?level=L]``: the model, and the search's visits or the
    level after ``?``."""
    rest = spec[len("policy"):]
    visits, level = 1, None
    head, mark, query = rest.rpartition("?")
    if mark:
        key, _, value = query.partition("=")
        if key == "level" and value in LEVELS:
            level = value
        elif key != "visits" or not value.isdigit() or int(value) < 1:
            raise ValueError(f"unknown opponent {spec!r}: after '?' write visits=N (N >= 1) "
                             f"or level=L ({', '.join(LEVELS)})")
        else:
            visits = int(value)
        rest = head
    return PolicyOpponent(rest.removeprefix(":") or None, visits=visits, level=level)


# --------------------------------------------------------- the environment

AGENT_COLORS = {name: color for color, name in COLOR_NAMES.items()}


class GoEnv(gymnasium.Env[np.ndarray, np.int64]):
    """Go on an N x N board with area scoring; see the module docstring for the contract.

    ``state`` is the ``GameState`` being played (read it, do not change it);
    ``agent`` is the agent's colour in it (``board.BLACK`` or ``board.WHITE``).
    ``agent_color`` is "black", "white" or "random" (drawn at each ``reset`` from
    the seeded generator) and needs an opponent. ``max_moves`` defaults to
    ``3 * N * N``. ``illegal_action`` is ``"raise"`` (``IllegalActionError``)
    or ``"lose"`` (the mover forfeits: reward -1, terminated). An action
    outside the action space, or a step after the episode ended, raises
    ``ValueError`` / ``RuntimeError`` in either mode.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}

    def __init__(
        self,
        size: int = 19,
        komi: float = 7.5,
        opponent: str | Sequence[str] | Opponent | None = None,
        *,
        agent_color: str = "black",
        feature_set: str = "default",
        max_moves: int | None = None,
        illegal_action: str = "raise",
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        if illegal_action not in ("raise", "lose"):
            raise ValueError(f'illegal_action must be "raise" or "lose", not {illegal_action!r}')
        if agent_color not in (*AGENT_COLORS, "random"):
            raise ValueError(
                f'agent_color must be "black", "white" or "random", not {agent_color!r}'
            )
        if opponent is None and agent_color != "black":
            raise ValueError("agent_color needs an opponent: without one the caller plays both")
        self.size = size
        self.komi = komi
        self.state = GameState(size, komi)
        self.feature_set = get_feature_set(feature_set)
        self.max_moves = 3 * size * size if max_moves is None else max_moves
        self.illegal_action = illegal_action
        self.render_mode = render_mode
        self.agent_color = agent_color
        self.observation_space = spaces.Box(
            0, 1, (self.feature_set.num_channels, size, size), dtype=np.uint8
        )
        self.action_space = spaces.Discrete(size * size + 1)
        # Engines made here from a name are closed here; objects passed in are the caller's.
        self._owns_opponent = isinstance(opponent, (str, list, tuple))
        if self._owns_opponent:
            self.opponent: Opponent | None = make_opponent(opponent)
        elif opponent is None or isinstance(opponent, Opponent):
            self.opponent = opponent
        else:
            raise ValueError(f"unknown opponent {opponent!r}; use None, {OPPONENT_FORMS}, "
                             "or an object with new_game, choose and close")
        if self.opponent is not None:
            try:
                self.opponent.new_game(size, komi)
            except BaseException:
                self.close()
                raise
        self.agent = BLACK
        self._winner: int | None = None  # BLACK, WHITE, EMPTY for a draw; None while playing
        self._result: str | None = None
        self._ended = False

    # ------------------------------------------------------------- gym API

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new game; with an opponent that moves first, play its move."""
        super().reset(seed=seed)
        self.state = GameState(self.size, self.komi)
        self._winner, self._result, self._ended = None, None, False
        if self.agent_color == "random":
            self.agent = (BLACK, WHITE)[int(self.np_random.integers(2))]
        else:
            self.agent = AGENT_COLORS[self.agent_color]
        if self.opponent is not None:
            self.opponent.new_game(self.size, self.komi)
            if self.agent == WHITE and self._opponent_turn():
                raise RuntimeError(f"the opponent ended the game before its first move: "
                                   f"{self._result}")
        return self._observation(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Play ``action`` for the side to move, then the opponent's reply, if any."""
        if self._ended:
            raise RuntimeError("the episode is over: call reset()")
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is outside Discrete({self.action_space.n})")
        state = self.state
        mover = state.to_play
        move = action_to_move(int(action), self.size)
        reason = state.illegal_reason(move)
        if reason is not None:
            if self.illegal_action == "raise":
                raise IllegalActionError(
                    f"action {int(action)} ({move_to_gtp(move, self.size)}) is illegal for "
                    f"{COLOR_NAMES[mover]}: {reason}. The legal actions are in "
                    f'info["action_mask"] and action_masks(); illegal_action="lose" '
                    f"ends the game with -1 instead"
                )
            self._end(opponent(mover), "F")
        else:
            state.play(move)
            if state.is_over:
                self._end_by_score()
            elif self.opponent is not None:
                self._opponent_turn()
        truncated = not self._ended and len(state.history) >= self.max_moves
        terminated = self._ended
        self._ended = terminated or truncated
        return self._observation(), self._reward(mover), terminated, truncated, self._info()

    def action_masks(self) -> np.ndarray:
        """``bool`` ``(N * N + 1,)``: the legal actions of the side to move (pass always)."""
        return self.state.legal_mask()

    def render(self) -> str | np.ndarray | None:
        """``ansi``: the board as text with a status line; ``rgb_array``: ``uint8`` (H, W, 3),
        24 pixels a point, drawn as goai's board figures are (GUI coordinates, a caption)."""
        if self.render_mode == "ansi":
            status = f"move {len(self.state.history)}, {COLOR_NAMES[self.state.to_play]} to play"
            if self._result is not None:
                status += f", result {self._result}"
            return render_board(self.state.board, self.state.last_move) + "\n" + status + "\n"
        if self.render_mode == "rgb_array":
            state = self.state
            return board_frame(state.board, last_move=state.last_move,
                               caption=f"move {len(state.history)}, "
                                       f"{COLOR_NAMES[state.to_play]} to play")
        return None

    def close(self) -> None:
        """Stop the opponent's engine if this environment started it. Safe to call twice."""
        if self._owns_opponent and self.opponent is not None:
            self.opponent.close()

    # ------------------------------------------------------------- helpers

    def _opponent_turn(self) -> bool:
        """Let the opponent move; True when that ended the game."""
        state = self.state
        mover = state.to_play
        move = self.opponent.choose(state, self.np_random)
        if move is None:
            self._end(opponent(mover), "R")
        elif not state.is_legal(move):
            self._end(opponent(mover), "F")
        else:
            state.play(move)
            if state.is_over:
                self._end_by_score()
        return self._ended

    def _end(self, winner: int, how: str) -> None:
        """End the game without counting: ``how`` is ``R`` (resignation) or ``F`` (forfeit)."""
        self._winner = winner
        self._result = f"{COLOR_LETTERS[winner]}+{how}"
        self._ended = True

    def _end_by_score(self) -> None:
        score = self.state.score()
        self._winner = BLACK if score > 0 else WHITE if score < 0 else EMPTY
        self._result = format_result(score)
        self._ended = True

    def _reward(self, player: int) -> float:
        if self._winner is None or self._winner == EMPTY:
            return 0.0
        return 1.0 if self._winner == player else -1.0

    def _observation(self) -> np.ndarray:
        return encode(self.state, self.feature_set)

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "action_mask": self.action_masks().astype(np.int8),
            "to_play": COLOR_NAMES[self.state.to_play],
        }
        if self._ended:
            info["score"] = self.state.score()
        if self._result is not None:
            info["result"] = self._result
        return info
