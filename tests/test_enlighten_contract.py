"""The Enlighten emulator answers as Enphase documents, and the client reads what Enphase documents.

(a) Every answer the emulator gives, to the real client over a loopback socket, across its
scenarios (paging by a smaller size, both telemetry granularities, a paid and the free plan,
token refresh and code exchange, every error it raises or is told to raise), holds to
``sandbox.enlighten_contract``, which is written from the published description.
(b) The client's parsers read each documented and real answer of ``fixtures/enlighten/``
(sources in its README) into the values those answers hold.
(c) The contract refuses an answer that lacks a required field or gets a documented type,
unit or date form wrong, so (a) can fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

from panel_tracker.enlighten.client import EnlightenClient
from panel_tracker.enlighten.errors import (
    AuthError,
    EnlightenError,
    NotFoundError,
    PlanNotAllowedError,
    RateLimitError,
    ServerError,
)
from panel_tracker.enlighten.models import (
    EnergyLifetime,
    InverterSummaryPage,
    MicroTelemetry,
    SystemInfo,
    SystemsPage,
    TokenPair,
)
from panel_tracker.enlighten.transport import RetryPolicy
from sandbox.enlighten_contract import check, kind_of
from sandbox.enlighten_emulator import EnlightenEmulator
from sandbox.site import SimulatedSite, SiteScenario
from tests.conftest import API_KEY, CLIENT_ID, CLIENT_SECRET

FIXTURES = Path(__file__).parent / "fixtures" / "enlighten"
SUMMARY = "inverters_summary_by_envoy_or_site"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class RecordingSession(requests.Session):
    """A real session that keeps every answer it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[requests.Response] = []
        self.hooks["response"].append(self._keep)

    def _keep(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.answers.append(response)


def client_of(emu: EnlightenEmulator, session: requests.Session, **options: Any) -> EnlightenClient:
    access, refresh = emu.issue_tokens()
    settings: dict[str, Any] = {
        "api_url": emu.url,
        "api_key": API_KEY,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "system_id": str(emu.site.system_id),
        "access_token": access,
        "refresh_token": refresh,
        "sleep": lambda _: None,
        "timeout": 5.0,
        "retry": RetryPolicy(attempts=2),
        "session": session,
    }
    settings.update(options)
    return EnlightenClient(**settings)


def emulator(scenario: SiteScenario, **options: Any) -> EnlightenEmulator:
    return EnlightenEmulator(
        SimulatedSite(scenario),
        api_key=API_KEY,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        **options,
    )


def expect(kind: type[Exception], call: Callable[[], object]) -> None:
    with pytest.raises(kind):
        call()


# --- (a) every emulator answer holds to the contract ------------------------------------------
def watt_plan(emu: EnlightenEmulator, session: RecordingSession) -> None:
    """The calls of a night and of set-up, and every error the free plan's paths give."""
    client = client_of(emu, session)
    client.systems()
    client.system()
    client.inverter_readings()
    first = emu.site.days()[0]
    client.energy_lifetime(first, first + timedelta(days=3))
    client.refresh()
    client.exchange_code(emu.issue_authorization_code())
    code = emu.issue_authorization_code()
    expect(AuthError, lambda: client.exchange_code(code, "https://example.com/elsewhere"))
    expect(PlanNotAllowedError, lambda: client.micro_daily_telemetry(emu.site.serials[0], first))
    expect(EnlightenError, lambda: client.get_json("api/v4/systems", {"size": 0}))
    expect(EnlightenError, lambda: client.get_json(f"api/v4/systems/{SUMMARY}"))
    expect(
        EnlightenError,
        lambda: client.get_json("api/v4/systems/1/energy_lifetime", {"start_date": "x"}),
    )
    expect(
        EnlightenError,
        lambda: client.transport.data_call(
            "POST", "api/v4/systems", tokens=client.oauth, what="a POST"
        ),
    )
    elsewhere = client_of(emu, session, system_id="1")
    expect(NotFoundError, elsewhere.system)
    expect(NotFoundError, lambda: elsewhere.energy_lifetime(first, first))
    expect(AuthError, client_of(emu, session, api_key="not-the-key").system)
    expect(AuthError, client_of(emu, session, client_secret="not-the-secret").refresh)
    dead = client_of(emu, session, access_token=None)
    emu.expire_refresh_token(dead.refresh_token or "")
    expect(AuthError, dead.system)
    emu.inject_fault("/api/v4/systems/", 429, period_end_in=3)
    client.system()  # waited out
    emu.inject_fault("/api/v4/systems/", 429, period_end_in=3600)
    expect(RateLimitError, client.system)
    for status in (500, 503):
        emu.inject_fault(SUMMARY, status, count=2)
        expect(ServerError, client.inverter_readings)


def paged_by_a_smaller_size(emu: EnlightenEmulator, session: RecordingSession) -> None:
    readings = client_of(emu, session).inverter_readings()
    assert len(readings) == 130


def paid_plan(emu: EnlightenEmulator, session: RecordingSession) -> None:
    """Per-micro telemetry: ``week`` as the client asks it, ``day`` and ``start_at`` as the
    description offers them, mid-day (the answer ends at "now") and its errors."""
    client = client_of(emu, session)
    site = emu.site
    serial, first = site.serials[0], site.days()[0]
    assert client.micro_daily_telemetry(serial, first + timedelta(days=1), tz=site.tz)
    path = f"api/v4/systems/{site.system_id}/devices/micros/{serial}/telemetry"
    day = client.get_json(path, {"start_date": first.isoformat(), "granularity": "day"})
    assert 0 < len(day["intervals"]) <= 288
    start_at = int(datetime(first.year, first.month, first.day, 12, tzinfo=site.tz).timestamp())
    client.get_json(path, {"start_at": start_at, "granularity": "day"})
    client.get_json(path, {"start_date": first.isoformat()})  # granularity defaults to day
    emu.set_sim_time(emu.night_of(first + timedelta(days=2)).replace(hour=13))
    client.get_json(path, {"start_date": (first + timedelta(days=3)).isoformat()})  # today
    expect(EnlightenError, lambda: client.get_json(path, {"granularity": "month"}))
    expect(NotFoundError, lambda: client.micro_daily_telemetry("000000000000", first))


def week_of_one_day(emu: EnlightenEmulator, session: RecordingSession) -> None:
    client = client_of(emu, session)
    site = emu.site
    assert client.micro_daily_telemetry(site.serials[1], site.days()[0], tz=site.tz)


SCENARIOS: dict[str, tuple[Callable[[], EnlightenEmulator], Callable[..., None]]] = {
    "watt plan": (lambda: emulator(SiteScenario(days=30)), watt_plan),
    "paged by 37": (
        lambda: emulator(SiteScenario.healthy(n_panels=130, days=3), page_size_cap=37),
        paged_by_a_smaller_size,
    ),
    "kilowatt plan": (lambda: emulator(SiteScenario(days=30), plan="kilowatt"), paid_plan),
    "week answers a day": (
        lambda: emulator(SiteScenario(days=30), plan="kilowatt", telemetry_week_days=1),
        week_of_one_day,
    ),
}


def contract_problems(answers: list[requests.Response]) -> list[str]:
    problems: list[str] = []
    for response in answers:
        path = urlsplit(response.url).path
        kind = kind_of(path, response.status_code)
        assert kind is not None, f"the client called {path}, which the contract lacks"
        try:
            body = response.json()
        except ValueError:
            problems.append(f"{path} HTTP {response.status_code}: not JSON")
            continue
        problems += [f"{path} HTTP {response.status_code}: {p}" for p in check(kind, body)]
    return problems


@pytest.fixture(params=sorted(SCENARIOS))
def answers(request: pytest.FixtureRequest) -> Iterator[list[requests.Response]]:
    make, exercise = SCENARIOS[request.param]
    session = RecordingSession()
    with make() as emu:
        emu.set_sim_time(emu.night_of(emu.site.days()[1]))
        exercise(emu, session)
    yield session.answers


def test_every_emulator_answer_holds_to_the_published_contract(
    answers: list[requests.Response],
) -> None:
    assert answers
    assert contract_problems(answers) == []


def test_the_scenarios_reach_every_answer_the_project_reads() -> None:
    session = RecordingSession()
    for name in sorted(SCENARIOS):
        make, exercise = SCENARIOS[name]
        with make() as emu:
            emu.set_sim_time(emu.night_of(emu.site.days()[1]))
            exercise(emu, session)
    seen = {(kind_of(urlsplit(r.url).path, r.status_code), r.status_code) for r in session.answers}
    kinds = {kind for kind, _ in seen}
    assert kinds >= {
        "token",
        "token_error",
        "systems",
        "system",
        "inverters_summary",
        "energy_lifetime",
        "micro_telemetry",
        "error",
    }
    assert {status for _, status in seen} >= {200, 400, 401, 404, 405, 422, 429, 500, 503}


def test_a_day_answer_of_the_emulator_covers_one_day_as_documented() -> None:
    session = RecordingSession()
    with emulator(SiteScenario(days=30), plan="kilowatt") as emu:
        site = emu.site
        first = site.days()[0]
        emu.set_sim_time(emu.night_of(first + timedelta(days=10)))
        client = client_of(emu, session)
        path = f"api/v4/systems/{site.system_id}/devices/micros/{site.serials[0]}/telemetry"
        day = client.get_json(path, {"start_date": first.isoformat(), "granularity": "day"})
        week = client.get_json(path, {"start_date": first.isoformat(), "granularity": "week"})
    start = datetime(first.year, first.month, first.day, tzinfo=site.tz)
    assert day["end_at"] == int((start + timedelta(days=1)).timestamp())
    assert week["end_at"] == int((start + timedelta(days=7)).timestamp())
    assert day["start_date"] == week["start_date"] == first.isoformat()
    assert "start_at" not in day
    assert contract_problems(session.answers) == []


# --- (b) the client reads every documented and real answer -----------------------------------
REPORTED = datetime(2020, 9, 18, 11, 17, 23, tzinfo=timezone.utc)  # 1600427843


@pytest.mark.parametrize(
    ("name", "second_power"),
    [("inverters_summary_200.json", 20), ("inverters_summary_200_portal.json", 20)],
)
def test_the_documented_inverter_summaries_parse(name: str, second_power: int) -> None:
    page = InverterSummaryPage.from_inverters_summary(fixture(name))
    assert page.problems == []
    assert page.micros == 2
    first, second = page.readings
    assert (first.serial, first.lifetime_wh, first.last_report) == ("688346865858", 232, REPORTED)
    assert (first.power_w, first.model, first.status) == (96, "M215", "normal")
    assert (second.serial, second.lifetime_wh, second.power_w) == (
        "686868727227",
        120,
        second_power,
    )
    assert {first.envoy_serial, second.envoy_serial} == {"121842012242"}
    assert page.gateways == {"121842012242"}


def test_iso_report_dates_with_an_offset_parse_to_the_same_instant() -> None:
    page = InverterSummaryPage.from_inverters_summary(fixture("inverters_summary_iso_dates.json"))
    first, second = page.readings
    # "2020-09-18 11:17:23-04:00" is 15:17:23 UTC.
    assert first.last_report == datetime(2020, 9, 18, 15, 17, 23, tzinfo=timezone.utc)
    assert second.last_report == first.last_report
    assert (first.lifetime_wh, second.lifetime_wh, second.power_w) == (232, 120, 20)


def test_the_documented_and_the_real_systems_lists_parse() -> None:
    documented = SystemsPage.from_systems(fixture("systems_200.json"))
    assert documented.total == 28
    assert [(s.system_id, s.timezone, s.status) for s in documented.systems] == [
        ("698910067", "Australia/Sydney", "micro"),
        ("698906018", "US/Pacific", "normal"),
    ]
    real = SystemsPage.from_systems(fixture("systems_real.json"))
    assert real.total == 2
    assert [(s.system_id, s.name, s.timezone) for s in real.systems] == [
        ("5392556", "Left Subpanel (2) Top Batteries", "US/Pacific"),
        ("5525881", "Right Subpanel (1) Bottom Batteries", "US/Pacific"),
    ]
    for system in real.systems:
        assert system.timezone is not None
        ZoneInfo(system.timezone)  # a name the job can use


def test_the_documented_system_parses() -> None:
    system = SystemInfo.from_system(fixture("system_by_id_200.json"))
    assert system == SystemInfo("72", "Enphase System", "America/Los_Angeles", "normal")


def test_the_documented_energy_lifetime_parses_one_value_a_day() -> None:
    body = fixture("energy_lifetime_200.json")
    days = EnergyLifetime.from_energy_lifetime(body, date(2013, 1, 1), date(2013, 1, 6)).days
    assert days == {
        date(2013, 1, 1): 15422,
        date(2013, 1, 2): 15421,
        date(2013, 1, 3): 17118,
        date(2013, 1, 4): 18505,
        date(2013, 1, 5): 18511,
        date(2013, 1, 6): 18487,
    }
    clipped = EnergyLifetime.from_energy_lifetime(body, date(2013, 1, 3), date(2013, 1, 4)).days
    assert clipped == {date(2013, 1, 3): 17118, date(2013, 1, 4): 18505}


def test_the_documented_micro_telemetry_parses() -> None:
    answer = MicroTelemetry.from_telemetry(fixture("micro_telemetry_200.json"), timezone.utc)
    # Both intervals end on 2017-06-03 (21:45 and 21:50 UTC): 40 + 40 Wh.
    assert answer.days == {date(2017, 6, 3): 80}
    assert answer.end_at == datetime.fromtimestamp(1496529300, tz=timezone.utc)
    sydney = MicroTelemetry.from_telemetry(
        fixture("micro_telemetry_200.json"), ZoneInfo("Australia/Sydney")
    )
    assert sydney.days == {date(2017, 6, 4): 80}  # 07:45 and 07:50 there


def test_a_real_day_of_five_minute_intervals_parses_to_its_sum() -> None:
    body = fixture("telemetry_v2_real_day.json")
    assert len(body["intervals"]) == 70
    answer = MicroTelemetry.from_telemetry(body, ZoneInfo("Europe/Amsterdam"))
    assert answer.days == {date(2021, 10, 11): sum(i["enwh"] for i in body["intervals"])}
    assert sum(answer.days.values()) == 2238
    # No end_at of its own: where the last interval ended.
    assert answer.end_at == datetime.fromtimestamp(1633953000, tz=timezone.utc)


def test_the_quickstart_token_answer_parses() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    pair = TokenPair.from_token_answer(fixture("token_200.json"), now)
    assert pair.access_token == "unique access token"
    assert pair.refresh_token == "unique refresh token"
    assert pair.access_expires_at == now + timedelta(seconds=86393)
    assert pair.refresh_expires_at is None  # not a JWT: no expiry to read


def documented_errors() -> list[tuple[str, int, Any]]:
    cases = [
        (key, int(key.split(" ", 1)[0]), body) for key, body in fixture("error_bodies.json").items()
    ]
    cases += [(key, 500, body) for key, body in fixture("error_500_bodies.json").items()]
    return cases


ERROR_KINDS: dict[int, type[EnlightenError]] = {
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    429: RateLimitError,
    500: ServerError,
    501: ServerError,
}


@pytest.mark.parametrize(
    ("status", "body"),
    [case[1:] for case in documented_errors()],
    ids=[c[0] for c in documented_errors()],
)
def test_each_documented_error_body_is_an_error_quoting_the_server(status: int, body: Any) -> None:
    """Served by the emulator over a socket, each documented body becomes the client's error
    of its kind, with the server's own words in it."""
    assert check("error", body) == []
    with emulator(SiteScenario(days=5)) as emu:
        emu.inject_fault("/api/v4/systems/", status, count=2, body=json.dumps(body))
        client = client_of(emu, requests.Session(), retry=RetryPolicy(attempts=1))
        with pytest.raises(EnlightenError) as caught:
            client.system()
    assert isinstance(caught.value, ERROR_KINDS.get(status, EnlightenError))
    assert f"HTTP {status}" in str(caught.value)
    words = body.get("details") or body.get("errorMessages") or body.get("message")
    said = words[0] if isinstance(words, list) else words
    assert said[:40] in str(caught.value)
    if status == 429 and "period_end" in body:
        assert isinstance(caught.value, RateLimitError)
        assert caught.value.resets_at == datetime.fromtimestamp(body["period_end"], tz=timezone.utc)


# --- (c) the contract can fail ----------------------------------------------------------------
def spoil(name: str, change: Callable[[Any], None]) -> Any:
    body = fixture(name)
    change(body)
    return body


MICRO = "inverters_summary_200.json"
BROKEN: dict[str, tuple[str, str, Callable[[Any], None], str]] = {
    # case: (kind, fixture, change, what the problem names)
    "micro without energy": (
        "inverters_summary",
        MICRO,
        lambda b: b[0]["micro_inverters"][0].pop("energy"),
        "[0].micro_inverters[0].energy: required, missing",
    ),
    "micro without a report date": (
        "inverters_summary",
        MICRO,
        lambda b: b[0]["micro_inverters"][1].pop("last_report_date"),
        "last_report_date: required, missing",
    ),
    "energy in mWh": (
        "inverters_summary",
        MICRO,
        lambda b: b[0]["micro_inverters"][0]["energy"].update(units="mWh"),
        "energy.units: one of Wh, kJ",
    ),
    "energy as text": (
        "inverters_summary",
        MICRO,
        lambda b: b[0]["micro_inverters"][0]["energy"].update(value="232"),
        "energy.value: an integer",
    ),
    "report date in milliseconds": (
        "inverters_summary",
        MICRO,
        lambda b: b[0]["micro_inverters"][0].update(last_report_date=1600427843000),
        "epoch seconds",
    ),
    "report date without an offset": (
        "inverters_summary",
        MICRO,
        lambda b: b[0]["micro_inverters"][0].update(last_report_date="2020-09-18T11:17:23"),
        "with an offset",
    ),
    "gateway not in a list": (
        "inverters_summary",
        MICRO,
        lambda b: b.__setitem__(0, "gateway"),
        "[0]: an object",
    ),
    "system without its time zone": (
        "system",
        "system_by_id_200.json",
        lambda b: b.pop("timezone"),
        "timezone: required, missing",
    ),
    "systems without a count": (
        "systems",
        "systems_real.json",
        lambda b: b.pop("count"),
        "count: required, missing",
    ),
    "systems' count wrong": (
        "systems",
        "systems_real.json",
        lambda b: b.update(count=5),
        "count: 5, but the page lists 2",
    ),
    "a field the API lacks": (
        "system",
        "system_by_id_200.json",
        lambda b: b.update(envoys=[]),
        "envoys: not a field of this answer",
    ),
    "energy_lifetime without production": (
        "energy_lifetime",
        "energy_lifetime_200.json",
        lambda b: b.pop("production"),
        "production: required, missing",
    ),
    "energy_lifetime start not a date": (
        "energy_lifetime",
        "energy_lifetime_200.json",
        lambda b: b.update(start_date="2013-02-30"),
        "not a day of the calendar",
    ),
    "telemetry without end_at": (
        "micro_telemetry",
        "micro_telemetry_200.json",
        lambda b: b.pop("end_at"),
        "end_at: required, missing",
    ),
    "telemetry with both starts": (
        "micro_telemetry",
        "micro_telemetry_200.json",
        lambda b: b.update(start_date="2017-06-03"),
        "exactly one",
    ),
    "a day of 289 intervals": (
        "micro_telemetry",
        "micro_telemetry_200.json",
        lambda b: b.update(
            end_at=b["start_at"] + 86400,
            intervals=[
                {"end_at": b["start_at"] + 300 * k, "powr": 1, "enwh": 1} for k in range(289)
            ],
        ),
        "at most 288",
    ),
    "a day answer spanning a week": (
        "micro_telemetry",
        "micro_telemetry_200.json",
        lambda b: b.update(end_at=b["start_at"] + 7 * 86400),
        "at most start_at + day",
    ),
    "an unknown granularity": (
        "micro_telemetry",
        "micro_telemetry_200.json",
        lambda b: b.update(granularity="month"),
        "granularity: one of",
    ),
    "interval energy not a number": (
        "micro_telemetry",
        "micro_telemetry_200.json",
        lambda b: b["intervals"][0].update(enwh=None),
        "intervals[0].enwh: an integer",
    ),
    "token without a refresh token": (
        "token",
        "token_200.json",
        lambda b: b.pop("refresh_token"),
        "refresh_token: required, missing",
    ),
    "production_micro without meta": (
        "production_micro",
        "production_micro_200.json",
        lambda b: b.pop("meta"),
        "meta: required, missing",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_contract_refuses_a_broken_answer(case: str) -> None:
    kind, name, change, said = BROKEN[case]
    assert check(kind, fixture(name)) == []
    problems = check(kind, spoil(name, change))
    assert any(said in problem for problem in problems), problems


@pytest.mark.parametrize(
    "body",
    [
        {"message": "Not Authorized", "details": "User is not authorized"},
        {"reason": "405"},
        {"errorCode": "7", "errorMessages": ["Data is temporarily unavailable"]},
        "<html>Bad Gateway</html>",
    ],
)
def test_the_contract_refuses_a_broken_error_body(body: Any) -> None:
    assert check("error", body) != []


def test_every_documented_answer_holds_to_the_contract() -> None:
    """The contract is no stricter than the documents it is written from."""
    for name, kind in [
        ("token_200.json", "token"),
        ("systems_200.json", "systems"),
        ("systems_real.json", "systems"),
        ("system_by_id_200.json", "system"),
        ("inverters_summary_200.json", "inverters_summary"),
        ("inverters_summary_200_portal.json", "inverters_summary"),
        ("inverters_summary_iso_dates.json", "inverters_summary"),
        ("energy_lifetime_200.json", "energy_lifetime"),
        ("micro_telemetry_200.json", "micro_telemetry"),
        ("production_micro_200.json", "production_micro"),
    ]:
        assert check(kind, fixture(name)) == [], name
    for key, _, body in documented_errors():
        assert check("error", body) == [], key
