"""The published modes and HQ numbers the course compares its runs with (quoted, not computed).

VEEGAN Table 1 (Srivastava et al. 2017): averages over 5 runs, 2,500 samples each. PacGAN Table 1
(Lin et al. 2018, NeurIPS version; github.com/fjxmlzn/PacGAN, results/Table1.png): mean ± standard
error of 10 trials. Their 2D ring: 8 Gaussians of std 0.01 on the unit circle; their 2D grid: 25 of
std 0.05 at (2i, 2j), i, j in -2..2 (PacGAN's released config): our ``8gaussians`` (and ``ring``) and
``25gaussians`` up to scale. Modes and HQ are measured as :func:`ganedu.metrics.mode_coverage` does.
Notebook 07's table (``ganedu.lessons.showdown.literature_table``) and the dashboard's scoreboard
read them from here.
"""
from __future__ import annotations

from .checks import check_choice

__all__ = ["LITERATURE", "SETS", "published"]

#: Modes covered (of 8 on the ring / of 25 on the grid) and the % of HQ samples, as the tables print them.
LITERATURE = [
    dict(source="VEEGAN T1", method="GAN", ring_modes="1", ring_hq="99.3%", grid_modes="3.3", grid_hq="0.5%"),
    dict(source="VEEGAN T1", method="ALI", ring_modes="2.8", ring_hq="0.13%", grid_modes="15.8", grid_hq="1.6%"),
    dict(source="VEEGAN T1", method="Unrolled GAN", ring_modes="7.6", ring_hq="35.6%", grid_modes="23.6", grid_hq="16%"),
    dict(source="VEEGAN T1", method="VEEGAN", ring_modes="8", ring_hq="52.9%", grid_modes="24.6", grid_hq="40%"),
    dict(source="PacGAN T1", method="GAN", ring_modes="6.3±0.5", ring_hq="98.2±0.2%", grid_modes="17.3±0.8", grid_hq="94.8±0.7%"),
    dict(source="PacGAN T1", method="ALI", ring_modes="6.6±0.3", ring_hq="97.6±0.4%", grid_modes="24.1±0.4", grid_hq="95.7±0.6%"),
    dict(source="PacGAN T1", method="PacGAN2", ring_modes="7.9±0.1", ring_hq="95.6±2.0%", grid_modes="23.8±0.7", grid_hq="91.3±0.8%"),
    dict(source="PacGAN T1", method="PacGAN3", ring_modes="7.8±0.1", ring_hq="97.7±0.3%", grid_modes="24.6±0.4", grid_hq="94.2±0.4%"),
    dict(source="PacGAN T1", method="PacGAN4", ring_modes="7.8±0.1", ring_hq="95.9±1.4%", grid_modes="24.8±0.2", grid_hq="93.6±0.6%"),
]

#: our dataset -> the papers' set (``ring`` of 8 modes, ``grid`` of 25) it matches up to scale
SETS = {"8gaussians": "ring", "ring": "ring", "25gaussians": "grid"}


def _mean(text: str) -> float:
    """The mean of a quoted cell: ``"6.3±0.5"`` -> 6.3, ``"98.2±0.2%"`` -> 0.982."""
    value = float(text.split("±")[0].rstrip("%"))
    return value / 100 if text.endswith("%") else value


def published(data: str) -> list[dict]:
    """The quoted rows for ``data`` as numbers: ``[{"source", "method", "modes", "hq"}]`` (HQ a fraction).

    ``data`` is one of ``SETS`` (``8gaussians``, ``ring``, ``25gaussians``)."""
    key = SETS[check_choice("data", data, tuple(SETS))]
    return [dict(source=r["source"], method=r["method"], modes=_mean(r[f"{key}_modes"]), hq=_mean(r[f"{key}_hq"]))
            for r in LITERATURE]
