"""Tests for ganedu.models: shapes, the DCGAN guidelines, initialisation, validation, norms."""
import importlib
import math

import pytest
import torch
from torch import nn

from ganedu.models import (DCGANDiscriminator, DCGANGenerator, MLPCritic, MLPGenerator, count_parameters,
                           dcgan_init_, has_batchnorm)

IMAGE_SIZES = (8, 16, 32, 64)


def _lipschitz_has(name):
    try:
        return hasattr(importlib.import_module("ganedu.lipschitz"), name)
    except ImportError:
        return False


needs_spectral = pytest.mark.skipif(not _lipschitz_has("spectral_norm"),
                                    reason="ganedu.lipschitz.spectral_norm not written yet")


def _leaves(module):
    return [m for m in module.modules() if not list(m.children())]


# ---------------------------------------------------------------- shapes
@pytest.mark.parametrize("image_size", IMAGE_SIZES)
@pytest.mark.parametrize("channels", (1, 3))
def test_dcgan_shapes(image_size, channels):
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=7, image_size=image_size, channels=channels, base=4)
    D = DCGANDiscriminator(image_size=image_size, channels=channels, base=4)
    fake = G(torch.randn(3, 7))
    assert fake.shape == (3, channels, image_size, image_size)
    assert (G.z_dim, G.image_size, G.channels) == (7, image_size, channels)
    scores = D(fake)
    assert scores.shape == (3,)
    assert scores.dtype == torch.float32


@pytest.mark.parametrize("kwargs, out_shape", [({}, (6, 2)), (dict(z_dim=3, out_dim=5, width=8, depth=1), (6, 5))])
def test_mlp_generator_shape(kwargs, out_shape):
    G = MLPGenerator(**kwargs)
    assert G(torch.randn(6, G.z_dim)).shape == out_shape


@pytest.mark.parametrize("norm", ("none", "layer", "batch"))
def test_mlp_critic_returns_one_score_per_sample(norm):
    critic = MLPCritic(in_dim=3, width=8, depth=2, norm=norm)
    assert critic.in_dim == 3
    assert critic(torch.randn(5, 3)).shape == (5,)
    assert critic.eval()(torch.randn(1, 3)).shape == (1,)


def test_mlp_critic_flattens_images_like_the_flat_tensor():
    torch.manual_seed(0)
    critic = MLPCritic(in_dim=1 * 4 * 4, width=8, depth=2)
    images = torch.randn(5, 1, 4, 4, requires_grad=True)
    torch.testing.assert_close(critic(images), critic(images.detach().reshape(5, 16)))
    # per-sample: row i of the flat batch is image i, pixels in row-major order
    torch.testing.assert_close(critic(images)[2:3], critic(images.detach()[2].flatten()[None]))
    # gradients come back in image shape (what a gradient penalty needs)
    (grad,) = torch.autograd.grad(critic(images).sum(), images)
    assert grad.shape == images.shape


# ---------------------------------------------------------------- architecture (DCGAN §3)
@pytest.mark.parametrize("image_size", IMAGE_SIZES)
def test_generator_relu_batchnorm_hidden_tanh_output(image_size):
    G = DCGANGenerator(z_dim=4, image_size=image_size, base=4)
    kinds = [type(m) for m in _leaves(G)]
    n_convs = int(math.log2(image_size)) - 1               # projection to 4x4 + one per doubling
    hidden = [nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU] * (n_convs - 1)
    assert kinds == hidden + [nn.ConvTranspose2d, nn.Tanh]


def test_generator_output_is_bounded_by_tanh():
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=8, image_size=16, base=8)
    with torch.no_grad():
        G.net[-2].bias.fill_(50.0)                         # push the pre-activation far out
        out = G(torch.randn(4, 8))
    assert out.max() <= 1.0 and out.min() >= -1.0
    assert out.max() > 0.999                               # reaches the bound: saturating, not clipped small


def test_channel_schedule_matches_the_pytorch_dcgan_tutorial_at_64():
    # tutorial (ngf = ndf = 64, nz = 100, nc = 3): G 100->512->256->128->64->3, D 3->64->128->256->512->1
    G = DCGANGenerator(z_dim=100, image_size=64, channels=3, base=64)
    D = DCGANDiscriminator(image_size=64, channels=3, base=64)
    g = [(m.in_channels, m.out_channels) for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    d = [(m.in_channels, m.out_channels) for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert g == [(100, 512), (512, 256), (256, 128), (128, 64), (64, 3)]
    assert d == [(3, 64), (64, 128), (128, 256), (256, 512), (512, 1)]
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert (convs[0].kernel_size, convs[0].stride, convs[0].padding) == ((4, 4), (1, 1), (0, 0))
    assert all((c.kernel_size, c.stride, c.padding) == ((4, 4), (2, 2), (1, 1)) for c in convs[1:])


NORM_LAYER = {"batch": nn.BatchNorm2d, "layer": nn.GroupNorm}


@pytest.mark.parametrize("norm", ("batch", "layer", "none"))
@pytest.mark.parametrize("image_size", (8, 32))
def test_discriminator_first_block_unnormalised_leaky_relu_02(norm, image_size):
    D = DCGANDiscriminator(image_size=image_size, base=4, norm=norm)
    leaves = _leaves(D)
    assert isinstance(leaves[0], nn.Conv2d) and isinstance(leaves[1], nn.LeakyReLU)
    relus = [m for m in leaves if isinstance(m, nn.LeakyReLU)]
    assert len(relus) == int(math.log2(image_size)) - 2
    assert all(m.negative_slope == 0.2 for m in relus)
    assert not any(isinstance(m, (nn.Sigmoid, nn.ReLU)) for m in leaves)
    norms = [m for m in leaves if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm))]
    if norm == "none":
        assert norms == []
    else:
        assert len(norms) == len(relus) - 1 and all(type(m) is NORM_LAYER[norm] for m in norms)
    if norm == "layer":
        assert all(m.num_groups == 1 for m in norms)        # layer norm over (C, H, W)
    assert isinstance(leaves[-1], nn.Conv2d) and leaves[-1].out_channels == 1


def test_discriminator_layer_norm_keeps_samples_independent():
    torch.manual_seed(0)
    D = DCGANDiscriminator(image_size=16, base=4, norm="layer")
    x = torch.randn(4, 1, 16, 16)
    torch.testing.assert_close(D(x)[:1], D(x[:1]))          # BatchNorm would fail this


@pytest.mark.parametrize("activation, kind", [("relu", nn.ReLU), ("leaky_relu", nn.LeakyReLU),
                                              ("tanh", nn.Tanh), ("elu", nn.ELU)])
def test_mlp_layout_and_activation(activation, kind):
    critic = MLPCritic(in_dim=2, width=16, depth=3, activation=activation)
    kinds = [type(m) for m in _leaves(critic)]
    assert kinds == [nn.Linear, kind] * 3 + [nn.Linear]
    if activation == "leaky_relu":
        assert all(m.negative_slope == 0.2 for m in critic.modules() if isinstance(m, nn.LeakyReLU))
    G = MLPGenerator(z_dim=2, out_dim=2, width=16, depth=3, activation=activation, norm="batch")
    assert [type(m) for m in _leaves(G)] == [nn.Linear, nn.BatchNorm1d, kind] * 3 + [nn.Linear]


def test_mlp_defaults_are_the_wgan_gp_toy_networks():
    G, critic = MLPGenerator(), MLPCritic()
    for net, first_in, last_out in ((G, 2, 2), (critic, 2, 1)):
        linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
        assert [(m.in_features, m.out_features) for m in linears] == \
            [(first_in, 512), (512, 512), (512, 512), (512, last_out)]
        assert isinstance(_leaves(net)[-1], nn.Linear)       # linear output


# ---------------------------------------------------------------- initialisation (DCGAN §4)
def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=100, image_size=32, base=64)    # first layer: 100*256*4*4 = 409,600 weights
    w = G.net[0].weight
    assert w.numel() > 400_000
    torch.testing.assert_close(w.std().item(), 0.02, rtol=0.10, atol=0)
    assert abs(w.mean().item()) < 0.001
    bn = torch.cat([m.weight for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    torch.testing.assert_close(bn.mean().item(), 1.0, rtol=0, atol=0.005)
    torch.testing.assert_close(bn.std().item(), 0.02, rtol=0.25, atol=0)
    for m in G.modules():
        if getattr(m, "bias", None) is not None:
            assert torch.count_nonzero(m.bias) == 0
    D = DCGANDiscriminator(image_size=32, base=64)
    dw = torch.cat([m.weight.flatten() for m in D.modules() if isinstance(m, nn.Conv2d)])
    torch.testing.assert_close(dw.std().item(), 0.02, rtol=0.10, atol=0)


def test_dcgan_init_on_linear_returns_module():
    torch.manual_seed(0)
    layer = nn.Linear(1000, 500)
    default_std = layer.weight.std().item()                 # torch's default is U(±1/sqrt(1000)): ~0.018
    assert dcgan_init_(layer) is layer
    torch.testing.assert_close(layer.weight.std().item(), 0.02, rtol=0.02, atol=0)
    assert abs(default_std - 0.02) > 0.001                  # so the check above can fail
    assert torch.count_nonzero(layer.bias) == 0


# ---------------------------------------------------------------- batchnorm, parameters
def test_has_batchnorm():
    assert has_batchnorm(MLPCritic(width=8, norm="batch"))
    assert not has_batchnorm(MLPCritic(width=8, norm="layer"))
    assert not has_batchnorm(MLPCritic(width=8, norm="none"))
    assert has_batchnorm(DCGANDiscriminator(image_size=16, base=4, norm="batch"))
    assert not has_batchnorm(DCGANDiscriminator(image_size=8, base=4, norm="batch"))  # 8x8: only the first block
    assert not has_batchnorm(DCGANDiscriminator(image_size=8, base=4, norm="layer"))
    assert has_batchnorm(DCGANGenerator(image_size=8, base=4))
    assert has_batchnorm(nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.SyncBatchNorm(2))))
    assert not has_batchnorm(nn.Sequential(nn.InstanceNorm2d(2), nn.GroupNorm(1, 2)))


def test_count_parameters_by_hand():
    # Linear(a, b) has a*b + b parameters; LayerNorm / BatchNorm(w) have 2w
    assert count_parameters(MLPCritic(in_dim=2, width=4, depth=2)) == (2 * 4 + 4) + (4 * 4 + 4) + (4 + 1)
    assert count_parameters(MLPCritic(in_dim=2, width=4, depth=2, norm="layer")) == 37 + 2 * (2 * 4)
    G = MLPGenerator(z_dim=3, out_dim=2, width=5, depth=1, norm="batch")
    assert count_parameters(G) == (3 * 5 + 5) + 2 * 5 + (5 * 2 + 2)
    G.net[0].requires_grad_(False)                           # frozen parameters are not counted
    assert count_parameters(G) == 2 * 5 + (5 * 2 + 2)


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("make, words", [
    (lambda: MLPCritic(norm="batchnorm"), ["norm", "'batchnorm'", "'spectral'", "'layer'"]),
    (lambda: MLPCritic(activation="gelu"), ["activation", "'gelu'", "'leaky_relu'", "'elu'"]),
    (lambda: MLPGenerator(norm="spectral"), ["norm", "'spectral'", "'layer'"]),
    (lambda: MLPGenerator(activation="sigmoid"), ["activation", "'relu'"]),
    (lambda: DCGANDiscriminator(norm="instance"), ["norm", "'instance'", "'batch'", "'spectral'"]),
    (lambda: DCGANGenerator(image_size=28), ["image_size", "28"]),
    (lambda: DCGANGenerator(image_size=128), ["image_size", "128"]),
    (lambda: DCGANDiscriminator(image_size=4), ["image_size", "4"]),
    (lambda: MLPGenerator(width=0), ["width", "0"]),
    (lambda: MLPCritic(depth=-1), ["depth", "-1"]),
    (lambda: MLPGenerator(z_dim=0), ["z_dim"]),
    (lambda: DCGANGenerator(z_dim=-3), ["z_dim", "-3"]),
    (lambda: MLPCritic(in_dim=0), ["in_dim"]),
    (lambda: DCGANDiscriminator(base=0), ["base"]),
])
def test_bad_arguments_raise_value_error_naming_them(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_non_int_sizes_raise_type_error():
    with pytest.raises(TypeError, match="width"):
        MLPCritic(width=2.5)
    with pytest.raises(TypeError, match="depth"):
        MLPGenerator(depth=True)


@pytest.mark.parametrize("net, x, words", [
    (MLPCritic(in_dim=2, width=4, depth=1), torch.randn(4, 3), ["(B, 2)", "(4, 3)"]),
    (MLPCritic(in_dim=2, width=4, depth=1), torch.randn(2), ["(B, 2)", "(2,)"]),
    (MLPCritic(in_dim=16, width=4, depth=1), torch.randn(4, 1, 5, 5), ["16", "(4, 1, 5, 5)"]),
    (MLPGenerator(z_dim=2, width=4, depth=1), torch.randn(4, 3), ["(B, 2)", "(4, 3)"]),
    (DCGANGenerator(z_dim=10, image_size=8, base=4), torch.randn(4, 9), ["(B, 10)", "(4, 9)"]),
    (DCGANDiscriminator(image_size=32, base=4), torch.randn(4, 1, 28, 28), ["(B, 1, 32, 32)", "(4, 1, 28, 28)"]),
    (DCGANDiscriminator(image_size=8, base=4), torch.randn(4, 3, 8, 8), ["(B, 1, 8, 8)", "(4, 3, 8, 8)"]),
    (DCGANDiscriminator(image_size=8, base=4), torch.randn(1, 8, 8), ["(B, 1, 8, 8)", "(1, 8, 8)"]),
])
def test_wrong_input_shape_names_expected_and_given(net, x, words):
    with pytest.raises(ValueError) as info:
        net(x)
    for word in words:
        assert word in str(info.value)


def test_wrong_input_type_or_dtype_raises_type_error():
    critic = MLPCritic(in_dim=2, width=4, depth=1)
    with pytest.raises(TypeError, match="torch.Tensor"):
        critic([[0.0, 1.0]])
    with pytest.raises(TypeError, match="float64"):
        critic(torch.zeros(3, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match="int64"):
        DCGANDiscriminator(image_size=8, base=4)(torch.zeros(3, 1, 8, 8, dtype=torch.long))


def test_half_precision_under_autocast_is_not_rejected():
    torch.manual_seed(0)
    G, D = DCGANGenerator(z_dim=4, image_size=16, base=4), DCGANDiscriminator(image_size=16, base=4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        scores = D(G(torch.randn(2, 4)))
    assert scores.shape == (2,)


def test_batchnorm_mlp_with_one_sample_in_train_mode_explains():
    critic = MLPCritic(in_dim=2, width=4, depth=1, norm="batch")
    with pytest.raises(ValueError, match="at least 2"):
        critic(torch.randn(1, 2))
    assert critic.eval()(torch.randn(1, 2)).shape == (1,)


# ---------------------------------------------------------------- spectral normalisation
def _top_singular_value(weight):
    return torch.linalg.matrix_norm(weight.detach().reshape(weight.shape[0], -1), 2).item()


@needs_spectral
def test_mlp_critic_spectral_every_linear_has_unit_sigma():
    torch.manual_seed(0)
    critic = MLPCritic(in_dim=2, width=32, depth=2, norm="spectral")
    linears = [m for m in critic.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 3 and not has_batchnorm(critic)
    critic.train()
    for _ in range(10):                                      # power iteration runs once per forward
        scores = critic(torch.randn(16, 2))
    assert scores.shape == (16,)
    for layer in linears:
        torch.testing.assert_close(_top_singular_value(layer.weight), 1.0, rtol=0, atol=0.03)
    plain = MLPCritic(in_dim=2, width=32, depth=2)           # the same check fails without it
    assert any(abs(_top_singular_value(m.weight) - 1) > 0.1 for m in plain.modules() if isinstance(m, nn.Linear))


@needs_spectral
def test_dcgan_discriminator_spectral_every_conv_has_unit_sigma():
    torch.manual_seed(0)
    D = DCGANDiscriminator(image_size=16, base=8, norm="spectral")
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3 and not has_batchnorm(D)
    for _ in range(10):
        scores = D(torch.randn(4, 1, 16, 16))
    assert scores.shape == (4,)
    for conv in convs:                                        # SNGAN: sigma of W reshaped to (C_out, C_in*k*k)
        torch.testing.assert_close(_top_singular_value(conv.weight), 1.0, rtol=0, atol=0.03)


def test_evaluating_restores_each_submodules_mode():
    from ganedu.models import MLPCritic, evaluating

    critic = MLPCritic(width=8, norm="batch").train()
    frozen_bn = [m for m in critic.modules() if isinstance(m, torch.nn.BatchNorm1d)][0].eval()
    stats = frozen_bn.running_mean.clone()
    with evaluating(critic):
        assert not any(m.training for m in critic.modules())
        critic(torch.randn(16, 2))
    assert critic.training and not frozen_bn.training  # each module's own mode back
    assert torch.equal(frozen_bn.running_mean, stats)
