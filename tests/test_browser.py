"""The dashboard in a real browser: JupyterLab 4 + ipywidgets 8 + Debian's Chromium (Playwright).

Opens a notebook that shows a TrainingDashboard, runs it, checks that it shows one play control
and labelled constraint boxes, clicks Train, checks that the plot image is redrawn and the step
counter advances, moves the λ slider with the keyboard and checks the kernel applied it, types
letters then 0 into λ's box (refused in words; then off, the box saying 0), sees the scoreboard
with the papers' marks, clicks Pause and
checks that the counter stops and no rate is left standing; then re-runs the cells while
training and checks that only the new dashboard is left. The screenshots and the measured
rates go to test-output/browser/ (look at the screenshots).
Skips when chromium or playwright is missing, unless GANEDU_REQUIRE_BROWSER=1 (CI).
"""
import re
import sys
import time
from pathlib import Path

from ganedu.recipes import RECIPES
from ganedu.widgets.controls import plain

sys.path.insert(0, str(Path(__file__).parent / "browser"))
import ganedu_lab as lab  # noqa: E402

OUT = lab.ROOT / "test-output" / "browser"
CELLS = [  # the notebook is written by the test, so nbval never collects it
    "from ganedu.widgets import TrainingDashboard\n"
    "dashboard = TrainingDashboard('wgan-gp-toy', data='8gaussians', seed=0, device='cpu')\n"
    "dashboard",
    "live = [d for d in TrainingDashboard._live if not d._closed]\n"
    "print(f'live dashboards: {len(live)}')",
]


_counter, _poll = lab.step_counter, lab.poll


def test_dashboard_trains_redraws_takes_lambda_and_pauses_in_jupyterlab(tmp_path):
    chromium = lab.chromium_or_skip()
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    metrics = {}
    with lab.JupyterLab(tmp_path) as server:
        with sync_playwright() as p, lab.chromium_browser(p, chromium) as browser:
            page, img = lab.open_dashboard(browser, server, "dashboard.ipynb", CELLS)
            src0 = _poll(lambda: (img.get_attribute("src") or "").startswith("blob:")
                         and img.get_attribute("src"), 30, "the first plot")
            step0 = _counter(page)
            # one play control (the clock's Play ticks hidden); each constraint's box labelled
            assert page.locator("button.ganedu-train").is_visible()
            assert not page.locator(".ganedu-clock").is_visible()
            assert "gradient penalty" in page.locator(".ganedu-gp-on").inner_text()
            assert "weight clipping" in page.locator(".ganedu-clip-on").inner_text()

            # Train: the front end's clock ticks, the counter advances, the plot is redrawn
            page.click("button.ganedu-train")
            t_train = time.time()
            _poll(lambda: _counter(page) > step0, 30, "the step counter to advance after Train")
            _poll(lambda: img.get_attribute("src") != src0, 30, "the plot to be redrawn")
            metrics["first_redraw_after_train_s"] = round(time.time() - t_train, 2)

            # λ slider moved with the keyboard: the kernel applies it from the next step
            handle = page.locator(".ganedu-lambda .noUi-handle")
            handle.focus()
            for _ in range(8):  # key press by key press: one mark on the curves, not eight
                handle.press("ArrowRight")
            status = page.locator(".ganedu-status")
            lam = plain(RECIPES["wgan-gp-toy"].gp_lambda * 10 ** 0.8)  # 8 steps of 0.1 in log10 λ
            _poll(lambda: f"λ = {lam} from" in status.inner_text(), 30, "the λ changes to be applied")
            metrics["lambda_status"] = status.inner_text()
            page.wait_for_timeout(1500)
            page.locator(".ganedu-dashboard").screenshot(path=str(OUT / "lambda-key-presses.png"))

            # λ typed: letters are refused in words (no emoji), 0 is the Recipe's "off"
            box = page.locator(".ganedu-lambda-text input")
            box.fill("ten")
            box.press("Enter")
            _poll(lambda: "'ten' is not a number" in status.inner_text(), 20, "letters to be refused")
            assert all(ord(c) < 0x2600 for c in status.inner_text()), status.inner_text()
            box.fill("0")
            box.press("Enter")
            gp_on = page.locator(".ganedu-gp-on input")
            _poll(lambda: "λ = 0 from step" in status.inner_text() and not gp_on.is_checked(), 20,
                  "λ = 0 to switch the penalty off")
            assert box.input_value() == "0"
            page.locator(".ganedu-dashboard").screenshot(path=str(OUT / "lambda-off.png"))
            gp_on.check()  # back on, at the value it had
            _poll(lambda: f"λ = {lam} from" in status.inner_text() and box.input_value() == lam, 20,
                  "the penalty to come back at its value")
            page.wait_for_timeout(2500)  # let it train with the new λ: a dashed line on the curves
            progress = page.locator(".ganedu-progress").inner_text()
            m = re.search(r"([\d.]+) steps/s", progress)
            metrics["progress_line"] = progress
            metrics["steps_per_s_in_browser"] = float(m.group(1)) if m else None
            running_steps = _counter(page)
            assert running_steps > step0

            # the scoreboard: modes and HQ as bars, the papers' values as marks beside them
            board = page.locator(".ganedu-scoreboard")
            assert board.is_visible() and board.locator(".ganedu-mark").count() == 18  # 9 quoted rows x 2
            assert "PacGAN2 (PacGAN T1) 7.9/8" in board.text_content()  # (folded: which mark is which)
            board.screenshot(path=str(OUT / "scoreboard.png"))

            # Pause: the counter stops
            page.click("button.ganedu-pause")
            _poll(lambda: "paused at step" in status.inner_text(), 20, "Pause to be processed")
            stopped = _counter(page)
            page.wait_for_timeout(1500)
            assert _counter(page) == stopped, "the step counter still advances after Pause"
            assert "steps/s" not in page.locator(".ganedu-progress").inner_text()  # no rate left standing
            assert page.locator("button.ganedu-train").is_enabled()
            metrics["steps_at_pause"] = stopped
            page.locator(".ganedu-dashboard").screenshot(path=str(OUT / "dashboard.png"))
            page.screenshot(path=str(OUT / "page.png"))

            # re-running the cell replaces the dashboard: the old one is closed, not left ticking
            page.click("button.ganedu-train")
            _poll(lambda: _counter(page) > stopped, 30, "training to restart")
            lab.run_all(page)
            out = page.locator(".jp-OutputArea-output:has-text('live dashboards')")
            _poll(lambda: out.count() == 1 and "live dashboards: 1" in out.inner_text()
                  and page.locator(".ganedu-dashboard").count() == 1, 120,  # 60 s timed out once under CI load
                  "the re-run cell to replace its dashboard")
    lab.write_metrics(OUT, metrics, t_start)


CONDITIONAL_CELLS = [
    "from ganedu.widgets import TrainingDashboard\n"
    "dashboard = TrainingDashboard('cwgan-gp-toy', data='8gaussians', seed=0, device='cpu')\n"
    "dashboard",
]


def test_the_class_picker_of_a_conditional_dashboard_in_jupyterlab(tmp_path):
    """Train a conditional recipe, pick class 3 while it trains: the kernel draws G(z, 3) and D(x, 3)."""
    chromium = lab.chromium_or_skip()
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with lab.JupyterLab(tmp_path) as server:
        with sync_playwright() as p, lab.chromium_browser(p, chromium) as browser:
            page, img = lab.open_dashboard(browser, server, "conditional.ipynb", CONDITIONAL_CELLS)
            picker = page.locator(".ganedu-class select")
            assert picker.is_visible() and picker.locator("option").count() == 9  # every class + 8
            page.click("button.ganedu-train")
            _poll(lambda: _counter(page) > 0, 30, "the step counter to advance after Train")
            page.wait_for_timeout(4000)
            page.locator(".ganedu-dashboard").screenshot(path=str(OUT / "conditional-every-class.png"))
            src = img.get_attribute("src")
            picker.select_option(label="class 3")
            status = page.locator(".ganedu-status")
            _poll(lambda: "showing class 3: G(z, 3) and the critic D(x, 3)" in status.inner_text(), 30,
                  "the kernel to take class 3")
            _poll(lambda: img.get_attribute("src") != src, 30, "the plot of class 3")
            at = _counter(page)
            _poll(lambda: _counter(page) > at, 30, "training to go on while class 3 is shown")
            page.wait_for_timeout(3000)
            page.locator(".ganedu-dashboard").screenshot(path=str(OUT / "conditional-class-3.png"))
            page.click("button.ganedu-pause")
            _poll(lambda: "paused at step" in status.inner_text(), 20, "Pause to be processed")
