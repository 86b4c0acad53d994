"""The simulated site keeps its truth, and the Enlighten emulator serves it as the v4 API would."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests

from sandbox.enlighten_emulator import MALFORMED, EnlightenEmulator
from sandbox.site import WRAP_WH, SimulatedSite, SiteScenario

SUMMARY = "api/v4/systems/inverters_summary_by_envoy_or_site"


@pytest.fixture(scope="module")
def site() -> SimulatedSite:
    return SimulatedSite()


@pytest.fixture
def emu(site: SimulatedSite) -> Iterator[EnlightenEmulator]:
    with EnlightenEmulator(site) as emulator:
        yield emulator


def get(
    emu: EnlightenEmulator, path: str, token: str | None = None, **params: Any
) -> requests.Response:
    token = token or emu.issue_tokens()[0]
    return requests.get(
        emu.url + path,
        params={"key": emu.api_key, **params},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def token_call(
    emu: EnlightenEmulator, secret: str | None = None, **params: str
) -> requests.Response:
    return requests.post(
        emu.url + "oauth/token",
        params=params,
        timeout=5,
        auth=(emu.client_id, secret or emu.client_secret),
    )


def summary_at(emu: EnlightenEmulator, when: datetime) -> dict[str, dict[str, Any]]:
    """Latest record per serial, from every page, as a careful client would read it."""
    emu.set_sim_time(when)
    out: dict[str, dict[str, Any]] = {}
    for page in range(1, 10):
        groups = get(emu, SUMMARY, site_id=emu.site.system_id, page=page, size=7).json()
        for micro in (m for g in groups for m in g["micro_inverters"]):
            if isinstance(micro["last_report_date"], int):  # ghosts are older: keep the latest
                old = out.get(micro["serial_number"])
                if old and old["last_report_date"] > micro["last_report_date"]:
                    continue
            out[micro["serial_number"]] = micro
        if not groups:
            return out
    raise AssertionError("paging never ended")


def wh(micro: dict[str, Any]) -> int:
    energy = micro["energy"]
    return round(energy["value"] / 3.6) if energy["units"] == "kJ" else int(energy["value"])


def test_truth_is_deterministic_per_seed(site: SimulatedSite) -> None:
    again, other = SimulatedSite(), SimulatedSite(SiteScenario(seed=7))
    day = site.days()[10]
    assert again.serials == site.serials and other.serials != site.serials
    assert [again.truth_daily(s, day) for s in again.serials] == [
        site.truth_daily(s, day) for s in site.serials
    ]
    assert all(len(s) == 12 and s.isdigit() for s in site.serials)
    assert sum(len(v) for v in site.gateways.values()) == len(site.serials) == 25


def test_a_year_of_thirty_panels_is_simulated() -> None:
    big = SimulatedSite(SiteScenario(n_panels=30, days=365))
    assert len(big.days()) == 365 and len(big.serials) >= 30  # + a replaced micro
    assert all(big.system_daily_production(d) >= 0 for d in big.days())


def test_healthy_panels_stay_near_the_array_median(site: SimulatedSite) -> None:
    for day in site.days():
        made = {s: v for s in site.serials if (v := site.truth_daily(s, day)) is not None}
        median = statistics.median(made.values())
        for serial, value in made.items():
            if site.loss_fraction(serial, day) == 0.0:
                assert abs(value / median - 1) < 0.05, (serial, day)


def test_lifetime_at_night_is_the_sum_of_the_truth(emu: EnlightenEmulator) -> None:
    site = emu.site
    day = site.days()[30]
    micros = summary_at(emu, emu.night_of(day))
    for serial, micro in micros.items():
        true_end = site.truth_lifetime_end_of(serial, day)
        assert wh(micro) == true_end % WRAP_WH
        stamp = (
            datetime.fromtimestamp(micro["last_report_date"], site.tz)
            if isinstance(micro["last_report_date"], int)
            else datetime.fromisoformat(micro["last_report_date"])
        )
        assert stamp.astimezone(site.tz).date() == day
    made = sum(
        site.truth_lifetime_end_of(s, day) - site.truth_lifetime_end_of(s, day - timedelta(days=1))
        for s in site.serials
    )
    assert made == site.system_daily_production(day)


def test_kj_micros_round_trip_to_exact_wh(emu: EnlightenEmulator) -> None:
    micros = summary_at(emu, emu.night_of(emu.site.days()[3])).values()
    kj = [m for m in micros if m["energy"]["units"] == "kJ"]
    assert len(kj) == 3
    assert any(isinstance(m["power_produced"], int) for m in micros)
    assert any(isinstance(m["last_report_date"], str) for m in micros)


def test_wrap_is_exactly_wrap_wh(site: SimulatedSite) -> None:
    serial = site.serials[6]
    nights = [
        datetime.combine(d + timedelta(days=1), datetime.min.time(), site.tz) + timedelta(hours=4)
        for d in site.days()[:10]
    ]
    values = [r[0] for n in nights if (r := site.reading_at(serial, n))]
    drop = next(i for i in range(1, 10) if values[i] < values[i - 1])
    assert values[drop] + WRAP_WH - values[drop - 1] == site.truth_daily(serial, site.days()[drop])


def test_reset_drops_the_reported_counter_only(site: SimulatedSite) -> None:
    serial = next(s for s in site.serials if site.panel_of[s] == 20)
    before, on = site.days()[149], site.days()[150]
    evening = datetime(on.year, on.month, on.day, 20, tzinfo=site.tz)
    reading = site.reading_at(serial, evening)
    assert reading is not None and reading[0] < 5000
    assert site.truth_lifetime_end_of(serial, on) > site.truth_lifetime_end_of(serial, before)


def test_energy_lifetime_equals_the_truth(emu: EnlightenEmulator) -> None:
    site = emu.site
    days = site.days()
    emu.set_sim_time(emu.night_of(days[20]))
    body = get(
        emu,
        f"api/v4/systems/{site.system_id}/energy_lifetime",
        start_date=days[0].isoformat(),
        end_date=days[40].isoformat(),
    ).json()
    assert body["start_date"] == days[0].isoformat()
    assert body["production"][:21] == [site.system_daily_production(d) for d in days[:21]]
    assert body["production"][21:] == [0]  # today, before sunrise; later days absent


def test_paging_covers_every_micro_once_plus_the_ghost(emu: EnlightenEmulator) -> None:
    emu.set_sim_time(emu.night_of(emu.site.days()[5]))
    seen = []
    for page in (1, 2, 3, 4):
        groups = get(emu, SUMMARY, site_id=emu.site.system_id, page=page, size=10).json()
        seen += [m["serial_number"] for g in groups for m in g["micro_inverters"]]
        assert groups or page == 4
    assert len(seen) == 25 and len(set(seen)) == 24
    assert get(emu, SUMMARY, site_id=emu.site.system_id, size=101).status_code == 422


def test_data_calls_need_token_and_key(emu: EnlightenEmulator) -> None:
    path = f"api/v4/systems/{emu.site.system_id}"
    assert get(emu, path).json()["timezone"] == "Australia/Sydney"
    assert get(emu, path, token="not-a-token").status_code == 401
    dead = emu.issue_tokens(access_expires_in=-5)[0]
    assert get(emu, path, token=dead).json()["details"] == "User is not authorized"
    wrong_key = get(emu, path, key="other-key")
    assert wrong_key.status_code == 401 and "other-key" not in wrong_key.text
    assert get(emu, "api/v4/systems/1").status_code == 404


def test_refresh_rotates_and_kills_the_old_token(emu: EnlightenEmulator) -> None:
    old = emu.issue_tokens()[1]
    fresh = token_call(emu, grant_type="refresh_token", refresh_token=old)
    assert fresh.status_code == 200 and fresh.json()["token_type"] == "bearer"
    assert token_call(emu, grant_type="refresh_token", refresh_token=old).status_code == 401
    new = fresh.json()["refresh_token"]
    wrong = token_call(emu, "wrong", grant_type="refresh_token", refresh_token=new)
    assert wrong.status_code == 401
    emu.expire_refresh_token(new)
    refused = token_call(emu, grant_type="refresh_token", refresh_token=new)
    assert refused.status_code == 401 and new not in refused.text


def test_a_code_works_once(emu: EnlightenEmulator) -> None:
    page = requests.get(
        emu.url + "oauth/authorize",
        timeout=5,
        params={
            "response_type": "code",
            "client_id": emu.client_id,
            "redirect_uri": emu.redirect_uri,
        },
    )
    code = page.text.split('id="code">')[1].split("<")[0]
    args = {"grant_type": "authorization_code", "redirect_uri": emu.redirect_uri, "code": code}
    first = token_call(emu, **args)
    assert first.status_code == 200
    assert get(emu, "api/v4/systems", token=first.json()["access_token"]).json()["count"] == 1
    assert token_call(emu, **args).status_code == 401


def test_faults_are_served_count_times_then_normal(emu: EnlightenEmulator) -> None:
    emu.inject_fault("inverters_summary", 503, count=2)
    emu.inject_fault("energy_lifetime", 429, period_end_in=30)
    emu.inject_fault("systems/1", 200, body=MALFORMED)
    codes = [get(emu, SUMMARY, site_id=emu.site.system_id).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    limited = get(emu, f"api/v4/systems/{emu.site.system_id}/energy_lifetime")
    assert limited.status_code == 429 and limited.json()["period_end"] > time.time()
    with pytest.raises(ValueError):
        get(emu, "api/v4/systems/1").json()
    assert emu.count("inverters_summary") == 3


def test_control_endpoints_drive_another_process(emu: EnlightenEmulator) -> None:
    day = emu.site.days()[2]
    requests.post(
        emu.url + "_sandbox/time", json={"now": emu.night_of(day).isoformat()}, timeout=5
    ).raise_for_status()
    assert emu.sim_now == emu.night_of(day)
    tokens = requests.post(emu.url + "_sandbox/tokens", timeout=5).json()
    requests.post(
        emu.url + "_sandbox/fault", json={"path_contains": "systems", "status": 500}, timeout=5
    ).raise_for_status()
    assert get(emu, "api/v4/systems", token=tokens["access_token"]).status_code == 500
    calls = requests.get(emu.url + "_sandbox/calls", timeout=5).json()["calls"]
    assert calls == [["GET", "/api/v4/systems"]]


def _telemetry(emu: EnlightenEmulator, serial: str, **params: Any) -> requests.Response:
    site = emu.site
    return get(emu, f"api/v4/systems/{site.system_id}/devices/micros/{serial}/telemetry", **params)


def _by_day(site: SimulatedSite, intervals: list[dict[str, int]]) -> dict[date, int]:
    days: dict[date, int] = {}
    for iv in intervals:
        local = (datetime.fromtimestamp(iv["end_at"], tz=site.tz) - timedelta(seconds=1)).date()
        days[local] = days.get(local, 0) + iv["enwh"]
    return days


@pytest.mark.parametrize("plan", ["watt", "kilowatt"])
def test_micro_telemetry_day_is_one_day_of_five_minute_intervals(
    site: SimulatedSite, plan: str
) -> None:
    serial = site.serials[4]
    with EnlightenEmulator(site, plan=plan) as emu:
        emu.set_sim_time(emu.night_of(site.days()[12]))
        answer = _telemetry(emu, serial, start_date=site.days()[10].isoformat(), granularity="day")
    if plan == "watt":
        assert answer.status_code == 401 and answer.json()["message"] == "Not Authorized"
        return
    body = answer.json()
    intervals = body["intervals"]
    assert 0 < len(intervals) <= 288
    ends = [iv["end_at"] for iv in intervals]
    assert all(b - a == 300 for a, b in itertools.pairwise(ends))
    start = datetime.combine(site.days()[10], datetime.min.time(), tzinfo=site.tz)
    assert body["end_at"] == int((start + timedelta(days=1)).timestamp())
    assert _by_day(site, intervals) == {site.days()[10]: site.truth_daily(serial, site.days()[10])}


def test_micro_telemetry_week_covers_seven_days_and_stops_at_now(site: SimulatedSite) -> None:
    serial = site.serials[4]
    with EnlightenEmulator(site, plan="kilowatt") as emu:
        emu.set_sim_time(emu.night_of(site.days()[12]))
        week = _telemetry(emu, serial, start_date=site.days()[3].isoformat(), granularity="week")
        recent = _telemetry(emu, serial, start_date=site.days()[10].isoformat(), granularity="week")
        now = emu.sim_now
    assert _by_day(site, week.json()["intervals"]) == {
        d: site.truth_daily(serial, d) for d in site.days()[3:10]
    }
    assert recent.json()["end_at"] == int(now.timestamp())  # min(now, start + week)
    assert sorted(_by_day(site, recent.json()["intervals"])) == site.days()[10:13]


def test_failing_micro_dies_and_is_replaced(site: SimulatedSite) -> None:
    old, new = (s for s in site.serials if site.panel_of[s] == 17)
    dead_day, swap_day = site.days()[80], site.days()[90]
    assert site.truth_daily(old, dead_day) == 0 and site.loss_fraction(old, dead_day) == 1.0
    noon = datetime(swap_day.year, swap_day.month, swap_day.day, 12, tzinfo=site.tz)
    listed = {m["serial_number"] for g in site.inverter_summary(noon) for m in g["micro_inverters"]}
    assert new in listed and old not in listed
    healthy = SimulatedSite(SiteScenario.healthy())
    assert all(healthy.loss_fraction(s, d) == 0.0 for s in healthy.serials for d in healthy.days())
