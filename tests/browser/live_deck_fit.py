"""Does a slide of the live deck (jupyterlab-slideshow in JupyterLab) fit 1280×720? Measured in Chromium.

Runs a notebook in a throw-away JupyterLab (quick mode, the course's settings from
jupyterlab/overrides.json), starts the slideshow at a given cell, steps on (``deck:down`` to the next sub-slide,
else ``deck:forward`` to the next slide) and, at each step, measures the presented notebook: how tall its
content is against the room on the screen (a taller slide scrolls with the mouse wheel), and saves
a screenshot. Slow (it runs the notebook in the browser), so it is a tool, not a unit test:

    python tests/browser/live_deck_fit.py 05_gradient_penalty.ipynb:976dcf01:4 --out test-output/live-deck

(``NOTEBOOK:CELL_ID:STEPS``: start at that cell, measure that many steps.)
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import ganedu_lab as lab  # noqa: E402

SCREEN = {"width": 1280, "height": 720}
ALL_RAN = """() => {
    const nb = window.jupyterapp.shell.currentWidget.content;
    const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    return k.status === 'idle' && nb.widgets.every(c => c.model.type !== 'code' || c.model.executionCount);
}"""
#: the presented notebook: its scroll box, and the cells shown now with their heights on the screen
MEASURE_JS = """() => {
    const outer = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
    const nb = window.jupyterapp.shell.currentWidget.content;
    const shown = nb.widgets.map((w, i) => [i, w.node]).filter(([i, n]) => {
        const s = getComputedStyle(n);
        return n.getClientRects().length && s.display !== 'none' && s.visibility !== 'hidden' && +s.opacity > 0;
    });
    const rects = shown.map(([i, n]) => [i, n.getBoundingClientRect()]);
    return {active: nb.activeCellIndex, room: outer.clientHeight, content: outer.scrollHeight,
            top: Math.min(...rects.map(([i, r]) => r.top)), bottom: Math.max(...rects.map(([i, r]) => r.bottom)),
            cells: rects.map(([i, r]) => [i, Math.round(r.height)]), viewport: [innerWidth, innerHeight]};
}"""


def cell_index(notebook: Path, cell_id: str) -> int:
    cells = json.loads(notebook.read_text())["cells"]
    return next(i for i, c in enumerate(cells) if c.get("id") == cell_id)


def measure_live(page, server, notebook: str, start_id: str, steps: int, out: Path) -> list[dict]:
    """Run ``notebook`` in the page, present it from cell ``start_id`` and measure ``steps`` steps."""
    page.goto(server.notebook_url(notebook))
    lab.wait_until_ready(page)
    page.evaluate("window.jupyterapp.shell.currentWidget.content.notebookConfig.windowingMode = 'none'")
    lab.run_all(page)
    page.wait_for_function(ALL_RAN, timeout=420_000, polling=1000)
    start = cell_index(server.root / notebook, start_id)
    page.evaluate(f"window.jupyterapp.shell.currentWidget.content.activeCellIndex = {start}")
    page.evaluate("window.jupyterapp.commands.execute('deck:start')")
    page.wait_for_selector("body[data-jp-deck-mode='presenting']", state="attached", timeout=30_000)
    rows = []
    for step in range(steps):
        page.wait_for_timeout(1500)
        row = page.evaluate(MEASURE_JS)
        row["notebook"], row["step"] = notebook, step
        row["screenshot"] = str(out / f"{Path(notebook).stem}-live-{start_id}-{step}.png")
        row["fits"] = row["content"] <= row["room"] + 1 and row["bottom"] <= SCREEN["height"] + 1
        page.screenshot(path=row["screenshot"])
        rows.append(row)
        before = page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex")
        page.evaluate("window.jupyterapp.commands.execute('deck:down')")       # the next sub-slide, else
        page.wait_for_timeout(500)
        if page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex") == before:
            page.evaluate("window.jupyterapp.commands.execute('deck:forward')")  # the next slide
    page.evaluate("window.jupyterapp.commands.execute('deck:stop')")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="+", help="NOTEBOOK:CELL_ID:STEPS")
    parser.add_argument("--out", type=Path, default=lab.ROOT / "test-output" / "live-deck")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Path(tmp) / "app-settings"
        settings.mkdir()
        shutil.copy(lab.ROOT / "jupyterlab" / "overrides.json", settings / "overrides.json")
        with lab.JupyterLab(Path(tmp), env={"GANEDU_QUICK": "1", "OMP_NUM_THREADS": "1"},
                            args=[f"--LabApp.app_settings_dir={settings}"]) as server:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                            args=lab.CHROMIUM_ARGS)
                chromes = lab.chromium_descendants()
                try:
                    page = browser.new_page(viewport=SCREEN)
                    for spec in args.specs:
                        name, start_id, steps = spec.split(":")
                        shutil.copy(lab.ROOT / "notebooks" / name, server.root / name)
                        t0 = time.time()
                        rows += measure_live(page, server, name, start_id, int(steps), args.out)
                        print(f"{name}: {time.time() - t0:.0f} s", flush=True)
                finally:
                    browser.close()
                    lab.end_processes(chromes)
    (args.out / "live.json").write_text(json.dumps(rows, indent=1))
    for r in rows:
        print(f"{r['notebook']} step {r['step']} (cell {r['active']}): content {r['content']} px in {r['room']} px, "
              f"bottom {r['bottom']:.0f}, cells {r['cells']}: {'fits' if r['fits'] else 'SCROLLS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
