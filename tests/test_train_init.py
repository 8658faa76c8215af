"""``goai train --init MODEL [--train value]``: fine-tune a trained model, or only its value head.

With ``--init`` the run starts from the model's weights and takes its network
size and feature set; with ``--train value`` only the value head learns, so
every weight of the trunk and the policy head, and every batch-norm statistic,
leaves the run exactly as it came in, and the policy's moves do not change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from goai.learn.train import TrainConfig, train
from goai.nn.checkpoint import load_model, read_checkpoint


@pytest.fixture(scope="module")
def store(make_store) -> Path:
    return make_store(12, val=0.25, test=0.0)


def options(store: Path, out: Path, **changes: object) -> dict:
    return dict(data=str(store), out=str(out), batch_size=8, steps=4, warmup_steps=1,
                log_every=1, eval_every=1000, checkpoint_every=1000, val_positions=16,
                games_per_chunk=1, loader_workers=0, threads=1, lr=0.05,
                show_progress=False) | changes


def changed(before: dict, after: dict) -> set[str]:
    return {name for name in before if not torch.equal(before[name], after[name])}


def test_init_starts_from_the_model_and_takes_its_size_and_features(
        store: Path, tmp_path: Path, tiny_model_path: Path) -> None:
    out = tmp_path / "run"
    metrics = train(TrainConfig(**options(store, out, init=str(tiny_model_path), steps=1,
                                          lr=1e-9, warmup_steps=0)))
    assert metrics["step"] == 1
    start = load_model(tiny_model_path).model.state_dict()
    saved = read_checkpoint(out / "checkpoint.pt")
    assert saved["training"]["preset"] == "b1c8"  # not TrainConfig's default b6c64
    assert saved["training"]["init"] == str(tiny_model_path)
    # One step at a learning rate of 1e-9 leaves the weights where --init put them.
    name = "stem.0.weight"
    assert torch.allclose(saved["model"][name], start[name], atol=1e-6)


def test_train_value_changes_the_value_head_and_nothing_else(
        store: Path, tmp_path: Path, tiny_model_path: Path) -> None:
    out = tmp_path / "run"
    metrics = train(TrainConfig(**options(store, out, init=str(tiny_model_path),
                                          train="value", value_weight=1.0)))
    assert "val_value_mse" in metrics
    before = load_model(tiny_model_path).model.state_dict()
    after = load_model(out / "model.pt").model.state_dict()
    moved = changed(before, after)
    assert moved and all(name.startswith(("value_", "ownership_")) for name in moved)
    # Batch-norm statistics of the trunk, too, are as --init trained them.
    assert "stem.1.running_mean" not in moved
    assert read_checkpoint(out / "model.pt")["training"]["trained"] == "value"

    # Resumed, the run continues with the same frozen weights.
    train(TrainConfig(**options(store, out, init=str(tiny_model_path), train="value",
                                value_weight=1.0, steps=6, resume=True)))
    again = load_model(out / "model.pt").model.state_dict()
    assert all(name.startswith(("value_", "ownership_")) for name in changed(before, again))
    assert changed(after, again)


def test_train_all_from_init_moves_the_trunk(store: Path, tmp_path: Path,
                                             tiny_model_path: Path) -> None:
    out = tmp_path / "run"
    train(TrainConfig(**options(store, out, init=str(tiny_model_path))))
    moved = changed(load_model(tiny_model_path).model.state_dict(),
                    load_model(out / "model.pt").model.state_dict())
    assert "stem.0.weight" in moved and "policy_conv.0.weight" in moved


def test_heads_ownership_grows_the_new_heads_on_an_old_model_and_keeps_its_trunk(
        store: Path, tmp_path: Path) -> None:
    from goai.nn.checkpoint import save_checkpoint
    from goai.nn.model import ModelConfig, PolicyNet

    old = tmp_path / "flat.pt"  # a model from before the ownership heads: flat value head
    torch.manual_seed(0)
    save_checkpoint(old, PolicyNet(ModelConfig(input_channels=22, blocks=1, filters=8,
                                               policy_filters=16)).eval(), "default", {})
    out = tmp_path / "run"
    train(TrainConfig(**options(store, out, init=str(old), heads="ownership", train="value",
                                steps=2)))
    grown = load_model(out / "model.pt")
    assert grown.config.value_pooling and grown.config.ownership_head and grown.config.score_head
    before = load_model(old).model.state_dict()
    after = grown.model.state_dict()
    kept = [name for name in before if not name.startswith("value_")]
    assert kept and all(torch.equal(before[name], after[name]) for name in kept)
    assert after["value_conv.0.weight"].shape[0] > 1  # the pooled head's channels


@pytest.mark.parametrize("changes, message", [
    ({"train": "value"}, "give --init MODEL"),
    ({"heads": "ownership"}, "give --init MODEL"),
    ({"train": "policy", "init": "small"}, "give all or value"),
])
def test_impossible_fine_tunes_are_refused(store: Path, tmp_path: Path, changes: dict,
                                           message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**options(store, tmp_path, **changes))


def test_a_model_without_a_value_head_has_no_value_to_train(store: Path, tmp_path: Path) -> None:
    from goai.nn.checkpoint import save_checkpoint
    from goai.nn.model import ModelConfig, PolicyNet

    path = tmp_path / "policy-only.pt"
    save_checkpoint(path, PolicyNet(ModelConfig(input_channels=22, blocks=1, filters=8,
                                                policy_filters=16, value_head=False)),
                    "default", {})
    with pytest.raises(ValueError, match="no value head"):
        train(TrainConfig(**options(store, tmp_path / "run", init=str(path), train="value")))
    assert not (tmp_path / "run").exists()  # refused before anything was written


@pytest.mark.parametrize("argv, message", [
    (["--init", "small", "--preset", "b2c16"], "leave out --preset"),
    (["--init", "no/such/model.pt"], "no model 'no/such/model.pt'"),
])
def test_the_command_line_says_what_is_wrong_in_one_line(store: Path, tmp_path: Path, run_goai,
                                                         argv: list[str], message: str) -> None:
    out = tmp_path / "run"
    code, _, err = run_goai("train", "--data", str(store), "--out", str(out), "--steps", "1",
                            *argv)
    assert code == 1 and message in err and "Traceback" not in err
    assert not out.exists()
