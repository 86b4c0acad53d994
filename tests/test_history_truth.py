"""A history a person could have edited (issue 9 item 5): every bad entry is one ``error:``
line naming the file, the serial and the day, exit 1, the file untouched, from the daily
job and from the report alike; never "unexpected ... please report it"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


@pytest.mark.parametrize("case", sorted(BAD_DAYS))
@pytest.mark.parametrize("script", ["run_inverter_daily_stats.py", "panel_report.py"])
def test_a_hand_edited_bad_day_is_one_error_line_naming_file_serial_and_day(
    recorded, case, script, tmp_path
):
    path, history_path, emulator = recorded
    good = history_path.read_bytes()
    data = json.loads(good)
    serial = sorted(data["micro_inverters"])[1]
    day, entry, said = BAD_DAYS[case]
    data["micro_inverters"][serial][day] = entry
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
    assert str(history_path) in errors[0] and f"serial {serial}" in errors[0]
    assert repr(day) in errors[0] and said in errors[0]
