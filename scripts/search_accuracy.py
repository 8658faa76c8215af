"""Does the search pick the professionals' moves more often than the network's first choice?

    python scripts/search_accuracy.py --store STORE/test-sample300.npz [--model default]
        [--visits 32] [--games 12] [--every 12] [--seed 7] [--json]

For every ``--every``-th position of ``--games`` held-out games (positions
``every // 2 + 1``, then every ``--every`` on; games drawn from the store
with ``--seed``), the search runs ``--visits`` visits from a fresh tree
(the engine's own ``Search`` and ``PolicyEvaluator``: one random symmetry per
evaluation) and the raw policy answers with one visit; the script counts how
often each one's move is the game's move, and how often the search changed the
policy's move towards it or away from it.

A cheap look at what the value head does to the search, minutes instead of the
hours of a match: a value that knows who is winning moves the search towards
better moves than the policy's, so more often onto the professional's move; a
value that does not moves it about as often away. Agreement with a
professional is not strength, so a match (``goai match``) has the last word.
One position costs ``visits + 1`` network evaluations (about 1.3 s at 32
visits for the b10c128 on one core). A bad option or file is one line, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True, help="a held-out game store (.npz)")
    parser.add_argument("--model", default="default", help="default, small or a checkpoint path")
    parser.add_argument("--visits", type=int, default=32)
    parser.add_argument("--games", type=int, default=12)
    parser.add_argument("--every", type=int, default=12, help="every N-th position of a game")
    parser.add_argument("--seed", type=int, default=7, help="which games are drawn")
    parser.add_argument("--symmetry-seed", type=int, default=0,
                        help="seeds the evaluator's random symmetries")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if min(args.visits, args.games, args.every, args.threads) < 1:
        print("error: visits, games, every and threads must be positive", file=sys.stderr)
        return 2

    import torch

    from goai.nn.checkpoint import CheckpointError
    from goai.nn.policy import Policy
    from goai.records.store import GameStore
    from goai.search import PolicyEvaluator, Search, SearchLimits

    torch.set_num_threads(args.threads)
    try:
        store = GameStore(args.store)
        policy = Policy(args.model, device="cpu", symmetries=1)
        evaluator = PolicyEvaluator(policy, seed=args.symmetry_seed)
    except (CheckpointError, OSError, KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    games = np.random.default_rng(args.seed).permutation(len(store))[:args.games]
    played, raw_moves, searched = [], [], []
    started = time.perf_counter()
    for game in games:
        for number, (state, _color, move) in enumerate(store.replay(int(game)), 1):
            if (number - 1) % args.every != args.every // 2 or state.is_over:
                continue
            search = Search(evaluator)
            raw_moves.append(search.run(state, SearchLimits(visits=1)).best_move)
            search.reset()
            searched.append(search.run(state, SearchLimits(visits=args.visits)).best_move)
            played.append(move)
    if not played:
        print("error: no positions: fewer moves than --every in the games drawn", file=sys.stderr)
        return 2
    game_move, raw, best = (np.array(moves) for moves in (played, raw_moves, searched))
    changed = raw != best
    report = {
        "model": args.model, "visits": args.visits, "games": len(games),
        "positions": len(game_move),
        "raw_top1": float((raw == game_move).mean()),
        "search_top1": float((best == game_move).mean()),
        "changed": float(changed.mean()),
        "changed_to_game_move": int((changed & (best == game_move)).sum()),
        "changed_from_game_move": int((changed & (raw == game_move)).sum()),
        "seconds": time.perf_counter() - started,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['positions']} positions of {report['games']} games: the game's move was "
              f"the raw policy's at {100 * report['raw_top1']:.1f}%, the search's "
              f"({args.visits} visits) at {100 * report['search_top1']:.1f}%; the search "
              f"changed the policy's move at {100 * report['changed']:.1f}% of positions, "
              f"{report['changed_to_game_move']} times to the game's move and "
              f"{report['changed_from_game_move']} times away from it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
