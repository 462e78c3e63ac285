"""GPU: ganedu's Trainer against plain loops on the same GPU, in the same process.

Skipped without CUDA (``--tiny`` runs every code path on the CPU instead; its numbers mean nothing).

1. ``toy``: generator steps per second of every toy recipe on 8gaussians: the Trainer as it runs
   on a GPU (the step replayed as a CUDA graph), the same Trainer stepping eagerly, and the same
   machine's CPU (one thread); then the time to quality of ``wgan-gp-toy`` (8/8 modes, >= 90%
   high-quality samples), training seconds only (the checks are not timed), per seed.
2. ``dcgan``: images per second of the ``dcgan`` recipe at 32x32 and 64x64, batch 128, against
   ``dcgan_tutorial.py`` (PyTorch's DCGAN tutorial loop, literal), interleaved in one process.
3. ``precision``: images per second of dcgan, wgan, wgan-gp and sngan in float32, bf16 autocast
   (``--amp``), channels-last, and both, at 32x32 and 64x64 and batch 64, 128 and 512.

Images per second count real images drawn: one batch per critic step.
"""
from __future__ import annotations

import time

import torch

from ganedu.models import build_models
from ganedu.data import load_digits, toy_modes, toy_std
from ganedu.scale.distributed import channels_last_, enable_amp
from ganedu.metrics import mode_coverage
from ganedu.recipes import get_recipe
from ganedu.train import Trainer

from . import median
from .dcgan_tutorial import TutorialLoop

TOY = ["wgan-gp-toy", "sngan-toy", "wgan-toy", "nsgan-toy", "gan-toy"]


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def rate(step, device, *, warmup: int, seconds: float, finish=None) -> float:
    """Calls of ``step()`` per second after ``warmup`` calls, timed for about ``seconds``."""
    for _ in range(warmup):
        step()
    (finish or (lambda: None))()
    sync(device)
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(10):
            step()
        n += 10
        if time.perf_counter() - start >= seconds:
            break
    (finish or (lambda: None))()
    sync(device)
    return n / (time.perf_counter() - start)


def toy_trainer(recipe, device, seed=0, graphs=True, **overrides):
    t = Trainer.from_recipe(recipe, "8gaussians", device=device, seed=seed, **overrides)
    t.use_cuda_graphs = t.use_cuda_graphs and graphs
    return t


def toy_rates(cfg, device) -> dict:
    rows = {}
    for name in cfg["toy_recipes"]:
        kw = cfg.get("overrides", {}).get(name, {})
        row = {}
        for label, dev, graphs in (("graph", device, True), ("eager", device, False), ("cpu", "cpu", False)):
            if label == "cpu" and name not in cfg["cpu_recipes"]:
                continue
            t = toy_trainer(name, dev, graphs=graphs, **kw)
            t.threads = 1 if dev == "cpu" else t.threads
            row[label] = round(rate(t.step, dev, warmup=cfg["warmup"], seconds=cfg["seconds"], finish=t.flush), 1)
        if "cpu" in row:
            row["graph_over_cpu"] = round(row["graph"] / row["cpu"], 2)
        row["graph_over_eager"] = round(row["graph"] / row["eager"], 2)
        rows[name] = row
    return rows


def time_to_quality(cfg, device) -> dict:
    """Training seconds until 8/8 modes and >= 90% HQ (checked every ``check_every`` steps, untimed)."""
    modes, std = toy_modes("8gaussians"), toy_std("8gaussians")
    rows = {}
    for seed in cfg["seeds"]:
        t = toy_trainer("wgan-gp-toy", device, seed=seed, **cfg.get("overrides", {}).get("wgan-gp-toy", {}))
        train_s, reached = 0.0, None
        while t.steps < cfg["max_steps"]:
            sync(device)
            start = time.perf_counter()
            for _ in range(cfg["check_every"]):
                t.step()
            t.flush()
            sync(device)
            train_s += time.perf_counter() - start
            cov = mode_coverage(t.sample(cfg["n_eval"]), modes, std)
            if cov["modes"] == len(modes) and cov["hq"] >= 0.9:
                reached = dict(steps=t.steps, train_s=round(train_s, 2), hq=round(cov["hq"], 3))
                break
        rows[f"seed {seed}"] = reached or dict(steps=None, train_s=round(train_s, 2), last=cov)
    done = [r["train_s"] for r in rows.values() if r.get("steps")]
    return dict(per_seed=rows, reached=f"{len(done)}/{len(rows)}", median_train_s=median(done))


def image_data(size: int, device) -> torch.Tensor:
    """Digits at ``size`` pixels on ``device`` (64x64: the 32x32 digits upsampled)."""
    images = load_digits(min(size, 32))[0]
    if size > 32:
        images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear",
                                                 align_corners=False).clamp(-1, 1)
    return images.to(device)


def image_trainer(recipe, images, batch_size, *, amp=False, channels_last=False, graphs=True, seed=0):
    recipe = get_recipe(recipe, batch_size=batch_size)
    torch.manual_seed(seed)
    generator, critic, _ = build_models(recipe, images)
    t = Trainer(recipe, generator, critic, images, device=images.device, seed=seed)
    t.use_cuda_graphs = t.use_cuda_graphs and graphs
    if channels_last:
        channels_last_(t)
    if amp:
        enable_amp(t)
    return t


def dcgan_vs_tutorial(cfg, device) -> dict:
    rows = {}
    for size in cfg["dcgan_sizes"]:
        images = image_data(size, device)
        b = cfg["dcgan_batch"]
        models = {"tutorial loop (fp32)": TutorialLoop(images, batch_size=b),
                  "ganedu (fp32)": image_trainer("dcgan", images, b),
                  "ganedu (fp32, no graph)": image_trainer("dcgan", images, b, graphs=False),
                  "ganedu (--amp --channels-last)": image_trainer("dcgan", images, b, amp=True, channels_last=True)}
        rates = {k: [] for k in models}
        for _ in range(cfg["repeats"]):
            for name, m in models.items():
                rates[name].append(rate(m.step, device, warmup=cfg["warmup"], seconds=cfg["seconds"],
                                        finish=getattr(m, "flush", None)) * b)
        base = median(rates["tutorial loop (fp32)"])
        rows[f"{size}x{size}"] = {k: dict(images_per_s=round(median(v)), vs_tutorial=round(median(v) / base, 2))
                                  for k, v in rates.items()}
    return rows


def precision(cfg, device) -> dict:
    rows = []
    for size in cfg["precision_sizes"]:
        images = image_data(size, device)
        for recipe in cfg["precision_recipes"]:
            for b in cfg["precision_batches"]:
                r = {"recipe": recipe, "size": size, "batch": b}
                for label, amp, cl in (("fp32", False, False), ("amp", True, False),
                                       ("channels_last", False, True), ("amp+channels_last", True, True)):
                    t = image_trainer(recipe, images, b, amp=amp, channels_last=cl)
                    per_step = t.recipe.batch_size * t.recipe.n_critic
                    r[label] = round(rate(t.step, device, warmup=cfg["warmup"], seconds=cfg["precision_seconds"],
                                          finish=t.flush) * per_step)
                    del t
                for label in ("amp", "channels_last", "amp+channels_last"):
                    r[f"{label}/fp32"] = round(r[label] / r["fp32"], 2)
                rows.append(r)
    return rows


def run(cfg: dict) -> dict:
    g = cfg["gpu"]
    device = g.get("device") or ("cuda" if torch.cuda.is_available() else None)
    if device is None:
        return dict(skipped="no CUDA device: the GPU section runs only on a GPU")
    out = dict(device=torch.cuda.get_device_name(0) if device == "cuda" else device, torch=torch.__version__)
    for name, fn in (("toy", toy_rates), ("time_to_quality", time_to_quality), ("dcgan", dcgan_vs_tutorial),
                     ("precision", precision)):
        if name in g.get("skip", ()):
            continue
        start = time.perf_counter()
        try:
            out[name] = fn(g, device)
        except Exception as exc:  # noqa: BLE001 - one broken part must not hide the others
            out[name] = dict(error=f"{type(exc).__name__}: {exc}")
        out[f"{name}_seconds"] = round(time.perf_counter() - start, 1)
        print(f"gpu: {name} done in {out[f'{name}_seconds']} s: {out[name]}", flush=True)
    return out
