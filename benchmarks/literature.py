"""Beside the literature: ten trials per setting, as the PacGAN and VEEGAN tables report them.

PacGAN (Lin et al. 2018, Table 3) reports, on the 2D grid of 25 Gaussians, the mean over 10
trials of the modes covered and of the high-quality fraction (within 3 standard deviations of a
mode): PacGAN4 24.8 modes and 93.6%. We train every setting of a small grid around
``wgan-gp-toy`` for 10 seeds as one population (``ganedu.scale.population``: on a GPU with the random
streams on the device, on a CPU with each member's own stream) and report the same two means,
at each checkpoint of the run.
"""
from __future__ import annotations

import statistics
import time

import torch

from ganedu.scale.population import Population

#: PacGAN (Lin et al. 2018), Table 3, 2D-grid: the best published row, mean of 10 trials
PACGAN4_GRID = dict(modes=24.8, hq=0.936)


def run(cfg: dict) -> dict:
    c = cfg["literature"]
    device = c.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
    start = time.perf_counter()
    pop = Population.from_grid(c["recipe"], c["data"], seeds=c["seeds"], device=device,
                               **c.get("overrides", {}), **c["grid"])
    varying = [f for f in pop.varying_fields() if f not in ("seed", "name")]
    rows = []
    for checkpoint in c["checkpoints"]:
        pop.train(checkpoint - pop.steps, progress=False)
        by_setting = {}
        for (recipe, seed), result in zip(pop.members, pop.evaluate(n=c["n_eval"], w1_points=c["w1_points"])):
            key = tuple((f, getattr(recipe, f)) for f in varying)
            by_setting.setdefault(key, []).append(result)
        for key, results in by_setting.items():
            modes = [r["modes"] for r in results]
            hq = [r["hq"] for r in results]
            rows.append(dict(steps=checkpoint, setting=dict(key), trials=len(results),
                             modes_mean=round(statistics.mean(modes), 2), modes_min=min(modes),
                             hq_mean=round(statistics.mean(hq), 4), hq_min=round(min(hq), 4),
                             beats_pacgan4=statistics.mean(modes) > PACGAN4_GRID["modes"]
                             and statistics.mean(hq) > PACGAN4_GRID["hq"]))
    return dict(device=str(pop.device), members=len(pop.members), rng=pop.rng, rows=rows,
                pacgan4=PACGAN4_GRID, seconds=round(time.perf_counter() - start, 1))


def render(r: dict, cfg: dict) -> list:
    c = cfg["literature"]
    rows = [f"{c['recipe']} on {c['data']}, {len(c['seeds'])} seeds per setting, one population of "
            f"{r['members']} on {r['device']} (`rng=\"{r['rng']}\"`), {r['seconds']} s in all. PacGAN4 "
            f"(Lin et al. 2018, Table 3): {r['pacgan4']['modes']} modes, {100 * r['pacgan4']['hq']:.1f}% HQ.", "",
            "| steps | setting | modes (mean, min) | HQ % (mean, min) | beats PacGAN4 on both |",
            "|---:|---|---:|---:|---|"]
    rows += [f"| {x['steps']} | {', '.join(f'{k}={v}' for k, v in x['setting'].items())} | {x['modes_mean']}, "
             f"{x['modes_min']} | {100 * x['hq_mean']:.1f}, {100 * x['hq_min']:.1f} | "
             f"{'yes' if x['beats_pacgan4'] else 'no'} |" for x in r["rows"]]
    return rows
