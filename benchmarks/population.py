"""Population: K runs of one sweep trained as one batched model, against K separate Trainer runs.

1. ``cpu``: K members of ``wgan-gp-toy`` on 8gaussians (``rng="host"``: each member is exactly its
   Trainer run) against the K Trainers run one after another, the same generator steps each, in one
   process, interleaved (population, sequential, population, ...); medians over repeats.
   Target: population time <= 1.0x the sequential runs.
2. ``cuda`` (skipped without CUDA): one Trainer on the GPU against a population of K members with
   ``rng="device"`` (no host work per step), each as it runs there (its step replayed as a CUDA
   graph). The per-member speed-up is K x (one run's step time) / (the population's step time).
   Target: >= 12x at K = 24.

``python -m benchmarks --only population --out DIR`` runs it (``--tiny``: seconds, numbers meaningless).
"""
from __future__ import annotations

import time

import torch

from ganedu.scale.population import Population
from ganedu.train import Trainer

from . import Clock, median


def _timed(fn, steps, sync=None) -> Clock:
    with Clock().running() as clock:
        for _ in range(steps):
            fn()
        if sync:
            sync()
    return clock


def cpu_comparison(c: dict) -> dict:
    """K members as one population vs K Trainers one after another, interleaved repeats."""
    seeds = list(range(c["members"]))
    pop = Population.from_grid(c["recipe"], c["data"], seeds=seeds, device="cpu", rng="host",
                               **c.get("overrides", {}))
    trainers = [Trainer.from_recipe(c["recipe"], c["data"], device="cpu", seed=s, **c.get("overrides", {}))
                for s in seeds]
    for _ in range(2):  # warm-up: allocator, autograd caches
        pop.step()
        for t in trainers:
            t.step()

    def sequential():
        for t in trainers:
            t.step()

    rows = {"population": [], "sequential": []}
    for _ in range(c["repeats"]):
        rows["population"].append(_timed(pop.step, c["steps"], sync=pop.flush))
        rows["sequential"].append(_timed(sequential, c["steps"], sync=lambda: [t.flush() for t in trainers]))
    wall = {k: median([clock.wall for clock in v]) for k, v in rows.items()}
    cpu = {k: median([clock.cpu for clock in v]) for k, v in rows.items()}
    return dict(members=c["members"], steps=c["steps"], repeats=c["repeats"],
                population_wall_s=round(wall["population"], 3), sequential_wall_s=round(wall["sequential"], 3),
                population_cpu_s=round(cpu["population"], 3), sequential_cpu_s=round(cpu["sequential"], 3),
                ratio_wall=round(wall["population"] / wall["sequential"], 3),
                ratio_cpu=round(cpu["population"] / cpu["sequential"], 3) if cpu["sequential"] else None,
                ratios_wall=[round(p.wall / s.wall, 3) for p, s in zip(rows["population"], rows["sequential"])])


def cuda_comparison(c: dict) -> dict:
    """One Trainer on the GPU vs a K-member population with device-side randomness."""
    if not torch.cuda.is_available():
        return dict(skipped="CUDA is not available")
    sync = torch.cuda.synchronize
    trainer = Trainer.from_recipe(c["recipe"], c["data"], device="cuda", seed=0, **c.get("overrides", {}))
    pop = Population.from_grid(c["recipe"], c["data"], seeds=list(range(c["members"])), device="cuda",
                               rng="device", **c.get("overrides", {}))
    out = dict(members=c["members"], steps=c["cuda_steps"], gpu=torch.cuda.get_device_name(0))
    for name, model in (("single", trainer), ("population", pop)):
        _timed(model.step, c["cuda_warmup"], sync=lambda m=model: (m.flush(), sync()))
        walls = [_timed(model.step, c["cuda_steps"], sync=lambda m=model: (m.flush(), sync())).wall
                 for _ in range(c["repeats"])]
        out[f"{name}_step_ms"] = round(1e3 * median(walls) / c["cuda_steps"], 3)
    out["per_member_speedup"] = round(c["members"] * out["single_step_ms"] / out["population_step_ms"], 2)
    out["graphs"] = dict(single=trainer._graph is not None and trainer._graph[1].recorded,
                         population=bool(pop._graphs) and all(g.recorded for _, g in pop._graphs.values()))
    return out


def run(cfg: dict) -> dict:
    c = cfg["population"]
    t0 = time.perf_counter()
    result = dict(config=c, cpu=cpu_comparison(c), cuda=cuda_comparison(c))
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def render(r: dict, cfg: dict) -> list:
    c, cpu, cuda = r["config"], r["cpu"], r["cuda"]
    rows = [f"{c['members']} members of {c['recipe']} on {c['data']} ({c.get('overrides') or 'its own settings'}), "
            f"{cpu['steps']} generator steps, median of {cpu['repeats']} interleaved repeats. CPU: the "
            "population (`rng=\"host\"`: each member exactly its Trainer run) against the Trainers one after "
            "another (target: <= 1.0x).", "",
            "| | population s | sequential s | population ÷ sequential |", "|---|---:|---:|---:|",
            f"| wall | {cpu['population_wall_s']} | {cpu['sequential_wall_s']} | {cpu['ratio_wall']}x |",
            f"| CPU | {cpu['population_cpu_s']} | {cpu['sequential_cpu_s']} | {cpu['ratio_cpu']}x |", ""]
    if "skipped" in cuda:
        rows.append(f"CUDA: skipped ({cuda['skipped']}).")
    else:
        rows.append(f"CUDA ({cuda['gpu']}, `rng=\"device\"`): one run {cuda['single_step_ms']} ms/step, the "
                    f"population of {cuda['members']} {cuda['population_step_ms']} ms/step: "
                    f"**{cuda['per_member_speedup']}x per member** (target >= 12x); both replayed as CUDA "
                    f"graphs: {cuda.get('graphs')}.")
    return rows
