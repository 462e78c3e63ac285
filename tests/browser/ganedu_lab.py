"""Helpers for real-browser tests: a throw-away JupyterLab server and a Chromium page on it.

Everything Jupyter writes (config, data, runtime, settings, workspaces, IPython, matplotlib)
goes into a temporary directory, so a test touches no user state. The server listens on
127.0.0.1 only, with a random token. Only processes this module started are ended.
"""
from __future__ import annotations

import contextlib
import json
import re
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-dev-shm-usage"]


def _step_in(text: str) -> int | None:
    """N from the counter's text "step N", or None if it does not (yet) say that."""
    m = re.search(r"step (\d+)", text)
    return int(m.group(1)) if m else None


def step_counter(page) -> int:
    """The dashboard's step counter ("step N") as an int."""
    text = page.locator(".ganedu-step-counter").inner_text()
    step = _step_in(text)
    assert step is not None, f"step counter shows {text!r}"
    return step


def shown_step(page) -> int | None:
    """The step counter as an int, or None while it is not rendered or still empty (to poll on).

    The text is read once: a window that has just opened renders the counter's element before its
    value, so a second read may see an empty element the first did not.
    """
    counter = page.locator(".ganedu-step-counter")
    return _step_in(counter.inner_text()) if counter.count() else None


def poll(condition, timeout, what):
    """``condition()``'s first truthy value within ``timeout`` s, else an AssertionError naming ``what``."""
    end = time.time() + timeout
    while time.time() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def chromium_or_skip() -> str:
    """Path of Debian's chromium, with Playwright importable; else skip (or fail when
    GANEDU_REQUIRE_BROWSER=1, as in CI)."""
    missing = []
    chromium = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
    if chromium is None:
        missing.append("no chromium (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("no playwright (pip install playwright; never `playwright install`)")
    if missing:
        reason = "real-browser test needs " + " and ".join(missing)
        if os.environ.get("GANEDU_REQUIRE_BROWSER") == "1":
            pytest.fail(f"GANEDU_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return chromium


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code cells (written here, not stored, so nbval does not collect it)."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """``with JupyterLab(tmp) as lab:`` a server on ``lab.url`` serving ``lab.root``.

    ``env``: extra environment variables for the server and its kernels; ``args``: extra
    command-line options (e.g. ``--LabApp.app_settings_dir=...``)."""

    def __init__(self, tmp: Path, env: dict | None = None, args: list | None = None):
        self.tmp, self.root = Path(tmp), Path(tmp) / "root"
        self.token, self.port = secrets.token_hex(16), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env, self.extra_args = env or {}, list(args or ())
        self.proc = None

    def __enter__(self):
        dirs = {k: self.tmp / k.lower() for k in (
            "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
            "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "MPLCONFIGDIR")}
        for d in [self.root, *dirs.values()]:
            d.mkdir(parents=True, exist_ok=True)
        notification = dirs["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / "apputils-extension"
        notification.mkdir(parents=True)  # no news / update toast over the page
        (notification / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = {**os.environ, **{k: str(v) for k, v in dirs.items()}, "MPLBACKEND": "Agg",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               **self.extra_env}
        self.log = open(self.tmp / "jupyterlab.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={self.port}",
             "--port-retries=0", "--no-browser", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}", "--LabApp.expose_app_in_browser=True",
             "--ServerApp.allow_root=True", *self.extra_args],
            env=env, cwd=self.root, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {self.log_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                return self
            except OSError:
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError(f"JupyterLab did not answer within 60 s: {self.log_text()[-2000:]}")

    def log_text(self) -> str:
        self.log.flush()
        return (self.tmp / "jupyterlab.log").read_text(errors="replace")

    def __exit__(self, *exc):
        if self.proc is None:
            return
        try:
            req = urllib.request.Request(f"{self.url}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {self.token}"})
            urllib.request.urlopen(req, timeout=5)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.terminate()  # only the server we started
            self.proc.wait(timeout=10)
        self.log.close()

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"


def wait_until_ready(page, timeout_ms=60_000):
    """The notebook's document is loaded and its kernel is idle."""
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const k = w && w.context && w.context.isReady && w.sessionContext.session
                      && w.sessionContext.session.kernel;
            return k && k.status === 'idle';
        }""", timeout=timeout_ms)


def run_all(page):
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def open_dashboard(browser, server, name: str, cells: list[str]):
    """A page (1280 x 1400) on a new notebook ``name`` of ``cells``, all run; returns the page and
    the dashboard's plot (a Playwright locator), once it is there."""
    write_notebook(server.root / name, cells)
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(server.notebook_url(name))
    wait_until_ready(page)
    run_all(page)
    img = page.locator("img.ganedu-plot")
    img.wait_for(timeout=60_000)
    return page, img


def chromium_descendants():
    """Chromium processes started (through Playwright's driver) by this Python process."""
    import psutil

    return [p for p in psutil.Process().children(recursive=True)
            if "chrom" in (p.name() or "").lower()]


def end_processes(procs, timeout=5.0):
    """Wait for the given processes to exit; end the ones still there (by their own id)."""
    import psutil

    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=timeout)


@contextlib.contextmanager
def chromium_browser(playwright, chromium: str):
    """Debian's Chromium, headless, launched through Playwright; on the way out the browser is
    closed and the Chromium processes it started are ended (helpers may outlive ``close()``)."""
    browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
    chromes = chromium_descendants()
    try:
        yield browser
    finally:
        browser.close()
        end_processes(chromes)


def headless_steps_per_s(recipe: str, steps: int = 250) -> float:
    """Generator steps per second of ``recipe`` trained here without a browser (one thread, as the
    dashboard trains; seed 0 on 8gaussians): the same run's baseline for the rate the browser shows.
    It is ``python -m benchmarks --only live``'s baseline."""
    from benchmarks.live import headless_steps_per_s as rate

    return rate(recipe, "8gaussians", 0, steps, {})


def write_metrics(out: Path, metrics: dict, t_start: float):
    """``metrics`` with the test's duration and the machine's load (what the rates were measured
    under), into ``out/metrics.json`` and on stdout."""
    metrics["duration_s"] = round(time.time() - t_start, 1)
    metrics["load_average_1_5_15_min"] = [round(x, 2) for x in os.getloadavg()]
    metrics["cpus"] = os.cpu_count()
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    print(json.dumps(metrics, ensure_ascii=False))
