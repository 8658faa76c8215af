"""scripts/search_accuracy.py on a tiny model and the repository's sample game: the
positions it picks, figures in range and consistent with each other, bad input in one line."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from goai.records.record import GameRecord
from goai.records.sgf import parse_sgf
from goai.records.store import write_games

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("search_accuracy",
                                               ROOT / "scripts" / "search_accuracy.py")
search_accuracy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(search_accuracy)


def test_figures(tiny_model_path, tmp_path, capsys):
    records = [r for r in parse_sgf((ROOT / "data" / "sample-game.sgf").read_bytes())
               if isinstance(r, GameRecord)]
    store = tmp_path / "games.npz"
    write_games(records, store)
    code = search_accuracy.main(["--store", str(store), "--model", str(tiny_model_path),
                                 "--visits", "4", "--games", "1", "--every", "100", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    moves = len(records[0].moves)
    assert report["positions"] == len(range(51, moves + 1, 100))  # positions 51, 151, ...
    changed = report["changed"] * report["positions"]
    assert report["changed_to_game_move"] + report["changed_from_game_move"] <= round(changed)
    difference = report["changed_to_game_move"] - report["changed_from_game_move"]
    assert report["search_top1"] - report["raw_top1"] == pytest.approx(
        difference / report["positions"])


def test_bad_input_is_one_line(tiny_model_path, capsys):
    assert search_accuracy.main(["--store", "missing.npz", "--model", str(tiny_model_path)]) == 2
    assert search_accuracy.main(["--store", "x.npz", "--visits", "0"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines)
