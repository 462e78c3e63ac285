"""Shared pytest settings.

* Notebooks under tests/ are fixtures, not lessons for nbval.
* The ``training_outcome`` marker: a test whose assertion depends on where a training run ends up
  (modes, HQ, W1, Fréchet distance, time to quality). Float rounding differs between CPU kernels
  and a GAN's trajectory is chaotic, so such a test must hold on every kernel set: ``make test``
  runs the marked tests a second time under ``ATEN_CPU_CAPABILITY=default`` (``make test-kernels``).
"""
import os

import pytest

collect_ignore_glob = ["**/*.ipynb", "*.ipynb"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "training_outcome: asserts a training run's outcome; run again on every CPU "
                   "kernel set (make test-kernels: ATEN_CPU_CAPABILITY=default)")


def pytest_collection_modifyitems(config, items):
    """The longest tests start first (marker ``slow``, longest ``seconds`` first; unmarked tests keep
    their order after them), so that the two workers of ``make test`` end together: the 10,000-step
    grid test (400-750 s) started last would hold one worker while the other idles."""
    def expected_s(item):
        mark = item.get_closest_marker("slow")
        return 0 if mark is None else mark.kwargs.get("seconds", 60)

    items.sort(key=expected_s, reverse=True)  # (a stable sort: equal keys keep their order)


def pytest_report_header(config):
    import torch

    asked = os.environ.get("ATEN_CPU_CAPABILITY")
    return f"torch CPU kernels: {torch.backends.cpu.get_cpu_capability()} (ATEN_CPU_CAPABILITY={asked or 'unset'})"



@pytest.fixture
def shipped_record():
    """``load(name)``: a record shipped in the repo (``ganedu.lessons.records``), after checking that it
    is there, at most 200 KB, and made by a full run (not ``--tiny``)."""
    from ganedu.lessons import records

    def load(name):
        path = records.path(name)
        assert path.exists(), f"{path} is missing: run `make record`"
        assert path.stat().st_size <= 200 * 1024, f"{path} is {path.stat().st_size} bytes, over 200 KB"
        record = records.load(name)
        assert "--tiny" not in record["command"], f"{path} was made by a --tiny run"
        return record

    return load
