"""What a lecture shows: every notebook's deck keeps most code off the screen and has speaker notes.

NOTEBOOKS.md: "on screen only the lesson's code (the loss, the penalty, the training call) and the
figures — setup, imports and plotting code skipped or their input hidden. At most ~40% of code cells
visible", and "every section has a speaker-notes cell: what to say, what to ask the room, what to
click and what the room will see". A code cell is visible in a deck unless its slide type is
``skip`` (or ``notes``) or it carries the ``hide-input`` tag (the offline decks then show its output
only: ganedu.classroom.slides). A section starts at each markdown cell whose slide type is ``slide``.
"""
from __future__ import annotations

import nbformat
import pytest
from delivery_fixtures import NOTEBOOKS, nb_id, source

from ganedu.classroom.slides import HIDE_INPUT

MAX_VISIBLE_CODE = 0.40


def slide_type(cell) -> str:
    return cell.metadata.get("slideshow", {}).get("slide_type", "-")


def visible_in_deck(cell) -> bool:
    """A code cell whose code a deck shows."""
    return (cell.cell_type == "code" and slide_type(cell) not in ("skip", "notes")
            and HIDE_INPUT not in cell.metadata.get("tags", []))


def visible_code_share(nb) -> float:
    code = [c for c in nb.cells if c.cell_type == "code"]
    return sum(map(visible_in_deck, code)) / max(len(code), 1)


def sections(nb) -> list[list]:
    """The cells from each markdown ``slide`` cell up to the next one."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and slide_type(cell) == "slide":
            out.append([])
        if out:
            out[-1].append(cell)
    return out


def speaker_notes(cell) -> bool:
    """A notes cell that gives the instructor something to ask the room (a question mark)."""
    return cell.cell_type == "markdown" and slide_type(cell) == "notes" and "?" in source(cell)


def sections_without_notes(nb) -> list[str]:
    """The first line of each section that has no speaker-notes cell with a question for the room."""
    return [source(cells[0]).strip().splitlines()[0] for cells in sections(nb) if not any(map(speaker_notes, cells))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=nb_id)
def test_at_most_40_percent_of_code_cells_visible_in_the_deck(path):
    nb = nbformat.read(path, as_version=4)
    share = visible_code_share(nb)
    shown = [source(c).splitlines()[0] for c in nb.cells if visible_in_deck(c)]
    assert share <= MAX_VISIBLE_CODE, (f"{path.name}: {share:.0%} of code cells are visible in the deck "
                                       f"(at most {MAX_VISIBLE_CODE:.0%}); shown: {shown}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=nb_id)
def test_every_section_has_speaker_notes_with_a_question(path):
    nb = nbformat.read(path, as_version=4)
    assert len(sections(nb)) >= 3, f"{path.name}: fewer than 3 sections (markdown cells of slide type 'slide')"
    assert sections_without_notes(nb) == [], (f"{path.name}: sections without a speaker-notes cell (slide type "
                                              "'notes') that says what to ask the room")


# ---------------------------------------------------------------- the rules can fail
def _nb(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def _md(text, kind):
    return nbformat.v4.new_markdown_cell(text, metadata={"slideshow": {"slide_type": kind}})


def _code(text, kind="-", tags=()):
    meta = {"slideshow": {"slide_type": kind}}
    if tags:
        meta["tags"] = list(tags)
    return nbformat.v4.new_code_cell(text, metadata=meta)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=nb_id)
def test_no_cell_continues_a_slide_with_type_dash(path):
    """A cell that continues a slide has no slide type: the same in nbconvert / RISE decks, and the live
    deck (jupyterlab-slideshow 0.3.4) hides cells whose type is "-"."""
    nb = nbformat.read(path, as_version=4)
    dashed = [i for i, c in enumerate(nb.cells) if c.metadata.get("slideshow", {}).get("slide_type") == "-"]
    assert not dashed, f"{path.name}: cells {dashed} have slide_type '-': remove it (the live deck hides them)"


def test_the_rules_catch_a_deck_that_shows_everything():
    nb = _nb(_md("# Title", "slide"), _code("import torch"), _code("fig"),
             _md("## 1. Loss", "slide"), _md("Say: ... Ask: why?", "notes"), _code("loss(x)"))
    assert visible_code_share(nb) == 1.0
    assert sections_without_notes(nb) == ["# Title"]
    nb.cells[1].metadata["slideshow"]["slide_type"] = "skip"
    nb.cells[2].metadata["tags"] = [HIDE_INPUT]
    nb.cells.insert(1, _md("Say what the lecture answers. Ask: who has trained a GAN?", "notes"))
    assert visible_code_share(nb) == pytest.approx(1 / 3)
    assert sections_without_notes(nb) == []
    nb.cells[1].source = "Say what the lecture answers."      # nothing to ask the room
    assert sections_without_notes(nb) == ["# Title"]
    nb.cells[1].source = "   "
    assert sections_without_notes(nb) == ["# Title"]          # an empty notes cell is no notes
