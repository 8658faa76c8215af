"""goai.records.record: a record's positions come from the one replay, whichever way asked.

``to_state(k)`` must be the position ``replay`` yields before move ``k + 1`` (or
the final one), ``from_state`` its inverse, and an illegal move stops both at the
same place.
"""

from __future__ import annotations

import pytest
from boards import move

from goai.records.record import GameRecord
from goai.rules.board import BLACK, WHITE, IllegalMoveError
from goai.rules.coords import PASS
from goai.rules.game import GameState


def record(*moves: tuple[int, str], **fields) -> GameRecord:
    return GameRecord(source="test", index=0, size=5, komi=0.5,
                      moves=tuple((color, move(vertex, 5)) for color, vertex in moves), **fields)


def seen(state: GameState) -> tuple:
    return str(state.board), state.to_play, list(state.history), dict(state.board.captures)


GAME = record((BLACK, "C3"), (WHITE, "C4"), (BLACK, "D4"), (WHITE, "B3"), (BLACK, "C5"),
              (WHITE, "pass"), (BLACK, "B4"), setup_white=(move("A1", 5),))


def test_to_state_is_the_replay_s_position_after_each_move_count() -> None:
    replayed = [seen(state) for state, _, _ in GAME.replay()]
    for played, expected in enumerate(replayed):
        assert seen(GAME.to_state(played)) == expected
    final = GAME.to_state()
    assert len(final.history) == len(GAME.moves) and final.to_play == WHITE
    assert final.board.captures[BLACK] == 1  # B4 took C4


def test_from_state_and_to_state_are_inverses() -> None:
    state = GAME.to_state()
    again = GameRecord.from_state(state, source="test")
    assert again.moves == GAME.moves and again.setup_white == GAME.setup_white
    assert seen(again.to_state()) == seen(state)


def test_an_illegal_move_stops_the_replay_or_raises() -> None:
    broken = record((BLACK, "C3"), (WHITE, "C3"), (BLACK, "D4"))  # C3 is occupied
    with pytest.raises(IllegalMoveError):
        broken.to_state()
    stopped = broken.to_state(stop_at_illegal=True)
    assert len(stopped.history) == 1 and stopped.to_play == WHITE  # the illegal move's colour
    assert broken.to_state(1).history == stopped.history


def test_a_record_without_moves_starts_with_its_first_player() -> None:
    assert record(first_player=WHITE).to_state().to_play == WHITE
    assert record().to_state().to_play == BLACK
    handicap = GameRecord(source="test", index=0, size=5, setup_black=(6, 8), handicap=2)
    assert handicap.to_state().to_play == WHITE  # handicap stones: White moves first
    assert record((WHITE, "pass")).to_state(0).to_play == WHITE
    assert record((WHITE, "pass")).to_state().history == [(WHITE, PASS)]
