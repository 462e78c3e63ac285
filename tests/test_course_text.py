"""The course speaks in its own voice: the product (notebooks, package, README, benchmarks) never
names the texts the course was built from ("seed 003", "the seeds' pseudocode"); where it corrects a
common mistake it quotes the mistake as what it is or cites the paper. And the citations that were
corrected once stay correct (section numbers checked against the papers)."""
from __future__ import annotations

import re

import nbformat
import pytest
from delivery_fixtures import NOTEBOOKS, ROOT, source

# "seed" is also the random seed: only these phrasings name the source texts.
SOURCE_TEXT = re.compile(
    r"\bseeds? ?0*0[0-4]\b|\bseed_?00[0-4]"                          # seed 003, seeds 001, seed003
    r"|\bseeds?'s? (pseudocode|text|notes|discussion|loop|formula|code|version|exercise)"
    r"|\bseed (pseudocode|text|notes)\b"
    r"|\bthe seed (says|writes|asks|gives|lists|calls|does not|mixes|splits)\b",
    re.IGNORECASE)

PRODUCT = (NOTEBOOKS + sorted((ROOT / "ganedu").rglob("*.py")) + [ROOT / "README.md"]
           + sorted((ROOT / "benchmarks").rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.md")))
def _text(path) -> str:
    if path.suffix == ".ipynb":
        return "\n".join(source(c) for c in nbformat.read(path, as_version=4).cells)
    return path.read_text()


def _rel(path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", [pytest.param(p, id=_rel(p)) for p in PRODUCT])
def test_product_never_names_the_source_texts(path):
    hits = [m.group(0) for m in SOURCE_TEXT.finditer(_text(path))]
    assert not hits, (f"{_rel(path)} refers to the course's source texts ({hits[:5]}): quote the mistake "
                      "as what it is ('a widely copied pseudocode writes ...') or cite the paper")


def test_the_pattern_catches_what_it_should_and_not_the_random_seed():
    for bad in ("seed 003's formula", "Seeds 001 §4, 002 and 003", "seed003_loss", "the seeds' pseudocode",
                "Seed 004's discussion points", "the seed says", "the literal seed pseudocode"):
        assert SOURCE_TEXT.search(bad), bad
    for fine in ("seed_everything(0)", "--seed 3", "the same seed gives the same numbers", "seeds=(0, 1, 2)",
                 "depends on the seed and the CPU", "a per-rank seed", "median of 3 seeds", "seed=0"):
        assert not SOURCE_TEXT.search(fine), fine


def _notebook_text(name: str) -> str:
    return _text(ROOT / "notebooks" / name)


def test_wgan_gp_proposition_1_is_cited_from_section_2_3_with_its_assumption():
    text = _notebook_text("05_gradient_penalty.ipynb")
    assert "*Proposition 1* (WGAN-GP §2.3" in text       # Gulrajani et al. 2017, §2.3, not §3
    assert r"\pi(x = y) = 0" in text                       # the assumption the proposition makes
    assert "Proposition 1* (WGAN-GP §3" not in text


def test_wgan_figure_2_is_cited_as_in_section_3():
    text = _notebook_text("03_js_vs_emd.ipynb")
    assert "WGAN paper's Figure 2, in its §3" in text    # "Optimal discriminator and critic ..." (Arjovsky et al. 2017)
    assert "WGAN paper §2 and" not in text


def test_non_saturating_answer_cites_the_theorem_and_is_marked_as_a_solution():
    text = _notebook_text("01_minimax.ipynb")
    answers = re.findall(r"<!-- BEGIN SOLUTION -->(.*?)<!-- END SOLUTION -->", text, re.S)
    assert answers, "notebook 01's discussion question 3 needs its answer, marked for the student version to drop"
    assert any("KL}(p_g" in a and "2\\,\\mathrm{JS}" in a and "Theorem 2.5" in a for a in answers)
