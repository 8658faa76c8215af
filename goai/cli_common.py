"""What several `goai` commands share: option help, JSON output, loading a game or a model.

No torch at import: ``goai --help`` and ``goai show`` start at once.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

MODEL_HELP = ("default (the bundled b10c128), small (the bundled b4c48, fast on slow CPUs) or "
              "the path of a checkpoint (default: default)")
DEVICE_HELP = "auto (CUDA, then MPS, then CPU; the default), cpu, cuda, cuda:N or mps"


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
    from goai.inspection import printable
    from goai.sgf import GameRecord, iter_games

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
    from goai.checkpoint import CheckpointError
    from goai.policy import Policy

    try:
        return Policy(model, **options)
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f"goai: {error}") from None


def check_folder(command: str, path: str) -> None:
    """Exit with one line when ``path``'s folder does not exist: before the work, not after."""
    if not Path(path).parent.is_dir():
        raise SystemExit(f"{command}: cannot write {path}: No such file or directory")


