"""Recorded results (ganedu.lessons.records): the shipped record is complete, current and readable; the script runs."""
import itertools
import json
import statistics

import pytest
import torch

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


def test_shipped_lambda_grid_is_complete_and_made_with_the_current_spec(shipped_record):
    """If LAMBDA_GRID changes, the record must be made again (`make record`): this fails until it is."""
    record = shipped_record("05_lambda_grid")
    _check_record(record, records.LAMBDA_GRID)


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
    assert len(table.splitlines()) == len(rows) + 2                       # what the brackets mean, the header
    assert max(len(line) for line in table.splitlines()) <= 110              # one row per line on a slide
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
    _check_dashboard_run(json.loads((tmp_path / "05_dashboard_run.json").read_text()),
                         {**records.DASHBOARD_RUN, **records.TINY_RUN})
    assert "wrote" in capsys.readouterr().out


def _check_dashboard_run(record, spec):
    """A checkpoint at step 0 and every ``every`` steps; its modes and HQ are those of its own samples
    (recounted here by ganedu.metrics.mode_coverage), its caption the record's label."""
    from ganedu.data import toy_modes, toy_std
    from ganedu.metrics import mode_coverage

    assert record["name"] == "05_dashboard_run" and record["spec"] == json.loads(json.dumps(spec))
    assert [c["step"] for c in record["results"]] == list(range(0, spec["steps"] + 1, spec["every"]))
    assert record["caption"] == records.label(record)
    for c in record["results"]:
        samples = torch.tensor(c["samples"])
        assert samples.shape == (spec["n_samples"], 2)
        counted = mode_coverage(samples, toy_modes(spec["data"]), toy_std(spec["data"]))
        assert (c["modes"], c["modes_total"]) == (counted["modes"], len(toy_modes(spec["data"])))
        assert c["hq"] == pytest.approx(counted["hq"], abs=1e-4)  # (rounded to 4 decimals)


def test_shipped_dashboard_run_is_complete_and_made_with_the_current_spec(shipped_record):
    """If DASHBOARD_RUN changes, the record must be made again (`make record`): this fails until it is."""
    record = shipped_record("05_dashboard_run")
    _check_dashboard_run(record, records.DASHBOARD_RUN)


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


def test_shipped_toy_sets_are_complete_and_made_with_the_current_spec(shipped_record):
    """If TOY_SETS changes, the record must be made again (`make record`): this fails until it is."""
    record = shipped_record("05_toy_sets")
    _check_toy_sets(record, records.TOY_SETS)


def test_unknown_record_is_explained():
    with pytest.raises(ValueError, match="05_lambda_grid.*05_toy_sets"):
        records.path("06_nothing")
    with pytest.raises(SystemExit):
        records.main(["06_nothing", "--tiny"])


# ------------------------------------------------------------------------- notebook 07's ten trials
from ganedu.lessons import ten_trials  # noqa: E402


def test_shipped_ten_trials_are_complete_and_made_with_the_current_spec(shipped_record):
    """One run per (dataset, recipe, seed) of ten_trials.SPEC, scored at every checkpoint; remade if SPEC changes."""
    record = shipped_record("07_ten_trials")
    spec = ten_trials.SPEC
    assert record["spec"] == json.loads(json.dumps(spec))
    got = sorted((r["data"], r["recipe"], r["seed"]) for r in record["results"])
    assert got == sorted(itertools.product(spec["runs"], spec["recipes"], spec["seeds"]))
    for r in record["results"]:
        run = spec["runs"][r["data"]]
        assert [t["step"] for t in r["trajectory"]] == list(range(run["every"], run["steps"] + 1, run["every"]))
        n_modes = 8 if r["data"] == "8gaussians" else 25
        assert all(0 <= t["modes"] <= n_modes and 0 <= t["hq"] <= 1 and t["w1"] > 0 for t in r["trajectory"])
    assert "GPU" in records.label(record) and record["machine"]["gpu"] in records.label(record)


def test_ten_trials_members_give_only_a_decaying_recipe_the_dataset_horizon():
    pairs = ten_trials.members(ten_trials.SPEC, "25gaussians")
    assert len(pairs) == len(ten_trials.SPEC["recipes"]) * len(ten_trials.SPEC["seeds"])
    decaying = {r.name: (r.lr_decay_steps, r.lr_floor) for r, _ in pairs if r.lr_decay_steps}
    assert decaying == {"wgan-gp-toy": (10000, 0.01)}
    ring = {r.name: r.lr_decay_steps for r, _ in ten_trials.members(ten_trials.SPEC, "8gaussians")}
    assert ring["wgan-gp-toy"] == 3000 and ring["gan-toy"] == 0


def test_ten_trials_summary_matches_a_loop_over_the_results():
    record = records.load("07_ten_trials")
    for step, data in ((None, None), (5000, "25gaussians")):
        rows = ten_trials.summarize(record, step=step, data=data)
        assert len(rows) == len(ten_trials.SPEC["recipes"]) * (2 if data is None else 1)
        for row in rows:
            runs = [r for r in record["results"] if (r["data"], r["recipe"]) == (row["data"], row["recipe"])]
            points = [r["trajectory"][-1] if step is None else
                      [t for t in r["trajectory"] if t["step"] == step][0] for r in runs]
            hq = [p["hq"] for p in points]
            assert row["trials"] == len(runs) == 10
            assert row["hq"] == pytest.approx(sum(hq) / len(hq))
            assert row["hq_se"] == pytest.approx(statistics.stdev(hq) / len(hq) ** 0.5)
            assert row["hq_worst"] == min(hq) and row["modes_worst"] == min(p["modes"] for p in points)
            assert row["w1_worst"] == max(p["w1"] for p in points)
    table = __import__("ganedu.lessons.showdown", fromlist=["x"]).literature_table(
        ten_trials.literature_rows(record), source="ours (recorded)")
    assert "wgan-gp-toy (10 trials)" in table and "ours (recorded)" in table and "±" in table.splitlines()[-1]


def test_a_plain_make_record_on_the_cpu_skips_the_gpu_sized_records(tmp_path, monkeypatch, capsys):
    made = []

    def fake(name):
        return lambda spec, device="cpu": made.append((name, device)) or {"seconds": 0.0, "command": name}

    monkeypatch.setattr(records, "RECORDS", {n: (fake(n), {}, {}) for n in records.RECORDS})
    assert records.main(["--out", str(tmp_path)]) == 0
    assert made == [(n, "cpu") for n in sorted(records.RECORDS) if n not in records.GPU_SIZED]
    assert "skipping 07_ten_trials" in capsys.readouterr().out
    made.clear()
    assert records.main(["--out", str(tmp_path), "07_ten_trials"]) == 0    # named: made, even on the CPU
    assert made == [("07_ten_trials", "cpu")]
