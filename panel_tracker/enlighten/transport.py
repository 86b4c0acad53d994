"""The one request path to the Enlighten API: retries as a value, quota waits, error mapping.

Every call, data or token, goes through ``Transport.send``: it applies the timeout, retries
what is transient (``RetryPolicy``: connection errors and the statuses it names, with
exponential backoff), waits once for a 429 whose quota resets soon, and hands back whatever
status came last. ``Transport.data_call`` adds the API key and the bearer token of a
``TokenSource`` (``oauth.EnlightenOAuth``), refreshes once on a 401, and turns a failure
into one of the errors of ``enlighten.errors``, with the fix in ``hint``. Waits and the
clock are injected, so tests run in milliseconds and count attempts.

Secrets never reach a message: every text quoted from a server or from ``requests`` is
redacted by value (the ``secrets`` callable: API key, client secret, every token this
client has held) and by shape (``key=``, bearer headers), and a URL is quoted without its
query or user part.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

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
from .models import rate_limit_reset

logger = logging.getLogger(__name__)

_MAX_BODY_QUOTE = 200
# The useful words in urllib3's long story of a failed connection.
_OS_ERROR = re.compile(
    r"\[Errno -?\d+\] [^)\"'\]]+|Connection reset by peer"
    r"|Remote end closed connection without response|IncompleteRead\([^)]*\)"
)
# An answer whose body was cut off: as transient as a dropped connection.
_CUT_SHORT = requests.exceptions.ChunkedEncodingError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one logical call tries, as a value (cf. urllib3's ``Retry`` in requests).

    ``attempts`` counts the first try; the n-th retry waits ``backoff_seconds * 2**(n-1)``.
    A 429 is waited out once when its quota resets within ``max_quota_wait`` seconds.
    """

    attempts: int = 4
    backoff_seconds: float = 2.0
    retry_statuses: frozenset[int] = frozenset(range(500, 600))
    max_quota_wait: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be 1 or more, not {self.attempts}")

    @property
    def retries(self) -> int:
        return self.attempts - 1

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        return self.backoff_seconds * float(2 ** (retry - 1))


class TokenSource(Protocol):
    """What a data call needs of the OAuth side (``oauth.EnlightenOAuth`` fits)."""

    @property
    def access_token(self) -> str | None: ...
    def ensure_fresh(self) -> None: ...
    def refresh(self) -> object: ...


def safe_url(url: str) -> str:
    """``url`` fit for a message: no query string, no user or password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def never_reached_server(exc: requests.RequestException) -> bool:
    """True when the request certainly was not received (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
    )


def error_detail(response: requests.Response) -> str:
    """The server's own words, from any v4 error shape (``message``/``details``,
    ``reason``/``message`` list, ``errorMessages`` list) or whatever text came back.

    Not shortened here: redaction must see a whole secret before the text is cut.
    """
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())
    if isinstance(body, Mapping):
        parts: list[str] = []
        for key in ("message", "details", "reason", "errorMessages"):
            value = body.get(key)
            if isinstance(value, list):
                value = "; ".join(str(item) for item in value)
            if value not in (None, "") and str(value) not in parts:
                parts.append(str(value))
        return ": ".join(parts)
    return " ".join(str(body).split())


def _reset_of(response: requests.Response) -> datetime | None:
    try:
        return rate_limit_reset(response.json())
    except ValueError:
        return None


class Transport:
    """One ``requests.Session`` to one API base URL; counts its calls by kind."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        secrets: Callable[[], Iterable[str]] = list,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._api_key = api_key
        self._secrets = secrets
        self._sleep = sleep
        self._clock = clock
        self._session = session or requests.Session()
        self.api_calls: Counter[str] = Counter()

    # --- redaction ------------------------------------------------------------------------
    def redact(self, text: str, extra: Iterable[str] = ()) -> str:
        return redact(text, [self._api_key, *self._secrets(), *extra])

    def quote(self, text: str, extra: Iterable[str] = (), *, limit: int = _MAX_BODY_QUOTE) -> str:
        """Server text fit for a message: redacted first, then shortened."""
        text = self.redact(text, extra)
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def fail(
        self,
        kind: type[EnlightenError],
        message: str,
        *,
        hint: str | None = None,
        extra: Iterable[str] = (),
        **details: Any,
    ) -> EnlightenError:
        """An error of ``kind`` whose message and hint are both redacted."""
        secrets = list(extra)
        return kind(
            self.redact(message, secrets),
            hint=None if hint is None else self.redact(hint, secrets),
            **details,
        )

    # --- the data call ----------------------------------------------------------------------
    def data_call(
        self,
        method: str,
        path: str,
        *,
        tokens: TokenSource,
        params: Mapping[str, Any] | None = None,
        what: str,
        plan_call: bool = False,
        not_found_hint: str | None = None,
    ) -> Any:
        """A data call: fresh token first, one refresh and retry on 401, JSON back.

        On a ``plan_call`` (per-micro telemetry) a 401 means "not on this plan" only once the
        token is known good: a revoked grant fails the refresh (an ``AuthError`` saying to
        authorize again), a key of another app says "mismatch"; a 401 to the retry with a
        freshly issued token is the plan's (``PlanNotAllowedError``).
        """
        tokens.ensure_fresh()
        response = self._data_send(method, path, tokens, params, what)
        if response.status_code == 401:
            self._refuse_401(response, what)
            logger.info("Enlighten: the access token was refused; refreshing once")
            tokens.refresh()
            response = self._data_send(method, path, tokens, params, what)
            if response.status_code == 401:
                self._refuse_401(response, what)
                if plan_call:
                    raise self._not_on_plan(response, what)
        if not response.ok:
            raise self.error(response, what, not_found_hint=not_found_hint)
        return self.json(response, what)

    def _data_send(
        self,
        method: str,
        path: str,
        tokens: TokenSource,
        params: Mapping[str, Any] | None,
        what: str,
    ) -> requests.Response:
        query = {**(params or {}), "key": self._api_key}
        headers = {"Authorization": f"Bearer {tokens.access_token}"} if tokens.access_token else {}
        return self.send(method, path, params=query, headers=headers, kind="data", what=what)

    def _refuse_401(self, response: requests.Response, what: str) -> None:
        """Raise for a 401 that a new access token would not cure."""
        if "mismatch" in error_detail(response).lower():
            # "API Key - Client mismatch": a new token would be refused just the same.
            raise self.fail(
                AuthError,
                f"Enlighten {what} failed (HTTP 401: API Key - Client mismatch)",
                hint="app_api_key is not the API key of the application whose client id and "
                "tokens the config holds; copy the API key of that same application",
                status=401,
            )

    def _not_on_plan(self, response: requests.Response, what: str) -> EnlightenError:
        """A 401 to a freshly issued token on a paid-plan call: the plan lacks it."""
        return self.fail(
            PlanNotAllowedError,
            f"Enlighten refused the {what} (HTTP 401: {self.quote(error_detail(response))})",
            hint="per-micro telemetry needs a paid plan (Kilowatt or above); the free Watt "
            "plan answers 401 even to a freshly issued token",
            status=401,
        )

    # --- one logical call, with retries -------------------------------------------------------
    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        kind: str,
        what: str,
        auth: tuple[str, str] | None = None,
        extra_secrets: Iterable[str] = (),
    ) -> requests.Response:
        """One logical call with bounded retries of what is transient; any status comes back.

        ``kind`` "token" marks a call that must not be repeated once the server may have
        received it: a refresh the server performed has already rotated the token.
        """
        url = self.base_url + path.lstrip("/")
        sent_headers = {"Accept": "application/json", **(headers or {})}
        retries = 0
        waited_for_quota = False
        while True:
            self.api_calls[kind] += 1
            logger.debug("%s /%s (%s, attempt %d)", method, path.lstrip("/"), what, retries + 1)
            try:
                response = self._session.request(
                    method,
                    url,
                    params=dict(params or {}),
                    headers=sent_headers,
                    auth=auth,
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout, _CUT_SHORT) as exc:
                self._raise_if_token_answer_lost(kind, exc, what)
                if retries < self.retry.retries:
                    retries += 1
                    self._backoff(retries, f"{what}: {_problem(exc)}")
                    continue
                raise self._network_error(exc, what, retries + 1, extra_secrets) from None
            except requests.RequestException as exc:
                raise self.fail(
                    NetworkError,
                    f"Enlighten {what}: {type(exc).__name__}: {exc}",
                    extra=extra_secrets,
                ) from None
            logger.debug("%s /%s -> HTTP %d", method, path.lstrip("/"), response.status_code)
            if response.status_code in self.retry.retry_statuses and retries < self.retry.retries:
                retries += 1
                self._backoff(retries, f"{what}: HTTP {response.status_code}")
                continue
            if response.status_code == 429 and not waited_for_quota:
                wait = self.quota_wait(response)
                if wait is not None:
                    waited_for_quota = True
                    logger.info("Enlighten: rate limited; waiting %.0f s for the quota", wait)
                    self._sleep(wait)
                    continue
            return response

    def _raise_if_token_answer_lost(
        self, kind: str, exc: requests.RequestException, what: str
    ) -> None:
        """A token call the server may have received: raise, never send the old token again."""
        if kind == "token" and not never_reached_server(exc):
            # The server may have rotated the refresh token already; sending the old one
            # again would only get it refused. The next run tries again.
            raise NetworkError(
                f"Enlighten {what}: the answer was lost ({_problem(exc)})",
                hint="run again; if the next run says the refresh token was refused, "
                f"{AUTHORIZE_HINT}",
            ) from None

    def _network_error(
        self, exc: requests.RequestException, what: str, attempts: int, extra: Iterable[str]
    ) -> EnlightenError:
        return self.fail(
            NetworkError,
            f"Enlighten {what}: {_problem(exc)} after {attempts} attempts "
            f"({self._connection_reason(exc)})",
            hint=f"check the network and api_url ({safe_url(self.base_url)})",
            extra=extra,
        )

    def _connection_reason(self, exc: requests.RequestException) -> str:
        """The useful end of urllib3's long story, e.g. ``[Errno 111] Connection refused``."""
        if isinstance(exc, requests.Timeout):
            return f"no answer within {self.timeout:g} s"
        found = _OS_ERROR.search(str(exc))
        return found.group(0) if found else type(exc).__name__

    def _backoff(self, retry: int, reason: str) -> None:
        wait = self.retry.backoff(retry)
        logger.info(
            "Enlighten %s; retry %d of %d in %.1f s", reason, retry, self.retry.retries, wait
        )
        self._sleep(wait)

    def quota_wait(self, response: requests.Response) -> float | None:
        """Seconds to wait for a 429's ``period_end`` (plus 1), or None if too long or unknown."""
        resets_at = _reset_of(response)
        if resets_at is None:
            return None
        wait = resets_at.timestamp() - self._clock()
        if wait > self.retry.max_quota_wait:
            return None
        return max(wait, 0.0) + 1.0

    # --- answers ------------------------------------------------------------------------------
    def json(self, response: requests.Response, what: str, extra: Iterable[str] = ()) -> Any:
        try:
            return response.json()
        except ValueError:
            start = self.quote(" ".join(response.text.split()), extra, limit=80)
            raise self.fail(
                BadResponseError,
                f"Enlighten {what}: the answer is not JSON (HTTP {response.status_code}, "
                f"starts {start!r})",
                extra=extra,
                status=response.status_code,
            ) from None

    def error(
        self,
        response: requests.Response,
        what: str,
        extra: Iterable[str] = (),
        *,
        not_found_hint: str | None = None,
    ) -> EnlightenError:
        """The error for a failed answer: what the server said, and what to do."""
        status = response.status_code
        extra = list(extra)
        detail = self.quote(error_detail(response), extra)
        said = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
        head = f"Enlighten {what} failed ({said})"
        if status in (401, 403):
            return self.fail(
                AuthError,
                f"{head}: the API key or the access token was rejected",
                hint="check that app_api_key belongs to the same app as the tokens, else "
                f"{AUTHORIZE_HINT}",
                extra=extra,
                status=status,
            )
        if status == 404:
            return self.fail(NotFoundError, head, hint=not_found_hint, extra=extra, status=status)
        if status == 429:
            return self._rate_limited(response, head, extra)
        if status >= 500:
            tries = self.retry.attempts if status in self.retry.retry_statuses else 1
            return self.fail(
                ServerError,
                f"{head} after {tries} attempt(s); Enphase's service is having trouble",
                hint="try again later",
                extra=extra,
                status=status,
            )
        return self.fail(EnlightenError, head, extra=extra, status=status)

    def _rate_limited(
        self, response: requests.Response, head: str, extra: list[str]
    ) -> EnlightenError:
        resets_at = _reset_of(response)
        when = (
            f"the quota resets at {resets_at.astimezone().isoformat(timespec='seconds')} "
            "(local time)"
            if resets_at
            else "try again later"
        )
        return self.fail(
            RateLimitError,
            f"{head}: API quota used up ({WATT_PLAN_LIMITS})",
            hint=when,
            extra=extra,
            resets_at=resets_at,
        )


def _problem(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, _CUT_SHORT):
        return "the answer was cut short"
    return "could not connect" if never_reached_server(exc) else "the connection was dropped"
