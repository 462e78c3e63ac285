"""The dashboard's settings: widgets on one side, ``Trainer.set`` on the other, nothing else.

A value slid, typed or ticked goes as it is to ``Trainer.set``, which checks it through the
:class:`ganedu.recipes.Recipe` (the one place that knows that λ >= 0, that c > 0, that a
gradient penalty refuses a BatchNorm critic...); a refused value is shown with the Recipe's own
message, and the controls go back to what the trainer uses. Slider ranges are display ranges
only: a typed value outside them is the Recipe's to judge. A constraint is off exactly as the
Recipe spells it (its default: ``gp_lambda=0.0``, ``clip=None``); its checkbox shows whether
it is on, and ticking it back on brings the last value it had.
"""
from __future__ import annotations

import dataclasses

import ipywidgets as W
import numpy as np

from ..conditional_train import CONDITIONAL_RECIPES
from ..data import TOY_DATASETS
from ..recipes import RECIPES, TUNABLE, Recipe

__all__ = ["Controls", "DATASETS", "OFF", "LABELS"]

DATASETS = tuple(TOY_DATASETS) + ("digits",)
#: a constraint switched off, as the Recipe spells it: its field's default
OFF = {f.name: f.default for f in dataclasses.fields(Recipe) if f.name in ("gp_lambda", "clip")}
#: the value a constraint's checkbox turns on before it had one: the papers' (WGAN-GP λ, WGAN c)
_FIRST_ON = {"gp_lambda": RECIPES["wgan-gp"].gp_lambda, "clip": RECIPES["wgan"].clip}
LABELS = {"gp_lambda": "λ", "clip": "c", "lr_g": "lr G", "lr_d": "lr D", "n_critic": "n_critic",
          "batch_size": "batch", "one_sided": "one-sided penalty"}
# the log sliders, each with a text box: name -> (log10 min, log10 max, CSS class); display only
_LOG = {"gp_lambda": (-3, 3, "lambda"), "clip": (-4, 0, "clip"), "lr_g": (-5, -1, "lr-g"),
        "lr_d": (-5, -1, "lr-d")}


def plain(value) -> str:
    """A number as a student writes it (0.00005, not 5e-05); None as ``None``."""
    if value is None or isinstance(value, (bool, int)):
        return str(value)
    return np.format_float_positional(value, precision=4, fractional=False, trim="-")


def _css(widget, name):
    widget.add_class(f"ganedu-{name}")
    return widget


class Controls:
    """The settings widgets of a dashboard and the one path from them to ``Trainer.set``.

    Args:
        recipe, data, seed: what the controls show first.
        trainer: a function returning the Trainer that changes go to.
        say: ``say(text, kind)`` shows a message (kind ``"ok"`` or ``"error"``).
        on_setup: called with the widget when the recipe, the data or the seed changes (a new run).
    """

    def __init__(self, recipe, data, seed, *, trainer, say, on_setup):
        self._trainer, self._say, self._syncing = trainer, say, False
        self._held = {name: getattr(recipe, name) for name in TUNABLE}  # what the controls show
        self._last_on = {name: _FIRST_ON[name] if getattr(recipe, name) == OFF[name] else getattr(recipe, name)
                         for name in OFF}
        box = lambda width: W.Layout(width=width)  # noqa: E731
        names = [*RECIPES, *CONDITIONAL_RECIPES]  # the conditional ones train G(z, y) and D(x, y)
        self.recipe_w = _css(W.Dropdown(options=names, value=recipe.name if recipe.name in names else None,
                                        description="recipe", layout=box("210px")), "recipe")
        self.data_w = _css(W.Dropdown(options=DATASETS, value=data, description="data", layout=box("200px")), "data")
        self.seed_w = _css(W.IntText(value=seed, description="seed", layout=box("140px")), "seed")
        self.batch_w = _css(W.Dropdown(options=sorted({32, 64, 128, 256, 512, 1024, recipe.batch_size}),
                                       value=recipe.batch_size, description="batch", layout=box("150px")), "batch")
        self.n_critic_w = _css(W.IntSlider(value=recipe.n_critic, min=1, max=20, description="n_critic",
                                           continuous_update=False, layout=box("260px")), "n-critic")
        self.gp_on = _css(W.Checkbox(value=recipe.gp_lambda != OFF["gp_lambda"], description="gradient penalty",
                                     indent=False, layout=box("140px")), "gp-on")
        self.clip_on = _css(W.Checkbox(value=recipe.clip != OFF["clip"], description="weight clipping",
                                       indent=False, layout=box("140px")), "clip-on")
        self.one_sided_w = _css(W.Checkbox(value=recipe.one_sided, description="one-sided", indent=False,
                                           layout=box("100px")), "one-sided")  # max(0, ||g|| - 1)² (WGAN-LP)
        self.sliders, self.texts = {}, {}
        for name, (lo, hi, css) in _LOG.items():
            value = self._last_on.get(name, getattr(recipe, name))
            self.sliders[name] = _css(W.FloatLogSlider(
                value=value, base=10, min=lo, max=hi, step=0.1, readout=False, continuous_update=False,
                description=LABELS[name], style={"description_width": "40px"}, layout=box("210px")), css)
            self.texts[name] = _css(W.Text(value=plain(getattr(recipe, name)), continuous_update=False,
                                           layout=box("80px")), f"{css}-text")
            self.sliders[name].observe(lambda c, n=name: self._apply(n, c["new"]), "value")
            self.texts[name].observe(lambda c, n=name: self._typed(n, c["new"]), "value")
        self.n_critic_w.observe(lambda c: self._apply("n_critic", c["new"]), "value")
        self.batch_w.observe(lambda c: self._apply("batch_size", c["new"]), "value")
        self.one_sided_w.observe(lambda c: self._apply("one_sided", c["new"]), "value")
        for name, on in (("gp_lambda", self.gp_on), ("clip", self.clip_on)):
            on.observe(lambda c, n=name: self._apply(n, self._last_on[n] if c["new"] else OFF[n]), "value")
        for w in (self.recipe_w, self.data_w, self.seed_w):
            w.observe(lambda c: None if self._syncing else on_setup(c["owner"]), "value")

    def rows(self) -> list:
        """The controls laid out: run setup; one row per constraint (its checkbox labelled, its
        slider, its value); the learning rates."""
        row = lambda name: [self.sliders[name], self.texts[name]]  # noqa: E731
        return [W.HBox([self.recipe_w, self.data_w, self.seed_w, self.batch_w]),
                W.HBox([self.gp_on, *row("gp_lambda"), self.one_sided_w]),
                W.HBox([self.clip_on, *row("clip"), self.n_critic_w]),
                W.HBox([*row("lr_g"), *row("lr_d")])]

    def values(self) -> dict:
        """The tunable recipe fields the controls show (exactly: a slider may show a value clamped)."""
        return dict(self._held)

    # ---- widgets -> Trainer.set ----------------------------------------------------------------
    def _typed(self, name, text):
        """A value typed into a text box: a number, or ``None`` (the Recipe's "no clipping")."""
        if self._syncing:
            return
        text = text.strip()
        try:
            value = None if text == "None" else float(text)
        except ValueError:
            self.show()
            return self._refuse(name, f"{text!r} is not a number")
        self._apply(name, value)

    def _apply(self, name, value):
        """Give ``Trainer.set`` the new value: it applies from the next step on, or is refused."""
        if self._syncing:
            return
        trainer = self._trainer()
        try:
            trainer.set(**{name: value})  # checked by the Recipe
        except (ValueError, TypeError) as exc:
            self.show()
            return self._refuse(name, str(exc))
        self.show()
        shown = ("on" if value else "off") if isinstance(value, bool) else f"= {plain(value)}"
        self._say(f"{LABELS[name]} {shown} from step {trainer.steps} on", "ok")

    def _refuse(self, name, why):
        self._say(f"{LABELS[name]}: refused. {why}", "error")

    def offer(self, data_name):
        """Add ``data_name`` (your own points) to the data menu."""
        if data_name not in self.data_w.options:
            self._syncing = True
            try:
                self.data_w.options = (*self.data_w.options, data_name)
            finally:
                self._syncing = False

    def show_run(self, recipe_name, data, seed):
        """Show a run's recipe name, data and seed without starting a new run (the caller does)."""
        self._syncing = True
        try:
            if recipe_name in self.recipe_w.options:
                self.recipe_w.value = recipe_name
            self.data_w.value, self.seed_w.value = data, seed
        finally:
            self._syncing = False

    # ---- Trainer -> widgets --------------------------------------------------------------------
    def show(self, recipe=None):
        """Show the values the trainer uses (its seed too), or ``recipe``'s, without applying them."""
        r = self._trainer().recipe if recipe is None else recipe
        self._held = {name: getattr(r, name) for name in TUNABLE}
        self._syncing = True  # the observers see it and do nothing
        try:
            for name, value in self._held.items():
                if name in OFF and value != OFF[name]:
                    self._last_on[name] = value
                if name in self.sliders:
                    self.sliders[name].value = self._last_on.get(name, value)  # (clamped to its range)
                    self.texts[name].value = plain(value)
            for w, value in ((self.gp_on, r.gp_lambda != OFF["gp_lambda"]), (self.clip_on, r.clip != OFF["clip"]),
                             (self.one_sided_w, r.one_sided), (self.n_critic_w, r.n_critic)):
                w.value = value
            if r.batch_size not in self.batch_w.options:
                self.batch_w.options = sorted({*self.batch_w.options, r.batch_size})
            self.batch_w.value = r.batch_size
            if recipe is None:
                self.seed_w.value = self._trainer().seed
        finally:
            self._syncing = False
