"""Tests for the notebook-05 exercise checks: the reference solution passes, every known pitfall
is caught with an explanation (and no solution printed), and the untouched stub raises ExerciseNotDone."""
import pytest
import torch

from ganedu.lessons import exercises
from ganedu.lessons.exercises.core import RESULTS, ExerciseNotDone
from ganedu.lessons.exercises.nb05_penalty import check_get_gradient, check_gradient_penalty


def eps_like(real):
    return torch.rand(real.shape[0], *([1] * (real.dim() - 1)))  # (B, 1, ..., 1)


def make_get_gradient(eps_fn=eps_like, create_graph=True, at="x_hat"):
    def get_gradient(critic, real, fake):
        eps = eps_fn(real)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        if at == "real":
            x_hat = real.clone().requires_grad_(True)
        scores = critic(x_hat)
        (grad,) = torch.autograd.grad(scores, x_hat, grad_outputs=torch.ones_like(scores),
                                      create_graph=create_graph)
        return grad
    return get_gradient


def penalty_ok(gradient):
    norms = gradient.reshape(len(gradient), -1).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()


def penalty_whole_batch(gradient):
    return (gradient.norm(2) - 1) ** 2


def penalty_per_pixel(gradient):
    return ((gradient.norm(2, dim=1) - 1) ** 2).mean()


def penalty_sqrt(gradient):
    norms = torch.sqrt((gradient.reshape(len(gradient), -1) ** 2).sum(1))
    return ((norms - 1) ** 2).mean()


def penalty_lambda(gradient):
    return 10 * penalty_ok(gradient)


def penalty_item(gradient):
    return torch.tensor(penalty_ok(gradient).item())


def penalty_per_sample(gradient):
    return (gradient.reshape(len(gradient), -1).norm(2, dim=1) - 1) ** 2


def stub(*args):
    raise NotImplementedError("Exercise: write it")


def test_reference_solutions_pass(capsys):
    assert check_get_gradient(make_get_gradient()) is True
    assert check_gradient_penalty(penalty_ok) is True
    assert RESULTS["get_gradient"] and RESULTS["gradient_penalty"]
    assert "Correct" in capsys.readouterr().out


def test_checks_are_exposed_on_the_package():
    assert exercises.check_get_gradient is check_get_gradient
    assert exercises.check_gradient_penalty is check_gradient_penalty


def test_the_other_orientation_of_eps_passes():
    def get_gradient(critic, real, fake):  # x_hat = eps * fake + (1 - eps) * real: same distribution
        return make_get_gradient()(critic, fake, real)
    assert check_get_gradient(get_gradient) is True


@pytest.mark.parametrize("fn,words", [
    (make_get_gradient(eps_fn=lambda r: torch.rand(1)), "same ε"),
    (make_get_gradient(eps_fn=lambda r: torch.randn(r.shape[0], *([1] * (r.dim() - 1)))), "outside [0, 1]"),
    (make_get_gradient(eps_fn=lambda r: torch.rand_like(r)), "one ε per sample"),
    (make_get_gradient(eps_fn=lambda r: 0.01 * eps_like(r)), "not spread evenly"),
    (make_get_gradient(eps_fn=lambda r: 0.5 + 0.0 * eps_like(r)), "same ε"),
    (make_get_gradient(create_graph=False), "cut off"),
    (make_get_gradient(at="real"), "real (or the fake) batch"),
])
def test_get_gradient_pitfalls_are_caught(fn, words, capsys):
    assert check_get_gradient(fn) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and words in out
    assert "torch.rand" not in out and "create_graph" not in out  # explains without the solution
    assert RESULTS["get_gradient"] is False


def test_fixed_eps_sequence_is_caught(capsys):
    def get_gradient(critic, real, fake):  # the same ε at every call (a seeded generator inside)
        g = torch.Generator().manual_seed(0)
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=g)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        s = critic(x_hat)
        return torch.autograd.grad(s.sum(), x_hat, create_graph=True)[0]
    assert check_get_gradient(get_gradient) is False
    assert "fresh" in capsys.readouterr().out


def test_get_gradient_errors_are_reported_not_raised(capsys):
    def broken(critic, real, fake):
        return critic(real[:, :1])
    assert check_get_gradient(broken) is False
    assert "raised" in capsys.readouterr().out


@pytest.mark.parametrize("fn,words", [
    (penalty_whole_batch, "whole batch"),
    (penalty_per_pixel, "per pixel"),
    (penalty_sqrt, "NaN"),
    (penalty_lambda, "without λ"),
    (penalty_item, "detached"),
    (penalty_per_sample, "one number"),
])
def test_gradient_penalty_pitfalls_are_caught(fn, words, capsys):
    assert check_gradient_penalty(fn) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and words in out
    assert "vector_norm" not in out and ".norm(" not in out


def test_sqrt_with_a_small_constant_passes():
    def penalty(gradient):  # a common safe variant: sqrt(sum + 1e-12)
        norms = torch.sqrt((gradient.reshape(len(gradient), -1) ** 2).sum(1) + 1e-12)
        return ((norms - 1) ** 2).mean()
    assert check_gradient_penalty(penalty) is True


def test_agrees_with_ganedu():
    from ganedu.lipschitz import gradient_norms, penalty_from_norms
    g = torch.randn(7, 3, 5, 5)
    torch.testing.assert_close(penalty_ok(g), penalty_from_norms(gradient_norms(g)))


@pytest.mark.parametrize("check", [check_get_gradient, check_gradient_penalty])
def test_untouched_stub_raises_exercise_not_done(check):
    with pytest.raises(ExerciseNotDone, match="not done yet"):
        check(stub)
