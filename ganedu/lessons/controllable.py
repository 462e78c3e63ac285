r"""Notebook 08's controllable generation: steer an *unconditional* generator with a classifier's gradient.

With a trained generator :math:`G` and a classifier :math:`p(y \mid x)`, ask for class :math:`t` by moving the
latent code uphill on the classifier's log-probability of that class (the classifier-gradient method; as
in the "plug and play" line of work, Nguyen et al. 2017, with the generator's own prior dropped):

.. math:: z_{k+1} = z_k + \alpha\, \nabla_z \Bigl[\log p\bigl(t \mid G(z_k)\bigr) - \beta\, \bigl(m(G(z_k)) - m(G(z_0))\bigr)^2\Bigr]

:math:`m` is a second attribute we can read off the image, its ink mass (the mean brightness). With
:math:`\beta = 0` the walk changes whatever helps the classifier, the ink included (the attributes are
*entangled* in z); :math:`\beta > 0` is the simple regulariser that keeps the ink where it was.
"""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_int, check_number, check_tensor
from ..conditional import check_labels
from ..data import load_digits
from ..metrics import DigitsClassifier, _split, _train
from ..models import MLPCritic, MLPGenerator
from ..train import Trainer

__all__ = ["ImageMLPGenerator", "unconditional_digits_trainer", "judge_classifier", "ink_mass", "classifier_step", "steer", "steering_report", "label_path"]


class ImageMLPGenerator(nn.Module):
    """An unconditional digits generator: ``ganedu.models.MLPGenerator`` to ``size²`` values, tanh, reshaped
    to ``(B, 1, size, size)``. Args: z_dim, size, width, depth."""

    def __init__(self, z_dim=32, size=16, width=256, depth=2):
        super().__init__()
        self.z_dim, self.size = z_dim, size
        self.mlp = MLPGenerator(z_dim, size * size, width, depth)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.mlp(z)).reshape(z.shape[0], 1, self.size, self.size)   # (B, 1, s, s) in [-1, 1]


def unconditional_digits_trainer(recipe, *, seed=0, size=16) -> Trainer:
    """The course's :class:`~ganedu.train.Trainer` for an :class:`ImageMLPGenerator` and an MLP critic on the
    digits (spectral norm when the recipe asks), sized by the recipe's width, depth and z_dim."""
    torch.manual_seed(seed)
    images = load_digits(size)[0]
    generator = ImageMLPGenerator(recipe.z_dim or 32, size, recipe.width, recipe.depth)
    critic = MLPCritic(size * size, recipe.width, recipe.depth, norm="spectral" if recipe.spectral_norm else "none")
    return Trainer(recipe, generator, critic, images, device="cpu", seed=seed)


def judge_classifier(size: int = 16, seed: int = 1, width: int = 512) -> DigitsClassifier:
    """A second digits classifier, trained like ``ganedu.metrics.digits_classifier`` on the same training
    split but from another seed and with another width: it judges the steered images without having been
    the one the walk climbed (an image can fool the classifier it was optimised against)."""
    images, labels = load_digits(size)
    train_idx, _ = _split(len(labels))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitsClassifier(size, width=width)
        _train(model, images[train_idx], labels[train_idx])
    return model.eval().requires_grad_(False)


def ink_mass(images: torch.Tensor) -> torch.Tensor:
    r""":math:`m(x) = \frac{1}{HW}\sum_{ij} \frac{x_{ij} + 1}{2}`: the fraction of the image that is ink, ``(B,)``.

    Images are in [-1, 1] (background -1, ink +1); thicker or larger strokes give more ink.
    """
    check_tensor("images", images, ndim=4, floating=True)
    return ((images + 1) / 2).mean(dim=(1, 2, 3))


def classifier_step(z: torch.Tensor, generator, classifier, target: torch.Tensor, alpha: float, *,
                    beta: float = 0.0, ink_start: torch.Tensor | None = None) -> torch.Tensor:
    r"""One step :math:`z + \alpha \nabla_z [\log p(t \mid G(z)) - \beta (m(G(z)) - m_0)^2]`, per sample.

    Each code's objective depends on that code only, so the gradient of the batch's sum is every
    sample's own gradient. The generator and the classifier are not changed (only z moves).

    Args:
        z: ``(B, z_dim)`` codes; generator: ``z -> images``; classifier: ``images -> logits (B, K)``.
        target: ``(B,)`` the class each code should move towards.
        alpha: the step size; beta: the ink-mass regulariser's weight (0: none).
        ink_start: ``(B,)`` the ink mass to keep, :math:`m(G(z_0))` (needed when ``beta > 0``).
    Returns:
        the new ``(B, z_dim)`` codes (detached).
    """
    z = z.detach().requires_grad_(True)
    images = generator(z)                                                   # G(z): (B, 1, H, W)
    log_p = torch.log_softmax(classifier(images), dim=1)                    # log p(y | G(z)): (B, K)
    objective = log_p.gather(1, target[:, None]).squeeze(1)                 # log p(t | G(z)): (B,)
    if beta > 0:
        objective = objective - beta * (ink_mass(images) - ink_start) ** 2  # - β (m(G(z)) - m0)²
    (grad,) = torch.autograd.grad(objective.sum(), z)                       # row i: ∇ of objective i
    return (z + alpha * grad).detach()


def steer(generator, classifier, z0: torch.Tensor, target: torch.Tensor, *, steps: int = 30, alpha: float = 0.1,
          beta: float = 0.0) -> torch.Tensor:
    """``steps`` of :func:`classifier_step` from ``z0``; returns the final codes ``(B, z_dim)``."""
    check_tensor("z0", z0, ndim=2, floating=True)
    check_labels("target", target, None, batch=z0.shape[0])
    check_int("steps", steps, min=0)
    check_number("alpha", alpha, gt=0)
    check_number("beta", beta, ge=0)
    with torch.no_grad():
        ink_start = ink_mass(generator(z0))
    z = z0
    for _ in range(steps):
        z = classifier_step(z, generator, classifier, target, alpha, beta=beta, ink_start=ink_start)
    return z


@torch.no_grad()
def steering_report(generator, classifier, z0: torch.Tensor, z: torch.Tensor, target: torch.Tensor,
                    n_classes: int = 10, judge=None) -> dict:
    """What the walk achieved: per target class the success rate (``classifier`` reads the target; with a
    ``judge``, also ``judged``: the judge reads it), the mean distance moved ``||z - z0||`` (beside the mean
    ``||z0||``) and the mean absolute change of ink mass."""
    before, after = generator(z0), generator(z)
    rate = lambda net: [float((net(after).argmax(dim=1) == target)[target == k].float().mean()) for k in range(n_classes)]
    extra = {} if judge is None else dict(judged=rate(judge))
    return dict(success=rate(classifier), **extra, moved=float((z - z0).norm(dim=1).mean()),
                z_norm=float(z0.norm(dim=1).mean()),
                ink_change=float((ink_mass(after) - ink_mass(before)).abs().mean()))


def label_path(a: int, b: int, n_classes: int, steps: int) -> torch.Tensor:
    r"""Class codes :math:`c_t = (1 - t)\,\mathrm{onehot}(a) + t\,\mathrm{onehot}(b)`, ``t`` in ``steps``
    equal steps from 0 to 1: ``(steps, n_classes)``, for ``ConditionalGenerator.generate``."""
    check_int("steps", steps, min=2)
    check_int("n_classes", n_classes, min=2)
    for name, k in (("a", a), ("b", b)):
        check_int(name, k, min=0, max=n_classes - 1)
    t = torch.linspace(0, 1, steps)[:, None]                                # (steps, 1)
    eye = torch.eye(n_classes)
    return (1 - t) * eye[a] + t * eye[b]
