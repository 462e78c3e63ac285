"""The dashboard live: how fast it trains while it draws, against the same recipe with no dashboard.

Notebook 05's dashboard (``TrainingDashboard("wgan-gp-toy", data="8gaussians")``) is driven as a
browser drives it: its ``Play`` ticks every ``interval_ms``, each tick trains a chunk, and a redraw
follows when one is due (``ganedu.widgets.clock``). Here this process sets the Play's value at the
times the front end would send its ticks, every tick that fell due in order (the clock drops the
late ones, as it drops queued messages). Per seed, timed from Train:

- the seconds and generator steps until the dashboard *shows* 8/8 modes within 3σ and >= 90% HQ (its
  own scores of the samples it draws, what its progress line prints);
- its steps/s over that time, and the steps/s of the same recipe trained with no dashboard, right
  after in the same process (the baseline); their ratio, live ÷ headless;
- the headless rate a CPU needs for the dashboard to show quality within ``goal_s`` seconds:
  steps to quality / (goal_s x live ÷ headless). A machine-independent form of the classroom goal
  ("8/8 modes within 20 s of clicking Train"): compare it with ``throughput``'s steps/s of a CPU.

Left out: the browser's own work (the websocket, decoding each PNG), which runs on another core.
``tests/test_browser_slides.py`` measures the whole path once in Chromium
(``test-output/browser-slides/metrics.json``: time to quality and live ÷ headless in the browser).
``python -m benchmarks --only live``.
"""
from __future__ import annotations

import statistics
import time

from ganedu.train import Trainer
from ganedu.widgets import TrainingDashboard

from .throughput import interleaved


def headless_steps_per_s(recipe, data, seed, steps: int, overrides: dict) -> float:
    """Generator steps per second (wall) of ``recipe`` trained with no dashboard on one thread, as the
    dashboard trains: ``throughput.interleaved``'s measure (warm-up, then ``steps`` steps and a flush)."""
    model = Trainer.from_recipe(recipe, data, device="cpu", seed=seed, **overrides)
    return interleaved({"headless": model}, steps, repeats=1, threads={"headless": 1})["headless"]["steps_per_s"]


def shows_quality(scores: dict, need: dict) -> bool:
    """What the dashboard shows meets ``need`` (``modes`` within 3σ and ``hq``)."""
    return scores.get("modes", -1) >= need["modes"] and scores.get("hq", -1.0) >= need["hq"]


def drive(dash: TrainingDashboard, *, cap_s: float, need: dict) -> dict:
    """Click Train on ``dash`` and tick its Play on time until it shows ``need`` or ``cap_s`` passes."""
    play, period = dash.clock.play, dash.clock.play.interval / 1000
    dash.train()
    t0, k, seen, reached = time.perf_counter(), 0, None, None
    while reached is None and time.perf_counter() - t0 < cap_s:
        due = int((time.perf_counter() - t0) / period)  # the ticks the front end has sent by now
        if due <= k:
            time.sleep(max(0.0, t0 + (k + 1) * period - time.perf_counter()))
            continue
        for k in range(k + 1, due + 1):
            play.value = k
        if dash.view.scores is not seen:  # a redraw: what the student sees now
            seen = dash.view.scores
            if shows_quality(seen, need):
                reached = time.perf_counter() - t0
    elapsed = time.perf_counter() - t0
    dash.pause()
    return dict(reached=reached is not None, seconds=round(elapsed if reached is None else reached, 2),
                steps=dash.trainer.steps, live_steps_per_s=round(dash.trainer.steps / elapsed, 1),
                modes=dash.view.scores.get("modes"), hq=dash.view.scores.get("hq"))


def run(cfg: dict) -> dict:
    c = cfg["live"]
    overrides, rows = c.get("overrides", {}), []
    for seed in c["seeds"]:
        dash = TrainingDashboard(c["recipe"], data=c["data"], seed=seed, device="cpu", **overrides)
        row = dict(seed=seed, **drive(dash, cap_s=c["cap_s"], need=c["need"]))
        dash.close()
        row["headless_steps_per_s"] = round(headless_steps_per_s(c["recipe"], c["data"], seed,
                                                                 c["baseline_steps"], overrides), 1)
        row["live_over_headless"] = round(row["live_steps_per_s"] / row["headless_steps_per_s"], 3)
        rows.append(row)
        if cfg.get("verbose"):
            print(f"  live {row}", flush=True)
    return summary(rows, c["goal_s"])


def summary(rows: list, goal_s: float) -> dict:
    """Medians over seeds, and the headless rate a CPU needs to show quality within ``goal_s``:
    a run of S steps at live ÷ headless r takes S / (r x R) seconds on a CPU of headless rate R,
    so R >= S / (goal_s x r)."""
    reached = [r for r in rows if r["reached"]]
    ratio = statistics.median(r["live_over_headless"] for r in rows)
    out = dict(rows=rows, reached=len(reached), live_over_headless=ratio, goal_s=goal_s)
    if reached:
        steps = statistics.median(r["steps"] for r in reached)
        out.update(steps_to_quality=steps, seconds_to_quality=statistics.median(r["seconds"] for r in reached),
                   headless_needed_for_goal=round(steps / (goal_s * ratio), 1))
    return out


def render(r: dict, cfg: dict) -> list:
    c = cfg["live"]
    rows = [f"Notebook 05's dashboard ({c['recipe']} on {c['data']}), ticked as a browser ticks it (no browser: "
            "its own work runs on another core), from Train until it shows "
            f"{c['need']['modes']} modes within 3σ with ≥ {c['need']['hq']:.0%} HQ; then the same recipe with no "
            "dashboard, same process (the baseline).", "",
            "| seed | reached | seconds | steps | live steps/s | headless steps/s | live ÷ headless |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    for x in r["rows"]:
        rows.append(f"| {x['seed']} | {'yes' if x['reached'] else 'no'} | {x['seconds']} | {x['steps']} | "
                    f"{x['live_steps_per_s']} | {x['headless_steps_per_s']} | {x['live_over_headless']:.2f} |")
    rows.append("")
    if "headless_needed_for_goal" in r:
        rows.append(f"**Median: {r['seconds_to_quality']} s and {r['steps_to_quality']:.0f} steps to quality here; "
                    f"live ÷ headless {r['live_over_headless']:.2f}. The dashboard shows quality within "
                    f"{r['goal_s']} s on a CPU that trains the recipe at ≥ {r['headless_needed_for_goal']} steps/s "
                    "with no dashboard (see Throughput).**")
    else:
        rows.append(f"No seed reached quality within {c['cap_s']} s; live ÷ headless {r['live_over_headless']:.2f}.")
    return rows
