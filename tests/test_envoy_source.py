"""The daily job reading the gateway on the home network: the real script, the real pyenphase,
real sockets, a loopback gateway replaying answers recorded from real gateways
(tests/fixtures/envoy/, sources in its README)."""

from __future__ import annotations

import json
import re
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from panel_tracker.envoy.reader import PYENPHASE_MISSING, check_gateway, gateway_findings
from panel_tracker.envoy.settings_keys import EnvoySettings
from panel_tracker.health.dc import LOW_LIGHT, MICRO_FAULT
from sandbox.envoy_emulator import FIXTURES, EnvoyEmulator, fixture_name, recorded
from tests.conftest import run_script

needs_pyenphase = pytest.mark.skipif(
    PYENPHASE_MISSING is not None,
    reason="pyenphase needs Python 3.11 or newer (enum.StrEnum); on 3.10 the gateway source "
    "says so, which test_on_python_3_10_the_gateway_source_says_it_needs_3_11 checks",
)

WITH_ENERGY = "8.2.4345_with_device_data"  # firmware 8, token, /ivp/pdm/device_data
TOKEN_NO_ENERGY = "7.6.175"  # firmware 7, token, watts only
OLD = "5.0.62"  # firmware 5, no token, plain HTTP, watts only
DAY = 86_400
JOULES_A_DAY = 1_200 * 3_600  # 1.2 kWh a day for every micro in the simulated nights
# A token shaped like the owner's (pyenphase reads its expiry); the key is the test's own.
TOKEN = jwt.encode(
    {"exp": 2_000_000_000, "enphaseUser": "owner"}, "test-key-" + "x" * 32, algorithm="HS256"
)


def device_data(firmware: str = WITH_ENERGY) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / firmware / "ivp_pdm_device_data").read_bytes())
    return data


def micros() -> dict[str, tuple[int, int]]:
    """serial -> (lifetime joules, last report epoch) of the recorded active micros."""
    found = {}
    for device in device_data().values():
        if isinstance(device, dict) and device.get("devName") == "pcu" and device.get("active"):
            channel = device["channels"][0]
            found[device["sn"]] = (
                channel["lifetime"]["joulesProduced"],
                channel["lastReading"]["endDate"],
            )
    return found


# In the recording this micro's DC is as high as its neighbours' (32.0 V, 8.5 A) and that one's
# low (0.79 A against a median 2.6 A): made weak for a night, one is the micro, one the light.
FAULTY, SHADED = "122344047645", "122344046574"
WEAK = {FAULTY: 40, SHADED: 300}


@pytest.fixture
def gateway() -> Iterator[EnvoyEmulator]:
    with EnvoyEmulator(WITH_ENERGY, token=TOKEN) as emulator:
        yield emulator


def write_config(folder: Path, host: str, **extra: Any) -> Path:
    config = {
        "name": "Home",
        "system_id": "1234567",
        "source": "envoy",
        "envoy_host": host,
        "envoy_token": TOKEN,
        "timezone": "UTC",
        **extra,
    }
    path = folder / "cfg.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def history_file(folder: Path) -> Path:
    return folder / "data" / "inverter_daily_data-1234567.json"


def days_of(folder: Path) -> dict[str, dict[str, dict[str, Any]]]:
    data: dict[str, dict[str, dict[str, Any]]] = json.loads(history_file(folder).read_bytes())[
        "micro_inverters"
    ]
    return data


def job(config: Path) -> tuple[int, str]:
    done = run_script("run_inverter_daily_stats.py", "--config", str(config), "--no-sheet")
    return done.returncode, done.stdout + done.stderr


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def move_site(emulator: EnvoyEmulator, night: int, weak: dict[str, int] | None = None) -> None:
    """Night ``night`` of the simulated site: every micro 1.2 kWh a day after the recording,
    except the ``weak`` ones (serial -> Wh made in the last day)."""
    for serial, (joules, end) in micros().items():
        lifetime = joules + night * JOULES_A_DAY
        if serial in (weak or {}):
            lifetime += (weak or {})[serial] * 3600 - JOULES_A_DAY
        emulator.set_micro(serial, lifetime_joules=lifetime, end_date=end + night * DAY)


# --- the emulator is held to the recordings --------------------------------------------------
def _fetch(emulator: EnvoyEmulator, target: str, token: str | None) -> tuple[int, bytes]:
    context = None
    if emulator.secure:
        # The test trusts exactly the certificate this emulator made, nothing else.
        context = ssl.create_default_context(cafile=str(emulator.certificate))
    request = urllib.request.Request(emulator.url.rstrip("/") + target)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize("firmware", [WITH_ENERGY, TOKEN_NO_ENERGY, OLD])
def test_the_emulator_answers_byte_for_byte_what_the_gateway_recorded(firmware: str) -> None:
    targets = {
        "/info": "info",
        "/production.json?details=1": "production.json_details_1",
        "/production.json": "production.json",
        "/production": "production",
        "/api/v1/production": "api_v1_production",
        "/api/v1/production/inverters": "api_v1_production_inverters",
        "/ivp/pdm/device_data": "ivp_pdm_device_data",
        "/ivp/ensemble/inventory": "ivp_ensemble_inventory",
    }
    token = TOKEN if firmware != OLD else None
    with EnvoyEmulator(firmware, token=token) as emulator:
        compared = 0
        for target, name in targets.items():
            assert fixture_name(target) == name
            expected = recorded(FIXTURES / firmware, name)
            if expected is None and "?" in target:  # the bare path's recording, see the emulator
                expected = recorded(FIXTURES / firmware, fixture_name(target.partition("?")[0]))
            status, body = _fetch(emulator, target, token)
            if expected is None:
                assert status == 404, target
                continue
            assert (status, body) == (expected.status, expected.body), target
            compared += 1
        assert compared >= 5
        if emulator.secure:
            assert _fetch(emulator, "/api/v1/production/inverters", "bad")[0] == 401


# --- the job, night after night ---------------------------------------------------------------
@needs_pyenphase
def test_nights_from_the_gateway_record_each_micros_day_and_its_dc_readings(
    tmp_path: Path, gateway: EnvoyEmulator
) -> None:
    config = write_config(tmp_path, gateway.host)
    for night in (0, 1):
        move_site(gateway, night, weak=WEAK if night else None)
        code, output = job(config)
        assert code == 0, output
    assert "15 of 15 panels reporting" in output
    findings = [line for line in output.splitlines() if "likely" in line]
    assert len(findings) == 2, output
    assert f"serial {SHADED} " in findings[0] and LOW_LIGHT in findings[0]  # in serial order
    assert f"serial {FAULTY} " in findings[1] and MICRO_FAULT in findings[1]
    assert TOKEN not in output
    history = days_of(tmp_path)
    assert set(history) == set(micros())
    raw = {device["sn"]: device for device in device_data().values() if isinstance(device, dict)}
    for serial, (joules, end) in micros().items():
        day0, day1 = sorted(history[serial])
        assert history[serial][day0]["daily_energy"] is None  # first day of a serial: unknown
        entry = history[serial][day1]
        assert entry["daily_energy"] == WEAK.get(serial, 1_200)
        assert entry["lifetime_energy"] == round(joules / 3600) + entry["daily_energy"]
        assert entry["last_report"] == end + DAY
        reading = raw[serial]["channels"][0]["lastReading"]
        assert entry["dc_voltage_v"] == reading["dcVoltageINmV"] / 1000
        assert entry["dc_current_a"] == reading["dcCurrentINmA"] / 1000
        assert entry["temperature_c"] == reading["channelTemp"]


@needs_pyenphase
def test_a_replaced_micro_starts_its_own_history_and_the_old_one_keeps_its_days(
    tmp_path: Path, gateway: EnvoyEmulator
) -> None:
    config = write_config(tmp_path, gateway.host)
    move_site(gateway, 0)
    assert job(config)[0] == 0
    move_site(gateway, 1)
    new = "122399999999"
    _joules, end = micros()[FAULTY]
    gateway.replace_micro(FAULTY, new, lifetime_joules=90_000, end_date=end + DAY)
    code, output = job(config)
    assert code == 0, output
    assert f"new serial {new}: its history starts today" in output
    assert f"serial {FAULTY} has not reported since" in output
    history = days_of(tmp_path)
    assert len(history[FAULTY]) == 1  # kept, nothing invented for the day it was gone
    (only_day,) = history[new].values()
    assert only_day["daily_energy"] is None and only_day["lifetime_energy"] == 25


@needs_pyenphase
@pytest.mark.parametrize("firmware", [TOKEN_NO_ENERGY, OLD])
def test_firmware_without_per_micro_energy_records_nothing_and_says_what_to_do(
    tmp_path: Path, firmware: str
) -> None:
    token = TOKEN if firmware == TOKEN_NO_ENERGY else None
    with EnvoyEmulator(firmware, token=token) as emulator:
        extra: dict[str, Any] = {} if token else {"envoy_token": None}
        code, output = job(write_config(tmp_path, emulator.host, **extra))
    assert code == 1, output
    errors = error_lines(output)
    assert len(errors) == 1, output
    assert f"firmware {firmware}" in errors[0]
    assert "no per-micro lifetime energy" in errors[0]
    assert "keep the cloud source" in errors[0] and "update the gateway" in errors[0]
    assert not history_file(tmp_path).exists()


# --- what `check` reports -----------------------------------------------------------------------
@needs_pyenphase
@pytest.mark.parametrize(
    ("firmware", "micros_seen", "energy"),
    [(WITH_ENERGY, 15, "yes"), (TOKEN_NO_ENERGY, 13, "no"), (OLD, 40, "no")],
)
def test_check_says_firmware_micros_and_whether_they_give_energy(
    firmware: str, micros_seen: int, energy: str
) -> None:
    token = TOKEN if firmware != OLD else None
    with EnvoyEmulator(firmware, token=token) as emulator:
        found = check_gateway(EnvoySettings(host=emulator.host, token=token))
    findings = gateway_findings(found, history_serials=[*found.serials[1:], "999999999999"])
    lines = [f"{f.what} -> {f.fix}" if f.fix else f.what for f in findings]
    assert f"firmware {firmware.partition('_')[0]}, {micros_seen} micro-inverters seen" in lines[0]
    assert any(line.startswith(f"per-micro lifetime energy: {energy}") for line in lines)
    assert any("keep the cloud source" in f.fix for f in findings) == (energy == "no")
    assert any("token valid until 2033-05-18" in line for line in lines) == (token is not None)
    assert any("999999999999" in f.what and "envoy_host" in f.fix for f in findings)
    assert any(f"new to the history: {found.serials[0]}" in line for line in lines)


@needs_pyenphase
def test_check_reports_the_gateway_of_an_envoy_config(
    tmp_path: Path, gateway: EnvoyEmulator
) -> None:
    config = write_config(tmp_path, gateway.host)
    config.chmod(0o600)
    assert job(config)[0] == 0  # one night, so the history has the gateway's serials
    done = run_script("enlightenAPI_v4.py", "check", "--config", str(config))
    assert done.returncode == 0, done.stdout  # the cloud's keys are not asked for
    assert re.search(r"^ok +gateway \d+: firmware 8\.2\.4345", done.stdout, re.M), done.stdout
    assert "skipped Enlighten not called: the source is the gateway" in done.stdout
    assert "per-micro lifetime energy: yes" in done.stdout
    assert "serials match the gateway's" in done.stdout
    assert TOKEN not in done.stdout + done.stderr


@pytest.mark.skipif(PYENPHASE_MISSING is None, reason="pyenphase is installed: Python 3.11+")
def test_on_python_3_10_the_gateway_source_says_it_needs_3_11(tmp_path: Path) -> None:
    config = write_config(tmp_path, "192.168.1.50")
    code, output = job(config)
    assert code == 2, output
    errors = error_lines(output)
    assert len(errors) == 1 and "needs Python 3.11 or newer" in errors[0], output
    assert "PYTHON=python3.11" in errors[0]
    assert not history_file(tmp_path).exists()
