"""From a dataset name to real batches: what the Trainer samples from, and how.

``resolve_data`` turns a name into a toy name, an image tensor or a Dataset; ``make_batch_fn``
turns that into a function ``n -> Tensor[n, ...]`` on the training device. The recipe's networks
are built in ``models.build_models``.
"""
from __future__ import annotations

import itertools

import torch

from .data import (IMAGE_DATASETS, LARGE_IMAGE_DATASETS, TOY_DATASETS, image_dataset, large_image_dataset,
                   load_digits, sample_toy)

__all__ = ["TOY_POOL", "resolve_data", "make_batch_fn", "data_shape"]


def resolve_data(data, *, image_size=16):
    """Turn a dataset name into what the Trainer samples from (toy names stay names)."""
    if isinstance(data, str):
        if data in TOY_DATASETS:
            return data
        if data == "digits":
            return load_digits(size=image_size)[0]              # (N, 1, H, W) in [-1, 1]
        if data in IMAGE_DATASETS:
            dataset, used = image_dataset(data, size=image_size)
            return load_digits(size=image_size)[0] if used == "digits" else dataset
        if data in LARGE_IMAGE_DATASETS:                           # CIFAR-10, CelebA: no fallback
            return large_image_dataset(data, size=image_size)[0]
        raise ValueError(f"unknown dataset {data!r}; choose one of: "
                         + ", ".join(TOY_DATASETS + IMAGE_DATASETS + LARGE_IMAGE_DATASETS))
    if isinstance(data, (torch.Tensor, torch.utils.data.Dataset)):
        return data
    raise TypeError(f"data must be a dataset name, a tensor or a torch Dataset, got {type(data).__name__}")


#: on a GPU, toy data is a fixed pool of this many points drawn once (as gan_toy.py's 25gaussians)
TOY_POOL = 100_000


def make_batch_fn(data, device, rng: torch.Generator):
    """A function ``n -> Tensor[n, ...]`` of real samples on ``device``, drawn with ``rng``.

    With a CPU ``rng`` toy points are drawn fresh for every batch. With a CUDA ``rng`` every draw
    happens on the GPU (a training step then never waits on the host): toy data becomes a pool
    of ``TOY_POOL`` points sampled once, and batches index it.
    """
    if isinstance(data, str):
        if data not in TOY_DATASETS:
            raise ValueError(f"unknown toy dataset {data!r}; choose one of: {', '.join(TOY_DATASETS)}")
        if rng.device.type == "cpu":
            return lambda n: sample_toy(data, n, generator=rng).to(device, non_blocking=True)
        pool_rng = torch.Generator().manual_seed(rng.initial_seed())
        data = sample_toy(data, TOY_POOL, generator=pool_rng)
    if isinstance(data, torch.Tensor):
        if data.ndim < 2 or len(data) < 2:
            raise ValueError(f"data tensor must have shape (N, ...) with N >= 2, got {tuple(data.shape)}")
        on_device = data.float().to(device)
        return lambda n: on_device[torch.randint(len(data), (n,), generator=rng, device=rng.device).to(device)]
    if isinstance(data, torch.utils.data.Dataset):
        if rng.device.type != "cpu":  # DataLoader shuffles on the host
            rng = torch.Generator().manual_seed(rng.initial_seed())
        return _loader_batches(data, device, rng)
    raise TypeError(f"data must be a toy name, a tensor or a Dataset, got {type(data).__name__}")


def _loader_batches(dataset, device, rng):
    """Endless shuffled batches from a Dataset (images first if items are (image, label))."""
    state = {"n": None, "it": None}

    def next_batch(n):
        if state["n"] != n:
            loader = torch.utils.data.DataLoader(dataset, batch_size=n, shuffle=True, drop_last=True,
                                                 generator=rng, pin_memory=device.type == "cuda")
            state["n"], state["it"] = n, itertools.chain.from_iterable(itertools.repeat(loader))
        batch = next(state["it"])
        batch = batch[0] if isinstance(batch, (tuple, list)) else batch
        return batch.to(device, non_blocking=True)

    return next_batch


def data_shape(data) -> tuple:
    """Shape of one real sample: (2,) for toy data, (C, H, W) for images."""
    if isinstance(data, str):
        return (2,)
    if isinstance(data, torch.Tensor):
        return tuple(data.shape[1:])
    item = data[0]
    return tuple((item[0] if isinstance(item, (tuple, list)) else item).shape)
