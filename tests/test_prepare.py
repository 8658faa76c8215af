"""goai prepare on small generated collections: refusals, small splits, bad options, no torch.

Games here are written on the spot (a few dozen moves each), so each test says
what it feeds prepare; the sample collection is covered by test_pipeline.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from games import write_collection

from goai.records.prepare import PrepareConfig, PrepareError, prepare
from goai.records.store import GameStore


def test_importing_prepare_and_store_loads_no_torch() -> None:
    code = ("import sys, goai.records.prepare, goai.records.store, goai.cli.parser; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_prepare_command_and_its_workers_run_without_torch(tmp_path: Path) -> None:
    sources = write_collection(tmp_path / "sgf", 4)
    code = ("import sys\n"
            "from goai.cli.parser import main\n"
            f"main(['prepare', {str(sources)!r}, '--out', {str(tmp_path / 'out')!r}, "
            "'--workers', '2', '--json'])\n"
            "sys.exit(3 if 'torch' in sys.modules else 0)\n")
    # The workers run prepare's own module (forked from this parent, or importing it
    # afresh under spawn), so a parent without torch means workers without it.
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_a_small_collection_gets_a_game_in_val_and_test(tmp_path: Path) -> None:
    # 10 games at the default fractions (0.5% val, 1% test) hash, almost surely, all to train.
    manifest = prepare([write_collection(tmp_path / "sgf", 10)], tmp_path / "out",
                       PrepareConfig(workers=1), show_progress=False)
    counts = {name: split["games"] for name, split in manifest["splits"].items()}
    assert counts["val"] >= 1 and counts["test"] >= 1 and sum(counts.values()) == 10
    assert len(GameStore(tmp_path / "out" / "test.npz")) == counts["test"]
    assert any("test split" in warning for warning in manifest["warnings"])


def test_a_small_collection_holds_out_enough_games_to_measure(tmp_path: Path, run_goai,
                                                               shared_data: Path) -> None:
    """By hash alone the 250 sample games give val and test 1 or 2 games each: each gets
    --min-held-out (50) games, at most 10% of the collection; the warning says what to do."""
    code, out, err = run_goai("prepare", str(shared_data / "sample"), "--out",
                              str(tmp_path / "out"), "--json")
    manifest = json.loads(out)
    counts = {name: split["games"] for name, split in manifest["splits"].items()}
    assert code == 0 and counts == {"train": 200, "val": 25, "test": 25}  # 10% each
    assert err.count("goai prepare: warning: the ") == 2
    assert "--test-fraction" in err and "--val-fraction" in err and "--min-held-out" in err
    # The moved games are train's lowest-keyed: held out by hash first, then by key.
    train_keys = GameStore(tmp_path / "out" / "train.npz").game_keys
    assert GameStore(tmp_path / "out" / "val.npz").game_keys.max() < train_keys.min()


@pytest.mark.parametrize("min_held_out, held_out", [(50, 4), (1, 1)])
def test_min_held_out_tops_up_the_hash_s_split(tmp_path: Path, min_held_out: int,
                                               held_out: int) -> None:
    # 40 games, almost surely none hashed to val or test: 10% of 40 is 4; 1 keeps one.
    manifest = prepare([write_collection(tmp_path / "sgf", 40)], tmp_path / "out",
                       PrepareConfig(workers=1, min_held_out=min_held_out),
                       show_progress=False)
    counts = {name: split["games"] for name, split in manifest["splits"].items()}
    assert counts == {"train": 40 - 2 * held_out, "val": held_out, "test": held_out}


def test_a_split_large_by_its_fraction_is_left_as_hashed(tmp_path: Path) -> None:
    manifest = prepare([write_collection(tmp_path / "sgf", 40)], tmp_path / "out",
                       PrepareConfig(workers=1, val_fraction=0.4, test_fraction=0.4),
                       show_progress=False)
    assert manifest["warnings"] == []  # 10% of 40 is 4 games: the hash gave more


def test_two_games_leave_one_to_train_and_say_val_is_empty(tmp_path: Path) -> None:
    manifest = prepare([write_collection(tmp_path / "sgf", 2)], tmp_path / "out",
                       PrepareConfig(workers=1), show_progress=False)
    assert {name: split["games"] for name, split in manifest["splits"].items()} == {
        "train": 1, "val": 0, "test": 1}
    assert any("val split is empty" in warning for warning in manifest["warnings"])


def test_zero_fractions_are_respected(tmp_path: Path) -> None:
    manifest = prepare([write_collection(tmp_path / "sgf", 5)], tmp_path / "out",
                       PrepareConfig(val_fraction=0, test_fraction=0, workers=1),
                       show_progress=False)
    assert manifest["splits"]["train"]["games"] == 5 and manifest["warnings"] == []


def test_no_games_is_an_error_and_leaves_no_folder(tmp_path: Path, run_goai) -> None:
    only_9x9 = write_collection(tmp_path / "nine", 3, size=9)
    out = tmp_path / "out"
    code, _, err = run_goai("prepare", str(only_9x9), "--out", str(out), "--workers", "1")
    assert code != 0 and "no games to store" in err and "not 19x19 3" in err
    assert not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_goai("prepare", str(empty), "--out", str(out))
    assert code != 0 and "no SGF files" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_prepare_into_a_store_refuses_unless_forced(tmp_path: Path, run_goai) -> None:
    sources = write_collection(tmp_path / "sgf", 6)
    out = tmp_path / "store"
    assert run_goai("prepare", str(sources), "--out", str(out), "--workers", "1")[0] == 0
    before = (out / "train.npz").read_bytes()
    # The reproduction: a folder without SGF into the store. Refused, store untouched.
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_goai("prepare", str(empty), "--out", str(out))
    assert code != 0 and "already holds a game store" in err and "--force" in err
    assert (out / "train.npz").read_bytes() == before
    # --force still never replaces a store with an empty one.
    code, _, err = run_goai("prepare", str(empty), "--out", str(out), "--force")
    assert code != 0 and (out / "train.npz").read_bytes() == before
    # A store prepared into its own source folder: refused (the folder holds SGF files).
    code, _, err = run_goai("prepare", str(sources), "--out", str(sources))
    assert code != 0 and "not empty" in err
    # --force with games replaces it.
    more = write_collection(tmp_path / "more", 9)
    assert run_goai("prepare", str(more), "--out", str(out), "--force",
                "--workers", "1")[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert sum(split["games"] for split in manifest["splits"].values()) == 9


def test_an_interrupted_preparation_resumes_without_force(tmp_path: Path) -> None:
    sources = write_collection(tmp_path / "sgf", 4)
    out = tmp_path / "store"
    prepare([sources], out, PrepareConfig(workers=1), show_progress=False)
    for name in ("manifest.json", "train.npz", "val.npz", "test.npz"):
        (out / name).unlink()  # as if killed after the parts were written
    manifest = prepare([sources], out, PrepareConfig(workers=1), show_progress=False)
    assert sum(split["games"] for split in manifest["splits"].values()) == 4


@pytest.mark.parametrize(("option", "message"), [
    (["--workers", "-1"], "workers -1"),
    (["--min-rank", "zzz"], "'zzz' is not a rank"),
    (["--test-fraction", "5"], "test fraction 5 is not between 0 and 1"),
    (["--val-fraction", "0.6", "--test-fraction", "0.5"], "add up to 1 or more"),
    (["--min-moves", "-3"], "min moves -3"),
])
def test_bad_options_are_refused_in_one_line(tmp_path: Path, run_goai, option: list[str],
                                             message: str) -> None:
    sources = write_collection(tmp_path / "sgf", 2)
    code, _, err = run_goai("prepare", str(sources), "--out", str(tmp_path / "out"), *option)
    assert code != 0 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_is_refused(tmp_path: Path, run_goai) -> None:
    sources = write_collection(tmp_path / "sgf", 2)
    target = tmp_path / "store.npz"
    target.write_bytes(b"not a folder")
    code, _, err = run_goai("prepare", str(sources), "--out", str(target))
    assert code != 0 and "is a file" in err and len(err.strip().splitlines()) == 1
    assert target.read_bytes() == b"not a folder"


def test_the_python_interface_raises_prepare_error(tmp_path: Path) -> None:
    out = tmp_path / "store"
    prepare([write_collection(tmp_path / "sgf", 3)], out, PrepareConfig(workers=1),
            show_progress=False)
    with pytest.raises(PrepareError, match="already holds"):
        prepare([tmp_path / "sgf"], out, PrepareConfig(workers=1), show_progress=False)


def test_sources_the_reader_refuses_are_not_read_for_the_checksum(tmp_path: Path) -> None:
    # Before, `goai prepare /dev/zero` hung at 100% CPU: the reader refused it, then the
    # manifest's SHA-256 read it without end (a FIFO blocked; a 1 GB sparse .sgf was hashed
    # whole after being refused as too large).
    games = write_collection(tmp_path / "sgf", 3)
    fifo = tmp_path / "pipe.sgf"
    os.mkfifo(fifo)
    sparse = tmp_path / "huge.sgf"
    with sparse.open("wb") as handle:
        handle.truncate(1 << 30)
    sources = [str(fifo), str(sparse), str(games)] + (
        ["/dev/zero"] if Path("/dev/zero").exists() else [])
    out = tmp_path / "out"
    completed = subprocess.run([sys.executable, "-m", "goai", "prepare", *sources, "--out",
                                str(out), "--workers", "1", "--json"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    digests = {source["path"]: source["sha256"] for source in json.loads(
        (out / "manifest.json").read_text())["sources"]}
    assert digests[str(fifo)] is None and digests[str(sparse)] is None
    assert digests.get("/dev/zero", None) is None
    assert sum(digest is not None for digest in digests.values()) == 1  # the games' folder


def test_an_out_folder_that_cannot_be_made_is_one_line(tmp_path: Path, run_goai,
                                                       monkeypatch) -> None:
    sources = write_collection(tmp_path / "sgf", 2)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    code, _, err = run_goai("prepare", str(sources), "--out", str(a_file / "store"))
    assert code == 1 and err.startswith(f"goai prepare: cannot write to {a_file / 'store'}: ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    code, _, err = run_goai("prepare", str(sources), "--out", str(tmp_path / "store"))
    assert code == 1 and err.strip().endswith("Read-only file system")
    assert len(err.strip().splitlines()) == 1
