"""The report's PNG charts, drawn with matplotlib: ratios over time, every panel, daily totals.

Each chart function returns a matplotlib Figure; ``png_bytes`` turns it into the file's bytes
(``report`` writes them).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from ..health.assess import HealthReport, PanelVerdict
from ..health.replacements import Replacement
from ..health.table import LOW_LIGHT, RatioTable
from ..history import History
from .html import GREEN, GREY, ORANGE, RED, position_serial, predecessors

# Each chart is drawn twice, for the width it is shown at: ~730 px for a desktop's column,
# ~480 px for a phone's ~360 px (scaled by 3/4, its smallest text stays ~10 px there).
WIDE_IN = 5.2
NARROW_IN = 3.4
CHART_DPI = 140
BASE_FONT = 11


def _figure(height_in: float, width_in: float, *, constrained: bool = True) -> Any:
    # Figure + Agg canvas, not pyplot: no global state, no display needed, safe under cron.
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(
        figsize=(width_in, height_in),
        dpi=CHART_DPI,
        layout="constrained" if constrained else None,
    )
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Any) -> bytes:
    """The figure as a PNG, with no software tag: the same chart gives the same bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _dates(table: RatioTable, window: slice) -> list[date]:
    return [date.fromisoformat(d) for d in table.days[window]]


def _date_axis(axis: Any) -> None:
    import matplotlib.dates  # noqa: PLC0415

    mdates: Any = matplotlib.dates  # its locators are untyped
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _highlighted(report: HealthReport) -> list[PanelVerdict]:
    return report.singled_out()[:8]  # more than that and the legend hides the chart


def ratio_chart(
    table: RatioTable, window: slice, report: HealthReport, *, width_in: float = WIDE_IN
) -> Any:
    figure = _figure(3.6 if width_in >= WIDE_IN else 3.0, width_in)
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


def position_columns(
    table: RatioTable, before: dict[str, Replacement], serial: str, window: slice
) -> npt.NDArray[np.int64]:
    """Per day of ``window``, the table column of the unit at ``serial``'s position: the
    replaced unit's before ``serial``'s first day (``before``: ``html.predecessors``)."""
    index = {s: c for c, s in enumerate(table.serials)}
    own = index[serial]
    columns: npt.NDArray[np.int64] = np.array(
        [index.get(position_serial(before, serial, day), own) for day in table.days[window]],
        dtype=np.int64,
    )
    return columns


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter  # noqa: PLC0415

    return PercentFormatter(xmax=1.0, decimals=0)


def panels_chart(
    table: RatioTable,
    window: slice,
    report: HealthReport,
    order: Sequence[PanelVerdict],
    *,
    width_in: float = WIDE_IN,
) -> Any:
    """Small multiples drawn in one axes: one axes per panel is far too slow for 100 panels."""
    serials = [v.serial for v in order if v.serial in table.serials]
    columns = 3 if width_in >= WIDE_IN else 2
    rows = max(1, math.ceil(len(serials) / columns))
    figure = _figure(
        0.25 + 1.0 * rows * (width_in / columns) / (WIDE_IN / 3), width_in, constrained=False
    )
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
    before = predecessors(report)

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
        # one position: a replaced unit's days before its successor's (drawn grey)
        shown = np.arange(len(table.days))[window]
        held_by = position_columns(table, before, serial, window)
        values = table.ratio[shown, held_by]
        earlier = held_by != table.column(serial)
        if earlier.any():
            axis.plot(
                xs,
                to_y(np.where(earlier, values, np.nan), top),
                color=GREY,
                linewidth=1.1,
                marker=".",
                markersize=1.5,
            )
        own = np.where(earlier, np.nan, values)
        axis.plot(xs, to_y(own, top), color=colour, linewidth=1.1, marker=".", markersize=1.5)
        weak_days = table.weak[shown, held_by]
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
            f"{serial} (was …{before[serial].old[-4:]})" if earlier.any() else serial,
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


def totals_chart(
    history: History, table: RatioTable, window: slice, *, width_in: float = WIDE_IN
) -> Any:
    wide = width_in >= WIDE_IN
    figure = _figure(2.8 if wide else 3.0, width_in)
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
    # Only a night with readings can be "not judged"; a night the job did not run has no bar.
    skipped = table.status[window] == LOW_LIGHT
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
        # Above the plot, never over the first days' bars and markers.
        axis.legend(
            fontsize=BASE_FONT - 2,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=3 if wide else 1,
            frameon=False,
            borderaxespad=0.2,
        )
    axis.set_ylabel("kWh per day", fontsize=BASE_FONT)
    axis.tick_params(labelsize=BASE_FONT - 1)
    _date_axis(axis)
    axis.grid(True, axis="y", alpha=0.3)
    return figure


def evidence_chart(
    days: Sequence[str],
    *,
    energy: Sequence[int | None],
    group_median: Sequence[float | None],
    array_median: Sequence[float | None],
    reference: str,
    weak: Sequence[bool],
    lost_to_date: Sequence[float],
    title: str,
    subtitle: str,
    width_in: float = 8.0,
) -> Any:
    """One panel's evidence: its daily energy beside its group's median (``reference`` says
    which, in words) and the array's, weak days marked, and the energy lost against its
    group's median summed to date below. On a roof of one face the two medians are one line.
    """
    figure = _figure(5.6, width_in)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    x = [date.fromisoformat(d) for d in days]
    made = np.array([np.nan if e is None else e for e in energy], dtype=float) / 1000.0
    should = np.array([np.nan if m is None else m for m in group_median], dtype=float) / 1000.0
    array = np.array([np.nan if m is None else m for m in array_median], dtype=float) / 1000.0
    marked = np.array(weak, dtype=bool)
    thin = 0.6 if len(days) > 120 else 1.0  # years of days: thin lines, or one blue block
    label = reference.removeprefix("the ")
    top.plot(x, should, color="#9e9e9e", linewidth=thin * 2, label=f"{label} (per rated W)")
    if not np.array_equal(should, array, equal_nan=True):
        top.plot(x, array, color="#ef6c00", linewidth=thin, label="array median (per rated W)")
    top.plot(x, made, color="#1565c0", linewidth=thin, label="this panel")
    if marked.any():
        top.plot(
            [d for d, w in zip(x, marked, strict=True) if w],
            made[marked],
            linestyle="none",
            marker="o",
            markersize=2.5,
            color=RED,
            label="weak day",
        )
    top.set_ylabel("kWh per day", fontsize=BASE_FONT)
    top.legend(
        fontsize=BASE_FONT - 2,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=3,
        frameon=False,
        borderaxespad=0.2,
    )
    top.grid(True, alpha=0.3)
    figure.suptitle(f"{title}\n{subtitle}", fontsize=BASE_FONT - 1, x=0.02, ha="left")
    bottom.plot(x, np.array(lost_to_date, dtype=float) / 1000.0, color=RED, linewidth=1.4)
    bottom.axhline(0.0, color="#424242", linewidth=0.8)
    bottom.set_ylabel("kWh lost to date", fontsize=BASE_FONT)
    bottom.grid(True, alpha=0.3)
    for axis in (top, bottom):
        axis.tick_params(labelsize=BASE_FONT - 1)
    _date_axis(bottom)
    return figure
