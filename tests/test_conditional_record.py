"""ganedu.lessons.conditional_record: notebook 08's recorded digits grid is complete, current and readable."""
import json

import pytest

from ganedu.lessons import conditional_record, records


def test_shipped_record_is_complete_and_made_with_the_current_spec():
    rec = conditional_record.load()
    assert rec["spec"] == conditional_record.DIGITS_GRID, "the grid changed: run python -m ganedu.lessons.conditional_record"
    want = {(label, seed) for label, _, _ in rec["spec"]["runs"] for seed in rec["spec"]["seeds"]}
    assert {(r["run"], r["seed"]) for r in rec["results"]} == want
    for r in rec["results"]:
        assert len(r["per_class"]) == 10 and all(0 <= a <= 1 for a in r["per_class"])
    assert "recorded on" in records.label(rec)


def test_table_has_one_line_per_run_and_the_worst_class():
    rec = {"results": [dict(run="a", seed=0, per_class=[0.5] + [1.0] * 9, classes=10, frechet=3.0),
                       dict(run="b", seed=1, per_class=[0.25] * 10, classes=4, frechet=30.0)]}
    lines = conditional_record.format_table(rec).splitlines()
    assert len(lines) == 3
    assert lines[1].split() == ["a", "0", "0.50", "0.95", "10", "3.0"]
    assert lines[2].split() == ["b", "1", "0.25", "0.25", "4", "30.0"]


def test_record_script_runs_tiny(tmp_path, capsys):
    assert conditional_record.main(["--tiny", "--out", str(tmp_path)]) == 0
    rec = json.loads((tmp_path / f"{conditional_record.NAME}.json").read_text())
    assert rec["spec"]["steps"] == conditional_record.TINY["steps"]
    assert len(rec["results"]) == len(conditional_record.DIGITS_GRID["runs"])
    assert "wrote" in capsys.readouterr().out
