"""run_inverter_daily_stats.sh as cron and a user run it: from another folder, the log file,
the lock, the exit status, --install-cron, and a clear word about a too-old Python.

The wrapper only finds the project's .venv and runs the Python job in it, so these tests
also hold the job's own log file, lock and scheduling to what the README says.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sandbox.site import SiteScenario
from tests.conftest import REPO, assert_no_secrets, config_secrets, night, write_config

WRAPPER = REPO / "run_inverter_daily_stats.sh"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
OLD_PYTHON = Path("/root/.pyenv/versions/3.9.18/bin/python3")


def cron_run(
    *args: str, cwd: Path, log: Path | None = None, wrapper: Path = WRAPPER, **env_extra: str
) -> subprocess.CompletedProcess[str]:
    """The wrapper as cron starts it: a bare environment (no virtualenv on PATH), HOME as
    the current folder; ``env_extra`` adds variables such as PYTHON or CRONTAB_FILE."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
        "PYTHON": os.environ.get("PYTHON", "python3"),
        **({"LOG_FILE": str(log)} if log else {}),
        **env_extra,
    }
    return subprocess.run(
        [str(wrapper), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_runs_from_any_folder_logs_with_timestamps_and_passes_status(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator)
    log = tmp_path / "logs" / "daily.log"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    night(emulator, 0)
    first = cron_run("--config", str(config), log=log, cwd=elsewhere)
    assert first.returncode == 0, first.stderr
    night(emulator, 1)
    second = cron_run("--config", str(config), log=log, cwd=elsewhere)
    assert second.returncode == 0, second.stderr
    lines = log.read_text().splitlines()
    assert lines and all(TIMESTAMP.match(line) for line in lines)
    headlines = [line for line in lines if "panels reporting" in line]
    assert len(headlines) == 2  # appended, not replaced
    assert "(24 with an unknown day)" in headlines[0]  # the first run is the baseline
    assert ": unknown, 24 of 24 panels reporting" in headlines[0]  # not a made-up "0 Wh"
    assert "24 of 24 panels reporting" in headlines[1]
    assert "unknown" not in headlines[1]
    # The terminal output is the job's own: the summary on stdout, log lines on stderr.
    assert "24 of 24 panels reporting" in second.stdout
    assert not TIMESTAMP.match(second.stdout)
    assert any(line.startswith("INFO: ") for line in second.stderr.splitlines())
    assert any(" INFO: " in line for line in lines)
    assert not list(elsewhere.iterdir())  # nothing written in the caller's folder
    assert_no_secrets(
        log.read_text() + first.stdout + first.stderr + second.stdout + second.stderr,
        config_secrets(config),
    )


def test_a_relative_config_means_the_callers_file(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy())
    home = tmp_path / "home"
    home.mkdir()
    config = write_config(home, emulator)
    config.rename(home / "my.json")
    night(emulator, 0)
    result = cron_run("--config", "my.json", log=tmp_path / "daily.log", cwd=home)
    assert result.returncode == 0, result.stderr
    system_id = json.loads((home / "my.json").read_text())["system_id"]
    assert (home / "data" / f"inverter_daily_data-{system_id}.json").exists()
    assert "24 panels reporting" in result.stdout


def test_a_config_that_is_not_there_exits_2_and_names_the_callers_path(tmp_path):
    log = tmp_path / "daily.log"
    result = cron_run("--config", "nope.json", log=log, cwd=tmp_path)
    assert result.returncode == 2
    # The caller's folder, not the project's, and not the project's template instead.
    assert f"{tmp_path / 'nope.json'} not found" in result.stderr
    assert result.stderr.startswith("error: ")
    assert f"{tmp_path / 'nope.json'} not found" in log.read_text()


def test_a_second_run_while_one_holds_the_systems_lock_exits_1_clearly(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator, lock_wait_seconds=0)
    system_id = json.loads(config.read_text())["system_id"]
    lock = tmp_path / "data" / f".run-{system_id}.lock"
    lock.parent.mkdir()
    log = tmp_path / "daily.log"
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = cron_run("--config", str(config), log=log, cwd=tmp_path)
    assert result.returncode == 1
    assert "another run holds the lock" in result.stderr
    assert "another run holds the lock" in log.read_text()


def test_the_log_rotates_past_1_mb_keeping_five(tmp_path):
    log = tmp_path / "daily.log"
    old = "x" * 999_990 + "\n"
    log.write_text(old)
    for n in range(1, 6):
        (tmp_path / f"daily.log.{n}").write_text(f"old {n}")
    result = cron_run("--config", str(tmp_path / "none.json"), log=log, cwd=tmp_path)
    assert result.returncode == 2
    assert (tmp_path / "daily.log.1").read_text() == old
    assert (tmp_path / "daily.log.5").read_text() == "old 4"
    assert not (tmp_path / "daily.log.6").exists()
    assert "none.json not found" in log.read_text()


def test_the_demo_does_not_write_the_jobs_log(tmp_path):
    # Only the argument handling: --demo --help exits before any simulation runs.
    log = tmp_path / "daily.log"
    result = cron_run("--demo", "--help", log=log, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--install-cron" in result.stdout
    assert not log.exists()


FAKE_CRONTAB = """#!/bin/sh
# A stand-in for crontab(1): the table lives in $CRONTAB_FILE.
if [ "$1" = "-l" ]; then
    [ -f "$CRONTAB_FILE" ] || { echo "no crontab for $USER" >&2; exit 1; }
    cat "$CRONTAB_FILE"
elif [ "$1" = "-" ]; then
    cat > "$CRONTAB_FILE"
else
    exit 2
fi
"""


def test_install_cron_twice_leaves_one_line_with_absolute_paths(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "crontab"
    fake.write_text(FAKE_CRONTAB)
    fake.chmod(0o755)
    table = tmp_path / "crontab.txt"
    table.write_text("MAILTO=me@example.com\n30 2 * * * /usr/bin/backup\n")
    solar = tmp_path / "solar"
    solar.mkdir()
    (solar / "my config.json").write_text("{}")
    log = tmp_path / "logs" / "daily.log"

    def install(*args: str) -> subprocess.CompletedProcess[str]:
        return cron_run(
            "--install-cron",
            *args,
            log=log,
            cwd=solar,
            PATH=f"{bin_dir}:/usr/bin:/bin",
            CRONTAB_FILE=str(table),
        )

    result = install()
    assert result.returncode == 0, result.stderr
    first = table.read_text().splitlines()
    assert first[:2] == ["MAILTO=me@example.com", "30 2 * * * /usr/bin/backup"]
    # No --config: the project's own config, written as an absolute path.
    assert first[2] == (
        f"0 4 * * * {WRAPPER} --config {REPO / 'enlighten_v4_config.json'} "
        f"--log-file {log} -q # enphase-panel-tracker"
    )
    result = install("04:30", "--config", "my config.json", "--no-sheet")
    assert result.returncode == 0, result.stderr
    lines = table.read_text().splitlines()
    ours = [line for line in lines if str(WRAPPER) in line]
    assert len(ours) == 1 and len(lines) == 3
    assert ours[0] == (
        f"30 4 * * * {WRAPPER} --config '{solar / 'my config.json'}' --no-sheet "
        f"--log-file {log} -q # enphase-panel-tracker"
    )
    assert f"cron: {ours[0]}" in result.stdout
    assert "daily at 04:30" in result.stdout
    # The line as cron's /bin/sh reads it finds the config (the wrapper path, quoted).
    command = ours[0].split(" ", 5)[5].removesuffix(" # enphase-panel-tracker")
    argv = subprocess.run(
        ["/bin/sh", "-c", f'for a in {command}; do echo "$a"; done'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert argv[2] == str(solar / "my config.json")
    bad = install("25:00")
    assert bad.returncode == 2
    assert "use HH:MM" in bad.stderr
    missing = install("--config", "nope.json")
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: ")
    assert f"{solar / 'nope.json'} not found" in missing.stderr
    assert table.read_text().splitlines() == lines  # neither changed the table


def _copy_of_the_wrapper(folder: Path) -> Path:
    folder.mkdir()
    for name in ("run_inverter_daily_stats.sh", "requirements.txt"):
        shutil.copy2(REPO / name, folder / name)
    return folder / "run_inverter_daily_stats.sh"


@pytest.mark.skipif(not OLD_PYTHON.exists(), reason=f"needs Python 3.9 at {OLD_PYTHON}")
def test_a_python_older_than_3_10_gets_one_clear_line_and_exit_2(tmp_path):
    wrapper = _copy_of_the_wrapper(tmp_path / "project")
    result = cron_run(cwd=tmp_path, wrapper=wrapper, PYTHON=str(OLD_PYTHON))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr == (
        f"error: found Python 3.9.18 at {OLD_PYTHON}; this needs Python 3.10 or newer: "
        f"point to another with PYTHON=/path/to/python3.12 {wrapper}\n"
    )
    assert not (tmp_path / "project" / ".venv").exists()  # nothing half-created


@pytest.mark.skipif(not OLD_PYTHON.exists(), reason=f"needs Python 3.9 at {OLD_PYTHON}")
def test_an_existing_venv_of_an_old_python_is_named_not_recreated(tmp_path):
    wrapper = _copy_of_the_wrapper(tmp_path / "project")
    venv_bin = tmp_path / "project" / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(OLD_PYTHON)
    result = cron_run(cwd=tmp_path, wrapper=wrapper)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "found Python 3.9.18" in result.stderr
    assert f"remove {tmp_path / 'project' / '.venv'} and run again with PYTHON=" in result.stderr
    assert (venv_bin / "python").resolve() == OLD_PYTHON.resolve()


def test_a_missing_python_gets_one_clear_line_and_exit_2(tmp_path):
    wrapper = _copy_of_the_wrapper(tmp_path / "project")
    result = cron_run(cwd=tmp_path, wrapper=wrapper, PYTHON=str(tmp_path / "no-python"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: no working Python at ")
    assert "PYTHON=/path/to/python3.12" in result.stderr


def test_help_goes_to_the_terminal_plain_with_the_wrapper_s_own_options(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "daily.log"
    result = cron_run("--help", cwd=tmp_path, log=log)  # stdout is a pipe, not a terminal
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # The wrapper's own: what it does with .venv, $PYTHON and $LOG_FILE, before the job's.
    assert any("The log is $LOG_FILE" in line for line in lines)
    assert any("$PYTHON" in line for line in lines)
    assert any(line.startswith("usage: run_inverter_daily_stats.py") for line in lines)
    assert not any(TIMESTAMP.match(line) for line in lines)
    assert not log.exists()  # help is not a run: nothing goes to the log
