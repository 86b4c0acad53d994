"""Turning lifetime readings into each panel's daily energy: the heart of the tool.

Rules (design.md, "Turning lifetime readings into days"):

* A reading belongs to the local date of its ``last_report`` in the SYSTEM's time zone.
* Daily energy of day d = lifetime at d's reading - lifetime at the previous recorded day.
* A gap of several days is split over the missing days in proportion to the system's daily
  production, marked ``estimated``; the split is exact in integers, so no Wh is lost.
* The same day again: a newer reading replaces the older one; an equal or older one
  changes nothing, so running the job twice is harmless.
* A drop of the lifetime counter by the 32-bit joule wrap is corrected; any other drop is a
  reset: that day is unknown (null) and a warning names the serial. Never a negative day.
* A new serial starts its own history with an unknown first day.
* Plausibility at the door (``screen``): a reading is rejected, with a warning naming the
  serial, and never recorded when its last report is more than ``CLOCK_SKEW`` (1 hour)
  ahead of the clock, its energy is not a finite whole number in 0..``MAX_READING_WH``, or
  it implies more energy since the serial's last recorded day than the micro can make:
  its ``panel_watts`` (else ``DEFAULT_PANEL_WATTS``, 500 W) for 24 hours a day, which is
  about twice what the sunniest day gives. The next good reading takes the rejected one's
  place, so its energy lands in the days it belongs to (a gap, split as gaps are).
* A drop that comes back: a fall of the counter is recorded as an unknown day that keeps
  the level it fell from (``fell_from``). When the next reading is back at that level or
  above, the drop was a one-night glitch: the glitch day and the days up to the new reading
  are split from the level before it, as a gap, and no energy is lost or counted twice.
* Partial days: a reading whose day is not over yet where the system is, or whose last
  report is more than ``PARTIAL_MARGIN`` (2 hours) before the panel's usual end of
  production (the median local time of its last reports on its ``USUAL_END_DAYS`` (14)
  latest complete days, else the whole system's; at least ``USUAL_END_MIN_SAMPLES`` needed),
  as a cellular gateway's 6-hourly upload leaves it, makes that day ``provisional``. The next
  reading of a later day re-splits the provisional day and the days up to it exactly, as a
  gap (by the system's daily production), never giving the provisional day less than it
  had already made; they are then ``estimated``.

Usage is two-phase so the caller can fetch the system production for all gaps in one call::

    update = DailyEnergyUpdate(history, readings, tz)
    span = covering_span(update.gaps().values())  # None, or the days to fetch
    result = update.apply(production)             # production: {date: Wh} for that span

On paid plans ``update.gaps()`` names each serial's gap, and ``apply(exact=...)`` fills it
with that micro-inverter's own daily telemetry instead of an estimate.
"""

from __future__ import annotations

import bisect
import logging
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol, TypeAlias
from zoneinfo import ZoneInfo

from .history import DayEntry, History

logger = logging.getLogger(__name__)

# 2**32 J expressed in Wh: a micro-inverter's 32-bit joule counter wraps here.
WRAP_WH = round(2**32 / 3600)
# No micro-inverter makes this much in a day; a larger "wrapped" delta is a reset.
MAX_PLAUSIBLE_WH_PER_DAY = 10_000
# A reading dated later than the clock by more than this is from the future: rejected.
CLOCK_SKEW = timedelta(hours=1)
# The rating assumed when the config has no ``panel_watts``: larger than any common module.
DEFAULT_PANEL_WATTS = 500
# No micro-inverter's lifetime counter gets here (500 W, day and night, for 200 years).
MAX_READING_WH = 10**9
# A last report this much before the panel's usual last report of the day: a partial day.
PARTIAL_MARGIN = timedelta(hours=2)
USUAL_END_DAYS = 14
USUAL_END_MIN_SAMPLES = 3
PanelWatts: TypeAlias = int | Mapping[str, int] | None


class Reading(Protocol):
    """What the arithmetic needs of a reading (``enlighten.InverterReading`` fits)."""

    @property
    def serial(self) -> str: ...
    @property
    def lifetime_wh(self) -> int: ...
    @property
    def last_report(self) -> datetime: ...


@dataclass
class UpdateResult:
    """What one update did, for the summary, the sheet push and the tests."""

    day: str | None = None
    changed_days: set[str] = field(default_factory=set)
    new_serials: list[str] = field(default_factory=list)
    wrapped: list[str] = field(default_factory=list)
    resets: list[str] = field(default_factory=list)
    estimated_days: dict[str, list[str]] = field(default_factory=dict)
    exact_days: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    glitches: list[str] = field(default_factory=list)
    provisional: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def note_provisional(self) -> None:
        """One summary line per provisional day: which day, how many panels."""
        by_day: dict[str, int] = {}
        for day in self.provisional.values():
            by_day[day] = by_day.get(day, 0) + 1
        for day, panels in sorted(by_day.items()):
            self.notes.append(
                f"provisional: {day} for {panels} panel(s) (their last report came before "
                "the usual end of production); the next run re-splits it with its next day"
            )


def split_exactly(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` that sum to ``total`` exactly.

    Largest-remainder rounding; missing or all-zero weights split evenly.
    """
    count = len(weights)
    if count == 0:
        return []
    clean = [max(float(w), 0.0) for w in weights]
    weight_sum = sum(clean)
    if weight_sum <= 0:
        clean, weight_sum = [1.0] * count, float(count)
    shares = [total * w / weight_sum for w in clean]
    parts = [int(share // 1) for share in shares]
    leftover = total - sum(parts)
    by_remainder = sorted(range(count), key=lambda i: (shares[i] - parts[i], -i), reverse=True)
    for index in by_remainder[:leftover]:
        parts[index] += 1
    return parts


def gap_weights(days: Sequence[date], production: Mapping[date, int] | None) -> list[float]:
    """Weights for apportioning a gap: the system's production on each of those days.

    Enlighten reports trailing zeroes for days not uploaded yet; such a day gets the mean of
    the known days rather than nothing, so a late upload does not starve it.
    """
    if not production:
        return [1.0] * len(days)
    values = [production.get(day) for day in days]
    known = [float(v) for v in values if v is not None and v > 0]
    if not known:
        return [1.0] * len(days)
    mean = sum(known) / len(known)
    last_known = max(i for i, v in enumerate(values) if v is not None and v > 0)
    # A day the answer lacks (or whose value was refused as impossible) is unknown, not dark.
    return [
        mean if v is None or (v <= 0 and i > last_known) else float(v) for i, v in enumerate(values)
    ]


def _wh(value: int) -> str:
    """An energy for a message: in full, or in short when absurdly long."""
    return f"{value:,} Wh" if abs(value) < 10**12 else f"{float(value):.3g} Wh"


def plausible_production(
    production: Mapping[date, int] | None, limit_wh: int
) -> Mapping[date, int] | None:
    """The system's daily production without the days no site could make: more than all its
    micro-inverters at their rating for 24 hours (``limit_wh``), or below zero."""
    if production is None:
        return None
    return {day: wh for day, wh in production.items() if 0 <= wh <= limit_wh}


def covering_span(spans: Iterable[tuple[date, date]]) -> tuple[date, date] | None:
    """The first and last day of all the given gaps: what one energy_lifetime call covers."""
    spans = list(spans)
    if not spans:
        return None
    return min(first for first, _ in spans), max(last for _, last in spans)


def _whole_wh(value: Any) -> int | None:
    """A reading's energy as whole Wh; None for NaN, infinity, or something not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return round(value)
    return None


def _minute_of_day(epoch: int, tz: ZoneInfo) -> float:
    local = datetime.fromtimestamp(epoch, tz)
    return local.hour * 60 + local.minute + local.second / 60


def _base_day(days: Mapping[str, DayEntry], latest: str, lifetime_wh: int) -> str:
    """The day a reading of a later day counts from: ``latest``, or the day before it when
    ``latest`` is provisional or a glitch that this reading undoes."""
    before = None
    entry = days[latest]
    if entry.get("provisional") and lifetime_wh >= int(entry["lifetime_energy"]):
        # (a counter that fell since is a reset or a wrap: the day keeps what it had)
        before = _latest_before(days, latest)
    return _glitch_base(days, latest, lifetime_wh) or before or latest


def _latest_before(days: Mapping[str, DayEntry], day: str) -> str | None:
    """The latest stored day before ``day`` (ISO dates sort as text). The keys are sorted in
    C, which on a file that is in order already (nearly always) is one pass; a Python scan
    of ten years of days, for each serial each night, was most of the update's cost."""
    keys = sorted(days)
    index = bisect.bisect_left(keys, day)
    return keys[index - 1] if index else None


def _glitch_base(days: Mapping[str, DayEntry], latest: str, lifetime_wh: int) -> str | None:
    """The day before ``latest`` when ``latest`` recorded a fall of the counter and the new
    lifetime is back at (or above) the level it fell from: the drop was a glitch."""
    fell_from = days[latest].get("fell_from")
    if not isinstance(fell_from, int) or lifetime_wh < fell_from:
        return None
    return _latest_before(days, latest)


def _iso(day: date) -> str:
    return day.isoformat()


def _days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class _Pending:
    serial: str
    lifetime_wh: int
    epoch: int
    day: date
    # Added fields a source gives beside the energy (the gateway's DC volts, amps, temperature),
    # copied into the day entry this reading settles; the original format ignores them.
    extra: Mapping[str, float] = field(default_factory=dict)


class DailyEnergyUpdate:
    """One run's readings applied to a history (see the module docstring)."""

    def __init__(
        self,
        history: History,
        readings: Iterable[Reading],
        tz: ZoneInfo,
        *,
        now: datetime | None = None,
        panel_watts: PanelWatts = None,
        latest_days: Mapping[str, str] | None = None,
    ) -> None:
        self.history = history
        self.tz = tz
        self.panel_watts = panel_watts
        self._rejected: list[tuple[str, str]] = []
        self._now = now or datetime.now(timezone.utc)
        self._system_usual_end: list[float | None] = []  # computed once, when needed
        # Each serial's latest stored day, found once (a scan of every key, years of them;
        # ``latest_days`` when the caller has them) and kept up to date as readings apply.
        self._latest_days: dict[str, str | None] = dict(latest_days or {})
        latest_allowed = self._now + CLOCK_SKEW
        self._pending: list[_Pending] = []
        # What the whole site could make in a day: bounds the system production of a gap.
        self._site_day_limit = 0
        for reading in readings:
            self._site_day_limit += self._watts(reading.serial) * 24
            pending, problem = self._screen(reading, latest_allowed)
            if pending is not None:
                self._pending.append(pending)
            else:
                self._rejected.append((reading.serial, problem))

    # --- plausibility at the door -------------------------------------------------------
    def _screen(self, reading: Reading, latest_allowed: datetime) -> tuple[_Pending | None, str]:
        """The reading ready to apply, or None and why it is not believable."""
        lifetime = _whole_wh(reading.lifetime_wh)
        if lifetime is None:
            return None, f"its energy {reading.lifetime_wh!r} is not a finite number of Wh"
        if not 0 <= lifetime <= MAX_READING_WH:
            return None, f"its lifetime energy {lifetime} Wh is impossible"
        if reading.last_report > latest_allowed:
            return None, (
                f"its last report {reading.last_report.isoformat()} is in the future "
                "(check the clock of this computer if every panel says so)"
            )
        pending = _Pending(
            serial=reading.serial,
            lifetime_wh=lifetime,
            epoch=int(reading.last_report.timestamp()),
            day=reading.last_report.astimezone(self.tz).date(),
            extra=dict(getattr(reading, "extra", None) or {}),
        )
        too_much = self._too_much(pending)
        return (None, too_much) if too_much else (pending, "")

    def _latest(self, serial: str) -> str | None:
        if serial not in self._latest_days:
            days = self.history.days_of(serial)
            self._latest_days[serial] = max(days) if days else None
        return self._latest_days[serial]

    def _too_much(self, reading: _Pending) -> str | None:
        """Why the energy since the serial's base day is more than it can make, or None."""
        days = self.history.days_of(reading.serial)
        iso_day = _iso(reading.day)
        latest = self._latest(reading.serial)
        # a reading after the latest day (every night's case) counts from it: no key sort
        base = latest if latest is not None and latest < iso_day else _latest_before(days, iso_day)
        if base is None:
            return None
        entry = days[base]
        before = int(entry["lifetime_energy"])
        fell_from = entry.get("fell_from")
        if isinstance(fell_from, int) and reading.lifetime_wh >= fell_from:
            # back from a drop: it is measured from the level it fell from
            base = _latest_before(days, base) or base
            before = fell_from
        delta = reading.lifetime_wh - before
        elapsed = max((reading.day - date.fromisoformat(base)).days, 1)
        limit = self._watts(reading.serial) * 24 * elapsed
        if delta <= limit:
            return None
        return (
            f"its lifetime {reading.lifetime_wh} Wh is {delta} Wh above its reading of {base}, "
            f"more than a {self._watts(reading.serial)} W micro-inverter can make in "
            f"{elapsed} day(s) ({limit} Wh; set panel_watts in the config if yours are larger)"
        )

    def _watts(self, serial: str) -> int:
        if isinstance(self.panel_watts, int):
            return self.panel_watts
        if self.panel_watts is not None and serial in self.panel_watts:
            return int(self.panel_watts[serial])
        return DEFAULT_PANEL_WATTS

    def latest_days(self) -> dict[str, str]:
        """Each serial's latest stored day, as the history holds it after ``apply``."""
        return {s: day for s in self.history.micros if (day := self._latest(s)) is not None}

    def local_day(self) -> str | None:
        """The latest local day any reading belongs to: the day this run reports on."""
        return _iso(max(p.day for p in self._pending)) if self._pending else None

    def gaps(self) -> dict[str, tuple[date, date]]:
        """Per serial, the first and last day of the gap this update will have to fill."""
        found: dict[str, tuple[date, date]] = {}
        for pending in self._pending:
            previous = self._previous_day(pending)
            if previous is not None and (pending.day - previous).days > 1:
                found[pending.serial] = (previous + timedelta(days=1), pending.day)
        return found

    def _previous_day(self, reading: _Pending) -> date | None:
        """The day the reading's energy counts from, when the reading comes after the
        serial's latest day: that day, or the day before a glitch the reading undoes."""
        days = self.history.days_of(reading.serial)
        latest = self._latest(reading.serial)
        if latest is None:
            return None
        if latest >= _iso(reading.day):
            return None
        return date.fromisoformat(_base_day(days, latest, reading.lifetime_wh))

    def apply(
        self,
        production: Mapping[date, int] | None = None,
        exact: Mapping[str, Mapping[date, int]] | None = None,
    ) -> UpdateResult:
        """Apply the readings. ``production`` weights gaps by the system's daily energy;
        ``exact`` (paid plans' per-micro telemetry: serial -> {day: Wh}) fills a serial's
        gap with its own days, which are then not estimates when they add up exactly."""
        result = UpdateResult(day=self.local_day())
        believable = plausible_production(production, self._site_day_limit)
        for day in sorted(set(production or {}) - set(believable or {})):
            result.warnings.append(
                f"the system's production of {_iso(day)} ({_wh((production or {})[day])}) is not "
                f"possible for this site (0..{self._site_day_limit} Wh); that day of a gap is "
                "weighted as an average one"
            )
        production = believable
        for serial, problem in self._rejected:
            result.rejected.append(serial)
            result.warnings.append(f"serial {serial}: reading rejected, not recorded: {problem}")
        for pending in self._pending:
            weights = (exact or {}).get(pending.serial)
            partial = self._is_partial(pending)  # judged by the days before this reading
            before = self._latest(pending.serial)
            self._apply_one(pending, production, weights, result)
            # Every path of a reading that passed the door ends on its own day, or leaves an
            # older reading's serial as it was: the latest day is the later of the two.
            reading_day = _iso(pending.day)
            self._latest_days[pending.serial] = max(before or reading_day, reading_day)
            self._mark(pending, partial, result)
            self._keep_extra(pending)
        result.note_provisional()
        return result

    def _keep_extra(self, reading: _Pending) -> None:
        # The source's added fields (DC voltage, current, temperature) describe this reading:
        # they go on its own day only, never on a day re-split from it.
        entry = self.history.entry(reading.serial, _iso(reading.day))
        if reading.extra and entry is not None and entry.get("last_report") == reading.epoch:
            entry.update(reading.extra)

    # --- partial days -------------------------------------------------------------------
    def _mark(self, reading: _Pending, partial: bool, result: UpdateResult) -> None:
        entry = self.history.days_of(reading.serial).get(_iso(reading.day))
        if entry is None or entry.get("last_report") != reading.epoch:
            return  # this reading changed nothing (older, or the same again)
        if entry.get("daily_energy") is None or not partial:
            entry.pop("provisional", None)
            return
        entry["provisional"] = True
        result.provisional[reading.serial] = _iso(reading.day)

    def _is_partial(self, reading: _Pending) -> bool:
        if reading.day >= self._now.astimezone(self.tz).date():
            return True  # the day is not over where the system is
        days = self.history.days_of(reading.serial)
        if not days:
            return False  # a new serial's first day is unknown anyway
        minute = _minute_of_day(reading.epoch, self.tz)
        margin = PARTIAL_MARGIN.total_seconds() / 60
        latest = days[self._latest(reading.serial) or max(days)]
        epoch = latest.get("last_report")
        settled = isinstance(epoch, int) and not latest.get("provisional")
        if settled and minute >= _minute_of_day(int(epoch or 0), self.tz) - margin:
            return False  # as late as its latest day's: the usual case, decided cheaply
        usual = self._usual_end(reading.serial)
        return usual is not None and minute < usual - margin

    def _usual_end(self, serial: str) -> float | None:
        own = self._last_report_minutes(serial)
        if len(own) >= USUAL_END_MIN_SAMPLES:
            return statistics.median(own)
        if not self._system_usual_end:
            every = [m for s in self.history.micros for m in self._last_report_minutes(s)]
            enough = len(every) >= USUAL_END_MIN_SAMPLES
            self._system_usual_end.append(statistics.median(every) if enough else None)
        return self._system_usual_end[0]

    def _last_report_minutes(self, serial: str) -> list[float]:
        """Local minute of day of the serial's last reports on its latest complete days."""
        days = self.history.days_of(serial)
        minutes: list[float] = []
        for day in reversed(sorted(days)[-(USUAL_END_DAYS + 1) :]):
            entry = days[day]
            epoch = entry.get("last_report")
            if isinstance(epoch, int) and not entry.get("provisional"):
                minutes.append(_minute_of_day(epoch, self.tz))
        return minutes[:USUAL_END_DAYS]

    # --- one reading ------------------------------------------------------------------
    def _apply_one(
        self,
        reading: _Pending,
        production: Mapping[date, int] | None,
        own_days: Mapping[date, int] | None,
        result: UpdateResult,
    ) -> None:
        serial, iso_day = reading.serial, _iso(reading.day)
        days = self.history.micros.get(serial)
        latest_known = self._latest_days.get(serial)
        if not days:
            self.history.micros[serial] = {
                iso_day: {
                    "daily_energy": None,
                    "lifetime_energy": reading.lifetime_wh,
                    "last_report": reading.epoch,
                    "note": "first day of this serial",
                }
            }
            result.new_serials.append(serial)
            result.changed_days.add(iso_day)
            return
        latest = latest_known or max(days)
        if iso_day < latest:
            # Older than what we hold (a micro that stopped reporting): nothing to learn.
            return
        base = _base_day(days, latest, reading.lifetime_wh) if iso_day > latest else latest
        if base != latest:
            # The latest day is redone with this reading: a glitch, or a provisional day.
            undone = days.pop(latest)
            floor = 0
            if undone.get("fell_from") is not None:
                result.glitches.append(serial)
                result.warnings.append(
                    f"serial {serial}: its lifetime energy fell on {latest} and is back now: "
                    f"a one-night glitch, not a reset; {latest}..{iso_day} are split from its "
                    f"reading of {base}"
                )
            else:
                floor = int(undone.get("daily_energy") or 0)
            self._settle_gap(
                serial=serial,
                days=days,
                previous_day=date.fromisoformat(base),
                reading=reading,
                production=production,
                own_days=own_days,
                result=result,
                first_at_least=floor,
            )
            return
        if iso_day == latest:
            if not self._is_newer(days[iso_day], reading):
                return
            previous = _latest_before(days, iso_day)
            if previous is None:
                days[iso_day].update(lifetime_energy=reading.lifetime_wh, last_report=reading.epoch)
            else:
                self._settle_single_day(
                    serial=serial, days=days, previous=previous, reading=reading, result=result
                )
            result.changed_days.add(iso_day)
            return
        previous_day = date.fromisoformat(latest)
        if (reading.day - previous_day).days == 1:
            self._settle_single_day(
                serial=serial, days=days, previous=latest, reading=reading, result=result
            )
        else:
            self._settle_gap(
                serial=serial,
                days=days,
                previous_day=previous_day,
                reading=reading,
                production=production,
                own_days=own_days,
                result=result,
            )

    @staticmethod
    def _is_newer(entry: DayEntry, reading: _Pending) -> bool:
        stored_epoch = entry.get("last_report")
        if stored_epoch is not None:
            return reading.epoch > int(stored_epoch)
        # A day written by the original script has no timestamp: only a higher lifetime
        # can be a later reading of that day.
        return reading.lifetime_wh > int(entry.get("lifetime_energy") or 0)

    def _delta(
        self, serial: str, before: int, after: int, span_days: int, result: UpdateResult
    ) -> int | None:
        """Energy between two lifetime values, wrap corrected; None when the counter reset."""
        delta = after - before
        if delta >= 0:
            return delta
        wrapped = delta + WRAP_WH
        if 0 <= wrapped <= MAX_PLAUSIBLE_WH_PER_DAY * span_days:
            result.wrapped.append(serial)
            logger.info("serial %s: lifetime counter wrapped at %s Wh, corrected", serial, WRAP_WH)
            return wrapped
        result.resets.append(serial)
        result.warnings.append(
            f"serial {serial}: lifetime energy fell from {before} to {after} Wh "
            "(counter reset or replaced unit); that day is recorded as unknown"
        )
        return None

    def _settle_single_day(
        self,
        *,
        serial: str,
        days: dict[str, DayEntry],
        previous: str,
        reading: _Pending,
        result: UpdateResult,
    ) -> None:
        iso_day = _iso(reading.day)
        before = int(days[previous]["lifetime_energy"])
        delta = self._delta(serial, before, reading.lifetime_wh, 1, result)
        entry = days.setdefault(iso_day, {})
        # Replacing the last day of an estimated gap keeps it estimated: its start is.
        was_estimated = bool(entry.get("estimated"))
        entry.clear()
        entry.update(
            daily_energy=delta, lifetime_energy=reading.lifetime_wh, last_report=reading.epoch
        )
        if was_estimated:
            entry["estimated"] = True
        if delta is None:
            entry["note"] = "lifetime counter fell: unknown"
            entry["fell_from"] = before
        result.changed_days.add(iso_day)

    def _settle_gap(
        self,
        *,
        serial: str,
        days: dict[str, DayEntry],
        previous_day: date,
        reading: _Pending,
        production: Mapping[date, int] | None,
        own_days: Mapping[date, int] | None,
        result: UpdateResult,
        first_at_least: int = 0,
    ) -> None:
        before = int(days[_iso(previous_day)]["lifetime_energy"])
        span = _days_between(previous_day + timedelta(days=1), reading.day)
        delta = self._delta(serial, before, reading.lifetime_wh, len(span), result)
        iso_last = _iso(reading.day)
        if delta is None:
            # Across a reset the split is unknowable; the missing days stay absent (not 0).
            days[iso_last] = {
                "daily_energy": None,
                "lifetime_energy": reading.lifetime_wh,
                "last_report": reading.epoch,
                "note": "lifetime counter fell: unknown",
                "fell_from": before,
            }
            result.changed_days.add(iso_last)
            return
        exact = own_days is not None and sum(own_days.get(day, -1) for day in span) == delta
        day_limit = self._watts(serial) * 24
        believable = own_days is not None and all(
            0 <= own_days.get(day, 0) <= day_limit for day in span
        )
        exact = exact and believable
        if own_days is not None and not believable:
            result.warnings.append(
                f"serial {serial}: its telemetry for {_iso(span[0])}..{iso_last} holds a day "
                f"outside 0..{day_limit} Wh; the gap is split by the system's production and "
                "marked estimated"
            )
        elif own_days is not None and not exact:
            result.warnings.append(
                f"serial {serial}: its telemetry for {_iso(span[0])}..{iso_last} does not add up "
                "to its lifetime counter; the gap is split by it and marked estimated"
            )
        weights = (
            [float(own_days.get(day, 0)) for day in span]
            if own_days is not None and believable
            else gap_weights(span, production)
        )
        parts = split_exactly(delta, weights)
        if len(parts) > 1 and parts[0] < first_at_least <= delta:
            # a provisional day already had this much: the split gives it no less
            parts = [first_at_least, *split_exactly(delta - first_at_least, weights[1:])]
        running = before
        for day, part in zip(span, parts, strict=True):
            running += part
            entry: DayEntry = {
                "daily_energy": part,
                "lifetime_energy": running % WRAP_WH if running >= WRAP_WH else running,
            }
            if not exact:
                entry["estimated"] = True
            days[_iso(day)] = entry
            result.changed_days.add(_iso(day))
        days[iso_last]["lifetime_energy"] = reading.lifetime_wh
        days[iso_last]["last_report"] = reading.epoch
        filled = result.exact_days if exact else result.estimated_days
        filled[serial] = [_iso(day) for day in span]
