"""The report page's HTML: its style sheet and its sections, each a string of markup.

The colour of a panel says how it is doing (``panel_style``); the same colours mark it in the
layout, in the last-days table and, through the palette, in the charts. The layout comes from
the config's ``panel_layout`` (rows of serials as on the roof, None for a gap, on one face or
on named faces, each drawn under its name; the settings module parses and checks it); without
it the panels are laid out in serial order.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ..health.assess import HealthReport, PanelVerdict
from ..health.replacements import Replacement
from ..health.table import RatioTable
from ..history import History
from ..roof import PanelLayout

logger = logging.getLogger(__name__)

# The page's colour code (PAGE_CSS spells the same values out), shared with the charts.
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


# --- layout --------------------------------------------------------------------------------


# One face of the drawn roof: its name (None when the layout names none) and its rows of
# serials (None for a gap).
DrawnFace = tuple[str | None, list[list[str | None]]]


def panel_grid(
    report: HealthReport, layout: PanelLayout | None
) -> tuple[list[DrawnFace], list[str]]:
    """The faces to draw, each with its rows of serials, and the active serials the layout
    does not place."""
    active = [v.serial for v in report.panels if not v.retired]
    if not layout:
        columns = min(8, max(3, math.ceil(math.sqrt(len(active) * 1.5)))) if active else 1
        rows: list[list[str | None]] = [
            list(active[i : i + columns]) for i in range(0, len(active), columns)
        ]
        return [(None, rows)], []
    # a replaced unit's place is its successor's until the layout names the new serial
    successor = {r.old: r.new for r in report.replacements}
    faces: list[DrawnFace] = [
        (face.name, [[successor.get(s, s) if s else None for s in row] for row in face.rows])
        for face in layout
    ]
    placed = {serial for _, rows in faces for row in rows for serial in row if serial}
    return faces, [s for s in active if s not in placed]


def predecessors(report: HealthReport) -> dict[str, Replacement]:
    """Each successor's replacement: the unit that held its position before it."""
    return {r.new: r for r in report.replacements}


def position_serial(before: dict[str, Replacement], serial: str, day: str) -> str:
    """Whose day ``day`` is at ``serial``'s position: the replaced unit's before the serial's
    first day (and its own predecessor's before that), else the serial's own. ``before``:
    ``predecessors``."""
    replaced = before.get(serial)
    seen = {serial}
    while replaced is not None and day < replaced.first_day and replaced.old not in seen:
        serial = replaced.old
        seen.add(serial)
        replaced = before.get(serial)
    return serial


# --- style and sections -------------------------------------------------------------------


# Below this width the page is a phone's: tiles wrap, charts are the narrow drawings.
NARROW_MEDIA = "(max-width: 560px)"

PAGE_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #212121; background: #f5f5f5; }
main { max-width: 820px; margin: 0 auto; padding: 12px; }
h1 { font-size: 1.35em; margin: 0.2em 0; }
h2 { font-size: 1.1em; margin: 0 0 0.5em; }
h3.face { font-size: 0.95em; margin: 0.7em 0 0.3em; }
section { background: #fff; border-radius: 10px; padding: 12px; margin: 12px 0;
          box-shadow: 0 1px 2px rgba(0,0,0,.12); }
.day { color: #616161; margin: 0; }
.status { border-left: 8px solid #2e7d32; }
.status.bad { border-left-color: #c62828; background: #fff5f5; }
.status ul { margin: 0; padding-left: 1.2em; }
.status li { margin: 0.3em 0; }
.layout { display: grid; gap: 4px; grid-template-columns: repeat(var(--columns), minmax(0, 1fr)); }
.cell.phone { display: none; }
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
td.was { color: #9e9e9e; }
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
@media PHONE {
  main { padding: 6px; }
  section { padding: 10px 8px; }
  .layout { grid-template-columns: repeat(var(--phone-columns), minmax(0, 1fr)); }
  .cell.phone { display: block; }
}
.hint, footer { color: #757575; font-size: 0.8em; }
footer { text-align: center; margin: 16px 0; }
""".replace("PHONE", NARROW_MEDIA)


def status_section(report: HealthReport, evidence: Sequence[str] = ()) -> str:
    """The verdict's lines, and under them each singled-out panel's evidence line."""
    problems = len(report.weak) + len([v for v in report.stopped if not v.weak])
    if report.day is None:
        heading, css = "No data yet", ""
    elif problems:
        heading = f"{problems} panels need attention" if problems > 1 else "1 panel needs attention"
        css = " bad"
    else:
        heading, css = "All panels ok", ""
    groups = report.groups_line()
    lines = report.summary_lines() + ([groups] if groups is not None else [])
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    proof = ""
    if evidence:
        proof = (
            '<ul class="hint" id="evidence">'
            + "".join(f"<li>{html.escape(line)}</li>" for line in evidence)
            + '</ul><p class="hint">The days behind these figures, as a CSV and a chart: '
            "<code>panel_report.py --evidence SERIAL</code></p>"
        )
    return (
        f'<section class="status{css}" id="status"><h2>{heading}</h2><ul>{items}</ul>'
        f"{proof}</section>"
    )


# A phone shows at most this many tiles per line: a roof row wider than that wraps onto
# as few lines as it needs, each as full as the others.
PHONE_TILES = 6


def layout_section(report: HealthReport, layout: PanelLayout | None) -> str:
    faces, unplaced = panel_grid(report, layout)
    grids: list[str] = []
    for name, rows in faces:
        if name is not None:
            grids.append(f'<h3 class="face">{html.escape(name)}</h3>')
        grids.append(_face_grid(report, rows))
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
        + "".join(grids)
        + legend
        + note
        + "</section>"
    )


def _face_grid(report: HealthReport, rows: list[list[str | None]]) -> str:
    """One face's tiles, as its rows place them."""
    columns = max((len(row) for row in rows), default=1)
    lines = math.ceil(columns / PHONE_TILES)
    phone_columns = math.ceil(columns / lines)
    by_serial = {v.serial: v for v in report.panels}
    before = predecessors(report)
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
            if serial in before:
                title += f"; in place of {before[serial].old} since {before[serial].first_day}"
            cells.append(
                f'<div class="cell {style.css}" data-serial="{html.escape(serial)}" '
                f'title="{html.escape(title)}"><span class="pct">{pct}</span>'
                f'<span class="sn">&hellip;{html.escape(serial[-4:])}</span></div>'
            )
        # on a phone the row wraps: these fill its last line, so the next row starts afresh
        cells += ['<div class="cell gap phone"></div>'] * (lines * phone_columns - columns)
    return (
        f'<div class="layout" style="--columns: {columns}; --phone-columns: {phone_columns}">'
        + "".join(cells)
        + "</div>"
    )


def last_days_section(
    history: History, report: HealthReport, table: RatioTable, order: list[PanelVerdict]
) -> str:
    last_days = report.settings.last_days
    shown = table.days[-last_days:][::-1]  # newest first: a phone shows those without scrolling
    head = "".join(f"<th>{_weekday(d)}<br>{html.escape(d[8:10])}</th>" for d in shown)
    before = predecessors(report)
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
            # a replaced unit's days are its position's, before its successor's first one
            owner = position_serial(before, verdict.serial, day)
            entry = history.entry(owner, day)
            value = entry.get("daily_energy") if entry else None
            was = f' class="was" title="{html.escape(owner)}, replaced"'
            if value is None:
                cells.append(f"<td{was if owner != verdict.serial else ''}>&ndash;</td>")
            elif entry and entry.get("estimated"):
                cells.append(f'<td class="est" title="estimated">~{int(value)}</td>')
            elif owner != verdict.serial:
                cells.append(f"<td{was}>{int(value)}</td>")
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
        "(per rated watt)."
        + (
            " Grey: the unit a new micro-inverter replaced, in the same place."
            if any(r.new in {v.serial for v in order} for r in report.replacements)
            else ""
        )
        + "</p></section>"
    )


def _weekday(day: str) -> str:
    try:
        return date.fromisoformat(day).strftime("%a")[:2]
    except ValueError:
        return ""


@dataclass(frozen=True, slots=True)
class ChartImages:
    """One chart drawn for a desktop's column and for a phone (PNG data URIs)."""

    wide: str
    narrow: str


def chart_section(images: ChartImages, heading: str, alt: str) -> str:
    return (
        f"<section><h2>{html.escape(heading)}</h2><picture>"
        f'<source media="{NARROW_MEDIA}" srcset="{html.escape(images.narrow)}">'
        f'<img src="{html.escape(images.wide)}" alt="{html.escape(alt)}"></picture></section>'
    )
