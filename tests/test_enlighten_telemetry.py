"""Per-micro telemetry: the documented answer parsed, the emulator's answer of the same shape,
the continuation rule, and the case-sensitive energy units."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from panel_tracker.enlighten.models import MicroTelemetry, _energy_wh
from panel_tracker.enlighten.telemetry import Window, interval_day, next_start
from sandbox.enlighten_emulator import EnlightenEmulator
from sandbox.site import SimulatedSite, SiteScenario

FIXTURE = Path(__file__).parent / "fixtures" / "enlighten" / "micro_telemetry_200.json"
SYDNEY = ZoneInfo("Australia/Sydney")


def documented() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(FIXTURE.read_text())
    return body


def test_the_documented_example_is_parsed() -> None:
    answer = MicroTelemetry.from_telemetry(documented(), timezone.utc)
    assert answer.days == {date(2017, 6, 3): 80}
    assert answer.end_at == datetime.fromtimestamp(1496529300, tz=timezone.utc)


def test_the_emulators_answer_has_the_documented_keys_and_types() -> None:
    site = SimulatedSite(SiteScenario.healthy(days=10))
    with EnlightenEmulator(site, plan="kilowatt") as emu:
        emu.set_sim_time(emu.night_of(site.days()[5]))
        access, _ = emu.issue_tokens()
        serial = site.serials[0]
        body = requests.get(
            f"{emu.url}api/v4/systems/{site.system_id}/devices/micros/{serial}/telemetry",
            params={"key": emu.api_key, "start_date": site.days()[2].isoformat()},
            headers={"Authorization": f"Bearer {access}"},
            timeout=5,
        ).json()
    spec = documented()
    shape = {k: type(v) for k, v in spec.items() if k != "start_at"}
    assert {k: type(v) for k, v in body.items() if k != "start_date"} == shape
    assert body["start_date"] == site.days()[2].isoformat()  # echoed as the spec says
    interval_shape = {k: type(v) for k, v in spec["intervals"][0].items()}
    assert body["intervals"]
    assert all({k: type(v) for k, v in iv.items()} == interval_shape for iv in body["intervals"])


def test_an_interval_ending_at_midnight_belongs_to_the_day_before() -> None:
    midnight = datetime(2026, 3, 5, tzinfo=SYDNEY)
    assert interval_day(midnight, SYDNEY) == date(2026, 3, 4)
    assert interval_day(midnight + timedelta(minutes=5), SYDNEY) == date(2026, 3, 5)


def test_continues_from_the_answers_end_until_the_window_is_covered() -> None:
    window = Window(date(2026, 3, 1), SYDNEY)
    start = window.start
    one_day = start + timedelta(days=1)
    # A server whose "week" is one day ends at a midnight: go on from there.
    assert next_start(window, asked_from=start, answer_end=one_day) == one_day
    # A full week covers the window: done in one call.
    assert next_start(window, asked_from=start, answer_end=window.end) is None
    # Short and mid-day: the server's "now"; nothing later exists.
    now = start + timedelta(days=3, hours=4)
    assert next_start(window, asked_from=start, answer_end=now) is None
    # No progress, or no end at all: stop.
    assert next_start(window, asked_from=start, answer_end=start) is None
    assert next_start(window, asked_from=start, answer_end=None) is None


def test_energy_units_are_case_sensitive() -> None:
    assert _energy_wh({"value": 5000, "units": "mWh"}) == 5
    assert _energy_wh({"value": 2, "units": "MWh"}) == 2_000_000
    assert _energy_wh({"value": 3.6, "units": "kJ"}) == 1
    assert _energy_wh({"value": 1, "units": "WH"}) is None  # unknown: refused
