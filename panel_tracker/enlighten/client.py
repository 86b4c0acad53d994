"""The Enlighten v4 API client: OAuth tokens, the inverter summary and a few system calls.

Every HTTP call goes through ``EnlightenClient._request``, which adds the API key and the
bearer token, applies a timeout, retries what is transient (5xx, connection errors, a
short 429) with injectable waits, refreshes the access token once on a 401, and maps
everything else to one exception hierarchy whose messages are already redacted. Raw JSON
stays at this edge: callers get small dataclasses built by ``from_api`` classmethods.

The exceptions live in ``enlighten_errors`` and the results in ``enlighten_models``; both
are re-exported here, so ``from panel_tracker.enlighten.client import AuthError`` keeps working.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import requests
import urllib3

from ..redaction import redact
from .errors import (
    AUTHORIZE_HINT,
    WATT_PLAN_LIMITS,
    AuthError,
    BadResponseError,
    EnlightenError,
    NetworkError,
    NotFoundError,
    PlanNotAllowedError,
    RateLimitError,
    ServerError,
)
from .jwt import jwt_expiry
from .models import (
    InverterReading,
    SystemInfo,
    TokenPair,
    as_datetime,
    as_number,
    optional_str,
)

if TYPE_CHECKING:
    from ..settings import Config

logger = logging.getLogger(__name__)

DEFAULT_REDIRECT_URI = "https://api.enphaseenergy.com/oauth/redirect_uri"
# Refresh a little before expiry so a token cannot die between the check and the call.
REFRESH_MARGIN = timedelta(minutes=5)
PAGE_SIZE = 100
# A server that ignored `page` would otherwise be followed forever.
MAX_PAGES = 50
_MAX_BODY_QUOTE = 200
_OS_ERROR = re.compile(r"\[Errno -?\d+\] [^)\"'\]]+")

__all__ = [
    "AUTHORIZE_HINT",
    "DEFAULT_REDIRECT_URI",
    "MAX_PAGES",
    "PAGE_SIZE",
    "REFRESH_MARGIN",
    "WATT_PLAN_LIMITS",
    "AuthError",
    "BadResponseError",
    "EnlightenClient",
    "EnlightenError",
    "InverterReading",
    "NetworkError",
    "NotFoundError",
    "PlanNotAllowedError",
    "RateLimitError",
    "ServerError",
    "SystemInfo",
    "TokenPair",
]


def _never_reached_server(exc: requests.RequestException) -> bool:
    """True when the request certainly was not received (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
    )


def _error_detail(response: requests.Response) -> str:
    """The server's own words, from either v4 error shape or whatever text came back.

    Not shortened here: redaction must see a whole secret before the text is cut.
    """
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())
    if isinstance(body, Mapping):
        parts: list[str] = []
        for key in ("message", "details", "reason"):
            value = body.get(key)
            if isinstance(value, list):
                value = "; ".join(str(item) for item in value)
            if value not in (None, "") and str(value) not in parts:
                parts.append(str(value))
        return ": ".join(parts)
    return " ".join(str(body).split())


def _rate_limit_reset(response: requests.Response) -> datetime | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, Mapping):
        return None
    return as_datetime(body.get("period_end"))


def _keep_latest(latest: dict[str, InverterReading], reading: InverterReading) -> int:
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


def _expiry_setting(value: datetime | float | str | None) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return as_datetime(value)


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
        token_updater: Callable[[TokenPair], None] | None = None,
        access_token_expires_at: datetime | float | str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff_seconds: float = 2.0,
        max_rate_limit_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        session: requests.Session | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/") + "/"
        self.system_id = str(system_id)
        self._api_key = api_key
        self._client_id = client_id
        self._client_secret = client_secret
        self._access_token = access_token or None
        self._refresh_token = refresh_token or None
        self._access_expires_at = _expiry_setting(access_token_expires_at)
        self._token_updater = token_updater
        self._timeout = timeout
        self._max_retries = max_retries
        self._backoff_seconds = backoff_seconds
        self._max_rate_limit_wait = max_rate_limit_wait
        self._sleep = sleep
        self._clock = clock
        self._session = session or requests.Session()
        # Old tokens stay secret after rotation: a log line may still quote one.
        self._retired_secrets: set[str] = set()
        self.api_calls: Counter[str] = Counter()

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> EnlightenClient:
        """A client for the config's system whose rotated tokens are saved into the config.

        An override replaces the config's setting unread: set-up passes ``system_id=""``
        for a config that has none yet.
        """
        config.require("app_api_key", "app_client_id", "app_client_secret")

        def save(pair: TokenPair) -> None:
            config.save_tokens(pair.access_token, pair.refresh_token)

        options: dict[str, Any] = {
            "api_url": config.api_url,
            "api_key": config.app_api_key,
            "client_id": config.app_client_id,
            "client_secret": config.app_client_secret,
            "access_token": config.access_token,
            "refresh_token": config.refresh_token,
            "token_updater": save,
            "access_token_expires_at": config.raw.get("access_token_expires_at"),
            **overrides,
        }
        # Read only when needed: either may be missing or unusable in a config being set up.
        if "system_id" not in options:
            options["system_id"] = config.system_id
        if "timeout" not in options:
            options["timeout"] = config.http_timeout
        return cls(**options)

    # --- secrets and tokens ---------------------------------------------------------------
    @property
    def access_token(self) -> str | None:
        return self._access_token

    @property
    def refresh_token(self) -> str | None:
        return self._refresh_token

    def secrets(self) -> list[str]:
        """Every secret this client holds or has held, for redaction."""
        current = (self._api_key, self._client_secret, self._access_token, self._refresh_token)
        return [s for s in (*current, *self._retired_secrets) if s and len(s) >= 4]

    def _redact(self, text: str, extra: Iterable[str] = ()) -> str:
        return redact(text, [*self.secrets(), *extra])

    def _quote(self, text: str, extra: Iterable[str] = (), *, limit: int = _MAX_BODY_QUOTE) -> str:
        """Server text fit for a message: redacted first, then shortened."""
        text = self._redact(text, extra)
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=timezone.utc)

    def access_expires_at(self) -> datetime | None:
        return jwt_expiry(self._access_token) or self._access_expires_at

    def ensure_fresh_token(self) -> None:
        """Refresh only if the access token is missing, expired or about to expire."""
        if not self._access_token:
            logger.debug("no access token yet: refreshing")
            self.refresh()
            return
        expires = self.access_expires_at()
        if expires is not None and expires - REFRESH_MARGIN <= self._now():
            logger.debug("the access token expires at %s: refreshing", expires.isoformat())
            self.refresh()

    def refresh(self) -> TokenPair:
        """Trade the refresh token for a new pair, hand it to ``token_updater`` at once."""
        if not self._refresh_token:
            raise AuthError(
                f"no Enlighten refresh token in the config; {AUTHORIZE_HINT}", refresh_failed=True
            )
        logger.info("Enlighten: refreshing the access token")
        old_refresh = self._refresh_token
        body = self._token_call(
            {"grant_type": "refresh_token", "refresh_token": old_refresh},
            what="token refresh",
            refused=lambda detail, status: AuthError(
                f"Enlighten refused the refresh token (HTTP {status}{detail}); it has expired "
                f"or was revoked, so the homeowner must consent again: {AUTHORIZE_HINT}",
                status=status,
                refresh_failed=True,
            ),
        )
        pair = TokenPair.from_api(body, self._now(), previous_refresh_token=old_refresh)
        self._adopt(pair)
        return pair

    def exchange_code(self, code: str, redirect_uri: str = DEFAULT_REDIRECT_URI) -> TokenPair:
        """Trade a one-time authorization code for the first token pair."""
        logger.info("Enlighten: exchanging the authorization code for tokens")
        body = self._token_call(
            {"grant_type": "authorization_code", "redirect_uri": redirect_uri, "code": code},
            what="authorization code exchange",
            refused=lambda detail, status: AuthError(
                f"Enlighten refused the authorization code (HTTP {status}{detail}); a code "
                f"works once and only with the same redirect_uri: open "
                f"{self.authorize_url(redirect_uri)} for a new one",
                status=status,
            ),
            extra_secrets=(code,),
        )
        pair = TokenPair.from_api(body, self._now())
        self._adopt(pair)
        return pair

    def authorize_url(self, redirect_uri: str = DEFAULT_REDIRECT_URI) -> str:
        """Where the homeowner consents; the page then shows (or redirects with) a code."""
        query = urlencode(
            {"response_type": "code", "client_id": self._client_id, "redirect_uri": redirect_uri},
            quote_via=quote,
        )
        return f"{self.api_url}oauth/authorize?{query}"

    def _adopt(self, pair: TokenPair) -> None:
        for old in (self._access_token, self._refresh_token):
            if old:
                self._retired_secrets.add(old)
        self._access_token = pair.access_token
        self._refresh_token = pair.refresh_token
        self._access_expires_at = pair.access_expires_at
        # The old refresh token is dead now: the new pair must be saved before anything else.
        if self._token_updater is not None:
            self._token_updater(pair)

    def _token_call(
        self,
        params: dict[str, str],
        *,
        what: str,
        refused: Callable[[str, int], AuthError],
        extra_secrets: Iterable[str] = (),
    ) -> Any:
        response = self._send(
            "POST",
            "oauth/token",
            params=params,
            kind="token",
            what=what,
            auth=(self._client_id, self._client_secret),
            extra_secrets=extra_secrets,
        )
        if response.status_code in (400, 401, 403):
            detail = self._quote(_error_detail(response), extra_secrets)
            raise refused(f": {detail}" if detail else "", response.status_code)
        if not response.ok:
            raise self._error(response, what, extra_secrets)
        return self._json(response, what, extra_secrets)

    # --- data calls -----------------------------------------------------------------------
    def inverter_readings(self) -> list[InverterReading]:
        """Every micro of every gateway, one reading per serial (the latest if listed twice)."""
        latest: dict[str, InverterReading] = {}
        gateways: set[str] = set()
        calls = 0
        for page in range(1, MAX_PAGES + 1):
            try:
                body = self._request(
                    "GET",
                    "api/v4/systems/inverters_summary_by_envoy_or_site",
                    params={"site_id": self.system_id, "page": page, "size": PAGE_SIZE},
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
            micros_on_page, new_serials = self._collect_page(body, latest, gateways)
            if micros_on_page < PAGE_SIZE or not new_serials:
                break
        logger.info(
            "Enlighten: read %d micro-inverters from %d gateway(s) in %d call(s)",
            len(latest),
            max(len(gateways), 1) if latest else 0,
            calls,
        )
        return [latest[serial] for serial in sorted(latest)]

    def _collect_page(
        self, body: Any, latest: dict[str, InverterReading], gateways: set[str]
    ) -> tuple[int, int]:
        if isinstance(body, Mapping) and "micro_inverters" in body:
            body = [body]
        if not isinstance(body, list):
            raise BadResponseError(
                "the inverter summary is not a list of gateways "
                f"(got {type(body).__name__}); the API may have changed"
            )
        micros_on_page = 0
        new_serials = 0
        unusable: list[str] = []
        for element in body:
            if not isinstance(element, Mapping):
                raise BadResponseError("an inverter summary element is not a JSON object")
            micros = element.get("micro_inverters") or []
            if not isinstance(micros, list):
                raise BadResponseError("micro_inverters is not a list in the inverter summary")
            gateway = optional_str(element.get("envoy_serial_number"))
            micros_on_page += len(micros)
            for micro in micros:
                try:
                    reading = InverterReading.from_api(micro, gateway)
                except BadResponseError as exc:
                    unusable.append(str(exc))
                    continue
                if reading.envoy_serial:
                    gateways.add(reading.envoy_serial)
                new_serials += _keep_latest(latest, reading)
        if unusable:
            if micros_on_page and len(unusable) == micros_on_page:
                raise BadResponseError(
                    f"no usable micro-inverter in the inverter summary ({unusable[0]})"
                )
            for problem in unusable:
                logger.warning("skipped an entry of the inverter summary: %s", problem)
        return micros_on_page, new_serials

    def system(self) -> SystemInfo:
        body = self._request("GET", f"api/v4/systems/{self.system_id}", what="system details")
        info = SystemInfo.from_api(body)
        logger.info("Enlighten: read the details of system %s", info.system_id)
        return info

    def systems(self) -> list[SystemInfo]:
        """The systems this app and token may read."""
        found: list[SystemInfo] = []
        for page in range(1, MAX_PAGES + 1):
            body = self._request(
                "GET", "api/v4/systems", params={"page": page, "size": PAGE_SIZE}, what="systems"
            )
            systems = body.get("systems") if isinstance(body, Mapping) else None
            if not isinstance(systems, list):
                raise BadResponseError("the systems list lacks 'systems'")
            found.extend(SystemInfo.from_api(item) for item in systems)
            total = as_number(body.get("total"))
            if len(systems) < PAGE_SIZE or (total is not None and len(found) >= total):
                break
        logger.info("Enlighten: %d system(s) visible", len(found))
        return found

    def energy_lifetime(self, start: date, end: date) -> dict[date, int]:
        """The system's production per day from ``start`` to ``end``, in one call."""
        body = self._request(
            "GET",
            f"api/v4/systems/{self.system_id}/energy_lifetime",
            params={"start_date": start.isoformat(), "end_date": end.isoformat()},
            what="energy_lifetime",
        )
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
            if number is not None and start <= day <= end:
                days[day] = round(number)
        logger.info("Enlighten: read system production for %d day(s)", len(days))
        return days

    def micro_daily_telemetry(
        self, serial: str, start: date, *, tz: tzinfo | None = None
    ) -> dict[date, int]:
        """One micro's energy per day from ``start`` (up to 7 days); paid plans only.

        Intervals are attributed to the day in ``tz`` (the system's zone; UTC if not given)
        in which they end, an interval ending at midnight belonging to the day before.
        """
        body = self._request(
            "GET",
            f"api/v4/systems/{self.system_id}/devices/micros/{quote(serial, safe='')}/telemetry",
            params={"start_date": start.isoformat(), "granularity": "day"},
            what=f"telemetry of micro {serial}",
            plan_call=True,
        )
        intervals = body.get("intervals") if isinstance(body, Mapping) else None
        if not isinstance(intervals, list):
            raise BadResponseError("the micro telemetry lacks the 'intervals' list")
        zone = tz or timezone.utc
        days: dict[date, int] = {}
        for interval in intervals:
            if not isinstance(interval, Mapping):
                raise BadResponseError("a telemetry interval is not a JSON object")
            end_at = as_datetime(interval.get("end_at"))
            energy = as_number(interval.get("enwh"))
            if end_at is None or energy is None:
                continue
            day = (end_at - timedelta(seconds=1)).astimezone(zone).date()
            days[day] = days.get(day, 0) + round(energy)
        logger.info("Enlighten: read telemetry of micro %s for %d day(s)", serial, len(days))
        return days

    # --- transport ------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        what: str,
        plan_call: bool = False,
    ) -> Any:
        """A data call: fresh token first, one refresh and retry on 401, JSON back."""
        self.ensure_fresh_token()
        response = self._send(method, path, params=params, kind="data", what=what)
        if response.status_code == 401 and plan_call:
            detail = self._quote(_error_detail(response))
            raise PlanNotAllowedError(
                f"Enlighten refused the {what} (HTTP 401: {detail}): per-micro telemetry needs "
                "a paid plan (Kilowatt or above); the free Watt plan answers 401",
                status=401,
            )
        if response.status_code == 401 and "mismatch" in _error_detail(response).lower():
            # "API Key - Client mismatch": a new token would be refused just the same.
            raise AuthError(
                self._redact(
                    f"Enlighten {what} failed (HTTP 401: API Key - Client mismatch): "
                    "app_api_key is not the API key of the application whose client id and "
                    "tokens the config holds; copy the API key of that same application",
                ),
                status=401,
            )
        if response.status_code == 401:
            logger.info("Enlighten: the access token was refused; refreshing once")
            self.refresh()
            response = self._send(method, path, params=params, kind="data", what=what)
        if not response.ok:
            raise self._error(response, what)
        return self._json(response, what)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        kind: str,
        what: str,
        auth: tuple[str, str] | None = None,
        extra_secrets: Iterable[str] = (),
    ) -> requests.Response:
        """One logical call with bounded retries of what is transient; any status comes back."""
        url = self.api_url + path.lstrip("/")
        query: dict[str, Any] = dict(params or {})
        headers = {"Accept": "application/json"}
        if auth is None:
            query["key"] = self._api_key
            if self._access_token:
                headers["Authorization"] = f"Bearer {self._access_token}"
        retries = 0
        waited_for_quota = False
        while True:
            self.api_calls[kind] += 1
            logger.debug("%s /%s (%s, attempt %d)", method, path.lstrip("/"), what, retries + 1)
            try:
                response = self._session.request(
                    method, url, params=query, headers=headers, auth=auth, timeout=self._timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = "timed out" if isinstance(exc, requests.Timeout) else "could not connect"
                if kind == "token" and not _never_reached_server(exc):
                    # The server may have rotated the refresh token already; sending the old
                    # one again would only get it refused. The next run tries again.
                    raise NetworkError(
                        f"Enlighten {what}: the answer was lost ({problem}); if the next run "
                        "says the refresh token was refused, authorize again"
                    ) from None
                if retries < self._max_retries:
                    retries += 1
                    self._backoff(retries, f"{what}: {problem}")
                    continue
                raise NetworkError(
                    self._redact(
                        f"Enlighten {what}: {problem} after {retries + 1} attempts "
                        f"({self._connection_reason(exc)}); check the network and api_url "
                        f"({self.api_url})",
                        extra_secrets,
                    )
                ) from None
            except requests.RequestException as exc:
                raise NetworkError(
                    self._redact(f"Enlighten {what}: {type(exc).__name__}: {exc}", extra_secrets)
                ) from None
            logger.debug("%s /%s -> HTTP %d", method, path.lstrip("/"), response.status_code)
            if response.status_code >= 500 and retries < self._max_retries:
                retries += 1
                self._backoff(retries, f"{what}: HTTP {response.status_code}")
                continue
            if response.status_code == 429 and not waited_for_quota:
                wait = self._quota_wait(response)
                if wait is not None:
                    waited_for_quota = True
                    logger.info("Enlighten: rate limited; waiting %.0f s for the quota", wait)
                    self._sleep(wait)
                    continue
            return response

    def _connection_reason(self, exc: requests.RequestException) -> str:
        """The useful end of urllib3's long story, e.g. ``[Errno 111] Connection refused``."""
        if isinstance(exc, requests.Timeout):
            return f"no answer within {self._timeout:g} s"
        found = _OS_ERROR.search(str(exc))
        return found.group(0) if found else type(exc).__name__

    def _backoff(self, retry: int, reason: str) -> None:
        wait = self._backoff_seconds * 2 ** (retry - 1)
        logger.info(
            "Enlighten %s; retry %d of %d in %.1f s", reason, retry, self._max_retries, wait
        )
        self._sleep(wait)

    def _quota_wait(self, response: requests.Response) -> float | None:
        """Seconds to wait for a 429's ``period_end`` (plus 1), or None if too long or unknown."""
        resets_at = _rate_limit_reset(response)
        if resets_at is None:
            return None
        wait = resets_at.timestamp() - self._clock()
        if wait > self._max_rate_limit_wait:
            return None
        return max(wait, 0.0) + 1.0

    def _json(self, response: requests.Response, what: str, extra: Iterable[str] = ()) -> Any:
        try:
            return response.json()
        except ValueError:
            start = self._quote(" ".join(response.text.split()), extra, limit=80)
            raise BadResponseError(
                self._redact(
                    f"Enlighten {what}: the answer is not JSON (HTTP {response.status_code}, "
                    f"starts {start!r})",
                    extra,
                ),
                status=response.status_code,
            ) from None

    def _error(
        self, response: requests.Response, what: str, extra: Iterable[str] = ()
    ) -> EnlightenError:
        status = response.status_code
        detail = self._quote(_error_detail(response), extra)
        said = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
        head = f"Enlighten {what} failed ({said})"
        if status in (401, 403):
            return AuthError(
                self._redact(
                    f"{head}: the API key or the access token was rejected; check that "
                    f"app_api_key belongs to the same app as the tokens, else {AUTHORIZE_HINT}",
                    extra,
                ),
                status=status,
            )
        if status == 404:
            return NotFoundError(
                self._redact(f"{head}: check system_id ({self.system_id})", extra), status=status
            )
        if status == 429:
            resets_at = _rate_limit_reset(response)
            when = (
                f"the quota resets at {resets_at.astimezone().isoformat(timespec='seconds')} "
                "(local time)"
                if resets_at
                else "try again later"
            )
            return RateLimitError(
                self._redact(f"{head}: API quota used up; {when} ({WATT_PLAN_LIMITS})", extra),
                resets_at=resets_at,
            )
        if status >= 500:
            return ServerError(
                self._redact(
                    f"{head} after {self._max_retries + 1} attempts; Enphase's service is "
                    "having trouble, try again later",
                    extra,
                ),
                status=status,
            )
        return EnlightenError(self._redact(head, extra), status=status)
