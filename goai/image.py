"""Boards as RGB pictures: the gymnasium ``rgb_array`` render and ``goai predict --heatmap``.

Drawn with numpy alone (no plotting library): wood background, grid lines,
stones as discs, the last move marked, and optionally a heat map of move
probabilities painted under the empty points. ``write_png`` writes the
array with zlib, so a PNG needs nothing beyond the standard library.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from goai.board import BLACK, WHITE, Board
from goai.coords import PASS, to_row_col

WOOD = np.array([220, 179, 92], dtype=np.float32)
LINE = np.array([40, 30, 10], dtype=np.float32)
HOT = np.array([230, 30, 30], dtype=np.float32)


def board_image(board: Board, *, cell: int = 24, last_move: int | None = None,
                heat: np.ndarray | None = None) -> np.ndarray:
    """The board as ``uint8`` ``(H, W, 3)`` with H = W = cell * size.

    ``heat``: optional ``(size * size,)`` values in [0, 1] (e.g. move
    probabilities divided by their maximum), drawn as red squares whose
    strength follows the value, under the stones.
    """
    size = board.size
    pixels = size * cell
    image = np.empty((pixels, pixels, 3), dtype=np.float32)
    image[:] = WOOD
    half = cell // 2
    if heat is not None:
        for point in np.flatnonzero(heat > 0.01):
            row, col = to_row_col(int(point), size)
            alpha = 0.15 + 0.85 * float(min(heat[point], 1.0))
            rows = slice(row * cell + 1, (row + 1) * cell - 1)
            box = image[rows, col * cell + 1 : (col + 1) * cell - 1]
            box[:] = (1 - alpha) * box + alpha * HOT
    for i in range(size):
        centre = i * cell + half
        image[centre, half : pixels - half + 1] = LINE
        image[half : pixels - half + 1, centre] = LINE
    yy, xx = np.mgrid[0:cell, 0:cell]
    disc = (yy - half + 0.5) ** 2 + (xx - half + 0.5) ** 2 <= (half - 1) ** 2
    ring = disc & ((yy - half + 0.5) ** 2 + (xx - half + 0.5) ** 2 >= (half - 3) ** 2)
    mark = (yy - half + 0.5) ** 2 + (xx - half + 0.5) ** 2 <= (cell / 6) ** 2
    for point, stone in enumerate(board.stones):
        if stone not in (BLACK, WHITE):
            continue
        row, col = to_row_col(point, size)
        box = image[row * cell : (row + 1) * cell, col * cell : (col + 1) * cell]
        box[disc] = 20.0 if stone == BLACK else 240.0
        if stone == WHITE:
            box[ring] = 90.0
        if last_move is not None and last_move != PASS and point == last_move:
            box[mark] = 240.0 if stone == BLACK else 20.0
    return image.round().astype(np.uint8)


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    """Write an ``(H, W, 3)`` ``uint8`` array as an 8-bit RGB PNG."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
