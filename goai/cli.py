"""The ``goai`` command: parse arguments into configs, call the modules, print.

Each subcommand is a ``cmd_<name>(args)`` function next to the ``add_<name>``
function that declares its arguments; ``COMMANDS`` lists them once. Heavy
modules (torch) are imported inside the commands that need them, so
``goai --help`` and ``goai show`` start at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from goai import __version__


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


# ----------------------------------------------------------------- inspect


def add_inspect(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help=".sgf files, collections, folders, .zip/.tar.gz/.tgz/.tar.bz2")
    parser.add_argument("--no-replay", action="store_true",
                        help="skip replaying games with the rules (faster; no illegal-move check)")
    parser.add_argument("--short", type=int, default=10, metavar="N",
                        help="count games with fewer than N moves as short (default 10)")
    parser.add_argument("--list", type=int, default=20, metavar="K",
                        help="problems to print in the text report (default 20; all in --json)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_inspect(args: argparse.Namespace) -> int:
    from goai.inspection import inspect_sources

    missing = [s for s in args.sources if not Path(s).exists()]
    if missing:
        raise SystemExit(f"goai: no such file or folder: {', '.join(missing)}")
    report = inspect_sources(args.sources, replay_games=not args.no_replay,
                             short_moves=args.short, show_progress=not args.json)
    if args.json:
        _print_json(report)
        return 0
    print(f"games read: {report['games']}   positions (moves): {report['moves']}")
    for key, value in report.items():
        if key not in ("games", "moves", "sources", "problems", "problem_list"):
            print(f"{key.replace('_', ' ')}: {value}")
    print("problems by kind: " + (", ".join(f"{k} {v}" for k, v in report["problems"].items())
                                  or "none"))
    for line in report["problem_list"][: args.list]:
        print(f"  {line}")
    hidden = len(report["problem_list"]) - args.list
    if hidden > 0:
        print(f"  ... and {hidden} more (--json lists all)")
    return 0


# ----------------------------------------------------------------- show


def add_show(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.sgf")
    parser.add_argument("--move", type=int, default=None, metavar="N",
                        help="show the board after move N (default: the last move)")
    parser.add_argument("--game", type=int, default=0, metavar="K",
                        help="which game of a collection file (0-based, default 0)")


def _load_game(file: str, game: int):
    from goai.sgf import GameRecord, iter_games

    records = [item for item in iter_games([file]) if isinstance(item, GameRecord)]
    if not records:
        raise SystemExit(f"goai: {file}: no readable game")
    if not 0 <= game < len(records):
        raise SystemExit(f"goai: {file} holds {len(records)} games; --game {game} is not one")
    return records[game]


def _state_after(record, move_number: int | None):
    """The game state after ``move_number`` moves (None: all), and the next move if any."""
    limit = len(record.moves) if move_number is None else move_number
    if not 0 <= limit <= len(record.moves):
        raise SystemExit(f"goai: --move {move_number}: the game has {len(record.moves)} moves")
    state = record.to_state(limit, stop_at_illegal=True)
    played = len(state.history)
    if played < limit:
        color, move = record.moves[played]
        reason = state.illegal_reason(move, color)
        raise SystemExit(f"goai: move {played + 1} of the game is illegal ({reason})")
    return state, record.moves[played] if played < len(record.moves) else None


def cmd_show(args: argparse.Namespace) -> int:
    from goai.board import BLACK, COLOR_WORDS, WHITE
    from goai.render import render_board

    record = _load_game(args.file, args.game)
    state, _ = _state_after(record, args.move)
    played = len(state.history)
    print(f"{record.black_name or 'Black'} (B) vs {record.white_name or 'White'} (W), "
          f"{record.size}x{record.size}, komi {record.komi:g}, result {record.result or '?'}")
    print(render_board(state.board, state.last_move))
    captures = state.board.captures
    print(f"after move {played} of {len(record.moves)}; {COLOR_WORDS[state.to_play]} to play; "
          f"captures: B {captures[BLACK]}, W {captures[WHITE]}")
    return 0


# ----------------------------------------------------------------- prepare


def add_prepare(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for the game store (new, empty, or an interrupted "
                             "preparation's, which resumes)")
    parser.add_argument("--force", action="store_true",
                        help="replace the game store already in --out")
    parser.add_argument("--val-fraction", type=float, default=0.005,
                        help="share of the games held out for validation (default 0.005)")
    parser.add_argument("--test-fraction", type=float, default=0.01,
                        help="share of the games held out for testing (default 0.01)")
    parser.add_argument("--min-moves", type=int, default=20,
                        help="drop games shorter than this (default 20)")
    parser.add_argument("--skip-handicap", action="store_true", help="drop handicap games")
    parser.add_argument("--min-rank", default=None, metavar="RANK",
                        help="drop games where a player's rank is below RANK (e.g. 6d); "
                             "games without ranks are kept")
    parser.add_argument("--workers", type=int, default=0, help="processes (default: one per core)")
    parser.add_argument("--json", action="store_true")


def cmd_prepare(args: argparse.Namespace) -> int:
    from goai.prepare import PrepareConfig, PrepareError, prepare

    try:
        config = PrepareConfig(val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                               min_moves=args.min_moves, skip_handicap=args.skip_handicap,
                               min_rank=args.min_rank, workers=args.workers)
        manifest = prepare(args.sources, args.out, config, overwrite=args.force,
                           show_progress=True)
    except (FileNotFoundError, PrepareError, ValueError) as error:
        raise SystemExit(f"goai prepare: {error}") from None
    for warning in manifest["warnings"]:
        print(f"goai prepare: warning: {warning}", file=sys.stderr)
    if args.json:
        _print_json({k: v for k, v in manifest.items() if k != "problems"})
        return 0
    print(f"games read {manifest['games_read']}; dropped: {manifest['dropped'] or 'none'}")
    for name, counts in manifest["splits"].items():
        print(f"  {name:5}: {counts['games']} games, {counts['positions']} positions")
    print(f"manifest: {Path(args.out) / 'manifest.json'}")
    return 0


# ----------------------------------------------------------------- train


def add_train(parser: argparse.ArgumentParser) -> None:
    """One option per ``TrainConfig`` field, with the field's default and help text."""
    import dataclasses
    import typing

    from goai.run import CPU_DEFAULT_MINUTES, TrainConfig

    parser.epilog = ("On a CPU with neither --steps, --epochs nor --minutes, the run is sized "
                     f"by time: it stops after {CPU_DEFAULT_MINUTES:g} minutes (b6c64 for the "
                     "default steps would take about 20 hours there).")
    hints = typing.get_type_hints(TrainConfig)
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=float,
                        help="passes over the training positions (at --sample-rate), "
                             "instead of --steps")
    for option in dataclasses.fields(TrainConfig):
        if not option.metadata.get("command_line", True):
            continue
        flag = option.metadata.get("flag", "--" + option.name.replace("_", "-"))
        help_text = option.metadata["help"]
        required = option.default is dataclasses.MISSING
        hint = hints[option.name]
        if hint is bool:
            kind = {"action": "store_true"}
        else:  # int, float or str, or one of them | None
            value_type = next(t for t in (typing.get_args(hint) or (hint,)) if t is not type(None))
            kind = {"type": value_type, "metavar": option.metadata.get("metavar")}
            if not required and option.default is not None:
                help_text += f" (default: {option.default})"
        group = length if option.name == "steps" else parser
        # None when not given, so that TrainConfig's own default applies.
        group.add_argument(flag, dest=option.name, required=required, default=None,
                           help=help_text, **kind)


def cmd_train(args: argparse.Namespace) -> int:
    import dataclasses

    from goai.run import CPU_DEFAULT_MINUTES, RunError, TrainConfig
    from goai.store import StoreError, load_split

    given = {option.name: getattr(args, option.name) for option in dataclasses.fields(TrainConfig)
             if getattr(args, option.name, None) is not None}
    try:
        config = TrainConfig(**given)
        train_store = load_split(config.data)  # before any note: bad data is the one line
        if args.epochs is not None:
            positions = train_store.num_positions * config.sample_rate
            steps = max(1, int(args.epochs * positions / config.batch_size))
            config = dataclasses.replace(config, steps=steps)
        elif not {"steps", "minutes"} & set(given):
            from goai.train import pick_device

            if pick_device(config.device).type == "cpu":
                config = dataclasses.replace(config, minutes=CPU_DEFAULT_MINUTES)
                print(f"goai train: on the CPU; stopping after {CPU_DEFAULT_MINUTES:g} minutes "
                      "(set --steps or --minutes to choose)", file=sys.stderr)
        from goai.train import train

        metrics = train(config)
    except (StoreError, RunError, ValueError) as error:
        raise SystemExit(f"goai train: {error}") from None
    print(json.dumps(metrics))
    return 0


# ----------------------------------------------------------------- evaluate


def add_evaluate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="SGF files/folders/archives, or a prepared split such as test.npz")
    parser.add_argument("--model", default=None, help="checkpoint (default: the bundled model)")
    parser.add_argument("--symmetries", type=int, default=1, choices=(1, 8),
                        help="average the network over the 8 board symmetries")
    parser.add_argument("--max-games", type=int, default=None)
    parser.add_argument("--plot", default=None, metavar="FILE.png",
                        help="plot top-1 accuracy by move number (needs matplotlib)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", action="store_true")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from goai.evaluate import evaluate, plot_accuracy

    policy = _policy(args.model, symmetries=args.symmetries, threads=args.threads)
    report = evaluate(policy, args.sources, max_games=args.max_games,
                      show_progress=not args.json)
    if args.plot:
        plot_accuracy(report, args.plot)
    if args.json:
        _print_json(report)
        return 0
    print(f"model {report['model']} ({report['feature_set']}, "
          f"{report['symmetries']} symmetries): {report['games']} games, "
          f"{report['positions']} positions")
    print(f"{'moves':>8} {'positions':>10} {'top-1':>7} {'top-5':>7} {'top-10':>7} {'log-loss':>9}")
    rows = [("all", report["overall"]), *report["by_phase"].items()]
    for name, tally in rows:
        print(f"{name:>8} {tally['positions']:>10} {100 * tally['top1']:>6.1f}% "
              f"{100 * tally['top5']:>6.1f}% {100 * tally['top10']:>6.1f}% "
              f"{tally['log_loss']:>9.3f}")
    if report["skipped"]:
        print(f"skipped or truncated games: {len(report['skipped'])}")
        for item in report["skipped"][:20]:
            print(f"  {item['game']}: {item['reason']}")
    return 0


def _policy(model: str | None, **options):
    from goai.checkpoint import CheckpointError
    from goai.policy import Policy

    try:
        return Policy(model, **options)
    except (CheckpointError, FileNotFoundError) as error:
        raise SystemExit(f"goai: {error}") from None


# ----------------------------------------------------------------- predict


def add_predict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.sgf")
    parser.add_argument("--move", type=int, default=None, metavar="N",
                        help="predict the move after move N (default: after the last move)")
    parser.add_argument("--game", type=int, default=0, metavar="K")
    parser.add_argument("--model", default=None, help="checkpoint (default: the bundled model)")
    parser.add_argument("--symmetries", type=int, default=1, choices=(1, 8))
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--heatmap", default=None, metavar="FILE.png",
                        help="also draw the probabilities as a PNG heat map")
    parser.add_argument("--json", action="store_true")


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from goai.coords import NETWORK_SIZE, PASS_INDEX, index_to_move, move_to_gtp, move_to_index
    from goai.render import render_board

    record = _load_game(args.file, args.game)
    if record.size != NETWORK_SIZE:
        raise SystemExit(f"goai: the model plays 19x19; this game is {record.size}x{record.size}")
    state, actual = _state_after(record, args.move)
    policy = _policy(args.model, symmetries=args.symmetries)
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
        from goai.image import board_image, write_png

        heat = probabilities[:PASS_INDEX] / max(float(probabilities[:PASS_INDEX].max()), 1e-9)
        write_png(args.heatmap, board_image(state.board, last_move=state.last_move, heat=heat))
    if args.json:
        _print_json({"after_move": len(state.history), "top": top, "played": played})
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
    return 0


# ----------------------------------------------------------------- bench


def add_bench(parser: argparse.ArgumentParser) -> None:
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "tom" / "tom-9d-2011.zip"
    parser.add_argument("--source", default=str(default),
                        help="games for the data figures (default: ../shared Tom 2011)")
    parser.add_argument("--games", type=int, default=1000, help="games to use (default 1000)")
    parser.add_argument("--features", default="default")
    parser.add_argument("--stream-positions", type=int, default=20_000, metavar="N",
                        help="positions to draw from the training stream (default 20000)")
    parser.add_argument("--model", default=None,
                        help="model for the inference figures (default: the bundled model, "
                             "else an untrained --preset network)")
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
    parser.add_argument("--device", default="auto",
                        help="device for the training figures (default auto)")
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
    from goai.bench import (
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
        _print_json(report)
    else:
        for section, figures in report.items():
            print(f"[{section}]")
            for key, value in figures.items():
                if isinstance(value, float):
                    value = f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
                print(f"  {key}: {value}")
    return 0


# ----------------------------------------------------------------- gtp


def add_gtp(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Options can also come from --config FILE.toml, keys named as the long "
                     "options (resign-threshold = 0.1); the command line wins. In a GUI: "
                     "command 'goai', arguments 'gtp --model /path/to/model.pt'.")
    parser.add_argument("-w", "--model", "--weights", dest="model", default=None,
                        metavar="MODEL", help="default or small (the bundled models) or a "
                        "checkpoint PATH (default: the bundled default model)")
    parser.add_argument("--device", default=None, metavar="DEVICE",
                        help="auto (default: CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    parser.add_argument("--config", default=None, metavar="FILE.toml",
                        help="TOML file of options; relative paths in it are from its folder")
    parser.add_argument("--symmetries", type=int, choices=(1, 8), default=None,
                        help="average the network over 1 or all 8 board symmetries (default 1)")
    parser.add_argument("-t", "--threads", type=int, default=None, metavar="N",
                        help="torch CPU threads (default 1, fastest for one position; "
                             "0: torch's choice)")
    parser.add_argument("--temperature", type=float, default=None, metavar="T",
                        help="0 plays the best move (default); above 0 samples p^(1/T)")
    parser.add_argument("--seed", type=int, default=None, help="seed for sampling")
    parser.add_argument("-r", "--resign-threshold", type=float, default=None, metavar="P",
                        help="resign below this win probability from the value head "
                             "(default 0.05; 0 never; never without a value head)")
    parser.add_argument("--resign-min-moves", type=int, default=None, metavar="N",
                        help="never resign before move N (default 50)")
    parser.add_argument("--pass-floor", type=float, default=None, metavar="P",
                        help="after the opponent passes, pass when the best move is below "
                             "this probability (default 0.05)")
    parser.add_argument("--lag-buffer", type=float, default=None, metavar="SECONDS",
                        help="seconds kept in hand per move under time control (default 0.2)")
    parser.add_argument("-l", "--log", default=None, metavar="FILE",
                        help="log commands, responses and timings to FILE")
    parser.add_argument("-v", "--verbose", action="store_true", default=None,
                        help="log to stderr (off by default: Lizzie shows stderr as output)")


def cmd_gtp(args: argparse.Namespace) -> int:
    from goai.gtp_config import GtpConfig, load_config_file
    from goai.gtp_engine import run_gtp

    names = ("model", "device", "symmetries", "threads", "temperature", "seed", "resign_threshold",
             "resign_min_moves", "pass_floor", "lag_buffer", "log", "verbose")
    try:
        options = load_config_file(args.config) if args.config else {}
        options.update({name: getattr(args, name) for name in names
                        if getattr(args, name) is not None})
        config = GtpConfig.from_options(options)
    except ValueError as error:
        raise SystemExit(f"goai gtp: {error}") from None
    code = run_gtp(config, sys.stdin.buffer, sys.stdout.buffer)
    # Leave without the interpreter's teardown: once torch is loaded it takes
    # longer than the game's last answer (over a second on a busy 2-core box),
    # and GUIs kill an engine that lingers after quit (Sabaki after 3 s).
    # Everything has been written: run_gtp flushed stdout; the logs are flushed here.
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader is gone, or the stream closed
            pass
    os._exit(code)


# ----------------------------------------------------------------- match


def add_match(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Example: goai match --black 'goai gtp' --white '/usr/games/gnugo --mode gtp "
                     "--level 10 --chinese-rules' --games 40 --sgf-dir games/")
    parser.add_argument("--black", required=True, metavar="CMD",
                        help="engine A's command line; A plays Black in odd-numbered games")
    parser.add_argument("--white", required=True, metavar="CMD",
                        help="engine B's command line; B plays White in odd-numbered games")
    parser.add_argument("--games", type=int, required=True, metavar="N")
    parser.add_argument("--size", type=int, default=19)
    parser.add_argument("--komi", type=float, default=7.5)
    parser.add_argument("--no-alternate", action="store_true",
                        help="A always plays Black (default: colours alternate)")
    parser.add_argument("--referee", default="gnugo", metavar="CMD",
                        help="engine whose final_score decides games that end by passing "
                             "(default: GNU Go with Chinese rules; 'none': goai's area count)")
    parser.add_argument("--move-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="an engine silent this long on one command loses the game")
    parser.add_argument("--max-moves", type=int, default=1000, metavar="N",
                        help="stop a game after N moves and score it as it stands")
    parser.add_argument("--sgf-dir", default=None, metavar="DIR", help="save every game as SGF")
    parser.add_argument("--verbose", action="store_true", help="show the engines' stderr")
    parser.add_argument("--json", action="store_true")


def cmd_match(args: argparse.Namespace) -> int:
    from goai.match import MatchConfig, MatchError, format_summary, run_match

    try:
        config = MatchConfig(
            black=args.black, white=args.white, games=args.games, size=args.size,
            komi=args.komi, alternate=not args.no_alternate, referee=args.referee,
            move_timeout=args.move_timeout, max_moves=args.max_moves,
            sgf_dir=args.sgf_dir, engine_stderr=args.verbose)
        summary = run_match(config, show_progress=not args.json)
    except (MatchError, ValueError) as error:
        raise SystemExit(f"goai match: {error}") from None
    if args.json:
        _print_json(summary)
    else:
        print(format_summary(summary))
    return 0


# ----------------------------------------------------------------- play


def add_play(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Type moves as D4, or pass, resign, undo, hint, score, save FILE.sgf, help, "
                     "quit. Works over pipes: printf 'D4\\nhint\\nquit\\n' | goai play")
    parser.add_argument("--color", choices=("black", "white"), default="black",
                        help="your colour (default black)")
    parser.add_argument("--size", type=int, default=19,
                        help="board size: 19 only, since the model plays 19x19 (others are "
                             "refused at start)")
    parser.add_argument("--komi", type=float, default=7.5)
    parser.add_argument("--handicap", type=int, default=0, metavar="N",
                        help="N = 2 to 9 black stones on the star points; White moves first")
    parser.add_argument("--model", default=None, metavar="MODEL",
                        help="default or small (the bundled models) or a checkpoint PATH "
                             "(default: the bundled default model)")
    parser.add_argument("--device", default="auto", metavar="DEVICE",
                        help="auto (default: CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")


def cmd_play(args: argparse.Namespace) -> int:
    from goai.board import color_from_name
    from goai.play import PlayConfig, TerminalGame
    from goai.player import Player

    try:
        config = PlayConfig(human=color_from_name(args.color), size=args.size,
                            komi=args.komi, handicap=args.handicap)
    except ValueError as error:
        raise SystemExit(f"goai play: {error}") from None
    device = {} if args.device == "auto" else {"device": args.device}  # auto: Policy's default
    try:
        policy = _policy(args.model, threads=1, **device)
    except ValueError as error:  # a device this machine lacks
        raise SystemExit(f"goai play: {error}") from None
    game = TerminalGame(Player(policy), config, sys.stdout, echo=not sys.stdin.isatty(),
                        color=sys.stdout.isatty())
    game.run(sys.stdin)
    return 0


# ----------------------------------------------------------------- review


def add_review(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("The SGF has a comment on every reviewed move and the model's top 3 for the "
                     "next move as labels A, B, C on the board, and a summary at the root.")
    parser.add_argument("file", metavar="GAME.sgf")
    parser.add_argument("--game", type=int, default=0, metavar="K",
                        help="which game of a collection file (0-based, default 0)")
    parser.add_argument("--out", default=None, metavar="REVIEWED.sgf",
                        help="write the annotated SGF here (Sabaki, Lizzie, GoGui)")
    parser.add_argument("--player", choices=("black", "white", "both"), default="both",
                        help="whose moves to review (default both)")
    parser.add_argument("--plot", default=None, metavar="FILE.png",
                        help="also draw the played move's probability by move number as a PNG")
    parser.add_argument("--model", default=None, metavar="PATH",
                        help="checkpoint (default: the bundled model)")
    parser.add_argument("--symmetries", type=int, default=1, choices=(1, 8))
    parser.add_argument("--json", action="store_true",
                        help="the summary and every move as JSON on stdout")


def cmd_review(args: argparse.Namespace) -> int:
    from goai.coords import NETWORK_SIZE
    from goai.review import PLAYERS, annotated_sgf, format_review, plot_probabilities, review_game

    record = _load_game(args.file, args.game)
    if record.size != NETWORK_SIZE:  # said before the model loads
        raise SystemExit(f"goai review: {args.file} game {args.game} is "
                         f"{record.size}x{record.size}; the model plays 19x19 only: skipped")
    policy = _policy(args.model, symmetries=args.symmetries, threads=1)
    try:
        review = review_game(policy, record, players=PLAYERS[args.player],
                             model=policy.path.name)
    except ValueError as error:
        raise SystemExit(f"goai review: {args.file} game {args.game}: {error}") from None
    try:
        if args.out:
            Path(args.out).write_text(annotated_sgf(review), encoding="utf-8")
        if args.plot:
            plot_probabilities(review, args.plot)
    except OSError as error:
        raise SystemExit(f"goai review: cannot write {error.filename}: {error.strerror}") from None
    if args.json:
        _print_json(review.as_dict())
        return 0
    print(format_review(review))
    for what, path in (("annotated SGF", args.out), ("plot", args.plot)):
        if path:
            print(f"{what}: {path}")
    return 0


# ----------------------------------------------------------------- main

COMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "inspect": (add_inspect, cmd_inspect, "count games, positions and problems in SGF sources"),
    "show": (add_show, cmd_show, "print the board of an SGF game after move N"),
    "prepare": (add_prepare, cmd_prepare, "SGF sources -> train/val/test game store"),
    "train": (add_train, cmd_train, "train a policy network on a prepared game store"),
    "evaluate": (add_evaluate, cmd_evaluate, "move-prediction accuracy on held-out games"),
    "predict": (add_predict, cmd_predict, "the model's top moves for a position of an SGF game"),
    "bench": (add_bench, cmd_bench, "throughput: parse, replay, encode, train (real vs synthetic)"),
    "gtp": (add_gtp, cmd_gtp, "play over GTP (Sabaki, Lizzie, GoGui, q5Go, twogtp)"),
    "match": (add_match, cmd_match, "play GTP engines against each other; wins, Elo, SGF"),
    "play": (add_play, cmd_play, "play a game against the model in the terminal"),
    "review": (add_review, cmd_review, "the model's probability and rank of every move of a "
                                       "game; annotated SGF"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="goai",
        description="goai: a Go move-prediction engine. SGF records -> 19x19 feature planes -> "
                    "a pooling-free residual CNN -> GTP. Run 'goai COMMAND --help' for details.")
    parser.add_argument("--version", action="version", version=f"goai {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (add, run, summary) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        add(sub)
        sub.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("goai: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
