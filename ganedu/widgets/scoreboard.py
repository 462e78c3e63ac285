"""The scoreboard: modes and HQ of the live run as bars, the papers' values as marks on them.

On the Gaussian mixtures the papers report (the 8-mode ring, the 25-mode grid), each bar is the
live value (modes within 3σ of a centre, and the HQ fraction: :func:`ganedu.metrics.mode_coverage`)
and each thin mark a published mean (:data:`ganedu.literature.LITERATURE`, VEEGAN Table 1 and
PacGAN Table 1), so a student sees where the run stands beside GAN, ALI, Unrolled GAN, VEEGAN and
PacGAN as the papers measured them. Plain HTML (no figure): cheap to update at every redraw.
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..literature import SETS, published

__all__ = ["Scoreboard", "scoreboard_html", "SOURCE_COLORS"]

#: a colour per quoted table (Okabe-Ito: black and reddish purple)
SOURCE_COLORS = {"VEEGAN T1": "#000000", "PacGAN T1": "#CC79A7"}
_BAR = "#009E73"


def _row(name: str, value: float, top: float, shown: str, marks: list[tuple[float, str, str]]) -> str:
    """One bar from 0 to ``top``: the live ``value`` filled, each mark ``(value, label, colour)`` a tick."""
    pct = lambda v: f"{100 * min(max(v / top, 0.0), 1.0):.2f}%"  # noqa: E731
    ticks = "".join(
        f'<div class="ganedu-mark" data-value="{v:g}" title="{html.escape(label)}" style="position:absolute;'
        f'left:{pct(v)};top:-3px;width:2px;height:20px;margin-left:-1px;background:{colour}"></div>'
        for v, label, colour in marks)
    return (f'<div style="display:flex;align-items:center;gap:8px;margin:4px 0">'
            f'<span style="width:130px">{name} <b>{shown}</b></span>'
            f'<div style="position:relative;width:320px;height:14px;background:#EEEEEE">'
            f'<div class="ganedu-bar" data-value="{value:g}" style="width:{pct(value)};height:100%;'
            f'background:{_BAR}"></div>{ticks}</div></div>')


def scoreboard_html(data: str, scores: dict) -> str:
    """The scoreboard for ``scores`` (``modes``, ``n_modes``, ``hq`` of :func:`ganedu.widgets.view.score_live`)
    on ``data``, one of ``ganedu.literature.SETS``: a bar per metric, a mark per published value."""
    rows = published(data)
    label = lambda r, v: f"{r['method']} ({r['source']}): {v}"  # noqa: E731
    k = scores["n_modes"]
    modes = [(r["modes"], label(r, f"{r['modes']:g} of {k}"), SOURCE_COLORS[r["source"]]) for r in rows]
    hq = [(r["hq"], label(r, f"{r['hq']:.1%}"), SOURCE_COLORS[r["source"]]) for r in rows]
    key = " · ".join(f'<span style="color:{c}">▮</span> {s}' for s, c in SOURCE_COLORS.items())
    quoted = "; ".join(f"{r['method']} ({r['source']}) {r['modes']:g}/{k}, {r['hq']:.1%}" for r in rows)
    return ("<div style='font-size:12px'><div style='display:flex;flex-wrap:wrap;column-gap:24px'>"
            + _row("modes within 3σ", scores["modes"], k, f"{scores['modes']}/{k}", modes)
            + _row("HQ samples", scores["hq"], 1.0, f"{scores['hq']:.0%}", hq)
            + f"</div><details style='color:#555'><summary>marks: the papers' means (quoted, not run here), {key}"
              f"</summary><span class='ganedu-quoted'>{html.escape(quoted)}</span></details></div>")


class Scoreboard:
    """An ``HTML`` widget (class ``ganedu-scoreboard``), shown on the ring and the grid only."""

    def __init__(self):
        self.widget = W.HTML("", layout=W.Layout(display="none"))
        self.widget.add_class("ganedu-scoreboard")

    def show(self, data: str, scores: dict):
        """Draw ``scores`` on ``data``; hidden where the papers report nothing (or nothing is scored)."""
        if data in SETS and "modes" in scores:
            self.widget.value = scoreboard_html(data, scores)
            self.widget.layout.display = None
        else:
            self.widget.layout.display = "none"
