"""Time management for the GTP engine: a budget per move from the game's clock.

``time_settings``/``kgs-time_settings``/``time_left`` give a budget per move
(``Clock.budget``): the time left divided by the stones left in an overtime
period, else by an estimate of the moves left (a third of the empty points,
at least 20), plus one overtime stone's share of the period; in sudden death
``RESERVE_MOVES`` lag buffers are first kept back for a game longer than
expected (``tests/test_time.py`` plays whole games against a referee's clock
under each time system). The engine keeps its own clock (``Clock.spend``)
for controllers that never send ``time_left``. A move may use
the budget less ``lag_buffer`` and less what it has already spent, loading
torch and the model included on the first move (``time_settings`` loads them
at once when the game has a clock, so that they rarely count); a search gets the rest as
its time limit (the search starts a batch only if it still fits, so a move
overruns its limit by at most the search's misjudgement of one batch, which
the lag buffer covers). A raw policy move costs one network evaluation per
symmetry; when the configured 8 symmetries would not fit the budget, the
move is made with 1. With ``--time`` as well, the smaller limit wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_MOVES_LEFT = 20
# Sudden death: time kept back for the moves a long game may still need, each
# at the cost of a network evaluation at least (the lag buffer stands for it).
RESERVE_MOVES = 200


@dataclass
class Clock:
    """Time settings and what is left per colour; ``budget`` and ``move_seconds`` per move.

    ``left[color]`` is ``(seconds, stones)`` as GTP's ``time_left`` says it:
    stones 0 in main time, else the stones still to play in the current
    overtime period. A controller's ``time_left`` sets it; without one the
    engine keeps it itself with ``spend`` after each of its moves, so that a
    controller that never sends ``time_left`` cannot make it lose on time.
    """

    main_time: float = 0.0
    byo_yomi_time: float = 0.0
    byo_yomi_stones: int = 0
    limited: bool = False
    left: dict[int, tuple[float, int]] = field(default_factory=dict)

    def set(self, main_time: float, byo_yomi_time: float, byo_yomi_stones: int) -> None:
        """GTP ``time_settings``: byo-yomi time with 0 stones means no limit at all."""
        self.main_time, self.byo_yomi_time, self.byo_yomi_stones = (
            main_time, byo_yomi_time, byo_yomi_stones)
        self.limited = main_time > 0 or (byo_yomi_time > 0 and byo_yomi_stones > 0)
        self.left.clear()

    @property
    def _overtime(self) -> bool:
        return self.byo_yomi_time > 0 and self.byo_yomi_stones > 0

    def _left(self, color: int) -> tuple[float, int]:
        default = ((self.main_time, 0) if self.main_time > 0
                   else (self.byo_yomi_time, self.byo_yomi_stones))
        seconds, stones = self.left.get(color, default)
        if seconds <= 0 and stones == 0 and self._overtime:
            seconds, stones = self.byo_yomi_time, self.byo_yomi_stones  # "0 0": main time over
        return seconds, stones

    def budget(self, color: int, empty_points: int, reserve: float = 0.0) -> float | None:
        """Seconds this move may take (before the lag buffer), or None without a limit.

        In an overtime period: the period's time left over its stones left. In
        main time: the time left over the moves expected (a third of the empty
        points, at least ``MIN_MOVES_LEFT``), plus one stone's share of an
        overtime period, which a move that runs past the main time draws on.
        In sudden death (no overtime) ``reserve`` seconds are kept back first:
        the estimate of the moves left can be wrong, and every move, however
        late, costs a network evaluation.
        """
        if not self.limited:
            return None
        seconds, stones = self._left(color)
        if stones > 0:
            return seconds / stones
        if not self._overtime:
            seconds = max(0.0, seconds - reserve)
        budget = seconds / max(MIN_MOVES_LEFT, empty_points // 3)
        if self._overtime:
            budget += self.byo_yomi_time / self.byo_yomi_stones
        return budget

    def move_seconds(self, color: int, empty_points: int, lag_buffer: float,
                     spent: float) -> float | None:
        """What a search may still use of this move's budget, having ``spent`` seconds
        already (loading the model on the first move); None without a limit. In
        sudden death ``RESERVE_MOVES`` lag buffers are kept back."""
        budget = self.budget(color, empty_points, RESERVE_MOVES * lag_buffer)
        if budget is None:
            return None
        return max(0.0, budget - lag_buffer - spent)

    def spend(self, color: int, seconds: float) -> None:
        """Count a move of ``color`` that took ``seconds`` (as the controller's clock would).

        Running out of main time starts the first overtime period with the
        overrun taken from it; the move that crossed does not count as one of
        the period's stones (the cautious reading: fewer stones would mean a
        larger budget). A period whose stones are all played starts afresh.
        """
        if not self.limited:
            return
        left, stones = self._left(color)
        left -= seconds
        if stones == 0:
            if left <= 0 and self._overtime:
                left, stones = self.byo_yomi_time + left, self.byo_yomi_stones
        else:
            stones -= 1
            if stones == 0:
                left, stones = self.byo_yomi_time, self.byo_yomi_stones
        self.left[color] = (left, stones)
