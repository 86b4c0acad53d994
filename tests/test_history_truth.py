"""A history a person could have edited (issue 9 item 5): every bad entry is one ``error:``
line naming the file, the serial and the day, exit 1, the file untouched, from the daily
job and from the report alike; never "unexpected ... please report it"."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from panel_tracker.settings import load_config
from sandbox.site import SimulatedSite, SiteScenario
from tests.conftest import night, run_script, start_emulator, write_config

SERIAL_DAY = "2026-01-02"

BAD_DAYS: dict[str, tuple[str, Any, str]] = {
    # case: (day key, entry, what the error line says)
    "text day": (SERIAL_DAY, "x", "not an object"),
    "no lifetime": (SERIAL_DAY, {"daily_energy": 5}, "no lifetime_energy"),
    "in 2099": ("2099-01-01", {"daily_energy": 5, "lifetime_energy": 9}, "in the future"),
    "not a date": ("not-a-date", {"daily_energy": 5, "lifetime_energy": 9}, "not a date"),
    "2**64": (SERIAL_DAY, {"daily_energy": 5, "lifetime_energy": 2**64}, "lifetime_energy"),
    "negative": (SERIAL_DAY, {"daily_energy": 5, "lifetime_energy": -5}, "out of range"),
    "text energy": (SERIAL_DAY, {"daily_energy": "5", "lifetime_energy": 9}, "daily_energy"),
    "float energy": (SERIAL_DAY, {"daily_energy": 5.5, "lifetime_energy": 9}, "daily_energy"),
    "bad report time": (
        SERIAL_DAY,
        {"daily_energy": 5, "lifetime_energy": 9, "last_report": "x"},
        "last_report",
    ),
    "31 February": ("2026-02-31", {"daily_energy": 5, "lifetime_energy": 9}, "not a date"),
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, request) -> tuple[Path, Path, Any]:
    """A config and its history after three nights against the emulator."""
    emulator = start_emulator(SimulatedSite(SiteScenario.healthy(n_panels=4, kj_serials=0)))
    request.addfinalizer(emulator.stop)
    folder = tmp_path_factory.mktemp("edited")
    path = write_config(folder, emulator)
    for offset in range(3):
        night(emulator, offset)
        result = run_script("run_inverter_daily_stats.py", "--config", str(path), "--no-sheet")
        assert result.returncode == 0, result.stderr
    return path, load_config(path).history_path, emulator


def refused_edit(recorded, data: dict[str, Any], script: str, tmp_path: Path) -> str:
    """Run ``script`` on the recorded history edited to ``data``; assert it refuses the file
    with one error line (exit 1, no traceback) and leaves it byte for byte as edited; then put
    the good file back. Returns the error line."""
    path, history_path, emulator = recorded
    good = history_path.read_bytes()
    edited = json.dumps(data).encode()
    history_path.write_bytes(edited)
    try:
        night(emulator, 3)
        args = ["--no-sheet"] if script.startswith("run_") else ["--out", str(tmp_path / "r")]
        result = run_script(script, "--config", str(path), *args)
        assert history_path.read_bytes() == edited  # untouched
    finally:
        history_path.write_bytes(good)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    return errors[0]


@pytest.mark.parametrize("case", sorted(BAD_DAYS))
@pytest.mark.parametrize("script", ["run_inverter_daily_stats.py", "panel_report.py"])
def test_a_hand_edited_bad_day_is_one_error_line_naming_file_serial_and_day(
    recorded, case, script, tmp_path
):
    history_path = recorded[1]
    data = json.loads(history_path.read_bytes())
    serial = sorted(data["micro_inverters"])[1]
    day, entry, said = BAD_DAYS[case]
    data["micro_inverters"][serial][day] = entry
    error = refused_edit(recorded, data, script, tmp_path)
    assert str(history_path) in error and f"serial {serial}" in error
    assert repr(day) in error and said in error


# Whole-file edits: (what is changed, what the error line says). Each takes the recorded
# history's data and the serial to spoil, and changes it in place.
BAD_FILES: dict[str, tuple[Any, list[str]]] = {
    "system a list": (lambda data, serial: data.update(system=[]), ["'system'", "a list"]),
    "health a number": (lambda data, serial: data.update(health=5), ["'health'", "5"]),
    "health.open a list": (
        lambda data, serial: data.update(health={"open": [], "closed": []}),
        ["'health.open'", "a list"],
    ),
    "health.closed an object": (
        lambda data, serial: data.update(health={"open": {}, "closed": {}}),
        ["'health.closed'", "an object"],
    ),
    "replacements text": (
        lambda data, serial: data.update(replacements="x"),
        ["'replacements'", "the text 'x'"],
    ),
    "micros a list": (
        lambda data, serial: data.update(micro_inverters=[]),
        ["'micro_inverters'", "a list"],
    ),
    "serial a list": (
        lambda data, serial: data["micro_inverters"].update({serial: [1, 2]}),
        ["serial {serial}", "a list", "an object of days"],
    ),
    "serial a number": (
        lambda data, serial: data["micro_inverters"].update({serial: 7}),
        ["serial {serial}", "7"],
    ),
}


@pytest.mark.parametrize(
    ("case", "script"),
    [(case, "run_inverter_daily_stats.py") for case in sorted(BAD_FILES)]
    + [(case, "panel_report.py") for case in ("system a list", "serial a list")],
)
def test_a_section_of_the_wrong_type_is_one_error_line_naming_file_and_key(
    recorded, case, script, tmp_path
):
    history_path = recorded[1]
    data = json.loads(history_path.read_bytes())
    serial = sorted(data["micro_inverters"])[1]
    spoil, said = BAD_FILES[case]
    spoil(data, serial)
    error = refused_edit(recorded, data, script, tmp_path)
    assert str(history_path) in error
    for words in said:
        assert words.format(serial=serial) in error, error


def test_a_day_after_the_run_s_own_day_in_the_system_s_zone_is_refused(recorded, tmp_path):
    """The load can only bound dates by the zone furthest ahead (UTC+14); the job holds them
    to its own day in the system's zone, with the readings' clock-skew allowance."""
    history_path = recorded[1]
    data = json.loads(history_path.read_bytes())
    serial = sorted(data["micro_inverters"])[2]
    # UTC-12, the zone furthest behind: its tomorrow, even two hours on (past the readings'
    # one-hour skew allowance), is never after today at UTC+14 (the load's bound), so only
    # the job's own check can see it, at any hour of the day the test runs.
    zone = ZoneInfo("Etc/GMT+12")
    data["system"]["timezone"] = zone.key
    ahead = (datetime.now(timezone.utc) + timedelta(hours=2)).astimezone(zone).date()
    tomorrow = (ahead + timedelta(days=1)).isoformat()
    data["micro_inverters"][serial][tomorrow] = {"daily_energy": 5, "lifetime_energy": 10**9}
    error = refused_edit(recorded, data, "run_inverter_daily_stats.py", tmp_path)
    assert str(history_path) in error and f"serial {serial}" in error
    assert repr(tomorrow) in error and "after the run's day" in error
