"""Scheduling the job: the crontab line and the Windows task as data, --install-task with a
stand-in schtasks, and the log file's redaction and levels."""

from __future__ import annotations

import doctest
import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from panel_tracker import cli
from panel_tracker.app import schedule
from panel_tracker.errors import PanelTrackerError, UsageError
from tests.conftest import REPO, run_script

SCRIPT = REPO / "run_inverter_daily_stats.py"

FAKE_SCHTASKS = """#!/bin/sh
# A stand-in for schtasks.exe: records its arguments, one a line, in $SCHTASKS_LOG.
for a in "$@"; do printf '%s\\n' "$a"; done > "$SCHTASKS_LOG"
echo "SUCCESS: The scheduled task \\"$5\\" has successfully been created."
"""


@pytest.mark.parametrize("text", ["4", "04:3", "04-30", " 04:30", "noon"])
def test_a_time_that_is_not_hh_mm_is_a_usage_error(text):
    with pytest.raises(UsageError, match="HH:MM"):
        schedule.parse_time(text, flag="--install-cron")


@pytest.mark.parametrize("text", ["24:00", "12:60"])
def test_a_time_out_of_the_day_is_a_usage_error(text):
    with pytest.raises(UsageError, match="not a time of day"):
        schedule.parse_time(text, flag="--install-task")


def test_cron_quotes_for_sh_and_escapes_percent():
    line = schedule.cron_line(Path("/opt/solar/run.sh"), ["--config", "/srv/my 50%.json"])
    assert line == (
        "0 4 * * * /opt/solar/run.sh --config '/srv/my 50\\%.json' # enphase-panel-tracker"
    )


def test_merge_replaces_our_line_by_mark_or_path_and_keeps_the_rest():
    wrapper = Path("/opt/solar/run_inverter_daily_stats.sh")
    current = (
        "MAILTO=me@example.com\n"
        "0 4 * * * /opt/solar/run_inverter_daily_stats.sh\n"  # by hand, no mark
        "15 3 * * * /other/job # enphase-panel-tracker\n"
        "30 2 * * * /usr/bin/backup\n\n"
    )
    merged = schedule.merge_crontab(current, "NEW", wrapper)
    assert merged == "MAILTO=me@example.com\n30 2 * * * /usr/bin/backup\nNEW\n"
    assert schedule.merge_crontab("", "NEW", wrapper) == "NEW\n"


def test_the_task_command_is_one_windows_command_line():
    job = [r"C:\solar tracker\.venv\Scripts\python.exe", r"C:\solar tracker\run.py", "-q"]
    argv = schedule.schtasks_argv(job, at="4:05")
    assert argv == [
        "schtasks", "/Create", "/F", "/TN", "Enphase panel tracker", "/SC", "DAILY",
        "/ST", "04:05", "/TR",
        r'"C:\solar tracker\.venv\Scripts\python.exe" "C:\solar tracker\run.py" -q',
    ]  # fmt: skip


def test_a_task_command_longer_than_schtasks_takes_is_refused_with_the_command():
    job = ["C:\\" + "x" * 300 + "\\python.exe", "run.py"]
    with pytest.raises(UsageError) as caught:
        schedule.schtasks_argv(job)
    assert "at most 261" in caught.value.message
    assert caught.value.hint is not None and job[0] in caught.value.hint


def test_existing_paths_are_made_absolute_and_a_missing_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.json").write_text("{}")
    assert schedule.existing_paths([Path("a.json")]) == [tmp_path / "a.json"]
    with pytest.raises(UsageError, match=r"b\.json not found"):
        schedule.existing_paths([Path("a.json"), Path("b.json")])


def _fake_schtasks(tmp_path: Path) -> tuple[dict[str, str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "schtasks"
    fake.write_text(FAKE_SCHTASKS)
    fake.chmod(0o755)
    calls = tmp_path / "schtasks-args.txt"
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "SCHTASKS_LOG": str(calls)}, calls


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: the task's command holds this machine's paths and
    schtasks caps it at 261 characters, which pytest's deep tmp_path alone can exceed."""
    folder = Path(tempfile.mkdtemp(prefix="pt-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _install_task(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--install-task", *args],
        cwd=cwd,
        env={**env, "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_install_task_runs_schtasks_with_one_python_line_and_absolute_paths(short_dir):
    tmp_path = short_dir
    env, calls = _fake_schtasks(tmp_path)
    (tmp_path / "home.json").write_text("{}")
    result = _install_task("04:30", "--config", "home.json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    command = subprocess.list2cmdline(
        [
            sys.executable,
            str(SCRIPT),
            "--config",
            str(tmp_path / "home.json"),
            "--log-file",
            str(REPO / "logs" / "daily.log"),
        ]
    )
    expected = [
        "/Create", "/F", "/TN", "Enphase panel tracker", "/SC", "DAILY", "/ST", "04:30",
        "/TR", command,
    ]  # fmt: skip
    assert calls.read_text().splitlines() == expected
    assert f"task 'Enphase panel tracker': {command}" in result.stdout
    # Again: /F replaces the task of the same name, the same command, never a second task.
    calls.unlink()
    again = _install_task("04:30", "--config", "home.json", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert calls.read_text().splitlines() == expected


def test_install_task_refuses_a_missing_config_before_calling_schtasks(tmp_path):
    env, calls = _fake_schtasks(tmp_path)
    result = _install_task("--config", "nope.json", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr == (
        f"error: config {tmp_path / 'nope.json'} not found: give the path of an existing "
        "config file or folder of configs; nothing was installed\n"
    )
    assert not calls.exists()


def test_install_task_without_schtasks_prints_the_command_and_exits_2(tmp_path):
    (tmp_path / "home.json").write_text("{}")
    result = _install_task(
        "--config", "home.json", "--log-file", "out.log", cwd=tmp_path, env={"PATH": "/usr/bin"}
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: schtasks not found")
    assert result.stderr.count("\n") == 1
    assert '/TN "Enphase panel tracker" /SC DAILY /ST 04:00 /TR' in result.stderr
    assert f"--log-file {tmp_path / 'out.log'}" in result.stderr


def test_install_task_refuses_a_command_schtasks_would_cut_and_calls_nothing(tmp_path):
    env, calls = _fake_schtasks(tmp_path)
    deep = tmp_path / ("d" * 200)
    deep.mkdir()
    (deep / "home.json").write_text("{}")
    result = _install_task("--config", str(deep / "home.json"), cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: the task's command is ")
    assert "schtasks takes at most 261: move the project or the config" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not calls.exists()


def test_install_cron_without_crontab_exits_2_with_the_line(tmp_path):
    (tmp_path / "home.json").write_text("{}")
    result = run_script(
        "run_inverter_daily_stats.py",
        "--install-cron",
        "--config",
        str(tmp_path / "home.json"),
        env={"PATH": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: crontab not found: install cron, or add this line")
    assert f"--config {tmp_path / 'home.json'} -q # enphase-panel-tracker" in result.stderr


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "logs" / "job.log"
    yield path
    cli.setup_logging()  # drop the file handler: later tests log to the terminal only


def test_the_log_file_redacts_secrets_and_keeps_info_under_quiet(log_file, capsys):
    secret = "LOG-SECRET-5d1e9a"
    cli.register_secrets(lambda: [secret])
    cli.setup_logging(quiet=True, log_file=log_file)
    logging.getLogger("panel_tracker.test").info("token %s refreshed", secret)
    cli.say(f"summary with {secret}", show=False)
    assert cli.fail(f"refused https://x.example/?key={secret}", 2) == 2
    text = log_file.read_text()
    assert secret not in text
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].endswith(" INFO: token *** refreshed")
    assert lines[1].endswith(" summary with ***")
    assert lines[2].endswith(" error: refused https://x.example/?key=***")
    terminal = capsys.readouterr()
    assert terminal.out == ""  # -q: the INFO record and the hidden line stay off the terminal
    assert terminal.err == "error: refused https://x.example/?key=***\n"


def test_a_log_file_that_cannot_be_opened_is_one_error_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_script(
        "run_inverter_daily_stats.py", "--log-file", str(blocker / "daily.log"), "--no-sheet"
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot open the log file {blocker / 'daily.log'}")
    assert result.stderr.count("\n") == 1


def test_the_examples_in_the_schedule_docstrings_hold():
    assert doctest.testmod(schedule).failed == 0


def test_a_crontab_that_cannot_be_listed_is_left_alone(tmp_path):
    fake = tmp_path / "crontab"
    written = tmp_path / "written"
    fake.write_text(
        '#!/bin/sh\n[ "$1" = "-l" ] && { echo "crontab: permission denied" >&2; exit 1; }\n'
        f'cat > "{written}"\n'
    )
    fake.chmod(0o755)
    with pytest.raises(PanelTrackerError, match="crontab -l failed: crontab: permission denied"):
        schedule.install_cron(Path("/opt/run.sh"), [], crontab=str(fake))
    assert not written.exists()
