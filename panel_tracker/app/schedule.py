"""Putting the daily job on a schedule: a crontab line (Linux, macOS) or a Windows task.

Both are idempotent (installing again replaces our earlier entry, never adds a second)
and write absolute paths only, because cron starts in ``$HOME`` and a scheduled task in
``C:\\Windows\\System32``. A config path that does not exist is refused before anything
changes. The commands are built as data (``cron_line``, ``schtasks_argv``) so they can be
shown and tested without cron or Windows; ``install_cron`` and ``install_task`` run them.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..errors import PanelTrackerError, UsageError

logger = logging.getLogger(__name__)

DEFAULT_TIME = "04:00"
CRON_MARK = "# enphase-panel-tracker"
TASK_NAME = "Enphase panel tracker"
# schtasks refuses a /TR longer than this ("Value for '/TR' option cannot be more than 261").
SCHTASKS_MAX_TR = 261
COMMAND_TIMEOUT = 30.0

_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def parse_time(text: str, *, flag: str) -> tuple[int, int]:
    """``"4:30"`` -> ``(4, 30)``; anything else is a ``UsageError`` naming ``flag``.

    >>> parse_time("04:30", flag="--install-cron")
    (4, 30)
    """
    match = _TIME.fullmatch(text)
    if not match:
        raise UsageError(
            f"{flag} takes a time as HH:MM (24-hour); got '{text}'", hint="use HH:MM, e.g. 04:00"
        )
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise UsageError(f"{text} is not a time of day", hint="use HH:MM, e.g. 04:00")
    return hour, minute


def existing_paths(paths: Sequence[Path], *, what: str = "config") -> list[Path]:
    """Each path made absolute (against the current directory), or a ``UsageError`` for the
    first one that does not exist: a schedule must never point at a file that is not there."""
    found: list[Path] = []
    for given in paths:
        path = Path(os.path.abspath(Path(given).expanduser()))
        if not path.exists():
            raise UsageError(
                f"{what} {path} not found",
                hint="give the path of an existing config file or folder of configs; "
                "nothing was installed",
            )
        found.append(path)
    return found


# --- cron ------------------------------------------------------------------------------------


def cron_command(argv: Sequence[str]) -> str:
    """A command line for cron's ``/bin/sh``, with ``%`` escaped (cron turns it into a newline).

    >>> cron_command(["/opt/solar/run.sh", "--config", "/srv/my 50%.json"])
    "/opt/solar/run.sh --config '/srv/my 50\\\\%.json'"
    """
    return " ".join(shlex.quote(arg) for arg in argv).replace("%", "\\%")


def cron_line(wrapper: Path, job_args: Sequence[str], *, at: str = DEFAULT_TIME) -> str:
    """The crontab line that runs ``wrapper`` with ``job_args`` daily at ``at`` (host time)."""
    hour, minute = parse_time(at, flag="--install-cron")
    return f"{minute} {hour} * * * {cron_command([str(wrapper), *job_args])} {CRON_MARK}"


def merge_crontab(current: str, line: str, wrapper: Path) -> str:
    """The table with our earlier line (found by its mark or by the wrapper's path) replaced
    by ``line``; every other line is kept as it was, in order."""
    kept = [old for old in current.splitlines() if CRON_MARK not in old and str(wrapper) not in old]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join([*kept, line]) + "\n"


def install_cron(
    wrapper: Path, job_args: Sequence[str], *, at: str = DEFAULT_TIME, crontab: str = "crontab"
) -> str:
    """Add (or replace) our line in the user's crontab; return the line written."""
    line = cron_line(wrapper, job_args, at=at)
    program = shutil.which(crontab)
    if program is None:
        raise UsageError(
            "crontab not found",
            hint="install cron, or add this line with crontab -e by hand: " + line,
        )
    listed = _run([program, "-l"])
    # "crontab -l" fails when the user has no table yet: that is an empty table. Any other
    # failure must not be taken for one, or writing ours would wipe the user's lines.
    if listed.returncode != 0 and "no crontab" not in listed.stderr.lower():
        raise PanelTrackerError(
            f"crontab -l failed: {listed.stderr.strip() or f'exit status {listed.returncode}'}",
            hint="nothing changed; add the line with crontab -e by hand: " + line,
        )
    current = listed.stdout if listed.returncode == 0 else ""
    written = _run([program, "-"], stdin=merge_crontab(current, line, wrapper))
    if written.returncode != 0:
        raise PanelTrackerError(
            f"crontab refused the new table: {written.stderr.strip() or 'no reason given'}",
            hint="nothing changed; add the line with crontab -e by hand: " + line,
        )
    logger.debug("crontab updated with %s", line)
    return line


# --- Windows ---------------------------------------------------------------------------------


def task_command(argv: Sequence[str]) -> str:
    """The task's command line, quoted the Windows way (paths with spaces in double quotes)."""
    return subprocess.list2cmdline(list(argv))


def schtasks_argv(job_argv: Sequence[str], *, at: str = DEFAULT_TIME) -> list[str]:
    """``schtasks`` arguments that create (or, with /F, replace) the daily task running
    ``job_argv`` (python.exe, the script, its arguments) at ``at``."""
    argv = _schtasks_argv_unchecked(job_argv, at=at)
    command = argv[-1]
    if len(command) > SCHTASKS_MAX_TR:
        raise UsageError(
            f"the task's command is {len(command)} characters; schtasks takes at most "
            f"{SCHTASKS_MAX_TR}",
            hint="move the project or the config to a shorter path, or create the task in "
            "Task Scheduler by hand with this command: " + command,
        )
    return argv


def _schtasks_argv_unchecked(job_argv: Sequence[str], *, at: str) -> list[str]:
    hour, minute = parse_time(at, flag="--install-task")
    return [
        "schtasks", "/Create", "/F", "/TN", TASK_NAME, "/SC", "DAILY",
        "/ST", f"{hour:02d}:{minute:02d}", "/TR", task_command(job_argv),
    ]  # fmt: skip


def install_task(job_argv: Sequence[str], *, at: str = DEFAULT_TIME) -> None:
    """Create (or replace) the daily task running ``job_argv`` at ``at`` with ``schtasks``.

    A missing ``schtasks`` is reported before the command's length: without Windows there is
    no task to create, whatever the length of a command built from this machine's paths."""
    program = shutil.which("schtasks")
    if program is None:
        raise UsageError(
            "schtasks not found (it comes with Windows); nothing was installed",
            hint="on Windows, run this in a Command Prompt: "
            + task_command(_schtasks_argv_unchecked(job_argv, at=at)),
        )
    argv = schtasks_argv(job_argv, at=at)
    result = _run([program, *argv[1:]])
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
        raise PanelTrackerError(f"schtasks could not create the task: {reason}")


def _run(argv: Sequence[str], *, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PanelTrackerError(f"could not run {argv[0]}: {exc}") from None
