"""The Enlighten answers the tool uses, as typed results built at the edge.

Each ``from_api`` classmethod reads raw JSON defensively: dates as epoch seconds,
milliseconds or ISO 8601, numbers as numbers or text, energy in any unit the API may use.
What cannot be read raises ``BadResponseError`` naming what was wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import BadResponseError
from .jwt import jwt_expiry

# Wh = value * multiplier / divisor (1 Wh = 3.6 kJ).
_ENERGY_UNITS: dict[str, tuple[int, float]] = {
    "wh": (1, 1),
    "kwh": (1000, 1),
    "mwh": (1_000_000, 1),
    "kj": (1, 3.6),
    "j": (1, 3600),
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
        units = str(energy.get("units") or "Wh").strip().lower()
    else:
        value, units = as_number(energy), "wh"
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


@dataclass(frozen=True)
class TokenPair:
    """An OAuth access/refresh pair and when each expires (from the JWT, else ``expires_in``)."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None

    @classmethod
    def from_api(
        cls, body: Any, now: datetime, *, previous_refresh_token: str | None = None
    ) -> TokenPair:
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


@dataclass(frozen=True)
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
    def from_api(cls, micro: Any, envoy_serial: str | None = None) -> InverterReading:
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


@dataclass(frozen=True)
class SystemInfo:
    """What the tool needs to know about a system; ``timezone`` decides which day is which."""

    system_id: str
    name: str | None
    timezone: str | None
    status: str | None

    @classmethod
    def from_api(cls, body: Any) -> SystemInfo:
        if not isinstance(body, Mapping) or body.get("system_id") is None:
            raise BadResponseError("a system entry lacks system_id")
        return cls(
            system_id=str(body["system_id"]),
            name=optional_str(body.get("name")),
            timezone=optional_str(body.get("timezone")),
            status=optional_str(body.get("status")),
        )
