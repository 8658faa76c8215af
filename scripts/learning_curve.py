"""Print a training run's learning curve as a Markdown table (for model cards).

    python scripts/learning_curve.py runs/default-b4c48 [--every 2]

Reads RUN_DIR/metrics.jsonl and lists, for every validation, the step, the
positions seen, the wall-clock minutes, the training loss and the validation
loss and top-1 accuracy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from goai.learn.run import RunFolder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the training run folder")
    parser.add_argument("--every", type=int, default=1, help="print every Nth validation")
    args = parser.parse_args()
    rows = RunFolder(args.run).read_metrics()  # without a line cut off by a kill
    validations = [row for row in rows if "val_top1" in row]
    print("| step | positions seen | minutes | train loss | val loss | val top-1 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for index, row in enumerate(validations):
        if index % args.every and index != len(validations) - 1:
            continue
        train_loss = row.get("train_policy_loss")
        print(f"| {row['step']} | {row['positions']:,} | {row.get('elapsed_seconds', 0) / 60:.0f} "
              f"| {'' if train_loss is None else f'{train_loss:.3f}'} | {row['val_loss']:.3f} "
              f"| {100 * row['val_top1']:.1f}% |")


if __name__ == "__main__":
    main()
