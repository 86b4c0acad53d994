"""``enlightenAPI_v4.py check``: is this installation ready for an unattended 4 am run?

Each check returns findings: what is fine, and what is wrong together with its fix. The
script prints them one a line and turns them into an exit status. Only the Enlighten
check goes on the network (the systems list, then the inverter summary of the system);
token expiries are read from the JWTs. A config missing its ``system_id`` or still holding
no tokens is loaded anyway, so the check can say everything that is missing in one go.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from ..enlighten.client import EnlightenClient
from ..enlighten.errors import AuthError, EnlightenError, NetworkError, RateLimitError
from ..enlighten.jwt import REFRESH_WARNING, jwt_expiry, relative, when
from ..enlighten.models import SystemInfo
from ..envoy.reader import GatewayError, check_gateway, gateway_findings
from ..errors import ConfigError, DataFileError, LockHeldError, PanelTrackerError
from ..findings import Finding
from ..history import History, load_history
from ..settings import Config
from ..sheets import check as sheets_check
from ..wording import counted
from .authorize import APP_KEYS, setup_client, system_lock, valid_system_id
from .daily import RETIRED_AFTER_DAYS, sheets_client

logger = logging.getLogger(__name__)

AUTHORIZE_COMMAND = ".venv/bin/python enlightenAPI_v4.py authorize"
DAILY_JOB_COMMAND = ".venv/bin/python run_inverter_daily_stats.py"
APPLICATIONS_PAGE = "https://developer-v4.enphase.com/admin/applications"
# A refresh token closer to its end than this needs attention before the user is locked out.


# --- the config ---------------------------------------------------------------------------
def check_config(config: Config) -> list[Finding]:
    """Keys present and not placeholders, numbers that are numbers, paths that can be used."""
    if config.uses_gateway:  # the cloud's keys are not needed
        findings = [_check_system_id(config)]
    else:
        findings = [_check_app_keys(config), _check_system_id(config), _check_api_url(config)]
    findings += _check_options(config)
    findings += _check_file_mode(config.path)
    findings += _check_data(config)
    return findings


def _check_app_keys(config: Config) -> Finding:
    missing = config.missing(*APP_KEYS)
    if missing:
        return Finding.problem(
            f"not set in the config: {', '.join(missing)}",
            f"copy them from your application's page at {APPLICATIONS_PAGE}",
            config_unusable=True,
        )
    return Finding.good(f"application keys set (client id {config.app_client_id})")


def _check_system_id(config: Config) -> Finding:
    value = config.given_system_id
    if value is None:
        return Finding.problem(
            "system_id is not set",
            "set it to the number in the Enlighten web address "
            "(enlighten.enphaseenergy.com/web/<system_id>/...)",
            config_unusable=True,
        )
    if not value.strip().isdigit():
        return Finding.problem(
            f"system_id must be a number, not {value!r}",
            "set it to the number in the Enlighten web address",
            config_unusable=True,
        )
    return Finding.good(f"system_id {value.strip()} ({config.given_name or 'no name set'})")


def _check_api_url(config: Config) -> Finding:
    url = config.api_url
    if not url.startswith(("https://", "http://")):
        return Finding.problem(
            f"api_url {url!r} is not a web address",
            'set it to "https://api.enphaseenergy.com/"',
            config_unusable=True,
        )
    return Finding.good(f"api_url {url}")


def _check_options(config: Config) -> list[Finding]:
    """Every other key, as the daily job reads it: each bad one with the settings' own fix."""
    problems = config.problems(skip=frozenset({"system_id", "api_url"}))
    return [
        Finding.problem(exc.message, exc.hint or "fix it in the config", config_unusable=True)
        for exc in problems
    ]


def _check_file_mode(path: Path) -> list[Finding]:
    if sys.platform == "win32":
        return []
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return [
            Finding.problem(
                f"the config holds secrets but others may read it (mode {mode:04o})",
                f"run: chmod 600 {path}",
            )
        ]
    return []


def _writable_folder(folder: Path) -> tuple[bool, str]:
    """Whether the job can write in ``folder`` (creating it if needed), and how it stands."""
    if folder.exists():
        if not folder.is_dir():
            return False, "exists but is not a folder"
        return os.access(folder, os.W_OK | os.X_OK), "exists"
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return os.access(parent, os.W_OK | os.X_OK), "will be created by the first run"


def _check_data(config: Config) -> list[Finding]:
    folder = config.data_dir
    usable, state = _writable_folder(folder)
    if not usable:
        return [
            Finding.problem(
                f"data folder {folder} {state} and cannot be written",
                "set data_dir to a folder this user can write, or fix its permissions",
                config_unusable=True,
            )
        ]
    findings = [Finding.good(f"data folder {folder} ({state})")]
    if valid_system_id(config) is None:
        return findings
    path = config.history_path
    if not path.exists():
        findings.append(Finding.good(f"history {path.name}: none yet, the first run starts it"))
        return findings
    try:
        history = load_history(path)
    except DataFileError as exc:
        findings.append(
            Finding.problem(
                str(exc), "the job will not overwrite it: fix it or restore it from a backup"
            )
        )
        return findings
    dates = history.dates()
    span = f"{dates[0]} .. {dates[-1]}" if dates else "no days yet"
    findings.append(
        Finding.good(f"history {path.name}: {counted(len(history.serials()), 'panel')}, {span}")
    )
    return findings


# --- the tokens (no network) --------------------------------------------------------------
def check_tokens(
    access_token: str | None, refresh_token: str | None, now: datetime
) -> list[Finding]:
    """When each token expires, from its JWT ``exp`` claim."""
    if refresh_token is None:
        return [
            Finding.problem(
                "no Enlighten tokens in the config yet"
                if access_token is None
                else "no refresh token in the config",
                f"run: {AUTHORIZE_COMMAND}",
            )
        ]
    access_expires = jwt_expiry(access_token)
    refresh_expires = jwt_expiry(refresh_token)
    refresh_alive = refresh_expires is None or refresh_expires > now
    findings = [_access_finding(access_token, now, renewable=refresh_alive)]
    if refresh_expires is None:
        findings.append(
            Finding.skipped("refresh token expiry unknown (not a JWT); the API check tries it")
        )
    elif refresh_expires <= now:
        findings.append(
            Finding.problem(
                f"refresh token expired on {when(refresh_expires)} "
                f"({relative(refresh_expires, now)}): the homeowner must consent again",
                f"run: {AUTHORIZE_COMMAND}",
            )
        )
    elif refresh_expires - now < REFRESH_WARNING:
        findings.append(
            Finding.problem(
                f"refresh token expires on {when(refresh_expires)} "
                f"({relative(refresh_expires, now)})",
                _rotation_fix(access_expires, now),
            )
        )
    else:
        findings.append(
            Finding.good(
                f"refresh token valid until {when(refresh_expires)} "
                f"({relative(refresh_expires, now)})"
            )
        )
    return findings


def _access_finding(access_token: str | None, now: datetime, *, renewable: bool) -> Finding:
    renewal = "the next run gets a new one with the refresh token" if renewable else ""
    if access_token is None:
        return Finding.good(f"no access token yet; {renewal}" if renewable else "no access token")
    expires = jwt_expiry(access_token)
    if expires is None:
        return Finding.skipped("access token expiry unknown (not a JWT)")
    if expires <= now:
        expired = f"access token expired on {when(expires)}"
        return Finding.good(f"{expired}; {renewal}" if renewable else expired)
    return Finding.good(f"access token valid until {when(expires)} ({relative(expires, now)})")


def _rotation_fix(access_expires: datetime | None, now: datetime) -> str:
    # The job trades the refresh token for a new one only when the access token has expired.
    if access_expires is None or access_expires <= now:
        return f"run the daily job now to rotate it: {DAILY_JOB_COMMAND} (or {AUTHORIZE_COMMAND})"
    return (
        f"the daily job rotates it at its first run after {when(access_expires)}: make sure "
        f"it is scheduled, or run: {AUTHORIZE_COMMAND}"
    )


def tokens_unusable(access_token: str | None, refresh_token: str | None, now: datetime) -> bool:
    """True when no API call can succeed: nothing valid to send and nothing to refresh with."""
    access_expires = jwt_expiry(access_token)
    access_alive = access_token is not None and (access_expires is None or access_expires > now)
    refresh_expires = jwt_expiry(refresh_token)
    refresh_alive = refresh_token is not None and (refresh_expires is None or refresh_expires > now)
    return not access_alive and not refresh_alive


# --- the Enlighten API ----------------------------------------------------------------------
def check_enlighten(client: EnlightenClient, system_id: str | None) -> list[Finding]:
    """The systems list (one call), then the system's micro-inverters (one more call)."""
    try:
        systems = client.systems()
    except EnlightenError as exc:
        return [_api_problem(exc)]
    listed = ", ".join(_describe(s) for s in systems) or "none"
    findings = [Finding.good(f"Enlighten API answers; systems this app can read: {listed}")]
    ids = [s.system_id for s in systems]
    if not systems:
        findings.append(
            Finding.problem(
                "the application can read no system",
                f"authorize with the homeowner's Enlighten login: run: {AUTHORIZE_COMMAND}",
            )
        )
    elif system_id is not None and system_id not in ids:
        findings.append(
            Finding.problem(
                f"system_id {system_id} is not among the systems this app can read",
                f"set system_id to one of: {', '.join(ids)}",
                config_unusable=True,
            )
        )
    elif system_id is not None:
        findings.append(_check_micros(client, system_id))
    # Without a system_id the config finding says to set it; the list above shows the choice.
    return findings


def _check_micros(client: EnlightenClient, system_id: str) -> Finding:
    try:
        readings = client.inverter_readings()
    except EnlightenError as exc:
        return _api_problem(exc)
    if not readings:
        return Finding.problem(
            f"system {system_id} lists no micro-inverters",
            "check system_id: it must be the system with the micro-inverters",
        )
    gateways = {r.envoy_serial for r in readings if r.envoy_serial}
    latest = max(r.last_report for r in readings)
    return Finding.good(
        f"system {system_id}: {counted(len(readings), 'micro-inverter')} on "
        f"{counted(max(len(gateways), 1), 'gateway')}, latest report {when(latest)}"
    )


def _describe(system: SystemInfo) -> str:
    details = ", ".join(v for v in (system.timezone, system.status) if v)
    name = f" {system.name!r}" if system.name else ""
    return f"{system.system_id}{name}" + (f" ({details})" if details else "")


def _api_problem(exc: EnlightenError) -> Finding:
    message = exc.message  # its own advice, if any, is in exc.hint
    if isinstance(exc, AuthError) and exc.refresh_failed:
        return Finding.problem(
            "Enlighten refused the refresh token (expired or revoked)",
            f"run: {AUTHORIZE_COMMAND}",
        )
    if isinstance(exc, AuthError) and "mismatch" in message.lower():
        return Finding.problem(
            "Enlighten refused the API key: 'API Key - Client mismatch' (app_api_key is not "
            "the key of the application app_client_id belongs to)",
            f"copy the API key of the same application as the client id from {APPLICATIONS_PAGE}",
        )
    if isinstance(exc, AuthError):
        return Finding.problem(
            f"Enlighten refused the credentials ({message})",
            "check that app_api_key belongs to the same application as app_client_id; "
            f"else run: {AUTHORIZE_COMMAND}",
        )
    if isinstance(exc, NetworkError):
        return Finding.problem(
            f"cannot reach Enlighten ({message})", "check the network and api_url"
        )
    if isinstance(exc, RateLimitError):
        return Finding.problem(
            f"Enlighten's API quota is used up ({message})",
            "wait for the quota to reset, then run check again",
        )
    return Finding.problem(f"the Enlighten API failed ({message})", "run check again later")


# --- the Google Sheet -----------------------------------------------------------------------
SheetCheck = Callable[[Config], list[Finding]]


def check_sheet(config: Config) -> list[Finding]:
    """The spreadsheet answers, has its layout, and a column for every recent panel."""
    try:
        settings = config.settings
    except ConfigError as exc:
        return [Finding.skipped(f"Google Sheet not checked: {exc.message}")]
    return sheets_check.check_sheet(
        settings.sheets.spreadsheet_id,
        settings.history_path,
        # A person is waiting: one retry, not the daily job's patient four.
        lambda: sheets_client(config, num_retries=1),
    )


# --- everything, in order -------------------------------------------------------------------
def check_setup(
    config: Config,
    *,
    make_client: Callable[[Config], EnlightenClient] = setup_client,
    sheet_check: SheetCheck = check_sheet,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> list[Finding]:
    """Every finding, config first, then tokens, the API and the sheet."""
    findings = check_config(config)
    if config.uses_gateway:
        findings.append(Finding.skipped("Enlighten not called: the source is the gateway"))
        findings += check_local_gateway(config)
    else:
        now = clock()
        token_findings = check_tokens(config.access_token, config.refresh_token, now)
        api_findings, renewed = _check_api(config, make_client, now)
        if renewed:
            # The check itself refreshed the pair: report the tokens as they are now.
            token_findings = check_tokens(config.access_token, config.refresh_token, clock())
        findings += token_findings + api_findings
    try:
        findings += sheet_check(config)
    except PanelTrackerError as exc:  # a Sheets failure the check did not foresee
        findings.append(
            Finding.problem(f"Google Sheet: {exc}", "run check again with -v for the details")
        )
    return findings


def check_local_gateway(config: Config) -> list[Finding]:
    """With ``"source": "envoy"``: the gateway reachable, its token, firmware, micros, and
    whether they are the history's; nothing for the cloud source."""
    try:
        envoy = config.settings.envoy
    except ConfigError:
        return []  # the config's own findings name the bad key
    if envoy is None:
        return []
    try:
        found = check_gateway(envoy)
    except GatewayError as exc:
        return [Finding.from_error(exc)]  # its message names the gateway
    try:
        serials = reporting_serials(load_history(config.history_path))
    except DataFileError:
        serials = []  # the history's own finding says what is wrong with it
    return gateway_findings(found, serials)


def reporting_serials(history: History) -> list[str]:
    """The history's serials that reported in its last ``RETIRED_AFTER_DAYS`` days: a micro
    replaced longer ago is retired, not missing from the gateway."""
    last = {serial: history.last_date(serial) or "" for serial in history.serials()}
    if not any(last.values()):
        return []
    newest = date.fromisoformat(max(last.values()))
    cutoff = (newest - timedelta(days=RETIRED_AFTER_DAYS)).isoformat()
    return [serial for serial, day in last.items() if day >= cutoff]


def _check_api(
    config: Config, make_client: Callable[[Config], EnlightenClient], now: datetime
) -> tuple[list[Finding], bool]:
    """The Enlighten findings, and whether the calls renewed (and saved) the token pair."""
    if config.missing(*APP_KEYS):
        return [
            Finding.skipped("Enlighten API not called: the application keys are missing")
        ], False
    if tokens_unusable(config.access_token, config.refresh_token, now):
        return [Finding.skipped("Enlighten API not called: no usable token (see above)")], False
    client = make_client(config)
    refresh_before = client.refresh_token
    try:
        with system_lock(config):
            findings = check_enlighten(client, valid_system_id(config))
    except LockHeldError as exc:
        wait = Finding.problem(str(exc).split(";")[0], "wait for that run to end, check again")
        return [wait], False
    except OSError as exc:
        unwritable = Finding.problem(
            f"cannot take the run lock in {config.data_dir} ({exc.strerror})",
            "set data_dir to a folder this user can write",
        )
        return [unwritable], False
    renewed = client.refresh_token != refresh_before
    if renewed:
        findings.insert(0, Finding.good(f"tokens renewed during the check, saved to {config.path}"))
    return findings, renewed
