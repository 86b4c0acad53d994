"""The Enlighten v4 API client: thin endpoint methods over one transport and one OAuth object.

``EnlightenClient`` takes plain values (URL, keys, tokens, timeouts, a ``token_updater``
callable, a ``RetryPolicy``); the app layer builds it from the config
(``app.sources.enlighten_client``). Each endpoint method asks ``transport.Transport`` for
the answer (token freshness and refresh-on-401 by ``oauth.EnlightenOAuth``) and hands the
raw JSON to the named constructor in ``models`` for its shape. Two methods, for callers
that want the API's own words (the original class in ``enlightenAPI_v4.py``), give raw
JSON: ``inverter_summary`` and ``get_json``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone, tzinfo
from typing import Any
from urllib.parse import quote

import requests

from .errors import BadResponseError, EnlightenError
from .models import (
    EnergyLifetime,
    InverterReading,
    InverterSummaryPage,
    MicroTelemetry,
    SystemInfo,
    SystemsPage,
    TokenPair,
)
from .oauth import DEFAULT_REDIRECT_URI, EnlightenOAuth, TokenUpdater
from .telemetry import GRANULARITY, Window, next_start
from .transport import RetryPolicy, Transport

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
# A server that ignored `page` would otherwise be followed forever.
MAX_PAGES = 50
SUMMARY_PATH = "api/v4/systems/inverters_summary_by_envoy_or_site"

# Reads one page of the inverter summary: (micros listed on it, serials not seen before).
PageReader = Callable[[Any], tuple[int, int]]


def keep_latest(latest: dict[str, InverterReading], reading: InverterReading) -> int:
    """Record ``reading`` unless its serial has a later one (a ghost on an old gateway).

    Returns 1 for a serial not seen before, else 0.
    """
    known = latest.get(reading.serial)
    if known is None or reading.last_report > known.last_report:
        if known is not None:
            logger.debug(
                "serial %s listed twice: keeping the report of %s",
                reading.serial,
                reading.last_report.isoformat(),
            )
        latest[reading.serial] = reading
    return 1 if known is None else 0


class EnlightenClient:
    """A client for one Enphase system, with rotating OAuth tokens.

    ``token_updater`` receives every new pair right after a refresh or code exchange,
    before anything else happens, so the rotated refresh token reaches disk first.
    """

    def __init__(
        self,
        *,
        api_url: str,
        api_key: str,
        client_id: str,
        client_secret: str,
        system_id: str,
        access_token: str | None,
        refresh_token: str | None,
        token_updater: TokenUpdater | None = None,
        access_token_expires_at: datetime | float | str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        session: requests.Session | None = None,
    ) -> None:
        self.system_id = str(system_id)
        self.transport = Transport(
            base_url=api_url,
            api_key=api_key,
            timeout=timeout,
            retry=retry,
            secrets=lambda: self.oauth.secrets(),  # noqa: PLW0108 - oauth comes next
            sleep=sleep,
            clock=clock,
            session=session,
        )
        self.oauth = EnlightenOAuth(
            self.transport,
            client_id=client_id,
            client_secret=client_secret,
            access_token=access_token,
            refresh_token=refresh_token,
            access_token_expires_at=access_token_expires_at,
            token_updater=token_updater,
            clock=clock,
        )
        self._api_key = api_key
        self._unreadable: dict[str, str] = {}

    # --- tokens (held by ``oauth``) -----------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.transport.base_url

    @property
    def api_calls(self) -> Counter[str]:
        """Calls made so far, by kind ("data", "token")."""
        return self.transport.api_calls

    @property
    def access_token(self) -> str | None:
        return self.oauth.access_token

    @property
    def refresh_token(self) -> str | None:
        return self.oauth.refresh_token

    def secrets(self) -> list[str]:
        """Every secret this client holds or has held, for redaction."""
        key = [self._api_key] if len(self._api_key) >= 4 else []
        return [*key, *self.oauth.secrets()]

    def access_expires_at(self) -> datetime | None:
        return self.oauth.access_expires_at()

    def ensure_fresh_token(self) -> None:
        self.oauth.ensure_fresh()

    def refresh(self) -> TokenPair:
        return self.oauth.refresh()

    def exchange_code(self, code: str, redirect_uri: str = DEFAULT_REDIRECT_URI) -> TokenPair:
        return self.oauth.exchange_code(code, redirect_uri)

    def authorize_url(self, redirect_uri: str = DEFAULT_REDIRECT_URI) -> str:
        return self.oauth.authorize_url(redirect_uri)

    # --- endpoints ----------------------------------------------------------------------------
    def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, what: str | None = None
    ) -> Any:
        """Any GET data call, its JSON as the API gave it (errors mapped as everywhere)."""
        return self._get(path, params, what=what or path)

    def inverter_readings(self) -> list[InverterReading]:
        """Every micro of every gateway, one reading per serial (the latest if listed twice)."""
        latest: dict[str, InverterReading] = {}
        gateways: set[str] = set()
        unreadable: dict[str, str] = {}

        def read(body: Any) -> tuple[int, int]:
            page = InverterSummaryPage.from_inverters_summary(body)
            for problem in page.problems:
                logger.warning("skipped an entry of the inverter summary: %s", problem)
            gateways.update(page.gateways)
            unreadable.update(page.unreadable)
            return page.micros, sum(keep_latest(latest, r) for r in page.readings)

        calls = self._summary_pages(read)
        # A serial listed twice, once unreadably (a ghost on an old gateway), still reported.
        self._unreadable = {s: why for s, why in unreadable.items() if s not in latest}
        logger.info(
            "Enlighten: read %d micro-inverters from %d gateway(s) in %d call(s)",
            len(latest),
            max(len(gateways), 1) if latest else 0,
            calls,
        )
        return [latest[serial] for serial in sorted(latest)]

    def unreadable_serials(self) -> dict[str, str]:
        """Serials the last ``inverter_readings`` listed only in entries it could not read,
        and why: they reported, but nothing of theirs can be recorded."""
        return dict(self._unreadable)

    def inverter_summary(self) -> list[Any]:
        """The inverter summary as the API gives it: a list, one element per gateway.

        Pages are followed as ``inverter_readings`` follows them; a gateway listed on more
        than one page is one element whose ``micro_inverters`` are those of every page.
        """
        gateways: list[dict[str, Any]] = []
        seen: set[str] = set()

        def read(body: Any) -> tuple[int, int]:
            before = len(seen)
            micros = 0
            for element in _gateway_elements(body):
                entries = _merge_gateway(gateways, element)
                micros += len(entries)
                seen.update(str(m.get("serial_number")) for m in entries if isinstance(m, Mapping))
            return micros, len(seen) - before

        self._summary_pages(read)
        return gateways

    def _summary_pages(self, read_page: PageReader) -> int:
        """Ask for pages of the inverter summary until one is empty or brings no new serial;
        ``read_page`` reads each. Returns the number of pages read.

        A short page is not the end: the server may honour a smaller ``size`` than asked, and
        the answer carries no count, so a site always costs one call past its last page."""
        calls = 0
        for page in range(1, MAX_PAGES + 1):
            try:
                body = self._get(
                    SUMMARY_PATH,
                    {"site_id": self.system_id, "page": page, "size": PAGE_SIZE},
                    what="inverter summary",
                )
            except EnlightenError as exc:
                # How the API answers a page past the end is unverified: 404 or 422 there
                # means "no more", anywhere else it is a failure.
                if page == 1 or exc.status not in (404, 422):
                    raise
                logger.debug("page %d of the inverter summary: HTTP %s, the end", page, exc.status)
                break
            calls += 1
            micros_on_page, new_serials = read_page(body)
            if micros_on_page == 0 or not new_serials:
                break
        return calls

    def system(self) -> SystemInfo:
        body = self._get(f"api/v4/systems/{self.system_id}", what="system details")
        info = SystemInfo.from_system(body)
        logger.info("Enlighten: read the details of system %s", info.system_id)
        return info

    def systems(self) -> list[SystemInfo]:
        """The systems this app and token may read."""
        found: list[SystemInfo] = []
        for page in range(1, MAX_PAGES + 1):
            body = self._get("api/v4/systems", {"page": page, "size": PAGE_SIZE}, what="systems")
            answer = SystemsPage.from_systems(body)
            found.extend(answer.systems)
            total = answer.total
            # The answer's own count ends the list; without one only an empty page does, since
            # a server may page by a smaller size than asked.
            if not answer.systems or (total is not None and len(found) >= total):
                break
        logger.info("Enlighten: %d system(s) visible", len(found))
        return found

    def energy_lifetime(self, start: date, end: date) -> dict[date, int]:
        """The system's production per day from ``start`` to ``end``, in one call."""
        body = self._get(
            f"api/v4/systems/{self.system_id}/energy_lifetime",
            {"start_date": start.isoformat(), "end_date": end.isoformat()},
            what="energy_lifetime",
        )
        days = EnergyLifetime.from_energy_lifetime(body, start, end).days
        logger.info("Enlighten: read system production for %d day(s)", len(days))
        return days

    def micro_daily_telemetry(
        self, serial: str, start: date, *, tz: tzinfo | None = None
    ) -> dict[date, int]:
        """One micro's energy per local day for the 7 days from ``start``; paid plans only.

        Asks for ``granularity=week`` and continues from each answer's own ``end_at`` until
        the 7 days are covered or the server has nothing later (``telemetry.next_start``):
        one call when ``week`` answers a week, right whatever span an answer covers. Each
        interval counts for the day in ``tz`` (the system's zone; UTC if not given) in
        which it ends, an interval ending at midnight belonging to the day before.
        """
        window = Window(start, tz or timezone.utc)
        path = f"api/v4/systems/{self.system_id}/devices/micros/{quote(serial, safe='')}/telemetry"
        params: dict[str, Any] = {"start_date": start.isoformat(), "granularity": GRANULARITY}
        asked_from: datetime | None = window.start
        days: dict[date, int] = {}
        calls = 0
        while asked_from is not None and calls < MAX_PAGES:
            body = self._get(path, params, what=f"telemetry of micro {serial}", plan_call=True)
            calls += 1
            answer = MicroTelemetry.from_telemetry(body, window.zone)
            for day, wh in answer.days.items():
                days[day] = days.get(day, 0) + wh
            asked_from = next_start(window, asked_from=asked_from, answer_end=answer.end_at)
            if asked_from is not None:
                params = {"start_at": int(asked_from.timestamp()), "granularity": GRANULARITY}
        days = window.clip(days)
        logger.info(
            "Enlighten: read telemetry of micro %s for %d day(s) in %d call(s)",
            serial,
            len(days),
            calls,
        )
        return days

    def _get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        what: str,
        plan_call: bool = False,
    ) -> Any:
        return self.transport.data_call(
            "GET",
            path,
            tokens=self.oauth,
            params=params,
            what=what,
            plan_call=plan_call,
            not_found_hint=f"check system_id ({self.system_id})",
        )


def _gateway_elements(body: Any) -> list[Any]:
    if isinstance(body, Mapping) and "micro_inverters" in body:
        return [body]
    if not isinstance(body, list):
        raise BadResponseError(
            f"the inverter summary is not a list of gateways (got {type(body).__name__})"
        )
    return body


def _merge_gateway(gateways: list[dict[str, Any]], element: Any) -> list[Any]:
    """Add one gateway element of a summary page to ``gateways``; its micros come back."""
    if not isinstance(element, Mapping):
        raise BadResponseError("an inverter summary element is not a JSON object")
    micros = element.get("micro_inverters") or []
    if not isinstance(micros, list):
        raise BadResponseError("micro_inverters is not a list in the inverter summary")
    key = _gateway_key(element)
    for known in gateways:
        if key is not None and _gateway_key(known) == key:
            known["micro_inverters"].extend(micros)
            return micros
    gateways.append({**element, "micro_inverters": list(micros)})
    return micros


def _gateway_key(element: Mapping[str, Any]) -> str | None:
    """A gateway's serial: the element's own, else that of its first micro (the v4 shape)."""
    serial = element.get("envoy_serial_number")
    micros = element.get("micro_inverters") or []
    if serial is None and micros and isinstance(micros[0], Mapping):
        serial = micros[0].get("envoy_serial_number")
    return None if serial is None else str(serial)
