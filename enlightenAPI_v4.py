#!/usr/bin/env python3
"""The original script's class, ``enlightenAPI_v4``, and the set-up commands.

Scripts written against the original keep running::

    from enlightenAPI_v4 import enlightenAPI_v4
    api = enlightenAPI_v4(config)            # config: the dict of enlighten_v4_config.json
    gateways = api.inverter_summary()        # the API's list, one element per gateway
    systems = api.fetch_systems()            # the API's answer of GET /api/v4/systems
    telemetry = api.production_telemetry()   # GET .../telemetry/production_micro, as given

The class is backed by ``panel_tracker.enlighten.client.EnlightenClient``: timeouts,
retries, a token refresh only when the access token has expired (or is refused), and the
rotated pair saved at once. Unlike the original it raises (an ``EnlightenError`` whose
``hint`` says what to do) instead of printing and quitting. As a script:

    python enlightenAPI_v4.py authorize [--config PATH] [--code CODE] [--redirect-uri URI]
    python enlightenAPI_v4.py check [--config PATH]

Exit status: 0 done (check: nothing wrong); 1 failed (check: a problem found);
2 usage or config error.
"""

# isort: off
import require_python  # noqa: F401  (first, before requests: a clear word on a too-old Python)

# isort: on
import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

from panel_tracker.app.authorize import exchange, redirect_uri_of, setup_client
from panel_tracker.app.check import check_setup
from panel_tracker.cli import (
    EXIT_OK,
    add_common_arguments,
    current_secrets,
    register_secrets,
    run_script,
    setup_logging,
)
from panel_tracker.enlighten.client import EnlightenClient
from panel_tracker.enlighten.errors import AUTHORIZE_HINT, AuthError
from panel_tracker.enlighten.jwt import relative, when
from panel_tracker.enlighten.models import TokenPair
from panel_tracker.errors import ConfigError, DataFileError, UsageError
from panel_tracker.findings import Finding, exit_status
from panel_tracker.redaction import redact
from panel_tracker.settings import Config, default_config_path, read_config
from panel_tracker.storage import SECRET_FILE_MODE, atomic_write_json, read_json

logger = logging.getLogger(__name__)

# Where the original saved the rotated pair: this name, in the current directory.
ORIGINAL_CONFIG_FILE = "enlighten_v4_config.json"
ORIGINAL_API_URL = "https://api.enphaseenergy.com/"
APP_KEYS = ("app_api_key", "app_client_id", "app_client_secret")


class enlightenAPI_v4:  # noqa: N801 - the original class name
    """``enlightenAPI_v4(config)``: the original constructor, config given as a dict.

    Every rotated token pair goes into ``config`` (the caller's own dict, as in the
    original) and, at once and atomically (mode 0600, every other key as on disk), into a
    file: ``config_path`` when given (created from the dict if missing), else
    ``enlighten_v4_config.json`` in the current directory, where the original wrote it,
    but only if that file exists and is this config (same ``app_client_id`` and
    ``system_id``). A file that does not parse is never overwritten: the pair goes to
    ``<file>.new-tokens`` beside it and ``ConfigError`` says how to put it back.
    """

    def __init__(
        self,
        config: dict[str, Any],
        *,
        config_path: str | os.PathLike[str] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.config_path = Path(config_path) if config_path is not None else None
        missing = [key for key in APP_KEYS if not config.get(key)]
        if missing:
            raise ConfigError(
                f"the Enlighten config lacks {', '.join(missing)}",
                hint="copy them from your application's page on developer-v4.enphase.com",
            )
        if not config.get("refresh_token"):
            raise AuthError(
                "access_token or refresh_token not set in the Enlighten config",
                hint=AUTHORIZE_HINT,
                refresh_failed=True,
            )
        self.client = EnlightenClient(
            api_url=str(config.get("api_url") or ORIGINAL_API_URL),
            api_key=str(config["app_api_key"]),
            client_id=str(config["app_client_id"]),
            client_secret=str(config["app_client_secret"]),
            system_id=str(config.get("system_id") or ""),
            access_token=config.get("access_token") or None,
            refresh_token=str(config["refresh_token"]),
            token_updater=self._save_tokens,
            access_token_expires_at=config.get("access_token_expires_at"),
            timeout=float(config.get("http_timeout_seconds", 30)),
            sleep=sleep,
            session=session,
        )

    def inverter_summary(self) -> list[Any]:
        """GET /api/v4/systems/inverters_summary_by_envoy_or_site: one element per gateway."""
        self._require_system_id()
        return self.client.inverter_summary()

    def fetch_systems(self) -> Any:
        """GET /api/v4/systems: ``{"total": ..., "systems": [...], ...}`` as the API gives it."""
        return self.client.get_json("api/v4/systems", what="systems")

    def production_telemetry(self) -> Any:
        """GET /api/v4/systems/{system_id}/telemetry/production_micro (today, 5-minute
        intervals of the whole system), as the API gives it."""
        system_id = self._require_system_id()
        return self.client.get_json(
            f"api/v4/systems/{system_id}/telemetry/production_micro",
            what="production telemetry",
        )

    def _require_system_id(self) -> str:
        system_id = str(self.config.get("system_id") or "").strip()
        if not system_id.isdigit():
            raise ConfigError(
                f"system_id must be your system's number, not {system_id!r}",
                hint="set it to the number in the Enlighten web address",
            )
        return system_id

    def _save_tokens(self, pair: TokenPair) -> None:
        self.config["access_token"] = pair.access_token
        self.config["refresh_token"] = pair.refresh_token
        path = self._token_file()
        if path is None:
            logger.warning(
                "the new Enlighten token pair is only in the config dict (no config file to "
                "save it to): save it yourself, the old refresh token no longer works"
            )
            return
        _write_pair(path, self.config, pair)

    def _token_file(self) -> Path | None:
        if self.config_path is not None:
            return self.config_path
        path = Path(ORIGINAL_CONFIG_FILE)
        if not path.is_file():
            return None
        try:
            on_disk = read_json(path, what="config")
        except DataFileError:
            return path  # not overwritten: _write_pair rescues the pair beside it
        same = isinstance(on_disk, dict) and all(
            str(on_disk.get(key)) == str(self.config.get(key))
            for key in ("app_client_id", "system_id")
        )
        return path.absolute() if same else None


def _write_pair(path: Path, config: dict[str, Any], pair: TokenPair) -> None:
    """The pair into ``path`` atomically; a file that does not parse is left as it is."""
    try:
        on_disk = read_json(path, what="config") if path.exists() else dict(config)
    except DataFileError:
        on_disk = None
    if not isinstance(on_disk, dict):
        rescue = path.with_name(path.name + ".new-tokens")
        tokens = {"access_token": pair.access_token, "refresh_token": pair.refresh_token}
        atomic_write_json(rescue, tokens, mode=SECRET_FILE_MODE, indent=4)
        raise ConfigError(
            f"{path} does not parse, so it was left untouched; the new tokens are in {rescue}",
            hint="fix the config, then copy access_token and refresh_token from that file "
            "into it (the old refresh token no longer works)",
        )
    on_disk["access_token"] = pair.access_token
    on_disk["refresh_token"] = pair.refresh_token
    atomic_write_json(path, on_disk, mode=SECRET_FILE_MODE, indent=4)
    logger.info("saved the new token pair to %s", path)


SCRIPT_DIR = Path(__file__).resolve().parent
CHECK_COMMAND = ".venv/bin/python enlightenAPI_v4.py check"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Set up the Enlighten v4 connection: authorize once, then check.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    authorize = commands.add_parser(
        "authorize",
        help="get the first tokens with the homeowner's consent (replaces the Postman step)",
        description="Print the consent address, read the one-time code and save the tokens "
        "into the config.",
    )
    add_common_arguments(authorize)
    authorize.add_argument(
        "--code",
        help="the code the consent page showed, written --code=CODE (a code may start with "
        "'-'); without it the code is asked for",
    )
    authorize.add_argument(
        "--redirect-uri",
        help="the application's redirect URI (default: the config's redirect_uri, else "
        "Enphase's page that shows the code)",
    )
    check = commands.add_parser(
        "check",
        help="check the config, the tokens, the API and the sheet; every problem with its fix",
        description="Exit status 0 only when nothing is wrong.",
    )
    add_common_arguments(check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(quiet=args.quiet, verbose=args.verbose)
    command = run_authorize if args.command == "authorize" else run_check
    return run_script(lambda: command(args), verbose=args.verbose)


def say(text: str = "") -> None:
    print(redact(text, current_secrets()))


def run_authorize(args: argparse.Namespace) -> int:
    config = read_config(args.config or default_config_path(SCRIPT_DIR))
    register_secrets(config.secrets)
    client = setup_client(config)
    register_secrets(client.secrets)
    redirect_uri = redirect_uri_of(config, args.redirect_uri)
    say("1. Open this address in a browser and log in with the homeowner's Enlighten account:")
    say(f"   {client.authorize_url(redirect_uri)}")
    say("2. Approve the application. The page then shows a short code.")
    say("   A code works ONCE and only for a few minutes: if it is refused, open the")
    say("   address again for a new one.")
    code = args.code if args.code is not None else ask_code()
    register_secrets(lambda: [code])
    pair = exchange(config, client, code, redirect_uri)
    now = datetime.now(timezone.utc)
    say()
    say(f"Authorized: the tokens are saved in {config.path} (readable by you only).")
    if pair.refresh_expires_at is not None:
        say(
            f"The refresh token is valid until {when(pair.refresh_expires_at)} "
            f"({relative(pair.refresh_expires_at, now)}). The daily job renews it as it runs:"
        )
        say("authorize again only if the job stops running for that long.")
    say(f"Next: {CHECK_COMMAND} --config {config.path}")
    return EXIT_OK


def ask_code() -> str:
    if not sys.stdin.isatty():
        raise UsageError(
            "no code given and no terminal to ask for one: run again and pass it with --code"
        )
    try:
        return input("3. Paste the code here: ")
    except EOFError:
        raise UsageError("no code entered: run authorize again and pass it with --code") from None


def run_check(args: argparse.Namespace) -> int:
    config = read_config(args.config or default_config_path(SCRIPT_DIR))
    register_secrets(config.secrets)

    def make_client(config_to_use: Config) -> EnlightenClient:
        client = setup_client(config_to_use)
        register_secrets(client.secrets)  # tokens renewed during the check, too
        return client

    say(f"Checking {config.path}")
    findings = check_setup(config, make_client=make_client)
    for finding in findings:
        if finding.ok and args.quiet:
            continue
        say(finding.line())
    status = exit_status(findings)
    say(summary(findings, status))
    return status


def summary(findings: list[Finding], status: int) -> str:
    if status == EXIT_OK:
        return "All checks passed: the daily job can run."
    problems = sum(1 for f in findings if not f.ok)
    return f"{problems} problem(s) found: fix each as shown after ->, then run check again."


if __name__ == "__main__":
    sys.exit(main())
