"""ganedu.conditional: labels, the two conditional critics, the conditional gradient penalty.

References are independent: the networks are recomputed sample by sample from their weights, the
penalty by a per-sample loop of autograd calls.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganedu.conditional import (Conditioned, ConcatCritic, ConditionalGenerator, ProjectionCritic, check_labels,
                                conditional_gradient_penalty, one_hot)
from ganedu.lipschitz import gradient_penalty
from ganedu.updates import frozen


def _mlp_by_hand(linears, h):
    """ReLU MLP applied to one sample ``h`` (d,) with the given Linear layers (the last one without ReLU)."""
    for i, layer in enumerate(linears):
        h = layer.weight @ h + layer.bias
        if i < len(linears) - 1:
            h = torch.relu(h)
    return h


def _batch(n=12, k=5, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(k, (n,), generator=g)


# ------------------------------------------------------------------------------------ labels
def test_one_hot_rows():
    y = torch.tensor([2, 0, 1])
    torch.testing.assert_close(one_hot(y, 3), torch.tensor([[0., 0., 1.], [1., 0., 0.], [0., 1., 0.]]))


@pytest.mark.parametrize("bad, error, words", [
    (torch.tensor([0, 1, 5]), ValueError, ["y", "0..4", "got 5"]),
    (torch.tensor([0, -1, 2]), ValueError, ["y", "0..4", "got -1"]),
    (torch.tensor([0.0, 1.0, 2.0]), TypeError, ["y", "integer", "torch.float32"]),
    (F.one_hot(torch.tensor([0, 1, 2]), 5).float(), TypeError, ["y", "integer", "argmax"]),
    ([0, 1, 2], TypeError, ["y", "torch.Tensor", "list"]),
    (torch.tensor([0, 1]), ValueError, ["y", "one label per sample", "batch of 3", "got 2"]),
    (torch.tensor([[0], [1], [2]]), ValueError, ["y", "shape (B,)", "(3, 1)"]),
])
@pytest.mark.parametrize("net", ["generator", "concat", "projection", "penalty"])
def test_label_errors_name_the_argument_and_the_value(bad, error, words, net):
    torch.manual_seed(0)
    x, z = torch.randn(3, 2), torch.randn(3, 4)
    critic = ProjectionCritic(5, 2, width=8, depth=1) if net == "projection" else ConcatCritic(5, 2, 8, 1)
    call = {"generator": lambda: ConditionalGenerator(5, 4, (2,), 8, 1)(z, bad),
            "concat": lambda: critic(x, bad), "projection": lambda: critic(x, bad),
            "penalty": lambda: conditional_gradient_penalty(critic, x, x + 1, bad)}[net]
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_check_labels_returns_good_labels_and_skips_range_without_n_classes():
    y = torch.tensor([0, 9, 3])
    assert check_labels("y", y, 10, batch=3) is y
    assert check_labels("y", y, None) is y
    with pytest.raises(ValueError, match="0..8"):
        check_labels("y", y, 9)


# ------------------------------------------------------------------------------------ networks
def test_projection_critic_equals_the_per_sample_formula():
    """D(x, y) = ψ(φ(x)) + V_y · φ(x), each sample computed alone from the weights."""
    torch.manual_seed(0)
    critic = ProjectionCritic(n_classes=5, in_dim=3, width=16, depth=2)
    x, y = _batch()
    got = critic(x, y)
    phi_layers = [m for m in critic.phi if isinstance(m, nn.Linear)]
    want = []
    for xi, yi in zip(x, y):
        h = torch.relu(_mlp_by_hand(phi_layers, xi))                    # φ(x): every hidden layer ReLU'd
        psi = critic.psi.weight[0] @ h + critic.psi.bias[0]             # ψ(φ(x))
        want.append(psi + critic.embed.weight[yi] @ h)                  # + V_y · φ(x)
    torch.testing.assert_close(got, torch.stack(want))
    assert got.shape == (12,)


def test_projection_term_is_what_makes_the_score_depend_on_the_label():
    torch.manual_seed(0)
    critic = ProjectionCritic(n_classes=5, in_dim=3, width=16, depth=2)
    x, _ = _batch()
    a, b = critic(x, torch.zeros(12, dtype=torch.long)), critic(x, torch.ones(12, dtype=torch.long))
    features = critic.phi(x)
    torch.testing.assert_close(a - b, features @ (critic.embed.weight[0] - critic.embed.weight[1]))


def test_concat_critic_equals_the_per_sample_formula():
    torch.manual_seed(0)
    critic = ConcatCritic(n_classes=5, in_dim=3, width=16, depth=2)
    x, y = _batch()
    layers = [m for m in critic.net if isinstance(m, nn.Linear)]
    want = torch.stack([_mlp_by_hand(layers, torch.cat([xi, F.one_hot(yi, 5).float()]))[0] for xi, yi in zip(x, y)])
    torch.testing.assert_close(critic(x, y), want)


def test_critics_flatten_images():
    torch.manual_seed(0)
    x, y = torch.randn(4, 1, 4, 4), torch.tensor([0, 1, 2, 3])
    for cls in (ConcatCritic, ProjectionCritic):
        critic = cls(n_classes=4, in_dim=16, width=8, depth=1)
        torch.testing.assert_close(critic(x, y), critic(x.reshape(4, 16), y))
        with pytest.raises(ValueError, match="C\\*H\\*W = 16"):
            critic(torch.randn(4, 1, 3, 3), y)


def test_spectral_projection_critic_normalises_every_layer_and_the_embedding():
    torch.manual_seed(0)
    critic = ProjectionCritic(n_classes=10, in_dim=3, width=32, depth=2, norm="spectral")
    x, y = _batch(k=10)
    for _ in range(30):                                                 # power iteration converges
        critic(x, y)
    weights = [m.weight for m in critic.phi if isinstance(m, nn.Linear)] + [critic.psi.weight, critic.embed.weight]
    sigmas = torch.stack([torch.linalg.matrix_norm(w.detach(), 2) for w in weights])
    torch.testing.assert_close(sigmas, torch.ones(len(weights)), atol=2e-3, rtol=0)
    plain = ProjectionCritic(n_classes=10, in_dim=3, width=32, depth=2)
    assert torch.linalg.matrix_norm(plain.embed.weight.detach(), 2) > 1.1   # the test can fail


def test_generator_uses_the_label_and_squashes_images():
    torch.manual_seed(0)
    gen = ConditionalGenerator(n_classes=10, z_dim=6, out_shape=(1, 4, 4), width=16, depth=2, tanh=True)
    z = torch.randn(5, 6)
    a, b = gen(z, torch.zeros(5, dtype=torch.long)), gen(z, torch.full((5,), 7))
    assert a.shape == (5, 1, 4, 4) and a.abs().max() < 1
    assert (a - b).abs().max() > 1e-3
    layers = [m for m in gen.net if isinstance(m, nn.Linear)]
    want = torch.tanh(_mlp_by_hand(layers, torch.cat([z[0], F.one_hot(torch.tensor(7), 10).float()])))
    torch.testing.assert_close(b[0].reshape(-1), want)


def test_conditioned_binds_labels_and_shares_parameters():
    torch.manual_seed(0)
    critic = ConcatCritic(n_classes=5, in_dim=3, width=8, depth=1)
    x, y = _batch()
    bound = Conditioned(critic, y)
    torch.testing.assert_close(bound(x), critic(x, y))
    assert [id(p) for p in bound.parameters()] == [id(p) for p in critic.parameters()]
    with frozen(bound):
        assert not any(p.requires_grad for p in critic.parameters())
    assert all(p.requires_grad for p in critic.parameters())


# ------------------------------------------------------------------------------------ penalty
def _per_sample_penalty(critic, real, fake, y, eps):
    """(1/B) Σ_i (||∇_x D(x̂_i, y_i)|| - 1)², x̂_i = ε_i x_i + (1 - ε_i) x̃_i, one autograd call per sample."""
    terms = []
    for xi, fi, yi, ei in zip(real, fake, y, eps):
        x_hat = (ei * xi + (1 - ei) * fi).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_hat[None], yi[None]).sum(), x_hat)
        terms.append((grad.norm() - 1) ** 2)
    return torch.stack(terms).mean()


@pytest.mark.parametrize("cls", [ConcatCritic, ProjectionCritic])
def test_conditional_penalty_equals_a_per_sample_loop(cls):
    torch.manual_seed(0)
    critic = cls(n_classes=5, in_dim=3, width=16, depth=2)
    real, y = _batch(seed=1)
    fake = real + torch.randn(real.shape, generator=torch.Generator().manual_seed(2))
    eps = torch.rand(12, generator=torch.Generator().manual_seed(3))
    got = conditional_gradient_penalty(critic, real, fake, y, eps=eps)
    torch.testing.assert_close(got, _per_sample_penalty(critic, real, fake, y, eps))
    # the same number as the unconditional penalty of the critic with the labels bound
    torch.testing.assert_close(got, gradient_penalty(Conditioned(critic, y), real, fake, eps=eps))
    got.backward()                                                   # differentiable wrt the critic
    first = next(critic.parameters())                                # the first layer's weight
    assert first.grad is not None and first.grad.abs().sum() > 0


def test_conditional_penalty_keeps_the_label_and_differs_from_the_interpolated_label_bug():
    """The label reaches the critic unchanged; mixing one-hot labels too gives another number."""
    torch.manual_seed(0)
    critic = ConcatCritic(n_classes=5, in_dim=3, width=16, depth=2)
    seen = []
    critic.register_forward_pre_hook(lambda module, args: seen.append(args[1]))
    real, y = _batch(seed=1)
    fake, y_fake = real + 1.5, (y + 1) % 5                            # the bug needs another label to mix with
    eps = torch.rand(12, generator=torch.Generator().manual_seed(3))
    got = conditional_gradient_penalty(critic, real, fake, y, eps=eps)
    assert seen and all(s is y for s in seen), "the labels must reach the critic as they were given"
    # the bug: x̂ and onehot(ŷ) = ε onehot(y) + (1 - ε) onehot(y'), gradient wrt both
    e = eps[:, None]
    mixed = torch.cat([e * real + (1 - e) * fake, e * one_hot(y, 5) + (1 - e) * one_hot(y_fake, 5)], 1)
    mixed.requires_grad_(True)
    (grad,) = torch.autograd.grad(critic.net(mixed).sum(), mixed)
    buggy = ((grad.norm(dim=1) - 1) ** 2).mean()
    assert (got - buggy).abs() > 1e-3, "the reference must tell the bug apart"
    torch.testing.assert_close(got, _per_sample_penalty(critic, real, fake, y, eps))


def test_conditional_penalty_refuses_batchnorm_and_mismatched_samples():
    class BNCritic(nn.Module):
        n_classes = 3

        def __init__(self):
            super().__init__()
            self.bn, self.lin = nn.BatchNorm1d(2), nn.Linear(2, 1)

        def forward(self, x, y):
            return self.lin(self.bn(x)).squeeze(-1) + y.float()

    x, y = torch.randn(4, 2), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match="BatchNorm"):
        conditional_gradient_penalty(BNCritic(), x, x + 1, y)
    with pytest.raises(ValueError, match="same shape"):
        conditional_gradient_penalty(ConcatCritic(3, 2, 8, 1), x, torch.randn(4, 3), y)


def test_generate_with_a_one_hot_code_is_forward_and_mixes_interpolate():
    torch.manual_seed(0)
    gen = ConditionalGenerator(n_classes=4, z_dim=3, width=16, depth=2)
    z, y = torch.randn(6, 3), torch.tensor([0, 1, 2, 3, 0, 1])
    torch.testing.assert_close(gen.generate(z, one_hot(y, 4)), gen(z, y))
    mix = 0.5 * one_hot(y, 4) + 0.5 * one_hot((y + 1) % 4, 4)
    assert (gen.generate(z, mix) - gen(z, y)).abs().max() > 1e-3
    with pytest.raises(ValueError, match="code must have shape"):
        gen.generate(z, torch.zeros(6, 5))


def test_one_class_is_the_critic_with_its_label_repeated_for_any_batch():
    from ganedu.conditional import OneClass

    torch.manual_seed(0)
    critic = ProjectionCritic(n_classes=4, in_dim=2, width=16, depth=2)
    for batch in (1, 7, 50):
        x = torch.randn(batch, 2)
        by_hand = torch.stack([critic(x[i:i + 1], torch.tensor([2]))[0] for i in range(batch)])  # per sample
        torch.testing.assert_close(OneClass(critic, 2)(x), by_hand)
    wrapped, own = list(OneClass(critic, 0).parameters()), list(critic.parameters())
    assert len(wrapped) == len(own) and all(p is q for p, q in zip(wrapped, own))
    with pytest.raises(ValueError, match="k must be an integer >= 0 and <= 3, got 4"):
        OneClass(critic, 4)
    with pytest.raises(TypeError, match="k must be"):
        OneClass(critic, 1.0)


def test_real_of_classes_draws_each_requested_class():
    from ganedu.conditional_train import real_of_classes, toy_labels
    from ganedu.data import toy_std

    y = torch.arange(8000) % 8
    x = real_of_classes("8gaussians", y, torch.Generator().manual_seed(0))
    assert torch.equal(toy_labels("8gaussians", x), y)                     # each point on the mode asked for
    spread = (x - real_of_classes("8gaussians", y, torch.Generator().manual_seed(1))).std() / 2 ** 0.5
    assert abs(float(spread) / toy_std("8gaussians") - 1) < 0.05          # with the mixture's own std
    images, labels = torch.randn(30, 1, 4, 4), torch.arange(30) % 3
    wanted = torch.tensor([2, 0, 2, 1])
    drawn = real_of_classes((images, labels), wanted, torch.Generator().manual_seed(0))
    for picture, k in zip(drawn, wanted):
        (index,) = [i for i in range(30) if torch.equal(images[i], picture)]
        assert labels[index] == k
    with pytest.raises(ValueError, match="y must hold class indices in 0..7"):
        real_of_classes("8gaussians", torch.tensor([8]), torch.Generator())
