"""The Enlighten v4 client against the loopback emulator: real HTTP, injected waits and clock."""

from __future__ import annotations

import base64
import json
import logging
import runpy
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

import enlightenAPI_v4
from panel_tracker.app.sources import enlighten_client
from panel_tracker.enlighten.client import EnlightenClient
from panel_tracker.enlighten.errors import (
    AuthError,
    BadResponseError,
    EnlightenError,
    NetworkError,
    NotFoundError,
    PlanNotAllowedError,
    RateLimitError,
    ServerError,
)
from panel_tracker.enlighten.jwt import jwt_expiry
from panel_tracker.enlighten.models import InverterReading, TokenPair
from panel_tracker.enlighten.transport import RetryPolicy, safe_url
from panel_tracker.settings import load_config
from sandbox.enlighten_emulator import MALFORMED, EnlightenEmulator
from sandbox.site import SimulatedSite, SiteScenario
from tests.conftest import API_KEY, CLIENT_ID, CLIENT_SECRET, assert_no_secrets, write_config

SUMMARY = "inverters_summary_by_envoy_or_site"
TOKEN = "/oauth/token"
AUTHORIZE_AGAIN = ".venv/bin/python enlightenAPI_v4.py authorize"


@pytest.fixture(scope="module")
def site() -> SimulatedSite:
    return SimulatedSite(SiteScenario(days=30))


@pytest.fixture
def emu(site: SimulatedSite) -> Iterator[EnlightenEmulator]:
    emulator = EnlightenEmulator(
        site, api_key=API_KEY, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    emulator.start()
    # Day 5's night: the ghost duplicate has a real (2-day-old) report by then.
    emulator.set_sim_time(emulator.night_of(site.days()[5]))
    yield emulator
    emulator.stop()


@dataclass
class Harness:
    """A client plus what it did: recorded waits and the token pairs it handed over."""

    client: EnlightenClient
    waits: list[float] = field(default_factory=list)
    saved: list[TokenPair] = field(default_factory=list)


def harness(
    emu: EnlightenEmulator,
    *,
    access: str | None = None,
    refresh: str | None = None,
    valid_tokens: bool = True,
    on_save: Callable[[TokenPair], None] | None = None,
    **options: Any,
) -> Harness:
    if valid_tokens and access is None and refresh is None:
        access, refresh = emu.issue_tokens()
    waits: list[float] = []
    saved: list[TokenPair] = []

    def save(pair: TokenPair) -> None:
        saved.append(pair)
        if on_save is not None:
            on_save(pair)

    settings: dict[str, Any] = {
        "api_url": emu.url,
        "api_key": API_KEY,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "system_id": str(emu.site.system_id),
        "access_token": access,
        "refresh_token": refresh,
        "token_updater": save,
        "sleep": waits.append,
        "timeout": 5.0,
    }
    settings.update(options)
    return Harness(EnlightenClient(**settings), waits, saved)


# --- reading the micros ---------------------------------------------------------------------
def test_reads_every_micro_of_both_gateways_in_one_page(emu: EnlightenEmulator) -> None:
    site, now = emu.site, emu.sim_now
    h = harness(emu)

    readings = h.client.inverter_readings()

    by_serial = {r.serial: r for r in readings}
    listed = {rec["serial_number"] for rec in site.inverter_records(now)}
    assert len(listed) > 10
    assert set(by_serial) == listed
    assert len(readings) == len(by_serial)  # the ghost duplicate is folded into one reading
    for serial, reading in by_serial.items():
        truth = site.reading_at(serial, now)
        assert truth is not None
        assert reading.lifetime_wh == truth[0], serial
        assert reading.last_report == truth[1]
        assert reading.last_report.tzinfo is not None
    assert {r.envoy_serial for r in readings} == set(site.envoys)
    assert emu.count(SUMMARY) == 2  # the site's page, then the empty page that ends the list
    assert emu.count(TOKEN) == 0
    assert h.client.api_calls == {"data": 2}
    assert h.saved == []


def test_format_quirks_kj_iso_dates_int_power_and_the_ghost(emu: EnlightenEmulator) -> None:
    site, now = emu.site, emu.sim_now
    raw = {rec["serial_number"]: rec for rec in site.inverter_records(now)[:-1]}
    ghost = site.inverter_records(now)[-1]
    by_serial = {r.serial: r for r in harness(emu).client.inverter_readings()}

    kj = [s for s, rec in raw.items() if rec["energy"]["units"] == "kJ"]
    assert kj
    for serial in kj:
        assert by_serial[serial].lifetime_wh == round(raw[serial]["energy"]["value"] / 3.6)
        assert by_serial[serial].lifetime_wh == site.reading_at(serial, now)[0]  # type: ignore[index]
    iso = [s for s, rec in raw.items() if isinstance(rec["last_report_date"], str)]
    assert iso
    for serial in iso:
        assert by_serial[serial].last_report == datetime.fromisoformat(
            raw[serial]["last_report_date"]
        )
    int_power = [s for s, rec in raw.items() if isinstance(rec["power_produced"], int)]
    assert int_power
    for serial in int_power:
        assert by_serial[serial].power_w == raw[serial]["power_produced"]
    object_power = next(s for s, rec in raw.items() if isinstance(rec["power_produced"], dict))
    assert by_serial[object_power].power_w == raw[object_power]["power_produced"]["value"]

    # The ghost is the same serial, older, on the other gateway: the latest report wins.
    kept = by_serial[ghost["serial_number"]]
    real = raw[ghost["serial_number"]]
    assert ghost["last_report_date"] < real["last_report_date"]
    assert ghost["envoy_serial_number"] != real["envoy_serial_number"]
    assert kept.envoy_serial == real["envoy_serial_number"]
    assert kept.lifetime_wh == real["energy"]["value"]


def test_follows_pages_of_a_130_micro_site() -> None:
    site = SimulatedSite(SiteScenario.healthy(n_panels=130, days=3))
    with EnlightenEmulator(
        site, api_key=API_KEY, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ) as emu:
        h = harness(emu)
        readings = h.client.inverter_readings()
        assert {r.serial for r in readings} == set(site.serials)
        assert len(readings) == 130
        assert emu.count(SUMMARY) == 3
        assert h.client.api_calls["data"] == 3


@pytest.mark.parametrize("server_page_size", [10, 37])
def test_a_server_paging_by_a_smaller_size_than_asked_loses_no_micro(
    server_page_size: int,
) -> None:
    # The client asks for 100 a page; a server that honours fewer must not make the first
    # page's micros look like the whole site and the rest look silent.
    site = SimulatedSite(SiteScenario.healthy(n_panels=130, days=3))
    with EnlightenEmulator(
        site,
        api_key=API_KEY,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        page_size_cap=server_page_size,
    ) as emu:
        readings = harness(emu).client.inverter_readings()
        assert {r.serial for r in readings} == set(site.serials)
        full_pages = -(-130 // server_page_size)
        assert emu.count(SUMMARY) == full_pages + 1  # the empty page ends the list


class PagePastTheEndRefused(requests.Session):
    """Sends page 2 as a page the emulator refuses with 422, as the real API might."""

    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> Any:  # type: ignore[override]
        params = kwargs.get("params") or {}
        if params.get("page") == 2:
            kwargs["params"] = {**params, "page": "past-the-end"}
        return super().request(method, url, **kwargs)


def test_a_refused_page_past_the_end_ends_the_paging() -> None:
    site = SimulatedSite(SiteScenario.healthy(n_panels=100, days=3))
    with EnlightenEmulator(
        site, api_key=API_KEY, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ) as emu:
        readings = harness(emu, session=PagePastTheEndRefused()).client.inverter_readings()
        assert len(readings) == 100
        assert emu.count(SUMMARY) == 2


@pytest.mark.parametrize("trailing_slash", [True, False])
def test_urls_have_no_double_slash(emu: EnlightenEmulator, trailing_slash: bool) -> None:
    url = emu.url if trailing_slash else emu.url.rstrip("/")
    access, refresh = emu.issue_tokens(access_expires_in=-60)
    h = harness(emu, access=access, refresh=refresh, api_url=url)
    assert h.client.system().timezone == emu.site.timezone
    assert all("//" not in path for _, path in emu.calls)
    assert emu.count(TOKEN) == 1


# --- tokens ---------------------------------------------------------------------------------
def test_a_valid_token_is_not_refreshed(emu: EnlightenEmulator) -> None:
    h = harness(emu)
    h.client.ensure_fresh_token()
    h.client.system()
    assert emu.count(TOKEN) == 0
    assert h.client.api_calls["token"] == 0


@pytest.mark.parametrize("expires_in", [-60, 120])  # expired, and inside the 5-minute margin
def test_an_expiring_token_is_refreshed_once_and_saved_before_the_data_call(
    emu: EnlightenEmulator, expires_in: int
) -> None:
    access, refresh = emu.issue_tokens(access_expires_in=expires_in)
    summary_calls_when_saved: list[int] = []
    h = harness(
        emu,
        access=access,
        refresh=refresh,
        on_save=lambda _: summary_calls_when_saved.append(emu.count(SUMMARY)),
    )

    readings = h.client.inverter_readings()

    assert readings
    assert emu.count(TOKEN) == 1
    assert h.client.api_calls == {"token": 1, "data": 2}
    assert summary_calls_when_saved == [0]
    (pair,) = h.saved
    assert pair.refresh_token != refresh
    assert h.client.access_token == pair.access_token
    assert h.client.refresh_token == pair.refresh_token
    assert pair.access_expires_at == jwt_expiry(pair.access_token)
    assert pair.access_expires_at is not None
    assert pair.access_expires_at > datetime.now(timezone.utc) + timedelta(hours=23)
    assert pair.refresh_expires_at is not None
    assert not emu.refresh_token_valid(refresh)  # rotated: the old one is dead
    assert emu.refresh_token_valid(pair.refresh_token)


def test_a_missing_access_token_is_obtained_from_the_refresh_token(
    emu: EnlightenEmulator,
) -> None:
    _, refresh = emu.issue_tokens()
    h = harness(emu, access=None, refresh=refresh)
    assert h.client.system().system_id == str(emu.site.system_id)
    assert emu.count(TOKEN) == 1
    assert len(h.saved) == 1


def test_stored_expiry_is_used_when_the_token_is_not_a_jwt(emu: EnlightenEmulator) -> None:
    _, refresh = emu.issue_tokens()
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    h = harness(emu, access="opaque-token", refresh=refresh, access_token_expires_at=past)
    h.client.system()
    assert emu.count(TOKEN) == 1


def test_a_rejected_access_token_is_refreshed_once_then_the_call_succeeds(
    emu: EnlightenEmulator,
) -> None:
    emu.inject_fault(SUMMARY, 401)
    h = harness(emu)
    assert h.client.inverter_readings()
    assert emu.count(SUMMARY) == 3
    assert emu.count(TOKEN) == 1
    assert len(h.saved) == 1


def test_a_second_401_is_an_auth_error_without_a_second_refresh(emu: EnlightenEmulator) -> None:
    emu.inject_fault(SUMMARY, 401, count=2)
    h = harness(emu)
    with pytest.raises(AuthError) as caught:
        h.client.inverter_readings()
    assert not caught.value.refresh_failed
    assert caught.value.status == 401
    assert emu.count(TOKEN) == 1
    assert emu.count(SUMMARY) == 2
    assert AUTHORIZE_AGAIN in str(caught.value)


def test_a_dead_refresh_token_asks_the_user_to_authorize_again(emu: EnlightenEmulator) -> None:
    access, refresh = emu.issue_tokens(access_expires_in=-60)
    emu.expire_refresh_token(refresh)
    h = harness(emu, access=access, refresh=refresh)
    with pytest.raises(AuthError) as caught:
        h.client.inverter_readings()
    assert caught.value.refresh_failed
    assert AUTHORIZE_AGAIN in str(caught.value)
    assert h.saved == []
    assert emu.count(SUMMARY) == 0
    assert h.client.api_calls == {"token": 1}


def test_no_tokens_at_all_asks_the_user_to_authorize(emu: EnlightenEmulator) -> None:
    h = harness(emu, valid_tokens=False)
    with pytest.raises(AuthError) as caught:
        h.client.system()
    assert caught.value.refresh_failed
    assert AUTHORIZE_AGAIN in str(caught.value)
    assert emu.calls == []


def test_exchange_code_works_once(emu: EnlightenEmulator) -> None:
    h = harness(emu, valid_tokens=False)
    url = h.client.authorize_url()
    assert url.startswith(f"{emu.url}oauth/authorize?response_type=code&client_id={CLIENT_ID}")
    assert "redirect_uri=https%3A%2F%2Fapi.enphaseenergy.com%2Foauth%2Fredirect_uri" in url
    code = emu.issue_authorization_code()

    pair = h.client.exchange_code(code)

    assert h.saved == [pair]
    assert emu.access_token_valid(pair.access_token)
    assert h.client.system().timezone == emu.site.timezone
    with pytest.raises(AuthError) as caught:
        h.client.exchange_code(code)
    assert "works once" in str(caught.value)
    assert code not in str(caught.value)


def test_the_app_built_client_saves_the_rotated_pair_into_the_config(
    emu: EnlightenEmulator, tmp_path: Path
) -> None:
    path = write_config(tmp_path, emu)
    access, refresh = emu.issue_tokens(access_expires_in=-60)
    raw = json.loads(path.read_text())
    path.write_text(json.dumps({**raw, "access_token": access, "refresh_token": refresh}))
    client = enlighten_client(load_config(path), sleep=lambda _: None)

    client.inverter_readings()

    on_disk = json.loads(path.read_text())
    assert on_disk["access_token"] == client.access_token != access
    assert on_disk["refresh_token"] == client.refresh_token != refresh
    assert emu.refresh_token_valid(on_disk["refresh_token"])
    assert path.stat().st_mode & 0o777 == 0o600


# --- transient failures -----------------------------------------------------------------------
def test_two_500s_then_success_with_exponential_waits(emu: EnlightenEmulator) -> None:
    emu.inject_fault(SUMMARY, 500, count=2)
    h = harness(emu)
    assert h.client.inverter_readings()
    assert h.waits == [2.0, 4.0]
    assert emu.count(SUMMARY) == 4


def test_a_persistent_503_is_a_server_error_after_bounded_retries(emu: EnlightenEmulator) -> None:
    emu.inject_fault(SUMMARY, 503, count=10)
    h = harness(emu, retry=RetryPolicy(attempts=4, backoff_seconds=0.5))
    with pytest.raises(ServerError) as caught:
        h.client.inverter_readings()
    assert caught.value.status == 503
    assert h.waits == [0.5, 1.0, 2.0]
    assert emu.count(SUMMARY) == 4
    assert "Service Unavailable" in str(caught.value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_a_network_error_after_bounded_retries(
    emu: EnlightenEmulator,
) -> None:
    h = harness(emu, api_url=f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(attempts=3))
    with pytest.raises(NetworkError) as caught:
        h.client.system()
    assert h.waits == [2.0, 4.0]
    assert h.client.api_calls == {"data": 3}
    assert "could not connect after 3 attempts" in str(caught.value)


def test_a_slow_answer_times_out_and_is_retried(emu: EnlightenEmulator) -> None:
    emu.inject_fault(SUMMARY, 200, delay=0.4)
    h = harness(emu, timeout=0.1)
    assert h.client.inverter_readings()
    assert h.waits == [2.0]

    emu.inject_fault(SUMMARY, 200, delay=0.4, count=2)
    h = harness(emu, timeout=0.1, retry=RetryPolicy(attempts=2))
    with pytest.raises(NetworkError) as caught:
        h.client.inverter_readings()
    assert "timed out" in str(caught.value)


def test_a_short_rate_limit_is_waited_out(emu: EnlightenEmulator) -> None:
    emu.inject_fault(SUMMARY, 429, period_end_in=5)
    h = harness(emu)
    assert h.client.inverter_readings()
    (wait,) = h.waits
    assert 4.0 <= wait <= 6.5  # until period_end, plus a second
    assert emu.count(SUMMARY) == 3


def test_a_long_rate_limit_fails_naming_the_reset_time(emu: EnlightenEmulator) -> None:
    emu.inject_fault(SUMMARY, 429, period_end_in=3600)
    h = harness(emu)
    before = time.time()
    with pytest.raises(RateLimitError) as caught:
        h.client.inverter_readings()
    after = time.time()
    resets_at = caught.value.resets_at
    assert resets_at is not None
    # bracketed by the clock around the call, so a slow machine cannot fail it
    assert before + 3600 - 1 <= resets_at.timestamp() <= after + 3600 + 1
    message = str(caught.value)
    assert resets_at.astimezone().isoformat(timespec="seconds") in message
    assert "10 calls a minute and 1,000 a month" in message
    assert h.waits == []
    assert emu.count(SUMMARY) == 1


def test_a_rate_limit_that_persists_after_the_wait_fails(emu: EnlightenEmulator) -> None:
    emu.inject_fault(SUMMARY, 429, period_end_in=2, count=2)
    h = harness(emu)
    with pytest.raises(RateLimitError):
        h.client.inverter_readings()
    assert len(h.waits) == 1
    assert emu.count(SUMMARY) == 2


# --- answers that are not what they should be ---------------------------------------------------
def test_malformed_json_is_a_bad_response(emu: EnlightenEmulator) -> None:
    emu.inject_fault(SUMMARY, 200, body=MALFORMED)
    with pytest.raises(BadResponseError) as caught:
        harness(emu).client.inverter_readings()
    assert "not JSON" in str(caught.value)


def test_an_unexpected_shape_is_a_bad_response(emu: EnlightenEmulator) -> None:
    emu.inject_fault(SUMMARY, 200, body='{"total": 3}')
    with pytest.raises(BadResponseError):
        harness(emu).client.inverter_readings()


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (404, "<html><body>Gone fishing</body></html>", NotFoundError, "Gone fishing"),
        (
            405,
            '{"reason": "405", "message": ["Method not allowed"]}',
            EnlightenError,
            "Method not allowed",
        ),
        (
            422,
            '{"message": "Unprocessable Entity", "details": "Invalid request because of x",'
            ' "code": 422}',
            EnlightenError,
            "Invalid request because of x",
        ),
        (403, "", AuthError, "HTTP 403"),
    ],
)
def test_error_bodies_of_every_shape_are_tolerated(
    emu: EnlightenEmulator, status: int, body: str, error: type[Exception], words: str
) -> None:
    emu.inject_fault(SUMMARY, status, body=body)
    h = harness(emu)
    with pytest.raises(error) as caught:
        h.client.inverter_readings()
    assert words in str(caught.value)
    assert emu.count(TOKEN) == 0  # only a 401 is worth a refresh


def test_a_wrong_system_id_is_not_found(emu: EnlightenEmulator) -> None:
    with pytest.raises(NotFoundError) as caught:
        harness(emu, system_id="99").client.system()
    assert "system_id" in str(caught.value)


# --- the other calls ------------------------------------------------------------------------
def test_system_systems_and_energy_lifetime(emu: EnlightenEmulator) -> None:
    site = emu.site
    client = harness(emu).client
    info = client.system()
    assert (info.system_id, info.name, info.timezone) == (
        str(site.system_id),
        site.name,
        site.timezone,
    )
    assert [s.system_id for s in client.systems()] == [str(site.system_id)]
    first, last = site.days()[1], site.days()[4]
    days = client.energy_lifetime(first, last)
    assert days == {
        first + timedelta(days=k): site.system_daily_production(first + timedelta(days=k))
        for k in range(4)
    }
    assert emu.count("energy_lifetime") == 1
    # Asked from before the system existed: the answer starts at its first day.
    early = client.energy_lifetime(site.days()[0] - timedelta(days=3), site.days()[1])
    assert sorted(early) == site.days()[:2]


def test_micro_telemetry_is_not_on_the_watt_plan_once_a_fresh_token_is_refused(
    emu: EnlightenEmulator,
) -> None:
    h = harness(emu)
    with pytest.raises(PlanNotAllowedError) as caught:
        h.client.micro_daily_telemetry(emu.site.serials[0], emu.site.days()[0])
    assert isinstance(caught.value, AuthError)
    assert "paid plan" in str(caught.value)
    assert emu.count(TOKEN) == 1  # the token was proved good before blaming the plan
    assert emu.count("telemetry") == 2


def test_a_revoked_grant_on_telemetry_is_an_authorization_error_not_the_plan(
    site: SimulatedSite,
) -> None:
    with EnlightenEmulator(
        site, api_key=API_KEY, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, plan="kilowatt"
    ) as emu:
        emu.set_sim_time(emu.night_of(site.days()[8]))
        access, refresh = emu.issue_tokens()
        emu.inject_fault("telemetry", 401)  # the access token was revoked ...
        emu.expire_refresh_token(refresh)  # ... and so was the grant
        h = harness(emu, access=access, refresh=refresh)
        with pytest.raises(AuthError) as caught:
            h.client.micro_daily_telemetry(site.serials[0], site.days()[2])
    assert not isinstance(caught.value, PlanNotAllowedError)
    assert caught.value.refresh_failed
    assert caught.value.hint and "consent again" in caught.value.hint
    assert emu.count(TOKEN) == 1


def test_a_revoked_access_token_on_telemetry_is_refreshed_once_and_read(
    site: SimulatedSite,
) -> None:
    with EnlightenEmulator(
        site, api_key=API_KEY, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, plan="kilowatt"
    ) as emu:
        emu.set_sim_time(emu.night_of(site.days()[8]))
        emu.inject_fault("telemetry", 401)
        serial, start = site.serials[0], site.days()[2]
        days = harness(emu).client.micro_daily_telemetry(serial, start, tz=ZoneInfo(site.timezone))
    assert days == {
        start + timedelta(days=k): site.truth_daily(serial, start + timedelta(days=k))
        for k in range(7)
    }
    assert emu.count(TOKEN) == 1


def test_a_mismatched_key_on_telemetry_is_not_the_plan(site: SimulatedSite) -> None:
    with (
        EnlightenEmulator(
            site, api_key="another-app-key", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        ) as emu,
        pytest.raises(AuthError) as caught,
    ):
        harness(emu).client.micro_daily_telemetry(site.serials[0], site.days()[0])
    assert not isinstance(caught.value, PlanNotAllowedError)
    assert caught.value.hint and "app_api_key" in caught.value.hint
    assert emu.count(TOKEN) == 0


def test_micro_telemetry_on_a_paid_plan(site: SimulatedSite) -> None:
    with EnlightenEmulator(
        site, api_key=API_KEY, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, plan="kilowatt"
    ) as emu:
        emu.set_sim_time(emu.night_of(site.days()[8]))
        serial = site.serials[0]
        start = site.days()[2]
        days = harness(emu).client.micro_daily_telemetry(serial, start, tz=ZoneInfo(site.timezone))
        expected = {start + timedelta(days=k) for k in range(7)}
        assert set(days) == expected
        for day, wh in days.items():
            assert wh == site.truth_daily(serial, day)


# --- secrets ----------------------------------------------------------------------------------
def test_no_secret_reaches_a_message_or_a_log_line(
    emu: EnlightenEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    access, refresh = emu.issue_tokens(access_expires_in=-60)
    h = harness(emu, access=access, refresh=refresh)
    messages: list[str] = []

    def expect_failure(call: Callable[[], object]) -> None:
        with pytest.raises(EnlightenError) as caught:
            call()
        messages.append(str(caught.value))

    h.client.inverter_readings()  # a refresh: old and new tokens are both in play now
    new_access, new_refresh = h.client.access_token, h.client.refresh_token
    assert new_access and new_refresh
    echo = f"bad key={API_KEY} token {new_access} secret {CLIENT_SECRET} rt {new_refresh}"
    emu.inject_fault(SUMMARY, 400, body=echo)
    expect_failure(h.client.inverter_readings)
    emu.inject_fault(SUMMARY, 500, body=f"<html>{echo}</html>", count=4)
    expect_failure(h.client.inverter_readings)
    emu.inject_fault(SUMMARY, 200, body=f"<p>{echo}</p>")
    expect_failure(h.client.inverter_readings)
    emu.inject_fault(TOKEN, 401, body=echo)
    expect_failure(h.client.refresh)
    code = emu.issue_authorization_code()
    emu.inject_fault(TOKEN, 400, body=f"code {code} refused")
    expect_failure(lambda: h.client.exchange_code(code))
    offline = harness(
        emu,
        access=new_access,
        refresh=new_refresh,
        retry=RetryPolicy(attempts=2),
        api_url=f"http://127.0.0.1:{free_port()}/",
    )
    expect_failure(offline.client.inverter_readings)

    ours = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(("panel_tracker", "enlightenAPI_v4"))
    ]
    assert any("refreshing" in line for line in ours)
    text = "\n".join(messages + ours)
    assert "could not connect" in text
    assert_no_secrets(
        text, [API_KEY, CLIENT_SECRET, access, refresh, new_access, new_refresh, code]
    )
    assert "key=***" in text


# --- the small parts ----------------------------------------------------------------------------
def _jwt(claims: dict[str, Any]) -> str:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none'})}.{b64(claims)}.sig"


def test_jwt_expiry() -> None:
    assert jwt_expiry(_jwt({"exp": 1_700_000_000})) == datetime.fromtimestamp(
        1_700_000_000, tz=timezone.utc
    )
    for junk in (
        "",
        "abc",
        "a.b.c",
        _jwt({"exp": "soon"}),
        _jwt({"exp": True}),
        _jwt({}),
        "x.!!!.y",
        None,
    ):
        assert jwt_expiry(junk) is None


def test_token_pair_falls_back_to_expires_in() -> None:
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    pair = TokenPair.from_token_answer(
        {"access_token": "opaque", "refresh_token": "also-opaque", "expires_in": 86393}, now
    )
    assert pair.access_expires_at == now + timedelta(seconds=86393)
    assert pair.refresh_expires_at is None
    with pytest.raises(BadResponseError):
        TokenPair.from_token_answer({"token_type": "bearer"}, now)


def test_inverter_reading_parses_defensively() -> None:
    base = {"serial_number": 482000000001, "energy": {"value": 3600, "units": "kJ"}}
    reading = InverterReading.from_summary_micro(
        {**base, "last_report_date": "2026-01-02T03:04:05Z"}, "E1"
    )
    assert reading.serial == "482000000001"
    assert reading.lifetime_wh == 1000
    assert reading.last_report == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert reading.envoy_serial == "E1"
    assert reading.power_w is None
    from_text = InverterReading.from_summary_micro({**base, "last_report_date": "1767322800"})
    assert from_text.last_report == datetime.fromtimestamp(1767322800, tz=timezone.utc)
    millis = InverterReading.from_summary_micro({**base, "last_report_date": 1767322800000})
    assert millis.last_report == from_text.last_report
    for broken in (
        {**base},
        {**base, "last_report_date": "yesterday"},
        {"energy": {"value": 1}, "last_report_date": 1},
        {**base, "energy": {"value": 1, "units": "BTU"}, "last_report_date": 1},
    ):
        with pytest.raises(BadResponseError):
            InverterReading.from_summary_micro(broken)


def test_the_original_module_name_still_works(capsys: pytest.CaptureFixture[str]) -> None:
    assert enlightenAPI_v4.enlightenAPI_v4.__name__ == "enlightenAPI_v4"
    script = Path(enlightenAPI_v4.__file__ or "")
    with pytest.raises(SystemExit) as caught:
        runpy.run_path(str(script), run_name="__main__")
    assert caught.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_a_lost_refresh_answer_is_not_retried_with_the_rotated_token(
    emu: EnlightenEmulator,
) -> None:
    access, refresh = emu.issue_tokens(access_expires_in=-5)
    emu.inject_fault("/oauth/token", 200, delay=0.4)
    h = harness(emu, access=access, refresh=refresh, timeout=0.1)
    with pytest.raises(NetworkError, match="answer was lost"):
        h.client.inverter_readings()
    assert emu.count("/oauth/token") == 1
    assert h.waits == []


def test_a_wrong_api_key_is_named_without_a_pointless_refresh(emu: EnlightenEmulator) -> None:
    h = harness(emu, api_key="not-the-key-of-this-app")
    with pytest.raises(AuthError, match="API Key - Client mismatch") as caught:
        h.client.inverter_readings()
    assert "copy the API key" in str(caught.value)
    assert emu.count("/oauth/token") == 0
    assert h.saved == []


# --- the transport's parts ----------------------------------------------------------------------
def test_the_retry_policy_is_a_value() -> None:
    policy = RetryPolicy(attempts=3, backoff_seconds=0.5)
    assert policy == RetryPolicy(attempts=3, backoff_seconds=0.5)
    assert (policy.retries, [policy.backoff(n) for n in (1, 2)]) == (2, [0.5, 1.0])
    with pytest.raises(AttributeError):
        policy.attempts = 9  # type: ignore[misc]
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


def test_only_the_statuses_the_policy_names_are_retried(emu: EnlightenEmulator) -> None:
    emu.inject_fault(SUMMARY, 500, count=3)
    h = harness(emu, retry=RetryPolicy(retry_statuses=frozenset({503})))
    with pytest.raises(ServerError) as caught:
        h.client.inverter_readings()
    assert h.waits == []
    assert emu.count(SUMMARY) == 1
    assert "after 1 attempt(s)" in str(caught.value)


def test_errors_carry_their_fix_as_a_hint_and_quote_urls_without_secrets(
    emu: EnlightenEmulator,
) -> None:
    port = free_port()
    h = harness(
        emu,
        api_url=f"http://someone:pass-word-9931@127.0.0.1:{port}/",
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(NetworkError) as caught:
        h.client.system()
    error = caught.value
    assert error.hint == f"check the network and api_url (http://127.0.0.1:{port}/)"
    assert "could not connect after 1 attempts" in error.message
    assert "pass-word-9931" not in str(error)
    assert str(error) == f"{error.message}: {error.hint}"
    assert safe_url("https://u:p@api.example.com:8443/x?key=K&code=C") == (
        "https://api.example.com:8443/x"
    )

    emu.inject_fault(SUMMARY, 401, count=2)
    with pytest.raises(AuthError) as refused:
        harness(emu).client.inverter_readings()
    assert refused.value.hint is not None and AUTHORIZE_AGAIN in refused.value.hint
    assert AUTHORIZE_AGAIN not in refused.value.message


def test_micro_telemetry_is_right_when_a_week_answer_covers_one_day(site: SimulatedSite) -> None:
    with EnlightenEmulator(
        site,
        api_key=API_KEY,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        plan="kilowatt",
        telemetry_week_days=1,
    ) as emu:
        emu.set_sim_time(emu.night_of(site.days()[8]))
        serial, start = site.serials[0], site.days()[2]
        days = harness(emu).client.micro_daily_telemetry(serial, start, tz=ZoneInfo(site.timezone))
        assert days == {
            start + timedelta(days=k): site.truth_daily(serial, start + timedelta(days=k))
            for k in range(7)
        }
        assert emu.count("telemetry") == 7  # continued from each answer's own end_at
