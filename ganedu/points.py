"""Your own 2D data: a word's outline, or the points of a CSV file, as a cloud to train a GAN on.

Both come out on the toy sets' scale (centred, the largest coordinate 1.4, as 8gaussians'
2/1.414), so the recipes tuned for the toy sets apply. Free-form data has no modes: the metrics
that count modes do not apply to it, the exact W₁ to the data does
(:func:`ganedu.metrics.score_samples` with ``data=None`` and ``real=`` these points).
"""
from __future__ import annotations

import io

import numpy as np
import torch

from .checks import check_int, check_type

__all__ = ["text_points", "csv_points", "to_toy_scale", "SCALE"]

SCALE = 1.4  # the largest |coordinate| after to_toy_scale (8gaussians: 2 / 1.414)


def to_toy_scale(points: torch.Tensor) -> torch.Tensor:
    """Centre ``points`` (N, 2) on the origin and scale them so the largest |coordinate| is ``SCALE``."""
    centred = points - (points.max(0).values + points.min(0).values) / 2
    extent = float(centred.abs().max())
    if extent == 0:
        raise ValueError("points must not all be the same point: there is nothing to learn")
    return (centred * (SCALE / extent)).float()


def text_points(text: str, n: int = 2000, *, noise: float = 0.01, generator=None) -> torch.Tensor:
    """``n`` points on the outline of ``text`` (matplotlib's ``TextPath``, DejaVu Sans bold), on
    the toy scale, with N(0, noise²) jitter: uniform along the outline's length."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    check_type("text", text, str, "a str (a word)")
    n = check_int("n", n, min=2)
    if not text.strip():
        raise ValueError(f"text must have at least one visible character, got {text!r}")
    path = TextPath((0, 0), text.strip(), size=1.0, prop=FontProperties(family="DejaVu Sans", weight="bold"))
    starts, ends = [], []
    for polygon in path.to_polygons(closed_only=True):  # each letter's outlines, as closed polygons
        starts.append(polygon[:-1])
        ends.append(polygon[1:])
    a = torch.from_numpy(np.concatenate(starts)).float()
    b = torch.from_numpy(np.concatenate(ends)).float()
    length = (b - a).norm(dim=1)                                     # (S,) segment lengths
    pick = torch.multinomial(length, n, replacement=True, generator=generator)
    t = torch.rand(n, 1, generator=generator)
    points = to_toy_scale(a[pick] + t * (b[pick] - a[pick]))
    return points + noise * torch.randn(n, 2, generator=generator)


def csv_points(content) -> torch.Tensor:
    """The points of a CSV file's text (``str`` or ``bytes``): two numeric columns ``x,y``, one
    point a line, an optional header line; on the toy scale."""
    check_type("content", content, (str, bytes, bytearray, memoryview), "the CSV file's text (str or bytes)")
    text = bytes(content).decode("utf-8-sig") if not isinstance(content, str) else content
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and not _numeric(lines[0]):
        lines = lines[1:]  # a header such as "x,y"
    rows = []
    for k, line in enumerate(lines, start=1):
        cells = line.split(",")
        if len(cells) != 2 or not _numeric(line):
            raise ValueError(f"content must be CSV lines of two numbers 'x,y'; data line {k} is {line.strip()!r}")
        rows.append([float(c) for c in cells])
    if len(rows) < 2:
        raise ValueError(f"content must hold at least 2 points, got {len(rows)}")
    points = torch.tensor(rows)
    if not torch.isfinite(points).all():
        raise ValueError("content must hold finite numbers (no nan or inf)")
    return to_toy_scale(points)


def _numeric(line: str) -> bool:
    try:
        [float(c) for c in line.split(",")]
        return True
    except ValueError:
        return False
