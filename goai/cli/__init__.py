"""The ``goai`` command: ``parser`` (the parser, the list of subcommands, ``main``)
and one module per group of subcommands.

``goai.cli:main`` stays the console script's entry point (installs made before the
package had folders name it), so ``main`` and the old flat module's other names are
read from ``parser`` here.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    parser = importlib.import_module("goai.cli.parser")

    try:
        return getattr(parser, name)
    except AttributeError:
        raise AttributeError(f"module 'goai.cli' has no attribute {name!r}") from None
