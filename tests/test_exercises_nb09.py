"""Notebook 09's bug hunt: every planted bug is caught (and named) by its check; every correct fix passes.

The fixes below are written here, independently of the notebook's solutions.
"""
import pytest
import torch
from torch import nn

from ganedu.lessons import bughunt
from ganedu.lessons.exercises import nb09_bughunt as checks
from ganedu.lessons.exercises.core import ExerciseNotDone
from ganedu.losses import critic_loss_wasserstein, g_loss_wasserstein


def fixed_penalty(critic, real, fake):
    eps = torch.rand(real.shape[0], *[1] * (real.dim() - 1))
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def fixed_interpolate(real, fake):
    eps = torch.rand(real.shape[0], *[1] * (real.dim() - 1))
    return eps * real + (1 - eps) * fake


def fixed_clip_update(critic, optimizer, real, fake, c):
    loss = critic_loss_wasserstein(critic(real), critic(fake))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-c, c)
    return loss.detach()


def fixed_gp_update(critic, optimizer, real, fake, gp_lambda):
    from ganedu.lipschitz import gradient_penalty
    loss = critic_loss_wasserstein(critic(real), critic(fake)) + gp_lambda * gradient_penalty(critic, real, fake)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()


def fixed_detach_update(critic, optimizer, real, fake):
    loss = critic_loss_wasserstein(critic(real), critic(fake.detach()))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()


def fixed_make_critic(in_dim=256):
    return nn.Sequential(nn.Flatten(), nn.Linear(in_dim, 64), nn.LayerNorm(64), nn.ReLU(), nn.Linear(64, 1),
                         nn.Flatten(0))


def fixed_generator_loss(fake_scores):
    return -fake_scores.mean()


def fixed_generator_update(generator, critic, optimizer, z):
    optimizer.zero_grad()
    loss = g_loss_wasserstein(critic(generator(z)))
    loss.backward()
    optimizer.step()
    return loss.detach()


FIXES = {"penalty": fixed_penalty, "interpolate": fixed_interpolate, "clip_update": fixed_clip_update,
         "gp_update": fixed_gp_update, "detach_update": fixed_detach_update, "make_critic": fixed_make_critic,
         "generator_loss": fixed_generator_loss, "generator_update": fixed_generator_update}


def test_every_bug_has_a_fix_and_a_check():
    assert set(FIXES) == set(bughunt.BUGS) == set(bughunt.BUGGY)
    assert all(hasattr(checks, f"check_fix_{n}") for n in bughunt.BUGS)


@pytest.mark.parametrize("name", list(bughunt.BUGS))
def test_the_planted_bug_is_caught_and_named(name, capsys):
    assert getattr(checks, f"check_fix_{name}")(bughunt.BUGGY[name]) is False
    out = capsys.readouterr().out
    assert "the bug is still there" in out and bughunt.BUGS[name][0] in out and bughunt.BUGS[name][1] in out


@pytest.mark.training_outcome
@pytest.mark.parametrize("name", list(bughunt.BUGS))
def test_the_correct_fix_passes(name, capsys):
    ok = getattr(checks, f"check_fix_{name}")(FIXES[name])
    assert ok is True, capsys.readouterr().out


@pytest.mark.training_outcome
@pytest.mark.parametrize("name", ["penalty", "gp_update", "clip_update", "detach_update", "generator_loss",
                                  "generator_update"])
def test_the_short_run_shows_the_bug(name):
    """The symptom the check prints is real: the buggy piece's run fails the fixed piece's criterion."""
    run = bughunt.short_run(name, bughunt.BUGGY[name])
    if name in ("penalty", "gp_update"):
        assert run["grad_norm"] > 1.5, run
    elif name == "clip_update":
        assert run["max_weight"] > 0.01, run
    elif name == "detach_update":
        assert run["leaked"] > 0, run
    elif name == "generator_update":
        assert run["last_move"] > 10 * run["first_move"], run
    else:
        assert run["score_after"] < run["score_before"], run


def test_a_stub_is_not_done():
    def stub(*args):
        raise NotImplementedError("Exercise: fix the penalty")
    with pytest.raises(ExerciseNotDone):
        checks.check_fix_generator_loss(stub)


def test_a_crashing_fix_is_reported_not_raised(capsys):
    def broken(fake_scores):
        raise RuntimeError("shape mismatch")
    assert checks.check_fix_generator_loss(broken) is False
    assert "RuntimeError: shape mismatch" in capsys.readouterr().out


def test_short_run_validates_its_arguments():
    with pytest.raises(ValueError, match="name"):
        bughunt.short_run("nope", fixed_penalty)
    with pytest.raises(ValueError, match="seed"):
        bughunt.short_run("penalty", fixed_penalty, seed=-1)
