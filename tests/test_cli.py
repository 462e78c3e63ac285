"""CLI: `python -m ganedu` trains headless, writes only into --out, explains itself."""
import json
import os
import socket
import subprocess
import sys

import pytest

from ganedu.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args, cwd, env_extra=None):
    env = dict(os.environ, GANEDU_OFFLINE="1", MPLBACKEND="Agg", **(env_extra or {}))
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "ganedu", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_help_explains_commands(tmp_path):
    res = run_cli("--help", cwd=tmp_path)
    assert res.returncode == 0
    assert "train" in res.stdout and "recipes" in res.stdout
    res = run_cli("train", "--help", cwd=tmp_path)
    for flag in ("--data", "--steps", "--out", "--seed", "--gp-lambda", "--clip", "--n-critic", "--resume"):
        assert flag in res.stdout


def test_recipes_lists_settings_and_sources(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    for name in ("gan", "nsgan", "dcgan", "wgan", "wgan-gp", "sngan", "wgan-gp-toy"):
        assert f"\n{name} " in "\n" + out
    assert "Gulrajani" in out and "Arjovsky" in out and "5e-05" in out
    toy = out[out.index("\nwgan-gp-toy "):].splitlines()[1]
    assert "lr decay over 2000 steps to x0.1" in toy


def test_lr_decay_steps_flag_reaches_the_recipe(tmp_path):
    res = run_cli("train", "wgan-gp-toy", "--steps", "2", "--lr-decay-steps", "4", "--out", "out",
                  "--no-progress", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    import torch
    from ganedu.recipes import RECIPES
    saved = torch.load(tmp_path / "out" / "checkpoint.pt", weights_only=True)
    lrs = [g["lr"] for g in saved["trainer"]["opt_generator"]["param_groups"]]
    # the lr of the run's last step, step 1 of 4: (1 - 1/4) of the recipe's
    assert lrs == pytest.approx([RECIPES["wgan-gp-toy"].lr_g * 0.75])


def test_train_writes_outputs_only_into_out(tmp_path):
    res = run_cli("train", "wgan-gp-toy", "--data", "8gaussians", "--steps", "30", "--out", "out",
                  "--seed", "1", "--no-progress", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(tmp_path)) == ["out"]
    files = sorted(os.listdir(tmp_path / "out"))
    assert files == ["checkpoint.pt", "curves.png", "metrics.json", "samples.png"]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert 0 <= metrics["modes"] <= 8 and 0.0 <= metrics["hq"] <= 1.0
    assert metrics["eval_samples"] == 2500 and metrics["steps"] == 30
    with open(tmp_path / "out" / "samples.png", "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    # resume continues from the checkpoint
    res = run_cli("train", "wgan-gp-toy", "--resume", "out", "--steps", "10", "--no-progress", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["steps"] == 40


def test_unknown_recipe_and_dataset_are_clear_errors(capsys):
    assert main(["train", "wgan-pg", "--steps", "1", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "unknown recipe 'wgan-pg'" in err and "wgan-gp" in err
    assert main(["train", "wgan-gp", "--data", "celebA", "--steps", "1", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "celebA" in err and "8gaussians" in err


def test_bad_hyperparameters_are_refused(capsys):
    for flag, value, name in (("--gp-lambda", "-1", "gp_lambda"), ("--clip", "0", "clip"),
                              ("--n-critic", "0", "n_critic"), ("--lr-decay-steps", "-5", "lr_decay_steps")):
        assert main(["train", "wgan-gp-toy", flag, value, "--steps", "1", "--out", "x"]) == 2
        assert name in capsys.readouterr().err


def test_offline_mnist_falls_back_without_network(tmp_path, monkeypatch, capsys):
    def no_network(*a, **k):
        raise AssertionError("network access attempted while GANEDU_OFFLINE=1")

    monkeypatch.setenv("GANEDU_OFFLINE", "1")
    monkeypatch.setenv("GANEDU_DATA", str(tmp_path / "nodata"))
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "dcgan", "--data", "mnist", "--steps", "2", "--out", "o", "--no-progress",
                 "--batch-size", "16"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out
    assert (tmp_path / "o" / "samples.png").exists()


def test_conditional_recipe_writes_per_class_accuracy(tmp_path):
    """cwgan-gp-toy through the CLI: metrics.json's per-class accuracy is the trainer's, replayed in-process."""
    res = run_cli("train", "cwgan-gp-toy", "--steps", "60", "--out", "out", "--seed", "1", "--no-progress", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["curves.png", "metrics.json", "samples.png"]  # no checkpoint format
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    import torch
    from ganedu.conditional_train import ConditionalTrainer, toy_class_accuracy
    from ganedu.metrics import mode_coverage
    from ganedu.data import toy_modes, toy_std
    tr = ConditionalTrainer.from_recipe("cwgan-gp-toy", "8gaussians", critic="concat", seed=1)
    tr.train(60, progress=False)
    y = torch.arange(2500) % 8                                     # every class in turn, 312-313 each
    fake = tr.sample(2500, y=y)
    want = toy_class_accuracy(fake, y, "8gaussians")
    assert metrics["per_class_accuracy"] == pytest.approx(want, abs=1e-4)
    assert metrics["worst_class_accuracy"] == pytest.approx(min(want), abs=1e-4)
    assert metrics["hq"] == pytest.approx(mode_coverage(fake, toy_modes("8gaussians"), toy_std("8gaussians"))["hq"])
    assert "w_estimate" not in metrics                             # a critic of (x, y) gives no W estimate here


def test_conditional_digits_recipes_and_their_critics(tmp_path):
    res = run_cli("train", "acgan-gp-digits", "--steps", "3", "--out", "ac", "--no-progress", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    metrics = json.loads((tmp_path / "ac" / "metrics.json").read_text())
    assert len(metrics["per_class_accuracy"]) == 10 and metrics["classes"] <= 10 and "frechet" in metrics
    assert metrics["worst_class_accuracy"] == min(metrics["per_class_accuracy"])
    res = run_cli("train", "csn-digits", "--critic", "concat", "--steps", "2", "--out", "sn", "--no-progress",
                  cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_conditional_cli_errors_are_clear(capsys, tmp_path):
    assert main(["train", "wgan-gp-toy", "--critic", "projection", "--steps", "1", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "--critic" in err and "cwgan-gp-toy" in err and "'wgan-gp-toy'" in err
    assert main(["train", "cwgan-gp-toy", "--resume", str(tmp_path), "--steps", "1"]) == 2
    assert "not saved to checkpoints" in capsys.readouterr().err


def test_recipes_lists_the_conditional_recipes(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    for name, critic in (("cwgan-gp-toy", "concat"), ("csn-digits", "projection"), ("acgan-gp-digits", "auxiliary")):
        line = next(l for l in out.splitlines() if l.startswith(name + " "))
        assert f"conditional, critic={critic}" in line
    assert "Odena" in out
