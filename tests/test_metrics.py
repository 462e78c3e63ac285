"""Tests for ganedu.metrics: per-sample loops, closed forms, and the digits classifier."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from ganedu import metrics
from ganedu.data import load_digits, sample_parallel_lines, sample_toy, toy_modes, toy_std
from ganedu.divergences import parallel_lines, w1_exact


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ---- mode coverage -------------------------------------------------------------------------

HQ_2D = 1.0 - math.exp(-4.5)  # P(|eps| <= 3 sigma) for a 2D isotropic Gaussian = 0.98889


@pytest.mark.parametrize("name, k", [("8gaussians", 8), ("25gaussians", 25), ("ring", 8)])
def test_perfect_sampler_covers_all_modes(name, k):
    n = 20000
    result = metrics.mode_coverage(sample_toy(name, n, generator=gen(0)), toy_modes(name), toy_std(name))
    assert result["modes"] == k and len(result["counts"]) == k
    assert result["hq"] == pytest.approx(HQ_2D, abs=0.005)
    assert sum(result["counts"]) == round(result["hq"] * n)
    assert min(result["counts"]) > 0.8 * n / k * HQ_2D


def test_collapsed_and_far_samplers():
    modes, std = toy_modes("8gaussians"), toy_std("8gaussians")
    collapsed = modes[3] + std * torch.randn(500, 2, generator=gen(1))
    result = metrics.mode_coverage(collapsed, modes, std)
    assert result["modes"] == 1 and result["counts"][3] == sum(result["counts"])
    far = metrics.mode_coverage(collapsed + 10.0, modes, std)
    assert far == dict(modes=0, hq=0.0, counts=[0] * 8)


def test_mode_coverage_against_a_per_sample_loop():
    modes, std = toy_modes("25gaussians"), 0.1
    samples = torch.rand(300, 2, generator=gen(2)) * 4 - 2
    counts, hq = [0] * len(modes), 0
    for x in samples.tolist():
        d = [math.dist(x, c) for c in modes.tolist()]
        if min(d) <= 3 * std:
            hq += 1
            counts[d.index(min(d))] += 1
    expected = dict(modes=sum(c > 0 for c in counts), hq=hq / len(samples), counts=counts)
    assert metrics.mode_coverage(samples, modes, std) == expected
    # the 3-sigma boundary itself
    edge = modes[:1] + torch.tensor([[2.9 * std, 0.0], [3.1 * std, 0.0]])
    assert metrics.mode_coverage(edge, modes, std)["hq"] == 0.5


def test_mode_coverage_errors():
    modes = toy_modes("ring")
    with pytest.raises(ValueError, match="share d"):
        metrics.mode_coverage(torch.zeros(5, 3), modes, 0.02)
    with pytest.raises(ValueError, match="samples must have 2 dims"):
        metrics.mode_coverage(torch.zeros(5), modes, 0.02)
    with pytest.raises(ValueError, match="std must be > 0"):
        metrics.mode_coverage(torch.zeros(5, 2), modes, 0.0)
    with pytest.raises(TypeError, match="samples must be a torch.Tensor"):
        metrics.mode_coverage([[0.0, 0.0]], modes, 0.02)


# ---- W1 to data and the critic's estimate --------------------------------------------------

def test_w1_to_data():
    x = sample_toy("swissroll", 300, generator=gen(0))
    v = torch.tensor([0.6, 0.8])
    assert metrics.w1_to_data(x, x + v) == pytest.approx(1.0, rel=1e-6)   # translation: exactly |v|
    data = sample_toy("swissroll", 500, generator=gen(1))
    assert metrics.w1_to_data(x, data) == pytest.approx(w1_exact(x, data[:300]), rel=1e-12)
    assert metrics.w1_to_data(x, data, max_points=50) == pytest.approx(w1_exact(x[:50], data[:50]), rel=1e-12)
    with pytest.raises(ValueError, match="max_points"):
        metrics.w1_to_data(x, data, max_points=0)


def test_critic_w_estimate_linear_critic():
    critic = nn.Linear(2, 1)
    real, fake = torch.randn(64, 2, generator=gen(0)), torch.randn(32, 2, generator=gen(1)) + 1
    with torch.no_grad():
        w, b = critic.weight[0], critic.bias[0]
        expected = float((real @ w + b).mean() - (fake @ w + b).mean())
    assert metrics.critic_w_estimate(critic, real, fake) == pytest.approx(expected, rel=1e-5)
    assert critic.weight.grad is None


def test_critic_w_estimate_is_w1_on_parallel_lines():
    # f(x) = -x_0 is 1-Lipschitz and optimal for theta > 0: E_real f - E_fake f = theta = W1.
    real, fake = sample_parallel_lines(0.4, 100, generator=gen(0))
    assert metrics.critic_w_estimate(lambda x: -x[:, 0], real, fake) == pytest.approx(parallel_lines(0.4)["w1"])


def test_critic_w_estimate_has_no_side_effects_on_batchnorm():
    critic = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 1), nn.Flatten(0))
    before = critic[1].running_mean.clone()
    metrics.critic_w_estimate(critic, torch.randn(16, 2), torch.randn(16, 2) + 3)
    assert critic.training
    torch.testing.assert_close(critic[1].running_mean, before, rtol=0, atol=0)
    metrics.critic_w_estimate(critic, torch.randn(16, 2), torch.randn(16, 2) + 3, eval_mode=False)
    assert not torch.equal(critic[1].running_mean, before)


def test_critic_w_estimate_errors():
    with pytest.raises(ValueError, match=r"critic\(real\) must return one score per sample"):
        metrics.critic_w_estimate(nn.Linear(2, 3), torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(TypeError, match="critic must be callable"):
        metrics.critic_w_estimate(3, torch.zeros(4, 2), torch.zeros(4, 2))


# ---- digits classifier and image metrics ---------------------------------------------------

def test_digits_classifier_accuracy_on_held_out_split():
    clf = metrics.digits_classifier(16)
    assert clf is metrics.digits_classifier(size=16)                      # memoised
    images, labels = load_digits(16)
    test = clf.test_indices
    assert len(test) == 359 and len(set(test.tolist())) == 359
    with torch.no_grad():
        accuracy = (clf(images[test]).argmax(1) == labels[test]).float().mean().item()
    assert accuracy >= 0.95 and accuracy == pytest.approx(clf.test_accuracy)
    assert clf.features(images[:5]).shape == (5, 64) and clf(images[:5]).shape == (5, 10)
    with pytest.raises(ValueError, match=r"images must have shape \(B, 1, 16, 16\)"):
        clf(torch.zeros(2, 1, 8, 8))


def test_digits_classifier_deterministic_cached_and_leaves_global_rng(tmp_path):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    saved = metrics.digits_classifier(8, cache_dir=tmp_path)              # trains, writes the file
    assert torch.equal(torch.get_rng_state(), state)
    assert (tmp_path / "digits_classifier_8.pt").exists()
    loaded = metrics._digits_classifier.__wrapped__(8, str(tmp_path))    # loads it back
    retrained = metrics._digits_classifier.__wrapped__(8, None)          # trains again from scratch
    x = load_digits(8)[0][:50]
    torch.testing.assert_close(loaded(x), saved(x), rtol=0, atol=0)
    torch.testing.assert_close(retrained(x), saved(x), rtol=0, atol=0)
    assert saved.test_accuracy >= 0.95


def test_class_coverage_real_digits_and_single_class():
    images, labels = load_digits(16)
    real = metrics.class_coverage(images)
    assert real["classes"] == 10 and 0 <= real["kl_uniform"] < 0.01
    assert sum(real["histogram"]) == pytest.approx(1.0) and len(real["histogram"]) == 10
    h = np.array(real["histogram"])
    assert real["kl_uniform"] == pytest.approx(np.sum(h[h > 0] * np.log(10 * h[h > 0])), rel=1e-9)
    threes = metrics.class_coverage(images[labels == 3])
    assert threes["classes"] == 1 and threes["histogram"][3] >= 0.99
    assert threes["kl_uniform"] == pytest.approx(math.log(10), abs=0.05)
    with pytest.raises(ValueError, match=r"images must have shape \(B, 1, s, s\)"):
        metrics.class_coverage(torch.zeros(4, 1, 28, 28))


def exact_moment_samples(mean, cov, n=400, seed=0):
    """Points whose sample mean and covariance (ddof=1) are exactly `mean` and `cov`."""
    x = np.random.default_rng(seed).normal(size=(n, len(mean)))
    x -= x.mean(axis=0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T   # whiten: cov = I
    return x @ np.linalg.cholesky(cov).T + mean


def test_frechet_distance_closed_form_diagonal():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, 0.0, -2.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([0.3, 2.0, 1.5])          # standard deviations
    f1 = exact_moment_samples(mu1, np.diag(s1**2), seed=0)
    f2 = exact_moment_samples(mu2, np.diag(s2**2), n=300, seed=1)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)
    assert metrics.frechet_distance_from_features(f1, f2) == pytest.approx(expected, rel=1e-9)
    assert metrics.frechet_distance_from_features(torch.tensor(f1), f1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_general_covariances_against_eigh():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    c1, c2 = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
    mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
    w, v = np.linalg.eigh(c1)                                               # Tr((C1 C2)^1/2) =
    root1 = v @ np.diag(np.sqrt(w)) @ v.T                                  # Tr((C1^1/2 C2 C1^1/2)^1/2)
    cross = np.sum(np.sqrt(np.linalg.eigvalsh(root1 @ c2 @ root1)))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * cross
    f1, f2 = exact_moment_samples(mu1, c1), exact_moment_samples(mu2, c2, seed=1)
    assert metrics.frechet_distance_from_features(f1, f2) == pytest.approx(expected, rel=1e-8)
    assert metrics.frechet_distance_from_features(f2, f1) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_on_digits():
    images, _ = load_digits(16)
    halves = metrics.frechet_distance(images[0::2], images[1::2])
    noise = metrics.frechet_distance(images, torch.rand(500, 1, 16, 16, generator=gen(0)) * 2 - 1)
    assert 0 < halves < 10 and noise > 100 * halves


def test_frechet_distance_errors():
    with pytest.raises(ValueError, match="f2 must have shape"):
        metrics.frechet_distance_from_features(np.zeros((5, 2)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="same feature dim"):
        metrics.frechet_distance_from_features(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="same image shape|images must have shape"):
        metrics.frechet_distance(torch.zeros(4, 1, 16, 16), torch.zeros(4, 1, 8, 8))


# ---- the one scorer ------------------------------------------------------------------------

def test_score_samples_on_a_mixture_by_hand():
    fake = sample_toy("8gaussians", 300, generator=gen(3)) * 1.05       # a slightly wrong generator
    real = sample_toy("8gaussians", 80, generator=gen(4))
    critic = nn.Linear(2, 1)                                            # f(x) = w.x + b: W estimate by hand
    out = metrics.score_samples(fake, "8gaussians", real=real, n_w1=50, critic=critic)
    assert list(out) == ["modes", "hq", "modes_total", "w1", "w_estimate"]
    coverage = metrics.mode_coverage(fake, toy_modes("8gaussians"), toy_std("8gaussians"))  # all 300 samples
    assert (out["modes"], out["hq"], out["modes_total"]) == (coverage["modes"], coverage["hq"], 8)
    assert out["w1"] == pytest.approx(w1_exact(fake[:50], real[:50]), rel=1e-12)            # the first 50 of each
    with torch.no_grad():
        w, b = critic.weight[0], critic.bias[0]
        by_hand = float((real[:50] @ w + b).mean() - (fake[:50] @ w + b).mean())
    assert out["w_estimate"] == pytest.approx(by_hand, rel=1e-5, abs=1e-7)


def test_score_samples_leaves_out_what_does_not_apply():
    swiss = sample_toy("swissroll", 40, generator=gen(5))
    assert metrics.score_samples(swiss, "swissroll") == {}                               # no real, no modes
    assert list(metrics.score_samples(swiss, "swissroll", real=swiss.flip(0))) == ["w1"]  # no critic
    ring = metrics.score_samples(sample_toy("ring", 40, generator=gen(6)), "ring")
    assert list(ring) == ["modes", "hq", "modes_total"]
    images = torch.zeros(4, 1, 8, 8)
    assert metrics.score_samples(images, "fashion-mnist", real=images) == {}              # no classifier for it
    assert metrics.score_samples(torch.zeros(4, 1, 28, 28), "mnist") == {}                # not a classifier size


def test_score_samples_on_digits():
    images = load_digits(8)[0]
    real, fake = images[:300], images[300:700]
    out = metrics.score_samples(fake, "digits", real=real)
    coverage = metrics.class_coverage(fake)                                                # all 400 samples
    assert (out["classes"], out["kl_uniform"]) == (coverage["classes"], coverage["kl_uniform"])
    assert out["frechet"] == pytest.approx(metrics.frechet_distance(real, fake[:300]), rel=1e-12)
    assert set(metrics.score_samples(fake, "mnist")) == {"classes", "kl_uniform"}


def test_score_samples_errors():
    with pytest.raises(TypeError, match="samples must be a torch.Tensor"):
        metrics.score_samples([[0.0, 0.0]], "8gaussians")
    with pytest.raises(ValueError, match="n_w1 must be an integer >= 1, got 0"):
        metrics.score_samples(torch.zeros(4, 2), "8gaussians", n_w1=0)


def test_nearest_neighbour_distances_match_a_loop():
    from ganedu.metrics import nearest_neighbour_distances
    g = torch.Generator().manual_seed(0)
    q, r = torch.randn(600, 1, 4, 4, generator=g), torch.randn(50, 1, 4, 4, generator=g)
    got = nearest_neighbour_distances(q, r)
    loop = torch.tensor([min(float(np.linalg.norm((qi - rj).numpy().ravel())) for rj in r) for qi in q],
                        dtype=torch.float64)
    torch.testing.assert_close(got, loop)
    # a copy of a reference point is at distance 0; leaving each point's own entry out is not
    self_nn = nearest_neighbour_distances(r, r)
    assert torch.all(self_nn == 0)
    loo = nearest_neighbour_distances(r, r, exclude_self=True)
    expected = torch.tensor([min(float((r[i] - r[j]).norm()) for j in range(len(r)) if j != i)
                             for i in range(len(r))], dtype=torch.float64)
    torch.testing.assert_close(loo, expected)
    big = torch.randn(700, 3, generator=g)                    # more than one chunk, exclude_self across chunks
    loo_big = nearest_neighbour_distances(big, big, exclude_self=True)
    d = torch.cdist(big.double(), big.double()).fill_diagonal_(float("inf"))
    torch.testing.assert_close(loo_big, d.min(1).values)


def test_nearest_neighbour_distances_refuse_bad_input():
    from ganedu.metrics import nearest_neighbour_distances
    with pytest.raises(TypeError, match="queries"):
        nearest_neighbour_distances([1.0, 2.0], torch.zeros(2, 2))
    with pytest.raises(ValueError, match="same shape after the batch dim"):
        nearest_neighbour_distances(torch.zeros(3, 2), torch.zeros(3, 5))
    with pytest.raises(ValueError, match="exclude_self"):
        nearest_neighbour_distances(torch.zeros(3, 2), torch.zeros(4, 2), exclude_self=True)
