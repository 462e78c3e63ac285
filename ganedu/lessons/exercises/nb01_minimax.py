r"""Checks for notebook 01 (the minimax game): the GAN losses written from logits.

1. ``check_d_loss(d_loss)``: ``d_loss(real_logits, fake_logits) -> scalar``, the discriminator's
   binary cross-entropy :math:`-\mathbb{E}\log D(x) - \mathbb{E}\log(1 - D(G(z)))` with
   :math:`D = \sigma(\text{logit})` (Goodfellow et al. 2014, Eq. 1, negated so it is minimised).
2. ``check_g_loss(g_loss)``: ``g_loss(fake_logits) -> scalar``, the non-saturating generator loss
   :math:`-\mathbb{E}\log D(G(z))` (Goodfellow et al. 2014, §3).

Both take logits of shape ``(B,)``. The checks compare with a reference computed here with
``torch.nn.functional.logsigmoid`` on random logits, then on extreme ones (±20, ±120), and
recognise the known pitfalls: a sign error (the value maximised instead of the loss), real and
fake swapped, the misplaced log of a widely copied formula, a sum instead of a mean, probabilities taken for logits,
``log(sigmoid(·))`` overflowing to ``inf`` / ``nan``, and the saturating generator loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .core import report, run_student

__all__ = ["check_d_loss", "check_g_loss"]

_TOL = dict(rtol=1e-4, atol=1e-5)


def _logits(seed: int, n: int = 64, scale: float = 2.0) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed)) * scale


def _call(name, fn, *args):
    """Run the student's function on copies of the inputs that track gradients.

    Returns ``(value, grads, error)``: the loss as a float tensor, the gradients with respect to
    each input (None where none flows), or an error message for the student.
    """
    inputs = [a.clone().requires_grad_(True) for a in args]
    try:
        out = run_student(name, fn, *inputs)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - report the student's error, not a traceback
        return None, None, f"your function raised {type(exc).__name__}: {exc}"
    if not isinstance(out, torch.Tensor):
        return None, None, f"return a torch.Tensor (a scalar loss), got {type(out).__name__}."
    if out.numel() != 1:
        return None, None, (f"return one number, the mean over the batch, got a tensor of shape "
                            f"{tuple(out.shape)}.")
    grads = [None] * len(inputs)
    if out.requires_grad:
        grads = list(torch.autograd.grad(out.reshape(()), inputs, allow_unused=True))
    return out.detach().reshape(()).double(), grads, None


def _close(value, target) -> bool:
    return bool(torch.isclose(value, torch.as_tensor(target, dtype=torch.float64),
                              rtol=_TOL["rtol"], atol=_TOL["atol"]))


# ------------------------------------------------------------------------------ references
def _d_ref(r, f):
    return -(F.logsigmoid(r).double().mean() + F.logsigmoid(-f).double().mean())


def _g_ref(f):
    return -F.logsigmoid(f).double().mean()


def _d_variants(r, f):
    """What common mistakes compute, name -> (value, explanation without the answer)."""
    r, f = r.double(), f.double()
    ls = F.logsigmoid
    return {
        "sign": (-_d_ref(r, f), "the sign is flipped: you return V(D, G), the value the "
                 "discriminator *maximises*. An optimiser minimises, so return the loss whose "
                 "minimum is the discriminator's best play."),
        "swap": (-(ls(-r).mean() + ls(f).mean()), "real and fake are swapped: your loss is small "
                 "when the discriminator calls the real data fake. D(x) should go to 1 on real data "
                 "and to 0 on generated data."),
        "misplaced_log": (-(ls(r).mean() + (1 - ls(f)).mean()), "this is a widely copied formula that "
                    "misplaces the log: the fake term must be the log of (1 − D(G(z))), not 1 minus a log."),
        "sum": (-(ls(r).sum() + ls(-f).sum()), "you sum over the batch; take the mean (an expectation), "
                "so the loss does not grow with the batch size."),
        "half": (-(ls(r).mean() + ls(-f).mean()) / 2, "the value is half the expected one: each of the "
                 "two expectations is averaged over its own batch, then the two are added."),
        "real_only": (-ls(r).mean(), "only the real-data term is there; the loss also needs the "
                      "generated-data term."),
        "fake_only": (-ls(-f).mean(), "only the generated-data term is there; the loss also needs "
                      "the real-data term."),
    }


def _g_variants(f):
    f = f.double()
    ls = F.logsigmoid
    return {
        "saturating": (ls(-f).mean(), "this is the saturating (minimax) generator loss "
                       "E log(1 − D(G(z))). It has the same fixed point, but its gradient vanishes when "
                       "the discriminator rejects the samples (D(G(z)) ≈ 0), which is exactly early in "
                       "training. Write the non-saturating loss of Goodfellow et al. §3."),
        "sign": (ls(f).mean(), "the sign is flipped: you return E log D(G(z)), the quantity the "
                 "generator *maximises*; an optimiser minimises."),
        "fake_label": (-ls(-f).mean(), "your loss is small when the discriminator calls the samples "
                       "fake: the generator would learn to look *more* fake. It wants D(G(z)) → 1."),
        "sum": (-ls(f).sum(), "you sum over the batch; take the mean (an expectation)."),
    }


def _diagnose(value, variants, fallback):
    for _, (target, why) in variants.items():
        if _close(value, target):
            return why
    return fallback


def _probabilities_hint(fn_name):
    return (f"{fn_name} returns NaN or inf for ordinary logits. The inputs are *logits* "
            "(any real number), not probabilities: D(x) = sigmoid(logit).")


_UNSTABLE = ("correct for moderate logits, but not for extreme ones ({where}): {what}. In float32 "
             "sigmoid(·) rounds to exactly 0 or 1 there, so log(sigmoid(·)) or log(1 − sigmoid(·)) "
             "becomes log(0) = −inf. Use a form that never builds the probability first "
             "(torch.nn.functional.logsigmoid, softplus, or binary_cross_entropy_with_logits).")


# ------------------------------------------------------------------------------ checks
def check_d_loss(d_loss) -> bool:
    """Check ``d_loss(real_logits, fake_logits)``: the discriminator's BCE loss from logits."""
    name = "d_loss"
    for seed in (0, 1, 2):
        r, f = _logits(seed) + 0.5, _logits(seed + 10) - 0.5
        value, grads, err = _call(name, d_loss, r, f)
        if err:
            return report(name, False, err)
        if not torch.isfinite(value):
            return report(name, False, _probabilities_hint("d_loss"))
        if not _close(value, _d_ref(r, f)):
            return report(name, False, _diagnose(value, _d_variants(r, f),
                          f"for logits of shape {tuple(r.shape)} the loss should be about "
                          f"{float(_d_ref(r, f)):.4f}, got {float(value):.4f}."))
        if grads[0] is None or grads[1] is None:
            return report(name, False, "no gradient flows back to the logits (did you call .item(), "
                          "detach, or convert to NumPy?). The discriminator learns through this loss.")
    # batches of different sizes: each expectation is a mean over its own batch
    r, f = _logits(3, n=32), _logits(4, n=96)
    value, _, err = _call(name, d_loss, r, f)
    if err:
        return report(name, False, err + " (the real and fake batches had different sizes, 32 and 96)")
    if not _close(value, _d_ref(r, f)):
        return report(name, False, "wrong when the real and fake batches differ in size (32 and 96): "
                      "average each term over its own batch.")
    # extreme logits: a confident discriminator, right and wrong
    for where, r, f in (("real logits +120, fake −120", torch.full((8,), 120.0), torch.full((8,), -120.0)),
                        ("real logits −20, fake +20", torch.full((8,), -20.0), torch.full((8,), 20.0)),
                        ("real logits −120, fake +120", torch.full((8,), -120.0), torch.full((8,), 120.0))):
        value, grads, err = _call(name, d_loss, r, f)
        if err:
            return report(name, False, err + f" (with {where})")
        ok_grads = all(g is not None and torch.isfinite(g).all() for g in grads)
        if not torch.isfinite(value) or not ok_grads:
            what = "the loss is " + str(float(value)) if not torch.isfinite(value) else "the gradient is NaN"
            return report(name, False, _UNSTABLE.format(where=where, what=what))
        if not _close(value, _d_ref(r, f)):
            return report(name, False, _UNSTABLE.format(
                where=where, what=f"the loss should be about {float(_d_ref(r, f)):.4g}, got "
                                  f"{float(value):.4g} (clamping the probability changes the value)"))
        expected = torch.sigmoid(r) - 1, torch.sigmoid(f)  # d/dl of the two softplus terms, / B
        if not all(torch.allclose(g.double() * len(x), e.double(), atol=1e-4)
                   for g, x, e in zip(grads, (r, f), expected)):
            return report(name, False, _UNSTABLE.format(
                where=where, what="the gradient with respect to the logits is wrong there "
                                  "(a clamp cuts it to zero)"))
    return report(name, True, "the discriminator's loss is right, averaged per batch, and stays "
                  "finite (with finite gradients) even for a very confident discriminator.")


def check_g_loss(g_loss) -> bool:
    """Check ``g_loss(fake_logits)``: the non-saturating generator loss from logits."""
    name = "g_loss"
    for seed in (5, 6, 7):
        f = _logits(seed) - 1.0
        value, grads, err = _call(name, g_loss, f)
        if err:
            return report(name, False, err)
        if not torch.isfinite(value):
            return report(name, False, _probabilities_hint("g_loss"))
        if not _close(value, _g_ref(f)):
            return report(name, False, _diagnose(value, _g_variants(f),
                          f"for logits of shape {tuple(f.shape)} the loss should be about "
                          f"{float(_g_ref(f)):.4f}, got {float(value):.4f}."))
        if grads[0] is None:
            return report(name, False, "no gradient flows back to the logits (did you call .item(), "
                          "detach, or convert to NumPy?). The generator learns through this loss.")
    for where, f in (("fake logits −120: the discriminator rejects every sample", torch.full((8,), -120.0)),
                     ("fake logits −20", torch.full((8,), -20.0)),
                     ("fake logits +120", torch.full((8,), 120.0))):
        value, grads, err = _call(name, g_loss, f)
        if err:
            return report(name, False, err + f" (with {where})")
        if not torch.isfinite(value) or grads[0] is None or not torch.isfinite(grads[0]).all():
            what = "the loss is " + str(float(value)) if not torch.isfinite(value) else "the gradient is NaN"
            return report(name, False, _UNSTABLE.format(where=where, what=what))
        expected = torch.sigmoid(f) - 1  # d/dl softplus(-l), times B
        if not _close(value, _g_ref(f)) or not torch.allclose(grads[0].double() * len(f),
                                                              expected.double(), atol=1e-4):
            return report(name, False, _UNSTABLE.format(
                where=where, what="the value or its gradient is wrong there; the generator should get "
                                  "its *strongest* push when the discriminator rejects its samples"))
    return report(name, True, "the non-saturating generator loss is right, and its gradient stays "
                  "strong when the discriminator rejects the samples.")
