"""PUCT tree search over the network's priors and values.

``goai.search`` is the search's public face: the names below are importable from
here as they were before the package had folders.
"""

from goai.search.tree import (
    Evaluator,
    MoveStats,
    Node,
    PolicyEvaluator,
    ScoredEvaluator,
    Search,
    SearchConfig,
    SearchLimits,
    SearchResult,
    SearchTiming,
    check_value_network,
    evaluate_scored,
)

__all__ = [
    "Evaluator",
    "MoveStats",
    "Node",
    "PolicyEvaluator",
    "ScoredEvaluator",
    "Search",
    "SearchConfig",
    "SearchLimits",
    "SearchResult",
    "SearchTiming",
    "check_value_network",
    "evaluate_scored",
]
