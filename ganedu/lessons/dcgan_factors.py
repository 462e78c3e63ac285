"""Notebook 02, section 5: DCGAN's warnings (Radford et al. 2016, §4), one factor at a time.

From the healthy run (the ``dcgan`` recipe: Adam, lr 2e-4, β = (0.5, 0.999); batch 64, 16x16 digits) three
variants change one thing, then two: the learning rate of both players alone (``lr_high``), Adam's β1 alone
(``beta1_high``, Adam's default 0.9), and both. Every run starts from the same seed. Every ``every`` generator
steps :func:`measure` labels ``n_eval`` samples with the digits classifier: classes covered, KL(h‖U) of the
class histogram h, and the Fréchet distance to the real digits; at the last step also the images of the same
32 latent codes. Four DCGAN runs take longer than the notebook's time budget on a laptop CPU, so they are
recorded: ``python -m ganedu.lessons.records 02_dcgan_factors`` (part of ``make record``).
"""
from __future__ import annotations

import time

import torch

SPEC = dict(recipe="dcgan", data="digits", image_size=16, batch_size=64, seed=0, steps=500, every=50,
            lr_high=5e-3, beta1_high=0.9, n_eval=1000, fixed_z_seed=1234, n_grid=32)
TINY = dict(steps=4, every=2, n_eval=100)


def variants(lr_high: float, beta1_high: float, beta2: float) -> dict:
    """The three changed settings, as ``Trainer.from_recipe`` keyword arguments, by name."""
    return {"lr only": dict(lr_g=lr_high, lr_d=lr_high),
            "beta1 only": dict(betas=(beta1_high, beta2)),
            "both": dict(lr_g=lr_high, lr_d=lr_high, betas=(beta1_high, beta2))}


def measure(trainer, real, *, n: int = 1000, grid: bool = False, fixed_z_seed: int = 1234, n_grid: int = 32) -> dict:
    """One row of a run's log: step, classes covered, KL(h‖U), class histogram h, Fréchet distance of ``n``
    samples to ``real``; with ``grid``, the images of the fixed ``n_grid`` codes (seed ``fixed_z_seed``)."""
    from ganedu.metrics import class_coverage, frechet_distance

    fake = trainer.sample(n)
    cov = class_coverage(fake)
    return dict(step=trainer.steps, classes=cov["classes"], kl=cov["kl_uniform"], hist=cov["histogram"],
                fd=frechet_distance(real, fake), grid=trainer.sample(n_grid, seed=fixed_z_seed) if grid else None)


def _json_row(row: dict) -> dict:
    """``row`` as JSON: rounded numbers; the images as one hex string of 8-bit pixels (``grid_images`` reads it)."""
    grid = row["grid"]
    if grid is not None:
        grid = ((grid.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy().tobytes().hex()
    return {**row, "kl": round(float(row["kl"]), 4), "fd": round(float(row["fd"]), 2),
            "hist": [round(float(h), 4) for h in row["hist"]], "grid": grid}


def grid_images(row: dict, image_size: int = 16):
    """The recorded images of a log row: (n, 1, S, S) in [-1, 1] (8-bit precision)."""
    pixels = torch.frombuffer(bytearray.fromhex(row["grid"]), dtype=torch.uint8)
    return (pixels.float() / 127.5 - 1).reshape(-1, 1, image_size, image_size)


def record(spec: dict | None = None, progress: bool = True, device: str = "cpu") -> dict:
    """Train the healthy run and the three variants for ``spec["steps"]`` steps each; return the record."""
    from ganedu.data import load_digits
    from ganedu.lessons.records import envelope
    from ganedu.train import Trainer, get_recipe

    spec = dict(SPEC if spec is None else spec)
    real = load_digits(spec["image_size"])[0][:spec["n_eval"]]
    base = get_recipe(spec["recipe"])
    settings = {"healthy": {}, **variants(spec["lr_high"], spec["beta1_high"], base.betas[1])}
    results, t0 = [], time.perf_counter()
    for name, changes in settings.items():
        trainer = Trainer.from_recipe(spec["recipe"], spec["data"], image_size=spec["image_size"], seed=spec["seed"],
                                      batch_size=spec["batch_size"], device=device, **changes)
        log = []
        trainer.train(spec["steps"], every=spec["every"], progress=False, callback=lambda t: log.append(
            measure(t, real, n=spec["n_eval"], grid=t.steps == spec["steps"], fixed_z_seed=spec["fixed_z_seed"],
                    n_grid=spec["n_grid"])))
        r = trainer.recipe
        results.append({"name": name, "lr_g": r.lr_g, "lr_d": r.lr_d, "betas": list(r.betas),
                         "log": [_json_row(row) for row in log]})
        if progress:
            print(f"{name}: {spec['steps']} steps, {time.perf_counter() - t0:.0f} s", flush=True)
    return envelope("02_dcgan_factors", "notebook 02 section 5: the dcgan recipe on 16x16 digits and three variants "
                    "(lr alone, beta1 alone, both), one seed, classifier metrics every few steps",
                    device, time.perf_counter() - t0, spec, results)
