"""What the dashboard shows: the figure as a PNG, the step counter, the progress line, the status.

The figure itself, what is drawn and how, is :func:`ganedu.plot.plot_trainer`: change the
dashboard's drawing there. Here it is scored (:func:`score_live`), put into words and shown.
No emoji in the words: the status line is read on machines without an emoji font (a missing
glyph is an empty box), so it says "refused" and "stopped" in words.
"""
from __future__ import annotations

import html

import ipywidgets as W
import torch

from ..conditional_train import toy_class_accuracy
from ..data import TOY_DATASETS, toy_modes
from ..diagnose import FAILURES, diagnose, headline
from ..metrics import mode_coverage, score_samples
from ..plot import fig_to_png, plot_trainer
from .scoreboard import Scoreboard

__all__ = ["View", "score_live", "progress_line", "findings_html", "OWN"]

#: the data menu's name for your own points (a word's outline, a CSV file): no modes, W₁ works
OWN = "your points"

_COLORS = {"info": "#333", "ok": "#009E73", "error": "#D55E00"}


def score_live(samples: torch.Tensor, real: torch.Tensor, data: str, y: torch.Tensor | None = None) -> dict:
    """The dashboard's scores of generated toy samples: :func:`ganedu.metrics.score_samples`, plus one count.

    From the course's scorer: ``w1`` (exact W₁ to as many real points; ``points``: how many), and for
    the Gaussian mixtures ``modes`` (covered within 3σ of a centre, the papers' count), ``hq`` and
    ``n_modes``. Added here: ``modes_near``, the modes with a sample within a quarter of the distance
    between the two closest centres (what a student sees as "a sample near each mode" before the
    samples are within 3σ). ``y``: the classes a conditional generator was asked for; adds
    ``per_class``, each class's fraction within 3σ of its own mode. Image data: an empty dict.
    """
    n = min(len(samples), len(real))
    if data == OWN:  # free-form points: nothing to count modes of; the exact W₁ to them still works
        scores = score_samples(samples, None, real=real[:n], n_w1=n)
        return {**scores, "points": n, "free_form": True}
    if data not in TOY_DATASETS:
        return {}
    scores = score_samples(samples, data, real=real[:n], n_w1=n)
    scores["points"] = n
    if "modes_total" in scores:  # the mixtures, whose modes are known
        modes = toy_modes(data)
        gaps = torch.cdist(modes, modes) + torch.diag(torch.full((len(modes),), float("inf")))
        near = float(gaps.min()) / 4
        scores["n_modes"] = scores.pop("modes_total")
        scores["modes_near"] = mode_coverage(samples, modes, near / 3)["modes"]  # within 3 · near/3
        if y is not None:
            scores["per_class"] = toy_class_accuracy(samples, y, data)
    return scores


def progress_line(trainer, steps_per_second: float, scores: dict) -> str:
    """``58.6 steps/s · W estimate 0.123 · exact W₁ 0.045 (256 points) · modes near 8/8, within
    3σ 3/8 (HQ 40%)``; no rate while paused. Reading the history may raise ``TrainingDiverged``."""
    line = [f"{steps_per_second:.1f} steps/s"] if steps_per_second > 0 else []
    w_estimate = trainer.history["w_estimate"]  # flushes: may raise TrainingDiverged
    if w_estimate:
        line.append(f"W estimate {w_estimate[-1]:.3f}")
    r = trainer.recipe
    if r.lr_decay_steps:  # the learning rates the optimisers use: sliders × this
        line.append(f"lr × {r.lr_factor(trainer.steps):.2f} (decay over {r.lr_decay_steps} steps)")
    if "w1" in scores:
        line.append(f"exact W₁ {scores['w1']:.3f} ({scores['points']} points)")
    if scores.get("free_form"):
        line.append("modes n/a (your points have no modes)")
    if "modes" in scores:
        k = scores["n_modes"]
        line.append(f"modes near {scores['modes_near']}/{k}, within 3σ {scores['modes']}/{k} "
                    f"(HQ {scores['hq']:.0%})")
    if "per_class" in scores:
        worst = min(range(len(scores["per_class"])), key=scores["per_class"].__getitem__)
        line.append(f"each class on its own mode: worst class {worst} at {scores['per_class'][worst]:.0%}")
    diagnosis = headline(trainer)  # ganedu.diagnose: what the curves show went wrong, live
    if diagnosis:
        line.append(diagnosis)
    return " · ".join(line)


def findings_html(findings: list) -> str:
    """:func:`ganedu.diagnose.diagnose`'s findings in plain words, one entry each: what failed and
    from which step, the evidence, the advice; when there are none, what was looked for."""
    head = "<b>What the curves say</b>"
    if not findings:
        looked = ", ".join(name.replace("_", " ") for name in FAILURES)
        return (f"{head}<br>No failure found in the history so far.<br>"
                f"<span style='color:#555'>Looked for: {html.escape(looked)}.</span>")
    items = "".join(f"<li class='ganedu-finding'><b>{html.escape(f.title)}</b> (step {f.step}): "
                    f"{html.escape(f.evidence)}.<br><i>{html.escape(f.advice)}</i></li>" for f in findings)
    return f"{head}<ul style='padding-left:18px;margin:4px 0'>{items}</ul>"


class View:
    """The dashboard's output widgets, and the run's exact-W₁ curve they draw."""

    def __init__(self):
        self.step_counter = W.HTML("step 0", layout=W.Layout(min_width="80px"))  # on one line
        self.progress = W.HTML("")
        self.status, self.image = W.HTML(""), W.Image(format="png")
        for w, css in ((self.step_counter, "step-counter"), (self.progress, "progress"),
                       (self.status, "status"), (self.image, "plot")):
            w.add_class(f"ganedu-{css}")
        self._fig = None  # the live Figure, cleared and redrawn
        self.label = None  # a conditional run's class to draw (None: every class), the class picker's
        self.scoreboard, self.scores = Scoreboard(), {}  # modes and HQ beside the papers'
        self.findings = W.HTML("", layout=W.Layout(width="280px"))  # ganedu.diagnose, beside the curves
        self.findings.add_class("ganedu-findings")

    def new_run(self, trainer, data):
        """Forget the last run: real points to draw and score against, an empty W₁ curve."""
        self.data, self.real = data, trainer.real_batch(2000)
        self.w1 = {"step": [], "w1": []}

    def figure(self, trainer, steps_per_second=0.0, dpi=72):
        """The figure (``plot_trainer``) and the progress line; scores the samples once."""
        trainer.history  # noqa: B018 -- flushes first: may raise TrainingDiverged before scoring
        y = torch.arange(256) % trainer.n_classes if hasattr(trainer, "n_classes") else None  # sample()'s classes
        scores = score_live(trainer.sample(256), self.real, self.data, y) if trainer.steps else {}
        self.scores = scores
        if "w1" in scores:
            self.w1["step"].append(trainer.steps)
            self.w1["w1"].append(scores["w1"])
        live = dpi == 72  # the live view redraws into one Figure; a snapshot gets its own
        fig = plot_trainer(trainer, real=self.real, exact_w1=self.w1 if self.w1["step"] else None,
                           dpi=dpi, fig=self._fig if live else None, label=self.label)
        self._fig = fig if live else self._fig
        return fig, progress_line(trainer, steps_per_second, scores)

    def show(self, trainer, steps_per_second):
        """Draw the trainer now: the picture, and the step counter naming the step it shows."""
        fig, line = self.figure(trainer, steps_per_second)
        self.image.value = fig_to_png(fig)
        self.step_counter.value = f"<b>step {trainer.steps}</b>"
        self.progress.value = f" · {line}" if line else ""
        self.scoreboard.show(self.data, self.scores)
        self.findings.value = findings_html(diagnose(trainer))

    def say(self, text, kind="info"):
        """A status message coloured by kind (info, ok, error), its text escaped."""
        self.status.value = f'<span style="color:{_COLORS[kind]}">{html.escape(text, quote=False)}</span>'
