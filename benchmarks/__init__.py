"""How fast is ganedu, measured against a plain baseline? ``python -m benchmarks`` (or ``make bench``).

One module per question, each with a ``run(config) -> dict`` that returns JSON-ready rows:

- ``time_to_quality``  wall / CPU seconds and generator steps until a toy run is good
  (8gaussians: 8/8 modes and >= 90% high-quality samples; 25gaussians: >= 24/25 and >= 90%;
  swissroll: exact W1 to the data below a threshold set by the data's own sampling noise).
- ``throughput``       generator steps per second of every recipe, and of ``baseline.py`` (the
  WGAN-GP pseudocode typed in literally) against the Trainer at the very same configuration.
- ``dcgan_digits``     seconds per epoch and images per second of the DCGAN recipe on digits.
- ``notebooks``        wall time and peak memory (RSS of the kernel's process tree) of every notebook
  in quick and full mode, through nbclient.
- ``live``             notebook 05's dashboard ticked as a browser ticks it: seconds and steps until it
  shows 8/8 modes with >= 90% HQ, its steps/s against the recipe's with no dashboard (``--only live``).

``__main__`` runs them, stores ``benchmarks/results.json`` and regenerates ``benchmarks/RESULTS.md``.

Timing on a shared machine: every run records wall seconds *and* the CPU seconds of this process
(``time.process_time``). With one intra-op thread the CPU time is what the wall time would be on an
idle core, so it is the load-robust number; the wall time says what it felt like at that moment.
Ratios (Trainer / baseline) are measured in one process, interleaved, so load hits both alike.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from contextlib import contextmanager

import torch

from ganedu import cpu_name


class Clock:
    """Wall and CPU seconds that can be paused (evaluation is not training time)."""

    def __init__(self):
        self.wall = self.cpu = 0.0
        self._start = None

    def start(self):
        self._start = (time.perf_counter(), time.process_time())
        return self

    def stop(self):
        w, c = self._start
        self.wall += time.perf_counter() - w
        self.cpu += time.process_time() - c
        self._start = None
        return self

    @contextmanager
    def running(self):
        self.start()
        try:
            yield self
        finally:
            self.stop()


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def machine() -> dict:
    """What the numbers were measured on, and under what load."""
    try:
        load = [round(x, 1) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Windows
        load = None
    cpu = cpu_name()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return dict(date=time.strftime("%Y-%m-%d %H:%M %Z"), cpu=cpu, cores=os.cpu_count(),
                torch=torch.__version__, threads=torch.get_num_threads(), gpu=gpu,
                python=platform.python_version(), loadavg=load)


def set_threads(n: int | None):
    """Intra-op threads for this process (None: leave torch's default)."""
    if n:
        torch.set_num_threads(int(n))
