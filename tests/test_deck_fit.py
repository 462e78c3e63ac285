"""Every slide of every offline deck fits a 1280×720 screen (tests/browser/deck_fit.py measures it).

The measure is checked first on a small deck whose slides are built to fail one way each (too
long, a wide printed table, a tall figure, tiny text) next to one that fits and one whose long
printout scrolls inside the slide. Then the course's
decks as `make slides SLIDES_EXECUTE=none` builds them (prose, maths and the code a deck shows;
no outputs) must fit. Decks with outputs (figures, printed tables) take a run of every notebook:
`make slides SLIDES_EXECUTE=quick` then `python tests/browser/deck_fit.py slides/*.slides.html
--shots test-output/deck-fit` (the screenshots are there to be looked at).
Skips when Chromium or Playwright is missing, unless GANEDU_REQUIRE_BROWSER=1 (CI).
"""
from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import nbformat
import pytest
from delivery_fixtures import NOTEBOOKS, ROOT
from test_slides import decks, vendor  # noqa: F401  (module fixtures: the vendored files, the built decks)

from ganedu.classroom.slides import build_slides

sys.path.insert(0, str(Path(__file__).parent / "browser"))
import deck_fit  # noqa: E402
import ganedu_lab as lab  # noqa: E402

OUT = ROOT / "test-output" / "deck-fit"


def _png(width_in: float, height_in: float, dpi: int = 100) -> str:
    """A matplotlib figure of the given size as base64 PNG (what an inline figure stores)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    fig.add_subplot().plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()


def _fixture_nb():
    """One slide that fits, then one slide per way of not fitting (the slide's title says which), then a
    long printout, which scrolls inside the slide (the deck caps its height)."""
    md = lambda text: nbformat.v4.new_markdown_cell(text, metadata={"slideshow": {"slide_type": "slide"}})

    def output(kind, **data):
        cell = nbformat.v4.new_code_cell("show()", metadata={"tags": ["hide-input"]})
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=data["text"]) if kind == "stream"
                        else nbformat.v4.new_output("display_data", data=data)]
        return cell

    table = "".join(f"row {i}: " + " | ".join(f"col{j:02d} = {i * j:6.3f}" for j in range(14)) + "\n"
                    for i in range(4))
    return nbformat.v4.new_notebook(cells=[
        md("## fits\n\nA short slide: $W(P_r, P_g)$ and two lines of text."),
        output("stream", text="step 100  loss 0.69\nstep 200  loss 0.52\n"),
        md("## too long\n\n" + "\n\n".join(f"Paragraph {i} of a derivation that goes on." for i in range(30))),
        md("## wide table"),
        output("stream", text=table),
        md("## tall figure"),
        output("display_data", **{"image/png": _png(6, 9), "text/plain": "<Figure>"}),
        md('## tiny text\n\n<span style="font-size: 9px">a footnote nobody can read</span>'),
        md("## long printout"),
        output("stream", text="".join(f"step {i:4d}  loss {1 / (i + 1):.4f}\n" for i in range(60))),
    ])


def test_the_measure_flags_each_way_a_slide_does_not_fit(vendor, tmp_path):  # noqa: F811
    chromium = lab.chromium_or_skip()
    path = tmp_path / "00_fit_fixture.ipynb"
    nbformat.write(_fixture_nb(), path)
    [deck] = build_slides([path], tmp_path / "out", vendor)
    rows = deck_fit.measure_decks([deck], chromium, OUT / "fixture")
    by_title = {r["title"]: r for r in rows}
    assert sorted(by_title) == ["fits", "long printout", "tall figure", "tiny text", "too long", "wide table"], \
        by_title.keys()
    assert by_title["fits"]["problems"] == [], by_title["fits"]
    assert by_title["fits"]["height"] < deck_fit.SCREEN["height"] / 2
    assert any("past the screen" in p for p in by_title["too long"]["problems"]), by_title["too long"]
    assert by_title["too long"]["bottom"] > deck_fit.SCREEN["height"]
    assert any("wraps" in p or "right edge" in p for p in by_title["wide table"]["problems"]), by_title["wide table"]
    assert any("past the screen" in p for p in by_title["tall figure"]["problems"]), by_title["tall figure"]
    assert by_title["tiny text"]["smallest_text_px"] < deck_fit.MIN_TEXT_PX, by_title["tiny text"]
    # a long printout scrolls inside its box: the slide fits, and the scroll is reported
    assert by_title["long printout"]["problems"] == [] and len(by_title["long printout"]["scrolls"]) == 1
    assert all(not by_title[t]["scrolls"] for t in by_title if t != "long printout")
    assert all(Path(r["screenshot"]).stat().st_size > 1000 for r in rows)


@pytest.fixture(scope="module")
def measured(decks):  # noqa: F811
    """Every slide of every course deck, measured in one browser."""
    chromium = lab.chromium_or_skip()
    return deck_fit.measure_decks([decks / f"{p.stem}.slides.html" for p in NOTEBOOKS], chromium, OUT / "unexecuted")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_slide_of_the_course_decks_fits_1280x720(path, measured):
    rows = [r for r in measured if r["deck"] == path.stem]
    assert len(rows) >= 3, f"{path.name}: only {len(rows)} slides measured"
    bad = [r for r in rows if r["problems"]]
    assert not bad, f"{path.name}: slides that do not fit 1280×720:\n" + deck_fit.summary(rows)
