r"""Checks for notebook 08 (conditional and controllable generation), three exercises.

1. ``check_projection_critic(projection_critic)``: ``projection_critic(phi, psi, embed, x, y) -> (B,)``,
   :math:`D(x, y) = \psi(\phi(x)) + V_y^\top \phi(x)` (Miyato & Koyama 2018, §3).
2. ``check_conditional_penalty(conditional_penalty)``: ``conditional_penalty(critic, real, fake, labels)``,
   :math:`\mathbb{E}(\|\nabla_{\hat x} D(\hat x, y)\|_2 - 1)^2` with x̂ mixed per sample and the one-hot
   ``labels`` passed to the critic unchanged (the label is not interpolated, and not differentiated).
3. ``check_classifier_step(classifier_step)``: ``classifier_step(z, generator, classifier, target, alpha)``,
   :math:`z + \alpha \nabla_z \log p(t \mid G(z))` for every code of the batch.

Each runs the student's function on small random networks, compares with a reference computed here
(sample by sample where it matters) and names the known mistakes without printing the solution.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .core import report, run_student
from .nb05_penalty import _call, _eps_problem, _mixing_weights, _pairs

__all__ = ["check_projection_critic", "check_conditional_penalty", "check_classifier_step"]

_TOL = dict(rtol=1e-4, atol=1e-5)


def _seeded(module: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return module


# =========================================================================== 1. projection critic
def check_projection_critic(projection_critic) -> bool:
    r"""Check ``projection_critic(phi, psi, embed, x, y)`` = :math:`\psi(\phi(x)) + V_y \cdot \phi(x)`, shape ``(B,)``."""
    name = "projection_critic"
    K, d_in, width, B = 5, 3, 8, 16
    phi = _seeded(nn.Sequential(nn.Linear(d_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU()), 0)
    psi, embed = _seeded(nn.Linear(width, 1), 1), _seeded(nn.Embedding(K, width), 2)
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(B, d_in, generator=g), torch.randint(K, (B,), generator=g)
    out, err = _call(name, projection_critic, phi, psi, embed, x, y)
    if err:
        return report(name, False, err + f" (x had shape {(B, d_in)}, y shape {(B,)}, φ(x) shape {(B, width)}).")
    if not isinstance(out, torch.Tensor):
        return report(name, False, f"return the scores as a tensor, got {type(out).__name__}.")
    # reference, one sample at a time
    want = torch.stack([psi(phi(xi))[0] + embed.weight[yi] @ phi(xi) for xi, yi in zip(x, y)]).detach()
    features = phi(x).detach()
    unconditional = psi(features).squeeze(1).detach()
    projection = (embed.weight[y] * features).sum(1).detach()
    if tuple(out.shape) == (B, B):
        return report(name, False, f"the scores have shape {(B, B)}: you paired every label with every sample. "
                                   "Each sample needs one inner product, its own V_y with its own φ(x).")
    if tuple(out.shape) == (B, 1):
        return report(name, False, f"the scores have shape {(B, 1)}; a critic returns one number per sample, "
                                   f"shape {(B,)}.")
    if tuple(out.shape) != (B,):
        return report(name, False, f"the scores should have shape {(B,)} (one per sample), got {tuple(out.shape)}.")
    got = out.detach()
    if torch.allclose(got, want, **_TOL):
        pass
    elif torch.allclose(got, projection, **_TOL):
        return report(name, False, "only the projection term V_y·φ(x) is there: the unconditional term ψ(φ(x)) "
                                   "(how real x looks, whatever its class) is missing.")
    elif torch.allclose(got, unconditional, **_TOL):
        return report(name, False, "the scores do not depend on the label: the projection term V_y·φ(x) is "
                                   "missing, so this critic cannot tell a right class from a wrong one.")
    elif torch.allclose(got, unconditional - projection, **_TOL):
        return report(name, False, "the projection term has the wrong sign: the two terms are added.")
    else:
        return report(name, False, "the scores differ from ψ(φ(x)) + V_y·φ(x) computed sample by sample. "
                                   "Is V_y the embedding row of the sample's own class, multiplied with the "
                                   "features φ(x) (not with x)?")
    if not out.requires_grad:
        return report(name, False, "the values are right but detached: the critic could not be trained "
                                   "through them. Stay in torch operations.")
    params = list(phi.parameters()) + list(psi.parameters()) + list(embed.parameters())
    grads = torch.autograd.grad(out.sum(), params, allow_unused=True, materialize_grads=True)
    if not grads[-1].abs().sum() > 0:
        return report(name, False, "the embedding gets no gradient: use embed(y) (or embed.weight[y]) "
                                   "inside the computation.")
    return report(name, True, "ψ(φ(x)) + V_y·φ(x), one score per sample, differentiable in φ, ψ and V.")


# =========================================================================== 2. conditional penalty
class _LabelCritic(nn.Module):
    """D(x, c) = MLP([x, c]) for one-hot rows c; records every (x, c) it is called with."""

    def __init__(self, d_in: int, n_classes: int, seed: int):
        super().__init__()
        self.net = _seeded(nn.Sequential(nn.Linear(d_in + n_classes, 16), nn.Tanh(), nn.Linear(16, 1)), seed)
        self.calls = []

    def forward(self, x, c):
        self.calls.append((x, c))
        return self.net(torch.cat([x.reshape(x.shape[0], -1), c], 1)).squeeze(1)


def _penalty_reference(critic, x_hat, labels):
    """Per-sample loop: (1/B) Σ_i (||∇_x D(x̂_i, c_i)|| - 1)², the label held fixed."""
    terms = []
    for xi, ci in zip(x_hat.detach(), labels):
        xi = xi.clone().requires_grad_(True)
        (gi,) = torch.autograd.grad(critic.net(torch.cat([xi.reshape(1, -1), ci[None]], 1)).sum(), xi)
        terms.append((gi.norm() - 1) ** 2)
    return torch.stack(terms).mean()


def check_conditional_penalty(conditional_penalty) -> bool:
    r"""Check ``conditional_penalty(critic, real, fake, labels)``: ε per sample on x, labels unchanged."""
    name = "conditional_penalty"
    K = 4
    for shape in ((256, 2), (64, 1, 3, 3)):
        real, fake = _pairs(shape, seed=sum(shape))
        labels = F.one_hot(torch.randint(K, (shape[0],), generator=torch.Generator().manual_seed(1)), K).float()
        d_in = real[0].numel()
        critic = _LabelCritic(d_in, K, seed=len(shape))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(len(shape))
            out, err = _call(name, conditional_penalty, critic, real.clone(), fake.clone(), labels.clone())
        if err:
            return report(name, False, err + f" (real and fake had shape {tuple(shape)}, labels {tuple(labels.shape)}).")
        if not isinstance(out, torch.Tensor) or out.numel() != 1:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            return report(name, False, f"return the penalty as one number (a 0-d tensor), got {got}.")
        calls = [(x, c) for x, c in critic.calls if tuple(x.shape) == tuple(shape)]
        if not calls:
            return report(name, False, "your function never called the critic on a batch of mixed samples.")
        x_hat, c_seen = calls[-1]
        if not torch.equal(c_seen.detach(), labels):
            mixed = ((c_seen.detach() > 0) & (c_seen.detach() < 1)).any()
            return report(name, False, ("the critic got mixed labels, not one-hot rows: " if mixed else
                                        "the critic got other labels than the samples': ") +
                          "the label is the condition, not a point on the segment. Interpolate the samples "
                          "only and pass the labels as they are.")
        problem = _eps_problem(_mixing_weights(x_hat, real, fake), True)
        if problem:
            return report(name, False, problem)
        want = _penalty_reference(critic, x_hat, labels)
        value = out.detach().reshape(())
        if not torch.allclose(value, want.detach(), **_TOL):
            with_label = _penalty_with_label_gradient(critic, x_hat, labels)
            if torch.allclose(value, with_label, **_TOL):
                return report(name, False, "the norm includes the gradient with respect to the label: the "
                                           "Lipschitz constraint is on x ↦ D(x, y) for each fixed y. "
                                           "Differentiate with respect to x̂ only.")
            return report(name, False, f"the value {float(value):.5f} differs from the expected {float(want):.5f}: "
                                       "per sample, (‖∇ D(x̂, y)‖ − 1)² with the norm over all of x̂'s dims, "
                                       "averaged over the batch, without λ.")
        if not out.requires_grad:
            return report(name, False, "the value is right but cannot train the critic: keep the graph of the "
                                       "input gradient (create_graph=True) and stay in torch operations.")
    return report(name, True, "x̂ mixed with one ε ~ U[0, 1] per sample, the labels passed unchanged, the norm "
                              "of ∇ D(x̂, y) with respect to x̂ per sample, differentiable.")


def _penalty_with_label_gradient(critic, x_hat, labels):
    """The bug: the norm of the gradient wrt (x̂, label) together."""
    x = x_hat.detach().clone().requires_grad_(True)
    c = labels.clone().requires_grad_(True)
    gx, gc = torch.autograd.grad(critic.net(torch.cat([x.reshape(x.shape[0], -1), c], 1)).sum(), (x, c))
    norms = torch.cat([gx.reshape(len(x), -1), gc], 1).norm(dim=1)
    return ((norms - 1) ** 2).mean().detach()


# =========================================================================== 3. classifier step
def check_classifier_step(classifier_step) -> bool:
    r"""Check ``classifier_step(z, generator, classifier, target, alpha)`` = :math:`z + \alpha\nabla_z \log p(t \mid G(z))`."""
    name = "classifier_step"
    B, z_dim, K = 32, 6, 4
    generator = _seeded(nn.Sequential(nn.Linear(z_dim, 12), nn.Tanh(), nn.Linear(12, 9)), 4)
    classifier = _seeded(nn.Sequential(nn.Linear(9, 12), nn.Tanh(), nn.Linear(12, K)), 5)
    g = torch.Generator().manual_seed(6)
    z, target, alpha = torch.randn(B, z_dim, generator=g), torch.randint(K, (B,), generator=g), 0.3
    z_given = z.clone()
    params_before = [p.detach().clone() for p in list(generator.parameters()) + list(classifier.parameters())]
    out, err = _call(name, classifier_step, z, generator, classifier, target, alpha)
    if err:
        return report(name, False, err + f" (z had shape {(B, z_dim)}).")
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (B, z_dim):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return report(name, False, f"return the new codes, shape {(B, z_dim)}, got {got}.")
    if not torch.equal(z, z_given):
        return report(name, False, "the z you were given was changed in place; return new codes instead.")
    if any(not torch.equal(a, b.detach()) for a, b in
           zip(params_before, list(generator.parameters()) + list(classifier.parameters()))):
        return report(name, False, "the generator's or the classifier's weights changed: only z moves.")

    def step_of(objective):
        zz = z.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(objective(classifier(generator(zz))).sum(), zz)
        return (z + alpha * grad).detach()

    log_p = lambda logits: torch.log_softmax(logits, 1).gather(1, target[:, None]).squeeze(1)
    want = step_of(log_p)
    got = out.detach()
    if torch.allclose(got, want, **_TOL):
        return report(name, True, "each code moved by α times the gradient of its own log p(target | G(z)).")
    wrong = {
        "the codes moved downhill: the step goes *up* the log-probability of the target (add α·∇).":
            (2 * z - want),
        "every code moved by 1/B of its gradient: differentiate the sum of the log-probabilities (each code's "
        "term depends on that code only), not their mean.": z + (want - z) / B,
        "this climbs the target's raw logit, not its log-probability: log p(t | x) also subtracts the "
        "log-sum-exp of all the logits (log_softmax), which pushes the *other* classes down.":
            step_of(lambda logits: logits.gather(1, target[:, None]).squeeze(1)),
        "this climbs the probability p(t | x), not its log: the gradient vanishes where p is small, exactly "
        "where the code most needs to move.":
            step_of(lambda logits: torch.softmax(logits, 1).gather(1, target[:, None]).squeeze(1)),
    }
    for message, candidate in wrong.items():
        if torch.allclose(got, candidate, **_TOL):
            return report(name, False, message)
    return report(name, False, "the new codes differ from z + α ∇_z log p(target | G(z)) computed for each code.")
