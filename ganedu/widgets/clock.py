"""The dashboard's clock: the front end ticks, each tick trains one chunk of steps.

How the dashboard trains without blocking the kernel: **the front end drives the clock.** An
``ipywidgets.Play`` ticks in the browser; each tick reaches the kernel as an ordinary widget
message, and its callback runs a *chunk* of training steps on the main thread, redraws if a
refresh is due, and returns before the next tick arrives (it stops ``chunk_s`` after the tick
was sent, by default 95% of the tick, less the expected redraw time). Between ticks the kernel
is idle, so Pause, sliders and other cells work. We chose this over a background thread because
it works wherever widgets do (JupyterLab, Notebook 7, VS Code, Colab), while updates sent from a
thread are not rendered on Colab (googlecolab/colabtools#3373) and broke with ipykernel 7.0
(ipykernel#1450); with no thread there is nothing to join, race or leak. Ticks that queued while
the kernel was busy are dropped, not replayed (the clock's value numbers the ticks, so the
kernel knows when each was sent and skips those more than a tick late).

With ipywidgets 8 the kernel starts the clock (Train sets ``playing``); an ipywidgets 7 front end
(Colab's) starts a Play only from its own ▶ button, so there the Play is the visible play control.
"""
from __future__ import annotations

import collections
import time

import ipywidgets as W

__all__ = ["Clock", "DRAW_SHARE", "IPYWIDGETS_7", "PLAYING"]

#: the largest share of the time a redraw may take (scores, figure, PNG); training gets the rest
DRAW_SHARE = 0.25

IPYWIDGETS_7 = int(W.__version__.split(".")[0]) < 8
PLAYING = "_playing" if IPYWIDGETS_7 else "playing"  # the Play widget's trait, renamed in 8.0


class Clock:
    """A front-end ``Play`` that calls ``on_chunk(deadline)`` for each tick that arrives on time.

    It is the dashboard's one play control: Train / Pause buttons where the kernel can start the
    Play (ipywidgets 8; the Play is hidden), the Play's own ▶ / ⏸ where only a click can
    (ipywidgets 7, Colab; the buttons are hidden). Either calls ``on_play`` / ``on_pause``.
    It also keeps the time things take: a step, a redraw, the steps per second of the last chunks.
    """

    def __init__(self, interval_ms, chunk_s, *, refresh_hz, on_chunk, on_play, on_pause):
        self.play = W.Play(value=0, min=0, max=2**31 - 1, interval=int(interval_ms), show_repeat=False)
        self.running = False  # ticks train only while running
        self.buttons = {"train": W.Button(description="Train", icon="play", layout=W.Layout(width="auto")),
                        "pause": W.Button(description="Pause", icon="pause", layout=W.Layout(width="auto"))}
        self.buttons["train"].on_click(lambda _button: on_play())
        self.buttons["pause"].on_click(lambda _button: on_pause())
        for w in (self.buttons["train"], self.buttons["pause"]) if IPYWIDGETS_7 else (self.play,):
            w.layout.display = "none"
        self._enable()
        self.chunk_s = 0.95 * interval_ms / 1000 if chunk_s is None else float(chunk_s)
        self.refresh_hz = float(refresh_hz)
        self._on_chunk, self._on_play, self._on_pause = on_chunk, on_play, on_pause
        self._ref = None  # (value, time) of a tick that arrived on time: the clock's phase
        self._last_chunk_end = self._last_draw = 0.0
        self._step_s = self._draw_s = 0.0  # running estimates of a step's and a redraw's time
        self._rate = collections.deque(maxlen=30)  # (time, steps) after each chunk
        self.play.observe(self._on_tick, "value")
        self.play.observe(self._on_playing, PLAYING)

    # ---- start / stop ----------------------------------------------------------------------
    def start(self) -> bool:
        """Run, and start the front end's ticks; False where only its ▶ can (ipywidgets 7)."""
        self.running, self._ref = True, None
        self._rate.clear()
        self._enable()
        if getattr(self.play, PLAYING):  # (it is when the Play's own ▶ was clicked)
            return True
        setattr(self.play, PLAYING, True)
        return not IPYWIDGETS_7

    def stop(self):
        self.running = False
        self._rate.clear()  # a paused dashboard shows no speed
        self._enable()
        if getattr(self.play, PLAYING):
            setattr(self.play, PLAYING, False)

    def _enable(self):
        self.buttons["train"].disabled, self.buttons["pause"].disabled = self.running, not self.running

    def _on_playing(self, change):  # the Play's own ▶ / ⏸ buttons
        if change["new"] and not self.running:
            self._on_play()
        elif not change["new"] and self.running:
            self._on_pause()

    # ---- ticks -------------------------------------------------------------------------------
    def _on_tick(self, change):
        if not self.running:
            return
        now, period, k = time.perf_counter(), self.play.interval / 1000, change["new"]
        if self._ref is None or k <= self._ref[0]:
            self._ref = (k, now)
        sent = self._ref[1] + (k - self._ref[0]) * period  # when the browser sent it
        if now - sent > period:  # it waited behind other work (a cell, a slow redraw): drop it
            self._last_chunk_end = now
            return
        if now - self._last_chunk_end > 0.003 or now < sent:  # the kernel was idle: on time
            self._ref, sent = (k, now), now
        self._on_chunk(sent + self.chunk_s)
        self._last_chunk_end = time.perf_counter()

    def plan(self, deadline=None) -> tuple[float, bool]:
        """When to stop training this chunk, and whether to redraw after it.

        A redraw is due every 1/refresh_hz s (to within half a tick), but drawing may take at
        most ``DRAW_SHARE`` of the time (no slack there): on a slow or busy CPU the plots refresh
        less often, and training keeps most of the time.
        """
        t0, every = time.perf_counter(), 1.0 / self.refresh_hz
        since = t0 - self._last_draw
        draw = since >= every - min(self.play.interval / 2000, every / 4) and since >= self._draw_s / DRAW_SHARE
        deadline = t0 + self.chunk_s if deadline is None else deadline
        return deadline - (self._draw_s if draw else 0.0), draw

    def train_until(self, step, deadline):
        """Call ``step()`` until the next one would end after ``deadline`` (at least once)."""
        while True:
            t = time.perf_counter()
            step()
            self._step_s = 0.8 * self._step_s + 0.2 * (time.perf_counter() - t)
            if time.perf_counter() + self._step_s > deadline or not self.running:
                return

    # ---- what it measured --------------------------------------------------------------------
    def drew(self, t0):
        """A redraw started at ``t0`` just ended (refreshes count from the start of a redraw)."""
        self._last_draw, took = t0, time.perf_counter() - t0
        self._draw_s = took if self._draw_s == 0 else 0.7 * self._draw_s + 0.3 * took  # (the first: as measured)

    def count(self, steps, *, restart=False):
        """Record that the trainer stands at ``steps`` now (``restart``: forget older counts)."""
        if restart:
            self._rate.clear()
        self._rate.append((time.perf_counter(), steps))

    def steps_per_second(self) -> float:
        """Generator steps per second over the last chunks (idle time between ticks included)."""
        if len(self._rate) < 2 or self._rate[-1][0] - self._rate[0][0] < 1e-6:
            return 0.0
        (t0, s0), (t1, s1) = self._rate[0], self._rate[-1]
        return (s1 - s0) / (t1 - t0)
