"""The class picker of a conditional run: which class the dashboard draws.

A conditional recipe trains ``G(z, y)`` and ``D(x, y)``; the picker's menu holds "every class"
and each class k. The dashboard draws what it names (``ganedu.plot.plot_trainer``'s ``label``):
every class in turn with each class's accuracy, or ``G(z, k)`` and the critic ``D(x, k)``.
"""
from __future__ import annotations

import ipywidgets as W

__all__ = ["ClassPicker"]

EVERY = -1  # the menu's value for "every class" (a Dropdown's None means "nothing chosen")


class ClassPicker:
    """A "show" menu, hidden until a run has classes; ``on_pick(label)`` hears a choice (None: every class)."""

    def __init__(self, on_pick):
        self.widget = W.Dropdown(options=[("every class", EVERY)], value=EVERY, description="show",
                                 style={"description_width": "40px"}, layout=W.Layout(width="170px", display="none"))
        self.widget.add_class("ganedu-class")
        self._quiet = False
        self.widget.observe(lambda change: None if self._quiet else on_pick(_label(change["new"])), "value")

    @property
    def label(self):
        """The class shown (None: every class)."""
        return _label(self.widget.value)

    def offer(self, n_classes: int):
        """A new run with ``n_classes`` classes (0: none, the menu hides), shown from every class."""
        self.widget.layout.display = None if n_classes else "none"
        self._set([("every class", EVERY), *((f"class {k}", k) for k in range(n_classes))], EVERY)

    def show(self, label):
        """Show ``label`` in the menu without calling ``on_pick``."""
        self._set(list(self.widget.options), EVERY if label is None else label)

    def _set(self, options, value):
        self._quiet = True
        try:
            if list(self.widget.options) != options:
                self.widget.options = options
            self.widget.value = value
        finally:
            self._quiet = False


def _label(value):
    return None if value == EVERY else value
