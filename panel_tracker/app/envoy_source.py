"""The gateway on the home network as the daily job's source, chosen by ``"source": "envoy"``.

``EnvoySource`` is what ``run_daily_job`` asks of a source (``daily.EnlightenSource``), backed
by one read of the gateway per run. What the cloud gives and the gateway does not:

- no token to refresh (the owner's token lasts a year; pyenphase checks it with the gateway);
- no time zone: set ``timezone`` in the config (or it is remembered from an earlier cloud run);
- no per-day history: a gap (a night the gateway did not answer) is filled exactly from the
  lifetime counters, its total conserved, split evenly over the missed days and marked
  estimated. Nothing is guessed where the firmware gives no lifetime energy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from ..energy import Reading
from ..enlighten.errors import EnlightenError
from ..envoy.reader import GatewayReading, read_gateway
from ..envoy.settings_keys import EnvoySettings
from ..errors import ConfigError
from ..settings import Config

logger = logging.getLogger(__name__)


class NoDailyHistoryError(EnlightenError):
    """The gateway keeps no per-micro daily history: a gap is split, never fetched."""


@dataclass(frozen=True)
class _System:
    timezone: str | None


class EnvoySource:
    """One gateway, read once per run (``run_daily_job`` takes it where it takes the cloud)."""

    def __init__(self, settings: EnvoySettings) -> None:
        self.settings = settings
        self._readings: list[GatewayReading] | None = None

    def secrets(self) -> list[str]:
        """The token and password, for redaction (as ``EnlightenClient.secrets``)."""
        return self.settings.secrets

    def ensure_fresh_token(self) -> None:
        """Nothing to refresh: the gateway checks the token when it is read."""

    def system(self) -> _System:
        raise ConfigError(
            "the gateway does not say the system's time zone",
            hint='set "timezone" (e.g. "Europe/Berlin") in the config',
        )

    def inverter_readings(self) -> Sequence[Reading]:
        if self._readings is None:
            self._readings = read_gateway(self.settings).readings
        return self._readings

    def unreadable_serials(self) -> dict[str, str]:
        """None: pyenphase hands over typed readings, never an entry it could not read."""
        return {}

    def energy_lifetime(self, start: date, end: date) -> dict[date, int]:
        """No daily production on the gateway: the gap is split evenly, its total exact."""
        logger.info("gateway source: %s..%s split evenly from the lifetime counters", start, end)
        return {}

    def micro_daily_telemetry(
        self, serial: str, start: date, *, tz: ZoneInfo | None = None
    ) -> dict[date, int]:
        raise NoDailyHistoryError(
            "the gateway keeps no per-micro daily history",
            hint="the missed days' total is exact from the lifetime counters",
        )


def envoy_source(config: Config) -> EnvoySource | None:
    """The gateway source when the config says ``"source": "envoy"``, else None (the cloud)."""
    settings = config.settings.envoy
    return EnvoySource(settings) if settings is not None else None


def hold_to_this_gateway(
    settings: EnvoySettings, history_serials: Iterable[str], readings: Sequence[Reading]
) -> None:
    """A gateway none of whose micros the history knows is another system's gateway: refuse
    (exit 2, nothing written) rather than start a second set of panels in this history.

    Some serials in common is normal (a replaced micro, a new panel); none at all is not.
    """
    known = set(history_serials)
    seen = {reading.serial for reading in readings}
    if not known or not seen or known & seen:
        return
    raise ConfigError(
        f"none of the {len(seen)} micro-inverters of the gateway at {settings.host} is in the "
        f"history ({len(known)} serials, e.g. {min(known)}; the gateway has e.g. {min(seen)})",
        hint="set envoy_host to this system's gateway (`.venv/bin/python enlightenAPI_v4.py "
        "check` lists both sides); a gateway new to this system wants its own system_id",
    )
