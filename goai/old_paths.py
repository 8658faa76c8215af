"""Old import paths: ``goai.policy`` and the other modules of the flat package.

Before goai had a folder per layer, every module sat in ``goai/`` itself, and
scripts and notebooks import them that way (``from goai.policy import Policy``).
This import hook answers each old name with its module's new home, the same
module object, so old and new paths give the same classes. It loads nothing
until an old path is imported. Where a folder took an old module's name
(``goai.search``, ``goai.gtp``, ``goai.play``, ``goai.serve``, ``goai.cli``), the
folder's ``__init__`` hands the old names on instead.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

# Old module (goai.<name>) -> its home now, below goai.
MOVED = {
    "coords": "rules.coords",
    "board": "rules.board",
    "game": "rules.game",
    "symmetry": "rules.symmetry",
    "territory": "rules.territory",
    "status": "rules.status",
    "progress": "display.progress",
    "render": "display.render",
    "plot": "display.plot",
    "gtp_client": "gtp.client",
    "sources": "records.sources",
    "sgf": "records.sgf",
    "inspection": "records.inspection",
    "labels": "records.labels",
    "store": "records.store",
    "prepare": "records.prepare",
    "features": "nn.features",
    "device": "nn.device",
    "model": "nn.model",
    "checkpoint": "nn.checkpoint",
    "policy": "nn.policy",
    "run": "learn.run",
    "stream": "learn.stream",
    "train": "learn.train",
    "evaluate": "learn.evaluate",
    "player": "play.player",
    "review": "play.review",
    "match": "play.match",
    "env": "play.env",
    "gtp_clock": "engine.clock",
    "gtp_config": "engine.config",
    "gtp_analysis": "engine.analysis",
    "gtp_engine": "engine.engine",
    "serve_connections": "serve.connections",
    "serve_session": "serve.session",
    "cli_common": "cli.common",
    "bench": "cli.bench",
    "cli_records": "cli.records",
    "cli_learning": "cli.learning",
    "cli_playing": "cli.playing",
}


class OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``goai.<old name>`` and loads it as the module at its new path."""

    def find_spec(self, name: str, path, target=None) -> importlib.machinery.ModuleSpec | None:
        prefix, _, old = name.partition(".")
        if prefix != "goai" or old not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module("goai." + MOVED[spec.name.removeprefix("goai.")])
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system stamped the old name's spec on the module; give it back
        # its own, so the module still says where it lives (pickle, reload, inspect).
        module.__spec__ = self._real_spec


def hand_on(face: str, home: str) -> Callable[[str], Any]:
    """The ``__getattr__`` of a folder that took an old module's name: a name the
    folder lacks is read from ``home``, the module that holds the old one's code,
    imported only then (``goai.gtp.GtpError`` from ``goai.gtp.protocol``)."""

    def __getattr__(name: str) -> Any:
        try:
            return getattr(importlib.import_module(home), name)
        except AttributeError:
            raise AttributeError(f"module {face!r} has no attribute {name!r}") from None

    return __getattr__


def install() -> None:
    """Add the hook once (``importlib.reload(goai)`` must not add a second)."""
    if not any(isinstance(finder, OldPaths) for finder in sys.meta_path):
        sys.meta_path.append(OldPaths())
