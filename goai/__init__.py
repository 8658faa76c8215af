"""goai: SGF game records -> 19x19 board tensors -> a pooling-free residual CNN -> GTP."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

__version__ = "0.1.0"

ENV_ID = "goai/Go-v0"

# Importing goai registers the gymnasium environment goai/Go-v0, whichever of
# goai and gymnasium is imported first: at once if gymnasium is loaded already,
# else the moment it loads. Importing gymnasium here instead would cost every
# goai command about 0.1 s at start-up, and `goai gtp` must answer a GUI's
# `name` quickly without ever needing gymnasium. The string entry point defers
# goai.play.env (which does not import torch) to gymnasium.make().


def _register() -> None:
    import gymnasium

    if ENV_ID not in gymnasium.registry:  # e.g. importlib.reload(goai): no duplicate warning
        gymnasium.register(id=ENV_ID, entry_point="goai.play.env:GoEnv")


class _RegisterOnGymnasiumLoad(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A one-shot import hook: loads gymnasium as usual, then calls ``_register``."""

    def find_spec(self, name: str, path, target=None) -> importlib.machinery.ModuleSpec | None:
        if name != "gymnasium":
            return None
        sys.meta_path.remove(self)  # its work is done after this one import
        spec = importlib.util.find_spec(name)  # the regular finders' answer
        if spec is None or spec.loader is None:
            return spec
        self._loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__.loader = module.__loader__ = self._loader  # as if we never were
        self._loader.exec_module(module)
        _register()


if "gymnasium" in sys.modules:
    _register()
elif not any(isinstance(finder, _RegisterOnGymnasiumLoad) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterOnGymnasiumLoad())

# Modules moved into layer folders keep their old flat paths (goai.policy, ...).
from goai import old_paths  # noqa: E402

old_paths.install()
