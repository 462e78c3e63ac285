"""Data for the course: toy 2D distributions, the parallel lines, and small digit images.

Toy sets (``sample_toy``) follow the WGAN-GP paper's ``gan_toy.py`` (Gulrajani et al., 2017,
github.com/igul222/improved_wgan_training); the ring is the 2D ring of VEEGAN (Srivastava et al.,
2017), also used by PacGAN (Lin et al., 2018). Images: scikit-learn's bundled 8x8 digits work
offline; MNIST / Fashion-MNIST come through torchvision when they are on disk or downloadable.
"""
from __future__ import annotations

import contextlib
import functools
import io
import math
import numbers
import os
import socket

import numpy as np
import torch

from .checks import check_choice, check_int, check_type

__all__ = [
    "TOY_DATASETS", "TOY_MIXTURES", "IMAGE_DATASETS", "DIGITS_SIZES", "sample_toy", "toy_modes", "toy_std",
    "sample_parallel_lines", "load_digits", "DigitsDataset", "image_dataset",
    "LARGE_IMAGE_DATASETS", "large_image_dataset",
]

TOY_DATASETS = ("8gaussians", "25gaussians", "swissroll", "ring")
IMAGE_DATASETS = ("digits", "mnist", "fashion-mnist")
DIGITS_SIZES = (8, 16, 32)

# Mixture definitions *before* the division, as in gan_toy.py: (centres, noise std, divisor).
_R = 1.0 / math.sqrt(2.0)
_MIXTURES = {
    "8gaussians": (
        2.0 * np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (_R, _R), (_R, -_R), (-_R, _R), (-_R, -_R)]),
        0.02, 1.414,
    ),
    "25gaussians": (np.array([(2.0 * i, 2.0 * j) for i in range(-2, 3) for j in range(-2, 3)]), 0.05, 2.828),
    "ring": (
        2.0 * np.array([(math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)) for k in range(8)]),
        0.02, 1.0,
    ),
}
#: the toy sets that are mixtures of Gaussians: they have modes (``toy_modes``) and a std (``toy_std``)
TOY_MIXTURES = tuple(_MIXTURES)


def _check_n(n, arg="n"):
    return check_int(arg, n, min=1, expected="a positive int")


def _check_generator(generator):
    if generator is None:
        return
    check_type("generator", generator, torch.Generator, "a torch.Generator or None")
    if generator.device.type != "cpu":
        raise ValueError(f"generator must be a CPU torch.Generator, got one on {generator.device}")


def sample_toy(name: str, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Draw ``n`` points of a toy 2D distribution, exactly as the WGAN-GP paper's ``gan_toy.py``.

    - ``8gaussians``: :math:`x = (2 c + 0.02\,\epsilon) / 1.414`, with ``c`` uniform over the
      8 unit directions (axes and diagonals), :math:`\epsilon \sim N(0, I_2)`.
    - ``25gaussians``: :math:`x = ((2i, 2j) + 0.05\,\epsilon) / 2.828`, ``i, j`` in -2..2. (gan_toy.py
      shuffles a fixed, balanced set of 100,000 points; here each point picks its centre uniformly,
      which is the same distribution.)
    - ``swissroll``: ``sklearn.datasets.make_swiss_roll(n, noise=0.25)``, columns 0 and 2, / 7.5;
      sklearn's ``random_state`` is drawn from ``generator`` so the result is reproducible.
    - ``ring``: 8 Gaussians of std 0.02 on a circle of radius 2, :math:`c_k = 2(\cos\frac{2\pi k}{8},
      \sin\frac{2\pi k}{8})` (VEEGAN, Srivastava et al. 2017, Sec. 5; PacGAN, Lin et al. 2018).

    Args:
        name: one of ``TOY_DATASETS``.
        n: number of points, a positive int.
        generator: a CPU ``torch.Generator`` for all the randomness (global RNG when ``None``).

    Returns:
        Tensor ``(n, 2)``, float32, on the CPU.
    """
    check_choice("name", name, TOY_DATASETS)
    n = _check_n(n)
    _check_generator(generator)
    if name == "swissroll":
        from sklearn.datasets import make_swiss_roll

        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        data = make_swiss_roll(n_samples=n, noise=0.25, random_state=seed)[0]
        return torch.from_numpy(data[:, [0, 2]] / 7.5).float()
    centres, std, divisor = _MIXTURES[name]
    centres = torch.as_tensor(centres, dtype=torch.float64)                    # (k, 2)
    index = torch.randint(0, len(centres), (n,), generator=generator)          # (n,)
    noise = torch.randn(n, 2, generator=generator, dtype=torch.float64) * std  # (n, 2)
    return ((centres[index] + noise) / divisor).float()


def _check_mixture(name):
    check_choice("name", name, TOY_DATASETS)
    if name == "swissroll":
        raise ValueError("swissroll is not a mixture: it has no modes; use w1_to_data")


def toy_modes(name: str) -> torch.Tensor:
    """The centres of a toy mixture, after the division: Tensor ``(k, 2)`` float32 (k = 8, 25, 8)."""
    _check_mixture(name)
    centres, _, divisor = _MIXTURES[name]
    return torch.as_tensor(centres / divisor, dtype=torch.float32)


def toy_std(name: str) -> float:
    """The std of each Gaussian of a toy mixture, after the division: 0.02/1.414, 0.05/2.828, 0.02."""
    _check_mixture(name)
    _, std, divisor = _MIXTURES[name]
    return std / divisor


def sample_parallel_lines(theta: float, n: int, *, generator: torch.Generator | None = None):
    r"""The WGAN paper's Example 1 (Arjovsky et al., 2017, Sec. 2): two parallel segments.

    Real :math:`(0, y)`, fake :math:`(\theta, y')`, with :math:`y, y' \sim U(0, 1)` independent.

    Args:
        theta: horizontal offset of the fake line (a finite real number).
        n: points per line, a positive int.
        generator: a CPU ``torch.Generator`` (global RNG when ``None``).

    Returns:
        ``(real, fake)``, each Tensor ``(n, 2)`` float32 on the CPU.
    """
    check_type("theta", theta, numbers.Real, "a real number")
    if not math.isfinite(theta):
        raise ValueError(f"theta must be finite, got {theta}")
    n = _check_n(n)
    _check_generator(generator)
    y_real = torch.rand(n, generator=generator)
    y_fake = torch.rand(n, generator=generator)
    real = torch.stack([torch.zeros(n), y_real], dim=1)                 # (n, 2)
    fake = torch.stack([torch.full((n,), float(theta)), y_fake], dim=1)  # (n, 2)
    return real, fake


@functools.lru_cache(maxsize=None)
def _digits_cached(size: int):
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    images = torch.from_numpy(bunch.images).float().unsqueeze(1) / 16.0 * 2.0 - 1.0  # (N, 1, 8, 8)
    if size != 8:
        images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
        images = images.clamp(-1.0, 1.0)
    return images.contiguous(), torch.from_numpy(bunch.target).long()


def load_digits(size: int = 16):
    """scikit-learn's bundled handwritten digits (1797 images, 8x8, values 0..16), offline.

    Scaled :math:`x \\mapsto 2 x / 16 - 1` into [-1, 1] (the range of a ``tanh`` generator), then
    resized bilinearly (``align_corners=False``) to ``size`` and clamped. Cached in-process; each
    call returns fresh copies.

    Args:
        size: 8, 16 or 32 pixels.

    Returns:
        ``(images, labels)``: Tensor ``(1797, 1, size, size)`` float32, Tensor ``(1797,)`` long.
    """
    images, labels = _digits_cached(int(check_choice("size", size, DIGITS_SIZES)))
    return images.clone(), labels.clone()


class DigitsDataset(torch.utils.data.Dataset):
    """``load_digits(size)`` as a Dataset of ``(image (1, size, size), label int)`` pairs, like MNIST's."""

    def __init__(self, size: int = 16):
        self.size = int(check_choice("size", size, DIGITS_SIZES))
        self.images, self.labels = load_digits(self.size)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], int(self.labels[index])

    def __repr__(self) -> str:
        return f"DigitsDataset(size={self.size}, n={len(self)})"


_PRETTY = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def _check_image_arguments(name, names, size, download):
    check_choice("name", name, names)
    if size is not None:
        _check_n(size, "size")
    check_type("download", download, bool, "a bool")


def _default_root() -> str:
    return os.environ.get("GANEDU_DATA") or os.path.join(os.path.expanduser("~"), ".cache", "ganedu", "data")


def image_dataset(name: str, *, size: int | None = None, root: str | None = None, download: bool = False):
    """An image dataset scaled to [-1, 1]: the digits, or MNIST / Fashion-MNIST when available.

    MNIST-class data is read from ``root`` (default ``$GANEDU_DATA`` or ``~/.cache/ganedu/data``).
    A download is tried only when ``download=True`` and ``GANEDU_OFFLINE`` is not ``"1"``, with a
    10 s socket timeout, so this never hangs (one line announces it). When the data is absent or
    unreachable, one line says so and the digits (``DigitsDataset(size or 16)``) are returned instead.

    Args:
        name: one of ``IMAGE_DATASETS``.
        size: output side in pixels (``None``: 16 for the digits, 28 for MNIST-class data).
        root: folder holding ``MNIST/raw`` or ``FashionMNIST/raw``.
        download: allow a download attempt.

    Returns:
        ``(dataset, used_name)``; items are ``(image (1, size, size) float32, label int)``.
    """
    _check_image_arguments(name, IMAGE_DATASETS, size, download)
    if name == "digits":
        return DigitsDataset(16 if size is None else size), "digits"

    import torchvision
    from torchvision import transforms

    root = str(root) if root is not None else _default_root()
    cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
    steps = [transforms.Resize(size)] if size is not None and size != 28 else []
    transform = transforms.Compose(steps + [transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    dataset, reason = _torchvision_train_set(cls, root, transform, download, _PRETTY[name],
                                             "download=False", "offline: GANEDU_OFFLINE=1")
    if dataset is not None:
        return dataset, name
    fallback = 16 if size is None else size
    if fallback not in DIGITS_SIZES:
        raise ValueError(
            f"{_PRETTY[name]} is not available under {root} ({reason}) and the digits fallback only "
            f"comes in sizes {DIGITS_SIZES}, got size={size}; ask for size=32 or 16"
        )
    print(f"ganedu: {_PRETTY[name]} not found under {root} ({reason}); "
          f"using scikit-learn's digits (1797 images, {fallback}x{fallback}) instead.")
    return DigitsDataset(fallback), "digits"


def _torchvision_train_set(cls, root, transform, download, pretty, no_download, offline):
    """``(dataset, None)`` from ``root``, or after a download with a 10 s socket timeout when
    allowed; else ``(None, reason)``. Never hangs, never downloads while ``GANEDU_OFFLINE=1``."""
    try:
        return cls(root, train=True, transform=transform, download=False), None
    except RuntimeError as exc:  # torchvision's "Dataset not found"; anything else is a real error
        if "not found" not in str(exc):
            raise
    if not download:
        return None, no_download
    if os.environ.get("GANEDU_OFFLINE", "0") == "1":
        return None, offline
    print(f"ganedu: downloading {pretty} to {root} ...")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # torchvision's per-mirror chatter
            return cls(root, train=True, transform=transform, download=True), None
    except Exception as exc:  # noqa: BLE001 - any network/IO failure: say so, do not hang
        first_line = (str(exc).splitlines() or [""])[0]
        return None, f"download failed: {type(exc).__name__}: {first_line}".rstrip(": ")
    finally:
        socket.setdefaulttimeout(previous)


# ---- larger image sets for runs on a GPU: no fallback, a clear error when absent -------------
LARGE_IMAGE_DATASETS = ("cifar10", "celeba")


def large_image_dataset(name: str, *, size: int | None = None, root: str | None = None,
                        download: bool = False):
    """CIFAR-10 (torchvision) or CelebA (an ``ImageFolder``), RGB scaled to [-1, 1].

    - ``cifar10``: torchvision's ``CIFAR10`` (train split, 50,000 images, 32x32) under
      ``root/cifar-10-batches-py``; ``download=True`` fetches it (170 MB) unless
      ``GANEDU_OFFLINE=1``.
    - ``celeba``: every image under ``root/celeba/<folder>/`` read by ``ImageFolder``, e.g. the
      aligned faces ``img_align_celeba/`` (202,599 JPEGs) unzipped from the CelebA site; resized
      then centre-cropped to ``size`` (the PyTorch DCGAN tutorial's preprocessing). Never
      downloaded (torchvision's Google-Drive download is often refused).

    Unlike :func:`image_dataset` there is no fallback to the digits (a long run on the wrong
    data is worse than a stop): an absent dataset raises a ``ValueError`` saying where it was
    looked for and how to get it. ``root`` defaults to ``$GANEDU_DATA`` or ``~/.cache/ganedu/data``.

    Args:
        name: one of ``LARGE_IMAGE_DATASETS``.
        size: output side in pixels (``None``: 32 for CIFAR-10, 64 for CelebA).
        root: the data folder.
        download: allow downloading CIFAR-10.

    Returns:
        ``(dataset, name)``; items are ``(image (3, size, size) float32, label int)``.
    """
    _check_image_arguments(name, LARGE_IMAGE_DATASETS, size, download)
    import torchvision
    from torchvision import transforms

    root = str(root) if root is not None else _default_root()
    normalize = [transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)]  # [0, 1] -> [-1, 1]
    if name == "celeba":
        size = 64 if size is None else size
        folder = os.path.join(root, "celeba")
        transform = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size)] + normalize)
        try:
            return torchvision.datasets.ImageFolder(folder, transform=transform), name
        except (FileNotFoundError, OSError) as exc:
            raise ValueError(
                f"CelebA was not found under {folder} ({type(exc).__name__}). Download "
                "img_align_celeba.zip from the CelebA site (mmlab.ie.cuhk.edu.hk/projects/CelebA.html) "
                f"and unzip it so that the images are in {os.path.join(folder, 'img_align_celeba')}/; "
                "or pass --data-root DIR (GANEDU_DATA) where DIR/celeba/ holds them") from None
    steps = [transforms.Resize(size)] if size is not None and size != 32 else []
    transform = transforms.Compose(steps + normalize)
    dataset, reason = _torchvision_train_set(
        torchvision.datasets.CIFAR10, root, transform, download, "CIFAR-10 (170 MB)",
        "download=False: pass --download (download=True) to fetch it",
        "offline: GANEDU_OFFLINE=1 forbids the download")
    if dataset is not None:
        return dataset, name
    raise ValueError(f"CIFAR-10 was not found under {os.path.join(root, 'cifar-10-batches-py')} ({reason}); "
                     "pass --data-root DIR (GANEDU_DATA) where DIR/cifar-10-batches-py is")
