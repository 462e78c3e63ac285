"""Tests for ganedu.lessons.showdown: one row of a tiny showdown recomputed independently (a per-sample
loop for modes and HQ, a linear program for W1, the critic by hand, the Fréchet distance from
eigenvalues), the summary against the statistics module, the table, the figure, the errors."""
from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
import torch
from scipy.optimize import linprog
from scipy.spatial.distance import cdist

from ganedu.data import load_digits, sample_toy
from ganedu.metrics import digits_classifier
from ganedu.recipes import get_recipe
from ganedu.lessons.showdown import (DATA_SEED, EVAL_SEED, LITERATURE, format_table, label, literature_table,
                             plot_showdown, reference_row, run_one, run_showdown, summarize)
from ganedu.train import Trainer


def grid_modes_and_std():
    """25gaussians as gan_toy.py writes it: centres (2i, 2j), std 0.05, all divided by 2.828."""
    centres = [(2.0 * i / 2.828, 2.0 * j / 2.828) for i in range(-2, 3) for j in range(-2, 3)]
    return centres, 0.05 / 2.828


def modes_and_hq_by_loop(points, centres, std):
    covered, hq = set(), 0
    for x, y in points.tolist():
        dists = [math.hypot(x - cx, y - cy) for cx, cy in centres]
        k = min(range(len(dists)), key=dists.__getitem__)
        if dists[k] <= 3 * std:
            hq += 1
            covered.add(k)
    return len(covered), hq / len(points)


def w1_by_linear_program(x, y):
    """min_P <C, P> over transport plans with uniform marginals (an LP, not an assignment)."""
    n = len(x)
    cost = cdist(x, y).ravel()
    a_eq = np.zeros((2 * n, n * n))
    for i in range(n):
        a_eq[i, i * n:(i + 1) * n] = 1.0        # row sums
        a_eq[n + i, i::n] = 1.0                 # column sums
    res = linprog(cost, A_eq=a_eq, b_eq=np.full(2 * n, 1.0 / n), bounds=(0, None), method="highs")
    assert res.success
    return res.fun


def frechet_by_eigenvalues(f1, f2):
    """d² = |mu1 - mu2|² + tr S1 + tr S2 - 2 Σ sqrt(eig(S1 S2)) (S1 S2 is similar to a PSD matrix)."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    eig = np.linalg.eigvals(s1 @ s2).real.clip(min=0)
    return float(((f1.mean(0) - f2.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eig).sum())


@pytest.fixture
def one_thread():
    """The showdown trains with one intra-op thread; the recomputation must too (bit-for-bit)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def tiny():
    return run_showdown({"25gaussians": ["wgan-toy"], "digits": ["nsgan"]},
                        steps={"25gaussians": 4, "digits": 2}, seeds=[3], n_eval=400, n_w1=60,
                        device="cpu", progress=False)


def test_toy_row_matches_an_independent_recomputation(tiny, one_thread):
    (row,) = tiny.rows_for(data="25gaussians")
    assert (row["recipe"], row["seed"], row["steps"]) == ("wgan-toy", 3, 4)
    # the same run again, by hand: same seed, same budget, same latent codes
    trainer = Trainer.from_recipe("wgan-toy", data="25gaussians", seed=3, device="cpu")
    trainer.train(4, progress=False)
    fake = trainer.sample(400, seed=EVAL_SEED)
    torch.testing.assert_close(fake, tiny.samples[("wgan-toy", "25gaussians", 3)])
    modes, hq = modes_and_hq_by_loop(fake, *grid_modes_and_std())
    assert row["modes"] == modes
    assert row["hq"] == pytest.approx(hq, abs=1e-12)
    real = sample_toy("25gaussians", 60, generator=torch.Generator().manual_seed(DATA_SEED))
    assert row["w1"] == pytest.approx(w1_by_linear_program(fake[:60].numpy(), real.numpy()), rel=1e-6)
    with torch.no_grad():
        trainer.critic.eval()
        w_hand = float(trainer.critic(real).mean() - trainer.critic(fake[:60]).mean())
    assert row["w_critic"] == pytest.approx(w_hand, rel=1e-5, abs=1e-7)
    assert row["w_critic"] != pytest.approx(row["w1"])  # a clipped critic is far from 1-Lipschitz
    assert row["grad_norm"] == pytest.approx(trainer.history["grad_norm"][-1], rel=1e-6)
    assert row["sec_per_1k"] > 0 and row["classes"] is None and row["fd"] is None


def test_digits_row_matches_an_independent_recomputation(tiny, one_thread):
    (row,) = tiny.rows_for(data="digits")
    trainer = Trainer.from_recipe("nsgan", data="digits", seed=3, device="cpu", image_size=8)
    trainer.train(2, progress=False)
    fake = trainer.sample(400, seed=EVAL_SEED)
    torch.testing.assert_close(fake, tiny.samples[("nsgan", "digits", 3)])
    clf = digits_classifier(8)
    with torch.no_grad():
        predicted = [int(clf(img[None]).argmax()) for img in fake]           # one image at a time
        f_real = clf.features(load_digits(8)[0]).numpy()
        f_fake = clf.features(fake).numpy()
    classes = sum(predicted.count(c) / len(predicted) >= 0.01 for c in range(10))
    assert row["classes"] == classes
    assert row["fd"] == pytest.approx(frechet_by_eigenvalues(f_real, f_fake), rel=1e-4)
    assert row["modes"] is None and row["w1"] is None and row["grad_norm"] is None


def test_the_budget_is_the_same_for_every_recipe_on_a_dataset():
    result = run_showdown({"8gaussians": ["gan-toy", "nsgan-toy"], "swissroll": ["gan-toy"]},
                          steps={"8gaussians": 3, "swissroll": 2}, seeds={"8gaussians": [0, 1], "swissroll": [5]},
                          n_eval=200, n_w1=50, device="cpu", progress=False)
    assert [(r["recipe"], r["data"], r["seed"], r["steps"]) for r in result.rows] == [
        ("gan-toy", "8gaussians", 0, 3), ("gan-toy", "8gaussians", 1, 3), ("nsgan-toy", "8gaussians", 0, 3),
        ("nsgan-toy", "8gaussians", 1, 3), ("gan-toy", "swissroll", 5, 2)]
    assert len(result.rows_for(data="8gaussians")) == 4
    assert result.seconds > 0 and len(result.samples) == 5
    # different seeds give different generators
    assert not torch.equal(result.samples[("gan-toy", "8gaussians", 0)], result.samples[("gan-toy", "8gaussians", 1)])


def test_summarize_is_the_mean_and_sample_std_over_seeds():
    rows = [dict(recipe="a", data="25gaussians", seed=s, steps=10, modes=m, hq=h, w1=w, w_critic=None,
                 grad_norm=None, classes=None, fd=None, sec_per_1k=t, note="")
            for s, (m, h, w, t) in enumerate([(20, 0.5, 0.2, 3.0), (25, 0.9, 0.1, 5.0), (23, 0.7, 0.4, 4.0)])]
    rows.append(dict(rows[0], recipe="b", seed=0))
    out = {r["recipe"]: r for r in summarize(rows)}
    a = out["a"]
    assert a["seed"] == "3 seeds" and a["steps"] == 10
    for key, values in (("modes", [20, 25, 23]), ("hq", [0.5, 0.9, 0.7]), ("w1", [0.2, 0.1, 0.4])):
        assert a[key] == pytest.approx(statistics.mean(values))
        assert a[key + "_sd"] == pytest.approx(statistics.stdev(values))
    assert a["fd"] is None and a["fd_sd"] is None
    assert out["b"]["modes"] == 20 and out["b"]["modes_sd"] is None


def test_format_table_lines_up_and_marks_missing_values():
    rows = [dict(recipe="gan-toy", data="25gaussians", seed=0, steps=100, modes=12, hq=0.9234, w1=0.1234,
                 classes=None, fd=None, sec_per_1k=6.25, note=""),
            dict(recipe="wgan-gp[width=128]", data="digits", seed=0, steps=100, modes=None, hq=None, w1=None,
                 classes=9, fd=12.34, sec_per_1k=40.0, note="diverged")]
    text = format_table(rows, title="T")
    lines = text.splitlines()
    assert lines[0] == "T" and set(lines[2]) == {"-"}
    assert len({len(line) for line in lines[1:]}) == 1      # every line as wide as the header
    assert "92.3%" in text and "0.123" in text and "12.3" in text and "wgan-gp[width=128]" in text
    assert lines[4].split()[4] == "-"                        # digits have no modes
    assert "classes" in lines[1] and "critic W" not in lines[1]  # only columns some row fills


def test_reference_row_is_what_a_perfect_sampler_scores():
    row = reference_row("25gaussians", n_eval=2500, n_w1=200)
    assert row["modes"] == 25
    assert row["hq"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)  # P(|N(0, I_2)| <= 3)
    other = sample_toy("25gaussians", 2500, generator=torch.Generator().manual_seed(DATA_SEED + 1))[:200]
    real = sample_toy("25gaussians", 200, generator=torch.Generator().manual_seed(DATA_SEED))
    assert row["w1"] == pytest.approx(w1_by_linear_program(other.numpy(), real.numpy()), rel=1e-6)


def test_label_names_the_fields_that_differ_from_the_recipe():
    assert label("gan") == "gan"
    assert label(get_recipe("wgan-gp", width=128)) == "wgan-gp[width=128]"
    assert label(get_recipe("sngan-toy", lr_g=2e-4, n_critic=1)) == "sngan-toy[lr_g=0.0002, n_critic=1]"


def test_literature_rows_are_marked_quoted_and_ours_measured():
    ours = [dict(recipe="wgan-gp-toy", data="25gaussians", modes=24.5, hq=0.91),
            dict(recipe="wgan-gp-toy", data="8gaussians", modes=8.0, hq=0.97)]
    text = literature_table(ours)
    assert text.count("(quoted)") == len(LITERATURE)
    last = text.splitlines()[-1]
    assert last.startswith("ours (measured)") and "24.5" in last and "91.0%" in last and "97.0%" in last
    for entry in LITERATURE:
        assert set(entry) == {"source", "method", "ring_modes", "ring_hq", "grid_modes", "grid_hq"}


def test_plot_showdown_draws_one_panel_per_run(tiny):
    fig = plot_showdown(tiny, seed=3)
    axes = fig.get_axes()
    assert len(axes) == 4                                  # 2 datasets x 2 recipes ...
    drawn = [ax for ax in axes if ax.axison or ax.images]  # ... of which 2 were run
    assert len(drawn) == 2
    titles = " ".join(ax.get_title() for ax in drawn)
    assert "wgan-toy" in titles and "nsgan" in titles and "classes" in titles
    with pytest.raises(ValueError, match="seed"):
        plot_showdown(tiny, seed=99)


def test_bad_input_is_explained():
    with pytest.raises(TypeError, match="plan"):
        run_showdown(["gan"], steps=3)
    with pytest.raises(ValueError, match="steps has no entry for 'swissroll'"):
        run_showdown({"swissroll": ["gan-toy"]}, steps={"8gaussians": 3}, progress=False)
    with pytest.raises(ValueError, match="seeds"):
        run_showdown({"swissroll": ["gan-toy"]}, steps=3, seeds=[])
    with pytest.raises(ValueError, match="seeds has no entry"):
        run_showdown({"swissroll": ["gan-toy"]}, steps=3, seeds={"8gaussians": [0]})
    with pytest.raises(ValueError, match="steps"):
        run_one("gan-toy", "8gaussians", steps=0)
    with pytest.raises(ValueError, match="unknown recipe"):
        run_showdown({"8gaussians": ["gann"]}, steps=3)


def test_plot_showdown_puts_a_paper_recipe_in_one_column_across_datasets():
    from ganedu.lessons.showdown import Showdown
    result = Showdown()
    for recipe, data in [("gan[width=128]", "8gaussians"), ("gan-toy", "8gaussians"), ("gan", "digits")]:
        result.rows.append(dict(recipe=recipe, data=data, seed=0, modes=1, hq=0.5, w1=0.1, classes=3, fd=1.0))
        shape = (20, 1, 8, 8) if data == "digits" else (20, 2)
        result.samples[(recipe, data, 0)] = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    axes = plot_showdown(result).get_axes()
    assert len(axes) == 4                                   # 2 datasets x 2 columns (gan, gan-toy), not 3
    assert ["\n".join(ax.get_title().split("\n")[:-2]) for ax in axes[:3]] == ["gan\n[width 128]", "gan-toy", "gan"]


def test_panel_label_puts_a_recipes_changes_on_a_short_line_of_their_own():
    from ganedu.lessons.showdown import panel_label
    assert panel_label("gan-toy") == "gan-toy"
    assert panel_label("wgan-gp-toy[lr_decay_steps=300]") == "wgan-gp-toy\n[decay 300]"
    assert panel_label("wgan-gp[width=128]") == "wgan-gp\n[width 128]"


@pytest.mark.parametrize("recipes", [
    ["gan-toy", "nsgan-toy", "wgan-toy", "wgan-gp-toy", "sngan-toy", "wgan-gp[width=128]", "gan[width=128]"],
    ["gan-toy", "nsgan-toy", "wgan-toy", "wgan-gp-toy[lr_decay_steps=300]", "sngan-toy"]  # 07's ring, full mode
    + [f"{name}[width=128]" for name in ("gan", "nsgan", "wgan", "wgan-gp", "sngan")]])
def test_plot_showdown_titles_are_readable_and_apart_at_the_notebooks_width(recipes):
    """07's grid (7, and 10 recipes with long labels, x 2 datasets): every panel title is at least 9 px
    tall once the notebook shows the figure at most SHOWN_WIDTH_PX wide, and no two titles overlap."""
    from ganedu.lessons.showdown import SHOWN_WIDTH_PX, Showdown
    result = Showdown()
    for recipe in recipes:
        for data in ("8gaussians", "25gaussians"):
            result.rows.append(dict(recipe=recipe, data=data, seed=0, modes=25, hq=0.125, w1=0.1))
            result.samples[(recipe, data, 0)] = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    for dpi in (60, 100):
        fig = plot_showdown(result, dpi=dpi)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        scale = min(1.0, SHOWN_WIDTH_PX / (fig.get_figwidth() * fig.dpi))  # the notebook scales it down
        boxes = [ax.title.get_window_extent(renderer) for ax in fig.get_axes()]
        lines = [ax.get_title().count("\n") + 1 for ax in fig.get_axes()]
        line_px = [b.height / n * scale for b, n in zip(boxes, lines)]
        assert min(line_px) >= 9, (dpi, min(line_px))
        for a, b in zip(boxes, boxes[1:]):                            # neighbours in a row
            if abs(a.y0 - b.y0) < 1:
                assert a.x1 <= b.x0, (dpi, a, b)


def test_number_never_prints_nan_where_a_number_is_expected():
    from ganedu.lessons.showdown import NOT_RUN, number
    assert number(0.25, "{:.1f}") == "0.2" and number(3, "{:.1f}x") == "3.0x"
    assert number(float("nan"), "{:.1f}x") == NOT_RUN == number(None) == number(float("nan") / 2.0)
    assert "nan" not in NOT_RUN
