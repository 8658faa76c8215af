"""goai gtp driven by Sabaki's own engine controller (npm ``@sabaki/gtp``), run by Node.

The checks live in ``tests/integration/sabaki/drive.mjs``. They need Node and
the package installed next to the script (``npm ci --prefix
tests/integration/sabaki``); without them the test skips and says so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SABAKI = Path(__file__).resolve().parent / "integration" / "sabaki"


def test_sabaki_controller_plays_a_game(tiny_model_path: Path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (SABAKI / "node_modules" / "@sabaki" / "gtp").is_dir():
        pytest.skip(f"@sabaki/gtp is not installed: run npm ci --prefix {SABAKI}")
    engine = [sys.executable, "-m", "goai", "gtp", "--model", str(tiny_model_path)]
    result = subprocess.run([node, "drive.mjs", *engine], cwd=SABAKI, capture_output=True,
                            text=True, timeout=120)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout
