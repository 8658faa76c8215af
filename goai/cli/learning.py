"""The `goai` commands of the learning layer: ``train``, ``evaluate``, ``predict``, ``bench``.

Each ``cmd_<name>(args)`` sits next to the ``add_<name>`` that declares its
arguments; ``goai.cli.parser`` lists them. Heavy modules (torch) are imported inside the
commands that need them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from goai.cli.common import (
    add_config_options,
    add_device_option,
    add_model_options,
    check_folder,
    given_options,
    load_game,
    load_policy,
    print_json,
    state_after,
    wants_progress,
)

# ----------------------------------------------------------------- train


def add_train(parser: argparse.ArgumentParser) -> None:
    """One option per ``TrainConfig`` field, with the field's default and help text."""
    from goai.learn.run import CPU_DEFAULT_MINUTES, CPU_RECIPES, TrainConfig

    (short, small, small_batch), (_, large, large_batch) = CPU_RECIPES
    parser.epilog = ("On a CPU with neither --steps, --epochs nor --minutes, the run is sized "
                     f"by time: it stops after {CPU_DEFAULT_MINUTES:g} minutes (b6c64 for the "
                     "default steps would take about 20 hours there). On a CPU with neither "
                     f"--preset nor --init, a network that learns there is chosen: {small} at "
                     f"batch {small_batch} below {short:g} minutes, else {large} at batch "
                     f"{large_batch} (--batch-size still chooses); the run says which.")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=float,
                        help="passes over the training positions (at --sample-rate), "
                             "instead of --steps")
    add_config_options(parser, TrainConfig, groups={"steps": length}, declared={
        # the shared model option, under its own name
        "init": lambda: add_model_options(
            parser, flags=("--init",), dest="init", device=False,
            purpose="start from this model's weights, network size and feature set (they "
                    "replace --preset and --features)", default="a new network"),
        "device": lambda: add_device_option(parser, purpose="the device to train on",
                                            default=None)})
    parser.add_argument("--plot", default=None, metavar="FILE.png",
                        help="when the run ends, draw its learning curve from "
                             "RUN_DIR/metrics.jsonl (top-1 and loss against positions seen); "
                             "--resume on a finished run only draws it")


def cmd_train(args: argparse.Namespace) -> int:
    import dataclasses

    from goai.display.plot import PlotError, check_plot
    from goai.learn.run import RunError, TrainConfig
    from goai.records.store import StoreError, load_split

    given = given_options(args, TrainConfig)
    try:
        clash = {"preset": "--preset", "feature_set": "--features"}.keys() & given.keys()
        if "init" in given and clash:
            raise ValueError("--init takes the network size and feature set from its model: "
                             "leave out --preset and --features")
        config = TrainConfig(**given)
        train_store = load_split(config.data)  # before any note: bad data is the one line
        from goai.nn.device import resolve_device

        if resolve_device(config.device).type == "cpu":
            config = _cpu_defaults(config, given, sized_by_epochs=args.epochs is not None)
        if args.epochs is not None:
            positions = train_store.num_positions * config.sample_rate
            steps = max(1, int(args.epochs * positions / config.batch_size))
            config = dataclasses.replace(config, steps=steps)
        if args.plot:  # before the work, not after it; RUN_DIR is made by the training
            check_plot(args.plot, made_by_then=config.out)
        from goai.learn.train import train

        metrics = train(config)
        if args.plot:
            _plot_run(config, args.plot)
    except (StoreError, RunError, ValueError, PlotError) as error:
        raise SystemExit(f"goai train: {error}") from None
    except OSError as error:  # writing the run: a full disk, a folder turned read-only
        where = f"{error.filename}: " if error.filename else ""
        raise SystemExit(f"goai train: {where}{error.strerror or error}") from None
    print(json.dumps(metrics))
    if args.plot:
        print(f"learning curve: {args.plot}", file=sys.stderr)
    return 0


def _plot_run(config, path: str) -> None:  # noqa: ANN001 - a TrainConfig
    """The learning curve of the run in ``config.out``, as ``path``."""
    from goai.display.plot import learning_curve
    from goai.learn.run import RunFolder

    records = RunFolder(config.out).read_metrics()
    last = records[-1] if records else {}
    budget = (f"{config.minutes:g} minutes" if config.minutes else f"{config.steps:,} steps")
    title = (f"goai train: {config.out}, {config.preset} at batch {config.batch_size}, "
             f"feature set {config.feature_set}\nbudget {budget}: ran "
             f"{last.get('step', 0):,} steps in {last.get('elapsed_seconds', 0) / 60:.1f} "
             "minutes")
    learning_curve(records, path, title=title)


def _cpu_defaults(config, given: dict, sized_by_epochs: bool):  # noqa: ANN202 - TrainConfig
    """``config`` for a CPU, where the GPU's defaults learn nothing in an hour: a time budget
    when no length was given, and a preset and batch size that learn within it when no
    network was named. Each choice is said on stderr, with the option that overrides it."""
    import dataclasses

    from goai.learn.run import CPU_DEFAULT_MINUTES, cpu_recipe

    if not sized_by_epochs and not {"steps", "minutes"} & set(given):
        config = dataclasses.replace(config, minutes=CPU_DEFAULT_MINUTES)
        print(f"goai train: on the CPU; stopping after {CPU_DEFAULT_MINUTES:g} minutes "
              "(set --steps or --minutes to choose)", file=sys.stderr)
    if not {"preset", "init"} & set(given):
        preset, batch_size = cpu_recipe(config.minutes)
        batch_size = given.get("batch_size", batch_size)
        config = dataclasses.replace(config, preset=preset, batch_size=batch_size)
        budget = (f"{config.minutes:g} minutes" if config.minutes
                  else "a run sized by steps")
        print(f"goai train: on the CPU with no --preset: {preset} at batch {batch_size}, which "
              f"learns within {budget} there (--preset and --batch-size choose)",
              file=sys.stderr)
    if "threads" not in given:
        # The loader processes encode on cores of their own: torch's threads beyond the
        # rest oversubscribe them, and on 2 cores with one loader a second torch thread
        # made b2c32's steps 7 times slower (16 steps in 30 s against 109 with one).
        threads = max(1, (os.cpu_count() or 1) - config.loader_workers)
        config = dataclasses.replace(config, threads=threads)
        print(f"goai train: {threads} torch thread{'s' if threads > 1 else ''} beside "
              f"{config.loader_workers} loader process{'es' if config.loader_workers != 1 else ''}"
              " (--threads chooses)", file=sys.stderr)
    return config


# ----------------------------------------------------------------- evaluate


def add_evaluate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="SGF files/folders/archives, or a prepared split such as test.npz")
    add_model_options(parser, purpose="the model to evaluate")
    parser.add_argument("--symmetries", type=int, default=1, choices=(1, 8),
                        help="average the network over the 8 board symmetries")
    parser.add_argument("--max-games", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, metavar="N",
                        help="positions per forward pass (default: 32 on a CPU, where larger "
                             "batches outgrow the cache and run slower; 256 on a GPU)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="processes encoding positions beside the network (default: one "
                             "per core but one, at most 15; 0: encode in the main process)")
    parser.add_argument("--plot", default=None, metavar="FILE.png",
                        help="also draw top-1 accuracy by move number as a PNG")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (default 0: one per core the encoding "
                             "workers leave, at least one; more only oversubscribe the cores)")
    parser.add_argument("--json", action="store_true")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from goai.display.plot import PlotError, accuracy_by_move, check_plot
    from goai.learn.evaluate import EvaluationError, default_batch_size, default_workers, evaluate

    for name, value, low in (("--batch-size", args.batch_size, 1), ("--workers", args.workers, 0),
                             ("--max-games", args.max_games, 1), ("--threads", args.threads, 0)):
        if value is not None and value < low:
            raise SystemExit(f"goai evaluate: {name} must be at least {low}, not {value}")
    try:
        if args.plot:
            check_plot(args.plot)  # before the work, not after it
        workers = default_workers() if args.workers is None else args.workers
        # On 2 cores torch's default 2 threads beside a worker ran the b10c128 at
        # 10 positions/s, one thread at 17.
        threads = args.threads or max(1, (os.cpu_count() or 1) - workers)
        policy = load_policy(args.model, symmetries=args.symmetries, threads=threads,
                         device=args.device)
        batch_size = args.batch_size or default_batch_size(policy.device)
        report = evaluate(policy, args.sources, max_games=args.max_games,
                          batch_size=batch_size, workers=workers,
                          show_progress=wants_progress(args.json))
        if args.plot:
            accuracy_by_move(report["by_move"], args.plot, overall=report["overall"]["top1"],
                             positions=report["positions"],
                             title=f"goai evaluate: {Path(report['model']).name} "
                                   f"(feature set {report['feature_set']}), top-1 by move "
                                   f"number, {report['games']:,} games")
    except (EvaluationError, PlotError) as error:
        raise SystemExit(f"goai evaluate: {error}") from None
    except OSError as error:
        raise SystemExit(f"goai evaluate: cannot write {error.filename}: {error.strerror}") \
            from None
    if args.json:
        print_json(report)
        if args.plot:
            print(f"plot: {args.plot}", file=sys.stderr)
        return 0
    print(format_evaluation(report))
    if args.plot:
        print(f"plot: {args.plot}")
    return 0


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole > 0 else "-"


def format_evaluation(report: dict) -> str:
    """The text report of ``goai evaluate``: accuracy table, value figures, skipped games."""
    symmetries = report["symmetries"]
    # The file first, then the feature set by name: "(default, ...)" alone read as the
    # bundled model's name.
    lines = [f"model {report['model']}, feature set {report['feature_set']}, "
             f"{symmetries} {'symmetry' if symmetries == 1 else 'symmetries'}, "
             f"{report['device']}: {report['games']} games, "
             f"{report['positions']} positions in {report['seconds']:.1f} s "
             f"({report['positions_per_second']:.0f} positions/s, batch "
             f"{report['batch_size']}, {report['workers']} encoding workers; the network "
             f"{_share(report['network_seconds'], report['seconds'])} of the time)",
             f"{'moves':>8} {'positions':>10} {'top-1':>7} {'top-5':>7} {'top-10':>7} "
             f"{'log-loss':>9}"]
    for name, tally in [("all", report["overall"]), *report["by_phase"].items()]:
        lines.append(f"{name:>8} {tally['positions']:>10} {100 * tally['top1']:>6.1f}% "
                     f"{100 * tally['top5']:>6.1f}% {100 * tally['top10']:>6.1f}% "
                     f"{tally['log_loss']:>9.3f}")
    value = report.get("value")
    if value is not None:
        lines.append(f"value head, against the result for the side to move ({value['games']} "
                     f"games; {value['games_without_result']} without a decisive result left "
                     "out; MSE of always 0 = 1.0):")
        lines.append(f"{'moves':>8} {'positions':>10} {'sign agrees':>12} {'MSE':>7}")
        for name, tally in [("all", value["overall"]), *value["by_phase"].items()]:
            lines.append(f"{name:>8} {tally['positions']:>10} "
                         f"{100 * tally['sign_agreement']:>11.1f}% {tally['mse']:>7.3f}")
        lines.append(f"calibration: {'predicted win chance':>22} {'positions':>10} "
                     f"{'mean predicted':>15} {'won':>7}")
        for row in value["calibration"]:
            if row["positions"]:
                lines.append(f"{'':>13}{row['bin']:>22} {row['positions']:>10} "
                             f"{100 * row['predicted']:>14.1f}% {100 * row['won']:>6.1f}%")
    counted = report.get("value_counted_games")
    if counted is not None:
        lines.append(f"value head on the {counted['games']} games that ended by counting "
                     "(those with ownership and score targets):")
        lines.append(f"{'moves':>8} {'positions':>10} {'sign agrees':>12} {'MSE':>7}")
        for name, tally in [("all", counted["overall"]), *counted["by_phase"].items()]:
            lines.append(f"{name:>8} {tally['positions']:>10} "
                         f"{100 * tally['sign_agreement']:>11.1f}% {tally['mse']:>7.3f}")
    ownership = report.get("ownership")
    if ownership is not None:
        lines.append("ownership and score heads on the counted games (ownership: the share of "
                     "points whose final owner its sign gives, dame left out):")
        lines.append(f"{'moves':>8} {'positions':>10} {'ownership':>10} {'score MAE':>10} "
                     f"{'score sign':>11}")

        def percent(x: float | None) -> str:
            return "-" if x is None else f"{100 * x:.1f}%"

        for name, row in [("all", ownership["overall"]), *ownership["by_phase"].items()]:
            mae = row.get("score_mae")
            lines.append(f"{name:>8} {row['positions']:>10} "
                         f"{percent(row.get('ownership_agreement')):>10} "
                         f"{'-' if mae is None else f'{mae:.1f} pts':>10} "
                         f"{percent(row.get('score_sign_agreement')):>11}")
    if report["skipped"]:
        lines.append(f"skipped or truncated games: {len(report['skipped'])}")
        lines.extend(f"  {item['game']}: {item['reason']}" for item in report["skipped"][:20])
    return "\n".join(lines)


# ----------------------------------------------------------------- predict


def add_predict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.sgf")
    parser.add_argument("--move", type=int, default=None, metavar="N",
                        help="predict the move after move N (default: after the last move)")
    parser.add_argument("--game", type=int, default=0, metavar="K")
    add_model_options(parser)
    parser.add_argument("--symmetries", type=int, default=1, choices=(1, 8))
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--heatmap", default=None, metavar="FILE.png",
                        help="also draw the probabilities as a PNG heat map (the folder must "
                             "exist)")
    parser.add_argument("--json", action="store_true")


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from goai.display.render import render_board
    from goai.rules.coords import (
        NETWORK_SIZE,
        PASS_INDEX,
        index_to_move,
        move_to_gtp,
        move_to_index,
    )

    record = load_game(args.file, args.game)
    if record.size != NETWORK_SIZE:
        raise SystemExit(f"goai: the model plays 19x19; this game is {record.size}x{record.size}")
    state, actual = state_after(record, args.move)
    if args.heatmap:
        check_folder("goai predict", args.heatmap)
    policy = load_policy(args.model, symmetries=args.symmetries, device=args.device)
    probabilities = policy.move_probabilities(state)
    order = np.argsort(-probabilities)[: args.top]
    top = [{"rank": i + 1, "move": move_to_gtp(index_to_move(int(m)), NETWORK_SIZE),
            "probability": float(probabilities[m])} for i, m in enumerate(order)]
    played = None
    if actual is not None:
        index = move_to_index(actual[1])
        played = {"move": move_to_gtp(actual[1], NETWORK_SIZE),
                  "probability": float(probabilities[index]),
                  "rank": int((probabilities > probabilities[index]).sum()) + 1}
    if args.heatmap:
        from goai.display.plot import PlotError, board_heatmap
        from goai.rules.board import COLOR_WORDS

        mover = COLOR_WORDS[state.to_play]
        title = (f"goai predict: {policy.path.name}'s probabilities for {mover}'s move "
                 f"{len(state.history) + 1}\n{Path(args.file).name}, after move "
                 f"{len(state.history)}; pass {100 * probabilities[PASS_INDEX]:.1f}%")
        try:
            board_heatmap(state.board, probabilities[:PASS_INDEX], args.heatmap, title=title,
                          last_move=state.last_move)
        except PlotError as error:
            raise SystemExit(f"goai predict: {error}") from None
        except OSError as error:
            raise SystemExit(f"goai predict: cannot write {args.heatmap}: "
                             f"{error.strerror}") from None
    if args.json:
        print_json({"after_move": len(state.history), "top": top, "played": played})
        if args.heatmap:
            print(f"heat map: {args.heatmap}", file=sys.stderr)
        return 0
    labels = {int(m): str((i + 1) % 10) for i, m in enumerate(order) if m != PASS_INDEX}
    print(render_board(state.board, state.last_move, labels))
    print(f"after move {len(state.history)}; top {args.top} moves "
          "(digits on the board: rank, 0 = 10th):")
    for item in top:
        print(f"  {item['rank']:>2}. {item['move']:<5} {100 * item['probability']:5.1f}%")
    if played is not None:
        print(f"played: {played['move']} ({100 * played['probability']:.1f}%, "
              f"rank {played['rank']})")
    if args.heatmap:
        print(f"heat map: {args.heatmap}")
    return 0


# ----------------------------------------------------------------- bench


def add_bench(parser: argparse.ArgumentParser) -> None:
    default = Path(__file__).resolve().parents[3] / "shared" / "data" / "tom" / "tom-9d-2011.zip"
    parser.add_argument("--source", default=str(default),
                        help="games for the data figures (default: ../shared Tom 2011)")
    parser.add_argument("--games", type=int, default=1000, help="games to use (default 1000)")
    parser.add_argument("--features", default="default")
    parser.add_argument("--stream-positions", type=int, default=20_000, metavar="N",
                        help="positions to draw from the training stream (default 20000)")
    add_model_options(parser, purpose="the model of the inference figures",
                      default="default, else an untrained --preset network",
                      device=False)
    parser.add_argument("--inference-positions", type=int, default=200, metavar="N",
                        help="positions for single-position latency and genmove (default 200)")
    parser.add_argument("--inference-threads", type=int, default=1, metavar="T",
                        help="torch threads for the inference figures (default 1, as goai gtp)")
    parser.add_argument("--train-data", default=None, metavar="DIR",
                        help="also measure training on this prepared folder vs synthetic tensors")
    parser.add_argument("--preset", default="b6c64")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--loader-workers", type=_counts, default=[1], metavar="N[,N...]",
                        help="loader processes for the training figure (the last count); with "
                             "several counts, e.g. 1,4,15, also the loader's own positions/s "
                             "for each (default 1)")
    add_device_option(parser, purpose="the device of the training figures")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the network for the training figures")
    parser.add_argument("--games-per-chunk", type=int, default=64, metavar="N",
                        help="games shuffled together by each loader process (default 64)")
    parser.add_argument("--prepare", nargs="+", default=None, metavar="SOURCE",
                        help="also time a fresh goai prepare of these sources (minutes for "
                             "../shared/data/tom ../shared/data/tygem)")
    parser.add_argument("--json", action="store_true")


def _counts(text: str) -> list[int]:
    """``"1,4,15"`` -> [1, 4, 15]; argparse turns the ValueError into a one-line usage error."""
    counts = [int(part) for part in text.split(",")]
    if any(count < 0 for count in counts):
        raise ValueError(text)
    return counts


def cmd_bench(args: argparse.Namespace) -> int:
    from goai.cli.bench import (
        bench_data,
        bench_inference,
        bench_loader,
        bench_prepare,
        bench_training,
        peak_rss,
    )

    report = {"data": bench_data(args.source, max_games=args.games, feature_set=args.features,
                                 stream_positions=args.stream_positions)}
    report["inference"] = bench_inference(args.source, model=args.model, preset=args.preset,
                                          batch_size=args.batch_size,
                                          positions=args.inference_positions,
                                          threads=args.inference_threads)
    if args.train_data:
        report["training"] = bench_training(args.train_data, preset=args.preset,
                                            feature_set=args.features,
                                            batch_size=args.batch_size, steps=args.steps,
                                            loader_workers=args.loader_workers[-1],
                                            device=args.device, compile=args.compile,
                                            games_per_chunk=args.games_per_chunk)
        if len(args.loader_workers) > 1:
            report["loader"] = bench_loader(args.train_data, args.loader_workers,
                                            feature_set=args.features,
                                            batch_size=args.batch_size,
                                            games_per_chunk=args.games_per_chunk)
    if args.prepare:
        report["prepare"] = bench_prepare(args.prepare)
    report["memory"] = peak_rss()
    if args.json:
        print_json(report)
    else:
        for section, figures in report.items():
            print(f"[{section}]")
            for key, value in figures.items():
                if isinstance(value, float):
                    value = f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
                print(f"  {key}: {value}")
    return 0


