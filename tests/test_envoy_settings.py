"""Bad local settings of the gateway source: the config's keys, and the real daily job and
`check` against the loopback gateway (the real pyenphase) after a good night. Each bad setting
is one `error:` line, the exit status of the README's table, and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

from panel_tracker.envoy.settings_keys import EnvoySettings, parse_envoy_settings
from panel_tracker.errors import ConfigError
from sandbox.envoy_emulator import EnvoyEmulator
from tests.conftest import run_script
from tests.test_envoy_source import (
    FAULTY,
    JOULES_A_DAY,
    TOKEN,
    closed_port,
    days_of,
    error_lines,
    gateway,  # noqa: F401 (the fixture)
    job,
    micros,
    move_site,
    needs_pyenphase,
    write_config,
)

# Signed like the owner's but not the gateway's: the gateway answers 401.
OTHER_TOKEN = jwt.encode(
    {"exp": 2_000_000_000, "enphaseUser": "owner"}, "other-key-" + "y" * 32, algorithm="HS256"
)


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file a run may write (config, history, report, ...); not the run lock."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.startswith(".run-")
    }


# --- the settings keys -------------------------------------------------------------------------
def test_the_cloud_stays_the_default() -> None:
    assert parse_envoy_settings({}) is None
    assert parse_envoy_settings({"source": "enlighten"}) is None


def test_envoy_settings_are_parsed() -> None:
    settings = parse_envoy_settings(
        {"source": "envoy", "envoy_host": " 192.168.1.50 ", "envoy_token": "t0k3n-value"}
    )
    assert settings == EnvoySettings(host="192.168.1.50", token="t0k3n-value")
    assert "t0k3n" not in repr(settings)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"source": "gateway"}, '"source"'),
        ({"source": "envoy"}, '"envoy_host"'),
        ({"source": "envoy", "envoy_host": "https://192.168.1.50/"}, '"envoy_host"'),
        ({"source": "envoy", "envoy_host": "h", "envoy_token": 5}, '"envoy_token"'),
        ({"source": "envoy", "envoy_host": "h", "envoy_username": "me@x"}, '"envoy_password"'),
        ({"source": "envoy", "envoy_host": "h", "envoy_timeout_seconds": 0}, "envoy_timeout"),
    ],
)
def test_bad_envoy_settings_name_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_envoy_settings(raw)
    assert key in caught.value.message
    assert caught.value.hint


# --- the job and check, a night after a good one ----------------------------------------------
def after_a_good_night(folder: Path, emulator: EnvoyEmulator) -> Path:
    """The config of a first night read well (the history holds the gateway's 15 micros)."""
    config = write_config(folder, emulator.host)
    config.chmod(0o600)
    move_site(emulator, 0)
    assert job(config)[0] == 0
    return config


def no_address(folder: Path, emulator: EnvoyEmulator) -> Path:
    return write_config(folder, "")


def bad_token(folder: Path, emulator: EnvoyEmulator) -> Path:
    return write_config(folder, emulator.host, envoy_token=OTHER_TOKEN)


def expired_token(folder: Path, emulator: EnvoyEmulator) -> Path:
    emulator.now = 2_000_000_001  # the gateway's clock is past the token's expiry
    return write_config(folder, emulator.host)


def another_gateway(folder: Path, emulator: EnvoyEmulator) -> Path:
    for serial, (joules, end) in micros().items():  # none of its micros is this history's
        emulator.replace_micro(serial, "9" + serial[1:], lifetime_joules=joules, end_date=end)
    return write_config(folder, emulator.host)


@dataclass(frozen=True)
class BadSetting:
    make: Callable[[Path, EnvoyEmulator], Path]  # the config of the bad night
    job_status: int
    says: str
    check_status: int


BAD_SETTINGS = [
    BadSetting(no_address, 2, '"envoy_host" is missing', 2),
    BadSetting(bad_token, 1, "refused the access", 1),
    BadSetting(expired_token, 1, "refused the access", 1),
    BadSetting(another_gateway, 2, "none of the 15 micro-inverters of the gateway", 1),
]


@needs_pyenphase
@pytest.mark.parametrize("bad", BAD_SETTINGS, ids=lambda bad: bad.make.__name__)
def test_a_bad_setting_is_one_error_line_and_nothing_is_written(
    tmp_path: Path,
    gateway: EnvoyEmulator,  # noqa: F811
    bad: BadSetting,
) -> None:
    after_a_good_night(tmp_path, gateway)
    move_site(gateway, 1)
    config = bad.make(tmp_path, gateway)
    config.chmod(0o600)
    before = files_under(tmp_path)

    code, output = job(config)
    assert code == bad.job_status, output
    errors = error_lines(output)
    assert len(errors) == 1 and bad.says in errors[0], output
    assert ": " in errors[0].partition(bad.says)[2], errors[0]  # the fix follows
    assert "Traceback" not in output
    assert files_under(tmp_path) == before

    checked = run_script("enlightenAPI_v4.py", "check", "--config", str(config))
    assert checked.returncode == bad.check_status, checked.stdout
    assert any(line.startswith("PROBLEM") for line in checked.stdout.splitlines())
    for secret in (TOKEN, OTHER_TOKEN):
        assert secret not in output + checked.stdout + checked.stderr
    assert files_under(tmp_path) == before


@needs_pyenphase
def test_a_night_the_gateway_is_down_fails_and_the_next_night_fills_the_gap_exactly(
    tmp_path: Path,
    gateway: EnvoyEmulator,  # noqa: F811
) -> None:
    after_a_good_night(tmp_path, gateway)
    down = write_config(tmp_path, closed_port())
    before = files_under(tmp_path)
    code, output = job(down)
    assert code == 1, output
    errors = error_lines(output)
    assert len(errors) == 1 and "does not answer" in errors[0], output
    assert "fills the missed days" in errors[0]
    assert "Traceback" not in output
    assert files_under(tmp_path) == before  # nothing written

    checked = run_script("enlightenAPI_v4.py", "check", "--config", str(down))
    assert checked.returncode == 1
    line = next(x for x in checked.stdout.splitlines() if "does not answer" in x)
    assert line.startswith("PROBLEM") and "->" in line, line

    move_site(gateway, 2)
    code, output = job(write_config(tmp_path, gateway.host))
    assert code == 0, output
    assert "(2 days, 15 panels) split evenly, marked estimated" in output
    assert "warning" not in output.lower()  # no daily history to ask for: not a failure
    for serial, (joules, _end) in micros().items():
        days = [days_of(tmp_path)[serial][day] for day in sorted(days_of(tmp_path)[serial])]
        assert len(days) == 3
        assert days[1]["daily_energy"] + days[2]["daily_energy"] == 2 * 1_200  # conserved
        assert days[1]["estimated"] and days[2]["estimated"]
        assert days[2]["lifetime_energy"] == round((joules + 2 * JOULES_A_DAY) / 3600)


@needs_pyenphase
def test_check_reports_serials_missing_from_the_gateway_and_new_to_the_history(
    tmp_path: Path,
    gateway: EnvoyEmulator,  # noqa: F811
) -> None:
    config = after_a_good_night(tmp_path, gateway)
    new = "122399999999"
    joules, end = micros()[FAULTY]
    gateway.replace_micro(FAULTY, new, lifetime_joules=joules, end_date=end + 86_400)
    before = files_under(tmp_path)

    checked = run_script("enlightenAPI_v4.py", "check", "--config", str(config))
    assert checked.returncode == 1, checked.stdout
    lines = checked.stdout.splitlines()
    missing = next(line for line in lines if "of the history not on this gateway" in line)
    assert missing.startswith("PROBLEM") and FAULTY in missing and "envoy_host" in missing
    assert any(line.startswith("ok") and f"new to the history: {new}" in line for line in lines)
    assert files_under(tmp_path) == before
