"""ganedu.widgets, driven headless: set values, click buttons, tick the clock.

Runs under ipywidgets 8 (.venv) and 7.7.1 (Colab's; ``make test-widgets7`` puts it first on
PYTHONPATH and sets GANEDU_EXPECT_IPYWIDGETS=7.7.1, checked below).
In ``play`` mode the browser's ``Play`` widget drives training; here a test plays the browser
by incrementing the clock's value, as the front end does at each tick.
"""
import html
import os
import re
import threading
import time

import ipywidgets
import pytest
import torch

from ganedu import widgets
from ganedu.train import Trainer, TrainingDiverged
from ganedu.widgets import TrainingDashboard

PNG = b"\x89PNG\r\n\x1a\n"
SMALL = dict(width=16, batch_size=64, device="cpu")
# A long tick, so that every tick a test sends counts as on time however slow this machine is
# (a tick more than one interval late is dropped as queued); short chunks keep tests fast.
ON_TIME = dict(interval_ms=10_000, chunk_s=0.05)


def test_the_expected_ipywidgets_is_the_one_under_test():
    expected = os.environ.get("GANEDU_EXPECT_IPYWIDGETS")
    if expected:
        assert ipywidgets.__version__ == expected
    assert widgets.IPYWIDGETS_7 == ipywidgets.__version__.startswith("7.")


@pytest.fixture
def dash(tmp_path):
    made = []

    def make(recipe="wgan-gp-toy", **kw):
        d = TrainingDashboard(recipe, **{**SMALL, **ON_TIME, "snapshot_dir": str(tmp_path / "snaps"), **kw})
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


def picture(d):
    return bytes(d.image.value)  # bytes in ipywidgets 7, a memoryview in 8


def tick(d, n=1):
    """What the front end's Play does every `interval` ms."""
    for _ in range(n):
        time.sleep(0.03)  # the kernel idles between ticks
        d.clock.play.value += 1


def test_run_advances_exactly_and_renders(dash):
    d = dash()
    first = picture(d)
    assert first.startswith(PNG)  # drawn at construction
    d.run(7)
    assert d.trainer.steps == 7 and d.state()["steps"] == 7 and not d.state()["running"]
    assert picture(d).startswith(PNG) and picture(d) != first
    assert "step 7" in d.step_counter.value
    assert f"lr × {1 - 7 / d.trainer.recipe.lr_decay_steps:.2f}" in d.progress.value  # the decay, shown
    assert d.steps_per_second() > 0 and "0.0 steps/s" not in d.progress.value  # headless speed too
    d.run(3)
    assert d.trainer.steps == 10
    with pytest.raises(ValueError, match="steps"):
        d.run(-1)


def test_state_reports_controls_and_what_the_trainer_uses(dash):
    d = dash(gp_lambda=2.0, n_critic=3)
    s = d.state()
    for key in ("gp_lambda", "clip", "n_critic", "lr_g", "lr_d", "steps", "running", "controls"):
        assert key in s
    assert (s["gp_lambda"], s["clip"], s["n_critic"]) == (2.0, None, 3)
    assert s["controls"]["gp_lambda"] == 2.0 and d.controls.sliders["gp_lambda"].value == pytest.approx(2.0)


def test_sliders_change_the_trainer_mid_run_in_play_mode(dash):
    d = dash()
    d.buttons["train"].click()
    tick(d, 2)
    mid = d.trainer.steps
    assert mid >= 1 and d.state()["running"]
    d.controls.sliders["gp_lambda"].value = 3.0
    d.controls.clip_on.value = True
    d.controls.sliders["clip"].value = 0.05
    d.controls.n_critic_w.value = 2
    d.controls.sliders["lr_d"].value = 2e-4
    tick(d, 2)
    r = d.trainer.recipe
    assert (r.gp_lambda, r.clip, r.n_critic) == (pytest.approx(3.0), pytest.approx(0.05), 2)
    # the optimiser, not only the recipe: the slider's value times the recipe's linear decay
    assert d.trainer.opt_critic.param_groups[0]["lr"] == pytest.approx(2e-4 * (1 - (d.trainer.steps - 1) / r.lr_decay_steps))
    assert d.trainer.steps > mid
    events = {e["name"]: e for e in d.trainer.history["events"]}
    assert events["gp_lambda"]["step"] == mid and events["gp_lambda"]["value"] == pytest.approx(3.0)
    assert events["clip"]["value"] == pytest.approx(0.05) and events["n_critic"]["value"] == 2
    # the clip is really applied: every critic weight is now inside [-c, c]
    assert max(p.abs().max().item() for p in d.trainer.critic.parameters()) <= 0.05 + 1e-7
    d.controls.clip_on.value = False
    assert d.trainer.recipe.clip is None


def test_one_sided_toggle_reaches_the_trainer_and_survives_reset(dash):
    d = dash()
    assert d.state()["one_sided"] is False and d.controls.one_sided_w.value is False
    d.run(2)
    d.controls.one_sided_w.value = True
    assert d.trainer.recipe.one_sided is True and d.state()["one_sided"] is True
    assert {(e["name"], e["value"], e["step"]) for e in d.trainer.history["events"]} == {("one_sided", True, 2)}
    assert "one-sided penalty on from step 2" in d.status.value
    d.run(2)
    d.reset()                                   # a new run keeps what the controls hold
    assert d.trainer.steps == 0 and d.trainer.recipe.one_sided is True
    d.trainer.set(one_sided=False)              # set from code: the checkbox follows on redraw
    d.redraw()
    assert d.controls.one_sided_w.value is False


def test_pause_stops_steps_in_play_mode(dash):
    d = dash()
    d.buttons["train"].click()
    tick(d, 2)
    assert getattr(d.clock.play, widgets.clock.PLAYING) is True  # the front end's clock was started
    d.buttons["pause"].click()
    assert getattr(d.clock.play, widgets.clock.PLAYING) is False and not d.state()["running"]
    steps = d.trainer.steps
    tick(d, 3)  # ticks still in flight after Pause do nothing
    assert d.trainer.steps == steps
    d.clock.play.value += 1
    setattr(d.clock.play, widgets.clock.PLAYING, True)  # the clock's own ▶ button starts training too
    assert d.state()["running"]


def test_ticks_that_queued_behind_other_work_are_dropped(dash):
    d = dash(interval_ms=150, chunk_s=None)
    d.buttons["train"].click()
    tick(d)
    steps = d.trainer.steps
    time.sleep(1.0)  # the kernel runs another cell; the browser's ticks queue up...
    for _ in range(5):  # ...and arrive back to back, each more than a tick late
        d.clock.play.value += 1
    assert d.trainer.steps == steps
    for _ in range(40):  # ticks sent from now on are on time again: training resumes
        tick(d)
        if d.trainer.steps > steps:
            break
    assert d.trainer.steps > steps


def test_train_twice_is_one_run_in_play_mode(dash):
    d = dash()
    d.buttons["train"].click()
    before = d.trainer.steps
    d.buttons["train"].click()
    assert d.trainer.steps == before  # the second click did not run anything
    assert d.state()["running"] and getattr(d.clock.play, widgets.clock.PLAYING)


def test_reset_during_training_stops_cleanly_and_close_stops_the_clock(dash):
    d = dash()
    d.buttons["train"].click()
    tick(d, 2)
    old = d.trainer
    d.buttons["reset"].click()
    assert not d.state()["running"] and not getattr(d.clock.play, widgets.clock.PLAYING)
    assert d.trainer is not old and d.trainer.steps == 0
    tick(d, 2)  # ticks in flight after Reset do nothing
    assert d.trainer.steps == 0
    d.buttons["train"].click()
    tick(d)
    assert d.trainer.steps >= 1
    d.close()
    assert not d.state()["running"] and not getattr(d.clock.play, widgets.clock.PLAYING)
    steps = d.trainer.steps
    d.clock.play.value += 1  # a tick reaching a closed dashboard
    assert d.trainer.steps == steps


def test_no_thread_is_started(dash):
    before = set(threading.enumerate())
    d = dash()
    d.buttons["train"].click()
    tick(d, 2)
    d.buttons["pause"].click()
    assert set(threading.enumerate()) <= before


def status_text(d):
    """The status line as the student reads it (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", d.status.value))


def refusal(d, **change):
    """The message ``Trainer.set`` (which checks through the Recipe) gives for ``change``: the one
    the dashboard must show. A refused change leaves the trainer as it was."""
    with pytest.raises((ValueError, TypeError)) as refused:
        d.trainer.set(**change)
    return str(refused.value)


@pytest.mark.parametrize("name, typed", [
    ("gp_lambda", "-1"), ("clip", "0"), ("lr_g", "-5"), ("lr_d", "nan"), ("gp_lambda", "None"), ("lr_g", "inf"),
])
def test_bad_typed_value_is_refused_with_the_recipes_message(dash, name, typed):
    d = dash(clip=0.01)
    before = d.state()
    d.controls.texts[name].value = typed  # typed into the text box next to the slider
    message = refusal(d, **{name: None if typed == "None" else float(typed)})
    assert "refused" in status_text(d) and message in status_text(d)
    assert d.state()[name] == before[name]  # the trainer keeps its value...
    assert float(d.controls.texts[name].value) == pytest.approx(before[name])  # ...and the box shows it again
    assert d.trainer.history["events"] == []


def test_letters_typed_are_refused_and_replace_an_older_refusal(dash):
    d = dash()
    d.controls.texts["gp_lambda"].value = "-1"
    assert "gp_lambda must be" in status_text(d)
    d.controls.texts["lr_g"].value = "fast"
    assert "lr G: refused. 'fast' is not a number" in status_text(d) and "gp_lambda" not in status_text(d)
    assert float(d.controls.texts["lr_g"].value) == d.trainer.recipe.lr_g and d.trainer.history["events"] == []


def test_a_typed_value_outside_the_sliders_range_but_good_for_the_recipe_is_taken(dash):
    d = dash()
    slider = d.controls.sliders["gp_lambda"]
    assert slider.max < 2000
    d.controls.texts["gp_lambda"].value = "2000"
    assert d.trainer.recipe.gp_lambda == 2000 and "refused" not in status_text(d)
    assert d.controls.texts["gp_lambda"].value == "2000" and slider.value == pytest.approx(10**slider.max)
    d.controls.gp_on.value = False
    d.controls.gp_on.value = True  # ticked back on: the value it had, not the slider's end
    assert d.trainer.recipe.gp_lambda == 2000 and d.state()["controls"]["gp_lambda"] == 2000
    d.controls.texts["lr_g"].value = "0.5"  # a learning rate above the slider's 0.1
    assert d.state()["lr_g"] == pytest.approx(0.5 * d.trainer.recipe.lr_factor(0))


def test_off_is_the_recipes_off_and_the_text_box_says_it(dash):
    d = dash("wgan-toy")  # clipping on, no penalty
    assert d.trainer.recipe.clip == 0.01 and d.controls.clip_on.value
    assert d.controls.texts["gp_lambda"].value == "0" and not d.controls.gp_on.value
    d.controls.clip_on.value = False
    assert d.trainer.recipe.clip is None and d.controls.texts["clip"].value == "None"
    d.controls.texts["clip"].value = "0.02"  # a value typed for an unticked constraint turns it on
    assert d.trainer.recipe.clip == 0.02 and d.controls.clip_on.value
    d.controls.texts["clip"].value = "None"  # the Recipe's own spelling of "no clipping"
    assert d.trainer.recipe.clip is None and not d.controls.clip_on.value
    d.controls.sliders["gp_lambda"].value = 1.0  # the slider of an unticked constraint: on, at its value
    assert d.trainer.recipe.gp_lambda == pytest.approx(1.0) and d.controls.gp_on.value
    assert [(e["name"], e["value"]) for e in d.trainer.history["events"]] == [
        ("clip", None), ("clip", 0.02), ("clip", None), ("gp_lambda", pytest.approx(1.0))]


def test_typed_good_value_moves_the_slider_and_lambda_zero_switches_gp_off(dash):
    d = dash()
    d.controls.texts["gp_lambda"].value = "0.5"
    assert d.trainer.recipe.gp_lambda == 0.5 and d.controls.sliders["gp_lambda"].value == pytest.approx(0.5)
    assert "refused" not in d.status.value
    d.controls.texts["gp_lambda"].value = "0"
    assert d.trainer.recipe.gp_lambda == 0 and not d.controls.gp_on.value and "refused" not in d.status.value
    assert d.controls.texts["gp_lambda"].value == "0"  # the box says what the trainer uses
    d.controls.gp_on.value = True
    assert d.trainer.recipe.gp_lambda == pytest.approx(0.5)
    assert d.controls.texts["gp_lambda"].value == "0.5"


def test_bad_seed_is_refused_and_recipe_change_brings_its_settings(dash):
    d = dash()
    d.controls.seed_w.value = -3
    assert "refused" in d.status.value or "cannot start" in d.status.value
    assert d.controls.seed_w.value == 0 and d.trainer.seed == 0
    d.controls.recipe_w.value = "wgan-toy"
    s = d.state()
    assert s["recipe"] == "wgan-toy" and s["clip"] == 0.01 and s["gp_lambda"] == 0
    assert d.controls.clip_on.value and not d.controls.gp_on.value
    assert s["batch_size"] == 256 and s["controls"]["clip"] == pytest.approx(0.01)


def test_gradient_penalty_on_a_batchnorm_critic_is_refused(dash):
    d = dash("dcgan", data="digits", batch_size=32)
    assert d.trainer.recipe.gp_lambda == 0 and not d.controls.gp_on.value
    d.controls.gp_on.value = True
    assert "refused" in d.status.value and "BatchNorm" in d.status.value
    assert d.trainer.recipe.gp_lambda == 0 and not d.controls.gp_on.value


def test_diverging_run_stops_shows_why_and_keeps_the_last_good_picture(dash):
    d = dash()
    d.run(3)
    good_picture, good_steps = picture(d), d.trainer.steps
    d.trainer.flush_every = 1
    original = d.trainer.critic.forward
    d.trainer.critic.forward = lambda x: original(x) * float("nan")
    d.buttons["train"].click()
    tick(d, 3)
    s = d.state()
    assert not s["running"] and "diverged" in s["diverged"]
    assert "diverged" in d.status.value
    assert picture(d) == good_picture and d.trainer.steps == good_steps  # rolled back
    d.trainer.critic.forward = original
    d.buttons["train"].click()
    tick(d, 2)
    assert d.trainer.steps > good_steps and d.state()["diverged"] is None


def test_step_button_does_one_generator_step(dash):
    d = dash()
    d.buttons["step"].click()
    d.buttons["step"].click()
    assert d.trainer.steps == 2 and not d.state()["running"]


def test_save_snapshot_writes_png_and_a_loadable_checkpoint(dash, tmp_path):
    d = dash()
    d.run(4)
    d.buttons["save"].click()
    png = tmp_path / "snaps" / "wgan-gp-toy_8gaussians_step000004.png"
    assert png.read_bytes().startswith(PNG)
    loaded = Trainer.load(png.with_suffix(".pt"), device="cpu")
    assert loaded.steps == 4
    torch.testing.assert_close(loaded.sample(8), d.trainer.sample(8))
    assert "saved" in d.status.value
    other = tmp_path / "elsewhere"
    paths = d.save_snapshot(other)
    assert all(os.path.exists(p) and p.startswith(str(other)) for p in paths)


def test_a_new_dashboard_pauses_the_running_one(dash):
    a = dash()
    a.buttons["train"].click()
    b = dash()
    assert not a.state()["running"]
    b.buttons["train"].click()
    a.buttons["train"].click()
    assert a.state()["running"] and not b.state()["running"]


def test_bad_constructor_arguments_raise():
    with pytest.raises(ValueError, match="refresh_hz"):
        TrainingDashboard(refresh_hz=30, **SMALL)
    with pytest.raises(ValueError, match="data"):
        TrainingDashboard(data="cifar", **SMALL)
    with pytest.raises(ValueError, match="gp_lambda"):
        TrainingDashboard(gp_lambda=-1.0, **SMALL)


def test_widgets_carry_css_classes_for_the_browser_test(dash):
    d = dash()
    classes = {c for w in widgets.dashboard.descendants(d.widget) for c in w._dom_classes}
    assert {"ganedu-train", "ganedu-pause", "ganedu-step", "ganedu-reset", "ganedu-save",
            "ganedu-step-counter", "ganedu-plot", "ganedu-lambda", "ganedu-clip",
            "ganedu-clock", "ganedu-status"} <= classes


def test_train_starts_the_clock_or_asks_for_its_play_button(dash):
    d = dash()
    d.buttons["train"].click()
    assert getattr(d.clock.play, widgets.clock.PLAYING) is True
    if widgets.IPYWIDGETS_7:  # the 7.x front end starts a Play only from its own ▶
        assert d.trainer.steps >= 1 and "click ▶" in d.status.value
    else:  # the 8.x front end starts ticking when `playing` becomes True
        assert d.trainer.steps == 0 and "training" in d.status.value


def test_controls_follow_changes_made_on_the_trainer_in_code(dash):
    d = dash()
    d.trainer.set(gp_lambda=10.0, n_critic=2, batch_size=100)
    d.run(1)
    assert d.controls.sliders["gp_lambda"].value == pytest.approx(10.0) and d.controls.texts["gp_lambda"].value == "10"
    assert d.controls.n_critic_w.value == 2 and d.controls.batch_w.value == 100 and d.trainer.recipe.batch_size == 100
    assert [e["name"] for e in d.trainer.history["events"]] == ["gp_lambda", "n_critic", "batch_size"]
    assert d.state()["controls"]["gp_lambda"] == 10.0


def test_each_constraint_checkbox_is_labelled_on_its_own_row(dash):
    c = dash().controls
    assert "penalty" in c.gp_on.description and "clip" in c.clip_on.description
    rows = [list(row.children) for row in c.rows()]
    for box, name in ((c.gp_on, "gp_lambda"), (c.clip_on, "clip")):
        row = next(r for r in rows if box in r)
        assert row.index(box) + 1 == row.index(c.sliders[name])  # the checkbox, then its slider
        assert c.texts[name] in row
    clip_row = next(r for r in rows if c.clip_on in r)
    assert c.one_sided_w not in clip_row and c.gp_on not in clip_row  # "one-sided" is not read with clip


def test_one_play_control_is_shown(dash):
    d = dash()
    shown = lambda w: w.layout.display != "none"  # noqa: E731
    if widgets.IPYWIDGETS_7:  # only the Play's own ▶ starts ticks in a 7.x front end: it is the control
        assert shown(d.clock.play) and not shown(d.buttons["train"]) and not shown(d.buttons["pause"])
    else:  # Train / Pause start and stop the (hidden) Play from the kernel
        assert not shown(d.clock.play) and shown(d.buttons["train"]) and shown(d.buttons["pause"])
    assert all(shown(d.buttons[name]) for name in ("step", "reset", "save"))
    assert not any(isinstance(w, ipywidgets.Label) and "clock" in w.value
                   for w in widgets.dashboard.descendants(d.widget))


def test_a_paused_dashboard_shows_no_rate(dash):
    d = dash()
    d.buttons["train"].click()
    tick(d, 3)
    d.redraw()
    assert d.steps_per_second() > 0 and "steps/s" in d.progress.value
    d.buttons["pause"].click()
    assert "paused at step" in d.status.value
    assert d.steps_per_second() == 0 and "steps/s" not in d.progress.value


def test_the_step_counter_names_the_step_the_picture_shows(dash):
    d = dash(refresh_hz=0.5)  # few redraws: most chunks train without drawing
    d.buttons["train"].click()
    ahead = []
    for _ in range(8):
        tick(d)
        shown = int(re.search(r"step (\d+)", d.step_counter.value).group(1))
        assert f"step {shown}" in d.view._fig._suptitle.get_text()
        ahead.append(d.trainer.steps > shown)
    assert any(ahead)  # (chunks that trained without drawing did not move the counter)


def needs_an_emoji_font(text):
    """Characters that machines without an emoji font draw as empty boxes (✋, ⚠, 🙂, ...)."""
    return [c for c in text if 0x2600 <= ord(c) <= 0x27BF or ord(c) >= 0x1F000]


def test_status_messages_need_no_emoji_font(dash, tmp_path):
    d = dash()
    said = []
    d.controls.texts["gp_lambda"].value = "-1"  # a refusal
    said.append(d.status.value)
    d.controls.seed_w.value = -3  # a run refused
    said.append(d.status.value)
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    d.save_snapshot(str(blocked / "snaps"))  # a snapshot not saved
    said.append(d.status.value)
    d.trainer.flush_every = 1
    original = d.trainer.critic.forward
    d.trainer.critic.forward = lambda x: original(x) * float("nan")
    d.run(2)  # a divergence
    said.append(d.status.value)
    assert all("refused" in s for s in said[:2]) and "not saved" in said[2] and "Stopped" in said[3]
    assert [needs_an_emoji_font(s) for s in said] == [[]] * 4


@pytest.mark.parametrize("data", ["8gaussians", "25gaussians"])
def test_modes_near_and_within_three_sigma_are_both_shown(data):
    from ganedu.data import sample_toy, toy_modes, toy_std
    from ganedu.widgets.view import progress_line, score_live

    modes, std = toy_modes(data), toy_std(data)
    real = sample_toy(data, 512, generator=torch.Generator().manual_seed(0))
    k = len(modes)
    on_the_modes = modes.repeat(4, 1)                       # every mode, dead centre
    beside = on_the_modes + torch.tensor([6 * std, 0.0])    # every mode, 6σ to the side: near, not within 3σ
    half = torch.cat([on_the_modes[: k // 2], beside[k // 2: k]])
    for samples, near, within in ((on_the_modes, k, k), (beside, k, 0), (half, k, k // 2)):
        s = score_live(samples, real, data)
        assert (s["modes_near"], s["modes"], s["n_modes"]) == (near, within, k)
    far = modes + torch.tensor([0.0, 10.0])                 # nowhere near any mode
    assert score_live(far, real, data)["modes_near"] == 0
    tr = Trainer.from_recipe("wgan-gp-toy", data, device="cpu", width=16, batch_size=32)
    assert f"modes near {k}/{k}, within 3σ 0/{k} (HQ 0%)" in progress_line(tr, 0.0, score_live(beside, real, data))


def test_a_slider_moved_key_press_by_key_press_is_one_mark_on_the_curves(dash):
    d = dash()
    d.run(40)
    for i in range(20):  # 20 presses of → while it trains: one change per step
        d.controls.sliders["gp_lambda"].value = 0.1 * 10 ** (0.1 * (i + 1))
        d.trainer.step()
    d.redraw()
    assert len(d.trainer.history["events"]) == 20  # the history keeps every change...
    curves = d.view._fig.axes[2]
    assert [t.get_text() for t in curves.texts] == [f"gp_lambda={d.trainer.recipe.gp_lambda:.3g} (×20)"]  # ...drawn once


# ---- one update at a time (GAN Lab's "step the critic / the generator") -----------------------
def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_critic_step_moves_only_the_critic_and_generator_step_only_the_generator(dash):
    d = dash()
    d.run(3)
    g0, c0, steps, png0 = _params(d.trainer.generator), _params(d.trainer.critic), d.trainer.steps, picture(d)
    d.buttons["critic"].click()
    g1, c1 = _params(d.trainer.generator), _params(d.trainer.critic)
    assert _same(g1, g0) and not _same(c1, c0) and d.trainer.steps == steps
    assert picture(d) != png0 and "one critic update at step 3" in status_text(d)
    d.buttons["generator"].click()
    g2, c2 = _params(d.trainer.generator), _params(d.trainer.critic)
    assert not _same(g2, g1) and _same(c2, c1) and d.trainer.steps == steps
    assert "one generator update at step 3" in status_text(d)


def test_a_lone_critic_step_applies_the_recipes_constraint(dash):
    d = dash("wgan-toy")  # weight clipping at c
    d.controls.texts["clip"].value = "0.005"
    d.buttons["critic"].click()
    biggest = max(float(p.detach().abs().max()) for p in d.trainer.critic.parameters())
    assert biggest <= 0.005 + 1e-9


def test_a_lone_update_pauses_a_running_dashboard(dash):
    d = dash()
    d.buttons["train"].click()
    tick(d, 1)
    d.step_generator()
    assert not d.state()["running"]


# ---- presets: one click per experiment -----------------------------------------------------------
def test_a_preset_is_a_new_run_from_the_first_recipe_with_its_settings_and_trains(dash):
    d = dash(presets={"λ = 0": {"gp_lambda": 0.0}, "n_critic 5, seed 3": {"n_critic": 5, "seed": 3}})
    labels = [b.description for b in d.presets.buttons.values()]
    assert labels == ["λ = 0", "n_critic 5, seed 3"]
    d.run(5)
    d.trainer.set(lr_g=1e-4)  # changed by hand: a preset starts from the first recipe, not from this
    before = d.trainer
    d.presets.buttons["λ = 0"].click()  # (ipywidgets 7 trains one chunk at once: its ▶ starts the rest)
    assert d.trainer is not before and d.trainer.history["events"] == [] and d.state()["running"]
    assert d.trainer.recipe.gp_lambda == 0 and not d.controls.gp_on.value and d.controls.texts["gp_lambda"].value == "0"
    assert d.trainer.recipe.lr_g == d._first.lr_g
    assert "λ = 0: a new run with λ = 0" in status_text(d)
    tick(d, 2)
    assert d.trainer.steps > 0
    d.preset("n_critic 5, seed 3")  # experiments do not pile up: λ is the first recipe's again
    r = d.trainer.recipe
    assert (r.n_critic, r.gp_lambda, d.trainer.seed, d.controls.seed_w.value) == (5, d._first.gp_lambda, 3, 3)


def test_presets_are_checked_when_the_dashboard_is_made(dash):
    with pytest.raises(TypeError, match="preset 'x'.*gp_lamda.*did you mean 'gp_lambda'"):
        dash(presets={"x": {"gp_lamda": 1.0}})
    with pytest.raises(ValueError, match="preset 'x'.*gp_lambda"):
        dash(presets={"x": {"gp_lambda": -1.0}})
    with pytest.raises(ValueError, match="preset 'x': data must be one of"):
        dash(presets={"x": {"data": "9gaussians"}})
    with pytest.raises(TypeError, match="presets must be a dict"):
        dash(presets=[("x", {})])
    with pytest.raises(TypeError, match="preset 'x' must be a dict"):
        dash(presets={"x": 1.0})
    d = dash(presets={"x": {"n_critic": 2}})
    with pytest.raises(ValueError, match="label must be one of"):
        d.preset("y")


def test_a_preset_may_name_another_recipe_and_the_menu_follows(dash):
    d = dash(presets={"the minimax GAN": {"recipe": "gan-toy", "lr_d": 2e-3}})
    d.preset("the minimax GAN")
    r = d.trainer.recipe
    assert (r.name, r.loss, r.lr_d, d.controls.recipe_w.value) == ("gan-toy", "minimax", 2e-3, "gan-toy")
    assert "recipe gan-toy, lr D = 0.002" in status_text(d)
    with pytest.raises(ValueError, match="preset 'x': recipe must be one of"):
        dash(presets={"x": {"recipe": "gann"}})
    with pytest.raises(ValueError, match="has no presets"):
        dash().preset("x")


# ---- your own 2D data -----------------------------------------------------------------------------
def test_a_word_is_data_modes_say_n_a_and_w1_still_works(dash):
    d = dash()
    d.word_w.value = "GAN"
    d.word_button.click()
    assert d.controls.data_w.value == "your points" and d.trainer.steps == 0
    assert "the outline of 'GAN': 4000 points" in status_text(d)
    d.run(3)
    line = d.progress.value
    assert "modes n/a" in line and re.search(r"exact W₁ \d+\.\d{3}", line) and "within 3σ" not in line
    real = d.trainer.real_batch(500)
    assert real.shape == (500, 2) and float(real.abs().max()) <= 1.5  # the word's points, on the toy scale
    d.word_w.value = "   "
    d.word_button.click()
    assert "your data: refused. text must have at least one visible character" in status_text(d)


def test_a_csv_upload_is_data_in_both_ipywidgets_formats(dash):
    from ganedu.widgets.dashboard import _uploaded
    content = b"x,y\n0,0\n1,0\n0,1\n1,1\n"
    as_7 = {"points.csv": {"content": content, "metadata": {"name": "points.csv"}}}   # ipywidgets 7.x
    as_8 = ({"name": "points.csv", "content": memoryview(content)},)                  # ipywidgets 8.x
    assert _uploaded(as_7) == _uploaded(as_8) == content and _uploaded(()) is None
    d = dash()
    d.use_csv(content)
    pts = d._points
    corners = torch.tensor(sorted(map(tuple, pts.tolist())))
    torch.testing.assert_close(corners, torch.tensor([(-1.4, -1.4), (-1.4, 1.4), (1.4, -1.4), (1.4, 1.4)]))
    assert "your CSV file: 4 points" in status_text(d)
    d.use_csv(b"x,y\n0,zero\n")
    assert "your data: refused. content must be CSV lines of two numbers 'x,y'; data line 1 is '0,zero'" \
        in html.unescape(status_text(d))
    d.controls.data_w.value = "8gaussians"  # back to a named set: modes count again
    d.run(2)
    assert "within 3σ" in d.progress.value


def test_own_points_are_checked():
    from ganedu.points import csv_points, text_points
    with pytest.raises(TypeError, match="text must be a str"):
        text_points(3)
    with pytest.raises(ValueError, match="at least 2 points, got 1"):
        csv_points("1,2\n")
    with pytest.raises(ValueError, match="all be the same point"):
        csv_points("1,2\n1,2\n")
    with pytest.raises(ValueError, match="finite"):
        csv_points("1,2\nnan,3\n")
    pts = text_points("O", 2000, noise=0.0, generator=torch.Generator().manual_seed(0))
    r = pts.norm(dim=1)  # an "O": two rings around the centre, nothing near it
    assert pts.shape == (2000, 2) and float(r.min()) > 0.3 and abs(float(pts.abs().max()) - 1.4) < 1e-5


# ---- branch and compare --------------------------------------------------------------------------
def test_branch_here_makes_a_twin_on_the_same_state_and_noise_that_keeps_its_settings(dash):
    d = dash()
    d.run(6)
    d.buttons["branch"].click()
    twin = d.branch_view.twin
    assert twin is not d.trainer and twin.steps == d.trainer.steps == 6
    assert _same(_params(twin.generator), _params(d.trainer.generator))
    assert "branched at step 6" in status_text(d) and "branched at step 6" in d.branch_view.words.value
    assert d.branch_view.image.value[:8] == PNG
    # no change: the twin and the run draw the same noise and stay equal, step for step
    d.run(3)
    assert twin.steps == d.trainer.steps == 9 and _same(_params(twin.generator), _params(d.trainer.generator))
    # one setting changed in the run you see: the twin keeps λ, the two runs part
    d.controls.texts["gp_lambda"].value = "10"
    d.buttons["train"].click()
    tick(d, 2)
    d.pause()
    assert twin.steps == d.trainer.steps > 9
    assert (twin.recipe.gp_lambda, d.trainer.recipe.gp_lambda) == (d._first.gp_lambda, 10.0)
    assert not _same(_params(twin.generator), _params(d.trainer.generator))
    assert "λ = 0.1" in d.branch_view.words.value
    d.reset()  # a new run ends the comparison
    assert d.branch_view.twin is None


def _clock_run(monkeypatch, draw_cost, chunks=400, idle=0.1):
    """The clock's policy on a fake clock (no wall time: this machine may be busy): chunks of training
    until the clock's deadline, a redraw of ``draw_cost`` s where it says so, ``idle`` s between ticks.
    Returns (seconds drawing, seconds in all, the redraws)."""
    import types

    from ganedu.widgets import clock as clock_module

    now = [100.0]
    monkeypatch.setattr(clock_module, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    clock = clock_module.Clock(150, 0.05, refresh_hz=4, on_chunk=None, on_play=None, on_pause=None)
    clock.drew(now[0] - draw_cost)  # the first redraw, measured
    drawing, draws, start = 0.0, 0, now[0]
    for _ in range(chunks):
        deadline, draw = clock.plan()
        now[0] = max(deadline, now[0] + 0.002)  # trained until the deadline (at least one step, 2 ms)
        if draw:
            t0, now[0] = now[0], now[0] + draw_cost
            clock.drew(t0)
            drawing, draws = drawing + draw_cost, draws + 1
        now[0] += idle
    return drawing, now[0] - start, draws


def test_drawing_takes_at_most_its_share_of_the_time(monkeypatch):
    """A slow redraw (0.2 s) is made less often, so training keeps 1 - DRAW_SHARE of the time; a quick
    one is made at the refresh rate asked for (4 per second here)."""
    from ganedu.widgets.clock import DRAW_SHARE

    assert DRAW_SHARE <= 0.25  # training keeps at least three quarters
    drawing, elapsed, draws = _clock_run(monkeypatch, draw_cost=0.2)
    assert draws > 0 and drawing <= DRAW_SHARE * elapsed, (draws, drawing, elapsed)
    assert drawing >= 0.8 * DRAW_SHARE * elapsed  # ... and it still draws about as often as the share allows
    drawing, elapsed, draws = _clock_run(monkeypatch, draw_cost=0.005)
    assert 0.8 * 4 * elapsed <= draws <= 4 * elapsed + 1, (draws, elapsed)


@pytest.mark.parametrize("data, top", [("8gaussians", 8), ("25gaussians", 25)])
def test_the_scoreboard_marks_the_papers_values_beside_the_live_ones(data, top):
    from ganedu.literature import LITERATURE
    from ganedu.widgets.scoreboard import scoreboard_html

    page = scoreboard_html(data, {"modes": 5, "n_modes": top, "hq": 0.625})
    bars = re.findall(r'class="ganedu-bar" data-value="([\d.]+)" style="width:([\d.]+)%', page)
    assert [(float(v), float(w)) for v, w in bars] == [(5.0, pytest.approx(500 / top)), (0.625, 62.5)]
    marks = [(float(v), float(x)) for v, x in re.findall(r'class="ganedu-mark" data-value="([\d.]+)"[^>]*left:([\d.]+)%', page)]
    key = "ring" if top == 8 else "grid"
    first = lambda cell: float(re.match(r"[\d.]+", cell).group())  # noqa: E731  "7.9±0.1" -> 7.9
    expected_modes = [first(r[f"{key}_modes"]) for r in LITERATURE]
    expected_hq = [first(r[f"{key}_hq"]) / 100 for r in LITERATURE]
    assert len(marks) == 2 * len(LITERATURE)
    assert [v for v, _ in marks] == pytest.approx(expected_modes + expected_hq)
    assert [x for _, x in marks] == pytest.approx([100 * m / top for m in expected_modes]
                                                  + [100 * h for h in expected_hq], abs=0.01)


def test_the_dashboard_shows_its_scoreboard_on_the_mixtures_only(dash):
    d = dash()
    board = d.view.scoreboard.widget
    assert board in list(widgets.dashboard.descendants(d.widget))
    assert board.layout.display == "none"  # step 0: nothing scored yet
    d.run(3)
    modes = d.view.scores["modes"]
    assert board.layout.display != "none" and f"<b>{modes}/8</b>" in board.value
    assert "PacGAN2 (PacGAN T1) 7.9/8, 95.6%" in html.unescape(board.value)
    d.controls.data_w.value = "swissroll"  # no published modes: no scoreboard
    d.run(2)
    assert board.layout.display == "none"


def test_the_findings_panel_lists_the_diagnosis_in_plain_words(dash):
    from ganedu import diagnose as dg

    d = dash("wgan-toy")
    panel = d.view.findings
    assert panel in list(widgets.dashboard.descendants(d.widget))
    d.run(2)
    assert "No failure found" in panel.value and "clipping blowup" in panel.value
    t = d.trainer  # a critic loss growing from 1 to ~100 under clipping: the clipping blow-up
    t._history["step"] = list(range(1, 201))
    t._history["d_loss"] = [-(1.0 + 0.5 * i) for i in range(200)]
    for key in ("g_loss", "w_estimate", "gp", "grad_norm", "time"):
        t._history[key] = [0.0] * 200
    d.redraw()
    (finding,) = dg.diagnose(t)
    shown = html.unescape(panel.value)
    assert panel.value.count("ganedu-finding") == 1 and "No failure" not in shown
    assert f"Clipping blowup</b> (step {finding.step})" in shown
    assert finding.evidence in shown and finding.advice in shown


def _record(steps=(0, 100, 200)):
    """A small replay record: at each step, samples at the first `step // 100` modes of 8gaussians."""
    from ganedu.data import toy_modes

    modes = toy_modes("8gaussians")
    results = [{"step": s, "samples": modes[: max(1, s // 100)].repeat(4, 1).tolist(), "modes": max(1, s // 100),
                "modes_total": 8, "hq": 1.0, "w1": 0.5 - s / 1000} for s in steps]
    return {"caption": "recorded on a test machine, 2026-01-01", "results": results,
            "spec": {"recipe": "wgan-gp-toy", "data": "8gaussians", "seed": 0}}


def test_replay_scrubs_through_a_recorded_run(dash):
    d = dash(replay=_record())
    r = d.replay
    assert r.toggle in list(widgets.dashboard.descendants(d.widget)) and r.box.layout.display == "none"
    r.toggle.value = True
    assert r.box.layout.display != "none" and bytes(r.image.value).startswith(PNG)
    assert "modes within 3σ 2/8" in r.words.value  # the slider starts at the last checkpoint
    first = bytes(r.image.value)
    r.slider.value = 100
    assert "modes within 3σ 1/8" in r.words.value and "W₁ 0.400" in r.words.value
    assert "recorded on a test machine, 2026-01-01" in r.words.value
    assert bytes(r.image.value) != first
    assert d.trainer.steps == 0  # the live run is untouched
    r.toggle.value = False
    assert r.box.layout.display == "none"


def test_replay_is_offered_when_training_is_slower_than_the_run_needs(dash, monkeypatch):
    from ganedu.widgets.replay import needed_rate

    record = _record((0, 100, 800, 1000))  # 8/8 at step 800: needs 800 / 20 s = 40 steps/s
    assert needed_rate(record) == 40.0
    d = dash(replay=record)
    d.buttons["train"].click()
    d._train_t0 -= 10  # as if it had trained for 10 s
    monkeypatch.setattr(d, "steps_per_second", lambda: 12.0)
    d._offer_replay()
    assert "runs at 12 steps/s" in d.status.value and "about 40 steps/s" in d.status.value
    assert d.replay.toggle.button_style == "warning"
    fast = dash(replay=record)
    fast.buttons["train"].click()
    fast._train_t0 -= 10
    monkeypatch.setattr(fast, "steps_per_second", lambda: 60.0)
    fast._offer_replay()
    assert "Replay" not in fast.status.value and fast.replay.toggle.button_style == ""


def test_replay_refuses_what_is_not_a_record(dash):
    with pytest.raises(TypeError, match="replay must be a record dict"):
        dash(replay=[1, 2])
    with pytest.raises(ValueError, match=r"replay must be a record .* missing \['caption'\]"):
        dash(replay={k: v for k, v in _record().items() if k != "caption"})
    bad = _record()
    del bad["results"][1]["hq"]
    with pytest.raises(ValueError, match=r"replay: checkpoints \[1\] lack one of"):
        dash(replay=bad)


# ---- conditional recipes and the class picker ----------------------------------------------------
class _OnOrOff(torch.nn.Module):
    """A stand-in G(z, y) whose class-k samples sit on mode k when z₀ > 0 and 1 away otherwise."""

    def __init__(self, modes):
        super().__init__()
        self.modes, self.z_dim, self.n_classes = modes, 2, len(modes)
        self.weight = torch.nn.Parameter(torch.zeros(1))  # (a device to be found on)

    def forward(self, z, y):
        return self.modes[y] + (z[:, :1] <= 0).float() * torch.tensor([1.0, 0.0])


def _codes(d, n=256):
    """The fixed codes the dashboard draws its samples from (Trainer.sample: seed + 1)."""
    return torch.randn(n, d.trainer.generator.z_dim, generator=torch.Generator().manual_seed(d.trainer.seed + 1))


def test_a_conditional_recipe_trains_g_and_d_of_y_and_offers_a_class_picker(dash):
    from ganedu.conditional_train import ConditionalTrainer

    d = dash("cwgan-gp-toy")
    assert isinstance(d.trainer, ConditionalTrainer) and d.trainer.n_classes == 8
    assert d.classes.widget.layout.display != "none" and [v for _, v in d.classes.widget.options] == [-1, *range(8)]
    d.run(3)
    assert d.trainer.steps == 3 and picture(d)[:8] == PNG
    assert "each class on its own mode: worst class" in d.progress.value
    d.controls.data_w.value = "25gaussians"  # a new run: 25 classes to pick from
    assert d.trainer.n_classes == 25 and len(d.classes.widget.options) == 26
    d.controls.recipe_w.value = "wgan-gp-toy"  # unconditional: no picker, and it says why in code
    assert not hasattr(d.trainer, "n_classes") and d.classes.widget.layout.display == "none"
    with pytest.raises(ValueError, match="label: the class picker is for conditional recipes"):
        d.show_class(2)


def test_the_class_picker_draws_g_of_z_k_and_the_critic_of_k(dash):
    d = dash("cwgan-gp-toy")
    d.run(2)
    before = picture(d)
    d.classes.widget.value = 3
    assert d.view.label == 3 and picture(d) != before
    samples, surface = d.view._fig.axes[:2]
    with torch.no_grad():  # G(z, 3) for the dashboard's codes, by hand
        expected = d.trainer.generator(_codes(d), torch.full((256,), 3))
    torch.testing.assert_close(torch.as_tensor(samples.collections[-1].get_offsets(), dtype=torch.float32), expected)
    assert "G(z, 3)" in samples.get_title() and "D(x, 3)" in surface.get_title()
    with pytest.raises(ValueError, match="label must be an integer >= 0 and <= 7, got 8"):
        d.show_class(8)
    d.show_class(None)
    assert d.classes.widget.value == -1 and d.view.label is None and "every class" in d.view._fig.axes[0].get_title()


def test_every_class_shows_each_class_s_accuracy_counted_sample_by_sample(dash):
    from ganedu.data import toy_modes, toy_std

    d = dash("cwgan-gp-toy")
    modes = toy_modes("8gaussians")
    d.trainer.generator = _OnOrOff(modes)
    d.run(0)
    z, y = _codes(d), torch.arange(256) % 8
    expected = []
    for k in range(8):  # per sample: asked for k, and within 3σ of mode k?
        asked = [i for i in range(256) if int(y[i]) == k]
        expected.append(sum(float(z[i, 0]) > 0 for i in asked) / len(asked))
    assert 0 < min(expected) < max(expected) < 1  # the stand-in makes fractions, not all or nothing
    bars = [p.get_height() for p in d.view._fig.axes[1].patches]
    assert bars == pytest.approx(expected)
    worst = min(range(8), key=expected.__getitem__)
    d.trainer.steps = 1  # (scores are shown once a run has steps)
    d.redraw()
    assert f"worst class {worst} at {expected[worst]:.0%}" in d.progress.value
    assert 3 * toy_std("8gaussians") < 1.0  # (the stand-in's misses are outside 3σ)


def test_a_conditional_run_refuses_data_without_classes_and_keeps_its_menus(dash):
    d = dash("cwgan-gp-toy")
    run = d.trainer
    d.controls.data_w.value = "swissroll"
    assert d.trainer is run and d.controls.data_w.value == "8gaussians"
    assert "refused" in status_text(d) and "needs data with classes" in status_text(d)
    d.use_word("GAN")  # your own points have no classes either
    assert d.trainer is run and "needs data with classes" in status_text(d)
    with pytest.raises(ValueError, match="needs data with classes"):
        TrainingDashboard("cwgan-gp-toy", data="swissroll", **SMALL)


def test_a_conditional_run_branches_into_a_conditional_twin_and_refuses_a_checkpoint(dash, tmp_path):
    from ganedu.conditional_train import ConditionalTrainer

    d = dash("cwgan-gp-toy")
    d.run(4)
    d.branch()
    twin = d.branch_view.twin
    assert isinstance(twin, ConditionalTrainer) and _same(_params(twin.generator), _params(d.trainer.generator))
    d.run(2)  # the same noise and labels: the twin stays equal, step for step
    assert twin.steps == 6 and _same(_params(twin.generator), _params(d.trainer.generator))
    assert d.save_snapshot(str(tmp_path)) is None and "snapshot not saved" in status_text(d)


def test_the_critic_of_a_conditional_recipe_can_be_chosen(dash):
    from ganedu.acgan import ACGANTrainer

    d = dash("cwgan-gp-toy", critic="auxiliary")
    d.run(2)
    assert isinstance(d.trainer, ACGANTrainer) and d.trainer.steps == 2
    with pytest.raises(ValueError, match="critic must be one of"):
        TrainingDashboard("cwgan-gp-toy", critic="nope", **SMALL)
