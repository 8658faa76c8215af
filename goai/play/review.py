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

With a search (``goai review --visits N``)
------------------------------------------
Without a search the review costs one network evaluation a move (seconds for
a game). Given a ``goai.search.tree.Search`` and its limits, the review also
searches every position of the reviewed stretch, from the one before its first
move to the one after its last, walking the game forward so that each search
reuses the subtree of the move played. Every win rate is **Black's**, whoever
is to move (the viewpoint of Lizzie's and Sabaki's graphs): the root's mean
value turned to Black's view. For each move:

* the win rate before it (the search of the position it was played in) and
  after it (the search of the next position);
* the *drop*: how much the move cost the player who made it, in win rate
  (before minus after for Black, after minus before for White; below 0 the
  move gained);
* the search's best move at the position before it, its visits and the win
  rate after it.

When the network that gives the values has a score head, each searched
position also has Black's *score lead* (the root's mean score, turned to
Black's view) and each move a *score drop* (what it cost its player in
points). The *turning points* are the ``TURNING_POINTS`` reviewed moves whose
player lost the most (ties: the earlier move), measured by whichever of win
rate and score moved more: a point of score weighs as much as a percentage
point of win rate (``POINTS_PER_PERCENT``), so that a move that throws away
a won game's margin but not its win rate is found too, and each turning point
says which it was ("White's win rate fell 12.0 points" or "White lost 6.5
points of score"). Without a score head only the win rate counts. In the annotated SGF every
searched position's node carries ``SBKV`` (Black's win rate in percent, two
decimals: the property Sabaki writes for its win-rate graph and reads back, on
the node whose position was analysed), each move's comment gives its win rates
and the search's choice, and a turning point's node is marked ``BM[1]`` (SGF's
"bad move") and ``HO[1]`` (SGF's "hotspot", for game-deciding moves); the root
comment lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from goai.display.plot import drawable, review_chart
from goai.play.player import MovePolicy
from goai.records.sgf import GameRecord, write_sgf
from goai.rules.board import BLACK, COLOR_LETTERS, COLOR_WORDS, WHITE
from goai.rules.coords import (
    NETWORK_SIZE,
    NUM_MOVES,
    PASS,
    index_to_move,
    move_to_gtp,
    move_to_index,
    move_to_sgf,
)
from goai.rules.game import GameState
from goai.search.tree import Search, SearchLimits, SearchResult

TOP_CANDIDATES = 3
LEAST_LIKELY = 5
TURNING_POINTS = 5
# How a score drop compares with a win-rate drop for the turning points: a point of score
# weighs as one percentage point of win rate. Mid-game a point is worth a few percent, near
# the end of a decided game almost none; one to one is a middle that keeps both in view.
POINTS_PER_PERCENT = 1.0
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
class PositionSearch:
    """The search's verdict on the position after ``played`` moves of the game.

    ``winrate``: Black's win rate in [0, 1] (the root's mean value, turned to
    Black's view whoever is to move). ``visits``: the root's visits, reused ones
    included. ``best_move``: the search's choice for the side to move
    (``coords.PASS`` when the game is over), with its ``best_visits`` and
    ``best_winrate``, Black's win rate after it (None if never visited).
    ``score_lead`` and ``best_score_lead``: Black's lead in points, at the
    position and after the best move; None without a score head.
    """

    played: int
    winrate: float
    visits: int
    best_move: int
    best_visits: int
    best_winrate: float | None
    score_lead: float | None = None
    best_score_lead: float | None = None

    @classmethod
    def from_result(cls, played: int, to_play: int, result: SearchResult) -> PositionSearch:
        """Turn ``result`` (figures for ``to_play``, the side to move) to Black's view."""

        def black(winrate: float) -> float:
            return winrate if to_play == BLACK else 1.0 - winrate

        def lead(score: float | None) -> float | None:
            return None if score is None else score if to_play == BLACK else -score

        best = next((stats for stats in result.moves if stats.move == result.best_move), None)
        best_winrate = None if best is None or best.winrate is None else black(best.winrate)
        return cls(played, black(result.winrate), result.visits, result.best_move,
                   0 if best is None else best.visits, best_winrate, lead(result.score_lead),
                   None if best is None else lead(best.score_lead))

    def as_dict(self) -> dict[str, object]:
        """Plain types with GTP vertices, for ``--json``."""
        data: dict[str, object] = {
            "winrate": self.winrate, "visits": self.visits,
            "best_move": move_to_gtp(self.best_move, NETWORK_SIZE),
            "best_visits": self.best_visits, "best_winrate": self.best_winrate}
        if self.score_lead is not None:
            data.update(score_lead=self.score_lead, best_score_lead=self.best_score_lead)
        return data


@dataclass(frozen=True)
class MoveReview:
    """The model's view of one move: ``number`` counts from 1, ``rank`` 1 is its first choice.

    ``top`` is the model's ``TOP_CANDIDATES`` best moves, (move, probability), best first.
    With a search, ``before`` and ``after`` are the searches of the positions
    the move was played in and led to (None without one).
    """

    number: int
    color: int
    move: int
    probability: float
    rank: int
    top: tuple[tuple[int, float], ...]
    before: PositionSearch | None = None
    after: PositionSearch | None = None

    @property
    def drop(self) -> float | None:
        """What the move cost its player in win rate (below 0: a gain); None without a search."""
        if self.before is None or self.after is None:
            return None
        fall = self.before.winrate - self.after.winrate  # for Black; White's is the opposite
        return fall if self.color == BLACK else -fall

    @property
    def score_drop(self) -> float | None:
        """What the move cost its player in points of score (below 0: a gain); None without
        a search or a score head."""
        if self.before is None or self.after is None:
            return None
        before, after = self.before.score_lead, self.after.score_lead
        if before is None or after is None:
            return None
        fall = before - after  # Black's lead; White's is the opposite
        return fall if self.color == BLACK else -fall

    @property
    def swing(self) -> tuple[float, str] | None:
        """The larger of the move's two losses, in percentage points of win rate (a point of
        score counting ``POINTS_PER_PERCENT``), and which it was: ``"winrate"`` or
        ``"score"``. None without a search."""
        return larger_loss(self.drop, self.score_drop)

    def as_dict(self) -> dict[str, object]:
        """Plain types with GTP vertices, for ``--json``."""
        data: dict[str, object] = {
            "number": self.number, "color": COLOR_LETTERS[self.color],
            "move": move_to_gtp(self.move, NETWORK_SIZE), "probability": self.probability,
            "rank": self.rank,
            "top": [{"move": move_to_gtp(move, NETWORK_SIZE), "probability": probability}
                    for move, probability in self.top]}
        if self.before is not None and self.after is not None:
            data.update(winrate_before=self.before.winrate, winrate_after=self.after.winrate,
                        drop=self.drop, search=self.before.as_dict())
            if self.score_drop is not None:
                data.update(score_lead_before=self.before.score_lead,
                            score_lead_after=self.after.score_lead, score_drop=self.score_drop)
        return data


def larger_loss(drop: float | None, score_drop: float | None) -> tuple[float, str] | None:
    """``(size, which)``: the larger of a win-rate ``drop`` (a fraction) and a
    ``score_drop`` (points), in percentage points of win rate (``POINTS_PER_PERCENT``),
    and ``"winrate"`` or ``"score"``; ties go to the win rate. None when ``drop`` is."""
    if drop is None:
        return None
    if score_drop is not None and score_drop * POINTS_PER_PERCENT > 100 * drop:
        return score_drop * POINTS_PER_PERCENT, "score"
    return 100 * drop, "winrate"


@dataclass(frozen=True)
class Loss:
    """A move that cost its player: ``number`` counts from 1; ``size`` and ``which`` are
    ``larger_loss``'s; ``drop`` the win rate it cost (a fraction), ``score_drop`` the
    points (None without scores)."""

    number: int
    color: int
    move: int
    size: float
    which: str
    drop: float
    score_drop: float | None

    @property
    def why(self) -> str:
        """``Black's win rate -12%`` or ``lost 6.5 points of score``."""
        if self.which == "score" and self.score_drop is not None:
            return f"lost {self.score_drop:.1f} points of score"
        return f"{COLOR_WORDS[self.color]}'s win rate -{100 * self.drop:.0f}%"

    def text(self) -> str:
        """``57 B R3: Black's win rate -12%``."""
        return f"{self.number} {COLOR_LETTERS[self.color]} {_to_vertex(self.move)}: {self.why}"


def biggest_losses(moves: Sequence[tuple[int, int]], winrates: Sequence[float | None],
                   score_leads: Sequence[float | None] = (), *,
                   players: Collection[int] = (BLACK, WHITE),
                   count: int = TURNING_POINTS) -> list[Loss]:
    """The turning points of a game from the win rates already seen along it: the ``count``
    moves of ``players`` whose player lost the most, largest first (ties: the earlier move).

    ``moves`` are the game's ``(color, move)``; ``winrates[i]`` is Black's win rate at the
    position after ``i`` moves and ``score_leads[i]`` Black's lead there (None where not
    known: a move without both sides' win rates is skipped). A loss is measured as
    ``GameReview.turning_points`` measures it (``larger_loss``); only losses of half a
    percentage point (or half a point of score) and more count: less rounds to nothing.
    """
    found = []
    for index, (color, move) in enumerate(moves):
        if color not in players or index + 1 >= len(winrates):
            continue
        before, after = winrates[index], winrates[index + 1]
        if before is None or after is None:
            continue
        sign = 1 if color == BLACK else -1
        score_drop = None
        if index + 1 < len(score_leads):
            lead_before, lead_after = score_leads[index], score_leads[index + 1]
            if lead_before is not None and lead_after is not None:
                score_drop = sign * (lead_before - lead_after)
        swing = larger_loss(sign * (before - after), score_drop)
        if swing is not None and swing[0] >= 0.5:  # what rounds to 0% is no loss to show
            found.append(Loss(index + 1, color, move, swing[0], swing[1],
                              sign * (before - after), score_drop))
    found.sort(key=lambda loss: (-loss.size, loss.number))
    return found[:count]


@dataclass(frozen=True)
class GameReview:
    """A reviewed game: the moves of ``players`` in order, up to ``stopped`` if the record breaks.

    ``stopped`` is None, or why the replay ended early (an illegal move).
    With a search: its ``limits`` and every searched position in game order
    (``positions``); ``turning_count`` is how many turning points to name.
    """

    record: GameRecord
    model: str
    players: frozenset[int]
    moves: tuple[MoveReview, ...]
    stopped: str | None = None
    limits: SearchLimits | None = None
    positions: tuple[PositionSearch, ...] = ()
    turning_count: int = TURNING_POINTS

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

    @property
    def scored(self) -> bool:
        """Did the search give score leads (a score head)?"""
        return any(position.score_lead is not None for position in self.positions)

    def turning_points(self) -> list[MoveReview]:
        """The ``turning_count`` moves whose player lost the most, largest loss first: in win
        rate or in score, whichever moved more (``MoveReview.swing``).

        Only losses above 0 count (a game where every move gained has none);
        ties go to the earlier move. Empty without a search.
        """
        lost = [(swing[0], item) for item in self.moves
                if (swing := item.swing) is not None and swing[0] > 0]
        lost.sort(key=lambda pair: (-pair[0], pair[1].number))
        return [item for _, item in lost[:self.turning_count]]

    def players_text(self) -> str:
        return " and ".join(COLOR_WORDS[color] for color in (BLACK, WHITE)
                            if color in self.players)

    def as_dict(self) -> dict[str, object]:
        """Plain types, for ``--json``: the summary figures, then every reviewed move."""
        data: dict[str, object] = {
            "source": self.record.source, "game": self.record.index, "model": self.model,
            "players": self.players_text(), "moves_in_game": len(self.record.moves),
            "moves_reviewed": len(self.moves), "match_rate": self.match_rate,
            "mean_probability": self.mean_probability,
            "least_likely": [item.as_dict() for item in self.least_likely()],
            "stopped": self.stopped}
        if self.limits is not None:
            data["search"] = {"visits": self.limits.visits, "seconds": self.limits.seconds,
                              "winrate_view": "black", "positions": len(self.positions)}
            data["turning_points"] = [item.as_dict() for item in self.turning_points()]
        data["moves"] = [item.as_dict() for item in self.moves]
        return data


def review_game(policy: MovePolicy, record: GameRecord, *,
                players: Collection[int] = (BLACK, WHITE), model: str = "",
                moves: tuple[int, int | None] | None = None, symmetries: int | None = None,
                search: Search | None = None, limits: SearchLimits | None = None,
                turning_points: int = TURNING_POINTS,
                on_position: Callable[[int, int], None] | None = None) -> GameReview:
    """Replay ``record`` and ask ``policy`` about every move of ``players``.

    ``model`` names the model in the summary. ``moves`` = ``(first, last)``
    reviews only moves ``first`` to ``last`` (1-based, both included; ``last``
    None or past the end: to the end). The probabilities are
    ``policy.move_probabilities``, or ``policy.analyze`` with ``symmetries`` (1
    or 8) when given. Costs one network evaluation per reviewed move.

    With ``search`` and ``limits`` every position from the one before the
    first reviewed move to the one after the last is searched in game order
    (the module docstring says what is reported), and ``on_position(done,
    total)`` is called after each search. Raises ``ValueError`` for a board
    other than 19x19 (the network's size), a record without moves, a move range
    outside the game, and a search without limits.
    """
    if record.size != NETWORK_SIZE:
        raise ValueError(f"the game is {record.size}x{record.size}; the model plays 19x19 only")
    if not record.moves:
        raise ValueError("the game has no moves to review")
    if search is not None and (limits is None or not limits.bounded):
        raise ValueError("a search review needs limits (visits or seconds)")
    first, last = moves or (1, None)
    count = len(record.moves)
    if first < 1 or (last is not None and last < first):
        raise ValueError(f"moves {first}-{last}: give 1 <= A <= B")
    if first > count:
        raise ValueError(f"moves {first}-{last if last is not None else ''}: "
                         f"the game has {count} moves")
    last = count if last is None else min(last, count)
    total_positions = last - first + 2
    searched: dict[int, PositionSearch] = {}

    def look(state: GameState, played: int) -> None:
        if search is None or limits is None:
            return
        result = search.run(state, limits)
        searched[played] = PositionSearch.from_result(played, state.to_play, result)
        if on_position is not None:
            on_position(len(searched), total_positions)

    found: list[tuple[int, int, int, float, int, tuple[tuple[int, float], ...]]] = []
    stopped = None
    state = None
    for number, (state, color, move) in enumerate(record.replay(), 1):
        if number > last:
            break
        if number >= first:
            look(state, number - 1)  # also the position after the move before an illegal one
        # Checked here because replay would raise only when asked for the next position.
        reason = state.illegal_reason(move, color)
        if reason is not None:
            vertex = move_to_gtp(move, record.size)
            stopped = f"move {number} ({COLOR_LETTERS[color]} {vertex}) is illegal ({reason})"
            break
        if number < first or color not in players:
            continue
        probabilities = (policy.move_probabilities(state) if symmetries is None
                         else policy.analyze(state, symmetries=symmetries).probabilities)
        probability = float(probabilities[move_to_index(move)])
        rank = 1 + int((probabilities > probability).sum())
        found.append((number, color, move, probability, rank,
                      tuple(top_moves(probabilities, TOP_CANDIDATES))))
    if stopped is None and state is not None:
        # The replay has now played move ``last`` (the loop ran out) or stands before
        # move ``last + 1`` (the break): either way the position after move ``last``.
        look(state, last)
    reviews = tuple(MoveReview(*row, before=searched.get(row[0] - 1), after=searched.get(row[0]))
                    for row in found)
    return GameReview(record, model, frozenset(players), reviews, stopped,
                      limits if search is not None else None,
                      tuple(searched[played] for played in sorted(searched)), turning_points)


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


def winrate_change(color: int, drop: float) -> str:
    """What a move did to its player's win rate, the side and the unit named:
    ``White's win rate -5.5%`` (``drop`` 0.055 for White). "Points" would read as the score."""
    return f"{COLOR_WORDS[color]}'s win rate {-100 * drop:+.1f}%"


def limits_text(limits: SearchLimits) -> str:
    """``32 visits``, ``2 s`` or ``32 visits or 2 s`` a position."""
    parts = []
    if limits.visits is not None:
        parts.append(f"{limits.visits} visits")
    if limits.seconds is not None:
        parts.append(f"{limits.seconds:g} s")
    return " or ".join(parts)


def lead(points_: float) -> str:
    """Black's lead as a signed number of points: ``+6.5``, ``-0.5``."""
    return f"{points_:+.1f}"


def _turn(item: MoveReview) -> str:
    """``58 W R3: Black's win rate 47.7% -> 70.8%, White's win rate -23.1%; the search
    preferred Q5``, or by score: ``57 B R3: Black lost 6.5 points of score (Black's lead
    +3.0 -> -3.5); ...``."""
    assert item.before is not None and item.after is not None and item.drop is not None
    best = item.before.best_move
    choice = ("the search's choice too" if best == item.move
              else f"the search preferred {_to_vertex(best)}")
    head = f"{item.number} {COLOR_LETTERS[item.color]} {_to_vertex(item.move)}: "
    swing, score_drop = item.swing, item.score_drop
    if swing is not None and swing[1] == "score" and score_drop is not None:
        assert item.before.score_lead is not None and item.after.score_lead is not None
        return (f"{head}{COLOR_WORDS[item.color]} lost {score_drop:.1f} points of score "
                f"(Black's lead {lead(item.before.score_lead)} -> "
                f"{lead(item.after.score_lead)}); {choice}")
    return (f"{head}Black's win rate {percent(item.before.winrate)} -> "
            f"{percent(item.after.winrate)}, {winrate_change(item.color, item.drop)}; "
            f"{choice}")


def summary_lines(review: GameReview) -> list[str]:
    """The summary as lines of text: the root comment of the SGF, the end of the text report."""
    count = len(review.moves)
    lines = [f"goai review, model {review.model or '?'}: {count} moves of "
             f"{review.players_text()} reviewed",
             f"Match rate (the model's first choice was played): {percent(review.match_rate)} "
             f"({review.matched} of {count})",
             f"Mean probability of the move played: {percent(review.mean_probability)}",
             "Least likely moves: " + "; ".join(_short(item) for item in review.least_likely())]
    if review.limits is not None:
        lines.append(f"Search: {limits_text(review.limits)} a position, "
                     f"{len(review.positions)} positions; every win rate is Black's")
        turns = review.turning_points()
        if not turns:
            lines.append("Turning points: none (no move lost win rate"
                         f"{' or score' if review.scored else ''})")
        elif review.scored:
            lines.append("Turning points (where the player's win rate or score fell most; a "
                         f"point of score weighs as {POINTS_PER_PERCENT:g} point of win rate):")
        else:
            lines.append("Turning points (where the player's win rate fell most):")
        lines += [f"  {rank}. {_turn(item)}" for rank, item in enumerate(turns, 1)]
    if review.stopped:
        lines.append(f"Review stopped: {review.stopped}")
    return lines


def search_lines(item: MoveReview, turning: int | None = None) -> list[str]:
    """The search's lines of a move's comment (none without a search).

    ``turning`` is the move's rank among the turning points, if it is one.
    """
    before, after, drop = item.before, item.after, item.drop
    if before is None or after is None or drop is None:
        return []
    lines = [f"Black's win rate: {percent(before.winrate)} before, {percent(after.winrate)} "
             f"after: {winrate_change(item.color, drop)}"]
    score_drop = item.score_drop
    if score_drop is not None:
        assert before.score_lead is not None and after.score_lead is not None
        lines.append(f"Black's lead: {lead(before.score_lead)} before, "
                     f"{lead(after.score_lead)} after: {COLOR_WORDS[item.color]} "
                     f"{'lost' if score_drop > 0 else 'gained'} {abs(score_drop):.1f} points "
                     "of score")
    if before.best_move == item.move:
        lines.append(f"The search's choice too ({before.best_visits} of {before.visits} visits)")
    else:
        after_best = ("" if before.best_winrate is None
                      else f", Black's win rate after it {percent(before.best_winrate)}")
        if before.best_score_lead is not None:
            after_best += f", Black's lead {lead(before.best_score_lead)}"
        lines.append(f"The search preferred {_to_vertex(before.best_move)} "
                     f"({before.best_visits} of {before.visits} visits{after_best})")
    if turning is not None:
        lines.append(f"Turning point {turning} of the game")
    return lines


def move_comment(item: MoveReview, turning: int | None = None) -> str:
    """The comment on a move's node: its probability and rank, the model's top 3, the search."""
    verdict = "the model's first choice" if item.rank == 1 else f"rank {item.rank} of {NUM_MOVES}"
    top = ", ".join(f"{letter} {_to_vertex(move)} {percent(probability)}"
                    for letter, (move, probability) in zip(LABELS, item.top, strict=True))
    return "\n".join([f"Move {item.number}, {COLOR_WORDS[item.color]} {_to_vertex(item.move)}: "
                      f"{percent(item.probability)}, {verdict}",
                      f"The model's top {len(item.top)}: {top}",
                      *search_lines(item, turning)])


_WIDE = 74  # the text report's columns before the search's


def format_review(review: GameReview) -> str:
    """The text report: one line per reviewed move, then the summary.

    With a search each line adds Black's win rate after the move and how the move
    changed it (in percent, as the column beside it: ``+4.7%`` when Black's rate rose,
    whoever moved), with a score head Black's lead after it in points, and the search's
    best move with its visits of the root's; turning points say so (and ``(score)`` when
    the score moved more), and the summary gives each one's cost to its player.
    """
    record = review.record
    searched = review.limits is not None
    scored = review.scored
    header = f"{'move':>5}     played  probability  rank  the model's top {TOP_CANDIDATES}"
    if searched:
        score_column = f" {'lead':>6}" if scored else ""
        header = (f"{header:<{_WIDE}} {'Black win rate':>14}{score_column} {'change':>7}  "
                  "search's best (visits)")
    lines = [f"{record.source} game {record.index}: {record.black_name or 'Black'} (B) vs "
             f"{record.white_name or 'White'} (W), komi {record.komi:g}, handicap "
             f"{record.handicap}, result {record.result or '?'}", header]
    turning = {item.number for item in review.turning_points()}
    for item in review.moves:
        top = "  ".join(f"{_to_vertex(move):<4} {percent(probability):>6}"
                        for move, probability in item.top)
        line = (f"{item.number:>5} {COLOR_LETTERS[item.color]}   {_to_vertex(item.move):<5} "
                f"{percent(item.probability):>12} {item.rank:>5}  {top}")
        if item.before is not None and item.after is not None and item.drop is not None:
            score_column = ""
            if scored:
                after_lead = item.after.score_lead
                score_column = " " + (f"{after_lead:>+6.1f}" if after_lead is not None
                                      else f"{'-':>6}")
            mark = ""
            if item.number in turning:
                by_score = item.swing is not None and item.swing[1] == "score"
                mark = "  turning point (score)" if by_score else "  turning point"
            change = 100 * (item.after.winrate - item.before.winrate)  # Black's, as beside it
            line = (f"{line:<{_WIDE}} {percent(item.after.winrate):>14}{score_column} "
                    f"{change:>+6.1f}%  {_to_vertex(item.before.best_move):<4} "
                    f"{item.before.best_visits:>5}/{item.before.visits}{mark}")
        lines.append(line)
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
    extra: dict[int, dict[str, list[str]]] = {}
    comments[-1] = summary_lines(review)
    turning = {item.number: rank for rank, item in enumerate(review.turning_points(), 1)}
    for position in review.positions:
        # Sabaki's own format: Black's win rate in percent, rounded to 2 decimals.
        extra.setdefault(position.played - 1, {})["SBKV"] = [
            f"{round(100 * position.winrate, 2):g}"]
    for number in turning:
        extra.setdefault(number - 1, {}).update(BM=["1"], HO=["1"])
    for item in review.moves:
        node = item.number - 1
        comments.setdefault(node, []).insert(0, move_comment(item, turning.get(item.number)))
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
    for node, more in extra.items():
        properties.setdefault(node, {}).update(more)
    root = properties.pop(-1)
    return write_sgf(record, node_properties=properties, root_properties=root)


# ----------------------------------------------------------------- plot


def plot_review(review: GameReview, path: str | Path) -> None:
    """Write the review as a PNG (``goai.display.plot.review_chart``): the played move's probability
    by move number, Black's and White's bars told apart, and with a search Black's win
    rate along the game above it, the turning points shaded. Raises ``plot.PlotError``
    and ``OSError``."""
    record = review.record
    black = drawable(record.black_name or "Black", "Black")
    white = drawable(record.white_name or "White", "White")
    title = (f"goai review: {black} (B) vs {white} (W), {record.result or 'result unknown'}; "
             f"model {review.model or '?'}, match rate {percent(review.match_rate)}")
    if review.limits is not None:
        title += f"\nwin rates by a search of {limits_text(review.limits)} a position"
    review_chart(path, title=title,
                 moves=[(item.number, item.color, item.probability) for item in review.moves],
                 winrates=[(position.played, position.winrate)
                           for position in review.positions],
                 turning=[item.number for item in review.turning_points()])
