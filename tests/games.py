"""Small generated SGF collections for tests that must not depend on ../shared/data.

Each game is legal, 19x19 unless asked, and different from the others from its
first move on, so prepare keeps them all (no duplicates) and splits them by hash.
"""

from __future__ import annotations

from pathlib import Path

# Points on the top four rows, in SGF coordinates.
_POINTS = [f"{col}{row}" for row in "abcd" for col in "abcdefghijklmnopqrs"]


def game_sgf(number: int, moves: int = 24, size: int = 19) -> str:
    """Game ``number`` (0..39): its own first move on the top two rows, then ``moves - 1``
    alternating moves filling rows c and d from the third column (nothing is captured
    that a later move needs)."""
    points = [_POINTS[number]] + _POINTS[40:]
    colors = "BW" * moves
    body = "".join(f";{colors[i]}[{points[i]}]" for i in range(moves))
    return f"(;GM[1]FF[4]SZ[{size}]KM[6.5]RE[{'BW'[number % 2]}+R]{body})"


def write_collection(folder: Path, games: int, **options: int) -> Path:
    """``games`` games as ``folder/000.sgf``, ``001.sgf``, ...; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(games):
        (folder / f"{number:03}.sgf").write_text(game_sgf(number, **options))
    return folder
