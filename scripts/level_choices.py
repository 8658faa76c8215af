"""Which moves does each level choose, and how long does a move take?

    python scripts/level_choices.py GAMES.sgf|DIR ... [--model default] [--games 10]
        [--every 10] [--draws 20] [--timed 20] [--seed 7] [--json]

For every ``--every``-th position of the first ``--games`` readable games, the
network is asked once, and each level below ``full`` then chooses ``--draws``
moves with ``Player``'s own code (the same pool, eye rule and end-of-game
rules as in a game; one generator seeded with ``--seed``), and so does
sampling the policy at temperature 1, the candidate that is not a level. The script counts
the share of chosen moves among the policy's top 10 and top 1 (ranked among
the legal points), and the mean rank. Then it times ``Player.decide`` at
every level, ``full`` included (a search of ``goai gtp``'s default visits), on
the first ``--timed`` of those positions: one thread, a fresh player for each
position (no tree reuse, so ``full`` is timed without the 20-30% of visits a
game's reuse saves). Ranks are by probability; ties keep the lower point first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", help="SGF files, folders or archives")
    parser.add_argument("--model", default="default")
    parser.add_argument("--games", type=int, default=10)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--timed", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from goai.engine.config import DEFAULT_VISITS
    from goai.nn.policy import Policy
    from goai.play.levels import FULL, LEVELS
    from goai.play.player import Player, PlayerConfig
    from goai.records.sgf import GameRecord, iter_games
    from goai.rules.coords import PASS

    torch.set_num_threads(1)
    policy = Policy(args.model, symmetries=1)
    positions, games = [], 0
    for record in iter_games(args.sources):
        if not isinstance(record, GameRecord):
            continue
        for index, (state, _color, _move) in enumerate(record.replay()):
            if index % args.every == args.every // 2:
                positions.append(state.copy())
        games += 1
        if games == args.games:
            break

    class Cached:
        """The policy, asked once a position: each level's draws reuse the answer."""

        has_value_head = policy.has_value_head

        def __init__(self) -> None:
            self.key: object = None
            self.answer = None

        def analyze(self, state, *, symmetries=None):  # noqa: ANN001, ANN202
            key = (id(state), len(state.history))
            if key != self.key:
                self.key, self.answer = key, policy.analyze(state)
            return self.answer

        def move_probabilities(self, state):  # noqa: ANN001, ANN202
            return self.analyze(state).probabilities

    cached = Cached()
    rng = np.random.default_rng(args.seed)
    # Each level below full, and beside them sampling the policy at temperature 1 (the
    # candidate that is not a level: ``goai gtp --visits 1 --temperature 1``).
    configs = {name: PlayerConfig(level=name, resign_threshold=0)
               for name in LEVELS if name != FULL}
    configs["temperature 1"] = PlayerConfig(temperature=1.0, resign_threshold=0)
    counts = {name: {"moves": 0, "top1": 0, "top10": 0, "rank_sum": 0, "passes": 0}
              for name in configs}
    for state in positions:
        analysis = cached.analyze(state)
        legal = np.flatnonzero(analysis.legal[:-1])
        order = legal[np.argsort(-analysis.probabilities[legal], kind="stable")]
        rank_of = {int(point): rank for rank, point in enumerate(order, 1)}
        for name, config in configs.items():
            player = Player(cached, config, rng=rng)
            for _ in range(args.draws):
                move = player.decide(state).move
                tally = counts[name]
                if move == PASS:
                    tally["passes"] += 1
                    continue
                rank = rank_of[move]
                tally["moves"] += 1
                tally["top1"] += rank == 1
                tally["top10"] += rank <= 10
                tally["rank_sum"] += rank

    timing = {}
    for name in LEVELS:
        config = PlayerConfig(level=name, resign_threshold=0)
        if name == FULL:
            config = replace(config, visits=DEFAULT_VISITS)
        seconds = []
        for state in positions[: args.timed]:
            player = Player(policy, config, rng=np.random.default_rng(args.seed))
            start = time.perf_counter()
            player.decide(state)
            seconds.append(time.perf_counter() - start)
        timing[name] = {"median_s": statistics.median(seconds), "max_s": max(seconds),
                        "positions": len(seconds)}

    result = {"games": games, "positions": len(positions), "draws": args.draws, "levels": {}}
    for name in [*LEVELS, "temperature 1"]:
        row = dict(timing.get(name, {}))
        if name in counts:
            tally = counts[name]
            moves = max(tally["moves"], 1)
            row.update(moves=tally["moves"], passes=tally["passes"],
                       top1_share=tally["top1"] / moves, top10_share=tally["top10"] / moves,
                       mean_rank=tally["rank_sum"] / moves)
        result["levels"][name] = row
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['positions']} positions, {args.draws} draws each")
        for name, row in result["levels"].items():
            shares = (f"top-1 {row['top1_share']:.1%}  top-10 {row['top10_share']:.1%}  "
                      f"mean rank {row['mean_rank']:.1f}  " if "top10_share" in row else "")
            timed = (f"{row['median_s'] * 1000:.0f} ms a move (max {row['max_s'] * 1000:.0f})"
                     if "median_s" in row else "")
            print(f"{name:>13}: {shares}{timed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
