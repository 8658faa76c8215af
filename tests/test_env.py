"""The gymnasium environment: API checks, complete games against the rules engine, opponents.

Games are played by a random agent that does not fill its own eyes (the
``random`` opponent's own move choice), so they end by two passes. GTP framing
is tested against a scripted fake engine whose transcript is compared line by
line; GNU Go is used when it is installed.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from boards import move, play, position
from gymnasium.utils.env_checker import check_env

import goai  # noqa: F401  (registers goai/Go-v0)
from goai.gtp.client import EngineFailure
from goai.nn.features import FEATURE_SETS, encode
from goai.play.env import (
    GoEnv,
    IllegalActionError,
    PolicyOpponent,
    RandomOpponent,
    make_opponent,
    move_to_action,
)
from goai.play.player import Player
from goai.rules.board import BLACK, COLOR_NAMES, WHITE, IllegalMoveError
from goai.rules.coords import PASS, slot_to_move
from goai.rules.game import GameState

GNUGO = Path("/usr/games/gnugo")


def random_action(env: GoEnv, rng: np.random.Generator) -> int:
    """The random agent: the ``random`` opponent's choice for the side to move."""
    return move_to_action(RandomOpponent().choose(env.state, rng), env.size)


def play_to_end(
    env: GoEnv, seed: int, check_each_step: Callable[[GoEnv, dict], None] | None = None
) -> tuple[float, bool, bool, dict]:
    """Reset with ``seed`` and play random actions until the episode ends; return the last step."""
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=seed)
    while True:
        if check_each_step is not None:
            check_each_step(env, info)
        _, reward, terminated, truncated, info = env.step(random_action(env, rng))
        if terminated or truncated:
            return reward, terminated, truncated, info


def replayed(env: GoEnv) -> GameState:
    """The env's game replayed move by move in a fresh rules engine."""
    state = GameState(env.size, env.komi)
    for color, played in env.state.history:
        state.play(played, color)
    return state


# ------------------------------------------------------------- gymnasium API


def test_import_goai_registers_the_env_without_torch() -> None:
    code = (
        "import sys, goai, gymnasium\n"
        "env = gymnasium.make('goai/Go-v0', size=9, opponent='random')\n"
        "env.reset(seed=0)\n"
        "assert 'torch' not in sys.modules, 'goai.play.env imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("imports", ["goai, gymnasium", "gymnasium, goai",
                                     "goai, gymnasium.utils.env_checker"])
def test_the_env_is_registered_whichever_is_imported_first(imports: str) -> None:
    # goai registers at once when gymnasium is loaded, else when it loads (an
    # import hook that then leaves gymnasium's module as the regular loader made it).
    code = (
        f"import warnings; warnings.simplefilter('error')\n"
        f"import {imports}\n"
        "import gymnasium, importlib, sys\n"
        "assert 'goai/Go-v0' in gymnasium.registry\n"
        "assert type(gymnasium.__loader__).__module__ != 'goai'\n"
        "assert not [f for f in sys.meta_path if type(f).__module__ == 'goai']\n"
        "importlib.reload(sys.modules['goai'])  # registering twice would warn\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    "options",
    [
        {"size": 9},
        {"size": 9, "opponent": "random"},
        {"size": 19, "opponent": "random", "agent_color": "random"},
        {"size": 7, "opponent": "random", "agent_color": "white", "illegal_action": "lose"},
    ],
    ids=["self-play 9x9", "random 9x9", "random 19x19", "white, lose on illegal, 7x7"],
)
def test_check_env_passes_without_warnings(options: dict) -> None:
    env = gymnasium.make("goai/Go-v0", **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.close()


def test_spaces_follow_size_and_feature_set() -> None:
    env = GoEnv(size=9, feature_set="simple")
    assert env.observation_space == gymnasium.spaces.Box(0, 1, (8, 9, 9), np.uint8)
    assert env.action_space == gymnasium.spaces.Discrete(82)


def test_reset_with_a_seed_is_deterministic() -> None:
    env = GoEnv(size=9, opponent="random", agent_color="random")

    def opening(seed: int) -> tuple[list, np.ndarray]:
        observation, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)
        for _ in range(5):
            observation, *_ = env.step(random_action(env, rng))
        return env.state.history.copy(), observation

    history, observation = opening(7)
    again, observation_again = opening(7)
    assert again == history
    np.testing.assert_array_equal(observation_again, observation)
    colors = set()
    for seed in range(8):
        env.reset(seed=seed)
        colors.add(env.agent)
    assert colors == {BLACK, WHITE}


@pytest.fixture
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a busy machine their
    synchronisation turns milliseconds into seconds; restore the count after."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------ complete games


@pytest.mark.parametrize("seed", range(4))
def test_random_games_on_9x9_end_by_passes_and_score_as_the_rules_engine(seed: int) -> None:
    env = GoEnv(size=9, komi=7.5, opponent="random", agent_color="random")

    def mask_matches_playable_moves(env: GoEnv, info: dict) -> None:
        # Every 10th position: each action is masked in exactly when playing it works.
        if len(env.state.history) % 10:
            return
        for action, allowed in enumerate(info["action_mask"]):
            try:
                env.state.copy().play(slot_to_move(action, 9))
                playable = True
            except IllegalMoveError:
                playable = False
            assert allowed == playable, f"action {action}"

    reward, terminated, truncated, info = play_to_end(env, seed, mask_matches_playable_moves)
    assert terminated and not truncated
    assert [played for _, played in env.state.history[-2:]] == [PASS, PASS]
    rules = replayed(env)
    assert str(rules.board) == str(env.state.board)
    assert info["score"] == rules.score()
    assert info["result"] == rules.result()
    agent_margin = rules.score() if env.agent == BLACK else -rules.score()
    assert reward == np.sign(agent_margin)


def test_a_random_self_play_game_on_19x19_to_the_end() -> None:
    env = GoEnv(size=19, komi=7.5)
    legal_plane = FEATURE_SETS["default"].slices["legal"]

    def mask_matches_the_legal_plane(env: GoEnv, info: dict) -> None:
        # features computes the legal plane with numpy, independently of legal_moves.
        planes = encode(env.state, "default")
        np.testing.assert_array_equal(info["action_mask"][:361], planes[legal_plane].ravel())
        assert info["action_mask"][361] == 1
        np.testing.assert_array_equal(env.action_masks(), info["action_mask"].astype(bool))

    reward, terminated, truncated, info = play_to_end(env, 3, mask_matches_the_legal_plane)
    assert terminated and not truncated
    rules = replayed(env)
    assert info["score"] == rules.score()
    # Without an opponent the reward is for the player who took the last action.
    last_mover = env.state.history[-1][0]
    assert reward == np.sign(rules.score() if last_mover == BLACK else -rules.score())


def test_two_passes_on_an_empty_board_give_white_the_komi() -> None:
    env = GoEnv(size=9, komi=7.5)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(81)
    assert (reward, terminated, info["to_play"]) == (0.0, False, "white")
    _, reward, terminated, truncated, info = env.step(81)
    assert (reward, terminated, truncated) == (1.0, True, False)  # White passed last, and won
    assert info["result"] == "W+7.5"


def test_truncated_at_the_move_cap() -> None:
    env = GoEnv(size=9, opponent="random", max_moves=10)
    env.reset(seed=1)
    rng = np.random.default_rng(1)
    for turn in range(5):
        _, reward, terminated, truncated, info = env.step(random_action(env, rng))
        assert truncated == (turn == 4) and not terminated and reward == 0.0
    assert len(env.state.history) == 10
    assert "result" not in info and info["score"] == env.state.score()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


# ------------------------------------------------------------ illegal actions


def test_an_illegal_action_raises_and_changes_nothing() -> None:
    env = GoEnv(size=9)
    env.reset(seed=0)
    env.step(move("E5", 9))
    message = r"action 40 \(E5\) is illegal for white: occupied"
    with pytest.raises(IllegalActionError, match=message):
        env.step(move("E5", 9))
    assert len(env.state.history) == 1
    with pytest.raises(ValueError, match="outside"):
        env.step(82)


def test_an_illegal_action_loses_when_asked() -> None:
    env = GoEnv(size=9, opponent="random", illegal_action="lose")
    env.reset(seed=0)
    env.step(move("E5", 9))
    occupied = next(point for point, stone in enumerate(env.state.board.stones) if stone == WHITE)
    _, reward, terminated, truncated, info = env.step(occupied)
    assert (reward, terminated, truncated, info["result"]) == (-1.0, True, False, "W+F")


# ---------------------------------------------------------------- observation


def test_observation_is_from_the_agents_view() -> None:
    env = GoEnv(size=9, opponent="random", agent_color="white", feature_set="simple")
    observation, info = env.reset(seed=0)
    assert info["to_play"] == "white"
    (black_stone,) = [p for p, s in enumerate(env.state.board.stones) if s == BLACK]
    own, opponent = observation[0].ravel(), observation[1].ravel()
    assert opponent[black_stone] == 1 and own.sum() == 0


def test_small_board_planes_come_from_the_small_board() -> None:
    state = position(
        """
        . X . . .
        X . X . .
        . X . . .
        . . . . O
        . . . . .
        """,
        to_play=WHITE,
    )
    planes = encode(state, FEATURE_SETS["default"])
    slices = FEATURE_SETS["default"].slices
    assert planes.shape == (22, 5, 5)
    assert planes[slices["own_stones"]].sum() == 1 and planes[slices["opponent_stones"]].sum() == 4
    assert planes[slices["own_liberties"]][2, 3, 4] == 1  # White's E2 has three liberties
    legal = planes[slices["legal"]][0]
    # A5 and B4 would be suicide for White; every other empty point is legal.
    assert legal[0, 0] == legal[1, 1] == 0 and legal.sum() == 25 - 5 - 2


# ------------------------------------------------------------------- eyes


def test_the_random_opponent_passes_rather_than_fill_its_own_eyes() -> None:
    # Black's only legal points are its three eyes.
    state = position(
        """
        . X . X .
        X X X X X
        X X X X X
        X X X X X
        X X X X X
        """
    )
    assert state.legal_moves() == [move(v, 5) for v in ("A5", "C5", "E5")] + [PASS]
    assert RandomOpponent().choose(state, np.random.default_rng(0)) == PASS


# ------------------------------------------------------------------ rendering


def test_render_ansi_and_rgb_array() -> None:
    env = GoEnv(size=9, render_mode="ansi")
    env.reset(seed=0)
    env.step(move("C3", 9))
    text = env.render()
    lines = text.splitlines()
    assert len(lines) == 9 + 2 + 1 and "(X)" in lines[7]
    assert lines[-1] == "move 1, white to play"
    image = GoEnv(size=9, render_mode="rgb_array")
    image.reset(seed=0)
    picture = image.render()
    assert picture.shape == (9 * 24, 9 * 24, 3) and picture.dtype == np.uint8


# ------------------------------------------------------------------ opponents


@pytest.mark.usefixtures("one_torch_thread")
def test_policy_opponent_plays_first_as_black_on_19x19(tiny_model_path: Path) -> None:
    env = GoEnv(size=19, opponent=f"policy:{tiny_model_path}", agent_color="white")
    env.reset(seed=0)
    assert [color for color, _ in env.state.history] == [BLACK]
    rng = np.random.default_rng(0)
    for _ in range(3):
        env.step(random_action(env, rng))
    assert [color for color, _ in env.state.history] == [BLACK, WHITE] * 3 + [BLACK]


def test_policy_opponent_takes_a_model_name_and_a_device(monkeypatch) -> None:
    made = []

    class Recorded:
        def __init__(self, model, **options) -> None:
            made.append((model, options.get("device", "auto")))

    monkeypatch.setattr("goai.nn.policy.Policy", Recorded)
    PolicyOpponent("small", device="cpu")
    make_opponent("policy:small")
    make_opponent("policy")
    assert made == [("small", "cpu"), ("small", "auto"), (None, "auto")]


@pytest.mark.usefixtures("one_torch_thread")
def test_a_searching_policy_opponent_repeats_its_game_from_a_seed(tiny_model_path: Path) -> None:
    def game() -> list[int]:
        env = GoEnv(size=19, opponent=f"policy:{tiny_model_path}?visits=12",
                    agent_color="white")
        env.reset(seed=5)
        rng = np.random.default_rng(0)
        for _ in range(2):
            env.step(random_action(env, rng))
        return [move for _, move in env.state.history]

    first = game()
    assert len(first) == 5 and first == game()


def test_the_visits_of_a_policy_opponent_are_read_and_checked(monkeypatch) -> None:
    made = []

    class Recorded:
        has_value_head = True

        def __init__(self, model, **options) -> None:
            made.append(model)

    monkeypatch.setattr("goai.nn.policy.Policy", Recorded)
    assert make_opponent("policy?visits=64").visits == 64
    assert make_opponent("policy:small?visits=8").visits == 8
    assert make_opponent("policy:small").visits == 1
    assert made == [None, "small", "small"]
    for spec in ("policy?visits=0", "policy:small?visit=3", "policy?visits=x"):
        with pytest.raises(ValueError, match="visits=N"):
            make_opponent(spec)


def test_a_policy_opponent_at_a_level_plays_that_level_s_legal_moves(tiny_model_path: Path,
                                                                   monkeypatch) -> None:
    assert make_opponent(f"policy:{tiny_model_path}?level=2").level.name == "2"
    assert make_opponent(f"policy:{tiny_model_path}?level=full").level is None
    with pytest.raises(ValueError, match="level=L"):
        make_opponent("policy?level=9")
    levels = []
    original = Player.decide

    def decide(self, *args, **options):  # noqa: ANN001, ANN202
        levels.append(self.config.level)
        return original(self, *args, **options)

    monkeypatch.setattr(Player, "decide", decide)
    env = GoEnv(size=19, opponent=f"policy:{tiny_model_path}?level=1", agent_color="white")
    env.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(3):
        env.step(random_action(env, rng))
    assert levels == ["1"] * 4 and len(env.state.history) == 7  # each move legal, or step raises


def test_policy_opponent_refuses_other_sizes(tiny_model_path: Path) -> None:
    with pytest.raises(ValueError, match="19x19 only"):
        GoEnv(size=9, opponent=f"policy:{tiny_model_path}")


def test_unknown_opponent_names_the_forms() -> None:
    with pytest.raises(ValueError, match="gtp:COMMAND"):
        GoEnv(size=9, opponent="gnugo")
    with pytest.raises(ValueError, match="an opponent"):
        GoEnv(size=9, agent_color="white")


FAKE_ENGINE = """
import sys
log, replies = open(sys.argv[1], "w"), sys.argv[2:]
for line in sys.stdin:
    command = line.strip()
    log.write(command + "\\n")
    log.flush()
    if command.startswith("genmove"):
        print("= " + replies.pop(0), end="\\n\\n", flush=True)
    elif command == "boardsize 25":
        print("? unacceptable size", end="\\n\\n", flush=True)
    else:
        print("=", end="\\n\\n", flush=True)
        if command == "quit":
            break
"""


@pytest.fixture
def fake_engine(tmp_path: Path):
    """``fake_engine(*replies)`` -> (GTP command, transcript path): genmove answers in turn."""
    script = tmp_path / "engine.py"
    script.write_text(FAKE_ENGINE)
    transcript = tmp_path / "transcript.txt"

    def command(*replies: str) -> tuple[list[str], Path]:
        return [sys.executable, str(script), str(transcript), *replies], transcript

    return command


def test_gtp_transcript_until_the_engine_passes_after_the_agent(fake_engine) -> None:
    command, transcript = fake_engine("B2", "pass")
    env = GoEnv(size=5, komi=0.5, opponent=command)
    env.reset(seed=0)
    env.step(move("C3", 5))
    _, reward, terminated, _, info = env.step(25)
    assert (terminated, info["result"], reward) == (True, "W+0.5", -1.0)
    env.close()
    assert transcript.read_text().splitlines() == [
        "boardsize 5", "komi 0.5", "clear_board",  # made
        "boardsize 5", "komi 0.5", "clear_board",  # reset
        "play black C3", "genmove white",
        "play black pass", "genmove white",
        "quit",
    ]


@pytest.mark.parametrize(("reply", "result"), [("resign", "B+R"), ("C3", "B+F")],
                         ids=["resigns", "plays an occupied point"])
def test_gtp_engine_resigning_or_playing_illegally_loses(fake_engine, reply, result) -> None:
    command, _ = fake_engine(reply)
    env = GoEnv(size=5, opponent=command)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(move("C3", 5))
    assert (reward, terminated, info["result"]) == (1.0, True, result)
    env.close()


def test_gtp_engine_is_stopped_on_close_and_on_garbage_collection(fake_engine) -> None:
    command, _ = fake_engine()
    env = GoEnv(size=5, opponent=command)
    process = env.opponent.client.process
    env.close()
    env.close()
    assert process.poll() is not None
    env = GoEnv(size=5, opponent=command)
    process = env.opponent.client.process
    del env
    gc.collect()
    assert process.wait(timeout=10) is not None


def test_gtp_engine_refusing_the_size_or_missing(fake_engine) -> None:
    command, _ = fake_engine()
    with pytest.raises(ValueError, match="unacceptable size"):
        GoEnv(size=25, opponent=command)
    with pytest.raises(EngineFailure, match="cannot start"):
        GoEnv(size=9, opponent="gtp:/nonexistent/engine --mode gtp")


@pytest.mark.skipif(not GNUGO.exists(), reason="GNU Go is not installed at /usr/games/gnugo")
def test_a_short_game_against_gnu_go_on_9x9() -> None:
    env = gymnasium.make(
        "goai/Go-v0", size=9, komi=7.5, agent_color="white", max_moves=24,
        opponent=f"gtp:{GNUGO} --mode gtp --level 1",
    )
    reward, terminated, truncated, info = play_to_end(env.unwrapped, 0)
    assert truncated and not terminated and reward == 0.0
    game = env.unwrapped
    # GNU Go opened as Black; the cap is checked after its reply, one move past 24.
    assert len(game.state.history) == 25 and game.state.history[0][0] == BLACK
    # The engine's board must be ours: it saw every move.
    client = game.opponent.client
    for color in (BLACK, WHITE):
        listed = client.send(f"list_stones {COLOR_NAMES[color]}").split()
        ours = {p for p, stone in enumerate(game.state.board.stones) if stone == color}
        assert {move(vertex, 9) for vertex in listed} == ours
    process = client.process
    env.close()
    assert process.poll() is not None and not client.running


# ------------------------------------------------------ the self-play script


@pytest.fixture(scope="module")
def reinforce():
    """``scripts/reinforce.py`` as a module."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "reinforce.py"
    spec = importlib.util.spec_from_file_location("reinforce", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.mark.usefixtures("one_torch_thread")
def test_reinforce_step_raises_the_winners_moves(reinforce, tiny_model_path: Path) -> None:
    import torch

    from goai.nn.checkpoint import load_model

    model = load_model(tiny_model_path).model
    planes = encode(GameState(19), "default")
    mask = np.ones(362, dtype=bool)
    # The same position in two games: the winner played D4, the loser Q16.
    won, lost = move("D4", 19), move("Q16", 19)
    batch = reinforce.Batch([planes, planes], [mask, mask], [won, lost], [0, 1])

    def probabilities() -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(model(torch.from_numpy(planes[None]).float())[0], 1)[0].numpy()

    before = probabilities()
    reinforce.reinforce_step(model, torch.optim.SGD(model.parameters(), lr=0.1), batch, [1.0, -1.0])
    after = probabilities()
    assert after[won] > before[won] and after[lost] < before[lost]


@pytest.mark.usefixtures("one_torch_thread")
def test_kl_from_start_is_zero_for_the_same_net_and_grows_with_a_step(
        reinforce, tiny_model_path: Path) -> None:
    import copy

    import torch

    from goai.nn.checkpoint import load_model

    start = load_model(tiny_model_path).model
    model = copy.deepcopy(start)
    state = GameState(19)
    play(state, "D4 Q16")
    planes = np.stack([encode(GameState(19), "default"), encode(state, "default")])
    masks = np.ones((2, 362), dtype=bool)
    masks[1, [move("D4", 19), move("Q16", 19)]] = False  # occupied: out of the sum
    assert reinforce.kl_from_start(start, model, planes, masks) == pytest.approx(0, abs=1e-6)
    batch = reinforce.Batch(list(planes), list(masks), [move("C3", 19), move("R3", 19)], [0, 1])
    # A big step, so that the KL stands well above float32 rounding.
    reinforce.reinforce_step(model, torch.optim.SGD(model.parameters(), lr=3.0), batch, [1.0, -1.0])
    kl = reinforce.kl_from_start(start, model, planes, masks)

    def legal_probabilities(net: torch.nn.Module) -> np.ndarray:
        with torch.no_grad():
            logits = net(torch.from_numpy(planes).float())[0].double().numpy()
        logits = np.where(masks, logits, -np.inf)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    p, q = legal_probabilities(start), legal_probabilities(model)
    expected = np.mean([np.sum(p[i][masks[i]] * np.log(p[i][masks[i]] / q[i][masks[i]]))
                        for i in range(2)])
    assert kl > 1e-4 and kl == pytest.approx(expected, rel=1e-2)


@pytest.mark.usefixtures("one_torch_thread")
def test_reinforce_script_smoke(reinforce, tiny_model_path: Path, tmp_path: Path, capsys) -> None:
    import json

    arguments = ["--model", str(tiny_model_path), "--out", str(tmp_path), "--minutes", "0",
                 "--games", "2", "--max-moves", "12", "--eval-games", "2", "--snapshot-every", "1",
                 "--referee", "none"]
    assert reinforce.main(arguments) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["updates"], report["games"], report["pool_size"]) == (1, 2, 2)
    assert [entry["update"] for entry in report["history"]] == [1]
    assert report["kl_from_start"] == report["history"][0]["kl_from_start"] >= 0
    evaluation = report["evaluation"]
    assert evaluation["method"] == "goai match" and evaluation["games"] == 2
    assert evaluation["wins"]["A"] + evaluation["wins"]["B"] == 2
    assert evaluation["engines"]["A"]["command"].endswith("--threads 1")
    assert str(tmp_path / "model.pt") in evaluation["engines"]["A"]["command"]
    assert (tmp_path / "model.pt").is_file() and len(list((tmp_path / "match").glob("*.sgf"))) == 2
