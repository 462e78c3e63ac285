"""Figures for the course: samples, the critic's surface, training curves, Lipschitz diagnostics.

Every function returns a :class:`matplotlib.figure.Figure` built with ``Figure()`` and an Agg
canvas, never ``pyplot``: no global state, so figures can be drawn from any thread and shown
as PNGs (``fig_to_png``) in an ``ipywidgets.Image``, a notebook output or a file. Functions that
draw one panel accept ``ax=`` to draw into an existing axes (then they return ``ax.figure``).

Colours (Okabe & Ito's colour-blind-safe palette) are the same in every notebook:
real data ``REAL_COLOR`` (blue), generated samples ``FAKE_COLOR`` (vermillion). Labels use
Unicode (x₁, ∇ₓD, W₁) rather than mathtext: the same symbols, drawn faster in a live view.

Longer than the ~300 lines of most modules, on purpose: it is a gallery of short, independent figure
functions sharing a few helpers (limits, colours, the event marks), and the dashboard's figure
(``plot_trainer``) is composed from them, so every figure of the course has this one home.
"""
from __future__ import annotations

import io
import math
import numbers
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from .checks import check_int, check_number, check_type
from .models import evaluating

__all__ = [
    "REAL_COLOR", "FAKE_COLOR", "LOSS_COLORS", "plot_samples", "plot_critic_surface",
    "critic_surface_data", "plot_curves", "plot_weight_histogram", "plot_grad_norms",
    "plot_image_grid", "plot_sigmas", "plot_class_accuracy", "plot_trainer", "fig_to_png", "new_figure",
]

REAL_COLOR = "#0072B2"  # Okabe-Ito blue: real data
FAKE_COLOR = "#D55E00"  # Okabe-Ito vermillion: generated samples
LOSS_COLORS = {"d_loss": "#009E73", "g_loss": "#CC79A7", "w_estimate": "#000000", "w1": "#E69F00"}
_REAL_CMAP = LinearSegmentedColormap.from_list("ganedu_real", ["#FFFFFF", REAL_COLOR])
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- helpers
def new_figure(figsize=(4.0, 4.0), dpi=100, layout="constrained") -> Figure:
    """A pyplot-free ``Figure`` with an Agg canvas attached (thread-safe)."""
    fig = Figure(figsize=figsize, dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _axes(ax, figsize=(4.0, 4.0)):
    if ax is None:
        fig = new_figure(figsize)
        return fig, fig.add_subplot(1, 1, 1)
    if not hasattr(ax, "figure") or not hasattr(ax, "plot"):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax.figure, ax


def _numpy(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float32).numpy()
    if isinstance(x, (np.ndarray, list, tuple)):
        return np.asarray(x, dtype=np.float32)
    raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")


def _points(x, name: str) -> np.ndarray | None:
    """``x`` as a float numpy array of shape (n, 2), or None."""
    if x is None:
        return None
    arr = _numpy(x, name)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2) (2D points), got {tuple(arr.shape)}")
    return arr


def _limits(lim, *point_sets) -> tuple[float, float]:
    """``lim`` as (lo, hi): a positive number L means [-L, L]; None fits the points."""
    if lim is None:
        finite = [p[np.isfinite(p).all(1)] for p in point_sets if p is not None and len(p)]
        finite = [p for p in finite if len(p)]
        if not finite:
            return -2.0, 2.0
        m = float(np.abs(np.concatenate(finite)).max())
        m = max(m * 1.15, 0.5)
        return -m, m
    if isinstance(lim, numbers.Real) and not isinstance(lim, bool):
        lim = float(check_number("lim", lim, gt=0, expected="a positive number or a (lo, hi) pair"))
        return -lim, lim
    if isinstance(lim, (tuple, list)) and len(lim) == 2 and float(lim[0]) < float(lim[1]):
        return float(lim[0]), float(lim[1])
    raise ValueError(f"lim must be a positive number or a (lo, hi) pair with lo < hi, got {lim!r}")


def _finite_floats(values: Sequence[Any]) -> np.ndarray:
    """A history list (floats, 0-d tensors or None) as a float array with NaN for missing."""
    out = np.full(len(values), np.nan, dtype=np.float64)
    for i, v in enumerate(values):
        if v is None:
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            pass
    return out


# ----------------------------------------------------------------------------- samples
def plot_samples(real, fake, *, title=None, ax=None, lim=None, density=False, legend=True, classes=None):
    """Real data (blue) and generated samples (vermillion, or one colour per class) in the plane.

    Args:
        real: Tensor or array ``(n, 2)`` of data points, or None.
        fake: Tensor or array ``(m, 2)`` of generator samples, or None.
        title: the point the figure makes (default: a neutral description).
        ax: draw into this Axes instead of a new Figure.
        lim: axis range: positive L for [-L, L]², a ``(lo, hi)`` pair, or None to fit the points.
        density: draw the real data as a shaded 2D histogram (its density) instead of points.
        legend: add a legend (say the colours in the title instead, to draw faster).
        classes: the class each fake was asked for (a conditional generator), ``(m,)``: one colour
            per class instead of vermillion.
    """
    real, fake = _points(real, "real"), _points(fake, "fake")
    if classes is not None and (fake is None or len(_numpy(classes, "classes")) != len(fake)):
        raise ValueError(f"classes must hold one class per fake sample, got {None if fake is None else len(fake)} "
                         f"samples and {len(_numpy(classes, 'classes'))} classes")
    if real is None and fake is None:
        raise ValueError("plot_samples needs real or fake points, got None for both")
    fig, ax = _axes(ax)
    lo, hi = _limits(lim, real, fake)
    if real is not None:
        if density:
            h, xe, ye = np.histogram2d(real[:, 0], real[:, 1], bins=80, range=[[lo, hi], [lo, hi]])
            ax.imshow(np.log1p(h.T), origin="lower", extent=(lo, hi, lo, hi), cmap=_REAL_CMAP,
                      aspect="auto", interpolation="bilinear")
            ax.plot([], [], "s", color=REAL_COLOR, label="real (density)")
        else:
            ax.scatter(real[:, 0], real[:, 1], s=4, c=REAL_COLOR, alpha=0.35, label="real",
                       linewidths=0)
    if fake is not None and classes is not None:
        k = _numpy(classes, "classes")
        ax.scatter(fake[:, 0], fake[:, 1], s=6, c=k, cmap="tab10" if k.max() < 10 else "hsv", alpha=0.8,
                   vmin=0, vmax=max(k.max(), 9 if k.max() < 10 else k.max() + 1), label="generated", linewidths=0)
    elif fake is not None:
        ax.scatter(fake[:, 0], fake[:, 1], s=6, c=FAKE_COLOR, alpha=0.8, label="generated",
                   linewidths=0)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(title or "Generated samples over the real data")
    if legend:
        ax.legend(loc="upper right", fontsize=7, markerscale=2, framealpha=0.7)
    return fig


def plot_class_accuracy(accuracy, *, target=None, title=None, ax=None):
    """Per-class accuracy of a conditional generator as bars: bar k is the fraction of :math:`G(z, k)`
    judged to be class k (within 3σ of mode k on the toy mixtures); ``target`` draws a dashed line."""
    acc = _numpy(accuracy, "accuracy")
    if acc.ndim != 1 or not len(acc):
        raise ValueError(f"accuracy must be a non-empty list of per-class fractions, got shape {acc.shape}")
    fig, ax = _axes(ax)
    ax.bar(np.arange(len(acc)), np.nan_to_num(acc), color=FAKE_COLOR, alpha=0.8)
    ax.set_xticks(np.arange(len(acc)))
    if target is not None:
        ax.axhline(float(target), color="k", ls="--", lw=1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("class asked for")
    ax.set_ylabel("fraction of its samples on its mode")
    ax.set_title(title or f"per-class accuracy (worst {np.nanmin(acc):.0%})")
    return fig


# ----------------------------------------------------------------------------- critic
def _critic_device(critic) -> torch.device:
    for p in critic.parameters():
        return p.device
    return torch.device("cpu")


def critic_surface_data(critic, *, lim=(-2.0, 2.0), resolution=100, gradient_field=True,
                        arrows=17, prob=False) -> dict:
    """Evaluate a 2D critic on a grid: values and (on a coarser grid) input gradients.

    The critic is put in ``eval()`` mode for the evaluation (so BatchNorm statistics and a
    spectral norm's power-iteration vector are not updated) and restored afterwards.

    Returns a dict of numpy arrays: ``xs, ys, values`` (``values[i, j]`` at ``(xs[j], ys[i])``;
    ``sigmoid`` of the logit when ``prob``), and ``gx, gy, gu, gv`` (points and ``∇_x D(x)``),
    empty when ``gradient_field`` is False.
    """
    check_type("critic", critic, torch.nn.Module, "a torch.nn.Module")
    check_int("resolution", resolution, min=2)
    lo, hi = _limits(lim)
    device = _critic_device(critic)
    with evaluating(critic):
        xs = np.linspace(lo, hi, resolution, dtype=np.float32)
        grid = torch.from_numpy(np.stack(np.meshgrid(xs, xs), -1).reshape(-1, 2)).to(device)
        with torch.no_grad():
            scores = critic(grid)  # (R*R,)
        if scores.dim() == 2 and scores.shape[1] == 1:
            scores = scores[:, 0]
        if scores.shape != (grid.shape[0],):
            raise ValueError(f"critic must return scores of shape (B,), got {tuple(scores.shape)}")
        if prob:
            scores = torch.sigmoid(scores)
        out = {"xs": xs, "ys": xs, "values": scores.float().cpu().numpy().reshape(resolution, -1)}
        empty = np.zeros(0, dtype=np.float32)
        out.update(gx=empty, gy=empty, gu=empty, gv=empty)
        if gradient_field:
            a = np.linspace(lo, hi, arrows + 2, dtype=np.float32)[1:-1]
            pts = np.stack(np.meshgrid(a, a), -1).reshape(-1, 2)
            x = torch.from_numpy(pts).to(device).requires_grad_(True)
            with torch.enable_grad():
                s = critic(x).reshape(-1)
                (grad,) = torch.autograd.grad(s.sum(), x)  # ∇_x D(x), per point
            g = grad.detach().float().cpu().numpy()
            out.update(gx=pts[:, 0], gy=pts[:, 1], gu=g[:, 0], gv=g[:, 1])
    return out


def _draw_surface(ax, data: dict, *, prob: bool, colorbar: bool = True):
    xs, ys, v = data["xs"], data["ys"], data["values"]
    finite = np.isfinite(v)
    if prob:
        levels = np.linspace(0.0, 1.0, 21)
        cs = ax.contourf(xs, ys, np.nan_to_num(v, nan=0.5), levels=levels, cmap="RdBu_r")
        ax.contour(xs, ys, np.nan_to_num(v, nan=0.5), levels=[0.5], colors="k", linewidths=0.8)
    else:
        lo, hi = (float(v[finite].min()), float(v[finite].max())) if finite.any() else (0.0, 1.0)
        if not hi > lo:
            hi = lo + 1e-6
        cs = ax.contourf(xs, ys, np.where(finite, v, lo), levels=np.linspace(lo, hi, 16),
                         cmap="RdBu_r")
    if colorbar:
        cb = ax.figure.colorbar(cs, ax=ax, fraction=0.046, pad=0.03)
        cb.set_label("D(x) = P(real)" if prob else "critic value D(x)", fontsize=8)
        cb.ax.tick_params(labelsize=7)
    if len(data["gu"]):
        u, w = data["gu"], data["gv"]
        norm = np.hypot(u, w)
        scale = float(np.nanmax(norm)) if np.isfinite(norm).any() and np.nanmax(norm) > 0 else 1.0
        cell = (xs[-1] - xs[0]) / (math.sqrt(len(u)) + 1)
        ax.quiver(data["gx"], data["gy"], u / scale * cell, w / scale * cell, angles="xy",
                  scale_units="xy", scale=1.0, color="#333333", width=0.004, alpha=0.8)
    return cs


def plot_critic_surface(critic, real=None, fake=None, *, lim=None, resolution=100,
                        gradient_field=True, prob=False, title=None, ax=None, arrows=17,
                        colorbar=True, legend=True):
    """The critic's value :math:`D(x)` over the plane, its gradient field, and samples on top.

    The generator is trained along :math:`\\nabla_x D(x)` at its samples, so the arrows
    (autograd on a coarser grid, scaled to the largest) show where the critic pushes the fake
    points. For a WGAN critic the value is unbounded (only differences matter); with
    ``prob=True`` a standard GAN's logit is shown as :math:`D(x) = \\sigma(\\text{logit})`, the
    probability of "real" (as in GAN Lab), with the 0.5 decision boundary drawn.

    Args:
        critic: ``nn.Module`` mapping ``(B, 2) -> (B,)``.
        real, fake: optional ``(n, 2)`` points drawn on top.
        lim: axis range (positive L for [-L, L]², a pair, or None to fit the points / [-2, 2]).
        resolution: grid points per axis for the filled contours.
        gradient_field: draw :math:`\\nabla_x D` arrows.
        prob: show :math:`\\sigma(D)` instead of the raw value.
        arrows: gradient arrows per axis.
        colorbar: add a colour bar with the values; legend: name the samples' colours.
    """
    real, fake = _points(real, "real"), _points(fake, "fake")
    lo, hi = _limits(lim, real, fake)
    data = critic_surface_data(critic, lim=(lo, hi), resolution=resolution,
                               gradient_field=gradient_field, arrows=arrows, prob=prob)
    fig, ax = _axes(ax, figsize=(4.8, 4.0))
    _draw_surface(ax, data, prob=prob, colorbar=colorbar)
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=4, c=REAL_COLOR, alpha=0.5, label="real", linewidths=0)
    if fake is not None:
        ax.scatter(fake[:, 0], fake[:, 1], s=6, c=FAKE_COLOR, alpha=0.9, label="generated",
                   linewidths=0)
    if legend and (real is not None or fake is not None):
        ax.legend(loc="upper right", fontsize=7, markerscale=2, framealpha=0.7)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(title or ("D(x): probability of real, arrows = ∇ₓD" if prob
                           else "Critic value; arrows = ∇ₓD (where fakes are pushed)"))
    return fig


# ----------------------------------------------------------------------------- curves
def _event_items(event) -> tuple[float, str, str] | None:
    """(step, what changed, label) of a ``history["events"]`` entry: a dict with ``step`` and the
    changes (flat, or under ``changes``), or a ``(step, changes)`` pair."""
    if isinstance(event, Mapping):
        step = event.get("step")
        if "name" in event and "value" in event:  # Trainer.set: one entry per changed setting
            changes = {event["name"]: event["value"]}
        else:
            changes = event.get("changes", {k: v for k, v in event.items() if k not in ("step", "time")})
    elif isinstance(event, (tuple, list)) and len(event) == 2:
        step, changes = event
    else:
        return None
    if step is None:
        return None
    if isinstance(changes, Mapping):
        label = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in changes.items())
        return float(step), ", ".join(map(str, changes)), label
    return float(step), str(changes), str(changes)


def _event_marks(events, steps) -> list[tuple[float, str]]:
    """(step, label) of the dashed lines to draw for ``events`` on a plot of ``steps``.

    A burst of changes to one setting, each within 2% of the steps shown after the one before
    (a slider moved key press by key press), is one mark at its last step with its last value
    and a count, ``gp_lambda=3 (×20)``; marks at the same step share one line and one label."""
    items = sorted(filter(None, map(_event_items, events)), key=lambda item: item[0])
    xs = [*steps[np.isfinite(steps)], *(item[0] for item in items)]
    span = 0.02 * (max(xs) - min(xs)) if xs else 0.0
    bursts = []  # [step, what, label, count], in the order of the events
    for step, what, label in items:
        last = next((b for b in reversed(bursts) if b[1] == what), None)
        if last is not None and step - last[0] <= span:
            last[0], last[2], last[3] = step, label, last[3] + 1
        else:
            bursts.append([step, what, label, 1])
    marks: dict[float, list[str]] = {}
    for step, _, label, count in bursts:
        marks.setdefault(step, []).append(label if count == 1 else f"{label} (×{count})")
    return [(step, ", ".join(labels)) for step, labels in sorted(marks.items())]


def plot_curves(history: Mapping, *, exact_w1=None, ax=None):
    """Critic and generator losses and the critic's W estimate against generator steps.

    Each ``history["events"]`` entry (a setting changed mid-run by ``Trainer.set``) is a dashed
    vertical line labelled with the new value, so cause and effect are visible; a burst of
    changes to one setting within 2% of the steps shown is one line (``gp_lambda=3 (×20)``).

    Args:
        history: ``Trainer.history``: lists ``step``, ``d_loss``, ``g_loss``, ``w_estimate`` (any may
            be missing) and ``events``.
        exact_w1: reference :math:`W_1` between generated and real samples: a number (horizontal
            line), or ``(steps, values)`` / a dict with ``step`` and ``w1`` lists (a curve).
    """
    check_type("history", history, Mapping, "a dict of lists (Trainer.history)")
    fig, ax = _axes(ax, figsize=(5.5, 3.5))
    steps = _finite_floats(history.get("step", []))
    drawn = 0
    for key, label in (("d_loss", "critic loss"), ("g_loss", "generator loss"),
                       ("w_estimate", "W estimate (critic)")):
        values = _finite_floats(history.get(key, []))
        if not len(values) or not np.isfinite(values).any():
            continue
        x = steps if len(steps) == len(values) else np.arange(1, len(values) + 1, dtype=float)
        ax.plot(x, values, color=LOSS_COLORS[key], lw=1.2 if key == "w_estimate" else 0.9,
                label=label, alpha=0.9)
        drawn += 1
    if exact_w1 is not None:
        if isinstance(exact_w1, (int, float)) and not isinstance(exact_w1, bool):
            ax.axhline(float(exact_w1), color=LOSS_COLORS["w1"], ls=":", lw=1.5, label="exact W₁")
        else:
            if isinstance(exact_w1, Mapping):
                xs, ys = exact_w1.get("step", []), exact_w1.get("w1", [])
            elif isinstance(exact_w1, (tuple, list)) and len(exact_w1) == 2:
                xs, ys = exact_w1
            else:
                raise TypeError("exact_w1 must be a number, a (steps, values) pair or a dict "
                                f"with 'step' and 'w1', got {type(exact_w1).__name__}")
            xs, ys = _finite_floats(list(xs)), _finite_floats(list(ys))
            if len(xs) != len(ys):
                raise ValueError(f"exact_w1 steps and values differ in length: {len(xs)} vs {len(ys)}")
            if len(xs):
                ax.plot(xs, ys, "o-", color=LOSS_COLORS["w1"], ms=3, lw=1.2, label="exact W₁")
    for step, label in _event_marks(history.get("events", []) or [], steps):
        ax.axvline(step, color="#555555", ls="--", lw=0.8)
        ax.text(step, 0.98, label, transform=ax.get_xaxis_transform(), rotation=90, va="top",
                ha="right", fontsize=7, color="#333333", zorder=6,  # above the legend
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss / distance")
    ax.set_title("Losses and W estimate; dashed lines = settings changed")
    if drawn or exact_w1 is not None:
        ax.legend(loc="upper right", fontsize=7, framealpha=0.7)  # "best" is slow on long runs
    ax.grid(alpha=0.3)
    return fig


# ----------------------------------------------------------------------------- Lipschitz
def plot_weight_histogram(module, *, clip=None, ax=None):
    """Histogram of all of a module's parameters; with weight clipping (WGAN, Alg. 1 line 7)
    they pile up at :math:`\\pm c`, the capacity loss WGAN-GP (Sec. 3) points out."""
    check_type("module", module, torch.nn.Module, "a torch.nn.Module")
    if clip is not None:
        check_number("clip", clip, gt=0, expected="a positive number or None")
    params = [p.detach().reshape(-1).float().cpu() for p in module.parameters()]
    if not params:
        raise ValueError("module has no parameters to plot")
    w = torch.cat(params).numpy()
    fig, ax = _axes(ax, figsize=(4.5, 3.2))
    ax.hist(w, bins=60, color="#56B4E9", histtype="stepfilled")  # one polygon: fast to draw
    if clip is not None:
        for s in (-clip, clip):
            ax.axvline(s, color="k", ls="--", lw=1)
        at_bound = float(np.mean(np.abs(w) >= 0.999 * clip))
        ax.set_title(f"Weights: {at_bound:.0%} sit at the clip bound ±c = ±{clip:g}")
    else:
        ax.set_title("Critic weights (no clipping)")
    ax.set_xlabel("weight value")
    ax.set_ylabel("count")
    return fig


def plot_grad_norms(norms, *, ax=None, legend=True):
    """Histogram of :math:`\\|\\nabla_{\\hat x} D(\\hat x)\\|_2` per sample; the gradient penalty
    (WGAN-GP, Eq. 3) pulls it towards the line at 1."""
    n = _numpy(norms, "norms").reshape(-1)
    if n.size == 0:
        raise ValueError("norms is empty; pass per-sample gradient norms, shape (B,)")
    n = n[np.isfinite(n)]
    fig, ax = _axes(ax, figsize=(4.5, 3.2))
    ax.hist(n, bins=40, color="#009E73", histtype="stepfilled")
    ax.axvline(1.0, color="k", ls="--", lw=1, label="target norm 1")
    mean = float(n.mean()) if n.size else float("nan")
    ax.set_title(f"Gradient norms at x̂: mean {mean:.2f} (GP pulls to 1)")
    ax.set_xlabel("‖∇D(x̂)‖₂ per sample")
    ax.set_ylabel("count")
    if legend:
        ax.legend(loc="upper right", fontsize=7)
    return fig


def plot_sigmas(sigmas: Mapping[str, float], *, ax=None, legend=True):
    """Largest singular value σ(W) per layer; spectral normalisation (Miyato et al. 2018,
    Eq. 8) divides each W by σ(W), so every bar sits at the line at 1."""
    check_type("sigmas", sigmas, Mapping, "a non-empty dict layer name -> sigma")
    if not sigmas:
        raise ValueError(f"sigmas must be a non-empty dict layer name -> sigma, got {sigmas!r}")
    names = list(sigmas)
    values = _finite_floats([sigmas[k] for k in names])
    fig, ax = _axes(ax, figsize=(4.5, 3.2))
    ax.bar(range(len(names)), values, color="#CC79A7")
    ax.axhline(1.0, color="k", ls="--", lw=1, label="σ = 1")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([n.replace(".weight", "") for n in names], rotation=30, ha="right", fontsize=7)
    ax.set_xlabel("layer")
    ax.set_ylabel("spectral norm σ(W)")
    ax.set_title(f"Per-layer σ: max {np.nanmax(values):.2f} (SN keeps each ≈ 1)")
    if legend:
        ax.legend(loc="upper right", fontsize=7)
    return fig


# ----------------------------------------------------------------------------- images
def plot_image_grid(images, nrow=8, title=None, *, ax=None):
    """A grid of images in [-1, 1] (the generator's tanh range), shape ``(B, C, H, W)``, C = 1 or 3."""
    x = _numpy(images, "images")
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (B, C, H, W) with C = 1 or 3, got {tuple(x.shape)}")
    check_int("nrow", nrow, min=1)
    b, c, h, w = x.shape
    cols = min(nrow, b)
    rows = math.ceil(b / cols)
    pad = 1
    grid = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.float32)
    x = (np.clip(x, -1.0, 1.0) + 1.0) / 2.0  # [-1, 1] -> [0, 1]
    for i in range(b):
        r, k = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[top:top + h, left:left + w] = x[i].transpose(1, 2, 0)
    fig, ax = _axes(ax, figsize=(cols * 0.6 + 0.4, rows * 0.6 + 0.6))
    if c == 1:
        ax.imshow(grid[:, :, 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title or f"{b} generated images")
    return fig


def fig_to_png(fig, *, dpi=None, compress_level=1) -> bytes:
    """Render a Figure to PNG bytes (for an ``ipywidgets.Image``, a file or a slide).

    ``compress_level`` 1 (of zlib's 0-9) encodes several times faster than the default 6 for a
    file a few percent larger: what a live dashboard redrawing twice a second wants."""
    check_type("fig", fig, Figure, "a matplotlib Figure")
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, bbox_inches=None,
                pil_kwargs={"compress_level": compress_level})
    return buf.getvalue()


# ----------------------------------------------------------------------------- a trainer at a glance
def _diagnostic_kind(recipe) -> str:
    """Which constraint the diagnostic panel shows: ``"clip"``, ``"sigmas"`` or ``"grad_norms"``."""
    if recipe.clip is not None and recipe.gp_lambda == 0:
        return "clip"
    return "sigmas" if recipe.spectral_norm and recipe.gp_lambda == 0 else "grad_norms"


def _wipe(ax):
    """Remove what was drawn on ``ax`` and keep the Axes with its ticks: a live view redraws
    into the same Axes, since building new ones takes most of a redraw's time."""
    for artist in [*ax.lines, *ax.collections, *ax.images, *ax.texts, *ax.patches]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.containers.clear()
    ax.ignore_existing_data_limits = True  # autoscaled panels fit the new data only
    ax.set_autoscale_on(True)


def _diagnostic(ax, trainer, real, fake, critic=None):
    """The panel that shows the recipe's Lipschitz constraint at work (``critic``: what the gradient
    norms are taken of, default the trainer's; a conditional run's is D(., y) for the fakes' y)."""
    recipe = trainer.recipe
    if critic is None or _diagnostic_kind(recipe) != "grad_norms":
        critic = trainer.critic
    kind = _diagnostic_kind(recipe)
    if kind == "clip":
        return plot_weight_histogram(critic, clip=recipe.clip, ax=ax)
    if kind == "sigmas":
        from .lipschitz import layer_sigmas
        return plot_sigmas(layer_sigmas(critic), ax=ax, legend=False)
    from .lipschitz import interpolate_gradient_norms
    device = _critic_device(critic)
    with evaluating(critic):
        norms = interpolate_gradient_norms(critic, real.to(device), fake.to(device))  # one ε per sample
    return plot_grad_norms(norms, ax=ax, legend=False)


def plot_trainer(trainer, *, real=None, n=256, lim=None, exact_w1=None, resolution=50,
                 figsize=(10.0, 7.5), dpi=72, title=None, fig=None, label=None):
    """Everything the dashboard shows, as one Figure: a trainer at a glance.

    Toy 2D data (2 x 2): generated samples over the data density; the critic's surface with
    its gradient field; losses and W estimate (with ``exact_w1`` and the setting changes);
    the constraint's diagnostic (gradient norms at :math:`\\hat x` for GP and unconstrained
    critics, the weight histogram for clipping, per-layer σ for spectral norm).
    Images (1 x 3): a grid of samples, the curves, the diagnostic.
    A conditional run (``ganedu.conditional_train.ConditionalTrainer``): ``label=None`` draws
    :math:`G(z, y)` for every class in turn, coloured by class, and the per-class accuracy
    instead of the surface; ``label=k`` draws :math:`G(z, k)` and the surface :math:`D(x, k)`.

    Args:
        trainer: a :class:`ganedu.train.Trainer` (its networks are only evaluated, never updated).
        real: real samples to draw (default ``trainer.real_batch(2000)``).
        n: generated samples drawn.
        lim: the plane's range for toy data (default: fits the real data).
        exact_w1: passed to :func:`plot_curves`.
        fig: a Figure from an earlier call, drawn into again (a live view reuses its canvas, and
            its Axes when the panels are the same).
        label: a conditional run's class to show (None: every class).
    """
    part = _conditional_part(trainer, n, label) if hasattr(trainer, "n_classes") else None
    fake = trainer.sample(n) if part is None else part["fake"]
    real = trainer.real_batch(2000) if real is None else real
    toy = fake.dim() == 2 and fake.shape[1] == 2
    size = figsize if toy else (figsize[0] * 1.3, figsize[1] / 2)
    if fig is None or tuple(fig.get_size_inches()) != tuple(size) or fig.dpi != dpi:
        fig = new_figure(size, dpi, layout=None)
    layout = (toy, _diagnostic_kind(trainer.recipe), part is not None and part["accuracy"] is not None)
    if getattr(fig, "_ganedu_layout", None) == layout:  # the same panels: keep the Axes, wipe them
        axes = list(fig.axes)
        for ax in axes:
            _wipe(ax)
    else:
        fig.clear()
        axes = list(np.ravel(fig.subplots(2, 2) if toy else fig.subplots(1, 3)))
        fig._ganedu_layout = layout
    if toy:
        _toy_panels(axes, trainer, real, fake, part, lim, resolution)
    elif part is not None:  # four rows of the classes in turn (column k asks for class k), or of class k
        plot_image_grid(fake[:4 * trainer.n_classes], nrow=trainer.n_classes, ax=axes[0],
                        title="G(z, y): column k asks for class k" if label is None else f"G(z, {label}): class {label}")
    else:
        plot_image_grid(fake[:32], nrow=8, ax=axes[0], title="generated images")
    plot_curves(trainer.history, exact_w1=exact_w1, ax=axes[-2])
    axes[-2].set_title("Losses, W estimate; dashed = setting changed", fontsize=10)
    pairs = real[:n] if part is None else part["real"]
    _diagnostic(axes[-1], trainer, pairs, fake[: len(pairs)], None if part is None else part["critic"])
    for ax in axes:  # few ticks, few legends: text is most of the drawing time
        ax.title.set_fontsize(10)
        ax.locator_params(nbins=4)
    fig.suptitle(title or f"{trainer.recipe.name}: step {trainer.steps}", fontsize=11)
    fig.subplots_adjust(left=0.07, right=0.96, bottom=0.08 if toy else 0.15, top=0.9 if toy else 0.84,
                        wspace=0.35, hspace=0.35)
    return fig


def _conditional_part(trainer, n, label):
    """A conditional run's picture (``class_picture``), its title, and for every class of a toy
    mixture the per-class accuracy (the panel that replaces the critic's surface)."""
    from .conditional_train import class_picture, toy_class_accuracy  # (it imports the trainer)
    part = class_picture(trainer, n, label)
    part["title"] = (f"G(z, y): {n} samples, every class in turn (colour = class)" if label is None
                     else f"G(z, {label}): {n} samples asked for class {label}")
    mixture = isinstance(trainer.data, str) and label is None
    part["accuracy"] = toy_class_accuracy(part["fake"], part["y"], trainer.data) if mixture else None
    return part


def _toy_panels(axes, trainer, real, fake, part, lim, resolution):
    """The two toy panels: samples over the data; the critic's surface (or a conditional run's
    per-class accuracy, for every class)."""
    lo, hi = _limits(lim, _points(real, "real"))
    n = len(fake)
    every_class = part is not None and part["surface"] is None
    plot_samples(real, fake, ax=axes[0], lim=(lo, hi), density=True, legend=False,
                 classes=part["y"] if every_class else None,
                 title=f"{n} generated (orange) over the data (blue)" if part is None else part["title"])
    if every_class:  # (a conditional toy run is on a mixture: its accuracy is known)
        plot_class_accuracy(part["accuracy"], target=0.95, ax=axes[1],
                            title=f"within 3σ of the mode asked for (worst {min(part['accuracy']):.0%})")
        return
    critic = trainer.critic if part is None else part["surface"]
    plot_critic_surface(critic, real[:n] if part is None else part["real"], fake, ax=axes[1], lim=(lo, hi),
                        resolution=resolution, arrows=13, colorbar=False, legend=False,
                        prob=trainer.recipe.loss in ("minimax", "nonsaturating"))
    axes[1].set_title("Critic and ∇ₓD (arrows: where fakes move)" if part is None
                      else f"Critic D(x, {part['surface'].k}) and its ∇ₓ")
