"""What several `goai` commands share: options, JSON output, loading a game or a model.

A command's settings are declared once, as the fields of its config dataclass
(``TrainConfig``, ``GtpConfig``, ``PlayerConfig``, ``SearchConfig``): each
field's default, and its help text and option details in the field's
metadata. ``add_config_options`` makes the options of those fields and
``given_options`` reads them back, so that a default or a help text is never
written twice. The metadata keys:

==============  ============================================================
key             meaning
==============  ============================================================
``help``        the option's help; ``(default: X)`` is added from the field
``metavar``     the value's name in the help (``N``, ``SECONDS``)
``flag``        the long option, when not ``--`` + the field's name dashed
``short``       a one-letter option beside it (``-t``)
``choices``     the values accepted
``command_line``  False: a setting that is no option (a config-file key, an
                internal switch)
==============  ============================================================

No torch at import: ``goai --help`` and ``goai show`` start at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

# The bundled models' names, as checkpoint.BUNDLED_MODELS has them (a test checks): that
# module imports torch, which `goai serve` and `goai gtp` must not wait for at start.
MODEL_NAMES = ("default", "small")
MODEL_HELP = ("default (the bundled b10c128), small (the bundled b4c48, fast on slow CPUs) or "
              "the path of a checkpoint")
DEVICE_HELP = "auto (CUDA, then MPS, then the CPU), cpu, cuda, cuda:N or mps"


def add_config_options(parser: argparse.ArgumentParser | argparse._ActionsContainer,
                       config: type, *, only: Collection[str] | None = None,
                       skip: Collection[str] = (),
                       declared: Mapping[str, Callable[[], None]] | None = None,
                       groups: Mapping[str, argparse._ActionsContainer] | None = None) -> None:
    """One option per field of the dataclass ``config``, in field order, from the field's
    default and metadata (the module docstring lists the keys).

    The options' values are None when not given, so that the config's own default
    (or a config file's value) applies: read them with ``given_options``. A bool
    field is a flag (``--name``; ``--name``/``--no-name`` when it defaults to True); any
    other takes one value of the field's type
    (``int``, ``float``, ``str``, or one of them or None). ``only`` keeps those
    fields, ``skip`` leaves those out (declared elsewhere: ``add_model_options``),
    ``declared[name]()`` is called in the field's place to declare it another way,
    and ``groups[name]`` is where that field's option goes (a mutually exclusive
    group). Raises ``ValueError`` for a field that would be an option without help.
    """
    hints = typing.get_type_hints(config)
    declared = declared or {}
    for option in dataclasses.fields(config):
        name = option.name
        if (only is not None and name not in only) or name in skip:
            continue
        if not option.metadata.get("command_line", True):
            continue
        if name in declared:
            declared[name]()
            continue
        if "help" not in option.metadata:
            raise ValueError(f"{config.__name__}.{name} has no help: give it some in its "
                             "metadata, or leave it out")
        flags = [option.metadata.get("flag", "--" + name.replace("_", "-"))]
        if "short" in option.metadata:
            flags.insert(0, option.metadata["short"])
        help_text = option.metadata["help"]
        required = option.default is dataclasses.MISSING and \
            option.default_factory is dataclasses.MISSING
        hint = hints[name]
        if hint is bool:
            kind: dict[str, object] = {"action": argparse.BooleanOptionalAction
                                       if option.default is True else "store_true"}
        else:  # int, float or str, or one of them | None
            value_type = next(t for t in (typing.get_args(hint) or (hint,)) if t is not type(None))
            kind = {"type": value_type, "metavar": option.metadata.get("metavar")}
            if "choices" in option.metadata:
                kind["choices"] = option.metadata["choices"]
            if not required and option.default is not None:
                help_text += f" (default: {option.default})"
        target = (groups or {}).get(name, parser)
        target.add_argument(*flags, dest=name, required=required, default=None,
                            help=help_text, **kind)


def given_options(args: argparse.Namespace, *configs: type) -> dict[str, object]:
    """The fields of ``configs`` that the command line gave (not None), by field name;
    fields that are no option (``command_line`` False) are left out, whatever ``args`` has."""
    return {option.name: getattr(args, option.name)
            for config in configs for option in dataclasses.fields(config)
            if option.metadata.get("command_line", True)
            and getattr(args, option.name, None) is not None}


def add_model_options(parser: argparse.ArgumentParser, *, flags: Sequence[str] = ("--model",),
                      dest: str = "model", purpose: str = "", default: str = "default",
                      device: bool = True, device_default: str | None = "auto",
                      value_model: bool = False) -> None:
    """The one declaration of ``--model default|small|PATH`` (and, with ``device``, of
    ``--device``; with ``value_model``, of ``--value-model``) for every command that runs
    a network: one metavar and help everywhere.

    ``flags``/``dest`` rename the model option (``goai gtp``'s ``-w/--model/--weights``,
    ``goai train``'s ``--init``); ``purpose`` says what the command uses the model for and
    ``default`` what it uses without one; the value is None when not given. Values are
    not checked here but by the commands (``check_model_name`` before any work,
    ``load_policy`` when loading), so that parsing never imports torch.
    """
    lead = f"{purpose}: " if purpose else ""
    parser.add_argument(*flags, dest=dest, default=None, metavar="default|small|PATH",
                        help=f"{lead}{MODEL_HELP} (default: {default})")
    if device:
        add_device_option(parser, default=device_default)
    if value_model:
        parser.add_argument("--value-model", default=None, metavar="MODEL",
                            help="a second network for the search's values, and its score "
                                 "lead and territory map when it has those heads (default: "
                                 "none, --model's own value head); priors still come from "
                                 "--model")


def add_device_option(parser: argparse.ArgumentParser, *, purpose: str = "",
                      default: str | None = "auto") -> None:
    """``--device``, as ``add_model_options`` declares it; ``purpose`` says what runs on it.
    ``default`` None (``goai gtp``) lets a config file decide; auto all the same."""
    lead = f"{purpose}: " if purpose else ""
    parser.add_argument("--device", default=default, metavar="DEVICE",
                        help=f"{lead}{DEVICE_HELP} (default: auto)")


def check_model_name(command: str, model: str | None) -> None:
    """Exit with one line unless ``model`` is None, a bundled model's name or a file: for
    commands that load the model later (``goai serve`` serves its page first)."""
    if model is None or model in MODEL_NAMES:
        return
    path = Path(model)
    if path.is_dir():
        raise SystemExit(f"{command}: model {model!r} is a folder, not a checkpoint file")
    if not path.is_file():
        raise SystemExit(f"{command}: no model {model!r}: give {', '.join(MODEL_NAMES)} or the "
                         "path of a checkpoint file")


# Characters JSON may carry raw but a terminal must not get raw from an SGF's text:
# DEL and the C1 controls, line/paragraph separators, bidirectional overrides.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def wants_progress(json_output: bool) -> bool:
    """A progress bar on stderr: always for text output; with ``--json`` only when stderr
    is a terminal (someone watching a long run), never into a script's captured stderr."""
    return not json_output or sys.stderr.isatty()


def print_json(data: object) -> None:
    """``data`` as indented JSON on stdout: names in any script stay readable (no
    ``ensure_ascii``), while control and bidi characters are written as ``\\uXXXX``."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    sys.stdout.write(_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text) + "\n")


def load_game(file: str, game: int):
    from goai.records.inspection import printable
    from goai.records.record import GameRecord
    from goai.records.sgf import iter_games

    items = list(iter_games([file]))
    records = [item for item in items if isinstance(item, GameRecord)]
    if not records:
        why = f" ({printable(str(items[0]))})" if items else ""
        raise SystemExit(f"goai: {file}: no readable game{why}")
    if not 0 <= game < len(records):
        raise SystemExit(f"goai: {file} holds {len(records)} games; --game {game} is not one")
    return records[game]


def state_after(record, move_number: int | None):
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


def load_policy(model: str | None, **options):
    from goai.nn.checkpoint import CheckpointError
    from goai.nn.policy import Policy

    try:
        return Policy(model, **options)
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f"goai: {error}") from None


def check_folder(command: str, path: str) -> None:
    """Exit with one line when ``path``'s folder does not exist: before the work, not after."""
    if not Path(path).parent.is_dir():
        raise SystemExit(f"{command}: cannot write {path}: No such file or directory")


