"""The HTML report: it parses, every chart exists and is used, the weak panel comes first.

Driven through ``panel_report.main(argv)`` as a user runs it, plus ``write_report`` directly.
"""

from __future__ import annotations

import base64
import json
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import matplotlib.dates as mdates
import pytest

import panel_report
from panel_tracker.app.health_step import report_options
from panel_tracker.health.assess import assess
from panel_tracker.health.table import LOW_LIGHT, NO_DATA, ratio_table
from panel_tracker.health.thresholds import HealthSettings
from panel_tracker.history import History, save_history
from panel_tracker.report.charts import position_columns, totals_chart
from panel_tracker.report.html import predecessors
from panel_tracker.report.page import write_report
from panel_tracker.settings import load_config
from sandbox.health_bench import synthetic_history, synthetic_serials

SYSTEM_ID = "4130271"
SERIALS = synthetic_serials(12)
WEAK = SERIALS[7]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class PageParser(HTMLParser):
    """Collects what the tests look at: images, links, table rows, layout cells, open tags."""

    VOID: ClassVar[set[str]] = {"meta", "img", "br", "link", "input", "hr", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.urls: list[str] = []
        self.rows: list[str] = []
        self.cells: list[tuple[str, str]] = []  # (serial, css class)
        self.stack: list[str] = []
        self.mismatched: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.images.append(found.get("src") or "")
        if tag == "source":  # a chart's phone drawing
            self.images.append(found.get("srcset") or "")
        for key in ("src", "href", "srcset"):
            if found.get(key):
                self.urls.append(found[key] or "")
        if tag == "tr" and found.get("data-serial"):
            self.rows.append(found["data-serial"] or "")
        if tag == "div" and found.get("data-serial"):
            self.cells.append((found["data-serial"] or "", found.get("class") or ""))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack.pop() != tag:
            self.mismatched.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    assert parser.stack == [] and parser.mismatched == [], "unbalanced HTML"
    return parser


def write_setup(tmp_path: Path, history: History, **config: Any) -> Path:
    raw = {"name": "Test <house>", "system_id": SYSTEM_ID, "panel_watts": 400, **config}
    path = tmp_path / "enlighten_v4_config.json"
    path.write_text(json.dumps(raw))
    save_history(tmp_path / "data" / f"inverter_daily_data-{SYSTEM_ID}.json", history)
    return path


def shaded_history() -> History:
    history = synthetic_history(days=45, faults=[(7, 30, None, 0.12)])
    for serial in SERIALS:  # a missed night: estimated days, shown as such
        history.micros[serial]["2025-07-10"]["estimated"] = True
    return history


def check_page(index: Path) -> PageParser:
    page = parse(index)
    folder = index.parent
    assert page.images, "no charts"
    for src in page.images:  # the page is one file: every chart is inside it
        scheme, _, data = src.partition(",")
        assert scheme == "data:image/png;base64", src[:40]
        assert base64.b64decode(data, validate=True).startswith(PNG_MAGIC)
    assert not list(folder.glob("chart-*.png")), "no chart file beside the page"
    text = index.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert all(not u.startswith(("http", "//")) for u in page.urls)
    assert 'name="viewport"' in text
    return page


def test_report_script_writes_a_page_with_the_weak_panel_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_setup(tmp_path, shaded_history())
    assert panel_report.main(["--config", str(config)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    index = tmp_path / "report" / "index.html"
    assert out[-1] == str(index)
    assert out[0].startswith(f"panel {WEAK} weak since 2025-07-01")
    page = check_page(index)
    assert page.rows[0] == WEAK
    assert sorted(page.rows) == SERIALS
    weak_cells = [serial for serial, css in page.cells if "weak" in css.split()]
    assert weak_cells == [WEAK]
    assert sorted(s for s, _ in page.cells) == SERIALS  # the grid in serial order
    text = " ".join(page.text)
    assert "1 panel needs attention" in text and "Test <house>" in text
    assert "~" in text  # the estimated day is marked
    assert os.stat(index).st_mode & 0o777 == 0o644  # a report may be served as it is


def test_report_follows_the_configured_layout(tmp_path: Path) -> None:
    layout = [
        [SERIALS[7], SERIALS[1], None, SERIALS[2]],
        [SERIALS[3], "", SERIALS[4]],
        ["999999999999"],
    ]
    config_path = write_setup(tmp_path, shaded_history(), panel_layout=layout)
    config = load_config(config_path)
    history = History(
        json.loads((tmp_path / "data" / f"inverter_daily_data-{SYSTEM_ID}.json").read_text())
    )
    report = assess(history, HealthSettings(), panel_watts=400)
    index = write_report(history, report, report_options(config), tmp_path / "out", days=20)
    page = check_page(index)
    assert [s for s, _ in page.cells] == [
        SERIALS[7],
        SERIALS[1],
        SERIALS[2],
        SERIALS[3],
        SERIALS[4],
        "999999999999",
    ]
    assert dict(page.cells)["999999999999"].endswith("none")
    html_text = index.read_text()
    assert html_text.count('class="cell gap"') == 1 + 2 + 3  # gaps and short rows padded
    assert "Not in panel_layout: " in html_text and SERIALS[5] in html_text


def test_out_dir_options_and_stale_charts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_setup(tmp_path, shaded_history(), report_dir="site/health")
    stale = tmp_path / "site" / "health" / "chart-old-panel.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(PNG_MAGIC)
    keep = stale.parent / "photo.png"
    keep.write_bytes(PNG_MAGIC)
    assert panel_report.main(["--config", str(config), "-q", "--days", "10"]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'site' / 'health' / 'index.html'}\n"
    assert not stale.exists() and keep.exists()  # only our own old charts are removed
    assert panel_report.main(["--config", str(config), "-q", "--out", str(tmp_path / "x")]) == 0
    check_page(tmp_path / "x" / "index.html")


def test_healthy_array_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_setup(tmp_path, synthetic_history(days=10))
    assert panel_report.main(["--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("all 12 panels ok")
    page = check_page(tmp_path / "report" / "index.html")
    assert "All panels ok" in " ".join(page.text)
    assert all(css.endswith("ok") for _, css in page.cells)


def test_missing_history_and_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "enlighten_v4_config.json"
    config.write_text(json.dumps({"system_id": SYSTEM_ID}))
    assert panel_report.main(["--config", str(config)]) == 1
    assert "run run_inverter_daily_stats.py first" in capsys.readouterr().err
    assert panel_report.main(["--config", str(config), "--days", "0"]) == 2
    assert panel_report.main(["--config", str(tmp_path / "nope.json")]) == 2
    config.write_text(json.dumps({"system_id": SYSTEM_ID, "health": {"weak_ratio": 2}}))
    assert panel_report.main(["--config", str(config)]) == 2
    assert "weak_ratio" in capsys.readouterr().err


def test_daily_totals_mark_low_light_nights_only_where_there_is_data_legend_above() -> None:

    weather = [1.0] * 30
    weather[12] = 0.03  # an overcast day: readings, but too little light to judge
    history = synthetic_history(days=30, weather=weather)
    not_run = "2025-06-21"  # a night the job did not run: no entry at all
    for days in history.micros.values():
        days.pop(not_run)
    table = ratio_table(history, HealthSettings())
    window = slice(0, len(table.days))
    statuses = dict(zip(table.days, table.status, strict=True))
    assert statuses["2025-06-13"] == LOW_LIGHT
    assert statuses.get(not_run, NO_DATA) == NO_DATA

    figure = totals_chart(history, table, window)
    figure.canvas.draw()
    (axis,) = figure.axes
    (markers,) = [line for line in axis.get_lines() if line.get_marker() == "v"]
    marked = {mdates.num2date(x).date().isoformat() for x in markers.get_xdata(orig=False)}
    assert marked == {"2025-06-13"}
    legend = axis.get_legend()
    assert legend is not None
    renderer = figure.canvas.get_renderer()
    plot_box, legend_box = axis.get_window_extent(renderer), legend.get_window_extent(renderer)
    assert legend_box.y0 >= plot_box.y1 - 1, "the legend covers the bars"
    assert legend_box.y1 <= figure.bbox.y1 + 1, "the legend is cut off"


def test_a_replaced_unit_gives_its_place_to_its_successor_and_is_not_counted(
    tmp_path: Path,
) -> None:
    history = synthetic_history(days=45, faults=[])
    old, new = SERIALS[3], "121799999999"
    days = sorted(history.micros[old])
    for day in days[30:]:
        del history.micros[old][day]  # dead since day 30 ...
    history.micros[new] = {d: dict(history.micros[SERIALS[0]][d]) for d in days[35:]}  # ... new
    layout = [SERIALS[:6], SERIALS[6:]]  # the roof as it was: the old serial in its place
    config = load_config(write_setup(tmp_path, history, panel_layout=layout))
    report = assess(history, HealthSettings(), panel_watts=400)
    index = write_report(history, report, report_options(config), tmp_path / "out")
    page = check_page(index)
    assert [s for s, _ in page.cells] == [*SERIALS[:3], new, *SERIALS[4:]]
    assert "Not in panel_layout" not in index.read_text()
    assert f"&middot; {len(SERIALS)} panels</p>" in index.read_text()


def test_a_replaced_units_days_are_its_positions_history_before_its_successors(
    tmp_path: Path,
) -> None:
    history = synthetic_history(days=45, faults=[])
    old, new = SERIALS[3], "121799999999"
    days = sorted(history.micros[old])
    for day in days[40:]:
        del history.micros[old][day]  # last report on day 39 ...
    history.micros[new] = {d: dict(history.micros[SERIALS[0]][d]) for d in days[41:]}  # ... new
    config = load_config(write_setup(tmp_path, history, panel_layout=[SERIALS[:6], SERIALS[6:]]))
    report = assess(history, HealthSettings(), panel_watts=400)
    assert [(r.old, r.new) for r in report.replacements] == [(old, new)]
    index = write_report(history, report, report_options(config), tmp_path / "out")
    page = index.read_text()
    row = page[page.index(f'<tr data-serial="{new}">') :]
    row = row[: row.index("</tr>")]
    cells = row.split("<td")[3:]  # the days, newest first (after the serial and the ratio)
    shown = days[-7:][::-1]
    for day, cell in zip(shown, cells, strict=True):
        if day >= days[41]:
            assert f">{history.daily(new, day)}</td>" in cell and "was" not in cell, day
        elif day in history.micros[old]:
            assert f'class="was" title="{old}, replaced">{history.daily(old, day)}<' in cell, day
        else:
            assert 'class="was"' in cell and "&ndash;" in cell, day
    assert "Grey: the unit a new micro-inverter replaced" in page
    assert f"in place of {old} since {days[41]}" in page  # the tile's title

    table = report.table
    assert table is not None
    held = position_columns(table, predecessors(report), new, slice(0, len(table.days)))
    first = table.days.index(days[41])
    assert set(held[:first].tolist()) == {table.column(old)}
    assert set(held[first:].tolist()) == {table.column(new)}
