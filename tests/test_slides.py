"""`make slides`: one offline reveal.js deck per notebook, enough slides, speaker notes, no CDN.

The deck tests build every notebook's deck without running it (SLIDES_EXECUTE=none: the
structure is the same; running them is nbval's job). reveal.js and MathJax are fetched once
from the npm registry by the make target into .cache/vendor/ (git-ignored).
When Chromium and Playwright are there, a deck is also opened from disk in a real browser with
every network request refused: reveal.js must start and MathJax must typeset.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from delivery_fixtures import NOTEBOOKS, ROOT, make_command, markdown_headings, nb_id, source

from ganedu.classroom.slides import (STATIC, WIDGET_MIME, build_slides, network_loads, prepare_for_slides,
                           slides_exporter)

VENDOR = ROOT / ".cache" / "vendor"


class _Deck(HTMLParser):
    """Counts reveal.js slides (innermost <section>s), notes asides, and local references."""

    def __init__(self):
        super().__init__()
        self.depth, self.leaves, self._has_child = 0, 0, []
        self.notes, self.refs = 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            if self._has_child:
                self._has_child[-1] = True
            self._has_child.append(False)
        if tag == "aside" and "notes" in (attrs.get("class") or "").split():
            self.notes += 1
        for key in ("src", "href"):
            value = attrs.get(key)
            if value and tag in ("script", "link", "img") and not value.startswith(("data:", "#")):
                self.refs.append(value)

    def handle_endtag(self, tag):
        if tag == "section" and self._has_child:
            if not self._has_child.pop():
                self.leaves += 1


def parse_deck(html: str) -> _Deck:
    deck = _Deck()
    deck.feed(html)
    return deck


@pytest.fixture(scope="module")
def vendor():
    proc = subprocess.run(make_command("vendor"), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, ("`make vendor` (npm pack reveal.js and mathjax) failed:\n"
                                  + proc.stdout + proc.stderr)
    return VENDOR


@pytest.fixture(scope="module")
def decks(vendor, tmp_path_factory):
    out = tmp_path_factory.mktemp("slides")
    proc = subprocess.run(make_command("slides", SLIDES_DIR=str(out), SLIDES_EXECUTE="none"),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def _fixture_nb():
    """A small notebook with stored outputs: a PNG, a live widget, maths and a speaker note."""
    md = lambda text, kind: nbformat.v4.new_markdown_cell(text, metadata={"slideshow": {"slide_type": kind}})
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
    plot = nbformat.v4.new_code_cell("plot()", metadata={"slideshow": {"slide_type": "-"}})
    plot.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]
    widget = nbformat.v4.new_code_cell("dash", metadata={"slideshow": {"slide_type": "fragment"}})
    widget.outputs = [nbformat.v4.new_output("display_data", data={
        WIDGET_MIME: {"model_id": "abc", "version_major": 2, "version_minor": 0}, "text/plain": "VBox()"})]
    nb = nbformat.v4.new_notebook(cells=[
        md("# Title\n\nThe [WGAN paper](https://arxiv.org/abs/1701.07875).", "slide"),
        plot,
        md("## Equation\n\n$$W(P_r, P_g) = \\inf_\\gamma E|x - y|$$", "subslide"),
        md("Say: the infimum is over couplings.", "notes"),
        widget,
        md("## Last", "slide"),
    ])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


# ----------------------------------------------------------------------- unit tests
def test_default_nbconvert_deck_is_caught_by_the_network_check():
    """The check can fail: nbconvert's own template loads reveal.js, require.js... from CDNs."""
    from nbconvert import SlidesExporter

    html, _ = SlidesExporter().from_notebook_node(_fixture_nb())
    found = network_loads(html)
    assert any("reveal" in s for s in found) and any("require" in s for s in found), found


def test_fixture_deck_offline_with_figure_notes_and_no_widget_state(vendor, tmp_path):
    path = tmp_path / "01_fixture.ipynb"
    nbformat.write(_fixture_nb(), path)
    [deck_path] = build_slides([path], tmp_path / "out", vendor)
    html = deck_path.read_text()
    assert network_loads(html) == []
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html), "figures must be embedded"
    assert "live widget" in html and "widget-state" not in html
    deck = parse_deck(html)
    assert deck.leaves == 3 and deck.notes == 1
    assert re.search(r'<aside class="notes">.*?the infimum is over couplings', html, re.S)
    assert 'href="https://arxiv.org/abs/1701.07875"' in html          # a link to click is fine
    for ref in deck.refs:
        assert (deck_path.parent / ref).is_file(), f"deck refers to missing {ref}"
    assert any(r.endswith("reveal.js/dist/reveal.js") for r in deck.refs)
    assert any(r.endswith("mathjax/es5/tex-svg-full.js") for r in deck.refs)


def test_widget_outputs_replaced_not_dropped():
    nb = prepare_for_slides(_fixture_nb())
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert len(outputs) == 2 and not any(WIDGET_MIME in o.get("data", {}) for o in outputs)
    assert "widgets" not in nb.metadata
    assert "widgets" in _fixture_nb().metadata                           # the input is not changed


def test_hide_input_keeps_the_figure_and_drops_the_code():
    nb = _fixture_nb()
    nb.cells[1].source = "plot_the_secret_helper()"
    nb.cells[1].metadata["tags"] = ["hide-input"]
    html, _ = slides_exporter().from_notebook_node(prepare_for_slides(nb), resources={"ganedu_static": STATIC})
    assert "plot_the_secret_helper" not in html                         # the code is gone
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html)    # its figure stays
    nb.cells[1].metadata["tags"] = []
    html, _ = slides_exporter().from_notebook_node(prepare_for_slides(nb), resources={"ganedu_static": STATIC})
    assert "plot_the_secret_helper" in html                             # untagged: the code is shown


def test_missing_vendor_files_explain_how_to_get_them(tmp_path):
    path = tmp_path / "01_fixture.ipynb"
    nbformat.write(_fixture_nb(), path)
    with pytest.raises(FileNotFoundError, match="make slides"):
        build_slides([path], tmp_path / "out", tmp_path / "no-vendor")


def test_exporter_template_has_no_cdn_defaults():
    exporter = slides_exporter()
    assert exporter.reveal_url_prefix == f"{STATIC}/reveal.js"


# ------------------------------------------------------------- the course's notebooks
def test_one_deck_per_notebook(decks):
    assert sorted(p.name for p in decks.glob("*.slides.html")) == [f"{p.stem}.slides.html" for p in NOTEBOOKS]
    if NOTEBOOKS:
        assert (decks / STATIC / "reveal.js" / "dist" / "reveal.js").is_file()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=nb_id)
def test_deck_of_course_notebook(path, decks):
    nb = nbformat.read(path, as_version=4)
    html = (decks / f"{path.stem}.slides.html").read_text()
    assert network_loads(html) == [], f"{path.name}: the deck loads from the network"
    assert not re.search(r"(unpkg|cdnjs|jsdelivr|cdn\.)", html, re.I), "a CDN is named in the deck"
    deck = parse_deck(html)
    headings = markdown_headings(nb)
    assert deck.leaves >= headings, (f"{path.name}: {deck.leaves} slides for {headings} markdown headings: "
                                     "give each heading's cell slide_type 'slide' or 'subslide'")
    n_notes = sum(1 for c in nb.cells if c.metadata.get("slideshow", {}).get("slide_type") == "notes")
    assert deck.notes >= min(n_notes, 1), f"{path.name}: speaker notes missing from the deck"
    for ref in deck.refs:
        assert not ref.startswith(("http:", "https:", "//")) and (decks / ref).is_file(), ref
    for cell in nb.cells:                       # every speaker note's text reaches the deck
        if cell.metadata.get("slideshow", {}).get("slide_type") == "notes" and cell.cell_type == "markdown":
            words = re.findall(r"[A-Za-z]{5,}", source(cell))[:3]
            for word in words:
                assert word in html


# ---------------------------------------------------------------- a real browser, offline
def _browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        chromium = None
    if chromium is None:
        if os.environ.get("GANEDU_REQUIRE_BROWSER") == "1":
            pytest.fail("GANEDU_REQUIRE_BROWSER=1 but Chromium or Playwright is missing")
        pytest.skip("Chromium + Playwright not available: the offline browser check needs them")
    return chromium


def test_deck_opens_offline_in_a_browser(vendor, tmp_path):
    chromium = _browser()
    from playwright.sync_api import sync_playwright

    path = tmp_path / "01_fixture.ipynb"
    nbformat.write(_fixture_nb(), path)
    [deck] = build_slides([path], tmp_path / "out", vendor)
    network, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=[
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page()
            page.route(re.compile(r"^https?://"), lambda route: (network.append(route.request.url), route.abort()))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("requestfailed", lambda req: errors.append(f"failed: {req.url}"))
            page.goto(deck.as_uri())
            page.wait_for_function("typeof Reveal !== 'undefined' && Reveal.isReady()", timeout=20000)
            page.wait_for_function("document.querySelectorAll('mjx-container svg').length >= 1", timeout=20000)
            total = page.evaluate("Reveal.getTotalSlides()")
            notes = page.evaluate("Reveal.getSlideNotes(Reveal.getSlides()[1])")
        finally:
            browser.close()
    assert network == [] and errors == [], (network, errors)
    assert total == 3
    assert "couplings" in notes
