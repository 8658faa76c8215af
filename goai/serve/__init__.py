"""``goai serve``: the browser board. ``app`` is the HTTP/WebSocket server,
``session`` one game or review per browser, ``web/`` the page itself.

The names of ``goai.serve`` before the package had folders (``ServeConfig``,
``create_app``, ...) are still read from here: they live in ``app``.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:  # the old flat module's names, loaded when asked for
    app = importlib.import_module("goai.serve.app")

    try:
        return getattr(app, name)
    except AttributeError:
        raise AttributeError(f"module 'goai.serve' has no attribute {name!r}") from None
