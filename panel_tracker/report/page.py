"""The health report: one self-contained HTML page, its PNG charts inside it, readable on a phone.

What a person sees first is what needs attention: the weak and silent panels, then the panel
layout coloured by the last days' ratio to the array median (the weak panel is the red one),
then a last-days table with flagged panels on top, each panel's ratio over time and the daily
totals. No script, no web font, no external URL: the folder can be opened from disk, mailed or
served as it is.

This module assembles the page and writes the files; the sections' markup is in
``report_html``, the charts are drawn in ``report_charts``.
"""

from __future__ import annotations

import base64
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..health.assess import HealthReport, PanelVerdict
from ..health.table import RatioTable, ratio_table
from ..health.thresholds import PanelWatts
from ..history import History
from ..roof import PanelLayout
from ..storage import atomic_write_text
from ..wording import counted
from .charts import NARROW_IN, WIDE_IN, panels_chart, png_bytes, ratio_chart, totals_chart
from .evidence import evidence_line, whole_table
from .html import (
    PAGE_CSS,
    ChartImages,
    chart_section,
    last_days_section,
    layout_section,
    status_section,
)

logger = logging.getLogger(__name__)

# Earlier versions wrote the charts as files beside the page under this prefix.
CHART_PREFIX = "chart-"
REPORT_FILE_MODE = 0o644  # a report holds no secret and may be served by a web server


def attention_order(report: HealthReport) -> list[PanelVerdict]:
    """Flagged panels first (weak, then silent, then declining), then the rest by serial."""
    first = report.singled_out()
    rest = [v for v in report.panels if v not in first and not v.retired]
    return first + sorted(rest, key=lambda v: v.serial)


# How many days the charts show unless the user says otherwise.
DEFAULT_REPORT_DAYS = 30


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What the page needs from the settings: the system's name, the roof, the ratings."""

    name: str
    panel_layout: PanelLayout | None = None
    panel_watts: PanelWatts = None


def write_report(
    history: History,
    report: HealthReport,
    options: ReportOptions,
    out_dir: Path,
    *,
    days: int = DEFAULT_REPORT_DAYS,
) -> Path:
    """Write ``index.html`` into ``out_dir``; return the page's path.

    The charts are inside the page (PNG data URIs), so the one file can be mailed or attached
    and is written atomically. Chart files an earlier version wrote beside it are removed
    (only files named ``chart-*.png``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    days = max(1, int(days))
    table = report.table
    if table is None:
        table = ratio_table(history, report.settings, panel_watts=options.panel_watts)
    window = _window(table, days)
    order = attention_order(report)
    charts: list[tuple[ChartImages, str, str]] = []  # (the two drawings, heading, alt text)
    if table.days:

        def drawn(chart: Callable[[float], Any]) -> ChartImages:
            return ChartImages(_data_uri(chart(WIDE_IN)), _data_uri(chart(NARROW_IN)))

        charts.append(
            (
                drawn(lambda width: ratio_chart(table, window, report, width_in=width)),
                "Ratio to the array median",
                f"Each panel's daily ratio to the array median over the last {days} days; "
                "flagged panels in colour, the others grey",
            )
        )
        charts.append(
            (
                drawn(lambda width: panels_chart(table, window, report, order, width_in=width)),
                "Every panel",
                "One small chart per panel of its ratio to the array median",
            )
        )
        charts.append(
            (
                drawn(lambda width: totals_chart(history, table, window, width_in=width)),
                "Daily totals",
                f"The array's energy per day over the last {days} days",
            )
        )
    evidence = _evidence_lines(history, report, options)
    page = _page(
        history,
        report,
        options=options,
        table=table,
        order=order,
        charts=charts,
        evidence=evidence,
    )
    index = out_dir / "index.html"
    atomic_write_text(index, page, mode=REPORT_FILE_MODE)
    for stale in out_dir.glob(f"{CHART_PREFIX}*.png"):
        stale.unlink(missing_ok=True)
    logger.info("report written to %s", index)
    return index


def _evidence_lines(history: History, report: HealthReport, options: ReportOptions) -> list[str]:
    """Each panel the status section names: its loss to date, weak days, degradation per
    year and replacement."""
    named = [v.serial for v in report.singled_out() if not v.retired]
    if not named:
        return []
    whole = whole_table(history, report, options.panel_watts)
    return [
        evidence_line(history, whole, report, serial) for serial in named if serial in whole.serials
    ]


def _window(table: RatioTable, days: int) -> slice:
    count = len(table.days)
    return slice(max(0, count - days), count)


def _data_uri(figure: Any) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(figure)).decode("ascii")


def _page(
    history: History,
    report: HealthReport,
    *,
    options: ReportOptions,
    table: RatioTable,
    order: list[PanelVerdict],
    charts: list[tuple[ChartImages, str, str]],
    evidence: list[str],
) -> str:
    name = html.escape(options.name)
    day = report.day or "no data yet"
    panels = counted(report.panel_count, "panel")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{name}: panel health {html.escape(day)}</title>",
        f"<style>{PAGE_CSS}</style></head><body><main>",
        f"<header><h1>{name}</h1>",
        f'<p class="day">Panel health on {html.escape(day)} &middot; {panels}</p>',
        "</header>",
        status_section(report, evidence),
        layout_section(report, options.panel_layout),
        last_days_section(history, report, table, order),
    ]
    parts += [chart_section(images, heading, alt) for images, heading, alt in charts]
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parts.append(
        f"<footer>Made by the panel tracker on {html.escape(generated)}. Ratio: a panel's "
        "energy per rated watt divided by the array's median that day.</footer>"
    )
    parts.append("</main></body></html>\n")
    return "\n".join(parts)
