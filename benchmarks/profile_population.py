"""Where a population's GPU step spends its time: kernels per step, one run against K members.

Profiles eager steps (torch.profiler, CUDA kernels only) of one ``wgan-gp-toy`` Trainer and of
populations of K members, prints the kernels that take the most time, and times graph replays of
populations of several sizes (``rng="device"``), so the per-member cost can be read off as a slope.

``python -m benchmarks.profile_population`` (CUDA only; a GPU session runs it from ``gpu_session.sh``).
"""
from __future__ import annotations

import time

import torch
from torch.profiler import ProfilerActivity, profile

from ganedu.scale.population import Population
from ganedu.train import Trainer


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _replay_ms(model, steps=200, warmup=20) -> float:
    for _ in range(warmup):
        model.step()
    model.flush()
    _sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step()
    model.flush()
    _sync()
    return 1e3 * (time.perf_counter() - t0) / steps


def _kernel_table(model, steps=10, top=25, label=""):
    for _ in range(3):
        model.step()
    model.flush()
    _sync()
    cuda = torch.cuda.is_available()
    with profile(activities=[ProfilerActivity.CUDA if cuda else ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            model.step()
        model.flush()
        _sync()
    time_of = (lambda e: e.self_device_time_total) if cuda else (lambda e: e.self_cpu_time_total)
    events = [e for e in prof.key_averages() if time_of(e) > 0]
    total_us = sum(time_of(e) for e in events)
    count = sum(e.count for e in events)
    print(f"\n== {label}: {count / steps:.0f} kernels/step, {total_us / steps / 1e3:.3f} ms of kernel time/step")
    events.sort(key=lambda e: -time_of(e))
    for e in events[:top]:
        print(f"  {time_of(e) / steps:8.1f} us/step  {e.count / steps:5.1f}x  {e.key[:110]}")


def _population(device, k, **kw):
    return Population.from_grid("wgan-gp-toy", "8gaussians", seeds=list(range(k)), device=device, rng="device", **kw)


def _variants(device: str, k: int, one: float, steps: int):
    """The population of k with one thing changed at a time: what each would buy per member."""
    import ganedu.scale.stacked as stacked

    def report(label, pop):
        ms = _replay_ms(pop, steps=steps, warmup=min(20, steps))
        print(f"  population K={k}, {label}: {ms:.3f} ms/step  per-member {k * one / ms:.2f}x", flush=True)

    report("no flush while timed", _population(device, k, flush_every=10**9))
    fused = stacked.make_optimizer
    try:
        for label, kw in (("Adam foreach", dict(foreach=True)), ("Adam single-tensor", dict(foreach=False))):
            def make(recipe, params, lr, *, capturable=False, kw=kw):
                lr = torch.tensor(float(lr), device=device) if capturable else lr
                return torch.optim.Adam(list(params), lr=lr, betas=recipe.betas, capturable=capturable, **kw)
            stacked.make_optimizer = make
            report(label, _population(device, k))
    finally:
        stacked.make_optimizer = fused
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        report("allow_tf32=True (changes the numbers)", _population(device, k))
    finally:
        torch.backends.cuda.matmul.allow_tf32 = False


def main(device="cuda", sizes=(1, 4, 12, 24, 48, 96), k=24, steps=200):
    """On CUDA, the whole report; ``device="cpu"`` with small sizes is a dry run of the same code."""
    if device == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available: nothing to profile")
        return
    print(torch.cuda.get_device_name(0) if device == "cuda" else device, torch.__version__)
    single = Trainer.from_recipe("wgan-gp-toy", "8gaussians", device=device, seed=0)
    single.use_cuda_graphs = False
    _kernel_table(single, steps=min(10, steps), label="one Trainer, eager")
    pop = _population(device, k)
    pop.graphs = False
    _kernel_table(pop, steps=min(10, steps), label=f"population of {k}, eager")
    print("\n== graph replay, ms per step")
    one = _replay_ms(Trainer.from_recipe("wgan-gp-toy", "8gaussians", device=device, seed=0),
                     steps=steps, warmup=min(20, steps))
    print(f"  Trainer: {one:.3f} ms")
    for size in sizes:
        ms = _replay_ms(_population(device, size), steps=steps, warmup=min(20, steps))
        print(f"  population K={size:3d}: {ms:.3f} ms/step  per-member speed-up {size * one / ms:.2f}x", flush=True)
    _variants(device, k, one, steps)


if __name__ == "__main__":
    import sys
    if "--dry" in sys.argv:
        main("cpu", sizes=(2,), k=2, steps=3)
    else:
        main()
