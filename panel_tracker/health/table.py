"""The days x panels table behind the health check: every panel's ratio to its group, per day.

The whole history is read once into matrices whose rows are consecutive calendar days (so a
window is a slice) and whose columns are serials; every step is vectorized per day, so ten
years of 100 panels take a fraction of a second. Per day: the array median per rated W and each
group's (``groups``: the roof's faces; one array, the array median itself), each panel's ratio
to its group's, the robust spread of those ratios (median absolute deviation), whether
the day can be judged at all (``status``), which panels were weak or good, and the run rule's
flag state after it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import compress, repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from ..history import History
from .groups import PanelGroups, one_array, recent_logs, resolve_groups
from .thresholds import HealthSettings, PanelWatts

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


@dataclass
class RatioTable:
    """Every day from the first to the last date of the history, every serial, as arrays.

    Rows are consecutive calendar days (so windows are slices), columns are ``serials``.
    ``energy`` is NaN where the day is absent, unknown or estimated; ``expected`` is what the
    panel would have made at its group's median (the array median on a roof of one face);
    ``ratio`` is NaN on days not assessed.
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
    # The first row of each column from which ``flagged`` is known (-1: none in the table).
    # A table that starts after the history's first day (``truncated``) cannot see the run
    # rule's state before its first row, so rows before a column's first deciding day (the
    # weak or good run that set or cleared the flag) carry no verdict; a full table knows all.
    decided_from: npt.NDArray[np.int64] | None = None
    truncated: bool = False
    # The groups each panel was judged in, each serial's group index, and per day each
    # group's median per rated W (days x groups; NaN where too few of its panels reported).
    groups: PanelGroups | None = None
    group_of: npt.NDArray[np.int64] | None = None
    group_median: FloatArray | None = None
    # Whether each serial's group is known: listed in the config's groups, or read from its
    # own recent lit days (a new serial's first night has none: its first day is unknown, and
    # its group is then only the largest one's by default).
    group_known: BoolArray | None = None

    def column(self, serial: str) -> int:
        return self.serials.index(serial)

    def group_names(self) -> dict[str, str] | None:
        """Each serial's group by name, for the serials whose group is known (``group_known``);
        None before the groups are computed."""
        if self.groups is None or self.group_of is None:
            return None
        names = self.groups.names
        known = (
            self.group_known.tolist()
            if self.group_known is not None and len(names) > 1
            else [True] * len(self.serials)  # one group holds every serial
        )
        return {
            serial: names[g]
            for serial, g, sure in zip(self.serials, self.group_of.tolist(), known, strict=True)
            if sure and 0 <= g < len(names)
        }


def _watts_vector(serials: list[str], panel_watts: PanelWatts) -> FloatArray:
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


def _read_energy(
    history: History, serials: list[str], since: date | None = None, end: date | None = None
) -> tuple[list[str], FloatArray, BoolArray]:
    """The energy matrix: NaN for absent, unknown and estimated days.

    With ``since`` and ``end`` only those calendar days are looked up (a bounded read,
    whatever the history's length); without them, every stored day from the first to the last.
    """
    if since is not None and end is not None:
        return _read_window(history, serials, since, end)
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


def _read_window(
    history: History, serials: list[str], since: date, end: date
) -> tuple[list[str], FloatArray, BoolArray]:
    """``_read_energy`` over ``since..end`` only: one lookup per calendar day and serial."""
    count = (end - since).days + 1
    calendar = [(since + timedelta(days=k)).isoformat() for k in range(count)]
    energy = np.full((count, len(serials)), np.nan)
    present = np.zeros((count, len(serials)), dtype=bool)
    for column, serial in enumerate(serials):
        entries: list[Any] = list(map(history.days_of(serial).get, calendar))
        found = np.fromiter(map(isinstance, entries, repeat(dict)), dtype=bool, count=count)
        present[:, column] = found
        energy[found, column] = _window_energy(list(compress(entries, found)))
    return calendar, energy, present


def _window_energy(entries: list[dict[str, Any]]) -> FloatArray:
    """The ``daily_energy`` of day entries, NaN where unknown or estimated.

    Read with C-level maps, as a night reads a year of days of every panel. A loaded history
    is checked (energies are whole numbers or null); the per-entry path below is for one
    built otherwise."""
    daily = list(map(dict.get, entries, repeat("daily_energy")))
    if set(map(type, daily)) <= {int, type(None)}:
        values = np.array(daily, dtype=float)  # None becomes NaN
        estimated = map(dict.get, entries, repeat("estimated"))
        values[np.fromiter(map(bool, estimated), dtype=bool, count=len(entries))] = np.nan
        return values
    return np.array(
        [
            np.nan
            if (v := e.get("daily_energy")) is None
            or e.get("estimated")
            or isinstance(v, bool | str)
            else v
            for e in entries
        ],
        dtype=float,
    )


def _read_rows(
    history: History,
    serials: list[str],
    settings: HealthSettings,
    since: date | None,
    end: date | None,
) -> tuple[list[str], FloatArray, BoolArray, int]:
    """The energy rows to judge, and how many leading rows only warm the clear-day level."""
    if since is not None and end is not None:
        read_from = since - timedelta(days=settings.clear_day_window - 1)
        if _starts_before(history, serials, read_from.isoformat()):
            return (*_read_energy(history, serials, read_from, end), (since - read_from).days)
    return (*_read_energy(history, serials), 0)


def _starts_before(history: History, serials: list[str], day: str) -> bool:
    """Whether the history holds a well-formed day before ``day`` (the window is then partial).

    Days are stored in date order as a rule, so a serial's first stored key usually answers
    at once; only when none does are all keys scanned.
    """
    firsts = [next(iter(days)) for s in serials if (days := history.days_of(s))]
    if any(_parse_day(key) is not None and key < day for key in firsts):
        return True
    first = min((min(d) for s in serials if (d := history.days_of(s))), default=None)
    return first is not None and _parse_day(first) is not None and first < day


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def ratio_table(
    history: History,
    settings: HealthSettings,
    *,
    panel_watts: PanelWatts = None,
    since: date | None = None,
    end: date | None = None,
) -> RatioTable:
    """Compute every day's ratios, weak/good days and the flag state after each day.

    By default over the whole history. With ``since`` and ``end`` (the history's latest day),
    only over ``since..end``: the ``clear_day_window`` days before ``since`` are read too, so
    every returned row's clear-day level and status are what the whole history gives, and the
    table is marked ``truncated`` (see ``decided_from``). A ``since`` at or before the
    history's first day gives the full table.
    """
    serials = history.serials()
    days, energy, present, warmup = _read_rows(history, serials, settings, since, end)
    watts = _watts_vector(serials, panel_watts)
    count = energy.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        per_watt = energy / watts
        usable = np.isfinite(per_watt) & (per_watt >= 0)
        per_watt = np.where(usable, per_watt, np.nan)
        n_usable = usable.sum(axis=1)
        median: FloatArray = np.full(count, np.nan)
        enough = n_usable >= settings.min_panels
        if enough.any():
            median[enough] = np.nanmedian(per_watt[enough], axis=1)
        status: npt.NDArray[np.int8] = np.full(count, ASSESSED, dtype=np.int8)
        status[n_usable == 0] = NO_DATA
        status[(n_usable > 0) & ~enough] = TOO_FEW_PANELS
        dark = enough & ~(median > 0)
        status[dark] = LOW_LIGHT
        clear_level = _clear_day_level(np.where(status == ASSESSED, median, np.nan), settings)
        dim = (status == ASSESSED) & (median < settings.low_light_fraction * clear_level)
        status[dim] = LOW_LIGHT
        groups, group_of, group_median = _group_medians(
            serials, per_watt, median, status == ASSESSED, settings
        )
        group_known = _group_known(serials, per_watt, median, status == ASSESSED, settings)
        if len(groups.names) == 1:
            ratio_all = per_watt / median[:, None]
            reference = median[:, None]
        else:
            reference = _others_median(per_watt, group_of, settings.min_panels)
            ratio_all = per_watt / reference
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
        expected = reference * watts[None, :]
    if warmup:
        # the warm-up rows only gave the clear-day level its window: drop them
        keep = slice(warmup, None)
        days, energy, present, median = days[keep], energy[keep], present[keep], median[keep]
        group_median = group_median[keep]
        expected, ratio, z, status = expected[keep], ratio[keep], z[keep], status[keep]
        weak, good = weak[keep], good[keep]
    flagged, decided_from = _run_rule_decided(weak, good, settings)
    if not warmup:
        decided_from = np.zeros(len(serials), dtype=np.int64)  # the whole history: all known
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
        decided_from=decided_from,
        truncated=bool(warmup),
        groups=groups,
        group_of=group_of,
        group_median=group_median,
        group_known=group_known,
    )


def _group_known(
    serials: list[str],
    per_watt: FloatArray,
    median: FloatArray,
    lit: BoolArray,
    settings: HealthSettings,
) -> BoolArray:
    """Per serial, whether its group is known: the config lists it, or it has a known value
    on one of the recent lit days the groups are read from (``groups.recent_logs``)."""
    listed = {s for _, members in settings.panel_groups or () for s in members}
    read = np.isfinite(recent_logs(per_watt, median, lit)).any(axis=0)
    known: BoolArray = read | np.array([s in listed for s in serials], dtype=bool)
    return known


def _others_median(
    per_watt: FloatArray, group_of: npt.NDArray[np.int64], min_panels: int
) -> FloatArray:
    """Per day and panel, the median per rated W of the other panels of its group.

    In a group of six, a panel's own value would be one of the two its median averages: a
    10 % shade would read as 8 %. Leaving it out keeps a small face's fault its true size
    (a roof of one face keeps the array median, as before groups)."""
    reference = np.full(per_watt.shape, np.nan)
    for g in range(int(group_of.max()) + 1 if group_of.size else 0):
        columns = np.flatnonzero(group_of == g)
        for column in columns:
            others = per_watt[:, columns[columns != column]]
            enough = np.isfinite(others).sum(axis=1) >= min_panels
            if enough.any():
                reference[enough, column] = np.nanmedian(others[enough], axis=1)
    return reference


def _group_medians(
    serials: list[str],
    per_watt: FloatArray,
    median: FloatArray,
    lit: BoolArray,
    settings: HealthSettings,
) -> tuple[PanelGroups, npt.NDArray[np.int64], FloatArray]:
    """The groups, each serial's group and each group's daily median per rated W.

    One array's only group median is the array median itself, so a roof of one face is
    judged exactly as before groups existed.
    """
    if not serials:
        return one_array(serials), np.zeros(0, dtype=np.int64), median[:, None]
    groups, group_of = resolve_groups(settings.panel_groups, serials, per_watt, median, lit)
    if len(groups.names) == 1:
        return groups, group_of, median[:, None].copy()
    count = per_watt.shape[0]
    group_median = np.full((count, len(groups.names)), np.nan)
    for g in range(len(groups.names)):
        columns = per_watt[:, group_of == g]
        enough = np.isfinite(columns).sum(axis=1) >= settings.min_panels
        if enough.any():
            group_median[enough, g] = np.nanmedian(columns[enough], axis=1)
    return groups, group_of, group_median


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
    return _run_rule_decided(weak, good, settings)[0]


def _run_rule_decided(
    weak: BoolArray, good: BoolArray, settings: HealthSettings
) -> tuple[BoolArray, npt.NDArray[np.int64]]:
    """``_run_rule``, and per column the first deciding row (-1 if none).

    From its first deciding day on, a column's flag state does not depend on any day before
    the table: a run counted inside the table is never longer than the true run, so a
    decision seen here is one the whole history makes too, and after it both runs are exact.
    """
    count = weak.shape[0]
    if count == 0:
        return np.zeros(weak.shape, dtype=bool), np.full(weak.shape[1], -1, dtype=np.int64)
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
    deciding = decision != 0
    first = np.where(deciding.any(axis=0), np.argmax(deciding, axis=0), -1).astype(np.int64)
    return flagged, first


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
