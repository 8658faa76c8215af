"""The README's set-up commands are the ones CI runs, word for word, and they check what
they promise: ruff over the code, and a pytest run that ends with its summary line."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _commands(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


@pytest.fixture(scope="module")
def setup() -> list[str]:
    """The commands of the README's Set up section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None, "README's Set up section has no bash block"
    commands = _commands(block.group(1))
    assert len(commands) == 2, "the README promises two set-up commands"
    return commands


def _steps(command: str) -> list[list[str]]:
    """``a && b && c`` -> the words of a, b and c."""
    return [shlex.split(step) for step in command.split("&&")]


def _is_pytest(words: list[str]) -> bool:
    return words[:3] == ["python", "-m", "pytest"]


def test_ci_runs_the_readme_setup_commands(setup: list[str]) -> None:
    ci = _commands((ROOT / ".ci" / "run").read_text())
    for command in setup:
        assert command in ci, f".ci/run does not run the README command: {command}"


def test_the_test_command_runs_ruff_over_all_the_code_before_pytest(setup: list[str]) -> None:
    steps = _steps(setup[1])
    ruff = steps.index(["ruff", "check", "goai", "tests", "scripts"])
    pytest_step = next(i for i, words in enumerate(steps) if _is_pytest(words))
    install = steps.index(["pip", "install", "-e", ".[test]"])
    assert install < ruff < pytest_step  # ruff comes with the test extras


def test_the_test_command_prints_pytest_s_summary_line(setup: list[str]) -> None:
    # pyproject's addopts (-q) and the command's own flags add up: two -q (-qq) would hide
    # the closing "N passed in ..." line. Run one quick test the way the command runs all.
    words = next(words for words in _steps(setup[1]) if _is_pytest(words))
    target = "tests/test_coords.py::test_coordinate_errors_are_value_errors"
    done = subprocess.run([sys.executable, *words[1:], target, "-p", "no:cacheprovider"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^1 passed in [\d.]+s", done.stdout, re.M), done.stdout
