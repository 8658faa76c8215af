"""Every figure reads alike: a title, axes labelled with their units, a legend, and boards
with the coordinates GUIs show. The figures are caught before they are written
(``plot._save``) and read back from matplotlib's own objects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from goai.display import plot
from goai.display.plot import PlotError
from goai.rules.board import BLACK, WHITE, Board
from goai.rules.coords import move_from_gtp

GUI_COLUMNS = list("ABCDEFGHJKLMNOPQRST")  # no I


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list:
    caught: list = []

    def keep(figure, path) -> None:
        caught.append(figure)
        figure.canvas.draw()  # lay it out, as saving would

    monkeypatch.setattr(plot, "_save", keep)
    return caught


def _board(*stones: tuple[str, int]) -> Board:
    board = Board(19)
    for vertex, color in stones:
        board.play(move_from_gtp(vertex, 19), color)
    return board


def _labels(texts) -> list[str]:
    return [text.get_text() for text in texts]


def _check_readable(figure) -> None:
    """A title, a y label on every panel, an x label on the bottom one, a legend on each."""
    panels = [axes for axes in figure.axes if axes.get_label() != "<colorbar>"]
    assert panels[0].get_title(), "no title"
    for axes in panels:
        assert axes.get_ylabel(), "a panel without a y label"
        assert axes.get_legend() is not None, "a panel without a legend"
    assert panels[-1].get_xlabel(), "no x label"


def test_the_heat_map_has_gui_coordinates_a_colour_scale_and_the_top_moves(figures):
    board = _board(("Q16", BLACK), ("D4", WHITE))
    probabilities = np.zeros(361)
    probabilities[move_from_gtp("C16", 19)] = 0.6
    probabilities[move_from_gtp("R4", 19)] = 0.3
    plot.board_heatmap(board, probabilities, "unused.png", title="the model's probabilities",
                       last_move=move_from_gtp("D4", 19))
    (figure,) = figures
    _check_readable(figure)
    axes, colorbar = figure.axes
    # On all four sides, as GUIs draw them: label1 bottom/left, label2 top/right.
    for axis, expected in ((axes.xaxis, GUI_COLUMNS), (axes.yaxis, [str(n) for n in
                                                                    range(1, 20)])):
        ticks = axis.get_major_ticks()
        for label in ("label1", "label2"):
            assert [getattr(tick, label).get_text() for tick in ticks] == expected
            assert all(getattr(tick, label).get_visible() for tick in ticks)
    assert "(%)" in colorbar.get_ylabel()
    # The top moves are written on their points: C16 is column 2, row 16 (y = 15).
    written = {(text.get_position(), text.get_text()) for text in axes.texts}
    assert {((2, 15), "60"), ((16, 3), "30")} <= written
    assert {"Black stone", "White stone", "last move"} <= set(
        _labels(axes.get_legend().get_texts()))


def test_an_env_frame_is_the_board_at_24_pixels_a_point() -> None:
    empty = plot.board_frame(Board(9))
    black = Board(9)
    black.play(move_from_gtp("E5", 9), BLACK)
    with_stone = plot.board_frame(black, caption="move 1, white to play")
    assert empty.shape == with_stone.shape == (9 * 24, 9 * 24, 3)
    assert empty.dtype == np.uint8
    dark = (with_stone.max(axis=2) < 60).sum() - (empty.max(axis=2) < 60).sum()
    assert dark > 0.5 * np.pi * (0.46 * 24 * 0.84) ** 2  # about the stone's disc


def test_accuracy_by_move_reads_alone(figures):
    plot.accuracy_by_move({1: 0.5, 2: 0.0, 11: 1.0}, "unused.png", overall=0.5, positions=3,
                          title="top-1 by move number")
    (figure,) = figures
    _check_readable(figure)
    assert "%" in figure.axes[0].get_ylabel()


def test_the_review_chart_shades_the_turning_points_above_the_bars(figures):
    moves = [(1, BLACK, 0.5), (2, WHITE, 0.1), (3, BLACK, 0.9)]
    plot.review_chart("unused.png", title="a review", moves=moves,
                      winrates=[(0, 0.5), (1, 0.6), (2, 0.2), (3, 0.3)], turning=[2])
    (figure,) = figures
    _check_readable(figure)
    rates, bars = figure.axes
    assert rates.get_ylabel() == "Black's win rate (%)" and bars.get_xlabel() == "move number"
    (span,) = [patch for patch in rates.patches]  # move 2's column, from 1 to 2
    assert span.get_x() == pytest.approx(1) and span.get_width() == pytest.approx(1)
    assert _labels(bars.get_legend().get_texts()) == ["Black's moves", "White's moves"]
    assert len(bars.patches) == 3


def test_the_learning_curve_plots_training_and_validation(figures):
    records = [{"step": 50, "positions": 3200, "train_policy_loss": 4.0, "train_top1": 0.1},
               {"step": 100, "positions": 6400, "train_policy_loss": 3.5, "train_top1": 0.2,
                "val_loss": 3.4, "val_top1": 0.25}]
    plot.learning_curve(records, "unused.png", title="a run")
    (figure,) = figures
    _check_readable(figure)
    top, bottom = figure.axes
    assert bottom.get_xlabel() == "positions seen in training"
    assert "nats" in bottom.get_ylabel() and "%" in top.get_ylabel()
    with pytest.raises(PlotError, match="no training figures"):
        plot.learning_curve([], "unused.png", title="nothing yet")


def test_names_the_fonts_cannot_draw_fall_back() -> None:
    assert plot.drawable("Lee Sedol", "Black") == "Lee Sedol"
    assert plot.drawable("\ue000\ue001", "Black") == "Black"  # private-use: in no font


def test_a_plot_into_a_missing_folder_is_refused_before_the_work(tmp_path: Path) -> None:
    with pytest.raises(PlotError, match="no folder"):
        plot.check_plot(tmp_path / "nowhere" / "a.png")


def test_a_real_png_is_written(tmp_path: Path) -> None:
    path = tmp_path / "curve.png"
    plot.accuracy_by_move({1: 0.5}, path, overall=0.5, positions=1, title="one position")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
