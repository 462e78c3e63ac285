"""Notebook hygiene: no stored outputs, the canonical setup cell first, slide metadata on every
cell, every notebook in the README's map with its Colab and Binder badges, and every internal
link in the README and the notebooks resolving."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest
from delivery_fixtures import NOTEBOOKS, ROOT, nb_id, source

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    tomllib = pytest.importorskip("tomli")

README = ROOT / "README.md"
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}


def canonical_setup_cell() -> str:
    """The setup cell as CONTRIBUTING.md gives it (the python block after 'setup cell')."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    m = re.search(r"\*\*setup cell\*\*.*?```python\n(.*?)```", text, re.S)
    assert m, "CONTRIBUTING.md must show the setup cell in a ```python block"
    return m.group(1).strip("\n")


def release() -> tuple[str, str]:
    """(org/repo, tag) that the setup cell installs from on Colab, e.g. ('ganedu/ganedu', 'v0.1.0')."""
    m = re.search(r"git\+https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?@([\w.-]+)", canonical_setup_cell())
    assert m, "the setup cell must pip-install ganedu from git+https://github.com/ORG/REPO@TAG"
    return m.group(1), m.group(2)


def colab_url(path: Path) -> str:
    repo, tag = release()
    return f"https://colab.research.google.com/github/{repo}/blob/{tag}/notebooks/{path.name}"


def binder_url(path: Path) -> str:
    repo, tag = release()
    return f"https://mybinder.org/v2/gh/{repo}/{tag}?labpath=notebooks/{path.name}"


# ------------------------------------------------------------------------- notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=nb_id)
def test_no_stored_outputs_or_execution_counts(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; store it cleared"
    assert "widgets" not in nb.metadata, f"{path.name}: stored widget state in the metadata"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=nb_id)
def test_first_code_cell_is_the_canonical_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    first = next((c for c in nb.cells if c.cell_type == "code"), None)
    assert first is not None, f"{path.name} has no code cell"
    assert source(first).strip("\n") == canonical_setup_cell(), \
        f"{path.name}: the first code cell differs from the setup cell in CONTRIBUTING.md"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=nb_id)
def test_every_cell_has_slide_metadata(path):
    """Every cell's slide type is a valid one, or none: a cell that continues a slide has no slide type
    (the same as "-" in nbconvert and RISE decks; the live deck, jupyterlab-slideshow, hides "-" cells)."""
    nb = nbformat.read(path, as_version=4)
    allowed = set(SLIDE_TYPES) - {"-"} | {None}
    bad = [(i, c.metadata.get("slideshow", {}).get("slide_type")) for i, c in enumerate(nb.cells)
           if c.metadata.get("slideshow", {}).get("slide_type") not in allowed]
    assert not bad, f"{path.name}: cells with an invalid slideshow.slide_type (or '-': leave it unset): {bad}"
    assert nb.cells[0].cell_type == "markdown" and source(nb.cells[0]).lstrip().startswith("# "), \
        f"{path.name}: the first cell must be the title (a markdown '# ' heading)"
    assert nb.cells[0].metadata["slideshow"]["slide_type"] == "slide"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=nb_id)
def test_notebook_file_name_and_format(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)


def test_setup_cell_pins_the_release_of_pyproject():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        version = tomllib.load(fh)["project"]["version"]
    assert release()[1] == f"v{version}", "the setup cell must install the tag of this release"


# ---------------------------------------------------------------------------- README
def readme_map_rows() -> dict[str, str]:
    """Notebook file name -> its row in the README's notebook table."""
    text = README.read_text()
    rows = {}
    for line in text.splitlines():
        if line.startswith("|"):
            for name in re.findall(r"notebooks/(\d\d_[a-z0-9_]+\.ipynb)", line):
                rows.setdefault(name, line)
    return rows


@pytest.mark.parametrize("path", NOTEBOOKS, ids=nb_id)
def test_notebook_in_readme_map_with_both_badges(path):
    row = readme_map_rows().get(path.name)
    assert row, f"README.md's notebook map has no row for {path.name}"
    assert f"]({colab_url(path)})" in row, f"{path.name}: no 'Open in Colab' badge with {colab_url(path)}"
    assert f"]({binder_url(path)})" in row, f"{path.name}: no Binder badge with {binder_url(path)}"
    assert "colab-badge.svg" in row and "mybinder.org/badge" in row


def test_readme_map_lists_only_existing_notebooks():
    missing = [n for n in readme_map_rows() if not (ROOT / "notebooks" / n).exists()]
    if NOTEBOOKS:     # before any notebook lands, the map may announce the planned ones
        assert not missing, f"README.md lists notebooks that do not exist: {missing}"


def test_readme_keeps_the_two_commands_first():
    text = README.read_text()
    first = text.index("make lab")
    for section in ("## Notebooks", "## Conda", "## Colab", "## Binder", "## Slides",
                    "## Student versions and grading", "## Troubleshooting"):
        assert section in text, f"README.md lacks the section {section!r}"
        assert text.index(section) > first


# ------------------------------------------------------------------------------- links
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:href|src)=\"([^\"]+)\"")


def _slugs(markdown: str) -> set[str]:
    """Anchors a heading gets: GitHub's slug and JupyterLab's (spaces to '-'), compared lowercase."""
    out = set()
    for line in re.sub(r"```.*?```", "", markdown, flags=re.S).splitlines():
        m = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            title = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1)).strip()
            out.add(title.replace(" ", "-").lower())
            gh = unicodedata.normalize("NFKC", title).lower()
            out.add(re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", gh)))
    return out


def _markdown_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return "\n\n".join(source(c) for c in nb.cells if c.cell_type == "markdown")
    return path.read_text()


def broken_links(path: Path) -> list[str]:
    text = _markdown_of(path)
    bad = []
    for m in LINK.finditer(re.sub(r"```.*?```", "", text, flags=re.S)):
        target = m.group(1) or m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue                                          # http(s), mailto, data: ...
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not dest.exists():
            bad.append(f"{target} (no file {dest.relative_to(ROOT) if ROOT in dest.parents else dest})")
        elif anchor and dest.suffix in (".md", ".ipynb") and unquote(anchor).lower() not in _slugs(_markdown_of(dest)):
            bad.append(f"{target} (no heading #{anchor} in {dest.name})")
    return bad


def test_link_checker_catches_a_broken_link(tmp_path):
    (tmp_path / "there.md").write_text("# A Heading\n")
    doc = tmp_path / "doc.md"
    doc.write_text("# Top\n[ok](there.md) [ok](there.md#a-heading) [ok](#top) [web](https://x.org/y)\n"
                   "[bad](missing.ipynb) [bad](there.md#nowhere) <img src=\"fig.png\">\n")
    assert [b.split(" ")[0] for b in broken_links(doc)] == ["missing.ipynb", "there.md#nowhere", "fig.png"]


@pytest.mark.parametrize("path", [README] + NOTEBOOKS, ids=lambda p: p.name)
def test_internal_links_resolve(path):
    bad = broken_links(path)
    assert not bad, f"{path.name}: broken links: {bad}"
