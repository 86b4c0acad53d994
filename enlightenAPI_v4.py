#!/usr/bin/env python3
"""The Enlighten v4 client under the name the original script's users know, and set-up.

``from enlightenAPI_v4 import enlightenAPI_v4`` keeps working; the client itself lives in
``panel_tracker.enlighten.client``. As a script:

    python enlightenAPI_v4.py authorize [--config PATH] [--code CODE] [--redirect-uri URI]
    python enlightenAPI_v4.py check [--config PATH]

Exit status: 0 done (check: nothing wrong); 1 failed (check: a problem found);
2 usage or config error.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

import require_python  # noqa: F401  (first: a clear word on a too-old Python)
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
from panel_tracker.enlighten.client import (
    DEFAULT_REDIRECT_URI,
    AuthError,
    BadResponseError,
    EnlightenClient,
    EnlightenError,
    InverterReading,
    NetworkError,
    NotFoundError,
    PlanNotAllowedError,
    RateLimitError,
    ServerError,
    SystemInfo,
    TokenPair,
)
from panel_tracker.enlighten.jwt import relative, when
from panel_tracker.errors import UsageError
from panel_tracker.findings import Finding, exit_status
from panel_tracker.redaction import redact
from panel_tracker.settings import Config, default_config_path, read_config

enlightenAPI_v4 = EnlightenClient  # noqa: N816 - the original class name

__all__ = [
    "DEFAULT_REDIRECT_URI",
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
    "enlightenAPI_v4",
]

SCRIPT_DIR = Path(__file__).resolve().parent
CHECK_COMMAND = "python enlightenAPI_v4.py check"


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
