"""Notebook 09's bug hunt: eight pieces of WGAN code, each with one real bug that people hit.

``BUGGY[name]`` is the piece with its bug; ``BUGS[name]`` says where it was hit (a public issue) and
what it looks like. :func:`short_run` plugs a piece into a small run and measures the symptom:

- ``penalty``, ``interpolate``, ``clip_update``, ``gp_update``, ``make_critic``, ``detach_update``:
  a critic trained alone for ``CRITIC_STEPS`` steps on fixed batches (real digits, fixed fakes), as
  in notebooks 03-05; the symptom is the critic's gradient norm at x̂ (1 when the penalty works),
  its largest weight (at most c under clipping) or the gradient that leaked into the generator.
- ``generator_loss``, ``generator_update``: the generator alone, ``GAN_STEPS`` SGD steps against a
  fixed linear critic; the symptom is the critic's mean score of the fakes (it must rise) and the
  size of the last step against the first (equal sizes without accumulated gradients).

The checks (``ganedu.lessons.exercises.nb09_bughunt``) probe the student's fix on random inputs
against ganedu's own functions and name the bug when it is still there; then they call short_run.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from ..checks import check_choice, check_int
from ..data import load_digits
from ..lipschitz import gradient_norms, gradient_penalty, interpolate
from ..losses import critic_loss_wasserstein, g_loss_wasserstein
from ..models import MLPGenerator

__all__ = ["BUGS", "BUGGY", "short_run", "image_critic", "CRITIC_STEPS"]

CRITIC_STEPS = 150
GAN_STEPS = 50

BUGS = {  # name -> (the bug, where people hit it)
    "penalty": ("the gradient's norm taken over dim=1 only: for images (B, C, H, W) that is a norm per pixel",
                "eriklindernoren/PyTorch-GAN #20; caogang/wgan-gp #25, #27, #47; Zeleni9/pytorch-wgan #40"),
    "interpolate": ("one ε for the whole batch: every x̂ sits at the same fraction of its segment",
                    "hwalsuklee/tensorflow-generative-model-collections #33"),
    "clip_update": ("the weights clipped before the optimiser's step: the step pushes them past c again",
                    "martinarjovsky/WassersteinGAN #50"),
    "gp_update": ("the gradient penalty computed but never added to the critic's loss",
                  "junyanz/pytorch-CycleGAN-and-pix2pix #1201"),
    "detach_update": ("G(z) not detached in the critic's step: the critic's loss sends gradients into G",
                      "pytorch/examples DCGAN (fake.detach()); a frequent forum question"),
    "make_critic": ("BatchNorm in a gradient-penalised critic: each score depends on the rest of the batch",
                    "Gulrajani et al. 2017, §4 (no critic batch normalization); igul222/improved_wgan_training"),
    "generator_loss": ("the generator's loss with the wrong sign: G runs away from the data",
                       "the sign flip of E C(G(z)), e.g. martinarjovsky/WassersteinGAN's one/mone backward"),
    "generator_update": ("no zero_grad before backward: gradients pile up over the steps",
                         "pytorch forums, 'why do we need optimizer.zero_grad()'"),
}


# ---- the buggy pieces (what the student is given) --------------------------------------------
def penalty(critic, real, fake):
    """E[(||∇C(x̂)|| - 1)²] — with the norm bug."""
    eps = torch.rand(real.shape[0], *[1] * (real.dim() - 1))
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()  # BUG: dim=1 of a 4-D gradient


def interpolate_shared(real, fake):
    """x̂ = ε real + (1 - ε) fake — with the shared ε bug."""
    eps = torch.rand(1)  # BUG: one ε for the whole batch
    return eps * real + (1 - eps) * fake


def clip_update(critic, optimizer, real, fake, c):
    """One WGAN critic update with weight clipping — clipped at the wrong moment."""
    loss = critic_loss_wasserstein(critic(real), critic(fake))
    optimizer.zero_grad()
    loss.backward()
    for p in critic.parameters():  # BUG: clipped before the step
        p.data.clamp_(-c, c)
    optimizer.step()
    return loss.detach()


def gp_update(critic, optimizer, real, fake, gp_lambda):
    """One WGAN-GP critic update — the penalty is never applied."""
    loss = critic_loss_wasserstein(critic(real), critic(fake))
    gp = gradient_penalty(critic, real, fake)
    loss_total = loss + gp_lambda * gp  # noqa: F841 (the bug: computed, then not used)
    optimizer.zero_grad()
    loss.backward()  # BUG: backward of the loss without the penalty
    optimizer.step()
    return loss.detach()


def detach_update(critic, optimizer, real, fake):
    """One critic update on a batch G(z) that still carries G's graph — not detached."""
    loss = critic_loss_wasserstein(critic(real), critic(fake))  # BUG: fake, not fake.detach()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()


def make_critic_bn(in_dim=256):
    """The critic for a gradient penalty — with BatchNorm."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_dim, 64), nn.BatchNorm1d(64), nn.ReLU(),  # BUG: BatchNorm
                         nn.Linear(64, 1), nn.Flatten(0))


def generator_loss(fake_scores):
    """The WGAN generator's loss — with the sign flipped."""
    return fake_scores.mean()  # BUG: the generator minimises -E C(G(z))


def generator_update(generator, critic, optimizer, z):
    """One generator update — without zero_grad."""
    loss = g_loss_wasserstein(critic(generator(z)))
    loss.backward()  # BUG: no optimizer.zero_grad() first: this step's gradient adds to the last ones
    optimizer.step()
    return loss.detach()


BUGGY = {"penalty": penalty, "interpolate": interpolate_shared, "clip_update": clip_update, "gp_update": gp_update,
         "detach_update": detach_update, "make_critic": make_critic_bn, "generator_loss": generator_loss,
         "generator_update": generator_update}


# ---- the short runs --------------------------------------------------------------------------
def image_critic(in_dim=256, seed=0):
    """A small MLP critic for 16x16 digits, (B, 1, 16, 16) -> (B,)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(in_dim, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                         nn.Linear(64, 1), nn.Flatten(0))


def _batches(seed):
    real = load_digits(16)[0][:256]
    g = torch.Generator().manual_seed(seed)
    fake = (torch.rand(256, 1, 16, 16, generator=g) * 2 - 1) * 0.5  # fixed "generated" images: noise
    return real, fake


def _norm_at_interpolates(critic, real, fake, seed):
    eps = torch.rand(real.shape[0], generator=torch.Generator().manual_seed(seed + 1))
    x_hat = interpolate(real, fake, eps=eps).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    return float(gradient_norms(grad).mean())


def _critic_run(name, piece, seed, steps):
    real, fake = _batches(seed)
    critic = piece() if name == "make_critic" else image_critic(seed=seed)
    opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    generator = nn.Linear(4, 256)  # only for detach_update: a generator whose gradients we watch
    leaked = 0.0
    for _ in range(steps):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=torch.Generator().manual_seed(seed + _))))
        if name == "penalty":
            loss = critic_loss_wasserstein(critic(real), critic(fake)) + 10 * piece(critic, real, fake)
        elif name in ("interpolate", "make_critic"):
            interp = piece if name == "interpolate" else interpolate
            x_hat = interp(real, fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
            loss = critic_loss_wasserstein(critic(real), critic(fake)) + 10 * ((gradient_norms(grad) - 1) ** 2).mean()
        if name in ("penalty", "interpolate", "make_critic"):
            opt.zero_grad()
            loss.backward()
            opt.step()
        elif name == "clip_update":
            piece(critic, opt, real, fake, 0.01)
        elif name == "gp_update":
            piece(critic, opt, real, fake, 10.0)
        elif name == "detach_update":
            generator.zero_grad()
            g_fake = generator(torch.randn(256, 4)).reshape(256, 1, 16, 16)
            piece(critic, opt, real, g_fake)
            leaked = max(leaked, sum(float(p.grad.abs().sum()) for p in generator.parameters() if p.grad is not None))
    return dict(grad_norm=_norm_at_interpolates(critic, real, fake, seed),
                max_weight=max(float(p.detach().abs().max()) for p in critic.parameters()), leaked=leaked)


def _generator_run(name, piece, seed, steps):
    """The generator alone against a fixed linear critic C(x) = x . (1, 0.5), with SGD on one batch of z."""
    torch.manual_seed(seed)
    generator = MLPGenerator(width=32, depth=2)
    critic = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    with torch.no_grad():
        critic[0].weight.copy_(torch.tensor([[1.0, 0.5]]))
        critic[0].bias.zero_()
    critic.requires_grad_(False)
    opt = torch.optim.SGD(generator.parameters(), lr=1e-3)
    z = torch.randn(256, 2, generator=torch.Generator().manual_seed(seed))

    def weights():
        return torch.cat([p.detach().flatten() for p in generator.parameters()])

    with torch.no_grad():
        before = float(critic(generator(z)).mean())
    moves = []
    for _ in range(steps):
        w = weights()
        if name == "generator_loss":
            opt.zero_grad()
            piece(critic(generator(z))).backward()
            opt.step()
        else:
            piece(generator, critic, opt, z)
        moves.append(float((weights() - w).norm()))
    with torch.no_grad():
        after = float(critic(generator(z)).mean())
    return dict(score_before=before, score_after=after, first_move=moves[0], last_move=moves[-1])


def short_run(name: str, piece, seed: int = 0, steps: int | None = None) -> dict:
    """Train with ``piece`` in the place of ``name``; returns the symptom's numbers."""
    name = check_choice("name", name, tuple(BUGS))
    seed = check_int("seed", seed, min=0)
    with torch.random.fork_rng(devices=[]):
        if name in ("generator_loss", "generator_update"):
            return _generator_run(name, piece, seed, steps or GAN_STEPS)
        return _critic_run(name, piece, seed, steps or CRITIC_STEPS)


def fresh(module):
    """A deep copy (the probes never touch the student's own objects)."""
    return copy.deepcopy(module)
