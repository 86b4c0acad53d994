#!/usr/bin/env python3
"""The daily job: each panel's energy of the day into the history file (and the sheet).

Run by cron at about 4 am through run_inverter_daily_stats.sh (which only finds or creates
.venv), or by a Windows scheduled task as one ``python.exe run_inverter_daily_stats.py`` line.
The job itself holds each system's lock, writes the rotating log (``--log-file``), pings the
healthcheck and sets the exit status: 0 done, 1 the run failed (network, API, data), 2 usage
or config error. ``--install-cron`` and ``--install-task`` put it on a schedule.
"""

import argparse
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

import require_python  # noqa: F401  (first: a clear word on a too-old Python)
from panel_tracker.app import schedule
from panel_tracker.app.daily import EnlightenSource, run_daily_job, sheets_client
from panel_tracker.app.envoy_source import envoy_source
from panel_tracker.app.export_step import export_command, export_secrets
from panel_tracker.app.health_step import alert_settings
from panel_tracker.app.sources import enlighten_client
from panel_tracker.cli import (
    EXIT_FAILED,
    EXIT_OK,
    add_common_arguments,
    fail,
    register_secrets,
    run_script,
    say,
    setup_logging,
)
from panel_tracker.errors import PanelTrackerError
from panel_tracker.notify import alert_secrets, ping_healthcheck
from panel_tracker.settings import Config, default_config_path, expand_config_paths, load_config
from panel_tracker.sheets.transport import SheetsClient

SCRIPT_DIR = Path(__file__).resolve().parent
WRAPPER = SCRIPT_DIR / "run_inverter_daily_stats.sh"
# What run_inverter_daily_stats.sh passes (LOG_FILE overrides it there) and the task uses.
DEFAULT_LOG_FILE = SCRIPT_DIR / "logs" / "daily.log"


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
        "--log-file",
        type=Path,
        help="also append timestamped output here (rotated past 1 MB, 5 old files kept; "
        "run_inverter_daily_stats.sh passes logs/daily.log)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--demo",
        action="store_true",
        help="run 30 simulated nights against the built-in sandbox (no account needed)",
    )
    parser.add_argument(
        "--gateway",
        action="store_true",
        help="with --demo: read the simulated site from a loopback gateway (the local source, "
        '"source": "envoy") instead of the cloud',
    )
    mode.add_argument(
        "--install-cron",
        nargs="?",
        const=schedule.DEFAULT_TIME,
        metavar="HH:MM",
        help="add (or replace) the crontab line running this job daily with the other "
        "arguments given, through run_inverter_daily_stats.sh (default 04:00)",
    )
    mode.add_argument(
        "--install-task",
        nargs="?",
        const=schedule.DEFAULT_TIME,
        metavar="HH:MM",
        help="Windows: create (or replace) the scheduled task running this job daily with "
        "this Python and the other arguments given (default 04:00)",
    )
    return parser


def _sheets_client(config: Config) -> SheetsClient:
    # No interactive Google authorization here: cron has nobody to open the address.
    client = sheets_client(config)
    register_secrets(client.secrets)
    return client


def _reading_source(config: Config, *, sleep: Callable[[float], None]) -> EnlightenSource:
    # Built under the lock, with the tokens read there (a run that waited gets the new pair).
    # "source": "envoy" reads the gateway on the home network; else the cloud (default).
    source = envoy_source(config) or enlighten_client(config, sleep=sleep)
    register_secrets(source.secrets)  # tokens issued during this run, too
    return source


def run_one_system(
    config_path: Path, args: argparse.Namespace, *, sleep: Callable[[float], None] = time.sleep
) -> int:
    config = load_config(config_path)
    register_secrets(config.secrets)
    alerts = alert_settings(config)
    register_secrets(lambda: alert_secrets(alerts))
    register_secrets(lambda: export_secrets(config))
    try:
        run = run_daily_job(
            config,
            functools.partial(_reading_source, sleep=sleep),
            push_sheet=not args.no_sheet,
            sheets_client=_sheets_client,
        )
    except PanelTrackerError as exc:
        # The dead-man's switch hears about a failed night too, not only about silence.
        ping_healthcheck(alert_settings(config), success=False, message=str(exc))
        raise
    for line in run.summary_lines():
        say(line, show=not args.quiet or line.startswith("  warning"))
    for failure in run.failures:
        say(f"error: {failure}", err=True)
    ping_healthcheck(
        alert_settings(config), success=not run.failures, message="\n".join(run.summary_lines())
    )
    return EXIT_FAILED if run.failures else EXIT_OK


def _job_args(args: argparse.Namespace, *, log_file: Path | None) -> list[str]:
    """The arguments a scheduled run gets: this run's, with every path absolute and checked."""
    configs = schedule.existing_paths(args.config or [default_config_path(SCRIPT_DIR)])
    job = [arg for config in configs for arg in ("--config", str(config))]
    job += ["--no-sheet"] if args.no_sheet else []
    job += ["-v"] if args.verbose else ["-q"] if args.quiet else []
    return job + (["--log-file", str(log_file.absolute())] if log_file else [])


def install_cron(args: argparse.Namespace) -> int:
    job = _job_args(args, log_file=args.log_file)
    if not (args.quiet or args.verbose):
        # Cron mails whatever a job prints: only warnings and errors, the log has the rest.
        job.append("-q")
    line = schedule.install_cron(WRAPPER, job, at=args.install_cron)
    hour, minute = schedule.parse_time(args.install_cron, flag="--install-cron")
    where = args.log_file.absolute() if args.log_file else "the mail cron sends"
    say(f"cron: {line}")
    say(f"the job now runs daily at {hour:02d}:{minute:02d} (host time); output in {where}")
    return EXIT_OK


def install_task(args: argparse.Namespace) -> int:
    log_file = args.log_file or DEFAULT_LOG_FILE
    job = [sys.executable, str(Path(__file__).resolve()), *_job_args(args, log_file=log_file)]
    schedule.install_task(job, at=args.install_task)
    hour, minute = schedule.parse_time(args.install_task, flag="--install-task")
    say(f"task '{schedule.TASK_NAME}': {schedule.task_command(job)}")
    say(
        f"the job now runs daily at {hour:02d}:{minute:02d}; output in {log_file.absolute()}, "
        "exit status in the task's Last Run Result"
    )
    return EXIT_OK


def export_main(argv: list[str]) -> int:
    """``export --sqlite FILE [--rebuild] | --csv DIR [--date-format FMT]`` from the history."""
    parser = argparse.ArgumentParser(prog="run_inverter_daily_stats.py export")
    parser.add_argument("--config", type=Path, help="config file (default as for the job)")
    add_common_arguments(parser, config=False)
    parser.add_argument("--sqlite", type=Path, metavar="FILE", help="write an SQLite database")
    parser.add_argument("--rebuild", action="store_true", help="rewrite every row of it")
    parser.add_argument("--csv", type=Path, metavar="DIR", help="write CSV files into DIR")
    parser.add_argument("--date-format", metavar="FMT", help="CSV dates, e.g. %%d/%%m/%%Y")
    args = parser.parse_args(argv)
    if args.sqlite is None and args.csv is None:
        parser.error("give --sqlite FILE or --csv DIR (or both)")
    setup_logging(quiet=args.quiet, verbose=args.verbose)

    def body() -> int:
        config = load_config(args.config or default_config_path(SCRIPT_DIR))
        register_secrets(config.secrets)
        register_secrets(lambda: export_secrets(config))
        for line in export_command(
            config,
            sqlite=args.sqlite,
            rebuild=args.rebuild,
            csv_dir=args.csv,
            date_format=args.date_format,
        ):
            say(line, show=not args.quiet)
        return EXIT_OK

    return run_script(body, verbose=args.verbose)


def main(argv: list[str] | None = None, *, sleep: Callable[[float], None] = time.sleep) -> int:
    """The job; ``sleep`` is how the Enlighten retries wait (a test passes its own)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["export"]:
        return export_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.gateway and not args.demo:
        parser.error(
            "--gateway goes with --demo: a real run reads the source its config names "
            '("source": "envoy" for the gateway)'
        )
    try:
        setup_logging(quiet=args.quiet, verbose=args.verbose, log_file=args.log_file)
    except PanelTrackerError as exc:
        setup_logging(quiet=args.quiet, verbose=args.verbose)
        return fail(str(exc), exc.exit_code)
    if args.install_cron is not None:
        return run_script(functools.partial(install_cron, args), verbose=args.verbose)
    if args.install_task is not None:
        return run_script(functools.partial(install_task, args), verbose=args.verbose)
    if args.demo:
        # The sandbox is loaded only for the demo, never in a real run.
        from sandbox.demo import run_demo  # noqa: PLC0415

        return run_script(
            lambda: run_demo(quiet=args.quiet, gateway=args.gateway), verbose=args.verbose
        )

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
            functools.partial(run_one_system, path, args, sleep=sleep),
            verbose=args.verbose,
            prefix=prefix,
        )
        status = max(status, code)
    return status


if __name__ == "__main__":
    sys.exit(main())
