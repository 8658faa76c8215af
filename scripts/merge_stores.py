"""Merge prepared game stores into one folder goai train reads: train splits joined, held-out
splits from the first store only.

    python scripts/merge_stores.py OUT FIRST_STORE [MORE_STORES...]

Why the held-out splits of the first only: the recipe trains on Tom + Tygem
9-dan games and KGS 6d+ games, but is measured on held-out 9-dan games (the
first store's val/test). The split is by game hash, the same for every
preparation (``goai.records.prepare``), so a game held out of one store is in no
other store's train split; a game in two stores' train splits (a copy across
collections) is kept once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from goai.records.store import SPLITS, GameStore, StoreError, load_split, write_store


def merge(out: Path, stores: list[Path]) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in SPLITS:
        sources = stores if split == "train" else stores[:1]
        games, seen = [], set()
        for folder in sources:
            store = GameStore(folder / f"{split}.npz")
            for index in range(len(store)):
                game = store.game(index)
                if game.key not in seen:
                    seen.add(game.key)
                    games.append(game)
        write_store(out / f"{split}.npz", games)
        counts[split] = {"games": len(games), "positions": int(sum(len(g.moves) for g in games))}
    manifest = {"merged_from": [str(folder) for folder in stores], "splits": counts,
                "note": "train: all stores' train splits; val/test: the first store's"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out, stores = Path(argv[0]), [Path(a) for a in argv[1:]]
    try:
        for folder in stores:
            load_split(folder, "train")
    except StoreError as error:
        print(f"merge_stores: {error}", file=sys.stderr)
        return 1
    print(json.dumps(merge(out, stores)["splits"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
