"""Shared pytest settings.

* Notebooks under tests/ are fixtures, not lessons for nbval.
* The ``training_outcome`` marker: a test whose assertion depends on where a training run ends up
  (modes, HQ, W1, Fréchet distance, time to quality). Float rounding differs between CPU kernels
  and a GAN's trajectory is chaotic, so such a test must hold on every kernel set: ``make test``
  runs the marked tests a second time under ``ATEN_CPU_CAPABILITY=default`` (``make test-kernels``).
"""
import os

collect_ignore_glob = ["**/*.ipynb", "*.ipynb"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "training_outcome: asserts a training run's outcome; run again on every CPU "
                   "kernel set (make test-kernels: ATEN_CPU_CAPABILITY=default)")


def pytest_report_header(config):
    import torch

    asked = os.environ.get("ATEN_CPU_CAPABILITY")
    return f"torch CPU kernels: {torch.backends.cpu.get_cpu_capability()} (ATEN_CPU_CAPABILITY={asked or 'unset'})"


def pytest_collection_modifyitems(config, items):
    """How ``make test`` shares tests between its two workers (``--dist loadgroup``).

    A notebook's cells stay together, in order, on one worker (nbval runs them in one kernel), and so do
    the tests of one module (they share module fixtures); the long tests (``slow``, ``training_outcome``)
    go one by one to whichever worker is free, so that two long runs of one module overlap. The
    ``slow`` ones are queued first (a stable sort: notebook cells keep their order), so that neither
    worker is left alone with a long test at the end.
    """
    import pytest

    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    for item in items:
        path = item.nodeid.split("::")[0]
        if not path.endswith(".ipynb") and (item.get_closest_marker("slow") or item.get_closest_marker("training_outcome")):
            continue
        item.add_marker(pytest.mark.xdist_group(path))
