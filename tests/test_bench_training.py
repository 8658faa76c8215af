"""goai bench's training and loader figures on the CPU: the same step as goai train, counted.

Speeds are not asserted (a shared machine makes them vary); that the figures
exist, are positive, cover each process count, and that the FLOP count
matches the network drawn out by hand, is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from goai.cli.bench import bench_loader, bench_training, training_flops_per_position
from goai.cli.parser import main
from goai.nn.model import ModelConfig, config_from_preset


@pytest.fixture(scope="module")
def store(make_store) -> Path:
    return make_store(10, val=0.0, test=0.0)


def test_flops_count_the_convolutions_and_linear_layers() -> None:
    # b1c8 on 22 planes, policy head 16 filters, value head 64 hidden, at 361 points:
    # stem 9*22*8, block 2*9*8*8, policy 8*16 + 16, value 8; per point; then the
    # pass logit (16), value linears (361*64 + 64); x2 per multiply-add, x3 for training.
    config = config_from_preset("b1c8", 22)
    per_point = 9 * 22 * 8 + 2 * 9 * 8 * 8 + (8 * 16 + 16) + 8
    expected = 6 * (361 * per_point + 16 + 361 * 64 + 64)
    assert training_flops_per_position(config) == expected
    # The tower dominates a big network: b20c256 is ~ 20 * 2 * 9 * 256^2 * 361 * 6.
    big = training_flops_per_position(config_from_preset("b20c256", 22))
    assert 1.0 < big / (20 * 2 * 9 * 256**2 * 361 * 6) < 1.02
    no_value = ModelConfig(input_channels=22, blocks=1, filters=8, policy_filters=16,
                           value_head=False)
    assert training_flops_per_position(no_value) < expected


def test_training_figures_real_and_synthetic_through_the_train_step(store: Path) -> None:
    before = sorted(p.name for p in store.iterdir())
    figures = bench_training(store, preset="b1c8", batch_size=16, steps=4, warmup=1,
                             loader_workers=1, device="cpu", games_per_chunk=2)
    for name in ("synthetic_positions_per_second", "real_positions_per_second",
                 "synthetic_tflops", "real_tflops"):
        assert figures[name] > 0, name
    assert figures["real_over_synthetic"] == pytest.approx(
        figures["real_positions_per_second"] / figures["synthetic_positions_per_second"])
    assert figures["device"] == "cpu" and figures["steps_timed"] == 4
    assert sorted(p.name for p in store.iterdir()) == before


def test_loader_figures_for_each_process_count(store: Path) -> None:
    figures = bench_loader(store, [0, 2], batch_size=16, chunks=2, games_per_chunk=2)
    for count in (0, 2):
        assert figures[f"processes_{count}_positions_per_second"] > 0
        assert figures[f"processes_{count}_first_batches_seconds"] > 0
    assert figures["processes_2_trainer_cpu_ms_per_batch"] > 0
    assert "processes_0_trainer_cpu_ms_per_batch" not in figures
    assert figures["processes_2_per_process"] == pytest.approx(
        figures["processes_2_positions_per_second"] / 2)
    assert figures["pickle_roundtrip_ms_per_batch"] > 0
    assert figures["queue_receive_cpu_ms_per_batch"] >= 0
    assert figures["shared_slot_copy_ms_per_batch"] > 0


def test_bench_command_takes_a_list_of_loader_counts(store: Path, tiny_model_path: Path,
                                                     shared_data: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    sample = shared_data / "sample"
    assert main(["bench", "--source", str(sample), "--games", "2", "--stream-positions", "50",
                 "--model", str(tiny_model_path), "--inference-positions", "4",
                 "--batch-size", "16", "--steps", "2", "--preset", "b1c8",
                 "--train-data", str(store), "--loader-workers", "0,1", "--device", "cpu",
                 "--games-per-chunk", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["training"]["loader_workers"] == 1
    assert set(report["loader"]) >= {"processes_0_positions_per_second",
                                     "processes_1_positions_per_second"}


def test_a_bad_count_list_is_one_usage_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--loader-workers", "1,x"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--loader-workers" in err and "Traceback" not in err
