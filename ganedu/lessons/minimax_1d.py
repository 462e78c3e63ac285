r"""The GAN game in one dimension: fixed densities, the optimal discriminator, V(D, G) and JS.

Goodfellow et al. 2014, §4.1: for a fixed generator the discriminator that maximises

.. math:: V(D, G) = \int p_\text{data}(x) \log D(x) + p_g(x) \log\bigl(1 - D(x)\bigr)\,dx

is :math:`D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))` (Proposition 1), and there
:math:`V(D^*, G) = -\ln 4 + 2\,JS(p_\text{data} \| p_g)` (Theorem 1). Here both densities are
1D Gaussian mixtures we can write down, so every integral is a sum on a fine grid and a trained
discriminator can be compared with the closed form (notebook 01).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import torch_threads
from ..checks import check_int, check_number

__all__ = ["Mixture1D", "P_DATA", "P_G", "grid", "optimal_discriminator", "value_function",
           "js_divergence_on_grid", "Discriminator1D", "train_discriminator"]


@dataclass(frozen=True)
class Mixture1D:
    """A 1D Gaussian mixture: ``weights`` (summing to 1), ``means``, ``stds`` (all > 0)."""

    means: tuple
    stds: tuple
    weights: tuple

    def __post_init__(self):
        n = len(self.means)
        if n == 0 or len(self.stds) != n or len(self.weights) != n:
            raise ValueError(f"means, stds and weights must be non-empty and of equal length, got "
                             f"{len(self.means)}, {len(self.stds)}, {len(self.weights)}")
        if any(not s > 0 for s in self.stds):
            raise ValueError(f"stds must all be > 0, got {self.stds}")
        if any(w < 0 for w in self.weights) or abs(sum(self.weights) - 1.0) > 1e-9:
            raise ValueError(f"weights must be >= 0 and sum to 1, got {self.weights}")

    def pdf(self, x) -> np.ndarray:
        r""":math:`p(x) = \sum_k w_k\,\mathcal N(x; \mu_k, \sigma_k^2)`, for a float array ``x``."""
        x = np.asarray(x, dtype=np.float64)[..., None]                         # (..., 1)
        mu, sd, w = (np.asarray(v, dtype=np.float64) for v in (self.means, self.stds, self.weights))
        z = (x - mu) / sd                                                      # (..., k)
        return (w * np.exp(-0.5 * z**2) / (sd * math.sqrt(2 * math.pi))).sum(-1)

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` draws as a float32 tensor ``(n, 1)`` (one feature per sample), on the CPU."""
        n = check_int("n", n, min=1)
        k = torch.multinomial(torch.tensor(self.weights, dtype=torch.float64), n, replacement=True,
                              generator=generator)                             # (n,) component
        mu = torch.tensor(self.means, dtype=torch.float64)[k]
        sd = torch.tensor(self.stds, dtype=torch.float64)[k]
        return (mu + sd * torch.randn(n, dtype=torch.float64, generator=generator)).float()[:, None]


#: the notebook's two fixed distributions: a bimodal "data" density and a broad "generator" one
P_DATA = Mixture1D(means=(-1.0, 1.5), stds=(0.4, 0.5), weights=(0.5, 0.5))
P_G = Mixture1D(means=(0.5,), stds=(1.2,), weights=(1.0,))


def grid(lo: float = -8.0, hi: float = 8.0, n: int = 8001) -> np.ndarray:
    """Evenly spaced points for the integrals (trapezoid rule) and the plots."""
    check_number("lo", lo)
    check_number("hi", hi, gt=lo, expected=f"a finite number > lo = {lo}")
    check_int("n", n, min=2)
    return np.linspace(lo, hi, n)


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    r""":math:`D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))` (Goodfellow et al. 2014,
    Proposition 1), from the two densities evaluated on the same points; 1/2 where both are 0."""
    p_data, p_g = _densities(p_data, p_g)
    total = p_data + p_g
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, p_data / np.where(total > 0, total, 1.0), 0.5)


def value_function(d: np.ndarray, p_data: np.ndarray, p_g: np.ndarray, x: np.ndarray) -> float:
    r""":math:`V(D, G) = \int p_\text{data} \log D + p_g \log(1 - D)\,dx` (Goodfellow et al. 2014,
    Eq. 1 written as an integral, Eq. 3), by the trapezoid rule on the points ``x``.

    ``d`` holds the discriminator's probabilities :math:`D(x) \in [0, 1]` at ``x``. Terms with zero
    density count 0 (``0 log 0 = 0``).
    """
    p_data, p_g = _densities(p_data, p_g)
    d = np.asarray(d, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if d.shape != p_data.shape or x.shape != p_data.shape:
        raise ValueError(f"d, p_data, p_g and x must have the same shape, got {d.shape}, "
                         f"{p_data.shape}, {x.shape}")
    if np.any((d < 0) | (d > 1)):
        raise ValueError("d must hold probabilities in [0, 1] (apply a sigmoid to logits first)")
    with np.errstate(divide="ignore", invalid="ignore"):
        real = np.where(p_data > 0, p_data * np.log(d), 0.0)
        fake = np.where(p_g > 0, p_g * np.log1p(-d), 0.0)
    return float(_trapezoid(real + fake, x))


def js_divergence_on_grid(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    r""":math:`JS(p \| q) = \tfrac12 \int p \ln\frac{2p}{p+q} + \tfrac12 \int q \ln\frac{2q}{p+q}`,
    in nats (so between 0 and :math:`\ln 2`), by the trapezoid rule on ``x``.

    ``p`` and ``q`` are two *densities* evaluated on the grid ``x`` (an integral), unlike
    ``ganedu.divergences.js_divergence``, which takes two discrete distributions (a sum over bins)."""
    p, q = _densities(p, q)
    m = p + q
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log(2 * p / m), 0.0)
        b = np.where(q > 0, q * np.log(2 * q / m), 0.0)
    return float(0.5 * _trapezoid(a + b, np.asarray(x, dtype=np.float64)))


def _trapezoid(y, x) -> float:
    """The trapezoid rule (``np.trapezoid``; ``np.trapz`` before NumPy 2)."""
    rule = np.trapezoid if hasattr(np, "trapezoid") else np.trapz
    return float(rule(y, x))


def _densities(p, q):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"the two densities must be evaluated on the same points, got shapes "
                         f"{p.shape} and {q.shape}")
    if np.any(p < 0) or np.any(q < 0) or not (np.isfinite(p).all() and np.isfinite(q).all()):
        raise ValueError("densities must be finite and >= 0")
    return p, q


class Discriminator1D(nn.Module):
    """A small MLP ``(B, 1) -> (B,)`` logits: 2 hidden layers of ``width`` LeakyReLU(0.2) units."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, width), nn.LeakyReLU(0.2), nn.Linear(width, width),
                                 nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 1:
            x = x[:, None]                                                     # (B,) -> (B, 1)
        if x.dim() != 2 or x.shape[1] != 1:
            raise ValueError(f"Discriminator1D expects x of shape (B,) or (B, 1), got {tuple(x.shape)}")
        return self.net(x).squeeze(-1)                                         # (B,) logits


def train_discriminator(p_data: Mixture1D = P_DATA, p_g: Mixture1D = P_G, *, steps: int = 1000,
                        batch_size: int = 512, lr: float = 3e-3, seed: int = 0,
                        callback=None, every: int = 100) -> Discriminator1D:
    r"""Train a discriminator on the two fixed distributions, the generator held still.

    Each step: :math:`x \sim p_\text{data}`, :math:`\tilde x \sim p_g`, minimise
    ``ganedu.losses.d_loss_minimax`` (that is, maximise V(D, G)) with Adam. Its sigmoid approaches
    :math:`D^*` where the densities have mass. ``callback(step, discriminator)`` runs every ``every``.
    """
    from ..losses import d_loss_minimax

    check_int("steps", steps, min=1)
    rng = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        disc = Discriminator1D()
    opt = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    with torch_threads(1):  # a tiny MLP: one thread is fastest (see ganedu.torch_threads)
        for step in range(1, steps + 1):
            real = p_data.sample(batch_size, generator=rng)                    # (B, 1)
            fake = p_g.sample(batch_size, generator=rng)                       # (B, 1)
            loss = d_loss_minimax(disc(real), disc(fake))                      # forward
            opt.zero_grad(set_to_none=True)
            loss.backward()                                                    # backward
            opt.step()                                                         # update
            if callback is not None and (step % every == 0 or step == steps):
                callback(step, disc)
    return disc.eval()
