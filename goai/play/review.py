"""``goai review``: what the model thinks of every move of a game, as SGF comments or JSON.

For each move of the main line (all of them, or only Black's or White's) the
review records the model's probability of the move played, its rank among all
362 moves (1: the model's first choice; a tie counts in the move's favour) and
the model's top 3 moves. Probabilities are the playing view,
``Policy.move_probabilities``: illegal moves get 0 and the legal ones sum to 1
(``goai evaluate`` scores the raw network instead; the two differ little).
Handicap stones and passes are replayed like any record; a pass is ranked like
any move. A record whose move is illegal is reviewed up to that move.
``run_review(policy, record, ReviewConfig(...))`` is the command's work (the
config's fields are its options); ``review_game`` is the review itself.

How a review is shown (the table, the annotated SGF, the plot) is ``goai.play.report``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

import numpy as np

from goai.play.player import MovePolicy
from goai.records.record import GameRecord
from goai.rules.board import BLACK, COLOR_LETTERS, COLOR_WORDS, WHITE
from goai.rules.coords import (
    NETWORK_SIZE,
    index_to_move,
    move_to_gtp,
    move_to_index,
)
from goai.rules.game import GameState
from goai.search.evaluator import PolicyEvaluator
from goai.search.limits import SearchLimits
from goai.search.result import SearchResult
from goai.search.tree import Search

TOP_CANDIDATES = 3
LEAST_LIKELY = 5
TURNING_POINTS = 5
# How a score drop compares with a win-rate drop for the turning points: a point of score
# weighs as one percentage point of win rate. Mid-game a point is worth a few percent, near
# the end of a decided game almost none; one to one is a middle that keeps both in view.
POINTS_PER_PERCENT = 1.0
LABELS = "ABCDEFGHIJ"[:TOP_CANDIDATES]  # one letter per candidate, by rank


class _Numbered(Protocol):
    number: int  # the move's number in the game, from 1


Move = TypeVar("Move", bound=_Numbered)

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


def turning_points(losses: Iterable[tuple[Move, float | None, float | None]],
                   count: int = TURNING_POINTS) -> list[tuple[Move, tuple[float, str]]]:
    """The turning points of a game: the ``count`` moves whose player lost the most.

    ``losses`` gives each move with what it cost its player, ``(move, drop,
    score_drop)``: in win rate (a fraction) and in points of score (None when
    unknown), both from the same source (the review's searches, or the
    browser's value head). A move's loss is ``larger_loss`` of the two; only
    losses above 0 count (a game where every move gained has none). Returns
    ``(move, (size, which))`` pairs, largest loss first, ties to the earlier move. A
    move is anything numbered from 1 in the game (``MoveReview``, ``Loss``).
    """
    lost = [(swing, item) for item, drop, score_drop in losses
            if (swing := larger_loss(drop, score_drop)) is not None and swing[0] > 0]
    lost.sort(key=lambda pair: (-pair[0][0], pair[1].number))
    return [(item, swing) for swing, item in lost[:count]]


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
        vertex = move_to_gtp(self.move, NETWORK_SIZE)
        return f"{self.number} {COLOR_LETTERS[self.color]} {vertex}: {self.why}"


def biggest_losses(moves: Sequence[tuple[int, int]], winrates: Sequence[float | None],
                   score_leads: Sequence[float | None] = (), *,
                   players: Collection[int] = (BLACK, WHITE),
                   count: int = TURNING_POINTS) -> list[Loss]:
    """The turning points of a game from the win rates already seen along it: the ``count``
    moves of ``players`` whose player lost the most, largest first (ties: the earlier move).

    ``moves`` are the game's ``(color, move)``; ``winrates[i]`` is Black's win rate at the
    position after ``i`` moves and ``score_leads[i]`` Black's lead there (None where not
    known: a move without both sides' win rates is skipped). The moves are chosen by
    ``turning_points``, the review's one rule; only losses of half a percentage point
    (or half a point of score) and more count: less rounds to nothing.
    """
    steps = []
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
        drop = sign * (before - after)
        steps.append((Loss(index + 1, color, move, 0.0, "", drop, score_drop), drop, score_drop))
    return [replace(loss, size=size, which=which)
            for loss, (size, which) in turning_points(steps, count)
            if size >= 0.5]  # what rounds to 0% is no loss to show


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
        """The game's ``turning_points`` by the search's win rates and scores (empty without
        a search), largest loss first."""
        found = turning_points(((item, item.drop, item.score_drop) for item in self.moves),
                               self.turning_count)
        return [item for item, _ in found]

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


def _setting(default: object, help: str, **metadata: object) -> Any:
    """A ``ReviewConfig`` field: its default and its help (``goai review --help``)."""
    return field(default=default, metadata={"help": help, **metadata})


@dataclass(frozen=True)
class ReviewConfig:
    """How ``goai review`` reviews a game: whose moves, which, and with what search.

    ``player`` is ``black``, ``white`` or ``both``; ``moves`` ``(first, last)``
    as ``review_game`` takes it (None: every move). ``visits`` or ``time``
    (seconds a position) make it a search review (``searching``), its
    symmetries drawn from ``seed``; ``symmetries`` 8 averages every evaluation
    over the 8 board symmetries. Raises ``ValueError`` for a limit below 1 or
    not above 0 seconds, a negative ``turning_points``, or another player or
    symmetry count. The messages name the options.
    """

    player: str = _setting("both", "whose moves to review", choices=tuple(PLAYERS))
    moves: tuple[int, int | None] | None = field(default=None,
                                                 metadata={"command_line": False})
    symmetries: int = _setting(1, "average the network over 1 or all 8 board symmetries (with a "
                                  "search: at every evaluation, 8x the work)", choices=(1, 8))
    visits: int | None = _setting(
        None, "search every position with N visits (needs a value head; 1: the value head "
              "alone). Default: no search, the policy alone", metavar="N")
    time: float | None = _setting(
        None, "search every position for SECONDS (with --visits: whichever comes first; not "
              "reproducible)", metavar="SECONDS")
    turning_points: int = _setting(TURNING_POINTS, "how many turning points to name",
                                   metavar="N")
    seed: int = _setting(0, "seed of the search's random board symmetries: a review by visits "
                            "gives the same figures every run")

    def __post_init__(self) -> None:
        if self.visits is not None and self.visits < 1:
            raise ValueError(f"--visits must be at least 1, not {self.visits}")
        if self.time is not None and not self.time > 0:
            raise ValueError(f"--time must be above 0, not {self.time:g}")
        if self.turning_points < 0:
            raise ValueError(f"--turning-points must be 0 or more, not {self.turning_points}")
        if self.player not in PLAYERS:
            raise ValueError(f"--player {self.player}: give {', '.join(PLAYERS)}")
        if self.symmetries not in (1, 8):
            raise ValueError(f"--symmetries must be 1 or 8, not {self.symmetries}")

    @property
    def searching(self) -> bool:
        """Is every position searched (``visits`` or ``time`` given)?"""
        return self.visits is not None or self.time is not None


def run_review(policy: MovePolicy, record: GameRecord, config: ReviewConfig, *,
               value_policy: MovePolicy | None = None, model: str = "",
               on_position: Callable[[int, int], None] | None = None) -> GameReview:
    """``review_game`` of ``record`` as ``config`` says: the policy alone, or with a search
    of every position (a ``PolicyEvaluator`` over ``policy``, its values from
    ``value_policy`` when given; ``on_position`` as ``review_game`` calls it).

    ``policy`` must be a ``goai.nn.policy.Policy`` made with one symmetry (the
    symmetries are ``config``'s, per call and in the evaluator, which would
    otherwise average twice); for a search, the network giving the values needs
    a value head (``search.check_value_network``, to be checked before: raises
    ``ValueError`` here). Raises ``ValueError`` as ``review_game`` does.
    """
    search = limits = None
    if config.searching:
        evaluator = PolicyEvaluator(
            policy, all_symmetries=config.symmetries == 8, seed=config.seed,  # type: ignore[arg-type]
            value_policy=value_policy)  # type: ignore[arg-type]
        search = Search(evaluator)
        limits = SearchLimits(visits=config.visits, seconds=config.time)
        # The tree's nodes make the garbage collector walk the model's objects again and
        # again (goai.search.tree's docstring): keep them out of its way for the review.
        gc.freeze()
    try:
        return review_game(policy, record, players=PLAYERS[config.player], model=model,
                           moves=config.moves, symmetries=config.symmetries, search=search,
                           limits=limits, turning_points=config.turning_points,
                           on_position=on_position)
    finally:
        if search is not None:
            gc.unfreeze()


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
