r"""Checks for notebook 09's bug hunt: ``check_fix_<name>(your_function)``, one per planted bug.

Each check first probes your function on random inputs against ganedu's own code (the probes
recognise the planted bug and name it), then trains a short run with your function in place
(``ganedu.lessons.bughunt.short_run``) and prints the symptom's numbers: with the bug still there
the run shows it; with the fix it does not.
"""
from __future__ import annotations

import torch
from torch import nn

from ...lipschitz import gradient_norms
from ...losses import g_loss_wasserstein
from .. import bughunt
from .core import report, run_student
from .nb05_penalty import _mixing_weights, _pairs, _Recorder

__all__ = [f"check_fix_{n}" for n in bughunt.BUGS]


def _call(name, fn, *args):
    try:
        return run_student(name, fn, *args), None
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the student's error, reported in words
        return None, f"your function raised {type(exc).__name__}: {exc}"


def _still(name):
    bug, issue = bughunt.BUGS[name]
    return f"the bug is still there: {bug} (people hit it in {issue})."


def _seeded(seed, fn, *args):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn(*args)


def _run(name, fn):
    """The short run with the student's piece (None if it raises: the probe has said why)."""
    try:
        return bughunt.short_run(name, fn)
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001
        return None


def _verdict(name, problem, run_ok, numbers):
    if problem:
        return report(f"fix_{name}", False, problem + (f" The short run shows it: {numbers}." if numbers else ""))
    if not run_ok:
        return report(f"fix_{name}", False, f"your function passes the probes, but the short run still shows the "
                                            f"symptom: {numbers}.")
    return report(f"fix_{name}", True, f"the bug is gone; the short run shows {numbers}.")


# ---- the penalty and ε ------------------------------------------------------------------------
def _probe_penalty(fn):
    shape = (64, 1, 4, 4)
    real, fake = _pairs(shape, seed=3)
    critic = _Recorder(16, seed=1)
    value, err = _call("fix_penalty", lambda *a: _seeded(0, fn, *a), critic, real, fake)
    if err:
        return err
    calls = [x for x in critic.inputs if tuple(x.shape) == shape and not torch.equal(x, real) and not torch.equal(x, fake)]
    if not calls or not isinstance(value, torch.Tensor) or value.dim() != 0:
        return "penalty(critic, real, fake) must call the critic on x̂ and return a scalar tensor."
    x_hat = calls[-1].detach().requires_grad_(True)
    critic.inputs = []
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    ref = ((gradient_norms(grad) - 1) ** 2).mean()            # the norm over each sample's whole gradient
    per_dim1 = ((grad.norm(2, dim=1) - 1) ** 2).mean()          # the planted bug's value
    if torch.allclose(value.detach(), per_dim1, rtol=1e-4) and not torch.allclose(per_dim1, ref, rtol=1e-4):
        return _still("penalty")
    if not torch.allclose(value.detach(), ref, rtol=1e-4, atol=1e-6):
        return (f"the penalty is {float(value):.4g}, expected {float(ref):.4g}: the mean over samples of "
                "(||∇C(x̂)|| - 1)², the norm over all of a sample's values.")
    return None


def check_fix_penalty(penalty) -> bool:
    """``penalty(critic, real, fake)``: :math:`\\mathbb{E}(\\|\\nabla C(\\hat x)\\|_2 - 1)^2`, norm per sample."""
    problem = _probe_penalty(penalty)
    run = _run("penalty", penalty)
    numbers = run and f"||∇C(x̂)|| = {run['grad_norm']:.2f} after {bughunt.CRITIC_STEPS} critic steps (target: about 1)"
    return _verdict("penalty", problem, run is not None and 0.5 < run["grad_norm"] < 2, numbers)


def _probe_interpolate(fn):
    real, fake = _pairs((256, 1, 4, 4), seed=5)
    x_hat, err = _call("fix_interpolate", lambda *a: _seeded(0, fn, *a), real, fake)
    if err:
        return err
    if not isinstance(x_hat, torch.Tensor) or x_hat.shape != real.shape:
        return f"interpolate(real, fake) must return x̂ of the batch's shape {tuple(real.shape)}."
    eps = _mixing_weights(x_hat, real, fake)
    if float((eps.max(1).values - eps.min(1).values).max()) > 1e-4 or eps.min() < -1e-4 or eps.max() > 1 + 1e-4:
        return "x̂ must lie on the segment between each real sample and its fake: ε in [0, 1], one per sample."
    if float(eps[:, 0].max() - eps[:, 0].min()) < 1e-6:
        return _still("interpolate")
    return None


def check_fix_interpolate(interpolate_fn) -> bool:
    """``interpolate(real, fake)``: :math:`\\hat x = \\epsilon x + (1 - \\epsilon)\\tilde x`, ε ~ U(0, 1) per sample."""
    problem = _probe_interpolate(interpolate_fn)
    run = _run("interpolate", interpolate_fn)
    numbers = run and f"||∇C(x̂)|| = {run['grad_norm']:.2f} at fresh x̂ after {bughunt.CRITIC_STEPS} steps (target: about 1)"
    return _verdict("interpolate", problem, run is not None and 0.5 < run["grad_norm"] < 2, numbers)


# ---- the critic's updates ---------------------------------------------------------------------
def _small_critic(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1), nn.Flatten(0))


def check_fix_clip_update(clip_update) -> bool:
    """``clip_update(critic, optimizer, real, fake, c)``: loss, zero_grad, backward, step, then clip to ±c."""
    critic = _small_critic()
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(100)  # every weight far outside ±c
    opt = torch.optim.SGD(critic.parameters(), lr=0.1)
    real, fake = torch.randn(32, 2), torch.randn(32, 2) + 2
    _, err = _call("fix_clip_update", clip_update, critic, opt, real, fake, 0.01)
    biggest = max(float(p.detach().abs().max()) for p in critic.parameters())
    problem = err or (None if biggest <= 0.01 + 1e-7 else
                      _still("clip_update") + f" After your update the largest weight is {biggest:.3g}, above c = 0.01.")
    run = _run("clip_update", clip_update)
    numbers = run and f"the largest weight after {bughunt.CRITIC_STEPS} updates is {run['max_weight']:.4f} (c = 0.01)"
    return _verdict("clip_update", problem, run is not None and run["max_weight"] <= 0.01 + 1e-7, numbers)


def _update_of(fn, gp_lambda):
    critic = _small_critic(1)
    opt = torch.optim.SGD(critic.parameters(), lr=0.1)
    real, fake = _pairs((64, 2), seed=7)
    _, err = _call("fix_gp_update", lambda *a: _seeded(0, fn, *a), critic, opt, real, fake, gp_lambda)
    return torch.cat([p.detach().flatten() for p in critic.parameters()]), err


def check_fix_gp_update(gp_update) -> bool:
    """``gp_update(critic, optimizer, real, fake, gp_lambda)``: backward of the loss *plus* λ times the penalty."""
    without, err = _update_of(gp_update, 0.0)
    with_gp, err2 = _update_of(gp_update, 100.0)
    problem = err or err2 or (_still("gp_update") + " With λ = 0 and λ = 100 your update changes the critic the same way."
                              if torch.allclose(without, with_gp) else None)
    run = _run("gp_update", gp_update)
    numbers = run and f"||∇C(x̂)|| = {run['grad_norm']:.2f} after {bughunt.CRITIC_STEPS} updates (target: about 1)"
    return _verdict("gp_update", problem, run is not None and 0.5 < run["grad_norm"] < 2, numbers)


def check_fix_detach_update(detach_update) -> bool:
    """``detach_update(critic, optimizer, real, fake)``: the critic's update, no gradient into the generator."""
    critic, generator = _small_critic(2), nn.Linear(3, 2)
    opt = torch.optim.SGD(critic.parameters(), lr=0.1)
    fake = generator(torch.randn(32, 3))  # still attached to the generator's graph
    _, err = _call("fix_detach_update", detach_update, critic, opt, torch.randn(32, 2), fake)
    leaked = any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in generator.parameters())
    moved = any(not torch.equal(p, q) for p, q in zip(critic.parameters(), _small_critic(2).parameters()))
    problem = err or (_still("detach_update") if leaked else None) or \
        (None if moved else "the critic did not change: your update must still step the critic's optimiser.")
    run = _run("detach_update", detach_update)
    numbers = run and f"gradient that reached the generator: {run['leaked']:.3g}"
    return _verdict("detach_update", problem, run is not None and run["leaked"] == 0.0, numbers)


def check_fix_make_critic(make_critic) -> bool:
    """``make_critic()``: a critic for 16x16 digits whose score of a sample depends on that sample only."""
    critic, err = _call("fix_make_critic", make_critic)
    if err is None:
        critic.train()
        x = torch.randn(16, 1, 16, 16)
        y = x.clone()
        y[1:] = torch.randn(15, 1, 16, 16)  # sample 0 unchanged, the rest of the batch new
        with torch.no_grad():
            a, b = critic(x), critic(y)
        if a.shape != (16,):
            err = f"the critic must return one score per sample, shape (16,), got {tuple(a.shape)}."
        elif not torch.allclose(a[0], b[0], atol=1e-6):
            err = _still("make_critic") + f" Sample 0's score moved from {float(a[0]):.4f} to {float(b[0]):.4f} when only the others changed."
    run = _run("make_critic", make_critic)
    numbers = run and f"||∇C(x̂)|| = {run['grad_norm']:.2f} after {bughunt.CRITIC_STEPS} penalised steps (target: about 1)"
    return _verdict("make_critic", err, run is not None and 0.5 < run["grad_norm"] < 2, numbers)


# ---- the generator's side ---------------------------------------------------------------------
def check_fix_generator_loss(generator_loss) -> bool:
    """``generator_loss(fake_scores)``: :math:`-\\mathbb{E}\\,C(G(z))` (WGAN, Algorithm 1, line 10)."""
    scores = torch.randn(128) + 0.7
    value, err = _call("fix_generator_loss", generator_loss, scores)
    problem = err
    if not problem:
        if torch.allclose(torch.as_tensor(value), scores.mean()):
            problem = _still("generator_loss")
        elif not torch.allclose(torch.as_tensor(value), g_loss_wasserstein(scores)):
            problem = f"generator_loss gave {float(value):.4f}, expected {float(g_loss_wasserstein(scores)):.4f}."
    run = _run("generator_loss", generator_loss)
    numbers = run and (f"the critic's mean score of the fakes went from {run['score_before']:.3f} to "
                       f"{run['score_after']:.3f} in {bughunt.GAN_STEPS} generator steps (it should rise)")
    return _verdict("generator_loss", problem, run is not None and run["score_after"] > run["score_before"], numbers)


def check_fix_generator_update(generator_update) -> bool:
    """``generator_update(generator, critic, optimizer, z)``: zero_grad, loss, backward, step."""
    def two_steps(fn):
        torch.manual_seed(4)
        generator, critic = nn.Linear(2, 2), _small_critic(3)
        critic.requires_grad_(False)
        opt = torch.optim.SGD(generator.parameters(), lr=0.1)
        z = torch.randn(32, 2)
        for _ in range(2):
            _, err = _call("fix_generator_update", fn, generator, critic, opt, z)
            if err:
                return None, err
        return torch.cat([p.detach().flatten() for p in generator.parameters()]), None

    def reference(generator, critic, optimizer, z):
        optimizer.zero_grad()
        g_loss_wasserstein(critic(generator(z))).backward()
        optimizer.step()

    got, err = two_steps(generator_update)
    want, _ = two_steps(reference)
    problem = err or (None if torch.allclose(got, want, atol=1e-6) else _still("generator_update"))
    run = _run("generator_update", generator_update)
    numbers = run and (f"the last of {bughunt.GAN_STEPS} SGD steps moved the weights {run['last_move'] / run['first_move']:.1f} "
                       "times as far as the first (about 1 when each step uses its own gradient)")
    return _verdict("generator_update", problem, run is not None and run["last_move"] < 2 * run["first_move"], numbers)

