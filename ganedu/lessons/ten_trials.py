"""Ten trials per recipe on the ring and the grid: notebook 07's comparison with the literature.

VEEGAN (Srivastava et al. 2017, Table 1) averages 5 runs and PacGAN (Lin et al. 2018, Table 1)
10 trials; one seed per recipe is not a result. Training 5 recipes x 10 seeds on both mixtures long
enough to finish is hours on a laptop CPU, minutes as populations on a GPU
(:mod:`ganedu.scale.population`, each recipe's 10 seeds one vectorised group). So the notebook
shows this record, made once with ``python -m ganedu.lessons.records 07_ten_trials --device cuda``
and shipped in ``ganedu/lessons/recorded/``, labelled with the machine and date.

Every run is scored like the showdown's (:func:`ganedu.metrics.score_samples`: modes covered and
high-quality fraction at 3σ, exact W1 on a subsample) every ``every`` generator steps.
"""
from __future__ import annotations

import statistics
import time

SPEC = dict(
    recipes=["gan-toy", "nsgan-toy", "wgan-toy", "wgan-gp-toy", "sngan-toy"],
    seeds=list(range(10)),
    runs={"8gaussians": dict(steps=3000, every=1000), "25gaussians": dict(steps=15000, every=5000)},
    # a decaying learning rate (wgan-gp-toy) gets a horizon for each set: the whole run on the ring,
    # 10,000 steps then a floor of a hundredth on the grid (the setting README's 25-Gaussian claim uses)
    horizon={"8gaussians": dict(lr_decay_steps=3000), "25gaussians": dict(lr_decay_steps=10000, lr_floor=0.01)},
    n_eval=2500, w1_points=500,
)
TINY = dict(seeds=[0, 1], runs={"8gaussians": dict(steps=4, every=2), "25gaussians": dict(steps=4, every=2)},
            n_eval=200, w1_points=100)

#: PacGAN4, Lin et al. 2018, Table 1 (2D grid): modes covered of 25 and high-quality samples, 10 trials
PACGAN4_GRID = dict(modes=24.8, hq=0.936)


def members(spec: dict, data: str) -> list:
    """The ``(recipe, seed)`` pairs of one dataset: every recipe (with its horizon) x every seed."""
    from ganedu.train import get_recipe

    out = []
    for name in spec["recipes"]:
        recipe = get_recipe(name)
        if recipe.lr_decay_steps:
            recipe = recipe.replace(**spec["horizon"][data])
        out += [(recipe, seed) for seed in spec["seeds"]]
    return out


def record(spec: dict | None = None, progress: bool = True, device: str = "cpu") -> dict:
    """Train every dataset's members as one population; return the record (a JSON-ready dict)."""
    from ganedu.lessons.records import envelope
    from ganedu.scale.population import Population

    spec = dict(SPEC if spec is None else spec)
    t0, results = time.perf_counter(), []
    for data, run in spec["runs"].items():
        pairs = members(spec, data)
        pop = Population(pairs, data, device=device)
        checkpoints = []

        def checkpoint(p, data=data):
            checkpoints.append((p.steps, p.evaluate(n=spec["n_eval"], w1_points=spec["w1_points"])))
            if progress:
                hq = statistics.mean(m["hq"] for m in checkpoints[-1][1])
                print(f"{data} step {p.steps}: {time.perf_counter() - t0:.0f} s, mean HQ {hq:.3f}", flush=True)

        pop.train(run["steps"], callback=checkpoint, every=run["every"], progress=False)
        for k, (recipe, seed) in enumerate(pairs):
            results.append({"data": data, "recipe": recipe.name, "lr_decay_steps": recipe.lr_decay_steps,
                            "lr_floor": recipe.lr_floor, "seed": seed,
                            "status": "diverged" if k in pop.diverged else "ok",
                            "trajectory": [{"step": step, "modes": m[k]["modes"], "hq": round(m[k]["hq"], 4),
                                            "w1": round(m[k]["w1"], 4)} for step, m in checkpoints]})
    return envelope("07_ten_trials", "notebook 07 section 4: every toy recipe, 10 seeds, on 8gaussians and "
                    "25gaussians, trained as one ganedu.scale.population.Population per dataset (one vectorised "
                    "group per recipe)", device, time.perf_counter() - t0, spec, results)


def summarize(record: dict, step: int | None = None, data: str | None = None) -> list:
    """One row per (data, recipe): mean, standard error and worst seed of modes, HQ and W1, at ``step``
    (default: each run's last checkpoint), for every dataset or only ``data``. Standard error =
    sd / sqrt(trials), as PacGAN reports."""
    cells = {}
    for row in record["results"]:
        if data is not None and row["data"] != data:
            continue
        point = row["trajectory"][-1] if step is None else next(t for t in row["trajectory"] if t["step"] == step)
        cells.setdefault((row["data"], row["recipe"]), []).append(point)
    out = []
    for (data, recipe), points in cells.items():
        summary = {"data": data, "recipe": recipe, "trials": len(points), "step": points[0]["step"]}
        for key in ("modes", "hq", "w1"):
            values = [p[key] for p in points]
            summary[key] = statistics.mean(values)
            summary[f"{key}_se"] = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
            summary[f"{key}_worst"] = max(values) if key == "w1" else min(values)
        out.append(summary)
    return out


def literature_rows(record: dict) -> list:
    """Rows for ``showdown.literature_table``: one per recipe, its ring and grid means over the trials."""
    return [dict(r, recipe=f"{r['recipe']} ({r['trials']} trials)") for r in summarize(record)]
