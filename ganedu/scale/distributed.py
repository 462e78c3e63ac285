r"""Scaling up: a GPU, mixed precision, and several GPUs or machines with torchrun.

Nothing here changes the algorithm; it hands the :class:`~ganedu.train.Trainer` PyTorch's own
tools (``torch.distributed``, ``DistributedDataParallel``, ``torch.autocast``) through its
arguments (:meth:`~ganedu.train.Trainer.parallelize`, ``amp``).

**Several processes** (``torchrun --nproc-per-node N -m ganedu train RECIPE ...``). torchrun
starts N copies of the program and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``. In each copy:

1. :func:`init_distributed` joins the process group (``nccl`` on CUDA, ``gloo`` on the CPU) and
   picks the GPU ``cuda:LOCAL_RANK``.
2. The Trainer is built with the *same* seed everywhere: identical initial weights (DDP also
   broadcasts rank 0's parameters and buffers when it wraps a module).
3. :func:`distribute` has the Trainer's steps run the generator and the critic wrapped in
   ``DistributedDataParallel``, moves rank r's random stream (noise z, ε, toy/tensor data) to its
   own seed, and reads a Dataset through a ``DistributedSampler`` (each rank its own share of
   every epoch).
4. Each rank's losses are means over its b samples; DDP *averages* the gradients over the N
   ranks during ``backward``. Every loss here (and the gradient penalty) is a mean over samples,
   so :math:`\frac1N\sum_r \nabla \frac1b\sum_{i\in r}\ell_i = \nabla\frac{1}{Nb}\sum_i \ell_i`:
   one update of N ranks with batch b *is* the update of one process with batch N·b
   (``tests/test_distributed.py`` checks it). ``Recipe.batch_size`` is the per-process batch.
5. Rank 0 alone logs, writes figures and checkpoints (:func:`is_main_process`; ``Trainer.save``
   writes nothing on the other ranks). The Trainer's ``generator`` and ``critic`` stay the plain
   networks: sampling and checkpoints never see the wrappers.

**Buffers across ranks** (what DDP does not average):

- *Spectral norm's u.* Power iteration reads only the weight and the previous u, never the data.
  The weights are identical on every rank after every update, so every rank computes the same u:
  no communication is needed, and DDP's broadcast of buffers before each forward pass (three or
  more critic passes per critic step) is turned off. The test checks u is bit-identical.
- *BatchNorm* (DCGAN's networks). Per-rank batch statistics, the default: each rank normalises
  its own b samples, as one GPU with the recipe's batch b does, so BatchNorm behaves as the
  recipe was tuned. ``sync_batchnorm=True`` uses ``torch.nn.SyncBatchNorm`` instead
  (statistics over all N·b samples, one all-reduce per BatchNorm layer per forward; CUDA only).
  Running statistics differ per rank; :func:`average_buffers` averages them before rank 0 saves.
  Critics under a gradient penalty have no BatchNorm (``check_no_batchnorm``).

**One GPU.** ``device="auto"``; image batches are pinned and copied ``non_blocking``; cuDNN picks
its fastest convolutions (:func:`cudnn_autotuned`); :func:`channels_last_` and :func:`enable_amp`
(bf16 autocast; the penalty's critic pass stays float32, see ``ganedu.lipschitz.input_gradient``)
are options.

(The module is longer than most because this docstring tells the several-process story once.)
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from .. import get_device
from ..checks import check_int

__all__ = ["DistInfo", "init_distributed", "is_main_process", "distribute", "unwrap", "average_buffers",
           "sampler_batches", "rank_seed", "cleanup", "enable_amp", "autocast", "cudnn_autotuned",
           "channels_last_", "count_real_images", "prepare", "download"]

RANK_SEED_STRIDE = 1_000_003  # rank r draws noise from seed + r * stride (a prime, far from seed + 1, + 2)


@dataclasses.dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size``, GPU ``local_rank``, its ``device``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer (torchrun sets it), "
                         f"got {value!r}") from None


def init_distributed(device="auto") -> DistInfo:
    """Join torchrun's process group when ``WORLD_SIZE > 1``; else this is rank 0 of 1.

    Backend ``nccl`` on CUDA (one GPU per process: ``cuda:LOCAL_RANK``), ``gloo`` on the CPU.
    Safe to call twice (an existing group is reused).
    """
    world_size, rank, local_rank = _env_int("WORLD_SIZE", 1), _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    device = get_device(device)
    if world_size <= 1:
        return DistInfo(0, 1, 0, device)
    if not 0 <= rank < world_size:
        raise ValueError(f"RANK={rank} must lie in [0, WORLD_SIZE={world_size})")
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(f"LOCAL_RANK={local_rank} but this machine has {torch.cuda.device_count()} "
                             "GPU(s); start at most one process per GPU (--nproc-per-node)")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise ValueError(f"several processes need CUDA GPUs or the CPU, got device {device}; use --device cpu")
    if not dist.is_initialized():
        kwargs = {}
        if device.type == "cuda" and "device_id" in inspect.signature(dist.init_process_group).parameters:
            kwargs["device_id"] = device  # nccl then knows this rank's GPU (barriers, eager init)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", **kwargs)
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, device)


def is_main_process() -> bool:
    """True on rank 0, and in a plain (not distributed) run."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def cleanup(barrier: bool = True):
    """Leave the process group (after a barrier, so that rank 0 finishes writing first)."""
    if dist.is_available() and dist.is_initialized():
        if barrier:
            dist.barrier()
        dist.destroy_process_group()


def rank_seed(seed: int, rank: int, steps: int = 0) -> int:
    """The seed of rank ``rank``'s random stream; rank 0 of a fresh run keeps ``seed`` itself."""
    return seed + RANK_SEED_STRIDE * rank + steps


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The network inside a ``DistributedDataParallel`` wrapper (or ``module`` itself)."""
    return module.module if isinstance(module, DDP) else module


def _ddp(module: torch.nn.Module, device: torch.device, sync_batchnorm: bool = False) -> DDP:
    """``module`` (its BatchNorm layers made SyncBatchNorm, in place, if asked) in a DDP wrapper."""
    if sync_batchnorm:
        module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)  # the same module and Parameters
    kwargs = {"device_ids": [device.index]} if device.type == "cuda" else {}
    # No buffer broadcast before every forward (spectral-norm u agrees on every rank anyway, and
    # BatchNorm keeps per-rank statistics); buffers are still synced once, at wrap time.
    if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters:
        kwargs["forward_sync_buffers"] = False  # torch >= 2.14: init sync kept
    else:
        kwargs["broadcast_buffers"] = False
    return DDP(module, **kwargs)


def distribute(trainer, *, sync_batchnorm: bool = False, num_workers: int = 0):
    """Train ``trainer`` with DistributedDataParallel across the processes of the group.

    Call after :func:`init_distributed`, on every rank, with a Trainer built with the same seed
    on every rank (on ``DistInfo.device``) and before its first step. Returns ``trainer``.

    Args:
        trainer: a :class:`~ganedu.train.Trainer`.
        sync_batchnorm: SyncBatchNorm (statistics over all ranks; CUDA only) instead of per-rank.
        num_workers: DataLoader workers for Dataset data.
    """
    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError("distribute() needs a process group: start the program with torchrun "
                         "(torchrun --nproc-per-node N ...) and call init_distributed() first")
    if trainer.wrapped is not None:
        raise ValueError("this trainer is already distributed")
    if sync_batchnorm and trainer.device.type != "cuda":
        raise ValueError("sync_batchnorm=True needs CUDA (torch's SyncBatchNorm runs on GPUs only); "
                         "on the CPU each rank keeps its own BatchNorm statistics")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    # same initial weights (seeded alike, and DDP broadcasts rank 0's), different noise per rank
    if rank > 0:
        trainer.rng.manual_seed(rank_seed(trainer.seed, rank, trainer.steps))
        torch.manual_seed(rank_seed(trainer.seed, rank, trainer.steps))
    share = None  # toy and tensor data: each rank draws from its own stream (seeded above)
    if isinstance(trainer.data, torch.utils.data.Dataset):
        share = sampler_batches(trainer.data, trainer.device, seed=trainer.seed + trainer.steps,
                                rank=rank, world_size=world_size, num_workers=num_workers)
    trainer.parallelize(functools.partial(_ddp, device=trainer.device, sync_batchnorm=sync_batchnorm),
                        next_batch=share, main_process=rank == 0)
    return trainer


def average_buffers(trainer_or_module):
    """Average floating-point buffers over the ranks (BatchNorm running statistics), in place.

    A collective: call it on every rank (before rank 0 saves). Spectral-norm u is identical on
    every rank, so averaging leaves it as it is. No-op outside a process group.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    modules = ([trainer_or_module] if isinstance(trainer_or_module, torch.nn.Module)
               else [trainer_or_module.generator, trainer_or_module.critic])  # the plain networks
    world_size = dist.get_world_size()
    for module in modules:
        for buffer in unwrap(module).buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
                buffer.div_(world_size)


def sampler_batches(dataset, device, *, seed: int = 0, rank: int = 0, world_size: int = 1,
                    num_workers: int = 0):
    """Endless batches ``n -> Tensor[n, ...]`` from ``dataset`` through a ``DistributedSampler``.

    Every epoch is one shared shuffle (seeded by ``seed`` and the epoch) split into ``world_size``
    disjoint shares; rank ``rank`` reads its own. Items may be ``(image, label)``. Pinned memory
    and ``non_blocking`` copies on CUDA.
    """
    device = get_device(device)
    state = {"n": None, "it": None}

    def epochs(n):
        sampler = torch.utils.data.DistributedSampler(dataset, num_replicas=world_size, rank=rank,
                                                      shuffle=True, seed=seed, drop_last=True)
        loader = torch.utils.data.DataLoader(dataset, batch_size=n, sampler=sampler, drop_last=True,
                                             num_workers=num_workers, pin_memory=device.type == "cuda",
                                             persistent_workers=num_workers > 0)
        epoch = 0
        while True:
            sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
            yield from loader
            epoch += 1

    def next_batch(n):
        if state["n"] != n:
            if len(dataset) // world_size < n:
                raise ValueError(f"batch size {n} is larger than each rank's share of the dataset "
                                 f"({len(dataset)} items / {world_size} ranks); use a smaller batch")
            state["n"], state["it"] = n, epochs(n)
        batch = next(state["it"])
        batch = batch[0] if isinstance(batch, (tuple, list)) else batch
        return batch.to(device, non_blocking=True)

    return next_batch


def count_real_images(trainer):
    """A function that says how many real images ``trainer`` has drawn since this call.

    One batch per critic step (the WGAN schedule's extra critic steps included), counted from the
    steps taken rather than at each draw, so that it holds when the step is replayed as a CUDA graph.
    """
    start = trainer.steps

    def images() -> int:
        recipe = trainer.recipe
        return recipe.batch_size * sum(recipe.n_critic_at(t) for t in range(start, trainer.steps))

    return images


def prepare(trainer, info: DistInfo, *, amp=False, channels_last=False, sync_batchnorm=False,
            num_workers=0) -> dict:
    """The CLI's options, in order: layout, precision, then DDP (or loader workers on one process).

    Returns the real-image count of :func:`count_real_images` (for images per second).
    """
    if sync_batchnorm and not info.distributed:
        raise ValueError("--sync-bn only matters with several processes (torchrun --nproc-per-node N)")
    check_int("workers", num_workers, min=0)
    if channels_last:
        channels_last_(trainer)
    if amp:
        if trainer.device.type != "cuda" and info.is_main:
            print(f"ganedu: --amp on {trainer.device.type}: bf16 autocast is meant for CUDA GPUs; on a CPU it "
                  "helps only with bf16 units (AMX / AVX512-BF16), elsewhere it is slower than float32")
        enable_amp(trainer)
    if info.distributed:
        distribute(trainer, sync_batchnorm=sync_batchnorm, num_workers=num_workers)
    elif num_workers and isinstance(trainer.data, torch.utils.data.Dataset):
        trainer.parallelize(next_batch=sampler_batches(trainer.data, trainer.device, num_workers=num_workers,
                                                       seed=trainer.seed + trainer.steps))
    return count_real_images(trainer)


def download(name: str, image_size: int):
    """``--download``: fetch MNIST / Fashion-MNIST / CIFAR-10 if absent (rank 0; the others wait)."""
    from ..data import IMAGE_DATASETS, LARGE_IMAGE_DATASETS, image_dataset, large_image_dataset

    if is_main_process():
        if name in IMAGE_DATASETS:
            image_dataset(name, size=image_size, download=True)
        elif name in LARGE_IMAGE_DATASETS:
            large_image_dataset(name, size=image_size, download=True)
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


# ---- one GPU: mixed precision, memory layout, convolution algorithms ------------------------------
def enable_amp(trainer, dtype: torch.dtype = torch.bfloat16):
    r"""Run the critic and generator steps under ``torch.autocast(dtype=bfloat16)``.

    Convolutions and matrix products run in bf16; reductions, losses and the optimiser stay
    float32 (autocast's op lists), weights stay float32. bf16 has float32's exponent range, so no
    loss scaling (``GradScaler``) is needed; float16 would need one and is not offered. The
    gradient penalty's critic pass on :math:`\hat x` runs with autocast *off* (float32) inside
    ``ganedu.lipschitz.input_gradient``, so its double backward is float32 too. Meant for CUDA
    (Ampere or newer); on a CPU it works (and is tested), and is faster than float32 only on CPUs
    with bf16 units (AMX / AVX512-BF16). Returns ``trainer``.
    """
    if dtype is not torch.bfloat16:
        raise ValueError(f"only bfloat16 autocast is offered (no GradScaler needed), got {dtype}")
    device_type = trainer.device.type
    if device_type not in ("cuda", "cpu"):
        raise ValueError(f"mixed precision is offered on cuda (and cpu for tests), not on {device_type}")
    if device_type == "cuda":
        try:
            native = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # torch < 2.3
            native = torch.cuda.is_bf16_supported()
        if not native:
            raise ValueError(f"{torch.cuda.get_device_name(trainer.device)} has no native bfloat16 (it needs "
                             "an Ampere GPU or newer; Colab's T4 is older): train without --amp")
    trainer.amp = dtype  # the Trainer runs its critic and generator steps under autocast(device, dtype)
    return trainer


def autocast(device: torch.device, dtype: torch.dtype | None):
    """``torch.autocast`` to ``dtype`` on ``device`` (what :func:`enable_amp` asks for), or nothing for None.

    No cast cache: a step replayed as a CUDA graph must cast the weights at every replay. The
    penalty's critic pass runs in float32 whatever this says (``lipschitz.input_gradient``).
    """
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype, cache_enabled=False)


@contextlib.contextmanager
def cudnn_autotuned(device: torch.device):
    """On CUDA, let cuDNN time its convolution algorithms once per shape and keep the fastest."""
    if device.type != "cuda":
        yield
        return
    old = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = old


def channels_last_(trainer):
    """Store the conv networks' kernels channels-last (NHWC): faster convolutions on tensor cores.

    Only 4-D weights change (MLPs are left as they are); call before the first step. Returns ``trainer``.
    """
    for module in (trainer.generator, trainer.critic):
        module.to(memory_format=torch.channels_last)
    return trainer
