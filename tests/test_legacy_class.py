"""The original class, ``enlightenAPI_v4(config_dict)``, as an old user's script calls it.

What the original offered (constructor, methods, their answers, where it saved tokens) is
in ``tests/fixtures/original/original_class.json``, its source noted in the README there.
Every call goes over loopback to the Enlighten emulator.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enlightenAPI_v4 import enlightenAPI_v4
from panel_tracker.enlighten.errors import AuthError
from panel_tracker.errors import ConfigError
from sandbox.enlighten_emulator import EnlightenEmulator
from sandbox.site import SimulatedSite, SiteScenario
from tests.conftest import REPO, assert_no_secrets, start_emulator

FIXTURES = Path(__file__).parent / "fixtures" / "original"
ORIGINAL = json.loads((FIXTURES / "original_class.json").read_text())
TOKEN = "/oauth/token"

# An old user's daily script, as the original's README told them to write it: the config
# read from the current directory, the first gateway's micros, the raw energy values.
OLD_SCRIPT = """
import json
from enlightenAPI_v4 import enlightenAPI_v4

with open("enlighten_v4_config.json") as f:
    config = json.load(f)
api = enlightenAPI_v4(config)
summary = api.inverter_summary()
lifetime = {}
for gateway in summary:
    for inverter in gateway["micro_inverters"]:
        lifetime[str(inverter["serial_number"])] = inverter["energy"]["value"]
print(json.dumps({"gateways": len(summary), "lifetime": lifetime}))
"""


@pytest.fixture
def emu() -> Iterator[EnlightenEmulator]:
    emulator = start_emulator(SimulatedSite(SiteScenario(days=10)))
    emulator.set_sim_time(emulator.night_of(emulator.site.days()[5]))
    yield emulator
    emulator.stop()


def original_config(emu: EnlightenEmulator, *, expired: bool = False) -> dict[str, Any]:
    """The original's config dict (its keys, ``api_url`` ending in a slash)."""
    access, refresh = emu.issue_tokens(access_expires_in=-60 if expired else None)
    template = json.loads((FIXTURES / "enlighten_v4_config.json").read_text())
    return {**template, **emu.config_keys(access, refresh)}


def write(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(json.dumps(config, indent=4))
    return path


def test_an_old_users_script_runs_refreshes_and_saves_the_rotated_pair(
    tmp_path: Path, emu: EnlightenEmulator
) -> None:
    config = original_config(emu, expired=True)
    path = write(tmp_path / "enlighten_v4_config.json", {**config, "my_own_key": "kept"})
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run() -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", OLD_SCRIPT],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert_no_secrets(done.stdout + done.stderr, [config["refresh_token"]])
        return dict(json.loads(done.stdout))

    first = run()

    site, now = emu.site, emu.sim_now
    records = site.inverter_records(now)
    assert first["gateways"] == len(site.envoys) == len(site.group_by_envoy(records))
    latest = {str(r["serial_number"]): r["energy"]["value"] for r in reversed(records)}
    assert set(first["lifetime"]) == set(latest)
    assert emu.count(TOKEN) == 1  # the expired access token, refreshed once
    on_disk = json.loads(path.read_text())
    assert on_disk["refresh_token"] != config["refresh_token"]
    assert emu.refresh_token_valid(on_disk["refresh_token"])
    assert not emu.refresh_token_valid(config["refresh_token"])  # rotated: the old one is dead
    assert on_disk["my_own_key"] == "kept"
    assert path.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind

    second = run()  # the next night reads the saved pair: no refresh needed
    assert second["gateways"] == first["gateways"]
    assert emu.count(TOKEN) == 1


def test_inverter_summary_is_the_apis_list_with_every_page_merged() -> None:
    site = SimulatedSite(SiteScenario.healthy(n_panels=130, days=3))
    emulator = start_emulator(site)
    try:
        api = enlightenAPI_v4(original_config(emulator))
        summary = api.inverter_summary()
        assert emulator.count("inverters_summary") == 3  # 100 a page, then the empty end
        assert summary == site.group_by_envoy(site.inverter_records(emulator.sim_now))
        assert sum(len(g["micro_inverters"]) for g in summary) == 130
    finally:
        emulator.stop()


def test_fetch_systems_and_production_telemetry_answer_as_the_api_does(
    tmp_path: Path, emu: EnlightenEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    api = enlightenAPI_v4(original_config(emu))
    assert set(ORIGINAL["methods"]) <= set(dir(api))

    systems = api.fetch_systems()
    assert {"total", "current_page", "size", "count", "items", "systems"} <= set(systems)
    assert [s["system_id"] for s in systems["systems"]] == [emu.site.system_id]

    documented = (FIXTURES / "production_micro_200.json").read_text()
    emu.inject_fault("production_micro", 200, body=documented)
    telemetry = api.production_telemetry()
    assert telemetry == json.loads(documented)
    system = emu.site.system_id
    assert emu.calls[-1] == ("GET", f"/api/v4/systems/{system}/telemetry/production_micro")
    assert api.config["system_id"] == str(system)


def test_a_dict_without_a_file_gets_the_new_pair_and_a_warning(
    tmp_path: Path,
    emu: EnlightenEmulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    config = original_config(emu, expired=True)
    old_refresh = config["refresh_token"]
    api = enlightenAPI_v4(config)

    assert api.inverter_summary()

    assert api.config is config  # the caller's own dict, updated as the original did
    assert config["refresh_token"] != old_refresh
    assert emu.refresh_token_valid(config["refresh_token"])
    assert list(tmp_path.iterdir()) == []
    assert "only in the config dict" in caplog.text


def test_the_default_file_of_another_system_is_left_alone(
    tmp_path: Path, emu: EnlightenEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = original_config(emu, expired=True)
    stranger = write(tmp_path / "enlighten_v4_config.json", {**config, "system_id": "77"})
    before = stranger.read_text()
    enlightenAPI_v4(config).inverter_summary()
    assert stranger.read_text() == before


def test_an_explicit_config_path_is_created_or_updated_never_broken(
    tmp_path: Path, emu: EnlightenEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    created = tmp_path / "new" / "mine.json"
    created.parent.mkdir()
    config = original_config(emu, expired=True)
    enlightenAPI_v4(config, config_path=created).fetch_systems()
    assert json.loads(created.read_text()) == config
    assert created.stat().st_mode & 0o777 == 0o600

    broken = write(tmp_path / "broken.json", {})
    broken.write_text('{"half an edit": ')
    config = original_config(emu, expired=True)
    with pytest.raises(ConfigError, match="left untouched") as caught:
        enlightenAPI_v4(config, config_path=broken).fetch_systems()
    assert caught.value.hint is not None and "copy access_token" in caught.value.hint
    assert broken.read_text() == '{"half an edit": '
    rescued = json.loads((tmp_path / "broken.json.new-tokens").read_text())
    assert rescued["refresh_token"] == config["refresh_token"]
    assert emu.refresh_token_valid(rescued["refresh_token"])


def test_a_config_without_tokens_or_keys_is_refused_before_any_call(
    emu: EnlightenEmulator,
) -> None:
    config = original_config(emu)
    with pytest.raises(AuthError) as no_tokens:
        enlightenAPI_v4({**config, "access_token": "", "refresh_token": ""})
    assert no_tokens.value.refresh_failed
    assert no_tokens.value.hint is not None and "authorize" in no_tokens.value.hint
    with pytest.raises(ConfigError, match="app_client_secret"):
        enlightenAPI_v4({k: v for k, v in config.items() if k != "app_client_secret"})
    assert emu.calls == []
