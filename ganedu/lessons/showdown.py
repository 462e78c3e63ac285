r"""Which GAN should I use? Every recipe on the same data, the same step budget, the same metrics.

A *showdown* trains each recipe of a plan on each of its datasets for the same number of
generator steps (each one after ``n_critic`` critic steps), for a few seeds, and scores the final
generator with ``ganedu.metrics``:

- 2D mixtures (8gaussians, 25gaussians, ring): modes covered and the high-quality (HQ) fraction of
  ``n_eval = 2500`` samples (VEEGAN, Srivastava et al. 2017, Sec. 5; PacGAN, Lin et al. 2018, Sec. 5);
- every toy set: the exact :math:`W_1` between ``n_w1`` generated points and a fixed sample of the
  data (``divergences.w1_exact``), and the critic's own estimate
  :math:`\hat W = \frac1n\sum_i C(x_i) - \frac1n\sum_j C(\tilde x_j)` for the Wasserstein and hinge
  critics (WGAN paper, Eq. 2: a lower bound on :math:`W_1` when :math:`C` is 1-Lipschitz);
- the critic's gradient norm :math:`\|\nabla_x C(\hat x)\|` at the interpolates, averaged over the
  last tenth of training (what the Lipschitz constraint does: ≈ 1 with a gradient penalty);
- digits: class coverage and the Fréchet distance on digits-classifier features (FID's recipe,
  Heusel et al. 2017, Eq. 6, with a small classifier in place of Inception);
- cost: wall seconds per 1,000 generator steps.

``reference_row(data)`` scores an independent draw of the data itself: the best value each metric
can show at this sample size (a perfect generator).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import torch

from .. import literature, torch_threads
from ..checks import check_choice, check_int
from ..data import TOY_DATASETS, load_digits, sample_toy
from ..metrics import score_samples
from ..recipes import RECIPES, Recipe, get_recipe

__all__ = ["COLUMNS", "EVAL_SEED", "DATA_SEED", "LITERATURE", "Showdown", "label", "reference_data",
           "score", "run_one", "reference_row", "run_showdown", "summarize", "format_table",
           "literature_table", "plot_showdown", "number", "NOT_RUN"]

EVAL_SEED = 2024    # seed of the latent codes every generator is scored on
DATA_SEED = 4202    # seed of the fixed data sample W1 is measured against
N_EVAL, N_W1, N_IMAGES = 2500, 1000, 1000

#: (key, header, format) of the table's columns; a missing value prints as "-".
COLUMNS = [
    ("recipe", "recipe", "{}"), ("data", "data", "{}"), ("seed", "seed", "{}"),
    ("steps", "steps", "{}"), ("modes", "modes", "{}"), ("hq", "HQ", "{:.1%}"),
    ("w1", "W1", "{:.3f}"), ("w_critic", "critic W", "{:.3g}"), ("grad_norm", "|grad C|", "{:.3g}"),
    ("classes", "classes", "{}"), ("fd", "Frechet", "{:.1f}"), ("sec_per_1k", "s/1k steps", "{:.1f}"),
    ("note", "note", "{}"),
]
METRICS = ("modes", "hq", "w1", "w_critic", "grad_norm", "classes", "fd")

LITERATURE = literature.LITERATURE  # quoted from the papers: ganedu/literature.py


def label(recipe: Recipe | str) -> str:
    """The recipe's name, plus the fields that differ from ``RECIPES[name]``: ``wgan-gp[width=128]``."""
    r = get_recipe(recipe)
    base = RECIPES.get(r.name)
    if base is None:
        return r.name
    diff = [f"{f.name}={getattr(r, f.name)}" for f in dataclasses.fields(r)
            if f.name != "note" and getattr(r, f.name) != getattr(base, f.name)]
    return r.name + (f"[{', '.join(diff)}]" if diff else "")


def reference_data(data: str, n: int = N_W1, *, image_size: int = 8) -> torch.Tensor:
    """The fixed real sample every run is compared with: ``n`` toy points (seed ``DATA_SEED``) or all digits."""
    check_choice("data", data, TOY_DATASETS + ("digits",))
    if data == "digits":
        return load_digits(image_size)[0]
    return sample_toy(data, n, generator=torch.Generator().manual_seed(DATA_SEED))


#: the table's name for a key of ``metrics.score_samples``, where the two differ
_COLUMN = {"w_estimate": "w_critic", "frechet": "fd"}


def score(samples: torch.Tensor, data: str, *, n_w1: int = N_W1, critic=None, real=None) -> dict:
    """The table's metrics of ``samples`` for ``data`` (``None`` where a metric does not apply).

    ``metrics.score_samples`` against ``real``, by default ``reference_data(data, n_w1)`` (all the
    digits for images), with its keys named as the table's columns.

    Args:
        samples: ``(n, 2)`` toy points or ``(n, 1, s, s)`` images in [-1, 1].
        data: the dataset's name; n_w1: points used for the exact W1 (O(n_w1^3)).
        critic: if given (Wasserstein / hinge critics), its estimate of W1 on the same points.
        real: the real sample to compare with, instead of ``reference_data``.
    """
    if real is None:
        real = reference_data(data, n_w1, image_size=samples.shape[-1])
    scores = score_samples(samples, data, real=real, n_w1=n_w1, critic=critic)
    out = dict.fromkeys(METRICS)
    out.update((_COLUMN.get(k, k), v) for k, v in scores.items() if _COLUMN.get(k, k) in METRICS)
    return out


def run_one(recipe, data: str, *, steps: int, seed: int = 0, image_size: int = 8, n_eval: int | None = None,
            n_w1: int = N_W1, device="auto", threads: int | None = 1):
    """Train ``recipe`` on ``data`` for ``steps`` generator steps and score it.

    ``threads``: torch's intra-op threads while training and scoring. The default, 1, is the
    fastest for these small networks on a CPU (and on a shared CPU extra threads crawl);
    ``None`` leaves torch's setting.

    Returns ``(row, samples, trainer)``: the table row (a dict with the ``COLUMNS`` keys), the
    ``n_eval`` samples it was scored on (CPU), and the trainer. A run that diverges is rolled back
    to its last good state by the Trainer, scored there, and noted.
    """
    from ..train import Trainer, TrainingDiverged

    steps = check_int("steps", steps, min=1)
    recipe = get_recipe(recipe)
    with torch_threads(threads):
        trainer = Trainer.from_recipe(recipe, data=data, seed=seed, device=device, image_size=image_size)
        note, start = "", time.perf_counter()
        try:
            trainer.train(steps, progress=False)
        except TrainingDiverged:
            note = f"diverged, scored at step {trainer.steps}"
        seconds = time.perf_counter() - start
        n_eval = n_eval or (N_EVAL if data in TOY_DATASETS else N_IMAGES)
        samples = trainer.sample(n_eval, seed=EVAL_SEED)
        critic = trainer.critic if recipe.loss in ("wasserstein", "hinge") and data in TOY_DATASETS else None
        scores = score(samples, data, n_w1=n_w1, critic=critic)
    grads = trainer.history["grad_norm"]
    tail = grads[-max(1, len(grads) // 10):]
    row = dict(recipe=label(recipe), data=data, seed=seed, steps=trainer.steps, **scores,
               sec_per_1k=1000.0 * seconds / steps, note=note)
    row["grad_norm"] = sum(tail) / len(tail) if tail and data in TOY_DATASETS else None
    return row, samples, trainer


def reference_row(data: str, *, n_eval: int | None = None, n_w1: int = N_W1, image_size: int = 8) -> dict:
    """The metrics of an independent draw of the data itself (what a perfect generator scores)."""
    if data in TOY_DATASETS:
        samples = sample_toy(data, n_eval or N_EVAL, generator=torch.Generator().manual_seed(DATA_SEED + 1))
        scores = score(samples, data, n_w1=n_w1)
    else:  # one half of the digits against the other half (disjoint)
        images = load_digits(image_size)[0]
        idx = torch.randperm(len(images), generator=torch.Generator().manual_seed(DATA_SEED + 1))
        half_a, half_b = images[idx[: len(images) // 2]], images[idx[len(images) // 2:]]
        scores = score(half_a, data, n_w1=n_w1, real=half_b)
    return dict(recipe="(the data itself)", data=data, seed=None, steps=None, **scores,
                sec_per_1k=None, note="reference")


@dataclass
class Showdown:
    """What ``run_showdown`` returns: the rows, the scored samples of each run, the total time."""

    rows: list = field(default_factory=list)
    samples: dict = field(default_factory=dict)   # (recipe label, data, seed) -> Tensor
    seconds: float = 0.0

    def rows_for(self, data=None, recipe=None) -> list:
        return [r for r in self.rows if (data is None or r["data"] == data)
                and (recipe is None or r["recipe"] == recipe)]


def _per_data(value, data, name):
    """``value[data]`` when ``value`` is a dict (one per dataset), else ``value`` itself."""
    if isinstance(value, dict):
        if data not in value:
            raise ValueError(f"{name} has no entry for {data!r}; give one per dataset of the plan, got {sorted(value)}")
        return value[data]
    return value


def _check_seeds(seeds):
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must be a non-empty list of ints >= 0, got []")
    return [check_int(f"seeds[{i}]", s, min=0) for i, s in enumerate(seeds)]


def run_showdown(plan: dict, *, steps, seeds=(0,), image_size: int = 8, n_eval: int | None = None,
                 n_w1: int = N_W1, device="auto", threads: int | None = 1, progress: bool = True) -> Showdown:
    """Run every recipe of ``plan`` on its dataset for every seed, with the same step budget.

    Args:
        plan: ``{data: [recipe names or Recipes]}``, e.g. ``{"25gaussians": ["gan-toy", "wgan-gp-toy"]}``.
        steps: generator steps, one number for all or ``{data: steps}`` (the same for every recipe
            on a dataset: that is the point).
        seeds: seeds of each run (networks, data stream, noise): a list, or ``{data: list}``.
        image_size, n_eval, n_w1, device, threads: see :func:`run_one`.
        progress: print one line per finished run.
    """
    if not isinstance(plan, dict) or not plan:
        raise TypeError(f"plan must be a non-empty dict {{data: [recipes]}}, got {plan!r}")
    seeds = {data: _check_seeds(_per_data(seeds, data, "seeds")) for data in plan}
    for data in plan:
        _per_data(steps, data, "steps")
    jobs = [(get_recipe(r), data, s) for data, recipes in plan.items() for r in recipes for s in seeds[data]]
    result, start = Showdown(), time.perf_counter()
    for i, (recipe, data, seed) in enumerate(jobs, 1):
        row, samples, _ = run_one(recipe, data, steps=_per_data(steps, data, "steps"), seed=seed,
                                  image_size=image_size, n_eval=n_eval, n_w1=n_w1, device=device,
                                  threads=threads)
        result.rows.append(row)
        result.samples[(row["recipe"], data, seed)] = samples
        if progress:
            print(f"[{i}/{len(jobs)}] {row['recipe']} on {data}, seed {seed}: "
                  f"{row['sec_per_1k'] * row['steps'] / 1000:.1f} s", flush=True)
    result.seconds = time.perf_counter() - start
    return result


def summarize(rows: list) -> list:
    """One row per (recipe, data): the mean over seeds of every metric (``_sd``: the spread, std)."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["recipe"], r["data"]), []).append(r)
    out = []
    for (recipe, data), rs in groups.items():
        row = dict(recipe=recipe, data=data, seed=f"{len(rs)} seeds" if len(rs) > 1 else rs[0]["seed"],
                   steps=rs[0]["steps"], note="; ".join(sorted({r["note"] for r in rs if r["note"]})))
        for key in METRICS + ("sec_per_1k",):
            values = [float(r[key]) for r in rs if r.get(key) is not None]
            row[key] = sum(values) / len(values) if values else None
            row[key + "_sd"] = (math.sqrt(sum((v - row[key]) ** 2 for v in values) / (len(values) - 1))
                                if len(values) > 1 else None)
        out.append(row)
    return out


def _cell(value, fmt):
    if value is None or value == "":
        return "-"
    if isinstance(value, float) and fmt == "{}":
        return f"{value:.1f}"
    return fmt.format(value)


#: what prose shows for a number the showdown has not measured (a recipe outside this run's plan)
NOT_RUN = "not run here"


def number(value, fmt: str = "{:.3g}") -> str:
    """``value`` formatted for prose, or ``NOT_RUN`` where there is none: ``None`` or NaN (the mean
    of no runs, a ratio with one). Never prints "nan" where a student expects a number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_RUN
    return fmt.format(value)


def format_table(rows: list, columns=None, *, title: str | None = None) -> str:
    """A plain-text table (no pandas) of ``rows``; ``columns`` defaults to those any row fills."""
    columns = columns or [c for c in COLUMNS if any(r.get(c[0]) not in (None, "") for r in rows)]
    cells = [[header for _, header, _ in columns]]
    cells += [[_cell(r.get(key), fmt) for key, _, fmt in columns] for r in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(columns))]
    lines = ["  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(([title] if title else []) + lines)


def literature_table(ours: list, source: str = "ours (measured)") -> str:
    """The quoted VEEGAN / PacGAN numbers, and ``ours`` (summary rows on 8gaussians / 25gaussians) below
    them, labelled ``source``; rows with ``modes_se`` / ``hq_se`` (means over trials) show mean ± standard error."""
    rows = [dict(r, source=r["source"] + " (quoted)") for r in LITERATURE]
    by_recipe: dict = {}
    for r in ours:
        key = literature.SETS.get(r["data"])
        if key and r.get("modes") is not None:
            entry = by_recipe.setdefault(r["recipe"], dict(source=source, method=r["recipe"]))
            se = "modes_se" in r                      # means over trials: ± the standard error, as PacGAN
            entry[f"{key}_modes"] = f"{r['modes']:.1f}" + (f"±{r['modes_se']:.1f}" if se else "")
            entry[f"{key}_hq"] = f"{100 * r['hq']:.1f}" + (f"±{100 * r['hq_se']:.1f}" if se else "") + "%"
    rows += list(by_recipe.values())
    columns = [("source", "source", "{}"), ("method", "method", "{}"),
               ("ring_modes", "ring modes /8", "{}"), ("ring_hq", "ring HQ", "{}"),
               ("grid_modes", "grid modes /25", "{}"), ("grid_hq", "grid HQ", "{}")]
    return format_table(rows, columns, title="2D ring (ours: 8gaussians) and 2D grid (ours: 25gaussians)")


#: the width a notebook shows a figure at, at most (JupyterLab scales a wider PNG down to it)
SHOWN_WIDTH_PX = 1000


def panel_label(recipe: str) -> str:
    """A recipe's label cut to fit a narrow panel: its changes on a line of their own, in short words
    ("wgan-gp-toy[lr_decay_steps=300]" -> "wgan-gp-toy" over "[decay 300]")."""
    name, _, changes = recipe.partition("[")
    if not changes:
        return name
    return f"{name}\n[{changes.replace('lr_decay_steps=', 'decay ').replace('width=', 'width ')}"


def plot_showdown(result: Showdown, *, seed: int = 0, n_points: int = 400, dpi: int = 60):
    """A grid of final samples: one row per dataset, one column per recipe (seed ``seed``).

    Each panel's title is the recipe (``panel_label``) over its scores, on short lines, at a size that stays
    readable (about 10 px) when the notebook scales the figure down to ``SHOWN_WIDTH_PX``; the
    dataset names the row (the first column's y label)."""
    from ..plot import new_figure, plot_image_grid, plot_samples

    keys = [k for k in result.samples if k[2] == seed]
    if not keys:
        raise ValueError(f"no run with seed {seed} in this showdown")
    datasets = list(dict.fromkeys(k[1] for k in keys))
    # one column per recipe name: "gan[width=128]" on the 2D sets and "gan" on digits share a column,
    # unless a dataset holds both (then every label gets its own column)
    base = {k[0]: k[0].split("[")[0] for k in keys}
    clash = any(len({r for r, d, _ in keys if d == data and base[r] == b}) > 1
                for data in datasets for b in set(base.values()))
    column = (lambda r: r) if clash else base.__getitem__
    recipes = list(dict.fromkeys(column(k[0]) for k in keys))
    runs = {(column(r), d): r for r, d, _ in keys}
    rows = {(r["recipe"], r["data"]): r for r in result.rows if r["seed"] == seed}
    width_in = 1.9 * len(recipes) + 0.6
    shown_dpi = min(dpi, SHOWN_WIDTH_PX / width_in)          # pixels per inch once shown in the notebook
    title_pt = 10 * 72 / shown_dpi                            # a title about 10 px tall on screen
    title_lines = max(panel_label(r).count("\n") for r in runs.values()) + 3   # the label, then two lines of scores
    fig = new_figure((width_in, (1.9 + title_lines * title_pt * 1.3 / 72) * len(datasets) + 0.6), dpi=dpi)
    axes = fig.subplots(len(datasets), len(recipes), squeeze=False)
    for i, data in enumerate(datasets):
        real = reference_data(data, n_points) if data in TOY_DATASETS else None
        for j, col in enumerate(recipes):
            recipe = runs.get((col, data))
            ax, samples = axes[i][j], result.samples.get((recipe, data, seed))
            if samples is None:
                ax.set_axis_off()
                continue
            r = rows[(recipe, data)]
            if data in TOY_DATASETS:
                plot_samples(real, samples[:n_points], ax=ax, lim=(-2.2, 2.2) if data != "swissroll" else 2.0)
                ax.get_legend().remove()
                ax.set_xlabel("$x_1$", fontsize=7)
                ax.set_ylabel(f"{data}\n$x_2$" if j == 0 else "", fontsize=title_pt if j == 0 else 7)
                ax.tick_params(labelsize=6)
                sub = (f"{r['modes']} modes\nHQ {r['hq']:.0%}" if r["modes"] is not None
                       else f"W1 {r['w1']:.3f}")
            else:
                plot_image_grid(samples[:16], nrow=4, ax=ax)
                sub = f"{r['classes']}/10 classes\nFD {r['fd']:.0f}"
                if all(runs.get((c, data)) is None for c in recipes[:j]):   # the row's first panel names it
                    ax.text(-0.08, 0.5, data, rotation=90, ha="right", va="center", fontsize=title_pt,
                            transform=ax.transAxes)
            ax.set_title(f"{panel_label(recipe)}\n{sub}", fontsize=title_pt)
    fig.suptitle(f"Same budget, same metrics: final samples (seed {seed}); "
                 "blue = data, vermillion = generated", fontsize=title_pt)
    return fig
