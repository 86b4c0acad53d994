"""A loopback emulator of the Enphase Enlighten v4 API (OAuth and the calls the project makes).

The site clock (`sim_now`, simulated days) drives the data; tokens expire on the real wall clock.
Faults can be queued per path, from the test itself or over HTTP from a job in another process.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import math
import re
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from sandbox.loopback_server import LoopbackEmulator, LoopbackServer, QuietHandler
from sandbox.site import FIRST_REPORT_MIN, LAST_REPORT_MIN, SimulatedSite

MALFORMED = "<malformed>"
PLAN_LIMITS = {
    "watt": (10, 1_000),
    "kilowatt": (50, 50_000),
    "megawatt": (100, 300_000),
    "partner": (300, 1_500_000),
}
PAID_PLANS = ("kilowatt", "megawatt", "partner")
TELEMETRY_SPANS = {"day": 1, "week": 7}  # days; 'day' is at most 288 intervals
TELEMETRY_STEP_MIN = 5
CODE_LIFETIME_S = 600
USER_ID = "217231"
_ERROR_TEXT = {
    401: ("Not Authorized", "User is not authorized"),
    403: ("Forbidden", "Not authorized to access this resource"),
    404: ("Not Found", "Resource not found"),
    422: ("Unprocessable Entity", "Invalid request"),
    429: ("Too Many Requests", "Usage limit exceeded"),
    500: ("Internal Server Error", "unable to fetch data"),
    503: ("Service Unavailable", "Service is temporarily unavailable"),
}


@dataclass
class Reply:
    """One HTTP answer."""

    status: int
    body: bytes
    content_type: str = "application/json"


@dataclass
class _Fault:
    path_contains: str
    status: int
    count: int
    body: str | None
    delay: float
    period_end_in: int | None


@dataclass
class _Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names


Route = Callable[[_Request, "re.Match[str]"], Reply]


def json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload).encode())


def error_reply(status: int, details: str | None = None, **extra: Any) -> Reply:
    """The v4 error body {"message", "details", "code"}; never carries a key or a token."""
    message, default = _ERROR_TEXT.get(status, (HTTPStatus(status).phrase, "error"))
    return json_reply(
        status, {"message": message, "details": details or default, "code": status, **extra}
    )


def oauth_error(status: int, error: str, description: str) -> Reply:
    """OAuth failures carry both the v4 fields and the OAuth 2 `error` fields."""
    return error_reply(status, description, error=error, error_description=description)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class EnlightenEmulator(LoopbackEmulator):
    """Enlighten v4 on 127.0.0.1, in a daemon thread; see the module docstring."""

    thread_name = "enlighten-emulator"

    def __init__(
        self,
        site: SimulatedSite,
        *,
        api_key: str = "sandbox-api-key",
        client_id: str = "sandbox-client-id",
        client_secret: str = "sandbox-client-secret",
        access_token_lifetime: int = 86400,
        refresh_token_lifetime: int = 30 * 86400,
        plan: str = "watt",
        redirect_uri: str = "https://api.enphaseenergy.com/oauth/redirect_uri",
        enforce_rate_limit: bool = False,
        page_size_cap: int | None = None,
        telemetry_week_days: int = 7,
    ) -> None:
        if plan not in PLAN_LIMITS:
            raise ValueError(f"plan must be one of {sorted(PLAN_LIMITS)}")
        super().__init__()
        self.site = site
        self.api_key, self.client_id, self.client_secret = api_key, client_id, client_secret
        self.access_token_lifetime = access_token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        self.plan, self.redirect_uri = plan, redirect_uri
        self.enforce_rate_limit = enforce_rate_limit
        # A server may honour another page size than asked, or another span for "week".
        self.page_size_cap = page_size_cap
        self.telemetry_week_days = telemetry_week_days
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._sim_now = self.night_of(site.days()[0])
        self._calls: list[tuple[str, str]] = []
        self._faults: list[_Fault] = []
        self._codes: dict[str, float] = {}  # code -> real expiry time
        self._refresh_jtis: set[str] = set()  # refresh tokens still usable
        self._minute_calls: list[float] = []
        self._routes: list[tuple[str, re.Pattern[str], Route]] = [
            ("POST", re.compile(r"/oauth/token"), self._oauth_token),
            ("GET", re.compile(r"/oauth/authorize"), self._oauth_authorize),
            ("GET", re.compile(r"/api/v4/systems"), self._systems),
            (
                "GET",
                re.compile(r"/api/v4/systems/inverters_summary_by_envoy_or_site"),
                self._inverters_summary,
            ),
            ("GET", re.compile(r"/api/v4/systems/(\d+)"), self._system),
            ("GET", re.compile(r"/api/v4/systems/(\d+)/energy_lifetime"), self._energy_lifetime),
            (
                "GET",
                re.compile(r"/api/v4/systems/(\d+)/devices/micros/([^/]+)/telemetry"),
                self._micro_telemetry,
            ),
        ]

    def _make_server(self) -> _Server:
        return _Server(_Handler, self)

    # ----- the site clock -----

    @property
    def sim_now(self) -> datetime:
        with self._lock:
            return self._sim_now

    @sim_now.setter
    def sim_now(self, when: datetime) -> None:
        self.set_sim_time(when)

    def set_sim_time(self, when: datetime) -> None:
        """Move the site clock; a naive time is read as the site's local time."""
        with self._lock:
            self._sim_now = when if when.tzinfo else when.replace(tzinfo=self.site.tz)

    def night_of(self, day: date) -> datetime:
        """04:00 local on the day after `day`: when the cron job runs for `day`."""
        after = day + timedelta(days=1)
        return datetime(after.year, after.month, after.day, 4, tzinfo=self.site.tz)

    # ----- tokens -----

    def config_keys(self, access_token: str, refresh_token: str) -> dict[str, str]:
        """The config keys that point the tool at this emulator with the given tokens."""
        return {
            "system_id": str(self.site.system_id),
            "api_url": self.url,
            "app_api_key": self.api_key,
            "app_client_id": self.client_id,
            "app_client_secret": self.client_secret,
            "access_token": access_token,
            "refresh_token": refresh_token,
        }

    def issue_tokens(
        self, *, access_expires_in: int | None = None, refresh_expires_in: int | None = None
    ) -> tuple[str, str]:
        """A valid (access, refresh) pair, e.g. for writing a config directly."""
        access = self._jwt(
            "access", self.access_token_lifetime if access_expires_in is None else access_expires_in
        )
        refresh = self._jwt(
            "refresh",
            self.refresh_token_lifetime if refresh_expires_in is None else refresh_expires_in,
        )
        with self._lock:
            self._refresh_jtis.add(self._claims(refresh)["jti"])
        return access, refresh

    def issue_authorization_code(self) -> str:
        """A single-use code, as the consent page would show it."""
        code = secrets.token_urlsafe(6)
        with self._lock:
            self._codes[code] = time.time() + CODE_LIFETIME_S
        return code

    def expire_refresh_token(self, token: str) -> None:
        """Make a refresh token dead, as if it expired or was revoked."""
        claims = self._claims(token)
        with self._lock:
            self._refresh_jtis.discard(claims.get("jti", ""))

    def refresh_token_valid(self, token: str) -> bool:
        claims = self._claims(token)
        with self._lock:
            usable = claims.get("jti") in self._refresh_jtis
        return usable and claims.get("typ") == "refresh" and claims["exp"] > time.time()

    def access_token_valid(self, token: str) -> bool:
        claims = self._claims(token)
        return claims.get("typ") == "access" and claims.get("exp", 0) > time.time()

    def _jwt(self, kind: str, expires_in: int) -> str:
        now = int(time.time())
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "aud": [self.client_id],
            "user_name": "sandbox@example.com",
            "enl_uid": USER_ID,
            "enl_cid": "5",
            "iat": now,
            "exp": now + expires_in,
            "jti": str(uuid.uuid4()),
            "client_id": self.client_id,
            "typ": kind,
            "scope": ["read", "write"],
        }
        signing_input = ".".join(_b64url(json.dumps(p).encode()) for p in (header, claims))
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(signature)}"

    def _claims(self, token: str) -> dict[str, Any]:
        """The token's claims when its signature is ours, else {}."""
        try:
            signing_input, signature = token.rsplit(".", 1)
            expected = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64url(signature)):
                return {}
            claims = json.loads(_unb64url(signing_input.split(".")[1]))
        except (ValueError, IndexError):
            return {}
        return claims if isinstance(claims, dict) else {}

    # ----- faults and call log -----

    def inject_fault(
        self,
        path_contains: str,
        status: int,
        *,
        count: int = 1,
        body: str | None = None,
        delay: float = 0.0,
        period_end_in: int | None = None,
    ) -> None:
        """Answer the next `count` requests whose path contains the string with this.

        body=MALFORMED answers 200 with a body that is not JSON; status 200 without a body
        answers normally after `delay` (a slow answer).
        """
        with self._lock:
            self._faults.append(_Fault(path_contains, status, count, body, delay, period_end_in))

    @property
    def calls(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._calls)

    def count(self, path_contains: str) -> int:
        return sum(path_contains in path for _, path in self.calls)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains in path and fault.count > 0:
                    fault.count -= 1
                    return fault
        return None

    def _fault_reply(self, fault: _Fault) -> Reply | None:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.body == MALFORMED:
            return Reply(200, b'{"micro_inverters": [{"serial_number": "48', "application/json")
        if fault.body is not None:
            return Reply(fault.status, fault.body.encode(), _content_type(fault.body))
        if fault.status == 429:
            return self._too_many(fault.period_end_in)
        return None if fault.status == 200 else error_reply(fault.status)

    def _too_many(self, period_end_in: int | None) -> Reply:
        """429 with the quota fields; no Retry-After header, as the real API."""
        now = int(time.time())
        end = now - now % 60 + 60 if period_end_in is None else now + period_end_in
        minute = end - now <= 60
        per_minute, per_month = PLAN_LIMITS[self.plan]
        return error_reply(
            429,
            f"Usage limit exceeded for plan {self.plan.capitalize()}",
            period="minute" if minute else "month",
            period_start=end - 60 if minute else now - 30 * 86400,
            period_end=end,
            limit=per_minute if minute else per_month,
        )

    # ----- dispatch -----

    def handle(self, req: _Request) -> Reply:
        """Answer one request (runs on the server's threads)."""
        if req.path.startswith("/_sandbox/"):
            return self._control(req)
        with self._lock:
            self._calls.append((req.method, req.path))
        fault = self._take_fault(req.path)
        if fault is not None:
            faulted = self._fault_reply(fault)
            if faulted is not None:
                return faulted
        return self._route(req)

    def _route(self, req: _Request) -> Reply:
        methods_seen = False
        for method, pattern, route in self._routes:
            match = pattern.fullmatch(req.path)
            if match is None:
                continue
            methods_seen = True
            if method == req.method:
                return self._guarded(route, req, match)
        if methods_seen:
            return json_reply(405, {"reason": "405", "message": ["Method not allowed"]})
        return error_reply(404, f"No route for {req.path}")

    def _guarded(self, route: Route, req: _Request, match: re.Match[str]) -> Reply:
        """Data calls need a live access token, the app's API key and quota."""
        if req.path.startswith("/api/"):
            denied = self._check_data_auth(req)
            if denied is not None:
                return denied
        return route(req, match)

    def _check_data_auth(self, req: _Request) -> Reply | None:
        auth = req.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not self.access_token_valid(token):
            return error_reply(401)
        if req.params.get("key", req.headers.get("key")) != self.api_key:
            return error_reply(401, "API Key - Client mismatch")
        if self.enforce_rate_limit and not self._within_minute_quota():
            return self._too_many(None)
        return None

    def _within_minute_quota(self) -> bool:
        now = time.time()
        with self._lock:
            self._minute_calls = [t for t in self._minute_calls if t > now - 60]
            if len(self._minute_calls) >= PLAN_LIMITS[self.plan][0]:
                return False
            self._minute_calls.append(now)
        return True

    # ----- OAuth -----

    def _oauth_token(self, req: _Request, _: re.Match[str]) -> Reply:
        if not self._client_authenticated(req.headers.get("authorization", "")):
            return oauth_error(401, "unauthorized", "Bad client credentials")
        grant = req.params.get("grant_type")
        if grant == "authorization_code":
            return self._exchange_code(req.params)
        if grant == "refresh_token":
            return self._exchange_refresh(req.params.get("refresh_token", ""))
        return oauth_error(400, "unsupported_grant_type", "Unsupported grant type")

    def _client_authenticated(self, auth: str) -> bool:
        if not auth.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except ValueError:
            return False
        return hmac.compare_digest(f"{user}:{password}", f"{self.client_id}:{self.client_secret}")

    def _exchange_code(self, params: dict[str, str]) -> Reply:
        if params.get("redirect_uri") != self.redirect_uri:
            return oauth_error(400, "invalid_grant", "Redirect URI mismatch")
        with self._lock:
            expires = self._codes.pop(params.get("code", ""), 0.0)
        if expires < time.time():
            return oauth_error(401, "invalid_grant", "Invalid or already used authorization code")
        return self._token_response()

    def _exchange_refresh(self, token: str) -> Reply:
        if not self.refresh_token_valid(token):
            return oauth_error(401, "invalid_grant", "Invalid refresh token (expired or revoked)")
        self.expire_refresh_token(token)  # rotation: the old refresh token dies at once
        return self._token_response()

    def _token_response(self) -> Reply:
        access, refresh = self.issue_tokens()
        return json_reply(
            200,
            {
                "access_token": access,
                "token_type": "bearer",
                "refresh_token": refresh,
                "expires_in": self.access_token_lifetime - 1,
                "scope": "read write",
                "enl_uid": USER_ID,
                "enl_cid": "5",
                "enl_password_last_changed": "1638870641",
                "is_internal_app": False,
                "app_type": "system",
                "jti": self._claims(access)["jti"],
            },
        )

    def _oauth_authorize(self, req: _Request, _: re.Match[str]) -> Reply:
        params = req.params
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return Reply(
                400,
                b"<html><body><p>Invalid client or response type.</p></body></html>",
                "text/html",
            )
        code = self.issue_authorization_code()
        page = (
            "<html><head><title>Enlighten sandbox</title></head><body>"
            "<p>Sandbox homeowner approved the application.</p>"
            f'<p>Authorization code: <code id="code">{code}</code></p></body></html>'
        )
        return Reply(200, page.encode(), "text/html; charset=utf-8")

    # ----- systems -----

    def _system_body(self) -> dict[str, Any]:
        site = self.site
        now = self.sim_now
        last = site.last_report(now)
        start = site.days()[0]
        operational = int(datetime(start.year, start.month, start.day, tzinfo=site.tz).timestamp())
        dead = any(r["status"] == "micro" for r in site.inverter_records(now))
        return {
            "system_id": site.system_id,
            "name": site.name,
            "public_name": "Residential System",
            "timezone": site.timezone,
            "address": {
                "city": site.timezone.rsplit("/", 1)[-1].replace("_", " "),
                "state": None,
                "country": None,
                "postal_code": None,
            },
            "connection_type": "wifi",
            "energy_lifetime": -1,
            "energy_today": -1,
            "system_size": -1,
            "status": "micro" if dead else "normal",
            "last_report_at": int(last.timestamp()) if last else None,
            "last_energy_at": int(last.timestamp()) if last else None,
            "operational_at": operational,
            "attachment_type": "rack_mount",
            "interconnect_date": start.isoformat(),
        }

    def _systems(self, req: _Request, _: re.Match[str]) -> Reply:
        """The one system, paged as documented: ``page`` default 1, ``size`` 1 to 100
        (default 10); the answer names the page and size it served."""
        page, size = _int_param(req.params, "page", 1), _int_param(req.params, "size", 10)
        if page is None or size is None or page < 1 or not 1 <= size <= 100:
            return error_reply(422, "Invalid request because of 'page' or 'size'")
        systems = [self._system_body()][(page - 1) * size : page * size]
        return json_reply(
            200,
            {
                "total": 1,
                "current_page": page,
                "size": size,
                "count": len(systems),
                "items": "systems",
                "systems": systems,
            },
        )

    def _system(self, req: _Request, match: re.Match[str]) -> Reply:
        if int(match.group(1)) != self.site.system_id:
            return error_reply(404, f'System not found for {{:id=>"{match.group(1)}"}}')
        return json_reply(200, self._system_body())

    def _inverters_summary(self, req: _Request, _: re.Match[str]) -> Reply:
        site_id, envoy = req.params.get("site_id"), req.params.get("envoy_serial_number")
        if not site_id and not envoy:
            return error_reply(422, "Envoy serial number or Site id mandatory")
        if site_id and site_id != str(self.site.system_id):
            return error_reply(404, f'System not found for {{:id=>"{site_id}"}}')
        page, size = _int_param(req.params, "page", 1), _int_param(req.params, "size", 10)
        if page is None or size is None or page < 1 or not 1 <= size <= 100:
            return error_reply(422, "Invalid request because of 'page' or 'size'")
        if self.page_size_cap is not None:
            size = min(size, self.page_size_cap)
        records = self.site.inverter_records(self.sim_now)
        if envoy:
            records = [r for r in records if r["envoy_serial_number"] == envoy]
        chunk = records[(page - 1) * size : page * size]
        return json_reply(200, self.site.group_by_envoy(chunk))

    def _energy_lifetime(self, req: _Request, match: re.Match[str]) -> Reply:
        if int(match.group(1)) != self.site.system_id:
            return error_reply(404, f'System not found for {{:id=>"{match.group(1)}"}}')
        now = self.sim_now
        today = now.astimezone(self.site.tz).date()
        first = self.site.days()[0]
        start = _date_param(req.params, "start_date", first)
        end = _date_param(req.params, "end_date", today - timedelta(days=1))
        if start is None or end is None or end < start:
            return error_reply(422, "Invalid request because of 'start_date' or 'end_date'")
        start = max(start, first)  # the series begins at the operational date
        production = [
            self._day_production(start + timedelta(days=k), today, now)
            for k in range((min(end, today) - start).days + 1)
        ]
        body = self._system_body()
        meta = {
            key: body[key]
            for key in ("status", "last_report_at", "last_energy_at", "operational_at")
        }
        return json_reply(
            200,
            {
                "system_id": self.site.system_id,
                "start_date": start.isoformat(),
                "production": production,
                "meta": meta,
            },
        )

    def _day_production(self, day: date, today: date, now: datetime) -> int:
        if day < today:
            return self.site.system_daily_production(day)
        return self.site.system_production_so_far(day, now)

    def _micro_telemetry(self, req: _Request, match: re.Match[str]) -> Reply:
        site = self.site
        if int(match.group(1)) != site.system_id:
            return error_reply(404, f'System not found for {{:id=>"{match.group(1)}"}}')
        if self.plan not in PAID_PLANS:
            return error_reply(401)
        serial = match.group(2)
        if serial not in site.panel_of:
            return error_reply(404, f'Micro not found for {{:id=>"{serial}"}}')
        granularity = req.params.get("granularity", "day")
        if granularity not in TELEMETRY_SPANS:
            return error_reply(422, "Invalid request because of 'granularity'")
        now = self.sim_now
        today = now.astimezone(site.tz).date()
        begun = self._telemetry_start(req.params, today)
        if begun is None:
            return error_reply(422, "Invalid request because of 'start_at' or 'start_date'")
        begin, echo = begun
        days = self.telemetry_week_days if granularity == "week" else TELEMETRY_SPANS[granularity]
        # The documented end: min(now, start + granularity), in the system's local days.
        end = min(now, begin + timedelta(days=days))  # wall-clock days in the site's zone
        intervals = self._intervals(serial, begin, end)
        return json_reply(
            200,
            {
                "system_id": site.system_id,
                "serial_number": serial,
                "granularity": granularity,
                "total_devices": 1,
                **echo,
                "end_at": int(end.timestamp()),
                "items": "intervals",
                "intervals": intervals,
            },
        )

    def _telemetry_start(
        self, params: dict[str, str], today: date
    ) -> tuple[datetime, dict[str, Any]] | None:
        """Where a telemetry answer starts, and how it echoes that; None if unreadable."""
        site = self.site
        first = _midnight(site, site.days()[0])
        if "start_at" in params:
            at = _int_param(params, "start_at", 0)
            if at is None:
                return None
            begin = max(datetime.fromtimestamp(at, tz=site.tz), first)
            return begin, {"start_at": int(begin.timestamp())}
        day = _date_param(params, "start_date", today)
        if day is None:
            return None
        return max(_midnight(site, day), first), {"start_date": day.isoformat()}

    def _intervals(self, serial: str, begin: datetime, end: datetime) -> list[dict[str, int]]:
        """The micro's 5-minute intervals ending in (begin, end], daylight only.

        Each interval's ``enwh`` is what the micro made in it (the site's sine-shaped day),
        so a day's intervals sum exactly to its truth once the day is over.
        """
        site = self.site
        out: list[dict[str, int]] = []
        day = begin.astimezone(site.tz).date()
        while _midnight(site, day) < end:
            minute = FIRST_REPORT_MIN + TELEMETRY_STEP_MIN
            before = 0
            while minute <= LAST_REPORT_MIN:
                at = datetime(
                    day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=site.tz
                )
                minute += TELEMETRY_STEP_MIN
                if at > end:
                    break
                daily = site.truth_daily(serial, day)
                if daily is None:
                    break  # not installed that day
                so_far = _produced_by(daily, minute - TELEMETRY_STEP_MIN)
                energy, before = so_far - before, so_far
                if at <= begin:
                    continue
                out.append(
                    {
                        "end_at": int(at.timestamp()),
                        "powr": round(energy * 60 / TELEMETRY_STEP_MIN),
                        "enwh": energy,
                    }
                )
            day += timedelta(days=1)
        return out

    # ----- control endpoints for a job in another process -----

    def _control(self, req: _Request) -> Reply:
        handlers: dict[tuple[str, str], Callable[[_Request], Reply]] = {
            ("POST", "/_sandbox/time"): self._control_time,
            ("GET", "/_sandbox/time"): lambda _: json_reply(200, {"now": self.sim_now.isoformat()}),
            ("POST", "/_sandbox/fault"): self._control_fault,
            ("GET", "/_sandbox/calls"): lambda _: json_reply(200, {"calls": self.calls}),
            ("POST", "/_sandbox/reset_calls"): self._control_reset_calls,
            ("POST", "/_sandbox/code"): lambda _: json_reply(
                200, {"code": self.issue_authorization_code()}
            ),
            ("POST", "/_sandbox/tokens"): self._control_tokens,
            ("POST", "/_sandbox/expire_refresh_token"): self._control_expire,
        }
        handler = handlers.get((req.method, req.path))
        if handler is None:
            return error_reply(404, f"No sandbox control at {req.method} {req.path}")
        try:
            return handler(req)
        except (KeyError, ValueError, TypeError) as exc:
            return error_reply(422, f"Bad control request: {exc.__class__.__name__}")

    def _control_time(self, req: _Request) -> Reply:
        self.set_sim_time(datetime.fromisoformat(req.params["now"]))
        return json_reply(200, {"now": self.sim_now.isoformat()})

    def _control_fault(self, req: _Request) -> Reply:
        p = req.params
        self.inject_fault(
            p["path_contains"],
            int(p["status"]),
            count=int(p.get("count", 1)),
            body=p.get("body"),
            delay=float(p.get("delay", 0.0)),
            period_end_in=int(p["period_end_in"]) if p.get("period_end_in") else None,
        )
        return json_reply(200, {"queued": True})

    def _control_reset_calls(self, _: _Request) -> Reply:
        self.reset_calls()
        return json_reply(200, {"calls": []})

    def _control_tokens(self, req: _Request) -> Reply:
        p = req.params
        access, refresh = self.issue_tokens(
            access_expires_in=int(p["access_expires_in"]) if "access_expires_in" in p else None,
            refresh_expires_in=int(p["refresh_expires_in"]) if "refresh_expires_in" in p else None,
        )
        return json_reply(200, {"access_token": access, "refresh_token": refresh})

    def _control_expire(self, req: _Request) -> Reply:
        self.expire_refresh_token(req.params["refresh_token"])
        return json_reply(200, {"expired": True})


def _produced_by(daily: int, minute: int) -> int:
    """Wh made by ``minute`` (of the local day) on a day of ``daily`` Wh, as the site's curve."""
    if minute >= LAST_REPORT_MIN:
        return daily
    share = (minute - FIRST_REPORT_MIN) / (LAST_REPORT_MIN - FIRST_REPORT_MIN)
    return math.floor(daily * (1 - math.cos(math.pi * share)) / 2)


def _midnight(site: SimulatedSite, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=site.tz)


def _content_type(body: str) -> str:
    try:
        json.loads(body)
    except ValueError:
        return "text/html"
    return "application/json"


def _int_param(params: dict[str, str], name: str, default: int) -> int | None:
    try:
        return int(params.get(name, default))
    except ValueError:
        return None


def _date_param(params: dict[str, str], name: str, default: date) -> date | None:
    if name not in params:
        return default
    try:
        return date.fromisoformat(params[name])
    except ValueError:
        return None


def _param_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class _Server(LoopbackServer):
    emulator: EnlightenEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a slow answer closes the socket: expected, not news.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(QuietHandler):
    server: _Server

    def do_DELETE(self) -> None:  # noqa: N802 - http.server names its methods so
        self._serve()

    def _serve(self) -> None:
        reply = self.server.emulator.handle(self._parse())
        self.send_reply(reply.status, reply.content_type, reply.body)

    def _parse(self) -> _Request:
        """Query and body parameters merged: OAuth clients send either; control calls send JSON."""
        # the raw target: http.server folds a leading "//", the real API answers it with 404
        target = self.requestline.split(" ")[1] if " " in self.requestline else self.path
        path, _, query = target.partition("?")
        params = dict(parse_qsl(query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if raw.lstrip().startswith("{"):
            with contextlib.suppress(ValueError, AttributeError):
                params.update(
                    {k: _param_text(v) for k, v in json.loads(raw).items() if v is not None}
                )
        elif raw:
            params.update(parse_qsl(raw))
        headers = {k.lower(): v for k, v in self.headers.items()}
        return _Request(self.command, path, params, headers)
