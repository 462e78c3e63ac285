"""Argument checks, and the one rule for which error a bad argument raises.

- ``TypeError`` when the argument has the wrong **type**: a float where an int is needed, a string
  where a tensor is needed, an integer tensor where floats are needed, a keyword (a field name)
  that does not exist.
- ``ValueError`` when the type is right but the **value** is not allowed: a negative size, an
  unknown dataset name, a tensor of the wrong shape.

Every message names the argument, says what is expected and shows what was given, e.g.
``n_critic must be an integer >= 1, got 0``. Each check returns the value it checked, so a check
reads as an assignment: ``n = check_int("n", n, min=1)``. ``True`` and ``False`` never count as
numbers (Python's ``bool`` is an ``int``, but ``width=True`` is always a mistake).
"""
from __future__ import annotations

import difflib
import math
import numbers

import torch

__all__ = ["check_type", "check_int", "check_number", "check_choice", "check_tensor", "check_fields"]


def _given(value) -> str:
    """What was given, briefly: ``2.5 (float)`` for a small value, the type's name for a big one."""
    text = repr(value)
    if isinstance(value, (numbers.Number, str, list, tuple, type(None))) and len(text) <= 60:
        return f"{text} ({type(value).__name__})"
    return type(value).__name__


def check_type(name: str, value, kind, expected: str):
    """``value`` if it is an instance of ``kind`` (a type or a tuple of types), else a ``TypeError``.

    ``expected`` says what is wanted in words, e.g. ``"a torch.nn.Module"``. A bool passes only
    when ``kind`` is ``bool``.
    """
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(f"{name} must be {expected}, got {_given(value)}")
    return value


def check_int(name: str, value, *, min: int | None = None, max: int | None = None,
              expected: str | None = None) -> int:
    """``value`` as an ``int`` if it is a whole number in ``[min, max]`` (either bound optional).

    ``TypeError`` for a float, a string or a bool; ``ValueError`` for an int out of range.
    ``expected`` replaces the default wording (``"an integer >= 1"``).
    """
    if expected is None:
        bounds = [f"{op} {b}" for op, b in ((">=", min), ("<=", max)) if b is not None]
        expected = ("an integer " + " and ".join(bounds)).strip()
    check_type(name, value, numbers.Integral, expected)
    if (min is not None and value < min) or (max is not None and value > max):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_number(name: str, value, *, gt: float | None = None, ge: float | None = None,
                 lt: float | None = None, le: float | None = None, expected: str | None = None) -> float:
    """``value`` if it is a finite real number within the bounds ``> gt``, ``>= ge``, ``< lt``, ``<= le``.

    ``TypeError`` for a string, a tensor or a bool; ``ValueError`` for NaN, ±inf or a number out of
    range. Returns a Python ``int`` or ``float`` (a NumPy scalar becomes a ``float``).
    ``expected`` replaces the default wording (``"a finite number > 0"``).
    """
    if expected is None:
        bounds = [f"{op} {b:g}" for op, b in ((">", gt), (">=", ge), ("<", lt), ("<=", le)) if b is not None]
        expected = ("a finite number " + " and ".join(bounds)).strip()
    check_type(name, value, numbers.Real, expected)
    x = float(value)
    if not (math.isfinite(x) and (gt is None or x > gt) and (ge is None or x >= ge)
            and (lt is None or x < lt) and (le is None or x <= le)):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value if type(value) in (int, float) else x


def check_choice(name: str, value, choices: tuple):
    """``value`` if it is one of ``choices``: names (strings) or whole numbers such as image sizes.

    ``TypeError`` when ``value`` is not of the choices' kind (not a string, not an int),
    ``ValueError`` when it is but is not among them.
    """
    expected = "one of " + ", ".join(map(repr, choices))
    check_type(name, value, str if isinstance(choices[0], str) else numbers.Integral, expected)
    if value not in choices:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def check_tensor(name: str, value, *, ndim: int | None = None, floating: bool = False) -> torch.Tensor:
    """``value`` if it is a non-empty batch ``(B, ...)``: a ``torch.Tensor`` with ``B >= 1``.

    ``TypeError`` when it is not a tensor, or (``floating=True``) holds integers or bools;
    ``ValueError`` when it does not have ``ndim`` dims, has no batch dim (0-d) or no elements.
    """
    check_type(name, value, torch.Tensor, "a torch.Tensor")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dims, got shape {tuple(value.shape)}")
    if value.ndim == 0 or value.numel() == 0:
        raise ValueError(f"{name} must be a non-empty batch (B, ...), got shape {tuple(value.shape)}")
    return value


def check_fields(owner: str, names, fields) -> None:
    """``TypeError`` for the first of ``names`` (keyword arguments) that is not one of ``fields``.

    The message suggests the closest field, for a misspelt name: ``gp_lamda`` -> ``gp_lambda``.
    """
    fields = list(fields)
    for name in names:
        if name not in fields:
            close = difflib.get_close_matches(name, fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(f"unknown field {name!r}: {owner} has no field {name!r}{hint}; "
                            f"its fields are: {', '.join(fields)}")
