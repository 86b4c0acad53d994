#!/usr/bin/env python3
"""The daily job: each panel's energy of the day into the history file (and the sheet).

Run by cron at about 4 am through run_inverter_daily_stats.sh. Exit status: 0 done,
1 the run failed (network, API, data), 2 usage or config error.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import require_python  # noqa: F401  (first: a clear word on a too-old Python)
from panel_tracker.app.daily import run_daily_job
from panel_tracker.cli import (
    EXIT_FAILED,
    EXIT_OK,
    add_common_arguments,
    register_secrets,
    run_script,
    setup_logging,
)
from panel_tracker.enlighten.client import EnlightenClient
from panel_tracker.errors import PanelTrackerError
from panel_tracker.notify import alert_secrets, ping_healthcheck
from panel_tracker.settings import Config, default_config_path, expand_config_paths, load_config
from panel_tracker.sheets.transport import SheetsClient

SCRIPT_DIR = Path(__file__).resolve().parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Record each micro-inverter's daily energy from the Enlighten v4 API.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        action="append",
        help="config file, or a folder of them; repeat for several systems (default: "
        "$ENLIGHTEN_CONFIG, else enlighten_v4_config.json beside the script)",
    )
    add_common_arguments(parser, config=False)
    parser.add_argument(
        "--no-sheet", action="store_true", help="update the history only, skip Google Sheets"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run 30 simulated nights against the built-in sandbox (no account needed)",
    )
    return parser


def _sheets_client(config: Config) -> SheetsClient:
    # No interactive Google authorization here: cron has nobody to open the address.
    client = SheetsClient.from_config(config)
    register_secrets(client.secrets)
    return client


def run_one_system(config_path: Path, args: argparse.Namespace) -> int:
    config = load_config(config_path)
    register_secrets(config.secrets)
    register_secrets(lambda: alert_secrets(config))
    try:
        client = EnlightenClient.from_config(config)
        register_secrets(client.secrets)  # tokens issued during this run, too
        run = run_daily_job(
            config, client, push_sheet=not args.no_sheet, sheets_client=_sheets_client
        )
    except PanelTrackerError as exc:
        # The dead-man's switch hears about a failed night too, not only about silence.
        ping_healthcheck(config, success=False, message=str(exc))
        raise
    for line in run.summary_lines():
        if not args.quiet or line.startswith("  warning"):
            print(line)
    for failure in run.failures:
        print(f"error: {failure}", file=sys.stderr)
    ping_healthcheck(config, success=not run.failures, message="\n".join(run.summary_lines()))
    return EXIT_FAILED if run.failures else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(quiet=args.quiet, verbose=args.verbose)
    if args.demo:
        # The sandbox is loaded only for the demo, never in a real run.
        from sandbox.demo import run_demo  # noqa: PLC0415

        return run_script(lambda: run_demo(quiet=args.quiet), verbose=args.verbose)

    paths: list[Path] = []

    def expand() -> int:
        paths.extend(expand_config_paths(args.config or [default_config_path(SCRIPT_DIR)]))
        return EXIT_OK

    status = run_script(expand, verbose=args.verbose)
    # Each system on its own: one failing (its own error line) does not stop the others,
    # and the exit status is the worst of them.
    for path in paths:
        prefix = f"{path}: " if len(paths) > 1 else ""
        code = run_script(
            functools.partial(run_one_system, path, args), verbose=args.verbose, prefix=prefix
        )
        status = max(status, code)
    return status


if __name__ == "__main__":
    sys.exit(main())
