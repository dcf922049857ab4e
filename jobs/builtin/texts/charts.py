"""A scatter chart as PNG bytes, drawn with numpy alone (no plotting library to install).

png = scatter_png(points, labels)     # points: (n, 2) floats; labels: n ints from 0
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

PALETTE = np.array(
    [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
        (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
        (174, 199, 232), (255, 187, 120), (152, 223, 138), (255, 152, 150), (197, 176, 213),
        (196, 156, 148), (247, 182, 210), (199, 199, 199), (219, 219, 141), (158, 218, 229),
    ],
    dtype=np.uint8,
)  # fmt: skip
# 3x5 bitmaps of the digits, for the legend's cluster numbers.
DIGITS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111",
}  # fmt: skip
RADIUS = 3
MARGIN = 16
LEGEND = 56


def _png(canvas: np.ndarray) -> bytes:
    height, width, _ = canvas.shape
    raw = np.hstack([np.zeros((height, 1), dtype=np.uint8), canvas.reshape(height, width * 3)]).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def _text(canvas: np.ndarray, x: int, y: int, text: str, scale: int = 2) -> None:
    for i, char in enumerate(text):
        bits = np.array([int(b) for b in DIGITS[char]], dtype=bool).reshape(5, 3)
        glyph = np.kron(bits, np.ones((scale, scale), dtype=bool))
        left = x + i * 4 * scale
        canvas[y : y + 5 * scale, left : left + 3 * scale][glyph] = 40


def scatter_png(points: np.ndarray, labels: np.ndarray, width: int = 720, height: int = 480) -> bytes:
    """Plot 2-D points coloured by label, with a legend of label numbers (from 1)."""
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    plot_w, plot_h = width - LEGEND - 2 * MARGIN, height - 2 * MARGIN
    canvas[MARGIN - 4, MARGIN - 4 : MARGIN + plot_w + 4] = 210
    canvas[MARGIN + plot_h + 4, MARGIN - 4 : MARGIN + plot_w + 4] = 210
    canvas[MARGIN - 4 : MARGIN + plot_h + 4, MARGIN - 4] = 210
    canvas[MARGIN - 4 : MARGIN + plot_h + 5, MARGIN + plot_w + 4] = 210
    if len(points):
        low, high = points.min(axis=0), points.max(axis=0)
        span = np.where(high - low > 0, high - low, 1.0)
        xs = (MARGIN + (points[:, 0] - low[0]) / span[0] * plot_w).round().astype(int)
        ys = (MARGIN + plot_h - (points[:, 1] - low[1]) / span[1] * plot_h).round().astype(int)
        colours = PALETTE[labels % len(PALETTE)]
        for dy in range(-RADIUS, RADIUS + 1):
            for dx in range(-RADIUS, RADIUS + 1):
                if dx * dx + dy * dy <= RADIUS * RADIUS:
                    canvas[ys + dy, xs + dx] = colours
    left = width - LEGEND + 4
    for label in range(int(labels.max()) + 1 if len(labels) else 0):
        top = MARGIN + label * 20
        if top + 12 > height:
            break
        canvas[top : top + 12, left : left + 12] = PALETTE[label % len(PALETTE)]
        _text(canvas, left + 18, top + 1, str(label + 1))
    return _png(canvas)
