"""Every recorded gateway firmware, through the real `check`, the real daily job and the real
pyenphase: each micro's lifetime energy as the gateway counted it, or one clear line that this
firmware gives none and nothing written (tests/fixtures/envoy/, sources in its README)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sandbox.envoy_emulator import DEVICE_DATA, FIXTURES, EnvoyEmulator
from tests.conftest import run_script
from tests.test_envoy_source import (
    TOKEN,
    days_of,
    error_lines,
    history_file,
    job,
    needs_pyenphase,
    write_config,
)

FIRMWARE = sorted(folder.name for folder in FIXTURES.iterdir() if folder.is_dir())
# The recordings whose gateway gives per-micro lifetime energy (active micros in device data);
# every other one gives watts only, or no per-micro readings at all.
WITH_ENERGY = {
    "8.2.4345_with_device_data",
    "8.3.5167_3rd-pv",
    "8.3.5169_ACB_inventory",
    "8.3.5169_with_generator",
    "8.3.5289_modGone",
    "8.3.5433_tot_is_net_cons",
}
NO_ENERGY = "gives no per-micro lifetime energy"


def recorded_firmware(folder: Path) -> str:
    """The version in the recorded /info, as the gateway reports it (D8.2.4345 -> 8.2.4345)."""
    found = re.search(r"<software>\D*([\d.]+)</software>", (folder / "info").read_text())
    assert found, folder
    return found.group(1)


def lifetime_of_each_micro(folder: Path) -> dict[str, tuple[int, int]]:
    """serial -> (lifetime Wh, last report epoch) of the recording's active micro-inverters,
    from the joules the gateway counted (1 Wh = 3600 J, rounded as the reader's pyenphase does)."""
    data: dict[str, Any] = json.loads((folder / DEVICE_DATA).read_bytes())
    found = {}
    for device in data.values():
        if isinstance(device, dict) and device.get("devName") == "pcu" and device.get("active"):
            channel = device["channels"][0]
            found[device["sn"]] = (
                round(channel["lifetime"]["joulesProduced"] / 3600),
                channel["lastReading"]["endDate"],
            )
    return found


def test_all_38_recordings_are_here_and_in_the_readme() -> None:
    assert len(FIRMWARE) == 38
    assert set(FIRMWARE) >= WITH_ENERGY
    table = (FIXTURES / "README.md").read_text(encoding="utf-8")
    for firmware in FIRMWARE:
        row = next((line for line in table.splitlines() if line.startswith(f"| `{firmware}` ")), "")
        assert row.endswith(" |") and ("| yes" in row) == (firmware in WITH_ENERGY), firmware


@needs_pyenphase
@pytest.mark.parametrize("firmware", FIRMWARE)
def test_check_and_the_job_read_each_micros_lifetime_energy_or_say_the_firmware_gives_none(
    tmp_path: Path, firmware: str
) -> None:
    folder = FIXTURES / firmware
    with EnvoyEmulator(firmware, token=TOKEN) as gateway:
        # Firmware before 7 is read without a token (pyenphase logs in as the installer).
        config = write_config(tmp_path, gateway.host, envoy_token=TOKEN if gateway.secure else None)
        config.chmod(0o600)
        settings = config.read_bytes()
        checked = run_script("enlightenAPI_v4.py", "check", "--config", str(config))
        code, output = job(config)
    version = recorded_firmware(folder)
    assert re.search(
        rf"^(ok +gateway \S+: firmware {re.escape(version)},|PROBLEM +the gateway at)",
        checked.stdout,
        re.M,
    ), checked.stdout
    assert TOKEN not in checked.stdout + checked.stderr + output
    assert "Traceback" not in checked.stderr + output

    if firmware in WITH_ENERGY:
        assert checked.returncode == 0, checked.stdout
        assert "per-micro lifetime energy: yes" in checked.stdout
        assert code == 0, output
        expected = lifetime_of_each_micro(folder)
        history = days_of(tmp_path)
        assert set(history) == set(expected)
        for serial, (lifetime_wh, last_report) in expected.items():
            (entry,) = history[serial].values()  # the first night of a serial
            assert (entry["lifetime_energy"], entry["last_report"]) == (lifetime_wh, last_report)
            assert entry["daily_energy"] is None
        return

    assert checked.returncode == 1, checked.stdout
    problems = [line for line in checked.stdout.splitlines() if line.startswith("PROBLEM")]
    assert len(problems) == 1, checked.stdout
    assert re.search(f"per-micro lifetime energy: no|{NO_ENERGY}", problems[0]), problems[0]
    assert "keep the cloud source" in problems[0]
    assert code == 1, output
    errors = error_lines(output)
    assert len(errors) == 1, output
    assert f"(firmware {version}) {NO_ENERGY}" in errors[0]
    assert "keep the cloud source" in errors[0] and "update the gateway" in errors[0]
    assert not history_file(tmp_path).exists()
    assert not (tmp_path / "data").exists()  # nothing written, not even the run's lock
    assert config.read_bytes() == settings
