"""Does every slide of an offline reveal.js deck fit a 1280×720 screen? Measured in Chromium.

Opens a deck built by ``ganedu.classroom.slides`` at 1280×720, visits every slide (vertical
sub-slides included, with all its fragments shown: hidden fragments already take their room),
and measures what a viewer sees:

- ``bottom``/``right``: where the slide's content ends on the screen, in screen pixels; content
  past 720 (or 1280) is cut off (reveal.js scales the slide and clips the rest);
- ``height``: the content's height in the deck's own pixels (reveal.js's ``height`` is the room);
- ``smallest_text_px``: the smallest font size of visible text times reveal.js's scale;
- ``wrapped``: printed tables (``<pre>`` with columns) whose lines wrap (a row broken in two);
- ``hidden_sideways``: boxes whose content scrolls sideways (cut off at their right edge);
- ``shrunk_images``: figures shown at under ``MIN_IMAGE_SCALE`` of their own pixels;
- ``cells``: the notebook cells on the slide (id, height in deck pixels): which one to move;
- ``scrolls``: long printouts that scroll inside their box (the deck caps them; not a problem).

A slide is a *problem* when any of these fails (``problems(m)`` says which). ``measure_deck``
saves one screenshot per slide, ``NN_name-H-V.png``. Run it over built decks:

    python tests/browser/deck_fit.py slides/*.slides.html --shots test-output/deck-fit
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

SCREEN = {"width": 1280, "height": 720}
MIN_TEXT_PX = 14.0        #: smallest readable text on the screen, in screen pixels
MIN_IMAGE_SCALE = 0.8     #: a figure drawn smaller than this share of its pixels loses its labels
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-dev-shm-usage"]

#: measures the current slide (a reveal.js <section>); returns a plain object
MEASURE_JS = r"""
(minImageScale) => {
  const slide = Reveal.getCurrentSlide(), scale = Reveal.getScale();
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  let top = Infinity, bottom = -Infinity, right = -Infinity;
  for (const el of [slide, ...slide.querySelectorAll('*')]) {
    if (!shown(el) || el.closest('aside.notes')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    top = Math.min(top, r.top); bottom = Math.max(bottom, r.bottom); right = Math.max(right, r.right);
  }
  // the smallest text: each text node's parent font size, times the deck's scale
  let smallest = Infinity, smallestText = '';
  const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || !shown(el) || el.closest('aside.notes, mjx-container, mjx-assistive-mml'))
      continue;
    const px = parseFloat(getComputedStyle(el).fontSize) * scale;
    if (px < smallest) { smallest = px; smallestText = n.textContent.trim().slice(0, 40); }
  }
  // printed tables that wrap: two or more lines laid out in columns (a run of spaces or a '|' inside
  // the line) that are taller than the same lines with wrapping off; a long sentence may wrap
  const wrapped = [];
  for (const pre of slide.querySelectorAll('pre')) {
    if (!shown(pre) || pre.closest('aside.notes')) continue;
    const rows = pre.textContent.split('\n').filter(line => /\S( {2,}|\s*\|\s*)\S/.test(line.trim()));
    if (rows.length < 2) continue;             // one line is a sentence, not a table
    const probe = pre.cloneNode(false);        // the table's rows alone, in the same box
    probe.textContent = rows.join('\n');
    pre.after(probe);
    const wrappedHeight = probe.getBoundingClientRect().height;
    probe.style.whiteSpace = 'pre';
    const plainHeight = probe.getBoundingClientRect().height;
    probe.remove();
    if (wrappedHeight > plainHeight + 1) wrapped.push(rows[0].trim().slice(0, 60));
  }
  // boxes whose content is cut at their right edge (or scrolls sideways)
  const sideways = [];
  for (const el of slide.querySelectorAll('*')) {
    if (!shown(el) || el.closest('aside.notes, mjx-container')) continue;
    if (getComputedStyle(el).overflowX === 'visible' || el.scrollWidth <= el.clientWidth) continue;
    const edge = el.getBoundingClientRect().right, range = document.createRange();
    const texts = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = texts.nextNode(); n; n = texts.nextNode()) {
      range.selectNodeContents(n);
      if (n.textContent.trim() && range.getBoundingClientRect().right > edge + 1) {
        sideways.push(el.tagName.toLowerCase() + ': ' + el.textContent.trim().slice(0, 40));
        break;
      }
    }
  }
  // printouts that scroll inside the slide (reachable with the mouse wheel: reported, not a problem)
  const scrolls = [...slide.querySelectorAll('pre')].filter(el => shown(el)
    && /auto|scroll/.test(getComputedStyle(el).overflowY) && el.scrollHeight > el.clientHeight + 2)
    .map(el => Math.round(el.scrollHeight) + ' px in ' + Math.round(el.clientHeight) + ': '
               + el.textContent.trim().slice(0, 40));
  const shrunk = [];
  for (const img of slide.querySelectorAll('img')) {
    if (!shown(img) || !img.naturalWidth) continue;
    const ratio = img.getBoundingClientRect().width / img.naturalWidth;
    if (ratio < minImageScale) shrunk.push(Math.round(ratio * 100) / 100);
  }
  // the notebook cells on the slide: (cell id, height in deck pixels), to say which cell to move
  const cells = [...slide.querySelectorAll('.jp-Cell')].filter(shown).map(c =>
    [(c.id || '').replace('cell-id=', ''), Math.round(c.getBoundingClientRect().height / scale)]);
  const idx = Reveal.getIndices();
  const heading = slide.querySelector('h1, h2, h3, h4');
  return {h: idx.h, v: idx.v || 0, scale: scale, top: top, bottom: bottom, right: right,
          height: (bottom - top) / scale, room: Reveal.getConfig().height,
          viewport: [innerWidth, innerHeight],
          title: heading ? heading.textContent.replace(/\u00b6/g, '').trim().slice(0, 60)
                         : slide.textContent.trim().slice(0, 60),
          smallest_text_px: smallest === Infinity ? null : smallest, smallest_text: smallestText,
          wrapped: wrapped, hidden_sideways: sideways, shrunk_images: shrunk, cells: cells, scrolls: scrolls};
}
"""


def problems(m: dict) -> list[str]:
    """What a viewer would miss on slide ``m`` (a ``measure_deck`` row); empty: it fits."""
    width, height = m["viewport"]
    out = []
    if m["bottom"] > height + 1 or m["top"] < -1:
        out.append(f"content runs {max(m['bottom'] - height, -m['top']):.0f} px past the screen "
                   f"(content {m['height']:.0f} px tall, room {m['room']})")
    if m["right"] > width + 1:
        out.append(f"content runs {m['right'] - width:.0f} px past the right edge")
    if m["smallest_text_px"] is not None and m["smallest_text_px"] < MIN_TEXT_PX:
        out.append(f"text at {m['smallest_text_px']:.1f} px on screen ({m['smallest_text']!r})")
    out += [f"printed table wraps: {t!r}" for t in m["wrapped"]]
    out += [f"cut at its right edge: {t!r}" for t in m["hidden_sideways"]]
    out += [f"figure shown at {r:.0%} of its size" for r in m["shrunk_images"]]
    return out


def slide_indices(page) -> list[tuple[int, int]]:
    """(h, v) of every slide: a horizontal slide, or each vertical sub-slide of a stack."""
    return [tuple(x) for x in page.evaluate("""() => Reveal.getHorizontalSlides().flatMap((s, h) => {
        const subs = s.querySelectorAll(':scope > section');
        return subs.length ? [...subs].map((_, v) => [h, v]) : [[h, 0]];
    })""")]


def measure_deck(page, deck: Path, shots: Path | None = None) -> list[dict]:
    """Open ``deck`` in ``page`` (a Playwright page, ideally 1280×720), visit every slide with all its
    fragments shown, and return one measurement per slide (see ``MEASURE_JS``); with ``shots``, save
    a screenshot of each slide there as ``<deck stem>-H-V.png``."""
    page.goto(Path(deck).resolve().as_uri())
    page.wait_for_function("typeof Reveal !== 'undefined' && Reveal.isReady()", timeout=30_000)
    page.wait_for_function("!window.MathJax || !MathJax.startup || MathJax.startup.promise", timeout=30_000)
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    page.evaluate("Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
    page.evaluate("Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
    stem = Path(deck).name.removesuffix(".html").removesuffix(".slides")
    rows = []
    for h, v in slide_indices(page):
        page.evaluate(f"Reveal.slide({h}, {v}, Number.MAX_SAFE_INTEGER)")   # every fragment shown
        page.evaluate("Reveal.layout()")
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        row = page.evaluate(MEASURE_JS, MIN_IMAGE_SCALE)
        row["deck"], row["problems"] = stem, None
        row["problems"] = problems(row)
        if shots is not None:
            Path(shots).mkdir(parents=True, exist_ok=True)
            row["screenshot"] = str(Path(shots) / f"{stem}-{h:02d}-{v:02d}.png")
            page.screenshot(path=row["screenshot"])
        rows.append(row)
    return rows


def measure_decks(decks, chromium: str, shots: Path | None = None) -> list[dict]:
    """``measure_deck`` for each deck in one Chromium (network refused: the decks are offline)."""
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=SCREEN)
            page.route(re.compile(r"^https?://"), lambda route: route.abort())
            for deck in decks:
                rows += measure_deck(page, Path(deck), shots)
        finally:
            browser.close()
    return rows


def summary(rows: list[dict]) -> str:
    """Per deck: slides, slides with problems, the tallest content; then each problem slide."""
    lines, decks = [], sorted({r["deck"] for r in rows})
    for d in decks:
        mine = [r for r in rows if r["deck"] == d]
        bad = [r for r in mine if r["problems"]]
        worst = max(mine, key=lambda r: r["height"])
        lines.append(f"{d}: {len(mine)} slides, {len(bad)} with problems; tallest {worst['height']:.0f} px "
                     f"(room {worst['room']}) on {worst['h']}-{worst['v']} {worst['title']!r}")
        for r in bad:
            lines.append(f"    {r['h']:02d}-{r['v']:02d} {r['title']!r}: " + "; ".join(r["problems"]))
            lines.append("        cells (id: height): " + ", ".join(f"{c}: {h}" for c, h in r["cells"]))
        for r in mine:
            lines += [f"    {r['h']:02d}-{r['v']:02d} scrolls (not a problem): {t!r}" for t in r["scrolls"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("decks", nargs="+", type=Path)
    parser.add_argument("--shots", type=Path, help="folder for one screenshot per slide")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    rows = measure_decks(args.decks, args.chromium, args.shots)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(summary(rows))
    return 1 if any(r["problems"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
