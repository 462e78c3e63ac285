r"""The auxiliary-classifier GAN (AC-GAN, Odena et al. 2017): the critic also *classifies*.

The third way to condition (after concatenation and projection, ``ganedu.conditional``): the critic
does not take the label at all. It has two heads on shared features :math:`\phi(x)`: the score
:math:`D(x) = \psi(\phi(x))` and class logits :math:`c(x) = W\phi(x) + b` (a classifier over K classes).
Both players add a cross-entropy term to their adversarial loss (Odena et al. 2017, §3, with the
WGAN-GP critic of Gulrajani et al. 2017 in place of the sigmoid source head, as their supervised
CIFAR-10 model does):

.. math::
    L_D &= \ell_D\bigl(D(x), D(\tilde x)\bigr) + \lambda\,\mathrm{GP}
          + \alpha_{\text{real}}\,\mathrm{CE}\bigl(c(x), y\bigr) + \alpha_{\text{fake}}\,\mathrm{CE}\bigl(c(\tilde x), y\bigr),\\
    L_G &= \ell_G\bigl(D(\tilde x)\bigr) + \alpha_G\,\mathrm{CE}\bigl(c(\tilde x), y\bigr),\qquad \tilde x = G(z, y),

with :math:`\mathrm{CE}(c, y) = -\frac1B\sum_i \log \mathrm{softmax}(c_i)_{y_i}`. Odena et al. weigh every term
equally and train the classifier on real and fake samples (:math:`\alpha_{\text{real}} = \alpha_{\text{fake}} = \alpha_G = 1`);
the WGAN-GP code (``gan_cifar_resnet.py``) uses real samples only (:math:`\alpha_{\text{fake}} = 0`) and
:math:`\alpha_G = 0.1`. The defaults here take the real-only classifier of the WGAN-GP code and Odena's
:math:`\alpha_G = 1`. Measured on the 16x16 digits at notebook 08's budget (``acgan-gp-digits``, 1,200 steps, seed 0,
worst / mean per-class accuracy by the course's classifier): these defaults 0.96 / 0.99; with :math:`\alpha_G = 0.1`
0.35 / 0.61 (the class signal is too weak for a short run); with :math:`\alpha_{\text{fake}} = 1` too 0.73 / 0.92
(a classifier trained on the fakes also learns to read the generator's class cues, not only the digit's).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_choice, check_number, check_tensor
from .conditional import CRITICS, _features_and_score, _flatten_x, _spectral_features_and_score, check_labels
from .conditional_train import ConditionalTrainer
from .lipschitz import clip_weights_, gradient_penalty, interpolate_gradient_norms, penalty_from_norms
from .updates import DIAGNOSE_SAMPLES, _loss_pair, frozen

__all__ = ["ACCritic", "class_cross_entropy", "acgan_critic_loss", "acgan_generator_loss", "ACGANTrainer",
           "conditional_trainer", "AC_REAL", "AC_FAKE", "AC_GENERATOR"]

#: the cross-entropy weights α_real, α_fake, α_G: the WGAN-GP code's real-only classifier, Odena et al.'s α_G = 1
AC_REAL, AC_FAKE, AC_GENERATOR = 1.0, 0.0, 1.0


class ACCritic(nn.Module):
    r"""A critic with an auxiliary classifier: score :math:`D(x) = \psi(\phi(x))`, logits :math:`c(x) = W\phi(x) + b`.

    ``forward(x, y)`` returns the score only and ignores ``y`` (after checking it): the AC-GAN critic
    does not see the label, so ``Conditioned(critic, y)`` and the conditional gradient penalty work on it
    unchanged (the penalty constrains the score, not the classifier). ``heads(x)`` returns both.

    Args:
        n_classes, in_dim, width, depth, activation: as ``ganedu.conditional.ProjectionCritic``.
        norm: ``"none"``, ``"layer"`` or ``"spectral"`` (φ and ψ: the score's path, not the classifier).
    """

    def __init__(self, n_classes=10, in_dim=2, width=512, depth=3, activation="relu", norm="none"):
        super().__init__()
        _features_and_score(self, n_classes, in_dim, width, depth, activation, norm)  # φ and the score head ψ
        self.classifier = nn.Linear(width, n_classes)                       # the auxiliary head
        if norm == "spectral":
            _spectral_features_and_score(self)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scores (B,), logits (B, K))`` from one pass through the shared features."""
        features = self.phi(_flatten_x("ACCritic", self, x))                # φ(x): (B, width)
        return self.psi(features).squeeze(-1), self.classifier(features)    # (B,), (B, K)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        scores = self.heads(x)[0]                                           # (B,): y is not an input
        check_labels("y", y, self.n_classes, batch=x.shape[0])
        return scores


def class_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathrm{CE}(c, y) = -\frac1B\sum_i \log\frac{e^{c_{i,y_i}}}{\sum_k e^{c_{i,k}}}`, the classifier's loss.

    Args:
        logits: ``(B, K)`` class logits; y: ``(B,)`` class indices.
    """
    check_tensor("logits", logits, ndim=2, floating=True)
    check_labels("y", y, logits.shape[1], batch=logits.shape[0])
    return F.cross_entropy(logits, y)


def acgan_critic_loss(real_scores, fake_scores, real_logits, fake_logits, y, *, loss="wasserstein",
                      real_weight=AC_REAL, fake_weight=AC_FAKE) -> torch.Tensor:
    r""":math:`\ell_D(D(x), D(\tilde x)) + \alpha_{\text{real}}\mathrm{CE}(c(x), y) + \alpha_{\text{fake}}\mathrm{CE}(c(\tilde x), y)`.

    Odena et al. 2017, §3 (the critic maximises :math:`L_S + L_C`; here :math:`L_S` is the recipe's loss).
    Without the penalty, which the trainer adds.

    Args:
        real_scores, fake_scores: ``(B,)``; real_logits, fake_logits: ``(B, K)``; y: ``(B,)`` the labels of
            the real batch, which the fakes were generated for.
        loss: a key of ``ganedu.losses.LOSSES`` (its critic half is :math:`\ell_D`).
        real_weight, fake_weight: :math:`\alpha_{\text{real}}, \alpha_{\text{fake}} \ge 0`.
    """
    check_number("real_weight", real_weight, ge=0)
    check_number("fake_weight", fake_weight, ge=0)
    adversarial = _loss_pair(loss)[0](real_scores, fake_scores)
    return (adversarial + real_weight * class_cross_entropy(real_logits, y)
            + fake_weight * class_cross_entropy(fake_logits, y))


def acgan_generator_loss(fake_scores, fake_logits, y, *, loss="wasserstein", weight=AC_GENERATOR) -> torch.Tensor:
    r""":math:`\ell_G(D(\tilde x)) + \alpha_G\,\mathrm{CE}(c(\tilde x), y)`: fool the score, and be read as the class asked for.

    Odena et al. 2017, §3 (the generator maximises :math:`L_C - L_S`).

    Args:
        fake_scores: ``(B,)``; fake_logits: ``(B, K)``; y: ``(B,)`` the classes requested.
        loss: a key of ``ganedu.losses.LOSSES`` (its generator half is :math:`\ell_G`); weight: :math:`\alpha_G \ge 0`.
    """
    check_number("weight", weight, ge=0)
    return _loss_pair(loss)[1](fake_scores) + weight * class_cross_entropy(fake_logits, y)


class ACGANTrainer(ConditionalTrainer):
    """The :class:`~ganedu.conditional_train.ConditionalTrainer` with the AC-GAN losses.

    The same batches and schedule; the critic is an :class:`ACCritic` and each update adds its
    cross-entropy terms (weights ``real_weight``, ``fake_weight``, ``generator_weight``, attributes).
    """

    real_weight, fake_weight, generator_weight = AC_REAL, AC_FAKE, AC_GENERATOR
    critics = {"auxiliary": ACCritic}

    def __init__(self, recipe, generator, critic, data, **kwargs):
        if not isinstance(critic, ACCritic):
            raise TypeError(f"critic must be an ACCritic (a score head and a classifier head), got {type(critic).__name__}")
        super().__init__(recipe, generator, critic, data, **kwargs)

    @classmethod
    def from_recipe(cls, recipe="acgan-gp-digits", data="digits", *, critic="auxiliary", **kwargs):
        """As ``ConditionalTrainer.from_recipe``, with an :class:`ACCritic` (``critic`` must be ``"auxiliary"``)."""
        return super().from_recipe(recipe, data, critic=critic, **kwargs)

    def critic_step(self, recipe, diagnose: bool = True):
        """One critic update: adversarial loss + λ GP (x only) + the classifier's cross-entropy."""
        real, y = self.next_labelled(recipe.batch_size)                    # (x, y) ~ P_r
        with torch.no_grad():
            fake = self.generator(self.noise(recipe.batch_size), y)        # G(z, y)
        # forward: both heads, the loss, the penalty on the score
        (real_scores, real_logits), (fake_scores, fake_logits) = self.critic.heads(real), self.critic.heads(fake)
        loss_c = acgan_critic_loss(real_scores, fake_scores, real_logits, fake_logits, y, loss=recipe.loss,
                                   real_weight=self.real_weight, fake_weight=self.fake_weight)
        score = lambda x: self.critic.heads(x)[0]                          # x -> D(x), the penalised head
        gp = norms = torch.zeros((), device=real.device)
        if recipe.gp_lambda > 0:
            gp, norms = gradient_penalty(score, real, fake, one_sided=recipe.one_sided, generator=self.rng,
                                         return_norms=True)
            loss_c = loss_c + recipe.gp_lambda * gp
        elif diagnose:
            norms = interpolate_gradient_norms(score, real, fake, generator=self.rng, max_samples=DIAGNOSE_SAMPLES)
            gp = penalty_from_norms(norms, one_sided=recipe.one_sided)
        # backward, update, constraint
        self.opt_critic.zero_grad(set_to_none=True)
        loss_c.backward()
        self.opt_critic.step()
        if recipe.clip is not None:
            clip_weights_(self.critic, recipe.clip)
        w_estimate = real_scores.mean() - fake_scores.mean()
        return loss_c.detach(), w_estimate.detach(), gp.detach(), norms.detach().mean()

    def generator_step(self, recipe) -> torch.Tensor:
        """One generator update: fool the score head and be classified as the requested y ~ U{0..K-1}."""
        y = self.random_labels(recipe.batch_size)
        with frozen(self.critic):
            # forward
            fake_scores, fake_logits = self.critic.heads(self.generator(self.noise(recipe.batch_size), y))
            loss_g = acgan_generator_loss(fake_scores, fake_logits, y, loss=recipe.loss, weight=self.generator_weight)
            # backward
            self.opt_generator.zero_grad(set_to_none=True)
            loss_g.backward()
        # update
        self.opt_generator.step()
        return loss_g.detach()


def conditional_trainer(recipe, data, *, critic="concat", **kwargs) -> ConditionalTrainer:
    """``ConditionalTrainer.from_recipe`` for ``critic`` ``"concat"`` / ``"projection"``, ``ACGANTrainer``'s
    for ``"auxiliary"``: one call for every way of conditioning (the CLI and the notebook 08 record)."""
    check_choice("critic", critic, (*CRITICS, *ACGANTrainer.critics))
    trainer_class = ACGANTrainer if critic in ACGANTrainer.critics else ConditionalTrainer
    return trainer_class.from_recipe(recipe, data, critic=critic, **kwargs)
