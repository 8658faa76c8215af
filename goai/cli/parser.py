"""The ``goai`` command: the list of subcommands, the parser, ``main``.

Each subcommand is a ``cmd_<name>(args)`` function next to the ``add_<name>``
function that declares its arguments, in the module of its layer
(``cli_records``, ``cli_learning``, ``cli_playing``; what they share is in
``cli_common``); ``COMMANDS`` lists them once. Heavy modules (torch) are
imported inside the commands that need them, so ``goai --help`` and
``goai show`` start at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from goai import __version__
from goai.cli.learning import (
    add_bench,
    add_evaluate,
    add_predict,
    add_train,
    cmd_bench,
    cmd_evaluate,
    cmd_predict,
    cmd_train,
)
from goai.cli.playing import (
    add_gtp,
    add_match,
    add_play,
    add_review,
    add_serve,
    cmd_gtp,
    cmd_match,
    cmd_play,
    cmd_review,
    cmd_serve,
)
from goai.cli.records import (
    add_inspect,
    add_prepare,
    add_show,
    cmd_inspect,
    cmd_prepare,
    cmd_show,
)

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
    "serve": (add_serve, cmd_serve, "play and review in the browser: a local web page"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="goai",
        description="goai: a Go move-prediction engine. SGF records -> 19x19 feature planes -> "
                    "a pooling-free residual CNN -> GTP. Run 'goai COMMAND --help' for details.")
    parser.add_argument("--version", action="version", version=f"goai {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     title="commands")
    for name, (add, run, summary) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        add(sub)
        sub.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``goai ARGV``; return the exit status. Bare ``goai`` prints the command table
    (as bare ``git`` does, with status 1: nothing was done)."""
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        print(parser.format_help(), end="")
        return 1
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("goai: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
