"""goai evaluate: workers change nothing but speed, the value head is scored against results,
and no game to evaluate is an error with its reason, never a 0.0% table."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from goai import cli
from goai.learn.evaluate import EvaluationError, ValueReport, default_batch_size, evaluate
from goai.nn.policy import Heads
from goai.records.record import GameRecord
from goai.records.sgf import parse_sgf
from goai.records.store import write_games


def _record(text: str) -> GameRecord:
    (record,) = parse_sgf(text.encode())
    return record


B_WINS = "(;GM[1]SZ[19]KM[7.5]RE[B+R];B[pd];W[dp];B[pp];W[dd])"
W_WINS = "(;GM[1]SZ[19]KM[7.5]RE[W+3.5];B[qd];W[dq];B[pq];W[cd];B[ee])"
NO_RESULT = "(;GM[1]SZ[19]KM[7.5]RE[Void];B[pd];W[dp])"
NINE = "(;GM[1]SZ[9]KM[7.5];B[ee];W[cc])"


class ConstantPolicy:
    """Every move equally likely but the points listed; the value is ``value`` everywhere."""

    feature_set = "default"
    symmetries = 1
    device = "cpu"
    path = Path("constant.pt")

    def __init__(self, value: float | None) -> None:
        self.value = value

    @property
    def has_value_head(self) -> bool:
        return self.value is not None

    def evaluate_batch(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        probabilities = np.full((len(planes), 362), 1 / 362)
        values = None if self.value is None else np.full(len(planes), self.value)
        return probabilities, values

    def evaluate_heads(self, planes: np.ndarray) -> Heads:
        return Heads(*self.evaluate_batch(planes))  # no ownership or score head


@pytest.fixture
def games(tmp_path: Path) -> Path:
    folder = tmp_path / "games"
    folder.mkdir()
    for name, text in (("a", B_WINS), ("b", W_WINS), ("c", NO_RESULT), ("d", NINE)):
        (folder / f"{name}.sgf").write_text(text)
    return folder


def test_value_head_against_the_results(games: Path) -> None:
    report = evaluate(ConstantPolicy(0.5), [games], workers=0, show_progress=False)
    value = report["value"]
    # B_WINS: to move B, W, B, W -> +1 -1 +1 -1;  W_WINS: B W B W B -> -1 +1 -1 +1 -1.
    # A constant +0.5 agrees in sign where the side to move won: 2 + 2 of 9 positions.
    assert value["overall"]["positions"] == 9
    assert value["overall"]["sign_agreement"] == pytest.approx(4 / 9)
    assert value["overall"]["mse"] == pytest.approx((4 * 0.25 + 5 * 2.25) / 9)
    assert (value["games"], value["games_without_result"]) == (2, 1)
    assert value["positions_without_result"] == 2
    assert value["by_phase"]["1-50"]["positions"] == 9
    assert value["by_phase"]["151+"]["positions"] == 0
    (row,) = [row for row in value["calibration"] if row["positions"]]
    assert row == {"bin": "70-80%", "positions": 9, "predicted": 0.75, "won": pytest.approx(4 / 9)}
    assert report["positions"] == 11  # accuracy counts the undecided game too
    assert report["skipped"] == [{"game": f"{games / 'd.sgf'} game 0", "reason": "9x9 board"}]


def test_no_value_head_no_value_figures(games: Path) -> None:
    assert evaluate(ConstantPolicy(None), [games], workers=0, show_progress=False)["value"] is None


def test_value_phases_and_calibration_bins() -> None:
    """A table: value, result for the side to move, move number -> where each position counts."""
    rows = [
        # value  outcome  move
        (-0.95,  -1,      1),     # bin 0-10%, agrees
        (0.95,   1,       50),    # bin 90-100%, agrees
        (1.0,    -1,      51),    # bin 90-100% (the top edge stays in the last bin), disagrees
        (0.1,    1,       100),   # bin 50-60%, agrees
        (-0.1,   1,       101),   # bin 40-50%, disagrees
        (0.0,    1,       151),   # 0 is no prediction of a win: disagrees
        (0.5,    0,       300),   # no decisive result: left out
    ]
    values, outcomes, numbers = np.array(rows, dtype=float).T
    report = ValueReport()
    report.add(values, outcomes, numbers.astype(int))
    result = report.as_dict()
    assert {name: tally["positions"] for name, tally in result["by_phase"].items()} == \
        {"1-50": 2, "51-100": 2, "101-150": 1, "151+": 1}
    assert [result["by_phase"][p]["sign_agreement"] for p in ("1-50", "51-100", "101-150")] == \
        [1.0, 0.5, 0.0]
    assert result["by_phase"]["51-100"]["mse"] == pytest.approx((4 + 0.81) / 2)
    bins = {row["bin"]: row["positions"] for row in result["calibration"] if row["positions"]}
    assert bins == {"0-10%": 1, "40-50%": 1, "50-60%": 2, "90-100%": 2}
    assert result["positions_without_result"] == 1


def test_workers_change_nothing_but_speed(games: Path, tiny_model_path: Path) -> None:
    from goai.nn.policy import Policy

    policy = Policy(tiny_model_path, device="cpu", threads=1)
    here = evaluate(policy, [games], workers=0, batch_size=3, show_progress=False)
    pooled = evaluate(policy, [games], workers=2, batch_size=3, show_progress=False)
    for report in (here, pooled):
        for key in ("seconds", "positions_per_second", "network_seconds", "workers"):
            report.pop(key)
    assert json.dumps(here, sort_keys=True) == json.dumps(pooled, sort_keys=True)
    assert here["positions"] == 11 and here["value"]["overall"]["positions"] == 9


def test_a_store_is_scored_like_its_games(tmp_path: Path, games: Path,
                                          tiny_model_path: Path) -> None:
    from goai.nn.policy import Policy

    store = tmp_path / "test.npz"
    assert write_games([_record(t) for t in (B_WINS, W_WINS, NO_RESULT)], store) == 3
    policy = Policy(tiny_model_path, device="cpu", threads=1)
    from_store = evaluate(policy, [store], workers=1, show_progress=False)
    from_sgf = evaluate(policy, [games], workers=0, show_progress=False)
    for key in ("overall", "by_phase", "value"):
        assert json.dumps(from_store[key]) == json.dumps(from_sgf[key])


# ----------------------------------------------------------------- nothing to evaluate


def _nothing_cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a game")
    (tmp_path / "notes.sgf").write_text("not a game either")
    (tmp_path / "nine.sgf").write_text(NINE + NINE.replace("ee", "dd"))
    write_games([], tmp_path / "empty.npz")
    np.savez(tmp_path / "foreign.npz", x=np.zeros(3))
    return {
        # source                  the reason in the one-line error
        "missing file":           (["missing.sgf"], "missing.sgf: no such file or folder"),
        "non-SGF file":           (["notes.txt"], "not an .sgf file or a known archive"),
        "SGF without a game":     (["notes.sgf"], "no SGF game tree"),
        "empty folder":           (["empty"], "no game to evaluate .*no SGF games found"),
        "only 9x9 games":         (["nine.sgf"], "2 skipped: 9x9 board \\(2\\)"),
        "empty store":            (["empty.npz"], "no SGF game found"),
        "not a store":            (["foreign.npz"], "not a game store from goai prepare"),
    }


@pytest.mark.parametrize("case", ["missing file", "non-SGF file", "SGF without a game",
                                  "empty folder", "only 9x9 games", "empty store",
                                  "not a store"])
def test_nothing_to_evaluate_is_an_error(tmp_path: Path, tiny_model_path: Path, case: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    sources, reason = _nothing_cases(tmp_path)[case]
    paths = [str(tmp_path / source) for source in sources]
    with pytest.raises(EvaluationError, match=reason):
        evaluate(ConstantPolicy(0.0), paths, workers=0, show_progress=False)
    with pytest.raises(SystemExit, match=reason) as raised:
        cli.main(["evaluate", *paths, "--model", str(tiny_model_path), "--json"])
    message = str(raised.value.code)
    assert message.startswith("goai evaluate: ") and "\n" not in message
    assert "game None" not in message
    assert capsys.readouterr().out == ""  # no table, no JSON


def test_plot_without_matplotlib_fails_before_the_work(monkeypatch: pytest.MonkeyPatch,
                                                       games: Path, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    # The model is never loaded: the check comes first.
    with pytest.raises(SystemExit, match="plots need matplotlib, a dependency of goai"):
        cli.main(["evaluate", str(games), "--plot", str(tmp_path / "a.png"),
                  "--model", str(tmp_path / "never-loaded.pt")])


def test_plot_into_a_missing_folder_fails_before_the_work(games: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no folder"):
        cli.main(["evaluate", str(games), "--plot", str(tmp_path / "nowhere" / "a.png"),
                  "--model", str(tmp_path / "never-loaded.pt")])


def test_batch_size_by_device() -> None:
    assert default_batch_size(torch.device("cpu")) == 32
    assert default_batch_size(torch.device("cuda")) == 256


@pytest.mark.parametrize("option", ["--batch-size=0", "--workers=-1", "--max-games=0"])
def test_bad_numbers_are_refused(games: Path, option: str) -> None:
    with pytest.raises(SystemExit, match="must be at least"):
        cli.main(["evaluate", str(games), option])


def test_text_report_names_speed_and_value(games: Path, tiny_model_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["evaluate", str(games), "--model", str(tiny_model_path),
                     "--workers", "0"]) == 0
    out = capsys.readouterr().out
    # The model's file first, then the feature set by name ("(default, ...)" read as a model).
    assert out.startswith(f"model {tiny_model_path}, feature set default, 1 symmetry, cpu: ")
    assert "positions/s" in out and "value head" in out and "calibration" in out
    # On a CPU the batch defaults to 32: larger ones outgrow the cache and run slower.
    assert "batch 32," in out and "the network" in out
    assert f"{games / 'd.sgf'} game 0: 9x9 board" in out


def test_the_total_comes_first_and_the_progress_counts_toward_it(games: Path,
                                                                  tiny_model_path: Path,
                                                                  capsys) -> None:
    """At a CPU's 17 positions/s a test split takes hours: say how much before the work."""
    assert cli.main(["evaluate", str(games), "--model", str(tiny_model_path), "--workers",
                     "0", "--max-games", "2"]) == 0
    first, *progress = capsys.readouterr().err.splitlines()
    assert first == "evaluate: 2 games, 9 positions"  # the 19x19 ones, at most --max-games
    assert re.match(r"evaluate: \d/9 positions \(\d+%\) \[", progress[0])
    assert progress[-1].startswith("evaluate: 9/9 positions (100%) [")


def test_a_store_s_totals_come_from_its_index(make_store, tiny_model_path: Path,
                                               capsys) -> None:
    from goai.records.store import GameStore

    test = make_store(30, val=0.0, test=0.3) / "test.npz"
    store = GameStore(test)
    assert cli.main(["evaluate", str(test), "--model", str(tiny_model_path), "--workers",
                     "0"]) == 0
    assert capsys.readouterr().err.splitlines()[0] == (
        f"evaluate: {len(store)} games, {store.num_positions:,} positions")


# ----------------------------------------------------------------- files written


def test_predict_heatmap_into_a_missing_folder(tmp_path: Path) -> None:
    sgf = tmp_path / "game.sgf"
    sgf.write_text(B_WINS)
    with pytest.raises(SystemExit, match="cannot write .*h.png: No such file") as raised:
        cli.main(["predict", str(sgf), "--heatmap", str(tmp_path / "nowhere" / "h.png"),
                  "--model", str(tmp_path / "never-loaded.pt")])
    assert "\n" not in str(raised.value.code)


@pytest.mark.parametrize("json_output", [False, True])
def test_predict_heatmap_says_where(tmp_path: Path, tiny_model_path: Path, json_output: bool,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    sgf = tmp_path / "game.sgf"
    sgf.write_text(B_WINS)
    heatmap = tmp_path / "h.png"
    argv = ["predict", str(sgf), "--heatmap", str(heatmap), "--model", str(tiny_model_path)]
    assert cli.main(argv + (["--json"] if json_output else [])) == 0
    captured = capsys.readouterr()
    assert heatmap.read_bytes().startswith(b"\x89PNG")
    where = captured.err if json_output else captured.out
    assert f"heat map: {heatmap}" in where
    if json_output:
        json.loads(captured.out)


def test_review_says_where_after_json(tmp_path: Path, tiny_model_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    sgf = tmp_path / "game.sgf"
    sgf.write_text(B_WINS)
    out = tmp_path / "reviewed.sgf"
    assert cli.main(["review", str(sgf), "--out", str(out), "--model", str(tiny_model_path),
                     "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert f"annotated SGF: {out}" in captured.err and out.is_file()


def test_review_into_a_missing_folder(tmp_path: Path) -> None:
    sgf = tmp_path / "game.sgf"
    sgf.write_text(B_WINS)
    with pytest.raises(SystemExit, match="cannot write .*r.sgf: No such file"):
        cli.main(["review", str(sgf), "--out", str(tmp_path / "nowhere" / "r.sgf"),
                  "--model", str(tmp_path / "never-loaded.pt")])

