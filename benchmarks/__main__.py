"""``python -m benchmarks``: run the benchmarks, print the tables, write JSON and RESULTS.md.

    python -m benchmarks                      # everything (about 30-60 min on a 2-core CPU)
    python -m benchmarks --only throughput    # one section; the others keep their last results
    python -m benchmarks --quick              # 1 seed, smaller caps: a few minutes
    python -m benchmarks --tiny --out DIR     # seconds: the test's configuration (numbers meaningless)

Results accumulate in ``<out>/results.json`` (one entry per section, each with its own date and
machine) and ``<out>/RESULTS.md`` is regenerated from all of them.
"""
from __future__ import annotations

import argparse
import copy
import json
import pathlib
import sys

from . import machine, set_threads

SECTIONS = ("throughput", "time_to_quality", "dcgan_digits", "notebooks", "sweep", "population", "literature",
            "gpu", "live")
DEFAULT_SECTIONS = SECTIONS[:4]  # the others are long (or need a GPU): run them with --only
HERE = pathlib.Path(__file__).resolve().parent
TOY_RECIPES = ["wgan-gp-toy", "sngan-toy", "wgan-toy", "nsgan-toy", "gan-toy"]

FULL = dict(
    threads=1, seeds=[0, 1, 2], check_every=50, n_eval=2500, n_w1=1000, swissroll_factor=1.5,
    recipes=TOY_RECIPES, datasets=["8gaussians", "25gaussians", "swissroll"], sweep_seeds=[0, 1, 2],
    # the slow pairs that teach nothing new are left out (the baseline is the 8gaussians reference)
    skip=[(r, d) for d in ("25gaussians", "swissroll") for r in TOY_RECIPES[2:] + ["baseline"]],
    caps={"default": dict(steps=6000, seconds=60), "25gaussians": dict(steps=12000, seconds=120),
          "swissroll": dict(steps=6000, seconds=60), "baseline": dict(steps=20000, seconds=400)},
    # wgan-gp-toy decays its learning rate over 2,000 steps; the grid needs a longer run (its note)
    data_overrides={"25gaussians": {"wgan-gp-toy": dict(lr_decay_steps=6000)}},
    throughput_steps=dict(reference=5, recipes=20, threads=20), repeats=5,
    recipes_throughput=TOY_RECIPES + ["wgan-gp", "wgan", "sngan", "nsgan", "gan"], thread_counts=[1, 2],
    dcgan=dict(image_sizes=[16, 32], batch_size=128, max_steps=14, repeats=3),
    notebooks_dir=str(HERE.parent / "notebooks"), notebook_modes=["quick", "full"],
    gpu=dict(toy_recipes=TOY_RECIPES, cpu_recipes=["wgan-gp-toy", "sngan-toy"], warmup=8, seconds=1.0,
             seeds=[0, 1, 2], check_every=50, n_eval=2500, max_steps=4000,
             dcgan_sizes=[32, 64], dcgan_batch=128, repeats=3,
             precision_sizes=[32, 64], precision_recipes=["dcgan", "wgan", "wgan-gp", "sngan"],
             precision_batches=[64, 128, 512], precision_seconds=0.5),
    literature=dict(recipe="wgan-gp-toy", data="25gaussians", seeds=list(range(10)),
                    checkpoints=[6000, 10000, 15000, 20000],
                    grid=dict(lr_decay_steps=[6000, 10000], lr_floor=[0.01, 0.003]), n_eval=2500, w1_points=500),
    population=dict(recipe="wgan-gp-toy", data="8gaussians", members=24, steps=30, repeats=3,
                    cuda_steps=200, cuda_warmup=20),
    live=dict(recipe="wgan-gp-toy", data="8gaussians", seeds=[0, 1, 2], cap_s=90, baseline_steps=250, goal_s=20,
              need=dict(modes=8, hq=0.9)),
)
QUICK = dict(FULL, seeds=[0], notebook_modes=["quick"], repeats=3,
             caps={"default": dict(steps=4000, seconds=40), "25gaussians": dict(steps=8000, seconds=90),
                   "swissroll": dict(steps=4000, seconds=40), "baseline": dict(steps=5000, seconds=120)})
# A few seconds in all: every code path once, tiny networks. The numbers mean nothing.
TINY = dict(
    FULL, tiny=True, seeds=[0], check_every=2, n_eval=200, n_w1=50, recipes=["wgan-gp-toy"],
    datasets=["8gaussians", "swissroll"], skip=[("baseline", "swissroll")],
    overrides={"wgan-gp-toy": dict(width=8, batch_size=16)},
    baseline_settings=dict(width=8, batch_size=16), same_config_overrides=dict(width=8, batch_size=16),
    caps={"default": dict(steps=4, seconds=5), "baseline": dict(steps=4, seconds=5)},
    throughput_steps=dict(reference=1, recipes=1, threads=1), repeats=1,
    recipes_throughput=["wgan-gp-toy"], thread_counts=[1],
    dcgan=dict(image_sizes=[8], batch_size=8, max_steps=1, repeats=1),
    notebook_modes=["quick"], sweep=[{}, dict(lr_g=1e-3)], sweep_seeds=[0], timing_steps=2,
    gpu=dict(device="cpu", toy_recipes=["wgan-gp-toy"], cpu_recipes=["wgan-gp-toy"], warmup=1, seconds=0.01,
             seeds=[0], check_every=2, n_eval=100, max_steps=2, overrides={"wgan-gp-toy": dict(width=8, batch_size=16)},
             dcgan_sizes=[8], dcgan_batch=8, repeats=1, precision_sizes=[8], precision_recipes=["dcgan"],
             precision_batches=[8], precision_seconds=0.01),
    literature=dict(recipe="wgan-gp-toy", data="25gaussians", seeds=[0, 1], checkpoints=[2, 3], device="cpu",
                    grid=dict(lr_floor=[0.1, 0.01]), overrides=dict(width=8, batch_size=16), n_eval=100, w1_points=20),
    population=dict(recipe="wgan-gp-toy", data="8gaussians", members=3, steps=2, repeats=1,
                    overrides=dict(width=8, batch_size=16), cuda_steps=2, cuda_warmup=1),
    live=dict(recipe="wgan-gp-toy", data="8gaussians", seeds=[0], cap_s=5.0, baseline_steps=2, goal_s=20,
              need=dict(modes=0, hq=0.0), overrides=dict(width=8, batch_size=16)),
)


def run_section(name: str, cfg: dict) -> dict:
    from importlib import import_module

    module = import_module(f"benchmarks.{name}")
    result = module.run(copy.deepcopy(cfg))
    return dict(machine=machine(), config=_jsonable(_section_config(name, cfg)), result=result)


def _section_config(name, cfg):
    keys = {"throughput": ("threads", "throughput_steps", "repeats", "recipes_throughput", "thread_counts"),
            "time_to_quality": ("threads", "seeds", "check_every", "n_eval", "n_w1", "swissroll_factor",
                                "recipes", "datasets", "caps", "data_overrides"),
            "dcgan_digits": ("threads", "dcgan"),
            "notebooks": ("notebooks_dir", "notebook_modes"),
            "sweep": ("threads", "sweep_seeds", "check_every", "n_eval", "caps", "timing_steps"),
            "population": ("threads", "population"),
            "literature": ("threads", "literature"),
            "gpu": ("threads", "gpu"),
            "live": ("threads", "live")}[name]
    return {k: cfg[k] for k in keys if k in cfg}


def _jsonable(x):
    return json.loads(json.dumps(x, default=str))


# ------------------------------------------------------------------------------- report
def _fmt(x, nd=1):
    if x is None:
        return "–"
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def render(results: dict) -> str:
    """RESULTS.md from the stored results (every section that has been run)."""
    out = ["# ganedu benchmarks", "",
           "Regenerated by `python -m benchmarks` (or `make bench`); raw numbers in `results.json`. "
           "See `benchmarks/__init__.py` for what is measured and how. CPU seconds are this process's "
           "(`time.process_time`, one intra-op thread unless stated): what the wall time would be on an "
           "idle core. Wall seconds are what it took on the machine at that moment, under the load shown.",
           ""]
    out += _headline(results)
    for name in SECTIONS:
        if name not in results:
            continue
        sec = results[name]
        m = sec["machine"]
        out += [f"## {name.replace('_', ' ').capitalize()}", "",
                f"_{m['date']} · {m['cpu']} · {m['cores']} cores · torch {m['torch']} · "
                f"{sec['config'].get('threads', m['threads'])} thread(s) · load average {m['loadavg']}"
                + (f" · GPU {m['gpu']}" if m.get("gpu") else "") + "_", ""]
        out += globals()[f"_render_{name}"](sec["result"], sec["config"]) + [""]
    return "\n".join(out).rstrip() + "\n"


def _render_throughput(r, cfg):
    c = r["config"]
    rows = ["Generator steps per second (each with n_critic critic steps), median of "
            f"{cfg.get('repeats')} interleaved repeats. Same configuration as the baseline: MLP "
            f"{c['width']} x {c['depth']}, batch {c['batch_size']}, n_critic {c['n_critic']}, "
            f"λ {c['gp_lambda']}, Adam {c['lr_g']:g} {tuple(c['betas'])}, z {c['z_dim']}.", "",
            "| implementation | steps/s (wall) | steps/s (CPU) | Trainer ÷ this (wall) | Trainer ÷ this (CPU) |",
            "|---|---:|---:|---:|---:|"]
    for k, v in r["same_config"].items():
        rows.append(f"| {k} | {_fmt(v['steps_per_s'], 2)} | {_fmt(v['cpu_steps_per_s'], 2)} | "
                    f"{_fmt(v['trainer_ratio'], 2)}x | {_fmt(v['trainer_ratio_cpu'], 2)}x |")
    rows += ["", "Every recipe at its own settings (8gaussians):", "",
             "| recipe | steps/s (wall) | steps/s (CPU) |", "|---|---:|---:|"]
    rows += [f"| {k} | {_fmt(v['steps_per_s'], 1)} | {_fmt(v['cpu_steps_per_s'], 1)} |"
             for k, v in r["recipes"].items()]
    rows += ["", "Intra-op threads (wall time only: CPU time counts every thread):", "",
             "| model, threads | steps/s (wall) |", "|---|---:|"]
    rows += [f"| {k} | {_fmt(v['steps_per_s'], 1)} |" for k, v in r["threads"].items()]
    return rows


def _render_time_to_quality(r, cfg):
    rows = [f"Median over seeds {cfg.get('seeds')}; a median marked `>` is a lower bound (most runs hit "
            f"the cap without reaching quality). Quality checked every {cfg.get('check_every')} steps "
            f"(baseline: every {2 * cfg.get('check_every', 0)}) on {cfg.get('n_eval')} samples; checks "
            "not timed."]
    if r.get("swissroll"):
        s = r["swissroll"]
        rows += ["", f"Swissroll threshold: exact W1 ≤ {s['factor']} × {s['floor']:.4f} = "
                     f"{s['threshold']:.4f}, where {s['floor']:.4f} is the median W1 between two "
                     f"independent data samples of n = {s['n']} (the best a perfect generator can score)."]
    rows += ["", "| data | runner | reached | steps | CPU s | wall s | last check |",
             "|---|---|---:|---:|---:|---:|---|"]
    for row in r["rows"]:
        lb = ">" if row["lower_bound"] else ""
        last = row["runs"][-1]
        detail = ", ".join(f"{k}={v}" for k, v in last.items() if k in ("modes", "hq", "w1"))
        rows.append(f"| {row['data']} | {row['runner']} | {row['reached']}/{len(row['runs'])} | "
                    f"{lb}{_fmt(row['steps'])} | {lb}{_fmt(row['cpu_s'])} | {lb}{_fmt(row['wall_s'])} | "
                    f"{detail} |")
    ratio = _ttq_ratio(r)
    if ratio:
        rows += ["", ratio]
    return rows


def _ttq_ratio(r):
    by = {(row["data"], row["runner"]): row for row in r["rows"]}
    fast, base = by.get(("8gaussians", "wgan-gp-toy")), by.get(("8gaussians", "baseline"))
    if not fast or not base or not fast["cpu_s"] or fast["lower_bound"]:
        return None
    bound = "≥ " if base["lower_bound"] else ""
    return (f"**8gaussians: wgan-gp-toy reaches quality {bound}{base['cpu_s'] / fast['cpu_s']:.1f}x sooner "
            f"(CPU seconds) and {bound}{base['wall_s'] / fast['wall_s']:.1f}x sooner (wall) than the baseline "
            f"at its reference settings.**")


def _render_sweep(r, cfg):
    rows = [f"wgan-gp-toy with one change at a time, 8gaussians, seeds {cfg.get('sweep_seeds')}; medians "
            "(`>`: a lower bound, most runs hit the cap).", "",
            "| change | width | batch | lr_g | lr_d | lr decay | betas | n_critic | λ | z | reached | steps | CPU s | HQ per seed |",
            "|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|"]
    if "members" in r:
        rows[0] += (f" All {r['members']} runs trained as one population (`rng=\"host\"`: each member exactly its "
                    f"Trainer run), {r['population_steps']} steps, {r['population_cpu_s']} CPU s of training; "
                    "CPU s to quality = steps x the setting's CPU s per step, timed on one Trainer.")
    for x in r["rows"]:
        c, lb = x["recipe"], ">" if x["lower_bound"] else ""
        change = ", ".join(f"{k}={v}" for k, v in x["overrides"].items()) or "(the recipe)"
        decay = (f"over {c['lr_decay_steps']} to x{c['lr_floor']:g}" if c.get("lr_decay_steps") else "none")
        rows.append(f"| {change} | {c['width']} | {c['batch_size']} | {c['lr_g']:g} | {c['lr_d']:g} | {decay} | "
                    f"{tuple(c['betas'])} | {c['n_critic']} | {c['gp_lambda']:g} | {c['z_dim'] or 2} | "
                    f"{x['reached']}/{len(x['runs'])} | {lb}{_fmt(x['steps'])} | {lb}{_fmt(x['cpu_s'])} | "
                    f"{[run.get('hq') for run in x['runs']]} |")
    return rows


def _render_literature(r, cfg):
    from .literature import render

    return render(r, cfg)


def _render_population(r, cfg):
    from .population import render
    return render(r, cfg)


def _render_live(r, cfg):
    from .live import render
    return render(r, cfg)


def _headline(results):
    """The few numbers the README quotes, from whatever sections exist."""
    lines = []
    ttq = results.get("time_to_quality", {}).get("result")
    if ttq:
        by = {(row["data"], row["runner"]): row for row in ttq["rows"]}
        for data, label in (("8gaussians", "8/8 modes, ≥ 90% HQ"), ("25gaussians", "≥ 24/25 modes, ≥ 90% HQ"),
                            ("swissroll", "W1 below threshold")):
            row = by.get((data, "wgan-gp-toy"))
            if row:
                lb = "> " if row["lower_bound"] else ""
                lines.append(f"- wgan-gp-toy on {data} ({label}): {lb}{_fmt(row['cpu_s'])} CPU s / "
                             f"{lb}{_fmt(row['wall_s'])} wall s, {lb}{_fmt(row['steps'])} generator steps "
                             f"(median, {row['reached']}/{len(row['runs'])} seeds reached)")
        ratio = _ttq_ratio(ttq)
        if ratio:
            lines.append("- " + ratio.strip("*"))
    thr = results.get("throughput", {}).get("result")
    if thr:
        same = thr["same_config"]
        parts = [f"{v['trainer_ratio_cpu']:.2f}x {k}" for k, v in same.items() if k != "ganedu.Trainer"]
        lines.append("- ganedu.Trainer at the baseline's settings, steps/s (CPU): " + "; ".join(parts))
    gpu = results.get("gpu", {}).get("result") or {}
    toy, ttq_gpu, dcgan = gpu.get("toy", {}).get("wgan-gp-toy"), gpu.get("time_to_quality"), gpu.get("dcgan") or {}
    if toy and "cpu" in toy:
        lines.append(f"- {gpu['device']}: wgan-gp-toy at {toy['graph']:.0f} generator steps/s (step replayed as a "
                     f"CUDA graph), {toy['graph_over_cpu']:.1f}x the same machine's CPU; "
                     + (f"8/8 modes and ≥ 90% HQ in {ttq_gpu['median_train_s']:.2f} s of training (median, "
                        f"{ttq_gpu['reached']} seeds)" if ttq_gpu and ttq_gpu.get("median_train_s") else ""))
    for size, rows in dcgan.items():
        if isinstance(rows, dict) and "ganedu (fp32)" in rows:
            lines.append(f"- {gpu['device']}: dcgan {size}, batch 128: {rows['ganedu (fp32)']['vs_tutorial']:.2f}x the "
                         f"PyTorch DCGAN tutorial loop's images/s in float32, "
                         f"{rows['ganedu (--amp --channels-last)']['vs_tutorial']:.2f}x with --amp --channels-last")
    pop = (results.get("population", {}).get("result") or {}).get("cuda") or {}
    if "per_member_speedup" in pop:
        lines.append(f"- {pop['gpu']}: a population of {pop['members']} wgan-gp-toy runs trains "
                     f"{pop['per_member_speedup']:.1f}x faster per member than one run (both as CUDA graphs)")
    live = results.get("live", {}).get("result") or {}
    if "headless_needed_for_goal" in live:
        lines.append(f"- notebook 05's dashboard trains at {live['live_over_headless']:.2f}x the recipe's headless rate "
                     f"while it draws; it shows 8/8 modes with ≥ 90% HQ within {live['goal_s']} s of Train on a CPU "
                     f"that trains wgan-gp-toy at ≥ {live['headless_needed_for_goal']:.0f} steps/s headless")
    return (["## Headline", ""] + lines + [""]) if lines else []


def _render_gpu(r, cfg):
    if r.get("skipped"):
        return [f"Not run: {r['skipped']}."]
    rows = [f"Device: {r['device']}, torch {r['torch']}. Each rate is measured after a warm-up (the CUDA graph is "
            "recorded there), in the same process as its peer."]
    toy = r.get("toy") or {}
    if "error" in toy:
        rows += ["", f"Toy rates failed: {toy['error']}"]
    elif toy:
        rows += ["", "Generator steps per second on 8gaussians: the Trainer on the GPU (CUDA graph), the same "
                     "Trainer stepping eagerly, and this machine's CPU (one thread).", "",
                 "| recipe | GPU, graph | GPU, eager | CPU | graph ÷ eager | graph ÷ CPU |", "|---|---:|---:|---:|---:|---:|"]
        rows += [f"| {k} | {_fmt(v.get('graph'))} | {_fmt(v.get('eager'))} | {_fmt(v.get('cpu'))} | "
                 f"{_fmt(v.get('graph_over_eager'), 2)}x | {_fmt(v.get('graph_over_cpu'), 2)} |" for k, v in toy.items()]
    ttq = r.get("time_to_quality") or {}
    if ttq and "error" not in ttq:
        rows += ["", f"wgan-gp-toy to 8/8 modes and ≥ 90% HQ on the GPU: {ttq['reached']} seeds, median "
                     f"{_fmt(ttq['median_train_s'], 2)} s of training; per seed: "
                     + "; ".join(f"{k}: {v.get('steps')} steps, {v.get('train_s')} s" for k, v in ttq["per_seed"].items())]
    for size, models in (r.get("dcgan") or {}).items():
        if size == "error":
            rows += ["", f"DCGAN failed: {models}"]
            continue
        rows += ["", f"DCGAN {size}, batch {cfg['gpu']['dcgan_batch']}, images per second (median of "
                     f"{cfg['gpu']['repeats']} interleaved repeats):", "", "| loop | images/s | ÷ tutorial |", "|---|---:|---:|"]
        rows += [f"| {k} | {v['images_per_s']} | {v['vs_tutorial']:.2f}x |" for k, v in models.items()]
    prec = r.get("precision")
    if isinstance(prec, list) and prec:
        rows += ["", "Images per second by precision and memory layout (real images drawn):", "",
                 "| recipe | size | batch | fp32 | amp | channels-last | amp + channels-last | amp ÷ fp32 | amp+cl ÷ fp32 |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        rows += [f"| {x['recipe']} | {x['size']} | {x['batch']} | {x['fp32']} | {x['amp']} | {x['channels_last']} | "
                 f"{x['amp+channels_last']} | {x['amp/fp32']:.2f}x | {x['amp+channels_last/fp32']:.2f}x |" for x in prec]
    elif isinstance(prec, dict):
        rows += ["", f"Precision table failed: {prec.get('error')}"]
    return rows


def _render_dcgan_digits(r, cfg):
    rows = ["| image size | batch | images | steps/epoch | s/epoch | steps/s (wall) | steps/s (CPU) | images/s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows += [f"| {x['image_size']} | {x['batch_size']} | {x['dataset_images']} | {x['steps_per_epoch']} | "
             f"{_fmt(x['s_per_epoch'], 2)} | {_fmt(x['steps_per_s'], 2)} | {_fmt(x['cpu_steps_per_s'], 2)} | "
             f"{_fmt(x['images_per_s'], 0)} |" for x in r["rows"]]
    return rows


def _render_notebooks(r, cfg):
    b = r["budgets"]
    rows = [f"Budgets: quick ≤ {b['quick_s']} s, full ≤ {b['full_s']} s (showdown ≤ {b['showdown_full_s']} s), "
            f"peak RSS ≤ {b['rss_mb']} MB. Quick-mode total: {r['quick_total_s']} s.", "",
            "| notebook | mode | wall s | peak RSS MB | within budget | error |", "|---|---|---:|---:|---|---|"]
    rows += [f"| {x['notebook']} | {x['mode']} | {_fmt(x['wall_s'])} | {_fmt(x['peak_rss_mb'])} | "
             f"{'yes' if x['within_budget'] else '**no**'} | {x['error'] or ''} |" for x in r["rows"]]
    if not r["rows"]:
        rows.append("| (no notebooks found) | | | | | |")
    return rows


def _print_summary(name, section):
    print(f"\n== {name} ==")
    print("\n".join(globals()[f"_render_{name}"](section["result"], section["config"])))


def _tiny_notebook(folder: pathlib.Path) -> pathlib.Path:
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nx = [0] * 10**6"),
                                         nbformat.v4.new_code_cell("print(os.environ.get('GANEDU_QUICK'))")])
    nbformat.write(nb, folder / "00_tiny.ipynb")
    return folder


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    preset = p.add_mutually_exclusive_group()
    preset.add_argument("--quick", action="store_true", help="1 seed, smaller caps, quick-mode notebooks only")
    preset.add_argument("--tiny", action="store_true", help="seconds; for the test (numbers mean nothing)")
    p.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    p.add_argument("--skip", nargs="+", choices=SECTIONS, default=[], help="leave these sections out")
    p.add_argument("--out", default=str(HERE), help="folder for results.json and RESULTS.md")
    p.add_argument("--notebooks-dir", help="folder of notebooks to time (default: notebooks/)")
    p.add_argument("--threads", type=int, help="intra-op threads (default 1: see RESULTS.md)")
    p.add_argument("--seeds", type=int, nargs="+", help="seeds for time to quality")
    p.add_argument("--datasets", nargs="+", help="toy datasets for time to quality")
    p.add_argument("--recipes", nargs="+", help="recipes for time to quality (the baseline always runs)")
    p.add_argument("--cap-seconds", type=float, help="CPU-second cap per time-to-quality run")
    args = p.parse_args(argv)

    cfg = copy.deepcopy(TINY if args.tiny else QUICK if args.quick else FULL)
    if args.notebooks_dir:
        cfg["notebooks_dir"] = args.notebooks_dir
    elif args.tiny and "notebooks" in (args.only or DEFAULT_SECTIONS):  # a two-cell stand-in, not the course
        cfg["notebooks_dir"] = str(_tiny_notebook(pathlib.Path(args.out) / "tiny_notebooks"))
    if args.threads:
        cfg["threads"] = args.threads
    if args.seeds:
        cfg["seeds"] = args.seeds
    if args.datasets:
        cfg["datasets"] = args.datasets
    if args.recipes:
        cfg["recipes"] = args.recipes
    if args.cap_seconds:
        cfg["caps"] = {k: dict(v, seconds=args.cap_seconds) for k, v in cfg["caps"].items()}
    cfg["verbose"] = not args.tiny
    set_threads(cfg["threads"])

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = out / "results.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    for name in args.only or DEFAULT_SECTIONS:
        if name in args.skip:
            continue
        print(f"running {name} ...", flush=True)
        results[name] = run_section(name, cfg)
        store.write_text(json.dumps(results, indent=1))
        (out / "RESULTS.md").write_text(render(results))
        _print_summary(name, results[name])
    print(f"\nwrote {store} and {out / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
