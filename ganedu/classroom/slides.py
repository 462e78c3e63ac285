"""Offline reveal.js decks of the notebooks (``make slides``).

nbconvert's slides exporter loads reveal.js, require.js, jQuery, MathJax and mermaid from CDNs,
so its decks go blank in a lecture hall without network. This builder exports each notebook
with a template that loads everything from ``<out>/_static/`` instead: reveal.js 4 (with its
notes plugin: press ``S`` for the speaker view, which shows the cells whose slide type is
``notes``) and MathJax 3 (SVG output, one file, no web fonts), both unpacked from the npm
registry by ``make slides`` into ``.cache/vendor/``. Copy the whole ``slides/`` folder and the
decks open from disk, offline.

    python -m ganedu.classroom.slides notebooks/*.ipynb --out slides --vendor .cache/vendor --execute full

``--execute`` runs each notebook first (``quick``: GANEDU_QUICK=1, ``full``, or ``none`` for a
deck of the stored notebook, which has no outputs). Live widgets cannot run in a static deck:
their output is replaced by a one-line note (the figures next to them stay).

What a deck shows is set in each cell's metadata: ``slideshow.slide_type`` (``skip`` drops the
cell, ``notes`` puts it in the speaker view) and the cell tag ``hide-input``, which keeps a code
cell's output (its figure) on the slide and drops its code (plotting code a lecture need not show).
"""
from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import sys
from pathlib import Path

from ..checks import check_choice

#: files copied from the vendored npm packages: (package folder, path inside it)
ASSETS = [
    ("reveal.js", "dist/reveal.js"),
    ("reveal.js", "dist/reveal.css"),
    ("reveal.js", "dist/theme"),
    ("reveal.js", "plugin/notes/notes.js"),
    ("reveal.js", "LICENSE"),
    ("mathjax", "es5/tex-svg-full.js"),
    ("mathjax", "LICENSE"),
]
STATIC = "_static"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
HIDE_INPUT = "hide-input"   #: cell tag: the deck shows the cell's output, not its code
WIDGET_NOTE = ("<p><em>(live widget: open the notebook in JupyterLab, Colab or Binder to use it)</em></p>")

DECK_SIZE = (1280, 720)  #: the deck's own width and height in pixels: a 16:9 screen (reveal.js scales it)

TEMPLATE_NAME = "ganedu_offline_reveal.html.j2"
TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_jquery -%}{%- endblock html_head_js_jquery -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
        processEscapes: true, processEnvironments: true, tags: 'ams'},
  svg: {fontCache: 'global'},
  options: {enableMenu: false}
};
</script>
<script src="{{ resources.ganedu_static }}/mathjax/es5/tex-svg-full.js"></script>
{%- endblock html_head_js_mathjax -%}
{%- block html_head_css -%}
<style type="text/css">
/* A lecture deck for a 1280x720 screen (the deck is laid out at that size; reveal.js scales it). */
.reveal .jp-InputPrompt, .reveal .jp-OutputPrompt { display: none; }  /* no "In [12]:" on a slide */
:root { --jp-code-font-size: 15px; }                  /* 130 characters of code on one line */
.reveal div.jp-OutputArea-output > pre {              /* 130 characters: printed tables keep their rows */
  width: 100%; box-sizing: border-box; font-size: 15px; line-height: 1.3;
  max-height: 560px; overflow-y: auto;                /* a long printout scrolls inside the slide */
}
.reveal .jp-RenderedMarkdown table { font-size: 16px; }   /* a comparison table in prose */
.reveal .jp-RenderedImage img { max-height: 620px; width: auto; }   /* a figure fits under a title */
</style>
{%- endblock html_head_css -%}
{% block footer_js %}
<script src="{{ resources.ganedu_static }}/reveal.js/dist/reveal.js"></script>
<script src="{{ resources.ganedu_static }}/reveal.js/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({
  controls: true, progress: true, hash: true, slideNumber: true,
  transition: "{{ reveal_transition }}", width: {{ reveal_width }}, height: {{ reveal_height }},
  plugins: [RevealNotes]
});
</script>
{% endblock footer_js %}
"""


def vendor_assets(vendor_dir, out_dir) -> Path:
    """Copy the reveal.js and MathJax files the decks need into ``out_dir/_static``."""
    vendor_dir, static = Path(vendor_dir), Path(out_dir) / STATIC
    missing = [f"{pkg}/{rel}" for pkg, rel in ASSETS if not (vendor_dir / pkg / rel).exists()]
    if missing:
        raise FileNotFoundError(
            f"vendored files missing under {vendor_dir}: {', '.join(missing)}. `make slides` fetches "
            "them with npm (npm pack reveal.js@4 and mathjax@3); run it once with network access.")
    for pkg, rel in ASSETS:
        src, dest = vendor_dir / pkg / rel, static / pkg / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dest)
    return static


def execute_notebook(nb, path: Path, mode: str, timeout: int = 600):
    """Run ``nb`` in a fresh kernel (``mode`` quick or full), in the notebook's folder."""
    from nbclient import NotebookClient

    env = dict(os.environ, GANEDU_QUICK="1" if mode == "quick" else "0")
    env.pop("MPLBACKEND", None)        # the kernel's inline backend, so figures land in the deck
    NotebookClient(nb, timeout=timeout, resources={"metadata": {"path": str(path.parent.resolve())}}
                   ).execute(env=env)
    return nb


def prepare_for_slides(nb):
    """A copy of ``nb`` without live-widget outputs (a note instead) or stored widget state, and
    without the code of cells tagged ``hide-input`` (their outputs stay)."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if HIDE_INPUT in cell.metadata.get("tags", []):
            cell.metadata["transient"] = {"remove_source": True}   # nbconvert's templates honour it
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_MIME in data:
                out = copy.deepcopy(out)
                out["data"] = {"text/html": WIDGET_NOTE}
            kept.append(out)
        cell.outputs = kept
    return nb


def slides_exporter():
    from jinja2 import DictLoader
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(extra_loaders=[DictLoader({TEMPLATE_NAME: TEMPLATE})])
    exporter.template_file = TEMPLATE_NAME
    exporter.reveal_url_prefix = f"{STATIC}/reveal.js"
    exporter.reveal_theme = "white"
    exporter.reveal_width, exporter.reveal_height = str(DECK_SIZE[0]), str(DECK_SIZE[1])
    return exporter


def build_slides(notebooks, out_dir, vendor_dir, *, execute: str = "none", timeout: int = 600) -> list[Path]:
    """Write ``<out_dir>/<name>.slides.html`` for each notebook plus ``<out_dir>/_static``."""
    import nbformat

    check_choice("execute", execute, ("none", "quick", "full"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    vendor_assets(vendor_dir, out_dir)
    exporter = slides_exporter()
    written = []
    for path in map(Path, notebooks):
        nb = nbformat.read(path, as_version=4)
        if execute != "none":
            print(f"running {path} ({execute} mode) ...", flush=True)
            execute_notebook(nb, path, execute, timeout)
        body, _ = exporter.from_notebook_node(
            prepare_for_slides(nb), resources={"ganedu_static": STATIC, "metadata": {"name": path.stem}})
        dest = out_dir / f"{path.stem}.slides.html"
        dest.write_text(body, encoding="utf-8")
        written.append(dest)
        print(f"wrote {dest}", flush=True)
    return written


#: what a deck may load from the network: nothing. (Links a reader clicks, <a href>, are fine.)
NETWORK_LOAD = re.compile(
    r"""(?:<(?:script|img|iframe|source|video|audio|embed)\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//"""
    r"""|\bimport\b[^;\n]*\bfrom\s*["'](?:https?:)?//"""
    r"""|\brequire(?:js)?\s*\(\s*[\[{])""", re.I)


def network_loads(html: str) -> list[str]:
    """Snippets of ``html`` that would fetch something from the network (empty: offline-safe)."""
    return [html[max(0, m.start() - 20):m.end() + 60] for m in NETWORK_LOAD.finditer(html)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganedu.classroom.slides",
                                     description="Export notebooks to reveal.js decks that open offline.")
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--out", default="slides", help="output folder (default: slides)")
    parser.add_argument("--vendor", default=".cache/vendor",
                        help="folder with the unpacked npm packages reveal.js/ and mathjax/")
    parser.add_argument("--execute", default="none", choices=("none", "quick", "full"),
                        help="run each notebook first (default: none)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    try:
        build_slides(args.notebooks, args.out, args.vendor, execute=args.execute, timeout=args.timeout)
    except (FileNotFoundError, ValueError) as exc:
        print(f"ganedu.classroom.slides: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
