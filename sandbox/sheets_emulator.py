"""A loopback emulator of the Sheets v4 calls the project makes, plus Google's token endpoint.

The real ``googleapiclient`` talks to it over HTTP when ``sheets_api_url`` (``client_options
api_endpoint``) points here; the real ``google-auth`` refreshes an authorized-user token.json
against ``/token`` when the file's ``token_uri`` points here.

What it keeps faithful, because the project's correctness depends on it:
- The contract: every call is held to the discovery document of the installed
  google-api-python-client (``sheets_contract``) and refused as Google refuses it (unknown
  fields, wrong types, bad enums, query parameters, ``fields`` selectors and batchUpdate
  masks). Every call answered 4xx is kept in ``refusals``; ``contract_refusals`` are the ones
  Google would refuse whatever the spreadsheet holds, so a test can assert the project sent none.
- URL shapes of the discovery document (``GET /v4/spreadsheets/<id>``, ``POST ...:batchUpdate``,
  ``/values/<range>`` with the range percent-encoded in the path, ``values:batchGet``).
- What each method does and answers (``sheets_methods``), on a model of spreadsheets, sheets,
  cells and named ranges (``sheets_model``): a range on a sheet or named range that does not
  exist fails the whole call with 400 "Unable to parse range".
- ``batchUpdate`` is atomic (``sheets_requests``): its requests apply in order to a copy that
  replaces the spreadsheet only if every one succeeds. Sheet ids, named ranges, grid limits.
- Google's error bodies (``{"error": {code, message, status[, details]}}``, 400/401/404/429)
  and injectable faults, including bodies that are not JSON. Every HTTP request is counted
  by API method, faulted ones too (quota counts them).

What it leaves out: formulas are stored, never evaluated (a formula cell has no
``effectiveValue``), formats are stored without effect beyond date/number display.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode

from panel_tracker.storage import SECRET_FILE_MODE, atomic_write_json

from .loopback_server import LoopbackEmulator, LoopbackServer, QuietHandler
from .sheets_contract import ContractError, batch_masks, check_body, check_call, parse_error
from .sheets_methods import (
    append_values,
    as_rows,
    batch_update,
    created_body,
    get_body,
    grid_data,
    new_spreadsheet,
    value_range,
    value_rows,
    write_values,
)
from .sheets_model import ApiError, Box, Cell, Json, Spreadsheet, bad_request

SCOPE = "https://www.googleapis.com/auth/spreadsheets"
ACCESS_TOKEN_LIFETIME_S = 3600


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


def _json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload).encode())


@dataclass(frozen=True)
class Refusal:
    """A call answered 4xx: by which method, with what, and whether the contract refused it."""

    method: str
    status: int
    message: str
    contract: bool


@dataclass
class _Fault:
    method: str | None
    status: int
    times: int
    body: bytes | None
    content_type: str


@dataclass
class _Request:
    method: str
    path: str  # still percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Json:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise bad_request("Invalid JSON payload received.") from None
        if not isinstance(data, dict):
            raise bad_request("Invalid JSON payload received.")
        return data


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/token"), "oauth.token"),
    ("GET", re.compile(r"/auth"), "oauth.authorize"),
    ("POST", re.compile(r"/v4/spreadsheets"), "spreadsheets.create"),
    ("GET", re.compile(r"/v4/spreadsheets/([^/:]+)"), "spreadsheets.get"),
    ("POST", re.compile(r"/v4/spreadsheets/([^/:]+):batchUpdate"), "spreadsheets.batchUpdate"),
    (
        "GET",
        re.compile(r"/v4/spreadsheets/([^/:]+)/values:batchGet"),
        "spreadsheets.values.batchGet",
    ),
    (
        "POST",
        re.compile(r"/v4/spreadsheets/([^/:]+)/values/([^/:]+):append"),
        "spreadsheets.values.append",
    ),
    ("GET", re.compile(r"/v4/spreadsheets/([^/:]+)/values/([^/:]+)"), "spreadsheets.values.get"),
    ("PUT", re.compile(r"/v4/spreadsheets/([^/:]+)/values/([^/:]+)"), "spreadsheets.values.update"),
]


_READS = {"spreadsheets.get", "spreadsheets.values.get", "spreadsheets.values.batchGet"}


class SheetsEmulator(LoopbackEmulator):
    """Sheets v4 and Google's token endpoint on 127.0.0.1, in a daemon thread."""

    thread_name = "sheets-emulator"

    def __init__(
        self,
        state_file: Path | None = None,
        *,
        client_id: str = "sheets-emulator-client.apps.googleusercontent.com",
        client_secret: str = "SHEETS-EMULATOR-CLIENT-SECRET",
        require_auth: bool = True,
    ) -> None:
        super().__init__()
        self.state_file = Path(state_file) if state_file else None
        self.client_id, self.client_secret = client_id, client_secret
        self.require_auth = require_auth
        self._lock = threading.RLock()
        self._books: dict[str, Spreadsheet] = {}
        self._access: dict[str, float] = {}  # access token -> expiry (epoch)
        self._refresh: set[str] = set()
        self._codes: dict[str, str | None] = {}  # authorization code -> PKCE challenge
        self._calls: Counter[str] = Counter()
        self._faults: list[_Fault] = []
        self._refusals: list[Refusal] = []
        if self.state_file and self.state_file.exists():
            self._load()

    def _make_server(self) -> _Server:
        return _Server(_Handler, self)

    @property
    def token_uri(self) -> str:
        return self.url + "token"

    # ----- persistence -----

    def _load(self) -> None:
        assert self.state_file is not None
        data = json.loads(self.state_file.read_text(encoding="utf-8"))
        self._books = {
            key: Spreadsheet.from_json(book) for key, book in data.get("spreadsheets", {}).items()
        }
        self._access = {k: float(v) for k, v in data.get("access_tokens", {}).items()}
        self._refresh = set(data.get("refresh_tokens", []))

    def _save(self) -> None:
        if self.state_file is None:
            return
        data = {
            "spreadsheets": {key: book.to_json() for key, book in self._books.items()},
            "access_tokens": self._access,
            "refresh_tokens": sorted(self._refresh),
        }
        atomic_write_json(self.state_file, data, mode=SECRET_FILE_MODE)

    # ----- direct access for tests and the demo (no HTTP, not counted) -----

    def create_spreadsheet(self, title: str = "Untitled spreadsheet") -> str:
        with self._lock:
            book = self._new_book({"properties": {"title": title}})
            self._save()
            return book.spreadsheet_id

    def spreadsheet(self, spreadsheet_id: str) -> Spreadsheet:
        """The live model (a deep copy, so a test cannot change it by accident)."""
        with self._lock:
            return copy.deepcopy(self._books[spreadsheet_id])

    def apply(self, spreadsheet_id: str, requests: list[Json]) -> list[Json]:
        """Apply batchUpdate requests directly, e.g. to build a legacy layout in a test.

        They are held to the discovery document as a call's are: an invalid one raises
        ``ApiError`` (a test must not build a sheet that Google could not hold).
        """
        body, violations = check_body("BatchUpdateSpreadsheetRequest", {"requests": requests})
        if violations:
            raise parse_error(violations)
        with self._lock:
            replies = self._batch_update(spreadsheet_id, body["requests"])
            self._save()
            return replies

    def set_values(self, spreadsheet_id: str, a1: str, rows: list[list[Any]]) -> None:
        """Write values as a user typing them would (USER_ENTERED), not counted."""
        with self._lock:
            write_values(self._book(spreadsheet_id), a1, rows, raw=False)
            self._save()

    def values(self, spreadsheet_id: str, a1: str, option: str = "FORMATTED_VALUE") -> list[Any]:
        """The values of a range as ``values.get`` renders them (trailing blanks cut)."""
        with self._lock:
            book = self._book(spreadsheet_id)
            sheet, box = book.resolve(a1)
            return value_rows(sheet, box, option)

    def cell(self, spreadsheet_id: str, a1: str) -> Cell:
        """One cell with its effective and formatted value, as ``spreadsheets.get`` shows it."""
        with self._lock:
            sheet, box = self._book(spreadsheet_id).resolve(a1)
            rows = grid_data(sheet, Box(box.r0, box.r0 + 1, box.c0, box.c0 + 1)).get("rowData")
            return rows[0]["values"][0] if rows and rows[0].get("values") else {}

    def titles(self, spreadsheet_id: str) -> list[str]:
        with self._lock:
            return [s.title for s in self._book(spreadsheet_id).sheets]

    def snapshot(self, spreadsheet_id: str) -> Json:
        """Everything the spreadsheet holds, for before/after comparisons."""
        with self._lock:
            return copy.deepcopy(self._book(spreadsheet_id).to_json())

    # ----- tokens -----

    def issue_access_token(self, lifetime: float = ACCESS_TOKEN_LIFETIME_S) -> str:
        token = "ya29.emu-" + secrets.token_urlsafe(24)
        with self._lock:
            self._access[token] = time.time() + lifetime
            self._save()
        return token

    def issue_refresh_token(self) -> str:
        token = "1//emu-" + secrets.token_urlsafe(24)
        with self._lock:
            self._refresh.add(token)
            self._save()
        return token

    def revoke_refresh_token(self, token: str) -> None:
        with self._lock:
            self._refresh.discard(token)
            self._save()

    def write_authorized_user_file(self, path: Path, *, expired: bool = False) -> Path:
        """A token.json as ``Credentials.to_json()`` writes it, refreshable against /token."""
        lifetime = -600 if expired else ACCESS_TOKEN_LIFETIME_S
        expiry = datetime.now(timezone.utc) + timedelta(seconds=lifetime)
        info = {
            "token": self.issue_access_token(lifetime),
            "refresh_token": self.issue_refresh_token(),
            "token_uri": self.token_uri,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scopes": [SCOPE],
            "universe_domain": "googleapis.com",
            "account": "",
            "expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        atomic_write_json(Path(path), info, mode=SECRET_FILE_MODE)
        return Path(path)

    def write_client_secrets_file(self, path: Path) -> Path:
        """A credentials.json of an "installed" OAuth client whose endpoints are this emulator."""
        info = {
            "installed": {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "auth_uri": self.url + "auth",
                "token_uri": self.token_uri,
                "redirect_uris": ["http://localhost"],
            }
        }
        atomic_write_json(Path(path), info, mode=SECRET_FILE_MODE)
        return Path(path)

    # ----- faults and counts -----

    def clear_faults(self) -> None:
        """End an injected outage: every later call is answered normally."""
        with self._lock:
            self._faults.clear()

    def inject_fault(
        self,
        method: str | None,
        status: int,
        *,
        times: int = 1,
        body: str | bytes | None = None,
        content_type: str = "text/html; charset=UTF-8",
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (e.g. "spreadsheets.get"; None: any).

        Without ``body`` the answer is Google's JSON error for ``status``; with one, that body
        as it is (an HTML page from a proxy, say).
        """
        raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._faults.append(_Fault(method, status, times, raw, content_type))

    @property
    def calls(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    def count(self, method: str | None = None) -> int:
        """Calls of one method, or every Sheets API call (not the token endpoint) with None."""
        with self._lock:
            if method is not None:
                return self._calls[method]
            return sum(n for name, n in self._calls.items() if name.startswith("spreadsheets."))

    @property
    def refusals(self) -> list[Refusal]:
        """Every call answered 4xx (injected faults aside), in order."""
        with self._lock:
            return list(self._refusals)

    @property
    def contract_refusals(self) -> list[Refusal]:
        """The calls Google would refuse whatever the spreadsheet holds: invalid requests."""
        return [r for r in self.refusals if r.contract]

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # ----- request handling -----

    def handle(self, req: _Request) -> Reply:
        route = next(
            (
                (name, m)
                for verb, pattern, name in _ROUTES
                if verb == req.method and (m := pattern.fullmatch(req.path))
            ),
            None,
        )
        if route is None:
            return _json_reply(404, ApiError(404, f"Not found: {req.path}").body())
        name, match = route
        with self._lock:
            self._calls[name] += 1
            fault = self._take_fault(name)
        if fault is not None:
            if fault.body is not None:
                return Reply(fault.status, fault.body, fault.content_type)
            return _json_reply(fault.status, _fault_error(fault.status, name).body())
        try:
            if name.startswith("oauth."):
                return self._oauth(name, req)
            self._check_auth(req)
            body = check_call(name, req.query, req.json() if req.method != "GET" else None)
            with self._lock:
                payload = self._api(name, [unquote(g) for g in match.groups()], req, body)
                if name not in _READS:
                    self._save()
            return _json_reply(200, payload)
        except ApiError as exc:
            if exc.code != 401:
                refusal = Refusal(name, exc.code, exc.message, isinstance(exc, ContractError))
                with self._lock:
                    self._refusals.append(refusal)
            return _json_reply(exc.code, exc.body())

    def _take_fault(self, name: str) -> _Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.method in (None, name):
                fault.times -= 1
                return fault
        return None

    def _check_auth(self, req: _Request) -> None:
        if not self.require_auth:
            return
        auth = req.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        with self._lock:
            expiry = self._access.get(token)
        if expiry is None or expiry < time.time():
            reason = "ACCESS_TOKEN_EXPIRED" if expiry is not None else "CREDENTIALS_MISSING"
            raise ApiError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
                details=[_error_info(reason)],
            )

    def _book(self, spreadsheet_id: str) -> Spreadsheet:
        book = self._books.get(spreadsheet_id)
        if book is None:
            raise ApiError(404, "Requested entity was not found.")
        return book

    def _new_book(self, body: Json) -> Spreadsheet:
        spreadsheet_id = "emu" + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
        book = new_spreadsheet(spreadsheet_id, body)
        self._books[spreadsheet_id] = book
        return book

    def _batch_update(self, spreadsheet_id: str, requests: list[Json]) -> list[Json]:
        book = self._book(spreadsheet_id)
        if isinstance(requests, list) and (error := batch_masks(requests)) is not None:
            raise error
        work, replies = batch_update(book, requests)
        self._books[spreadsheet_id] = work  # all or nothing
        return replies

    def _api(self, name: str, args: list[str], req: _Request, body: Json) -> Json:  # noqa: PLR0911
        """``body``: the request's body in canonical form (``sheets_contract.check_call``)."""
        fields = req.param("fields")
        if name == "spreadsheets.create":
            return created_body(self._new_book(body), fields, self.url)
        book = self._book(args[0])
        if name == "spreadsheets.get":
            grid = req.param("includeGridData", "false") == "true"
            return get_body(book, req.query.get("ranges", []), grid, fields, self.url)
        if name == "spreadsheets.batchUpdate":
            replies = self._batch_update(args[0], body.get("requests", []))
            return {"spreadsheetId": args[0], "replies": replies}
        option = req.param("valueRenderOption", "FORMATTED_VALUE") or "FORMATTED_VALUE"
        if name == "spreadsheets.values.get":
            sheet, box = book.resolve(args[1])
            return value_range(book, sheet, box, option)
        if name == "spreadsheets.values.batchGet":
            ranges = [book.resolve(a1) for a1 in req.query.get("ranges", [])]
            value_ranges = [value_range(book, sheet, box, option) for sheet, box in ranges]
            return {"spreadsheetId": args[0], "valueRanges": value_ranges}
        raw = self._value_input(req)
        rows = as_rows(body)
        if name == "spreadsheets.values.update":
            return {"spreadsheetId": args[0], **write_values(book, args[1], rows, raw=raw)}
        return {"spreadsheetId": args[0], **append_values(book, args[1], rows, raw=raw)}

    @staticmethod
    def _value_input(req: _Request) -> bool:
        option = req.param("valueInputOption")
        if option not in ("RAW", "USER_ENTERED"):
            raise bad_request("'valueInputOption' is required but not specified")
        return option == "RAW"

    # ----- OAuth -----

    def _oauth(self, name: str, req: _Request) -> Reply:  # noqa: PLR0911 - one per grant
        if name == "oauth.authorize":
            return self._authorize(req)
        form = dict(parse_qsl(req.body.decode("utf-8", "replace")))
        grant = form.get("grant_type", "")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            if form.get("assertion", "").count(".") != 2:
                return _oauth_error("invalid_grant", "Invalid JWT Signature.")
            return self._token_reply(with_refresh=False)
        client = (form.get("client_id"), form.get("client_secret"))
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("basic "):  # Google takes the client in the body or as Basic
            with contextlib.suppress(ValueError):
                decoded = base64.b64decode(auth[6:].strip()).decode()
                client_id, _, secret = decoded.partition(":")
                client = (unquote(client_id), unquote(secret))
        if client != (self.client_id, self.client_secret):
            return _oauth_error("invalid_client", "The OAuth client was not found.", 401)
        if grant == "refresh_token":
            with self._lock:
                known = form.get("refresh_token") in self._refresh
            if not known:
                return _oauth_error("invalid_grant", "Token has been expired or revoked.")
            return self._token_reply(with_refresh=False)
        if grant == "authorization_code":
            with self._lock:
                if form.get("code") not in self._codes:
                    return _oauth_error("invalid_grant", "Malformed auth code.")
                challenge = self._codes.pop(form.get("code", ""))
            verifier = form.get("code_verifier", "")
            if challenge is not None and _s256(verifier) != challenge:
                return _oauth_error("invalid_grant", "Invalid code verifier.")
            return self._token_reply(with_refresh=True)
        return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _authorize(self, req: _Request) -> Reply:
        """The consent page, already agreed to: redirect back with a code, as Google does."""
        redirect = req.param("redirect_uri") or ""
        if req.param("client_id") != self.client_id or not redirect.startswith("http://localhost"):
            return Reply(400, b"<html>Error 400: invalid_request</html>", "text/html")
        code = "4/emu-" + secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = req.param("code_challenge")
        query = urlencode({"state": req.param("state") or "", "code": code, "scope": SCOPE})
        return Reply(302, b"", "text/html", {"Location": f"{redirect}?{query}"})

    def _token_reply(self, *, with_refresh: bool) -> Reply:
        body: Json = {
            "access_token": self.issue_access_token(),
            "expires_in": ACCESS_TOKEN_LIFETIME_S - 1,
            "scope": SCOPE,
            "token_type": "Bearer",
        }
        if with_refresh:
            body["refresh_token"] = self.issue_refresh_token()
        return _json_reply(200, body)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _oauth_error(error: str, description: str, status: int = 400) -> Reply:
    return _json_reply(status, {"error": error, "error_description": description})


def _error_info(reason: str, **metadata: str) -> Json:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": "sheets.googleapis.com", **metadata},
    }


def _fault_error(status: int, method: str) -> ApiError:
    if status == 429:
        kind = "Read" if method.endswith("get") or method.endswith("Get") else "Write"
        return ApiError(
            429,
            f"Quota exceeded for quota metric '{kind} requests' and limit '{kind} requests per "
            "minute per user' of service 'sheets.googleapis.com'.",
            details=[
                _error_info("RATE_LIMIT_EXCEEDED", quota_limit=f"{kind}RequestsPerMinutePerUser")
            ],
        )
    messages = {
        404: "Requested entity was not found.",
        403: "The caller does not have permission",
        500: "Internal error encountered.",
        503: "The service is currently unavailable.",
    }
    return ApiError(status, messages.get(status, "Request failed."))


class _Server(LoopbackServer):
    emulator: SheetsEmulator


class _Handler(QuietHandler):
    server: _Server

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = _Request(self.command, path, parse_qs(query), headers, body)
        reply = self.server.emulator.handle(request)
        self.send_reply(reply.status, reply.content_type, reply.body, reply.headers)
