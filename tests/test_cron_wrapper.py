"""run_inverter_daily_stats.sh as cron runs it: from another folder, logging, exit status."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from sandbox.site import SiteScenario
from tests.conftest import REPO, assert_no_secrets, config_secrets, night, write_config

WRAPPER = REPO / "run_inverter_daily_stats.sh"


def cron_run(
    *args: str, log: Path, cwd: Path, **env_extra: str
) -> subprocess.CompletedProcess[str]:
    """The wrapper as cron starts it: a bare environment (no virtualenv on PATH), HOME as
    the current folder; ``env_extra`` adds variables such as LOCK_WAIT or CRONTAB_FILE."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
        "LOG_FILE": str(log),
        "PYTHON": os.environ.get("PYTHON", "python3"),
        **env_extra,
    }
    return subprocess.run(
        [str(WRAPPER), *args],
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
    night(emulator, 0)
    first = cron_run("--config", str(config), log=log, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    night(emulator, 1)
    second = cron_run("--config", str(config), log=log, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    lines = log.read_text().splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", line) for line in lines)
    headlines = [line for line in lines if "panels reporting" in line]
    assert len(headlines) == 2  # appended, not replaced
    assert "(24 with an unknown day)" in headlines[0]  # the first run is the baseline
    assert "24 of 24 panels reporting" in headlines[1]
    assert "unknown" not in headlines[1]
    assert_no_secrets(log.read_text() + first.stderr + second.stderr, config_secrets(config))


def test_a_config_error_exits_2_with_the_error_on_stderr(tmp_path):
    log = tmp_path / "daily.log"
    missing = tmp_path / "nope.json"
    result = cron_run("--config", str(missing), log=log, cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.json not found" in result.stderr
    assert "nope.json not found" in log.read_text()


def test_a_second_run_while_one_holds_the_lock_exits_1_clearly(tmp_path):
    import fcntl

    with open(REPO / ".run_inverter_daily_stats.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = cron_run(
            "--config",
            str(tmp_path / "x.json"),
            log=tmp_path / "daily.log",
            cwd=tmp_path,
            LOCK_WAIT="1",
        )
    assert result.returncode == 1
    assert "still running" in result.stderr


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


def test_install_cron_twice_leaves_one_line_and_keeps_the_others(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "crontab"
    fake.write_text(FAKE_CRONTAB)
    fake.chmod(0o755)
    table = tmp_path / "crontab.txt"
    table.write_text("MAILTO=me@example.com\n30 2 * * * /usr/bin/backup\n")

    def install(*args: str) -> subprocess.CompletedProcess[str]:
        return cron_run(
            "--install-cron",
            *args,
            log=tmp_path / "daily.log",
            cwd=tmp_path,
            PATH=f"{bin_dir}:/usr/bin:/bin",
            CRONTAB_FILE=str(table),
        )

    assert install().returncode == 0
    first = table.read_text().splitlines()
    assert first[:2] == ["MAILTO=me@example.com", "30 2 * * * /usr/bin/backup"]
    assert first[2].startswith(f"0 4 * * * {WRAPPER}")
    result = install("04:30", "--config", "/srv/solar/my config.json")
    assert result.returncode == 0, result.stderr
    lines = table.read_text().splitlines()
    ours = [line for line in lines if str(WRAPPER) in line]
    assert len(ours) == 1 and len(lines) == 3
    assert ours[0].startswith("30 4 * * * ") and "my\\ config.json" in ours[0]
    bad = install("25:00")
    assert bad.returncode == 2
    assert "use HH:MM" in bad.stderr
    assert table.read_text().splitlines() == lines


def test_log_rotates_past_its_size_keeping_five(tmp_path):
    log = tmp_path / "daily.log"
    log.write_text("x" * 2000)
    for n in range(1, 6):
        (tmp_path / f"daily.log.{n}").write_text(f"old {n}")
    cron_run("--config", str(tmp_path / "none.json"), log=log, cwd=tmp_path, LOG_MAX_BYTES="1000")
    assert (tmp_path / "daily.log.1").read_text() == "x" * 2000
    assert (tmp_path / "daily.log.5").read_text() == "old 4"
    assert not (tmp_path / "daily.log.6").exists()
    assert "none.json not found" in log.read_text()
