"""How good is a generator? Metrics for toy 2D data and for small digit images.

Toy data: mode coverage and the high-quality fraction (VEEGAN, Srivastava et al. 2017; PacGAN,
Lin et al. 2018), the exact W1 to the data, and the critic's own Wasserstein estimate (WGAN, Eq. 2).
Images: a small digits classifier gives class coverage and a Frechet distance on its features
(the FID recipe of Heusel et al. 2017, with our classifier in place of Inception).
"""
from __future__ import annotations

import contextlib
import functools
import os
import time
import warnings

import numpy as np
import torch
from torch import nn

from ganedu import torch_threads
from ganedu.checks import check_choice, check_int, check_number, check_tensor
from ganedu.data import DIGITS_SIZES, TOY_MIXTURES, load_digits, toy_modes, toy_std
from ganedu.divergences import kl_divergence, w1_exact
from ganedu.models import evaluating

__all__ = [
    "mode_coverage", "w1_to_data", "critic_w_estimate", "DigitsClassifier", "digits_classifier",
    "class_coverage", "frechet_distance_from_features", "frechet_distance", "DIGITS_DATA", "score_samples",
    "nearest_neighbour_distances",
]

#: the datasets whose images the digits classifier reads (MNIST, or the digits it falls back to)
DIGITS_DATA = ("digits", "mnist")


def mode_coverage(samples: torch.Tensor, modes: torch.Tensor, std: float) -> dict:
    r"""Modes covered and fraction of high-quality samples (VEEGAN Sec. 5; PacGAN Sec. 5).

    A sample is high-quality (HQ) when :math:`\min_k \|x - c_k\|_2 \le 3\sigma`; a mode is covered
    when it is the nearest mode of at least one HQ sample. For a perfect sampler of an isotropic 2D
    Gaussian mixture, :math:`\mathrm{hq} = P(\|\epsilon\| \le 3\sigma) = 1 - e^{-9/2} \approx 0.989`.

    Args:
        samples: ``(n, d)`` generated points.
        modes: ``(k, d)`` mode centres, e.g. ``ganedu.data.toy_modes(name)``.
        std: std of each mode, e.g. ``ganedu.data.toy_std(name)``.

    Returns:
        ``dict(modes=int, hq=float, counts=list[int])``: covered modes, HQ fraction, HQ samples per mode.
    """
    check_tensor("samples", samples, ndim=2)
    check_tensor("modes", modes, ndim=2)
    if samples.shape[1] != modes.shape[1]:
        raise ValueError(f"samples (n, d) and modes (k, d) must share d, "
                         f"got {tuple(samples.shape)} and {tuple(modes.shape)}")
    check_number("std", std, gt=0, expected="> 0 (a positive finite number)")
    x = samples.detach().cpu().double()
    c = modes.detach().cpu().double()
    distance, nearest = torch.cdist(x, c).min(dim=1)             # (n,), (n,)
    hq = distance <= 3.0 * std                                    # (n,) bool
    counts = torch.bincount(nearest[hq], minlength=len(c))        # (k,)
    return dict(modes=int((counts > 0).sum()), hq=float(hq.double().mean()), counts=counts.tolist())


def w1_to_data(samples: torch.Tensor, data: torch.Tensor, *, max_points: int = 2000) -> float:
    r"""Exact empirical :math:`W_1` between generated samples and data (``divergences.w1_exact``).

    Uses the first :math:`m = \min(n_\text{samples}, n_\text{data}, \text{max\_points})` points of
    each (both are i.i.d. draws, so the first ``m`` are a random subset). The exact assignment costs
    O(m^3): ``max_points=2000`` takes about 2 s. The estimate is biased upward for small ``m``;
    compare values computed with the same ``m``.

    Args:
        samples: ``(n, d)``; data: ``(m, d)``; max_points: cap on the points used.
    """
    check_tensor("samples", samples, ndim=2)
    check_tensor("data", data, ndim=2)
    m = min(len(samples), len(data), check_int("max_points", max_points, min=1))
    return w1_exact(samples[:m], data[:m])


@torch.no_grad()
def critic_w_estimate(critic, real: torch.Tensor, fake: torch.Tensor, *, eval_mode: bool = True) -> float:
    r"""The critic's estimate of :math:`W_1`: :math:`\frac1n \sum_i f(x_i) - \frac1m \sum_j f(\tilde x_j)`.

    Kantorovich-Rubinstein duality (WGAN paper, Arjovsky et al. 2017, Eq. 2):
    :math:`W(P_r, P_\theta) = \sup_{\|f\|_L \le 1} E_{P_r}[f(x)] - E_{P_\theta}[f(x)]`; with a
    1-Lipschitz critic this is a lower bound (up to sampling noise), for a K-Lipschitz one K times it.

    Args:
        critic: callable ``(B, ...) -> (B,)``.
        real: ``(n, ...)``; fake: ``(m, ...)``.
        eval_mode: call an ``nn.Module`` critic in eval mode (no BatchNorm statistics or spectral-norm
            ``u`` updated), then restore its mode.
    """
    if not callable(critic):
        raise TypeError(f"critic must be callable (an nn.Module), got {type(critic).__name__}")
    check_tensor("real", real)
    check_tensor("fake", fake)
    mode = evaluating(critic) if eval_mode and isinstance(critic, nn.Module) else contextlib.nullcontext()
    with mode:
        means = []
        for arg, x in (("real", real), ("fake", fake)):
            scores = critic(x)
            if not isinstance(scores, torch.Tensor) or scores.numel() != len(x):
                shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
                raise ValueError(f"critic({arg}) must return one score per sample ({len(x)},), got {shape}")
            means.append(scores.float().mean())
    return float(means[0] - means[1])


class DigitsClassifier(nn.Module):
    """A 2-hidden-layer MLP for the digits: ``features`` (the 64 pre-activations of the last
    hidden layer: ReLU outputs would have dead, constant dims and singular covariances), then logits."""

    def __init__(self, size: int = 16, width: int = 256, feature_dim: int = 64):
        super().__init__()
        self.size = size
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(size * size, width), nn.ReLU(), nn.Linear(width, feature_dim)
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(feature_dim, 10))

    def _check(self, x):
        check_tensor("images", x, ndim=4)
        if tuple(x.shape[1:]) != (1, self.size, self.size):
            raise ValueError(f"images must have shape (B, 1, {self.size}, {self.size}), got {tuple(x.shape)}")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, size, size)`` in [-1, 1] -> ``(B, feature_dim)``."""
        self._check(x)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, size, size)`` in [-1, 1] -> logits ``(B, 10)``."""
        return self.head(self.features(x))


def _split(n: int, seed: int = 0, held_out: float = 0.2):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_test = int(round(held_out * n))
    return order[n_test:], order[:n_test]  # train, test indices


def digits_classifier(size: int = 16, cache_dir: str | None = None) -> DigitsClassifier:
    """A digits classifier, trained at first use (seed 0, ~1 s on a CPU) and memoised in-process.

    Trained with Adam on 80% of ``load_digits(size)`` (a fixed seeded split); the other 20% are
    held out: ``.test_indices`` and ``.test_accuracy`` record them (above 0.95). Nothing is
    written unless ``cache_dir`` is given: then the weights are saved there and loaded next time
    (``torch.load(weights_only=True)``). The global RNG is left untouched. Returned in eval mode,
    on the CPU, with ``requires_grad`` off: treat it as read-only (it is shared).

    Args:
        size: image side, 8, 16 or 32.
        cache_dir: optional folder for ``digits_classifier_{size}.pt``.
    """
    check_choice("size", size, DIGITS_SIZES)
    return _digits_classifier(int(size), None if cache_dir is None else os.fspath(cache_dir))


@functools.lru_cache(maxsize=None)
def _digits_classifier(size: int, cache_dir: str | None) -> DigitsClassifier:
    images, labels = load_digits(size)
    train_idx, test_idx = _split(len(labels))
    path = None if cache_dir is None else os.path.join(cache_dir, f"digits_classifier_{size}.pt")
    start = time.perf_counter()
    with torch_threads(1), torch.random.fork_rng(devices=[]):  # a tiny MLP: one thread is fastest
        torch.manual_seed(0)
        model = DigitsClassifier(size)
        if path is not None and os.path.exists(path):
            model.load_state_dict(torch.load(path, weights_only=True))
        else:
            _train(model, images[train_idx], labels[train_idx])
            if path is not None:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                torch.save(model.state_dict(), path)
    model.eval().requires_grad_(False)
    with torch.no_grad():
        predictions = model(images[test_idx]).argmax(dim=1)
    model.test_indices = test_idx
    model.test_accuracy = float((predictions == labels[test_idx]).float().mean())
    model.train_seconds = time.perf_counter() - start
    return model


def _train(model, x, y, epochs: int = 40, batch_size: int = 64):
    """Plain mini-batch Adam on cross-entropy, with light input noise for robustness to GAN samples."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        for batch in torch.randperm(len(x)).split(batch_size):
            xb = x[batch] + 0.1 * torch.randn_like(x[batch])
            loss = nn.functional.cross_entropy(model(xb), y[batch])   # forward
            optimizer.zero_grad()
            loss.backward()                                              # backward
            optimizer.step()                                             # update


def _classifier_for(images, classifier):
    check_tensor("images", images, ndim=4)
    if classifier is None:
        size = images.shape[-1]
        if images.shape[1:] != (1, size, size) or size not in DIGITS_SIZES:
            raise ValueError(f"images must have shape (B, 1, s, s) with s in {DIGITS_SIZES}, got {tuple(images.shape)}")
        classifier = digits_classifier(int(size))
    if not (hasattr(classifier, "features") and callable(classifier)):
        raise TypeError(f"classifier must have .features(x) and be callable, got {type(classifier).__name__}")
    if not torch.isfinite(images).all():
        raise ValueError("images must be finite (no NaN or inf)")
    return classifier


def _batched(fn, images, batch_size=512):
    with torch.no_grad():
        x = images.detach().cpu().float()
        return torch.cat([fn(chunk) for chunk in x.split(batch_size)])


def class_coverage(images: torch.Tensor, classifier=None) -> dict:
    r"""Which digits does a generator produce, and how evenly? (mode coverage for images)

    The classifier labels each image; :math:`h_c` is the fraction predicted as class ``c``. A class
    is covered when :math:`h_c \ge 1\%`. ``kl_uniform`` is :math:`KL(h \| U) = \sum_c h_c \ln(10 h_c)`:
    0 for perfectly balanced classes, :math:`\ln 10 \approx 2.30` for a single class (a
    classifier-based mode-collapse score, as in Metz et al. 2017 / Srivastava et al. 2017).

    Args:
        images: ``(B, 1, s, s)`` in [-1, 1], s in (8, 16, 32).
        classifier: defaults to ``digits_classifier(s)``.

    Returns:
        ``dict(classes=int, kl_uniform=float, histogram=list[float])`` (10 fractions summing to 1).
    """
    classifier = _classifier_for(images, classifier)
    predictions = _batched(classifier, images).argmax(dim=1)                        # (B,)
    histogram = torch.bincount(predictions, minlength=10).double() / len(predictions)  # (10,)
    uniform = np.full(len(histogram), 1.0 / len(histogram))
    return dict(
        classes=int((histogram >= 0.01).sum()),
        kl_uniform=kl_divergence(histogram.numpy(), uniform),
        histogram=histogram.tolist(),
    )


def frechet_distance_from_features(f1, f2) -> float:
    r"""Frechet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, Eq. 6).

    .. math:: d^2 = \|\mu_1 - \mu_2\|_2^2 + \mathrm{Tr}\big(\Sigma_1 + \Sigma_2 - 2 (\Sigma_1 \Sigma_2)^{1/2}\big)

    (Dowson & Landau 1982), with sample means and covariances (``ddof=1``). The matrix square root
    is ``scipy.linalg.sqrtm``; its tiny imaginary rounding error is dropped. Rounding below 0 is
    clipped to 0.

    Args:
        f1: ``(n1, d)``; f2: ``(n2, d)``, tensors or arrays, n1, n2 >= 2.
    """
    from scipy import linalg

    feats = []
    for arg, f in (("f1", f1), ("f2", f2)):
        f = f.detach().cpu().double().numpy() if isinstance(f, torch.Tensor) else np.asarray(f, dtype=np.float64)
        if f.ndim != 2 or f.shape[0] < 2:
            raise ValueError(f"{arg} must have shape (n, d) with n >= 2, got {f.shape}")
        if not np.all(np.isfinite(f)):
            raise ValueError(f"{arg} must be finite (no NaN or inf)")
        feats.append(f)
    if feats[0].shape[1] != feats[1].shape[1]:
        raise ValueError(f"f1 and f2 must have the same feature dim, got {feats[0].shape} and {feats[1].shape}")
    mu1, mu2 = feats[0].mean(axis=0), feats[1].mean(axis=0)
    sigma1 = np.atleast_2d(np.cov(feats[0], rowvar=False))
    sigma2 = np.atleast_2d(np.cov(feats[1], rowvar=False))
    with warnings.catch_warnings():  # a singular product is handled below, not an error
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.all(np.isfinite(covmean)):  # nudge both covariances, as pytorch-fid does
            offset = 1e-6 * np.eye(len(mu1))
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    d2 = float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
    return max(d2, 0.0)


def frechet_distance(real_images: torch.Tensor, fake_images: torch.Tensor, classifier=None) -> float:
    """Frechet distance between digits-classifier features of real and generated images.

    Like FID (Heusel et al. 2017) but with ``digits_classifier(s).features`` (64-dim) in place of
    Inception's pool3: comparable only between runs at the same size and sample count.

    Args:
        real_images, fake_images: ``(B, 1, s, s)`` in [-1, 1], s in (8, 16, 32), B >= 2.
        classifier: defaults to ``digits_classifier(s)``.
    """
    classifier = _classifier_for(real_images, classifier)
    _classifier_for(fake_images, classifier)
    if real_images.shape[1:] != fake_images.shape[1:]:
        raise ValueError(f"real_images and fake_images must have the same image shape, "
                         f"got {tuple(real_images.shape)} and {tuple(fake_images.shape)}")
    return frechet_distance_from_features(_batched(classifier.features, real_images),
                                          _batched(classifier.features, fake_images))


def nearest_neighbour_distances(queries: torch.Tensor, reference: torch.Tensor, *,
                                exclude_self: bool = False) -> torch.Tensor:
    r"""Euclidean distance from each query to its nearest reference point: :math:`\min_j \|q_i - r_j\|_2`.

    A memorisation check: a generator that copies its training set puts its samples at distance
    ~0 from a training image, far closer than two different real images are. With
    ``exclude_self=True`` (queries *are* the reference) each point's own entry is skipped, which
    gives the real-vs-real distances to compare with.

    Args:
        queries: ``(n, ...)``; reference: ``(m, ...)`` with the same trailing shape (images are flattened).
        exclude_self: skip ``j = i`` (needs ``queries`` and ``reference`` of the same length, m >= 2).
    Returns:
        ``(n,)`` float64 tensor on the CPU.
    """
    check_tensor("queries", queries, floating=True)
    check_tensor("reference", reference, floating=True)
    if queries.shape[1:] != reference.shape[1:]:
        raise ValueError(f"queries and reference must have the same shape after the batch dim, got "
                         f"{tuple(queries.shape)} and {tuple(reference.shape)}")
    q = queries.detach().cpu().double().flatten(1)            # (n, d)
    r = reference.detach().cpu().double().flatten(1)          # (m, d)
    if exclude_self and (len(q) != len(r) or len(r) < 2):
        raise ValueError(f"exclude_self=True needs queries and reference of the same length >= 2, got "
                         f"{len(q)} and {len(r)}")
    out = []
    for start in range(0, len(q), 512):                       # (512, m) distances at a time
        d = torch.cdist(q[start:start + 512], r, compute_mode="donot_use_mm_for_euclid_dist")  # exact 0 for a copy
        if exclude_self:
            rows = torch.arange(d.shape[0])
            d[rows, rows + start] = float("inf")
        out.append(d.min(dim=1).values)
    return torch.cat(out)


def score_samples(samples: torch.Tensor, data: str | None, *, real: torch.Tensor | None = None,
                  n_w1: int = 1000, critic=None) -> dict:
    r"""Every metric above that applies to a generator's ``samples`` of ``data``, in one dict.

    The course's one scorer: the CLI's ``metrics.json``, the showdown's table, the populations'
    summaries and the dashboard's status line all come from here. A metric that does not apply is
    left out of the dict.

    - 2D mixtures (``8gaussians``, ``25gaussians``, ``ring``): ``modes`` covered of ``modes_total``
      and the high-quality fraction ``hq``, on all the samples (:func:`mode_coverage`).
    - points ``(n, d)`` with ``real`` points: ``w1``, the exact :math:`W_1` between the first
      :math:`m = \min(n, n_\text{real}, n_{W_1})` samples and real points (:func:`w1_to_data`,
      O(m³)); with a ``critic`` too, ``w_estimate``, its estimate of :math:`W_1` on those same
      points, :math:`\frac1m\sum_i C(x_i) - \frac1m\sum_j C(\tilde x_j)` (:func:`critic_w_estimate`).
    - digits (``DIGITS_DATA``: ``digits``, ``mnist``) of 8, 16 or 32 pixels: ``classes`` and ``kl_uniform`` on all
      the samples (:func:`class_coverage`); with ``real`` images, ``frechet``: the Fréchet distance
      between the digits-classifier features of ``real`` and of the first ``len(real)`` samples
      (:func:`frechet_distance`).

    Args:
        samples: ``(n, d)`` points or ``(n, 1, s, s)`` images in [-1, 1].
        data: the name of the dataset the generator learnt (``None``: no mixture, no digits).
        real: real points or images to compare with (``None``: only the metrics that need none).
        n_w1: at most this many points for ``w1`` and ``w_estimate``.
        critic: a trained critic ``(B, ...) -> (B,)`` whose score estimates :math:`W_1`
            (a Wasserstein or hinge critic), or ``None``.
    Returns:
        e.g. ``dict(modes=8, hq=0.97, modes_total=8, w1=0.021, w_estimate=0.018)`` for 8gaussians.
    """
    check_tensor("samples", samples)
    n_w1 = check_int("n_w1", n_w1, min=1)
    out = {}
    if samples.ndim == 2:                                           # points (n, d)
        if data in TOY_MIXTURES:
            coverage = mode_coverage(samples, toy_modes(data), toy_std(data))
            out.update(modes=coverage["modes"], hq=coverage["hq"], modes_total=len(toy_modes(data)))
        if real is not None:
            out["w1"] = w1_to_data(samples, real, max_points=n_w1)
            if critic is not None:
                weight = next(critic.parameters(), None) if isinstance(critic, nn.Module) else None
                device = samples.device if weight is None else weight.device
                out["w_estimate"] = critic_w_estimate(critic, real[:n_w1].to(device), samples[:n_w1].to(device))
    elif data in DIGITS_DATA and samples.shape[-1] in DIGITS_SIZES:  # images (n, 1, s, s)
        coverage = class_coverage(samples)
        out.update(classes=coverage["classes"], kl_uniform=coverage["kl_uniform"])
        if real is not None:
            out["frechet"] = frechet_distance(real, samples[:len(real)])
    return out
