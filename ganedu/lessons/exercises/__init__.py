"""Check functions for the notebooks' exercises: ``ganedu.lessons.exercises.check_<name>(...)``.

Each check runs the student's code on random inputs (including the known pitfalls), compares
it with a reference, prints a friendly verdict and returns True / False. It never prints the
solution. A stub left unchanged (``raise NotImplementedError``) makes the check raise a friendly
``NotImplementedError`` so that "Run all" stops at the first exercise still to do.

The checks of each notebook live in their own module (``nb01_minimax.py`` ...); every
``check_*`` function of those modules is available here.
"""
from __future__ import annotations

import importlib
import pkgutil

from .core import RESULTS, report, run_student

__all__ = ["RESULTS", "report", "run_student"]


def _check_modules():
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("nb"):
            yield importlib.import_module(f"{__name__}.{info.name}")


def __getattr__(name):
    if name.startswith("check_"):
        for module in _check_modules():
            if hasattr(module, name):
                return getattr(module, name)
    raise AttributeError(f"module 'ganedu.lessons.exercises' has no attribute {name!r}")


def __dir__():
    names = set(__all__)
    for module in _check_modules():
        names.update(n for n in dir(module) if n.startswith("check_"))
    return sorted(names)
