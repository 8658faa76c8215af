"""Playing games: the move choice (``player``), and what is built on it: the
terminal game, the review, matches between engines, the gymnasium environment.

The names of ``goai.play`` before the package had folders (``TerminalGame``,
``PlayConfig``, ...) are still read from here: they live in ``terminal``.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:  # the old flat module's names, loaded when asked for
    terminal = importlib.import_module("goai.play.terminal")

    try:
        return getattr(terminal, name)
    except AttributeError:
        raise AttributeError(f"module 'goai.play' has no attribute {name!r}") from None
