"""Replay: scrub through a recorded run, step by step, where live training is too slow to show it.

A lecture on a slow or shared CPU may train a few steps a second; the dashboard's run needs a
couple of thousand steps to cover the modes. A record of that very run (``05_dashboard_run``, made
once by ``python -m ganedu.lessons.records``, and passed in by the notebook) holds the samples the
dashboard shows at every checkpoint with their modes, HQ and W₁; the slider moves through them.
The live controls are untouched: the replay is a picture of another machine's run, captioned so.
"""
from __future__ import annotations

import ipywidgets as W
import torch

from ..checks import check_type
from ..data import sample_toy
from ..plot import fig_to_png, new_figure, plot_samples

__all__ = ["Replay", "check_replay", "needed_rate"]

#: how long a class should wait for the run to reach its quality, in seconds (#18's goal)
PATIENCE_S = 20.0


def check_replay(record):
    """``record`` if it is a replay record (``caption``, ``spec``, ``results``: checkpoints with ``step``,
    ``samples``, ``modes``, ``hq``, ``w1``), else a ``TypeError`` / ``ValueError`` that says what is missing."""
    check_type("replay", record, dict, "a record dict (ganedu.lessons.records.load('05_dashboard_run'))")
    missing = [k for k in ("caption", "spec", "results") if k not in record]
    if missing or not record["results"]:
        raise ValueError(f"replay must be a record with caption, spec and checkpoints (results), missing {missing or 'results'}")
    keys = ("step", "samples", "modes", "modes_total", "hq", "w1")
    bad = [i for i, c in enumerate(record["results"]) if not all(k in c for k in keys)]
    if bad:
        raise ValueError(f"replay: checkpoints {bad[:5]} lack one of {keys}")
    return record


def needed_rate(record) -> float | None:
    """Steps per second that show the recorded run reach all its modes with >= 90% HQ within
    ``PATIENCE_S`` (None if it never does)."""
    step = next((c["step"] for c in record["results"] if c["modes"] == c["modes_total"] and c["hq"] >= 0.9), None)
    return None if step is None else step / PATIENCE_S


class Replay:
    """A toggle that shows a recorded run, a slider over its checkpoints' steps, its picture and scores."""

    def __init__(self, record):
        self.record = check_replay(record)
        self.real = sample_toy(record["spec"]["data"], 2000, generator=torch.Generator().manual_seed(0))
        steps = [c["step"] for c in record["results"]]
        self.toggle = W.ToggleButton(description="Replay a recorded run", value=False,
                                     tooltip="when training here is too slow: the same run, recorded",
                                     layout=W.Layout(width="auto"))
        self.slider = W.SelectionSlider(options=steps, value=steps[-1], description="recorded step",
                                        continuous_update=False, layout=W.Layout(width="420px"),
                                        style={"description_width": "initial"})
        self.image, self.words = W.Image(format="png"), W.HTML("")
        for w, css in ((self.toggle, "replay"), (self.slider, "replay-step"), (self.image, "replay-plot"),
                       (self.words, "replay-words")):
            w.add_class(f"ganedu-{css}")
        self.box = W.VBox([W.HBox([self.slider, self.words]), self.image], layout=W.Layout(display="none"))
        self.toggle.observe(lambda change: self._shown(change["new"]), "value")
        self.slider.observe(lambda change: self.draw(), "value")

    def _shown(self, on):
        self.box.layout.display = None if on else "none"
        if on:
            self.draw()

    def checkpoint(self) -> dict:
        """The checkpoint the slider is on."""
        return next(c for c in self.record["results"] if c["step"] == self.slider.value)

    def draw(self):
        """The recorded samples at the slider's step over the data, its scores, and where it was recorded."""
        c = self.checkpoint()
        fig = new_figure((4.2, 4.0), 72)
        plot_samples(self.real, torch.tensor(c["samples"]), ax=fig.add_subplot(1, 1, 1), density=True,
                     legend=False, title=f"recorded: step {c['step']}")
        self.image.value = fig_to_png(fig)
        self.words.value = (f"step {c['step']}: modes within 3σ {c['modes']}/{c['modes_total']} (HQ {c['hq']:.0%}) · exact W₁ {c['w1']:.3f}"
                            f"<br><span style='color:#555'>{self.record['spec']['recipe']}, seed "
                            f"{self.record['spec']['seed']}: {self.record['caption']}</span>")
