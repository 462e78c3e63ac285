"""ganedu.diagnose: each detector on synthetic curves (fires / stays silent), the Monitor against
independent computations, and the failure atlas (ganedu.lessons.atlas) on seeds 0-2.

The atlas and healthy-run tests are training outcomes (`make test` runs them again under
ATEN_CPU_CAPABILITY=default). Measured margins are written beside each threshold's test.
"""
import math

import pytest
import torch

from ganedu import diagnose as dg
from ganedu.data import sample_toy, toy_modes
from ganedu.losses import d_loss_minimax
from ganedu.recipes import get_recipe
from ganedu.train import Trainer


def run_of(recipe="nsgan-toy", records=None, data="8gaussians", diverged=None, **history):
    n = max([len(v) for v in history.values()] + [0])
    h = {"step": list(range(1, n + 1)), "events": []}
    for key in ("d_loss", "g_loss", "w_estimate", "gp", "grad_norm"):
        h[key] = list(history.get(key, [0.5] * n))
    return dg.Run(h, records or {}, get_recipe(recipe), diverged, data)


def records(**cols):
    n = len(next(iter(cols.values())))
    return {"step": [25 * i for i in range(n)], **cols}


def fired(detector, run):
    return getattr(dg, detector)(run) is not None


# ---- saturated discriminator ------------------------------------------------------------------
def test_the_saturation_bound_holds_sample_by_sample():
    """E D(G(z)) <= 1 - exp(-L_D) (the detector's reading of the history), on random logits."""
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        real, fake = torch.randn(64, generator=g) * 5 + 3, torch.randn(64, generator=g) * 5 - 3
        mean_d_fake = sum(1 / (1 + math.exp(-float(v))) for v in fake) / 64  # a per-sample loop
        assert mean_d_fake <= 1 - math.exp(-float(d_loss_minimax(real, fake))) + 1e-6


def test_saturated_discriminator_needs_200_steps_below_the_bound():
    assert fired("saturated_discriminator", run_of("gan-toy", d_loss=[1.0] * 50 + [0.005] * 200))
    assert not fired("saturated_discriminator", run_of("gan-toy", d_loss=[1.0] * 50 + [0.005] * 199))
    assert not fired("saturated_discriminator", run_of("gan-toy", d_loss=[0.02] * 400))  # bound 0.0198
    assert not fired("saturated_discriminator", run_of("wgan-gp-toy", d_loss=[0.001] * 400))  # not a probability
    f = dg.saturated_discriminator(run_of("gan-toy", d_loss=[1.0] * 50 + [0.005] * 300))
    assert f.step == 51 and "300 steps" in f.evidence and "non-saturating" in f.advice


# ---- vanishing gradient -----------------------------------------------------------------------
def test_vanishing_gradient_is_relative_to_the_peak():
    assert fired("vanishing_gradient", run_of(records=records(g_grad=[1.0, 3.0, 0.02, 0.01])))
    assert not fired("vanishing_gradient", run_of(records=records(g_grad=[1.0, 3.0, 0.02, 0.5])))  # one reading
    assert not fired("vanishing_gradient", run_of(records=records(g_grad=[1e-4, 1e-4, 1e-4])))  # small, not fallen
    assert not fired("vanishing_gradient", run_of(records=records(g_grad=[1.0, 3.0, 0.031, 0.031])))


# ---- modes ------------------------------------------------------------------------------------
def test_mode_stats_against_a_per_sample_loop():
    modes = toy_modes("8gaussians")
    x = torch.cat([sample_toy("8gaussians", 300, generator=torch.Generator().manual_seed(1)),
                   torch.randn(100, 2, generator=torch.Generator().manual_seed(2)) * 0.1])
    radius = min(float((a - b).norm()) for i, a in enumerate(modes) for j, b in enumerate(modes) if i != j) / 2
    counts = [0] * len(modes)
    for p in x:
        d = [float((p - c).norm()) for c in modes]
        if min(d) <= radius:
            counts[d.index(min(d))] += 1
    occupied, busiest, near = dg._mode_stats(x, "8gaussians")
    assert occupied == sum(c >= 0.05 * len(x) for c in counts)
    assert busiest == counts.index(max(counts)) and near == pytest.approx(sum(counts) / len(x))
    assert dg._mode_stats(x, "swissroll") == (None, None, None)


def mode_run(modes, busiest, near=None):
    near = near or [1.0] * len(modes)
    return run_of(records=records(modes=modes, busiest=busiest, near=near))


def test_collapse_and_hopping_tell_a_stuck_generator_from_a_hopping_one():
    stuck = mode_run([8] * 12 + [1] * 4, [0] * 12 + [3] * 4)
    hopping = mode_run([8] * 12 + [1] * 4, [0] * 12 + [3, 5, 1, 6])
    healthy = mode_run([8] * 16, [0, 5, 1, 6] * 4)
    assert fired("mode_collapse", stuck) and not fired("mode_hopping", stuck)
    assert fired("mode_hopping", hopping) and not fired("mode_collapse", hopping)
    assert not fired("mode_collapse", healthy) and not fired("mode_hopping", healthy)
    assert not fired("mode_collapse", mode_run([8] * 12 + [5] * 4, [0] * 16))  # more than half: not collapsed
    assert fired("mode_collapse", mode_run([8] * 12 + [4] * 4, [0] * 16))  # half: collapsed
    assert fired("mode_collapse", mode_run([8] * 12 + [3] * 4, [0] * 16))
    assert not fired("mode_collapse", mode_run([0] * 16, [None] * 16, [0.0] * 16))  # not at modes: untrained
    assert not fired("mode_collapse", run_of(records=records(modes=[None] * 4, busiest=[None] * 4), data="digits"))


# ---- oscillation ------------------------------------------------------------------------------
def wave(amplitude, period, n=600, level=1.0, noise=0.0):
    g = torch.Generator().manual_seed(0)
    return [level + amplitude * math.sin(2 * math.pi * i / period) + noise * float(torch.randn(1, generator=g))
            for i in range(n)]


def test_oscillation_needs_a_large_slow_swing():
    assert fired("oscillation", run_of(d_loss=wave(0.5, 100)))        # swing ~0.9 > 0.4
    assert not fired("oscillation", run_of(d_loss=wave(0.15, 100)))   # swing ~0.27 < 0.4
    assert not fired("oscillation", run_of(d_loss=wave(0.0, 100, noise=0.3)))  # noise averages out
    assert not fired("oscillation", run_of(d_loss=wave(0.5, 100, n=100)))      # too short to tell
    assert fired("oscillation", run_of(d_loss=wave(3.0, 100, level=-5.0)))     # relative to |mean| = 5
    assert not fired("oscillation", run_of(d_loss=wave(0.8, 100, level=-5.0)))


# ---- clipping, gradients, NaN -----------------------------------------------------------------
def test_clipping_blowup_only_under_clipping():
    grow = [-(1.0 + 0.5 * i) for i in range(200)]  # |L_C| from 1 to ~100
    assert fired("clipping_blowup", run_of("wgan-toy", d_loss=grow))
    assert not fired("clipping_blowup", run_of("wgan-gp-toy", d_loss=grow))
    assert not fired("clipping_blowup", run_of("wgan-toy", d_loss=[-(1.0 + 0.02 * i) for i in range(200)]))
    # the healthy WGAN-GP pattern: large negative early, then towards 0
    assert not fired("clipping_blowup", run_of("wgan-toy", d_loss=[-5.0 * math.exp(-i / 40) for i in range(200)]))


def test_exploding_gradients():
    assert fired("exploding_gradients", run_of(grad_norm=[1.0] * 100 + [15.0] * 100))
    assert not fired("exploding_gradients", run_of(grad_norm=[2.0] * 100 + [15.0] * 100))  # x7.5
    assert not fired("exploding_gradients", run_of(grad_norm=[0.03] * 100 + [1.0] * 100))  # below 10


def test_nan_divergence():
    assert fired("nan_divergence", run_of(gp=[0.1] * 10 + [float("nan")]))
    assert fired("nan_divergence", run_of(diverged=(50, "training diverged"), d_loss=[0.1] * 5))
    assert not fired("nan_divergence", run_of(d_loss=[0.1] * 50))


def test_overfitting_needs_three_readings_above_one_half():
    assert fired("overfitting_discriminator", run_of(records=records(r_v=[0.1, 0.6, 0.7, 0.9, 0.2])))
    assert not fired("overfitting_discriminator", run_of(records=records(r_v=[0.1, 0.6, 0.7, 0.2, 0.9])))
    assert not fired("overfitting_discriminator", run_of(records=records(r_v=[float("nan")] * 5)))


# ---- the Monitor -----------------------------------------------------------------------------
def test_monitor_measures_without_changing_training():
    """A watched run trains bit for bit as an unwatched one; g_grad matches a plain backward."""
    a = Trainer.from_recipe("nsgan-toy", "8gaussians", device="cpu", seed=3, width=32)
    b = Trainer.from_recipe("nsgan-toy", "8gaussians", device="cpu", seed=3, width=32)
    monitor = dg.Monitor(every=10, n=64)
    dg.watch(a, 30, monitor)
    b.train(30, every=10, progress=False)
    for p, q in zip(list(a.generator.parameters()) + list(a.critic.parameters()),
                    list(b.generator.parameters()) + list(b.critic.parameters())):
        assert torch.equal(p, q)
    assert monitor.records["step"] == [0, 10, 20, 30]
    # g_grad by hand: .backward() into a copy's .grad
    rng = torch.Generator().manual_seed(monitor.seed + a.steps)
    a.real_batch(monitor.n)
    z = torch.randn(64, a.generator.z_dim, generator=rng)
    a.generator.zero_grad()
    loss = torch.nn.functional.softplus(-a.critic(a.generator(z))).mean()  # -E log D(G(z))
    loss.backward()
    by_hand = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in a.generator.parameters()))
    check = dg.Monitor(every=10, n=64)
    check(a)
    assert check.records["g_grad"][0] == pytest.approx(by_hand, rel=1e-5)
    with torch.no_grad():
        d_fake = float(torch.sigmoid(a.critic(a.generator(z))).mean())
    assert check.records["d_fake"][0] == pytest.approx(d_fake, rel=1e-5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="every"):
        dg.Monitor(every=0)
    with pytest.raises(TypeError, match="held_out"):
        dg.Monitor(held_out=[1.0, 2.0])
    with pytest.raises(TypeError, match="trainer"):
        dg.diagnose(object())
    with pytest.raises(TypeError, match="monitor"):
        dg.diagnose(Trainer.from_recipe("nsgan-toy", device="cpu", width=8), monitor="yes")


def test_findings_read_as_sentences():
    f = dg.Finding("mode_collapse", 300, "2 of 8 modes", "use a gradient penalty")
    assert str(f) == "Mode collapse (step 300): 2 of 8 modes — use a gradient penalty"


# ---- the atlas: each recipe triggers its failure, seeds 0-2 --------------------------------------
from ganedu.lessons.atlas import ATLAS, HEALTHY, run_entry, run_healthy  # noqa: E402


# Measured (seeds 0-2, ATEN_CPU_CAPABILITY=default and the native AVX2 kernels): every entry fires on all six runs.
# The fixes (test_every_fix_silences_its_detector), seeds 0-2: 27 of 27 on the native AVX2 kernels and 27 of 27 under
# ATEN_CPU_CAPABILITY=default (2026-12-01, 151.6 s CPU).
# Margins measured for the closest call, exploding_gradients (||∇C(x̂)|| must grow 10x and end above 10): it grew
# 19.7x / 2371x / 521x (default) and 22.7x / 1314x / 34x (native), ending at 38-7279. With lr 3e-3 instead of 1e-2 it
# grew only 6x on seed 1 under the default kernels, which is why the entry uses 1e-2.
@pytest.mark.training_outcome
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("failure", list(ATLAS))
def test_every_atlas_recipe_triggers_its_failure(failure, seed):
    _, _, findings = run_entry(failure, seed)
    assert failure in [f.failure for f in findings], f"{failure}, seed {seed}: {[str(f) for f in findings]}"


@pytest.mark.slow
@pytest.mark.training_outcome
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", list(HEALTHY))
def test_no_detector_fires_on_healthy_runs(name, seed):
    _, _, findings = run_healthy(name, seed)
    assert findings == [], f"{name}, seed {seed}: {[str(f) for f in findings]}"


@pytest.mark.slow
@pytest.mark.training_outcome
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("failure", list(ATLAS))
def test_every_fix_silences_its_detector(failure, seed):
    _, _, findings = run_entry(failure, seed, fixed=True)
    assert failure not in [f.failure for f in findings], f"{failure} fixed, seed {seed}: {[str(f) for f in findings]}"


def test_headline_names_the_history_findings_in_a_few_words():
    t = Trainer.from_recipe("wgan-toy", "8gaussians", device="cpu", seed=0, width=8)
    assert dg.headline(t) == ""
    t._history["step"] = list(range(1, 201))
    t._history["d_loss"] = [-(1.0 + 0.5 * i) for i in range(200)]  # |L_C| from 1 to ~100 under clip 0.01
    for key in ("g_loss", "w_estimate", "gp", "grad_norm", "time"):
        t._history[key] = [0.0] * 200
    assert dg.headline(t) == "diagnosis: Clipping blowup (step 181)"


def test_finding_lines_say_each_finding_in_plain_words():
    t = Trainer.from_recipe("wgan-toy", "8gaussians", device="cpu", seed=0, width=8)
    assert dg.finding_lines(t) == []
    t._history["step"] = list(range(1, 201))
    t._history["d_loss"] = [-(1.0 + 0.5 * i) for i in range(200)]  # |L_C| from 1 to ~100 under clip 0.01
    for key in ("g_loss", "w_estimate", "gp", "grad_norm", "time"):
        t._history[key] = [0.0] * 200
    (finding,) = dg.diagnose(t)
    assert dg.finding_lines(t) == [f"Step 181: {dg.PLAIN['clipping_blowup']}. Try: {finding.advice}."]
    monitor = dg.Monitor()
    monitor.diverged = (150, "training diverged")
    assert [line.split(":")[0] for line in dg.finding_lines(t, monitor)] == ["Step 181", "Step 150"]
    assert dg.finding_lines(t, monitor)[1].startswith("Step 150: a loss became NaN or infinite")
    with pytest.raises(TypeError, match="monitor"):
        dg.finding_lines(t, "monitor")


def test_the_dashboard_line_shows_the_findings():
    from ganedu.widgets.view import progress_line

    t = Trainer.from_recipe("wgan-toy", "8gaussians", device="cpu", seed=0, width=8)
    assert "diagnosis" not in progress_line(t, 0.0, {})
    t._history["step"] = list(range(1, 201))
    t._history["d_loss"] = [-(1.0 + 0.5 * i) for i in range(200)]
    for key in ("g_loss", "w_estimate", "gp", "grad_norm", "time"):
        t._history[key] = [0.0] * 200
    assert progress_line(t, 0.0, {}).endswith("diagnosis: Clipping blowup (step 181)")
