"""``TrainingDashboard``: the parts of the live dashboard put together, and training in chunks.

Sliders take effect at the next step through ``Trainer.set`` (logged in ``history["events"]``,
dashed lines on the curves). Plots refresh at a fixed rate (``refresh_hz`` <= 4 per second;
slower only if drawing would take over a quarter of the time, ``clock.DRAW_SHARE``), as a PNG in an ``ipywidgets.Image``:
no ipympl. Toy networks train on one CPU thread, as the Trainer does (``ganedu.torch_threads``).
Headless (tests, nbval): ``run(steps)`` trains synchronously and renders once; ``state()``.
Longer than most modules (about 440 lines) because the dashboard's actions live here side by
side, a few lines each: train, pause, one update of one network, presets, your own data,
branch and compare.
"""
from __future__ import annotations

import dataclasses
import os
import time
import weakref

import ipywidgets as W
import torch

from .. import torch_threads
from ..acgan import conditional_trainer
from ..checks import check_choice, check_int, check_number, check_tensor
from ..conditional_train import CONDITIONAL_RECIPES, RECIPE_CRITIC, get_conditional_recipe
from ..data import TOY_MIXTURES
from ..points import csv_points, text_points
from ..plot import fig_to_png
from ..recipes import RECIPES
from ..train import Trainer, TrainingDiverged
from .branch import Branch
from .classes import ClassPicker
from .clock import IPYWIDGETS_7, Clock
from .controls import DATASETS, LABELS, Controls, plain
from .presets import Presets, check_presets
from .replay import Replay, needed_rate
from .view import OWN, View

__all__ = ["TrainingDashboard"]


class TrainingDashboard:
    """Controls + live plots around a :class:`ganedu.train.Trainer`.

    Args:
        recipe: a name in ``RECIPES`` (default: the fast toy WGAN-GP) or a Recipe; a conditional
            recipe (``CONDITIONAL_RECIPES``, e.g. ``"cwgan-gp-toy"``) trains ``G(z, y)`` and ``D(x, y)``
            and shows a class picker: every class in turn, or ``G(z, k)`` and ``D(x, k)`` for one k.
        data: a toy dataset name or ``"digits"`` (a conditional recipe: a Gaussian mixture or digits).
        seed: seed of the networks and the data stream; device: ``"auto"``, ``"cpu"``, ...
        snapshot_dir: where Save snapshot writes ``*.png`` and ``*.pt``.
        refresh_hz: plot refreshes per second (at most 4); interval_ms: the clock's tick;
        chunk_s: training time per tick, from when it was sent (default 95% of the tick);
        threads: torch threads while it trains (default: the Trainer's choice, 1 for the small
            toy networks on a CPU; None: leave torch's setting).
        presets: one-click experiments, ``{label: {setting: value}}`` (Recipe fields, ``data``,
            ``seed``): a button each, a new run from the first recipe with those settings.
        critic: a conditional recipe's critic, ``"concat"``, ``"projection"`` or ``"auxiliary"``
            (default: the one it was tuned with, ``RECIPE_CRITIC``).
        replay: a recorded run to scrub through (``ganedu.lessons.records.load("05_dashboard_run")``):
            a Replay toggle, offered in words when training here is slower than the run needs.
        **overrides: recipe fields, e.g. ``gp_lambda=1.0``.

    Its parts: ``controls`` (widgets <-> ``Trainer.set``), ``clock`` (ticks, chunk deadlines),
    ``view`` (the figure, the counter, the progress line, the status).
    """

    _live = weakref.WeakSet()

    def __init__(self, recipe="wgan-gp-toy", data="8gaussians", *, seed=0, device="auto",
                 snapshot_dir="snapshots", refresh_hz=2.0, interval_ms=150, chunk_s=None,
                 threads="auto", presets=None, replay=None, critic=None, **overrides):
        check_number("refresh_hz", refresh_hz, gt=0, le=4, expected="in (0, 4] refreshes per second")
        if data not in DATASETS:
            raise ValueError(f"data must be one of {DATASETS}, got {data!r}")
        self._recipe = self._first = get_conditional_recipe(recipe, **overrides)
        self.critic_kind = critic
        self._presets = check_presets({} if presets is None else presets, self._first, DATASETS)
        self.device, self.snapshot_dir, self.threads = device, snapshot_dir, threads
        self._closed, self.diverged, self.view, self._points = False, None, View(), None
        self.branch_view = Branch()
        self.status, self.progress, self.step_counter, self.image = (  # (names notebooks use)
            self.view.status, self.view.progress, self.view.step_counter, self.view.image)
        self.controls = Controls(self._recipe, data, seed, trainer=lambda: self.trainer, say=self.view.say,
                                 on_setup=self._on_setup)
        self.clock = Clock(interval_ms, chunk_s, refresh_hz=refresh_hz, on_chunk=self._chunk,
                           on_play=self.train, on_pause=self.pause)
        self.presets = Presets(self._presets, on_pick=lambda _recipe, _run, label: self.preset(label))
        self.replay, self._train_t0, self._offered = (None if replay is None else Replay(replay)), 0.0, False
        self._build_widgets()
        self._new_trainer()
        self.redraw()
        self._cell = _cell_id()
        for other in list(TrainingDashboard._live):  # a re-run cell replaces its dashboard
            other.close() if self._cell is not None and other._cell == self._cell else other.pause()
        TrainingDashboard._live.add(self)

    def _build_widgets(self):
        self.buttons = dict(self.clock.buttons)  # train, pause: the play control is the clock's
        for name, text, icon, action in (("step", "Step", "step-forward", self.step),
                                         ("critic", "Critic step", "", self.step_critic),
                                         ("generator", "Generator step", "", self.step_generator),
                                         ("branch", "Branch here", "", self.branch),
                                         ("reset", "Reset", "undo", self.reset),
                                         ("save", "Save snapshot", "camera", self.save_snapshot)):
            self.buttons[name] = W.Button(description=text, icon=icon, layout=W.Layout(width="auto"))
            self.buttons[name].on_click(lambda _button, action=action: action())
        for w, css in ((self.clock.play, "clock"), *((b, n) for n, b in self.buttons.items())):
            w.add_class(f"ganedu-{css}")
        self.word_w = W.Text(placeholder="a word", description="your data", layout=W.Layout(width="220px"))
        self.word_button = W.Button(description="Train on this word", layout=W.Layout(width="auto"))
        self.word_button.on_click(lambda _button: self.use_word())
        self.upload_w = W.FileUpload(accept=".csv", multiple=False, description="CSV x,y")
        self.upload_w.observe(lambda change: self.use_csv(_uploaded(change["new"])), "value")
        for w, css in ((self.word_w, "word"), (self.upload_w, "upload"), (self.word_button, "use-word")):
            w.add_class(f"ganedu-{css}")
        own = W.HBox([self.word_w, self.word_button, self.upload_w])
        self.classes = ClassPicker(on_pick=self.show_class)  # conditional runs only
        replay = [] if self.replay is None else [self.replay.toggle]
        self.widget = W.VBox([*self.controls.rows(), W.HBox([self.clock.play, *self.buttons.values(), *replay]),
                              self.presets.row, own, W.HBox([self.classes.widget, self.step_counter, self.progress]),
                              self.view.scoreboard.widget, self.status,
                              W.HBox([self.image, W.VBox([self.view.findings, self.branch_view.box])],
                                     layout=W.Layout(flex_flow="row wrap")),
                              *([] if self.replay is None else [self.replay.box])])
        self.widget.add_class("ganedu-dashboard")

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)

    # ---- runs ------------------------------------------------------------------------------------
    def _on_setup(self, widget):
        """The recipe, the data or the seed changed: a new run (a new recipe brings its settings)."""
        if self._closed:
            return
        if widget is self.controls.recipe_w:
            self.pause()
            self._recipe = get_conditional_recipe(widget.value)
            self.controls.show(self._recipe)
        self.reset()

    def _build(self, recipe, data, seed):
        """A new trainer: a conditional recipe's is a ``ConditionalTrainer`` (``ganedu.acgan.conditional_trainer``)."""
        if recipe.name not in CONDITIONAL_RECIPES:
            return Trainer.from_recipe(recipe, data, seed=seed, device=self.device)
        if not (isinstance(data, str) and data in (*TOY_MIXTURES, "digits")):
            raise ValueError(f"data: a conditional recipe needs data with classes, a Gaussian mixture "
                             f"({', '.join(TOY_MIXTURES)}) or digits; got {data if isinstance(data, str) else OWN!r}")
        return conditional_trainer(recipe, data, critic=self.critic_kind or RECIPE_CRITIC.get(recipe.name, "concat"),
                                   seed=seed, device=self.device)

    def _data(self):
        """What the trainer trains on: the data menu's name, or your own points."""
        name = self.controls.data_w.value
        return self._points if name == OWN else name

    def _new_trainer(self):
        recipe = self._recipe.replace(**self.controls.values())
        self.trainer = self._build(recipe, self._data(), self.controls.seed_w.value)
        self.view.new_run(self.trainer, self.controls.data_w.value)
        self.branch_view.stop()  # a new run ends a comparison
        self.diverged = None
        self.classes.offer(getattr(self.trainer, "n_classes", 0))  # (the caller draws the new run)
        self.view.label = None

    def show_class(self, label):
        """A conditional run: draw ``G(z, label)`` and the critic ``D(x, label)`` (None: every class in turn)."""
        n_classes = getattr(self.trainer, "n_classes", None)
        if n_classes is None:
            raise ValueError(f"label: the class picker is for conditional recipes ({', '.join(CONDITIONAL_RECIPES)}); "
                             f"this run's recipe {self.trainer.recipe.name!r} has no classes")
        if label is not None:
            check_int("label", label, min=0, max=n_classes - 1)
        self.view.label = label
        self.classes.show(label)
        self.view.say("showing every class in turn, coloured by class, and each class's accuracy" if label is None
                      else f"showing class {label}: G(z, {label}) and the critic D(x, {label})", "ok")
        if not self.clock.running:  # while training, the next redraw shows it
            self.redraw()

    def _threads(self):
        return self.trainer.threads if self.threads == "auto" else self.threads

    # ---- training ----------------------------------------------------------------------------------
    def train(self):
        """Start training (Train twice is still one run)."""
        if self._closed or self.clock.running:
            return
        for other in list(TrainingDashboard._live):  # one dashboard trains at a time
            if other is not self:
                other.pause()
        self.diverged, self._train_t0, self._offered = None, time.perf_counter(), False
        self.view.say("training…")
        if not self.clock.start():  # ipywidgets 7: its front end starts a Play only from its ▶
            self._chunk()
            if self.clock.running:
                self.view.say("ipywidgets 7 (e.g. Colab): click ▶ to keep training")

    def pause(self):
        """Stop after the current step; the trainer keeps its state."""
        was_running = self.clock.running
        self.clock.stop()
        if was_running and not self._closed:
            self.redraw()
            if self.diverged is None:
                self.view.say(f"paused at step {self.trainer.steps}")

    def step(self):
        """One generator step (after n_critic critic steps), then redraw."""
        self.pause()
        self.run(1)

    # ---- your own data ---------------------------------------------------------------------------
    def use_points(self, points, what="your points"):
        """Train on your own 2D points ``(N, 2)``: a new run on them (the data menu says "your points")."""
        points = check_tensor("points", points, ndim=2, floating=True)
        if points.shape[1] != 2 or len(points) < 2:
            raise ValueError(f"points must have shape (N, 2) with N >= 2, got {tuple(points.shape)}")
        self.pause()
        self._points = points.detach().cpu().float()
        self.controls.offer(OWN)
        self.controls.show_run(self._recipe.name, OWN, self.controls.seed_w.value)
        if self.reset():
            self.view.say(f"{what}: {len(points)} points. Modes do not apply to them; the exact W₁ does. "
                          "Click Train.", "ok")

    def use_word(self, word=None):
        """Train on the outline of ``word`` (default: the word typed in the box); a refusal in words."""
        word = self.word_w.value if word is None else word
        try:
            points = text_points(word, 4000, generator=torch.Generator().manual_seed(self.controls.seed_w.value))
        except (TypeError, ValueError) as exc:
            return self.view.say(f"your data: refused. {exc}", "error")
        self.use_points(points, f"the outline of {word.strip()!r}")

    def use_csv(self, content):
        """Train on the points of a CSV file's content (``x,y`` lines); a refusal in words."""
        if content is None:
            return
        try:
            points = csv_points(content)
        except (TypeError, ValueError) as exc:
            return self.view.say(f"your data: refused. {exc}", "error")
        self.use_points(points, "your CSV file")

    def branch(self):
        """Branch here: a twin of the run as it is keeps its settings and trains beside it; the
        controls steer the run you see (change one setting, then Train, and compare)."""
        self.pause()
        data = self._data()
        self.branch_view.start(self.trainer, lambda recipe, seed: self._build(recipe, data, seed), self.view.real,
                               self.controls.data_w.value)
        self.redraw()
        self.view.say(f"branched at step {self.trainer.steps}: the twin (right) keeps its settings; change one "
                      "here, then Train, and compare", "ok")

    def step_critic(self):
        """One critic update alone (Algorithm 1's inner loop, once): the surface and its arrows
        change, the samples do not. Not counted by the step counter (it counts generator steps)."""
        self._one_update("critic")

    def step_generator(self):
        """One generator update alone, against the critic as it is: the samples move along the
        arrows, the surface does not change. Not counted by the step counter."""
        self._one_update("generator")

    def _one_update(self, network):
        self.pause()
        trainer, recipe = self.trainer, self.trainer.recipe
        with torch_threads(self._threads()):
            trainer.schedule_lr(recipe)  # the learning rates of this step
            trainer.critic_step(recipe) if network == "critic" else trainer.generator_step(recipe)
        self.redraw()
        self.view.say(f"one {network} update at step {trainer.steps} (the counter counts generator steps, "
                      f"each after {recipe.n_critic} critic update{'s' if recipe.n_critic > 1 else ''})", "ok")

    def preset(self, label):
        """Run the experiment ``label`` (one of ``presets``): a new run from the first recipe with
        its settings, training (ipywidgets 7: click ▶)."""
        if not self._presets:
            raise ValueError(f"label: this dashboard has no presets (TrainingDashboard(..., presets=...)), got {label!r}")
        check_choice("label", label, tuple(self._presets))
        recipe, run = self._presets[label]
        self.pause()
        self._recipe = recipe
        self.controls.show(recipe)
        self.controls.show_run(recipe.name, run.get("data", self.controls.data_w.value),
                               run.get("seed", self.controls.seed_w.value))
        if not self.reset():
            return
        self.train()
        base = RECIPES[run["recipe"]] if "recipe" in run else self._first
        changed = [f"{k} {v}" for k, v in run.items()]
        changed += [f"{LABELS.get(f.name, f.name)} = {plain(getattr(recipe, f.name))}"
                    for f in dataclasses.fields(recipe) if getattr(recipe, f.name) != getattr(base, f.name)]
        hint = " (ipywidgets 7: click ▶ to keep training)" if self.clock.running and IPYWIDGETS_7 else ""
        self.view.say(f"{label}: a new run with {', '.join(changed) or 'the first settings'}{hint}", "ok")

    def reset(self) -> bool:
        """Stop, and start again from new networks with the current controls (False: refused)."""
        self.pause()
        try:
            self._new_trainer()
        except (ValueError, TypeError) as exc:
            self._recipe = self.trainer.recipe  # the run as it was: its recipe, data and seed in the menus too
            self.controls.show()
            self.controls.show_run(self.trainer.recipe.name, self.view.data, self.trainer.seed)
            self.view.say(f"seed/recipe/data: refused, the run is unchanged. {exc}", "error")
            return False
        self.redraw()
        self.view.say(f"new run: {self.trainer.recipe.name} on {self.controls.data_w.value}, seed {self.trainer.seed}")
        return True

    def run(self, steps: int):
        """Headless: train ``steps`` generator steps synchronously, then render once."""
        check_int("steps", steps, min=0)
        self.pause()
        self.clock.count(self.trainer.steps, restart=True)  # the speed line: this run's
        self._train(steps=steps)
        self.redraw()

    def _chunk(self, deadline=None):
        """Train until ``deadline`` (at least one step), then redraw if one is due."""
        deadline, draw = self.clock.plan(deadline)
        if self._train(deadline=deadline) and draw:
            self.redraw()  # the step counter too: it always names the step the picture shows
            self._offer_replay()

    def _offer_replay(self):
        """After 5 s of training, once: if it runs slower than the recorded run needs, say so."""
        if self.replay is None or self._offered or time.perf_counter() - self._train_t0 < 5.0:
            return
        self._offered, rate, needed = True, self.steps_per_second(), needed_rate(self.replay.record)
        if needed is not None and 0 < rate < needed:
            self.replay.toggle.button_style = "warning"
            self.view.say(f"training here runs at {rate:.0f} steps/s; this run needs about {needed:.0f} steps/s to "
                          "cover its modes within 20 s: click Replay a recorded run to scrub through it", "info")

    def _train(self, *, steps=0, deadline=None) -> bool:
        """Train ``steps`` steps, or until ``deadline``; False if it diverged (it stops and says why)."""
        try:
            with torch_threads(self._threads()):
                if deadline is not None:
                    if self.branch_view.twin is not None:  # two runs: each gets half the chunk
                        now = time.perf_counter()
                        deadline = now + (deadline - now) / 2
                    self.clock.train_until(self.trainer.step, deadline)
                for _ in range(steps):
                    self.trainer.step()
                self.branch_view.catch_up(self.trainer.steps)
        except TrainingDiverged as exc:
            self._diverge(exc)
            return False
        self.clock.count(self.trainer.steps)
        return True

    def _diverge(self, exc):
        self.diverged = str(exc)
        self.clock.stop()
        self.view.say(f"Stopped: {exc} The picture shows the last good state; change a setting or Reset, "
                      "then Train.", "error")

    def steps_per_second(self) -> float:
        """Generator steps per second over the last chunks, idle time between ticks included
        (0 while paused; after ``run(steps)``, that run's)."""
        return self.clock.steps_per_second()

    # ---- what it shows -------------------------------------------------------------------------------
    def redraw(self):
        """Draw the trainer into the view, and show in the controls what it uses."""
        if self._closed:
            return
        t0 = time.perf_counter()
        try:
            with torch_threads(self._threads()):
                self.view.show(self.trainer, self.steps_per_second())
                self.branch_view.draw()
        except TrainingDiverged as exc:
            return self._diverge(exc)
        self.controls.show()  # also what code set with dashboard.trainer.set(...)
        self.clock.drew(t0)

    def save_snapshot(self, directory=None):
        """Write the current figure (PNG) and a checkpoint (``Trainer.save``); returns the paths."""
        directory = directory or self.snapshot_dir
        base = os.path.join(directory, f"{self.trainer.recipe.name}_{self.controls.data_w.value}"
                                       f"_step{self.trainer.steps:06d}")
        try:
            fig, _ = self.view.figure(self.trainer, dpi=100)
            os.makedirs(directory, exist_ok=True)
            with open(base + ".png", "wb") as f:
                f.write(fig_to_png(fig))
            self.trainer.save(base + ".pt")
        except (OSError, NotImplementedError, TrainingDiverged) as exc:
            return self.view.say(f"snapshot not saved: {exc}", "error")
        self.view.say(f"saved {base}.png and {base}.pt", "ok")
        return base + ".png", base + ".pt"

    def state(self) -> dict:
        """What the trainer uses (learning rates read from its optimisers) and the controls hold."""
        tr, r = self.trainer, self.trainer.recipe
        return {"recipe": r.name, "data": self.controls.data_w.value, "seed": tr.seed,
                "gp_lambda": r.gp_lambda, "clip": r.clip, "n_critic": r.n_critic, "one_sided": r.one_sided,
                "lr_g": float(tr.opt_generator.param_groups[0]["lr"]),
                "lr_d": float(tr.opt_critic.param_groups[0]["lr"]),
                "batch_size": r.batch_size, "steps": tr.steps, "running": self.clock.running,
                "diverged": self.diverged, "controls": self.controls.values()}

    def close(self):
        """Stop training and close the widgets (ticks still in flight are ignored)."""
        self.pause()
        self._closed = True
        TrainingDashboard._live.discard(self)
        for w in descendants(self.widget):
            w.close()


def _uploaded(value):
    """The content (bytes) of the last file in a ``FileUpload`` value, or None: ipywidgets 8 gives
    a tuple of dicts, ipywidgets 7 a dict of dicts by file name; both hold ``"content"``."""
    files = list(value.values()) if isinstance(value, dict) else list(value)
    return bytes(files[-1]["content"]) if files else None


def descendants(widget):
    """A widget and every widget inside it, innermost first."""
    for child in getattr(widget, "children", ()):
        yield from descendants(child)
    yield widget


def _cell_id():
    """The id of the notebook cell being run (JupyterLab sends it), or None."""
    try:
        from IPython import get_ipython
        kernel = getattr(get_ipython(), "kernel", None)
        return kernel.get_parent()["metadata"].get("cellId") if kernel is not None else None
    except Exception:  # no kernel, or an older one
        return None
