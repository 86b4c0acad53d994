"""Panel health: which panel is losing energy against its own array, since when, and how much.

Each panel is compared with the rest of its group (its roof face: ``groups``; the whole array
on a roof of one face) on the same day (IEA-PVPS T13-19:2021, "comparing subsystems"), so
weather cancels out, and each group with its own clear-day level (``envelope``), so a loss
every panel shares is named too:

* ``ratio`` = the panel's Wh per rated W divided by the array's median Wh per rated W that day;
* the day's spread is the median absolute deviation of those ratios (x1.4826, a robust sigma:
  one bad panel inflates a standard deviation enough to hide itself, not a MAD);
* a day is *weak* for a panel when its ratio is below ``weak_ratio`` AND it stands out of the
  day's spread by ``z_threshold`` robust sigmas; *good* when the ratio is back at or above
  ``recover_ratio``; anything in between, and every skipped day, leaves the count unchanged;
* days are skipped when the light is too low to judge (array median below
  ``low_light_fraction`` of the recent clear-day level: snow, heavy cloud), when the array is too
  uneven (partial snow), or when fewer than ``min_panels`` panels have a usable value;
  estimated days (a gap's apportioned energy) and unknown days (``null``) are never used;
* a panel is flagged after ``days_to_flag`` consecutive weak days and cleared after
  ``days_to_clear`` consecutive good ones (a control chart with a run rule, as in
  arXiv 2203.01103, so one odd day never raises an alarm).

Settings live in the config's optional ``"health"`` object; see ``HealthSettings``.

The verdict is a pure function of the history (``assess``, here) over the days x panels table
of ratios (``health_table``), with the thresholds of ``health_settings``. What was already
*alerted* is bookkeeping of its own (``health_state``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from ..history import History, latest_days
from ..wording import counted
from .envelope import SharedLoss, shared_losses
from .replacements import Replacement, find_replacements, with_given
from .table import (
    ASSESSED,
    BoolArray,
    FloatArray,
    RatioTable,
    ratio_table,
)
from .thresholds import HealthSettings, PanelWatts


@dataclass
class PanelVerdict:
    """One panel's state on the report's day.

    ``since`` is the first weak day of the episode that got the panel flagged; ``lost_wh`` is
    what it made less than the array median (per rated W) from then on, and ``episode_ratio``
    its energy against the median over those days. ``last7_ratio`` is the
    energy-weighted ratio over the last ``last_days`` days. ``trend_N`` is the least-squares
    change of the daily ratio across the last N days (-0.06: six points lower at the end), None
    until enough of those days were assessed.
    """

    serial: str
    weak: bool
    since: str | None
    last7_ratio: float | None
    lost_wh: int
    trend_30: float | None
    trend_90: float | None
    trend_365: float | None
    stopped_reporting: bool
    last_seen: str | None = None
    retired: bool = False
    last_ratio: float | None = None
    last_z: float | None = None
    weak_days: int = 0
    episode_ratio: float | None = None
    replaced_by: str | None = None

    def describe(self, last_days: int = 7) -> str:
        """One line for the summary: what is wrong with the panel, since when, what it cost."""
        silent = f"; no report since {self.last_seen}" if self.stopped_reporting else ""
        if self.weak:
            share = (
                f"{self.episode_ratio:.0%} of the array median since then"
                if self.episode_ratio is not None
                else "no comparable day since"
            )
            return (
                f"panel {self.serial} weak since {self.since}: {share}, "
                f"{self.lost_wh:,} Wh lost vs the median{silent}"
            )
        if self.stopped_reporting:
            return f"panel {self.serial} stopped reporting: no report since {self.last_seen}"
        if self.trend_90 is not None and self.trend_90 < 0:
            recent = (
                f" ({self.last7_ratio:.0%} of the median over the last {last_days} days)"
                if self.last7_ratio is not None
                else ""
            )
            return f"panel {self.serial} declining: ratio {self.trend_90:+.0%} over 90 days{recent}"
        return f"panel {self.serial} ok"


@dataclass
class HealthReport:
    """The health of every panel on ``day`` (the history's latest date)."""

    day: str | None
    panels: list[PanelVerdict]
    weak: list[PanelVerdict]
    stopped: list[PanelVerdict] = field(default_factory=list)
    declining: list[PanelVerdict] = field(default_factory=list)
    settings: HealthSettings = field(default_factory=HealthSettings)
    table: RatioTable | None = field(default=None, repr=False)
    replacements: list[Replacement] = field(default_factory=list)
    shared: list[SharedLoss] = field(default_factory=list)

    def groups_line(self) -> str | None:
        """Which groups the panels were judged in and how they were found, or None (no data)."""
        if self.table is None or self.table.groups is None or self.day is None:
            return None
        return self.table.groups.describe({v.serial for v in self.panels if not v.retired})

    @property
    def panel_count(self) -> int:
        """The panels on the roof: every serial still in use (not retired, not replaced)."""
        return sum(1 for v in self.panels if not v.retired)

    def verdict(self, serial: str) -> PanelVerdict | None:
        return next((v for v in self.panels if v.serial == serial), None)

    @property
    def ok(self) -> bool:
        return not self.weak and not self.stopped

    def singled_out(self) -> list[PanelVerdict]:
        """The panels that need a look: weak, then silent, then declining ones, each once."""
        named: list[PanelVerdict] = []
        for verdict in (*self.weak, *self.stopped, *self.declining):
            if verdict not in named:
                named.append(verdict)
        return named

    def summary_lines(self) -> list[str]:
        """What the daily job prints: weak panels (since, Wh lost), stopped and declining ones."""
        if self.day is None:
            return ["panel health: no data yet"]
        days = self.settings.last_days
        lines = [v.describe(days) for v in self.weak]
        lines += [v.describe(days) for v in self.stopped if not v.weak]
        lines += [v.describe(days) for v in self.declining]
        if not lines:
            active = [v for v in self.panels if not v.retired]
            if any(v.last7_ratio is not None for v in active):
                lines.append(f"panel health on {self.day}: all {counted(len(active), 'panel')} ok")
            else:
                lines.append(
                    f"panel health on {self.day}: no comparable day yet "
                    f"({counted(len(active), 'panel')})"
                )
        lines += [loss.describe() for loss in self.shared]
        return lines


def assess(
    history: History,
    settings: HealthSettings,
    *,
    panel_watts: PanelWatts = None,
    whole_history: bool = False,
    replacements: Mapping[str, str] | None = None,
    latest_days: Mapping[str, str] | None = None,
) -> HealthReport:
    """Judge every panel of ``history`` on its latest day. Reads only; never changes history.

    The verdict reads a bounded window of recent days (``NIGHTLY_DAYS``, longer only while
    some panel's flag state or open episode reaches further back), so the nightly cost does
    not grow with the years the history holds; the verdict is the one the whole history gives.
    ``whole_history`` reads every day instead (the reference the window is held to).
    ``replacements``: the owner's own pairs, old serial -> new (``with_given``).
    """
    latest: Mapping[str, str] = {}
    if whole_history:
        table = ratio_table(history, settings, panel_watts=panel_watts)
    else:
        table, latest = _verdict_table(history, settings, panel_watts, latest_days)
    if not table.days:
        return HealthReport(day=None, panels=[], weak=[], settings=settings, table=table)
    last = len(table.days) - 1
    last_present = _last_true_row(table.present)
    window = slice(max(0, last - settings.last_days + 1), last + 1)
    last_ratio = _window_ratio(table, window)
    trends = {n: _trends(table, n) for n in (30, 90, 365)}
    verdicts: list[PanelVerdict] = []
    for column, serial in enumerate(table.serials):
        seen = int(last_present[column])
        missing_days = last - seen
        retired = seen < 0 or missing_days >= settings.retired_after_days
        stopped = missing_days >= settings.stopped_after_days
        flagged = bool(table.flagged[last, column]) and not retired
        since_row = _episode_start(table, column, settings.days_to_flag) if flagged else None
        lost, episode_ratio = 0, None
        if since_row is not None:
            gap = table.expected[since_row:, column] - table.energy[since_row:, column]
            lost = max(0, round(float(np.nansum(gap))))
            episode_ratio = _finite(_window_ratio(table, slice(since_row, last + 1))[column])
        verdicts.append(
            PanelVerdict(
                serial=serial,
                weak=flagged,
                since=table.days[since_row] if since_row is not None else None,
                last7_ratio=_finite(last_ratio[column]),
                lost_wh=lost,
                trend_30=_finite(trends[30][column]),
                trend_90=_finite(trends[90][column]),
                trend_365=_finite(trends[365][column]),
                stopped_reporting=stopped,
                last_seen=table.days[seen] if seen >= 0 else latest.get(serial),
                retired=retired,
                last_ratio=_finite(_last_finite(table.ratio[:, column])),
                last_z=_finite(_last_finite(table.z[:, column])),
                weak_days=int(table.weak[since_row:, column].sum()) if since_row is not None else 0,
                episode_ratio=episode_ratio,
            )
        )
    found = find_replacements(
        history,
        {v.serial: v.last_seen for v in verdicts if v.stopped_reporting and v.last_seen},
        [v.serial for v in verdicts if not v.stopped_reporting and not v.retired],
        table.group_names(),
    )
    last_seen = {v.serial: v.last_seen for v in verdicts}
    pairs = with_given(found, replacements or {}, history, last_seen, table.serials)
    verdicts = _retire_replaced(verdicts, pairs)
    weak = sorted((v for v in verdicts if v.weak), key=lambda v: (v.last7_ratio or 0.0, v.serial))
    silent = [v for v in verdicts if v.stopped_reporting and not v.retired]
    declining = [
        v
        for v in verdicts
        if not v.weak
        and not v.retired
        and v.trend_90 is not None
        and v.trend_90 <= -settings.trend_warning
    ]
    return HealthReport(
        day=table.days[last],
        panels=verdicts,
        weak=weak,
        stopped=silent,
        declining=declining,
        settings=settings,
        table=table,
        replacements=pairs,
        shared=shared_losses(table, settings),
    )


def _retire_replaced(
    verdicts: list[PanelVerdict], replacements: list[Replacement]
) -> list[PanelVerdict]:
    """Each replaced unit retired, naming its successor: no longer weak, silent or counted."""
    successor = {r.old: r.new for r in replacements}
    return [
        dataclasses.replace(
            v, weak=False, stopped_reporting=False, retired=True, replaced_by=successor[v.serial]
        )
        if v.serial in successor
        else v
        for v in verdicts
    ]


# The longest window a verdict looks at: the 365-day trend, and the day itself.
NIGHTLY_DAYS = 366


def _verdict_table(
    history: History,
    settings: HealthSettings,
    panel_watts: PanelWatts,
    known: Mapping[str, str] | None = None,
) -> tuple[RatioTable, Mapping[str, str]]:
    """The ratio table over the recent days the verdict needs, and each serial's latest day.

    Starts with ``NIGHTLY_DAYS`` (or more if ``last_days`` or ``retired_after_days`` ask for
    it) and widens fourfold only while a panel that reported in the window has no deciding
    day in it (its flag state comes from before) or was flagged on every day it is known (its
    episode began before). A panel silent for the whole window is retired whatever came
    before; its last day is its latest stored date (its last ratio is not looked up).
    """
    latest = known if known is not None else latest_days(history)
    newest = max(latest.values(), default=None)
    end = _parse_day(newest) if newest is not None else None
    if end is None:  # empty, or a malformed key sorts last: the whole history sorts it out
        return ratio_table(history, settings, panel_watts=panel_watts), {}
    span = max(NIGHTLY_DAYS, settings.last_days, settings.retired_after_days + 1)
    while True:
        since = end - timedelta(days=span - 1)
        table = ratio_table(history, settings, panel_watts=panel_watts, since=since, end=end)
        if not table.truncated or _known_in_window(table):
            return table, latest
        span *= 4


def _known_in_window(table: RatioTable) -> bool:
    """Whether every panel's verdict is decided by the days in ``table``."""
    assert table.decided_from is not None
    decided = table.decided_from
    undecided = table.present.any(axis=0) & (decided < 0)
    count = len(table.days)
    unflagged = ~table.flagged
    last_unflagged = np.where(
        unflagged.any(axis=0), count - 1 - np.argmax(unflagged[::-1], axis=0), -1
    )
    open_before = table.flagged[-1] & (last_unflagged < decided) if count else undecided
    return not bool((undecided | open_before).any())


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _finite(value: float | np.floating[Any] | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _last_true_row(matrix: BoolArray) -> npt.NDArray[np.int64]:
    """Per column, the index of the last True row, or -1."""
    count = matrix.shape[0]
    if count == 0:
        return np.full(matrix.shape[1], -1, dtype=np.int64)
    reversed_first = np.argmax(matrix[::-1], axis=0)
    rows = count - 1 - reversed_first
    return np.where(matrix.any(axis=0), rows, -1).astype(np.int64)


def _last_finite(values: FloatArray) -> float | None:
    finite = np.flatnonzero(np.isfinite(values))
    return float(values[finite[-1]]) if finite.size else None


def _window_ratio(table: RatioTable, window: slice) -> FloatArray:
    """Energy-weighted ratio over the window: assessed days if any, else any day with a median."""
    rows = np.arange(len(table.days))[window]
    assessed = rows[table.status[rows] == ASSESSED]
    use = assessed if assessed.size else rows
    energy = table.energy[use]
    expected = table.expected[use]
    both = np.isfinite(energy) & np.isfinite(expected)
    made = np.where(both, energy, 0.0).sum(axis=0)
    should = np.where(both, expected, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: FloatArray = np.where(should > 0, made / should, np.nan)
    return result


def _trends(table: RatioTable, window_days: int) -> FloatArray:
    """Least-squares slope of the daily ratio over the last ``window_days``, times the window.

    None (NaN) unless a third of the window's days were assessed, spread over two thirds of it.
    """
    count = len(table.days)
    start = max(0, count - window_days)
    y = np.clip(table.ratio[start:], 0.0, 2.0)
    # days counted from the window's start, so the slope does not depend on how many days
    # of history lie before it (the nightly window and the whole history agree to the bit)
    x = np.arange(0, count - start, dtype=float)[:, None]
    mask = np.isfinite(y)
    n = mask.sum(axis=0).astype(float)
    xm = np.where(mask, x, 0.0)
    ym = np.where(mask, y, 0.0)
    sx, sy = xm.sum(axis=0), ym.sum(axis=0)
    sxx, sxy = (xm * xm).sum(axis=0), (xm * ym).sum(axis=0)
    denominator = n * sxx - sx * sx
    # A slope from a few days of noise, stretched over the window, would read as a decline:
    # ask for days spread over most of the window.
    first = np.where(mask, x, np.inf).min(axis=0)
    last = np.where(mask, x, -np.inf).max(axis=0)
    enough = (
        (n >= max(5, window_days // 3))
        & (last - first + 1 >= window_days * 2 / 3)
        & (denominator > 0)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (n * sxy - sx * sy) / denominator
    result: FloatArray = np.where(enough, slope * window_days, np.nan)
    return result


def _episode_start(table: RatioTable, column: int, days_to_flag: int) -> int:
    """The first weak day of the run that flagged the panel in its current episode."""
    unflagged = np.flatnonzero(~table.flagged[:, column])
    flagged_from = int(unflagged[-1]) + 1 if unflagged.size else 0
    # The flag went up on `flagged_from` with exactly days_to_flag weak days in a row (skipped
    # days between them do not break a run): the run began at the days_to_flag-th last one.
    weak_rows = np.flatnonzero(table.weak[: flagged_from + 1, column])
    if weak_rows.size == 0:
        return flagged_from
    return int(weak_rows[-min(weak_rows.size, days_to_flag)])
