"""Per-micro telemetry, pure logic: which local day an interval belongs to, and when to go on.

``GET .../devices/micros/{serial}/telemetry`` answers the span from its start to
``min(now, start + granularity)`` (``day``: at most 288 intervals of 5 minutes; ``week``:
seven days), and says where it stopped in its own ``end_at``. The client asks for ``week``
and continues from each answer's ``end_at`` until the window it needs is covered, so it is
right whatever span one answer covers. An answer short of its own granularity that ends
mid-day stopped at the server's "now": nothing later exists yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

WINDOW_DAYS = 7  # the days one ``week`` answer covers, and one gap window
GRANULARITY = "week"
GRANULARITY_SPANS = {"day": timedelta(days=1), "week": timedelta(days=7)}
# A local day may be 23 or 25 hours long, so a full answer may be an hour short in seconds.
DST_SLACK = timedelta(hours=1)


def interval_day(end_at: datetime, zone: tzinfo) -> date:
    """The local day of an interval: the one in which it ends, an interval ending at
    midnight belonging to the day before."""
    return (end_at - timedelta(seconds=1)).astimezone(zone).date()


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def add_day_energy(days: dict[date, int], end_at: datetime, enwh: float, zone: tzinfo) -> None:
    day = interval_day(end_at, zone)
    days[day] = days.get(day, 0) + round(enwh)


@dataclass(frozen=True, slots=True)
class Window:
    """The local days ``first`` to ``first + WINDOW_DAYS - 1`` in ``zone``."""

    first: date
    zone: tzinfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.first + timedelta(days=WINDOW_DAYS), self.zone)

    def clip(self, days: dict[date, int]) -> dict[date, int]:
        last = self.first + timedelta(days=WINDOW_DAYS - 1)
        return {day: wh for day, wh in days.items() if self.first <= day <= last}


def next_start(
    window: Window,
    *,
    asked_from: datetime,
    answer_end: datetime | None,
    granularity: str = GRANULARITY,
) -> datetime | None:
    """Where the next call starts, or None when the window is covered or nothing more exists.

    ``asked_from`` is where the answer began; ``answer_end`` is its own ``end_at``.
    """
    if answer_end is None or answer_end <= asked_from:
        return None  # no progress: the server has nothing after this
    if answer_end >= window.end:
        return None
    span = GRANULARITY_SPANS.get(granularity, timedelta(days=1))
    full = answer_end - asked_from >= span - DST_SLACK
    if not full and not _is_local_midnight(answer_end, window.zone):
        # Short of its span and mid-day: it stopped at the server's "now". (A server whose
        # answer spans whole days, but fewer than asked, ends at a midnight: go on.)
        return None
    return answer_end


def _is_local_midnight(when: datetime, zone: tzinfo) -> bool:
    local = when.astimezone(zone)
    return (local.hour, local.minute, local.second) == (0, 0, 0)
