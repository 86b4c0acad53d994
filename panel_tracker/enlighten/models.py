"""The Enlighten answers the tool uses, as typed results built at the edge.

One named constructor per answer shape (``TokenPair.from_token_answer``,
``InverterSummaryPage.from_inverters_summary``, ``SystemInfo.from_system``,
``SystemsPage.from_systems``, ``EnergyLifetime.from_energy_lifetime``,
``MicroTelemetry.from_telemetry``) reads raw JSON defensively: dates as epoch seconds,
milliseconds or ISO 8601, numbers as numbers or text, energy in any unit the API may use.
What cannot be read raises ``BadResponseError`` naming what was wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from .errors import BadResponseError
from .jwt import jwt_expiry
from .telemetry import add_day_energy

# Wh = value * multiplier / divisor (1 Wh = 3.6 kJ).
# Case matters: "mWh" is milli-, "MWh" mega-watt-hours; an unknown unit is refused.
_ENERGY_UNITS: dict[str, tuple[float, float]] = {
    "Wh": (1, 1),
    "kWh": (1000, 1),
    "MWh": (1_000_000, 1),
    "mWh": (1, 1000),
    "kJ": (1, 3.6),
    "J": (1, 3600),
    "MJ": (1000, 3.6),
}


def as_datetime(value: Any) -> datetime | None:
    """Epoch seconds (int, float or digits; milliseconds tolerated) or ISO 8601 text, as UTC."""
    seconds = as_number(value)
    if seconds is None:
        return _from_iso(value) if isinstance(value, str) else None
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _from_iso(text: str) -> datetime | None:
    """ISO 8601 text (the v2 spec's last_report_date); no offset means UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _energy_wh(energy: Any) -> int | None:
    """``{"value": 232, "units": "Wh"}`` (or kJ, kWh...) or a bare number of Wh, as int Wh."""
    if isinstance(energy, Mapping):
        value = as_number(energy.get("value"))
        units = str(energy.get("units") or "Wh").strip()
    else:
        value, units = as_number(energy), "Wh"
    factors = _ENERGY_UNITS.get(units)
    if value is None or factors is None or not math.isfinite(value):
        return None
    multiplier, divisor = factors
    return round(value * multiplier / divisor)


def _power_w(power: Any) -> int | None:
    if isinstance(power, Mapping):
        power = power.get("value")
    number = as_number(power)
    return None if number is None else round(number)


def optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True, slots=True)
class TokenPair:
    """An OAuth access/refresh pair and when each expires (from the JWT, else ``expires_in``)."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None

    @classmethod
    def from_token_answer(
        cls, body: Any, now: datetime, *, previous_refresh_token: str | None = None
    ) -> TokenPair:
        """``POST /oauth/token`` (code exchange or refresh)."""
        if not isinstance(body, Mapping):
            raise BadResponseError("the token answer is not a JSON object")
        access = body.get("access_token")
        # Enlighten rotates the refresh token on every refresh; if one ever comes back
        # without it, the old one is the only one there is.
        refresh = body.get("refresh_token") or previous_refresh_token
        if not isinstance(access, str) or not access or not isinstance(refresh, str):
            raise BadResponseError("the token answer lacks access_token or refresh_token")
        access_expires = jwt_expiry(access)
        expires_in = as_number(body.get("expires_in"))
        if access_expires is None and expires_in is not None:
            access_expires = now + timedelta(seconds=expires_in)
        return cls(
            access_token=access,
            refresh_token=refresh,
            access_expires_at=access_expires,
            refresh_expires_at=jwt_expiry(refresh),
        )


@dataclass(frozen=True, slots=True)
class InverterReading:
    """One micro-inverter's lifetime energy at its last report."""

    serial: str
    lifetime_wh: int
    last_report: datetime
    envoy_serial: str | None
    status: str | None
    power_w: int | None
    model: str | None

    @classmethod
    def from_summary_micro(cls, micro: Any, envoy_serial: str | None = None) -> InverterReading:
        """One entry of a gateway's ``micro_inverters`` in the inverter summary."""
        if not isinstance(micro, Mapping):
            raise BadResponseError("a micro-inverter entry is not a JSON object")
        serial = optional_str(micro.get("serial_number"))
        if serial is None:
            raise BadResponseError("a micro-inverter entry has no serial_number")
        lifetime = _energy_wh(micro.get("energy"))
        if lifetime is None:
            raise BadResponseError(f"micro-inverter {serial} has no usable energy value")
        last_report = as_datetime(micro.get("last_report_date"))
        if last_report is None:
            raise BadResponseError(f"micro-inverter {serial} has no usable last_report_date")
        return cls(
            serial=serial,
            lifetime_wh=lifetime,
            last_report=last_report,
            envoy_serial=optional_str(micro.get("envoy_serial_number")) or envoy_serial,
            status=optional_str(micro.get("status")),
            power_w=_power_w(micro.get("power_produced")),
            model=optional_str(micro.get("model")),
        )


@dataclass(frozen=True, slots=True)
class InverterSummaryPage:
    """One page of ``inverters_summary_by_envoy_or_site``: a list, one element per gateway.

    ``micros`` counts every entry listed (usable or not), which is what paging goes by;
    ``problems`` says why each unusable entry was skipped, and ``unreadable`` says it by
    serial for those that have one.
    """

    readings: list[InverterReading]
    micros: int
    gateways: set[str]
    problems: list[str]
    unreadable: dict[str, str]

    @classmethod
    def from_inverters_summary(cls, body: Any) -> InverterSummaryPage:
        if isinstance(body, Mapping) and "micro_inverters" in body:
            body = [body]
        if not isinstance(body, list):
            raise BadResponseError(
                "the inverter summary is not a list of gateways "
                f"(got {type(body).__name__}); the API may have changed"
            )
        page = cls(readings=[], micros=0, gateways=set(), problems=[], unreadable={})
        micros = 0
        for element in body:
            gateway, entries = _gateway_entries(element)
            micros += len(entries)
            for micro in entries:
                page._add(micro, gateway)
        if micros and len(page.problems) == micros:
            raise BadResponseError(
                f"no usable micro-inverter in the inverter summary ({page.problems[0]})"
            )
        return cls(page.readings, micros, page.gateways, page.problems, page.unreadable)

    def _add(self, micro: Any, gateway: str | None) -> None:
        try:
            reading = InverterReading.from_summary_micro(micro, gateway)
        except BadResponseError as exc:
            self.problems.append(str(exc))
            serial = (
                optional_str(micro.get("serial_number")) if isinstance(micro, Mapping) else None
            )
            if serial is not None:
                self.unreadable[serial] = str(exc)
            return
        if reading.envoy_serial:
            self.gateways.add(reading.envoy_serial)
        self.readings.append(reading)


def _gateway_entries(element: Any) -> tuple[str | None, list[Any]]:
    """One gateway of the inverter summary: its serial and its ``micro_inverters``."""
    if not isinstance(element, Mapping):
        raise BadResponseError("an inverter summary element is not a JSON object")
    micros = element.get("micro_inverters") or []
    if not isinstance(micros, list):
        raise BadResponseError("micro_inverters is not a list in the inverter summary")
    return optional_str(element.get("envoy_serial_number")), micros


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """What the tool needs to know about a system; ``timezone`` decides which day is which."""

    system_id: str
    name: str | None
    timezone: str | None
    status: str | None

    @classmethod
    def from_system(cls, body: Any) -> SystemInfo:
        """``GET /api/v4/systems/{id}``, or one element of the systems list (same shape)."""
        if not isinstance(body, Mapping) or body.get("system_id") is None:
            raise BadResponseError("a system entry lacks system_id")
        return cls(
            system_id=str(body["system_id"]),
            name=optional_str(body.get("name")),
            timezone=optional_str(body.get("timezone")),
            status=optional_str(body.get("status")),
        )


@dataclass(frozen=True, slots=True)
class SystemsPage:
    """One page of ``GET /api/v4/systems``; ``total`` is the answer's own count, if given."""

    systems: list[SystemInfo]
    total: int | None

    @classmethod
    def from_systems(cls, body: Any) -> SystemsPage:
        systems = body.get("systems") if isinstance(body, Mapping) else None
        if not isinstance(systems, list):
            raise BadResponseError("the systems list lacks 'systems'")
        total = as_number(body.get("total"))
        return cls(
            systems=[SystemInfo.from_system(item) for item in systems],
            total=None if total is None else int(total),
        )


@dataclass(frozen=True, slots=True)
class EnergyLifetime:
    """``energy_lifetime``: the system's production per day (Wh), clipped to what was asked."""

    days: dict[date, int]

    @classmethod
    def from_energy_lifetime(cls, body: Any, start: date, end: date) -> EnergyLifetime:
        production = body.get("production") if isinstance(body, Mapping) else None
        if not isinstance(production, list):
            raise BadResponseError("energy_lifetime lacks the 'production' list")
        first = start
        if isinstance(body.get("start_date"), str):
            try:
                first = date.fromisoformat(body["start_date"])
            except ValueError:
                raise BadResponseError("energy_lifetime has an unreadable start_date") from None
        days: dict[date, int] = {}
        for offset, value in enumerate(production):
            day = first + timedelta(days=offset)
            number = as_number(value)
            # Not a finite number: that day's production is unknown.
            if number is not None and math.isfinite(number) and start <= day <= end:
                days[day] = round(number)
        return cls(days)


@dataclass(frozen=True, slots=True)
class MicroTelemetry:
    """One ``telemetry`` answer of a micro: Wh per local day, and where the answer ended.

    ``end_at`` is the answer's own ``end_at`` (None if it gave none); a call that
    continues from there reads the next span.
    """

    days: dict[date, int]
    end_at: datetime | None

    @classmethod
    def from_telemetry(cls, body: Any, zone: tzinfo) -> MicroTelemetry:
        intervals = body.get("intervals") if isinstance(body, Mapping) else None
        if not isinstance(intervals, list):
            raise BadResponseError("the micro telemetry lacks the 'intervals' list")
        days: dict[date, int] = {}
        last: datetime | None = None
        for interval in intervals:
            if not isinstance(interval, Mapping):
                raise BadResponseError("a telemetry interval is not a JSON object")
            end_at = as_datetime(interval.get("end_at"))
            energy = as_number(interval.get("enwh"))
            if end_at is None or energy is None or not math.isfinite(energy):
                continue
            add_day_energy(days, end_at, energy, zone)
            last = end_at if last is None else max(last, end_at)
        end = as_datetime(body.get("end_at"))
        return cls(days, end if end is not None else last)


def rate_limit_reset(body: Any) -> datetime | None:
    """A 429 answer's ``period_end`` (when the quota resets), if it has one."""
    return as_datetime(body.get("period_end")) if isinstance(body, Mapping) else None
