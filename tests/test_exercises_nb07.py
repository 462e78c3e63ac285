"""Tests for the notebook-07 exercise check (beat the default WGAN-GP on 25gaussians at the same
budget): the reference solution passes, every pitfall is caught with an explanation that does not
give the solution away, the untouched stub raises ExerciseNotDone, the default is trained once."""
import pytest
import torch

from ganedu.lessons import exercises
from ganedu.data import sample_toy
from ganedu.divergences import w1_exact
from ganedu.lessons.exercises import nb07_showdown as nb07
from ganedu.lessons.exercises.core import RESULTS, ExerciseNotDone
from ganedu.lessons.exercises.nb07_showdown import check_beat_default, default_recipe
from ganedu.recipes import RECIPES, get_recipe
from ganedu.lessons.showdown import DATA_SEED, EVAL_SEED
from ganedu.train import Trainer

STEPS = 100  # the tests' budget (the notebook uses its own)


def solution():
    return get_recipe("wgan-gp", width=128, lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.9), gp_lambda=0.1)


SOLUTION_WORDS = ("lr_g=0.001", "1e-3", "0.5, 0.9", "gp_lambda=0.1")


def stub():
    raise NotImplementedError("Exercise: choose a recipe")


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_the_default_is_the_paper_wgan_gp_at_the_showdown_width():
    d = default_recipe()
    assert d == RECIPES["wgan-gp"].replace(width=128)
    assert (d.lr_g, d.betas, d.gp_lambda, d.n_critic) == (1e-4, (0.0, 0.9), 10.0, 5)


@pytest.mark.training_outcome
def test_reference_solution_passes_and_the_verdict_is_the_exact_w1(capsys):
    assert check_beat_default(solution, steps=STEPS, seed=0) is True
    assert RESULTS["beat_default"] is True
    out = capsys.readouterr().out
    assert "Correct" in out
    # recompute both W1 values independently: same seed, same budget, same codes, same data sample
    w1 = {}
    for recipe in (default_recipe(), solution()):
        trainer = Trainer.from_recipe(recipe, data="25gaussians", seed=0, device="cpu")
        trainer.train(STEPS, progress=False)
        fake = trainer.sample(2500, seed=EVAL_SEED)[: nb07.N_W1]
        real = sample_toy("25gaussians", nb07.N_W1, generator=torch.Generator().manual_seed(DATA_SEED))
        w1[recipe.lr_g] = w1_exact(fake, real)
    assert f"{w1[1e-4]:.4f}" in out and f"{w1[1e-3]:.4f}" in out
    assert w1[1e-3] <= 0.9 * w1[1e-4]


def test_check_is_exposed_on_the_package():
    assert exercises.check_beat_default is check_beat_default


def test_stub_raises_exercise_not_done():
    with pytest.raises(ExerciseNotDone, match="not done yet"):
        check_beat_default(stub, steps=STEPS)
    assert RESULTS["beat_default"] is False


@pytest.mark.parametrize("choice,words", [
    (lambda: default_recipe(), "default's settings"),
    (lambda: default_recipe().replace(name="mine"), "default's settings"),
    (lambda: "wgan-gp-toy", "batch_size=256 is larger"),              # a name is accepted, then checked
    (lambda: "wgan-gp", "width=512 is larger"),
    (lambda: solution().replace(n_critic=10), "n_critic=10 is larger"),
    (lambda: solution().replace(depth=4), "depth=4 is larger"),
    (lambda: "wgan-gpp", "unknown recipe"),
    (lambda: {"lr_g": 1e-3}, "should return a Recipe"),
    (lambda: 1 / 0, "raised ZeroDivisionError"),
    (lambda: solution().replace(model="dcgan"), "2D points"),
])
def test_pitfalls_are_caught_before_training(choice, words, capsys, monkeypatch):
    monkeypatch.setattr("ganedu.lessons.showdown.run_one", lambda *a, **k: pytest.fail("trained a run it should refuse"))
    assert check_beat_default(choice, steps=STEPS) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and words in out
    assert not any(w in out for w in SOLUTION_WORDS)


@pytest.mark.training_outcome
def test_a_choice_that_does_not_beat_the_default_is_explained(capsys):
    # a change too small to matter: still the paper's learning rate and momentum
    assert check_beat_default(lambda: default_recipe().replace(lr_g=1.05e-4), steps=STEPS) is False
    out = capsys.readouterr().out
    assert "is not 10% below the default's" in out and "default wgan-gp[width=128]" in out
    assert not any(w in out for w in SOLUTION_WORDS)


def test_a_diverging_choice_is_explained(capsys, monkeypatch):
    row = dict(recipe="x", w1=0.01, modes=25, hq=0.99, note="diverged, scored at step 12")
    base = dict(recipe="wgan-gp[width=128]", w1=1.0, modes=0, hq=0.0, note="")
    calls = iter([(base, None, None), (row, None, None)])
    monkeypatch.setattr("ganedu.lessons.showdown.run_one", lambda *a, **k: next(calls))
    nb07._default_runs.clear()
    assert check_beat_default(lambda: solution().replace(lr_g=10.0), steps=STEPS) is False
    assert "diverged" in capsys.readouterr().out
    nb07._default_runs.clear()


def test_the_default_is_trained_once_per_budget(monkeypatch):
    calls = []
    real_run_one = __import__("ganedu.lessons.showdown", fromlist=["run_one"]).run_one

    def counting(recipe, *a, **k):
        calls.append(recipe.name if hasattr(recipe, "name") else recipe)
        return real_run_one(recipe, *a, **k)

    monkeypatch.setattr("ganedu.lessons.showdown.run_one", counting)
    nb07._default_runs.clear()
    check_beat_default(solution, steps=60)
    check_beat_default(solution, steps=60)
    assert calls == ["wgan-gp", "wgan-gp", "wgan-gp"]  # default once, the choice twice
    nb07._default_runs.clear()


def test_budget_must_be_meaningful():
    with pytest.raises(ValueError, match="steps"):
        check_beat_default(solution, steps=10)
    with pytest.raises(TypeError, match="steps"):  # a bool is not a number of steps: a wrong type
        check_beat_default(solution, steps=True)
