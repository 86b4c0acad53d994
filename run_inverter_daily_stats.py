#!/usr/bin/env python3
"""The daily job: each panel's energy of the day into the history file (and the sheet).

Run by cron at about 4 am through run_inverter_daily_stats.sh. Exit status: 0 done,
1 the run failed (network, API, data), 2 usage or config error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from panel_tracker.cli import (
    EXIT_FAILED,
    EXIT_OK,
    add_common_arguments,
    register_secrets,
    run_script,
    setup_logging,
)
from panel_tracker.config import default_config_path, load_config
from panel_tracker.daily_job import run_daily_job
from panel_tracker.enlighten import EnlightenClient

SCRIPT_DIR = Path(__file__).resolve().parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Record each micro-inverter's daily energy from the Enlighten v4 API.",
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--no-sheet", action="store_true", help="update the history only, skip Google Sheets"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run 30 simulated nights against the built-in sandbox (no account needed)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(quiet=args.quiet, verbose=args.verbose)

    def body() -> int:
        if args.demo:
            # The sandbox is loaded only for the demo, never in a real run.
            from sandbox.demo import run_demo  # noqa: PLC0415

            return run_demo(quiet=args.quiet)
        config = load_config(args.config or default_config_path(SCRIPT_DIR))
        register_secrets(config.secrets)
        client = EnlightenClient.from_config(config)
        register_secrets(client.secrets)  # tokens issued during this run, too
        run = run_daily_job(config, client, push_sheet=not args.no_sheet)
        for line in run.summary_lines():
            if not args.quiet or line.startswith("  warning"):
                print(line)
        for failure in run.failures:
            print(f"error: {failure}", file=sys.stderr)
        return EXIT_FAILED if run.failures else EXIT_OK

    return run_script(body, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
