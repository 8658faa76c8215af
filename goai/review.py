"""``goai review``: what the model thinks of every move of a game, as SGF comments or JSON.

For each move of the main line (all of them, or only Black's or White's) the
review records the model's probability of the move played, its rank among all
362 moves (1: the model's first choice; a tie counts in the move's favour) and
the model's top 3 moves. Probabilities are the playing view,
``Policy.move_probabilities``: illegal moves get 0 and the legal ones sum to 1
(``goai evaluate`` scores the raw network instead; the two differ little).
Handicap stones and passes are replayed like any record; a pass is ranked like
any move. A record whose move is illegal is reviewed up to that move.

The annotated SGF
-----------------
Sabaki, Lizzie and GoGui show a node's comment ``C`` and its labels ``LB`` when
the board shows that node, that is *after* the node's move. So:

* node *k* (the node of move *k*) gets the comment on move *k*: its
  probability, its rank and the model's top 3 for it;
* the candidates for move *k*, labelled ``A``, ``B``, ``C`` by rank, go on node
  *k - 1* (the root for move 1): the position they are about, whose empty
  points they mark; stepping forward then shows the move actually played. A
  line of node *k - 1*'s comment says what the labels are. A pass among the
  top 3 has no point to label and only appears in the comments.
* the root gets the summary: match rate (how often the move played was the
  model's first choice), mean probability of the moves played, and the
  ``LEAST_LIKELY`` moves the model found least likely, with move numbers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from goai.board import BLACK, COLOR_LETTERS, COLOR_WORDS, WHITE
from goai.coords import (
    NETWORK_SIZE,
    NUM_MOVES,
    PASS,
    index_to_move,
    move_to_gtp,
    move_to_index,
    move_to_sgf,
)
from goai.image import write_png
from goai.player import MovePolicy
from goai.sgf import GameRecord, write_sgf

TOP_CANDIDATES = 3
LEAST_LIKELY = 5
LABELS = "ABCDEFGHIJ"[:TOP_CANDIDATES]  # one letter per candidate, by rank
PLAYERS = {"black": frozenset({BLACK}), "white": frozenset({WHITE}),
           "both": frozenset({BLACK, WHITE})}


def top_moves(probabilities: np.ndarray, count: int) -> list[tuple[int, float]]:
    """The ``count`` most probable of the (362,) ``probabilities`` as (move, probability).

    Moves are points of the 19x19 board or ``PASS``; ties keep index order.
    """
    order = np.argsort(-probabilities, kind="stable")[:count]
    return [(index_to_move(int(i)), float(probabilities[i])) for i in order]


@dataclass(frozen=True)
class MoveReview:
    """The model's view of one move: ``number`` counts from 1, ``rank`` 1 is its first choice.

    ``top`` is the model's ``TOP_CANDIDATES`` best moves, (move, probability), best first.
    """

    number: int
    color: int
    move: int
    probability: float
    rank: int
    top: tuple[tuple[int, float], ...]

    def as_dict(self) -> dict[str, object]:
        """Plain types with GTP vertices, for ``--json``."""
        return {"number": self.number, "color": COLOR_LETTERS[self.color],
                "move": move_to_gtp(self.move, NETWORK_SIZE), "probability": self.probability,
                "rank": self.rank,
                "top": [{"move": move_to_gtp(move, NETWORK_SIZE), "probability": probability}
                        for move, probability in self.top]}


@dataclass(frozen=True)
class GameReview:
    """A reviewed game: the moves of ``players`` in order, up to ``stopped`` if the record breaks.

    ``stopped`` is None, or why the replay ended early (an illegal move).
    """

    record: GameRecord
    model: str
    players: frozenset[int]
    moves: tuple[MoveReview, ...]
    stopped: str | None = None

    @property
    def matched(self) -> int:
        """How many reviewed moves were the model's first choice."""
        return sum(item.rank == 1 for item in self.moves)

    @property
    def match_rate(self) -> float:
        """The fraction of reviewed moves that were the model's first choice (0 without moves)."""
        return self.matched / max(len(self.moves), 1)

    @property
    def mean_probability(self) -> float:
        return sum(item.probability for item in self.moves) / max(len(self.moves), 1)

    def least_likely(self, count: int = LEAST_LIKELY) -> list[MoveReview]:
        """The ``count`` moves with the lowest probability, least likely first."""
        return sorted(self.moves, key=lambda item: (item.probability, item.number))[:count]

    def players_text(self) -> str:
        return " and ".join(COLOR_WORDS[color] for color in (BLACK, WHITE)
                            if color in self.players)

    def as_dict(self) -> dict[str, object]:
        """Plain types, for ``--json``: the summary figures, then every reviewed move."""
        return {"source": self.record.source, "game": self.record.index, "model": self.model,
                "players": self.players_text(), "moves_in_game": len(self.record.moves),
                "moves_reviewed": len(self.moves), "match_rate": self.match_rate,
                "mean_probability": self.mean_probability,
                "least_likely": [item.as_dict() for item in self.least_likely()],
                "stopped": self.stopped, "moves": [item.as_dict() for item in self.moves]}


def review_game(policy: MovePolicy, record: GameRecord, *,
                players: Collection[int] = (BLACK, WHITE), model: str = "") -> GameReview:
    """Replay ``record`` and ask ``policy`` about every move of ``players``.

    ``model`` names the model in the summary. Costs one network evaluation per
    reviewed move. Raises ``ValueError`` for a board other than 19x19 (the
    network's size) and for a record without moves.
    """
    if record.size != NETWORK_SIZE:
        raise ValueError(f"the game is {record.size}x{record.size}; the model plays 19x19 only")
    if not record.moves:
        raise ValueError("the game has no moves to review")
    reviews = []
    stopped = None
    moves = record.replay()
    for number, (state, color, move) in enumerate(moves, 1):
        # Checked here because replay would raise only when asked for the next position.
        reason = state.illegal_reason(move, color)
        if reason is not None:
            vertex = move_to_gtp(move, record.size)
            stopped = f"move {number} ({COLOR_LETTERS[color]} {vertex}) is illegal ({reason})"
            break
        if color not in players:
            continue
        probabilities = policy.move_probabilities(state)
        probability = float(probabilities[move_to_index(move)])
        rank = 1 + int((probabilities > probability).sum())
        reviews.append(MoveReview(number, color, move, probability, rank,
                                  tuple(top_moves(probabilities, TOP_CANDIDATES))))
    return GameReview(record, model, frozenset(players), tuple(reviews), stopped)


# ----------------------------------------------------------------- text


def percent(probability: float) -> str:
    """``12.3%``; below 0.05% two significant digits (``0.012%``), so that rare is not 0."""
    value = 100 * probability
    return f"{value:.1f}%" if value >= 0.05 or value == 0 else f"{value:.2g}%"


def _to_vertex(move: int) -> str:
    """A move of the 19x19 board as its GTP vertex (``"D4"``, ``"pass"``)."""
    return move_to_gtp(move, NETWORK_SIZE)


def _short(item: MoveReview) -> str:
    """``57 B R3 0.012% (rank 210)``."""
    return (f"{item.number} {COLOR_LETTERS[item.color]} {_to_vertex(item.move)} "
            f"{percent(item.probability)} (rank {item.rank})")


def summary_lines(review: GameReview) -> list[str]:
    """The summary as lines of text: the root comment of the SGF, the end of the text report."""
    count = len(review.moves)
    lines = [f"goai review, model {review.model or '?'}: {count} moves of "
             f"{review.players_text()} reviewed",
             f"Match rate (the model's first choice was played): {percent(review.match_rate)} "
             f"({review.matched} of {count})",
             f"Mean probability of the move played: {percent(review.mean_probability)}",
             "Least likely moves: " + "; ".join(_short(item) for item in review.least_likely())]
    if review.stopped:
        lines.append(f"Review stopped: {review.stopped}")
    return lines


def move_comment(item: MoveReview) -> str:
    """The comment on a move's node: its probability and rank, and the model's top 3."""
    verdict = "the model's first choice" if item.rank == 1 else f"rank {item.rank} of {NUM_MOVES}"
    top = ", ".join(f"{letter} {_to_vertex(move)} {percent(probability)}"
                    for letter, (move, probability) in zip(LABELS, item.top, strict=True))
    return (f"Move {item.number}, {COLOR_WORDS[item.color]} {_to_vertex(item.move)}: "
            f"{percent(item.probability)}, {verdict}\nThe model's top {len(item.top)}: {top}")


def format_review(review: GameReview) -> str:
    """The text report: one line per reviewed move, then the summary."""
    record = review.record
    lines = [f"{record.source} game {record.index}: {record.black_name or 'Black'} (B) vs "
             f"{record.white_name or 'White'} (W), komi {record.komi:g}, handicap "
             f"{record.handicap}, result {record.result or '?'}",
             f"{'move':>5}     played  probability  rank  the model's top {TOP_CANDIDATES}"]
    for item in review.moves:
        top = "  ".join(f"{_to_vertex(move):<4} {percent(probability):>6}"
                        for move, probability in item.top)
        lines.append(f"{item.number:>5} {COLOR_LETTERS[item.color]}   {_to_vertex(item.move):<5} "
                     f"{percent(item.probability):>12} {item.rank:>5}  {top}")
    return "\n".join(lines + summary_lines(review))


# ----------------------------------------------------------------- SGF


def annotated_sgf(review: GameReview) -> str:
    """The game as SGF with the review: comments, candidate labels and a root summary.

    See the module docstring for which node holds what. The whole record is
    written, also past a ``stopped`` move.
    """
    record = review.record
    # Keyed as write_sgf's node_properties: move k is key k - 1, and -1 stands for the root.
    comments: dict[int, list[str]] = {}
    labels: dict[int, list[str]] = {}
    comments[-1] = summary_lines(review)
    for item in review.moves:
        node = item.number - 1
        comments.setdefault(node, []).insert(0, move_comment(item))
        marks = [f"{move_to_sgf(move, NETWORK_SIZE)}:{letter}"
                 for letter, (move, _) in zip(LABELS, item.top, strict=True) if move != PASS]
        if marks:
            labels[node - 1] = marks
            comments.setdefault(node - 1, []).append(
                f"Labels {', '.join(LABELS[:len(item.top)])}: the model's top "
                f"{len(item.top)} for move {item.number} ({COLOR_WORDS[item.color]})")
    properties: dict[int, dict[str, list[str]]] = {
        node: {"C": ["\n".join(lines)], **({"LB": labels[node]} if node in labels else {})}
        for node, lines in comments.items()
    }
    root = properties.pop(-1)
    return write_sgf(record, node_properties=properties, root_properties=root)


# ----------------------------------------------------------------- plot

# A 5-row pixel font for the axis labels: the chart needs digits and % only.
_GLYPHS = {
    "0": ("###", "#.#", "#.#", "#.#", "###"), "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"), "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"), "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"), "7": ("###", "..#", "..#", "..#", "..#"),
    "8": ("###", "#.#", "###", "#.#", "###"), "9": ("###", "#.#", "###", "..#", "###"),
    "%": ("##..#", "##.#.", "..#..", ".#.##", "#..##"),
}
_SCALE = 2
_BAR_COLORS = {BLACK: (25, 25, 25), WHITE: (70, 130, 200)}
_GRID = (215, 215, 215)
_INK = (60, 60, 60)
_PLOT_HEIGHT = 240


def _stamp(image: np.ndarray, text: str, right: int, top: int) -> None:
    """Draw ``text`` with its right edge at column ``right`` and its top at row ``top``."""
    left = right - _text_width(text)
    for char in text:
        glyph = _GLYPHS[char]
        for row, pattern in enumerate(glyph):
            for col, pixel in enumerate(pattern):
                if pixel == "#":
                    y, x = top + row * _SCALE, left + col * _SCALE
                    image[y : y + _SCALE, x : x + _SCALE] = _INK
        left += (len(glyph[0]) + 1) * _SCALE


def _text_width(text: str) -> int:
    """Pixels from the first glyph's left edge to the last one's right edge."""
    return sum((len(_GLYPHS[char][0]) + 1) * _SCALE for char in text) - _SCALE


def plot_probabilities(review: GameReview, path: str | Path) -> None:
    """Write a PNG bar chart of the played move's probability by move number.

    One bar per reviewed move (Black's dark, White's blue), grid lines at 0, 25,
    50, 75 and 100%, move numbers every 50 moves (every 10 in short games).
    Drawn with numpy and written by ``image.write_png``: no plotting library.
    """
    last = max((item.number for item in review.moves), default=1)
    pitch = max(2, min(8, 1200 // last))  # pixels per move: wide enough to see, not too wide
    left, right, top, bottom = 48, 16, 12, 28
    width = left + pitch * last + right
    height = top + _PLOT_HEIGHT + bottom
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    base = top + _PLOT_HEIGHT  # the row of 0%
    for quarter in range(5):
        y = base - quarter * _PLOT_HEIGHT // 4
        image[y, left : width - right] = _GRID if quarter else _INK
        _stamp(image, f"{25 * quarter}%", left - 6, y - 5 * _SCALE // 2)
    step = 50 if last > 100 else 10
    for number in range(step, last + 1, step):
        x = left + (number - 1) * pitch + pitch // 2
        image[base : base + 4, x] = _INK
        label = str(number)
        _stamp(image, label, x + _text_width(label) // 2, base + 8)
    for item in review.moves:
        x = left + (item.number - 1) * pitch
        bar = max(1, round(item.probability * _PLOT_HEIGHT))
        image[base - bar : base, x : x + pitch - 1] = _BAR_COLORS[item.color]
    write_png(path, image)
