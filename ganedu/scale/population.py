r"""Populations: train K independent toy GANs at once, as one batched run.

A sweep over seeds, λ, clip values or learning rates is K separate trainings with the same shape
of computation, so we run them as one. Member k keeps its own ``MLPGenerator`` / ``MLPCritic``;
every step stacks the members' layers and applies all K at once (:mod:`ganedu.scale.stacked`):

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

from .. import default_threads, get_device, seed_everything
from ..models import build_models
from .cuda_graph import StepGraph, graphs_supported
from ..checks import check_choice, check_fields, check_int, check_type
from ..data import TOY_DATASETS, sample_toy
from ..metrics import score_samples
from ..recipes import Recipe, get_recipe
from .stacked import DeviceStream, Group, HostStreams, StackedMLP, member_penalties
from ..train import HISTORY_KEYS, run_steps

__all__ = ["Population", "StackedMLP", "member_penalties", "HostStreams", "DeviceStream", "PER_MEMBER"]

#: Recipe fields that may differ inside one vectorised group; the others (the computation's shape,
#: the optimiser's settings and schedule) are shared by a group
PER_MEMBER = ("gp_lambda", "clip", "one_sided", "name", "source", "note")


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
        check_type("data", data, str, "a toy dataset name")
        if data not in TOY_DATASETS:
            raise ValueError(f"data must be a toy dataset name ({', '.join(TOY_DATASETS)}): a population "
                             f"trains the 2D toy MLPs; got {data!r} (train image data with a Trainer)")
        check_choice("rng", rng, ("auto", "host", "device"))
        check_int("pool_size", pool_size, min=1)
        check_int("flush_every", flush_every, min=1)
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
        self.graphs = graph_ready and graphs_supported(self.device)  # False: every step runs eagerly
        self._graphs = {}                                 # group index -> (its members, StepGraph)
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
        members = [(base.replace(**c), s) for c in combos for s in _check_list("seeds", seeds)]
        return cls(members, data, device=device, rng=rng, pool_size=pool_size, flush_every=flush_every)

    @classmethod
    def from_zip(cls, recipe="wgan-gp-toy", data="8gaussians", *, seeds, device="auto", rng="auto",
                 pool_size=2**20, flush_every=50, **fields):
        """Member k takes ``seeds[k]`` and ``fields[name][k]``: lists of one length, zipped (a value that
        is not a list, such as ``width=64`` or ``betas=(0.5, 0.9)``, is the same for every member)."""
        base = get_recipe(recipe)
        _check_fields(base, fields)
        seeds = _check_list("seeds", seeds)
        fields = {n: v if isinstance(v, list) else [v] * len(seeds) for n, v in fields.items()}
        for name, v in fields.items():
            if len(v) != len(seeds):
                raise ValueError(f"{name} must be a list with one value per seed ({len(seeds)}), got {len(v)} values")
        members = [(base.replace(**{n: v[k] for n, v in fields.items()}), s) for k, s in enumerate(seeds)]
        return cls(members, data, device=device, rng=rng, pool_size=pool_size, flush_every=flush_every)

    # ---- training ------------------------------------------------------------------------
    def step(self):
        """One generator step (after its n_critic critic steps) of every member still training."""
        stats = [None] * len(self.groups)                 # (K_g, 5) per group still training
        for g, group in enumerate(self.groups):
            if group.members:
                group.schedule_lr(self.steps)
                stats[g] = self._group_step(g, group)
        self.steps += 1
        self._pending.append((self.steps, time.perf_counter() - self._t0, stats))
        if len(self._pending) >= self.flush_every:
            self.flush()

    def _group_step(self, g: int, group: Group) -> torch.Tensor:
        """One group's step; with ``rng="device"`` on CUDA, replayed from a CUDA graph (``ganedu.scale.cuda_graph``)."""
        step = self.steps
        if not self.graphs or group.shape.n_critic_at(step) != group.shape.n_critic:  # WGAN warm-up: eager
            return group.step(step, self.stream)
        key = tuple(group.members)                        # a diverged member leaves: record again
        if g not in self._graphs or self._graphs[g][0] != key:
            self._graphs[g] = (key, StepGraph(lambda: group.step(step, self.stream), generators=[self.stream.rng]))
        return self._graphs[g][1]().clone()

    def train(self, steps: int, callback=None, every: int = 100, progress: bool = True):
        """Run ``steps`` generator steps; call ``callback(population)`` every ``every`` steps."""
        run_steps(self, steps, callback=callback, every=every, progress=progress,
                  desc=f"population of {len(self.members)}")
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
            per_member = stats.permute(1, 2, 0).tolist()                     # [K_g][5][steps]
            for i, k in enumerate(list(group.members)):
                if not finite[:, i].all():
                    self._freeze(group, k, steps[int((~finite[:, i]).nonzero()[0])])
                    continue
                history = self._history[k]
                history["step"] += steps
                history["time"] += times
                for key, values in zip(HISTORY_KEYS, per_member[i]):
                    history[key] += values
        self._pending.clear()
        self._last_good = self._snapshot()

    def _freeze(self, group: Group, k: int, bad_step: int):
        good_step, members, snapshot = self._last_good[group]
        group.restore(snapshot, members.index(k), self.generators[k], self.critics[k])
        group.drop(k)
        self.diverged[k] = _divergence_message(k, self.members[k], bad_step, good_step, self.varying_fields())
        self._history[k]["events"].append({"step": bad_step, "name": "diverged", "value": self.diverged[k]})
        warnings.warn(self.diverged[k], RuntimeWarning, stacklevel=3)

    def _sync(self):
        """Copy every group's stacked weights into the members' own modules."""
        for group in self.groups:
            if group.members:
                group.write_back()

    def _snapshot(self) -> dict:
        """group -> (steps, its members, a copy of its stacked weights): the last good state, kept on
        the device (a few copies per group, however many members)."""
        return {group: (self.steps, list(group.members), group.snapshot()) for group in self.groups if group.members}

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
        last = len(self.members) - 1
        check_int("k", k, min=0, max=last, expected=f"a member index in 0..{last}")
        self._sync()
        return copy.deepcopy(self.generators[k]), copy.deepcopy(self.critics[k])

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> list:
        """``n`` samples ``(n, 2)`` on the CPU per member; member k's noise is seeded like its
        ``Trainer.sample`` (``seed_k + 1``, or ``seed``), apart from the training streams."""
        self._sync()
        out = []
        for (_, member_seed), generator in zip(self.members, self.generators):
            rng = torch.Generator().manual_seed(member_seed + 1 if seed is None else seed)
            z = torch.randn(n, generator.z_dim, generator=rng).to(self.device)
            out.append(generator(z).cpu())
        return out

    def evaluate(self, n: int = 2500, *, w1_points: int = 500) -> list:
        """Per member, ``metrics.score_samples`` of ``n`` samples: ``modes`` of ``modes_total`` and
        ``hq`` (mixtures only) and ``w1`` (exact, on ``w1_points`` points: O(m³), 2,000 take ~2 s)."""
        results = []
        for (_, seed), samples in zip(self.members, self.sample(n)):
            real = sample_toy(self.data, n, generator=torch.Generator().manual_seed(seed + 2))
            results.append(score_samples(samples, self.data, real=real, n_w1=w1_points))
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
    check_type(name, values, (list, tuple), "a non-empty list")
    if len(values) == 0:
        raise ValueError(f"{name} must be a non-empty list, got {values!r}")
    return values


def _check_member(i, member):
    check_type(f"members[{i}]", member, (tuple, list), "a (recipe, seed) pair")
    if len(member) != 2:
        raise ValueError(f"members[{i}] must be a (recipe, seed) pair, got {member!r}")
    recipe, seed = get_recipe(member[0]), check_int(f"members[{i}]: seed", member[1], min=0)
    if recipe.model not in ("auto", "mlp") or recipe.critic_norm not in ("auto", "none", "spectral"):
        raise ValueError(f"members[{i}] ({recipe.name}): a population vectorises MLPs (plain or with spectral "
                         f"norm); it has model={recipe.model!r}, critic_norm={recipe.critic_norm!r} (train it "
                         "with a Trainer)")
    if recipe.r1_gamma > 0:
        raise ValueError(f"members[{i}] ({recipe.name}): r1_gamma={recipe.r1_gamma:g}, but a population has no R1 "
                         "penalty (train it with a Trainer)")
    return recipe, seed


def _check_fields(recipe: Recipe, fields: dict):
    """A population varies Recipe fields: a misspelt one is a TypeError naming it."""
    check_fields("Recipe", fields, [f.name for f in dataclasses.fields(recipe)])


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
