"""What every exercise check shares: run the student's code, report a verdict, remember it."""
from __future__ import annotations

import os

#: name of each exercise checked in this kernel -> passed? (read by ``python -m ganedu grade``)
RESULTS: dict[str, bool] = {}


class ExerciseNotDone(NotImplementedError):
    """Raised by a check when the exercise's stub is still in place."""


def report(name: str, ok: bool, message: str) -> bool:
    """Print a verdict for exercise ``name``, record it in ``RESULTS``, return ``ok``.

    Under nbgrader (``NBGRADER_EXECUTION`` is set while it autogrades or validates) a wrong answer
    also raises ``AssertionError``: nbgrader scores a test cell by whether it raises.
    """
    RESULTS[name] = bool(ok)
    print(("✓ Correct: " if ok else "✗ Not yet: ") + message)  # plain glyphs: no emoji font needed
    if not ok and os.environ.get("NBGRADER_EXECUTION"):
        raise AssertionError(f"exercise {name!r}: {message}")
    return bool(ok)


def run_student(name: str, fn, *args, **kwargs):
    """Call the student's ``fn``; turn the untouched stub into a friendly ``ExerciseNotDone``."""
    if not callable(fn):
        raise TypeError(f"exercise {name!r}: expected your function, got {type(fn).__name__}")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        RESULTS[name] = False
        raise ExerciseNotDone(
            f"Exercise {name!r} is not done yet: replace the `raise NotImplementedError` line in the "
            f"cell above with your code, run that cell, then run this check again. ({exc})") from None
