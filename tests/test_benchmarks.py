"""The benchmark harness runs end to end (tiny configuration), and its pieces measure what they say."""
import json
import subprocess
import sys
import time

import pytest
import torch

from benchmarks import Clock
from benchmarks.__main__ import main
from benchmarks.baseline import Baseline, gradient_penalty
from benchmarks.notebooks import PeakRSS
from ganedu.lipschitz import gradient_penalty as ganedu_gradient_penalty


def test_entry_point_tiny_writes_every_section(tmp_path, capsys):
    assert main(["--tiny", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results) == {"throughput", "time_to_quality", "dcgan_digits", "notebooks"}
    for section in results.values():
        assert section["machine"]["cores"] >= 1 and section["machine"]["date"]
    same = results["throughput"]["result"]["same_config"]
    assert same["ganedu.Trainer"]["trainer_ratio"] == 1.0
    assert all(v["steps_per_s"] > 0 for v in same.values())
    rows = results["time_to_quality"]["result"]["rows"]
    assert {(r["data"], r["runner"]) for r in rows} == {("8gaussians", "wgan-gp-toy"),
                                                        ("8gaussians", "baseline"),
                                                        ("swissroll", "wgan-gp-toy")}
    assert all(r["steps"] >= 2 and r["cpu_s"] >= 0 for r in rows)
    floor = results["time_to_quality"]["result"]["swissroll"]
    assert 0 < floor["floor"] < floor["threshold"]
    assert results["dcgan_digits"]["result"]["rows"][0]["images_per_s"] > 0
    nb = results["notebooks"]["result"]["rows"]
    assert [(r["notebook"], r["mode"], r["error"]) for r in nb] == [("00_tiny.ipynb", "quick", None)]
    assert nb[0]["peak_rss_mb"] > 10  # a Python kernel holding a list of 10**6 items
    md = (tmp_path / "RESULTS.md").read_text()
    for heading in ("## Throughput", "## Time to quality", "## Dcgan digits", "## Notebooks"):
        assert heading in md
    assert "## Headline" in md and "wgan-gp-toy on 8gaussians" in md
    # the sweep runs alone and keeps the other sections
    assert main(["--tiny", "--out", str(tmp_path), "--only", "sweep"]) == 0
    again = json.loads((tmp_path / "results.json").read_text())
    assert set(again) == set(results) | {"sweep"}
    sweep = again["sweep"]["result"]["rows"]
    assert len(sweep) == 2 and sweep[1]["recipe"]["lr_g"] == 1e-3 and sweep[1]["overrides"] == {"lr_g": 1e-3}
    assert "## Sweep" in (tmp_path / "RESULTS.md").read_text()


def test_live_section_ticks_the_dashboard_until_it_shows_quality_then_times_the_baseline(tmp_path):
    assert main(["--tiny", "--out", str(tmp_path), "--only", "live"]) == 0
    live = json.loads((tmp_path / "results.json").read_text())["live"]["result"]
    (row,) = live["rows"]
    assert row["reached"] and row["steps"] >= 1 and row["seconds"] > 0  # (the tick that ends past the cap still counts)
    assert row["live_steps_per_s"] > 0 and row["headless_steps_per_s"] > 0
    assert row["live_over_headless"] == pytest.approx(row["live_steps_per_s"] / row["headless_steps_per_s"], abs=1e-3)
    assert "## Live" in (tmp_path / "RESULTS.md").read_text()


def test_live_summary_gives_the_headless_rate_a_goal_needs():
    from benchmarks.live import summary

    rows = [dict(reached=True, steps=1600, seconds=30.0, live_over_headless=0.5),
            dict(reached=True, steps=1800, seconds=34.0, live_over_headless=0.8),
            dict(reached=False, steps=5000, seconds=90.0, live_over_headless=0.7)]
    s = summary(rows, goal_s=20)
    # medians: 1,700 steps over the two that reached, ratio 0.7 over all three: 1700 / (20 x 0.7) = 121.4 steps/s
    assert (s["reached"], s["steps_to_quality"], s["seconds_to_quality"]) == (2, 1700, 32.0)
    assert s["headless_needed_for_goal"] == 121.4


def test_baseline_gradient_penalty_matches_ganedu():
    """The seed's penalty (typed in literally) equals lambda x ganedu's, for the same epsilon."""
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    real, fake = torch.randn(32, 2), torch.randn(32, 2)
    torch.manual_seed(5)
    eps = torch.rand(32, 1)
    torch.manual_seed(5)  # the baseline draws the same epsilon
    ours = gradient_penalty(critic, real, fake, 32, 0.1)
    expected = 0.1 * ganedu_gradient_penalty(lambda x: critic(x).squeeze(-1), real, fake, eps=eps[:, 0])
    torch.testing.assert_close(ours, expected)
    assert ours > 0


def test_baseline_step_trains_both_networks_and_detach_changes_nothing_else():
    a = Baseline(seed=1, width=16, batch_size=32)  # seeds the global RNG, as the seed code would
    g0 = [p.clone() for p in a.G.parameters()]
    a.step()
    b = Baseline(seed=1, width=16, batch_size=32, detach_fake=True)
    b.step()
    assert all(not torch.equal(p, q) for p, q in zip(g0, a.G.parameters()))
    # G's gradient from the critic loss is zeroed before G's own backward: same update either way
    for p, q in zip(a.G.parameters(), b.G.parameters()):
        torch.testing.assert_close(p, q)
    assert a.steps == b.steps == 1


def test_clock_counts_only_running_time():
    clock = Clock()
    with clock.running():
        time.sleep(0.05)
    time.sleep(0.1)  # paused: not counted
    assert 0.04 <= clock.wall < 0.1
    assert clock.cpu < 0.05  # sleeping is not CPU time


def test_peak_rss_sees_a_child_process_allocate():
    code = "import time; x = bytearray(200 * 2**20); time.sleep(1.0)"
    shell = subprocess.Popen([sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {code!r}])"])
    monitor = PeakRSS(shell.pid, poll_s=0.05)
    monitor.start()
    shell.wait()
    monitor.stop()
    assert monitor.peak_mb > 190  # the grandchild's 200 MB, seen through the tree
    assert monitor.peak_mb < 400


@pytest.mark.parametrize("argv", [["--quick", "--tiny"], ["--only", "nothing"]])
def test_bad_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)


def test_population_profile_runs_dry_on_the_cpu(capsys):
    from benchmarks.profile_population import main

    main("cpu", sizes=(2,), k=2, steps=2)
    out = capsys.readouterr().out
    assert "one Trainer, eager" in out and "population of 2, eager" in out and "kernels/step" in out
    assert "population K=  2:" in out and "Adam foreach" in out and "allow_tf32=True" in out
    assert not torch.backends.cuda.matmul.allow_tf32                 # the variants put everything back
