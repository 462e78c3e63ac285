"""Notebooks: wall time and peak memory of each notebook, quick mode and full mode.

Each notebook is executed by nbclient in a fresh kernel (``GANEDU_QUICK=1`` for quick mode, unset
for full mode, ``MPLBACKEND=Agg``). A thread polls the kernel's process tree with psutil every
``poll_s`` seconds and keeps the largest total RSS (kernel + its children). Budgets (issue 9):
quick <= 60 s, full <= 180 s (the showdown notebook <= 360 s), peak RSS <= 1.5 GB.
"""
from __future__ import annotations

import os
import pathlib
import threading
import time

BUDGETS = dict(quick_s=60, full_s=180, showdown_full_s=360, rss_mb=1536)


class PeakRSS(threading.Thread):
    """Poll the RSS of process ``pid`` and its descendants; ``.peak_mb`` is the largest total."""

    def __init__(self, pid: int, poll_s: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.poll_s, self.peak_mb = pid, poll_s, 0.0
        self._stop_event = threading.Event()

    def run(self):
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                break
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop_event.wait(self.poll_s)

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)


def run_notebook(path, *, quick: bool, timeout: int = 900, poll_s: float = 0.2) -> dict:
    """Execute one notebook; returns wall seconds, peak RSS (MB) and the error, if any."""
    import nbformat
    from nbclient import NotebookClient

    path = pathlib.Path(path)
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ, MPLBACKEND="Agg")
    if quick:
        env["GANEDU_QUICK"] = "1"
    else:
        env.pop("GANEDU_QUICK", None)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    error, monitor = None, None
    t0 = time.perf_counter()
    try:
        with client.setup_kernel(env=env):
            pid = client.km.provisioner.pid if client.km.provisioner else None
            if pid:
                monitor = PeakRSS(pid, poll_s)
                monitor.start()
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    except Exception as exc:  # a failing cell: keep the time so far and say which
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else ''}"
    wall = time.perf_counter() - t0
    if monitor:
        monitor.stop()
    return dict(notebook=path.name, mode="quick" if quick else "full", wall_s=round(wall, 1),
                peak_rss_mb=round(monitor.peak_mb) if monitor else None, error=error)


def budget_for(name: str, mode: str) -> float:
    if mode == "quick":
        return BUDGETS["quick_s"]
    return BUDGETS["showdown_full_s"] if "showdown" in name else BUDGETS["full_s"]


def run(cfg: dict) -> dict:
    folder = pathlib.Path(cfg["notebooks_dir"])
    paths = sorted(folder.glob(cfg.get("notebooks_glob", "*.ipynb")))
    rows = []
    for mode in cfg["notebook_modes"]:
        for path in paths:
            row = run_notebook(path, quick=mode == "quick", timeout=cfg.get("notebook_timeout", 900))
            row["budget_s"] = budget_for(path.name, mode)
            row["within_budget"] = (row["error"] is None and row["wall_s"] <= row["budget_s"]
                                    and (row["peak_rss_mb"] or 0) <= BUDGETS["rss_mb"])
            rows.append(row)
            if cfg.get("verbose"):
                print(f"  notebook {path.name} [{mode}]: {row}", flush=True)
    quick_total = sum(r["wall_s"] for r in rows if r["mode"] == "quick")
    return dict(rows=rows, quick_total_s=round(quick_total, 1), budgets=BUDGETS)
