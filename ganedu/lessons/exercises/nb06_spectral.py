r"""Checks for notebook 06 (spectral normalisation): power iteration from scratch.

``check_power_iteration(power_iteration)``: ``power_iteration(W, u, n_iter) -> (sigma, u_new)``
runs Miyato et al. 2018, Algorithm 1, ``n_iter`` times from the given unit vector ``u``::

    v <- W^T u / ||W^T u||
    u <- W v / ||W v||
    sigma = u^T W v          (with the u and v of the last iteration)

and returns a **new** u (the caller keeps it for the next training step). The check compares
with a reference computed here in float64, with ``torch.linalg.matrix_norm(W, 2)`` after many
iterations, and catches the usual slips: a missing normalisation, W and Wᵀ swapped, ignoring the
given u, returning the old u, an SVD instead of the iteration, and changing u in place.
"""
from __future__ import annotations

import math

import torch

from .core import report, run_student

__all__ = ["check_power_iteration"]


def _reference(W: torch.Tensor, u: torch.Tensor, n_iter: int):
    """Algorithm 1 of Miyato et al. 2018 in float64, written out plainly."""
    W, u = W.double(), u.double()
    for _ in range(n_iter):
        v = W.T @ u
        v = v / v.norm()
        u = W @ v
        u = u / u.norm()
    return float(u @ W @ v), u


def _matrix(out_dim, in_dim, seed, gap=None):
    """A random (out, in) matrix; with ``gap``, its top two singular values are 1 and ``gap``."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(out_dim, in_dim, generator=g)
    if gap is not None:
        U, S, Vh = torch.linalg.svd(W, full_matrices=False)
        S = torch.linspace(1.0, 0.1, len(S))
        S[1] = gap
        W = U @ torch.diag(S) @ Vh
    return W


def _unit(n, seed):
    u = torch.randn(n, generator=torch.Generator().manual_seed(seed))
    return u / u.norm()


def _call(name, fn, W, u, n_iter):
    try:
        out = run_student(name, fn, W, u, n_iter)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - explain, never a traceback
        return None, (f"your function raised {type(exc).__name__}: {exc}. Shapes: W is (out, in) = "
                      f"{tuple(W.shape)}, u is (out,) = ({W.shape[0]},), v is (in,) = ({W.shape[1]},).")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return None, f"return two things, (sigma, u), got {type(out).__name__}."
    sigma, u_new = out
    try:
        sigma = float(sigma)
    except (TypeError, ValueError, RuntimeError):
        return None, f"sigma should be one number (a 0-d tensor or a float), got {sigma!r:.60}."
    if not isinstance(u_new, torch.Tensor) or tuple(u_new.shape) != (W.shape[0],):
        got = tuple(u_new.shape) if isinstance(u_new, torch.Tensor) else type(u_new).__name__
        return None, f"the new u should be a tensor of shape ({W.shape[0]},) (the output dim of W), got {got}."
    return (sigma, u_new.detach().double()), None


def check_power_iteration(power_iteration) -> bool:
    r"""Check ``power_iteration(W, u, n_iter) -> (sigma, u)`` (Miyato et al. 2018, Algorithm 1)."""
    name = "power_iteration"
    # 1. one and three iterations from a given u, on a non-square matrix whose top singular
    #    values are close (0.9 apart), so one step is visibly short of the true sigma
    W = _matrix(6, 10, seed=0, gap=0.9)
    true_sigma = float(torch.linalg.matrix_norm(W.double(), 2))
    for n_iter in (1, 3):
        u0 = _unit(6, seed=n_iter)
        u_in = u0.clone()
        out, err = _call(name, power_iteration, W.clone(), u_in, n_iter)
        if err:
            return report(name, False, err)
        sigma, u_new = out
        if not torch.equal(u_in, u0):
            return report(name, False, "your function changed the u it was given in place. Return a new vector "
                                       "instead: an in-place change to a tensor autograd saved is exactly what "
                                       "breaks a spectral-norm critic called twice before backward (§ pitfall).")
        ref_sigma, ref_u = _reference(W, u0, n_iter)
        if not math.isclose(float(u_new.norm()), 1.0, rel_tol=1e-4):
            return report(name, False, f"the returned u has norm {float(u_new.norm()):.4f}; after each product "
                                       "with W (or Wᵀ) divide the vector by its norm.")
        if torch.allclose(u_new, u0.double(), atol=1e-6) and not torch.allclose(ref_u, u0.double(), atol=1e-6):
            return report(name, False, "you returned the u you were given: return the updated u, the one the next "
                                       "training step will start from.")
        if not torch.allclose(u_new, ref_u, rtol=1e-4, atol=1e-5):
            if torch.allclose(u_new, -ref_u, rtol=1e-4, atol=1e-5):
                return report(name, False, "your u points the opposite way: keep the sign that the products give.")
            return report(name, False, f"after {n_iter} iteration(s) from the given u, the new u is not the one "
                                       "Algorithm 1 gives. Start from the u you are given, v from Wᵀu, then u "
                                       "from Wv, normalising each.")
        if math.isclose(sigma, true_sigma, rel_tol=1e-5) and not math.isclose(ref_sigma, true_sigma, rel_tol=1e-5):
            return report(name, False, "sigma is the exact largest singular value (an SVD?) but after "
                                       f"{n_iter} iteration(s) the estimate should still be {ref_sigma:.4f}; "
                                       "compute it from the u and v of the iteration.")
        if not math.isclose(sigma, ref_sigma, rel_tol=1e-4):
            return report(name, False, f"after {n_iter} iteration(s) sigma should be {ref_sigma:.5f} (true "
                                       f"σ(W) = {true_sigma:.5f}), got {sigma:.5f}: sigma = uᵀ W v with the u and v "
                                       "of the last iteration.")
    # 2. converges to torch.linalg.matrix_norm(W, 2) with many iterations, on a square matrix
    W = _matrix(32, 32, seed=3)
    true_sigma = float(torch.linalg.matrix_norm(W.double(), 2))
    out, err = _call(name, power_iteration, W, _unit(32, seed=9), 200)
    if err:
        return report(name, False, err)
    if not math.isclose(out[0], true_sigma, rel_tol=1e-4):
        return report(name, False, f"with 200 iterations sigma should reach σ(W) = {true_sigma:.5f} "
                                   f"(torch.linalg.matrix_norm(W, 2)), got {out[0]:.5f}.")
    # 3. the result depends on the u given (it is not drawn afresh inside)
    W = _matrix(6, 10, seed=4, gap=0.95)
    a, err = _call(name, power_iteration, W, _unit(6, seed=11), 1)
    b, err2 = _call(name, power_iteration, W, _unit(6, seed=11), 1)
    if err or err2:
        return report(name, False, err or err2)
    if not torch.allclose(a[1], b[1], atol=1e-6):
        return report(name, False, "two calls with the same W and u gave different results: start from the u you "
                                   "are given, not from a fresh random vector (u must persist between steps).")
    return report(name, True, "Algorithm 1 from the given u: the estimate matches after 1 and 3 iterations and "
                              "converges to torch.linalg.matrix_norm(W, 2); the new u is returned, the old one "
                              "left untouched.")
