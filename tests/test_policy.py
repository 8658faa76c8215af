"""Policy.analyze: the playing view of the network masks exactly the illegal moves.

With a feature set that has the ``legal`` plane the mask comes from the encoded
planes; without it, from the rules engine. Both must zero the same moves: an
occupied point, the simple-ko point and a positional-superko repetition.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from boards import TRIPLE_KO, move, play

from goai.nn.checkpoint import save_checkpoint
from goai.nn.features import get_feature_set
from goai.nn.model import PolicyNet, config_from_preset
from goai.nn.policy import Policy
from goai.rules.board import BLACK
from goai.rules.coords import PASS, PASS_INDEX
from goai.rules.game import GameState


@pytest.fixture(scope="module", params=["default", "simple"])
def policy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Policy:
    """An untrained tiny network on ``default`` (has the legal plane) or ``simple`` (has not)."""
    torch.manual_seed(1)
    name = request.param
    model = PolicyNet(config_from_preset("b1c8", get_feature_set(name).num_channels))
    path = tmp_path_factory.mktemp("models") / f"{name}.pt"
    save_checkpoint(path, model.eval(), name, {"note": "untrained, for tests"})
    return Policy(path, threads=1)


def ko_state() -> GameState:
    """19x19, White to play just after Black's R3 took the ko stone at Q3 (no retaking at once)."""
    state = GameState(19)
    # Black: P3 Q4 Q2 R3 shape around the ko, White: R4 R2 S3 and Q3 captured by R3.
    play(state, "Q4 R4 P3 R2 Q2 S3 pass Q3 R3")
    return state


def test_ko_state_is_what_the_test_says() -> None:
    state = ko_state()
    assert state.board.ko_point == move("Q3", 19)
    assert state.illegal_reason(move("Q3", 19)) == "ko"


def test_analyze_zeroes_exactly_the_illegal_moves(policy: Policy) -> None:
    state = ko_state()
    probabilities = policy.analyze(state).probabilities
    legal = state.legal_mask()
    assert probabilities.shape == (362,) and probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert (probabilities[~legal] == 0).all()
    assert (probabilities[legal] > 0).all()  # an untrained net puts mass everywhere
    for vertex in ("Q3", "R3", "Q4", "S3"):  # the ko point and three stones
        assert probabilities[move(vertex, 19)] == 0
    assert probabilities[PASS_INDEX] > 0


def test_analyze_respects_superko_when_the_state_enforces_it(policy: Policy) -> None:
    # test_game's triple ko, drawn in the top-left corner of a 19x19 board:
    # after five moves of the cycle, the sixth (G18) would recreate the start.
    black, white = [], []
    for row, line in enumerate(TRIPLE_KO.split()[i:i + 9] for i in range(0, 81, 9)):
        for col, stone in enumerate(line):
            {"X": black, "O": white}.get(stone, []).append(row * 19 + col)
    state = GameState(19, superko=True)
    state.setup(black, white)
    play(state, "C18 B14 H18 B18 C14")
    sixth = move("G18", 19)
    assert state.board.illegal_reason(sixth, state.to_play) is None  # simple ko allows it
    assert state.illegal_reason(sixth) == "superko"
    probabilities = policy.analyze(state).probabilities
    assert probabilities[sixth] == 0
    np.testing.assert_array_equal(probabilities > 0, state.legal_mask())


def test_legal_mask_marks_pass_and_the_empty_points() -> None:
    state = GameState(19)
    play(state, "D4")
    mask = state.legal_mask()
    assert mask.sum() == 361 - 1 + 1 and not mask[move("D4", 19)] and mask[PASS_INDEX]


def test_when_only_pass_is_legal_the_policy_gives_it_everything(policy: Policy) -> None:
    # White fills the board but for two single-point eyes, A19 and T1: Black's stone in
    # either has no liberty and captures nothing (White keeps the other eye), so Black's
    # only legal move is the rules engine's pass, which must land on the network's index.
    state = GameState(19)
    eyes = {move("A19", 19), move("T1", 19)}
    state.setup(white=[point for point in range(361) if point not in eyes])
    assert state.to_play == BLACK and state.legal_moves() == [PASS]
    probabilities = policy.move_probabilities(state)
    assert probabilities[PASS_INDEX] == pytest.approx(1.0)
    assert probabilities[:PASS_INDEX].sum() == 0
