"""The Go Text Protocol, both sides: the server's framing and argument parsing
(``protocol``) and the controller that drives an engine in a subprocess (``client``).

It sits low because the records layer drives GNU Go through ``client`` to label
games; goai's own engine, which needs the search, is ``goai.engine`` above. The
names of ``goai.gtp`` before the package had folders (``GtpError``, ``GtpServer``,
``parse_vertex``, ...) are still read from here: they live in ``protocol``.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:  # the old flat module's names, loaded when asked for
    protocol = importlib.import_module("goai.gtp.protocol")

    try:
        return getattr(protocol, name)
    except AttributeError:
        raise AttributeError(f"module 'goai.gtp' has no attribute {name!r}") from None
