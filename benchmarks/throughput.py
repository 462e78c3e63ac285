"""Throughput: generator steps per second (each with its n_critic critic steps).

Three tables, every model timed in the same process, interleaved (A B C A B C ...), so that a
change of load on a shared machine hits all of them alike; we report the median over repeats.

1. ``same_config``: ``baseline.py`` (the WGAN-GP pseudocode, literal and with G(z) detached as in
   gan_toy.py) against ``ganedu.Trainer`` at the baseline's exact settings (MLP 512 x 3, batch 256,
   n_critic 5, lambda 0.1, Adam 1e-4 (0.5, 0.9), z of size 2). The Trainer must be >= 1.0x.
2. ``recipes``: every recipe at its own settings on 8gaussians.
3. ``threads``: the fast toy recipe and the reference configuration at 1 and 2 intra-op threads.
   CPU seconds count every thread, so threads are compared on wall time only.
"""
from __future__ import annotations

import torch

from ganedu.train import Trainer

from . import Clock, median
from .baseline import REFERENCE, Baseline

#: the Trainer at the baseline's settings (gan_toy.py's)
SAME_AS_BASELINE = dict(width=REFERENCE["width"], depth=3, batch_size=REFERENCE["batch_size"],
                        n_critic=REFERENCE["critic_iterations"], gp_lambda=REFERENCE["lambda_gp"],
                        lr_g=REFERENCE["lr"], lr_d=REFERENCE["lr"], betas=REFERENCE["betas"],
                        z_dim=REFERENCE["latent_dim"])


def interleaved(models: dict, steps: int, repeats: int, threads: dict | None = None) -> dict:
    """name -> dict(steps_per_s (wall), cpu_steps_per_s); each model warmed up first."""
    threads = threads or {}
    default = torch.get_num_threads()
    walls, cpus = {k: [] for k in models}, {k: [] for k in models}
    for name, model in models.items():  # warm-up: allocator, autograd graph caches
        torch.set_num_threads(threads.get(name, default))
        for _ in range(2):
            model.step()
    for _ in range(repeats):
        for name, model in models.items():
            torch.set_num_threads(threads.get(name, default))
            with Clock().running() as clock:
                for _ in range(steps):
                    model.step()
                if hasattr(model, "flush"):
                    model.flush()  # the Trainer's one host sync per flush_every steps
            walls[name].append(steps / clock.wall)
            cpus[name].append(steps / clock.cpu if clock.cpu > 0 else None)
    torch.set_num_threads(default)
    return {k: dict(steps_per_s=round(median(walls[k]), 2), cpu_steps_per_s=round(median(cpus[k]), 2),
                    repeats=[round(x, 2) for x in walls[k]]) for k in models}


def trainer(recipe="wgan-gp-toy", seed=0, **overrides):
    return Trainer.from_recipe(recipe, "8gaussians", device="cpu", seed=seed, **overrides)


def run(cfg: dict) -> dict:
    steps, repeats = cfg["throughput_steps"], cfg["repeats"]
    same = dict(SAME_AS_BASELINE, **cfg.get("same_config_overrides", {}))
    base_kw = cfg.get("baseline_settings", {})
    # 1. the Trainer against the baseline, same settings
    pair = interleaved({"baseline (WGAN-GP pseudocode, literal)": Baseline(**base_kw),
                        "baseline (G(z) detached, as gan_toy.py)": Baseline(detach_fake=True, **base_kw),
                        "ganedu.Trainer": trainer(**same)}, steps["reference"], repeats)
    trainer_sps = pair["ganedu.Trainer"]
    for k, v in pair.items():
        v["trainer_ratio"] = round(trainer_sps["steps_per_s"] / v["steps_per_s"], 2)
        v["trainer_ratio_cpu"] = round(trainer_sps["cpu_steps_per_s"] / v["cpu_steps_per_s"], 2)
    # 2. every recipe at its own settings
    recipes = interleaved({name: trainer(name, **cfg.get("overrides", {}).get(name, {}))
                           for name in cfg["recipes_throughput"]}, steps["recipes"], repeats)
    # 3. threads
    models, threads = {}, {}
    for n in cfg["thread_counts"]:
        for label, kw in (("fast toy (wgan-gp-toy)", cfg.get("overrides", {}).get("wgan-gp-toy", {})),
                          ("reference (512 x 3)", same)):
            key = f"{label}, {n} thread{'s' if n > 1 else ''}"
            models[key], threads[key] = trainer(**kw), n
    by_threads = interleaved(models, steps["threads"], repeats, threads)
    return dict(same_config=pair, config=same, recipes=recipes, threads=by_threads)
