"""scripts/value_finetune.py: the value-only fine-tune's core pieces, on tiny models.

What must hold for the recipe to be trusted: only the value head (and the
blocks asked for) learn, so the policy is the model's own; the loss ignores
undecided games; few positions per game means few, distinct, in range; the
measurement puts each position in its phase; the split network composes to
``PolicyNet.forward``, so the cached trunk gives the model's own values; and a
checkpoint with a re-initialised, wider head loads like any other.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from goai.checkpoint import load_model, save_checkpoint
from goai.features import encode, get_feature_set
from goai.model import PolicyNet, config_from_preset

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "value_finetune.py"
_spec = importlib.util.spec_from_file_location("value_finetune", SCRIPT)
vf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vf)


def _model(preset: str = "b2c8", seed: int = 0) -> PolicyNet:
    torch.manual_seed(seed)
    return PolicyNet(config_from_preset(preset, get_feature_set("default").num_channels)).eval()


def _planes(batch: int = 6) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(0, 2, (batch, 22, 19, 19), generator=generator).float()


# ----------------------------------------------------------------- freezing


@pytest.mark.parametrize(("train_blocks", "trainable_prefixes"), [
    (0, ("value_",)),
    (1, ("value_", "tower.1.")),
    (2, ("value_", "tower.0.", "tower.1.")),
])
def test_freeze_leaves_only_the_value_head_and_the_last_blocks(
        train_blocks: int, trainable_prefixes: tuple[str, ...]) -> None:
    model = _model()
    parameters = vf.freeze_for_value(model, train_blocks)
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert names == {n for n, _ in model.named_parameters() if n.startswith(trainable_prefixes)}
    assert {id(p) for p in parameters} == {id(p) for p in model.parameters() if p.requires_grad}


def test_training_steps_move_the_value_but_not_the_policy() -> None:
    model = _model()
    planes = _planes()
    policy_before, value_before = (t.clone() for t in model(planes))
    optimizer = torch.optim.SGD(vf.freeze_for_value(model, 0), lr=0.5)
    targets = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    for _ in range(3):
        optimizer.zero_grad()
        vf.value_loss(model(planes)[1], targets).backward()
        optimizer.step()
    policy_after, value_after = model(planes)
    assert torch.equal(policy_after, policy_before)
    assert not torch.allclose(value_after, value_before)


def test_freeze_refuses_a_model_without_value_head_and_too_many_blocks() -> None:
    config = config_from_preset("b1c8", 22)
    with pytest.raises(ValueError, match="no value head"):
        vf.freeze_for_value(PolicyNet(type(config)(**{**config.to_dict(), "value_head": False})))
    with pytest.raises(ValueError, match="0..2"):
        vf.freeze_for_value(_model(), 3)


# ----------------------------------------------------------------- loss


def test_value_loss_counts_only_decided_games() -> None:
    predicted = torch.tensor([0.5, -0.5, 0.9, 0.0])
    targets = torch.tensor([1.0, 1.0, 0.0, -1.0])
    # (0.5^2 + 1.5^2 + 1^2) / 3; the undecided 0.9 is left out
    assert vf.value_loss(predicted, targets).item() == pytest.approx((0.25 + 2.25 + 1.0) / 3)


def test_value_loss_of_only_undecided_games_is_zero_with_a_gradient() -> None:
    predicted = torch.tensor([0.3, -0.2], requires_grad=True)
    loss = vf.value_loss(predicted, torch.zeros(2))
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(predicted.grad, torch.zeros(2))


# ----------------------------------------------------------------- sampling

LENGTHS = np.array([200, 30, 5, 120, 160])
RESULTS = np.array([1, -1, 1, 0, -1])  # game 3 undecided


@pytest.mark.parametrize("per_game", [1, 4, 8])
def test_sample_positions_few_distinct_positions_of_decided_games(per_game: int) -> None:
    rng = np.random.default_rng(0)
    games, numbers = vf.sample_positions(LENGTHS, RESULTS, np.arange(5), per_game, rng)
    assert 3 not in games
    for game in (0, 1, 2, 4):
        mine = numbers[games == game]
        assert len(mine) == min(per_game, LENGTHS[game])
        assert len(set(mine.tolist())) == len(mine)
        assert np.all(np.diff(mine) > 0) and mine.min() >= 0 and mine.max() < LENGTHS[game]
    # games come in the order given
    assert list(dict.fromkeys(games.tolist())) == [0, 1, 2, 4]


def test_one_position_a_game_spreads_over_the_whole_game() -> None:
    lengths, results = np.full(4000, 200), np.ones(4000, np.int8)
    _, numbers = vf.sample_positions(lengths, results, np.arange(4000), 1,
                                     np.random.default_rng(0))
    counts = np.histogram(numbers, bins=4, range=(0, 200))[0]
    assert counts.min() > 900  # about 1000 in each quarter of the game


def test_sample_by_phase_fills_each_phase_the_game_reaches() -> None:
    games, numbers = vf.sample_by_phase(LENGTHS, RESULTS, np.arange(5), 2,
                                        np.random.default_rng(0))
    moves = numbers + 1
    table = {  # game: positions per phase 1-50, 51-100, 101-150, 151+
        0: [2, 2, 2, 2],
        1: [2, 0, 0, 0],
        2: [2, 0, 0, 0],
        4: [2, 2, 2, 2],
    }
    for game, expected in table.items():
        mine = moves[games == game]
        got = [int(((mine >= low) & (mine <= (high or 10**6))).sum()) for low, high in vf.PHASES]
        assert got == expected, game
    assert 3 not in games
    assert moves[games == 4].max() <= 160


# ----------------------------------------------------------------- measuring


def test_value_metrics_by_phase_from_a_table() -> None:
    rows = [  # (move number (0 = before move 1), predicted, result for the side to move)
        (0, 0.2, 1),     # 1-50: agrees, error 0.64
        (49, -0.5, 1),   # 1-50: disagrees, error 2.25
        (50, 0.0, -1),   # 51-100: zero counts as disagreeing, error 1
        (100, -0.8, -1),  # 101-150: agrees, error 0.04
        (150, 0.6, 1),   # 151+: agrees, error 0.16
        (200, 0.9, 0),   # undecided: left out, counted
    ]
    numbers, predicted, targets = (np.array(column) for column in zip(*rows, strict=True))
    metrics = vf.value_metrics(predicted, targets, numbers)
    phases = metrics["phases"]
    assert phases["1-50"] == {"positions": 2, "sign_agreement": 0.5,
                              "mse": pytest.approx((0.64 + 2.25) / 2)}
    assert phases["51-100"] == {"positions": 1, "sign_agreement": 0.0, "mse": 1.0}
    assert phases["101-150"]["sign_agreement"] == 1.0
    assert phases["101-150"]["mse"] == pytest.approx(0.04)
    assert phases["151+"]["positions"] == 1
    assert metrics["101+"]["positions"] == 2
    assert metrics["101+"]["mse"] == pytest.approx(0.1)
    assert metrics["all"]["positions"] == 5 and metrics["undecided"] == 1
    table = vf.format_table({"m": metrics})
    assert "| m | 50.0% | 1.445 | 0.0% | 1.000 | 100.0% | 0.040 |" in table


def test_value_metrics_of_an_empty_phase() -> None:
    metrics = vf.value_metrics(np.array([0.5]), np.array([1.0]), np.array([3]))
    assert metrics["phases"]["151+"] == {"positions": 0, "sign_agreement": None, "mse": None}


# ----------------------------------------------------------------- the split network


@pytest.mark.parametrize("train_blocks", [0, 1, 2])
def test_the_split_network_composes_to_forward(train_blocks: int) -> None:
    model = _model()
    planes = _planes()
    logits, value = model(planes)
    with torch.no_grad():
        trunk = vf.back(model, vf.front(model, planes, train_blocks), train_blocks)
        torch.testing.assert_close(vf.value_from_trunk(model, trunk), value)
        torch.testing.assert_close(vf.policy_from_trunk(model, trunk), logits)


def test_a_wider_value_head_keeps_the_rest_and_loads(tmp_path: Path) -> None:
    model = _model()
    wider = vf.with_value_hidden(model, 96, seed=3)
    assert wider.value_hidden.out_features == 96
    planes = _planes()
    torch.testing.assert_close(wider(planes)[0], model(planes)[0])
    save_checkpoint(tmp_path / "wide.pt", wider, "default", {"note": "test"})
    loaded = load_model(tmp_path / "wide.pt")
    assert loaded.config.value_hidden == 96
    torch.testing.assert_close(loaded.model(planes)[1], wider(planes)[1])


# ----------------------------------------------------------------- cache, end to end


@pytest.fixture(scope="module")
def small_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from goai.sgf import iter_games

    try:
        from goai.store import write_games
    except ImportError:
        from goai.data import write_games
    files = sorted((shared_data / "sample").glob("*.sgf"))[:3]
    path = tmp_path_factory.mktemp("store") / "train.npz"
    records = [g for g in iter_games(files) if hasattr(g, "moves")]
    write_games(records, path)
    return path


def test_cached_positions_give_the_models_own_values(small_store: Path, tmp_path: Path) -> None:
    model = _model()
    store = vf.GameStore(small_store)
    games = np.array([0, 0, 1, 2])
    numbers = np.array([0, 7, 12, 30])
    vf.build_cache(model, "default", store, games, numbers, tmp_path / "c", symmetries=False,
                   seed=0, chunk=3)  # a chunk boundary cuts game 0 apart from game 1
    cache = vf.Cache(tmp_path / "c")
    assert cache.done == 4 and json.loads((tmp_path / "c" / "done.json").read_text())
    planes = []
    for game, number in zip(games, numbers, strict=True):
        state = next(s for i, (s, _, _) in enumerate(store.replay(int(game))) if i == number)
        planes.append(encode(state, "default"))
    _, expected = model(torch.from_numpy(np.stack(planes)).float())
    rows = cache.rows()
    got = vf.predict_values(model, cache.features(rows), train_blocks=0)
    np.testing.assert_allclose(got, expected.detach().numpy(), atol=5e-3)  # float16 cache
    # the targets: the result for the side to move
    for row, (game, number) in enumerate(zip(games, numbers, strict=True)):
        code = int(store.moves[store.game_offsets[game] + number])
        black_result = int(store.result[game])
        assert cache.values[row] == (-black_result if code & 512 else black_result)
    # moves: the stored move at each position, as an index
    assert np.array_equal(cache.moves, store.moves[store.game_offsets[games] + numbers] & 511)


def test_a_partly_written_cache_offers_whole_games_only(small_store: Path,
                                                        tmp_path: Path) -> None:
    store = vf.GameStore(small_store)
    vf.build_cache(_model(), "default", store, np.array([0, 0, 1, 1, 2]),
                   np.array([1, 2, 3, 4, 5]), tmp_path / "c", symmetries=False, seed=0)
    cache = vf.Cache(tmp_path / "c")
    for done, usable in [(0, 0), (1, 0), (2, 2), (3, 2), (4, 4), (5, 5)]:
        cache.done = done
        assert len(cache.rows()) == usable, done
    assert len(cache.rows(limit=3)) == 2


def test_training_on_a_cache_lowers_the_value_error(
        small_store: Path, tmp_path: Path) -> None:
    store = vf.GameStore(small_store)
    lengths = np.diff(store.game_offsets)
    games, numbers = vf.sample_positions(lengths, store.result, np.arange(len(store)), 40,
                                         np.random.default_rng(0))
    model = _model()
    vf.build_cache(model, "default", store, games, numbers, tmp_path / "c", symmetries=True,
                   seed=0)
    cache = vf.Cache(tmp_path / "c")
    rows = cache.rows()
    before = vf.value_metrics(vf.predict_values(model, cache.features(rows), 0), cache.values,
                              cache.numbers)["all"]["mse"]
    trained, history = vf.train_value(vf.with_value_hidden(model, 16), cache, cache,
                                      train_blocks=1, epochs=30, lr=1e-2, batch_size=16,
                                      limit=None, seed=0, weight_decay=0.0)
    predicted = vf.predict_values(trained, cache.features(rows, penultimate=True), 1)
    after = vf.value_metrics(predicted, cache.values, cache.numbers)["all"]["mse"]
    assert [row["epoch"] for row in history] == list(range(31))  # epoch 0: the model as given
    assert after < before and after < 0.5  # it can fit its own training positions


# ----------------------------------------------------------------- batch correlation


@pytest.mark.parametrize(("games_per_chunk", "distinct", "per_game"), [
    (1, 1, 64),  # every batch is one game
    (4, 4, 16),
])
def test_the_streams_batches_hold_few_games(games_per_chunk: int, distinct: int,
                                            per_game: int) -> None:
    lengths, results = np.full(50, 256), np.ones(50, np.int8)
    figures = vf.stream_batch_correlation(lengths, results, batch_size=64,
                                          games_per_chunk=games_per_chunk, sample_rate=1.0,
                                          chunks=5)
    assert figures["distinct_games_per_batch"] == pytest.approx(distinct, abs=0.3)
    assert figures["positions_per_game"] == pytest.approx(per_game, rel=0.1)
    if games_per_chunk == 1:
        assert figures["same_game_pair_share"] == 1.0


# ----------------------------------------------------------------- command line


def test_the_command_refuses_a_missing_checkpoint_in_one_line(tmp_path: Path,
                                                              capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        vf.main(["measure", "--model", str(tmp_path / "none.pt"), "--cache", str(tmp_path)])
    assert "no such checkpoint file" in str(exit_info.value)
    assert "\n" not in str(exit_info.value)


def test_the_ridge_probe_reads_a_planted_signal() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 6))
    targets = np.where(features[:, 2] - 0.5 * features[:, 4] > 0, 1.0, -1.0)
    probe = vf.ridge_probe((features[:300], targets[:300]), ridge=1.0)
    predicted = vf.probe_values(probe, features[300:])
    assert np.all(np.abs(predicted) <= 1)
    assert np.mean(np.sign(predicted) == targets[300:]) > 0.9
