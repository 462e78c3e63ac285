"""Tests for the notebook-06 exercise check (power iteration): the reference solution passes,
each slip is caught with an explanation, the untouched stub raises ExerciseNotDone."""
import pytest
import torch

from ganedu.lessons import exercises
from ganedu.lessons.exercises.core import RESULTS, ExerciseNotDone
from ganedu.lessons.exercises.nb06_spectral import check_power_iteration


def solution(W, u, n_iter):
    for _ in range(n_iter):
        v = W.T @ u
        v = v / v.norm()
        u = W @ v
        u = u / u.norm()
    return u @ W @ v, u


def no_normalise(W, u, n_iter):
    for _ in range(n_iter):
        v = W.T @ u
        u = W @ v
    return u @ W @ v, u


def normalise_u_only(W, u, n_iter):
    for _ in range(n_iter):
        v = W.T @ u
        u = W @ v
        u = u / u.norm()
    return u @ W @ v, u


def swapped(W, u, n_iter):
    for _ in range(n_iter):
        v = W @ u
        v = v / v.norm()
        u = W.T @ v
        u = u / u.norm()
    return u @ W @ v, u


def random_start(W, u, n_iter):
    u = torch.randn(W.shape[0])
    return solution(W, u / u.norm(), n_iter)


def returns_old_u(W, u, n_iter):
    sigma, _ = solution(W, u, n_iter)
    return sigma, u


def svd_sigma(W, u, n_iter):
    _, u_new = solution(W, u, n_iter)
    return torch.linalg.matrix_norm(W, 2), u_new


def in_place(W, u, n_iter):
    sigma, u_new = solution(W, u.clone(), n_iter)
    u.copy_(u_new)
    return sigma, u


def sigma_before_update(W, u, n_iter):
    _, u_new = solution(W, u, n_iter)
    return (W.T @ u).norm(), u_new  # from the old u: one step behind


def stub(W, u, n_iter):
    raise NotImplementedError("Exercise: power iteration")


def test_reference_solution_passes(capsys):
    assert check_power_iteration(solution) is True
    assert RESULTS["power_iteration"] is True
    assert "Correct" in capsys.readouterr().out


def test_ganedu_power_iteration_agrees_with_the_reference():
    """ganedu's teaching version uses torch's convention (v from the final u): u_new is identical
    and sigma = ||W^T u_new||, which converges to the same value; after many iterations both match."""
    from ganedu.lipschitz import power_iteration
    W = torch.randn(20, 30)
    u = torch.randn(20)
    u = u / u.norm()
    s_ref, u_ref = solution(W, u, 5)
    s, u_new = power_iteration(W, u, n_iter=5)
    torch.testing.assert_close(u_new, u_ref, rtol=1e-4, atol=1e-5)
    s_ref, _ = solution(W, u, 300)
    s, _ = power_iteration(W, u, n_iter=300)
    torch.testing.assert_close(s, s_ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(s, torch.linalg.matrix_norm(W, 2), rtol=1e-4, atol=1e-5)


def test_check_is_exposed_on_the_package():
    assert exercises.check_power_iteration is check_power_iteration


@pytest.mark.parametrize("fn,words", [
    (no_normalise, "norm"),
    (normalise_u_only, "sigma should be"),
    (swapped, "raised"),
    (random_start, "not the one"),
    (returns_old_u, "you were given"),
    (svd_sigma, "exact largest singular value"),
    (in_place, "in place"),
    (sigma_before_update, "sigma should be"),
])
def test_slips_are_caught(fn, words, capsys):
    assert check_power_iteration(fn) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and words in out
    assert "u / u.norm()" not in out  # explains without the solution
    assert RESULTS["power_iteration"] is False


def test_wrong_return_type_is_explained(capsys):
    assert check_power_iteration(lambda W, u, n: solution(W, u, n)[0]) is False
    assert "return two things" in capsys.readouterr().out


def test_untouched_stub_raises_exercise_not_done():
    with pytest.raises(ExerciseNotDone, match="not done yet"):
        check_power_iteration(stub)
