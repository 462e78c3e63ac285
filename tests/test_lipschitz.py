"""Tests for ganedu.lipschitz, each against an independent reference (per-sample loop, closed form,
scipy, torch's own spectral norm / SVD). Every test is built so that the bug it names would fail it."""
import math

import pytest
import torch
from scipy import stats
from torch import nn
from torch.nn.utils import parametrize
from torch.testing import assert_close

from ganedu import lipschitz as lip


class Scores(nn.Module):
    """Wrap a network whose output is (B, 1) so that it returns scores (B,)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).squeeze(1)


def mlp_critic(in_dim=2):
    return Scores(nn.Sequential(nn.Linear(in_dim, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)))


def conv_critic(norm=None):
    layers = [nn.Conv2d(1, 4, 3, stride=2, padding=1)]  # (B, 4, 4, 4)
    if norm is not None:
        layers.append(norm)
    layers += [nn.LeakyReLU(0.2), nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.LeakyReLU(0.2),  # (B, 8, 2, 2)
               nn.Flatten(), nn.Linear(32, 1)]
    return Scores(nn.Sequential(*layers))


def linear_critic(in_shape, w_norm):
    """c(x) = w . flatten(x) + b with ||w|| = w_norm."""
    d = math.prod(in_shape)
    lin = nn.Linear(d, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(1, d) * 1.0)
        lin.weight.mul_(w_norm / lin.weight.norm())
    return Scores(nn.Sequential(nn.Flatten(), lin)), lin


def assert_same_parameter_gradients(critic, penalty, reference, atol):
    """The penalty trains the critic: its gradient with respect to every parameter equals the reference loop's
    (a parameter it does not use gets 0 from both)."""
    params = list(critic.parameters())
    got = torch.autograd.grad(penalty, params, allow_unused=True, materialize_grads=True)
    want = torch.autograd.grad(reference.float(), params, allow_unused=True, materialize_grads=True)
    for a, b in zip(got, want):
        assert_close(a, b, rtol=1e-4, atol=atol)


def loop_penalty(critic, real, fake, eps, center=1.0):
    """Reference: each sample through the critic on its own, its gradient, its norm, in float64."""
    terms = []
    for i in range(real.shape[0]):
        x_hat_i = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).detach().requires_grad_(True)
        score = critic(x_hat_i.unsqueeze(0))[0]
        (g,) = torch.autograd.grad(score, x_hat_i, create_graph=True)
        norm = torch.sqrt((g.double() ** 2).sum())
        terms.append((norm - center) ** 2)
    return torch.stack(terms).mean()


# =========================================================================== gradient penalty
@pytest.mark.parametrize("shape,make", [((2,), mlp_critic), ((1, 8, 8), conv_critic)])
def test_gradient_penalty_matches_per_sample_loop(shape, make):
    torch.manual_seed(0)
    critic = make()
    real, fake = torch.randn(6, *shape), torch.randn(6, *shape) + 1.0
    eps = torch.rand(6)
    gp = lip.gradient_penalty(critic, real, fake, eps=eps)
    ref = loop_penalty(critic, real, fake, eps)
    assert_close(gp.double(), ref, rtol=1e-5, atol=1e-7)
    # and its gradient wrt the critic's parameters (the penalty must train the critic)
    assert_same_parameter_gradients(critic, gp, ref, atol=1e-6)  # (the last bias does not change grad_x c: 0)


@pytest.mark.parametrize("shape", [(2,), (1, 8, 8)])
@pytest.mark.parametrize("w_norm", [0.3, 1.0, 2.5])
def test_linear_critic_penalty_is_closed_form(shape, w_norm):
    torch.manual_seed(1)
    critic, _ = linear_critic(shape, w_norm)
    real, fake = torch.randn(16, *shape), torch.randn(16, *shape)
    gp = lip.gradient_penalty(critic, real, fake)
    # grad_x (w . x + b) = w for every sample, so the penalty is (||w|| - 1)^2 exactly
    assert_close(gp, torch.tensor((w_norm - 1.0) ** 2), rtol=1e-5, atol=1e-6)


def test_eps_is_uniform_and_one_per_sample():
    torch.manual_seed(2)
    # small batch, image-shaped: B distinct values, each constant over its sample's pixels
    x_hat = lip.interpolate(torch.ones(64, 1, 8, 8), torch.zeros(64, 1, 8, 8))  # x_hat = eps
    per_sample = x_hat.reshape(64, -1)
    assert_close(per_sample, per_sample[:, :1].expand(64, 64))  # one eps per sample, broadcast
    assert torch.unique(per_sample[:, 0]).numel() == 64  # not shared across the batch
    assert per_sample.min() >= 0 and per_sample.max() <= 1
    # large batch: U(0, 1), not N(0, 1) nor a constant
    eps = lip.interpolate(torch.ones(4000, 2), torch.zeros(4000, 2))[:, 0].double()
    assert abs(eps.mean().item() - 0.5) < 0.02
    assert stats.kstest(eps.numpy(), "uniform").pvalue > 1e-3


def test_eps_from_a_given_generator_is_reproducible():
    real, fake = torch.ones(16, 2), torch.zeros(16, 2)
    torch.manual_seed(0)
    state = torch.get_rng_state()
    a = lip.interpolate(real, fake, generator=torch.Generator().manual_seed(7))
    b = lip.interpolate(real, fake, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and torch.unique(a[:, 0]).numel() == 16
    assert torch.equal(torch.get_rng_state(), state)  # the global stream was not touched
    critic, x = mlp_critic(), torch.randn(8, 2)
    gp1 = lip.gradient_penalty(critic, x, fake[:8], generator=torch.Generator().manual_seed(1))
    gp2 = lip.gradient_penalty(critic, x, fake[:8], generator=torch.Generator().manual_seed(1))
    assert torch.equal(gp1, gp2)


def test_interpolate_with_given_eps():
    real, fake = torch.randn(3, 2, 4, 4), torch.randn(3, 2, 4, 4)
    eps = torch.tensor([0.0, 0.25, 1.0])
    want = torch.stack([e * r + (1 - e) * f for e, r, f in zip(eps, real, fake)])
    assert_close(lip.interpolate(real, fake, eps), want)
    assert_close(lip.interpolate(real, fake, eps.view(3, 1, 1, 1)), want)
    with pytest.raises(ValueError, match="one value per sample"):
        lip.interpolate(real, fake, torch.tensor(0.5))  # a shared eps is the bug
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        lip.interpolate(real, fake, torch.tensor([0.5, 1.5, -0.1]))


def test_norm_is_per_sample_over_all_non_batch_dims():
    # c(x) = 1/2 sum(x^2) per sample, so grad_x c = x: the gradients are what we put in.
    critic = lambda x: 0.5 * (x**2).flatten(1).sum(1)  # noqa: E731
    x = torch.empty(2, 1, 2, 2)
    x[0], x[1] = 0.5, 1.0  # per-sample norms 1 and 2
    gp = lip.gradient_penalty(critic, x, x.clone())  # real == fake: x_hat == x whatever eps
    # per sample: ((1-1)^2 + (2-1)^2) / 2 = 0.5
    assert_close(gp, torch.tensor(0.5))
    assert_close(lip.gradient_norms(x), torch.tensor([1.0, 2.0]))
    # the two classic bugs give other numbers
    whole_batch = (x.norm() - 1) ** 2  # ~1.53
    per_pixel = ((x.abs() - 1) ** 2).mean()  # 0.125
    assert not torch.isclose(gp, whole_batch) and not torch.isclose(gp, per_pixel)


def dead_relu_critic():
    """A ReLU critic in a dead region: first layer w = 0, b = -1, so grad_x c(x) is exactly 0."""
    first = nn.Linear(2, 8)
    with torch.no_grad():
        first.weight.zero_()
        first.bias.fill_(-1.0)
    return Scores(nn.Sequential(first, nn.ReLU(), nn.Linear(8, 1)))


def test_no_nan_at_zero_input_gradient():
    torch.manual_seed(3)
    critic = dead_relu_critic()
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    for center in (1.0, 2.0):
        critic.zero_grad()
        gp = lip.gradient_penalty(critic, real, fake, center=center)
        assert_close(gp, torch.tensor(center**2))
        gp.backward()
        grads = [p.grad for p in critic.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
    # the bug this guards against: sqrt(sum g^2) has a 0/0 derivative at g = 0
    g = lip.input_gradient(critic, torch.randn(8, 2))
    naive = ((torch.sqrt((g**2).sum(1)) - 1) ** 2).mean()
    first_weight = critic.net[0].weight
    (naive_grad,) = torch.autograd.grad(naive, first_weight)
    assert torch.isnan(naive_grad).any()


def test_constant_critic_gives_center_squared():
    bias = nn.Parameter(torch.tensor(0.7))
    critic = lambda x: bias.expand(x.shape[0])  # noqa: E731  scores ignore x
    gp = lip.gradient_penalty(critic, torch.randn(5, 3), torch.randn(5, 3))
    assert_close(gp, torch.tensor(1.0))
    assert_close(lip.input_gradient(critic, torch.randn(5, 3)), torch.zeros(5, 3))


def test_one_sided_penalty():
    torch.manual_seed(4)
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    small, _ = linear_critic((2,), 0.5)  # all norms 0.5 < 1
    assert_close(lip.gradient_penalty(small, real, fake, one_sided=True), torch.tensor(0.0))
    assert_close(lip.gradient_penalty(small, real, fake), torch.tensor(0.25))
    big, _ = linear_critic((2,), 3.0)  # all norms 3 > 1: the two agree
    eps = torch.rand(8)
    assert_close(lip.gradient_penalty(big, real, fake, eps=eps, one_sided=True),
                 lip.gradient_penalty(big, real, fake, eps=eps))
    # mixed norms, straight on penalty_from_norms: max(0, n - 1)^2 vs (n - 1)^2
    norms = torch.tensor([0.5, 2.0, 1.0, 3.0])
    assert_close(lip.penalty_from_norms(norms, one_sided=True), torch.tensor((0 + 1 + 0 + 4) / 4))
    assert_close(lip.penalty_from_norms(norms), torch.tensor((0.25 + 1 + 0 + 4) / 4))
    assert_close(lip.penalty_from_norms(norms, center=2.0), torch.tensor((2.25 + 0 + 1 + 1) / 4))


@pytest.mark.parametrize("norm", [nn.BatchNorm2d(4), nn.SyncBatchNorm(4)])
def test_batchnorm_critic_is_refused(norm):
    critic = conv_critic(norm)
    x = torch.randn(4, 1, 8, 8)
    with pytest.raises(ValueError, match="BatchNorm") as info:
        lip.gradient_penalty(critic, x, x)
    assert "norm='layer'" in str(info.value) and "per sample" in str(info.value)
    with pytest.raises(ValueError, match="BatchNorm"):
        lip.check_no_batchnorm(critic)
    lip.check_no_batchnorm(conv_critic(nn.GroupNorm(1, 4)))  # layer norm over (C, H, W) is fine
    with pytest.raises(TypeError, match="module"):
        lip.check_no_batchnorm(lambda x: x)


def test_check_no_batchnorm_on_the_course_networks():
    # the one home of the rule is lipschitz (models.has_batchnorm only answers yes or no)
    from ganedu.models import DCGANDiscriminator, MLPCritic
    with pytest.raises(ValueError, match="BatchNorm"):
        lip.check_no_batchnorm(MLPCritic(width=8, norm="batch"))
    lip.check_no_batchnorm(MLPCritic(width=8, norm="layer"))     # no error
    lip.check_no_batchnorm(DCGANDiscriminator(image_size=8, base=4, norm="layer"))


def test_shape_mismatch_names_both_shapes():
    critic = mlp_critic()
    with pytest.raises(ValueError, match=r"real \(4, 2\) and fake \(5, 2\)"):
        lip.interpolate(torch.zeros(4, 2), torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"real \(4, 2\) and fake \(4, 3\)"):
        lip.gradient_penalty(critic, torch.zeros(4, 2), torch.zeros(4, 3))
    with pytest.raises(TypeError, match="real"):
        lip.gradient_penalty(critic, [[0.0, 1.0]], torch.zeros(1, 2))
    with pytest.raises(ValueError, match="one score per sample"):
        lip.input_gradient(lambda x: x, torch.zeros(4, 2))


# =========================================================================== weight clipping
def test_clip_weights_clamps_every_parameter_in_place():
    torch.manual_seed(5)
    critic = nn.Sequential(nn.Linear(3, 16), nn.LayerNorm(16), nn.Linear(16, 1))
    with torch.no_grad():
        for p in critic.parameters():
            p.copy_(torch.randn_like(p) * 0.05)
    before = [p.detach().clone() for p in critic.parameters()]
    ptrs = [p.data_ptr() for p in critic.parameters()]
    c = 0.02
    assert lip.clip_weights_(critic, c) is critic
    for p, old, ptr in zip(critic.parameters(), before, ptrs):
        assert p.data_ptr() == ptr  # in place
        assert p.min() >= -c and p.max() <= c  # biases and LayerNorm scales too
        assert_close(p.detach(), old.clamp(-c, c))  # inside values unchanged, outside at +-c
    assert (before[1].abs() > c).any()  # the bias really had values to clip


@pytest.mark.parametrize("c, error", [(0, ValueError), (-0.01, ValueError), (float("nan"), ValueError),
                                      (float("inf"), ValueError), (True, TypeError)])
def test_clip_weights_bad_c(c, error):
    with pytest.raises(error, match="c must be > 0"):
        lip.clip_weights_(nn.Linear(2, 2), c)


def test_clip_weights_bad_module():
    with pytest.raises(TypeError, match="module"):
        lip.clip_weights_([torch.zeros(2)], 0.01)
    with pytest.raises(TypeError, match="c must be > 0"):
        lip.clip_weights_(nn.Linear(2, 2), "0.01")


# =========================================================================== power iteration
@pytest.mark.parametrize("shape", [(32, 20), (16, 8, 3, 3)])
def test_power_iteration_converges_to_largest_singular_value(shape):
    torch.manual_seed(6)
    weight = torch.randn(*shape, dtype=torch.float64)
    true_sigma = torch.linalg.matrix_norm(weight.reshape(shape[0], -1), ord=2)
    sigma, u = lip.power_iteration(weight, n_iter=100)
    assert_close(sigma, true_sigma, rtol=1e-3, atol=0)
    assert u.shape == (shape[0],)
    # one iteration per call, u carried over: the SNGAN way
    u = None
    for _ in range(100):
        sigma, u = lip.power_iteration(weight, u, n_iter=1)
    assert_close(sigma, true_sigma, rtol=1e-3, atol=0)


def test_power_iteration_sigma_gradient_is_u_v_transpose():
    # d sigma_max / dW = u1 v1^T (top singular vectors); u, v are constants in the estimate
    torch.manual_seed(7)
    weight = torch.randn(12, 7, dtype=torch.float64, requires_grad=True)
    sigma, _ = lip.power_iteration(weight, n_iter=200)
    (grad,) = torch.autograd.grad(sigma, weight)
    U, S, Vh = torch.linalg.svd(weight.detach())
    assert_close(grad, torch.outer(U[:, 0], Vh[0]), rtol=1e-4, atol=1e-6)


def test_power_iteration_bad_input():
    with pytest.raises(ValueError, match="u must have shape"):
        lip.power_iteration(torch.randn(4, 3), torch.randn(3))
    with pytest.raises(ValueError, match="weight"):
        lip.power_iteration(torch.randn(4))


# =========================================================================== spectral norm
def test_spectral_norm_makes_sigma_one():
    torch.manual_seed(8)
    critic = Scores(nn.Sequential(nn.Conv2d(1, 8, 3), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(8 * 36, 1)))
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(5.0)  # sigma well above 1 before normalising
    assert all(s > 2 for s in lip.layer_sigmas(critic).values())
    lip.spectral_norm(critic)
    x = torch.randn(4, 1, 8, 8)
    for _ in range(20):  # train-mode forward passes update u
        critic(x)
    sigmas = lip.layer_sigmas(critic)
    assert list(sigmas) == ["net.0", "net.3"]
    assert_close(torch.tensor(list(sigmas.values())), torch.ones(2), rtol=1e-4, atol=0)
    # the buffer u persists in the state dict
    assert "net.0.parametrizations.weight.0.u" in critic.state_dict()


@pytest.mark.parametrize("make", [lambda: nn.Linear(20, 12), lambda: nn.Conv2d(3, 6, 3),
                                  lambda: nn.ConvTranspose2d(6, 3, 4, stride=2, padding=1)])
def test_spectral_norm_agrees_with_torch(make):
    torch.manual_seed(9)
    theirs = make()
    ours = make()
    ours.load_state_dict(theirs.state_dict())
    torch.nn.utils.parametrizations.spectral_norm(theirs)  # dim=1 for ConvTranspose, chosen by torch
    lip.spectral_norm(ours)
    with torch.no_grad():  # same initial u
        ours.parametrizations.weight[0].u.copy_(theirs.parametrizations.weight[0]._u)
    x = torch.randn(5, 20) if isinstance(ours, nn.Linear) else torch.randn(2, ours.in_channels, 8, 8)
    # Same weights: the same outputs and the same gradients, step after step (u moves each time).
    # (Once the weights change the two differ slightly: torch keeps the previous step's v, while
    # Algorithm 1 recomputes v from u with the current W.)
    for _ in range(3):
        theirs.zero_grad(), ours.zero_grad()
        out_t, out_o = theirs(x), ours(x)
        assert_close(out_o, out_t, rtol=1e-4, atol=1e-6)
        (out_t**2).mean().backward()
        (out_o**2).mean().backward()
        w_t, w_o = theirs.parametrizations.weight.original, ours.parametrizations.weight.original
        assert_close(w_o.grad, w_t.grad, rtol=1e-4, atol=1e-6)
    theirs.eval(), ours.eval()  # eval: no power iteration, u (and v) of the last step
    assert_close(ours.weight, theirs.weight, rtol=1e-4, atol=1e-6)
    assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-6)


def test_spectral_norm_critic_called_twice_before_backward():
    torch.manual_seed(10)
    critic = lip.spectral_norm(mlp_critic())
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    # critic(real), critic(fake), then backward: u is updated between the two calls
    loss = critic(fake).mean() - critic(real).mean()
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in critic.parameters())


def test_eval_mode_and_lipschitz_estimate_do_not_update_u():
    torch.manual_seed(11)
    layer = lip.spectral_norm(nn.Linear(6, 4))
    critic = Scores(nn.Sequential(layer, nn.Tanh(), nn.Linear(4, 1)))
    u = layer.parametrizations.weight[0].u
    with torch.no_grad():  # a u far from converged, so that an update would show
        u.copy_(torch.nn.functional.normalize(torch.randn(4), dim=0))
    before = u.clone()
    lip.lipschitz_estimate(critic, torch.randn(3, 6))
    assert torch.equal(u, before) and critic.training and layer.training  # u untouched, mode kept
    lip.layer_sigmas(critic)
    assert torch.equal(u, before)
    critic.eval()
    critic(torch.randn(3, 6))
    assert torch.equal(u, before)
    critic.train()
    critic(torch.randn(3, 6))
    assert not torch.equal(u, before)  # a train-mode forward does move u


def test_remove_spectral_norm_restores_plain_linear():
    torch.manual_seed(12)
    layer = lip.spectral_norm(nn.Linear(5, 3))
    assert parametrize.is_parametrized(layer)
    layer.eval()
    w_sn = layer.weight.detach().clone()
    assert lip.remove_spectral_norm(layer) is layer
    assert type(layer) is nn.Linear and not parametrize.is_parametrized(layer)
    assert isinstance(layer.weight, nn.Parameter)
    assert_close(layer.weight.detach(), w_sn)  # keeps the normalised weight
    with pytest.raises(ValueError, match="no spectral_norm"):
        lip.remove_spectral_norm(layer)


def test_spectral_norm_container_and_errors():
    net = nn.Sequential(nn.Linear(2, 8), nn.LayerNorm(8), nn.Linear(8, 1))
    lip.spectral_norm(net)
    assert parametrize.is_parametrized(net[0]) and parametrize.is_parametrized(net[2])
    assert not parametrize.is_parametrized(net[1])  # only Linear / Conv layers
    with pytest.raises(ValueError, match="already"):
        lip.spectral_norm(net)
    with pytest.raises(ValueError, match="no Linear / Conv"):
        lip.spectral_norm(nn.ReLU())
    with pytest.raises(TypeError, match="module"):
        lip.spectral_norm("critic")


# =========================================================================== Lipschitz estimate
@pytest.mark.parametrize("shape", [(2,), (1, 8, 8)])
def test_lipschitz_estimate_of_linear_critic_is_weight_norm(shape):
    torch.manual_seed(13)
    critic, lin = linear_critic(shape, 1.7)
    est = lip.lipschitz_estimate(critic, torch.randn(10, *shape))
    assert isinstance(est, float)
    assert est == pytest.approx(lin.weight.norm().item(), rel=1e-6)
    assert est == pytest.approx(1.7, rel=1e-5)


def test_interpolate_gradient_norms_and_the_penalty_norms_equal_a_per_sample_loop():
    from ganedu.lipschitz import interpolate_gradient_norms
    from ganedu.models import MLPCritic

    torch.manual_seed(0)
    critic = MLPCritic(width=16)
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    eps = torch.rand(6)
    expected = []
    for i in range(6):  # the reference: one sample at a time
        x = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x[None]).sum(), x)
        expected.append(g.norm())
    expected = torch.stack(expected)
    torch.testing.assert_close(interpolate_gradient_norms(critic, real, fake, eps=eps), expected)
    penalty, norms = lip.gradient_penalty(critic, real, fake, eps=eps, return_norms=True)
    torch.testing.assert_close(norms, expected)
    torch.testing.assert_close(penalty, ((expected - 1) ** 2).mean())
    # max_samples keeps the first interpolates of a draw for the whole batch (the random stream is unchanged)
    a, b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    few = interpolate_gradient_norms(critic, real, fake, generator=a, max_samples=2)
    torch.testing.assert_close(few, interpolate_gradient_norms(critic, real, fake, generator=b)[:2])
    assert torch.equal(a.get_state(), b.get_state())


# =========================================================================== R1 penalty (Mescheder et al. 2018)
def loop_r1(critic, real):
    """Reference: each real sample through the critic on its own, its gradient, its squared norm, in float64."""
    terms = []
    for x in real:
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x.unsqueeze(0))[0], x, create_graph=True)
        terms.append((g.double() ** 2).sum())
    return torch.stack(terms).mean()


@pytest.mark.parametrize("shape,make", [((2,), mlp_critic), ((1, 8, 8), conv_critic)])
def test_r1_penalty_matches_per_sample_loop(shape, make):
    torch.manual_seed(3)
    critic = make()
    real = torch.randn(6, *shape)
    r1, norms = lip.r1_penalty(critic, real, return_norms=True)
    ref = loop_r1(critic, real)
    assert_close(r1.double(), ref, rtol=1e-5, atol=1e-8)
    assert_close((norms.double() ** 2).mean(), ref, rtol=1e-5, atol=1e-8)
    assert_same_parameter_gradients(critic, r1, ref, atol=1e-7)  # the penalty trains the critic


@pytest.mark.parametrize("shape", [(2,), (1, 8, 8)])
@pytest.mark.parametrize("w_norm", [0.3, 1.0, 2.5])
def test_linear_critic_r1_is_the_squared_weight_norm(shape, w_norm):
    torch.manual_seed(4)
    critic, _ = linear_critic(shape, w_norm)
    # grad_x (w . x + b) = w at every point: R1 = ||w||², not (||w|| - 1)² (its target is 0, not 1)
    assert_close(lip.r1_penalty(critic, torch.randn(16, *shape)), torch.tensor(w_norm**2), rtol=1e-5, atol=1e-7)


def test_r1_reads_real_data_only_and_is_zero_for_a_constant_critic():
    # c(x) = a ||x||²: grad 2 a x, so R1 = 4 a² E||x||² over the real batch, whatever the fakes are
    a = 0.7
    real = torch.randn(32, 3, generator=torch.Generator().manual_seed(5))
    got = lip.r1_penalty(lambda x: a * (x**2).sum(1), real)
    assert_close(got, 4 * a**2 * (real**2).sum(1).mean(), rtol=1e-5, atol=1e-7)
    const = Scores(nn.Linear(3, 1))
    with torch.no_grad():
        const.net.weight.zero_()
    assert lip.r1_penalty(const, real).item() == 0.0  # the equilibrium costs nothing (GP would give 1)
    assert lip.gradient_penalty(const, real, real + 1).item() == 1.0


def test_r1_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="real"):
        lip.r1_penalty(mlp_critic(), [[0.0, 1.0]])
    with pytest.raises(ValueError, match="BatchNorm"):
        lip.r1_penalty(conv_critic(nn.BatchNorm2d(4)), torch.randn(4, 1, 8, 8))
    with pytest.raises(ValueError, match="one score per sample"):
        lip.r1_penalty(lambda x: x.sum(), torch.randn(4, 2))
