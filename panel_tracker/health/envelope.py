"""Losses every panel of a group shares: the group (or the array) against its clear-day level.

Comparing panels with each other cannot see soiling of the whole roof, snow, a dead gateway or
curtailment: every panel loses alike. So each group's daily median per rated W is also held to
its own clear-day level for the time of year, learned from the history alone (no account, no
network, no weather data):

- **The level** (``clear_day_level``) is a smooth seasonal curve fitted by least squares to
  the clear days of the history's recent year: the fit is repeated on the days at or above
  ``CLEAR_SELECT`` of the curve until that set settles, so the curve runs through a typical
  clear day and overcast days do not pull it down. The sun's height on any fixed plane
  depends on the date through the sun's declination, which is symmetric about the solstices,
  so while the history is shorter than ``PERIODIC_DAYS`` the curve is a constant plus
  ``cos(a)`` (and ``cos(2a)`` from ``TWO_TERMS_DAYS`` on), ``a`` the year's angle from the June
  solstice: two or three numbers that a few months of days pin down, whatever the roof's
  tilt, direction or hemisphere. From ``PERIODIC_DAYS`` on the curve is free (two yearly
  harmonics, cosine and sine), so a site whose spring and autumn differ is followed too; it
  is periodic, so today's level draws on the same season a year ago as well as on recent
  weeks, and a loss that lasts a month or two stays a minority of the days it is fitted to:
  it does not become the new normal. The last ``ENVELOPE_LAG`` days stay out of the fit, so a
  loss that just began does not lower its own bar, and a loss the rule named in the last
  ``RECHECK_DAYS`` is judged once more against the curve fitted to the days before it began,
  so a long one does not either. With fewer than ``MIN_SPAN_DAYS`` days of history there is
  no level, and nothing is named.
- **Clear days.** A day the array makes ``clear_day_floor`` of its level or more counts as
  clear; overcast days are not judged, so an overcast spell or snow never raises a loss.
- **The rule.** Over the last ``shared_days_to_flag`` clear days, both the median and the mean
  of all but the lowest (a hazy day that passed for clear must not make a loss; nor may two)
  below ``1 - 0.6 x shared_loss`` of the level name the loss: a 10 % loss makes clear days
  about 90 % of it, a clean stretch about 100 %. That mean back at ``1 - 0.4 x shared_loss``
  or more ends it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from .table import ASSESSED, UNEVEN, RatioTable
from .thresholds import HealthSettings

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

YEAR_DAYS = 365.2422
JUNE_SOLSTICE = date(2000, 6, 21).toordinal()
MIN_SPAN_DAYS = 180  # lit history needed before the level exists
TWO_TERMS_DAYS = 240  # the solstice-symmetric curve gains cos(2a) from this span on
PERIODIC_DAYS = 330  # from this span on the curve is free: cos and sin of a and 2a
ENVELOPE_LAG = 7  # the last days stay out of the fit
CLEAR_SELECT = 0.92  # the fit runs through the days at or above this share of it
FIT_ROUNDS = 8
SHORT_SHARE = 0.6  # of shared_loss: clear days this far below the level are short ...
BACK_SHARE = 0.4  # ... and this close to it are back
RECHECK_DAYS = 180  # a loss named this recently is judged again against the days before it
RATIO_DAYS = 60  # a group's usual ratio to the array median: over this many days before


@dataclass(frozen=True, slots=True)
class SharedLoss:
    """``name`` (a group, or the array) below its clear-day level since ``since``, by
    ``loss`` (share of the level, averaged over its clear days since then)."""

    name: str
    since: str
    loss: float
    clear_days: int
    whole_array: bool

    def describe(self) -> str:
        who = "array" if self.whole_array else f"group {self.name}"
        return (
            f"{who} below its clear-day level since {self.since}: ~{self.loss:.0%} "
            "(soiling, snow or curtailment?)"
        )


def clear_day_level(
    values: FloatArray, days: Sequence[str], *, fit_before: int | None = None
) -> FloatArray:
    """A typical clear day's value on each of ``days`` (ISO dates) for the daily series
    ``values`` (NaN where not lit), fitted to the rows before ``fit_before`` (and before the
    last ``ENVELOPE_LAG``) only; all NaN while those span fewer than ``MIN_SPAN_DAYS`` (see
    the module docstring)."""
    count = len(values)
    missing: FloatArray = np.full(count, np.nan)
    usable = np.isfinite(values) & (values > 0)
    usable[max(0, count - ENVELOPE_LAG) :] = False
    if fit_before is not None:
        usable[fit_before:] = False
    rows = np.flatnonzero(usable)
    if rows.size == 0:
        return missing
    try:
        ordinals = np.array([date.fromisoformat(d).toordinal() for d in days], dtype=np.float64)
    except ValueError:  # a hand-edited day key the history check let through: no level
        return missing
    span = ordinals[rows[-1]] - ordinals[rows[0]] + 1
    if span < MIN_SPAN_DAYS:
        return missing
    angle = 2 * math.pi * (ordinals - JUNE_SOLSTICE) / YEAR_DAYS
    columns = [np.ones(count), np.cos(angle)]
    if span >= PERIODIC_DAYS:
        columns += [np.sin(angle), np.cos(2 * angle), np.sin(2 * angle)]
    elif span >= TWO_TERMS_DAYS:
        columns.append(np.cos(2 * angle))
    design: FloatArray = np.stack(columns, axis=1)
    scale = float(np.median(values[usable]))
    target: FloatArray = np.where(usable, values / scale, 0.0)
    chosen = usable
    curve: FloatArray = missing
    for _ in range(FIT_ROUNDS):
        if int(chosen.sum()) < 3 * design.shape[1]:
            break
        coefficients = np.linalg.lstsq(design[chosen], target[chosen], rcond=None)[0]
        curve = design @ coefficients
        again = usable & (target >= CLEAR_SELECT * curve)
        if np.array_equal(again, chosen):
            break
        chosen = again
    level: FloatArray = np.where(curve > 0, curve * scale, np.nan)
    return level


def shared_losses(table: RatioTable, settings: HealthSettings) -> list[SharedLoss]:
    """The array's loss on the table's last day, else each group's (one line each)."""
    if not table.days:
        return []
    lit = np.isin(table.status, (ASSESSED, UNEVEN))
    series = np.where(lit, table.median, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = series / clear_day_level(series, table.days)
    # a day is clear or not for the whole roof: a face that loses its edge on overcast days
    # would take a hazy one for a short clear one
    clear = np.isfinite(share) & (share >= settings.clear_day_floor)
    array = _judged(_Judged("array", series, share, clear, True), table, settings)
    if array is not None:
        return [array]
    if table.groups is None or table.group_median is None or len(table.groups.names) < 2:
        return []
    found: list[tuple[SharedLoss, _Judged]] = []
    for g, name in enumerate(table.groups.names):
        group_series = np.where(lit, table.group_median[:, g], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            group_share = group_series / clear_day_level(group_series, table.days)
        judged = _Judged(name, group_series, group_share, clear, False)
        loss = _judged(judged, table, settings)
        if loss is not None:
            found.append((loss, judged))
    losses = [loss for loss, _ in found]
    if len(losses) == len(table.groups.names):  # every group short: the whole array is
        since = min(loss.since for loss in losses)
        share_lost = sum(loss.loss for loss in losses) / len(losses)
        return [SharedLoss("array", since, share_lost, max(x.clear_days for x in losses), True)]
    return [
        loss
        for loss, judged in found
        if _short_beside_the_rest(judged, loss, series, table, settings)
    ]


def _short_beside_the_rest(
    judged: _Judged,
    loss: SharedLoss,
    array: FloatArray,
    table: RatioTable,
    settings: HealthSettings,
) -> bool:
    """Whether a group's loss shows against the array's median too: the group's ratio to it
    on clear days, against that ratio's median over the ``RATIO_DAYS`` before the loss.

    On hazy days the faces do not lose alike (the one facing the sun loses its edge most), so
    a group can look short of its own level while the array is not; a real loss of the group
    alone also lowers its ratio to the rest."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = judged.series / array
    usable = judged.clear & np.isfinite(ratio)
    start = table.days.index(loss.since)
    window = slice(max(0, start - RATIO_DAYS), start)
    before = ratio[window][usable[window]]
    if before.size < settings.shared_days_to_flag:
        return True  # nothing to hold it to: the group's own level has spoken
    found, _ = _loss_of(judged, ratio / float(np.median(before)), usable, table, settings)
    return found is not None


@dataclass(frozen=True, slots=True)
class _Judged:
    """One series judged: its share of the level and which days count as clear."""

    name: str
    series: FloatArray
    share: FloatArray
    clear: BoolArray
    whole: bool


def _judged(judged: _Judged, table: RatioTable, settings: HealthSettings) -> SharedLoss | None:
    """The rule on ``judged.share``; when it named a loss within ``RECHECK_DAYS`` (still
    named or not), the days from its start are judged once more against the level fitted to
    the days before it only, so weeks of a loss do not lower their own bar."""
    found, started = _loss_of(judged, judged.share, judged.clear, table, settings)
    if started is None or started < len(table.days) - RECHECK_DAYS:
        return found
    level = clear_day_level(judged.series, table.days, fit_before=started)
    if not np.isfinite(level).any():  # too little history before it: keep the first word
        return found
    with np.errstate(invalid="ignore", divide="ignore"):
        before = judged.series / level
    clear = judged.clear
    if judged.whole:
        clear = np.isfinite(before) & (before >= settings.clear_day_floor)
    return _loss_of(judged, before, clear, table, settings)[0]


def _loss_of(
    judged: _Judged,
    share: FloatArray,
    clear: BoolArray,
    table: RatioTable,
    settings: HealthSettings,
) -> tuple[SharedLoss | None, int | None]:
    """The loss of ``judged`` named on the last day by the rule of the module docstring (or
    None), on ``share`` and ``clear``, and the table row the latest loss the rule named began
    on (or None)."""
    days = settings.shared_days_to_flag
    short_bar = 1.0 - SHORT_SHARE * settings.shared_loss
    back_bar = 1.0 - BACK_SHARE * settings.shared_loss
    rows = np.flatnonzero(clear & np.isfinite(share))
    values = share[rows]
    flagged, since = False, -1
    for at in range(days - 1, len(rows)):
        recent = values[at - days + 1 : at + 1]
        ordered = np.sort(recent)
        level = float(ordered[1:].mean())  # the lowest one left out
        if not flagged and level < short_bar and float(np.median(ordered)) < short_bar:
            flagged, since = True, at - days + 1 + int(np.flatnonzero(recent < short_bar)[0])
        elif flagged and level >= back_bar:
            flagged = False
    started = int(rows[since]) if since >= 0 else None
    if not flagged or started is None:
        return None, started
    episode = values[since:]
    loss = float(np.mean(1.0 - episode))
    if not math.isfinite(loss):
        return None, started
    named = SharedLoss(judged.name, table.days[started], loss, int(episode.size), judged.whole)
    return named, started
