r"""K networks as one: the vectorised pieces of :mod:`ganedu.population`.

Member k of a population keeps its own ``MLPGenerator`` / ``MLPCritic``. Every step stacks the
members' layers and applies all K at once, one ``torch.baddbmm`` per layer:

.. math::  W \in \mathbb{R}^{K \times \text{out} \times \text{in}},\qquad
           y_k = b_k + x_k W_k^\top \quad \text{for every member } k.

A :class:`Group` runs the Trainer's step (``ganedu.train.Trainer.step``) for members that share the
shape of their computation. The loss it minimises is :math:`\sum_k L_k`: member k's loss depends on
member k's weights only, so each member gets exactly its own gradient; each member has its own
param group (its learning rate, betas) in torch's Adam or RMSprop, and its own λ and clip value.
"""
from __future__ import annotations

import torch
from torch import nn

from .data import sample_toy
from .lipschitz import clip_weights_, gradient_norms, input_gradient, interpolate, penalty_from_norms
from .losses import LOSSES
from .train import DIAGNOSE_SAMPLES

__all__ = ["StackedMLP", "member_penalties", "HostStreams", "DeviceStream", "Group"]

ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.ELU)  # elementwise: the same module serves K members


# ------------------------------------------------------------------------- K networks as one
class StackedMLP:
    r"""K MLPs of one layout run as one network: input ``(K, B, in)`` -> output ``(K, B, out)``.

    Per Linear layer the members' weights are stacked, :math:`W` ``(K, out, in)``, :math:`b` ``(K, out)``,
    and :math:`y_k = b_k + x_k W_k^\top` is one ``torch.baddbmm``. The stack is a copy: build a new
    StackedMLP after each optimiser step. ``frozen=True`` detaches the weights (no gradient into them).
    """

    def __init__(self, nets, *, frozen: bool = False):
        self.layers = []
        for layer_k in zip(*(net.net for net in nets)):          # layer i of every member
            if isinstance(layer_k[0], nn.Linear):
                W = torch.stack([layer.weight for layer in layer_k])  # (K, out, in)
                b = torch.stack([layer.bias for layer in layer_k])    # (K, out)
                if frozen:
                    W, b = W.detach(), b.detach()
                self.layers.append((W.transpose(1, 2), b.unsqueeze(1)))  # (K, in, out), (K, 1, out)
            elif isinstance(layer_k[0], ACTIVATIONS):
                self.layers.append(layer_k[0])                    # an activation, elementwise
            else:
                raise ValueError(f"StackedMLP stacks Linear layers and elementwise activations, got "
                                 f"{type(layer_k[0]).__name__} (normalisation layers are per member)")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            if isinstance(layer, tuple):
                W_t, b = layer
                x = torch.baddbmm(b, x, W_t)                       # (K, B, out) = b + x Wᵀ
            else:
                x = layer(x)
        return x


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
    """Members whose computation has one shape, trained as one vectorised GAN (the Trainer's step)."""

    def __init__(self, members, recipes, generators, critics, *, graph_ready: bool):
        self.shape = recipes[members[0]]                           # the fields all members share
        self.members, self.recipes = list(members), recipes        # global member indices
        self.generators, self.critics = generators, critics        # all members' modules
        self.opt_g = self._optimizer(generators, "lr_g", graph_ready)
        self.opt_d = self._optimizer(critics, "lr_d", graph_ready)
        self.refresh()

    def _optimizer(self, modules, lr_name, graph_ready):
        """torch's Adam (fused where available, as the Trainer) or RMSprop; one param group per member."""
        device = next(modules[self.members[0]].parameters()).device
        groups = [dict(params=list(modules[k].parameters()), lr=getattr(self.recipes[k], lr_name))
                  for k in self.members]
        for group, k in zip(groups, self.members):
            if graph_ready:                                        # a 0-d device tensor, set with fill_
                group["lr"] = torch.tensor(group["lr"], device=device)
            if self.shape.optimizer == "adam":
                group["betas"] = self.recipes[k].betas
        if self.shape.optimizer == "rmsprop":
            return torch.optim.RMSprop(groups, capturable=graph_ready)
        try:
            return torch.optim.Adam(groups, fused=True, capturable=graph_ready)
        except (TypeError, RuntimeError):
            return torch.optim.Adam(groups, capturable=graph_ready)

    def refresh(self):
        """Per-member hyperparameters as device tensors, for the members still training."""
        device = next(self.critics[self.members[0]].parameters()).device if self.members else "cpu"
        recipes = [self.recipes[k] for k in self.members]
        self.gp_lambda = torch.tensor([r.gp_lambda for r in recipes], device=device)  # (K,)
        self.one_sided = torch.tensor([r.one_sided for r in recipes], device=device)  # (K,)
        self.any_one_sided = any(r.one_sided for r in recipes)

    def drop(self, k: int):
        """Stop training member ``k``: out of the stack and out of both optimisers."""
        i = self.members.index(k)
        for opt in (self.opt_g, self.opt_d):
            for p in opt.param_groups.pop(i)["params"]:
                opt.state.pop(p, None)
        self.members.pop(i)
        self.refresh()

    def n_critic_now(self, step: int) -> int:
        """n_critic, or 100 in the WGAN code's warm-up (first 25 steps) and every 500th step."""
        if self.shape.wgan_schedule and (step < 25 or step % 500 == 0):
            return 100
        return self.shape.n_critic

    def schedule_lr(self, step: int):
        """Each member's learning rates times its own decay factor at this step (Recipe.lr_factor)."""
        for opt, lr_name in ((self.opt_g, "lr_g"), (self.opt_d, "lr_d")):
            for group, k in zip(opt.param_groups, self.members):
                lr = getattr(self.recipes[k], lr_name) * self.recipes[k].lr_factor(step)
                if isinstance(group["lr"], torch.Tensor):
                    group["lr"].fill_(lr)
                else:
                    group["lr"] = lr

    def critic_step(self, stream, diagnose: bool):
        """One update of every member's critic. Returns stats ``(K, 4)``: loss, W estimate, gp, mean norm."""
        members, B, penalised = self.members, self.shape.batch_size, self.shape.gp_lambda > 0
        d_loss_fn = LOSSES[self.shape.loss][0]
        real = stream.real(members, B)                                        # (K, B, 2)
        with torch.no_grad():
            fake = StackedMLP([self.generators[k] for k in members])(
                stream.noise(members, B, self.generators[members[0]].z_dim))  # (K, B, 2)
        critic = StackedMLP([self.critics[k] for k in members])
        score = lambda x: critic(x).squeeze(-1)                               # (K, B, 2) -> (K, B)
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
        self.opt_d.zero_grad(set_to_none=True)
        loss.sum().backward()
        # update, then each member's constraint
        self.opt_d.step()
        for k in members:
            if self.recipes[k].clip is not None:
                clip_weights_(self.critics[k], self.recipes[k].clip)          # w <- clip(w, -c_k, c_k)
        w_estimate = real_scores.mean(1) - fake_scores.mean(1)                # E C_k(x) - E C_k(G_k(z))
        return torch.stack([loss, w_estimate, gp, norms.mean(1)], 1).detach()  # (K, 4)

    def generator_step(self, stream) -> torch.Tensor:
        """One update of every member's generator through its (frozen) critic. Returns the losses (K,)."""
        members, B = self.members, self.shape.batch_size
        g_loss_fn = LOSSES[self.shape.loss][1]
        critic = StackedMLP([self.critics[k] for k in members], frozen=True)
        generator = StackedMLP([self.generators[k] for k in members])
        # forward
        z = stream.noise(members, B, self.generators[members[0]].z_dim)      # (K, B, z_dim)
        fake_scores = critic(generator(z)).squeeze(-1)                        # (K, B)
        loss = torch.vmap(g_loss_fn)(fake_scores)                             # (K,)
        # backward, update
        self.opt_g.zero_grad(set_to_none=True)
        loss.sum().backward()
        self.opt_g.step()
        return loss.detach()

    def step(self, step: int, stream) -> torch.Tensor:
        """n_critic critic steps, then one generator step. Returns stats ``(K, 5)`` in HISTORY_KEYS order.

        Call ``schedule_lr(step)`` first. With ``rng="device"`` on CUDA this is free of host syncs and
        data-dependent branches, so it can be captured in a CUDA graph (the learning rates are device
        tensors that ``schedule_lr`` fills between replays; one graph per n_critic).
        """
        n_critic = self.n_critic_now(step)
        for t in range(n_critic):
            stats = self.critic_step(stream, diagnose=t == n_critic - 1)
        g_loss = self.generator_step(stream)
        return torch.cat([stats[:, :1], g_loss[:, None], stats[:, 1:]], 1)   # d, g, w, gp, norm
