"""Notebook 02's recorded runs (ganedu.lessons.dcgan_factors): the shipped record is complete and current,
its images read back, and the script makes it (tiny)."""
import json

import torch

from ganedu.lessons import dcgan_factors, records
from ganedu.train import get_recipe

NAMES = ["healthy", "lr only", "beta1 only", "both"]


def _check(record, spec):
    """Four runs with the settings their names say, measured every ``every`` steps up to ``steps``."""
    assert record["name"] == "02_dcgan_factors" and record["seconds"] > 0
    assert record["spec"] == json.loads(json.dumps(spec))
    base = get_recipe("dcgan")
    lr = {"healthy": base.lr_g, "beta1 only": base.lr_g, "lr only": spec["lr_high"], "both": spec["lr_high"]}
    beta1 = {"healthy": base.betas[0], "lr only": base.betas[0], "beta1 only": spec["beta1_high"],
             "both": spec["beta1_high"]}
    assert [r["name"] for r in record["results"]] == NAMES
    for r in record["results"]:
        assert r["lr_g"] == r["lr_d"] == lr[r["name"]], r["name"]
        assert r["betas"] == [beta1[r["name"]], base.betas[1]], r["name"]
        steps = [row["step"] for row in r["log"]]
        assert steps == list(range(spec["every"], spec["steps"] + 1, spec["every"]))
        for row in r["log"]:
            assert 0 <= row["classes"] <= 10 and row["kl"] >= 0 and row["fd"] >= 0
            assert abs(sum(row["hist"]) - 1) < 1e-3 and len(row["hist"]) == 10
            assert sum(h >= 0.01 for h in row["hist"]) == row["classes"]         # a class: >= 1% of the samples
        assert [row["grid"] is not None for row in r["log"]] == [False] * (len(steps) - 1) + [True]
        assert dcgan_factors.grid_images(r["log"][-1], spec["image_size"]).shape == (spec["n_grid"], 1, 16, 16)


def test_shipped_record_is_complete_and_made_with_the_current_spec(shipped_record):
    """If SPEC changes, the record must be made again (`make record`): this fails until it is."""
    _check(shipped_record("02_dcgan_factors"), dcgan_factors.SPEC)


def test_variants_change_one_factor_then_both():
    assert dcgan_factors.variants(1e-3, 0.9, 0.99) == {
        "lr only": {"lr_g": 1e-3, "lr_d": 1e-3}, "beta1 only": {"betas": (0.9, 0.99)},
        "both": {"lr_g": 1e-3, "lr_d": 1e-3, "betas": (0.9, 0.99)}}


def test_images_survive_the_record_to_8_bits():
    images = torch.rand(5, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    row = dcgan_factors._json_row(dict(step=1, classes=1, kl=0.0, hist=[1.0] + [0.0] * 9, fd=1.0, grid=images))
    back = dcgan_factors.grid_images(json.loads(json.dumps(row)))
    assert back.shape == images.shape
    assert (back - images).abs().max() <= 0.5 / 127.5 + 1e-6            # half a step of 256 levels over [-1, 1]


def test_record_script_runs_tiny(tmp_path):
    assert records.main(["02_dcgan_factors", "--tiny", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "02_dcgan_factors.json").read_text())
    _check(record, {**dcgan_factors.SPEC, **dcgan_factors.TINY})
    assert record["command"].endswith("--tiny")
