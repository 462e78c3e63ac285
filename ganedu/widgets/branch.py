"""Branch and compare: "what if λ had been 10 from step 500?"

*Branch here* copies the run as it is (networks, optimisers, the random stream, the history)
into a twin that keeps the settings it had. The dashboard's controls go on steering the run
you see; the twin trains the same number of steps beside it, from the same state and the same
random stream (the same noise, until a change such as n_critic makes the runs draw differently),
and its samples are drawn beside the main figure with its scores. A second click branches again
from the run as it is then; Reset or a new run ends the comparison.
"""
from __future__ import annotations

import copy

import ipywidgets as W

from ..plot import fig_to_png, new_figure, plot_samples
from ..train import Trainer
from .controls import LABELS, plain
from .view import score_live

__all__ = ["Branch"]


class Branch:
    """The twin run and its small view (``box``: its picture and its words)."""

    def __init__(self):
        self.twin = None
        self.image, self.words = W.Image(format="png"), W.HTML("")
        self.image.add_class("ganedu-branch-plot")
        self.words.add_class("ganedu-branch-words")
        self.box = W.VBox([self.words, self.image], layout=W.Layout(display="none"))

    def start(self, trainer: Trainer, build, real, data_name: str):
        """Copy ``trainer`` (all of its state, deep) into the twin, which keeps its settings;
        ``build(recipe, seed)`` makes a new trainer of the same kind on the same data."""
        twin = build(trainer.recipe, trainer.seed)
        twin.load_state_dict(copy.deepcopy(trainer.state_dict()))
        self.twin, self.real, self.data_name, self.since = twin, real, data_name, trainer.steps
        self.box.layout.display = None

    def stop(self):
        self.twin = None
        self.box.layout.display = "none"

    def catch_up(self, steps: int):
        """Train the twin until it has made ``steps`` generator steps (as many as the run you see)."""
        while self.twin is not None and self.twin.steps < steps:
            self.twin.step()

    def draw(self):
        """The twin's samples over the data, and its settings and scores in words."""
        if self.twin is None:
            return
        fake = self.twin.sample(256)
        fig = new_figure((3.6, 3.4), 72)
        ax = fig.add_subplot(1, 1, 1)
        plot_samples(self.real, fake, ax=ax, legend=False, title=f"twin: step {self.twin.steps}")
        self.image.value = fig_to_png(fig)
        scores = score_live(fake, self.real, self.data_name)
        r = self.twin.recipe
        kept = ", ".join(f"{LABELS[k]} = {plain(getattr(r, k))}" for k in ("gp_lambda", "clip", "n_critic", "lr_g", "lr_d"))
        line = [f"<b>twin</b> (branched at step {self.since}, settings kept: {kept})"]
        if "w1" in scores:
            line.append(f"exact W₁ {scores['w1']:.3f}")
        if "modes" in scores:
            line.append(f"within 3σ {scores['modes']}/{scores['n_modes']} (HQ {scores['hq']:.0%})")
        self.words.value = " · ".join(line)
