"""Ownership and score targets: from a counted game's record to the training loss.

The chain under test: ``labels`` (GNU Go's dead stones, checked against the
recorded margin) -> ``prepare`` (writes them into the store) -> ``store``
(keeps them, reads stores without them) -> ``stream`` (turns them with the
board's symmetry and into the side to move's view) -> ``train.losses`` (counts
them only where a game has them) -> ``evaluate`` (reports them on counted games).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from goai.learn.stream import Batch, PositionStream, batch_to_device
from goai.learn.train import LossWeights, losses
from goai.nn.model import PolicyNet, config_from_preset
from goai.records.labels import GnuGoJudge, find_gnugo, recorded_margin
from goai.records.sgf import Problem, iter_games
from goai.records.store import GameStore, StoredGame, stored_game, write_store
from goai.rules.board import BLACK, WHITE
from goai.rules.coords import NETWORK_SIZE, NUM_POINTS
from goai.rules.symmetry import transform_planes

needs_gnugo = pytest.mark.skipif(find_gnugo() is None, reason="needs GNU Go (apt-get install "
                                 "gnugo), the judge of dead stones")


@pytest.mark.parametrize("result, margin", [
    ("B+3.5", 3.5), ("W+0.5", -0.5), ("w+12", -12.0), (" B+100.5 ", 100.5), ("0", 0.0),
    ("Draw", 0.0), ("B+R", None), ("W+Resign", None), ("B+Time", None), ("W+F", None),
    ("", None), (None, None), ("B+", None), ("Void", None),
])
def test_only_a_counted_result_has_a_margin(result: str | None, margin: float | None) -> None:
    assert recorded_margin(result) == margin


@pytest.fixture(scope="module")
def counted_games(shared_data: Path) -> list:
    """The first 6 sample games that ended by counting."""
    games = []
    for item in iter_games(sorted((shared_data / "sample").glob("1*.sgf"))):
        if not isinstance(item, Problem) and recorded_margin(item.result) is not None:
            games.append(item)
        if len(games) == 6:
            break
    return games


@needs_gnugo
def test_gnu_go_s_dead_stones_give_the_recorded_margin_of_counted_games(counted_games) -> None:
    with GnuGoJudge() as judge:
        labels = [judge.label(g.size, g.komi, [(c, m) for _, c, m in g.replay()], g.result)
                  for g in counted_games]
    agreeing = [label for label in labels if label.agrees]
    # Of the sample's 55 counted games, 51 agree within a point (most exactly); here 5 of 6.
    assert len(labels) == 6 and len(agreeing) >= 5
    for label in labels:
        assert label.ownership.shape == (NUM_POINTS,) and label.ownership.dtype == np.int8
        assert set(np.unique(label.ownership)) <= {-1, 0, 1}
    for label in agreeing:
        # The count is the ownership's sum less komi, within a point of the record.
        assert abs(label.counted - label.margin) <= 1
    assert any(label.dead for label in labels)  # real games end with dead stones on the board


@needs_gnugo
def test_a_resigned_game_gets_no_label(shared_data: Path) -> None:
    resigned = next(item for item in iter_games(sorted((shared_data / "sample").glob("1*.sgf")))
                    if not isinstance(item, Problem) and recorded_margin(item.result) is None)
    with GnuGoJudge() as judge:
        assert judge.label(19, resigned.komi, [(c, m) for _, c, m in resigned.replay()],
                           resigned.result) is None


def test_a_missing_judge_is_one_clear_error() -> None:
    from goai.records.labels import LabelError

    judge = GnuGoJudge(["/no/such/gnugo", "--mode", "gtp"])
    with pytest.raises(LabelError, match="GNU Go"):
        judge.dead_stones(19, 7.5, [(BLACK, 60)])


def test_prepare_asked_for_gnu_go_without_it_is_one_line(tmp_path: Path, monkeypatch,
                                                           run_goai) -> None:
    (tmp_path / "a.sgf").write_text("(;SZ[19]RE[B+3.5];B[pd];W[dp])")
    monkeypatch.setattr("goai.records.prepare.find_gnugo", lambda: None)
    code, _, err = run_goai("prepare", str(tmp_path / "a.sgf"), "--out", str(tmp_path / "s"),
                            "--ownership", "gnugo")
    assert code == 1 and "GNU Go is not installed" in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()


# ----------------------------------------------------------------- the store


def _labelled_game(moves: list[tuple[int, int]], ownership: np.ndarray | None,
                   score: float = math.nan) -> StoredGame:
    from goai.records.store import encode_move, game_key

    codes = np.array([encode_move(c, m) for c, m in moves], np.int16)
    setup = np.zeros(0, np.int16)
    return StoredGame(codes, setup, 7.5, 0, 1 if score > 0 else -1, game_key(19, setup, codes),
                      score, ownership)


def test_the_store_keeps_ownership_and_score_and_reads_old_stores_as_unlabelled(
        tmp_path: Path) -> None:
    ownership = np.zeros(NUM_POINTS, np.int8)
    ownership[:10] = 1
    ownership[-5:] = -1
    games = [_labelled_game([(BLACK, 60), (WHITE, 300)], ownership, 3.5),
             _labelled_game([(BLACK, 72), (WHITE, 288), (BLACK, 100)], None)]
    write_store(tmp_path / "s.npz", games)
    store = GameStore(tmp_path / "s.npz")
    assert store.labelled_games == 1
    assert np.array_equal(store.game_ownership(0), ownership) and store.score[0] == 3.5
    assert store.game_ownership(1) is None and math.isnan(store.score[1])
    assert store.game(0).ownership is not None and store.game(1).ownership is None

    # A store written before the targets existed: the same arrays less the three new ones.
    with np.load(tmp_path / "s.npz") as data:
        old = {k: data[k] for k in data.files if k not in ("score", "ownership",
                                                            "ownership_index")}
    np.savez_compressed(tmp_path / "old.npz", **old)
    old_store = GameStore(tmp_path / "old.npz")
    assert old_store.labelled_games == 0 and len(old_store) == 2
    assert old_store.game_ownership(0) is None and np.isnan(old_store.score).all()


# ----------------------------------------------------------------- the stream


def test_the_stream_turns_ownership_with_the_board_and_into_the_side_to_move_s_view(
        tmp_path: Path) -> None:
    ownership = np.zeros(NUM_POINTS, np.int8)
    ownership[0] = 1  # Black owns the top-left corner point A19, White B19
    ownership[1] = -1
    moves = [(BLACK, 60), (WHITE, 300), (BLACK, 72), (WHITE, 288)]
    write_store(tmp_path / "s.npz", [_labelled_game(moves, ownership, 2.5)])
    store = GameStore(tmp_path / "s.npz")
    stream = PositionStream(store, "default", 4, games_per_chunk=1, sample_rate=1.0, seed=5)
    batch = next(iter(stream))
    board = ownership.reshape(NETWORK_SIZE, NETWORK_SIZE)
    turned = [transform_planes(board, k).reshape(-1) for k in range(8)]
    assert len(batch.moves) == 4  # every position of the game, shuffled
    for row in range(4):
        # Black won: the value target is +1 where Black was to move, -1 where White was.
        mover = int(batch.values[row])
        assert batch.scores[row] == mover * 2.5
        assert any(np.array_equal(batch.ownership[row], mover * t) for t in turned)
    # One symmetry for the whole game: every row shows the same turned map.
    assert len({bytes(np.abs(row)) for row in batch.ownership}) == 1


def test_positions_of_unlabelled_games_have_no_targets(tmp_path: Path) -> None:
    write_store(tmp_path / "s.npz", [_labelled_game([(BLACK, 60), (WHITE, 300)], None)])
    batch = next(iter(PositionStream(GameStore(tmp_path / "s.npz"), "default", 2,
                                     games_per_chunk=1, sample_rate=1.0)))
    assert np.isnan(batch.scores).all() and not batch.ownership.any()


# ----------------------------------------------------------------- the loss


def _batch(labelled: bool) -> Batch:
    rng = np.random.default_rng(0)
    batch = Batch.empty(8, 22)
    batch.planes[:] = rng.integers(0, 2, batch.planes.shape, dtype=np.uint8)
    batch.moves[:] = rng.integers(0, 362, 8)
    batch.values[:] = rng.choice([-1.0, 1.0], 8)
    batch.ownership[:] = rng.choice([-1, 1], (8, NUM_POINTS)) if labelled else 0
    batch.scores[:] = rng.normal(0, 10, 8) if labelled else np.nan
    return batch


def test_ownership_and_score_losses_count_only_labelled_positions() -> None:
    torch.manual_seed(0)
    model = PolicyNet(config_from_preset("b1c8", 22))
    weights = LossWeights(value=1.0, ownership=1.5, score=0.5)
    planes, targets = batch_to_device(_batch(labelled=False), torch.device("cpu"))
    total, heads, _ = losses(model, planes, targets, weights)
    assert heads["ownership"].item() == 0 and heads["score"].item() == 0
    assert torch.allclose(total, heads["policy"] + heads["value"])
    total.backward()
    assert model.ownership_conv.weight.grad.abs().sum() == 0  # nothing to learn from

    planes, targets = batch_to_device(_batch(labelled=True), torch.device("cpu"))
    total, heads, _ = losses(model, planes, targets, weights)
    # An untrained head is near 0: cross-entropy near log 2 a point.
    assert 0.5 < heads["ownership"].item() < 0.9 and heads["score"].item() > 0
    assert torch.allclose(total, heads["policy"] + heads["value"] + 1.5 * heads["ownership"]
                          + 0.5 * heads["score"])


def test_a_tiny_model_learns_a_fixed_ownership_map() -> None:
    torch.manual_seed(0)
    model = PolicyNet(config_from_preset("b1c8", 22)).train()
    batch = _batch(labelled=True)
    batch.ownership[:] = np.where(np.arange(NUM_POINTS) < 180, 1, -1)  # top half: the mover's
    planes, targets = batch_to_device(batch, torch.device("cpu"))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    weights = LossWeights(value=0.0, ownership=1.0, score=0.0)
    first = None
    for _ in range(60):
        _, heads, _ = losses(model, planes, targets, weights)
        first = heads["ownership"].item() if first is None else first
        optimizer.zero_grad()
        heads["ownership"].backward()
        optimizer.step()
    model.eval()
    owned = torch.sign(model(planes).ownership)
    assert heads["ownership"].item() < first / 3
    assert (owned == targets.ownership.float()).float().mean() > 0.95


# ----------------------------------------------------------------- prepare and evaluate


@needs_gnugo
def test_prepare_labels_the_counted_games_and_evaluate_reports_them(
        shared_data: Path, tmp_path: Path, tiny_model_path: Path) -> None:
    from goai.learn.evaluate import evaluate
    from goai.nn.policy import Policy
    from goai.records.prepare import PrepareConfig, prepare

    sources = tmp_path / "sgf"
    sources.mkdir()
    for game in sorted((shared_data / "sample").glob("1*.sgf"))[:16]:
        shutil.copy(game, sources)
    manifest = prepare([sources], tmp_path / "store", PrepareConfig(
        val_fraction=0.0, test_fraction=0.5, workers=1, ownership="gnugo"), show_progress=False)
    summary = manifest["ownership"]
    assert summary["judge"] and summary["counted"] >= 2
    assert summary["labelled"] == sum(s["labelled_games"] for s in manifest["splits"].values())
    assert summary["labelled"] + summary.get("count disagrees", 0) == summary["counted"]
    for split in ("train", "test"):
        store = GameStore(tmp_path / "store" / f"{split}.npz")
        labelled = store.ownership_index >= 0
        assert np.isfinite(store.score[labelled]).all() and np.isnan(store.score[~labelled]).all()
        for game in np.flatnonzero(labelled):
            margin = float(store.ownership[store.ownership_index[game]].sum()) - store.komi[game]
            assert abs(margin - store.score[game]) <= 1  # the check prepare made
            assert np.sign(store.score[game]) == store.result[game]

    test = GameStore(tmp_path / "store" / "test.npz")
    if not test.labelled_games:
        pytest.skip("no counted game hashed into this test split")
    report = evaluate(Policy(tiny_model_path), [tmp_path / "store" / "test.npz"], workers=0,
                      show_progress=False)
    counted = report["value_counted_games"]
    assert counted["games"] == test.labelled_games
    assert report["ownership"]["overall"]["positions"] == counted["overall"]["positions"]
    assert 0 <= report["ownership"]["overall"]["ownership_agreement"] <= 1

    none = prepare([sources], tmp_path / "plain", PrepareConfig(
        val_fraction=0.0, test_fraction=0.5, workers=1, ownership="none"), show_progress=False)
    assert none["ownership"]["judge"] is None
    assert all(s["labelled_games"] == 0 for s in none["splits"].values())


def test_stored_game_starts_without_targets(shared_data: Path) -> None:
    record = next(item for item in iter_games(sorted((shared_data / "sample").glob("1*.sgf")))
                  if not isinstance(item, Problem))
    game, _ = stored_game(record)
    assert game.ownership is None and math.isnan(game.score)
