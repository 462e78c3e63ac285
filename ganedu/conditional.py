r"""Conditional GANs: a generator :math:`G(z, y)` and a critic :math:`D(x, y)` that both see the class y.

Two ways to give the critic the label:

1. **Input concatenation** (Mirza & Osindero 2014, §3.2): the one-hot label is appended to the input,
   :math:`D(x, y) = f([x, \mathrm{onehot}(y)])` (for images: appended to the flattened pixels, the
   MLP form of "one-hot channels").
2. **Projection** (Miyato & Koyama 2018, §3): a feature map :math:`\phi`, a scalar head :math:`\psi`
   and a class embedding :math:`V`: :math:`D(x, y) = \psi(\phi(x)) + V_y^\top \phi(x)`.

The generator takes the label by concatenation, :math:`G(z, y) = g([z, \mathrm{onehot}(y)])`.

Training reuses the unconditional pieces unchanged: :class:`Conditioned` binds a batch of labels to a
network, so ``Conditioned(critic, y)`` *is* a critic ``x -> (B,)`` for those labels and
``ganedu.updates.critic_update`` / ``ganedu.lipschitz.gradient_penalty`` take it as it is. The
conditional gradient penalty therefore interpolates x only and keeps y (:func:`conditional_gradient_penalty`).
Labels are ``torch.long`` class indices of shape ``(B,)``, checked by :func:`check_labels`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from .checks import check_choice, check_int, check_tensor, check_type
from .lipschitz import SpectralNormParam, gradient_penalty, spectral_norm
from .models import ACTIVATIONS, _check_input, _mlp_layers, _spectral_wrap_

__all__ = ["check_labels", "one_hot", "Conditioned", "OneClass", "conditional_gradient_penalty", "ConditionalGenerator",
           "ConcatCritic", "ProjectionCritic", "CRITICS"]


# =========================================================================== labels
def check_labels(name: str, y, n_classes: int | None, batch: int | None = None) -> torch.Tensor:
    """``y`` if it is a batch of class indices: an integer tensor ``(B,)`` with values in ``0..n_classes-1``.

    ``TypeError`` for anything but an integer tensor (a list, floats, a one-hot matrix of floats);
    ``ValueError`` for a wrong shape, a ``B`` that differs from ``batch`` (the samples' batch size)
    or a class out of range (``n_classes=None``: not checked). The range is checked for CPU tensors (on a GPU it would cost a sync
    per step; there ``one_hot`` / the embedding still refuse it, less kindly).
    """
    check_type(name, y, torch.Tensor, "a torch.Tensor of class indices (dtype torch.long), e.g. torch.tensor([0, 3])")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices (dtype torch.long), got dtype {y.dtype}; "
                        f"a one-hot or float label? pass the class numbers: {name}.argmax(1) or {name}.long()")
    if y.ndim != 1:
        raise ValueError(f"{name} must have shape (B,): one class index per sample, got shape {tuple(y.shape)}")
    if batch is not None and y.shape[0] != batch:
        raise ValueError(f"{name} must hold one label per sample: {batch} labels for a batch of {batch}, "
                         f"got {y.shape[0]} labels")
    if n_classes is not None and y.device.type == "cpu" and y.numel():
        bad = y[(y < 0) | (y >= n_classes)]
        if bad.numel():
            raise ValueError(f"{name} must hold class indices in 0..{n_classes - 1} ({n_classes} classes), "
                             f"got {int(bad[0])}")
    return y


def one_hot(y: torch.Tensor, n_classes: int, dtype=torch.float32) -> torch.Tensor:
    r""":math:`\mathrm{onehot}(y)`: ``(B,)`` class indices -> ``(B, n_classes)`` rows of zeros with a 1 at ``y``."""
    check_int("n_classes", n_classes, min=2)
    check_labels("y", y, n_classes)
    return F.one_hot(y.long(), n_classes).to(dtype)


class Conditioned(nn.Module):
    r"""A conditional network with its labels bound: ``Conditioned(net, y)(x) = net(x, y)``.

    ``Conditioned(critic, y)`` is an ordinary critic ``(B, ...) -> (B,)`` for the labels ``y``, so the
    unconditional training code (``ganedu.updates``, ``ganedu.lipschitz``) trains a conditional GAN
    unchanged; its parameters are ``net``'s (freezing or clipping the wrapper acts on ``net``).
    """

    def __init__(self, net: nn.Module, y: torch.Tensor):
        super().__init__()
        check_type("net", net, nn.Module, "a torch.nn.Module taking (x, y)")
        check_type("y", y, torch.Tensor, "a torch.Tensor of class indices")
        self.net, self.y = net, y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.y)


class OneClass(nn.Module):
    r"""A conditional network asked for one class: ``OneClass(net, k)(x) = net(x, [k, ..., k])``.

    Like :class:`Conditioned`, with the label ``k`` repeated for whatever batch comes in: the critic's
    surface :math:`D(x, k)` over a grid of the plane (the dashboard's class picker).
    """

    def __init__(self, net: nn.Module, k: int):
        super().__init__()
        check_type("net", net, nn.Module, "a torch.nn.Module taking (x, y)")
        n_classes = getattr(net, "n_classes", None)
        self.net, self.k = net, check_int("k", k, min=0, max=n_classes - 1 if isinstance(n_classes, int) else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, torch.full((x.shape[0],), self.k, dtype=torch.long, device=x.device))


def conditional_gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor,
                                 **kwargs) -> torch.Tensor:
    r""":math:`\mathbb{E}\bigl(\|\nabla_{\hat x} D(\hat x, y)\|_2 - 1\bigr)^2`, :math:`\hat x = \epsilon x + (1-\epsilon)\tilde x`.

    The WGAN-GP penalty (Gulrajani et al. 2017, Eq. 3) for a critic of (x, y): real and fake share the
    labels ``y`` (the fakes were generated as :math:`G(z, y)`), ε mixes the **samples only**, and the
    gradient is taken with respect to :math:`\hat x` only. The label is a condition, not a point on the
    segment: interpolating the one-hot vectors too (a common bug) feeds the critic "labels" such as
    0.3·onehot(2) + 0.7·onehot(5) that no sample ever has. Without λ, like
    :func:`ganedu.lipschitz.gradient_penalty`, which does the work on ``Conditioned(critic, y)``.

    Args:
        critic: ``(x, y) -> (B,)``, without BatchNorm.
        real, fake: ``(B, ...)`` samples of the classes ``y``.
        y: ``(B,)`` class indices.
        **kwargs: ``eps``, ``generator``, ``one_sided``, ``center``, ``return_norms`` of ``gradient_penalty``.
    """
    check_tensor("real", real, floating=True)
    check_labels("y", y, getattr(critic, "n_classes", None), batch=real.shape[0])
    return gradient_penalty(Conditioned(critic, y), real, fake, **kwargs)


# =========================================================================== networks
def _check_sizes(**sizes):
    for name, value in sizes.items():
        check_int(name, value, min=1)


class ConditionalGenerator(nn.Module):
    r""":math:`G(z, y) = g([z, \mathrm{onehot}(y)])`: an MLP on the latent code and the one-hot label.

    Mirza & Osindero 2014, §3.2 (the label joins the input). ``out_shape`` ``(2,)`` for the toy sets
    (linear output), ``(1, s, s)`` for digits (``tanh`` output: pixels in [-1, 1]).

    Args:
        n_classes: number of classes (>= 2).
        z_dim: latent size; z ~ N(0, I) of shape ``(B, z_dim)``.
        out_shape: shape of one sample.
        width, depth, activation: the hidden layers (as ``ganedu.models.MLPGenerator``).
        tanh: squash the output to [-1, 1] (images).
    """

    def __init__(self, n_classes=8, z_dim=2, out_shape=(2,), width=512, depth=3, activation="relu", tanh=False):
        super().__init__()
        _check_sizes(n_classes=n_classes, z_dim=z_dim, width=width, depth=depth)
        check_int("n_classes", n_classes, min=2)
        check_choice("activation", activation, tuple(ACTIVATIONS))
        check_type("out_shape", out_shape, (tuple, list), "a tuple of sizes, e.g. (2,) or (1, 16, 16)")
        self.n_classes, self.z_dim, self.out_shape = n_classes, z_dim, tuple(out_shape)
        self.net = nn.Sequential(*_mlp_layers(z_dim + n_classes, math.prod(out_shape), width, depth, activation, "none"))
        self.tanh = bool(tanh)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self._check_z(z)
        check_labels("y", y, self.n_classes, batch=z.shape[0])
        return self.generate(z, one_hot(y, self.n_classes, z.dtype))

    def generate(self, z: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        r""":math:`g([z, c])` for any class code ``c`` ``(B, n_classes)``: a one-hot row, or a mix of two
        (:math:`c = (1 - t)\,\mathrm{onehot}(a) + t\,\mathrm{onehot}(b)`, the label interpolation)."""
        self._check_z(z)
        check_tensor("code", code, ndim=2, floating=True)
        if code.shape != (z.shape[0], self.n_classes):
            raise ValueError(f"code must have shape ({z.shape[0]}, {self.n_classes}), got {tuple(code.shape)}")
        x = self.net(torch.cat([z, code], dim=1))                          # (B, prod(out_shape))
        x = torch.tanh(x) if self.tanh else x
        return x.reshape(z.shape[0], *self.out_shape)                      # (B, *out_shape)

    def _check_z(self, z):
        _check_input("ConditionalGenerator", "z", z, self)
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"ConditionalGenerator expects z of shape (B, {self.z_dim}), got {tuple(z.shape)}")


def _flatten_x(owner: str, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Check ``x`` for a critic of ``net.in_dim`` values per sample and return it as ``(B, in_dim)``."""
    _check_input(owner, "x", x, net)
    if x.dim() < 2 or math.prod(x.shape[1:]) != net.in_dim:
        raise ValueError(f"{owner}(in_dim={net.in_dim}) expects x of shape (B, {net.in_dim}) or (B, C, H, W) "
                         f"with C*H*W = {net.in_dim}, got {tuple(x.shape)}")
    return x.reshape(x.shape[0], net.in_dim)


def _flatten_input(owner: str, net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Check ``(x, y)`` for a critic and return ``x`` as ``(B, in_dim)``."""
    x = _flatten_x(owner, net, x)
    check_labels("y", y, net.n_classes, batch=x.shape[0])
    return x


class ConcatCritic(nn.Module):
    r""":math:`D(x, y) = f([x, \mathrm{onehot}(y)])`, ``(B,)`` scores (Mirza & Osindero 2014, §3.2).

    Args:
        n_classes: number of classes; in_dim: values per sample (2, or C*H*W for images, flattened).
        width, depth, activation: hidden layers of ``f``.
        norm: ``"none"``, ``"layer"`` or ``"spectral"`` (every Linear wrapped by ``ganedu.lipschitz.spectral_norm``).
    """

    def __init__(self, n_classes=8, in_dim=2, width=512, depth=3, activation="relu", norm="none"):
        super().__init__()
        _check_sizes(n_classes=n_classes, in_dim=in_dim, width=width, depth=depth)
        check_choice("norm", norm, ("none", "layer", "spectral"))
        self.n_classes, self.in_dim, self.norm = n_classes, in_dim, norm
        layer_norm = "layer" if norm == "layer" else "none"
        self.net = nn.Sequential(*_mlp_layers(in_dim + n_classes, 1, width, depth, activation, layer_norm))
        if norm == "spectral":
            _spectral_wrap_(self.net, (nn.Linear,))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x = _flatten_input("ConcatCritic", self, x, y)                      # (B, in_dim)
        h = torch.cat([x, one_hot(y, self.n_classes, x.dtype)], dim=1)     # (B, in_dim + K)
        return self.net(h).squeeze(-1)                                      # (B,)


def _features_and_score(critic: nn.Module, n_classes, in_dim, width, depth, activation, norm):
    """Give ``critic`` the features φ (``depth`` hidden layers, ``(B, in_dim) -> (B, width)``) and the score
    head ψ (``width -> 1``) of a projection or auxiliary-classifier critic, after checking the sizes and ``norm``."""
    _check_sizes(n_classes=n_classes, in_dim=in_dim, width=width, depth=depth)
    check_choice("norm", norm, ("none", "layer", "spectral"))
    critic.n_classes, critic.in_dim, critic.norm = n_classes, in_dim, norm
    layer_norm = "layer" if norm == "layer" else "none"
    critic.phi = nn.Sequential(*_mlp_layers(in_dim, 1, width, depth, activation, layer_norm)[:-1])
    critic.psi = nn.Linear(width, 1)


def _spectral_features_and_score(critic: nn.Module):
    """Spectral normalisation on every Linear of φ and on ψ (the score's path)."""
    _spectral_wrap_(critic.phi, (nn.Linear,))
    spectral_norm(critic.psi)


class ProjectionCritic(nn.Module):
    r""":math:`D(x, y) = \psi(\phi(x)) + V_y^\top \phi(x)`, the projection discriminator (Miyato & Koyama 2018, §3).

    :math:`\phi`: ``depth`` hidden layers, ``(B, in_dim) -> (B, width)``; :math:`\psi`: a linear map to one
    number; :math:`V`: an embedding, one row :math:`V_y \in \mathbb{R}^{width}` per class. The label
    enters as an inner product with the features, not at the input: the paper derives this form from
    the optimal critic's log-density ratio when :math:`p(y \mid x)` is a log-linear model (§3).

    Args:
        n_classes, in_dim, width, depth, activation: as :class:`ConcatCritic`.
        norm: ``"none"``, ``"layer"`` or ``"spectral"`` (every Linear, and V, divided by its σ, as the
            paper's code does for the embedding).
    """

    def __init__(self, n_classes=8, in_dim=2, width=512, depth=3, activation="relu", norm="none"):
        super().__init__()
        _features_and_score(self, n_classes, in_dim, width, depth, activation, norm)
        self.embed = nn.Embedding(n_classes, width)
        nn.init.normal_(self.embed.weight, std=1.0 / math.sqrt(width))
        if norm == "spectral":
            _spectral_features_and_score(self)
            parametrize.register_parametrization(self.embed, "weight", SpectralNormParam(self.embed.weight))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x = _flatten_input("ProjectionCritic", self, x, y)                  # (B, in_dim)
        features = self.phi(x)                                              # φ(x): (B, width)
        unconditional = self.psi(features).squeeze(-1)                      # ψ(φ(x)): (B,)
        projection = (self.embed(y) * features).sum(dim=1)                  # V_y · φ(x): (B,)
        return unconditional + projection


#: the critics by the name the notebook and the trainer use
CRITICS = {"concat": ConcatCritic, "projection": ProjectionCritic}
