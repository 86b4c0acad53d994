"""Losses every panel of a group shares: the group (or the array) against its clear-day level.

Comparing panels with each other cannot see soiling of the whole roof, snow, a dead gateway or
curtailment: every panel loses alike. So each group's daily median per rated W is held to its
own clear-day envelope, learned from the history alone: the best day of each of three 10-day
blocks before the day, and the line through them read at the day (the season's slope, so
spring and autumn do not read as a loss). A day the array makes ``clear_day_floor`` of its
envelope or more is a clear one; on a clear day a group below ``1 - shared_loss`` of it is
short, one at ``1 - shared_loss / 2`` or more is back at its level. ``shared_days_to_flag``
short clear days with no day back at the level between them (overcast days neither count nor
break the run) flag the loss; ``days_to_clear`` clear days over the bar clear it. An overcast
spell has no clear day, so it never raises one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .table import ASSESSED, UNEVEN, RatioTable
from .thresholds import HealthSettings

FloatArray = npt.NDArray[np.float64]

BLOCK_DAYS = 10
ENVELOPE_BLOCKS = 3
ENVELOPE_LAG = 5  # the last days stay out, so a loss that just began does not lower its bar
MAX_SEASON_STEP = 0.25  # the season's correction never moves the level by more than this


@dataclass(frozen=True, slots=True)
class SharedLoss:
    """``name`` (a group, or the array) below its clear-day level since ``since``, by
    ``loss`` (share of the level, averaged over its short clear days)."""

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


def envelope(values: FloatArray, settings: HealthSettings) -> FloatArray:
    """The clear-day envelope of a daily series (see the module docstring).

    The ``ENVELOPE_BLOCKS`` blocks of ``BLOCK_DAYS`` lit-or-not days that end ``ENVELOPE_LAG``
    days before the day each give their best day; the least-squares line through them (the
    season's slope) is read at the day. NaN until every block holds a lit day.
    """
    count = len(values)
    span = ENVELOPE_BLOCKS * BLOCK_DAYS
    padded = np.concatenate([np.full(span + ENVELOPE_LAG, np.nan), values])
    windows = np.lib.stride_tricks.sliding_window_view(padded, BLOCK_DAYS)
    tops, ages = [], []
    for block in range(ENVELOPE_BLOCKS):  # oldest first
        start = block * BLOCK_DAYS
        picked = windows[start : start + count]
        filled = np.where(np.isfinite(picked), picked, -np.inf)
        where = np.argmax(filled, axis=1)
        top = np.take_along_axis(filled, where[:, None], axis=1)[:, 0]
        tops.append(np.where(np.isfinite(top), top, np.nan))
        # the best day's age, in days before the day: the line is drawn through the days the
        # best values come from (in autumn a block's best day is its oldest)
        ages.append(span + ENVELOPE_LAG - start - where)
    y = np.array(tops)  # blocks x days
    x = -np.array(ages, dtype=float)
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    spread = ((x - xm) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(spread > 0, ((x - xm) * (y - ym)).sum(axis=0) / spread, 0.0)
        level = ym - slope * xm  # the line at the day itself (x = 0)
        step = np.clip(level / ym - 1.0, -MAX_SEASON_STEP, MAX_SEASON_STEP)
    mean = ym
    result: FloatArray = mean * (1.0 + step)
    return result


def shared_losses(table: RatioTable, settings: HealthSettings) -> list[SharedLoss]:
    """The array's loss on the table's last day, else each group's (one line each)."""
    if not table.days:
        return []
    lit = np.isin(table.status, (ASSESSED, UNEVEN))
    series = np.where(lit, table.median, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        # a day is clear or not for the whole roof: a face that loses its edge on overcast
        # days would take a hazy one for a short clear one
        clear = series / envelope(series, settings) >= settings.clear_day_floor
    array = _loss_of("array", series, clear, table, settings, whole=True)
    if array is not None:
        return [array]
    if table.groups is None or table.group_median is None or len(table.groups.names) < 2:
        return []
    found = []
    for g, name in enumerate(table.groups.names):
        series = np.where(lit, table.group_median[:, g], np.nan)
        loss = _loss_of(name, series, clear, table, settings, whole=False)
        if loss is not None:
            found.append(loss)
    if len(found) == len(table.groups.names):  # every group short: the whole array is
        since = min(loss.since for loss in found)
        share = sum(loss.loss for loss in found) / len(found)
        return [SharedLoss("array", since, share, max(x.clear_days for x in found), True)]
    return found


def _loss_of(
    name: str,
    series: FloatArray,
    clear: npt.NDArray[np.bool_],
    table: RatioTable,
    settings: HealthSettings,
    *,
    whole: bool,
) -> SharedLoss | None:
    with np.errstate(invalid="ignore", divide="ignore"):
        share = series / envelope(series, settings)
    bar = 1.0 - settings.shared_loss
    back = 1.0 - settings.shared_loss / 2
    flagged, run, good, run_start, since = False, 0, 0, 0, 0
    for row in map(int, np.flatnonzero(clear & np.isfinite(share))):
        if share[row] < bar:
            run, good = run + 1, 0
            run_start = row if run == 1 else run_start
            if run >= settings.shared_days_to_flag and not flagged:
                flagged, since = True, run_start
            continue
        good += 1  # clears a flag after days_to_clear of these
        if share[row] >= back:
            run = 0  # a day back at the level ends a run; one just over the bar does not
        if flagged and good >= settings.days_to_clear:
            flagged, run = False, 0
    if not flagged:
        return None
    episode = np.flatnonzero(share[since:] < bar) + since
    loss = float(np.mean(1.0 - share[episode]))
    if not math.isfinite(loss):
        return None
    return SharedLoss(name, table.days[since], loss, int(episode.size), whole)
