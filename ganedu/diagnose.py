r"""Is my run broken? Detectors that read a run's curves and say what failed, why, and what to try.

A detector reads a Trainer's ``history`` (the losses, the Earth-Mover estimate, the critic's
gradient norm) and, where the curves cannot tell, what a :class:`Monitor` measured along the way
(D(x), D(G(z)), the generator's gradient, the modes a sample covers, D on held-out data). It returns
a :class:`Finding`: what failed, the evidence in numbers, and the advice in plain words::

    monitor = Monitor()
    trainer.train(1000, callback=monitor, every=monitor.every)
    for finding in diagnose(trainer, monitor):
        print(finding)

or ``watch(trainer, 1000)``, which does the same and also records a NaN divergence (the Trainer
rolls back and raises :class:`ganedu.train.TrainingDiverged`). Each detector's docstring states the
rule; its thresholds are the module's constants. Mode detectors need a toy mixture
(``ganedu.data.TOY_MIXTURES``); the overfitting detector needs held-out real data.

Longer than the ~350 lines of most modules: nine detectors of a few lines each and the Monitor they read
are easiest to check side by side (one rule per function, its thresholds at the top).

Kept out of the Trainer: the Monitor measures every ``every`` steps on separate random streams,
so a watched run trains exactly as an unwatched one (``tests/test_diagnose.py`` checks this).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .checks import check_int, check_tensor, check_type
from .data import TOY_MIXTURES, toy_modes
from .losses import LOSSES
from .train import _keep_buffers  # BatchNorm running stats restored after a measurement's forward passes

__all__ = ["Finding", "Monitor", "diagnose", "watch", "headline", "finding_lines", "PLAIN", "DETECTORS", "FAILURES"]

#: the failures, in the order the atlas shows them
FAILURES = ("saturated_discriminator", "vanishing_gradient", "mode_collapse", "mode_hopping", "oscillation",
            "clipping_blowup", "exploding_gradients", "nan_divergence", "overfitting_discriminator")
PROBABILITY_LOSSES = ("minimax", "nonsaturating")  # the critic's score is a logit: D = σ(score)

# thresholds (each detector's docstring says how it uses them)
SATURATION = 0.01          # D(G(z)) below this ...
SATURATION_STEPS = 200     # ... for this many consecutive steps
VANISH_RATIO = 1e-2        # the generator's gradient below this fraction of its largest value so far
MODE_MASS = 0.05           # a mode is occupied when it holds at least this fraction of the samples
NEAR = 0.5                 # a collapsed generator puts at least this fraction of its samples at modes
LATE = 0.25                # mode and oscillation detectors read the last quarter of the run
HOPS = 3                   # the busiest mode changes at least this many times
OSC_WINDOW = 25            # steps per window of the oscillation detector's moving average
OSC_CROSSINGS = 3          # the smoothed loss crosses its mean at least this often ...
OSC_AMPLITUDE = 0.4        # ... with a swing (max - min) at least this times max(1, |mean|)
BLOWUP_RATIO = 10.0        # |critic loss| grows by this factor from the first steps to the last tenth
BLOWUP_START = 1           # the first steps (1: the initial critic)
BLOWUP_MIN = 10.0          # ... and reaches at least this
EXPLODE_RATIO = 10.0       # ||∇C(x̂)|| grows by this factor ...
EXPLODE_MIN = 10.0         # ... and ends above this
OVERFIT_RV = 0.5           # Karras et al. 2020's r_v above this ...
OVERFIT_RECORDS = 3        # ... in this many consecutive measurements


@dataclass(frozen=True)
class Finding:
    """One diagnosed failure: ``failure`` (a key of ``FAILURES``), the ``step`` where it showed,
    the ``evidence`` (numbers, in words) and the ``advice``."""

    failure: str
    step: int
    evidence: str
    advice: str

    @property
    def title(self) -> str:
        return self.failure.replace("_", " ").capitalize()

    def __str__(self) -> str:
        return f"{self.title} (step {self.step}): {self.evidence} — {self.advice}"


class Monitor:
    r"""A Trainer callback that measures what the history lacks, every ``every`` steps.

    Per call it appends to ``records``: ``step``; ``d_real`` / ``d_fake`` (the mean of D(x) and
    D(G(z)), probabilities σ(score) for the minimax losses, raw scores otherwise); ``g_grad``
    (:math:`\|\nabla_\theta L_G\|_2`, the generator loss's gradient over all generator parameters,
    nothing updated); ``modes`` (occupied modes) and ``busiest`` (the mode holding most samples) on toy
    mixtures; ``r_v`` with ``held_out`` data (Karras et al. 2020, §3, Eq. 1:
    :math:`r_v = \frac{\mathbb{E}D_{train} - \mathbb{E}D_{validation}}{\mathbb{E}D_{train} - \mathbb{E}D_{generated}}`,
    0: no overfitting, 1: D tells training from held-out data as well as real from fake).

    Args:
        every: steps between measurements (pass the same ``every`` to ``Trainer.train``).
        n: samples per measurement.
        held_out: ``(N, ...)`` real samples the critic never trains on (for ``r_v``).
        seed: the measurement's own random stream (training's is not touched).
    """

    def __init__(self, every: int = 25, n: int = 512, held_out: torch.Tensor | None = None, seed: int = 0):
        self.every = check_int("every", every, min=1)
        self.n = check_int("n", n, min=2)
        if held_out is not None:
            check_tensor("held_out", held_out, floating=True)
        self.held_out = held_out
        self.seed = check_int("seed", seed)
        self.records = {k: [] for k in ("step", "d_real", "d_fake", "g_grad", "modes", "busiest", "near", "r_v")}
        self.diverged = None  # (step, message) once a run stopped with TrainingDiverged

    def __call__(self, trainer):
        rng = torch.Generator().manual_seed(self.seed + trainer.steps)
        g, c, device, loss = trainer.generator, trainer.critic, trainer.device, trainer.recipe.loss
        real = trainer.real_batch(self.n).to(device)
        z = torch.randn(self.n, g.z_dim, generator=rng).to(device)
        with _keep_buffers(g), _keep_buffers(c):
            fake = g(z)
            fake_scores = c(fake)
            g_grad = _grad_norm(LOSSES[loss][1](fake_scores), g)
            with torch.no_grad():
                d_real, d_fake = _prob(c(real), loss), _prob(fake_scores.detach(), loss)
                r_v = None
                if self.held_out is not None:
                    held = self.held_out[torch.randint(len(self.held_out), (self.n,), generator=rng)].to(device)
                    d_held = _prob(c(held), loss)
                    r_v = (d_real - d_held) / (d_real - d_fake).clamp_min(1e-8) if d_real > d_fake else float("nan")
        modes, busiest, near = _mode_stats(fake.detach().cpu(), trainer.data)
        row = dict(step=trainer.steps, d_real=float(d_real), d_fake=float(d_fake), g_grad=g_grad, modes=modes,
                   busiest=busiest, near=near, r_v=None if r_v is None else float(r_v))
        for key, value in row.items():
            self.records[key].append(value)


def _prob(scores, loss):
    return (torch.sigmoid(scores) if loss in PROBABILITY_LOSSES else scores).mean()


def _grad_norm(loss, module) -> float:
    params = [p for p in module.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return math.sqrt(sum(float(gr.pow(2).sum()) for gr in grads if gr is not None))


def _mode_stats(samples, data):
    """(occupied modes, busiest mode, fraction near a mode) of a toy mixture's samples, or Nones.

    A sample belongs to its nearest mode when it lies within half the distance between the two closest
    modes (a sample between modes belongs to none); a mode is occupied when at least ``MODE_MASS`` of
    the samples belong to it; the busiest mode holds the most (None when no sample belongs to any).
    """
    if not (isinstance(data, str) and data in TOY_MIXTURES) or not torch.isfinite(samples).all():
        return None, None, None
    modes = toy_modes(data).double()
    gaps = torch.cdist(modes, modes) + torch.eye(len(modes)) * 1e9
    distance, nearest = torch.cdist(samples.double(), modes).min(dim=1)
    counts = torch.bincount(nearest[distance <= gaps.min() / 2], minlength=len(modes))  # (k,)
    busiest = int(counts.argmax()) if counts.sum() > 0 else None
    return int((counts >= MODE_MASS * len(samples)).sum()), busiest, float(counts.sum()) / len(samples)


# ---- the detectors: each reads a run (history, records, recipe) and returns a Finding or None -----
class Run:
    """What the detectors read: ``history`` (Trainer.history), ``records`` (Monitor.records or {}),
    ``recipe``, ``diverged`` ((step, message) or None) and ``data`` (the Trainer's data)."""

    def __init__(self, history, records, recipe, diverged=None, data=None):
        self.history, self.records, self.recipe, self.diverged, self.data = history, records, recipe, diverged, data

    def series(self, key):
        """(steps, values) of a history column, or of a Monitor record when the history lacks it."""
        source = self.history if key in self.history else self.records
        steps, values = source.get("step", []), source.get(key, [])
        pairs = [(s, v) for s, v in zip(steps, values) if v is not None]
        return [s for s, _ in pairs], [v for _, v in pairs]


def _longest_run(steps, flags):
    """(first step, last step) of the longest stretch of consecutive True flags, or None."""
    best, start = None, None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        if start is not None and (not flag or i == len(flags) - 1):
            end = i if flag else i - 1
            if best is None or steps[end] - steps[start] > best[1] - best[0]:
                best = (steps[start], steps[end])
            start = None
    return best


def _late(values, fraction=LATE):
    return values[len(values) - max(1, int(len(values) * fraction)):]


def _median(values):
    return float(torch.tensor(values, dtype=torch.float64).median()) if values else float("nan")


def saturated_discriminator(run):
    r"""D(G(z)) below ``SATURATION`` for ``SATURATION_STEPS`` steps (minimax losses).

    Read from the history: :math:`L_D \ge -\mathbb{E}\log(1 - D(G(z))) \ge -\log(1 - \mathbb{E}D(G(z)))`
    (Jensen), so :math:`\mathbb{E}D(G(z)) \le 1 - e^{-L_D}`: a discriminator loss below
    :math:`-\log(1 - 0.01) \approx 0.01` bounds the mean of D(G(z)) below 0.01 at that step.
    """
    if run.recipe.loss not in PROBABILITY_LOSSES:
        return None
    steps, d_loss = run.series("d_loss")
    bound = [1 - math.exp(-v) if math.isfinite(v) else 1.0 for v in d_loss]
    stretch = _longest_run(steps, [b < SATURATION for b in bound])
    if stretch is None or stretch[1] - stretch[0] + 1 < SATURATION_STEPS:
        return None
    advice = ("the saturating loss log(1 - D(G(z))) has no gradient here — use the non-saturating loss, "
              "lower lr_d, or a Wasserstein critic" if run.recipe.loss == "minimax" else
              "the generator still gets a gradient from the non-saturating loss, but D is winning — lower lr_d "
              "or n_critic, or use a Wasserstein critic with a gradient penalty")
    return Finding("saturated_discriminator", stretch[0],
                   f"D(G(z)) below {SATURATION} for {stretch[1] - stretch[0] + 1} steps "
                   f"(steps {stretch[0]}-{stretch[1]}: the discriminator's loss is below {-math.log(1 - SATURATION):.4f}): "
                   "the discriminator saturates", advice)


def vanishing_gradient(run):
    r""":math:`\|\nabla_\theta L_G\|` (Monitor) below ``VANISH_RATIO`` of its largest value so far,
    in two consecutive measurements or more."""
    steps, g_grad = run.series("g_grad")
    flags, peak = [], 0.0
    for v in g_grad:
        flags.append(peak > 0 and v < VANISH_RATIO * peak)
        peak = max(peak, v)
    stretch = _longest_run(steps, flags)
    if stretch is None or stretch[0] == stretch[1]:
        return None
    first = steps.index(stretch[0])
    return Finding("vanishing_gradient", stretch[0],
                   f"the generator's gradient norm fell to {g_grad[first]:.2g}, below {VANISH_RATIO:g} of its peak "
                   f"{max(g_grad[:first] or [0]):.2g}, from step {stretch[0]} to {stretch[1]}: the generator has stopped learning",
                   "with the saturating loss a confident discriminator leaves no gradient (use the non-saturating loss or "
                   "a Wasserstein critic); a generator whose units are all dead (zero gradient) needs a new start with a "
                   "lower learning rate")


def _mode_series(run):
    """The last quarter's measurements as (step, occupied modes, busiest mode), and the number of modes."""
    rec = run.records
    if not rec.get("modes") or rec["modes"][0] is None or not (isinstance(run.data, str) and run.data in TOY_MIXTURES):
        return None
    return _late(list(zip(rec["step"], rec["modes"], rec["busiest"]))), len(toy_modes(run.data))


def _hops(busiest):
    kept = [b for b in busiest if b is not None]
    return sum(a != b for a, b in zip(kept, kept[1:]))


def mode_collapse(run):
    """In every measurement of the last quarter, at least ``NEAR`` of the samples at modes, at most half
    the modes occupied, and the busiest mode changed fewer than ``HOPS`` times (the generator stays on the same few modes)."""
    found = _mode_series(run)
    if found is None:
        return None
    late, k = found
    most = max(m for _, m, _ in late)
    hops = _hops([b for _, _, b in late])
    _, near = run.series("near")
    if most > k // 2 or hops >= HOPS or min(_late(near)) < NEAR:
        return None
    return Finding("mode_collapse", late[0][0],
                   f"at most {most} of {k} modes occupied (>= {MODE_MASS:.0%} of the samples each) from step "
                   f"{late[0][0]} to {late[-1][0]}, the busiest mode changing {hops} times: the generator covers a few modes",
                   "the minimax losses do not punish a dropped mode — use a Wasserstein critic with a gradient penalty "
                   "or spectral norm, or pack samples (PacGAN)")


def mode_hopping(run):
    """In the last quarter, at most half the modes occupied in every measurement, and the busiest mode
    changed at least ``HOPS`` times: the generator jumps from mode to mode."""
    found = _mode_series(run)
    if found is None:
        return None
    late, k = found
    most = max(m for _, m, _ in late)
    hops = _hops([b for _, _, b in late])
    if most > k // 2 or hops < HOPS:
        return None
    return Finding("mode_hopping", late[0][0],
                   f"the busiest mode changed {hops} times from step {late[0][0]} to {late[-1][0]} while at most "
                   f"{most} of {k} modes were occupied: the generator hops between modes",
                   "each discriminator update moves the generator to D's current maximum — give the critic more steps "
                   "(n_critic) and a Lipschitz constraint (gradient penalty or spectral norm), or lower the learning rates")


def _smooth(values, window):
    return [sum(values[i:i + window]) / window for i in range(0, len(values) - window + 1)]


def oscillation(run):
    """The discriminator's loss, averaged over ``OSC_WINDOW`` steps, crosses its mean at least
    ``OSC_CROSSINGS`` times in the last half of the run with a swing (max - min) of at least
    ``OSC_AMPLITUDE`` times the larger of 1 and its mean's size: the two players chase each other."""
    steps, d_loss = run.series("d_loss")
    half = [v for v in d_loss[len(d_loss) // 2:] if math.isfinite(v)]
    if len(half) < 3 * OSC_WINDOW:
        return None
    smooth = _smooth(half, OSC_WINDOW)
    mean = sum(smooth) / len(smooth)
    swing = max(smooth) - min(smooth)
    crossings = sum((a - mean) * (b - mean) < 0 for a, b in zip(smooth, smooth[1:]))
    if crossings < OSC_CROSSINGS or swing < OSC_AMPLITUDE * max(1.0, abs(mean)):
        return None
    return Finding("oscillation", steps[len(d_loss) // 2],
                   f"the discriminator's loss ({OSC_WINDOW}-step average) swings by {swing:.3g} around {mean:.3g} "
                   f"and crosses it {crossings} times in the last {len(half)} steps: the players chase each other",
                   "lower the learning rates or Adam's beta1 (0.5 or 0), or use a Wasserstein critic with a gradient penalty")


def clipping_blowup(run):
    r"""Weight clipping on, and the critic loss's size :math:`|L_C|` (median over a tenth of the run) at
    some point ``BLOWUP_RATIO`` times its median over the first ``BLOWUP_START`` steps, and above ``BLOWUP_MIN``."""
    if run.recipe.clip is None:
        return None
    steps, d_loss = run.series("d_loss")
    size = [abs(v) for v in d_loss if math.isfinite(v)]
    if len(size) < 2 * BLOWUP_START:
        return None
    first, tenth = _median(size[:BLOWUP_START]), max(len(size) // 10, 1)
    peak, at = max((_median(size[i:i + tenth]), i) for i in range(0, len(size) - tenth + 1, tenth))
    if peak < BLOWUP_MIN or peak < BLOWUP_RATIO * max(first, 1e-3):
        return None
    return Finding("clipping_blowup", steps[at],
                   f"with clip={run.recipe.clip:g} the critic loss's size grew from {first:.3g} to {peak:.3g} "
                   f"(steps {steps[at]}-{steps[min(at + tenth, len(steps)) - 1]}): the clip does not bound the critic, "
                   "whose scores can grow like c to the power of its depth",
                   "a clip value this large does not keep the critic Lipschitz — use c = 0.01 as in the WGAN paper, "
                   "or better a gradient penalty or spectral norm")


def exploding_gradients(run):
    r""":math:`\|\nabla_{\hat x} C(\hat x)\|` (history's ``grad_norm``, median of the last tenth)
    above ``EXPLODE_MIN`` and ``EXPLODE_RATIO`` times its median over the first tenth."""
    steps, g = run.series("grad_norm")
    finite = [v for v in g if math.isfinite(v)]
    if len(finite) < 20:
        return None
    tenth = len(finite) // 10
    first, last = _median(finite[:tenth]), _median(finite[-tenth:])
    if last < EXPLODE_MIN or last < EXPLODE_RATIO * max(first, 1e-6):
        return None
    return Finding("exploding_gradients", steps[-1],
                   f"the critic's gradient norm at x̂ grew from {first:.3g} to {last:.3g}: the critic is not Lipschitz "
                   "and its gradients explode",
                   "constrain the critic (gradient penalty with gp_lambda > 0, spectral norm, or a small clip) "
                   "or lower lr_d")


def nan_divergence(run):
    """A loss became NaN or infinite: the Trainer stopped (``diverged``) or the history holds one."""
    if run.diverged is not None:
        step, message = run.diverged
        return Finding("nan_divergence", step, f"training stopped: {message}",
                       "lower the learning rates; constrain the critic; check the penalty's λ")
    for key in ("d_loss", "g_loss", "w_estimate", "gp", "grad_norm"):
        steps, values = run.series(key)
        bad = [s for s, v in zip(steps, values) if not math.isfinite(v)]
        if bad:
            return Finding("nan_divergence", bad[0], f"{key} is NaN or infinite from step {bad[0]}",
                           "lower the learning rates; constrain the critic; check the penalty's λ")
    return None


def overfitting_discriminator(run):
    """Karras et al. 2020's :math:`r_v` (Monitor, with held-out data) above ``OVERFIT_RV`` in
    ``OVERFIT_RECORDS`` consecutive measurements: D scores its training set above unseen real data."""
    steps, r_v = run.series("r_v")
    flags = [math.isfinite(v) and v > OVERFIT_RV for v in r_v]
    stretch = _longest_run(steps, flags)
    if stretch is None or steps.index(stretch[1]) - steps.index(stretch[0]) + 1 < OVERFIT_RECORDS:
        return None
    i, j = steps.index(stretch[0]), steps.index(stretch[1])
    return Finding("overfitting_discriminator", stretch[0],
                   f"r_v = (D(train) - D(held-out)) / (D(train) - D(G(z))) stayed above {OVERFIT_RV} from step "
                   f"{stretch[0]} to {stretch[1]} (max {max(r_v[i:j + 1]):.2f}): D memorises its training set",
                   "more data or augmentation (ADA), a smaller or regularised discriminator (gradient penalty, R1), "
                   "fewer discriminator steps")


DETECTORS = {f.__name__: f for f in (saturated_discriminator, vanishing_gradient, mode_collapse, mode_hopping,
                                     oscillation, clipping_blowup, exploding_gradients, nan_divergence,
                                     overfitting_discriminator)}
assert tuple(DETECTORS) == FAILURES


def diagnose(trainer, monitor: Monitor | None = None) -> list:
    """Every detector's finding for ``trainer`` (and what ``monitor`` measured), in ``FAILURES`` order."""
    check_type("monitor", monitor, (Monitor, type(None)), "a ganedu.diagnose.Monitor or None")
    if not all(hasattr(trainer, a) for a in ("history", "recipe")):
        raise TypeError(f"trainer must be a ganedu.train.Trainer, got {type(trainer).__name__}")
    run = Run(trainer.history, monitor.records if monitor else {}, trainer.recipe,
              monitor.diverged if monitor else None, getattr(trainer, "data", None))
    return [f for f in (detect(run) for detect in DETECTORS.values()) if f is not None]


def watch(trainer, steps: int, monitor: Monitor | None = None, *, progress: bool = False) -> list:
    """Train ``steps`` steps with ``monitor`` (a new :class:`Monitor` if None) as the callback, record a
    divergence instead of raising it, and return :func:`diagnose`'s findings."""
    from .train import TrainingDiverged

    monitor = Monitor() if monitor is None else check_type("monitor", monitor, Monitor, "a ganedu.diagnose.Monitor")
    if not monitor.records["step"]:
        monitor(trainer)  # the starting point: the gradient's first size, the modes of the initial generator
    try:
        trainer.train(steps, callback=monitor, every=monitor.every, progress=progress)
    except TrainingDiverged as exc:
        monitor.diverged = (trainer.steps_at_last_good, str(exc))
    return diagnose(trainer, monitor)


def headline(trainer) -> str:
    """The findings the history alone supports, in a few words for a live view ("" when none):
    ``diagnosis: Clipping blowup (step 120), Exploding gradients (step 300)``. Reading the history
    may raise ``TrainingDiverged`` (as any read of ``trainer.history``)."""
    findings = diagnose(trainer)
    return ("diagnosis: " + ", ".join(f"{f.title} (step {f.step})" for f in findings)) if findings else ""


#: each failure in plain words, for a live panel (:func:`finding_lines`)
PLAIN = {
    "saturated_discriminator": "the discriminator rejects every fake (D(G(z)) is near 0)",
    "vanishing_gradient": "the generator gets almost no gradient: it has stopped learning",
    "mode_collapse": "the samples sit on a few of the data's modes and stay there",
    "mode_hopping": "the samples jump from mode to mode instead of covering them all",
    "oscillation": "the losses swing up and down: the two players chase each other",
    "clipping_blowup": "the critic's loss runs away: the clip value does not bound the critic",
    "exploding_gradients": "the critic's gradients keep growing: it is not Lipschitz",
    "nan_divergence": "a loss became NaN or infinite: training stopped and rolled back",
    "overfitting_discriminator": "the discriminator memorised its training data (it rejects unseen real data)",
}
assert tuple(PLAIN) == FAILURES


def finding_lines(trainer, monitor: Monitor | None = None) -> list:
    """The current findings as short plain-language lines, one per finding, in ``FAILURES`` order::

        ["Step 181: the critic's loss runs away: the clip value does not bound the critic. Try: a clip value ..."]

    ``[]`` when nothing is found. Without ``monitor`` only what the history shows is diagnosed (as in
    :func:`headline`); reading the history may raise ``TrainingDiverged`` (as any read of ``trainer.history``).
    The evidence in numbers is in each :class:`Finding` (:func:`diagnose`).
    """
    return [f"Step {f.step}: {PLAIN[f.failure]}. Try: {f.advice}." for f in diagnose(trainer, monitor)]
