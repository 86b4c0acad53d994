"""Losses every panel of a group shares: the group (or the array) against its clear-day level.

Comparing panels with each other cannot see soiling of the whole roof, snow, a dead gateway or
curtailment: every panel loses alike. So each group's daily median per rated W is held to its
own clear-day envelope, learned from the history alone: the best day of each of three 10-day
blocks before the day, and the line through them read at the day (the season's slope, so
spring and autumn do not read as a loss). A day at ``clear_day_floor`` of the envelope or more
is a clear one; on clear days a
group below ``1 - shared_loss`` of it is short, at ``1 - shared_loss / 2`` or above it is at
its level; ``shared_days_to_flag``
short clear days in a row (overcast days in between neither count nor break the run) flag the
loss, ``days_to_clear`` clear days at the level clear it. An overcast spell has no clear day,
so it never raises one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .table import ASSESSED, UNEVEN, RatioTable, run_flags
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
    array = _loss_of("array", np.where(lit, table.median, np.nan), table, settings, True)
    if array is not None:
        return [array]
    if table.groups is None or table.group_median is None or len(table.groups.names) < 2:
        return []
    found = []
    for g, name in enumerate(table.groups.names):
        series = np.where(lit, table.group_median[:, g], np.nan)
        loss = _loss_of(name, series, table, settings, False)
        if loss is not None:
            found.append(loss)
    if len(found) == len(table.groups.names):  # every group short: the whole array is
        since = min(loss.since for loss in found)
        share = sum(loss.loss for loss in found) / len(found)
        return [SharedLoss("array", since, share, max(x.clear_days for x in found), True)]
    return found


def _loss_of(
    name: str, series: FloatArray, table: RatioTable, settings: HealthSettings, whole: bool
) -> SharedLoss | None:
    with np.errstate(invalid="ignore", divide="ignore"):
        share = series / envelope(series, settings)
    clear = share >= settings.clear_day_floor
    short = clear & (share < 1.0 - settings.shared_loss)
    # A day between short and back at the level (half the loss) neither counts nor breaks a
    # run: a soiled roof's best clear day reads just under the bar, a clean one's often above.
    level = clear & (share >= 1.0 - settings.shared_loss / 2)
    flagged = run_flags(
        short[:, None], level[:, None], settings.shared_days_to_flag, settings.days_to_clear
    )[:, 0]
    if not flagged[-1]:
        return None
    unflagged = np.flatnonzero(~flagged)
    flagged_from = int(unflagged[-1]) + 1 if unflagged.size else 0
    short_rows = np.flatnonzero(short[: flagged_from + 1])
    start = int(short_rows[-min(short_rows.size, settings.shared_days_to_flag)])
    episode = np.flatnonzero(short[start:]) + start
    loss = float(np.mean(1.0 - share[episode]))
    if not math.isfinite(loss):
        return None
    return SharedLoss(name, table.days[start], loss, int(episode.size), whole)
