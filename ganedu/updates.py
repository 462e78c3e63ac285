r"""The two updates of adversarial training, as the papers' pseudocode: the critic's, then the generator's.

WGAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017), Algorithm 1::

    for t in range(n_critic):
        x ~ data, z ~ N(0, I)
        loss_C = d_loss(C(x), C(G(z))) [+ λ GP]     # critic_update: forward
        w <- Opt(w, ∇_w loss_C); [clip w to ±c]      #                backward, update, constraint
    z ~ N(0, I)
    loss_G = g_loss(C(G(z)))                        # generator_update
    θ <- Opt(θ, ∇_θ loss_G)

Each update is one visible forward / backward / update. The losses come from ``ganedu.losses`` and
the constraints from ``ganedu.lipschitz``; :class:`ganedu.train.Trainer` schedules the updates
(n_critic, learning rates, logging) and the fixed-critic lessons (``ganedu.lessons.fixed_critic``)
run :func:`critic_update` alone, against fixed samples.
"""
from __future__ import annotations

import contextlib

import torch

from .lipschitz import clip_weights_, gradient_penalty, interpolate_gradient_norms, penalty_from_norms, r1_penalty
from .losses import LOSSES

__all__ = ["critic_update", "generator_update", "make_optimizer", "set_lr", "frozen", "DIAGNOSE_SAMPLES"]

#: without a penalty, ||∇C(x_hat)|| is only a diagnostic: measured on at most this many interpolates
DIAGNOSE_SAMPLES = 64


def critic_update(critic, optimizer, real, fake, *, loss="wasserstein", gp_lambda=0.0, one_sided=False,
                  clip=None, rng=None, diagnose=False, r1_gamma=0.0):
    r"""One critic update: the loss and its penalty, backward, the optimiser's step, the clip.

    .. math:: L_C = \ell\bigl(C(x), C(\tilde x)\bigr)
              + \lambda\,\mathbb{E}_{\hat x}\bigl(\|\nabla_{\hat x} C(\hat x)\|_2 - 1\bigr)^2,\qquad
              w \leftarrow \mathrm{Opt}(w, \nabla_w L_C),\qquad w \leftarrow \mathrm{clip}(w, -c, c)

    WGAN Algorithm 1, lines 2–7 (with ``clip``); WGAN-GP Algorithm 1, lines 3–9 and Eq. 3 (with
    ``gp_lambda``: the penalty is :func:`ganedu.lipschitz.gradient_penalty`, ε ~ U(0, 1) per sample).
    With ``r1_gamma`` the loss also gains :math:`\frac{\gamma}{2}\mathbb{E}_x\|\nabla_x C(x)\|^2` on the
    real batch (Mescheder et al. 2018, Eq. 9; :func:`ganedu.lipschitz.r1_penalty`).

    Args:
        critic: ``(B, ...) -> (B,)`` scores; updated in place by ``optimizer``.
        optimizer: the critic's optimiser.
        real, fake: ``(B, ...)`` batches (``fake`` carries no gradient into a generator).
        loss: a key of ``ganedu.losses.LOSSES``; its critic half is :math:`\ell`.
        gp_lambda: the penalty weight λ (0: no penalty); one_sided: penalise only norms above 1.
        clip: the weight-clipping value c (None: no clipping).
        r1_gamma: the R1 weight γ (0: no R1 penalty).
        rng: the ``torch.Generator`` ε is drawn from (None: torch's global one).
        diagnose: without a penalty, still measure :math:`\|\nabla C(\hat x)\|` on
            ``DIAGNOSE_SAMPLES`` interpolates (the penalty it would be is reported, not added).
    Returns:
        detached 0-d tensors ``(loss, w_estimate, gp, grad_norm)``: :math:`L_C`, the critic's
        :math:`\mathbb{E}C(x) - \mathbb{E}C(\tilde x)`, the penalty (0 if neither on nor measured)
        and the mean gradient norm (the R1 penalty, when on, is added to the penalty reported).
    """
    d_loss_fn = _loss_pair(loss)[0]
    # forward: the scores, the loss, the penalty
    real_scores, fake_scores = critic(real), critic(fake)                 # (B,), (B,)
    loss_c = d_loss_fn(real_scores, fake_scores)                          # e.g. E C(x~) - E C(x)
    gp = norms = torch.zeros((), device=real_scores.device)
    if gp_lambda > 0:                                                     # + λ E[(||∇C(x_hat)|| - 1)²]
        gp, norms = gradient_penalty(critic, real, fake, one_sided=one_sided, generator=rng, return_norms=True)
        loss_c = loss_c + gp_lambda * gp
    elif diagnose:                                                        # measured, not penalised
        norms = interpolate_gradient_norms(critic, real, fake, generator=rng, max_samples=DIAGNOSE_SAMPLES)
        gp = penalty_from_norms(norms, one_sided=one_sided)
    if r1_gamma > 0:                                                      # + γ/2 E_x ||∇C(x)||², real only
        r1 = r1_penalty(critic, real)
        loss_c = loss_c + r1_gamma / 2 * r1
        gp = gp + r1
    # backward
    optimizer.zero_grad(set_to_none=True)
    loss_c.backward()
    # update, then the constraint
    optimizer.step()
    if clip is not None:
        clip_weights_(critic, clip)                                       # w <- clip(w, -c, c)
    w_estimate = real_scores.mean() - fake_scores.mean()                  # KR dual: E C(x) - E C(x~)
    return loss_c.detach(), w_estimate.detach(), gp.detach(), norms.detach().mean()


def generator_update(generator, critic, optimizer, z, *, loss="wasserstein") -> torch.Tensor:
    r"""One generator update through the frozen critic: :math:`\theta \leftarrow \mathrm{Opt}(\theta,
    \nabla_\theta\, g(C(G_\theta(z))))` (WGAN Algorithm 1, lines 9–11), ``g`` the generator half of
    ``LOSSES[loss]``. ``z``: ``(B, z_dim)`` codes. Returns the loss, detached."""
    g_loss_fn = _loss_pair(loss)[1]
    with frozen(critic):                                                  # no gradient into C
        # forward
        fake_scores = critic(generator(z))                                # (B,)
        loss_g = g_loss_fn(fake_scores)                                   # e.g. -E C(G(z))
        # backward
        optimizer.zero_grad(set_to_none=True)
        loss_g.backward()
    # update
    optimizer.step()
    return loss_g.detach()


def make_optimizer(recipe, params, lr: float, *, capturable: bool = False) -> torch.optim.Optimizer:
    """The recipe's optimiser over ``params``: RMSprop (WGAN) or Adam with the recipe's betas.

    Adam is torch's fused kernel where this torch has it (~15% faster on a CPU, benchmarks/).
    ``capturable`` (a CUDA graph replays the step): the learning rate becomes a 0-d tensor on the
    parameters' device, which :func:`set_lr` fills in place.
    """
    params = list(params)
    if capturable:
        lr = torch.tensor(float(lr), device=params[0].device)
    if recipe.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, capturable=capturable)
    try:
        return torch.optim.Adam(params, lr=lr, betas=recipe.betas, fused=True, capturable=capturable)
    except (TypeError, RuntimeError):  # no fused Adam for these parameters or in this torch
        return torch.optim.Adam(params, lr=lr, betas=recipe.betas, capturable=capturable)


def set_lr(optimizer: torch.optim.Optimizer, lr: float):
    """Set every group's learning rate to ``lr`` (in place where it is a tensor a CUDA graph reads)."""
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def _loss_pair(loss: str):
    """``LOSSES[loss]``: the (critic, generator) loss functions, or a ValueError naming the choices."""
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r} is not known; choose one of: {', '.join(LOSSES)}")
    return LOSSES[loss]


@contextlib.contextmanager
def frozen(module: torch.nn.Module):
    """Stop gradients into ``module``'s parameters (the critic during the generator update)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)
