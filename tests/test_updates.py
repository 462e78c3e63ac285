"""The two updates: each equals the papers' step written out by hand, and the penalty is lipschitz's."""
import pytest
import torch

from ganedu import lipschitz, updates
from ganedu.lessons import fixed_critic
from ganedu.models import MLPCritic, MLPGenerator
from ganedu.train import Trainer

LR = 0.05


def batches(seed=0, B=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, 2, generator=g), torch.randn(B, 2, generator=g) + 2


def by_hand(critic, real, fake, *, gp_lambda, clip, eps):
    """WGAN-GP Algorithm 1, lines 4-9, written out: L = E C(x~) - E C(x) + λ E(||∇C(x̂)|| - 1)², then
    w <- w - lr ∇L (plain SGD, so the update is known exactly), then w <- clip(w, -c, c)."""
    params = list(critic.parameters())
    loss = critic(fake).mean() - critic(real).mean()
    if gp_lambda > 0:
        norms = []
        for x, x_t, e in zip(real, fake, eps):  # one sample at a time
            x_hat = (e * x + (1 - e) * x_t).detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(critic(x_hat[None]).sum(), x_hat, create_graph=True)
            norms.append(grad.norm())
        loss = loss + gp_lambda * ((torch.stack(norms) - 1) ** 2).mean()
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        new = [p - LR * g for p, g in zip(params, grads)]
        return [w.clamp(-clip, clip) for w in new] if clip is not None else new, loss.detach()


@pytest.mark.parametrize("gp_lambda, clip", [(0.0, None), (10.0, None), (0.0, 0.05), (1.0, 0.2)])
def test_critic_update_is_the_step_written_out(gp_lambda, clip):
    torch.manual_seed(0)
    critic, real, fake = MLPCritic(width=8, depth=2), *batches()
    eps = torch.rand(len(real), generator=torch.Generator().manual_seed(7))  # what the update draws
    expected, expected_loss = by_hand(critic, real, fake, gp_lambda=gp_lambda, clip=clip, eps=eps)
    loss, w, gp, norm = updates.critic_update(critic, torch.optim.SGD(critic.parameters(), lr=LR), real, fake,
                                              gp_lambda=gp_lambda, clip=clip,
                                              rng=torch.Generator().manual_seed(7))
    for got, want in zip(critic.parameters(), expected):
        torch.testing.assert_close(got.detach(), want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(loss, expected_loss, rtol=1e-5, atol=1e-6)
    assert not loss.requires_grad and not w.requires_grad
    assert (gp > 0) == (gp_lambda > 0) and (norm > 0) == (gp_lambda > 0)  # diagnose=False: nothing measured


def test_critic_update_reports_the_penalty_it_adds_and_the_w_estimate():
    torch.manual_seed(1)
    critic, real, fake = MLPCritic(width=8, depth=2), *batches(1)
    before = MLPCritic(width=8, depth=2)
    before.load_state_dict(critic.state_dict())
    loss, w, gp, norm = updates.critic_update(critic, torch.optim.SGD(critic.parameters(), lr=LR), real, fake,
                                              gp_lambda=3.0, rng=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(w, before(real).mean() - before(fake).mean())
    penalty, norms = lipschitz.gradient_penalty(before, real, fake, generator=torch.Generator().manual_seed(2),
                                                return_norms=True)
    torch.testing.assert_close(gp, penalty.detach())
    torch.testing.assert_close(norm, norms.detach().mean())
    torch.testing.assert_close(loss, before(fake).mean().detach() - before(real).mean().detach() + 3.0 * gp)


@pytest.mark.parametrize("loss", ["nonsaturating", "least_squares"])
def test_the_r1_update_is_the_step_written_out(loss):
    """Mescheder et al. 2018, Eq. 9, written out: L = ℓ_D(D(x), D(x~)) + γ/2 E_x ||∇_x D(x)||² on the real
    batch only (one sample at a time), then w <- w - lr ∇L (plain SGD)."""
    torch.manual_seed(4)
    critic, real, fake = MLPCritic(width=8, depth=2), *batches(4)
    gamma, params = 3.0, list(critic.parameters())
    if loss == "nonsaturating":  # -log σ(l(x)) - log(1 - σ(l(x~)))
        by_hand_loss = -torch.log(torch.sigmoid(critic(real))).mean() - torch.log(1 - torch.sigmoid(critic(fake))).mean()
    else:  # ½ E (D(x) - 1)² + ½ E D(x~)²
        by_hand_loss = 0.5 * ((critic(real) - 1) ** 2).mean() + 0.5 * (critic(fake) ** 2).mean()
    squares = []
    for x in real:
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x[None]).sum(), x, create_graph=True)
        squares.append((grad**2).sum())
    r1 = torch.stack(squares).mean()
    grads = torch.autograd.grad(by_hand_loss + gamma / 2 * r1, params)
    with torch.no_grad():
        expected = [p - LR * g for p, g in zip(params, grads)]
    got_loss, _, got_r1, _ = updates.critic_update(critic, torch.optim.SGD(params, lr=LR), real, fake, loss=loss,
                                                   r1_gamma=gamma)
    for got, want in zip(critic.parameters(), expected):
        torch.testing.assert_close(got.detach(), want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got_loss, (by_hand_loss + gamma / 2 * r1).detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got_r1, r1.detach(), rtol=1e-5, atol=1e-7)


def test_the_trainer_adds_r1_with_the_recipes_gamma(monkeypatch):
    calls = []
    monkeypatch.setattr(updates, "r1_penalty", lambda c, real: calls.append(real.shape) or lipschitz.r1_penalty(c, real))
    t = Trainer.from_recipe("r1-toy", device="cpu", width=8, batch_size=16, n_critic=2)
    t.step()
    assert calls == [(16, 2), (16, 2)]  # one per critic update, on the real batch
    calls.clear()
    Trainer.from_recipe("nsgan-toy", device="cpu", width=8, batch_size=16).step()
    assert calls == []


def test_diagnose_measures_the_norm_without_training_on_it():
    torch.manual_seed(2)
    critic, real, fake = MLPCritic(width=8, depth=2), *batches(2)
    twin = MLPCritic(width=8, depth=2)
    twin.load_state_dict(critic.state_dict())
    kw = dict(rng=None)
    loss_a, _, gp_a, norm_a = updates.critic_update(critic, torch.optim.SGD(critic.parameters(), lr=LR), real,
                                                    fake, diagnose=True, **kw)
    loss_b, _, gp_b, norm_b = updates.critic_update(twin, torch.optim.SGD(twin.parameters(), lr=LR), real,
                                                    fake, diagnose=False, **kw)
    assert norm_a > 0 and gp_a > 0 and norm_b == 0 and gp_b == 0
    torch.testing.assert_close(loss_a, loss_b)  # measured, not added
    for p, q in zip(critic.parameters(), twin.parameters()):
        assert torch.equal(p, q)


def test_the_trainer_and_the_fixed_critic_lessons_run_lipschitz_gradient_penalty(monkeypatch):
    """One documented penalty: the update calls ganedu.lipschitz.gradient_penalty, whoever runs it."""
    assert updates.gradient_penalty is lipschitz.gradient_penalty
    calls = []
    monkeypatch.setattr(updates, "gradient_penalty",
                        lambda *a, **k: calls.append(1) or lipschitz.gradient_penalty(*a, **k))
    t = Trainer.from_recipe("wgan-gp-toy", device="cpu", width=8, batch_size=16, n_critic=2)
    t.step()
    assert len(calls) == 2  # one per critic update
    real, fake = batches()
    fixed_critic.train_critic_fixed(MLPCritic(width=8, depth=1), real, fake, steps=3, gp_lambda=1.0, batch_size=8)
    assert len(calls) == 5


def test_generator_update_moves_only_the_generator():
    torch.manual_seed(3)
    generator, critic = MLPGenerator(width=8, depth=2), MLPCritic(width=8, depth=2)
    g_before = [p.detach().clone() for p in generator.parameters()]
    c_before = [p.detach().clone() for p in critic.parameters()]
    z = torch.randn(16, generator.z_dim)
    with torch.no_grad():
        expected_loss = -critic(generator(z)).mean()  # the Wasserstein generator loss, -E C(G(z))
    loss = updates.generator_update(generator, critic, torch.optim.SGD(generator.parameters(), lr=LR), z)
    torch.testing.assert_close(loss, expected_loss)
    assert all(torch.equal(p, q) for p, q in zip(critic.parameters(), c_before))
    assert all(p.grad is None for p in critic.parameters())
    assert all(p.requires_grad for p in critic.parameters())  # unfrozen afterwards
    assert any(not torch.equal(p, q) for p, q in zip(generator.parameters(), g_before))


def test_unknown_loss_names_the_choices():
    critic, (real, fake) = MLPCritic(width=8, depth=1), batches()
    opt = torch.optim.SGD(critic.parameters(), lr=LR)
    with pytest.raises(ValueError, match="loss='bce' is not known; choose one of: minimax"):
        updates.critic_update(critic, opt, real, fake, loss="bce")
    with pytest.raises(ValueError, match="wasserstein"):
        updates.generator_update(MLPGenerator(width=8, depth=1), critic, opt, torch.randn(4, 2), loss="bce")
