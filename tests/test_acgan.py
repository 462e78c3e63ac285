"""ganedu.acgan: the auxiliary-classifier critic, its losses against per-sample loops, the AC-GAN trainer's steps."""
from __future__ import annotations

import math

import pytest
import torch

from ganedu.acgan import (AC_FAKE, AC_GENERATOR, AC_REAL, ACCritic, ACGANTrainer, acgan_critic_loss,
                          acgan_generator_loss, class_cross_entropy, conditional_trainer)
from ganedu.conditional import ConcatCritic, ProjectionCritic, conditional_gradient_penalty
from ganedu.conditional_train import CONDITIONAL_RECIPES, ConditionalTrainer


def _ce_loop(logits, y):
    """-(1/B) Σ_i log(exp(c_{i,y_i}) / Σ_k exp(c_{i,k})), one sample at a time in float64 math."""
    total = 0.0
    for row, label in zip(logits.tolist(), y.tolist()):
        total -= row[label] - math.log(sum(math.exp(v) for v in row))
    return total / len(y)


def _inputs(b=16, k=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, generator=g), torch.randn(b, generator=g), 3 * torch.randn(b, k, generator=g),
            3 * torch.randn(b, k, generator=g), torch.randint(k, (b,), generator=g))


def test_class_cross_entropy_equals_a_per_sample_loop():
    _, _, logits, _, y = _inputs()
    assert class_cross_entropy(logits, y).item() == pytest.approx(_ce_loop(logits, y), rel=1e-5)


@pytest.mark.parametrize("real_weight, fake_weight", [(AC_REAL, AC_FAKE), (1.0, 1.0), (0.5, 2.0)])
def test_critic_loss_is_wasserstein_plus_weighted_cross_entropies(real_weight, fake_weight):
    real_scores, fake_scores, real_logits, fake_logits, y = _inputs()
    got = acgan_critic_loss(real_scores, fake_scores, real_logits, fake_logits, y,
                            real_weight=real_weight, fake_weight=fake_weight)
    want = (fake_scores.mean() - real_scores.mean()).item() + real_weight * _ce_loop(real_logits, y) \
        + fake_weight * _ce_loop(fake_logits, y)
    assert got.item() == pytest.approx(want, rel=1e-5)


def test_critic_loss_takes_the_recipe_loss():
    real_scores, fake_scores, real_logits, fake_logits, y = _inputs()
    got = acgan_critic_loss(real_scores, fake_scores, real_logits, fake_logits, y, loss="hinge", fake_weight=0.0)
    hinge = torch.relu(1 - real_scores).mean() + torch.relu(1 + fake_scores).mean()
    assert got.item() == pytest.approx(hinge.item() + _ce_loop(real_logits, y), rel=1e-5)


def test_generator_loss_is_minus_mean_score_plus_weighted_cross_entropy():
    _, fake_scores, _, fake_logits, y = _inputs(seed=1)
    want = -fake_scores.mean().item() + AC_GENERATOR * _ce_loop(fake_logits, y)
    assert acgan_generator_loss(fake_scores, fake_logits, y).item() == pytest.approx(want, rel=1e-5)
    assert acgan_generator_loss(fake_scores, fake_logits, y, weight=0.0).item() == pytest.approx(
        -fake_scores.mean().item(), rel=1e-6)


def test_bad_weights_and_labels_are_named():
    real_scores, fake_scores, real_logits, fake_logits, y = _inputs()
    with pytest.raises(ValueError, match="fake_weight.*-1"):
        acgan_critic_loss(real_scores, fake_scores, real_logits, fake_logits, y, fake_weight=-1)
    with pytest.raises(ValueError, match="weight"):
        acgan_generator_loss(fake_scores, fake_logits, y, weight=-0.5)
    with pytest.raises(ValueError, match=r"y.*0\.\.4.*got 7"):
        class_cross_entropy(real_logits, torch.full((16,), 7))
    with pytest.raises(TypeError, match="y.*integer"):
        class_cross_entropy(real_logits, y.float())
    with pytest.raises(ValueError, match="one label per sample"):
        class_cross_entropy(real_logits, y[:3])


def test_critic_heads_equal_the_per_sample_formula_and_the_score_ignores_the_label():
    torch.manual_seed(0)
    critic = ACCritic(n_classes=4, in_dim=3, width=8, depth=2)
    x = torch.randn(6, 3)
    scores, logits = critic.heads(x)
    linears = [m for m in critic.phi if isinstance(m, torch.nn.Linear)]
    for i in range(len(x)):
        h = x[i]
        for layer in linears:
            h = torch.relu(layer.weight @ h + layer.bias)                 # φ(x_i)
        torch.testing.assert_close(scores[i], (critic.psi.weight @ h + critic.psi.bias)[0])
        torch.testing.assert_close(logits[i], critic.classifier.weight @ h + critic.classifier.bias)
    torch.testing.assert_close(critic(x, torch.zeros(6, dtype=torch.long)), scores)
    torch.testing.assert_close(critic(x, torch.tensor([3, 2, 1, 0, 1, 2])), scores)
    with pytest.raises(ValueError, match=r"0\.\.3.*got 4"):
        critic(x, torch.full((6,), 4))
    with pytest.raises(ValueError, match="in_dim=3"):
        critic.heads(torch.randn(6, 5))


def test_spectral_critic_normalises_the_score_path_only():
    torch.manual_seed(0)
    critic = ACCritic(4, 3, width=8, depth=2, norm="spectral")
    x = torch.randn(5, 3)
    for _ in range(30):                                                   # power iteration converges in training mode
        critic.heads(x)
    sigmas = [torch.linalg.matrix_norm(m.weight, 2).item() for m in [*critic.phi, critic.psi]
              if isinstance(m, torch.nn.Linear)]
    assert sigmas == pytest.approx([1.0] * len(sigmas), abs=2e-2)
    assert not hasattr(critic.classifier, "parametrizations")
    with pytest.raises(ValueError, match="norm"):
        ACCritic(4, 3, norm="batch")


def test_penalty_on_the_ac_critic_is_the_score_heads():
    torch.manual_seed(0)
    critic, real, fake, y = ACCritic(4, 3, width=8, depth=2), torch.randn(10, 3), torch.randn(10, 3), torch.arange(10) % 4
    eps = torch.rand(10)
    got = conditional_gradient_penalty(critic, real, fake, y, eps=eps)
    norms = []
    for i in range(10):                                                   # per sample: ||∇ψ(φ(x̂_i))||
        x_hat = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic.heads(x_hat[None])[0].sum(), x_hat)
        norms.append(grad.norm())
    torch.testing.assert_close(got, ((torch.stack(norms) - 1) ** 2).mean())


def test_trainer_needs_an_ac_critic_and_builds_one():
    tr = ACGANTrainer.from_recipe("acgan-gp-digits", "digits", seed=0, width=16)
    assert isinstance(tr.critic, ACCritic) and tr.critic.n_classes == 10 and tr.critic.in_dim == 256
    assert tr.recipe == CONDITIONAL_RECIPES["acgan-gp-digits"].replace(width=16)
    with pytest.raises(TypeError, match="ACCritic"):
        ACGANTrainer("acgan-gp-digits", tr.generator, ConcatCritic(10, 256, 16, 2), "digits")
    with pytest.raises(ValueError, match="critic.*auxiliary"):
        ACGANTrainer.from_recipe("acgan-gp-digits", "digits", critic="concat")
    assert type(conditional_trainer("acgan-gp-digits", "digits", critic="auxiliary", width=16)) is ACGANTrainer
    plain = conditional_trainer("csn-digits", "digits", critic="projection", width=16)
    assert type(plain) is ConditionalTrainer and isinstance(plain.critic, ProjectionCritic)
    with pytest.raises(ValueError, match="critic.*concat.*projection.*auxiliary"):
        conditional_trainer("csn-digits", "digits", critic="ac")


def test_critic_step_by_hand_trains_the_classifier_on_real_labels():
    """One critic step replayed with the same draws: W loss + λ GP + CE(c(x), y) (no fake term by default)."""
    tr = ACGANTrainer.from_recipe("acgan-gp-digits", "8gaussians", seed=3, width=16)
    before = {k: v.clone() for k, v in tr.critic.state_dict().items()}
    state = tr.rng.get_state()
    d_loss, w_estimate, gp, _ = tr.critic_step(tr.recipe)
    assert not torch.equal(tr.critic.classifier.weight, before["classifier.weight"])   # the head learns
    tr.rng.set_state(state)
    tr.critic.load_state_dict(before)
    real, y = tr.next_labelled(tr.recipe.batch_size)
    fake = tr.generator(tr.noise(tr.recipe.batch_size), y).detach()
    eps = torch.rand(len(real), 1, generator=tr.rng)[:, 0]
    want_gp = conditional_gradient_penalty(tr.critic, real, fake, y, eps=eps)
    (rs, rl), (fs, _) = tr.critic.heads(real), tr.critic.heads(fake)
    want = (fs.mean() - rs.mean()).item() + tr.recipe.gp_lambda * want_gp.item() + _ce_loop(rl.detach(), y)
    torch.testing.assert_close(gp, want_gp.detach())
    assert d_loss.item() == pytest.approx(want, rel=1e-5)
    torch.testing.assert_close(w_estimate, (rs.mean() - fs.mean()).detach())


def test_generator_step_by_hand_leaves_the_critic_alone():
    tr = ACGANTrainer.from_recipe("acgan-gp-digits", "8gaussians", seed=1, width=16)
    critic_before = {k: v.clone() for k, v in tr.critic.state_dict().items()}
    generator_before = {k: v.clone() for k, v in tr.generator.state_dict().items()}
    state = tr.rng.get_state()
    g_loss = tr.generator_step(tr.recipe)
    for k, v in tr.critic.state_dict().items():
        torch.testing.assert_close(v, critic_before[k])
    tr.rng.set_state(state)
    tr.generator.load_state_dict(generator_before)
    y = tr.random_labels(tr.recipe.batch_size)
    scores, logits = tr.critic.heads(tr.generator(tr.noise(tr.recipe.batch_size), y))
    want = -scores.mean().item() + AC_GENERATOR * _ce_loop(logits.detach(), y)
    assert g_loss.item() == pytest.approx(want, rel=1e-5)


def test_trainer_runs_and_records_history():
    tr = ACGANTrainer.from_recipe("acgan-gp-digits", "digits", seed=0, width=16, batch_size=16)
    history = tr.train(3, progress=False)
    assert history["step"] == [1, 2, 3] and all(math.isfinite(v) for v in history["d_loss"])
    assert tr.sample(20).shape == (20, 1, 16, 16)


# Measured (1,200 steps, 100 images per class, the course's digits classifier): worst class / mean
# natively (AVX2): 0.96 / 0.99, 0.97 / 0.99, 0.89 / 0.97 on seeds 0-2; with ATEN_CPU_CAPABILITY=default:
# 0.96 / 0.98, 0.97 / 0.99, 0.84 / 0.96. The bar below leaves 0.04 on the worst class and 0.02 on the mean.
# The weakest class is mostly the 8, which the classifier itself reads correctly on 92.5% of held-out real 8s.
@pytest.mark.slow
@pytest.mark.training_outcome
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_acgan_reads_as_the_requested_digit(seed):
    from ganedu.conditional_train import class_labels, digits_class_accuracy
    tr = ACGANTrainer.from_recipe("acgan-gp-digits", "digits", seed=seed)
    tr.train(1200, progress=False)
    y = class_labels(10, 100)
    accuracy = digits_class_accuracy(tr.sample(len(y), y=y), y)
    assert min(accuracy) >= 0.80 and sum(accuracy) / 10 >= 0.94, accuracy
