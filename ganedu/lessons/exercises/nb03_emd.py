r"""Notebook 03 (JS vs Earth Mover): the exact W1 between two 1D samples, by sorting.

For two samples of equal size n in 1D, the optimal transport plan pairs the i-th smallest of one
with the i-th smallest of the other, so :math:`W_1 = \frac1n \sum_i |x_{(i)} - y_{(i)}|`
(Peyré & Cuturi 2019, *Computational Optimal Transport*, ch. 2, the 1D case). The reference is
``scipy.stats.wasserstein_distance``, which computes the same number from the two CDFs.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .core import report, run_student

__all__ = ["check_w1_sorting"]

NAME = "w1_sorting"


def _cases():
    """(description, x, y) on which every pitfall gives a wrong answer."""
    g = torch.Generator().manual_seed(3)
    return [
        ("two unsorted Gaussian samples (n = 200)", torch.randn(200, generator=g),
         2.0 + 0.5 * torch.randn(200, generator=g)),
        ("samples whose distributions cross (same mean, different spread)",
         torch.randn(500, generator=g), 3.0 * torch.randn(500, generator=g)),
        ("a small sample (n = 7) with ties", torch.tensor([0.0, 1.0, 1.0, 3.0, -2.0, 5.0, 0.5]),
         torch.tensor([2.0, 2.0, -1.0, 0.0, 4.0, 1.5, -0.5])),
        ("two samples far apart (n = 50)", torch.rand(50, generator=g),
         10.0 + torch.rand(50, generator=g)),
    ]


def _as_float(name, value):
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return None
        value = value.item()
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.item()
    if isinstance(value, (int, float, np.floating)) and not isinstance(value, bool):
        return float(value)
    return None


def _diagnose(x, y, got) -> str:
    """A hint naming the likely mistake, without giving the formula away."""
    xs, ys = np.sort(x), np.sort(y)
    hints = [
        (np.mean(np.abs(x - y)), "you paired the points in the order they were given; the optimal "
                                 "plan pairs them by rank"),
        (np.mean(np.abs(xs - ys[::-1])), "your pairing matches the smallest of one sample with the "
                                        "largest of the other; both must be in the same order"),
        (np.sum(np.abs(xs - ys)), "your value grows with the sample size: W1 is an average cost "
                                  "per unit of mass, not a total"),
        (np.mean((xs - ys) ** 2), "you squared the distances: W1 moves mass at cost |x - y|"),
        (math.sqrt(np.mean((xs - ys) ** 2)), "you computed W2 (root mean square), not W1"),
        (abs(np.mean(xs - ys)), "you averaged the signed differences before taking the absolute "
                                "value; cancellations hide mass that moves in opposite directions"),
        (np.mean(xs - ys), "your value can be negative: each unit of mass costs a distance, |x - y|"),
        (np.mean(np.abs(np.sort(x) - y)), "you sorted only one of the two samples"),
        (np.mean(np.abs(x - np.sort(y))), "you sorted only one of the two samples"),
    ]
    for value, hint in hints:
        if math.isclose(got, float(value), rel_tol=1e-4, abs_tol=1e-6):
            return hint
    return "compare your pairing of the points with the optimal one, and the cost of each pair"


def check_w1_sorting(w1_sorted) -> bool:
    """Check the student's ``w1_sorted(x, y) -> float`` against ``scipy.stats.wasserstein_distance``.

    ``x`` and ``y`` are 1D float tensors of equal length. Pitfalls caught: not sorting (or sorting
    one sample only, or in opposite orders), sum instead of mean, squared distances / W2, the
    absolute value of the mean difference, signed differences, changing the inputs in place.
    """
    from scipy.stats import wasserstein_distance

    for description, x, y in _cases():
        x_in, y_in = x.clone(), y.clone()
        got = run_student(NAME, w1_sorted, x_in, y_in)
        if not (torch.equal(x_in, x) and torch.equal(y_in, y)):
            return report(NAME, False, f"on {description}, your function changed its inputs (it "
                                       "sorted them in place?). Work on sorted copies and leave the "
                                       "caller's samples as they were.")
        value = _as_float("w1", got)
        if value is None:
            return report(NAME, False, f"on {description} your function returned "
                                       f"{type(got).__name__} {getattr(got, 'shape', '')}; return "
                                       "one number (a float or a 0-d tensor).")
        if not math.isfinite(value):
            return report(NAME, False, f"on {description} your function returned {value}; W1 "
                                       "between finite samples is a finite number.")
        expected = wasserstein_distance(x.double().numpy(), y.double().numpy())
        if not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-6):
            hint = _diagnose(x.double().numpy(), y.double().numpy(), value)
            return report(NAME, False, f"on {description} you got {value:.5f}, which is not the "
                                       f"optimal transport cost: {hint}.")
    return report(NAME, True, "your W1 matches scipy.stats.wasserstein_distance on every test case "
                              "(unsorted samples, crossing distributions, ties, far-apart samples).")
