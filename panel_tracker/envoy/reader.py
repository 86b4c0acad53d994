"""One synchronous read of the gateway through pyenphase: every micro's lifetime energy.

pyenphase is async (aiohttp); the job is a plain nightly run, so ``read_gateway`` runs one
event loop (``asyncio.run``) per call: /info for the firmware, the token (or the Enlighten
login pyenphase turns into one) checked by the gateway, the probe, one update, close.
The gateway's self-signed certificate is accepted by pyenphase's own client for the
gateway only; the Enlighten login (when used) goes through normal verification.

Per-micro lifetime energy exists only where the firmware serves ``/ivp/pdm/device_data``;
elsewhere the micros give watts only, and this module says so (``NoLifetimeEnergyError``)
rather than guess an energy.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import jwt

from ..errors import ConfigError, PanelTrackerError
from ..findings import Finding
from ..wording import counted
from .settings_keys import EnvoySettings

# Every pyenphase release uses Python 3.11's enum.StrEnum (its metadata says 3.10), so on
# 3.10 it is not installed (see requirements.txt) and the gateway source says so in one line.
try:
    from pyenphase import Envoy
    from pyenphase.const import SupportedFeatures
    from pyenphase.exceptions import (
        EnvoyAuthenticationError,
        EnvoyAuthenticationRequired,
        EnvoyError,
        EnvoyFirmwareFatalCheckError,
        EnvoyProbeFailed,
    )
    from pyenphase.models.inverter import EnvoyInverter

    PYENPHASE_MISSING: str | None = None
except (ImportError, AttributeError) as exc:  # Python 3.10
    PYENPHASE_MISSING = f"{type(exc).__name__}: {exc}"

logger = logging.getLogger(__name__)

KEEP_CLOUD_HINT = (
    'keep the cloud source (remove "source": "envoy" from the config), or update the '
    "gateway's firmware to one that serves per-micro device data (8.2.4345 or later)"
)


class GatewayError(PanelTrackerError):
    """The gateway could not be read (exit 1); nothing is recorded."""


class GatewayUnreachableError(GatewayError):
    """No answer from the gateway's address."""


class GatewayAuthError(GatewayError):
    """The gateway refused the token, or no token could be had."""


class NoLifetimeEnergyError(GatewayError):
    """The firmware gives no per-micro lifetime energy (watts only)."""


@dataclass(frozen=True, slots=True)
class GatewayReading:
    """One micro's reading: the cloud source's fields, plus what only the gateway gives.

    ``serial``, ``lifetime_wh`` and ``last_report`` are what the day arithmetic needs
    (the same as ``enlighten.models.InverterReading``); DC voltage, DC current and the
    channel temperature are None where the firmware does not give them.
    """

    serial: str
    lifetime_wh: int
    last_report: datetime
    envoy_serial: str | None
    status: str | None
    power_w: int | None
    model: str | None
    dc_voltage_v: float | None = None
    dc_current_a: float | None = None
    temperature_c: float | None = None

    @classmethod
    def from_inverter(cls, micro: EnvoyInverter, envoy_serial: str | None) -> GatewayReading:
        if micro.lifetime_energy is None:
            raise NoLifetimeEnergyError(
                f"the gateway gives no lifetime energy for micro-inverter {micro.serial_number}",
                hint=KEEP_CLOUD_HINT,
            )
        return cls(
            serial=str(micro.serial_number),
            lifetime_wh=int(micro.lifetime_energy),
            last_report=datetime.fromtimestamp(int(micro.last_report_date), tz=timezone.utc),
            envoy_serial=envoy_serial,
            status=None,
            power_w=int(micro.last_report_watts),
            model=None,
            dc_voltage_v=micro.dc_voltage,
            dc_current_a=micro.dc_current,
            temperature_c=micro.temperature,
        )

    @property
    def extra(self) -> dict[str, float]:
        """The added day-entry fields (absent where the firmware gives none)."""
        values = {
            "dc_voltage_v": self.dc_voltage_v,
            "dc_current_a": self.dc_current_a,
            "temperature_c": self.temperature_c,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass
class GatewayRead:
    """What one visit to the gateway found."""

    firmware: str
    serial: str | None
    micros_seen: int
    readings: list[GatewayReading] = field(default_factory=list)
    token_expires: datetime | None = None
    lifetime_energy: bool = False
    serials: list[str] = field(default_factory=list)
    per_micro: bool = False  # the firmware lists micros at all (watts, or energy too)

    @property
    def no_energy_because(self) -> str:
        """What the firmware gives instead of per-micro lifetime energy."""
        return "only watts" if self.micros_seen else "no per-micro readings at all"


def _split_host(host: str) -> tuple[str, int | None]:
    name, _, port = host.rpartition(":")
    if name and port.isdigit():
        return name.strip("[]"), int(port)
    return host, None


def _reachable(host: str, timeout: float) -> bool:
    """One TCP connect to the gateway's HTTPS (or, for old firmware, HTTP) port."""
    name, port = _split_host(host)
    for candidate in (port,) if port else (443, 80):
        try:
            with socket.create_connection((name, candidate), timeout=timeout):
                return True
        except OSError:
            continue
    return False


def _unreachable(host: str) -> GatewayUnreachableError:
    return GatewayUnreachableError(
        f"the gateway at {host} does not answer",
        hint="check that it is on and envoy_host is its address; the next run fills the "
        "missed days from the lifetime counters",
    )


async def _visit(settings: EnvoySettings, *, need_energy: bool) -> GatewayRead:
    envoy = Envoy(settings.host, timeout=settings.timeout_seconds)
    try:
        await envoy.setup()
        try:
            await envoy.authenticate(
                username=settings.username, password=settings.password, token=settings.token
            )
        except (EnvoyAuthenticationError, EnvoyAuthenticationRequired) as exc:
            logger.debug("gateway authentication failed: %s", exc)
            raise GatewayAuthError(
                f"the gateway at {settings.host} (firmware {envoy.firmware}) refused the access",
                hint="get a new owner token at https://entrez.enphaseenergy.com and set it as "
                "envoy_token (or give envoy_username and envoy_password)",
            ) from None
        try:
            data = await envoy.update()
        except EnvoyProbeFailed as exc:
            # pyenphase reads no production at all from this firmware (3.7's HTML pages,
            # a gateway answering only part of its endpoints): nothing per micro either.
            logger.debug("gateway probe failed: %s", exc)
            raise NoLifetimeEnergyError(
                f"the gateway at {settings.host} (firmware {envoy.firmware}) gives no per-micro "
                "lifetime energy (pyenphase finds no production data on it); nothing was recorded",
                hint=KEEP_CLOUD_HINT,
            ) from None
        inverters: Mapping[str, EnvoyInverter] = data.inverters or {}
        found = GatewayRead(
            firmware=str(envoy.firmware),
            serial=envoy.serial_number,
            micros_seen=len(inverters),
            token_expires=_token_expiry(envoy),
            serials=sorted(inverters),
            per_micro=SupportedFeatures.INVERTERS in envoy.supported_features,
        )
        found.lifetime_energy = bool(inverters) and all(
            micro.lifetime_energy is not None for micro in inverters.values()
        )
        if need_energy and found.lifetime_energy:
            found.readings = [
                GatewayReading.from_inverter(micro, envoy.serial_number)
                for _serial, micro in sorted(inverters.items())
            ]
        return found
    finally:
        await envoy.close()


def _token_expiry(envoy: Envoy) -> datetime | None:
    auth: Any = envoy.auth
    try:
        return datetime.fromtimestamp(int(auth.expire_timestamp), tz=timezone.utc)
    except (AttributeError, TypeError, ValueError, KeyError, EnvoyError, jwt.PyJWTError):
        return None  # firmware before 7 (no token), or a token without an expiry


def _run(settings: EnvoySettings, *, need_energy: bool) -> GatewayRead:
    if PYENPHASE_MISSING is not None:
        raise ConfigError(
            f'"source": "envoy" needs pyenphase, which needs Python 3.11 or newer '
            f"(this is Python {sys.version_info[0]}.{sys.version_info[1]}; {PYENPHASE_MISSING})",
            hint="run the job with Python 3.11 or newer (PYTHON=python3.11 "
            "./run_inverter_daily_stats.sh), or use the cloud source",
        )
    if not _reachable(settings.host, settings.timeout_seconds):
        raise _unreachable(settings.host)
    try:
        return asyncio.run(_visit(settings, need_energy=need_energy))
    except EnvoyFirmwareFatalCheckError:
        raise _unreachable(settings.host) from None
    except EnvoyError as exc:
        raise GatewayError(
            f"the gateway at {settings.host} could not be read ({type(exc).__name__}: {exc})",
            hint="check the gateway; run with -v for the details",
        ) from None
    except OSError as exc:
        raise GatewayError(
            f"the gateway at {settings.host} could not be read ({exc})",
            hint="check the gateway and the network; the next run fills the missed days",
        ) from None


def read_gateway(settings: EnvoySettings) -> GatewayRead:
    """Every micro's reading; ``NoLifetimeEnergyError`` where the firmware has no energy."""
    found = _run(settings, need_energy=True)
    if (found.micros_seen or not found.per_micro) and not found.lifetime_energy:
        raise NoLifetimeEnergyError(
            f"the gateway at {settings.host} (firmware {found.firmware}) gives no per-micro "
            f"lifetime energy ({found.no_energy_because}); nothing was recorded",
            hint=KEEP_CLOUD_HINT,
        )
    if not found.readings:
        raise GatewayError(
            f"the gateway at {settings.host} reports no micro-inverters",
            hint="check in the Enphase app that the micros are commissioned on this gateway",
        )
    return found


def check_gateway(settings: EnvoySettings) -> GatewayRead:
    """What ``check`` reports: firmware, micros seen, and whether they give lifetime energy."""
    return _run(settings, need_energy=False)


def gateway_findings(found: GatewayRead, history_serials: Iterable[str] = ()) -> list[Finding]:
    """``check``'s findings for the gateway: one fact each, the fix as data.

    ``history_serials`` (the history's micros still reporting, when there is one) are matched
    against the micros the gateway sees, both ways.
    """
    findings = [
        Finding.good(
            f"gateway {found.serial or '(serial unknown)'}: firmware {found.firmware}, "
            f"{counted(found.micros_seen, 'micro-inverter')} seen"
        )
    ]
    if found.token_expires is not None:
        findings.append(Finding.good(f"gateway token valid until {found.token_expires:%Y-%m-%d}"))
    if found.lifetime_energy:
        findings.append(Finding.good("per-micro lifetime energy: yes (the local source works)"))
    else:
        findings.append(
            Finding.problem(
                f"per-micro lifetime energy: no (the firmware gives {found.no_energy_because})",
                KEEP_CLOUD_HINT,
            )
        )
    known = set(history_serials)
    if known:
        seen = set(found.serials)
        missing, new = sorted(known - seen), sorted(seen - known)
        if not missing and not new:
            findings.append(Finding.good(f"the history's {len(known)} serials match the gateway's"))
        if missing:
            findings.append(
                Finding.problem(
                    f"{len(missing)} serial(s) of the history not on this gateway: "
                    f"{', '.join(missing[:5])}",
                    "check envoy_host points at this system's gateway (a micro replaced in the "
                    "last 30 days is listed until its old serial counts as retired)",
                )
            )
        if new:
            findings.append(
                Finding.good(f"{len(new)} serial(s) new to the history: {', '.join(new[:5])}")
            )
    return findings
