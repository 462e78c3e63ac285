"""Recorded results (ganedu.lessons.records): the shipped record is complete, current and readable; the script runs."""
import itertools
import json
import statistics

import pytest

from ganedu.lessons import records

RESULT_FIELDS = {"gp_lambda", "n_critic", "lr", "lr_value", "lr_decay_steps", "seed", "status", "modes", "hq", "w1",
                 "w1_floor", "w_estimate", "grad_norm_median", "grad_norm_near_1", "trajectory"}


def _check_record(record, spec):
    """The fields notebook 05 reads, and one result per (setting, λ, seed) of ``spec``."""
    assert record["name"] == "05_lambda_grid"
    assert set(record["machine"]) >= {"cpu", "torch", "cpu_capability", "threads", "platform"}
    assert len(record["date"]) == 10 and record["seconds"] > 0
    assert record["spec"] == json.loads(json.dumps(spec))           # as JSON stores it (tuples -> lists)
    expected = {(s["n_critic"], s["lr"], float(lam), seed)
                for s, lam, seed in itertools.product(spec["settings"], spec["gp_lambda"], spec["seeds"])}
    got = [(r["n_critic"], r["lr"], r["gp_lambda"], r["seed"]) for r in record["results"]]
    assert sorted(got) == sorted(expected)                            # each member once, none missing
    for r in record["results"]:
        assert set(r) >= RESULT_FIELDS, sorted(RESULT_FIELDS - set(r))
        assert 0 <= r["modes"] <= 8 and 0.0 <= r["hq"] <= 1.0 and r["w1"] > 0
        assert r["trajectory"][-1]["step"] == spec["steps"] or r["status"] != "ok"
        assert r["lr_value"] == spec["lr"][r["lr"]]["lr"]


def test_shipped_lambda_grid_is_complete_and_made_with_the_current_spec():
    """If LAMBDA_GRID changes, the record must be made again (`make record`): this fails until it is."""
    path = records.path("05_lambda_grid")
    assert path.exists(), "run `make record`"
    assert path.stat().st_size <= 200 * 1024
    record = records.load("05_lambda_grid")
    _check_record(record, records.LAMBDA_GRID)
    assert "--tiny" not in record["command"]


def test_summary_matches_a_loop_over_the_results():
    record = records.load("05_lambda_grid")
    rows = records.summarize(record)
    assert len(rows) == len(record["spec"]["settings"]) * len(record["spec"]["gp_lambda"])
    for row in rows:
        runs = [r for r in record["results"] if (r["n_critic"], r["lr"], r["gp_lambda"])
                == (row["n_critic"], row["lr"], row["gp_lambda"])]
        assert sorted(row["seeds"]) == sorted(r["seed"] for r in runs)
        assert row["hq_mean"] == pytest.approx(statistics.mean(r["hq"] for r in runs))
        assert row["hq_worst"] == min(r["hq"] for r in runs)
        assert row["modes_worst"] == min(r["modes"] for r in runs)
        assert row["w1_worst"] == max(r["w1"] for r in runs)               # worst W1 is the largest
        assert row["diverged"] == sum(r["status"] != "ok" for r in runs)
    table = records.format_table(record)
    assert len(table.splitlines()) == len(rows) + 1
    assert records.setting_label(record, 5, "paper") == "n_critic 5, lr 1e-4"
    assert records.setting_label(record, 1, "toy") == "n_critic 1, lr 3e-3 decayed"
    label = records.label(record)
    assert record["machine"]["cpu"] in label and record["date"] in label
    fig = records.plot_grid(record)
    assert len(fig.axes) == 4


def test_record_script_runs_tiny(tmp_path, capsys):
    assert records.main(["--tiny", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "05_lambda_grid.json").read_text())
    _check_record(record, {**records.LAMBDA_GRID, **records.TINY})
    assert record["command"].endswith("--tiny")
    _check_toy_sets(json.loads((tmp_path / "05_toy_sets.json").read_text()), {**records.TOY_SETS, **records.TINY})
    assert "wrote" in capsys.readouterr().out


TOY_FIELDS = {"data", "seed", "steps", "status", "w1", "w1_floor", "w_estimate", "max_grad_norm", "samples"}


def _check_toy_sets(record, spec):
    """One result per (set, seed) of ``spec``, each run as long as the spec says, with its samples."""
    assert record["name"] == "05_toy_sets" and record["seconds"] > 0
    assert record["spec"] == json.loads(json.dumps(spec))
    got = sorted((r["data"], r["seed"]) for r in record["results"])
    assert got == sorted(itertools.product(records.TOY_SETS["steps"], spec["seeds"]))
    for r in record["results"]:
        assert set(r) >= TOY_FIELDS, sorted(TOY_FIELDS - set(r))
        assert r["steps"] == records._steps_for(spec, r["data"])
        assert len(r["samples"]) == spec["n_samples"] and all(len(p) == 2 for p in r["samples"])
        mixture = r["data"] != "swissroll"                     # modes and HQ exist for the mixtures only
        assert ("modes" in r) == mixture and ("hq" in r) == mixture
        assert not mixture or (0 <= r["modes"] <= r["modes_total"] and 0.0 <= r["hq"] <= 1.0)
        assert r["w1"] > 0 and r["w1_floor"] > 0 and r["max_grad_norm"] > 0


def test_shipped_toy_sets_are_complete_and_made_with_the_current_spec():
    """If TOY_SETS changes, the record must be made again (`make record`): this fails until it is."""
    path = records.path("05_toy_sets")
    assert path.exists(), "run `make record`"
    assert path.stat().st_size <= 200 * 1024
    record = records.load("05_toy_sets")
    _check_toy_sets(record, records.TOY_SETS)
    assert "--tiny" not in record["command"]


def test_unknown_record_is_explained():
    with pytest.raises(ValueError, match="05_lambda_grid.*05_toy_sets"):
        records.path("06_nothing")
    with pytest.raises(SystemExit):
        records.main(["06_nothing", "--tiny"])
