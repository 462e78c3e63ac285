"""The sweep behind the fast toy WGAN-GP recipe: steps and CPU seconds to quality per setting.

Each entry of ``cfg["sweep"]`` is a set of overrides of ``wgan-gp-toy`` (width, depth, batch, learning
rates, betas, n_critic, λ, z_dim); each runs on 8gaussians for ``cfg["sweep_seeds"]`` until 8/8
modes and >= 90% high-quality samples, or the cap. Not part of the default run (it is long):
``python -m benchmarks --only sweep``.
"""
from __future__ import annotations

from ganedu.train import Trainer, get_recipe

from . import median
from .time_to_quality import make_quality, run_until

#: one change at a time around the chosen recipe, plus the recipe as it was before the sweep
GRID = [
    {},
    dict(width=128, batch_size=256, lr_g=1e-3, lr_d=1e-3, z_dim=2),  # wgan-gp-toy before the sweep
    dict(lr_g=1e-4), dict(lr_g=1e-3), dict(lr_d=1e-4),
    dict(width=64), dict(width=256), dict(batch_size=256), dict(batch_size=1024),
    dict(n_critic=2), dict(n_critic=10), dict(gp_lambda=1.0), dict(gp_lambda=0.01),
    dict(betas=(0.0, 0.9)),
]


def run(cfg: dict) -> dict:
    grid = cfg.get("sweep", GRID)
    quality = make_quality("8gaussians", cfg)
    caps = cfg["caps"]["default"]
    rows = []
    for overrides in grid:
        recipe = get_recipe("wgan-gp-toy", **cfg.get("overrides", {}).get("wgan-gp-toy", {}), **overrides)
        runs = [run_until(Trainer.from_recipe(recipe, "8gaussians", device="cpu", seed=seed), quality,
                          check_every=cfg["check_every"], n_eval=cfg["n_eval"],
                          max_steps=caps["steps"], max_seconds=caps["seconds"])
                for seed in cfg["sweep_seeds"]]
        row = dict(overrides={k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()},
                   recipe=dict(width=recipe.width, depth=recipe.depth, batch_size=recipe.batch_size,
                               lr_g=recipe.lr_g, lr_d=recipe.lr_d, betas=list(recipe.betas),
                               n_critic=recipe.n_critic, gp_lambda=recipe.gp_lambda, z_dim=recipe.z_dim),
                   runs=runs, reached=sum(r["reached"] for r in runs),
                   steps=median(r["steps"] for r in runs), cpu_s=median(r["cpu_s"] for r in runs),
                   lower_bound=sum(r["reached"] for r in runs) * 2 <= len(runs))
        rows.append(row)
        if cfg.get("verbose"):
            print(f"  sweep {row['overrides']}: {row['reached']}/{len(runs)} steps {row['steps']} "
                  f"cpu {row['cpu_s']} {[r.get('hq') for r in runs]}", flush=True)
    return dict(rows=rows)
