"""Tests for ganedu.lessons.minimax_1d: densities against scipy, D*, V(D*, G) = 2 JS - ln 4 against scipy's
Jensen-Shannon, D* maximises V, a trained discriminator approaches D*."""
import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.spatial.distance import jensenshannon

from ganedu.lessons import minimax_1d


def test_mixture_pdf_matches_scipy():
    m = minimax_1d.Mixture1D(means=(-1.0, 2.0), stds=(0.3, 1.5), weights=(0.25, 0.75))
    x = np.linspace(-4, 6, 101)
    ref = 0.25 * stats.norm.pdf(x, -1.0, 0.3) + 0.75 * stats.norm.pdf(x, 2.0, 1.5)
    np.testing.assert_allclose(m.pdf(x), ref, rtol=1e-12, atol=1e-15)


def test_mixture_samples_follow_the_density():
    m = minimax_1d.P_DATA
    x = m.sample(20000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (20000, 1) and x.dtype == torch.float32
    cdf = lambda t: sum(w * stats.norm.cdf(t, mu, sd) for mu, sd, w in zip(m.means, m.stds, m.weights))
    assert stats.kstest(x[:, 0].numpy(), cdf).pvalue > 0.01
    wrong = minimax_1d.Mixture1D(means=(-1.0, 1.0), stds=(0.4, 0.5), weights=(0.5, 0.5))
    cdf_wrong = lambda t: sum(w * stats.norm.cdf(t, mu, sd)
                              for mu, sd, w in zip(wrong.means, wrong.stds, wrong.weights))
    assert stats.kstest(x[:, 0].numpy(), cdf_wrong).pvalue < 1e-6  # the test can fail


def test_optimal_discriminator_closed_form():
    pd, pg = np.array([0.0, 1.0, 3.0, 0.0]), np.array([0.0, 1.0, 1.0, 2.0])
    np.testing.assert_allclose(minimax_1d.optimal_discriminator(pd, pg), [0.5, 0.5, 0.75, 0.0])


def test_value_at_d_star_is_2js_minus_ln4_against_scipy():
    x = minimax_1d.grid()
    pd, pg = minimax_1d.P_DATA.pdf(x), minimax_1d.P_G.pdf(x)
    v = minimax_1d.value_function(minimax_1d.optimal_discriminator(pd, pg), pd, pg, x)
    js_scipy = jensenshannon(pd, pg) ** 2  # natural log, discretised (normalises its inputs)
    assert v == pytest.approx(2 * js_scipy - math.log(4), abs=1e-6)
    assert minimax_1d.js_divergence_on_grid(pd, pg, x) == pytest.approx(js_scipy, abs=1e-6)


def test_js_limits():
    x = minimax_1d.grid()
    p = minimax_1d.Mixture1D((0.0,), (0.5,), (1.0,)).pdf(x)
    assert minimax_1d.js_divergence_on_grid(p, p, x) == pytest.approx(0.0, abs=1e-12)
    far = minimax_1d.Mixture1D((7.0,), (0.1,), (1.0,)).pdf(x)
    assert minimax_1d.js_divergence_on_grid(p, far, x) == pytest.approx(math.log(2), abs=1e-6)


def test_d_star_maximises_the_value_function():
    x = minimax_1d.grid()
    pd, pg = minimax_1d.P_DATA.pdf(x), minimax_1d.P_G.pdf(x)
    d_star = minimax_1d.optimal_discriminator(pd, pg)
    v_star = minimax_1d.value_function(d_star, pd, pg, x)
    rng = np.random.default_rng(0)
    for _ in range(5):
        d = np.clip(d_star + 0.05 * rng.standard_normal(x.shape), 1e-6, 1 - 1e-6)
        assert minimax_1d.value_function(d, pd, pg, x) < v_star
    assert minimax_1d.value_function(np.full_like(x, 0.5), pd, pg, x) == pytest.approx(-math.log(4), abs=1e-6)


def test_trained_discriminator_approaches_d_star():
    x = minimax_1d.grid(-4, 4, 801)
    pd, pg = minimax_1d.P_DATA.pdf(x), minimax_1d.P_G.pdf(x)
    d = minimax_1d.train_discriminator(steps=400, lr=2e-3, batch_size=512, seed=0)
    with torch.no_grad():
        prob = torch.sigmoid(d(torch.tensor(x, dtype=torch.float32))).double().numpy()
    mask = pd + pg > 0.05
    assert np.abs(prob - minimax_1d.optimal_discriminator(pd, pg))[mask].max() < 0.12
    untrained = minimax_1d.Discriminator1D()
    with torch.no_grad():
        p0 = torch.sigmoid(untrained(torch.tensor(x, dtype=torch.float32))).double().numpy()
    assert np.abs(p0 - minimax_1d.optimal_discriminator(pd, pg))[mask].max() > 0.2


def test_errors_are_explained():
    with pytest.raises(ValueError, match="weights"):
        minimax_1d.Mixture1D((0.0,), (1.0,), (0.5,))
    with pytest.raises(ValueError, match="stds"):
        minimax_1d.Mixture1D((0.0,), (0.0,), (1.0,))
    x = minimax_1d.grid()
    with pytest.raises(ValueError, match="probabilities"):
        minimax_1d.value_function(np.full_like(x, 2.0), minimax_1d.P_DATA.pdf(x), minimax_1d.P_G.pdf(x), x)
    with pytest.raises(ValueError, match="same points"):
        minimax_1d.optimal_discriminator(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="shape"):
        minimax_1d.Discriminator1D()(torch.zeros(3, 2))


@pytest.mark.parametrize("which", ["mean", "std"])
def test_nonsaturating_loss_at_d_star_follows_reverse_kl_minus_2js(which):
    # Arjovsky & Bottou 2017, Theorem 2.5 (notebook 01, discussion question 3): with D* held fixed at
    # the current generator, the gradient of -E_{p_g} log D* is the gradient of KL(p_g || p_data) - 2 JS.
    # Central differences of integrals on a fine grid (an independent reference: no autograd, no ganedu loss).
    x = minimax_1d.grid(-12.0, 12.0, 24001)
    p_data = minimax_1d.P_DATA.pdf(x)
    mean0, std0, h = minimax_1d.P_G.means[0], minimax_1d.P_G.stds[0], 1e-4

    def p_g(t):
        return minimax_1d.Mixture1D(means=(t if which == "mean" else mean0,), stds=(t if which == "std" else std0,),
                              weights=(1.0,)).pdf(x)

    def integral(y):
        return float(np.trapezoid(y, x)) if hasattr(np, "trapezoid") else float(np.trapz(y, x))

    t0 = mean0 if which == "mean" else std0
    d_star = minimax_1d.optimal_discriminator(p_data, p_g(t0))                      # fixed during the step

    def grad(f):
        return (f(t0 + h) - f(t0 - h)) / (2 * h)

    nonsaturating = grad(lambda t: integral(p_g(t) * -np.log(d_star)))
    minimax = grad(lambda t: integral(p_g(t) * np.log1p(-d_star)))
    reverse_kl = grad(lambda t: integral(p_g(t) * np.log(p_g(t) / p_data)))
    forward_kl = grad(lambda t: integral(p_data * np.log(p_data / p_g(t))))
    js = grad(lambda t: minimax_1d.js_divergence_on_grid(p_data, p_g(t), x))
    assert nonsaturating == pytest.approx(reverse_kl - 2 * js, rel=1e-4)
    assert minimax == pytest.approx(2 * js, rel=1e-4)                          # the minimax loss: 2 JS
    for wrong in (reverse_kl, forward_kl - 2 * js, 2 * js, -2 * js):           # what it is not
        assert nonsaturating != pytest.approx(wrong, rel=1e-2)
