"""PUCT tree search over the network's priors and values.

``goai.search`` is the search's public face: the names below are importable from
here as they were before the package had folders. ``tree`` is the search itself,
``evaluator`` what it asks of a network, ``limits`` when it stops and ``result``
what it reports. Each name is loaded from its module when first asked for, so
that importing one module of the folder does not load the others.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

_HOMES = {
    "Evaluator": "evaluator",
    "PolicyEvaluator": "evaluator",
    "ScoredEvaluator": "evaluator",
    "check_value_network": "evaluator",
    "evaluate_scored": "evaluator",
    "SearchLimits": "limits",
    "MoveStats": "result",
    "SearchResult": "result",
    "SearchTiming": "result",
    "Node": "tree",
    "Search": "tree",
    "SearchConfig": "tree",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    module: ModuleType
    if home == "evaluator":
        import goai.search.evaluator as module
    elif home == "limits":
        import goai.search.limits as module
    elif home == "result":
        import goai.search.result as module
    elif home == "tree":
        import goai.search.tree as module
    else:
        raise AttributeError(f"module 'goai.search' has no attribute {name!r}")
    return getattr(module, name)
