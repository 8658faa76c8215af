"""``goai review``'s reports: a ``GameReview`` as a table of text, as an annotated SGF
for Sabaki, Lizzie and GoGui, and as a plot.

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
points). The *turning points* (``turning_points``, the one definition, which
the browser's review applies to the value head's win rates) are the
``TURNING_POINTS`` reviewed moves whose
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

from pathlib import Path

from goai.display.plot import drawable, review_chart
from goai.play.review import (
    LABELS,
    POINTS_PER_PERCENT,
    TOP_CANDIDATES,
    GameReview,
    MoveReview,
)
from goai.records.sgf import write_sgf
from goai.rules.board import COLOR_LETTERS, COLOR_WORDS
from goai.rules.coords import (
    NETWORK_SIZE,
    NUM_MOVES,
    PASS,
    move_to_gtp,
    move_to_sgf,
)
from goai.search.limits import SearchLimits

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
