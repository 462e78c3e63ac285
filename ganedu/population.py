r"""Populations: train K independent toy GANs at once, as one batched run.

A sweep over seeds, λ, clip values or learning rates is K separate trainings with the same shape
of computation, so we run them as one. Member k keeps its own ``MLPGenerator`` / ``MLPCritic``;
every step stacks the members' layers and applies all K at once:

.. math::  W \in \mathbb{R}^{K \times \text{out} \times \text{in}},\quad
           y_k = x_k W_k^\top + b_k \ \text{for every } k \ \text{(one ``torch.baddbmm``)}.

The loss we minimise is :math:`\sum_k L_k`: member k's loss depends on member k's weights only,
so each member gets exactly its own gradient. Each member has its own optimiser state (one param
group per member in torch's Adam / RMSprop), its own λ, clip value, learning rates and schedule
and, with ``rng="host"`` (the CPU default), its own random stream drawn in the Trainer's order. So
member k *is* the run ``Trainer.from_recipe(recipe_k, data, seed=seed_k)`` (tested).

Members whose computation has another shape (n_critic, width, depth, batch size, loss, optimiser,
penalty on or off...) go to separate groups; each group is vectorised on its own.

Divergence: a member whose losses become NaN or infinite is reported (``warnings.warn`` and
``population.diverged[k]``: which member, its settings, what to try), rolled back to its last good
state (the last history flush) and frozen there; the other members keep training.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import time
import warnings

import torch
from torch import nn

from . import get_device, seed_everything, torch_threads
from .assemble import build_models
from .data import TOY_DATASETS, sample_toy, toy_modes, toy_std
from .lipschitz import clip_weights_, gradient_norms, input_gradient, interpolate, penalty_from_norms
from .losses import LOSSES
from .metrics import mode_coverage, w1_to_data
from .recipes import Recipe, get_recipe
from .train import HISTORY_KEYS, default_threads

__all__ = ["Population", "StackedMLP", "member_penalties", "HostStreams", "DeviceStream", "PER_MEMBER"]

#: Recipe fields that may differ inside one vectorised group; the others fix the computation's shape
PER_MEMBER = ("gp_lambda", "clip", "lr_g", "lr_d", "betas", "one_sided", "lr_decay_steps", "lr_floor",
              "name", "source", "note")
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
            else:
                self.layers.append(layer_k[0])                    # an activation, elementwise

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


# ------------------------------------------------------------------------- the population
class Population:
    """K toy GANs trained as one batched run; member k equals its own Trainer run (``rng="host"``).

    Args:
        members: a list of ``(recipe, seed)`` pairs (a recipe or the name of one in ``RECIPES``).
        data: a toy dataset name (``"8gaussians"``, ``"25gaussians"``, ``"swissroll"``, ``"ring"``).
        device: ``"auto"`` (cuda, then mps, then cpu) or a device.
        rng: ``"host"``: one CPU stream per member, each member exactly its Trainer run; ``"device"``:
            one generator on the device (seeded with the first member's seed) and real points from
            a pool of ``pool_size`` samples on the device, for speed on a GPU; ``"auto"``: host on
            the CPU, device elsewhere.
        flush_every: steps between copies of the stats to the host (and divergence checks).
    """

    def __init__(self, members, data="8gaussians", *, device="auto", rng="auto", pool_size=2**20,
                 flush_every=50):
        self.members = [_check_member(i, m) for i, m in enumerate(_check_list("members", members))]
        if not isinstance(data, str) or data not in TOY_DATASETS:
            raise ValueError(f"data must be a toy dataset name ({', '.join(TOY_DATASETS)}): a population "
                             f"trains the 2D toy MLPs; got {data!r} (train image data with a Trainer)")
        if rng not in ("auto", "host", "device"):
            raise ValueError(f"rng must be 'auto', 'host' or 'device', got {rng!r}")
        self.data, self.device = data, get_device(device)
        self.rng = rng if rng != "auto" else ("host" if self.device.type == "cpu" else "device")
        recipes, seeds = [r for r, _ in self.members], [s for _, s in self.members]
        self.generators, self.critics = [], []
        for recipe, seed in self.members:                 # the weights Trainer.from_recipe would build
            seed_everything(seed)
            generator, critic, _ = build_models(recipe, data)
            self.generators.append(generator.to(self.device))
            self.critics.append(critic.to(self.device))
        self.stream = (HostStreams(data, seeds, self.device) if self.rng == "host"
                       else DeviceStream(data, seeds[0], self.device, pool_size))
        graph_ready = self.rng == "device" and self.device.type == "cuda"
        by_shape = {}
        for k, recipe in enumerate(recipes):
            by_shape.setdefault(_shape_key(recipe), []).append(k)
        self.groups = [Group(ks, recipes, self.generators, self.critics, graph_ready=graph_ready)
                       for ks in by_shape.values()]
        self.steps, self.flush_every = 0, flush_every
        self.threads = default_threads(self.device, *self.generators, *self.critics)
        self.diverged = {}                                 # member -> the report
        self._pending = []                                 # (step, time, [stats (K_g, 5) per group])
        self._history = [{"step": [], **{key: [] for key in HISTORY_KEYS}, "time": [], "events": []}
                         for _ in self.members]
        self._t0 = time.perf_counter()
        self._last_good = self._snapshot()

    @classmethod
    def from_grid(cls, recipe="wgan-gp-toy", data="8gaussians", *, seeds=(0,), device="auto", rng="auto",
                  pool_size=2**20, flush_every=50, **grid):
        """Every combination of the ``grid`` values, each with every seed (seeds vary fastest).

        A list is a list of values to try; anything else (a number, a tuple such as ``betas``) is
        one value. ``from_grid("wgan-gp-toy", seeds=[0, 1], gp_lambda=[0.1, 10], n_critic=[1, 5])``
        has 8 members.
        """
        base = get_recipe(recipe)
        _check_fields(base, grid)
        values = [v if isinstance(v, list) else [v] for v in grid.values()]
        for name, v in zip(grid, values):
            _check_list(name, v)
        combos = [dict(zip(grid, combo)) for combo in itertools.product(*values)]
        members = [(base.replace(**c), s) for c in combos for s in _check_list("seeds", list(seeds))]
        return cls(members, data, device=device, rng=rng, pool_size=pool_size, flush_every=flush_every)

    @classmethod
    def from_zip(cls, recipe="wgan-gp-toy", data="8gaussians", *, seeds, device="auto", rng="auto",
                 pool_size=2**20, flush_every=50, **fields):
        """Member k takes ``seeds[k]`` and ``fields[name][k]``: lists of one length, zipped (a value that
        is not a list, such as ``width=64`` or ``betas=(0.5, 0.9)``, is the same for every member)."""
        base = get_recipe(recipe)
        _check_fields(base, fields)
        seeds = _check_list("seeds", list(seeds))
        fields = {n: v if isinstance(v, list) else [v] * len(seeds) for n, v in fields.items()}
        for name, v in fields.items():
            if len(v) != len(seeds):
                raise ValueError(f"{name} must be a list with one value per seed ({len(seeds)}), got {len(v)} values")
        members = [(base.replace(**{n: v[k] for n, v in fields.items()}), s) for k, s in enumerate(seeds)]
        return cls(members, data, device=device, rng=rng, pool_size=pool_size, flush_every=flush_every)

    # ---- training ------------------------------------------------------------------------
    def step(self):
        """One generator step (after its n_critic critic steps) of every member still training."""
        stats = []
        for group in self.groups:
            if group.members:
                group.schedule_lr(self.steps)
            stats.append(group.step(self.steps, self.stream) if group.members else None)
        self.steps += 1
        self._pending.append((self.steps, time.perf_counter() - self._t0, stats))
        if len(self._pending) >= self.flush_every:
            self.flush()

    def train(self, steps: int, callback=None, every: int = 100, progress: bool = True):
        """Run ``steps`` generator steps; call ``callback(population)`` every ``every`` steps."""
        from tqdm.auto import tqdm

        for name, value in (("steps", steps), ("every", every)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        bar = tqdm(total=steps, disable=not progress, desc=f"population of {len(self.members)}", leave=False)
        with torch_threads(self.threads):
            for i in range(1, steps + 1):
                self.step()
                if i % every == 0 or i == steps:
                    self.flush()
                    bar.update(i - bar.n)
                    if callback is not None:
                        callback(self)
        bar.close()
        return self.history

    # ---- history and divergence ------------------------------------------------------------
    def flush(self):
        """Copy pending stats to the host (one sync); freeze every member whose losses are NaN/inf."""
        if not self._pending:
            return
        steps = [step for step, _, _ in self._pending]
        times = [t for _, t, _ in self._pending]
        for g, group in enumerate(self.groups):
            if not group.members:
                continue
            stats = torch.stack([s[g] for _, _, s in self._pending]).cpu()  # (steps, K_g, 5)
            finite = torch.isfinite(stats[..., :3]).all(-1)                  # (steps, K_g)
            for i, k in enumerate(list(group.members)):
                if not finite[:, i].all():
                    self._freeze(group, k, steps[int((~finite[:, i]).nonzero()[0])])
                    continue
                history = self._history[k]
                history["step"] += steps
                history["time"] += times
                for j, key in enumerate(HISTORY_KEYS):
                    history[key] += stats[:, i, j].tolist()
        self._pending.clear()
        self._last_good = self._snapshot()

    def _freeze(self, group: Group, k: int, bad_step: int):
        good_step, generator, critic = self._last_good[k]
        self.generators[k].load_state_dict(generator)
        self.critics[k].load_state_dict(critic)
        group.drop(k)
        self.diverged[k] = _divergence_message(k, self.members[k], bad_step, good_step, self.varying_fields())
        self._history[k]["events"].append({"step": bad_step, "name": "diverged", "value": self.diverged[k]})
        warnings.warn(self.diverged[k], RuntimeWarning, stacklevel=3)

    def _snapshot(self) -> dict:
        """member -> (steps, generator weights, critic weights), for the members still training."""
        return {k: (self.steps, copy.deepcopy(self.generators[k].state_dict()),
                    copy.deepcopy(self.critics[k].state_dict()))
                for group in self.groups for k in group.members}

    @property
    def history(self) -> list:
        """Per member, a dict of lists like ``Trainer.history``: step, d_loss, g_loss, w_estimate, gp,
        grad_norm, time, and events (a divergence is one)."""
        self.flush()
        return self._history

    def varying_fields(self) -> list:
        """The recipe fields (and ``seed``) that differ between members."""
        names = [f.name for f in dataclasses.fields(Recipe) if f.name not in ("source", "note")]
        varying = [n for n in names if len({repr(getattr(r, n)) for r, _ in self.members}) > 1]
        return varying + (["seed"] if len({s for _, s in self.members}) > 1 else [])

    # ---- looking at the members ------------------------------------------------------------
    def member(self, k: int):
        """Member ``k``'s ``(generator, critic)``: plain ``MLPGenerator`` / ``MLPCritic`` copies."""
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < len(self.members):
            raise ValueError(f"k must be a member index in 0..{len(self.members) - 1}, got {k!r}")
        return copy.deepcopy(self.generators[k]), copy.deepcopy(self.critics[k])

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> list:
        """``n`` samples ``(n, 2)`` on the CPU per member; member k's noise is seeded like its
        ``Trainer.sample`` (``seed_k + 1``, or ``seed``), apart from the training streams."""
        out = []
        for (_, member_seed), generator in zip(self.members, self.generators):
            rng = torch.Generator().manual_seed(member_seed + 1 if seed is None else seed)
            z = torch.randn(n, generator.z_dim, generator=rng).to(self.device)
            out.append(generator(z).cpu())
        return out

    def evaluate(self, n: int = 2500, *, w1_points: int = 500) -> list:
        """Per member: ``modes`` and ``hq`` (``metrics.mode_coverage``, mixtures only) on ``n`` samples
        and ``w1`` (``metrics.w1_to_data``, exact, on ``w1_points`` points: O(m³), 2,000 take ~2 s)."""
        results = []
        for (_, seed), samples in zip(self.members, self.sample(n)):
            real = sample_toy(self.data, n, generator=torch.Generator().manual_seed(seed + 2))
            result = {}
            if self.data != "swissroll":
                result.update(mode_coverage(samples, toy_modes(self.data), toy_std(self.data)))
                result.pop("counts")
            result["w1"] = w1_to_data(samples, real, max_points=w1_points)
            results.append(result)
        return results

    def summary(self, evaluate: bool = True, **evaluate_kw) -> list:
        """One row (dict) per member: its varying settings, last losses, status and (optionally) metrics."""
        history, fields = self.history, self.varying_fields()
        metrics = self.evaluate(**evaluate_kw) if evaluate else [{}] * len(self.members)
        rows = []
        for k, ((recipe, seed), h, m) in enumerate(zip(self.members, history, metrics)):
            row = {"member": k, **{f: seed if f == "seed" else getattr(recipe, f) for f in fields}}
            row["status"] = f"diverged, frozen at step {h['step'][-1] if h['step'] else 0}" \
                if k in self.diverged else "ok"
            row.update({key: h[key][-1] if h[key] else None for key in ("d_loss", "w_estimate")}, **m)
            rows.append(row)
        return rows


# ------------------------------------------------------------------------- checks and messages
def _shape_key(recipe: Recipe) -> tuple:
    """The fields that fix a member's computation (members with equal keys share one group)."""
    fields = [(f.name, getattr(recipe, f.name)) for f in dataclasses.fields(recipe) if f.name not in PER_MEMBER]
    return tuple(fields) + (("penalised", recipe.gp_lambda > 0),)


def _check_list(name, values):
    if not isinstance(values, (list, tuple)) or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty list, got {values!r}")
    return values


def _check_member(i, member):
    if not isinstance(member, (tuple, list)) or len(member) != 2:
        raise ValueError(f"members[{i}] must be a (recipe, seed) pair, got {member!r}")
    recipe, seed = get_recipe(member[0]), member[1]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"members[{i}]: seed must be an integer >= 0, got {seed!r}")
    if recipe.model not in ("auto", "mlp") or recipe.spectral_norm or recipe.critic_norm not in ("auto", "none"):
        raise ValueError(f"members[{i}] ({recipe.name}): a population vectorises plain MLPs; it has model="
                         f"{recipe.model!r}, spectral_norm={recipe.spectral_norm}, critic_norm="
                         f"{recipe.critic_norm!r} (train it with a Trainer)")
    return recipe, seed


def _check_fields(recipe: Recipe, fields: dict):
    known = [f.name for f in dataclasses.fields(recipe)]
    for name in fields:
        if name not in known:
            raise ValueError(f"unknown field {name!r}: a population varies Recipe fields ({', '.join(known)})")


def _divergence_message(k, member, bad_step, good_step, fields) -> str:
    recipe, seed = member
    settings = ", ".join(f"{f}={seed if f == 'seed' else getattr(recipe, f)!r}" for f in fields)
    hints = [f"lower the learning rates (lr_g={recipe.lr_g:g}, lr_d={recipe.lr_d:g})"]
    if recipe.constraint == "none" and recipe.loss in ("wasserstein", "hinge"):
        hints.insert(0, "constrain the critic (gp_lambda > 0 or a clip value): its score is unbounded")
    if recipe.gp_lambda > 50:
        hints.append(f"use a smaller gradient-penalty weight (gp_lambda={recipe.gp_lambda:g})")
    return (f"member {k} ({recipe.name}, seed {seed}{', ' + settings if settings else ''}) diverged: a loss "
            f"became NaN or infinite at step {bad_step}. Try: " + "; ".join(hints)
            + f". It was frozen at step {good_step}; the other members keep training.")
