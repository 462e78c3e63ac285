"""The sweep behind the fast toy WGAN-GP recipe: steps and CPU seconds to quality per setting.

Each entry of ``cfg["sweep"]`` is a set of overrides of ``wgan-gp-toy`` (width, depth, batch, learning
rates and their decay, betas, n_critic, λ, z_dim); each runs on 8gaussians for ``cfg["sweep_seeds"]`` until 8/8
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
    dict(lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.9), n_critic=5, lr_decay_steps=0),  # before the sweep
    dict(lr_decay_steps=0), dict(lr_decay_steps=3000), dict(lr_floor=0.0),
    dict(betas=(0.5, 0.9)), dict(lr_g=1e-3, lr_d=1e-3), dict(lr_g=5e-3, lr_d=5e-3), dict(lr_d=6e-3),
    dict(n_critic=2), dict(n_critic=5), dict(gp_lambda=1.0), dict(gp_lambda=0.03),
    dict(width=64), dict(width=256), dict(depth=2), dict(batch_size=128), dict(z_dim=4),
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
                               n_critic=recipe.n_critic, gp_lambda=recipe.gp_lambda, z_dim=recipe.z_dim,
                               lr_decay_steps=recipe.lr_decay_steps, lr_floor=recipe.lr_floor),
                   runs=runs, reached=sum(r["reached"] for r in runs),
                   steps=median(r["steps"] for r in runs), cpu_s=median(r["cpu_s"] for r in runs),
                   lower_bound=sum(r["reached"] for r in runs) * 2 <= len(runs))
        rows.append(row)
        if cfg.get("verbose"):
            print(f"  sweep {row['overrides']}: {row['reached']}/{len(runs)} steps {row['steps']} "
                  f"cpu {row['cpu_s']} {[r.get('hq') for r in runs]}", flush=True)
    return dict(rows=rows)
