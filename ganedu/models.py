"""Networks: MLP generator / critic for toy 2D data, DCGAN generator / discriminator for images.

Generators map latent codes ``z ~ N(0, I)`` of shape ``(B, z_dim)`` to samples. Critics and
discriminators map samples to one unnormalised score per sample, shape ``(B,)``. There is **no
sigmoid** at the end of any network: the losses in ``ganedu.losses`` take logits (a stable
``log sigmoid``), and a Wasserstein critic's score is not a probability at all.

Sources: the toy MLPs of Gulrajani et al. 2017, "Improved Training of Wasserstein GANs"
(``gan_toy.py``: 3 hidden ReLU layers of 512 units); DCGAN from Radford et al. 2016,
"Unsupervised Representation Learning with DCGANs", §3 (architecture guidelines) and §4
(training details); spectral normalisation (Miyato et al. 2018) lives in ``ganedu.lipschitz``.
"""
from __future__ import annotations

import contextlib
import math

import torch
from torch import nn

from .batches import data_shape
from .checks import check_choice, check_int, check_type

__all__ = ["MLPGenerator", "MLPCritic", "DCGANGenerator", "DCGANDiscriminator", "dcgan_init_",
           "has_batchnorm", "count_parameters", "build_models", "models_from_spec"]

# hidden-layer nonlinearities; leaky_relu has slope 0.2 as in DCGAN §4
ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh, "elu": nn.ELU}
IMAGE_SIZES = (8, 16, 32, 64)


def _check_positive_ints(**sizes) -> None:
    for name, value in sizes.items():
        check_int(name, value, min=1)


def _check_input(owner: str, name: str, x, network: nn.Module) -> None:
    """A forward input must be a float tensor in the network's precision (shapes: each network).
    Catches integer and NumPy-born float64 input; half precision passes (``torch.autocast``)."""
    check_type(f"{owner} input {name}", x, torch.Tensor, "a torch.Tensor")
    dtype = next(network.parameters()).dtype
    if not x.is_floating_point() or (x.dtype == torch.float64 and dtype != torch.float64):
        raise TypeError(f"{owner} input {name} must be a {dtype} tensor (the network's dtype), got "
                        f"{x.dtype}; convert with {name}.to({dtype})")


def _mlp_layers(in_dim: int, out_dim: int, width: int, depth: int, activation: str, norm: str) -> list:
    """``depth`` x [Linear(width) -> norm -> activation], then a linear output layer."""
    layers, dim = [], in_dim
    for _ in range(depth):
        layers.append(nn.Linear(dim, width))                       # (B, width)
        if norm == "batch":
            layers.append(nn.BatchNorm1d(width))
        elif norm == "layer":
            layers.append(nn.LayerNorm(width))
        layers.append(ACTIVATIONS[activation]())
        dim = width
    layers.append(nn.Linear(dim, out_dim))                         # (B, out_dim), no activation
    return layers


def _spectral_wrap_(net: nn.Sequential, kinds: tuple) -> None:
    """Replace every layer of a type in ``kinds`` by ``ganedu.lipschitz.spectral_norm(layer)``."""
    from .lipschitz import spectral_norm  # lazy: lipschitz is a sibling module
    for i, layer in enumerate(net):
        if isinstance(layer, kinds):
            net[i] = spectral_norm(layer)


def _check_batch_for_batchnorm(owner: str, module: nn.Module, norm: str, x: torch.Tensor) -> None:
    if norm == "batch" and module.training and x.shape[0] < 2:
        raise ValueError(f"{owner} with norm='batch' needs a batch of at least 2 samples in train "
                         f"mode (BatchNorm's statistics), got {tuple(x.shape)}; call .eval() first")


class MLPGenerator(nn.Module):
    """Toy generator: ``z (B, z_dim) -> depth x [Linear(width), norm, activation] -> Linear -> (B, out_dim)``.

    The WGAN-GP toy generator (Gulrajani et al. 2017, ``gan_toy.py``) is the default: 3 hidden
    ReLU layers of 512 units and a linear output (toy data is not bounded, so no tanh).

    Args:
        z_dim: latent size; z ~ N(0, I) of shape (B, z_dim).
        out_dim: sample size (2 for the toy sets).
        width, depth: units per hidden layer and number of hidden layers.
        activation: one of "relu", "leaky_relu" (slope 0.2), "tanh", "elu".
        norm: "none", "batch" (BatchNorm1d) or "layer" (LayerNorm) after each hidden Linear.
    """

    def __init__(self, z_dim=2, out_dim=2, width=512, depth=3, activation="relu", norm="none"):
        super().__init__()
        _check_positive_ints(z_dim=z_dim, out_dim=out_dim, width=width, depth=depth)
        check_choice("activation", activation, tuple(ACTIVATIONS))
        check_choice("norm", norm, ("none", "batch", "layer"))
        self.z_dim, self.out_dim, self.norm = z_dim, out_dim, norm
        self.net = nn.Sequential(*_mlp_layers(z_dim, out_dim, width, depth, activation, norm))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_input("MLPGenerator", "z", z, self)
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"MLPGenerator expects z of shape (B, {self.z_dim}), got {tuple(z.shape)}")
        _check_batch_for_batchnorm("MLPGenerator", self, self.norm, z)
        return self.net(z)                                         # (B, out_dim)


class MLPCritic(nn.Module):
    """Toy critic: ``x (B, in_dim) -> depth x [Linear(width), norm, activation] -> Linear(1) -> (B,)``.

    Returns one unnormalised score per sample (a logit for the minimax loss, f(x) for WGAN).
    Image batches (B, C, H, W) with C*H*W = in_dim are flattened, so the MLP works on digits.

    Args:
        in_dim: features per sample (2 for the toy sets).
        width, depth: units per hidden layer and number of hidden layers (WGAN-GP toy: 512, 3).
        activation: one of "relu", "leaky_relu" (slope 0.2), "tanh", "elu".
        norm: "none"; "layer" (LayerNorm, per sample: safe with a gradient penalty); "batch"
            (BatchNorm1d: couples the samples of a batch, so *not* for a gradient-penalised
            critic, WGAN-GP §4); "spectral" (every Linear wrapped by
            ``ganedu.lipschitz.spectral_norm``, Miyato et al. 2018).
    """

    def __init__(self, in_dim=2, width=512, depth=3, activation="relu", norm="none"):
        super().__init__()
        _check_positive_ints(in_dim=in_dim, width=width, depth=depth)
        check_choice("activation", activation, tuple(ACTIVATIONS))
        check_choice("norm", norm, ("none", "layer", "batch", "spectral"))
        self.in_dim, self.norm = in_dim, norm
        self.net = nn.Sequential(*_mlp_layers(in_dim, 1, width, depth, activation, norm))
        if norm == "spectral":
            _spectral_wrap_(self.net, (nn.Linear,))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input("MLPCritic", "x", x, self)
        if x.dim() < 2 or math.prod(x.shape[1:]) != self.in_dim:
            raise ValueError(f"MLPCritic(in_dim={self.in_dim}) expects x of shape (B, {self.in_dim}) "
                             f"or (B, C, H, W) with C*H*W = {self.in_dim}, got {tuple(x.shape)}")
        _check_batch_for_batchnorm("MLPCritic", self, self.norm, x)
        x = x.reshape(x.shape[0], self.in_dim)                     # (B, in_dim)
        return self.net(x).squeeze(-1)                             # (B, 1) -> (B,)


class DCGANGenerator(nn.Module):
    """DCGAN generator (Radford et al. 2016, §3 guidelines; Fig. 1 is image_size=64, base=128).

    ``z (B, z_dim) -> ConvTranspose2d(z_dim, C0, 4, 1, 0): (B, C0, 4, 4)``, then stride-2
    ``ConvTranspose2d(4, 2, 1)`` blocks that double H, W and halve the channels, down to
    ``base`` at image_size/2; the last block maps to ``channels`` at image_size. BatchNorm + ReLU
    after every layer but the output, which is tanh (images live in [-1, 1]).
    C0 = base * 2**(log2(image_size) - 3): 8*base at 64x64 (Fig. 1: 1024 -> 512 -> 256 -> 128 -> 3).

    Args:
        z_dim: latent size; z ~ N(0, I) of shape (B, z_dim).
        image_size: 8, 16, 32 or 64 (a power of two >= 8).
        channels: image channels (1 for digits / MNIST).
        base: channels of the last hidden layer (``ngf`` in the PyTorch DCGAN tutorial).
    Weights start from ``dcgan_init_`` (N(0, 0.02), §4).
    """

    def __init__(self, z_dim=100, image_size=32, channels=1, base=64):
        super().__init__()
        _check_positive_ints(z_dim=z_dim, channels=channels, base=base)
        check_choice("image_size", image_size, IMAGE_SIZES)
        self.z_dim, self.image_size, self.channels = z_dim, image_size, channels
        n_up = int(math.log2(image_size)) - 2                      # stride-2 blocks after 4x4
        c = base * 2 ** (n_up - 1)
        # a bias before BatchNorm is cancelled by its mean subtraction, so those convs have none
        layers = [nn.ConvTranspose2d(z_dim, c, 4, 1, 0, bias=False),  # (B, c, 4, 4)
                  nn.BatchNorm2d(c), nn.ReLU()]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False),  # (B, c/2, 2H, 2W)
                       nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1),       # (B, channels, S, S)
                   nn.Tanh()]                                      # output in [-1, 1], no BatchNorm
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_input("DCGANGenerator", "z", z, self)
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"DCGANGenerator expects z of shape (B, {self.z_dim}), got {tuple(z.shape)}")
        return self.net(z[:, :, None, None])                       # (B, z_dim, 1, 1) -> (B, C, S, S)


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator / critic (Radford et al. 2016, §3 guidelines).

    ``x (B, channels, S, S) -> Conv2d(channels, base, 4, 2, 1) -> LeakyReLU(0.2)`` (no
    normalisation on this first layer, §3), then stride-2 ``Conv2d(4, 2, 1)`` blocks doubling
    the channels and halving H, W down to 4x4, each followed by ``norm`` and LeakyReLU(0.2);
    finally ``Conv2d(C, 1, 4, 1, 0)`` gives one logit per image, returned as (B,). No sigmoid:
    the losses take logits. At image_size=8 only the first (unnormalised) block is left.

    Args:
        image_size: 8, 16, 32 or 64 (a power of two >= 8).
        channels: image channels.
        base: channels of the first layer (``ndf`` in the PyTorch DCGAN tutorial).
        norm: "batch" (the paper's BatchNorm); "layer" (``GroupNorm(1, C)``: normalises each
            sample over C, H, W, so it is safe with a gradient penalty); "none"; "spectral"
            (every conv wrapped by ``ganedu.lipschitz.spectral_norm``, the SNGAN critic).
    Weights start from ``dcgan_init_`` (N(0, 0.02), §4), before any spectral wrapping.
    """

    def __init__(self, image_size=32, channels=1, base=64, norm="batch"):
        super().__init__()
        _check_positive_ints(channels=channels, base=base)
        check_choice("image_size", image_size, IMAGE_SIZES)
        check_choice("norm", norm, ("batch", "layer", "none", "spectral"))
        self.image_size, self.channels, self.norm = image_size, channels, norm
        n_down = int(math.log2(image_size)) - 2                    # stride-2 blocks down to 4x4
        c = base
        layers = [nn.Conv2d(channels, c, 4, 2, 1),                 # (B, base, S/2, S/2)
                  nn.LeakyReLU(0.2)]                               # no normalisation here (§3)
        for _ in range(n_down - 1):
            layers.append(nn.Conv2d(c, 2 * c, 4, 2, 1, bias=norm != "batch"))  # (B, 2c, H/2, W/2)
            if norm == "batch":
                layers.append(nn.BatchNorm2d(2 * c))
            elif norm == "layer":
                layers.append(nn.GroupNorm(1, 2 * c))
            layers.append(nn.LeakyReLU(0.2))
            c *= 2
        layers.append(nn.Conv2d(c, 1, 4, 1, 0))                    # (B, 1, 1, 1): one logit
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)
        if norm == "spectral":
            _spectral_wrap_(self.net, (nn.Conv2d,))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input("DCGANDiscriminator", "x", x, self)
        expected = (self.channels, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"DCGANDiscriminator expects images of shape (B, {', '.join(map(str, expected))})"
                             f", got {tuple(x.shape)}")
        return self.net(x).view(x.shape[0])                        # (B, 1, 1, 1) -> (B,)


def dcgan_init_(module: nn.Module) -> nn.Module:
    """DCGAN initialisation, in place: conv / conv-transpose / linear weights ~ N(0, 0.02²),
    BatchNorm weights ~ N(1, 0.02²), all biases 0.

    N(0, 0.02) for all weights is the paper's (Radford et al. 2016, §4 "Details of adversarial
    training"); N(1, 0.02) for BatchNorm's scale comes from the authors' ``dcgan.torch`` code
    and the PyTorch DCGAN tutorial. Apply it *before* spectral normalisation. Returns ``module``.
    """
    for m in module.modules():
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):   # every Conv / ConvTranspose
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    return module


def has_batchnorm(module: nn.Module) -> bool:
    """True when any submodule is a BatchNorm (any ``torch.nn.modules.batchnorm._BatchNorm``)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


@contextlib.contextmanager
def evaluating(module: nn.Module):
    """Run the block with ``module`` in eval mode, then give every submodule its own mode back.

    For looking at a network during training (plots, metrics) without side effects: BatchNorm
    uses its running statistics instead of updating them, spectral norm does no power iteration.
    """
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, mode in modes:
            m.training = mode


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars: the sum of ``p.numel()`` over parameters with requires_grad."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def build_models(recipe, data):
    """The recipe's generator and critic for ``data``, plus a spec to rebuild them from a checkpoint."""
    shape = data_shape(data)
    model = recipe.model if recipe.model != "auto" else ("mlp" if len(shape) == 1 else "dcgan")
    norm = recipe.critic_norm
    if norm == "auto":
        if recipe.spectral_norm:
            norm = "spectral"
        elif model == "dcgan":
            norm = "layer" if recipe.gp_lambda > 0 or recipe.r1_gamma > 0 else "batch"
        else:
            norm = "none"
    z_dim = recipe.z_dim or (2 if len(shape) == 1 else 100)
    if model == "mlp":
        if len(shape) != 1:
            raise ValueError(f"model='mlp' is for vector data such as the 2D toy sets, got samples of "
                             f"shape {shape}; use model='dcgan' (or 'auto') for images")
        dim = shape[0]
        spec = {"kind": "mlp", "generator": dict(z_dim=z_dim, out_dim=dim, width=recipe.width,
                                                 depth=recipe.depth),
                "critic": dict(in_dim=dim, width=recipe.width, depth=recipe.depth, norm=norm)}
    else:
        if len(shape) != 3:
            raise ValueError(f"model='dcgan' needs image data (C, H, W), got samples of shape {shape}")
        channels, size = shape[0], shape[-1]
        spec = {"kind": "dcgan", "generator": dict(z_dim=z_dim, image_size=size, channels=channels),
                "critic": dict(image_size=size, channels=channels, norm=norm)}
    generator, critic = models_from_spec(spec)
    return generator, critic, spec


def models_from_spec(spec):
    """Rebuild (generator, critic) from the spec stored in a checkpoint."""
    if spec["kind"] == "mlp":
        return MLPGenerator(**spec["generator"]), MLPCritic(**spec["critic"])
    return DCGANGenerator(**spec["generator"]), DCGANDiscriminator(**spec["critic"])
