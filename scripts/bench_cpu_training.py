"""Does `goai train` learn on a CPU in minutes? The README's CPU recipe, run and measured.

    python scripts/bench_cpu_training.py [--games 2000] [--minutes 10] [--work DIR] [--json]

Takes the first ``--games`` games of ``--source`` (in its order; default: Tom
2011 from ../shared/data), then runs the commands a user runs, each as its own
``goai`` process: ``goai prepare`` on them, ``goai train --minutes M`` with every
other setting left at its default (on a CPU goai then picks the network and batch
size itself, and says which), and ``goai evaluate`` of the model on its own test
split. It reports what train chose, the learning curve (every validation: step,
positions seen, minutes, training and validation loss, validation top-1), the
test split's top-1 and top-5, and whether top-1 reached ``--aim`` (25%).

A benchmark, not a test: it takes the minutes it is given plus the evaluation,
and its figures depend on the machine and on what else runs there (the load
average before and after is in the report). ``--plot FILE.png`` also draws the
learning curve (``goai train --plot``). Exit status 0 when the aim is reached,
1 when not, 2 for a bad option or a failed command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from goai.records.sources import SgfData, iter_sgf_data

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "tom" / "tom-9d-2011.zip"


def goai(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``goai ARGV`` as its own process (this interpreter, this checkout's goai);
    its stderr (progress, notes) passes through to ours as it comes."""
    return subprocess.run([sys.executable, "-m", "goai", *argv], stdout=subprocess.PIPE,
                          stderr=None, text=True)


def take_games(source: Path, games: int, folder: Path) -> int:
    """Copy the first ``games`` ``.sgf`` files or members of ``source``, in its order, into
    ``folder`` (prepare keeps the 19x19 ones; Tom and Tygem hold one game a file); return
    how many were copied."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = 0
    for item in iter_sgf_data(source):
        if copied == games:
            break
        if isinstance(item, SgfData):
            (folder / f"{copied:05}.sgf").write_bytes(item.data)
            copied += 1
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="SGF file, folder or archive (default: Tom 2011 in ../shared/data)")
    parser.add_argument("--games", type=int, default=2000, help="games to prepare (2000)")
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="goai train's --minutes (10)")
    parser.add_argument("--aim", type=float, default=0.25,
                        help="the top-1 on the test split to reach (0.25)")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the games, the store and the run (default: a "
                             "temporary one, deleted after)")
    parser.add_argument("--plot", default=None, metavar="FILE.png",
                        help="also draw the learning curve (goai train --plot)")
    parser.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    args = parser.parse_args(argv)
    if not args.source.exists():
        parser.exit(2, f"bench_cpu_training: no source {args.source} (see the README's Data "
                       "used here, or give --source)\n")
    if args.games < 10 or not args.minutes > 0:
        parser.exit(2, "bench_cpu_training: give --games 10 or more and --minutes above 0\n")
    with tempfile.TemporaryDirectory(prefix="goai-cpu-bench-") as temporary:
        work = args.work or Path(temporary)
        report = run(args, work)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    if "error" in report:
        return 2
    return 0 if report["aim_reached"] else 1


def run(args: argparse.Namespace, work: Path) -> dict:
    """Prepare, train and evaluate in ``work``; the report (``error`` set on a failure)."""
    report: dict = {"machine": {"cpus": os.cpu_count(), "processor": platform.processor()
                                or platform.machine(), "load_before": os.getloadavg()},
                    "source": str(args.source), "minutes": args.minutes}
    games = work / "sgf"
    report["games"] = take_games(args.source, args.games, games)
    store, run_dir = work / "prepared", work / "run"
    prepared = goai("prepare", str(games), "--out", str(store), "--force", "--json")
    if prepared.returncode != 0:
        return report | {"error": "goai prepare failed"}
    report["splits"] = json.loads(prepared.stdout)["splits"]
    started = time.perf_counter()
    train_argv = ["train", "--data", str(store), "--out", str(run_dir), "--force",
                  "--minutes", f"{args.minutes:g}"]
    if args.plot:
        train_argv += ["--plot", str(args.plot)]
    trained = goai(*train_argv)
    report["train_wall_seconds"] = time.perf_counter() - started
    if trained.returncode != 0:
        return report | {"error": "goai train failed"}
    config = json.loads((run_dir / "config.json").read_text())
    report["chosen"] = {key: config[key] for key in ("preset", "batch_size", "lr",
                                                      "warmup_steps", "warmup_fraction",
                                                      "device")}
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
            if line.strip()]
    report["learning_curve"] = [
        {"step": row["step"], "positions": row["positions"],
         "minutes": row["elapsed_seconds"] / 60, "train_loss": row.get("train_policy_loss"),
         "val_loss": row["val_loss"], "val_top1": row["val_top1"]}
        for row in rows if "val_top1" in row]
    evaluated = goai("evaluate", str(store / "test.npz"), "--model", str(run_dir / "model.pt"),
                     "--json")
    if evaluated.returncode != 0:
        return report | {"error": "goai evaluate failed"}
    figures = json.loads(evaluated.stdout)
    report["test"] = {"games": figures["games"], "positions": figures["positions"],
                      "top1": figures["overall"]["top1"], "top5": figures["overall"]["top5"]}
    report["aim"] = args.aim
    report["aim_reached"] = figures["overall"]["top1"] >= args.aim
    report["machine"]["load_after"] = os.getloadavg()
    return report


def format_report(report: dict) -> str:
    machine = report["machine"]
    lines = [f"{report['games']} games of {report['source']}; {machine['cpus']} CPUs "
             f"({machine['processor']}), load average {machine['load_before'][0]:.1f} before, "
             f"{machine.get('load_after', [float('nan')])[0]:.1f} after"]
    if "splits" in report:
        lines.append("splits: " + ", ".join(f"{name} {split['games']} games, "
                                            f"{split['positions']:,} positions"
                                            for name, split in report["splits"].items()))
    if "chosen" in report:
        chosen = report["chosen"]
        lines.append(f"goai train --minutes {report['minutes']:g} chose {chosen['preset']} at "
                     f"batch {chosen['batch_size']} on {chosen['device']}; "
                     f"{report['train_wall_seconds'] / 60:.1f} minutes of wall time")
        lines.append("| step | positions seen | minutes | train loss | val loss | val top-1 |")
        lines.append("|---:|---:|---:|---:|---:|---:|")
        for row in report["learning_curve"]:
            loss = "" if row["train_loss"] is None else f"{row['train_loss']:.3f}"
            lines.append(f"| {row['step']:,} | {row['positions']:,} | {row['minutes']:.1f} | "
                         f"{loss} | {row['val_loss']:.3f} | {100 * row['val_top1']:.1f}% |")
    if "test" in report:
        test = report["test"]
        verdict = "reached" if report["aim_reached"] else "NOT reached"
        lines.append(f"test split: {test['games']} games, {test['positions']:,} positions: "
                     f"top-1 {100 * test['top1']:.1f}%, top-5 {100 * test['top5']:.1f}% "
                     f"(aim {100 * report['aim']:.0f}%: {verdict})")
    if "error" in report:
        lines.append(f"error: {report['error']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
