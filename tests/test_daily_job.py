"""The daily job driven as a user drives it, against the Enlighten emulator and its truth."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

import run_inverter_daily_stats
from panel_tracker.app.daily import run_daily_job
from panel_tracker.app.sources import enlighten_client
from panel_tracker.errors import ConfigError
from panel_tracker.history import History, load_history
from panel_tracker.settings import load_config
from sandbox.site import SiteScenario
from tests.conftest import (
    assert_no_secrets,
    config_secrets,
    night,
    run_script,
    set_tokens,
    write_config,
)
from tests.support.builders import known


def history_of(config_path: Path) -> History:
    return load_history(load_config(config_path).history_path)


def job(config_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    secrets_before = config_secrets(config_path)
    code = run_inverter_daily_stats.main(["--config", str(config_path), *args])
    out, err = capsys.readouterr()
    assert_no_secrets(out + err, secrets_before + config_secrets(config_path))
    return code, out + err


def test_consecutive_nights_equal_the_truth_for_every_panel(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario(reset=None))
    site = emulator.site
    config = write_config(tmp_path, emulator)
    for offset in range(8):
        night(emulator, offset)
        code, output = job(config, capsys)
        assert code == 0, output
    history = history_of(config)
    first = site.days()[0]
    current = [s for s in site.serials if site.truth_daily(s, first) is not None]
    assert len(current) == 24
    assert set(history.serials()) == set(current)  # both gateways, no ghost twice
    for serial in current:
        assert history.daily(serial, first.isoformat()) is None  # first day unknown
        for offset in range(1, 8):
            day = first + timedelta(days=offset)
            assert history.daily(serial, day.isoformat()) == site.truth_daily(serial, day), (
                serial,
                day,
            )
    assert "Test house (system" in output and "24 of 24 panels" in output


@pytest.mark.parametrize("missed", [1, 5])
def test_missed_nights_are_filled_estimated_and_conserve_the_true_sum(
    tmp_path, enlighten, capsys, missed
):
    emulator = enlighten(SiteScenario.healthy())
    site = emulator.site
    config = write_config(tmp_path, emulator)
    night(emulator, 0)
    assert job(config, capsys)[0] == 0
    night(emulator, 1)
    assert job(config, capsys)[0] == 0
    emulator.reset_calls()
    night(emulator, 2 + missed)
    code, output = job(config, capsys)
    assert code == 0, output
    assert emulator.count("energy_lifetime") == 1  # one call whatever the gap
    history = history_of(config)
    gap_days = [site.days()[0] + timedelta(days=n) for n in range(2, 3 + missed)]
    for serial in history.serials():
        recorded = known([history.daily(serial, d.isoformat()) for d in gap_days])
        assert all(v >= 0 for v in recorded)
        assert sum(recorded) == sum(site.truth_daily(serial, d) for d in gap_days)
        assert all(history.is_estimated(serial, d.isoformat()) for d in gap_days)
    assert "estimated" in output


def test_wrap_reset_and_replacement(tmp_path, enlighten, capsys):
    scenario = SiteScenario(
        wrap=6, reset=(20, 3), failing=(17, 1, 3), replacement_offset=5, shade=None, soiling=None
    )
    emulator = enlighten(scenario)
    site = emulator.site
    config = write_config(tmp_path, emulator)
    outputs = []
    for offset in range(8):
        night(emulator, offset)
        code, output = job(config, capsys)
        assert code == 0, output
        outputs.append(output)
    history = history_of(config)
    first = site.days()[0]
    wrap_serial = next(s for s in site.serials if site.panel_of[s] == 6)
    for offset in range(1, 8):
        day = first + timedelta(days=offset)
        assert history.daily(wrap_serial, day.isoformat()) == site.truth_daily(wrap_serial, day)
    reset_serial = next(s for s in site.serials if site.panel_of[s] == 20)
    reset_day = (first + timedelta(days=3)).isoformat()
    assert history.daily(reset_serial, reset_day) is None
    assert reset_serial in outputs[3] and "warning" in outputs[3]
    day4 = first + timedelta(days=4)
    assert history.daily(reset_serial, day4.isoformat()) == site.truth_daily(reset_serial, day4)
    old, new = [s for s in site.serials if site.panel_of[s] == 17]
    assert history.last_date(old) is not None and history.last_date(old) < day4.isoformat()
    new_days = list(history.iter_days(new))
    assert new_days[0][1]["daily_energy"] is None
    assert new_days[1][1]["daily_energy"] == site.truth_daily(new, date_of(new_days[1][0]))
    # the night the new unit first reports, it is named as the silent one's successor; from
    # then on the old unit is neither counted nor warned about
    assert f"new serial {new} in place of {old} (silent since" in outputs[5], outputs[5]
    assert old not in outputs[-1] and "24 of 24 panels" in outputs[-1], outputs[-1]
    assert all(
        v is None or v >= 0
        for s in history.serials()
        for _, e in history.iter_days(s)
        for v in [e["daily_energy"]]
    )


def date_of(text: str):
    from datetime import date

    return date.fromisoformat(text)


def test_sydney_site_with_host_in_utc_puts_each_reading_on_its_local_date(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator)
    for offset in range(2):
        day = night(emulator, offset)
        result = run_script(
            "run_inverter_daily_stats.py", "--config", str(config), env={"TZ": "UTC"}
        )
        assert result.returncode == 0, result.stderr
        assert day.isoformat() in result.stdout
    history = history_of(config)
    assert history.dates() == [
        emulator.site.days()[0].isoformat(),
        (emulator.site.days()[0] + timedelta(days=1)).isoformat(),
    ]
    assert history.section("system")["timezone"] == "Australia/Sydney"


def test_refresh_saves_rotated_pair_and_valid_token_makes_no_token_call(
    tmp_path, enlighten, capsys
):
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator)
    expired, old_refresh = emulator.issue_tokens(access_expires_in=-5)
    set_tokens(config, expired, old_refresh, custom_key="kept")
    night(emulator, 0)
    assert job(config, capsys)[0] == 0
    saved = json.loads(config.read_text())
    assert saved["refresh_token"] != old_refresh and saved["access_token"] != expired
    assert saved["custom_key"] == "kept"
    assert config.stat().st_mode & 0o777 == 0o600
    assert not emulator.refresh_token_valid(old_refresh)
    assert emulator.refresh_token_valid(saved["refresh_token"])
    emulator.reset_calls()
    night(emulator, 1)
    assert job(config, capsys)[0] == 0
    assert emulator.count("/oauth/token") == 0
    assert emulator.count("/api/v4/") == 2  # the steady state: a page and the empty end


def test_first_run_asks_the_time_zone_once_then_remembers_it(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator)
    night(emulator, 0)
    assert job(config, capsys)[0] == 0
    assert emulator.count("/api/v4/systems/4") == 1
    emulator.reset_calls()
    night(emulator, 1)
    assert job(config, capsys)[0] == 0
    assert emulator.calls == [("GET", "/api/v4/systems/inverters_summary_by_envoy_or_site")] * 2


def test_rate_limit_and_server_errors_are_waited_out(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy())
    config = load_config(write_config(tmp_path, emulator, timezone="Australia/Sydney"))
    waits: list[float] = []
    night(emulator, 0)
    emulator.inject_fault("inverters_summary", 429, period_end_in=5)
    run_daily_job(config, enlighten_client(config, sleep=waits.append))
    assert len(waits) == 1 and 4 <= waits[0] <= 7
    night(emulator, 1)
    emulator.inject_fault("inverters_summary", 500, count=2)
    run = run_daily_job(config, enlighten_client(config, sleep=waits.append))
    assert len(waits) == 3 and run.reporting == 24


def test_expired_refresh_token_exits_1_asking_to_authorize_config_untouched(
    tmp_path, enlighten, capsys
):
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator)
    expired, refresh = emulator.issue_tokens(access_expires_in=-5)
    set_tokens(config, expired, refresh)
    emulator.expire_refresh_token(refresh)
    before = config.read_bytes()
    code, output = job(config, capsys)
    assert code == 1
    assert "authorize" in output
    assert len([line for line in output.splitlines() if line.startswith("error")]) == 1
    assert config.read_bytes() == before


def test_corrupt_history_is_left_byte_identical(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator)
    history = tmp_path / "data" / f"inverter_daily_data-{emulator.site.system_id}.json"
    history.parent.mkdir()
    history.write_bytes(b'{"micro_inverters": {"1": {"2026-01-01": {"daily_en')
    before = history.read_bytes()
    code, output = job(config, capsys)
    assert code == 1
    assert "not valid JSON" in output and str(history) in output
    assert history.read_bytes() == before
    assert emulator.count("/oauth/token") == 0


def test_config_missing_system_id_is_a_usage_error_file_untouched(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator)
    raw = json.loads(config.read_text())
    del raw["system_id"]
    config.write_text(json.dumps(raw))
    before = config.read_bytes()
    result = run_script("run_inverter_daily_stats.py", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "system_id" in result.stderr
    assert "Traceback" not in result.stderr
    assert config.read_bytes() == before
    assert_no_secrets(result.stdout + result.stderr, config_secrets(config))


def test_config_from_environment_and_paths_relative_to_config(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy())
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    config = write_config(folder, emulator, data_dir="mydata")
    night(emulator, 0)
    result = run_script("run_inverter_daily_stats.py", env={"ENLIGHTEN_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert (folder / "mydata" / f"inverter_daily_data-{emulator.site.system_id}.json").exists()


def test_paid_plan_fills_a_five_night_gap_exactly_from_telemetry(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy(), plan="kilowatt")
    site = emulator.site
    config = write_config(tmp_path, emulator)
    for offset in (0, 1):
        night(emulator, offset)
        assert job(config, capsys)[0] == 0
    emulator.reset_calls()
    night(emulator, 7)
    code, output = job(config, capsys)
    assert code == 0, output
    assert emulator.count("/telemetry") == 24  # one 7-day window per micro
    assert emulator.count("energy_lifetime") == 0
    history = history_of(config)
    for serial in history.serials():
        for offset in range(2, 8):
            day = site.days()[0] + timedelta(days=offset)
            assert history.daily(serial, day.isoformat()) == site.truth_daily(serial, day)
            assert not history.is_estimated(serial, day.isoformat())
    assert "exactly from per-micro telemetry" in output


def test_free_plan_estimates_and_asks_for_telemetry_only_once(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy(), plan="watt")
    config = write_config(tmp_path, emulator)
    night(emulator, 0)
    assert job(config, capsys)[0] == 0
    emulator.reset_calls()
    night(emulator, 3)
    code, output = job(config, capsys)
    assert code == 0, output
    assert emulator.count("/telemetry") == 2  # a 401 to a freshly refreshed token tells the plan
    assert emulator.count("energy_lifetime") == 1
    assert "paid Enphase plan" in output
    emulator.reset_calls()
    night(emulator, 6)
    assert job(config, capsys)[0] == 0
    assert emulator.count("/telemetry") == 0  # remembered: no second 401
    assert emulator.count("energy_lifetime") == 1
    history = history_of(config)
    day = (emulator.site.days()[0] + timedelta(days=5)).isoformat()
    assert all(history.is_estimated(serial, day) for serial in history.serials())


def test_warns_a_week_before_the_refresh_token_dies(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator)
    access, refresh = emulator.issue_tokens(refresh_expires_in=5 * 86400)
    set_tokens(config, access, refresh)
    night(emulator, 0)
    code, output = job(config, capsys)
    assert code == 0
    assert "refresh token expires on" in output and "authorize" in output


def test_two_systems_one_failing_the_other_is_updated_and_status_is_1(tmp_path, enlighten, capsys):
    good_emulator = enlighten(SiteScenario.healthy())
    folder = tmp_path / "configs"
    (folder / "a").mkdir(parents=True)
    good = write_config(folder / "a", good_emulator, name="Good house", data_dir="data-a")
    good.rename(folder / "a.json")
    bad_emulator = enlighten(SiteScenario.healthy(seed=7))
    (folder / "b").mkdir()
    bad = write_config(folder / "b", bad_emulator, name="Broken house", data_dir="data-b")
    bad.rename(folder / "b.json")
    bad_emulator.inject_fault("inverters_summary", 403, count=10)
    (folder / "notes.json").write_text('{"not": "a config"}')
    night(good_emulator, 0)
    night(bad_emulator, 0)
    code = run_inverter_daily_stats.main(["--config", str(folder)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Good house" in out
    assert err.count("error:") == 1 and "b.json" in err
    assert (folder / "data-a" / f"inverter_daily_data-{good_emulator.site.system_id}.json").exists()
    assert not list((folder / "data-b").glob("inverter_daily_data-*.json"))
    assert_no_secrets(
        out + err, config_secrets(folder / "a.json") + config_secrets(folder / "b.json")
    )


def test_config_broken_mid_run_is_not_overwritten_and_the_new_tokens_are_rescued(
    tmp_path, enlighten
):
    emulator = enlighten(SiteScenario.healthy())
    config_path = write_config(tmp_path, emulator)
    expired, refresh = emulator.issue_tokens(access_expires_in=-5)
    set_tokens(config_path, expired, refresh)
    config = load_config(config_path)
    config_path.write_text('{"half an edit": ')  # the user is editing while the job runs
    client = enlighten_client(config)
    with pytest.raises(ConfigError, match="left untouched"):
        client.ensure_fresh_token()
    assert config_path.read_text() == '{"half an edit": '
    rescued = json.loads((tmp_path / "enlighten_v4_config.json.new-tokens").read_text())
    assert emulator.refresh_token_valid(rescued["refresh_token"])
    assert (tmp_path / "enlighten_v4_config.json.new-tokens").stat().st_mode & 0o777 == 0o600
