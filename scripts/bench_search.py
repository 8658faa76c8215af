"""Search playouts per second at batch 8/16/32, next to the network's own forward rate.

    python scripts/bench_search.py [--model PATH] [--batches 8,16,32] [--visits 256]
                                   [--threads 2] [--device cpu] [--json]

For each batch size, in one process and on one middle-game 19x19 position:

* ``forward_positions_per_second``: ``Policy.evaluate_batch`` alone on that
  many copies of the position's planes (the limit a search could reach);
* ``playouts_per_second``: a fresh ``Search`` with a ``PolicyEvaluator`` (one
  random symmetry per evaluation) running to ``--visits`` root visits;
* where the search's time went: ``network_seconds`` (inside ``evaluate_batch``),
  ``encode_seconds`` (feature planes, symmetries, legal masking in the
  evaluator) and ``tree_seconds`` (selection, replaying paths, expansion,
  backup), and ``tree_over_network``, the issue's figure (aim: below 0.2 at
  batch 16); ``tree_cpu_microseconds_per_playout``, the tree's CPU time in
  this thread, is the figure least moved by other processes.

Timings move with whatever else runs on the machine: say what else was running
when quoting them. A bad ``--model`` or option is one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

# A made-up 19x19 middle game (52 moves, no captures yet, 310 legal moves for
# Black): a position with fights on the board, not an empty one.
OPENING = (
    "Q16 D4 Q3 D16 R5 C14 F17 C10 P17 E3 K4 O4 N3 R10 R14 Q8 M16 H17 F15 K16 "
    "C17 D17 C16 C15 B15 B14 B16 E15 F16 C18 B18 E16 E17 D18 E18 F18 D19 G18 "
    "P5 O5 P6 O6 P7 O7 P8 Q9 O8 N8 N9 M8 M9 L8"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Search playouts/s next to the model-only forward rate, by batch size.")
    parser.add_argument("--model", default=None, metavar="default|small|PATH",
                        help="checkpoint with a value head: a bundled model's name or a path "
                             "(default: the bundled default)")
    parser.add_argument("--batches", default="8,16,32",
                        help="comma-separated leaf batch sizes (default 8,16,32)")
    parser.add_argument("--visits", type=int, default=256,
                        help="root visits per search (default 256)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--seed", type=int, default=0, help="symmetry draws (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        args.batch_sizes = [int(b) for b in args.batches.split(",")]
    except ValueError:
        parser.error(f"--batches must be comma-separated integers, not {args.batches!r}")
    if any(not 1 <= b <= 1024 for b in args.batch_sizes):
        parser.error("--batches must each be 1..1024")
    if args.visits < 2 or args.threads < 1:
        parser.error("--visits must be >= 2 and --threads >= 1")
    from goai.nn.checkpoint import CheckpointError, resolve_model

    try:
        args.model = resolve_model(args.model)
    except CheckpointError as error:
        parser.error(str(error))
    return args


def middle_game():
    from goai.rules.coords import move_from_gtp
    from goai.rules.game import GameState

    state = GameState(19, 7.5)
    for vertex in OPENING.split():
        state.play(move_from_gtp(vertex, 19))
    return state


def forward_rate(policy, planes: np.ndarray, batch: int, seconds: float = 2.0) -> float:
    """Positions per second of ``policy.evaluate_batch`` on ``batch`` copies of ``planes``."""
    inputs = np.repeat(planes[None], batch, axis=0)
    policy.evaluate_batch(inputs)  # warm-up
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or count < 3:
        policy.evaluate_batch(inputs)
        count += 1
    return batch * count / (time.perf_counter() - started)


class CpuTimed:
    """Wraps an evaluator and adds up this thread's CPU time inside it.

    The tree's work runs in this one thread, so (this thread's CPU time for
    the whole run) - (its CPU time in the evaluator) is the tree's CPU time,
    which other processes on the machine do not inflate as they do wall time.
    """

    def __init__(self, evaluator) -> None:
        self.evaluator = evaluator
        self.cpu_seconds = 0.0

    def evaluate(self, states):
        started = time.thread_time()
        try:
            return self.evaluator.evaluate(states)
        finally:
            self.cpu_seconds += time.thread_time() - started


def bench_batch(policy, state, batch: int, visits: int, seed: int) -> dict:
    from goai.nn.features import encode
    from goai.search import PolicyEvaluator, Search, SearchConfig, SearchLimits

    forward = forward_rate(policy, encode(state, policy.feature_set), batch)
    evaluator = PolicyEvaluator(policy, seed=seed)
    timed = CpuTimed(evaluator)
    search = Search(timed, SearchConfig(batch_size=batch))
    cpu_started = time.thread_time()
    result = search.run(state, SearchLimits(visits=visits))
    tree_cpu = time.thread_time() - cpu_started - timed.cpu_seconds
    timing = result.timing
    tree = timing.tree
    network = evaluator.network_seconds
    return {
        "batch": batch,
        "visits": result.visits,
        "seconds": round(timing.total, 3),
        "playouts_per_second": round(result.playouts / timing.total, 1),
        "forward_positions_per_second": round(forward, 1),
        "network_seconds": round(network, 3),
        "encode_seconds": round(evaluator.encode_seconds, 3),
        "tree_seconds": round(tree, 3),
        "tree_over_network": round(tree / network, 3) if network else None,
        "tree_microseconds_per_playout": round(1e6 * tree / max(result.playouts, 1), 1),
        "tree_cpu_microseconds_per_playout": round(1e6 * tree_cpu / max(result.playouts, 1), 1),
        "batches": timing.batches,
        "collisions": timing.collisions,
        "best_move": result.best_move,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from goai.nn.policy import Policy
    from goai.rules.coords import move_to_gtp

    torch.set_num_threads(args.threads)
    try:
        policy = Policy(args.model, device=args.device)
    except (OSError, ValueError, RuntimeError, KeyError) as error:
        print(f"bench_search: cannot load the model: {error}", file=sys.stderr)
        return 2
    if not policy.has_value_head:
        print(f"bench_search: {policy.path} has no value head", file=sys.stderr)
        return 2
    state = middle_game()
    rows = []
    for batch in args.batch_sizes:
        row = bench_batch(policy, state, batch, args.visits, args.seed)
        row["best_move"] = move_to_gtp(row["best_move"], 19)
        rows.append(row)
        if not args.json:
            print(f"batch {batch:>3}: {row['playouts_per_second']:8.1f} playouts/s, "
                  f"forward alone {row['forward_positions_per_second']:8.1f} positions/s; "
                  f"network {row['network_seconds']:.2f} s, encode {row['encode_seconds']:.2f} s, "
                  f"tree {row['tree_seconds']:.2f} s = {row['tree_over_network']:.1%} of the "
                  f"network ({row['tree_microseconds_per_playout']:.0f} us/playout, "
                  f"{row['tree_cpu_microseconds_per_playout']:.0f} us of CPU)", flush=True)
    report = {
        "model": str(policy.path),
        "device": args.device,
        "threads": args.threads,
        "position_moves": len(OPENING.split()),
        "rows": rows,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
