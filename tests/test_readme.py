"""The README's set-up commands are the ones CI runs, word for word."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def test_ci_runs_the_readme_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None, "README's Set up section has no bash block"
    setup = _commands(block.group(1))
    assert len(setup) == 2, "the README promises two set-up commands"
    ci = _commands((ROOT / ".ci" / "run").read_text())
    for command in setup:
        assert command in ci, f".ci/run does not run the README command: {command}"
