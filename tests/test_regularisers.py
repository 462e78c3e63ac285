"""ganedu.lessons.regularisers: R1, LSGAN and the two GPs on the atlas's mode failures (notebook 09, section 5).

The claims notebook 09 makes about this grid are asserted on the shipped record there, and here live on
seeds 0-2 (training_outcome: on every CPU kernel set). Measured margins are written beside each claim.
"""
import json

import pytest

from ganedu.lessons import records
from ganedu.lessons import regularisers as rg


def test_every_remedy_is_one_change_to_the_failing_recipe():
    assert rg.REMEDIES["none"] == {}
    assert rg.REMEDIES["LSGAN loss"] == {"loss": "least_squares"}
    assert set(rg.REMEDIES["R1, γ=1"]) == {"r1_gamma"}
    assert rg.REMEDIES["GP two-sided, λ=1"] == {"gp_lambda": 1.0}
    assert rg.REMEDIES["GP one-sided, λ=1"] == {"gp_lambda": 1.0, "one_sided": True}


def test_bad_cells_name_the_argument():
    with pytest.raises(ValueError, match="failure"):
        rg.run_cell("oscillation", "none")
    with pytest.raises(ValueError, match="remedy"):
        rg.run_cell("mode_collapse", "dropout")
    with pytest.raises(ValueError, match="seed"):
        rg.run_cell("mode_collapse", "none", seed=-1)


def _fake_record():
    rows = [dict(failure="mode_collapse", remedy=r, seed=s, steps=400, fires=(r == "none" or s == 2), modes=m, hq=0.5)
            for r, m in (("none", 2), ("R1, γ=1", 8)) for s in (0, 1, 2)]
    return dict(spec=dict(failures=["mode_collapse"], remedies=["none", "R1, γ=1"], seeds=[0, 1, 2]), results=rows)


def test_silent_on_and_the_table_read_the_record():
    rec = _fake_record()
    assert rg.silent_on(rec, "mode_collapse", "none") == []
    assert rg.silent_on(rec, "mode_collapse", "R1, γ=1") == [0, 1]
    table = rg.format_table(rec).splitlines()
    assert table[1].startswith("none") and "silent 0/3, modes 2 2 2, HQ 0.50 0.50 0.50" in table[1]
    assert table[2].startswith("R1, γ=1") and "silent 2/3, modes 8 8 8" in table[2]


def test_the_tiny_record_runs(tmp_path):
    rec = rg.record({**rg.SPEC, **rg.TINY}, progress=False)
    assert rec["name"] == "09_regularisers" and len(rec["results"]) == 2
    assert {r["remedy"] for r in rec["results"]} == {"none", "R1, γ=1"} and all(r["steps"] == 4 for r in rec["results"])
    json.dumps(rec)  # JSON-ready


def test_the_shipped_record_is_complete_and_made_with_the_current_spec():
    rec = records.load("09_regularisers")
    assert rec["spec"] == json.loads(json.dumps(rg.SPEC))
    got = sorted((r["failure"], r["remedy"], r["seed"]) for r in rec["results"])
    assert got == sorted((f, r, s) for f in rg.SPEC["failures"] for r in rg.SPEC["remedies"] for s in rg.SPEC["seeds"])
    assert records.path("09_regularisers").stat().st_size <= 20 * 1024


def test_as_claimed_can_fail():
    row = dict(failure="mode_collapse", remedy="GP two-sided, λ=1", seed=0, fires=False, modes=7, hq=0.0)
    assert rg.as_claimed(row)
    assert not rg.as_claimed({**row, "fires": True})
    assert not rg.as_claimed({**row, "hq": rg.HQ_BELOW})  # a penalty that gave good samples would break the claim
    assert rg.as_claimed({**row, "remedy": "LSGAN loss", "fires": True, "hq": 0.8})  # HQ is claimed for penalties only
    hop = {**row, "failure": "mode_hopping"}  # no claim about this detector: it differed between CPU kernel sets
    assert rg.as_claimed({**hop, "fires": True}) and rg.as_claimed(hop) and not rg.as_claimed({**hop, "hq": 0.5})


def test_the_shipped_record_shows_what_the_notebook_claims():
    rec = records.load("09_regularisers")
    assert [r for r in rec["results"] if not rg.as_claimed(r)] == []


# Measured 2026-12-01, seeds 0-2, 30 cells each on the native AVX2 kernels (the shipped record, 165 s CPU) and under
# ATEN_CPU_CAPABILITY=default (same functions, a script): every claimed verdict held on both. Margins: the highest HQ
# of a penalised run was 0.063 (AVX2; R1 on mode hopping, seed 0) and 0.021 (default) against HQ_BELOW = 0.1. One
# verdict differed between kernel sets, so it is not claimed: the two-sided GP on mode hopping, seed 1 (silent on
# AVX2, fires under default).
@pytest.mark.slow
@pytest.mark.training_outcome
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("remedy", list(rg.REMEDIES))
@pytest.mark.parametrize("failure", rg.COMPARED)
def test_each_remedy_does_what_the_notebook_claims(failure, remedy, seed):
    cell = rg.run_cell(failure, remedy, seed)
    assert rg.as_claimed(cell), cell
