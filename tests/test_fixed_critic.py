"""Tests for ganedu.lessons.fixed_critic against independent references: per-sample Jacobians, closed forms,
hand-computed losses, numerical integration and numpy least squares."""
import copy
import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad
from scipy.stats import norm
from torch import nn

from ganedu.lessons import fixed_critic
from ganedu.data import sample_parallel_lines
from ganedu.models import MLPCritic


def _reference_layer_norms(critic, x):
    """Per sample, the Jacobian of the rest of the network wrt the input of each Linear layer."""
    layers = list(critic.net)
    starts = [i for i, m in enumerate(layers) if isinstance(m, nn.Linear)]
    out = []
    for start in starts:
        tail = nn.Sequential(*layers[start:])
        norms = []
        for xi in x:
            h = nn.Sequential(*layers[:start])(xi[None])[0] if start else xi
            jac = torch.autograd.functional.jacobian(lambda v: tail(v[None])[0, 0], h)
            norms.append(jac.norm().item())
        out.append(np.mean(norms))
    return np.array(out)


def test_layer_grad_norms_match_per_sample_jacobians():
    torch.manual_seed(0)
    critic = MLPCritic(width=16, depth=4)
    x = torch.randn(10, 2)
    got = fixed_critic.layer_grad_norms(critic, x)
    assert got.shape == (5,)
    np.testing.assert_allclose(got.numpy(), _reference_layer_norms(critic, x), rtol=1e-5, atol=1e-9)


def test_layer_grad_norms_closed_form_when_every_relu_is_active():
    # positive weights, biases and inputs: every ReLU passes its input, so dD/dh_l = W_L ... W_l
    torch.manual_seed(1)
    critic = MLPCritic(width=8, depth=3)
    with torch.no_grad():
        for p in critic.parameters():
            p.copy_(p.abs() + 0.01)
    x = torch.rand(5, 2) + 0.1
    Ws = [m.weight.double() for m in critic.net if isinstance(m, nn.Linear)]
    expected = []
    for l in range(len(Ws)):
        J = Ws[-1]
        for W in reversed(Ws[l:-1]):
            J = J @ W
        expected.append(J.norm().item())
    torch.testing.assert_close(fixed_critic.layer_grad_norms(critic, x), torch.tensor(expected, dtype=torch.float64))


def test_layer_grad_norms_do_not_underflow_in_float32():
    critic = fixed_critic.deep_relu_critic(depth=12, width=64)
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-1e-3, 1e-3)
    norms = fixed_critic.layer_grad_norms(critic, torch.randn(16, 2))
    assert (norms > 0).all() and torch.isfinite(norms).all()


def test_deep_relu_critic_shape_and_layers():
    critic = fixed_critic.deep_relu_critic(depth=12, width=32)
    assert sum(isinstance(m, nn.Linear) for m in critic.modules()) == 13
    assert sum(isinstance(m, nn.ReLU) for m in critic.modules()) == 12
    assert critic(torch.randn(4, 2)).shape == (4,)
    with pytest.raises(ValueError, match="depth"):
        fixed_critic.deep_relu_critic(depth=0)


def test_norm_ratios():
    torch.testing.assert_close(fixed_critic.norm_ratios(torch.tensor([8.0, 4.0, 2.0, 1.0])),
                               torch.tensor([2.0, 2.0, 2.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="at least 2"):
        fixed_critic.norm_ratios(torch.tensor([1.0]))


@pytest.mark.parametrize("loss", ["wasserstein", "minimax"])
def test_train_critic_fixed_first_loss_matches_hand_computation(loss):
    torch.manual_seed(0)
    critic = MLPCritic(width=16, depth=2)
    untouched = copy.deepcopy(critic)
    real, fake = torch.randn(100, 2), torch.randn(80, 2) + 3
    losses = fixed_critic.train_critic_fixed(critic, real, fake, steps=3, loss=loss, batch_size=32, seed=5)
    rng = torch.Generator().manual_seed(5)
    x = real[torch.randint(100, (32,), generator=rng)]
    x_fake = fake[torch.randint(80, (32,), generator=rng)]
    with torch.no_grad():
        r, f = untouched(x), untouched(x_fake)
        if loss == "wasserstein":
            expected = f.mean() - r.mean()
        else:  # -[E log sigma(r) + E log(1 - sigma(f))], in float64
            r, f = r.double(), f.double()
            expected = -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean())
    assert len(losses) == 3
    assert losses[0] == pytest.approx(float(expected), rel=1e-5, abs=1e-6)


@pytest.mark.training_outcome
def test_train_critic_fixed_clips_every_parameter_and_learns_direction():
    torch.manual_seed(0)
    critic = MLPCritic(width=16, depth=2)
    real, fake = torch.randn(500, 2) - 2, torch.randn(500, 2) + 2
    fixed_critic.train_critic_fixed(critic, real, fake, steps=50, clip=0.05, lr=1e-3)
    for p in critic.parameters():
        assert p.abs().max() <= 0.05
    with torch.no_grad():
        assert critic(real).mean() > critic(fake).mean()  # it separates real from fake


def test_train_critic_fixed_rejects_bad_arguments():
    critic, x = MLPCritic(width=8, depth=1), torch.randn(10, 2)
    with pytest.raises(ValueError, match="steps"):
        fixed_critic.train_critic_fixed(critic, x, x, steps=0)
    with pytest.raises(ValueError, match="clip"):
        fixed_critic.train_critic_fixed(critic, x, x, steps=1, clip=-1)
    with pytest.raises(ValueError, match="loss"):
        fixed_critic.train_critic_fixed(critic, x, x, steps=1, loss="bce")
    with pytest.raises(ValueError, match="optimizer"):
        fixed_critic.train_critic_fixed(critic, x, x, steps=1, optimizer="sgd")
    with pytest.raises(TypeError, match="MLPCritic"):
        fixed_critic.layer_grad_norms(nn.Linear(2, 1), x)


def test_js_from_value_limits():
    x = torch.zeros(10, 1)
    assert fixed_critic.js_from_value(lambda v: torch.zeros(len(v)), x, x) == pytest.approx(0.0, abs=1e-7)
    perfect = lambda v: torch.where(v[:, 0] < 0.5, 100.0, -100.0)  # real at 0, fake at 1
    assert fixed_critic.js_from_value(perfect, x, x + 1) == pytest.approx(math.log(2), abs=1e-6)


def test_js_from_value_with_the_optimal_discriminator_matches_integration():
    # N(0, 1) vs N(1, 1): D* has logit log p_r - log p_g = 0.5 - x (Goodfellow et al. 2014, Prop. 1)
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(400_000, 1, generator=g), 1 + torch.randn(400_000, 1, generator=g)
    got = fixed_critic.js_from_value(lambda v: 0.5 - v[:, 0], real, fake)

    def kl_to_mixture(p, q):
        return quad(lambda t: p(t) * math.log(2 * p(t) / (p(t) + q(t))), -12, 13)[0]
    p, q = norm(0, 1).pdf, norm(1, 1).pdf
    expected = 0.5 * kl_to_mixture(p, q) + 0.5 * kl_to_mixture(q, p)
    assert got == pytest.approx(expected, abs=3e-3)


def test_linear_fit_r2_against_numpy():
    g = np.random.default_rng(0)
    x = g.normal(size=(200, 2))
    affine = 3 * x[:, 0] - 2 * x[:, 1] + 1
    assert fixed_critic.linear_fit_r2(torch.tensor(affine), torch.tensor(x)) == pytest.approx(1.0, abs=1e-12)
    v = x[:, 0] - x[:, 1] + x[:, 0] ** 2 * x[:, 1]
    A = np.column_stack([x, np.ones(len(x))])
    coef, *_ = np.linalg.lstsq(A, v, rcond=None)
    expected = 1 - np.sum((A @ coef - v) ** 2) / np.sum((v - v.mean()) ** 2)
    assert fixed_critic.linear_fit_r2(torch.tensor(v), torch.tensor(x)) == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError, match="shape"):
        fixed_critic.linear_fit_r2(torch.tensor(v), torch.tensor(x[:10]))


@pytest.mark.training_outcome
def test_estimate_from_samples_on_parallel_lines():
    g = torch.Generator().manual_seed(0)
    real, fake = sample_parallel_lines(0.5, 1000, generator=g)
    real_t, fake_t = sample_parallel_lines(0.5, 500, generator=g)
    est = fixed_critic.estimate_from_samples(real, fake, real_t, fake_t, steps=100, width=32)
    assert est["js"] == pytest.approx(math.log(2), abs=0.01)
    assert est["w1_exact"] == pytest.approx(0.5, abs=0.02)
    assert est["w1_critic"] == pytest.approx(0.5, abs=0.1)
    assert 0.7 < est["lipschitz"] < 1.3
