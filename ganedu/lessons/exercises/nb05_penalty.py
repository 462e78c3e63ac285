r"""Checks for notebook 05 (gradient penalty), the exercise in two parts.

1. ``check_get_gradient(get_gradient)``: ``get_gradient(critic, real, fake) -> gradient``, the
   gradient of the critic's scores with respect to the mixed images
   :math:`\hat x = \epsilon x + (1 - \epsilon) g(z)`, one :math:`\epsilon \sim U[0, 1]` per sample.
2. ``check_gradient_penalty(gradient_penalty)``: ``gradient_penalty(gradient) -> scalar``,
   :math:`\mathbb{E}_i (\|g_i\|_2 - 1)^2` with the norm over each sample's whole gradient
   (Gulrajani et al. 2017, Eq. 3; λ is applied by the caller).

The checks run the student's function on random inputs and compare with a reference computed
here sample by sample. They recognise the known pitfalls (ε shared across the batch, ε from a
normal, ε per pixel, a missing ``create_graph=True``, the norm over the whole batch or per pixel,
NaN at a zero gradient) and explain them without printing the solution.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .core import report, run_student

__all__ = ["check_get_gradient", "check_gradient_penalty"]

_TOL = dict(rtol=1e-4, atol=1e-6)


class _Recorder(nn.Module):
    """A small smooth critic that remembers every input it is called with."""

    def __init__(self, in_dim: int, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.l1, self.l2 = nn.Linear(in_dim, 16), nn.Linear(16, 1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        self.inputs = []

    def forward(self, x):
        self.inputs.append(x)
        h = torch.tanh(self.l1(x.reshape(x.shape[0], -1)))  # (B, 16)
        return self.l2(h).squeeze(1)  # (B,)


def _pairs(shape, seed):
    """real, fake with |real - fake| >= 0.5 everywhere, so ε can be read back from x_hat."""
    g = torch.Generator().manual_seed(seed)
    fake = torch.randn(shape, generator=g)
    sign = torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)
    real = fake + sign * (0.5 + torch.rand(shape, generator=g))
    return real, fake


def _call(name, fn, *args):
    """Run the student's function; any error becomes (None, message)."""
    try:
        return run_student(name, fn, *args), None
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - report the student's error, never a traceback
        return None, f"your function raised {type(exc).__name__}: {exc}"


def _ks_uniform_p(eps: torch.Tensor) -> float:
    from scipy import stats
    return float(stats.kstest(eps.double().numpy(), "uniform").pvalue)


def _mixing_weights(x_hat, real, fake):
    """ε per value, from x_hat = ε real + (1 - ε) fake; (B, n) with n values per sample."""
    B = real.shape[0]
    return ((x_hat - fake) / (real - fake)).detach().reshape(B, -1)


def _eps_problem(eps_vals: torch.Tensor, per_value: bool) -> str | None:
    """What is wrong with the mixing weights (B, n) read back from x_hat, or None."""
    lo, hi = float(eps_vals.min()), float(eps_vals.max())
    if lo < -1e-4 or hi > 1 + 1e-4:
        return (f"some mixing weights ε fall outside [0, 1] (from {lo:.2f} to {hi:.2f}), so those x̂ are "
                "not between their real and fake sample. Which distribution are you drawing ε from?")
    if per_value and eps_vals.shape[1] > 1 and float((eps_vals.max(1).values - eps_vals.min(1).values).max()) > 1e-4:
        return ("the values inside one sample got different ε: then x̂ is not on the segment between that "
                "real and that fake image. Draw one ε per sample and let it broadcast over the other dims.")
    eps = eps_vals[:, 0]
    if float(eps.max() - eps.min()) < 1e-6:
        return (f"every sample in the batch got the same ε ({float(eps[0]):.3f}): all x̂ sit at the same "
                "fraction of their segments. Draw one ε per sample, not one per batch.")
    p = _ks_uniform_p(eps)
    if p < 1e-4:
        return (f"your ε are not spread evenly over [0, 1] (mean {float(eps.mean()):.3f}, expected 0.5; "
                f"min {float(eps.min()):.3f}, max {float(eps.max()):.3f}). A widely copied pseudocode guesses "
                "'??? small number?': it is not. x̂ must cover the whole segment between real and fake.")
    return None


def check_get_gradient(get_gradient) -> bool:
    r"""Check ``get_gradient(critic, real, fake)``: the critic's gradient at :math:`\hat x`, one ε per sample.

    Uses 2D points and small images ``(B, 1, 4, 4)``; the critic records its inputs, so the check
    reads x̂ back and infers the ε your code drew.
    """
    name = "get_gradient"
    for shape, per_value in (((512, 2), True), ((512, 1, 4, 4), True)):
        real, fake = _pairs(shape, seed=sum(shape))
        critic = _Recorder(math.prod(shape[1:]), seed=len(shape))
        with torch.random.fork_rng(devices=[]):  # a fixed draw: a right answer never fails by chance
            torch.manual_seed(len(shape))
            grad, err = _call(name, get_gradient, critic, real.clone(), fake.clone())
        if err:
            return report(name, False, err + " (real and fake had shape " f"{tuple(shape)}).")
        if not isinstance(grad, torch.Tensor):
            return report(name, False, f"return the gradient as a tensor, got {type(grad).__name__}.")
        if tuple(grad.shape) != tuple(shape):
            return report(name, False, f"the gradient should have the shape of the mixed images, {tuple(shape)} "
                                       f"(one value per input value), got {tuple(grad.shape)}.")
        calls = [x for x in critic.inputs if isinstance(x, torch.Tensor) and tuple(x.shape) == tuple(shape)]
        if not calls:
            return report(name, False, "your function never called the critic on a batch of mixed images.")
        x_hat = calls[-1]
        if torch.allclose(x_hat, real) or torch.allclose(x_hat, fake):
            return report(name, False, "the critic was last called on the real (or the fake) batch itself, "
                                       "not on the mixed images x̂ = ε·real + (1 − ε)·fake.")
        problem = _eps_problem(_mixing_weights(x_hat, real, fake), per_value)
        if problem:
            return report(name, False, problem)
        # the gradient itself, against autograd at the same x_hat
        x_ref = x_hat.detach().clone().requires_grad_(True)
        critic.inputs = []
        scores = critic(x_ref)
        (ref,) = torch.autograd.grad(scores.sum(), x_ref, create_graph=True)
        if not torch.allclose(grad.detach(), ref.detach(), **_TOL):
            return report(name, False, "the values are not the gradient of the critic's scores with respect to "
                                       "the mixed images (each sample's score differentiated wrt its own x̂).")
        if not grad.requires_grad or grad.grad_fn is None:
            return report(name, False, "the gradient is right but cut off from the critic's weights: a penalty "
                                       "built from it cannot train the critic (its derivative wrt the weights "
                                       "would be missing). Ask autograd to keep the graph of this derivative.")
        params = list(critic.parameters())
        got = torch.autograd.grad((grad ** 2).sum(), params, allow_unused=True, materialize_grads=True)
        want = torch.autograd.grad((ref ** 2).sum(), params, allow_unused=True, materialize_grads=True)
        if not all(torch.allclose(a, b, **_TOL) for a, b in zip(got, want)):
            return report(name, False, "the gradient's derivative wrt the critic's weights is not right: "
                                       "differentiate the critic at x̂ itself, without detaching anything.")
    # fresh ε at every call
    real, fake = _pairs((256, 2), seed=7)
    seen = []
    for _ in range(2):
        critic = _Recorder(2, seed=1)
        _, err = _call(name, get_gradient, critic, real, fake)
        if err:
            return report(name, False, err)
        seen.append(_mixing_weights(critic.inputs[-1], real, fake)[:, 0])
    if torch.allclose(seen[0], seen[1]):
        return report(name, False, "two calls gave the same ε: draw fresh mixing weights at every call.")
    return report(name, True, "the gradient of the critic at x̂, one ε ~ U[0, 1] per sample, fresh at each "
                              "call, and the graph is kept so the penalty can train the critic.")


def _reference_penalty(g: torch.Tensor) -> float:
    """Per-sample loop in float64: mean over samples of (||g_i||_2 - 1)^2."""
    terms = []
    for gi in g.detach().double():
        terms.append((math.sqrt(float((gi ** 2).sum())) - 1.0) ** 2)
    return sum(terms) / len(terms)


def _reference_grad(g: torch.Tensor) -> torch.Tensor:
    """d/dg of mean_i (||g_i|| - 1)^2 = (2/B)(||g_i|| - 1) g_i / ||g_i|| (0 for g_i = 0)."""
    B = g.shape[0]
    flat = g.detach().double().reshape(B, -1)
    norms = flat.norm(dim=1, keepdim=True)
    safe = torch.where(norms > 0, norms, torch.ones_like(norms))
    out = torch.where(norms > 0, 2.0 / B * (norms - 1) * flat / safe, torch.zeros_like(flat))
    return out.reshape(g.shape)


def check_gradient_penalty(gradient_penalty) -> bool:
    r"""Check ``gradient_penalty(gradient)`` = :math:`\frac1B\sum_i (\|g_i\|_2 - 1)^2`, without λ."""
    name = "gradient_penalty"
    gen = torch.Generator().manual_seed(5)
    for shape in ((64, 2), (16, 3, 4, 4)):
        g = (torch.randn(shape, generator=gen) * 0.6).requires_grad_(True)
        out, err = _call(name, gradient_penalty, g)
        if err:
            return report(name, False, err + f" (the gradient had shape {tuple(shape)}).")
        if not isinstance(out, torch.Tensor):
            return report(name, False, f"return a tensor (so the penalty can be back-propagated), got "
                                       f"{type(out).__name__}.")
        ref = _reference_penalty(g)
        B, flat = shape[0], g.detach().double().reshape(shape[0], -1)
        if out.numel() != 1:
            hint = ("one value per pixel: the norm must run over each sample's whole gradient, all dims but "
                    "the batch" if out.dim() > 1 else "one value per sample: average them over the batch")
            return report(name, False, f"the penalty should be one number, got shape {tuple(out.shape)} ({hint}).")
        value = float(out.detach())
        if not math.isfinite(value):
            return report(name, False, f"the penalty is {value} on an ordinary gradient.")
        if math.isclose(value, ref, rel_tol=1e-4, abs_tol=1e-7):
            pass
        elif math.isclose(value, (float(flat.norm()) - 1) ** 2, rel_tol=1e-4):
            return report(name, False, "this is one norm over the whole batch: the penalty asks each sample's "
                                       "gradient to have norm 1, so take one norm per sample, then average.")
        elif len(shape) > 2 and math.isclose(value, float(((g.detach().double().norm(dim=1) - 1) ** 2).mean()),
                                             rel_tol=1e-4):
            return report(name, False, "this takes a norm per pixel (over the channels only): each image's "
                                       "gradient is one vector, so the norm runs over all its dims.")
        elif math.isclose(value, 10 * ref, rel_tol=1e-4):
            return report(name, False, "the value is 10 times too large: return the penalty without λ "
                                       "(the critic loss multiplies it by gp_lambda).")
        else:
            return report(name, False, f"the value {value:.5f} differs from the expected {ref:.5f} on a gradient "
                                       f"of shape {tuple(shape)}: per sample, the squared distance of the "
                                       "gradient's norm to 1, averaged over the batch.")
        if not out.requires_grad:
            return report(name, False, "the value is right but it is detached from the gradient (no autograd "
                                       "graph), so it could not train the critic. Stay in torch operations.")
        (d,) = torch.autograd.grad(out, g)
        if not torch.allclose(d.double(), _reference_grad(g), rtol=1e-3, atol=1e-6):
            return report(name, False, "the value is right but its derivative is not: stay in torch operations "
                                       "on the gradient (no .detach(), .item() or NumPy).")
    # a sample with zero gradient (a flat, dead-ReLU region of the critic)
    g = torch.randn(8, 2, generator=gen)
    g[3] = 0.0
    g.requires_grad_(True)
    out, err = _call(name, gradient_penalty, g)
    if err:
        return report(name, False, err + " (on a gradient where one sample's gradient is exactly 0).")
    if not torch.isfinite(out.detach()).all() or not math.isclose(float(out.detach()), _reference_penalty(g),
                                                                  rel_tol=1e-4):
        return report(name, False, "on a batch where one sample's gradient is exactly 0 the value is not right.")
    (d,) = torch.autograd.grad(out, g)
    if not torch.isfinite(d).all():
        return report(name, False, "when one sample's gradient is exactly 0 (a flat region of a ReLU critic), the "
                                   "penalty's derivative is NaN, and one NaN ruins every weight of the critic at "
                                   "the next update. The derivative of a square root is infinite at 0: use a "
                                   "norm whose derivative is defined there.")
    rows = [i for i in range(8) if i != 3]
    if not torch.allclose(d[rows].double(), _reference_grad(g)[rows], rtol=1e-3, atol=1e-6):
        return report(name, False, "with one zero gradient in the batch, the derivative for the other samples "
                                   "is not right.")
    return report(name, True, "one norm per sample over all its dims, (norm − 1)² averaged over the batch, "
                              "differentiable, and finite when a gradient is exactly 0.")
