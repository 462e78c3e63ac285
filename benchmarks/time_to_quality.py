"""Time to quality: how many seconds (and generator steps) until a toy run looks right?

Quality, checked every ``check_every`` generator steps on ``n_eval`` samples (the checks are not
counted in the time):

- 8gaussians: all 8 modes covered and >= 90% high-quality samples (``ganedu.metrics.mode_coverage``:
  HQ = within 3 std of the nearest mode; a perfect sampler scores 1 - exp(-4.5) = 98.9%).
- 25gaussians: >= 24 of 25 modes and >= 90% high-quality samples.
- swissroll (no modes): exact W1 between ``n_w1`` generated points and ``n_w1`` data points below
  ``swissroll_factor`` times the *noise floor*, the median exact W1 between two independent data
  samples of the same size (a perfect generator scores the floor itself, about 0.09 at n = 1000;
  the factor 1.5 leaves room for that sampling noise: see ``swissroll_threshold``).

Each (runner, dataset) pair runs for ``seeds``; the row reports the medians over seeds, with a run
that never got there counted at its cap (so a median over a cap is a lower bound: shown with ">").
"""
from __future__ import annotations

import torch

from ganedu.data import sample_toy, toy_modes, toy_std
from ganedu.divergences import w1_exact
from ganedu.metrics import mode_coverage
from ganedu.train import Trainer

from . import Clock, median
from .baseline import Baseline

NEED_MODES = {"8gaussians": 8, "25gaussians": 24}


def swissroll_threshold(n: int, factor: float, draws: int = 5) -> dict:
    """The W1 noise floor of swissroll at sample size ``n`` and the threshold ``factor`` x floor."""
    floor = median([w1_exact(sample_toy("swissroll", n, generator=torch.Generator().manual_seed(1000 + 2 * i)),
                             sample_toy("swissroll", n, generator=torch.Generator().manual_seed(1001 + 2 * i)))
                    for i in range(draws)])
    return dict(n=n, floor=floor, factor=factor, threshold=factor * floor)


def make_quality(data: str, cfg: dict):
    """A function ``samples -> (ok, metrics)`` for ``data``."""
    if data in NEED_MODES:
        modes, std, need = toy_modes(data), toy_std(data), NEED_MODES[data]
        if cfg.get("tiny"):
            need = 1

        def quality(samples):
            m = mode_coverage(samples, modes, std)
            return (m["modes"] >= need and m["hq"] >= 0.9), dict(modes=m["modes"], hq=round(m["hq"], 3))
        return quality
    ref = sample_toy(data, cfg["n_w1"], generator=torch.Generator().manual_seed(777))
    threshold = cfg["swissroll"]["threshold"]

    def quality(samples):
        w1 = w1_exact(samples[: len(ref)], ref)
        return w1 <= threshold, dict(w1=round(w1, 4))
    return quality


def run_until(model, quality, *, check_every, max_steps, max_seconds, n_eval):
    """Step ``model`` until ``quality`` holds or a cap is hit. Returns one JSON-ready row."""
    clock, last = Clock(), {}
    while True:
        with clock.running():
            for _ in range(check_every):
                model.step()
        ok, last = quality(model.sample(n_eval))
        if ok or model.steps >= max_steps or clock.cpu >= max_seconds:
            break
    return dict(reached=bool(ok), steps=model.steps, wall_s=round(clock.wall, 2),
                cpu_s=round(clock.cpu, 2), **last)


def runners(cfg: dict) -> dict:
    """name -> factory(data, seed) -> a model with .step/.sample/.steps.

    ``cfg["data_overrides"][data][name]`` changes a recipe on one dataset (wgan-gp-toy's decay
    horizon on 25gaussians); ``cfg["overrides"][name]`` on all of them (the tiny test's sizes).
    """
    out = {}
    for name in cfg["recipes"]:
        overrides = cfg.get("overrides", {}).get(name, {})
        out[name] = (lambda data, seed, name=name, o=overrides:
                     Trainer.from_recipe(name, data, device="cpu", seed=seed,
                                         **{**cfg.get("data_overrides", {}).get(data, {}).get(name, {}), **o}))
    if cfg.get("baseline", True):
        out["baseline"] = lambda data, seed: Baseline(data, seed=seed, **cfg.get("baseline_settings", {}))
    return out


def run(cfg: dict) -> dict:
    """All (runner, dataset) pairs, ``cfg['seeds']`` seeds each."""
    if "swissroll" in cfg["datasets"] and "swissroll" not in cfg:
        cfg["swissroll"] = swissroll_threshold(cfg["n_w1"], cfg["swissroll_factor"])
    rows = []
    for data in cfg["datasets"]:
        quality = make_quality(data, cfg)
        for name, factory in runners(cfg).items():
            if (name, data) in cfg.get("skip", ()):
                continue
            every = cfg["check_every"] * (2 if name == "baseline" else 1)
            caps = cfg["caps"].get(data, cfg["caps"]["default"])
            if name == "baseline":
                caps = cfg["caps"].get("baseline", caps)
            runs = []
            for seed in cfg["seeds"]:
                runs.append(run_until(factory(data, seed), quality, check_every=every, n_eval=cfg["n_eval"],
                                      max_steps=caps["steps"], max_seconds=caps["seconds"]))
                if cfg.get("verbose"):
                    print(f"  ttq {data:11s} {name:12s} seed {seed}: {runs[-1]}", flush=True)
            rows.append(dict(
                data=data, runner=name, seeds=list(cfg["seeds"]), runs=runs,
                reached=sum(r["reached"] for r in runs),
                steps=median(r["steps"] for r in runs), wall_s=median(r["wall_s"] for r in runs),
                cpu_s=median(r["cpu_s"] for r in runs),
                lower_bound=sum(r["reached"] for r in runs) * 2 <= len(runs)))
    return dict(rows=rows, swissroll=cfg.get("swissroll"))
