"""Tests for ganedu.losses: each loss against its literal formula, stability, gradients, input checks."""
import math

import pytest
import torch
from torch.testing import assert_close

from ganedu import losses as L


@pytest.fixture
def scores():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(64, generator=g) * 3.0  # moderate logits: sigmoid neither 0 nor 1
    fake = torch.randn(48, generator=g) * 3.0 - 1.0  # different batch size on purpose
    return real, fake


# ----------------------------------------------------------------- literal formulas on probabilities
def test_minimax_pair_matches_probability_formulas(scores):
    real, fake = scores
    d_real, d_fake = torch.sigmoid(real).double(), torch.sigmoid(fake).double()
    # Goodfellow et al. 2014, Eq. 1 written on probabilities
    expected_d = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    expected_g_sat = torch.log(1 - d_fake).mean()
    expected_g_ns = -torch.log(d_fake).mean()
    assert_close(L.d_loss_minimax(real, fake).double(), expected_d, rtol=1e-5, atol=1e-6)
    assert_close(L.g_loss_saturating(fake).double(), expected_g_sat, rtol=1e-5, atol=1e-6)
    assert_close(L.g_loss_nonsaturating(fake).double(), expected_g_ns, rtol=1e-5, atol=1e-6)


def test_minimax_matches_torch_bce(scores):
    real, fake = scores
    bce = torch.nn.functional.binary_cross_entropy(
        torch.sigmoid(real), torch.ones_like(real)
    ) + torch.nn.functional.binary_cross_entropy(torch.sigmoid(fake), torch.zeros_like(fake))
    assert_close(L.d_loss_minimax(real, fake), bce, rtol=1e-5, atol=1e-6)


def test_misplaced_log_formula_is_different(scores):
    # the widely copied -[E log d(x) + E(1 - log d(g(z)))] is not the BCE loss; ours is the correct one.
    real, fake = scores
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    misplaced = -(torch.log(d_real).mean() + (1 - torch.log(d_fake)).mean())
    assert not torch.allclose(L.d_loss_minimax(real, fake), misplaced, rtol=1e-2)


def test_wasserstein_sign_and_value(scores):
    real, fake = scores
    assert_close(L.critic_loss_wasserstein(real, fake), fake.mean() - real.mean())
    assert_close(L.g_loss_wasserstein(fake), -fake.mean())
    # a critic that scores real higher than fake has a *negative* loss (it is doing its job)
    assert L.critic_loss_wasserstein(torch.full((4,), 2.0), torch.full((3,), -1.0)).item() == -3.0


def test_hinge_matches_formula(scores):
    real, fake = scores
    expected = torch.clamp(1 - real, min=0).mean() + torch.clamp(1 + fake, min=0).mean()
    assert_close(L.d_loss_hinge(real, fake), expected)
    assert_close(L.g_loss_hinge(fake), -fake.mean())
    # scores beyond the margins cost nothing
    assert L.d_loss_hinge(torch.tensor([1.5, 3.0]), torch.tensor([-1.0, -2.0])).item() == 0.0


def test_least_squares_matches_formula(scores):
    real, fake = scores
    expected_d = 0.5 * ((real - 1) ** 2).mean() + 0.5 * ((fake - 0) ** 2).mean()
    expected_g = 0.5 * ((fake - 1) ** 2).mean()
    assert_close(L.d_loss_least_squares(real, fake), expected_d)
    assert_close(L.g_loss_least_squares(fake), expected_g)


def test_b1_shape_is_accepted_and_equal(scores):
    real, fake = scores
    for name, (d_loss, g_loss) in L.LOSSES.items():
        assert_close(d_loss(real[:, None], fake[:, None]), d_loss(real, fake), msg=name)
        assert_close(g_loss(fake[:, None]), g_loss(fake), msg=name)
        assert d_loss(real, fake).ndim == 0 and g_loss(fake).ndim == 0


def test_losses_table():
    assert set(L.LOSSES) == {"minimax", "nonsaturating", "wasserstein", "hinge", "least_squares"}
    assert L.LOSSES["minimax"] == (L.d_loss_minimax, L.g_loss_saturating)
    assert L.LOSSES["nonsaturating"] == (L.d_loss_minimax, L.g_loss_nonsaturating)
    assert L.LOSSES["wasserstein"] == (L.critic_loss_wasserstein, L.g_loss_wasserstein)
    assert L.LOSSES["hinge"] == (L.d_loss_hinge, L.g_loss_hinge)
    assert L.LOSSES["least_squares"] == (L.d_loss_least_squares, L.g_loss_least_squares)


# ----------------------------------------------------------------- numerical stability
def test_naive_form_overflows_at_100():
    # the failure the logit form avoids (keeps this test honest)
    l = torch.tensor([100.0, -100.0], requires_grad=True)
    naive = -(torch.log(torch.sigmoid(-l)).sum())
    naive.backward()
    assert not torch.isfinite(naive)
    assert not torch.isfinite(l.grad).all()


@pytest.mark.parametrize("big", [100.0, -100.0])
def test_stable_at_extreme_logits(big):
    real = torch.tensor([-big, big], requires_grad=True)
    fake = torch.tensor([big, -big], requires_grad=True)
    d = L.d_loss_minimax(real, fake)
    g_sat, g_ns = L.g_loss_saturating(fake), L.g_loss_nonsaturating(fake)
    # softplus(100) = 100, softplus(-100) ~ 0: each mean is (100 + 0) / 2
    assert_close(d, torch.tensor(100.0))
    assert_close(g_sat, torch.tensor(-50.0))
    assert_close(g_ns, torch.tensor(50.0))
    (d + g_sat + g_ns).backward()
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()
    # d/dl softplus(-l) = -(1 - sigmoid(l)): -1 at l = -100, 0 at l = +100 (then / batch of 2)
    assert_close(real.grad, -(1 - torch.sigmoid(real.detach())) / 2)


# ----------------------------------------------------------------- saturating vs non-saturating
@pytest.mark.parametrize("D", [0.1, 0.01])
def test_saturating_vs_nonsaturating_gradients(D):
    logit = torch.tensor([math.log(D / (1 - D))], dtype=torch.float64, requires_grad=True)
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l) = -D
    (grad_sat,) = torch.autograd.grad(L.g_loss_saturating(logit), logit)
    # d/dl -log sigmoid(l) = -(1 - sigmoid(l)) = -(1 - D)
    (grad_ns,) = torch.autograd.grad(L.g_loss_nonsaturating(logit), logit)
    assert_close(grad_sat, torch.tensor([-D], dtype=torch.float64))
    assert_close(grad_ns, torch.tensor([-(1 - D)], dtype=torch.float64))
    # the non-saturating loss pushes (1 - D) / D times harder: 9x at D = 0.1, 99x at D = 0.01
    assert_close(grad_ns / grad_sat, torch.tensor([(1 - D) / D], dtype=torch.float64))


# ----------------------------------------------------------------- input checks
def test_bad_inputs_raise_with_argument_names():
    ok = torch.zeros(4)
    with pytest.raises(TypeError, match="real_logits"):
        L.d_loss_minimax([0.0, 1.0], ok)
    with pytest.raises(TypeError, match="fake_scores"):
        L.g_loss_wasserstein(0.5)
    with pytest.raises(ValueError, match=r"fake_logits.*\(4, 2\)"):
        L.d_loss_minimax(ok, torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"real_scores.*\(2, 1, 8, 8\)"):
        L.critic_loss_wasserstein(torch.zeros(2, 1, 8, 8), ok)
    with pytest.raises(ValueError, match="real_scores.*empty"):
        L.d_loss_hinge(torch.zeros(0), ok)
    with pytest.raises(ValueError, match=r"fake_scores.*\(\)"):
        L.g_loss_least_squares(torch.tensor(1.0))
    with pytest.raises(TypeError, match="fake_logits.*floating"):  # an integer dtype is a wrong type
        L.g_loss_nonsaturating(torch.zeros(4, dtype=torch.long))
