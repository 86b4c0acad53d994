"""What every script shares: common flags, logging set-up and exceptions turned into exit codes.

Library code raises; only this layer prints the one line a user reads on stderr. A
traceback appears only with ``-v``.

With a log file (``--log-file``) every log record and every line a script prints through
``say`` or ``fail`` is also appended there, timestamped and redacted like the terminal. The
file keeps INFO lines even with ``-q`` (``-q`` quiets the terminal, not the record) and
rotates past ``LOG_MAX_BYTES``, keeping ``LOG_BACKUPS`` old files beside it.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import PanelTrackerError, UsageError
from .redaction import RedactingFilter, redact

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# A shell's status for a run stopped by Ctrl-C (128 + SIGINT), which cron and schtasks report.
EXIT_INTERRUPTED = 130

_HANDLER_NAME = "panel_tracker.cli"
_FILE_HANDLER_NAME = "panel_tracker.cli.file"
# Lines the scripts print go to the log file through this logger (never to the terminal).
_output = logging.getLogger("panel_tracker.cli.output")
_output.propagate = False
# About two years of nightly runs per file for one system; six files in all, 6 MB at most.
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 5
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_secret_sources: list[Callable[[], Iterable[str]]] = []


def register_secrets(source: Callable[[], Iterable[str]]) -> None:
    """Make every later log line and error message redact what ``source`` returns."""
    _secret_sources.append(source)


def current_secrets() -> list[str]:
    return [secret for source in _secret_sources for secret in source()]


def add_common_arguments(parser: argparse.ArgumentParser, *, config: bool = True) -> None:
    if config:
        parser.add_argument(
            "--config",
            type=Path,
            help="config file (default: $ENLIGHTEN_CONFIG, else enlighten_v4_config.json "
            "beside the script)",
        )
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    noise.add_argument("-v", "--verbose", action="store_true", help="debug output and tracebacks")


class _LogFileFormatter(logging.Formatter):
    """Timestamped lines; a printed line appears as printed, a log record with its level."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s: %(message)s", TIMESTAMP_FORMAT)
        self._printed = logging.Formatter("%(asctime)s %(message)s", TIMESTAMP_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if record.name == _output.name:
            return self._printed.format(record)
        return super().format(record)


def _replace_handler(logger: logging.Logger, name: str, handler: logging.Handler | None) -> None:
    # Replace only our own handler: a second main() in one process must not log twice.
    for old in [h for h in logger.handlers if h.get_name() == name]:
        logger.removeHandler(old)
        old.close()
    if handler is not None:
        handler.set_name(name)
        logger.addHandler(handler)


def _log_file_handler(path: Path, level: int) -> logging.Handler:
    path = Path(path).expanduser().absolute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError as exc:
        raise UsageError(
            f"cannot open the log file {path}: {exc.strerror}",
            hint="give --log-file a path in a folder you can write to",
        ) from None
    handler.setLevel(level)
    handler.setFormatter(_LogFileFormatter())
    handler.addFilter(RedactingFilter(current_secrets))
    return handler


def setup_logging(
    *, quiet: bool = False, verbose: bool = False, log_file: Path | None = None
) -> None:
    """Log to stderr at the level -q/-v choose and, with ``log_file``, to that file too.

    Raises ``UsageError`` when the log file cannot be opened.
    """
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    file_level = logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(RedactingFilter(current_secrets))
    root = logging.getLogger()
    _replace_handler(root, _HANDLER_NAME, handler)
    file_handler = _log_file_handler(log_file, file_level) if log_file is not None else None
    _replace_handler(root, _FILE_HANDLER_NAME, file_handler)
    # Without a file, a NullHandler: logging's last resort must not echo printed lines.
    _output.handlers = [file_handler or logging.NullHandler()]
    _output.setLevel(logging.INFO)
    # Our own modules speak at the chosen level (the log file's, when it hears more);
    # chatty libraries only when debugging.
    root.setLevel(logging.WARNING)
    ours = min(level, file_level) if file_handler is not None else level
    for name in ("panel_tracker", "enlightenAPI_v4", "__main__", "sandbox"):
        logging.getLogger(name).setLevel(ours)
    if verbose:
        root.setLevel(logging.DEBUG)


def say(line: str, *, err: bool = False, show: bool = True) -> None:
    """Print one line for the user (stdout, or stderr with ``err``) and record it in the log
    file, if there is one; ``show=False`` records it without printing (the ``-q`` case)."""
    if show:
        print(line, file=sys.stderr if err else sys.stdout)
    _output.log(logging.ERROR if err else logging.INFO, "%s", line)


def fail(message: str, code: int) -> int:
    say(f"error: {redact(message, current_secrets())}", err=True)
    return code


def run_script(body: Callable[[], int], *, verbose: bool, prefix: str = "") -> int:
    """Run a script's body and turn every failure into one redacted line and an exit code."""
    try:
        return body()
    except PanelTrackerError as exc:
        if verbose:
            logging.getLogger(__name__).exception("details")
        return fail(prefix + str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return fail(
            prefix + "interrupted; files are either as before or fully updated", EXIT_INTERRUPTED
        )
    except Exception as exc:  # the last line of defence at 4 am: one line, not a traceback
        if verbose:
            logging.getLogger(__name__).exception("unexpected error")
        name = type(exc).__name__
        return fail(
            f"{prefix}unexpected {name}: {exc} (run again with -v for details; please report it)",
            EXIT_FAILED,
        )
