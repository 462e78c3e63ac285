r"""Check for notebook 07 (the showdown): beat the default WGAN-GP on 25gaussians at the same budget.

``check_beat_default(choose_recipe, steps=..., seed=0)``: ``choose_recipe()`` returns a
:class:`~ganedu.recipes.Recipe` (or a recipe's name). The check trains it and the default
(:func:`default_recipe`: the WGAN-GP paper's recipe at the showdown's MLP width) on 25gaussians
with the same seed and the same number of generator steps, through the showdown's own
``run_one``, and scores both on the same latent codes by the exact Wasserstein-1 distance to the
same sample of the data (``N_W1`` points each; lower is better):

.. math:: W_1(\hat P_g, \hat P_r) = \min_{\sigma \in S_n} \frac1n \sum_i \lVert \tilde x_i - x_{\sigma(i)} \rVert_2

One number that sees both failures of the showdown's table: a missed mode (its mass must travel
from elsewhere) and samples between the modes (low HQ). Modes and HQ are printed beside it. The
choice passes when its :math:`W_1` is at least ``MARGIN`` (10%) below the default's *at no more
compute per step*: ``n_critic``, ``batch_size``, ``width`` and ``depth`` no larger than the
default's (those buy compute, not a better method).
"""
from __future__ import annotations

import dataclasses

from ...checks import check_int
from ...recipes import Recipe, get_recipe
from .core import report, run_student

__all__ = ["check_beat_default", "default_recipe", "DATA", "MARGIN", "COST_FIELDS", "N_W1"]

DATA = "25gaussians"
MARGIN = 0.10
MIN_STEPS = 50
N_W1 = 500
COST_FIELDS = ("n_critic", "batch_size", "width", "depth")
N_MODES = 25
_default_runs: dict = {}   # (steps, seed, device) -> row: re-running the check retrains only yours


def default_recipe() -> Recipe:
    """The notebook's default WGAN-GP: the paper's settings (Gulrajani et al. 2017, Alg. 1), MLP width 128."""
    return get_recipe("wgan-gp", width=128)


def _describe(row: dict) -> str:
    return f"W1 to the data {row['w1']:.4f} | {row['modes']}/{N_MODES} modes, {row['hq']:.1%} HQ"


def _as_recipe(choice):
    """(Recipe, None) or (None, what is wrong)."""
    if isinstance(choice, str):
        try:
            return get_recipe(choice), None
        except ValueError as exc:
            return None, str(exc)
    if not isinstance(choice, Recipe):
        return None, (f"choose_recipe() should return a Recipe (from ganedu.train.get_recipe or "
                      f"RECIPES[...].replace(...)) or a recipe's name, got {type(choice).__name__}.")
    return choice, None


def _same_settings(a: Recipe, b: Recipe) -> bool:
    return dataclasses.replace(a, name=b.name) == b


def check_beat_default(choose_recipe, *, steps: int = 1000, seed: int = 0, device="cpu") -> bool:
    """Train your recipe and the default on 25gaussians (same seed, same generator steps); compare.

    Args:
        choose_recipe: a function of no arguments returning your Recipe (or a recipe's name).
        steps: generator steps for both runs (the notebook's budget), at least ``MIN_STEPS``.
        seed: seed of both runs (networks, data stream, noise).
    """
    from ..showdown import run_one

    name = "beat_default"
    check_int("steps", steps, min=MIN_STEPS, expected=f"an integer >= {MIN_STEPS} (a budget long enough to compare)")
    try:
        choice = run_student(name, choose_recipe)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - report the student's error, never a traceback
        return report(name, False, f"choose_recipe() raised {type(exc).__name__}: {exc}")
    recipe, problem = _as_recipe(choice)
    if problem:
        return report(name, False, problem)
    default = default_recipe()
    if _same_settings(recipe, default):
        return report(name, False, "these are the default's settings (only the name differs, if anything): "
                                   "change at least one hyperparameter, the loss or the constraint.")
    for f in COST_FIELDS:
        if getattr(recipe, f) > getattr(default, f):
            return report(name, False, (
                f"{f}={getattr(recipe, f)} is larger than the default's {f}={getattr(default, f)}: that buys "
                f"more computation per generator step, not a better method. Keep {f} <= {getattr(default, f)} "
                "and win with the loss, the constraint or the optimiser's settings."))
    if recipe.model == "dcgan":
        return report(name, False, "25gaussians holds 2D points: use model='mlp' (or 'auto'), not 'dcgan'.")
    key = (int(steps), seed, str(device))
    try:
        if key not in _default_runs:
            _default_runs[key] = run_one(default, DATA, steps=int(steps), seed=seed, n_w1=N_W1, device=device)[0]
        mine = run_one(recipe, DATA, steps=int(steps), seed=seed, n_w1=N_W1, device=device)[0]
    except (ValueError, TypeError) as exc:
        return report(name, False, f"your recipe could not be trained on {DATA}: {exc}")
    base = _default_runs[key]
    print(f"default {base['recipe']}: {_describe(base)}")
    print(f"yours   {mine['recipe']}: {_describe(mine)}")
    if mine["note"]:
        return report(name, False, (
            f"your run {mine['note']}: a loss became NaN or infinite. Lower the learning rates, or "
            "constrain the critic (gp_lambda, clip or spectral_norm) if its loss is Wasserstein or hinge."))
    if mine["w1"] <= (1 - MARGIN) * base["w1"]:
        return report(name, True, (
            f"your recipe beats the default WGAN-GP at {steps} steps: W1 {mine['w1']:.4f} vs "
            f"{base['w1']:.4f} ({1 - mine['w1'] / base['w1']:.0%} lower), at no more compute per step."))
    return report(name, False, (
        f"W1 {mine['w1']:.4f} is not {MARGIN:.0%} below the default's {base['w1']:.4f} yet. Which failure "
        "holds you back: missed modes (collapse) or samples between the modes (low HQ)? Look at the "
        "showdown's table for what covers the grid within this budget, and remember the paper tuned its "
        "settings for 100,000+ steps on images, not a few hundred on 2D points."))
