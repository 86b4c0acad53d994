"""The report in a real browser: Debian's Chromium, driven by Playwright, at 1280 and 390 px.

A person reads the report on a desktop and on a phone held upright. At both widths no text may
overflow its box and no number may be clipped; on the phone the charts are the drawings made
for its width and the last-days table shows the newest day without scrolling. The screenshots
are saved in the test's folder (``pytest --basetemp=DIR`` keeps them where you say).

Without Chromium the module is skipped, unless ``PANEL_TRACKER_REQUIRE_BROWSER=1`` (CI sets it
and installs the browser), where a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from sandbox import demo

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REQUIRED = os.environ.get("PANEL_TRACKER_REQUIRE_BROWSER") == "1"
# No network, no first-run work: the page is a file, and the browser must not look elsewhere.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"desktop": 1280, "phone": 390}

if not Path(CHROMIUM).exists():
    if REQUIRED:
        pytest.fail(f"PANEL_TRACKER_REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM}")
    pytest.skip("no Chromium on this machine (apt install chromium)", allow_module_level=True)

# Every element whose content spills out of its own box (a page-level check: the last-days
# table may scroll inside its own scroller, nothing else may), and every cut text.
OVERFLOWS = """() => {
  const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const inScroller = (el) => { for (let p = el.parentElement; p; p = p.parentElement)
    if (scrolls(p)) return true; return false; };
  const found = [];
  for (const el of document.querySelectorAll('main *')) {
    if (!el.clientWidth || scrolls(el) || inScroller(el)) continue;
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1
        && getComputedStyle(el).overflowY === 'hidden')
      found.push(`${el.tagName}.${el.className} "${(el.textContent || '').slice(0, 24)}" `
                 + `${el.scrollWidth}x${el.scrollHeight} in ${el.clientWidth}x${el.clientHeight}`);
  }
  return found;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's own report (its 30 nights: a 24-panel roof in two rows of twelve, a shaded
    panel, missed nights' estimated days, a dead micro-inverter and its replacement), written
    into a folder of the test's instead of ``demo_output/``."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "DEMO_DIR", folder)
        assert demo.run_demo(quiet=True, out=lambda line: None) == 0
    return folder / "report" / "index.html"


def _open(browser: Browser, page_file: Path, width: int) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("device", WIDTHS)
def test_no_text_overflows_and_no_number_is_clipped(
    browser: Browser, report_page: Path, device: str
) -> None:
    width = WIDTHS[device]
    page = _open(browser, report_page, width)
    try:
        page.screenshot(path=str(report_page.parent / f"report-{width}px.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(OVERFLOWS) == []
        tiles: list[dict[str, Any]] = page.eval_on_selector_all(
            ".cell[data-serial] span",
            "els => els.map(e => ({text: e.textContent, scroll: e.scrollWidth,"
            " box: e.clientWidth, right: e.getBoundingClientRect().right,"
            " cell: e.parentElement.getBoundingClientRect().right}))",
        )
        assert len(tiles) == 2 * 24  # the roof's 24 places: the replacement in the dead one's
        for tile in tiles:  # "101%" whole, and the serial's last digits whole, in the tile
            assert tile["scroll"] <= tile["box"] and tile["right"] <= tile["cell"] + 0.5, tile
        assert "24 panels" in page.locator("header").inner_text()
    finally:
        page.close()


def test_on_a_phone_the_charts_are_drawn_for_its_width_and_the_newest_day_shows(
    browser: Browser, report_page: Path
) -> None:
    page = _open(browser, report_page, WIDTHS["phone"])
    try:
        charts: list[dict[str, Any]] = page.eval_on_selector_all(
            "picture",
            "els => els.map(p => ({shown: p.querySelector('img').currentSrc,"
            " narrow: p.querySelector('source').srcset, natural: p.querySelector('img')"
            ".naturalWidth, width: p.querySelector('img').getBoundingClientRect().width}))",
        )
        assert len(charts) == 3
        for chart in charts:
            assert chart["shown"] == chart["narrow"]
            # drawn for about this width: its text is not shrunk to a third of its size
            assert chart["width"] / chart["natural"] >= 0.7, chart
        newest = page.locator("#last-days thead th").nth(2)  # after the panel and its ratio
        assert newest.inner_text().split()[-1] == "30"  # 2026-01-30, the demo's last night
        box = newest.bounding_box()
        assert box is not None and box["x"] + box["width"] <= WIDTHS["phone"]
    finally:
        page.close()


def test_on_a_desktop_the_wide_drawings_show(browser: Browser, report_page: Path) -> None:
    page = _open(browser, report_page, WIDTHS["desktop"])
    try:
        shown = page.eval_on_selector_all("picture img", "els => els.map(e => e.currentSrc)")
        narrow = page.eval_on_selector_all("picture source", "els => els.map(e => e.srcset)")
        assert len(shown) == 3 and not set(shown) & set(narrow)
    finally:
        page.close()
