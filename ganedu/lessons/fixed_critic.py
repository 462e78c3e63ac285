r"""Critics trained against *fixed* distributions: what a discriminator or a critic learns.

Holding the "generator" fixed isolates the critic, as the papers do in their figures:

- **JS and W1 from samples** (WGAN paper, Arjovsky et al. 2017, Example 1 and Eq. 2). A
  discriminator trained with the minimax loss reaches :math:`V(D) \le V(D^*) = -\ln 4 + 2\,JS`
  (Goodfellow et al. 2014, Theorem 1), so :func:`js_from_value` turns its value into a lower-bound
  estimate of JS; a 1-Lipschitz critic's :math:`\mathbb{E}D(x) - \mathbb{E}D(\tilde x)` estimates
  :math:`W_1` (Kantorovich–Rubinstein duality).

What weight clipping does to a critic, Gulrajani et al. 2017 (WGAN-GP), §3 "Difficulties with
weight constraints":

1. **Capacity underuse** (Figure 1a). A clipped critic trained to optimality against a fixed
   "generator" (the data plus Gaussian noise) learns a very simple function, close to linear, and
   misses the data's structure; a critic constrained by a gradient penalty does not.
2. **Exploding and vanishing gradients** (Figure 1b). In a deep ReLU critic with weights at
   :math:`\pm c`, backpropagation multiplies the gradient by roughly the same factor at every
   layer, so :math:`\|\partial D / \partial h_l\|` grows or shrinks *exponentially* with depth:
   explodes for c = 0.1, vanishes for c = 0.01 and 0.001 (width 512).

This module holds the experiments' parts, each small: a critic trained against fixed samples, the
JS estimate, a deep critic, its per-layer input-gradient norms, and a linearity score.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..checks import check_choice, check_int, check_number, check_tensor
from ..losses import LOSSES
from ..models import MLPCritic
from ..updates import critic_update

__all__ = ["train_critic_fixed", "js_from_value", "estimate_from_samples", "deep_relu_critic", "layer_grad_norms",
           "norm_ratios", "linear_fit_r2"]


def deep_relu_critic(depth: int = 12, width: int = 512, *, seed: int = 0) -> MLPCritic:
    """The deep critic of WGAN-GP Figure 1b: ``depth`` ReLU layers of ``width`` units, then a linear output.

    An :class:`~ganedu.models.MLPCritic` (2D input) with PyTorch's default initialisation, seeded.
    """
    depth, width = check_int("depth", depth, min=1), check_int("width", width, min=1)
    torch.manual_seed(seed)
    return MLPCritic(in_dim=2, width=width, depth=depth, activation="relu", norm="none")


def _linear_inputs(critic: nn.Module, x: torch.Tensor):
    """Run an MLP critic, keeping the input of every Linear layer: (scores (B,), [h_1, ..., h_L])."""
    net = getattr(critic, "net", None)
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"critic must be an MLPCritic (a .net nn.Sequential), got {type(critic).__name__}")
    h, inputs = x, []
    for layer in net:
        if isinstance(layer, nn.Linear):
            inputs.append(h)         # h_l: (B, fan_in), the input of Linear layer l
        h = layer(h)
    return h.reshape(h.shape[0]), inputs


def layer_grad_norms(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    r"""Mean over samples of :math:`\|\partial D(x) / \partial h_l\|_2` for every Linear layer l.

    :math:`h_1 = x` is the critic's input, :math:`h_l` the input of its l-th Linear layer (the
    previous layer's ReLU output). WGAN-GP Figure 1b plots these on a log scale against l:
    a straight line means a constant factor per layer, i.e. exponential growth or decay.

    Args:
        critic: an :class:`~ganedu.models.MLPCritic`.
        x: ``(B, in_dim)`` points where the gradients are taken.
    Returns:
        ``(L,)`` tensor, layer 1 (input side) first, on the CPU.
    """
    check_tensor("x", x, ndim=2)  # (B, in_dim), B >= 1
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        scores, inputs = _linear_inputs(critic, x)
        # each score depends on its own sample only: row i of d(sum D)/dh_l is dD(x_i)/dh_l
        grads = torch.autograd.grad(scores.sum(), inputs)
    # in float64: squares of norms near 1e-20 underflow in float32
    return torch.stack([g.double().norm(dim=1).mean() for g in grads]).detach().cpu()  # (L,)


def norm_ratios(norms: torch.Tensor) -> torch.Tensor:
    r"""Per-layer factors :math:`\|\partial D/\partial h_l\| \,/\, \|\partial D/\partial h_{l+1}\|`, shape ``(L-1,)``.

    Backpropagation goes from layer l+1 to layer l, so a factor > 1 means the gradient grows on
    its way to the input (explodes), < 1 that it shrinks (vanishes).
    """
    norms = torch.as_tensor(norms, dtype=torch.float64)
    if norms.dim() != 1 or norms.numel() < 2:
        raise ValueError(f"norms must be a 1D tensor of at least 2 layers, got shape {tuple(norms.shape)}")
    return norms[:-1] / norms[1:]


def train_critic_fixed(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, *, steps: int,
                       loss: str = "wasserstein", clip: float | None = None, gp_lambda: float = 0.0,
                       lr: float = 5e-5, optimizer: str = "rmsprop", batch_size: int = 256,
                       seed: int = 0) -> list:
    r"""Train a critic alone against fixed real and fake sample pools (WGAN-GP Figure 1's setting).

    Each step draws ``batch_size`` points of each pool and runs the Trainer's critic update,
    :func:`ganedu.updates.critic_update`: one step on the critic loss (``"wasserstein"``: ascend
    :math:`\mathbb{E} D(x) - \mathbb{E} D(\tilde x)`; ``"minimax"``: the discriminator's BCE), with
    :math:`\lambda` GP if asked, then the clip (WGAN Algorithm 1, lines 2–7; WGAN-GP Eq. 3). No
    generator: the "generator" is held fixed.

    Args:
        critic: the critic, trained in place.
        real, fake: ``(N, d)`` and ``(M, d)`` pools.
        steps: critic updates; loss: a key of ``ganedu.losses.LOSSES``;
        clip: weight-clipping value c or None; gp_lambda: penalty weight.
        lr, optimizer: ``"rmsprop"`` (WGAN) or ``"adam"`` (betas (0.5, 0.9), as gan_toy.py).
    Returns:
        the list of per-step batch losses (the critic's loss, penalty included).
    """
    steps = check_int("steps", steps, min=1)
    if clip is not None:
        check_number("clip", clip, gt=0, expected="None or a finite number > 0")
    check_choice("loss", loss, tuple(LOSSES))
    check_choice("optimizer", optimizer, ("rmsprop", "adam"))
    params = list(critic.parameters())
    opt = (torch.optim.RMSprop(params, lr=lr) if optimizer == "rmsprop"
           else torch.optim.Adam(params, lr=lr, betas=(0.5, 0.9)))
    rng = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        x = real[torch.randint(len(real), (batch_size,), generator=rng)]        # (B, d)
        x_fake = fake[torch.randint(len(fake), (batch_size,), generator=rng)]   # (B, d)
        d_loss, _, _, _ = critic_update(critic, opt, x, x_fake, loss=loss, gp_lambda=gp_lambda, clip=clip)
        losses.append(d_loss)
    return torch.stack(losses).tolist()


@torch.no_grad()
def js_from_value(discriminator, real: torch.Tensor, fake: torch.Tensor) -> float:
    r"""Estimate :math:`JS(P_r, P_g)` from a trained discriminator (logits): :math:`\tfrac12(V + \ln 4)`.

    :math:`V(D) = \mathbb{E}_{P_r}\ln D(x) + \mathbb{E}_{P_g}\ln(1 - D(\tilde x))` is the GAN value
    (Goodfellow et al. 2014, Eq. 1); at the optimal :math:`D^*` it equals :math:`-\ln 4 + 2\,JS`
    (Theorem 1), and any other D gives less, so on fresh samples this is an estimate of JS from
    below (in nats, between 0 and :math:`\ln 2` up to sampling noise).

    Args:
        discriminator: ``(B, d) -> (B,)`` logits.
        real, fake: ``(n, d)`` and ``(m, d)`` samples not used in training.
    """
    value = -LOSSES["minimax"][0](discriminator(real), discriminator(fake))   # V(D) = -BCE
    return float(0.5 * (value + math.log(4.0)))


def linear_fit_r2(values: torch.Tensor, points: torch.Tensor) -> float:
    r"""How linear a critic is on some points: :math:`R^2` of the least-squares affine fit.

    Fits :math:`D(x) \approx a^\top x + b` by least squares over ``points`` and returns
    :math:`1 - \sum (D - \hat D)^2 / \sum (D - \bar D)^2`: 1 for an exactly affine critic, lower
    the more structure it has beyond a plane (WGAN-GP Figure 1a, "capacity underuse").

    Args:
        values: ``(N,)`` critic values ``D(points)``.
        points: ``(N, d)`` where they were taken.
    """
    v = torch.as_tensor(values, dtype=torch.float64).reshape(-1)
    x = torch.as_tensor(points, dtype=torch.float64)
    if x.dim() != 2 or x.shape[0] != v.shape[0]:
        raise ValueError(f"points must have shape (N, d) with N = len(values) = {v.shape[0]}, "
                         f"got {tuple(x.shape)}")
    A = torch.cat([x, torch.ones(len(x), 1, dtype=torch.float64)], 1)      # (N, d + 1)
    coef = torch.linalg.lstsq(A, v.unsqueeze(1)).solution                  # (d + 1, 1)
    residual = ((A @ coef).squeeze(1) - v).pow(2).sum()
    total = (v - v.mean()).pow(2).sum()
    if total == 0:
        return 1.0
    return float(1.0 - residual / total)


def estimate_from_samples(real: torch.Tensor, fake: torch.Tensor, real_test: torch.Tensor,
                          fake_test: torch.Tensor, *, steps: int = 200, width: int = 64,
                          lr: float = 5e-3, gp_lambda: float = 10.0, seed: int = 0) -> dict:
    r"""JS and :math:`W_1` between two distributions from samples only, three ways.

    - ``js``: a discriminator trained with the minimax loss, then :func:`js_from_value` on the
      test samples (a lower bound on JS, Goodfellow et al. 2014, Theorem 1);
    - ``w1_critic``: a critic trained to maximise :math:`\mathbb{E}D(x) - \mathbb{E}D(\tilde x)`
      with a gradient penalty (WGAN-GP Eq. 3, notebook 05) keeping it near 1-Lipschitz, evaluated
      on the test samples (WGAN Eq. 2); ``lipschitz`` is its :func:`~ganedu.lipschitz.lipschitz_estimate`;
    - ``w1_exact``: optimal transport between the test samples (:func:`~ganedu.divergences.w1_exact`,
      at most 1000 points each).

    Both networks are ``MLPCritic(in_dim, width, depth=2)``, trained with Adam for ``steps`` steps.
    """
    from ..divergences import w1_exact
    from ..lipschitz import lipschitz_estimate
    from ..metrics import critic_w_estimate

    in_dim = real.shape[1]
    torch.manual_seed(seed)
    discriminator = MLPCritic(in_dim=in_dim, width=width, depth=2)
    train_critic_fixed(discriminator, real, fake, steps=steps, loss="minimax", lr=lr,
                       optimizer="adam", seed=seed)
    torch.manual_seed(seed)
    critic = MLPCritic(in_dim=in_dim, width=width, depth=2)
    train_critic_fixed(critic, real, fake, steps=steps, gp_lambda=gp_lambda, lr=lr,
                       optimizer="adam", seed=seed)
    n = min(len(real_test), len(fake_test), 1000)
    return dict(js=js_from_value(discriminator, real_test, fake_test),
                w1_critic=critic_w_estimate(critic, real_test, fake_test),
                lipschitz=lipschitz_estimate(critic, torch.cat([real_test, fake_test])),
                w1_exact=w1_exact(real_test[:n], fake_test[:n]),
                discriminator=discriminator, critic=critic)
