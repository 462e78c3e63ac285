"""Recorded results: sweeps too long to train live in a notebook, trained once and stored as JSON.

A notebook has a time budget (full mode: 3 minutes on a 2-core CPU), and some lessons need more
evidence than that buys: a grid of settings over several seeds. ``python -m ganedu.lessons.records`` trains
such a grid as one :class:`ganedu.scale.population.Population` and writes ``ganedu/lessons/recorded/<name>.json``
(shipped with the package, so Colab finds it too) with the results, the settings, the date, the
machine and the torch version. The notebook loads it with :func:`load` and shows it labelled
"recorded on <machine>, <date>", beside a small part of the grid computed live.

``make record`` regenerates every record; ``python -m ganedu.lessons.records --tiny --out DIR`` runs a
seconds-long version of each (the tests do).
"""
from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import platform
import statistics
import sys
import time

import torch

from ganedu import cpu_name, torch_threads
from ganedu.checks import check_choice
from ganedu.lessons import collapse, dcgan_factors, one_sided, regularisers, ten_trials

RECORDED_DIR = pathlib.Path(__file__).parent / "recorded"

# Notebook 05, section 5: λ × (n_critic, optimiser setting) × seeds, on 8 Gaussians.
# "toy": wgan-gp-toy's lr 3e-3, decayed linearly to a tenth over the run (lr_decay_steps = steps);
# "paper": WGAN-GP Algorithm 1's constant lr 1e-4. Everything else is wgan-gp-toy's (batch 256,
# MLP width 128, betas (0, 0.9)).
LAMBDA_GRID = dict(
    recipe="wgan-gp-toy", data="8gaussians", steps=2000, every=500, seeds=[0, 1, 2],
    gp_lambda=[0.1, 1.0, 10.0, 100.0],
    settings=[dict(n_critic=1, lr="toy"), dict(n_critic=5, lr="toy"),
              dict(n_critic=1, lr="paper"), dict(n_critic=5, lr="paper")],
    lr={"toy": dict(lr=3e-3, decay=True), "paper": dict(lr=1e-4, decay=False)},
    n_eval=2500, w1_points=1000,
)
TINY = dict(steps=4, every=2, seeds=[0], gp_lambda=[0.1, 10.0], n_eval=200, w1_points=100)

# Notebook 05, section 4: the toy recipe on the three sets of WGAN-GP Figure 1(a), each run as long
# as its learning-rate decay (lr_decay_steps = steps), three seeds, one population per set.
TOY_SETS = dict(recipe="wgan-gp-toy", steps={"8gaussians": 2000, "25gaussians": 6000, "swissroll": 2000},
                seeds=[0, 1, 2], n_eval=2500, w1_points=1000, n_samples=300, grid_lim=2.0, grid_points=60)


def machine(device: str = "cpu") -> dict:
    """The CPU model, the platform, torch's version, the CPU kernels it uses, and the GPU if ``device`` is one."""
    cpu = cpu_name()
    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "unknown")()
    return {"cpu": cpu, "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "cpu_capability": capability, "threads": torch.get_num_threads(),
            **({"gpu": torch.cuda.get_device_name(0)} if str(device).startswith("cuda") else {})}


def lambda_grid_members(spec: dict) -> list:
    """The population's ``(recipe, seed)`` members, and one settings dict per member."""
    from ganedu.train import get_recipe

    members, rows = [], []
    for setting in spec["settings"]:
        opt = spec["lr"][setting["lr"]]
        for lam in spec["gp_lambda"]:
            recipe = get_recipe(spec["recipe"], gp_lambda=float(lam), n_critic=setting["n_critic"],
                                lr_g=opt["lr"], lr_d=opt["lr"],
                                lr_decay_steps=spec["steps"] if opt["decay"] else 0)
            for seed in spec["seeds"]:
                members.append((recipe, seed))
                rows.append({"gp_lambda": float(lam), "n_critic": setting["n_critic"], "lr": setting["lr"],
                             "lr_value": opt["lr"], "lr_decay_steps": recipe.lr_decay_steps, "seed": seed})
    return members, rows


def _grad_norms(critic, real, fake, seed):
    """‖∇c(x̂)‖ at x̂ on the segments between real and fake points, ε ~ U[0, 1] per sample (seeded)."""
    from ganedu.lipschitz import gradient_norms, input_gradient, interpolate

    eps = torch.rand(len(real), 1, generator=torch.Generator().manual_seed(seed + 3))
    x_hat = interpolate(real, fake, eps=eps)
    return gradient_norms(input_gradient(critic, x_hat, create_graph=False)).detach()


def record_lambda_grid(spec: dict | None = None, progress: bool = True, device: str = "cpu") -> dict:
    """Train the λ grid as one population; return the record (a JSON-ready dict)."""
    from ganedu.data import sample_toy
    from ganedu.metrics import w1_to_data
    from ganedu.scale.population import Population

    spec = dict(LAMBDA_GRID if spec is None else spec)
    members, rows = lambda_grid_members(spec)
    pop = Population(members, spec["data"], device=device)
    checkpoints = []

    def checkpoint(p):
        metrics = p.evaluate(n=spec["n_eval"], w1_points=spec["w1_points"])
        checkpoints.append({"step": p.steps, "seconds": round(time.perf_counter() - t0, 1), "metrics": metrics})
        if progress:
            hq = [m.get("hq", float("nan")) for m in metrics]
            print(f"step {p.steps}: {time.perf_counter() - t0:.0f} s, mean HQ {statistics.mean(hq):.3f}", flush=True)

    t0 = time.perf_counter()
    pop.train(spec["steps"], callback=checkpoint, every=spec["every"], progress=False)
    seconds = time.perf_counter() - t0

    history, final = pop.history, checkpoints[-1]["metrics"]
    samples = pop.sample(spec["n_eval"])
    results = []
    for k, (row, (_, seed)) in enumerate(zip(rows, members)):
        real = sample_toy(spec["data"], 2 * spec["w1_points"], generator=torch.Generator().manual_seed(seed + 2))
        _, critic = pop.member(k)
        norms = _grad_norms(critic, real[: spec["w1_points"]], samples[k][: spec["w1_points"]], seed)
        results.append({
            **row, "status": "diverged" if k in pop.diverged else "ok",
            "modes": final[k]["modes"], "hq": round(final[k]["hq"], 4), "w1": round(final[k]["w1"], 4),
            "w1_floor": round(w1_to_data(real[spec["w1_points"]:], real[: spec["w1_points"]],
                                         max_points=spec["w1_points"]), 4),
            "w_estimate": round(history[k]["w_estimate"][-1], 4) if history[k]["w_estimate"] else None,
            "grad_norm_median": round(norms.median().item(), 4),
            "grad_norm_near_1": round(((norms - 1).abs() < 0.1).float().mean().item(), 4),
            "trajectory": [{"step": c["step"], "modes": c["metrics"][k]["modes"],
                            "hq": round(c["metrics"][k]["hq"], 4), "w1": round(c["metrics"][k]["w1"], 4)}
                           for c in checkpoints],
        })
    return envelope("05_lambda_grid", "notebook 05 section 5: WGAN-GP on 8 Gaussians, gp_lambda x n_critic x "
                    "learning rate x seeds, trained as one ganedu.scale.population.Population (each member exactly "
                    "its own Trainer run)", device, seconds, spec, results,
                    diverged={str(k): msg for k, msg in pop.diverged.items()})


def envelope(name: str, what: str, device: str, seconds: float, spec: dict, results: list, **extra) -> dict:
    """A record: its name, what it is, date, machine, ganedu version, the command that remakes it, then the data."""
    return {"name": name, "what": what, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
            "machine": machine(device), "ganedu": __import__("ganedu").__version__,
            "command": f"python -m ganedu.lessons.records {name}" + (f" --device {device}" if device != "cpu" else ""),
            "seconds": round(seconds, 1), "spec": spec, "results": results, **extra}


def _steps_for(spec: dict, data: str) -> int:
    """The run length for ``data``: a per-set dict, or one number for all (the --tiny runs)."""
    return spec["steps"][data] if isinstance(spec["steps"], dict) else spec["steps"]


def record_toy_sets(spec: dict | None = None, progress: bool = True, device: str = "cpu") -> dict:
    """Train wgan-gp-toy on each toy set for every seed (one population per set); return the record."""
    from ganedu.data import sample_toy
    from ganedu.lipschitz import lipschitz_estimate
    from ganedu.metrics import w1_to_data
    from ganedu.scale.population import Population

    spec = dict(TOY_SETS if spec is None else spec)
    lim, k = spec["grid_lim"], spec["grid_points"]
    grid = torch.stack(torch.meshgrid(*[torch.linspace(-lim, lim, k)] * 2, indexing="ij"), -1).reshape(-1, 2)
    results, t0 = [], time.perf_counter()
    for data in TOY_SETS["steps"]:
        steps = _steps_for(spec, data)
        pop = Population.from_grid(spec["recipe"], data, seeds=list(spec["seeds"]), device=device,
                                   lr_decay_steps=steps)
        pop.train(steps, progress=False)
        metrics, samples = pop.evaluate(n=spec["n_eval"], w1_points=spec["w1_points"]), pop.sample(spec["n_samples"])
        for m, ((_, seed), fake) in enumerate(zip(pop.members, samples)):
            real = sample_toy(data, 2 * spec["w1_points"], generator=torch.Generator().manual_seed(seed + 2))
            w_hist = pop.history[m]["w_estimate"]
            results.append({
                "data": data, "seed": seed, "steps": steps, "status": "diverged" if m in pop.diverged else "ok",
                **{key: metrics[m][key] for key in ("modes", "modes_total") if key in metrics[m]},
                **{key: round(metrics[m][key], 4) for key in ("hq", "w1") if key in metrics[m]},
                "w1_floor": round(w1_to_data(real[spec["w1_points"]:], real[: spec["w1_points"]],
                                             max_points=spec["w1_points"]), 4),
                "w_estimate": round(w_hist[-1], 4) if w_hist else None,
                "max_grad_norm": round(lipschitz_estimate(pop.member(m)[1], grid), 4),
                "samples": [[round(v, 4) for v in row] for row in fake.tolist()],
            })
        if progress:
            print(f"{data}: {len(pop.members)} seeds x {steps} steps, {time.perf_counter() - t0:.0f} s", flush=True)
    return envelope("05_toy_sets", "notebook 05 section 4: wgan-gp-toy on 8gaussians, 25gaussians and swissroll, "
                    "the learning-rate decay spanning each run, several seeds, one ganedu.scale.population.Population "
                    "per set", device, time.perf_counter() - t0, spec, results)


# The dashboard's replay (notebook 05): the dashboard's recipe as it ships, on its data and seed,
# its samples at every checkpoint, for machines too slow to train it live in a lecture.
DASHBOARD_RUN = dict(recipe="wgan-gp-toy", data="8gaussians", seed=0, steps=2000, every=100, n_samples=256)
TINY_RUN = dict(steps=4, every=2, n_samples=16)


def record_dashboard_run(spec: dict | None = None, progress: bool = True, device: str = "cpu") -> dict:
    """Train the dashboard's run once (``Trainer.from_recipe``, as ``TrainingDashboard`` does) and keep, at
    step 0 and every ``every`` steps, the samples it shows (``Trainer.sample``) and their modes, HQ and W1
    (``metrics.score_samples`` against ``Trainer.real_batch``, as the dashboard scores them)."""
    from ganedu.metrics import score_samples
    from ganedu.train import Trainer

    spec = dict(DASHBOARD_RUN if spec is None else spec)
    trainer = Trainer.from_recipe(spec["recipe"], spec["data"], seed=spec["seed"], device=device)
    real, n = trainer.real_batch(2000), spec["n_samples"]
    checkpoints, t0 = [], time.perf_counter()

    def keep(tr):
        fake = torch.round(tr.sample(n), decimals=3)  # as stored: the scores are those of the stored points
        scores = score_samples(fake, spec["data"], real=real[:n], n_w1=n)
        checkpoints.append({"step": tr.steps, "modes": scores["modes"], "modes_total": scores["modes_total"],
                            "hq": round(scores["hq"], 4), "w1": round(scores["w1"], 4),
                            "samples": [[round(v, 3) for v in p] for p in fake.tolist()]})

    keep(trainer)
    trainer.train(spec["steps"], callback=keep, every=spec["every"], progress=progress)
    record = envelope("05_dashboard_run", "notebook 05's dashboard: its recipe as it ships on its data and seed, the "
                      "samples it shows at every checkpoint (the replay control scrubs through them)", device,
                      time.perf_counter() - t0, spec, checkpoints)
    record["caption"] = label(record)
    return record


#: records sized for a GPU (hours on a laptop CPU): `make record` on a CPU skips them unless named
GPU_SIZED = ("07_ten_trials",)
RECORDS = {"02_dcgan_factors": (dcgan_factors.record, dcgan_factors.SPEC, dcgan_factors.TINY),
           "05_lambda_grid": (record_lambda_grid, LAMBDA_GRID, TINY), "05_toy_sets": (record_toy_sets, TOY_SETS, TINY),
           "05_dashboard_run": (record_dashboard_run, DASHBOARD_RUN, TINY_RUN),
           "05_one_sided": (one_sided.record, one_sided.SPEC, one_sided.TINY),
           "07_ten_trials": (ten_trials.record, ten_trials.SPEC, ten_trials.TINY),
           "09_regularisers": (regularisers.record, regularisers.SPEC, regularisers.TINY),
           "09_cures": (collapse.record, collapse.SPEC, collapse.TINY)}


def path(name: str) -> pathlib.Path:
    """Where the shipped record ``name`` lives (``ganedu/lessons/recorded/<name>.json``)."""
    check_choice("name", name, tuple(sorted(RECORDS)))
    return RECORDED_DIR / f"{name}.json"


def load(name: str) -> dict:
    """The shipped record ``name`` as a dict (see :data:`RECORDS`)."""
    p = path(name)
    if not p.exists():
        raise FileNotFoundError(f"no record {p}: run `make record` (python -m ganedu.lessons.records {name})")
    return json.loads(p.read_text())


def label(record: dict) -> str:
    """"recorded on <cpu>, <date> (torch <version>)", the caption a notebook shows beside a record."""
    m = record["machine"]
    if "gpu" in m:
        return f"recorded on an {m['gpu']} GPU (host {m['cpu']}), {record['date']} (torch {m['torch']})"
    return f"recorded on {m['cpu']} ({m['threads']} thread, {m['cpu_capability']} kernels), {record['date']} (torch {m['torch']})"


# ------------------------------------------------------------------------- reading the λ grid
WORST = {"modes": min, "hq": min, "w1": max}  # the worst seed: fewest modes, lowest HQ, largest W1


def setting_label(record: dict, n_critic: int, lr: str) -> str:
    """E.g. "n_critic 5, lr 1e-4" or "n_critic 1, lr 3e-3 decayed"."""
    opt = record["spec"]["lr"][lr]
    return f"n_critic {n_critic}, lr {opt['lr']:.0e}".replace("e-0", "e-") + (" decayed" if opt["decay"] else "")


def summarize(record: dict) -> list:
    """One row per (n_critic, lr, λ): the mean and the worst seed of ``modes``, ``hq`` and ``w1``
    (worst: fewest modes, lowest HQ, largest W1), the seeds, how many seeds covered every mode
    (``all_modes``) and how many runs diverged."""
    from ganedu.data import toy_modes

    n_modes, cells = len(toy_modes(record["spec"]["data"])), {}
    for row in record["results"]:
        cells.setdefault((row["n_critic"], row["lr"], row["gp_lambda"]), []).append(row)
    out = []
    for (n_critic, lr, lam), rows in cells.items():
        summary = {"n_critic": n_critic, "lr": lr, "setting": setting_label(record, n_critic, lr),
                   "gp_lambda": lam, "seeds": [r["seed"] for r in rows],
                   "all_modes": sum(r["modes"] == n_modes for r in rows),
                   "diverged": sum(r["status"] != "ok" for r in rows)}
        for key, worst in WORST.items():
            values = [r[key] for r in rows]
            summary[f"{key}_mean"] = statistics.mean(values)
            summary[f"{key}_worst"] = worst(values)
        out.append(summary)
    return out


def format_table(record: dict) -> str:
    """The grid as text: per setting and λ, modes / HQ / W1 as mean (worst seed)."""
    n_seeds = len(record["spec"]["seeds"])
    lines = [f"mean over seeds {record['spec']['seeds']}, worst seed in brackets",
             f"{'setting':26s} {'λ':>6s} {'modes':>12s} {'HQ':>14s} {'W1':>14s} {'all modes':>10s}"]
    previous = None
    for s in summarize(record):
        name = s["setting"] if s["setting"] != previous else ""
        previous = s["setting"]
        note = f"  {s['diverged']} diverged" if s["diverged"] else ""
        lines.append(f"{name:26s} {s['gp_lambda']:6g} {s['modes_mean']:5.1f} ({s['modes_worst']:d}/8)"
                     f" {s['hq_mean']:7.3f} ({s['hq_worst']:.3f}) {s['w1_mean']:7.3f} ({s['w1_worst']:.3f})"
                     f" {s['all_modes']:>3d} of {n_seeds}{note}")
    return "\n".join(lines)


def trajectories(record: dict, key: str = "hq") -> dict:
    """``{(n_critic, lr, λ): [mean over seeds of key at each checkpoint]}`` and the checkpoint steps."""
    out = {}
    for row in record["results"]:
        out.setdefault((row["n_critic"], row["lr"], row["gp_lambda"]), []).append([t[key] for t in row["trajectory"]])
    steps = [t["step"] for t in record["results"][0]["trajectory"]]
    return steps, {k: [statistics.mean(v) for v in zip(*runs)] for k, runs in out.items()}


def format_trajectories(record: dict, key: str = "hq") -> str:
    """Per setting and λ, the mean over seeds of ``key`` at every checkpoint: still rising at the end?"""
    steps, curves = trajectories(record, key)
    lines = [f"{'setting':26s} {'λ':>6s} " + "".join(f"{'step ' + str(s):>11s}" for s in steps)
             + f"   (mean {key} over seeds)"]
    for (n_critic, lr, lam), curve in curves.items():
        lines.append(f"{setting_label(record, n_critic, lr):26s} {lam:6g} " + "".join(f"{v:11.3f}" for v in curve))
    return "\n".join(lines)


def plot_grid(record: dict, panels=(("modes", "worst"), ("hq", "mean"), ("hq", "worst"), ("w1", "mean"))):
    """Heat maps of the grid: one panel per (metric, mean | worst), settings down, λ across; returns the Figure."""
    from ganedu.plot import new_figure

    rows = summarize(record)
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    lambdas = list(dict.fromkeys(r["gp_lambda"] for r in rows))
    titles = {"modes": "modes covered (of 8)", "hq": "high-quality fraction", "w1": "W1 to the data"}
    fig = new_figure((3.3 * len(panels), 0.55 * len(settings) + 1.7))
    for i, (ax, (key, stat)) in enumerate(zip(fig.subplots(1, len(panels)), panels)):
        grid = [[next(r[f"{key}_{stat}"] for r in rows if r["setting"] == s and r["gp_lambda"] == lam)
                 for lam in lambdas] for s in settings]
        better_high = key != "w1"
        ax.imshow(grid, cmap="cividis" if better_high else "cividis_r", aspect="auto",
                  vmin=0 if key != "w1" else None, vmax={"modes": 8, "hq": 1}.get(key))
        for y, line in enumerate(grid):
            for x, v in enumerate(line):
                ax.text(x, y, f"{v:.0f}" if key == "modes" and stat == "worst" else f"{v:.2f}",
                        ha="center", va="center", fontsize=8, color="w" if (v < 0.5 * (8 if key == "modes" else 1)
                        if better_high else v > 0.5) else "k")
        ax.set(xticks=range(len(lambdas)), xticklabels=[f"{lam:g}" for lam in lambdas], xlabel="λ",
               yticks=range(len(settings)), yticklabels=settings if i == 0 else [],
               title=f"{titles[key]}, {'worst seed' if stat == 'worst' else 'mean'}")
        ax.tick_params(labelsize=8)
        ax.title.set_fontsize(9)
    return fig


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ganedu.lessons.records",
        description="Train the notebooks' recorded grids (as populations) and write them as JSON.")
    parser.add_argument("names", nargs="*", help=f"records to make (default: all: {', '.join(RECORDS)}; on the CPU "
                        f"all but the GPU-sized {', '.join(GPU_SIZED)}, which take hours there)")
    parser.add_argument("--out", type=pathlib.Path, default=RECORDED_DIR, help="folder for <name>.json (default: ganedu/lessons/recorded)")
    parser.add_argument("--tiny", action="store_true", help="a few steps, one seed: checks the code path in seconds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fastest for these small MLPs)")
    parser.add_argument("--device", default="cpu", help="where the populations train (default cpu; 07_ten_trials was made on cuda)")
    args = parser.parse_args(argv)
    if not args.names:
        gpu = args.tiny or args.device.startswith("cuda")
        args.names = [n for n in sorted(RECORDS) if gpu or n not in GPU_SIZED]
        if not gpu:
            print(f"skipping {', '.join(GPU_SIZED)} (GPU-sized: name it, or add --device cuda)")
    for name in args.names:
        if name not in RECORDS:
            parser.error(f"unknown record {name!r}: choose from {', '.join(RECORDS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        fn, spec, tiny = RECORDS[name]
        spec = {**spec, **(tiny if args.tiny else {})}
        with torch_threads(args.threads):
            record = fn(spec, device=args.device)
        if args.tiny:
            record["command"] += " --tiny"
        out = args.out / f"{name}.json"
        out.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB, {record['seconds']:.0f} s of training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
