"""The `goai` commands that read records: ``inspect``, ``show``, ``prepare``.

Each ``cmd_<name>(args)`` sits next to the ``add_<name>`` that declares its
arguments; ``goai.cli.parser`` lists them. Heavy modules (torch) are imported inside the
commands that need them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from goai.cli.common import (
    load_game,
    print_json,
    state_after,
    wants_progress,
)

# ----------------------------------------------------------------- inspect


def add_inspect(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help=".sgf files, collections, folders, .zip/.tar/.tar.gz/.tgz/.tar.bz2/"
                             ".tar.xz")
    parser.add_argument("--no-replay", action="store_true",
                        help="skip replaying games with the rules (faster; no illegal-move check)")
    parser.add_argument("--short", type=int, default=10, metavar="N",
                        help="count games with fewer than N moves as short (default 10)")
    parser.add_argument("--list", type=int, default=20, metavar="K",
                        help="problems to print in the text report (default 20; all in --json)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_inspect(args: argparse.Namespace) -> int:
    from goai.records.inspection import inspect_sources, printable

    missing = [s for s in args.sources if not Path(s).exists()]
    if missing:
        raise SystemExit(f"goai: no such file or folder: {', '.join(missing)}")
    report = inspect_sources(args.sources, replay_games=not args.no_replay,
                             short_moves=args.short, show_progress=wants_progress(args.json))
    if args.json:
        print_json(report)
        return 0
    print(f"games read: {report['games']}   positions (moves): {report['moves']}")
    for key, value in report.items():
        if key not in ("games", "moves", "sources", "problems", "problem_list"):
            print(f"{key.replace('_', ' ')}: {value}")
    print("problems by kind: " + (", ".join(f"{k} {v}" for k, v in report["problems"].items())
                                  or "none"))
    for line in report["problem_list"][: args.list]:
        print(f"  {printable(line)}")  # member names and reasons come from the data
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


def cmd_show(args: argparse.Namespace) -> int:
    from goai.display.render import render_board
    from goai.records.inspection import printable
    from goai.rules.board import BLACK, COLOR_WORDS, WHITE

    record = load_game(args.file, args.game)
    state, _ = state_after(record, args.move)
    played = len(state.history)
    print(printable(f"{record.black_name or 'Black'} (B) vs {record.white_name or 'White'} (W), "
                    f"{record.size}x{record.size}, komi {record.komi:g}, "
                    f"result {record.result or '?'}"))
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
                        help="share of the games held out for validation, by a hash of "
                             "each game (default 0.005)")
    parser.add_argument("--test-fraction", type=float, default=0.01,
                        help="share of the games held out for testing, by a hash of each "
                             "game (default 0.01)")
    parser.add_argument("--min-held-out", type=int, default=50, metavar="GAMES",
                        help="each held-out split gets at least this many games, moved "
                             "from train, or 10%% of a smaller collection (default 50; 1: the "
                             "fractions alone, but never an empty split)")
    parser.add_argument("--min-moves", type=int, default=20,
                        help="drop games shorter than this (default 20)")
    parser.add_argument("--skip-handicap", action="store_true", help="drop handicap games")
    parser.add_argument("--min-rank", default=None, metavar="RANK",
                        help="drop games where a player's rank is below RANK (e.g. 6d); "
                             "games without ranks are kept")
    parser.add_argument("--workers", type=int, default=0, help="processes (default: one per core)")
    parser.add_argument("--ownership", choices=("auto", "gnugo", "none"), default="auto",
                        help="ownership and score targets for games that ended by counting: "
                             "gnugo judges their dead stones with GNU Go (about a second a "
                             "counted game) and keeps the games whose count gives the recorded "
                             "margin; none skips them; auto (default): gnugo when installed")
    parser.add_argument("--json", action="store_true")


def cmd_prepare(args: argparse.Namespace) -> int:
    from goai.records.labels import TOLERANCE
    from goai.records.prepare import PrepareConfig, PrepareError, prepare

    try:
        config = PrepareConfig(val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                               min_held_out=args.min_held_out, min_moves=args.min_moves,
                               skip_handicap=args.skip_handicap, min_rank=args.min_rank,
                               workers=args.workers, ownership=args.ownership)
        manifest = prepare(args.sources, args.out, config, overwrite=args.force,
                           show_progress=True)
    except (FileNotFoundError, PrepareError, ValueError) as error:
        raise SystemExit(f"goai prepare: {error}") from None
    except OSError as error:  # writing the store: a full disk, a folder turned read-only
        raise SystemExit(f"goai prepare: cannot write {error.filename or args.out}: "
                         f"{error.strerror}") from None
    for warning in manifest["warnings"]:
        print(f"goai prepare: warning: {warning}", file=sys.stderr)
    if args.json:
        print_json({k: v for k, v in manifest.items() if k != "problems"})
        return 0
    print(f"games read {manifest['games_read']}; dropped: {manifest['dropped'] or 'none'}")
    for name, counts in manifest["splits"].items():
        print(f"  {name:5}: {counts['games']} games, {counts['positions']} positions, "
              f"{counts['labelled_games']} with ownership and score")
    ownership = manifest["ownership"]
    if ownership["judge"]:
        print(f"ownership: {ownership.get('counted', 0)} games ended by counting, "
              f"{ownership.get('labelled', 0)} kept (GNU Go's count within "
              f"{TOLERANCE:g} point of the record: {ownership.get('agreement', 0):.1%}); "
              "resigned games get none")
    else:
        print("ownership: none (GNU Go not used; install gnugo or give --ownership gnugo)")
    print(f"manifest: {Path(args.out) / 'manifest.json'}")
    return 0


