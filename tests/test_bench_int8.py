"""scripts/bench_int8.py on a tiny model and the repository's sample game: the int8 copy
really is quantized, both rows of figures are there and in range, bad input is one line."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from goai.records.record import GameRecord
from goai.records.sgf import parse_sgf
from goai.records.store import write_games

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_int8", ROOT / "scripts" / "bench_int8.py")
bench_int8 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_int8)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    data = (ROOT / "data" / "sample-game.sgf").read_bytes()
    records = [r for r in parse_sgf(data) if isinstance(r, GameRecord)]
    path = tmp_path_factory.mktemp("store") / "games.npz"
    write_games(records, path)
    return path


def test_figures_for_both_models(tiny_model_path, store, capsys):
    code = bench_int8.main(["--model", str(tiny_model_path), "--calibrate", str(store),
                            "--test", str(store), "--calibration-positions", "32",
                            "--positions", "48", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["positions"] == 48 and report["calibration_positions"] == 32
    for name in ("float32", "int8"):
        row = report[name]
        assert row["positions_per_second"] > 0
        assert 0 <= row["top1"] <= 1 and 0 <= row["value_sign_agreement"] <= 1
        assert 0 <= row["value_squared_error"] <= 4
    assert 0 <= report["top_move_agreement"] <= 1


def test_the_copy_is_int8(tiny_model_path, store):
    from goai.learn.stream import fixed_positions
    from goai.nn.checkpoint import load_model

    loaded = load_model(tiny_model_path)
    planes = fixed_positions(bench_int8.GameStore(store), loaded.feature_set, 16).planes
    int8 = bench_int8.quantize(loaded.model, planes, batch_size=8)
    kinds = {type(module).__module__ for module in int8.modules()}
    assert any("quantized" in kind for kind in kinds)
    assert all(p.dtype.is_floating_point for p in loaded.model.parameters())  # original kept


def test_bad_input_is_one_line(tiny_model_path, store, capsys):
    assert bench_int8.main(["--model", "no-such.pt", "--calibrate", str(store),
                            "--test", str(store)]) == 2
    assert bench_int8.main(["--model", str(tiny_model_path), "--calibrate", "missing.npz",
                            "--test", str(store)]) == 2
    assert bench_int8.main(["--model", str(tiny_model_path), "--calibrate", str(store),
                            "--test", str(store), "--positions", "0"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
