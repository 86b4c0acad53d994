#!/usr/bin/env python3
"""Push the history's days into the yearly Google Sheet; ``--init`` lays out a spreadsheet.

A push writes every day the year's sheet lacks and rewrites the recent days in place, in
one read and one write (see panel_tracker/sheets.py). The daily job does the same after
saving the history; run this by hand to heal the sheet, to push one ``--date``, or the
first time, to authorize Google access (it prints an address to open).

Exit status: 0 done; 1 the push failed (the history is untouched; the next run heals the
sheet); 2 usage or config error.
"""

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import require_python  # noqa: F401  (first: a clear word on a too-old Python)
from panel_tracker.app.daily import lay_out, sheet_target, sheets_client
from panel_tracker.app.sources import enlighten_client
from panel_tracker.cli import (
    EXIT_OK,
    add_common_arguments,
    register_secrets,
    run_script,
    setup_logging,
)
from panel_tracker.errors import UsageError
from panel_tracker.history import History, load_history
from panel_tracker.settings import Config, default_config_path, load_config
from panel_tracker.sheets.layout import create_spreadsheet
from panel_tracker.sheets.push import PushResult, push_history
from panel_tracker.sheets.transport import SheetsClient
from panel_tracker.storage import run_lock
from panel_tracker.wording import counted

SCRIPT_DIR = Path(__file__).resolve().parent


def iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-06-30") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Push each panel's daily energy from the history into the yearly Google Sheet.",
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--date", type=iso_date, metavar="YYYY-MM-DD", help="push only this day of the history"
    )
    parser.add_argument(
        "--init",
        action="store_true",
        help="lay out the spreadsheet (create one when spreadsheet_id is not set), then push",
    )
    return parser


def show_authorization_url(port: int) -> Callable[[str], None]:
    def show(url: str) -> None:
        print(
            "Authorize access to Google Sheets: open this address in a browser and allow it.\n"
            f"  {url}\n"
            f"On a machine without a browser, forward the port from your own computer first:\n"
            f"  ssh -L {port}:localhost:{port} <this machine>",
            flush=True,
        )

    return show


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(quiet=args.quiet, verbose=args.verbose)

    def body() -> int:
        config = load_config(args.config or default_config_path(SCRIPT_DIR))
        register_secrets(config.secrets)
        clients: list[SheetsClient] = []  # its tokens are redacted, even one refreshed mid-run
        register_secrets(lambda: [secret for c in clients for secret in c.secrets()])
        with run_lock(config.lock_path, wait_seconds=config.lock_wait_seconds):
            history = load_history(config.history_path)
            if args.date and args.date not in history.dates():
                raise UsageError(
                    f"the history has no day {args.date} (it has {_span(history)}); nothing to push"
                )
            if not args.init and config.settings.sheets.spreadsheet_id is None:
                raise UsageError(
                    f"{config.path}: spreadsheet_id is not set",
                    hint="set it, or run populate_google_sheet.py --init to create a spreadsheet",
                )
            clients.append(_client(config))
            client = clients[0]
            if args.init:
                _init(config, history, client, quiet=args.quiet)
            target = sheet_target(config)  # after --init: it may have saved a new spreadsheet_id
            result = push_history(target, history, only_date=args.date, service=client)
            _print_push(result, quiet=args.quiet)
        return EXIT_OK

    return run_script(body, verbose=args.verbose)


def _client(config: Config) -> SheetsClient:
    # Only a person at a terminal can open the address; cron must never wait for one.
    port = config.settings.sheets.google.oauth_port
    show = show_authorization_url(port) if sys.stdin.isatty() else None
    return sheets_client(config, show_authorization_url=show)


def _init(config: Config, history: History, client: SheetsClient, *, quiet: bool) -> None:
    serials = history.serials() or _serials_from_enlighten(config)
    if not serials:
        raise UsageError(
            "no serials to lay out: the history is empty and Enlighten listed no "
            "micro-inverters; run run_inverter_daily_stats.py first"
        )
    spreadsheet_id = config.settings.sheets.spreadsheet_id
    created = spreadsheet_id is None
    if spreadsheet_id is None:
        spreadsheet_id = create_spreadsheet(client, f"Solar panels: {config.settings.name}")
        config.save_setting(
            "spreadsheet_id", spreadsheet_id
        )  # at once: a rerun must not make another
        print(f"created spreadsheet {spreadsheet_id} (saved as spreadsheet_id in {config.path})")
    dates = history.dates()
    year = int(dates[-1][:4]) if dates else date.today().year
    layout = lay_out(
        config, client, spreadsheet_id, serials, year=year, remove_default_sheet=created
    )
    if not quiet:  # its warnings are already on stderr, logged by the layout
        added = "; ".join(layout.added) if layout.added else "nothing (the layout was complete)"
        print(f"layout of spreadsheet {spreadsheet_id}: added {added}")


def _serials_from_enlighten(config: Config) -> list[str]:

    readings = enlighten_client(config).inverter_readings()
    return sorted({reading.serial for reading in readings})


def _span(history: History) -> str:
    dates = history.dates()
    return f"{dates[0]} to {dates[-1]}" if dates else "no days yet"


def _print_push(result: PushResult, *, quiet: bool) -> None:
    if not quiet:  # its warnings are already on stderr, logged by the push
        days = result.days_written
        shown = f"{days[0]}..{days[-1]}" if len(days) > 1 else (days[0] if days else "none")
        print(
            f"Google Sheet {result.spreadsheet_id}: {counted(len(days), 'day')} written ({shown}; "
            f"{result.rows_added} new, {result.rows_updated} rewritten) in "
            f"{counted(result.api_calls, 'call')}"
        )


if __name__ == "__main__":
    sys.exit(main())
