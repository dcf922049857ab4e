"""A scatter chart as PNG bytes, drawn with numpy alone (no plotting library to install).

png = scatter_png(points, labels)     # points: (n, 2) floats; labels: n ints from 0
colour(label)                         # "#1f77b4": the legend's swatch for a label's points

The PNG holds the frame and the points on a transparent background, so it reads on a light page
and a dark one alike; its title, axis names and legend are the page's text (see `chart()`), which
a screen reader, a search and a translation can read too.
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
FRAME = (128, 128, 128, 160)  # mid-grey, half seen: as visible on white as on near-black
RADIUS = 5
MARGIN = 16


def colour(label: int) -> str:
    return "#{:02x}{:02x}{:02x}".format(*PALETTE[label % len(PALETTE)])


def _png(canvas: np.ndarray) -> bytes:
    height, width, _ = canvas.shape
    raw = np.hstack([np.zeros((height, 1), dtype=np.uint8), canvas.reshape(height, width * 4)]).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def scatter_png(points: np.ndarray, labels: np.ndarray, width: int = 720, height: int = 480) -> bytes:
    """Plot 2-D points coloured by label in a frame, on a transparent background."""
    canvas = np.zeros((height, width, 4), dtype=np.uint8)
    plot_w, plot_h = width - 2 * MARGIN, height - 2 * MARGIN
    left, right, top, bottom = MARGIN - 4, MARGIN + plot_w + 4, MARGIN - 4, MARGIN + plot_h + 4
    canvas[top, left : right + 1] = canvas[bottom, left : right + 1] = FRAME
    canvas[top : bottom + 1, left] = canvas[top : bottom + 1, right] = FRAME
    if len(points):
        low, high = points.min(axis=0), points.max(axis=0)
        span = np.where(high - low > 0, high - low, 1.0)
        xs = (MARGIN + (points[:, 0] - low[0]) / span[0] * plot_w).round().astype(int)
        ys = (MARGIN + plot_h - (points[:, 1] - low[1]) / span[1] * plot_h).round().astype(int)
        colours = np.hstack([PALETTE[labels % len(PALETTE)], np.full((len(labels), 1), 255, dtype=np.uint8)])
        for dy in range(-RADIUS, RADIUS + 1):
            for dx in range(-RADIUS, RADIUS + 1):
                if dx * dx + dy * dy <= RADIUS * RADIUS:
                    canvas[ys + dy, xs + dx] = colours
    return _png(canvas)


def chart(file: str, title: str, legend: list[tuple[int, str]], points: int) -> dict:
    """How the page shows a scatter chart: its title, axes, legend and a description for its alt text.

    `legend` pairs each label drawn with its name. A result's `charts` list holds these (see
    webapp.present): the page puts them around the image of the same file name.
    """
    groups = len(legend)
    return {
        "file": file,
        "title": title,
        "alt": f"Scatter chart of {points:,} points in {groups} cluster{'' if groups == 1 else 's'}, "
        "placed by meaning: nearby points have similar texts.",
        "x_label": "First principal component of the embeddings",
        "y_label": "Second principal component",
        "legend": [{"colour": colour(label), "label": name} for label, name in legend],
    }
