"""Checkpoints: everything needed to resume a run bit-for-bit on the CPU.

A checkpoint is a plain dict saved with ``torch.save`` and read back with
``torch.load(weights_only=True)`` (no arbitrary code runs when a student opens a file).
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
VERSION = 1


def save_trainer(trainer, path):
    """Write ``trainer``'s full state to ``path`` (parent folders are created)."""
    history = trainer.history  # flushes pending stats first
    state = {
        "format": FORMAT, "version": VERSION,
        "recipe": trainer.recipe.to_dict(),
        "data": list(trainer.data_name) if trainer.data_name else None,
        "model_spec": trainer.model_spec,
        "seed": trainer.seed, "steps": trainer.steps,
        "generator": trainer.generator.state_dict(), "critic": trainer.critic.state_dict(),
        "opt_g": trainer.opt_generator.state_dict(), "opt_d": trainer.opt_critic.state_dict(),
        "rng": {"data": trainer.rng.get_state(), "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        "history": history,
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
    if state.get("version") != VERSION:
        raise ValueError(f"checkpoint {path!r} has version {state.get('version')!r}; "
                         f"this ganedu reads version {VERSION}")
    return state


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
    trainer.generator.load_state_dict(state["generator"])
    trainer.critic.load_state_dict(state["critic"])
    trainer.load_optimizer_states(state["opt_g"], state["opt_d"])
    try:
        trainer.rng.set_state(state["rng"]["data"])
    except (RuntimeError, ValueError):  # saved on another kind of device (CPU vs GPU generator)
        warnings.warn("ganedu: this checkpoint's random stream was saved on another kind of device; "
                      "resuming with a fresh stream (the run goes on, but not bit-for-bit)", RuntimeWarning)
        trainer.rng.manual_seed(state["seed"] + state["steps"])
    torch.set_rng_state(state["rng"]["torch"])
    if state["rng"]["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    trainer.steps = state["steps"]
    trainer._history = state["history"]
    trainer._last_good = trainer._snapshot()
    return trainer
