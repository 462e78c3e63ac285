"""DCGAN on digits: seconds per epoch and images per second.

The ``dcgan`` recipe (Radford et al. 2016, §4: Adam 2e-4, beta1 0.5, batch 128) on sklearn's
8x8 digits upsampled to ``image_size`` (16 by default; the offline fallback for MNIST). One epoch
is ``len(digits) // batch_size`` generator steps; with n_critic = 1 every step consumes one real
batch, so images per second = steps per second x batch size (real images seen by D; G makes as many).
"""
from __future__ import annotations

import torch

from ganedu.train import Trainer

from . import Clock, median


def run(cfg: dict) -> dict:
    d = cfg["dcgan"]
    rows = []
    for size in d["image_sizes"]:
        t = Trainer.from_recipe("dcgan", "digits", device="cpu", seed=0, image_size=size,
                                batch_size=d["batch_size"])
        n_images = len(t.data) if isinstance(t.data, torch.Tensor) else len(t.data)
        steps_per_epoch = max(1, n_images // d["batch_size"])
        steps = min(steps_per_epoch, d["max_steps"])
        for _ in range(2):  # warm-up
            t.step()
        rates = []
        for _ in range(d["repeats"]):
            with Clock().running() as clock:
                for _ in range(steps):
                    t.step()
                t.flush()
            rates.append((steps / clock.wall, steps / clock.cpu if clock.cpu > 0 else None))
        sps, cpu_sps = median(r[0] for r in rates), median(r[1] for r in rates)
        imgs = d["batch_size"] * t.recipe.n_critic
        rows.append(dict(image_size=size, batch_size=d["batch_size"], dataset_images=n_images,
                         steps_per_epoch=steps_per_epoch, steps_per_s=round(sps, 2),
                         cpu_steps_per_s=round(cpu_sps, 2) if cpu_sps else None,
                         s_per_epoch=round(steps_per_epoch / sps, 2),
                         images_per_s=round(sps * imgs, 1)))
    return dict(rows=rows)
