r"""Keeping the critic Lipschitz: weight clipping, gradient penalty, spectral normalisation.

The Wasserstein critic must be 1-Lipschitz, :math:`|c(x) - c(y)| \le \|x - y\|` (Arjovsky et al.
2017, §3). Three ways to get there, in the order the course meets them:

1. **Weight clipping** (WGAN, Algorithm 1 line 7): clamp every parameter to :math:`[-c, c]`.
2. **Gradient penalty** (WGAN-GP, Gulrajani et al. 2017, Eq. 3): push
   :math:`\|\nabla_{\hat x} c(\hat x)\|_2` towards 1 on random points between real and fake samples.
   Beside it the **R1 penalty** (Mescheder et al. 2018, Eq. 9), which pushes the gradient towards 0
   on real data only: not a Lipschitz constraint, a regulariser that makes the game converge.
3. **Spectral normalisation** (SNGAN, Miyato et al. 2018): divide each layer's weight by its
   largest singular value, estimated by one step of power iteration per training step.

Everything here is shape-agnostic: 2D points ``(B, 2)`` and images ``(B, C, H, W)`` alike.

Longer than the ~300 lines of most modules, on purpose: the three constraints are one lesson, and
they share their pieces (the per-sample gradient norm serves the penalty, the diagnostics and the
plots; the BatchNorm rule belongs to the penalty), so a student reads them side by side here.
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd, _ConvTransposeNd
from torch.nn.utils import parametrize

from .checks import check_int, check_number, check_tensor, check_type

__all__ = ["clip_weights_", "interpolate", "input_gradient", "gradient_norms", "penalty_from_norms",
           "interpolate_gradient_norms", "gradient_penalty", "r1_penalty", "check_no_batchnorm", "power_iteration", "SpectralNormParam",
           "spectral_norm", "remove_spectral_norm", "layer_sigmas", "lipschitz_estimate"]

_LAYERS = (nn.Linear, _ConvNd)  # _ConvNd covers Conv1d/2d/3d and ConvTranspose1d/2d/3d


def _check_module(module):
    check_type("module", module, nn.Module, "a torch.nn.Module")


# =========================================================================== 1. weight clipping
def clip_weights_(module: nn.Module, c: float) -> nn.Module:
    r""":math:`w \leftarrow \operatorname{clip}(w, -c, c)` for **every** parameter, in place.

    Arjovsky et al. 2017 (WGAN), Algorithm 1, line 7 (c = 0.01). Like the paper's code
    (``for p in netD.parameters(): p.data.clamp_(-c, c)``) it clips all parameters: weights,
    biases, norm-layer scales. Call it after each critic update.

    Args:
        module: the critic.
        c: clip value, a positive finite number.
    Returns:
        ``module`` itself (its parameters were changed in place).
    """
    _check_module(module)
    check_number("c", c, gt=0, expected="> 0 (a positive finite number such as 0.01)")
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)
    return module


# =========================================================================== 2. gradient penalty
def interpolate(real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor | None = None, *,
                generator: torch.Generator | None = None) -> torch.Tensor:
    r""":math:`\hat x = \epsilon x + (1 - \epsilon)\tilde x`, :math:`\epsilon \sim U[0, 1]`, one ε per sample.

    Gulrajani et al. 2017 (WGAN-GP), Algorithm 1, lines 4 and 6. A widely copied pseudocode writes ε as
    "??? small number?": it is not a small number, but a fresh uniform draw for *each sample*, shape ``(B, 1, ..., 1)``, broadcast
    over that sample's other dims, so x̂ lies on the segment between a real and a fake point.

    Args:
        real: ``(B, ...)`` real samples.
        fake: ``(B, ...)`` generated samples, same shape as ``real``.
        eps: optional ``(B,)`` or ``(B, 1, ..., 1)`` mixing weights in ``[0, 1]``; drawn when None.
        generator: optional ``torch.Generator`` for drawing ε (a trainer's own seeded stream).
    Returns:
        ``(B, ...)`` tensor ``x_hat``.
    """
    check_tensor("real", real, floating=True)
    check_tensor("fake", fake, floating=True)
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, "
                         f"got real {tuple(real.shape)} and fake {tuple(fake.shape)}")
    B = real.shape[0]
    eps_shape = (B,) + (1,) * (real.ndim - 1)  # (B, 1, ..., 1)
    if eps is None:
        device = real.device if generator is None else generator.device
        eps = torch.rand(eps_shape, generator=generator, device=device, dtype=real.dtype).to(real.device)
    else:
        if not isinstance(eps, torch.Tensor):
            raise TypeError(f"eps must be a torch.Tensor of shape ({B},), got {type(eps).__name__}")
        if eps.numel() != B or eps.ndim not in (1, real.ndim) or eps.shape[0] != B:
            raise ValueError(f"eps must hold one value per sample: shape ({B},) or {eps_shape}, "
                             f"got {tuple(eps.shape)}")
        if not bool(((eps >= 0) & (eps <= 1)).all()):
            raise ValueError(f"eps must lie in [0, 1], got values in [{eps.min().item()}, {eps.max().item()}]")
        eps = eps.reshape(eps_shape).to(device=real.device, dtype=real.dtype)
    # x_hat = eps * x + (1 - eps) * x_tilde
    return eps * real + (1 - eps) * fake


def input_gradient(critic, x_hat: torch.Tensor, *, create_graph: bool = True) -> torch.Tensor:
    r""":math:`\nabla_{\hat x} c(\hat x)` for every sample at once.

    Each score depends only on its own sample, so row i of the gradient of
    :math:`\sum_i c(\hat x_i)` is :math:`\nabla c(\hat x_i)`: one backward pass for the batch
    (``grad_outputs`` of ones). With ``create_graph=True`` the result can be differentiated again
    wrt the critic's parameters, which the gradient penalty needs.

    Args:
        critic: callable ``(B, ...) -> (B,)`` (or ``(B, 1)``).
        x_hat: ``(B, ...)`` points where the gradient is taken.
        create_graph: keep the graph for a second derivative (True for the penalty).
    Returns:
        tensor shaped like ``x_hat``.

    Under mixed precision (``torch.autocast``) this critic pass runs with autocast off, in
    ``x_hat``'s own dtype (float32 in the trainer), so the penalty and its double backward are
    computed in float32 whatever precision the rest of the step uses.
    """
    check_tensor("x_hat", x_hat, floating=True)
    if not x_hat.requires_grad:
        x_hat = x_hat.detach().requires_grad_(True)
    with _autocast_off(x_hat.device.type):
        scores = critic(x_hat)  # (B,)
    B = x_hat.shape[0]
    if not isinstance(scores, torch.Tensor) or scores.shape not in ((B,), (B, 1)):
        got = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(f"critic must return one score per sample, shape ({B},), got {got}")
    if not scores.requires_grad:  # a critic without parameters that ignores its input
        return torch.zeros_like(x_hat)
    (grad,) = torch.autograd.grad(outputs=scores, inputs=x_hat, grad_outputs=torch.ones_like(scores),
                                  create_graph=create_graph, allow_unused=True)
    return torch.zeros_like(x_hat) if grad is None else grad  # None: scores ignore x_hat


def _autocast_off(device_type: str):
    """``torch.autocast(enabled=False)`` where autocast exists for ``device_type``, else nothing."""
    try:
        return torch.autocast(device_type=device_type, enabled=False)
    except (RuntimeError, ValueError):  # a device type without autocast support
        return contextlib.nullcontext()


def gradient_norms(grad: torch.Tensor) -> torch.Tensor:
    r""":math:`\|g_i\|_2` per sample over all non-batch dims: ``(B, ...) -> (B,)``.

    Not over the whole batch and not per pixel: each sample's gradient is one vector. We use
    ``torch.linalg.vector_norm``, whose derivative at :math:`g = 0` is the subgradient 0; the
    hand-written ``torch.sqrt((g ** 2).sum(1))`` has derivative :math:`g/\sqrt{0} = 0/0` there and
    turns the whole critic update into NaN (a dead-ReLU critic gets there easily).

    Args:
        grad: ``(B, ...)`` input gradients.
    Returns:
        ``(B,)`` norms.
    """
    check_tensor("grad", grad, floating=True)
    # ||g_i||_2 = sqrt(sum_j g_ij^2), g_i flattened to one vector (C*H*W values for an image)
    return torch.linalg.vector_norm(grad.reshape(grad.shape[0], -1), ord=2, dim=1)


def penalty_from_norms(norms: torch.Tensor, *, one_sided: bool = False, center: float = 1.0) -> torch.Tensor:
    r""":math:`\mathbb{E}(\|g\| - 1)^2`, or one-sided :math:`\mathbb{E}\max(0, \|g\| - 1)^2`.

    Two-sided: Gulrajani et al. 2017, Eq. 3 (their §4 compares it with a one-sided version).
    One-sided: Petzka et al. 2018 (the "LP" penalty), which only punishes norms above ``center``.
    Returned without :math:`\lambda`; the trainer multiplies by ``gp_lambda``.

    Args:
        norms: ``(B,)`` per-sample gradient norms.
        one_sided: penalise only norms above ``center``.
        center: target norm (1 for a 1-Lipschitz critic).
    Returns:
        0-d tensor.
    """
    check_tensor("norms", norms, floating=True)
    if norms.ndim != 1:
        raise ValueError(f"norms must have shape (B,), got {tuple(norms.shape)}; use gradient_norms(grad)")
    check_number("center", center, ge=0)
    gap = norms - center  # ||g|| - 1
    if one_sided:
        gap = F.relu(gap)  # max(0, ||g|| - 1)
    return (gap**2).mean()


def check_no_batchnorm(module: nn.Module) -> None:
    """Raise ``ValueError`` if ``module`` contains a BatchNorm layer (the gradient penalty forbids it)."""
    _check_module(module)
    for name, m in module.named_modules():
        if isinstance(m, _BatchNorm):
            raise ValueError(
                f"the critic contains BatchNorm ({name or 'the module itself'}: {type(m).__name__}): "
                "the gradient penalty is defined per sample, but BatchNorm makes each sample's score "
                "depend on the whole batch (WGAN-GP paper §4 'No critic batch normalization'); "
                "use norm='layer' or norm='none'")


def interpolate_gradient_norms(critic, real: torch.Tensor, fake: torch.Tensor, *, eps: torch.Tensor | None = None,
                               generator: torch.Generator | None = None, create_graph: bool = False,
                               max_samples: int | None = None) -> torch.Tensor:
    r""":math:`\|\nabla_{\hat x} c(\hat x_i)\|_2` at :math:`\hat x_i = \epsilon_i x_i + (1 - \epsilon_i)\tilde x_i`.

    The norms the gradient penalty pushes towards 1 (WGAN-GP Algorithm 1, lines 6–7), also what the
    course measures as a diagnostic for critics trained without a penalty. ε is drawn for the whole
    batch (one per sample); ``max_samples`` then keeps only the first points (a cheap diagnostic).

    Args:
        critic: ``(B, ...) -> (B,)``.
        real, fake: ``(B, ...)`` samples (detached here).
        eps, generator: see :func:`interpolate`.
        create_graph: keep the graph for a second derivative (True inside the penalty).
        max_samples: use at most this many interpolates.
    Returns:
        ``(B,)`` (or ``(max_samples,)``) norms.
    """
    x_hat = interpolate(real.detach(), fake.detach(), eps, generator=generator)  # (B, ...)
    if max_samples is not None:
        x_hat = x_hat[:max_samples]
    return gradient_norms(input_gradient(critic, x_hat, create_graph=create_graph))  # (B,)


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, *, eps: torch.Tensor | None = None,
                     one_sided: bool = False, center: float = 1.0,
                     generator: torch.Generator | None = None, return_norms: bool = False):
    r""":math:`\mathbb{E}_{\hat x}\bigl(\|\nabla_{\hat x} c(\hat x)\|_2 - 1\bigr)^2`, without λ.

    Gulrajani et al. 2017 (WGAN-GP), Eq. 3 and Algorithm 1, lines 6–7; the critic loss is
    ``critic_loss_wasserstein(...) + gp_lambda * gradient_penalty(...)`` (λ = 10 in the paper).
    ``real`` and ``fake`` are detached: the penalty trains the critic only. The Trainer calls this.

    Args:
        critic: ``nn.Module`` (or callable) ``(B, ...) -> (B,)``, without BatchNorm.
        real: ``(B, ...)`` real samples.
        fake: ``(B, ...)`` generated samples, same shape.
        eps, generator: optional ``(B,)`` mixing weights, or a generator to draw them (see :func:`interpolate`).
        one_sided, center: see :func:`penalty_from_norms`.
        return_norms: also return the ``(B,)`` norms (the training history keeps their mean).
    Returns:
        0-d tensor, differentiable wrt the critic's parameters (and the norms, with ``return_norms``).
    """
    check_tensor("real", real, floating=True)
    check_tensor("fake", fake, floating=True)
    if isinstance(critic, nn.Module):
        check_no_batchnorm(critic)
    norms = interpolate_gradient_norms(critic, real, fake, eps=eps, generator=generator, create_graph=True)
    penalty = penalty_from_norms(norms, one_sided=one_sided, center=center)  # E (||g|| - 1)²
    return (penalty, norms) if return_norms else penalty


def r1_penalty(critic, real: torch.Tensor, *, return_norms: bool = False):
    r""":math:`\mathbb{E}_{x \sim P_r}\|\nabla_x D(x)\|_2^2`, the R1 penalty without :math:`\gamma/2`.

    Mescheder et al. 2018 ("Which Training Methods for GANs do actually Converge?"), §4.1, Eq. 9:
    :math:`R_1 = \frac{\gamma}{2}\,\mathbb{E}_{x \sim p_{data}}\|\nabla_x D(x)\|^2`. Unlike the
    gradient penalty it looks at **real data only** (no interpolates, no fakes) and pushes the
    gradient towards **0**, not 1: at the equilibrium (:math:`P_g = P_r`, D constant) it costs nothing.
    The trainer adds ``r1_gamma / 2 * r1_penalty(...)`` to the discriminator's loss. ``real`` is
    detached; the squared norm is summed per sample over all non-batch dims (no square root: no NaN at 0).

    Args:
        critic: ``nn.Module`` (or callable) ``(B, ...) -> (B,)``, without BatchNorm.
        real: ``(B, ...)`` real samples.
        return_norms: also return the ``(B,)`` norms.
    Returns:
        0-d tensor, differentiable wrt the critic's parameters (and the norms, with ``return_norms``).
    """
    check_tensor("real", real, floating=True)
    if isinstance(critic, nn.Module):
        check_no_batchnorm(critic)
    grad = input_gradient(critic, real.detach(), create_graph=True)  # ∇_x D(x), (B, ...)
    squared_norms = grad.reshape(grad.shape[0], -1).pow(2).sum(1)    # ||∇_x D(x_i)||², (B,): no sqrt
    penalty = squared_norms.mean()                                    # E ||∇_x D(x)||²
    return (penalty, gradient_norms(grad.detach())) if return_norms else penalty


def _as_matrix(weight: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Reshape a weight to ``(out, -1)``; ``out`` is dim 0 (Linear, Conv) or dim 1 (ConvTranspose)."""
    return weight.movedim(dim, 0).reshape(weight.shape[dim], -1)


def power_iteration(weight: torch.Tensor, u: torch.Tensor | None = None, n_iter: int = 1,
                    eps: float = 1e-12, *, dim: int = 0):
    r"""Estimate :math:`\sigma(W)`, the largest singular value, by power iteration.

    Miyato et al. 2018, Algorithm 1: repeat :math:`v \leftarrow W^\top u / \|W^\top u\|`,
    :math:`u \leftarrow W v / \|W v\|`; then :math:`\sigma \approx u^\top W v`. We take v once more
    from the final u (as torch's ``spectral_norm`` does), so ``n_iter=0`` gives the estimate from a
    stored u without moving it (eval mode). u and v are computed under ``no_grad``: σ is
    differentiable wrt ``weight`` only, with u and v held constant.

    Args:
        weight: ``(out, in)`` or a conv kernel ``(out, in, kh, kw)``; reshaped to ``(out, -1)``.
        u: ``(out,)`` current estimate of the top left singular vector; random when None.
        n_iter: iterations (>= 0); one per training step suffices when u persists between steps.
        eps: small number in the normalisations.
        dim: the weight's output dim (1 for ConvTranspose kernels ``(in, out, kh, kw)``).
    Returns:
        ``(sigma, u)``: 0-d tensor σ and the updated ``(out,)`` vector u (a new tensor).
    """
    check_tensor("weight", weight, floating=True)
    if weight.ndim < 2:
        raise ValueError(f"weight must have at least 2 dims (out, in, ...), got shape {tuple(weight.shape)}")
    check_int("n_iter", n_iter, min=0)
    W = _as_matrix(weight, dim)  # (out, in * kh * kw)
    with torch.no_grad():
        if u is None:
            u = F.normalize(torch.randn(W.shape[0], device=W.device, dtype=W.dtype), dim=0, eps=eps)
        elif not isinstance(u, torch.Tensor) or u.shape != (W.shape[0],):
            got = tuple(u.shape) if isinstance(u, torch.Tensor) else type(u).__name__
            raise ValueError(f"u must have shape ({W.shape[0]},) (the weight's output dim), got {got}")
        # a fresh copy: never save the caller's buffer for backward (the caller updates it in place)
        u = u.detach().clone()
        for _ in range(n_iter):
            v = F.normalize(W.t() @ u, dim=0, eps=eps)  # v = W^T u / ||W^T u||
            u = F.normalize(W @ v, dim=0, eps=eps)  # u = W v / ||W v||
        v = F.normalize(W.t() @ u, dim=0, eps=eps)
    # sigma = u^T W v  (gradient flows through W only)
    sigma = torch.dot(u, W @ v)
    return sigma, u


class SpectralNormParam(nn.Module):
    r"""Parametrisation :math:`W \mapsto W / \sigma(W)` with a persistent power-iteration vector ``u``.

    Registered on a layer's ``weight`` by :func:`spectral_norm`. In training mode each forward
    pass does ``n_power_iterations`` steps and stores the new u; in eval mode u stays as it is.
    """

    def __init__(self, weight: torch.Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        super().__init__()
        check_int("n_power_iterations", n_power_iterations, min=1)
        self.n_power_iterations, self.dim, self.eps = n_power_iterations, dim, eps
        # start from a good u, as torch does (15 iterations); afterwards one per step keeps it good
        _, u = power_iteration(weight.detach(), None, n_iter=15, eps=eps, dim=dim)
        self.register_buffer("u", u)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        n_iter = self.n_power_iterations if self.training else 0
        sigma, u = power_iteration(weight, self.u, n_iter=n_iter, eps=self.eps, dim=self.dim)
        if self.training:
            with torch.no_grad():
                self.u.copy_(u)  # safe: sigma saved its own copy of u for backward, not this buffer
        return weight / sigma  # W_SN = W / sigma(W)

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value  # `layer.weight = W` stores W itself as the unnormalised weight


def _layers(module: nn.Module):
    """[(name, layer)]: the module itself if it is a Linear/Conv layer, else every such submodule."""
    if isinstance(module, _LAYERS):
        return [("", module)]
    return [(name, m) for name, m in module.named_modules() if isinstance(m, _LAYERS)]


def _has_sn(layer: nn.Module) -> bool:
    return parametrize.is_parametrized(layer, "weight") and any(
        isinstance(p, SpectralNormParam) for p in layer.parametrizations.weight)


def spectral_norm(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    r""":math:`W \mapsto W/\sigma(W)` on a Linear/Conv layer, or on every such layer of a container.

    Miyato et al. 2018, Eq. 8, via ``torch.nn.utils.parametrize``: ``layer.weight`` becomes the
    normalised weight; the raw one lives in ``layer.parametrizations.weight.original``.
    ConvTranspose kernels are ``(in, out, kh, kw)``, so their dim 1 is the output (as in torch).

    Args:
        module: a Linear / Conv* / ConvTranspose* layer, or a module containing some.
        n_power_iterations: power-iteration steps per training forward pass.
    Returns:
        ``module`` itself.
    """
    _check_module(module)
    layers = _layers(module)
    if not layers:
        raise ValueError(f"module ({type(module).__name__}) has no Linear / Conv layer to normalise")
    for name, layer in layers:
        if _has_sn(layer):
            raise ValueError(f"layer {name or type(layer).__name__} already has spectral_norm")
        dim = 1 if isinstance(layer, _ConvTransposeNd) else 0
        parametrize.register_parametrization(layer, "weight", SpectralNormParam(layer.weight, n_power_iterations, dim))
    return module


def remove_spectral_norm(module: nn.Module) -> nn.Module:
    """Undo :func:`spectral_norm`: each layer keeps its current normalised weight as a plain parameter."""
    _check_module(module)
    layers = [layer for _, layer in _layers(module) if _has_sn(layer)]
    if not layers:
        raise ValueError(f"module ({type(module).__name__}) has no spectral_norm to remove")
    for layer in layers:
        parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    return module


@contextlib.contextmanager
def _frozen_power_iteration(module):
    """Pause power iteration (ours and torch's) so that reading weights leaves u as it is."""
    modules = module.modules() if isinstance(module, nn.Module) else []
    sn = [m for m in modules if isinstance(m, SpectralNormParam) or type(m).__name__ == "_SpectralNorm"]
    modes = [m.training for m in sn]
    for m in sn:
        m.train(False)
    try:
        yield
    finally:
        for m, mode in zip(sn, modes):
            m.train(mode)


def layer_sigmas(module: nn.Module) -> dict:
    r"""Exact :math:`\sigma_{\max}` of each Linear/Conv layer's *effective* weight (after normalisation).

    ``torch.linalg.matrix_norm(W.reshape(out, -1), 2)``, an SVD, not an estimate; u is not updated.
    Returns ``{layer name: sigma}`` in module order.
    """
    _check_module(module)
    sigmas = {}
    with _frozen_power_iteration(module), torch.no_grad():
        for name, layer in _layers(module):
            W = _as_matrix(layer.weight, 1 if isinstance(layer, _ConvTransposeNd) else 0)  # (out, -1)
            sigmas[name or type(layer).__name__] = torch.linalg.matrix_norm(W, ord=2).item()
    return sigmas


def lipschitz_estimate(critic, x: torch.Tensor) -> float:
    r""":math:`\max_i \|\nabla_x c(x_i)\|_2` over the batch: a *lower* bound on the Lipschitz constant.

    The critic keeps its train/eval mode; spectral-norm vectors u are not updated.

    Args:
        critic: callable ``(B, ...) -> (B,)``.
        x: ``(B, ...)`` points to probe (e.g. real, fake and interpolates).
    Returns:
        a float.
    """
    with _frozen_power_iteration(critic):
        grad = input_gradient(critic, x, create_graph=False)
    return gradient_norms(grad).max().item()
