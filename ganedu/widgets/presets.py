"""One-click experiments: a row of buttons, each a new run with a few settings changed.

A notebook's "Try it yourself" lists experiments and what the student should see; a preset is
one of them, ready to run: ``{"λ = 0: no penalty": {"gp_lambda": 0.0}}``. Its settings are
Recipe fields (checked by the Recipe when the dashboard is made, so a typo fails in the
notebook's cell, not on stage), plus ``"data"``, ``"seed"`` and ``"recipe"`` (another recipe's
name, as the recipe menu picks it). Every preset starts from the dashboard's first recipe (or
the named one), not from the last preset: experiments do not pile up.
"""
from __future__ import annotations

import ipywidgets as W

from ..checks import check_choice, check_int, check_type
from ..recipes import RECIPES

__all__ = ["Presets", "check_presets"]

RUN_KEYS = ("data", "seed", "recipe")  # settings of the run that are not Recipe fields


def check_presets(presets, recipe, datasets) -> dict:
    """``presets`` as ``{label: (recipe, run settings)}``, each recipe checked by ``Recipe.replace``.

    A ``TypeError`` for a preset that is not a ``{str: dict}`` entry or for an unknown field (the
    Recipe's own message, naming the preset); a ``ValueError`` for a value the Recipe refuses.
    """
    check_type("presets", presets, dict, "a dict {label: {setting: value}}")
    checked = {}
    for label, settings in presets.items():
        check_type("a preset's label", label, str, "a str")
        check_type(f"preset {label!r}", settings, dict, "a dict {setting: value}")
        run = {k: v for k, v in settings.items() if k in RUN_KEYS}
        if "data" in run:
            check_choice(f"preset {label!r}: data", run["data"], tuple(datasets))
        if "seed" in run:
            check_int(f"preset {label!r}: seed", run["seed"], min=0)
        base = recipe
        if "recipe" in run:
            base = RECIPES[check_choice(f"preset {label!r}: recipe", run["recipe"], tuple(RECIPES))]
        try:
            fields = base.replace(**{k: v for k, v in settings.items() if k not in RUN_KEYS})
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"preset {label!r}: {exc}") from None
        checked[label] = (fields, run)
    return checked


class Presets:
    """A button per preset; a click calls ``on_pick(recipe, run settings, label)``."""

    def __init__(self, presets: dict, *, on_pick):
        self.buttons = {}
        for label, (recipe, run) in presets.items():
            button = W.Button(description=label, tooltip=label, layout=W.Layout(width="auto"))
            button.add_class("ganedu-preset")
            button.on_click(lambda _b, r=recipe, s=run, text=label: on_pick(r, s, text))
            self.buttons[label] = button
        self.row = W.HBox([W.HTML("<b>Try:</b>"), *self.buttons.values()],
                          layout=W.Layout(flex_flow="row wrap"))
        if not self.buttons:
            self.row.layout.display = "none"
