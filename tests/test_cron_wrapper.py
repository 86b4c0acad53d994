"""run_inverter_daily_stats.sh as cron runs it: from another folder, logging, exit status."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from sandbox.site import SiteScenario
from tests.conftest import REPO, assert_no_secrets, config_secrets, night, write_config

WRAPPER = REPO / "run_inverter_daily_stats.sh"


def cron_run(*args: str, log: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # cron's environment is bare: no virtualenv on PATH, HOME as the current folder.
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
        "LOG_FILE": str(log),
        "PYTHON": os.environ.get("PYTHON", "python3"),
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
        env_log = tmp_path / "daily.log"
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "LOG_FILE": str(env_log),
            "LOCK_WAIT": "1",
        }
        result = subprocess.run(
            [str(WRAPPER), "--config", str(tmp_path / "x.json")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert "still running" in result.stderr
