"""``goai inspect``: what is in a pile of SGF sources, and what is wrong with it.

Counts games and positions, board sizes, handicap games, short games, games
with passes, colours that do not alternate, duplicate move sequences, and,
with ``replay_games``, games whose replay under the rules meets an illegal move
(occupied point, suicide, or a simple-ko retake, which servers forbid, so a
record that has one is damaged). Every problem is one line naming the source,
the game index and the reason; a folder or archive without SGF files is one
("no SGF games found"). Text from the data is printed through ``printable``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from goai.display.progress import Progress
from goai.records.record import GameRecord
from goai.records.sgf import ReadSummary, iter_games
from goai.rules.board import IllegalMoveError
from goai.rules.coords import PASS, move_to_gtp


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: every control or format character escaped.

    Names, results and archive member names come from the data; printed raw, an
    ESC sequence in them would drive the terminal (move the cursor, retitle the
    window, hide the rest of the line) and a right-to-left override would reorder
    it. They are shown as Python writes them: ``\\x1b``, ``\\u202e``, ``\\n``. Every
    command that prints text from SGF data prints it through this function.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _sequence_key(record: GameRecord) -> bytes:
    digest = hashlib.blake2b(digest_size=12)
    digest.update(repr((record.size, record.setup_black, record.setup_white,
                        record.moves)).encode())
    return digest.digest()


def _first_illegal(record: GameRecord) -> str | None:
    played = 0
    try:
        for _ in record.replay():
            played += 1
    except IllegalMoveError as error:
        return f"move {played} ({move_to_gtp(error.move, record.size)}): {error.reason}"
    return None


def inspect_sources(sources: Sequence[str | Path], *, replay_games: bool = True,
                    short_moves: int = 10, show_progress: bool = True) -> dict:
    """A JSON-ready report over every game of ``sources`` (see the module docstring)."""
    summary = ReadSummary()
    sizes: Counter[int] = Counter()
    illegal: Counter[str] = Counter()
    problems: list[str] = []
    seen: set[bytes] = set()
    counts = Counter()
    with Progress("inspect", unit="games", enabled=show_progress) as bar:
        for item in iter_games(list(sources)):
            summary.add(item)
            if not isinstance(item, GameRecord):
                problems.append(str(item))
                continue
            where = f"{item.source} game {item.index}"
            sizes[item.size] += 1
            if item.handicap > 0 or item.setup_black:
                counts["handicap_games"] += 1
            if len(item.moves) < short_moves:
                counts["short_games"] += 1
                problems.append(f"{where}: short game ({len(item.moves)} moves)")
            if any(move == PASS for _, move in item.moves):
                counts["games_with_passes"] += 1
            colors = [color for color, _ in item.moves]
            if any(a == b for a, b in zip(colors, colors[1:], strict=False)):
                counts["non_alternating_games"] += 1
                problems.append(f"{where}: colours do not alternate")
            key = _sequence_key(item)
            if key in seen:
                counts["duplicate_games"] += 1
                problems.append(f"{where}: duplicate of an earlier game's moves")
            seen.add(key)
            if replay_games:
                reason = _first_illegal(item)
                if reason is not None:
                    illegal[reason.rsplit(": ", 1)[1]] += 1
                    problems.append(f"{where}: illegal {reason}")
            bar.update(1)
    report = summary.as_dict()
    report |= {
        "sources": [str(s) for s in sources],
        "board_sizes": dict(sorted(sizes.items())),
        "handicap_games": counts["handicap_games"],
        f"short_games (< {short_moves} moves)": counts["short_games"],
        "games_with_passes": counts["games_with_passes"],
        "non_alternating_games": counts["non_alternating_games"],
        "duplicate_games": counts["duplicate_games"],
    }
    if replay_games:
        report["illegal_games"] = dict(sorted(illegal.items()))
    report["problem_list"] = problems
    return report
