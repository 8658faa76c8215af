"""How the search treats passing and the end of a game, after Leela Zero's rules.

A policy network knows little about the end of a game, and a search that may
pass anywhere wastes visits on it; a search that never passes cannot end a
game. The rules, each tested in ``tests/test_search.py``:

Pass is a child of a node only when one of these holds (``pass_allowed``, checked
cheapest first; Leela Zero never passes early, and the first rule adds exact endings):

* the opponent has just passed: passing ends the game, which is scored exactly
  (Tromp-Taylor area with komi, ``GameState.score``), so the search sees a win or a loss;
* few moves are left: at most ``max(5, size)`` children besides pass;
* the policy ranks pass above every other move;
* the evaluator's value for the mover is at least ``pass_value`` and the mover
  is not behind by area as the stones stand.

A finished game (two passes) is a terminal node worth its exact result
(``terminal_result``). At the root, two rules then apply to the search's best
move (``root_move``): when the opponent has just passed and passing wins by
area, pass; when the best move is pass but the mover is behind by area (the
opponent could pass and win), play the most visited other move.

The area count (``GameState.score``, a Python flood fill, about 0.5 ms on
19x19) runs at an expansion only when the value already says the mover wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from goai.rules.board import BLACK, opponent
from goai.rules.coords import PASS
from goai.rules.game import GameState
from goai.search.result import MoveStats

__all__ = ["area_margin", "opponent_passed", "pass_allowed", "root_move", "terminal_result"]


def opponent_passed(state: GameState) -> bool:
    """Did the other side pass last (so that a pass now ends the game)?"""
    return bool(state.history) and state.history[-1] == (opponent(state.to_play), PASS)


def area_margin(state: GameState) -> float:
    """The Tromp-Taylor area result with komi from the side to move's view."""
    score = state.score()
    return score if state.to_play == BLACK else -score


def terminal_result(state: GameState) -> tuple[float, float]:
    """The exact result of a finished game for its side to move: ``(value, score)``, the
    value 1, -1, or 0 for a draw, the score the area margin with komi."""
    margin = area_margin(state)
    return (1.0 if margin > 0 else -1.0 if margin < 0 else 0.0), margin


def pass_allowed(state: GameState, count: int, point_priors: np.ndarray, pass_prior: float,
                 value: float, pass_value: float) -> bool:
    """Is pass a child of the node at ``state``, which has ``count`` other children with
    ``point_priors``, an evaluator ``value`` for the mover and ``pass_prior``? The module's
    rule, cheapest tests first."""
    if count == 0 or opponent_passed(state):
        return True
    if count <= max(5, state.size):
        return True
    if pass_prior > float(point_priors.max()):
        return True
    return value >= pass_value and area_margin(state) >= 0


def root_move(state: GameState, moves: Sequence[MoveStats]) -> int:
    """The move to play from the root's ranked candidates ``moves``: the first, unless a
    root rule of the module docstring says otherwise; PASS without candidates."""
    if not moves:
        return PASS
    best = moves[0].move
    if opponent_passed(state) and any(m.move == PASS for m in moves) and (
            area_margin(state) > 0):
        return PASS  # passing ends the game, and wins it
    if best == PASS and area_margin(state) < 0:
        others = [m for m in moves if m.move != PASS and m.visits > 0]
        if others:
            return others[0].move
    return best
