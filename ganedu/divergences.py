"""Divergences and distances between distributions: KL, JS, TV and the Wasserstein-1 distance.

The course's question (WGAN paper, Arjovsky et al. 2017, Sec. 2): when two distributions sit on
disjoint low-dimensional supports, KL is infinite and JS and TV are constant, so they give a
generator no gradient; W1 still shrinks smoothly as the supports move together.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from .checks import check_type

__all__ = ["parallel_lines", "kl_divergence", "js_divergence", "tv_distance", "w1_exact"]


def parallel_lines(theta: float) -> dict:
    r"""KL, JS, TV and W1 between the two parallel lines of the WGAN paper's Example 1.

    Arjovsky et al. (2017), Sec. 2, Example 1: :math:`Z \sim U[0, 1]`, :math:`P_0` is the law of
    :math:`(0, Z)` and :math:`P_\theta` the law of :math:`(\theta, Z)`. Then

    .. math::
        W(P_0, P_\theta) = |\theta|, \qquad
        JS(P_0, P_\theta) = \begin{cases} \ln 2 & \theta \ne 0 \\ 0 & \theta = 0 \end{cases},

        KL(P_\theta \| P_0) = KL(P_0 \| P_\theta) = \begin{cases} +\infty & \theta \ne 0 \\ 0 & \theta = 0 \end{cases},
        \qquad
        \delta(P_0, P_\theta) = \begin{cases} 1 & \theta \ne 0 \\ 0 & \theta = 0 \end{cases},

    with :math:`JS(P, Q) = \tfrac12 KL(P \| M) + \tfrac12 KL(Q \| M)`, :math:`M = \tfrac12 (P + Q)`,
    natural log, and :math:`\delta` the total variation. Only W1 is continuous in :math:`\theta`.

    Args:
        theta: the offset of the second line, a finite real number.

    Returns:
        ``dict(kl=, js=, tv=, w1=)`` of floats.
    """
    theta = float(check_type("theta", theta, numbers.Real, "a real number"))
    if not math.isfinite(theta):
        raise ValueError(f"theta must be finite, got {theta}")
    if theta == 0.0:
        return dict(kl=0.0, js=0.0, tv=0.0, w1=0.0)
    return dict(kl=math.inf, js=math.log(2.0), tv=1.0, w1=abs(theta))


def _to_numpy(x, arg: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    try:
        out = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{arg} must be a tensor or an array of numbers, got {type(x).__name__}") from exc
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{arg} must contain only finite numbers (no NaN or inf)")
    return out


def _as_distribution(p, arg: str) -> np.ndarray:
    p = _to_numpy(p, arg)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"{arg} must be a non-empty 1D array of probabilities, got shape {p.shape}")
    if np.any(p < 0):
        raise ValueError(f"{arg} must be non-negative, got a minimum of {p.min()}")
    if abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"{arg} must sum to 1, got a sum of {p.sum()}")
    return p


def _pair(p, q):
    p, q = _as_distribution(p, "p"), _as_distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same length, got {p.shape[0]} and {q.shape[0]}")
    return p, q


def kl_divergence(p, q) -> float:
    r"""Kullback-Leibler divergence of discrete distributions, in nats.

    :math:`KL(p \| q) = \sum_i p_i \ln \frac{p_i}{q_i}`, with :math:`0 \ln \frac{0}{q} = 0` and
    :math:`+\infty` when some :math:`q_i = 0 < p_i` (Cover & Thomas, Eq. 2.26).

    Args:
        p, q: 1D arrays or tensors ``(k,)``, non-negative, each summing to 1.
    """
    p, q = _pair(p, q)
    support = p > 0
    if np.any(q[support] == 0):
        return math.inf
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def js_divergence(p, q) -> float:
    r"""Jensen-Shannon divergence in nats, with the 1/2 factors: always in :math:`[0, \ln 2]`.

    :math:`JS(p, q) = \tfrac12 KL(p \| m) + \tfrac12 KL(q \| m)`, :math:`m = \tfrac12 (p + q)`
    (Goodfellow et al. 2014, Sec. 4.1: the optimal-discriminator GAN loss is :math:`-\ln 4 + 2\,JS`).

    Args:
        p, q: 1D arrays or tensors ``(k,)``, non-negative, each summing to 1.
    """
    p, q = _pair(p, q)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m) + 0.5 * kl_divergence(q, m)


def tv_distance(p, q) -> float:
    r"""Total variation distance :math:`\delta(p, q) = \sup_A |p(A) - q(A)| = \tfrac12 \sum_i |p_i - q_i|`.

    Args:
        p, q: 1D arrays or tensors ``(k,)``, non-negative, each summing to 1.
    """
    p, q = _pair(p, q)
    return float(0.5 * np.abs(p - q).sum())


def w1_exact(x, y) -> float:
    r"""Exact Wasserstein-1 distance between two empirical distributions of equal size.

    :math:`W_1(\hat P, \hat Q) = \min_{\sigma \in S_n} \frac1n \sum_i \| x_i - y_{\sigma(i)} \|_2`:
    for uniform weights on ``n`` points each, an optimal transport plan is a permutation
    (Birkhoff-von Neumann; Peyre & Cuturi, *Computational Optimal Transport*, Prop. 2.1).
    In 1D the optimal permutation pairs the sorted values: :math:`\frac1n \sum_i |x_{(i)} - y_{(i)}|`.
    In higher dimension it is found by ``scipy.optimize.linear_sum_assignment`` on the Euclidean
    cost matrix (O(n^3): about 2 s for n = 2000).

    Args:
        x: ``(n,)``, ``(n, 1)`` or ``(n, d)`` tensor or array.
        y: same shape as ``x``.

    Returns:
        The distance, a float.
    """
    x, y = _to_numpy(x, "x"), _to_numpy(y, "y")
    for arg, a in (("x", x), ("y", y)):
        if a.ndim not in (1, 2) or a.shape[0] == 0:
            raise ValueError(f"{arg} must have shape (n,) or (n, d) with n >= 1, got {a.shape}; flatten images first")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same number of points, got {x.shape[0]} and {y.shape[0]}; "
            "subsample to equal size, or use ganedu.metrics.w1_to_data"
        )
    x, y = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)  # (n, d)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got shapes {x.shape} and {y.shape}")
    if x.shape[1] == 1:
        return float(np.mean(np.abs(np.sort(x[:, 0]) - np.sort(y[:, 0]))))
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    cost = cdist(x, y)                                # (n, n) Euclidean distances
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())
