"""The ``goai`` command itself: the bare command, and the options every model command shares."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from goai import cli
from goai.cli.common import DEVICE_HELP, MODEL_HELP, MODEL_NAMES, check_model_name

GOAI = Path(cli.__file__).resolve().parents[1]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_bare_goai_prints_the_command_table(run_goai) -> None:
    code, out, err = run_goai()
    assert code == 1 and err == ""  # as bare git: the table, and nothing done
    for name, (_, _, summary) in cli.COMMANDS.items():
        assert re.search(rf"^    {name} +{re.escape(summary.split()[0])}", out, re.M), name


def test_every_model_and_device_option_is_the_shared_one() -> None:
    """One declaration (cli_common.add_model_options): one metavar and one help text."""
    with_model = set()
    for name, parser in _subparsers().items():
        for action in parser._actions:
            if "--model" in action.option_strings or "--init" in action.option_strings:
                with_model.add(name)
                assert action.metavar == "default|small|PATH", name
                assert MODEL_HELP in action.help, name
            if "--device" in action.option_strings:
                assert action.metavar == "DEVICE" and DEVICE_HELP in action.help, name
    assert with_model == {"train", "evaluate", "predict", "bench", "gtp", "play", "review",
                          "serve"}
    for name in with_model - {"bench"}:  # bench's --device is its training figures'
        assert any("--device" in a.option_strings for a in _subparsers()[name]._actions), name
    for path in GOAI.rglob("*.py"):
        if path != GOAI / "cli" / "common.py":
            text = path.read_text()
            assert not re.search(r"""add_argument\([^)]*["']--(model|device)["']""", text), path


def test_the_bundled_model_names_are_the_checkpoint_modules() -> None:
    from goai.nn.checkpoint import BUNDLED_MODELS

    assert tuple(BUNDLED_MODELS) == MODEL_NAMES


@pytest.mark.parametrize("model", [None, "default", "small"])
def test_bundled_names_pass_the_early_model_check(model: str | None) -> None:
    check_model_name("goai serve", model)


def test_the_early_model_check_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no model 'tiny': give default, small or the path"):
        check_model_name("goai serve", "tiny")
    with pytest.raises(SystemExit, match="is a folder"):
        check_model_name("goai serve", str(tmp_path))
