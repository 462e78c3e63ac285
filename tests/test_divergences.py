"""Tests for ganedu.divergences against scipy, brute force and a linear-programming solver."""
import itertools
import math

import numpy as np
import pytest
import torch
from scipy.optimize import linprog
from scipy.spatial.distance import cdist, jensenshannon
from scipy.stats import entropy, wasserstein_distance

from ganedu import divergences as dv
from ganedu.data import sample_parallel_lines


# ---- the parallel lines (WGAN paper, Example 1) ---------------------------------------------

@pytest.mark.parametrize("theta", [0.5, -1.0, 1e-3])
def test_parallel_lines_closed_form(theta):
    assert dv.parallel_lines(theta) == dict(kl=math.inf, js=math.log(2), tv=1.0, w1=abs(theta))


def test_parallel_lines_at_zero():
    assert dv.parallel_lines(0) == dict(kl=0.0, js=0.0, tv=0.0, w1=0.0)


@pytest.mark.parametrize("theta", [0.0, 0.3])
def test_parallel_lines_agree_with_discretised_lines(theta):
    # Put P_0 and P_theta on cells {0, theta} x 10 y-bins and use the discrete helpers.
    columns = 1 if theta == 0 else 2
    p = np.zeros((columns, 10))
    q = np.zeros((columns, 10))
    p[0] = 0.1
    q[columns - 1] = 0.1
    p, q = p.ravel(), q.ravel()
    ref = dv.parallel_lines(theta)
    assert dv.kl_divergence(p, q) == ref["kl"] and dv.kl_divergence(q, p) == ref["kl"]
    assert dv.js_divergence(p, q) == pytest.approx(ref["js"], abs=1e-12)
    assert dv.tv_distance(p, q) == pytest.approx(ref["tv"], abs=1e-12)


def test_parallel_lines_w1_matches_samples():
    real, fake = sample_parallel_lines(1.0, 200, generator=torch.Generator().manual_seed(0))
    w1 = dv.w1_exact(real, fake)
    # every pair costs sqrt(1 + dy^2) >= 1; the y-mismatch adds only a little
    assert dv.parallel_lines(1.0)["w1"] <= w1 <= 1.01


def test_parallel_lines_errors():
    with pytest.raises(ValueError, match="theta must be finite"):
        dv.parallel_lines(math.inf)
    with pytest.raises(TypeError, match="theta must be a real number"):
        dv.parallel_lines("0.5")
    with pytest.raises(TypeError, match="theta"):
        dv.parallel_lines(True)


# ---- discrete KL / JS / TV -----------------------------------------------------------------

def random_pairs(k=6, count=5, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))) for _ in range(count)]


def test_kl_against_scipy_entropy():
    for p, q in random_pairs():
        assert dv.kl_divergence(p, q) == pytest.approx(entropy(p, q), rel=1e-12)
        assert dv.kl_divergence(p, q) != pytest.approx(dv.kl_divergence(q, p), rel=1e-3)  # not symmetric
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    assert dv.kl_divergence(p, q) == pytest.approx(entropy(p, q)) == pytest.approx(math.log(2))
    assert dv.kl_divergence(q, p) == math.inf == entropy(q, p)
    assert dv.kl_divergence(torch.tensor(p), torch.tensor(p)) == 0.0


def test_js_against_scipy_jensenshannon():
    for p, q in random_pairs():
        assert dv.js_divergence(p, q) == pytest.approx(jensenshannon(p, q, base=math.e) ** 2, rel=1e-10)
        assert dv.js_divergence(p, q) == pytest.approx(dv.js_divergence(q, p), rel=1e-12)
    disjoint = (np.array([0.3, 0.7, 0.0, 0.0]), np.array([0.0, 0.0, 0.9, 0.1]))
    assert dv.js_divergence(*disjoint) == pytest.approx(math.log(2), rel=1e-12)


def test_tv_against_brute_force_over_events():
    for p, q in random_pairs(k=6):
        sup = max(abs(p[list(a)].sum() - q[list(a)].sum())
                  for r in range(7) for a in itertools.combinations(range(6), r))
        assert dv.tv_distance(p, q) == pytest.approx(sup, rel=1e-12)


@pytest.mark.parametrize("fn", [dv.kl_divergence, dv.js_divergence, dv.tv_distance])
def test_discrete_errors(fn):
    with pytest.raises(ValueError, match="p must sum to 1"):
        fn([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match="q must be non-negative"):
        fn([0.5, 0.5], [1.5, -0.5])
    with pytest.raises(ValueError, match="same length"):
        fn([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="1D"):
        fn([[0.5, 0.5]], [[0.5, 0.5]])
    with pytest.raises(TypeError, match="p must be"):
        fn(["a", "b"], [0.5, 0.5])


# ---- exact empirical W1 --------------------------------------------------------------------

def w1_linprog(x, y):
    """W1 as the transport LP: min <C, P> s.t. P 1 = 1/n, P^T 1 = 1/n, P >= 0."""
    n = len(x)
    cost = cdist(x, y)
    rows = np.kron(np.eye(n), np.ones(n))   # sum_j P_ij
    cols = np.kron(np.ones(n), np.eye(n))   # sum_i P_ij
    result = linprog(cost.ravel(), A_eq=np.vstack([rows, cols]), b_eq=np.full(2 * n, 1.0 / n),
                     bounds=(0, None), method="highs")
    assert result.success
    return result.fun


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_w1_exact_2d_against_linprog(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(12, 2))
    y = rng.normal(size=(12, 2)) * 0.5 + 1.0
    assert dv.w1_exact(x, y) == pytest.approx(w1_linprog(x, y), abs=1e-5)
    assert dv.w1_exact(torch.from_numpy(x).float(), torch.from_numpy(y).float()) == pytest.approx(w1_linprog(x, y), abs=1e-5)


def test_w1_exact_1d_against_scipy():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=300), rng.exponential(size=300)
    expected = wasserstein_distance(x, y)
    assert dv.w1_exact(x, y) == pytest.approx(expected, rel=1e-12)
    assert dv.w1_exact(x[:, None], y[:, None]) == pytest.approx(expected, rel=1e-12)
    assert dv.w1_exact(torch.tensor(x), torch.tensor(y)) == pytest.approx(expected, rel=1e-12)
    # the 2D assignment with a zero second coordinate gives the same number as the sort
    zeros = np.zeros_like(x)
    assert dv.w1_exact(np.c_[x, zeros], np.c_[y, zeros]) == pytest.approx(expected, rel=1e-9)


def test_w1_exact_translation_is_exact():
    # W1(P, P + v) = |v|: the coupling x -> x + v costs |v|, and f(x) = <x, v>/|v| proves it optimal.
    x = torch.randn(400, 2, generator=torch.Generator().manual_seed(0))
    v = torch.tensor([0.3, -0.4])
    assert dv.w1_exact(x, x + v) == pytest.approx(0.5, rel=1e-6)
    assert dv.w1_exact(x, x[torch.randperm(400)]) == pytest.approx(0.0, abs=1e-12)


def test_w1_exact_errors():
    with pytest.raises(ValueError, match="same number of points.*w1_to_data"):
        dv.w1_exact(np.zeros((5, 2)), np.zeros((6, 2)))
    with pytest.raises(ValueError, match="same dimension"):
        dv.w1_exact(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"x must have shape \(n,\) or \(n, d\)"):
        dv.w1_exact(np.zeros((5, 1, 2, 2)), np.zeros((5, 1, 2, 2)))
    with pytest.raises(ValueError, match="y must contain only finite"):
        dv.w1_exact(np.zeros(3), np.array([0.0, np.nan, 1.0]))
    with pytest.raises(TypeError, match="x must be a tensor or an array"):
        dv.w1_exact(object(), np.zeros(3))
