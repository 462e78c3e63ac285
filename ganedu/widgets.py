"""A live training dashboard: change λ, the clip value, n_critic or a learning rate while the
GAN trains, and watch the critic and the samples respond.

How it trains without blocking the kernel: **the front end drives the clock.** An
``ipywidgets.Play`` ticks in the browser; each tick reaches the kernel as an ordinary widget
message, and its callback runs a *chunk* of training steps on the main thread, redraws if a
refresh is due, and returns before the next tick arrives (it stops ``chunk_s`` after the tick
was sent, by default 95% of the tick, less the expected redraw time). Between ticks the kernel
is idle, so Pause, sliders and other cells work. We chose this over a background thread because it works
wherever widgets do (JupyterLab, Notebook 7, VS Code, Colab), while updates sent from a thread
are not rendered on Colab (googlecolab/colabtools#3373) and broke with ipykernel 7.0
(ipykernel#1450); with no thread there is nothing to join, race or leak. Ticks that queued while
the kernel was busy are dropped, not replayed (the clock's value numbers the ticks, so the
kernel knows when each was sent and skips those more than a tick late). With ipywidgets 8, Train starts the clock from the
kernel; an ipywidgets 7 front end (Colab's) starts a Play only from its own ▶ button, so there
Train runs one chunk and asks for a click on the clock's ▶.

Sliders take effect at the next step through ``Trainer.set`` (logged in ``history["events"]``,
dashed lines on the curves). Plots refresh at a fixed rate (``refresh_hz`` <= 4 per second;
slower only if drawing would take over 40% of the time), as a PNG in an ``ipywidgets.Image``:
no ipympl. Toy networks train on one CPU thread, as the Trainer does (``ganedu.torch_threads``).
Headless (tests, nbval): ``run(steps)`` trains synchronously and renders once; ``state()``.
Only this ganedu module imports ipywidgets.
"""
from __future__ import annotations

import collections
import math
import os
import time
import weakref

import ipywidgets as W

from . import torch_threads
from .data import TOY_DATASETS, toy_modes, toy_std
from .metrics import mode_coverage, w1_to_data
from .plot import fig_to_png, plot_trainer
from .train import RECIPES, Trainer, TrainingDiverged, get_recipe

__all__ = ["TrainingDashboard", "IPYWIDGETS_7"]

IPYWIDGETS_7 = int(W.__version__.split(".")[0]) < 8
_PLAYING = "_playing" if IPYWIDGETS_7 else "playing"  # the Play widget's trait, renamed in 8.0
DATASETS = tuple(TOY_DATASETS) + ("digits",)
# the log sliders, each with a text box: name -> (label, log10 min, log10 max, CSS class)
_LOG = {"gp_lambda": ("λ (GP)", -3, 3, "lambda"), "clip": ("clip c", -4, 0, "clip"),
        "lr_g": ("lr G", -5, -1, "lr-g"), "lr_d": ("lr D", -5, -1, "lr-d")}
_OFF = {"gp_lambda": 0.0, "clip": None}  # the value of a constraint whose box is unticked


def _log_control(name, value, on=None):
    """A FloatLogSlider + a FloatText to type a value (checked before use) [+ an on/off box]."""
    label, lo, hi, css = _LOG[name]
    slider = W.FloatLogSlider(value=value, base=10, min=lo, max=hi, step=0.1, readout=False,
                              continuous_update=False, description=label,
                              style={"description_width": "60px"}, layout=W.Layout(width="230px"))
    text = W.FloatText(value=value, layout=W.Layout(width="80px"))
    slider.add_class(f"ganedu-{css}")
    text.add_class(f"ganedu-{css}-text")
    return W.HBox([slider, text] if on is None else [on, slider, text]), slider, text


class TrainingDashboard:
    """Controls + live plots around a :class:`ganedu.train.Trainer`.

    Args:
        recipe: a name in ``RECIPES`` (default: the fast toy WGAN-GP) or a Recipe.
        data: a toy dataset name or ``"digits"``.
        seed: seed of the networks and the data stream; device: ``"auto"``, ``"cpu"``, ...
        snapshot_dir: where Save snapshot writes ``*.png`` and ``*.pt``.
        refresh_hz: plot refreshes per second (at most 4); interval_ms: the clock's tick;
        chunk_s: training time per tick, from when it was sent (default 95% of the tick);
        threads: torch threads while it trains (default: the Trainer's choice, 1 for the small
            toy networks on a CPU; None: leave torch's setting).
        **overrides: recipe fields, e.g. ``gp_lambda=1.0``.
    """

    _live = weakref.WeakSet()

    def __init__(self, recipe="wgan-gp-toy", data="8gaussians", *, seed=0, device="auto",
                 snapshot_dir="snapshots", refresh_hz=2.0, interval_ms=150, chunk_s=None,
                 threads="auto", **overrides):
        if not (isinstance(refresh_hz, (int, float)) and 0 < refresh_hz <= 4):
            raise ValueError(f"refresh_hz must be in (0, 4] refreshes per second, got {refresh_hz!r}")
        if data not in DATASETS:
            raise ValueError(f"data must be one of {DATASETS}, got {data!r}")
        self._recipe = get_recipe(recipe, **overrides)
        self.device, self.snapshot_dir = device, snapshot_dir
        self.threads = threads
        self.refresh_hz = float(refresh_hz)
        self.chunk_s = 0.95 * interval_ms / 1000 if chunk_s is None else float(chunk_s)
        self._step_s = self._draw_s = 0.0  # running estimates of a step's and a redraw's time
        self._fig = None  # the live Figure, cleared and redrawn
        self._running = self._closed = self._syncing = False
        self._last_chunk_end = self._last_draw = 0.0
        self._tick_ref = None  # (value, time) of a tick that arrived on time: the clock's phase
        self._rate = collections.deque(maxlen=30)  # (time, steps) after each chunk
        self._build_widgets(self._recipe, data, seed, interval_ms)
        self._new_trainer()
        self.redraw()
        self._cell = _cell_id()
        for other in list(TrainingDashboard._live):  # a re-run cell replaces its dashboard
            other.close() if self._cell is not None and other._cell == self._cell else other.pause()
        TrainingDashboard._live.add(self)

    # ---- widgets -------------------------------------------------------------------------
    def _build_widgets(self, r, data, seed, interval_ms):
        box = lambda width: W.Layout(width=width)  # noqa: E731
        self.recipe_w = W.Dropdown(options=list(RECIPES), value=r.name if r.name in RECIPES else None,
                                   description="recipe", layout=box("210px"))
        self.data_w = W.Dropdown(options=DATASETS, value=data, description="data", layout=box("200px"))
        self.seed_w = W.IntText(value=seed, description="seed", layout=box("140px"))
        self.batch_w = W.Dropdown(options=sorted({32, 64, 128, 256, 512, 1024, r.batch_size}), value=r.batch_size,
                                  description="batch", layout=box("150px"))
        self.n_critic_w = W.IntSlider(value=r.n_critic, min=1, max=20, description="n_critic",
                                      continuous_update=False, layout=box("260px"))
        self.gp_on = W.Checkbox(value=r.gp_lambda > 0, indent=False, layout=box("20px"))
        self.clip_on = W.Checkbox(value=r.clip is not None, indent=False, layout=box("20px"))
        self.one_sided_w = W.Checkbox(value=r.one_sided, description="one-sided", indent=False,
                                      layout=box("100px"))  # max(0, ||g|| - 1)² (WGAN-LP)
        self.sliders, self.texts, rows = {}, {}, {}
        for name, on, default in (("gp_lambda", self.gp_on, 10.0), ("clip", self.clip_on, 0.01),
                                  ("lr_g", None, 1e-4), ("lr_d", None, 1e-4)):
            rows[name], self.sliders[name], self.texts[name] = _log_control(
                name, getattr(r, name) or default, on)
        self.buttons = {}
        for name, text, icon in (("train", "Train", "play"), ("pause", "Pause", "pause"),
                                 ("step", "Step", "step-forward"), ("reset", "Reset", "undo"),
                                 ("save", "Save snapshot", "camera")):
            self.buttons[name] = W.Button(description=text, icon=icon, layout=box("auto"))
            action = getattr(self, "save_snapshot" if name == "save" else name)
            self.buttons[name].on_click(lambda _button, action=action: action())
        self.buttons["pause"].disabled = True
        self.clock = W.Play(value=0, min=0, max=2**31 - 1, interval=int(interval_ms), show_repeat=False)
        self.step_counter, self.progress = W.HTML("step 0"), W.HTML("")
        self.status, self.image = W.HTML(""), W.Image(format="png")
        for w, css in ((self.recipe_w, "recipe"), (self.data_w, "data"), (self.seed_w, "seed"),
                       (self.batch_w, "batch"), (self.n_critic_w, "n-critic"), (self.gp_on, "gp-on"),
                       (self.one_sided_w, "one-sided"), (self.clip_on, "clip-on"), (self.clock, "clock"),
                       (self.step_counter, "step-counter"),
                       (self.progress, "progress"), (self.status, "status"), (self.image, "plot"),
                       *((b, n) for n, b in self.buttons.items())):
            w.add_class(f"ganedu-{css}")
        for name in self.sliders:  # every numeric control goes through one checked path
            self.sliders[name].observe(lambda c, n=name: self._on_number(n, c["new"]), "value")
            self.texts[name].observe(lambda c, n=name: self._on_number(n, c["new"], typed=True), "value")
        self.n_critic_w.observe(lambda c: self._on_number("n_critic", c["new"]), "value")
        self.batch_w.observe(lambda c: self._on_number("batch_size", c["new"]), "value")
        self.one_sided_w.observe(self._on_one_sided, "value")
        for name, on in (("gp_lambda", self.gp_on), ("clip", self.clip_on)):
            on.observe(lambda c, n=name: self._on_number(n, self.sliders[n].value), "value")
        for w in (self.recipe_w, self.data_w, self.seed_w):
            w.observe(self._on_setup, "value")
        self.clock.observe(self._on_tick, "value")
        self.clock.observe(self._on_clock_playing, _PLAYING)
        self.widget = W.VBox([
            W.HBox([self.recipe_w, self.data_w, self.seed_w, self.batch_w]),
            W.HBox([rows["gp_lambda"], self.one_sided_w, rows["clip"], self.n_critic_w]),
            W.HBox([rows["lr_g"], rows["lr_d"]]),
            W.HBox(list(self.buttons.values()) + [W.Label("clock"), self.clock]),
            W.HBox([self.step_counter, self.progress]), self.status, self.image])
        self.widget.add_class("ganedu-dashboard")

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)

    def _say(self, text, kind="info"):
        color = {"info": "#333", "ok": "#009E73", "error": "#D55E00"}[kind]
        self.status.value = f'<span style="color:{color}">{text}</span>'

    def _set_quietly(self, widget, value, name="value"):
        self._syncing = True  # the observers see it and do nothing
        try:
            setattr(widget, name, value)
        finally:
            self._syncing = False

    # ---- settings ------------------------------------------------------------------------
    def controls(self) -> dict:
        """The values the controls hold, as recipe fields."""
        s = self.sliders
        return {"gp_lambda": s["gp_lambda"].value if self.gp_on.value else 0.0,
                "clip": s["clip"].value if self.clip_on.value else None,
                "n_critic": self.n_critic_w.value, "lr_g": s["lr_g"].value, "lr_d": s["lr_d"].value,
                "batch_size": self.batch_w.value, "one_sided": self.one_sided_w.value}

    def _on_number(self, name, value, typed=False):
        """Check a new value, apply it with ``Trainer.set`` (next step on), or refuse it."""
        if self._syncing or self._closed:
            return
        label = _LOG.get(name, (name,))[0]
        try:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            if typed and name == "gp_lambda" and value == 0:  # typing λ = 0 switches GP off
                self._set_quietly(self.gp_on, False)
                value = self.sliders[name].value
            elif typed and not 10.0**_LOG[name][1] <= value <= 10.0**_LOG[name][2]:
                raise ValueError(f"{name} must be between {10.0**_LOG[name][1]:g} and "
                                 f"{10.0**_LOG[name][2]:g}, got {value!r}")
            on = {"gp_lambda": self.gp_on.value, "clip": self.clip_on.value}.get(name, True)
            change = {name: value if on else _OFF[name]}
            self.trainer.recipe.replace(**change)  # validates: ValueError saying why
            self.trainer.set(**change)
        except (ValueError, TypeError) as exc:
            self._show_trainer_values()
            return self._say(f"✋ {label}: refused. {exc}", "error")
        if name in self.sliders:
            self._set_quietly(self.sliders[name], value)
            self._set_quietly(self.texts[name], value)
        shown = f"{change[name]:.4g}" if isinstance(change[name], float) else change[name]
        self._say(f"{label} = {shown} from step {self.trainer.steps} on", "ok")

    def _on_one_sided(self, change):
        """The one-sided penalty max(0, ||g|| - 1)² on or off, from the next step on."""
        if self._syncing or self._closed:
            return
        self.trainer.set(one_sided=bool(change["new"]))
        self._say(f"one-sided penalty {'on' if change['new'] else 'off'} from step {self.trainer.steps} on", "ok")

    def _show_trainer_values(self):
        """Put the values the trainer uses back into the controls."""
        r = self.trainer.recipe
        for name in self.sliders:
            value = getattr(r, name) or self.sliders[name].value  # 0 / None: the box is unticked
            self._set_quietly(self.sliders[name], value)
            self._set_quietly(self.texts[name], value)
        for w, value in ((self.gp_on, r.gp_lambda > 0), (self.clip_on, r.clip is not None),
                         (self.one_sided_w, r.one_sided),
                         (self.n_critic_w, r.n_critic), (self.seed_w, self.trainer.seed)):
            self._set_quietly(w, value)
        if r.batch_size not in self.batch_w.options:
            self._set_quietly(self.batch_w, sorted({*self.batch_w.options, r.batch_size}), "options")
        self._set_quietly(self.batch_w, r.batch_size)

    def _on_setup(self, change):  # recipe, data or seed: a new run
        if self._syncing or self._closed:
            return
        if change["owner"] is self.recipe_w:  # a new recipe brings its own settings
            self.pause()
            self._recipe = self.trainer.recipe = RECIPES[change["new"]]
            self._show_trainer_values()
        self.reset()

    def _new_trainer(self):
        seed = self.seed_w.value
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        recipe = self._recipe.replace(**self.controls())
        self.trainer = Trainer.from_recipe(recipe, self.data_w.value, seed=seed, device=self.device)
        self._real = self.trainer.real_batch(2000)
        self._w1 = {"step": [], "w1": []}
        self._rate.clear()
        self.diverged = None

    def _threads(self):
        return self.trainer.threads if self.threads == "auto" else self.threads

    # ---- running -------------------------------------------------------------------------
    def train(self):
        """Start training (Train twice is still one run)."""
        if self._closed or self._running:
            return
        for other in list(TrainingDashboard._live):  # one dashboard trains at a time
            if other is not self:
                other.pause()
        self._running, self.diverged, self._tick_ref = True, None, None
        self._rate.clear()
        self.buttons["train"].disabled, self.buttons["pause"].disabled = True, False
        self._say("training…")
        if not getattr(self.clock, _PLAYING):  # (it is when the clock's own ▶ was clicked)
            setattr(self.clock, _PLAYING, True)
            if IPYWIDGETS_7:  # its front end starts a Play only from the ▶ button
                self._chunk()
                if self._running:
                    self._say("ipywidgets 7 (e.g. Colab): click ▶ next to 'clock' to keep training")

    def pause(self):
        """Stop after the current step; the trainer keeps its state."""
        was_running, self._running = self._running, False
        self._stop_clock()
        if was_running and not self._closed:
            self.redraw()
            if self.diverged is None:
                self._say(f"paused at step {self.trainer.steps}")

    def _stop_clock(self):
        if getattr(self.clock, _PLAYING):
            setattr(self.clock, _PLAYING, False)
        self.buttons["train"].disabled, self.buttons["pause"].disabled = False, True

    def step(self):
        """One generator step (after n_critic critic steps), then redraw."""
        self.pause()
        self.run(1)

    def reset(self):
        """Stop, and start again from new networks with the current controls."""
        self.pause()
        try:
            self._new_trainer()
        except (ValueError, TypeError) as exc:
            self._show_trainer_values()
            return self._say(f"✋ seed/recipe/data: refused, the run is unchanged. {exc}", "error")
        self.redraw()
        self._say(f"new run: {self.trainer.recipe.name} on {self.data_w.value}, seed {self.seed_w.value}")

    def run(self, steps: int):
        """Headless: train ``steps`` generator steps synchronously, then render once."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
        self.pause()
        self._rate.clear()
        self._rate.append((time.perf_counter(), self.trainer.steps))
        try:
            with torch_threads(self._threads()):
                for _ in range(steps):
                    self.trainer.step()
        except TrainingDiverged as exc:
            self._diverge(exc)
        self._rate.append((time.perf_counter(), self.trainer.steps))  # the speed line: this run's
        self.redraw()

    def _on_clock_playing(self, change):  # the clock's own ▶ / ⏸ buttons
        if change["new"] and not self._running:
            self.train()
        elif not change["new"] and self._running:
            self.pause()

    def _on_tick(self, change):
        if not self._running or self._closed:
            return
        now, period, k = time.perf_counter(), self.clock.interval / 1000, change["new"]
        if self._tick_ref is None or k <= self._tick_ref[0]:
            self._tick_ref = (k, now)
        sent = self._tick_ref[1] + (k - self._tick_ref[0]) * period  # when the browser sent it
        if now - sent > period:  # it waited behind other work (a cell, a slow redraw): drop it
            self._last_chunk_end = now
            return
        if now - self._last_chunk_end > 0.003 or now < sent:  # the kernel was idle: on time
            self._tick_ref, sent = (k, now), now
        self._chunk(deadline=sent + self.chunk_s)
        self._last_chunk_end = time.perf_counter()

    def _chunk(self, deadline=None):
        """Train until ``deadline`` (at least one step), then redraw if one is due."""
        # a redraw is due every 1/refresh_hz s (to within half a tick), but drawing may take at
        # most 40% of the time: on a slow or busy CPU the plots refresh less often, training goes on
        t0, every = time.perf_counter(), max(1.0 / self.refresh_hz, self._draw_s / 0.4)
        draw = t0 - self._last_draw >= every - min(self.clock.interval / 2000, every / 4)
        deadline = (t0 + self.chunk_s if deadline is None else deadline) - (self._draw_s if draw else 0.0)
        try:
            with torch_threads(self._threads()):
                while True:
                    t = time.perf_counter()
                    self.trainer.step()
                    self._step_s = 0.8 * self._step_s + 0.2 * (time.perf_counter() - t)
                    if time.perf_counter() + self._step_s > deadline or not self._running:
                        break
        except TrainingDiverged as exc:
            return self._diverge(exc)
        self._rate.append((time.perf_counter(), self.trainer.steps))
        if draw:
            self.redraw()
        else:
            self.step_counter.value = f"<b>step {self.trainer.steps}</b>"

    def _diverge(self, exc):
        self.diverged, self._running = str(exc), False
        self._stop_clock()
        self._say(f"⚠ {exc} The picture shows the last good state; change a setting or Reset, "
                  "then Train.", "error")

    def steps_per_second(self) -> float:
        """Generator steps per second over the last chunks (idle time between ticks included)."""
        if len(self._rate) < 2 or self._rate[-1][0] - self._rate[0][0] < 1e-6:
            return 0.0
        (t0, s0), (t1, s1) = self._rate[0], self._rate[-1]
        return (s1 - s0) / (t1 - t0)

    # ---- drawing -------------------------------------------------------------------------
    def _figure(self, dpi=72):
        """The figure and the progress line of the current trainer."""
        tr, data = self.trainer, self.data_w.value
        line = [f"{self.steps_per_second():.1f} steps/s"]
        w_est = tr.history["w_estimate"]  # flushes: may raise TrainingDiverged
        if w_est:
            line.append(f"W estimate {w_est[-1]:.3f}")
        if tr.recipe.lr_decay_steps:  # the learning rates the optimisers use: sliders × this
            line.append(f"lr × {tr.recipe.lr_factor(tr.steps):.2f} (decay over {tr.recipe.lr_decay_steps} steps)")
        if data in TOY_DATASETS and tr.steps > 0:
            fake = tr.sample(256)
            self._w1["step"].append(tr.steps)
            self._w1["w1"].append(w1_to_data(fake, self._real[:256]))
            line.append(f"exact W₁ {self._w1['w1'][-1]:.3f} (256 points)")
            if data != "swissroll":
                cov = mode_coverage(fake, toy_modes(data), toy_std(data))
                line.append(f"modes {cov['modes']}/{len(toy_modes(data))} (HQ {cov['hq']:.0%})")
        live = dpi == 72  # the live view redraws into one Figure; a snapshot gets its own
        fig = plot_trainer(tr, real=self._real, exact_w1=self._w1 if self._w1["step"] else None,
                           dpi=dpi, fig=self._fig if live else None)
        self._fig = fig if live else self._fig
        return fig, " · ".join(line)

    def redraw(self):
        """Render the plots into the Image widget and update the progress line."""
        if self._closed:
            return
        t0 = time.perf_counter()
        try:
            with torch_threads(self._threads()):
                fig, line = self._figure()
        except TrainingDiverged as exc:
            return self._diverge(exc)
        self.image.value = fig_to_png(fig)
        self._show_trainer_values()  # also what code set with dashboard.trainer.set(...)
        self._last_draw = t0  # the refresh rate counts from the start of a redraw
        self._draw_s = 0.7 * self._draw_s + 0.3 * (time.perf_counter() - t0)
        self.step_counter.value = f"<b>step {self.trainer.steps}</b>"
        self.progress.value = " · " + line

    def save_snapshot(self, directory=None):
        """Write the current figure (PNG) and a checkpoint (``Trainer.save``); returns the paths."""
        directory = directory or self.snapshot_dir
        base = os.path.join(directory, f"{self.trainer.recipe.name}_{self.data_w.value}"
                                       f"_step{self.trainer.steps:06d}")
        try:
            fig, _ = self._figure(dpi=100)
            os.makedirs(directory, exist_ok=True)
            with open(base + ".png", "wb") as f:
                f.write(fig_to_png(fig))
            self.trainer.save(base + ".pt")
        except (OSError, TrainingDiverged) as exc:
            return self._say(f"✋ snapshot not saved: {exc}", "error")
        self._say(f"saved {base}.png and {base}.pt", "ok")
        return base + ".png", base + ".pt"

    def state(self) -> dict:
        """What the trainer uses (learning rates read from its optimisers) and the controls hold."""
        tr = self.trainer
        return {"recipe": tr.recipe.name, "data": self.data_w.value, "seed": tr.seed,
                "gp_lambda": tr.recipe.gp_lambda, "clip": tr.recipe.clip, "n_critic": tr.recipe.n_critic,
                "one_sided": tr.recipe.one_sided,
                "lr_g": float(tr.opt_generator.param_groups[0]["lr"]),
                "lr_d": float(tr.opt_critic.param_groups[0]["lr"]),
                "batch_size": tr.recipe.batch_size, "steps": tr.steps, "running": self._running,
                "diverged": self.diverged, "controls": self.controls()}

    def close(self):
        """Stop training and close the widgets (ticks still in flight are ignored)."""
        self.pause()
        self._closed = True
        TrainingDashboard._live.discard(self)
        for w in _descendants(self.widget):
            w.close()


def _descendants(widget):
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)
    yield widget


def _cell_id():
    """The id of the notebook cell being run (JupyterLab sends it), or None."""
    try:
        from IPython import get_ipython
        kernel = getattr(get_ipython(), "kernel", None)
        return kernel.get_parent()["metadata"].get("cellId") if kernel is not None else None
    except Exception:  # no kernel, or an older one
        return None
