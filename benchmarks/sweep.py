"""The sweep behind the fast toy WGAN-GP recipe: steps and CPU seconds to quality per setting.

Each entry of ``cfg["sweep"]`` is a set of overrides of ``wgan-gp-toy`` (width, depth, batch, learning
rates and their decay, betas, n_critic, λ, z_dim); each runs on 8gaussians for ``cfg["sweep_seeds"]`` until 8/8
modes and >= 90% high-quality samples, or the cap. Not part of the default run (it is long):
``python -m benchmarks --only sweep``.

Every setting x seed is one member of one :class:`ganedu.scale.population.Population` (``rng="host"``:
member k is exactly its own Trainer run, so its steps to quality are the Trainer's), checked every
``check_every`` steps like ``time_to_quality.run_until``. A member's CPU seconds to quality are its
steps times its setting's CPU seconds per step, timed on one Trainer of that setting (``timing_steps``).
"""
from __future__ import annotations

import time

from ganedu.scale.population import Population
from ganedu.train import Trainer, get_recipe

from . import Clock, median
from .time_to_quality import make_quality

#: one change at a time around the chosen recipe, plus the recipe as it was before the sweep
GRID = [
    {},
    dict(lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.9), n_critic=5, lr_decay_steps=0),  # before the sweep
    dict(lr_decay_steps=0), dict(lr_decay_steps=3000), dict(lr_floor=0.0),
    dict(betas=(0.5, 0.9)), dict(lr_g=1e-3, lr_d=1e-3), dict(lr_g=5e-3, lr_d=5e-3), dict(lr_d=6e-3),
    dict(n_critic=2), dict(n_critic=5), dict(gp_lambda=1.0), dict(gp_lambda=0.03),
    dict(width=64), dict(width=256), dict(depth=2), dict(batch_size=128), dict(z_dim=4),
]


def _cpu_per_step(recipe, steps: int) -> float:
    """CPU seconds per generator step of one Trainer of ``recipe`` (after two warm-up steps)."""
    trainer = Trainer.from_recipe(recipe, "8gaussians", device="cpu", seed=0)
    for _ in range(2):
        trainer.step()
    clock = Clock()
    with clock.running():
        for _ in range(steps):
            trainer.step()
        trainer.flush()
    return clock.cpu / steps


def run(cfg: dict) -> dict:
    grid, seeds = cfg.get("sweep", GRID), cfg["sweep_seeds"]
    quality = make_quality("8gaussians", cfg)
    caps = cfg["caps"]["default"]
    recipes = [get_recipe("wgan-gp-toy", **cfg.get("overrides", {}).get("wgan-gp-toy", {}), **o) for o in grid]
    members = [(recipe, seed) for recipe in recipes for seed in seeds]
    pop = Population(members, "8gaussians", device="cpu", rng="host")
    reached, last, clock, t0 = {}, {}, Clock(), time.perf_counter()
    while pop.steps < caps["steps"] and len(reached) < len(members):
        with clock.running():
            for _ in range(cfg["check_every"]):
                pop.step()
            pop.flush()
        for k, samples in enumerate(pop.sample(cfg["n_eval"])):   # member k's Trainer.sample
            if k not in reached:
                ok, last[k] = quality(samples)
                if ok:
                    reached[k] = pop.steps
    rows = []
    for i, (overrides, recipe) in enumerate(zip(grid, recipes)):
        per_step = _cpu_per_step(recipe, cfg.get("timing_steps", 50))
        runs = []
        for j, seed in enumerate(seeds):
            k = i * len(seeds) + j
            steps = reached.get(k, pop.steps)
            runs.append(dict(seed=seed, reached=k in reached, steps=steps, cpu_s=round(steps * per_step, 2), **last[k]))
        row = dict(overrides={k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()},
                   recipe=dict(width=recipe.width, depth=recipe.depth, batch_size=recipe.batch_size,
                               lr_g=recipe.lr_g, lr_d=recipe.lr_d, betas=list(recipe.betas),
                               n_critic=recipe.n_critic, gp_lambda=recipe.gp_lambda, z_dim=recipe.z_dim,
                               lr_decay_steps=recipe.lr_decay_steps, lr_floor=recipe.lr_floor),
                   runs=runs, reached=sum(r["reached"] for r in runs), cpu_s_per_step=round(per_step, 5),
                   steps=median(r["steps"] for r in runs), cpu_s=median(r["cpu_s"] for r in runs),
                   lower_bound=sum(r["reached"] for r in runs) * 2 <= len(runs))
        rows.append(row)
        if cfg.get("verbose"):
            print(f"  sweep {row['overrides']}: {row['reached']}/{len(runs)} steps {row['steps']} "
                  f"cpu {row['cpu_s']} {[r.get('hq') for r in runs]}", flush=True)
    return dict(rows=rows, members=len(members), population_steps=pop.steps,
                population_cpu_s=round(clock.cpu, 1), population_wall_s=round(time.perf_counter() - t0, 1))
