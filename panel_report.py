#!/usr/bin/env python3
"""Write the panel health report: an HTML page with charts that opens in any browser.

    python panel_report.py [--config PATH] [--out DIR] [--days N] [-q|-v]
    python panel_report.py --evidence SERIAL [--config PATH] [--out DIR]

The page goes to ``--out``, else the config's ``report_dir``, else ``report/`` beside the
config; its path is printed last. ``--evidence`` writes one panel's evidence instead (a CSV
of its days and a PNG, for a warranty claim) into the same folder and prints both paths.
Exit status: 0 written, 1 failed, 2 usage or config error (an unknown serial too).
"""

import argparse
import sys
from pathlib import Path

import require_python  # noqa: F401  (first: a clear word on a too-old Python)
from panel_tracker.app.health_step import report_options
from panel_tracker.cli import (
    EXIT_OK,
    add_common_arguments,
    register_secrets,
    run_script,
    setup_logging,
)
from panel_tracker.errors import PanelTrackerError, UsageError
from panel_tracker.health.assess import assess
from panel_tracker.history import load_history
from panel_tracker.report.evidence import panel_evidence, whole_table, write_evidence
from panel_tracker.report.page import DEFAULT_REPORT_DAYS, write_report
from panel_tracker.settings import default_config_path, load_config

SCRIPT_DIR = Path(__file__).resolve().parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write the panel health report (HTML + PNG charts) from the history file.",
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for index.html and the charts (default: the config's report_dir, "
        "else report/ beside the config)",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=DEFAULT_REPORT_DAYS,
        help=f"days shown in the charts (default {DEFAULT_REPORT_DAYS})",
    )
    parser.add_argument(
        "--evidence",
        metavar="SERIAL",
        help="write one panel's evidence for a warranty claim instead of the page: "
        "evidence-SERIAL.csv (every day against the array median, lost energy, degradation "
        "per year) and evidence-SERIAL.png",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(quiet=args.quiet, verbose=args.verbose)

    def body() -> int:
        if args.days < 1:
            raise UsageError("--days must be 1 or more")
        config = load_config(args.config or default_config_path(SCRIPT_DIR))
        register_secrets(config.secrets)
        settings = config.settings
        if not config.history_path.exists():
            raise PanelTrackerError(
                f"no history at {config.history_path} yet; run run_inverter_daily_stats.py first"
            )
        history = load_history(config.history_path)
        report = assess(
            history,
            settings.health,
            panel_watts=settings.panel_watts,
            replacements=settings.replacements,
        )
        out_dir = (
            args.out.expanduser()
            if args.out
            else (settings.report.report_dir or config.resolve("report"))
        )
        if args.evidence is not None:
            table = whole_table(history, report, settings.panel_watts)
            evidence = panel_evidence(
                history, table, report, args.evidence.strip(), source=str(config.history_path)
            )
            paths = write_evidence(evidence, out_dir)
            if not args.quiet:
                for line in evidence.summary_lines():
                    print(line)
            for path in paths:
                print(path)
            return EXIT_OK
        index = write_report(history, report, report_options(config), out_dir, days=args.days)
        if not args.quiet:
            for line in report.summary_lines():
                print(line)
        print(index)
        return EXIT_OK

    return run_script(body, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
