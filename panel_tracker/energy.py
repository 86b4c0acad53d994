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

Usage is two-phase so the caller can fetch the system production for all gaps in one call::

    update = DailyEnergyUpdate(history, readings, tz)
    span = covering_span(update.gaps().values())  # None, or the days to fetch
    result = update.apply(production)             # production: {date: Wh} for that span

On paid plans ``update.gaps()`` names each serial's gap, and ``apply(exact=...)`` fills it
with that micro-inverter's own daily telemetry instead of an estimate.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from .history import DayEntry, History

logger = logging.getLogger(__name__)

# 2**32 J expressed in Wh: a micro-inverter's 32-bit joule counter wraps here.
WRAP_WH = round(2**32 / 3600)
# No micro-inverter makes this much in a day; a larger "wrapped" delta is a reset.
MAX_PLAUSIBLE_WH_PER_DAY = 10_000


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
    values = [float(production.get(day, 0) or 0) for day in days]
    known = [v for v in values if v > 0]
    if not known:
        return [1.0] * len(days)
    mean = sum(known) / len(known)
    last_known = max(i for i, v in enumerate(values) if v > 0)
    return [mean if (v <= 0 and i > last_known) else v for i, v in enumerate(values)]


def covering_span(spans: Iterable[tuple[date, date]]) -> tuple[date, date] | None:
    """The first and last day of all the given gaps: what one energy_lifetime call covers."""
    spans = list(spans)
    if not spans:
        return None
    return min(first for first, _ in spans), max(last for _, last in spans)


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

    def __init__(self, history: History, readings: Iterable[Reading], tz: ZoneInfo) -> None:
        self.history = history
        self.tz = tz
        self._pending = [
            _Pending(
                serial=r.serial,
                lifetime_wh=int(r.lifetime_wh),
                epoch=int(r.last_report.timestamp()),
                day=r.last_report.astimezone(tz).date(),
                extra=dict(getattr(r, "extra", None) or {}),
            )
            for r in readings
        ]

    def local_day(self) -> str | None:
        """The latest local day any reading belongs to: the day this run reports on."""
        return _iso(max(p.day for p in self._pending)) if self._pending else None

    def gaps(self) -> dict[str, tuple[date, date]]:
        """Per serial, the first and last day of the gap this update will have to fill."""
        found: dict[str, tuple[date, date]] = {}
        for pending in self._pending:
            previous = self._previous_day(pending.serial, pending.day)
            if previous is not None and (pending.day - previous).days > 1:
                found[pending.serial] = (previous + timedelta(days=1), pending.day)
        return found

    def _previous_day(self, serial: str, day: date) -> date | None:
        """The serial's latest recorded day when ``day`` comes after it, else None."""
        days = self.history.days_of(serial)
        if not days:
            return None
        latest = max(days)
        return date.fromisoformat(latest) if latest < _iso(day) else None

    def apply(
        self,
        production: Mapping[date, int] | None = None,
        exact: Mapping[str, Mapping[date, int]] | None = None,
    ) -> UpdateResult:
        """Apply the readings. ``production`` weights gaps by the system's daily energy;
        ``exact`` (paid plans' per-micro telemetry: serial -> {day: Wh}) fills a serial's
        gap with its own days, which are then not estimates when they add up exactly."""
        result = UpdateResult(day=self.local_day())
        for pending in self._pending:
            weights = (exact or {}).get(pending.serial)
            self._apply_one(pending, production, weights, result)
            entry = self.history.entry(pending.serial, _iso(pending.day))
            if pending.extra and entry is not None and entry.get("last_report") == pending.epoch:
                entry.update(pending.extra)
        return result

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
        latest = max(days)
        if iso_day < latest:
            # Older than what we hold (a micro that stopped reporting): nothing to learn.
            return
        if iso_day == latest:
            if not self._is_newer(days[iso_day], reading):
                return
            previous = max((d for d in days if d < iso_day), default=None)
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
            }
            result.changed_days.add(iso_last)
            return
        exact = own_days is not None and sum(own_days.get(day, -1) for day in span) == delta
        if own_days is not None and not exact:
            result.warnings.append(
                f"serial {serial}: its telemetry for {_iso(span[0])}..{iso_last} does not add up "
                "to its lifetime counter; the gap is split by it and marked estimated"
            )
        weights = (
            [float(own_days.get(day, 0)) for day in span]
            if own_days is not None
            else gap_weights(span, production)
        )
        parts = split_exactly(delta, weights)
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
