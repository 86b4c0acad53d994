"""Talking to the Sheets v4 API: one service per run, bounded retries, errors a user can act on.

Everything that goes over the wire passes through ``SheetsClient._execute``, which counts
the call, retries 429, 5xx and connection failures with exponential backoff (``num_retries``
more tries; the sleep is injected, so tests take milliseconds) and turns every failure,
whatever its body (JSON, an HTML page from a proxy, nothing), into one ``SheetsError`` line.
The push (``push.py``) and the layout (``layout.py``) never see an ``HttpError``.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import PanelTrackerError

logger = logging.getLogger(__name__)

DEFAULT_RETRIES = 4  # after the first try; googleapiclient waits rand() * 2**n seconds before each
SNIPPET_CHARS = 200


class SheetsError(PanelTrackerError):
    """A Google Sheets call failed; the history is already saved and the next run heals."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class SheetsRangeError(SheetsError):
    """A 400 for a range the spreadsheet does not have (a sheet or a named range is missing)."""


class GoogleAuthError(SheetsError):
    """The Google credentials cannot be used (expired, revoked, unreadable)."""


class GoogleAuthSetupError(GoogleAuthError):
    """No usable Google credentials are set up: the user must do something once (exit 2)."""

    exit_code = 2


def open_client(
    credentials: Any, *, timeout: float, api_url: str | None = None, **options: Any
) -> SheetsClient:
    """The client over a new service for ``credentials`` (see ``sheets.auth``), once per run."""
    service = build_service(credentials, timeout=timeout, api_url=api_url)
    return SheetsClient(service, where=sheets_where(api_url), credentials=credentials, **options)


def credential_secrets(credentials: Any) -> list[str]:
    """The values of a Google credential to redact from every log line and message."""
    names = ("token", "refresh_token", "client_secret")
    values = (getattr(credentials, name, None) for name in names)
    return [v for v in values if isinstance(v, str) and len(v) >= 4]


def error_detail(content: bytes | str | None) -> str:
    """The message inside Google's error body, or a short plain-text snippet of any other body."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content or ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):  # the OAuth endpoints: {"error": "invalid_grant", ...}
            return str(body.get("error_description") or error)
    plain = re.sub(r"<[^>]+>", " ", text)
    plain = re.sub(r"\s+", " ", plain).strip()
    return plain[:SNIPPET_CHARS] or "(empty answer)"


# Answers worth another try: quota (429) and the server's own trouble (5xx).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_BACKOFF_SECONDS = 1.0


class SheetsClient:
    """The Sheets v4 calls the project makes, over one ``googleapiclient`` service."""

    def __init__(
        self,
        service: Any,
        *,
        num_retries: int = DEFAULT_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        where: str = "Google Sheets",
        credentials: Any | None = None,
    ) -> None:
        self.service = service
        self.credentials = credentials  # kept for redaction: its tokens must never be shown
        self.num_retries = num_retries
        self.sleep = sleep
        self.where = where
        self.calls = 0

    def secrets(self) -> list[str]:
        """The credential's current tokens (a refresh during the run changes them)."""
        return credential_secrets(self.credentials) if self.credentials is not None else []

    # ----- the calls -----

    def get(
        self,
        spreadsheet_id: str,
        *,
        fields: str,
        ranges: Sequence[str] = (),
        include_grid_data: bool = False,
    ) -> dict[str, Any]:
        request = self.service.spreadsheets().get(
            spreadsheetId=spreadsheet_id,
            ranges=list(ranges) or None,
            includeGridData=include_grid_data,
            fields=fields,
        )
        return self._execute(request, "read", spreadsheet_id)

    def batch_update(self, spreadsheet_id: str, requests: list[dict[str, Any]]) -> dict[str, Any]:
        request = self.service.spreadsheets().batchUpdate(
            spreadsheetId=spreadsheet_id, body={"requests": requests}
        )
        return self._execute(request, "write", spreadsheet_id)

    def create(self, body: dict[str, Any], *, fields: str) -> dict[str, Any]:
        request = self.service.spreadsheets().create(body=body, fields=fields)
        return self._execute(request, "create", None)

    # ----- the one place calls go through -----

    def _execute(self, request: Any, what: str, spreadsheet_id: str | None) -> dict[str, Any]:
        from google.auth.exceptions import GoogleAuthError as LibraryAuthError  # noqa: PLC0415
        from google.auth.exceptions import RefreshError  # noqa: PLC0415
        from googleapiclient.errors import HttpError  # noqa: PLC0415
        from httplib2 import HttpLib2Error  # noqa: PLC0415

        self.calls += 1
        logger.debug("Sheets %s (%s)", what, spreadsheet_id or "new spreadsheet")
        for attempt in range(self.num_retries + 1):
            if attempt:
                self.sleep(RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))
            last_try = attempt == self.num_retries
            try:
                result = request.execute(num_retries=0)  # the retries are ours, on our sleep
            except HttpError as exc:
                status = int(getattr(exc.resp, "status", 0) or 0)
                if status in RETRY_STATUSES and not last_try:
                    logger.debug("Sheets %s: HTTP %s, trying again", what, status)
                    continue
                raise self._http_error(exc, what, spreadsheet_id) from None
            except RefreshError as exc:
                raise refresh_failure(exc) from None
            except LibraryAuthError as exc:  # e.g. the token endpoint cannot be reached
                raise GoogleAuthError(
                    f"cannot get a Google access token: {error_detail(str(exc))}"
                ) from None
            except (HttpLib2Error, OSError) as exc:  # timeouts are OSErrors too
                if not last_try:
                    logger.debug("Sheets %s: %s, trying again", what, type(exc).__name__)
                    continue
                raise SheetsError(
                    f"cannot reach {self.where} ({type(exc).__name__}: {exc})",
                    hint="check the network and sheets_api_url; the next run fills the sheet",
                ) from None
            return result if isinstance(result, dict) else {}
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _http_error(self, exc: Any, what: str, spreadsheet_id: str | None) -> SheetsError:
        status = int(getattr(exc.resp, "status", 0) or 0)
        detail = error_detail(getattr(exc, "content", b""))
        target = f"spreadsheet {spreadsheet_id}" if spreadsheet_id else "a new spreadsheet"
        after = f" after {self.num_retries + 1} tries" if status == 429 or status >= 500 else ""
        hint: str | None = None
        if status == 404:
            message = f"{target} was not found (HTTP 404)"
            hint = (
                "check spreadsheet_id in the config and that the spreadsheet is shared with "
                "the Google account the tool uses"
            )
        elif status == 403:
            message = f"no permission to {what} {target} (HTTP 403: {detail})"
            hint = "share it with the Google account or service account the tool uses (as Editor)"
        elif status == 401:
            return GoogleAuthError(
                f"Google rejected the credentials (HTTP 401: {detail})",
                status=status,
                hint="authorize again (delete token.json and run populate_google_sheet.py by hand)",
            )
        elif status == 429:
            message = f"Google Sheets quota exceeded{after} (HTTP 429: {detail})"
            hint = "wait for the quota to reset; the next run fills the sheet"
        elif status >= 500:
            message = f"{self.where} failed{after} (HTTP {status}: {detail})"
            hint = "the next run fills the sheet"
        else:
            message = f"{self.where} refused the {what} of {target} (HTTP {status}: {detail})"
        if status == 400 and detail.startswith("Unable to parse range"):
            return SheetsRangeError(message, status=status)
        return SheetsError(message, status=status, hint=hint)


def refresh_failure(exc: Exception) -> GoogleAuthError:
    """A failed refresh of the Google token (google-auth's ``RefreshError``), with its fix."""
    detail = error_detail(str(exc.args[0]) if exc.args else "")
    if "invalid_grant" in detail or "expired or revoked" in detail:
        return GoogleAuthError(
            f"the Google authorization has expired or was revoked ({detail})",
            hint="run populate_google_sheet.py by hand to authorize again. If this happens "
            "every week, the OAuth consent screen is still in 'Testing': set it to "
            "'In production' or use a service account (see README)",
        )
    return GoogleAuthError(f"cannot refresh the Google access token: {detail}")


def sheets_where(api_url: str | None) -> str:
    return f"the Sheets emulator at {api_url}" if api_url else "Google Sheets"


def build_service(credentials: Any, *, timeout: float, api_url: str | None = None) -> Any:
    """The ``googleapiclient`` service, with a timeout on every call and an optional endpoint."""
    import httplib2  # noqa: PLC0415 - heavy; only a run that uses Sheets pays
    from googleapiclient.discovery import build  # noqa: PLC0415

    # No type information ships with google_auth_httplib2: import it as a plain module.
    google_auth_httplib2: Any = importlib.import_module("google_auth_httplib2")
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))
    options: dict[str, Any] = {}
    if api_url:
        options["api_endpoint"] = api_url if api_url.endswith("/") else api_url + "/"
    return build(
        "sheets",
        "v4",
        http=http,
        client_options=options or None,
        cache_discovery=False,
        static_discovery=True,
    )
