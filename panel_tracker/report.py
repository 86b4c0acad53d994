"""The health report: one self-contained HTML page and its PNG charts, readable on a phone.

What a person sees first is what needs attention: the weak and silent panels, then the panel
layout coloured by the last days' ratio to the array median (the weak panel is the red one),
then a last-days table with flagged panels on top, each panel's ratio over time and the daily
totals. No script, no web font, no external URL: the folder can be opened from disk, mailed or
served as it is.

The layout comes from the config's ``panel_layout`` (rows of serials as on the roof, ``null``
for a gap); without it the panels are laid out in serial order.
"""

from __future__ import annotations

import html
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config
from .files import atomic_write_bytes, atomic_write_text
from .health import (
    ASSESSED,
    HealthReport,
    PanelVerdict,
    RatioTable,
    panel_watts_from_config,
    ratio_table,
)
from .history import History

logger = logging.getLogger(__name__)

CHART_PREFIX = "chart-"
RATIO_CHART = "chart-ratios.png"
PANELS_CHART = "chart-panels.png"
TOTALS_CHART = "chart-totals.png"
FIGURE_WIDTH_IN = 5.2  # ~730 px at CHART_DPI: shrinks to a phone's width without tiny text
CHART_DPI = 140
BASE_FONT = 11
REPORT_FILE_MODE = 0o644  # a report holds no secret and may be served by a web server

RED, ORANGE, YELLOW, GREEN, GREY = "#c62828", "#ef6c00", "#f9a825", "#2e7d32", "#9e9e9e"


@dataclass(frozen=True)
class PanelStyle:
    """How one panel is drawn: its class in the page and the words said about it."""

    css: str
    label: str


def panel_style(verdict: PanelVerdict | None, report: HealthReport) -> PanelStyle:
    settings = report.settings
    ratio = verdict.last7_ratio if verdict is not None else None
    if verdict is not None and verdict.weak:
        css = "weak"
    elif verdict is not None and verdict.stopped_reporting:
        css = "silent"
    elif verdict is None or ratio is None:
        css = "none"
    elif ratio < settings.weak_ratio:
        css = "low"
    elif ratio < settings.recover_ratio or verdict in report.declining:
        css = "watch"
    else:
        css = "ok"
    return PanelStyle(css, _LABELS[css])


_LABELS = {
    "weak": "weak",
    "silent": "not reporting",
    "none": "no data",
    "low": "low",
    "watch": "watch",
    "ok": "ok",
}


def attention_order(report: HealthReport) -> list[PanelVerdict]:
    """Flagged panels first (weak, then silent, then declining), then the rest by serial."""
    first: list[PanelVerdict] = []
    for group in (report.weak, report.stopped, report.declining):
        first += [v for v in group if v not in first]
    rest = [v for v in report.panels if v not in first and not v.retired]
    return first + sorted(rest, key=lambda v: v.serial)


# --- layout --------------------------------------------------------------------------------


def panel_grid(report: HealthReport, config: Config) -> tuple[list[list[str | None]], list[str]]:
    """Rows of serials (None for a gap) and the active serials the layout does not place."""
    active = [v.serial for v in report.panels if not v.retired]
    layout = _configured_layout(config)
    if layout is None:
        columns = min(8, max(3, math.ceil(math.sqrt(len(active) * 1.5)))) if active else 1
        rows: list[list[str | None]] = [
            list(active[i : i + columns]) for i in range(0, len(active), columns)
        ]
        return rows, []
    placed = {serial for row in layout for serial in row if serial}
    return layout, [s for s in active if s not in placed]


def _configured_layout(config: Config) -> list[list[str | None]] | None:
    value = config.raw.get("panel_layout")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        logger.warning(
            "config 'panel_layout' must be a list of rows of serials; using serial order"
        )
        return None
    rows: list[list[str | None]] = []
    for row in value:
        rows.append([str(cell).strip() if cell not in (None, "") else None for cell in row])
    return rows if any(any(row) for row in rows) else None


# --- the page ------------------------------------------------------------------------------


def write_report(
    history: History,
    report: HealthReport,
    config: Config,
    out_dir: Path,
    *,
    days: int = 30,
) -> Path:
    """Write ``index.html`` and its charts into ``out_dir``; return the page's path.

    Every file is written atomically and the page last, so a reader never sees a page that
    points at a chart not yet written. Charts of an earlier run that the page no longer uses
    are removed (only files named ``chart-*.png``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    days = max(1, int(days))
    table = report.table
    if table is None:
        table = ratio_table(history, report.settings, panel_watts=panel_watts_from_config(config))
    window = _window(table, days)
    order = attention_order(report)
    charts: list[tuple[str, str, str]] = []  # (file, heading, alt text)
    if table.days:
        _save_chart(out_dir / RATIO_CHART, _ratio_chart(table, window, report))
        charts.append(
            (
                RATIO_CHART,
                "Ratio to the array median",
                f"Each panel's daily ratio to the array median over the last {days} days; "
                "flagged panels in colour, the others grey",
            )
        )
        _save_chart(out_dir / PANELS_CHART, _panels_chart(table, window, report, order))
        charts.append(
            (
                PANELS_CHART,
                "Every panel",
                "One small chart per panel of its ratio to the array median",
            )
        )
        _save_chart(out_dir / TOTALS_CHART, _totals_chart(history, table, window))
        charts.append(
            (TOTALS_CHART, "Daily totals", f"The array's energy per day over the last {days} days")
        )
    page = _page(history, report, config=config, table=table, order=order, charts=charts)
    index = out_dir / "index.html"
    atomic_write_text(index, page, mode=REPORT_FILE_MODE)
    used = {name for name, _, _ in charts}
    for stale in out_dir.glob(f"{CHART_PREFIX}*.png"):
        if stale.name not in used:
            stale.unlink(missing_ok=True)
    logger.info("report written to %s", index)
    return index


def _window(table: RatioTable, days: int) -> slice:
    count = len(table.days)
    return slice(max(0, count - days), count)


_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #212121; background: #f5f5f5; }
main { max-width: 820px; margin: 0 auto; padding: 12px; }
h1 { font-size: 1.35em; margin: 0.2em 0; }
h2 { font-size: 1.1em; margin: 0 0 0.5em; }
section { background: #fff; border-radius: 10px; padding: 12px; margin: 12px 0;
          box-shadow: 0 1px 2px rgba(0,0,0,.12); }
.day { color: #616161; margin: 0; }
.status { border-left: 8px solid #2e7d32; }
.status.bad { border-left-color: #c62828; background: #fff5f5; }
.status ul { margin: 0; padding-left: 1.2em; }
.status li { margin: 0.3em 0; }
.layout { display: grid; gap: 4px; }
.cell { border-radius: 6px; padding: 4px 2px; text-align: center; min-height: 44px;
        color: #fff; overflow: hidden; }
.cell .pct { display: block; font-weight: 700; font-size: 0.95em; }
.cell .sn { display: block; font-size: 0.7em; opacity: 0.9; font-variant-numeric: tabular-nums; }
.gap { background: transparent; }
.ok { background: #2e7d32; }
.watch { background: #f9a825; color: #212121; }
.low { background: #ef6c00; }
.weak { background: #c62828; outline: 3px solid #000; outline-offset: -3px; }
.silent, .none { background: #9e9e9e; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 12px; margin-top: 8px; font-size: 0.8em; }
.legend span::before { content: ""; display: inline-block; width: 0.9em; height: 0.9em;
                       border-radius: 3px; margin-right: 4px; vertical-align: -0.1em;
                       background: var(--c); }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; font-size: 0.82em; font-variant-numeric: tabular-nums;
        width: 100%; }
th, td { padding: 4px 5px; text-align: right; white-space: nowrap;
         border-bottom: 1px solid #eee; }
th:first-child, td:first-child { text-align: left; position: sticky; left: 0; background: #fff; }
thead th { font-weight: 600; color: #616161; }
tr.flag td { background: #fdecea; }
tr.flag td:first-child { background: #fdecea; font-weight: 700; }
td.est { font-style: italic; color: #757575; }
.badge { display: inline-block; border-radius: 4px; padding: 0 4px; font-size: 0.85em;
         color: #fff; margin-left: 4px; }
.badge.weak { outline: none; }
img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
.hint, footer { color: #757575; font-size: 0.8em; }
footer { text-align: center; margin: 16px 0; }
"""


def _page(
    history: History,
    report: HealthReport,
    *,
    config: Config,
    table: RatioTable,
    order: list[PanelVerdict],
    charts: list[tuple[str, str, str]],
) -> str:
    name = html.escape(config.name)
    day = report.day or "no data yet"
    active = sum(1 for v in report.panels if not v.retired)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{name}: panel health {html.escape(day)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<header><h1>{name}</h1>",
        f'<p class="day">Panel health on {html.escape(day)} &middot; {active} panels</p>',
        "</header>",
        _status_section(report),
        _layout_section(report, config),
        _table_section(history, report, table, order),
    ]
    for file, heading, alt in charts:
        parts.append(
            f"<section><h2>{html.escape(heading)}</h2>"
            f'<img src="{html.escape(file)}" alt="{html.escape(alt)}"></section>'
        )
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parts.append(
        f"<footer>Made by the panel tracker on {html.escape(generated)}. Ratio: a panel's "
        "energy per rated watt divided by the array's median that day.</footer>"
    )
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _status_section(report: HealthReport) -> str:
    problems = len(report.weak) + len([v for v in report.stopped if not v.weak])
    if report.day is None:
        heading, css = "No data yet", ""
    elif problems:
        heading = f"{problems} panels need attention" if problems > 1 else "1 panel needs attention"
        css = " bad"
    else:
        heading, css = "All panels ok", ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in report.summary_lines())
    return f'<section class="status{css}" id="status"><h2>{heading}</h2><ul>{items}</ul></section>'


def _layout_section(report: HealthReport, config: Config) -> str:
    rows, unplaced = panel_grid(report, config)
    columns = max((len(row) for row in rows), default=1)
    by_serial = {v.serial: v for v in report.panels}
    cells: list[str] = []
    for row in rows:
        for position in range(columns):
            serial = row[position] if position < len(row) else None
            if serial is None:
                cells.append('<div class="cell gap"></div>')
                continue
            verdict = by_serial.get(serial)
            style = panel_style(verdict, report)
            ratio = verdict.last7_ratio if verdict else None
            pct = f"{ratio:.0%}" if ratio is not None else "&ndash;"
            title = f"{serial}: {style.label}" + (f", {ratio:.1%}" if ratio is not None else "")
            cells.append(
                f'<div class="cell {style.css}" data-serial="{html.escape(serial)}" '
                f'title="{html.escape(title)}"><span class="pct">{pct}</span>'
                f'<span class="sn">&hellip;{html.escape(serial[-4:])}</span></div>'
            )
    note = ""
    if unplaced:
        note = (
            '<p class="hint">Not in panel_layout: '
            + ", ".join(html.escape(s) for s in unplaced)
            + "</p>"
        )
    settings = report.settings
    legend = (
        '<div class="legend">'
        f'<span style="--c:{GREEN}">&ge; {settings.recover_ratio:.0%}</span>'
        f'<span style="--c:{YELLOW}">{settings.weak_ratio:.0%}&ndash;'
        f"{settings.recover_ratio:.0%} or declining</span>"
        f'<span style="--c:{ORANGE}">&lt; {settings.weak_ratio:.0%}</span>'
        f'<span style="--c:{RED}">weak (flagged)</span>'
        f'<span style="--c:{GREY}">not reporting</span></div>'
    )
    return (
        '<section id="layout"><h2>Panel layout</h2>'
        f'<p class="hint">Energy over the last {settings.last_days} days against the array '
        "median, per panel as laid out on the roof.</p>"
        f'<div class="layout" style="grid-template-columns: repeat({columns}, minmax(0, 1fr))">'
        + "".join(cells)
        + "</div>"
        + legend
        + note
        + "</section>"
    )


def _table_section(
    history: History, report: HealthReport, table: RatioTable, order: list[PanelVerdict]
) -> str:
    last_days = report.settings.last_days
    shown = table.days[-last_days:]
    head = "".join(f"<th>{_weekday(d)}<br>{html.escape(d[8:10])}</th>" for d in shown)
    rows: list[str] = []
    for verdict in order:
        style = panel_style(verdict, report)
        flagged = style.css in ("weak", "silent")
        badge = (
            f'<span class="badge {style.css}">{html.escape(style.label)}</span>'
            if style.css not in ("ok", "none")
            else ""
        )
        ratio = verdict.last7_ratio
        cells = [
            f"<td>{html.escape(verdict.serial)}{badge}</td>",
            f"<td><b>{ratio:.0%}</b></td>" if ratio is not None else "<td>&ndash;</td>",
        ]
        for day in shown:
            entry = history.entry(verdict.serial, day)
            value = entry.get("daily_energy") if entry else None
            if value is None:
                cells.append("<td>&ndash;</td>")
            elif entry and entry.get("estimated"):
                cells.append(f'<td class="est" title="estimated">~{int(value)}</td>')
            else:
                cells.append(f"<td>{int(value)}</td>")
        css = ' class="flag"' if flagged else ""
        rows.append(f'<tr{css} data-serial="{html.escape(verdict.serial)}">{"".join(cells)}</tr>')
    return (
        f'<section id="last-days"><h2>Last {last_days} days (Wh)</h2>'
        '<div class="scroll"><table><thead><tr><th>Panel</th><th>Ratio</th>'
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        '<p class="hint">~ estimated (a missed run\'s energy shared out); &ndash; unknown. '
        "Ratio: the panel's energy against the array median over these days "
        "(per rated watt).</p></section>"
    )


def _weekday(day: str) -> str:
    try:
        return date.fromisoformat(day).strftime("%a")[:2]
    except ValueError:
        return ""


# --- charts --------------------------------------------------------------------------------


def _figure(height_in: float, *, constrained: bool = True) -> Any:
    # Figure + Agg canvas, not pyplot: no global state, no display needed, safe under cron.
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(
        figsize=(FIGURE_WIDTH_IN, height_in),
        dpi=CHART_DPI,
        layout="constrained" if constrained else None,
    )
    FigureCanvasAgg(figure)
    return figure


def _save_chart(path: Path, figure: Any) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=CHART_DPI, metadata={"Software": None})
    atomic_write_bytes(path, buffer.getvalue(), mode=REPORT_FILE_MODE)


def _dates(table: RatioTable, window: slice) -> list[date]:
    return [date.fromisoformat(d) for d in table.days[window]]


def _date_axis(axis: Any) -> None:
    import matplotlib.dates  # noqa: PLC0415

    mdates: Any = matplotlib.dates  # its locators are untyped
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _highlighted(report: HealthReport) -> list[PanelVerdict]:
    seen: list[PanelVerdict] = []
    for verdict in (*report.weak, *report.stopped, *report.declining):
        if verdict not in seen:
            seen.append(verdict)
    return seen[:8]  # more than that and the legend hides the chart


def _ratio_chart(table: RatioTable, window: slice, report: HealthReport) -> Any:
    figure = _figure(3.6)
    axis = figure.add_subplot()
    x = _dates(table, window)
    ratios = np.clip(table.ratio[window], 0.0, 1.6)
    highlighted = _highlighted(report)
    special = {v.serial for v in highlighted}
    for column, serial in enumerate(table.serials):
        if serial not in special:
            axis.plot(
                x,
                ratios[:, column],
                color="#9e9e9e",
                linewidth=0.8,
                alpha=0.6,
                marker=".",
                markersize=2,
            )
    colours = [RED, "#6a1b9a", ORANGE, "#1565c0", "#00838f", "#4e342e", "#ad1457", "#283593"]
    for verdict, colour in zip(highlighted, colours, strict=False):
        column = table.column(verdict.serial)
        axis.plot(
            x,
            ratios[:, column],
            color=colour,
            linewidth=2,
            marker="o",
            markersize=3,
            label=verdict.serial,
        )
    axis.axhline(1.0, color="#424242", linewidth=0.8)
    axis.axhline(
        report.settings.weak_ratio,
        color=RED,
        linewidth=1,
        linestyle="--",
        label=f"weak below {report.settings.weak_ratio:.0%}",
    )
    finite = ratios[np.isfinite(ratios)]
    low = float(finite.min()) if finite.size else 0.8
    axis.set_ylim(
        max(0.0, min(0.85, low - 0.05)),
        max(1.1, min(1.6, float(finite.max()) + 0.03)) if finite.size else 1.1,
    )
    axis.yaxis.set_major_formatter(_percent())
    axis.set_ylabel("ratio to array median", fontsize=BASE_FONT)
    axis.tick_params(labelsize=BASE_FONT - 1)
    _date_axis(axis)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=BASE_FONT - 2, loc="lower left", framealpha=0.9)
    return figure


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter  # noqa: PLC0415

    return PercentFormatter(xmax=1.0, decimals=0)


def _panels_chart(
    table: RatioTable, window: slice, report: HealthReport, order: Sequence[PanelVerdict]
) -> Any:
    """Small multiples drawn in one axes: one axes per panel is far too slow for 100 panels."""
    serials = [v.serial for v in order if v.serial in table.serials]
    columns = 3
    rows = max(1, math.ceil(len(serials) / columns))
    figure = _figure(0.25 + 1.0 * rows, constrained=False)
    axis = figure.add_axes((0.01, 0.01, 0.98, 0.98))
    axis.set_axis_off()
    axis.set_xlim(0, columns)
    axis.set_ylim(-rows - 0.12, 0.02)
    flagged = {v.serial for v in (*report.weak, *report.stopped)}
    dates = table.days[window]
    span = max(1, len(dates) - 1)
    x = np.arange(len(dates)) / span
    low, high = 0.5, 1.2
    left, width, bottom, height = 0.2, 0.77, 0.14, 0.6  # of each cell

    def to_y(value: Any, top: float) -> Any:
        return top - 1 + bottom + height * (np.clip(value, low, high) - low) / (high - low)

    for index, serial in enumerate(serials):
        column, row = index % columns, index // columns
        x0, top = float(column), float(-row)
        xs = x0 + left + width * x
        colour = RED if serial in flagged else GREEN
        axis.add_patch(_rectangle((x0 + left, top - 1 + bottom), width, height))
        for level, style, line_colour in (
            (1.0, "-", "#9e9e9e"),
            (report.settings.weak_ratio, "--", RED),
        ):
            axis.plot(
                [x0 + left, x0 + left + width],
                [to_y(level, top)] * 2,
                linestyle=style,
                color=line_colour,
                linewidth=0.6,
            )
        values = table.ratio[window, table.column(serial)]
        axis.plot(xs, to_y(values, top), color=colour, linewidth=1.1, marker=".", markersize=1.5)
        weak_days = table.weak[window, table.column(serial)]
        if weak_days.any():
            axis.plot(
                xs[weak_days],
                to_y(values[weak_days], top),
                linestyle="none",
                marker="o",
                markersize=2.2,
                color=RED,
            )
        axis.text(
            x0 + left + width / 2,
            top - 0.2,
            serial,
            ha="center",
            va="center",
            fontsize=BASE_FONT - 2,
            color=RED if serial in flagged else "#212121",
            fontweight="bold" if serial in flagged else "normal",
        )
        if column == 0:
            for level in (0.6, 1.0):
                axis.text(
                    x0 + left - 0.02,
                    to_y(level, top),
                    f"{level:.0%}",
                    ha="right",
                    va="center",
                    fontsize=BASE_FONT - 4,
                    color="#616161",
                )
        if index + columns >= len(serials) and dates:
            for at, align, day in ((0.0, "left", dates[0]), (1.0, "right", dates[-1])):
                axis.text(
                    x0 + left + width * at,
                    top - 1 + bottom - 0.04,
                    _short_date(day),
                    ha=align,
                    va="top",
                    fontsize=BASE_FONT - 4,
                    color="#616161",
                )
    return figure


def _rectangle(corner: tuple[float, float], width: float, height: float) -> Any:
    from matplotlib.patches import Rectangle  # noqa: PLC0415

    return Rectangle(corner, width, height, facecolor="#fafafa", edgecolor="#bdbdbd", linewidth=0.6)


def _short_date(day: str) -> str:
    return date.fromisoformat(day).strftime("%d %b")


def _totals_chart(history: History, table: RatioTable, window: slice) -> Any:
    figure = _figure(2.8)
    axis = figure.add_subplot()
    days = table.days[window]
    x = _dates(table, window)
    totals, estimated = [], []
    for day in days:
        total, any_estimated = 0, False
        for serial in table.serials:
            entry = history.entry(serial, day)
            if entry and isinstance(entry.get("daily_energy"), int | float):
                total += entry["daily_energy"]
                any_estimated = any_estimated or bool(entry.get("estimated"))
        totals.append(total / 1000.0)
        estimated.append(any_estimated)
    measured = [0.0 if e else t for t, e in zip(totals, estimated, strict=True)]
    guessed = [t if e else 0.0 for t, e in zip(totals, estimated, strict=True)]
    axis.bar(x, measured, color="#1565c0", width=0.8, label="measured")
    if any(estimated):
        axis.bar(
            x,
            guessed,
            color="#90caf9",
            width=0.8,
            hatch="//",
            edgecolor="#1565c0",
            linewidth=0,
            label="estimated (missed run)",
        )
    skipped = table.status[window] != ASSESSED
    if skipped.any() and len(days) <= 120:
        top = max(totals) if totals else 0.0
        axis.plot(
            [d for d, s in zip(x, skipped, strict=True) if s],
            [top * 1.04] * int(skipped.sum()),
            linestyle="none",
            marker="v",
            markersize=3,
            color="#757575",
            label="not judged (low light)",
        )
    if any(estimated) or (skipped.any() and len(days) <= 120):
        axis.legend(fontsize=BASE_FONT - 2, loc="upper left", framealpha=0.9)
    axis.set_ylabel("kWh per day", fontsize=BASE_FONT)
    axis.tick_params(labelsize=BASE_FONT - 1)
    _date_axis(axis)
    axis.grid(True, axis="y", alpha=0.3)
    return figure
