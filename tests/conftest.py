"""Shared fixtures: where the shared data lives, and a tiny untrained model for fast tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# One thread per torch process in tests: the suite starts engines and training
# subprocesses beside itself, and several processes each spinning two OpenMP
# threads on two cores run many times slower than one thread each. Set before
# anything imports torch; inherited by the subprocesses the tests start.
os.environ.setdefault("OMP_NUM_THREADS", "1")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs real game records in ../shared/data ({SHARED_DATA}), which is not "
                    "present: this test reads the sample games or the Tom/Tygem archives "
                    "(README, Data used here)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint of an untrained 1-block, 8-filter network on the default feature set.

    Its moves are noise, but it loads and runs like any real model in milliseconds.
    """
    import torch

    from goai.nn.checkpoint import save_checkpoint
    from goai.nn.features import get_feature_set
    from goai.nn.model import PolicyNet, config_from_preset

    torch.manual_seed(0)
    model = PolicyNet(config_from_preset("b1c8", get_feature_set("default").num_channels))
    path = tmp_path_factory.mktemp("models") / "tiny.pt"
    save_checkpoint(path, model.eval(), "default", {"note": "untrained, for tests"})
    return path


@pytest.fixture
def run_goai(capsys: pytest.CaptureFixture[str]):
    """``run_goai(*argv) -> (exit code, stdout, stderr)`` of ``goai.cli.parser.main``, in process.

    A ``SystemExit`` with a message (how the commands refuse bad input) counts as
    its exit code 1 with the message on stderr, as the shell would see it.
    """
    import sys

    from goai.cli.parser import main

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
            if isinstance(exit_.code, str):
                print(exit_.code, file=sys.stderr)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="session")
def make_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """``make_store(games, val=, test=, duplicate_first=False)``: a prepared store folder.

    The first ``games`` sample games (``../shared/data/sample``, sorted by name)
    go through ``goai.records.prepare.prepare`` with the given val/test fractions (split by
    hash, as always); ``duplicate_first`` adds a copy of the first game, which
    prepare must drop.
    """
    import shutil

    from goai.records.prepare import PrepareConfig, prepare

    def make(games: int, *, val: float, test: float, duplicate_first: bool = False) -> Path:
        sources = tmp_path_factory.mktemp("sources")
        chosen = sorted((shared_data / "sample").glob("1*.sgf"))[:games]
        for game in chosen:
            shutil.copy(game, sources)
        if duplicate_first:
            shutil.copy(chosen[0], sources / "copy-of-first.sgf")
        out = tmp_path_factory.mktemp("store")
        prepare([sources], out, PrepareConfig(val_fraction=val, test_fraction=test, workers=1),
                show_progress=False)
        return out

    return make
