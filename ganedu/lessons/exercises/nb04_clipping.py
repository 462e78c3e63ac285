r"""Notebook 04 (weight clipping): implement WGAN's clipping step.

Arjovsky et al. 2017 (WGAN), Algorithm 1, line 7: after every critic update,
:math:`w \leftarrow \operatorname{clip}(w, -c, c)`. The paper's code clamps **every** parameter of
the critic, biases and normalisation scales included
(``for p in netD.parameters(): p.data.clamp_(-opt.clamp_lower, opt.clamp_upper)``), in place, so that
the optimiser keeps updating the same tensors. The reference is
:func:`ganedu.lipschitz.clip_weights_`; the exercise is to write the step by hand, so a function that
hands the work to it fails the check.
"""
from __future__ import annotations

import contextlib
import copy
import sys

import torch
from torch import nn

from .core import ExerciseNotDone, report, run_student

__all__ = ["check_clip_weights"]

NAME = "clip_weights"


def _critic(seed: int) -> nn.Module:
    """A small critic whose weights, biases and LayerNorm scales all leave [-c, c] for small c."""
    with torch.random.fork_rng(devices=[]):  # leave the notebook's random stream alone
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(2, 16), nn.LayerNorm(16), nn.ReLU(), nn.Linear(16, 16),
                            nn.ReLU(), nn.Linear(16, 1))
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.3 * torch.randn_like(p))  # LayerNorm's weight starts at 1, its bias at 0
        net(torch.randn(8, 2)).mean().backward()  # as after a critic update: every .grad is set
    return net


def _describe(name: str) -> str:
    kind = "bias" if name.endswith("bias") else "weight"
    return f"the {kind} '{name}'"


@contextlib.contextmanager
def _watch_call(code):
    """Record in ``called[0]`` whether a function whose code object is ``code`` runs inside the block."""
    called, previous = [False], sys.getprofile()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code is code:
            called[0] = True
        if previous is not None:
            previous(frame, event, arg)

    sys.setprofile(profile)
    try:
        yield called
    finally:
        sys.setprofile(previous)


def check_clip_weights(clip_weights) -> bool:
    """Check the student's ``clip_weights(module, c)``: clamps every parameter to [-c, c], in place.

    Pitfalls caught: clipping a copy (or rebinding a local name), clipping weights but not biases
    or not the LayerNorm parameters, one-sided clipping, a hard-coded c, rescaling instead of
    clipping (values inside the range must not move), in-place ops on leaf tensors that require
    grad without ``torch.no_grad()``, replacing the Parameter objects (the optimiser would then
    update tensors the critic no longer uses), and handing the work to
    :func:`ganedu.lipschitz.clip_weights_` (the function the exercise asks you to write).
    """
    from ganedu.lipschitz import clip_weights_

    for seed, c in ((0, 0.01), (1, 0.1), (2, 0.37)):
        critic = _critic(seed)
        expected = copy.deepcopy(critic)
        with torch.no_grad():  # the reference: clamp every parameter in place
            for p in expected.parameters():
                p.clamp_(-c, c)
        before = dict(critic.named_parameters())
        try:
            with _watch_call(clip_weights_.__code__) as called:
                run_student(NAME, clip_weights, critic, c)
        except ExerciseNotDone:
            raise
        except RuntimeError as exc:
            if "leaf Variable that requires grad" in str(exc) or "in-place" in str(exc):
                return report(NAME, False, "PyTorch refused to change a parameter in place because "
                                           "autograd is tracking it. Parameter updates are not part "
                                           "of the model's computation: make the change where "
                                           "autograd is switched off.")
            return report(NAME, False, f"your function raised {type(exc).__name__}: {exc}")
        except (TypeError, ValueError, AttributeError, IndexError) as exc:
            return report(NAME, False, f"your function raised {type(exc).__name__}: {exc}")
        if called[0]:
            return report(NAME, False, "your function hands the work to ganedu.lipschitz.clip_weights_, "
                                       "the function this exercise asks you to write. Write the "
                                       "loop over the parameters yourself; the cell after the check "
                                       "compares yours with ganedu's.")
        after = dict(critic.named_parameters())
        for name, p in after.items():
            if p is not before[name]:
                return report(NAME, False, f"{_describe(name)} is a new Parameter object after your "
                                           "call. The optimiser holds the old one, so it would keep "
                                           "updating a tensor the critic no longer uses: change the "
                                           "values in place.")
        unchanged = all(torch.equal(p, q) for p, q in zip(critic.parameters(), _critic(seed).parameters()))
        if unchanged:
            return report(NAME, False, "the critic passed in is unchanged after your call. Clip the "
                                       "module's own parameters in place (a copy, or a new tensor "
                                       "bound to a local name, leaves the critic as it was; "
                                       "clipping the gradients does not change the weights).")
        for (name, p), q in zip(critic.named_parameters(), expected.parameters()):
            if torch.equal(p, q):
                continue
            original = dict(_critic(seed).named_parameters())[name]
            if p.max() > c + 1e-7 or p.min() < -c - 1e-7:
                side = "above +c" if p.max() > c + 1e-7 else "below -c"
                if torch.equal(p, original):
                    why = ("was not clipped at all. The paper's code clips every parameter of the "
                           "critic, biases and normalisation layers included")
                else:
                    why = (f"still has values {side} (c = {c}). Check both ends of the interval, and "
                           "that you use the c you were given")
                return report(NAME, False, f"{_describe(name)} {why}.")
            if p.abs().max() < 0.5 * c:
                return report(NAME, False, f"no value of {_describe(name)} reaches the bound c = {c}, "
                                           "although some started outside [-c, c]: use the c you "
                                           "were given.")
            inside = original.abs() < c
            if not torch.equal(p[inside], original[inside]):
                return report(NAME, False, f"values of {_describe(name)} that were already inside "
                                           f"[-c, c] changed. Clipping leaves them alone and only "
                                           "moves the values outside to the nearest bound; it does "
                                           "not rescale.")
            return report(NAME, False, f"{_describe(name)} differs from the clipped values (c = {c}): "
                                       "values outside [-c, c] must land exactly on the nearest bound "
                                       "(clipping does not rescale the others).")
    return report(NAME, True, "every parameter (weights, biases, LayerNorm) ends up in [-c, c], in "
                              "place, values inside the interval untouched, for three values of c.")
