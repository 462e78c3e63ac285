r"""K networks as one: the vectorised pieces of :mod:`ganedu.scale.population`.

Member k of a population keeps its own ``MLPGenerator`` / ``MLPCritic``. Every step stacks the
members' layers and applies all K at once, one ``torch.baddbmm`` per layer:

.. math::  W \in \mathbb{R}^{K \times \text{out} \times \text{in}},\qquad
           y_k = b_k + x_k W_k^\top \quad \text{for every member } k.

A :class:`Group` runs the Trainer's step (``ganedu.train.Trainer.step``) for members that share the
shape of their computation and their optimiser's settings. The loss it minimises is
:math:`\sum_k L_k`: member k's loss depends on member k's weights only, so each member gets exactly
its own gradient; torch's Adam or RMSprop on the stacked weights updates each weight on its own,
so it is one optimiser per member; each member has its own λ, clip value and one-sidedness.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..data import sample_toy
from ..lipschitz import (SpectralNormParam, gradient_norms, input_gradient, interpolate, penalty_from_norms,
                         power_iteration)
from ..losses import LOSSES
from ..updates import DIAGNOSE_SAMPLES, frozen, make_optimizer, set_lr

__all__ = ["StackedMLP", "member_penalties", "HostStreams", "DeviceStream", "Group"]

ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.ELU)  # elementwise: the same module serves K members


# ------------------------------------------------------------------------- K networks as one
class StackedMLP(nn.Module):
    r"""K MLPs of one layout run as one network: input ``(K, B, in)`` -> output ``(K, B, out)``.

    Per Linear layer the members' weights are stacked into one parameter, :math:`W` ``(K, out, in)``,
    :math:`b` ``(K, out)``, and :math:`y_k = b_k + x_k W_k^\top` is one ``torch.baddbmm``. These
    stacked tensors are what the optimiser updates (an elementwise optimiser on them is K separate
    optimisers); :meth:`write_to` copies member k's slice back into its own ``MLPGenerator`` /
    ``MLPCritic``.

    A layer under ``ganedu.lipschitz.spectral_norm`` is stacked too: its unnormalised weights
    ``(K, out, in)`` and its power-iteration vectors ``u`` ``(K, out)``; every forward pass in
    training mode runs ``lipschitz.power_iteration`` for all K members at once (``torch.vmap``)
    and uses :math:`W_k / \sigma(W_k)`, exactly as each member's own layer would.
    """

    def __init__(self, nets):
        super().__init__()
        self.stacked, self.kinds, self.sn = nn.ParameterList(), [], []
        for layer_k in zip(*(net.net for net in nets)):          # layer i of every member
            if isinstance(layer_k[0], nn.Linear):
                norm = _spectral_norm_of(layer_k[0])
                for name in ("weight", "bias"):                   # (K, out, in) and (K, out)
                    self.stacked.append(nn.Parameter(torch.stack([_own(l, name).detach() for l in layer_k])))
                if norm is not None:                              # u (K, out), one vector per member
                    self.register_buffer(f"u{len(self.sn)}", torch.stack([_spectral_norm_of(l).u for l in layer_k]))
                    self.sn.append((norm.n_power_iterations, norm.eps))
                self.kinds.append("linear" if norm is None else len(self.sn) - 1)
            elif isinstance(layer_k[0], ACTIVATIONS):
                self.kinds.append(layer_k[0])                     # an activation, elementwise
            else:
                raise ValueError(f"StackedMLP stacks Linear layers and elementwise activations, got "
                                 f"{type(layer_k[0]).__name__} (normalisation layers are per member)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = iter(self.stacked)
        for kind in self.kinds:
            if isinstance(kind, nn.Module):
                x = kind(x)                                       # an activation
                continue
            W, b = next(params), next(params)
            if kind != "linear":                                  # spectral norm: W_k / sigma(W_k)
                W = W / self._sigma(kind, W).view(-1, 1, 1)
            x = torch.baddbmm(b.unsqueeze(1), x, W.transpose(1, 2))  # (K, B, out) = b + x Wᵀ
        return x

    def _sigma(self, i: int, W: torch.Tensor) -> torch.Tensor:
        """σ(W_k) for every member (K,), by ``lipschitz.power_iteration``; in training mode u moves."""
        n_iter, eps = self.sn[i]
        u = getattr(self, f"u{i}")
        sigma, u_new = torch.vmap(lambda w, v: power_iteration(w, v, n_iter=n_iter if self.training else 0,
                                                                eps=eps))(W, u)
        if self.training:
            with torch.no_grad():
                u.copy_(u_new)
        return sigma

    def state_tensors(self) -> list:
        """Every stacked tensor with a member axis first: the weights and biases, then the vectors u."""
        return [*self.stacked, *(getattr(self, f"u{i}") for i in range(len(self.sn)))]

    def keep(self, rows: list):
        """Keep only the members at ``rows`` in the vectors u (the weights are the optimiser's: see Group.drop)."""
        for i in range(len(self.sn)):
            setattr(self, f"u{i}", getattr(self, f"u{i}")[rows].clone())

    @staticmethod
    def member_tensors(net) -> list:
        """A member's own tensors in :meth:`state_tensors` order (its unnormalised weights, biases, u's)."""
        linears = [layer for layer in net.net if isinstance(layer, nn.Linear)]
        own = [_own(layer, name) for layer in linears for name in ("weight", "bias")]
        return own + [_spectral_norm_of(layer).u for layer in linears if _spectral_norm_of(layer) is not None]

    @torch.no_grad()
    def write_to(self, nets):
        """Copy slice k of every stacked tensor into ``nets[k]`` (its own Linear layers)."""
        for k, net in enumerate(nets):
            for mine, theirs in zip(self.member_tensors(net), self.state_tensors(), strict=True):
                mine.copy_(theirs[k])

    @torch.no_grad()
    def clamp_(self, c: torch.Tensor):
        """Member k's weights into :math:`[-c_k, c_k]` (WGAN's clipping, one c per member; inf: none)."""
        for p in self.stacked:
            bound = c.view(-1, *[1] * (p.ndim - 1))               # (K, 1, ...)
            p.copy_(torch.maximum(torch.minimum(p, bound), -bound))


def _spectral_norm_of(layer: nn.Module):
    """The ``lipschitz.SpectralNormParam`` on ``layer.weight``, or None."""
    if not parametrize.is_parametrized(layer, "weight"):
        return None
    norms = [p for p in layer.parametrizations.weight if isinstance(p, SpectralNormParam)]
    if len(norms) != 1 or len(layer.parametrizations.weight) != 1:
        raise ValueError("StackedMLP stacks plain Linear layers or ganedu.lipschitz.spectral_norm ones, got "
                         f"parametrisations {[type(p).__name__ for p in layer.parametrizations.weight]}")
    return norms[0]


def _own(layer: nn.Module, name: str) -> torch.Tensor:
    """The layer's stored tensor: the unnormalised weight under spectral norm, else the parameter."""
    if name == "weight" and parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original
    return getattr(layer, name)


def member_penalties(critic, x_hat: torch.Tensor, one_sided: torch.Tensor, *, any_one_sided: bool = True,
                     create_graph: bool = True):
    r"""Per member k: :math:`\mathrm{GP}_k = \frac1B \sum_i (\|\nabla_{\hat x} C_k(\hat x_{ki})\|_2 - 1)^2`.

    Gulrajani et al. 2017, Eq. 3, per member and **per sample**: the K·B points are one batch for
    ``lipschitz.input_gradient`` (each score depends on its own point only), then
    ``gradient_norms`` per sample and ``penalty_from_norms`` per member (one-sided where ``one_sided[k]``).

    Args:
        critic: ``(K, B, d) -> (K, B)`` scores (a critic ``StackedMLP`` with the last dim squeezed).
        x_hat: ``(K, B, d)`` points between real and fake samples.
        one_sided: ``(K,)`` bool; ``any_one_sided``: whether any is True (skips that branch, no sync).
        create_graph: keep the graph for the penalty's backward (False: a diagnostic only).
    Returns:
        ``(gp (K,), norms (K, B))``.
    """
    K, B = x_hat.shape[:2]
    grad = input_gradient(lambda x: critic(x.view(K, B, -1)).reshape(K * B),
                          x_hat.reshape(K * B, -1), create_graph=create_graph)  # (K*B, d)
    norms = gradient_norms(grad).view(K, B)                        # ||∇C_k(x_hat_ki)||_2
    gp = torch.vmap(penalty_from_norms)(norms)                     # (K,) E (||g|| - 1)²
    if any_one_sided:
        gp_one_sided = torch.vmap(lambda n: penalty_from_norms(n, one_sided=True))(norms)
        gp = torch.where(one_sided, gp_one_sided, gp)              # E max(0, ||g|| - 1)²
    return gp, norms


# ------------------------------------------------------------------------- random streams
class HostStreams:
    """One CPU ``torch.Generator`` per member, seeded and drawn from in the Trainer's order
    (real batch, noise, ε per critic step; noise for the generator step): exact Trainer runs."""

    def __init__(self, data: str, seeds, device):
        self.data, self.device = data, device
        self.rngs = [torch.Generator().manual_seed(s) for s in seeds]

    def real(self, members, n):                                   # (K, n, 2), x ~ P_r
        return torch.stack([sample_toy(self.data, n, generator=self.rngs[k]) for k in members]).to(self.device)

    def noise(self, members, n, z_dim):                           # (K, n, z_dim), z ~ N(0, I)
        return torch.stack([torch.randn(n, z_dim, generator=self.rngs[k]) for k in members]).to(self.device)

    def interpolate(self, members, real, fake):                   # (K, n, 2), one ε per sample
        return torch.stack([interpolate(real[i], fake[i], generator=self.rngs[k])
                            for i, k in enumerate(members)])


class DeviceStream:
    """One generator on the device for all members; real points drawn from a pool of ``pool_size``
    samples kept on the device. No host work and no sync per step (CUDA-graph friendly)."""

    def __init__(self, data: str, seed: int, device, pool_size: int = 2**20):
        self.device = device
        self.rng = torch.Generator(device).manual_seed(seed)
        self.pool = sample_toy(data, pool_size, generator=torch.Generator().manual_seed(seed)).to(device)

    def real(self, members, n):
        index = torch.randint(len(self.pool), (len(members), n), generator=self.rng, device=self.device)
        return self.pool[index]                                    # (K, n, 2)

    def noise(self, members, n, z_dim):
        return torch.randn(len(members), n, z_dim, generator=self.rng, device=self.device)

    def interpolate(self, members, real, fake):
        K, n = real.shape[:2]
        return interpolate(real.reshape(K * n, -1), fake.reshape(K * n, -1), generator=self.rng).view(K, n, -1)


# ------------------------------------------------------------------------- one vectorised group
class Group:
    """Members whose computation has one shape, trained as one vectorised GAN (the Trainer's step).

    The members share every Recipe field but λ, the clip value and one-sidedness (so also their
    learning rates, betas and schedule): one Adam (or RMSprop) over the stacked parameters is then
    exactly one optimiser per member, since both update every weight on its own.
    """

    def __init__(self, members, recipes, generators, critics, *, graph_ready: bool):
        self.shape = recipes[members[0]]                           # the fields all members share
        self.members, self.recipes = list(members), recipes        # global member indices
        self.generators, self.critics = generators, critics        # all members' own modules
        self.G = StackedMLP([generators[k] for k in self.members])
        self.C = StackedMLP([critics[k] for k in self.members])
        # one optimiser over the stacked weights is one per member: Adam and RMSprop update each weight alone
        self.opt_generator = make_optimizer(self.shape, self.G.parameters(), self.shape.lr_g, capturable=graph_ready)
        self.opt_critic = make_optimizer(self.shape, self.C.parameters(), self.shape.lr_d, capturable=graph_ready)
        self.refresh()

    def refresh(self):
        """Per-member hyperparameters as device tensors, for the members still training."""
        device = self.C.stacked[0].device
        recipes = [self.recipes[k] for k in self.members]
        self.gp_lambda = torch.tensor([r.gp_lambda for r in recipes], device=device)  # (K,)
        self.one_sided = torch.tensor([r.one_sided for r in recipes], device=device)  # (K,)
        self.any_one_sided = any(r.one_sided for r in recipes)
        clips = [math.inf if r.clip is None else r.clip for r in recipes]
        self.clip = torch.tensor(clips, device=device) if any(r.clip is not None for r in recipes) else None

    def write_back(self):
        """Copy the stacked weights into the members' own modules (to sample, save or look at them)."""
        self.G.write_to([self.generators[k] for k in self.members])
        self.C.write_to([self.critics[k] for k in self.members])

    @torch.no_grad()
    def snapshot(self) -> list:
        """A copy of the stacked tensors (generator's, then critic's), for a roll-back."""
        return [t.detach().clone() for t in (*self.G.state_tensors(), *self.C.state_tensors())]

    @torch.no_grad()
    def restore(self, snapshot: list, i: int, generator, critic):
        """Write slice ``i`` of a :meth:`snapshot` into one member's own generator and critic."""
        own = StackedMLP.member_tensors(generator) + StackedMLP.member_tensors(critic)
        for mine, saved in zip(own, snapshot, strict=True):
            mine.copy_(saved[i])

    def drop(self, k: int):
        """Stop training member ``k``: its slice leaves the stacked tensors and the optimiser states."""
        keep = [i for i, m in enumerate(self.members) if m != k]
        for stacked, opt in ((self.G, self.opt_generator), (self.C, self.opt_critic)):
            for i, p in enumerate(stacked.stacked):
                q = nn.Parameter(p.detach()[keep].clone())
                state = opt.state.pop(p, {})
                opt.state[q] = {name: v[keep].clone() if isinstance(v, torch.Tensor) and v.ndim else v
                                for name, v in state.items()}      # Adam's moments (K, ...); step stays
                stacked.stacked[i] = q
            opt.param_groups[0]["params"] = list(stacked.parameters())
            stacked.keep(keep)
        self.members.remove(k)
        self.refresh()

    def schedule_lr(self, step: int):
        """The members' learning rates times their decay factor at this step (Recipe.lr_factor)."""
        set_lr(self.opt_generator, self.shape.lr_g * self.shape.lr_factor(step))
        set_lr(self.opt_critic, self.shape.lr_d * self.shape.lr_factor(step))

    def critic_step(self, stream, diagnose: bool):
        """One update of every member's critic. Returns stats ``(K, 4)``: loss, W estimate, gp, mean norm."""
        members, B, penalised = self.members, self.shape.batch_size, self.shape.gp_lambda > 0
        d_loss_fn = LOSSES[self.shape.loss][0]
        real = stream.real(members, B)                                        # (K, B, 2)
        with torch.no_grad():
            fake = self.G(stream.noise(members, B, self.generators[members[0]].z_dim))  # (K, B, 2)
        score = lambda x: self.C(x).squeeze(-1)                               # (K, B, 2) -> (K, B)
        # forward: scores and each member's loss
        real_scores, fake_scores = score(real), score(fake)                   # (K, B)
        loss = torch.vmap(d_loss_fn)(real_scores, fake_scores)                # (K,)
        gp = torch.zeros_like(loss)
        norms = torch.zeros_like(real_scores)
        if penalised or diagnose:
            x_hat = stream.interpolate(members, real, fake)                   # (K, B, 2)
            if not penalised:                                                 # a diagnostic: a few
                x_hat = x_hat[:, :DIAGNOSE_SAMPLES]                           # samples, as the Trainer
            gp, norms = member_penalties(score, x_hat, self.one_sided, any_one_sided=self.any_one_sided,
                                         create_graph=penalised)
        if penalised:
            loss = loss + self.gp_lambda * gp                                 # + λ_k GP_k
        # backward: the sum of the members' losses gives each member its own gradient
        self.opt_critic.zero_grad(set_to_none=True)
        loss.sum().backward()
        # update, then each member's constraint
        self.opt_critic.step()
        if self.clip is not None:
            self.C.clamp_(self.clip)                                          # w <- clip(w, -c_k, c_k)
        w_estimate = real_scores.mean(1) - fake_scores.mean(1)                # E C_k(x) - E C_k(G_k(z))
        return torch.stack([loss, w_estimate, gp, norms.mean(1)], 1).detach()  # (K, 4)

    def generator_step(self, stream) -> torch.Tensor:
        """One update of every member's generator through its (frozen) critic. Returns the losses (K,)."""
        members, B = self.members, self.shape.batch_size
        g_loss_fn = LOSSES[self.shape.loss][1]
        with frozen(self.C):
            # forward
            z = stream.noise(members, B, self.generators[members[0]].z_dim)  # (K, B, z_dim)
            fake_scores = self.C(self.G(z)).squeeze(-1)                       # (K, B)
            loss = torch.vmap(g_loss_fn)(fake_scores)                         # (K,)
            # backward
            self.opt_generator.zero_grad(set_to_none=True)
            loss.sum().backward()
        # update
        self.opt_generator.step()
        return loss.detach()

    def step(self, step: int, stream) -> torch.Tensor:
        """n_critic critic steps, then one generator step. Returns stats ``(K, 5)`` in HISTORY_KEYS order.

        Call ``schedule_lr(step)`` first. With ``rng="device"`` on CUDA this is free of host syncs and
        data-dependent branches, so it can be captured in a CUDA graph (the learning rates are device
        tensors that ``schedule_lr`` fills between replays; one graph per n_critic).
        """
        n_critic = self.shape.n_critic_at(step)
        for t in range(n_critic):
            stats = self.critic_step(stream, diagnose=t == n_critic - 1)
        g_loss = self.generator_step(stream)
        return torch.cat([stats[:, :1], g_loss[:, None], stats[:, 1:]], 1)   # d, g, w, gp, norm
