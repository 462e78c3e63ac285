"""ganedu.literature: the quoted tables, read as numbers (checked against the papers' printed cells)."""
import re

import pytest

from ganedu import literature


def test_published_reads_the_quoted_cells_as_numbers():
    ring = {(r["source"], r["method"]): (r["modes"], r["hq"]) for r in literature.published("8gaussians")}
    grid = {(r["source"], r["method"]): (r["modes"], r["hq"]) for r in literature.published("25gaussians")}
    # typed from the tables: VEEGAN T1 (ring: GAN 1 mode, 99.3% HQ; grid: VEEGAN 24.6, 40%),
    # PacGAN T1 (ring: PacGAN2 7.9 ± 0.1, 95.6 ± 2.0%; grid: GAN 17.3 ± 0.8, 94.8 ± 0.7%)
    assert ring[("VEEGAN T1", "GAN")] == pytest.approx((1.0, 0.993))
    assert ring[("PacGAN T1", "PacGAN2")] == pytest.approx((7.9, 0.956))
    assert grid[("VEEGAN T1", "VEEGAN")] == pytest.approx((24.6, 0.40))
    assert grid[("PacGAN T1", "GAN")] == pytest.approx((17.3, 0.948))
    assert len(ring) == len(grid) == len(literature.LITERATURE)
    assert literature.published("ring") == literature.published("8gaussians")
    for rows, top in ((ring, 8), (grid, 25)):
        assert all(0 <= m <= top and 0 <= hq <= 1 for m, hq in rows.values())


def test_published_refuses_a_set_the_papers_do_not_report():
    with pytest.raises(ValueError, match=r"data must be one of .*'25gaussians'.*'swissroll'"):
        literature.published("swissroll")
    with pytest.raises(TypeError, match="data"):
        literature.published(8)


def test_the_showdown_quotes_the_same_table():
    from ganedu.lessons import showdown

    assert showdown.LITERATURE is literature.LITERATURE
    for row in literature.LITERATURE:
        for key in ("ring_modes", "ring_hq", "grid_modes", "grid_hq"):
            assert re.fullmatch(r"[\d.]+(±[\d.]+)?%?", row[key]), row
