"""Checkpoints: everything needed to resume a run bit-for-bit on the CPU.

A checkpoint is a plain dict saved with ``torch.save`` and read back with
``torch.load(weights_only=True)`` (no arbitrary code runs when a student opens a file): how to
build the Trainer again (recipe, data, networks' spec, seed), where it stands
(``Trainer.state_dict()``: steps, networks, optimisers, random stream, history) and the process's
global random streams. What a Trainer's state is, ``Trainer.state_dict`` alone says.
"""
from __future__ import annotations

import os
import warnings
import zipfile

import torch

from .batches import resolve_data
from .models import models_from_spec
from .recipes import Recipe

FORMAT = "ganedu-checkpoint"
VERSION = 2  # 2: the Trainer's state under "trainer"; 1 (read too): its fields at the top level


def save_trainer(trainer, path):
    """Write ``trainer``'s full state to ``path`` (parent folders are created)."""
    state = {
        "format": FORMAT, "version": VERSION,
        "recipe": trainer.recipe.to_dict(),
        "data": list(trainer.data_name) if trainer.data_name else None,
        "model_spec": trainer.model_spec, "seed": trainer.seed,
        "trainer": trainer.state_dict(),  # flushes pending statistics first
        "torch_rng": {"cpu": torch.get_rng_state(),
                      "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
    }
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(state, path)


def read_checkpoint(path) -> dict:
    """Read and check a checkpoint file; a clear ValueError if it is missing, corrupt or foreign."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"checkpoint {path!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ValueError(f"checkpoint {path!r} is corrupt or not a torch file ({exc.__class__.__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}); re-save it with Trainer.save") from exc
    except Exception as exc:  # unpickling a foreign object under weights_only
        raise ValueError(f"checkpoint {path!r} holds objects that are not plain tensors/dicts; "
                         "it was not written by ganedu's Trainer.save") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a ganedu checkpoint (no format={FORMAT!r} entry); "
                         "was it written by Trainer.save?")
    if state.get("version") == 1:
        state = _from_version_1(state)
    if state.get("version") != VERSION:
        raise ValueError(f"checkpoint {path!r} has version {state.get('version')!r}; "
                         f"this ganedu reads versions 1 and {VERSION}")
    return state


def _from_version_1(state: dict) -> dict:
    """A version-1 checkpoint (the Trainer's fields at the top level) in version 2's layout."""
    rng = state["rng"]
    trainer = {"steps": state["steps"], "generator": state["generator"], "critic": state["critic"],
               "opt_generator": state["opt_g"], "opt_critic": state["opt_d"], "rng": rng["data"],
               "history": state["history"]}
    return {**{k: state[k] for k in ("format", "recipe", "data", "model_spec", "seed")}, "version": 2,
            "trainer": trainer, "torch_rng": {"cpu": rng["torch"], "cuda": rng["cuda"]}}


def load_trainer(cls, path, *, device="auto", generator=None, critic=None, data=None):
    """Rebuild a Trainer from ``path`` (see ``Trainer.load``)."""
    state = read_checkpoint(path)
    recipe = Recipe.from_dict(state["recipe"])
    if generator is None or critic is None:
        if state["model_spec"] is None:
            raise ValueError(f"checkpoint {os.fspath(path)!r} was made with custom networks; pass "
                             "generator= and critic= to Trainer.load")
        generator, critic = models_from_spec(state["model_spec"])
    data_name = state["data"]
    if data is None:
        if data_name is None:
            raise ValueError("the checkpoint was trained on a tensor or Dataset it does not store; "
                             "pass data= to Trainer.load")
        data = resolve_data(data_name[0], image_size=data_name[1])
    trainer = cls(recipe, generator, critic, data, device=device, seed=state["seed"])
    trainer.model_spec = state["model_spec"]
    trainer.data_name = tuple(data_name) if data_name else None
    trainer.load_state_dict(state["trainer"])
    torch.set_rng_state(state["torch_rng"]["cpu"])
    if state["torch_rng"]["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_rng"]["cuda"])
    return trainer


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict):
    """``optimizer.load_state_dict(state)``, keeping the optimizer's own form: on CUDA its learning
    rates stay 0-d GPU tensors (a recorded step reads them) and its step counts move to the GPU."""
    keep = [{k: g[k] for k in ("lr", "capturable", "fused", "foreach") if k in g} for g in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, kept in zip(optimizer.param_groups, keep):
        group.update(kept)  # the lr's value is set again (Trainer.schedule_lr) before each step
        for p in group["params"] if group.get("capturable") else ():
            p_state = optimizer.state.get(p, {})  # a CPU checkpoint's step counts, moved to the GPU
            if isinstance(p_state.get("step"), torch.Tensor):
                p_state["step"] = p_state["step"].to(p.device)


def restore_rng(rng: torch.Generator, state: torch.Tensor, *, fallback_seed: int):
    """``rng.set_state(state)``; a state from another kind of device (a CUDA generator's on a CPU
    one, or the reverse) cannot be set: warn, and reseed with ``fallback_seed`` instead."""
    try:
        rng.set_state(state)
    except (RuntimeError, ValueError):
        warnings.warn("ganedu: this checkpoint's random stream was saved on another kind of device; "
                      "resuming with a fresh stream (the run goes on, but not bit-for-bit)", RuntimeWarning)
        rng.manual_seed(fallback_seed)
