"""Panel health: which panel is losing energy against its own array, since when, and how much.

Each panel is compared with the rest of its array on the same day (IEA-PVPS T13-19:2021,
"comparing subsystems"), so weather cancels out:

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

The computation is a pure function of the history (``assess``): the whole history is read once
into a days x panels matrix and every step is vectorized per day, so ten years of 100 panels
take a fraction of a second. What was already *alerted* is bookkeeping of its own
(``health_state``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from .config import Config
from .errors import ConfigError
from .history import History

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MAD_TO_SIGMA = 1.4826  # makes a MAD comparable with a standard deviation for normal noise

# Why a day was not used to judge the panels (``DayStatus`` codes in ``RatioTable.status``).
ASSESSED = 0
NO_DATA = 1
TOO_FEW_PANELS = 2
LOW_LIGHT = 3
UNEVEN = 4
DAY_STATUS_NAMES = {
    ASSESSED: "assessed",
    NO_DATA: "no data",
    TOO_FEW_PANELS: "too few panels",
    LOW_LIGHT: "low light",
    UNEVEN: "uneven array",
}


@dataclass(frozen=True)
class HealthSettings:
    """Thresholds of the health check; each one can be set in the config's ``"health"`` object.

    ``weak_ratio`` (0.92): a day is weak when the panel made less than 92 % of the array median
    (per rated W) ... ``z_threshold`` (3.0): ... and sits at least 3 robust sigmas below it.
    ``recover_ratio`` (0.95): a day is good again at 95 % or more.
    ``days_to_flag`` / ``days_to_clear`` (3 / 3): consecutive weak / good days to flag / clear.
    ``low_light_fraction`` (0.2): skip days whose array median is below 20 % of the recent
    clear-day level, which is the ``clear_day_percentile`` (90) of the array median over the last
    ``clear_day_window`` (30) days.
    ``max_spread`` (0.15): skip days whose robust sigma of the ratios exceeds this (partial snow).
    ``min_sigma`` (0.01): floor of the robust sigma, so a very even day does not turn a 1 %
    difference into a huge z.
    ``min_panels`` (3): fewer usable panels than this on a day and it is skipped.
    ``stopped_after_days`` (2): a panel without any entry for this many of the array's latest
    days has stopped reporting; after ``retired_after_days`` (30) it counts as removed (a
    replaced micro-inverter) and is no longer named.
    ``trend_warning`` (0.05): name a panel whose ratio fell by this much over 90 days even before
    it is weak (slow soiling or decline).
    ``last_days`` (7): the window of the "last days" ratio and table.
    """

    weak_ratio: float = 0.92
    recover_ratio: float = 0.95
    z_threshold: float = 3.0
    days_to_flag: int = 3
    days_to_clear: int = 3
    low_light_fraction: float = 0.2
    clear_day_window: int = 30
    clear_day_percentile: float = 90.0
    max_spread: float = 0.15
    min_sigma: float = 0.01
    min_panels: int = 3
    stopped_after_days: int = 2
    retired_after_days: int = 30
    trend_warning: float = 0.05
    last_days: int = 7

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.weak_ratio < 1:
            problems.append("weak_ratio must be between 0 and 1")
        if not self.weak_ratio <= self.recover_ratio <= 1.5:
            problems.append("recover_ratio must be at least weak_ratio (and at most 1.5)")
        for name in ("z_threshold", "max_spread", "min_sigma", "trend_warning"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be above 0")
        if not 0 <= self.low_light_fraction < 1:
            problems.append("low_light_fraction must be from 0 up to 1")
        if not 0 < self.clear_day_percentile <= 100:
            problems.append("clear_day_percentile must be in 1..100")
        for name in (
            "days_to_flag",
            "days_to_clear",
            "clear_day_window",
            "last_days",
            "stopped_after_days",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be 1 or more")
        if self.min_panels < 3:
            problems.append("min_panels must be 3 or more (a median of two is no reference)")
        if self.retired_after_days < self.stopped_after_days:
            problems.append("retired_after_days must be at least stopped_after_days")
        if problems:
            raise ConfigError("health settings: " + "; ".join(problems))

    @classmethod
    def from_config(cls, config: Config | Mapping[str, Any] | None) -> HealthSettings:
        """Settings from the config's optional ``"health"`` object (a Config or its raw dict).

        A value of the wrong type or out of range is a ``ConfigError``; an unknown key is
        logged (probably a typo) and ignored.
        """
        raw = config.raw if isinstance(config, Config) else (config or {})
        section = raw.get("health") or {}
        where = f"{config.path}: " if isinstance(config, Config) else ""
        if not isinstance(section, Mapping):
            raise ConfigError(f"{where}'health' must be an object of settings")
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in section.items():
            spec = known.get(key)
            if spec is None:
                if not str(key).startswith("_"):  # "_comment" keys are documentation
                    logger.warning("config 'health': unknown setting %r ignored", key)
                continue
            values[key] = _coerce(key, value, int if spec.type in (int, "int") else float, where)
        try:
            return cls(**values)
        except ConfigError as exc:
            raise ConfigError(f"{where}{exc}") from None


def _coerce(key: str, value: Any, kind: type, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}health setting {key!r} must be a number, got {value!r}")
    if kind is int:
        if value != int(value):
            raise ConfigError(f"{where}health setting {key!r} must be a whole number")
        return int(value)
    if not math.isfinite(value):
        raise ConfigError(f"{where}health setting {key!r} must be a finite number")
    return float(value)


def panel_watts_from_config(
    config: Config | Mapping[str, Any] | None,
) -> int | dict[str, int] | None:
    """The config's optional ``panel_watts``: one rating for all panels, or ``{serial: W}``."""
    raw = config.raw if isinstance(config, Config) else (config or {})
    value = raw.get("panel_watts")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, Mapping) and all(
        isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in value.values()
    ):
        return {str(serial): int(w) for serial, w in value.items()}
    raise ConfigError(
        "config 'panel_watts' must be a positive whole number of watts, or an object "
        '{"<serial>": watts, ...}'
    )


# --- the days x panels table -------------------------------------------------------------


@dataclass
class RatioTable:
    """Every day from the first to the last date of the history, every serial, as arrays.

    Rows are consecutive calendar days (so windows are slices), columns are ``serials``.
    ``energy`` is NaN where the day is absent, unknown or estimated; ``expected`` is what the
    panel would have made at the array median; ``ratio`` is NaN on days not assessed.
    """

    days: list[str]
    serials: list[str]
    watts: FloatArray
    energy: FloatArray
    present: BoolArray
    median: FloatArray
    expected: FloatArray
    ratio: FloatArray
    z: FloatArray
    status: npt.NDArray[np.int8]
    weak: BoolArray
    good: BoolArray
    flagged: BoolArray

    def column(self, serial: str) -> int:
        return self.serials.index(serial)


def _watts_vector(serials: list[str], panel_watts: int | Mapping[str, int] | None) -> FloatArray:
    if panel_watts is None:
        return np.ones(len(serials))
    if isinstance(panel_watts, int):
        return np.full(len(serials), float(panel_watts))
    known = [w for w in panel_watts.values() if w > 0]
    usual = float(np.median(known)) if known else 1.0
    missing = [s for s in serials if s not in panel_watts]
    if missing and known:
        logger.warning(
            "panel_watts has no rating for %d serial(s) (%s); using %g W for them",
            len(missing),
            ", ".join(missing[:5]),
            usual,
        )
    return np.array([float(panel_watts.get(s, usual)) for s in serials])


def _read_energy(history: History, serials: list[str]) -> tuple[list[str], FloatArray, BoolArray]:
    """The energy matrix: NaN for absent, unknown and estimated days."""
    first: str | None = None
    last: str | None = None
    for serial in serials:
        days = history.days_of(serial)
        if days:
            lo, hi = min(days), max(days)
            first = lo if first is None or lo < first else first
            last = hi if last is None or hi > last else last
    if first is None or last is None:
        return [], np.zeros((0, len(serials))), np.zeros((0, len(serials)), dtype=bool)
    start, end = _parse_day(first), _parse_day(last)
    if start is None or end is None:
        # a malformed key sorts oddly; fall back to the well-formed ones
        good = sorted(d for d in history.dates() if _parse_day(d) is not None)
        if not good:
            return [], np.zeros((0, len(serials))), np.zeros((0, len(serials)), dtype=bool)
        start, end = _parse_day(good[0]), _parse_day(good[-1])
        assert start is not None and end is not None
    count = (end - start).days + 1
    calendar = [(start + timedelta(days=k)).isoformat() for k in range(count)]
    index = {day: k for k, day in enumerate(calendar)}
    energy = np.full((count, len(serials)), np.nan)
    present = np.zeros((count, len(serials)), dtype=bool)
    for column, serial in enumerate(serials):
        for day, entry in history.days_of(serial).items():
            row = index.get(day)
            if row is None or not isinstance(entry, dict):
                continue
            present[row, column] = True
            value = entry.get("daily_energy")
            if value is None or entry.get("estimated") or isinstance(value, bool | str):
                continue
            energy[row, column] = value
    return calendar, energy, present


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def ratio_table(
    history: History,
    settings: HealthSettings,
    *,
    panel_watts: int | Mapping[str, int] | None = None,
) -> RatioTable:
    """Compute every day's ratios, weak/good days and the flag state after each day."""
    serials = history.serials()
    days, energy, present = _read_energy(history, serials)
    watts = _watts_vector(serials, panel_watts)
    count = energy.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        per_watt = energy / watts
        usable = np.isfinite(per_watt) & (per_watt >= 0)
        per_watt = np.where(usable, per_watt, np.nan)
        n_usable = usable.sum(axis=1)
        median = np.full(count, np.nan)
        enough = n_usable >= settings.min_panels
        if enough.any():
            median[enough] = np.nanmedian(per_watt[enough], axis=1)
        status = np.full(count, ASSESSED, dtype=np.int8)
        status[n_usable == 0] = NO_DATA
        status[(n_usable > 0) & ~enough] = TOO_FEW_PANELS
        dark = enough & ~(median > 0)
        status[dark] = LOW_LIGHT
        clear_level = _clear_day_level(np.where(status == ASSESSED, median, np.nan), settings)
        dim = (status == ASSESSED) & (median < settings.low_light_fraction * clear_level)
        status[dim] = LOW_LIGHT
        ratio_all = per_watt / median[:, None]
        lit = enough & (median > 0)  # a dark day has no ratios: nanmedian would warn
        sigma = np.full(count, np.nan)
        if lit.any():
            sigma[lit] = MAD_TO_SIGMA * np.nanmedian(np.abs(ratio_all[lit] - 1.0), axis=1)
        status[(status == ASSESSED) & (sigma > settings.max_spread)] = UNEVEN
        assessed = status == ASSESSED
        ratio = np.where(assessed[:, None], ratio_all, np.nan)
        z = (ratio - 1.0) / np.maximum(sigma, settings.min_sigma)[:, None]
        weak = (ratio < settings.weak_ratio) & (z <= -settings.z_threshold)
        good = ratio >= settings.recover_ratio
        expected = median[:, None] * watts[None, :]
    flagged = _run_rule(weak, good, settings)
    return RatioTable(
        days=days,
        serials=serials,
        watts=watts,
        energy=energy,
        present=present,
        median=median,
        expected=expected,
        ratio=ratio,
        z=z,
        status=status,
        weak=weak,
        good=good,
        flagged=flagged,
    )


def _clear_day_level(median: FloatArray, settings: HealthSettings) -> FloatArray:
    """For each day, a high percentile of the array median over the window ending that day."""
    count = len(median)
    window = settings.clear_day_window
    if count == 0:
        return np.zeros(0)
    padded = np.concatenate([np.full(window - 1, np.nan), median])
    ordered = np.sort(np.lib.stride_tricks.sliding_window_view(padded, window), axis=1)
    finite = np.isfinite(ordered).sum(axis=1)  # NaN sorts last: the first `finite` are values
    pick = np.floor((finite - 1) * settings.clear_day_percentile / 100.0).astype(np.int64)
    level = np.take_along_axis(ordered, np.maximum(pick, 0)[:, None], axis=1)[:, 0]
    result: FloatArray = np.where(finite > 0, level, np.nan)
    return result


def _run_rule(weak: BoolArray, good: BoolArray, settings: HealthSettings) -> BoolArray:
    """The flag state after each day: N weak days in a row flag, M good days in a row clear.

    Days neither weak nor good (skipped, in between) keep both counts as they are. Vectorized:
    the weak run on a day is the weak days since the last good day; a day on which the weak run
    reaches N sets the flag, one on which the good run reaches M clears it, and the state after
    any day is whatever the last such deciding day said.
    """
    count = weak.shape[0]
    if count == 0:
        return np.zeros(weak.shape, dtype=bool)
    rows = np.arange(count)[:, None]
    weak_total = np.cumsum(weak, axis=0, dtype=np.int64)
    good_total = np.cumsum(good, axis=0, dtype=np.int64)
    last_good = np.maximum.accumulate(np.where(good, rows, -1), axis=0)
    last_weak = np.maximum.accumulate(np.where(weak, rows, -1), axis=0)
    weak_run = weak_total - _total_at(weak_total, last_good)
    good_run = good_total - _total_at(good_total, last_weak)
    decision = np.where(
        weak_run >= settings.days_to_flag, 1, np.where(good_run >= settings.days_to_clear, -1, 0)
    )
    decided = np.maximum.accumulate(np.where(decision != 0, rows, -1), axis=0)
    latest = np.take_along_axis(decision, np.maximum(decided, 0), axis=0)
    flagged: BoolArray = (decided >= 0) & (latest > 0)
    return flagged


def _total_at(totals: npt.NDArray[np.int64], rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``totals[rows[i, j], j]``, or 0 where ``rows`` is -1 (before the first day)."""
    picked = np.take_along_axis(totals, np.maximum(rows, 0), axis=0)
    result: npt.NDArray[np.int64] = np.where(rows >= 0, picked, 0)
    return result


def run_rule_reference(
    weak: list[bool], good: list[bool], flag_after: int, clear_after: int
) -> list[bool]:
    """The run rule day by day for one panel: the plain statement ``_run_rule`` must equal."""
    flagged, weak_run, good_run, states = False, 0, 0, []
    for is_weak, is_good in zip(weak, good, strict=True):
        if is_weak:
            weak_run, good_run = weak_run + 1, 0
        elif is_good:
            weak_run, good_run = 0, good_run + 1
        if weak_run >= flag_after:
            flagged = True
        elif good_run >= clear_after:
            flagged = False
        states.append(flagged)
    return states


# --- verdicts ----------------------------------------------------------------------------


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

    def verdict(self, serial: str) -> PanelVerdict | None:
        return next((v for v in self.panels if v.serial == serial), None)

    @property
    def ok(self) -> bool:
        return not self.weak and not self.stopped

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
                lines.append(f"panel health on {self.day}: all {len(active)} panels ok")
            else:
                lines.append(
                    f"panel health on {self.day}: no comparable day yet ({len(active)} panels)"
                )
        return lines


def assess(
    history: History,
    settings: HealthSettings,
    *,
    panel_watts: int | Mapping[str, int] | None = None,
) -> HealthReport:
    """Judge every panel of ``history`` on its latest day. Reads only; never changes history."""
    table = ratio_table(history, settings, panel_watts=panel_watts)
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
                last_seen=table.days[seen] if seen >= 0 else None,
                retired=retired,
                last_ratio=_finite(_last_finite(table.ratio[:, column])),
                last_z=_finite(_last_finite(table.z[:, column])),
                weak_days=int(table.weak[since_row:, column].sum()) if since_row is not None else 0,
                episode_ratio=episode_ratio,
            )
        )
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
    )


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
    x = np.arange(start, count, dtype=float)[:, None]
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
