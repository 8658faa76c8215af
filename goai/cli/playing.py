"""The `goai` commands that play and review: ``gtp``, ``match``, ``play``, ``review``, ``serve``.

Each ``cmd_<name>(args)`` sits next to the ``add_<name>`` that declares its
arguments; ``goai.cli.parser`` lists them. Heavy modules (torch) are imported inside the
commands that need them.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from goai.cli.common import (
    add_config_options,
    add_model_options,
    check_folder,
    check_model_name,
    given_options,
    load_game,
    load_policy,
    print_json,
    wants_progress,
)

# ----------------------------------------------------------------- gtp


def add_search_options(parser: argparse.ArgumentParser) -> None:
    """``--visits``, ``--playouts`` and ``--time``: the search's limits (``goai play``; ``goai
    gtp`` has them among ``PlayerConfig``'s options)."""
    from goai.play.player import PlayerConfig

    add_config_options(parser, PlayerConfig, only=("visits", "playouts", "time"))


def add_level_option(parser: argparse.ArgumentParser) -> None:
    """``--level``: the playing strength, ``PlayerConfig.level``'s option (play, serve; ``goai
    gtp`` has it among ``PlayerConfig``'s options)."""
    from goai.play.player import PlayerConfig

    add_config_options(parser, PlayerConfig, only=("level",))


def load_value_policy(command: str, policy, model: str | None, **options):  # noqa: ANN201
    """The ``--value-model`` network (None without one), checked to serve ``policy``'s search
    (a value head, the same feature set); ``SystemExit`` with one line otherwise."""
    if model is None:
        return None
    from goai.search.evaluator import check_value_network

    value_policy = load_policy(model, **options)
    try:
        check_value_network(policy, value_policy)
    except ValueError as error:
        raise SystemExit(f"{command}: --value-model: {error}") from None
    return value_policy


def add_gtp(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Options can also come from --config FILE.toml, keys named as the long "
                     "options (resign-threshold = 0.1); the command line wins. In a GUI: "
                     "command 'goai', arguments 'gtp --model /path/to/model.pt'.")
    from goai.engine.config import GtpConfig
    from goai.play.player import PlayerConfig

    add_model_options(parser, flags=("-w", "--model", "--weights"), device_default=None,
                      value_model=True)
    parser.add_argument("--config", default=None, metavar="FILE.toml",
                        help="TOML file of options; relative paths in it are from its folder")
    # Options default to None: a config file's value, else the config's default, applies.
    add_config_options(parser, GtpConfig, skip=("model", "value_model", "device"))
    add_config_options(parser, PlayerConfig)


def cmd_gtp(args: argparse.Namespace) -> int:
    from goai.engine.config import GtpConfig, load_config_file
    from goai.engine.engine import run_gtp
    from goai.play.player import PlayerConfig


    try:
        options = load_config_file(args.config) if args.config else {}
        options.update(given_options(args, GtpConfig, PlayerConfig))
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
    parser.add_argument("--handicap", type=int, default=0, metavar="N",
                        help="Black gets N stones (2-9, 19x19, where GNU Go's fixed_handicap "
                             "puts them) and White moves first; pair it with --no-alternate "
                             "and a komi such as 0.5")
    parser.add_argument("--no-alternate", action="store_true",
                        help="A always plays Black (default: colours alternate)")
    parser.add_argument("--referee", default="gnugo", metavar="CMD",
                        help="engine whose final_score decides games that end by passing "
                             "(default: GNU Go with Chinese rules; 'none': goai's area count)")
    parser.add_argument("--move-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="an engine silent this long on one command loses the game")
    parser.add_argument("--max-moves", type=int, default=1000, metavar="N",
                        help="stop a game after N moves and score it as it stands")
    parser.add_argument("--parallel", type=int, default=1, metavar="N",
                        help="play N games at once, each with its own engines and referee "
                             "(N times their cores and memory); {slot} in a command becomes "
                             "1..N, e.g. 'goai gtp --seed {slot}', so that engines that "
                             "repeat themselves do not replay the same games")
    parser.add_argument("--sgf-dir", default=None, metavar="DIR", help="save every game as SGF")
    parser.add_argument("--verbose", action="store_true", help="show the engines' stderr")
    parser.add_argument("--json", action="store_true")


def cmd_match(args: argparse.Namespace) -> int:
    from goai.play.match import MatchConfig, MatchError, format_summary, run_match

    try:
        config = MatchConfig(
            black=args.black, white=args.white, games=args.games, size=args.size,
            komi=args.komi, alternate=not args.no_alternate, referee=args.referee,
            move_timeout=args.move_timeout, max_moves=args.max_moves,
            sgf_dir=args.sgf_dir, engine_stderr=args.verbose, handicap=args.handicap,
            parallel=args.parallel)
        # SIGTERM (kill, a batch system's time limit) stops the match as Ctrl-C does:
        # the finished games are summarised, not lost.
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
        try:
            summary = run_match(config, show_progress=wants_progress(args.json))
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)
    except (MatchError, ValueError) as error:
        raise SystemExit(f"goai match: {error}") from None
    if args.json:
        print_json(summary)
    else:
        print(format_summary(summary))
    return 130 if summary["interrupted"] else 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


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
    add_model_options(parser, value_model=True)
    add_search_options(parser)
    add_level_option(parser)
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the search: the same seed, the same replies")


def cmd_play(args: argparse.Namespace) -> int:
    import gc

    from goai.play.levels import engine_name
    from goai.play.player import Player, PlayerConfig
    from goai.play.terminal import PlayConfig, TerminalGame
    from goai.rules.board import color_from_name

    try:
        config = PlayConfig(human=color_from_name(args.color), size=args.size,
                            komi=args.komi, handicap=args.handicap)
        player_config = PlayerConfig.with_default_limit(**given_options(args, PlayerConfig))
    except ValueError as error:
        raise SystemExit(f"goai play: {error}") from None
    device = {} if args.device == "auto" else {"device": args.device}  # auto: Policy's default
    try:
        policy = load_policy(args.model, threads=1, **device)
        value_policy = load_value_policy("goai play", policy, args.value_model, threads=1,
                                         **device)
    except ValueError as error:  # a device this machine lacks
        raise SystemExit(f"goai play: {error}") from None
    gc.collect()
    gc.freeze()  # the model's objects stay: a search need not walk them (goai.search.tree)
    player = Player.from_config(policy, player_config, seed=args.seed,
                                value_policy=value_policy)
    game = TerminalGame(player, config, sys.stdout, engine_name=engine_name(args.level),
                        echo=not sys.stdin.isatty(), color=sys.stdout.isatty())
    game.run(sys.stdin)
    return 0


# ----------------------------------------------------------------- review


def add_review(parser: argparse.ArgumentParser) -> None:
    from goai.play.review import ReviewConfig

    parser.epilog = ("The SGF has a comment on every reviewed move and the model's top 3 for the "
                     "next move as labels A, B, C on the board, and a summary at the root. "
                     "With --visits or --time every position is also searched: each move's "
                     "comment gets Black's win rate before and after it (and Black's score lead, "
                     "when the network that gives the values has a score head) and the search's "
                     "choice, each node Sabaki's win-rate property SBKV, the turning points BM "
                     "and HO marks; without them the review is the policy alone, a few seconds "
                     "a game.")
    parser.add_argument("file", metavar="GAME.sgf")
    parser.add_argument("--game", type=int, default=0, metavar="K",
                        help="which game of a collection file (0-based, default 0)")
    parser.add_argument("--out", default=None, metavar="REVIEWED.sgf",
                        help="write the annotated SGF here (Sabaki, Lizzie, GoGui)")
    parser.add_argument("--moves", default=None, metavar="A-B",
                        help="review moves A to B only (1-based, both included; 'A-' or a B "
                             "past the end: to the end)")
    parser.add_argument("--plot", default=None, metavar="FILE.png",
                        help="also draw the played move's probability by move number as a PNG "
                             "(with a search, Black's win rate and the turning points above it)")
    add_model_options(parser, value_model=True)
    add_config_options(parser, ReviewConfig)
    parser.add_argument("-t", "--threads", type=int, default=1, metavar="N",
                        help="torch CPU threads (default 1; 0: torch's choice, which a search "
                             "on an idle machine can use for its batches of 16 positions)")
    parser.add_argument("--json", action="store_true",
                        help="the summary and every move as JSON on stdout")


def _move_range(text: str) -> tuple[int, int | None]:
    """``"A-B"`` or ``"A-"`` -> (A, B or None); ``SystemExit`` with a clear line otherwise."""
    first, dash, last = text.partition("-")
    try:
        if not dash:
            raise ValueError
        return int(first), (int(last) if last.strip() else None)
    except ValueError:
        raise SystemExit(f"goai review: --moves {text}: give A-B or A- (move numbers, "
                         "e.g. 1-60)") from None


def _search_progress():
    """A progress bar on stderr for a search review; returns ``(on_position, close)``.
    The bar's own estimate gives the time left once the total is known."""
    from goai.display.progress import Progress

    bar = Progress("review", unit="positions")

    def on_position(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.count)

    return on_position, bar.close


def cmd_review(args: argparse.Namespace) -> int:
    from goai.play.report import annotated_sgf, format_review, plot_review
    from goai.play.review import ReviewConfig, run_review
    from goai.rules.coords import NETWORK_SIZE

    moves = _move_range(args.moves) if args.moves is not None else None
    try:
        config = ReviewConfig(**given_options(args, ReviewConfig), moves=moves)
    except ValueError as error:
        raise SystemExit(f"goai review: {error}") from None
    record = load_game(args.file, args.game)
    if record.size != NETWORK_SIZE:  # said before the model loads
        raise SystemExit(f"goai review: {args.file} game {args.game} is "
                         f"{record.size}x{record.size}; the model plays 19x19 only: skipped")
    if args.threads < 0:
        raise SystemExit(f"goai review: --threads must be 0 or more, not {args.threads}")
    for path in (args.out, args.plot):
        if path:
            check_folder("goai review", path)
    if args.value_model is not None and not config.searching:  # said before the models load
        raise SystemExit("goai review: --value-model gives a search its values: give "
                         "--visits or --time too")
    if args.plot:
        from goai.display.plot import PlotError, check_plot

        try:
            check_plot(args.plot)
        except PlotError as error:
            raise SystemExit(f"goai review: {error}") from None
    policy = load_policy(args.model, threads=args.threads, device=args.device)
    value_policy = load_value_policy("goai review", policy, args.value_model,
                                     threads=args.threads, device=args.device)
    on_position = close = None
    if config.searching:
        from goai.search.evaluator import check_value_network

        try:
            check_value_network(policy, value_policy)
        except ValueError as error:  # no value head
            raise SystemExit(f"goai review: {error} (--visits, --time)") from None
        on_position, close = _search_progress()
    try:
        review = run_review(policy, record, config, value_policy=value_policy,
                            model=policy.path.name, on_position=on_position)
    except ValueError as error:
        raise SystemExit(f"goai review: {args.file} game {args.game}: {error}") from None
    finally:
        if close is not None:
            close()
    try:
        if args.out:
            Path(args.out).write_text(annotated_sgf(review), encoding="utf-8")
        if args.plot:
            plot_review(review, args.plot)  # matplotlib was checked before the work
    except OSError as error:
        raise SystemExit(f"goai review: cannot write {error.filename}: {error.strerror}") from None
    if args.json:
        print_json(review.as_dict())
    else:
        print(format_review(review))
    for what, path in (("annotated SGF", args.out), ("plot", args.plot)):
        if path:  # on stderr after --json, so that stdout stays one JSON document
            print(f"{what}: {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


# ----------------------------------------------------------------- serve


def add_serve(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Open the address it prints. One game per browser; the JSON API the page "
                     "uses is in the README (Play in the browser).")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; "
                             "0.0.0.0 exposes it, with a warning)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    add_model_options(parser, value_model=True)
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="torch CPU threads (default 1, fastest for one position)")
    parser.add_argument("--max-sessions", type=int, default=32, metavar="N",
                        help="browser sessions at once (default 32; idle ones go after an hour)")
    parser.add_argument("--max-upload-kb", type=int, default=1000, metavar="KB",
                        help="largest SGF accepted for review (default 1000 KB)")
    from goai.play.player import PlayerConfig

    # The engine's moves; --level is the default of the page's new-game form.
    add_config_options(parser, PlayerConfig, only=("visits", "level"))
    # The literal is goai.serve.session.ANALYSIS_VISITS (a test checks): importing that module
    # here would slow down every goai command's start.
    parser.add_argument("--analysis-visits", type=int, default=400, metavar="N",
                        help="the page's analysis searches at most N visits (default 400; "
                             "1: the policy's priors and value only)")
    parser.add_argument("--think-seconds", type=float, default=10.0, metavar="S",
                        help="time cap of the search for one engine move and for one "
                             "analysis (default 10)")


def cmd_serve(args: argparse.Namespace) -> int:
    from goai.play.player import PlayerConfig
    from goai.serve.app import ServeConfig, run_server
    from goai.serve.model import SessionModel

    try:
        config = ServeConfig(host=args.host, port=args.port, max_sessions=args.max_sessions,
                             max_upload_bytes=1000 * args.max_upload_kb)
        if not args.think_seconds > 0:
            raise ValueError(f"--think-seconds must be positive, not {args.think_seconds}")
        visits = [value for value in (args.visits, args.analysis_visits) if value is not None]
        if min(visits) < 1:
            raise ValueError(f"--visits and --analysis-visits must be at least 1, not "
                             f"{min(visits)}")
        player = PlayerConfig.with_default_limit(visits=args.visits, level=args.level)
    except ValueError as error:
        raise SystemExit(f"goai serve: {error}") from None
    check_model_name("goai serve", args.model)  # here: the model itself loads later
    name = f"goai ({Path(args.model).stem if args.model else 'default'})"

    def load_value():  # noqa: ANN202 - a goai.nn.policy.Policy, checked against the policy's
        from goai.search.evaluator import check_value_network

        value_policy = _load_policy(args.value_model, args.threads, args.device, "value model")
        try:
            check_value_network(engine.policy._ready(), value_policy)
        except ValueError as error:
            raise _ModelError(f"--value-model: {error}") from None
        return value_policy

    # The model loads while the page is already served: torch takes seconds to import.
    engine = SessionModel(load=lambda: _load_policy(args.model, args.threads, args.device),
                          name=name, config=player, think_seconds=args.think_seconds,
                          analysis_visits=args.analysis_visits,
                          load_value=load_value if args.value_model else None)
    try:
        run_server(engine, config, announce=lambda line: print(line, flush=True))
    except _ModelError as error:
        raise SystemExit(f"goai serve: {error}") from None
    except OSError as error:
        raise SystemExit(f"goai serve: cannot listen on {args.host}:{args.port}: "
                         f"{error.strerror or error}") from None
    return 0


class _ModelError(Exception):
    """The model of ``goai serve`` could not be loaded (raised in its loading thread)."""


def _load_policy(model: str | None, threads: int, device: str = "auto",
                 what: str = "model"):
    from goai.nn.checkpoint import CheckpointError
    from goai.nn.policy import Policy

    try:
        return Policy(model, threads=threads, device=device)
    except (CheckpointError, OSError, ValueError) as error:
        raise _ModelError(f"cannot load the {what} {model or '(bundled)'}: {error}") from None


