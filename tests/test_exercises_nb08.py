"""Tests for the notebook-08 exercise checks: the reference solutions pass, each known mistake is caught
with its explanation (and no solution printed), and an untouched stub raises ExerciseNotDone."""
import pytest
import torch

from ganedu.lessons import exercises
from ganedu.lessons.controllable import classifier_step as ganedu_classifier_step
from ganedu.lessons.exercises.core import RESULTS, ExerciseNotDone
from ganedu.lessons.exercises.nb08_conditional import (check_classifier_step, check_conditional_penalty,
                                                       check_projection_critic)


def stub(*args):
    raise NotImplementedError("Exercise: write it")


# ------------------------------------------------------------------ 1. projection critic
def projection_ok(phi, psi, embed, x, y):
    features = phi(x)
    return psi(features).squeeze(1) + (embed(y) * features).sum(1)


@pytest.mark.parametrize("fn, words", [
    (lambda phi, psi, embed, x, y: (embed(y) * phi(x)).sum(1), "unconditional term"),
    (lambda phi, psi, embed, x, y: psi(phi(x)).squeeze(1), "do not depend on the label"),
    (lambda phi, psi, embed, x, y: psi(phi(x)).squeeze(1) - (embed(y) * phi(x)).sum(1), "wrong sign"),
    (lambda phi, psi, embed, x, y: psi(phi(x)).squeeze(1) + embed(y) @ phi(x).T, "every label with every sample"),
    (lambda phi, psi, embed, x, y: psi(phi(x)) + (embed(y) * phi(x)).sum(1, keepdim=True), "one number per sample"),
    (lambda phi, psi, embed, x, y: projection_ok(phi, psi, embed, x, y).detach(), "detached"),
    (lambda phi, psi, embed, x, y: psi(phi(x)).squeeze(1) + (embed((y + 1) % 5) * phi(x)).sum(1), "own class"),
])
def test_projection_mistakes_are_named(fn, words, capsys):
    assert check_projection_critic(fn) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and words in out, out
    assert "squeeze" not in out and "sum(1)" not in out


def test_projection_solution_passes(capsys):
    assert check_projection_critic(projection_ok) is True
    assert RESULTS["projection_critic"] is True
    assert "Correct" in capsys.readouterr().out


# ------------------------------------------------------------------ 2. conditional penalty
def make_penalty(eps_kind="per_sample", label="keep", grad_label=False):
    def conditional_penalty(critic, real, fake, labels):
        B = real.shape[0]
        shape = (B,) + (1,) * (real.dim() - 1)
        eps = {"per_sample": lambda: torch.rand(shape), "per_batch": lambda: torch.rand(1) * torch.ones(shape)}[eps_kind]()
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        c = labels
        if label == "interpolate":       # the bug: mix the label with a shuffled one, as with random fake labels
            e = eps.reshape(B, 1)
            c = e * labels + (1 - e) * labels.roll(1, 0)
        if grad_label:
            c = c.clone().requires_grad_(True)
            gx, gc = torch.autograd.grad(critic(x_hat, c).sum(), (x_hat, c), create_graph=True)
            norms = torch.cat([gx.reshape(B, -1), gc], 1).norm(dim=1)
        else:
            (gx,) = torch.autograd.grad(critic(x_hat, c).sum(), x_hat, create_graph=True)
            norms = gx.reshape(B, -1).norm(dim=1)
        return ((norms - 1) ** 2).mean()
    return conditional_penalty


def test_conditional_penalty_solution_passes(capsys):
    assert check_conditional_penalty(make_penalty()) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("fn, words", [
    (make_penalty(label="interpolate"), "mixed labels"),
    (make_penalty(grad_label=True), "gradient with respect to the label"),
    (make_penalty(eps_kind="per_batch"), "same ε"),
    (lambda critic, real, fake, labels: make_penalty()(critic, real, fake, labels.roll(1, 0)), "other labels"),
    (lambda critic, real, fake, labels: 10 * make_penalty()(critic, real, fake, labels), "without λ"),
    (lambda critic, real, fake, labels: make_penalty()(critic, real, fake, labels).detach(), "cannot train"),
])
def test_conditional_penalty_mistakes_are_named(fn, words, capsys):
    assert check_conditional_penalty(fn) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and words in out, out


# ------------------------------------------------------------------ 3. classifier step
def step_ok(z, generator, classifier, target, alpha):
    return ganedu_classifier_step(z, generator, classifier, target, alpha)


def step_with(objective, sign=1.0, reduce="sum"):
    def classifier_step(z, generator, classifier, target, alpha):
        z = z.detach().requires_grad_(True)
        values = objective(classifier(generator(z)), target)
        total = values.sum() if reduce == "sum" else values.mean()
        (grad,) = torch.autograd.grad(total, z)
        return (z + sign * alpha * grad).detach()
    return classifier_step


log_p = lambda logits, t: torch.log_softmax(logits, 1).gather(1, t[:, None]).squeeze(1)


def test_classifier_step_solution_passes(capsys):
    assert check_classifier_step(step_ok) is True
    assert "Correct" in capsys.readouterr().out


def in_place(z, generator, classifier, target, alpha):
    new = step_ok(z, generator, classifier, target, alpha)
    z.copy_(new)
    return z


@pytest.mark.parametrize("fn, words", [
    (step_with(log_p, sign=-1.0), "downhill"),
    (step_with(log_p, reduce="mean"), "1/B"),
    (step_with(lambda logits, t: logits.gather(1, t[:, None]).squeeze(1)), "raw logit"),
    (step_with(lambda logits, t: torch.softmax(logits, 1).gather(1, t[:, None]).squeeze(1)), "not its log"),
    (in_place, "in place"),
    (lambda z, g, c, t, a: z, "differ"),
])
def test_classifier_step_mistakes_are_named(fn, words, capsys):
    assert check_classifier_step(fn) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and words in out, out


# ------------------------------------------------------------------ all
@pytest.mark.parametrize("check", [check_projection_critic, check_conditional_penalty, check_classifier_step])
def test_stub_raises_the_friendly_not_done(check):
    with pytest.raises(ExerciseNotDone, match="not done yet"):
        check(stub)


def test_checks_are_reachable_from_the_exercises_package():
    assert exercises.check_projection_critic is check_projection_critic
    assert exercises.check_conditional_penalty is check_conditional_penalty
    assert exercises.check_classifier_step is check_classifier_step
