"""The README's two commands: what `make lab` and `make test` run (dry run, no side effects)."""
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dry_run(target):
    # the set-up step is up to date in a prepared checkout; -B would list it too, so force it off
    res = subprocess.run(["make", "-n", target, "-o", ".venv/.ganedu-installed"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.mark.skipif(not os.path.exists("/usr/bin/make"), reason="make is not installed")
def test_make_lab_opens_jupyterlab_on_the_notebooks():
    out = dry_run("lab")
    assert re.search(r"jupyter lab notebooks/", out), out
    if os.getuid() == 0:
        assert "--allow-root" in out  # JupyterLab refuses to start as root otherwise


@pytest.mark.skipif(not os.path.exists("/usr/bin/make"), reason="make is not installed")
def test_make_test_runs_units_notebooks_and_widgets7():
    out = dry_run("test")
    assert "pytest tests notebooks --nbval-lax" in out and "GANEDU_QUICK=1" in out
    assert "test-widgets7" in out or "ipywidgets==7.7.1" in out
    assert "test-kernels" in out


@pytest.mark.skipif(not os.path.exists("/usr/bin/make"), reason="make is not installed")
def test_make_test_kernels_reruns_the_training_outcome_tests_on_the_portable_kernels():
    out = dry_run("test-kernels")
    assert "ATEN_CPU_CAPABILITY=$k" in out and "for k in default;" in out
    assert "-m training_outcome" in out and "GANEDU_QUICK=1" in out


def test_ci_calls_the_readme_test_command():
    with open(os.path.join(ROOT, ".ci", "run")) as fh:
        ci = fh.read()
    with open(os.path.join(ROOT, "README.md")) as fh:
        readme = fh.read()
    assert "make test" in ci and "make test" in readme and "make lab" in readme


@pytest.mark.skipif(not os.path.exists("/usr/bin/make"), reason="make is not installed")
def test_make_lab_installs_the_course_jupyterlab_settings():
    # -W: as if the settings file had just changed, so the copy is listed even where it is up to date
    res = subprocess.run(["make", "-n", "lab", "-o", ".venv/.ganedu-installed", "-W", "jupyterlab/overrides.json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "cp jupyterlab/overrides.json .venv/share/jupyter/lab/settings/overrides.json" in res.stdout, res.stdout
    assert res.stdout.index("overrides.json") < res.stdout.index("jupyter lab notebooks/")
