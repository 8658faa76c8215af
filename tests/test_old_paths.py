"""The flat package's import paths still work after the move into layer folders."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from goai.old_paths import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_is_the_module_at_its_new_home(old: str) -> None:
    module = importlib.import_module(f"goai.{old}")
    assert module is importlib.import_module(f"goai.{MOVED[old]}")
    assert module.__spec__.name == f"goai.{MOVED[old]}"  # it still says where it lives


def test_the_documented_paths() -> None:
    from goai.policy import Policy as OldPolicy

    from goai.nn.policy import Policy

    assert OldPolicy is Policy
    from goai.search import Search
    from goai.search.tree import Search as TreeSearch

    assert Search is TreeSearch


@pytest.mark.parametrize(("face", "module", "name"), [
    ("goai.gtp", "goai.gtp.protocol", "GtpError"),
    ("goai.play", "goai.play.terminal", "TerminalGame"),
    ("goai.serve", "goai.serve.app", "ServeConfig"),
    ("goai.cli", "goai.cli.parser", "main"),
])
def test_a_folder_hands_on_the_names_of_the_module_it_replaced(
        face: str, module: str, name: str) -> None:
    assert getattr(importlib.import_module(face), name) is getattr(
        importlib.import_module(module), name)
    with pytest.raises(AttributeError, match="no attribute"):
        _ = importlib.import_module(face).no_such_name


def test_an_old_path_loads_nothing_until_asked() -> None:
    script = ("import sys, goai; "
              "sys.exit(sorted(m for m in sys.modules if m.startswith('goai.')) "
              "!= ['goai.old_paths'])")
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == 0
