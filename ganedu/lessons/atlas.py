"""Notebook 09's failure atlas: for each failure a recipe that triggers it, and its fix.

Each :class:`Entry` is a recipe of ``ganedu.recipes`` with overrides (``Trainer.from_recipe(recipe,
data, **overrides)``), trained ``steps`` steps with a :class:`ganedu.diagnose.Monitor`; ``fix`` holds
the overrides that cure it. :func:`run_entry` trains one and returns the trainer, the monitor and
the findings. ``tests/test_diagnose.py`` checks that every entry triggers its failure on seeds 0-2
and that its detector fires (on every CPU kernel set), and that the healthy runs of
``HEALTHY`` stay silent.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..checks import check_choice, check_int
from ..data import load_digits, sample_toy
from ..diagnose import FAILURES, Monitor, watch
from ..train import Trainer

__all__ = ["Entry", "ATLAS", "HEALTHY", "run_entry", "run_healthy", "small_data"]

SMALL = 16  # training points of the small-data entry


def small_data(n: int = SMALL, seed: int = 5) -> tuple:
    """(training set of ``n`` swissroll points, 2,000 held-out points from the same distribution)."""
    train = sample_toy("swissroll", n, generator=torch.Generator().manual_seed(seed))
    held_out = sample_toy("swissroll", 2000, generator=torch.Generator().manual_seed(seed + 1))
    return train, held_out


@dataclass(frozen=True)
class Entry:
    """One failure: ``recipe`` + ``overrides`` on ``data`` for ``steps`` steps; ``fix``: the cure's overrides."""

    failure: str
    recipe: str
    overrides: dict
    steps: int
    fix: dict
    why: str
    data: str = "8gaussians"
    every: int = 25
    fix_recipe: str | None = None
    fix_data: str | None = None  # the cure is other data (more of it)
    extra: dict = field(default_factory=dict)


_W = dict(width=64)  # small networks: every entry trains in seconds on a laptop CPU
ATLAS = {e.failure: e for e in [
    Entry("saturated_discriminator", "gan-toy", dict(_W, lr_d=1e-2, lr_g=1e-4), 400, dict(lr_d=1e-3, lr_g=1e-3),
          "D learns 100 times faster than G (lr_d 1e-2, lr_g 1e-4): it separates real from fake completely"),
    Entry("vanishing_gradient", "gan-toy", dict(_W, lr_d=1e-2, lr_g=1e-4), 400, dict(loss="nonsaturating"),
          "the same fast D with the saturating loss log(1 - D(G(z))): its gradient is D(G(z)) times D's, near 0"),
    Entry("mode_collapse", "nsgan-toy", dict(_W, lr_d=1e-2, lr_g=1e-4), 400, dict(), fix_recipe="wgan-gp-toy",
          why="D learns 100 times faster than G, with the non-saturating loss: G's mass goes to one or two modes"),
    Entry("mode_hopping", "nsgan-toy", dict(_W, lr_d=2e-4, lr_g=2e-3), 800, dict(), fix_recipe="wgan-gp-toy",
          why="G learns 10 times faster than D: each time D moves, G jumps to D's new maximum (a point mass)"),
    Entry("oscillation", "nsgan-toy", dict(_W, lr_d=1e-3, lr_g=1e-3, betas=(0.9, 0.999)), 600, dict(),
          fix_recipe="wgan-gp-toy", why=(
          "Adam with momentum beta1 = 0.9 instead of 0.5: each player overshoots the other's move")),
    Entry("clipping_blowup", "wgan-toy", dict(_W, clip=1.0), 150, dict(clip=0.01),
          "clip c = 1 instead of 0.01: the clip no longer bounds the critic"),
    Entry("exploding_gradients", "wgan-gp-toy", dict(_W, gp_lambda=0.0, lr_d=1e-2, lr_g=1e-2), 600,
          dict(gp_lambda=0.1, lr_d=3e-3, lr_g=3e-3),
          "the gradient penalty switched off (gp_lambda 0) and larger steps (lr 1e-2): nothing keeps the critic Lipschitz"),
    Entry("nan_divergence", "wgan-gp-toy", dict(_W, depth=8, lr_d=10.0, lr_g=10.0), 100, dict(lr_d=3e-3, lr_g=3e-3),
          "a learning rate of 10 in networks 8 layers deep: the scores overflow float32"),
    Entry("overfitting_discriminator", "nsgan-toy", dict(_W, n_critic=2), 400, dict(), data="small swissroll",
          fix_data="swissroll",
          why=f"{SMALL} training points and 2 D steps per G step: D learns the points, not the distribution"),
]}
assert tuple(ATLAS) == FAILURES

#: the healthy runs every detector must stay silent on: (recipe, data, steps, overrides)
HEALTHY = {
    "wgan-gp-toy": ("wgan-gp-toy", "8gaussians", 2000, {}),
    "sngan-toy": ("sngan-toy", "8gaussians", 400, {}),
    "dcgan": ("dcgan", "digits", 150, dict(batch_size=64)),
}


def _trainer(recipe, data, seed, overrides):
    """(trainer, monitor) for ``data`` (a name, "small swissroll" or "digits" with a held-out split)."""
    held_out = None
    if data == "small swissroll":
        data, held_out = small_data()
    elif data == "swissroll":  # the whole distribution, and the same held-out points
        held_out = small_data()[1]
    elif data == "digits":
        images = load_digits(16)[0]
        data, held_out = images[:1500], images[1500:]  # 297 digits the discriminator never sees
    trainer = Trainer.from_recipe(recipe, data, device="cpu", seed=seed, **overrides)
    return trainer, held_out


def run_entry(failure: str, seed: int = 0, *, fixed: bool = False, steps: int | None = None):
    """Train the atlas entry for ``failure`` (with its fix when ``fixed``): (trainer, monitor, findings)."""
    entry = ATLAS[check_choice("failure", failure, FAILURES)]
    seed = check_int("seed", seed, min=0)
    recipe = (entry.fix_recipe or entry.recipe) if fixed else entry.recipe
    overrides = ({**entry.overrides, **entry.fix} if not entry.fix_recipe else dict(_W)) if fixed else entry.overrides
    data = (entry.fix_data or entry.data) if fixed else entry.data
    trainer, held_out = _trainer(recipe, data, seed, overrides)
    monitor = Monitor(every=entry.every, held_out=held_out)
    findings = watch(trainer, steps or entry.steps, monitor)
    return trainer, monitor, findings


def run_healthy(name: str, seed: int = 0, *, steps: int | None = None):
    """Train the healthy run ``name`` of ``HEALTHY``: (trainer, monitor, findings)."""
    recipe, data, default_steps, overrides = HEALTHY[check_choice("name", name, tuple(HEALTHY))]
    trainer, held_out = _trainer(recipe, data, check_int("seed", seed, min=0), overrides)
    monitor = Monitor(every=50 if default_steps > 1000 else 25, held_out=held_out)
    return trainer, monitor, watch(trainer, steps or default_steps, monitor)
