"""What every script shares: common flags, logging set-up and exceptions turned into exit codes.

Library code raises; only this layer prints the one line a user reads on stderr. A
traceback appears only with ``-v``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import PanelTrackerError
from .redaction import RedactingFilter, redact

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_HANDLER_NAME = "panel_tracker.cli"
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


def setup_logging(*, quiet: bool = False, verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(RedactingFilter(current_secrets))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # Replace only our own handler: a second main() in one process must not log twice.
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    # Our own modules speak at the chosen level; chatty libraries only when debugging.
    root.setLevel(logging.WARNING)
    for name in ("panel_tracker", "enlightenAPI_v4", "__main__", "sandbox"):
        logging.getLogger(name).setLevel(level)
    if verbose:
        root.setLevel(logging.DEBUG)


def fail(message: str, code: int) -> int:
    print(f"error: {redact(message, current_secrets())}", file=sys.stderr)
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
        return fail(prefix + "interrupted; files are either as before or fully updated", 130)
    except Exception as exc:  # the last line of defence at 4 am: one line, not a traceback
        if verbose:
            logging.getLogger(__name__).exception("unexpected error")
        name = type(exc).__name__
        return fail(
            f"{prefix}unexpected {name}: {exc} (run again with -v for details; please report it)",
            EXIT_FAILED,
        )
