"""The Trainer: the papers' loop. It schedules the two updates, logs them and saves the run.

One generator step (``Trainer.step``) is::

    for t in range(n_critic):                       # WGAN Algorithm 1, lines 2-8
        x ~ data, z ~ N(0, I)
        critic_update(C, x, G(z))                   # the recipe's loss [+ λ GP], update [, clip]
    z ~ N(0, I)
    generator_update(G, C, z)                       # lines 9-11

The updates are ``ganedu.updates``'s; the recipe (:class:`~ganedu.recipes.Recipe`) picks their loss
and constraint. What varies between runs comes in as arguments: the batch source (``next_batch``),
and what a distributed run adds (:meth:`Trainer.parallelize`). :meth:`Trainer.state_dict` is the
run's state, for checkpoints and for the roll-back after a divergence. Statistics stay on the device
and are copied to the host every ``flush_every`` steps (no per-step ``.item()`` sync). On a CUDA GPU
the step is recorded once and replayed as a CUDA graph (``ganedu.scale.cuda_graph``).

Longer than the ~300 lines of most modules: it is one class, and its step, schedule, history,
state and distributed hooks read best together. What is not the loop lives elsewhere: the updates
(``ganedu.updates``), checkpoint files (``ganedu.checkpoint``), GPU and multi-process tools
(``ganedu.scale``), the thread count (``ganedu.default_threads``).
"""
from __future__ import annotations

import contextlib
import copy
import time

import torch

from . import default_threads, get_device, seed_everything, torch_threads
from .batches import make_batch_fn, resolve_data
from .checks import check_int
from .checkpoint import load_optimizer_state, load_trainer, restore_rng, save_trainer
from .lipschitz import check_no_batchnorm
from .models import build_models
from .recipes import RECIPES, TUNABLE, Recipe, get_recipe
from .scale.cuda_graph import StepGraph, graphs_supported
from .scale.distributed import autocast, cudnn_autotuned
from .updates import critic_update, generator_update, make_optimizer, set_lr

__all__ = ["Recipe", "RECIPES", "get_recipe", "Trainer", "TrainingDiverged"]

HISTORY_KEYS = ("d_loss", "g_loss", "w_estimate", "gp", "grad_norm")
#: what ``Trainer.state_dict`` holds: a roll-back restores ROLLBACK_KEYS, a checkpoint all of them
ROLLBACK_KEYS = ("steps", "generator", "critic", "opt_generator", "opt_critic")
STATE_KEYS = ROLLBACK_KEYS + ("rng", "history")


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the trainer was rolled back to its last good state."""


class Trainer:
    """Train ``generator`` against ``critic`` on ``data`` with ``recipe``.

    Args:
        recipe: a :class:`Recipe` or the name of one in ``RECIPES``.
        generator: maps ``z`` of shape ``(B, z_dim)`` to samples; has attribute ``z_dim``.
        critic: maps samples to scores of shape ``(B,)``.
        data: a toy dataset name (``"8gaussians"``...), ``"digits"`` / ``"mnist"``, a tensor of
            samples ``(N, ...)`` or a ``torch.utils.data.Dataset``.
        device: ``"auto"`` (cuda, then mps, then cpu; small networks stay on the CPU where a GPU
            would be slower for them: see :func:`ganedu.get_device`) or a device.
        seed: seeds weights-independent randomness (data, noise, ε); models are seeded by the caller.
        flush_every: steps between copies of the statistics to the host (and divergence checks).
        next_batch: the batch source, ``n -> Tensor[n, ...]`` of real samples on the device;
            default ``ganedu.batches.make_batch_fn(data, device, self.rng)``.
    """

    def __init__(self, recipe, generator, critic, data, *, device="auto", seed=0, flush_every=50,
                 next_batch=None):
        self.recipe = get_recipe(recipe)
        if not isinstance(generator, torch.nn.Module) or not isinstance(critic, torch.nn.Module):
            raise TypeError("generator and critic must be torch.nn.Module instances, got "
                            f"{type(generator).__name__} and {type(critic).__name__}")
        n_params = sum(p.numel() for m in (generator, critic) for p in m.parameters())
        self.device = get_device(device, n_params=n_params)  # "auto": the faster device for this size
        if not hasattr(generator, "z_dim"):
            raise TypeError("generator must have an attribute z_dim (the latent size)")
        if self.recipe.gp_lambda > 0 or self.recipe.r1_gamma > 0:
            check_no_batchnorm(critic)
        self.generator = generator.to(self.device)
        self.critic = critic.to(self.device)
        self.seed = seed
        self.data = data
        # data, noise and ε, separate from the weights; on a GPU drawn there (no host work per step)
        self.rng = torch.Generator(device=self.device if self.device.type == "cuda" else "cpu")
        self.rng.manual_seed(seed)
        self.next_batch = (make_batch_fn(data, self.device, self.rng) if next_batch is None  # x ~ P_r
                           else _check_batch_source(next_batch))
        self.wrapped = None  # (generator, critic) wrappers the steps run instead, in a distributed run
        self.main_process = True  # False: save() writes nothing (see parallelize)
        self.use_cuda_graphs = graphs_supported(self.device)  # False: run every step eagerly
        self.amp = None  # torch.bfloat16: mixed precision (ganedu.scale.distributed.enable_amp checks and sets it)
        self._graph = None  # the recorded step (StepGraph) and what it was recorded for
        on_gpu = self.device.type == "cuda"  # graph-safe there: step counts and the lr live on the GPU
        self.opt_generator = make_optimizer(self.recipe, self.generator.parameters(), self.recipe.lr_g,
                                            capturable=on_gpu)
        self.opt_critic = make_optimizer(self.recipe, self.critic.parameters(), self.recipe.lr_d, capturable=on_gpu)
        self.steps = 0
        self.flush_every = flush_every
        self.threads = default_threads(self.device, self.generator, self.critic)
        self.model_spec = None  # set by from_recipe, so that load() can rebuild the networks
        self.data_name = None  # (name, image_size), set by from_recipe, for load()
        self._pending = []  # per-step stats, still on the device
        self._history = {"step": [], **{k: [] for k in HISTORY_KEYS}, "time": [], "events": []}
        self._t0 = time.perf_counter()
        self._last_good = self._snapshot()

    @classmethod
    def from_recipe(cls, recipe="wgan-gp-toy", data="8gaussians", *, device="auto", seed=0,
                    image_size=16, **overrides):
        """Build the recipe's networks for ``data`` (seeded by ``seed``) and a Trainer."""
        recipe = get_recipe(recipe, **overrides)
        seed_everything(seed)
        resolved = resolve_data(data, image_size=image_size)
        generator, critic, spec = build_models(recipe, resolved)
        trainer = cls(recipe, generator, critic, resolved, device=device, seed=seed)
        trainer.model_spec = spec
        trainer.data_name = (data, image_size) if isinstance(data, str) else None
        return trainer

    # ---- one step of the algorithm -------------------------------------------------------
    def noise(self, n: int) -> torch.Tensor:
        """z ~ N(0, I), shape (n, z_dim)."""
        z = torch.randn(n, self.generator.z_dim, generator=self.rng, device=self.rng.device)
        return z.to(self.device, non_blocking=True)

    def critic_step(self, recipe: Recipe, diagnose: bool = True):
        """One :func:`~ganedu.updates.critic_update` on a real batch and a batch of G(z); its stats (tensors).

        ``diagnose``: also measure ||∇C(x_hat)|| when there is no penalty (last critic step only).
        """
        generator, critic = self.wrapped or (self.generator, self.critic)  # wrapped: in a distributed run
        real = self.next_batch(recipe.batch_size)                  # x ~ P_r
        with torch.no_grad():
            fake = generator(self.noise(recipe.batch_size))        # G(z), no gradient into G
        return critic_update(critic, self.opt_critic, real, fake, loss=recipe.loss, gp_lambda=recipe.gp_lambda,
                             one_sided=recipe.one_sided, clip=recipe.clip, rng=self.rng, diagnose=diagnose,
                             r1_gamma=recipe.r1_gamma)

    def generator_step(self, recipe: Recipe) -> torch.Tensor:
        """One :func:`~ganedu.updates.generator_update` on a batch of z. Returns its loss (a tensor)."""
        generator, critic = self.wrapped or (self.generator, self.critic)
        return generator_update(generator, critic, self.opt_generator, self.noise(recipe.batch_size),
                                loss=recipe.loss)

    def schedule_lr(self, recipe: Recipe):
        """Set both optimisers' learning rates to the recipe's, times its decay at this step."""
        factor = recipe.lr_factor(self.steps)
        set_lr(self.opt_generator, recipe.lr_g * factor)
        set_lr(self.opt_critic, recipe.lr_d * factor)

    def generator_iteration(self, recipe: Recipe, n_critic: int) -> torch.Tensor:
        """n_critic critic updates, then one generator update (the papers' pseudocode).

        Returns the step's statistics as one tensor: d_loss, g_loss, w_estimate, gp, grad_norm.
        """
        with autocast(self.device, self.amp):  # bf16 where enable_amp asked for it
            for t in range(n_critic):
                d_loss, w_estimate, gp, grad_norm = self.critic_step(recipe, diagnose=t == n_critic - 1)
            g_loss = self.generator_step(recipe)
        return torch.stack([d_loss, g_loss, w_estimate, gp, grad_norm])

    def step(self):
        """One generator step after n_critic critic steps, recorded as a CUDA graph on a GPU."""
        recipe = self.recipe  # read once: the dashboard may change it between steps
        n_critic = recipe.n_critic_at(self.steps)  # the WGAN code's warm-up: 100
        self.schedule_lr(recipe)
        with cudnn_autotuned(self.device):
            if self.use_cuda_graphs and n_critic == recipe.n_critic:  # WGAN warm-up steps run eagerly
                stats = self._graphed_step(recipe, n_critic).clone()
            else:
                stats = self.generator_iteration(recipe, n_critic)
        self.steps += 1
        self._pending.append((self.steps, time.perf_counter() - self._t0, stats))
        if len(self._pending) >= self.flush_every:
            self.flush()

    def _graphed_step(self, recipe: Recipe, n_critic: int) -> torch.Tensor:
        """The same step, replayed from a CUDA graph recorded for this recipe (learning rates aside)."""
        key = recipe.replace(lr_g=1.0, lr_d=1.0)  # the lr is a tensor the graph reads: not in the key
        if self._graph is None or self._graph[0] != key:
            self._graph = (key, StepGraph(lambda: self.generator_iteration(recipe, n_critic),
                                          generators=[self.rng]))
        return self._graph[1]()

    def train(self, steps: int, callback=None, every: int = 100, progress: bool = True):
        """Run ``steps`` generator steps; call ``callback(trainer)`` every ``every`` steps."""
        def postfix():
            h = self._history
            return dict(d_loss=f"{h['d_loss'][-1]:.3f}", w=f"{h['w_estimate'][-1]:.3f}") if h["d_loss"] else {}

        run_steps(self, steps, callback=callback, every=every, progress=progress, desc=self.recipe.name,
                  postfix=postfix)
        return self.history

    # ---- history, divergence, hyperparameters --------------------------------------------
    def flush(self):
        """Copy pending stats to the host (one sync); stop and roll back if any is NaN/inf."""
        if not self._pending:
            return
        stats = torch.stack([s for _, _, s in self._pending]).cpu()
        if not torch.isfinite(stats[:, :3]).all():
            bad = self._pending[int((~torch.isfinite(stats[:, :3])).any(1).nonzero()[0])][0]
            self._pending.clear()
            self.load_state_dict(self._last_good)  # the random stream and the history go on
            raise TrainingDiverged(self._divergence_message(bad))
        for (step, t, _), row in zip(self._pending, stats.tolist()):
            self._history["step"].append(step)
            self._history["time"].append(t)
            for key, value in zip(HISTORY_KEYS, row):
                self._history[key].append(value)
        self._pending.clear()
        self._last_good = self._snapshot()

    def _divergence_message(self, step: int) -> str:
        r = self.recipe
        hints = [f"lower the learning rates (lr_g={r.lr_g:g}, lr_d={r.lr_d:g})"]
        if r.constraint == "none" and r.loss in ("wasserstein", "hinge"):
            hints.insert(0, "constrain the critic: its score is unbounded with "
                            f"gp_lambda={r.gp_lambda:g}, clip={r.clip}, spectral_norm=False")
        if r.gp_lambda > 50:
            hints.append(f"use a smaller gradient-penalty weight (gp_lambda={r.gp_lambda:g})")
        return (f"training diverged: a loss became NaN or infinite at step {step}. Try: "
                + "; ".join(hints) + f". The trainer was rolled back to step {self.steps_at_last_good}.")

    @property
    def history(self) -> dict:
        """Per-step lists: step, d_loss, g_loss, w_estimate, gp, grad_norm, time; and events."""
        self.flush()
        return self._history

    def set(self, **changes):
        """Change λ, clip, n_critic, learning rates... from the next step on (logged as events).

        An argument that is not a tunable field is a ``TypeError`` (as for any unknown keyword); a
        bad value is the ``ValueError`` (or ``TypeError``) of ``Recipe.replace``.
        """
        unknown = sorted(set(changes) - set(TUNABLE))
        if unknown:
            raise TypeError(f"cannot change {unknown[0]!r} during training; tunable: {', '.join(TUNABLE)}")
        new = self.recipe.replace(**changes)  # validates the values
        if new.gp_lambda > 0 and self.recipe.gp_lambda == 0:
            check_no_batchnorm(self.critic)
        self.recipe = new
        self.schedule_lr(new)  # the recorded CUDA graph, if any, is recorded again for a new recipe
        for name, value in changes.items():
            self._history["events"].append({"step": self.steps, "name": name, "value": value})

    # ---- sampling ------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` generated samples on the CPU; does not disturb the training random stream."""
        rng = torch.Generator().manual_seed(self.seed + 1 if seed is None else seed)
        z = torch.randn(n, self.generator.z_dim, generator=rng).to(self.device)
        with _keep_buffers(self.generator):
            return self.generator(z).cpu()

    def real_batch(self, n: int) -> torch.Tensor:
        """``n`` real samples on the CPU, from a stream separate from training's."""
        return make_batch_fn(self.data, torch.device("cpu"),
                             torch.Generator().manual_seed(self.seed + 2))(n)

    # ---- several processes -----------------------------------------------------------------
    def parallelize(self, wrap=None, *, next_batch=None, main_process: bool = True):
        """What a run over several processes changes; ``ganedu.scale.distributed.distribute`` calls it.

        Args:
            wrap: ``module -> module`` (``DistributedDataParallel``: gradients averaged over the processes).
                The steps run ``wrap(generator)`` and ``wrap(critic)``, eagerly (no CUDA graph); sampling
                and ``state_dict`` keep the plain ``generator`` and ``critic``. Once, before the first step.
            next_batch: a new batch source ``n -> Tensor[n, ...]`` (this process's share of the data).
            main_process: False on every process but one: :meth:`save` writes nothing there.
        """
        if not isinstance(main_process, bool):
            raise TypeError(f"main_process must be True or False, got {main_process!r}")
        if wrap is not None:
            if self.wrapped is not None:
                raise ValueError("this trainer is already distributed: its networks are wrapped already")
            self.wrapped = (wrap(self.generator), wrap(self.critic))  # the same parameters
            self.use_cuda_graphs, self._graph = False, None
            self._last_good = self._snapshot()  # DDP copied rank 0's weights into every process
        if next_batch is not None:
            self.next_batch = _check_batch_source(next_batch)
        self.main_process = main_process

    # ---- state and checkpoints -------------------------------------------------------------
    def state_dict(self) -> dict:
        """What a resumed run needs to go on bit-for-bit (torch's convention; values are references).

        ``steps``, the ``state_dict()`` of ``generator``, ``critic``, ``opt_generator`` and ``opt_critic``,
        ``rng`` (the stream of data, z and ε) and ``history`` (pending statistics flushed first).
        """
        self.flush()
        return {"steps": self.steps, "generator": self.generator.state_dict(), "critic": self.critic.state_dict(),
                "opt_generator": self.opt_generator.state_dict(), "opt_critic": self.opt_critic.state_dict(),
                "rng": self.rng.get_state(), "history": self._history}

    def load_state_dict(self, state: dict):
        """Restore a :meth:`state_dict`; without ``rng`` or ``history`` (a roll-back) those are kept.

        A stream saved on another kind of device warns and restarts from ``seed + steps``.
        """
        missing, unknown = set(ROLLBACK_KEYS) - set(state), set(state) - set(STATE_KEYS)
        if missing or unknown:
            raise ValueError(f"state must have the keys {', '.join(STATE_KEYS)} (rng and history optional); "
                             f"missing {sorted(missing)}, unknown {sorted(unknown)}")
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        load_optimizer_state(self.opt_generator, state["opt_generator"])
        load_optimizer_state(self.opt_critic, state["opt_critic"])
        self._graph = None  # new state tensors: a recorded step would read the old ones
        self.steps = state["steps"]
        if "rng" in state:
            restore_rng(self.rng, state["rng"], fallback_seed=self.seed + self.steps)
        if "history" in state:
            self._history = state["history"]
        self._pending.clear()
        self._last_good = self._snapshot()

    def _snapshot(self) -> dict:
        """A copy of the state to roll back to, without the random stream and the history."""
        self.steps_at_last_good = self.steps
        state = self.state_dict()
        return copy.deepcopy({k: state[k] for k in ROLLBACK_KEYS})

    def save(self, path):
        """Write a checkpoint (``ganedu.checkpoint``): recipe, data, :meth:`state_dict`, global random
        streams. Off the main process of a distributed run (:meth:`parallelize`) it writes nothing."""
        if self.main_process:
            save_trainer(self, path)

    @classmethod
    def load(cls, path, *, device="auto", generator=None, critic=None, data=None):
        """Resume from ``save``; bit-for-bit on CPU. Loaded with ``weights_only=True``."""
        return load_trainer(cls, path, device=device, generator=generator, critic=critic, data=data)


def run_steps(model, steps: int, *, callback=None, every: int = 100, progress: bool = True, desc: str = "",
              postfix=None):
    """``steps`` calls of ``model.step()`` on ``model.threads`` CPU threads, with a progress bar;
    every ``every`` steps (and at the end) ``model.flush()``, then ``callback(model)``.
    The loop of ``Trainer.train`` and ``Population.train``."""
    from tqdm.auto import tqdm

    steps, every = check_int("steps", steps, min=1), check_int("every", every, min=1)
    bar = tqdm(total=steps, disable=not progress, desc=desc, leave=False)
    with torch_threads(model.threads):  # small CPU models: 1 thread (see ganedu.default_threads)
        for i in range(1, steps + 1):
            model.step()
            if i % every == 0 or i == steps:
                model.flush()
                bar.update(i - bar.n)
                if postfix is not None:
                    bar.set_postfix(postfix())
                if callback is not None:
                    callback(model)
    bar.close()


def _check_batch_source(next_batch):
    if not callable(next_batch):
        raise TypeError(f"next_batch must be a function n -> Tensor (a batch source), got {next_batch!r}")
    return next_batch


@contextlib.contextmanager
def _keep_buffers(module: torch.nn.Module):
    """Restore ``module``'s buffers (BatchNorm running stats) after a forward pass."""
    saved = {name: b.clone() for name, b in module.named_buffers()}
    try:
        yield
    finally:
        for name, b in module.named_buffers():
            b.copy_(saved[name])
