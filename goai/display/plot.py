"""Every picture goai draws, on matplotlib: boards, heat maps, and charts.

One plotting path for all of them, so that they read alike: each figure has a
title, axes labelled with their units, a legend (or a colour bar saying what
the colours mean), and boards carry the coordinates Go GUIs show (A-T without
I along the columns, 1-19 up the rows, 19 at the top) on all four sides.

=========================  =========================================  =======================
function                   what                                       used by
=========================  =========================================  =======================
``board_heatmap``          a position with the model's probabilities  ``goai predict --heatmap``
``board_frame``            a position as an RGB array                 the env's ``rgb_array``
``accuracy_by_move``       top-1 by move number                       ``goai evaluate --plot``
``review_chart``           Black's win rate and each move's           ``goai review --plot``
                           probability along a game
``learning_curve``         top-1 and loss against positions seen      ``goai train --plot``
=========================  =========================================  =======================

Functions take plain data (boards, numbers, lists), so this module sits in the
rules-and-records layer and imports no torch. matplotlib is imported inside
them, with its non-interactive Agg backend (no display needed): ``goai --help``
and ``goai gtp`` start without paying for it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from goai.display.render import is_star_point
from goai.rules.board import BLACK, WHITE, Board
from goai.rules.coords import GTP_COLUMNS, PASS, to_row_col

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WOOD = "#dcb35c"
BLACK_COLOR = "#1a1a1a"
WHITE_COLOR = "#f4f4f4"
WHITE_MOVE_COLOR = "#4682c8"  # White's bars: white on white would not show
TURNING_COLOR = "#f5a0a0"
DPI = 100


class PlotError(Exception):
    """A figure that cannot be drawn or written; the message says why, in one line."""


def check_plot(path: str | Path, *, made_by_then: str | Path | None = None) -> None:
    """Before any work: can a figure be written to ``path``? ``PlotError`` if not (no
    folder there, or matplotlib missing from a broken installation). A folder that the
    work itself makes (``made_by_then``: goai train's RUN_DIR) need not exist yet."""
    folder = Path(path).parent
    made = made_by_then is not None and folder.resolve() == Path(made_by_then).resolve()
    if not made and not folder.is_dir():
        raise PlotError(f"cannot write {path}: no folder {folder}")
    _pyplot()


# Fonts with Chinese, Japanese and Korean glyphs, tried after matplotlib's own DejaVu Sans
# for the players' names of Tom, Tygem and KGS records; those present on the machine are
# used (matplotlib falls back glyph by glyph). Without any, names are replaced by
# ``drawable``'s fallback rather than drawn as empty boxes.
_CJK_FONTS = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Source Han Sans", "Droid Sans Fallback",
              "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "AR PL UMing CN", "Microsoft YaHei",
              "SimHei", "Hiragino Sans", "Apple SD Gothic Neo", "Malgun Gothic")
_fonts: list = []  # FT2Font objects of the families in use, once matplotlib is set up


def _pyplot():  # noqa: ANN202 - matplotlib.pyplot, imported here on purpose
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: works without a display
        import matplotlib.pyplot as plt
        from matplotlib import font_manager
        from matplotlib.ft2font import FT2Font
    except ImportError:
        raise PlotError("plots need matplotlib, a dependency of goai: pip install -e . "
                        "(or pip install matplotlib)") from None
    if not _fonts:
        # A CJK fallback font without a bold face is used at normal weight, as intended:
        # matplotlib would say so on stderr for every bold label.
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        present = {font.name for font in font_manager.fontManager.ttflist}
        families = ["DejaVu Sans", *(name for name in _CJK_FONTS if name in present)]
        matplotlib.rcParams["font.family"] = families
        _fonts.extend(FT2Font(font_manager.findfont(font_manager.FontProperties(family=name)))
                      for name in families)
    return plt


def drawable(text: str, fallback: str) -> str:
    """``text`` if the figures' fonts have every one of its characters, else ``fallback``
    (a player's name in Chinese on a machine without a CJK font becomes "Black")."""
    _pyplot()
    for char in text:
        if not char.isspace() and not any(font.get_char_index(ord(char)) for font in _fonts):
            return fallback
    return text


def _save(figure: Figure, path: str | Path) -> None:
    """Write ``figure`` as PNG and free it. ``OSError`` if the file cannot be written."""
    plt = _pyplot()
    try:
        figure.savefig(path, dpi=DPI)
    finally:
        plt.close(figure)


# ----------------------------------------------------------------- boards


def _draw_board(axes: Axes, board: Board, last_move: int | None) -> None:
    """Grid, hoshi, stones and the last move on ``axes``, GUI coordinates on all sides.

    Data coordinates: column c at x = c, row r (0 at the top) at y = size - 1 - r,
    so the GUI's row number is y + 1.
    """
    from matplotlib.patches import Circle

    size = board.size
    axes.set_facecolor(WOOD)
    axes.set_xlim(-0.7, size - 0.3)
    axes.set_ylim(-0.7, size - 0.3)
    axes.set_aspect("equal")
    for line in range(size):
        axes.plot([0, size - 1], [line, line], color="black", linewidth=0.6, zorder=1)
        axes.plot([line, line], [0, size - 1], color="black", linewidth=0.6, zorder=1)
    stars = [(col, size - 1 - row) for row in range(size) for col in range(size)
             if is_star_point(size, row, col)]
    if stars:
        axes.scatter(*zip(*stars, strict=True), s=12, color="black", zorder=2)
    for point, stone in enumerate(board.stones):
        if stone not in (BLACK, WHITE):
            continue
        row, col = to_row_col(point, size)
        axes.add_patch(Circle((col, size - 1 - row), 0.46, zorder=4, linewidth=0.8,
                              facecolor=BLACK_COLOR if stone == BLACK else WHITE_COLOR,
                              edgecolor="black"))
        if last_move is not None and last_move != PASS and point == last_move:
            axes.add_patch(Circle((col, size - 1 - row), 0.16, zorder=5, fill=False,
                                  linewidth=1.6,
                                  edgecolor=WHITE_COLOR if stone == BLACK else BLACK_COLOR))
    axes.set_xticks(range(size), list(GTP_COLUMNS[:size]))
    axes.set_yticks(range(size), [str(number) for number in range(1, size + 1)])
    axes.tick_params(length=0, labeltop=True, labelright=True, labelsize=8)
    for spine in axes.spines.values():
        spine.set_visible(False)


def _legend_handles(last_move: bool) -> list:
    from matplotlib.lines import Line2D

    def disc(label: str, face: str, edge: str = "black", size: float = 9) -> Line2D:
        return Line2D([], [], marker="o", linestyle="", markersize=size, label=label,
                      markerfacecolor=face, markeredgecolor=edge)

    handles = [disc("Black stone", BLACK_COLOR), disc("White stone", WHITE_COLOR)]
    if last_move:
        handles.append(disc("last move", "none", "#777777", 5))
    return handles


def board_heatmap(board: Board, probabilities: np.ndarray, path: str | Path, *,
                  title: str, last_move: int | None = None, labelled: int = 5) -> None:
    """A PNG of the position with the model's probability of each point as a heat map.

    ``probabilities``: (size * size,) in [0, 1], one per point (pass left out by
    the caller). The ``labelled`` most probable points are written in percent.
    Raises ``PlotError`` without matplotlib and ``OSError`` if ``path`` cannot be
    written.
    """
    plt = _pyplot()
    size = board.size
    figure, axes = plt.subplots(figsize=(7.6, 6.6))
    _draw_board(axes, board, last_move)
    grid = np.asarray(probabilities, dtype=float).reshape(size, size)[::-1] * 100
    peak = max(float(grid.max()), 1e-9)
    image = axes.imshow(np.ma.masked_less(grid, peak / 200), cmap="YlOrRd", vmin=0, vmax=peak,
                        origin="lower", extent=(-0.5, size - 0.5, -0.5, size - 0.5),
                        alpha=0.85, zorder=3, interpolation="nearest")
    flat = np.asarray(probabilities, dtype=float)
    for point in np.argsort(-flat)[:labelled]:
        if flat[point] <= 0:
            continue
        row, col = to_row_col(int(point), size)
        dark = 100 * flat[point] > 0.6 * peak  # on the darkest reds, white reads better
        axes.text(col, size - 1 - row, f"{100 * flat[point]:.0f}", ha="center", va="center",
                  fontsize=7, fontweight="bold", zorder=6, color="white" if dark else "black")
    colorbar = figure.colorbar(image, ax=axes, fraction=0.04, pad=0.08)
    colorbar.set_label("the model's probability of the move (%)")
    axes.set_xlabel("column (GTP letter, as GUIs show it)")
    axes.set_ylabel("row (GTP number, 19 at the top)")
    axes.set_title(title, fontsize=10)
    handles = _legend_handles(last_move not in (None, PASS))
    from matplotlib.lines import Line2D

    handles.append(Line2D([], [], marker="$47$", linestyle="", color="black", markersize=10,
                          label=f"the {labelled} most likely moves, in %"))
    axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2,
                fontsize=8, frameon=False)
    figure.tight_layout()
    _save(figure, path)


def board_frame(board: Board, *, last_move: int | None = None, caption: str = "",
                pixels_per_point: int = 24) -> np.ndarray:
    """The position as ``uint8`` (H, W, 3), H = W = ``pixels_per_point * size``: a video
    frame for the gymnasium environment, drawn as ``board_heatmap`` draws the board
    (coordinates included), with ``caption`` as its title. No legend: a frame of a
    video, not a figure to read alone."""
    plt = _pyplot()
    inches = pixels_per_point * board.size / DPI
    figure = plt.figure(figsize=(inches, inches), dpi=DPI)
    # Room for the coordinates on every side, and the caption above the top ones.
    axes = figure.add_axes((0.08, 0.06, 0.84, 0.78 if caption else 0.86))
    _draw_board(axes, board, last_move)
    axes.tick_params(labelsize=max(4, pixels_per_point // 4))
    if caption:
        axes.set_title(caption, fontsize=max(5, pixels_per_point // 3), pad=3)
    figure.canvas.draw()
    frame = np.asarray(figure.canvas.buffer_rgba())[:, :, :3].copy()
    plt.close(figure)
    return frame


# ----------------------------------------------------------------- charts


def accuracy_by_move(by_move: Mapping[int, float], path: str | Path, *, overall: float,
                     positions: int, title: str, bucket: int = 10) -> None:
    """A PNG of top-1 accuracy (``by_move``: move number -> share of positions where the
    expert's move was the model's first choice) in buckets of ``bucket`` moves, with the
    overall figure as a line. Raises ``PlotError``/``OSError`` as ``board_heatmap``."""
    plt = _pyplot()
    buckets: dict[int, list[float]] = {}
    for number, top1 in by_move.items():
        buckets.setdefault((int(number) - 1) // bucket, []).append(float(top1))
    xs = [b * bucket + bucket / 2 for b in sorted(buckets)]
    ys = [100 * float(np.mean(buckets[b])) for b in sorted(buckets)]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    axes.plot(xs, ys, marker="o", markersize=3,
              label=f"top-1, mean over moves {1}-{bucket}, {bucket + 1}-{2 * bucket}, ...")
    axes.axhline(100 * overall, color="gray", linestyle="--",
                 label=f"all {positions:,} positions: {100 * overall:.1f}%")
    axes.set_xlabel("move number")
    axes.set_ylabel("top-1 accuracy (% of positions)")
    axes.set_ylim(0, 100)
    axes.set_xlim(left=0)
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    _save(figure, path)


def review_chart(path: str | Path, *, title: str, moves: Sequence[tuple[int, int, float]],
                 winrates: Sequence[tuple[int, float]] = (), turning: Sequence[int] = (),
                 winrate_label: str = "Black's win rate") -> None:
    """A PNG of a reviewed game along its move numbers.

    ``moves``: (move number, colour, the model's probability of the move played);
    drawn as bars, Black's dark and White's blue. With ``winrates`` (moves played,
    Black's win rate in [0, 1]) a panel above shows Black's win rate, 50% dashed,
    and the ``turning`` move numbers shaded red. Raises ``PlotError``/``OSError``.
    """
    plt = _pyplot()
    last = max([1, *(number for number, _, _ in moves), *(played for played, _ in winrates)])
    panels = 2 if winrates else 1
    figure, axes_list = plt.subplots(panels, 1, figsize=(12, 1.2 + 3.2 * panels),
                                     sharex=True, squeeze=False)
    axes_list = axes_list[:, 0]
    if winrates:
        axes = axes_list[0]
        for index, number in enumerate(turning):
            axes.axvspan(number - 1, number, color=TURNING_COLOR, linewidth=0,
                         label="turning point: the move that cost its player most"
                         if index == 0 else None)
        axes.plot([played for played, _ in winrates],
                  [100 * rate for _, rate in winrates], color="black", linewidth=1.4,
                  label=f"{winrate_label} after each move")
        axes.axhline(50, color="gray", linestyle="--", linewidth=0.8, label="even (50%)")
        axes.set_ylim(0, 100)
        axes.set_ylabel("Black's win rate (%)")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes = axes_list[-1]
    for color, face, name in ((BLACK, BLACK_COLOR, "Black's moves"),
                              (WHITE, WHITE_MOVE_COLOR, "White's moves")):
        chosen = [(number, probability) for number, side, probability in moves if side == color]
        if chosen:
            axes.bar([number - 0.5 for number, _ in chosen],
                     [100 * probability for _, probability in chosen], width=0.9,
                     color=face, label=name)
    axes.set_ylim(0, 100)
    axes.set_ylabel("the model's probability\nof the move played (%)")
    axes.set_xlabel("move number")
    axes.set_xlim(0, last)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes_list[0].set_title(title, fontsize=10)
    figure.tight_layout()
    _save(figure, path)


def learning_curve(records: Sequence[Mapping[str, float]], path: str | Path, *,
                   title: str) -> None:
    """A PNG of a training run from its ``metrics.jsonl`` records: top-1 (training, per
    log window; validation) and loss (training policy loss; validation loss) against
    positions seen. Raises ``PlotError`` (also for records without any figure) and
    ``OSError``."""
    plt = _pyplot()
    logged = [row for row in records if "train_policy_loss" in row]
    validated = [row for row in records if "val_top1" in row]
    if not logged and not validated:
        raise PlotError("no training figures to plot yet (metrics.jsonl holds none)")
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)

    def series(rows: list, key: str, scale: float = 1.0) -> tuple[list, list]:
        return [row["positions"] for row in rows], [scale * row[key] for row in rows]

    if logged:
        top.plot(*series(logged, "train_top1", 100), color="#7aa6d6", linewidth=1,
                 label="training batches (top-1 of each log window)")
        bottom.plot(*series(logged, "train_policy_loss"), color="#7aa6d6", linewidth=1,
                    label="training policy loss (each log window)")
    if validated:
        top.plot(*series(validated, "val_top1", 100), color="#c0392b", marker="o",
                 markersize=4, label="validation positions")
        bottom.plot(*series(validated, "val_loss"), color="#c0392b", marker="o",
                    markersize=4, label="validation loss")
        last = validated[-1]
        top.annotate(f"{100 * last['val_top1']:.1f}%", (last["positions"],
                                                        100 * last["val_top1"]),
                     textcoords="offset points", xytext=(-30, -14), fontsize=8)
    top.set_ylabel("top-1 accuracy (% of positions)")
    top.set_ylim(bottom=0)
    bottom.set_ylabel("policy loss (cross-entropy, nats)")
    bottom.set_xlabel("positions seen in training")
    bottom.xaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:,.0f}"))
    bottom.set_xlim(left=0)
    for axes in (top, bottom):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    top.set_title(title, fontsize=10)
    figure.tight_layout()
    _save(figure, path)
