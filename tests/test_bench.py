"""goai bench, run tiny: every figure is there, next to its limit or target.

Speeds are not asserted (a shared machine makes them vary); that the figures
exist, are positive and carry their targets is.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from goai.cli.bench import bench_data, bench_inference, bench_training, peak_rss
from goai.cli.parser import main
from goai.records.prepare import PrepareConfig, prepare


@pytest.fixture(scope="module")
def sample_games(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("games")
    for game in sorted((shared_data / "sample").glob("1*.sgf"))[:12]:
        shutil.copy(game, folder)
    return folder


def test_data_figures(sample_games: Path) -> None:
    figures = bench_data(sample_games, max_games=12, stream_positions=300)
    assert figures["games"] == 12
    for name in ("sgf_games_parsed_per_second", "moves_replayed_per_second",
                 "positions_encoded_per_second", "stream_positions_per_second"):
        assert figures[name] > 0, name


def test_data_figures_stop_at_max_games_and_skip_other_sizes(sample_games: Path,
                                                             tmp_path: Path) -> None:
    # Two 19x19 games and a 9x9 one that sorts first: the figures are per 19x19 game,
    # the network's size, and --games caps the games read, whatever their size.
    for game in sorted(sample_games.glob("*.sgf"))[:2]:
        shutil.copy(game, tmp_path)
    (tmp_path / "0-small.sgf").write_text("(;GM[1]FF[4]SZ[9];B[cc];W[gg];B[cg])")
    assert bench_data(tmp_path, max_games=10, stream_positions=50)["games"] == 2
    assert bench_data(tmp_path, max_games=2, stream_positions=50)["games"] == 1
    assert bench_data(sample_games, max_games=5, stream_positions=50)["games"] == 5


def test_inference_figures(sample_games: Path, tiny_model_path: Path) -> None:
    figures = bench_inference(sample_games, model=tiny_model_path, batch_size=16, positions=20)
    assert figures["model"] == str(tiny_model_path) and figures["batch_size"] == 16
    for name in ("batch_positions_per_second", "bare_batch_positions_per_second",
                 "single_position_ms", "bare_single_position_ms", "genmove_ms"):
        assert figures[name] > 0, name
    assert figures["target_genmove_overhead"] == 0.2


def test_training_figures_leave_the_data_folder_alone(sample_games: Path,
                                                      tmp_path: Path) -> None:
    prepare([sample_games], tmp_path, PrepareConfig(val_fraction=0.0, test_fraction=0.0,
                                                     workers=1), show_progress=False)
    before = sorted(p.name for p in tmp_path.iterdir())
    figures = bench_training(tmp_path, preset="b1c8", batch_size=16, steps=10,
                             loader_workers=0, device="cpu")
    assert figures["synthetic_positions_per_second"] > 0
    assert figures["real_positions_per_second"] > 0
    assert figures["target_real_over_synthetic"] == 0.9
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_peak_rss_is_reported_against_its_limit() -> None:
    memory = peak_rss()
    assert memory["self_mb"] > 0 and memory["limit_mb"] == 4096


def test_bench_command_prints_json(sample_games: Path, tiny_model_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--source", str(sample_games), "--games", "4",
                 "--stream-positions", "100", "--model", str(tiny_model_path),
                 "--inference-positions", "10", "--batch-size", "16", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"data", "inference", "memory"}
