"""ganedu: an interactive course on adversarial training.

Modules, in teaching order: ``data`` (toy 2D sets and digits), ``models`` (MLP and DCGAN
networks), ``losses`` (minimax, non-saturating, Wasserstein, hinge, least squares),
``lipschitz`` (weight clipping, gradient penalty, spectral norm), ``divergences`` (KL / JS /
TV / W1), ``metrics`` (mode coverage, image metrics), ``train`` (Recipe + Trainer),
``plot`` (figures), ``widgets`` (the live dashboard).
"""
from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

from .checks import check_int

__version__ = "0.1.0"

__all__ = ["__version__", "seed_everything", "get_device", "describe_device", "cpu_name", "quick_mode", "torch_threads",
           "default_threads", "SMALL_MODEL"]


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so a run repeats exactly on CPU.

    Returns a ``torch.Generator`` seeded with the same value, for code that wants its own stream.
    """
    seed = check_int("seed", seed, min=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


#: networks below this many parameters (the toy MLPs) are "small": see get_device and torch_threads
SMALL_MODEL = 1_000_000


def get_device(device: str | torch.device = "auto", *, n_params: int | None = None) -> torch.device:
    """Resolve ``device``: ``"auto"`` picks cuda, then mps, then cpu; anything else is checked.

    With ``n_params`` (the networks' size), ``"auto"`` keeps a small network (< ``SMALL_MODEL``
    parameters) on the CPU where a GPU would be slower for it: on MPS, and on CUDA where this torch
    cannot replay a step as a CUDA graph. A toy step is a few hundred tiny kernels, and launching
    them one by one takes longer than a CPU needs for the arithmetic (measured on an H200: 164
    eager steps/s against the CPU's 157; replayed as a graph, 1,514: benchmarks/RESULTS.md).
    """
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a str or torch.device, got {type(device).__name__}")
    if device == "auto":
        small = n_params is not None and n_params < SMALL_MODEL
        if torch.cuda.is_available():
            from .scale.cuda_graph import graphs_supported

            slow = small and not graphs_supported(torch.device("cuda"))
            return torch.device("cpu" if slow else "cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("cpu" if small else "mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda', 'cuda:0' or 'mps'"
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but CUDA is not available here; use 'auto' or 'cpu'")
    return dev


def describe_device() -> str:
    """Where ``device="auto"`` trains, and why, in one line (the notebooks' setup cell prints it)."""
    big, small = get_device("auto"), get_device("auto", n_params=0)
    if big.type == "cuda":
        name = torch.cuda.get_device_name(0)
        if small.type == "cuda":
            return f"device: cuda ({name}); each training step is replayed as a CUDA graph"
        return (f"device: cuda ({name}) for image models; the toy MLPs train on the cpu, faster for them "
                "without CUDA graphs (this torch cannot record them)")
    if big.type == "mps":
        return "device: mps for image models; the toy MLPs train on the cpu, faster for them"
    return "device: cpu (no GPU found; everything in the course runs on a CPU)"


def cpu_name() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what ``platform`` knows: records and benchmarks say where they ran."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run the block with ``n`` intra-op CPU threads, then restore torch's setting (None: leave it).

    Small networks (the toy MLPs, the digits classifier) run fastest on one thread: with more,
    each tiny matrix product pays the threads' start-up and, on a busy CPU, waits for them
    (measured here 8-50x slower with 2 threads than with 1 at a load of 15 on 2 cores).
    """
    old = torch.get_num_threads()
    if n is not None:
        check_int("n", n, min=1, expected="None or an integer >= 1")
    if n and n != old:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n and n != old:
            torch.set_num_threads(old)


def default_threads(device: torch.device, *modules) -> int | None:
    """The threads to train ``modules`` with on ``device``: 1 for small networks on the CPU, else None.

    Below ``SMALL_MODEL`` parameters one thread is as fast as two for the toy MLPs on a quiet 2-core
    CPU and 10-50x faster on a busy one (a live demo beside a browser, Binder, CI); the 512-wide paper
    MLPs give up ~1.6x on a quiet machine for it (benchmarks/RESULTS.md). None (torch's own setting)
    elsewhere or when OMP_NUM_THREADS is set (set it, or ``trainer.threads = None``, to keep torch's).
    """
    if device.type != "cpu" or os.environ.get("OMP_NUM_THREADS"):
        return None
    n_params = sum(p.numel() for m in modules for p in m.parameters())
    return 1 if n_params < SMALL_MODEL else None


_SUBMODULES = ("checks", "data", "batches", "models", "losses", "lipschitz", "divergences", "metrics", "recipes",
               "updates", "train", "checkpoint", "plot", "widgets", "scale", "lessons", "classroom")


def __getattr__(name):
    """``ganedu.plot``, ``ganedu.lessons``... load on first use (PEP 562), so ``import ganedu`` is light."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'ganedu' has no attribute {name!r}")


def quick_mode() -> bool:
    """True when ``GANEDU_QUICK=1`` (the tests' quick mode: fewer steps, same code paths)."""
    return os.environ.get("GANEDU_QUICK", "0").strip().lower() not in ("", "0", "false", "no")
