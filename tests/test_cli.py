"""The ``goai`` command itself: the bare command, options made of config fields, shared options."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from goai import cli
from goai.cli.common import (
    DEVICE_HELP,
    MODEL_HELP,
    MODEL_NAMES,
    add_config_options,
    check_model_name,
    given_options,
)

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


def _configs():
    from goai.engine.config import GtpConfig
    from goai.learn.run import TrainConfig
    from goai.play.player import PlayerConfig
    from goai.play.review import ReviewConfig
    from goai.search.tree import SearchConfig

    return (TrainConfig, GtpConfig, PlayerConfig, SearchConfig, ReviewConfig)


@pytest.mark.parametrize("config", _configs(), ids=lambda config: config.__name__)
def test_every_setting_is_declared_once_with_its_help(config) -> None:
    """The options come from the config's fields: each has help, and the parser's default
    is None so that the config's own default applies."""
    parser = argparse.ArgumentParser()
    add_config_options(parser, config, skip=("model", "value_model", "device"))
    options = {action.dest: action for action in parser._actions}
    for option in dataclasses.fields(config):
        if option.name in options:
            action = options[option.name]
            assert action.help.startswith(option.metadata["help"]), option.name
            assert action.default is None, option.name
            if option.default not in (None, False, True, dataclasses.MISSING):
                assert f"(default: {option.default})" in action.help, option.name


def test_options_given_are_read_back_by_field_name() -> None:
    from goai.engine.config import GtpConfig
    from goai.play.player import PlayerConfig

    args = _subparsers()["gtp"].parse_args(["-t", "2", "-r", "0.1", "--visits", "8", "-v"])
    assert given_options(args, GtpConfig, PlayerConfig) == {
        "threads": 2, "resign_threshold": 0.1, "visits": 8, "verbose": True}
    config = GtpConfig.from_options(given_options(args, GtpConfig, PlayerConfig))
    assert (config.threads, config.player.resign_threshold, config.player.visits) == (2, 0.1, 8)


def test_a_bool_that_defaults_to_true_can_be_turned_off() -> None:
    from goai.search.tree import SearchConfig

    parser = argparse.ArgumentParser()
    add_config_options(parser, SearchConfig, only=("reuse_tree",))
    assert parser.parse_args(["--no-reuse-tree"]).reuse_tree is False
    assert parser.parse_args([]).reuse_tree is None


def test_a_setting_without_help_is_no_option() -> None:
    @dataclasses.dataclass
    class Settings:
        documented: int = dataclasses.field(default=1, metadata={"help": "said"})
        undocumented: int = 2

    with pytest.raises(ValueError, match="Settings.undocumented has no help"):
        add_config_options(argparse.ArgumentParser(), Settings)


def test_the_gtp_options_are_gtpconfig_and_playerconfig_fields() -> None:
    """A config-file key and its option are one name: every gtp option but --config (and
    the help) is a field, and every field but the internal ones is an option."""
    from goai.engine.config import GtpConfig
    from goai.play.player import PlayerConfig

    dests = {action.dest for action in _subparsers()["gtp"]._actions} - {"help", "config"}
    fields = {option.name for config in (GtpConfig, PlayerConfig)
              for option in dataclasses.fields(config)
              if option.metadata.get("command_line", True)}
    assert dests == fields


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
