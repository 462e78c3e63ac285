r"""GAN losses as pure functions of the critic's scores.

Every function takes scores in ``(real, fake)`` order, shape ``(B,)`` or ``(B, 1)``, and returns a
scalar to *minimise*. The discriminator of the original GAN outputs a probability
:math:`D(x) = \sigma(l(x))`; here we take the *logit* :math:`l` and use the identities

.. math::
    -\log \sigma(l) = \operatorname{softplus}(-l), \qquad
    -\log\bigl(1 - \sigma(l)\bigr) = \operatorname{softplus}(l),

which stay finite for any logit. In float32 the literal ``torch.log(1 - torch.sigmoid(l))`` is
``-inf`` from :math:`l \approx 17` on (``sigmoid`` rounds to 1), ``torch.log(torch.sigmoid(l))``
below :math:`l \approx -88`, and their gradients there are NaN.

A note on a widely copied comparison table ("BCE Loss vs Wasserstein Loss"): it writes the
discriminator's BCE loss as :math:`-[\mathbb{E}\log d(x) + \mathbb{E}(1 - \log d(g(z)))]`, which misplaces the log.
The correct loss is :math:`-[\mathbb{E}\log d(x) + \mathbb{E}\log(1 - d(g(z)))]`
(Goodfellow et al. 2014, Eq. 1), implemented by :func:`d_loss_minimax`. The same table's
Wasserstein entry :math:`\mathbb{E}c(x) - \mathbb{E}c(g(z))` is what the critic *maximises*; the loss
it minimises is the negative, :func:`critic_loss_wasserstein`.

``LOSSES`` maps a name to its ``(critic_loss, generator_loss)`` pair; the trainer takes it from there.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .checks import check_tensor

__all__ = [
    "d_loss_minimax",
    "g_loss_saturating",
    "g_loss_nonsaturating",
    "critic_loss_wasserstein",
    "g_loss_wasserstein",
    "d_loss_hinge",
    "g_loss_hinge",
    "d_loss_least_squares",
    "g_loss_least_squares",
    "LOSSES",
]


def _scores(name: str, scores) -> torch.Tensor:
    """Check one batch of scores and return it as shape ``(B,)``."""
    check_tensor(name, scores, floating=True)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores.squeeze(1)  # (B, 1) -> (B,)
    if scores.ndim != 1:
        raise ValueError(
            f"{name} must have shape (B,) or (B, 1): one score per sample, got shape {tuple(scores.shape)}"
        )
    return scores


# --------------------------------------------------------------------------- minimax GAN
def d_loss_minimax(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r""":math:`L_D = -\mathbb{E}_x \log D(x) - \mathbb{E}_z \log\bigl(1 - D(G(z))\bigr)`, :math:`D = \sigma(l)`.

    Goodfellow et al. 2014, Eq. 1 (the discriminator maximises the value function; this is its
    negative, i.e. binary cross-entropy with label 1 for real and 0 for fake).

    Args:
        real_logits: ``(B,)`` or ``(B, 1)`` discriminator logits on real data.
        fake_logits: ``(B',)`` or ``(B', 1)`` logits on generated data.
    Returns:
        0-d tensor.
    """
    real_logits = _scores("real_logits", real_logits)
    fake_logits = _scores("fake_logits", fake_logits)
    # -log D(x) = softplus(-l_real);  -log(1 - D(G(z))) = softplus(l_fake)
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    r""":math:`L_G = \mathbb{E}_z \log\bigl(1 - D(G(z))\bigr)` — the minimax generator loss, which saturates.

    Goodfellow et al. 2014, Eq. 1. Its gradient wrt the logit is :math:`-D(G(z))`: when the
    discriminator confidently rejects the samples (D near 0, early in training) the generator
    gets almost no signal (§3 of the paper).

    Args:
        fake_logits: ``(B,)`` or ``(B, 1)`` discriminator logits on generated data.
    Returns:
        0-d tensor.
    """
    fake_logits = _scores("fake_logits", fake_logits)
    # log(1 - D(G(z))) = -softplus(l_fake)
    return -F.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    r""":math:`L_G = -\mathbb{E}_z \log D(G(z))` — the non-saturating generator loss.

    Goodfellow et al. 2014, §3 ("train G to maximize log D(G(z))"). Same fixed point as the minimax
    loss, but its gradient wrt the logit is :math:`-(1 - D(G(z)))`, strong exactly when D rejects.

    Args:
        fake_logits: ``(B,)`` or ``(B, 1)`` discriminator logits on generated data.
    Returns:
        0-d tensor.
    """
    fake_logits = _scores("fake_logits", fake_logits)
    # -log D(G(z)) = softplus(-l_fake)
    return F.softplus(-fake_logits).mean()


# --------------------------------------------------------------------------- Wasserstein
def critic_loss_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    r""":math:`L_c = \mathbb{E}_z c(G(z)) - \mathbb{E}_x c(x)` (the critic maximises the difference).

    Arjovsky et al. 2017 (WGAN), Algorithm 1, line 5: the critic ascends
    :math:`\mathbb{E}c(x) - \mathbb{E}c(G(z))`, an estimate of :math:`W_1` when c is 1-Lipschitz;
    we minimise its negative. The Lipschitz constraint lives in :mod:`ganedu.lipschitz`.

    Args:
        real_scores: ``(B,)`` or ``(B, 1)`` critic scores (any real number) on real data.
        fake_scores: ``(B',)`` or ``(B', 1)`` critic scores on generated data.
    Returns:
        0-d tensor; its negative is the critic's estimate of :math:`W_1`.
    """
    real_scores = _scores("real_scores", real_scores)
    fake_scores = _scores("fake_scores", fake_scores)
    return fake_scores.mean() - real_scores.mean()


def g_loss_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    r""":math:`L_G = -\mathbb{E}_z c(G(z))`.

    Arjovsky et al. 2017 (WGAN), Algorithm 1, line 10.

    Args:
        fake_scores: ``(B,)`` or ``(B, 1)`` critic scores on generated data.
    Returns:
        0-d tensor.
    """
    fake_scores = _scores("fake_scores", fake_scores)
    return -fake_scores.mean()


# --------------------------------------------------------------------------- hinge
def d_loss_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    r""":math:`L_D = \mathbb{E}_x \max(0, 1 - D(x)) + \mathbb{E}_z \max(0, 1 + D(G(z)))`.

    Lim & Ye 2017 (Geometric GAN); in this form in Miyato et al. 2018 (SNGAN), Eq. 16.

    Args:
        real_scores: ``(B,)`` or ``(B, 1)`` raw scores on real data.
        fake_scores: ``(B',)`` or ``(B', 1)`` raw scores on generated data.
    Returns:
        0-d tensor.
    """
    real_scores = _scores("real_scores", real_scores)
    fake_scores = _scores("fake_scores", fake_scores)
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


def g_loss_hinge(fake_scores: torch.Tensor) -> torch.Tensor:
    r""":math:`L_G = -\mathbb{E}_z D(G(z))`.

    Lim & Ye 2017; Miyato et al. 2018, Eq. 17 (same as the Wasserstein generator loss).

    Args:
        fake_scores: ``(B,)`` or ``(B, 1)`` raw scores on generated data.
    Returns:
        0-d tensor.
    """
    return g_loss_wasserstein(fake_scores)


# --------------------------------------------------------------------------- least squares
def d_loss_least_squares(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    r""":math:`L_D = \tfrac12\mathbb{E}_x (D(x) - 1)^2 + \tfrac12\mathbb{E}_z D(G(z))^2`.

    Mao et al. 2017 (LSGAN), Eq. 2 with labels a = 0 (fake), b = 1 (real). D outputs raw scores
    (no sigmoid).

    Args:
        real_scores: ``(B,)`` or ``(B, 1)`` raw scores on real data.
        fake_scores: ``(B',)`` or ``(B', 1)`` raw scores on generated data.
    Returns:
        0-d tensor.
    """
    real_scores = _scores("real_scores", real_scores)
    fake_scores = _scores("fake_scores", fake_scores)
    return 0.5 * ((real_scores - 1.0) ** 2).mean() + 0.5 * (fake_scores**2).mean()


def g_loss_least_squares(fake_scores: torch.Tensor) -> torch.Tensor:
    r""":math:`L_G = \tfrac12\mathbb{E}_z (D(G(z)) - 1)^2`.

    Mao et al. 2017 (LSGAN), Eq. 2 with c = 1 (G wants D to call its samples real).

    Args:
        fake_scores: ``(B,)`` or ``(B, 1)`` raw scores on generated data.
    Returns:
        0-d tensor.
    """
    fake_scores = _scores("fake_scores", fake_scores)
    return 0.5 * ((fake_scores - 1.0) ** 2).mean()


# name -> (critic / discriminator loss, generator loss)
LOSSES = {
    "minimax": (d_loss_minimax, g_loss_saturating),
    "nonsaturating": (d_loss_minimax, g_loss_nonsaturating),
    "wasserstein": (critic_loss_wasserstein, g_loss_wasserstein),
    "hinge": (d_loss_hinge, g_loss_hinge),
    "least_squares": (d_loss_least_squares, g_loss_least_squares),
}
