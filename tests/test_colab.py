"""The Colab path: the setup cell installs ganedu (pinned, quietly) only on Colab and only when it
is missing, and the package that pip builds from the repository carries everything the
notebooks import (a non-editable install is what Colab gets)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
import zipfile

import pytest
from delivery_fixtures import ROOT
from test_hygiene import canonical_setup_cell, release


def run_setup_cell(monkeypatch, *, on_colab: bool, installed: bool) -> list:
    """Execute the canonical setup cell (its %matplotlib line left out); return pip calls made."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append((a, k)))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if (name == "ganedu" and not installed) else real_find_spec(name, *a))
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    code = "\n".join(ln for ln in canonical_setup_cell().splitlines() if not ln.lstrip().startswith("%"))
    namespace = {}
    exec(compile(code, "setup-cell", "exec"), namespace)
    assert namespace["QUICK"] in (True, False) and str(namespace["DEVICE"]) in ("cpu", "cuda", "mps")
    return calls


def test_setup_cell_installs_the_pinned_release_on_colab_only(monkeypatch):
    calls = run_setup_cell(monkeypatch, on_colab=True, installed=False)
    assert len(calls) == 1
    (cmd,), kwargs = calls[0]
    repo, tag = release()
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"] and "-q" in cmd
    assert cmd[-1] == f"ganedu @ git+https://github.com/{repo}@{tag}"
    assert kwargs.get("check") is True
    assert not any(arg.startswith(("torch", "ipywidgets", "--upgrade", "-U")) for arg in cmd), \
        "Colab's own torch and ipywidgets must be kept"


@pytest.mark.parametrize("on_colab, installed", [(False, False), (False, True), (True, True)])
def test_setup_cell_installs_nothing_elsewhere(monkeypatch, on_colab, installed):
    assert run_setup_cell(monkeypatch, on_colab=on_colab, installed=installed) == []


def test_wheel_carries_every_module_of_the_package(tmp_path):
    """Colab installs from git without -e: subpackages (ganedu.lessons.exercises) must be in the wheel."""
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and "setuptools" in proc.stderr and "No module named" in proc.stderr:
        pytest.skip("setuptools is not installed here, so no wheel can be built offline")
    assert proc.returncode == 0, proc.stderr
    [wheel] = tmp_path.glob("ganedu-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "ganedu").rglob("*.py")
                if "__pycache__" not in p.parts}
    missing = sorted(expected - names)
    assert not missing, f"the wheel lacks {missing}: list the subpackage in pyproject's packages"
