"""Partial days (issue 9 item 4): a reading whose last report came before the panel's usual
end of production is recorded as provisional, and the next reading re-splits that day and
the next exactly: their sum equals the lifetime counter, each is within the split's error."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from panel_tracker.app.daily import update_history
from panel_tracker.app.sources import enlighten_client
from panel_tracker.energy import DailyEnergyUpdate, covering_span
from panel_tracker.history import History, latest_days
from panel_tracker.settings import load_config
from sandbox.site import SiteScenario
from tests.conftest import write_config
from tests.support.builders import FakeReading, entry_of, known

SYDNEY = ZoneInfo("Australia/Sydney")
UTC = timezone.utc
D0 = date(2026, 3, 1)


def at(n: int, hour: int, minute: int = 0) -> datetime:
    day = D0 + timedelta(days=n)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SYDNEY).astimezone(UTC)


def iso(n: int) -> str:
    return (D0 + timedelta(days=n)).isoformat()


def apply(history, readings, *, now, production=None):
    update = DailyEnergyUpdate(history, readings, SYDNEY, now=now)
    span = covering_span(update.gaps().values())
    wanted = None
    if span is not None:
        days = [span[0] + timedelta(days=k) for k in range((span[1] - span[0]).days + 1)]
        wanted = {d: (production or {}).get(d, 1000) for d in days}
    result = update.apply(wanted)
    # the latest days handed on to health and the night's count: those of a fresh scan
    assert update.latest_days() == latest_days(history)
    return span, result


def usual_days(history: History, count: int = 5) -> int:
    """``count`` complete days whose last report is at 19:00, 2,000 Wh each."""
    lifetime = 50_000
    for n in range(count):
        lifetime += 2000
        apply(history, [FakeReading("A", lifetime, at(n, 19))], now=at(n + 1, 4))
    return lifetime


def test_a_last_report_hours_before_the_usual_end_makes_the_day_provisional_then_resplit():
    history = History()
    lifetime = usual_days(history)
    # at 04:00 the cellular gateway had uploaded only up to 13:00: 1,200 of the day's Wh
    _, result = apply(history, [FakeReading("A", lifetime + 1200, at(5, 13))], now=at(6, 4))
    assert entry_of(history, "A", iso(5))["provisional"] is True
    assert result.provisional == {"A": iso(5)}
    assert any("provisional: " + iso(5) in note for note in result.notes)
    # the next night's reading: day 5 truly made 2,000, day 6 made 2,200
    production = {D0 + timedelta(days=5): 2000, D0 + timedelta(days=6): 2200}
    span, result = apply(
        history, [FakeReading("A", lifetime + 4200, at(6, 19))], now=at(7, 4), production=production
    )
    assert span == (D0 + timedelta(days=5), D0 + timedelta(days=6))  # production fetched
    assert [history.daily("A", iso(n)) for n in (5, 6)] == [2000, 2200]
    assert not entry_of(history, "A", iso(5)).get("provisional")
    assert history.is_estimated("A", iso(5)) and history.is_estimated("A", iso(6))
    assert not result.provisional and not entry_of(history, "A", iso(6)).get("provisional")


def test_the_resplit_never_gives_the_provisional_day_less_than_it_had_made():
    history = History()
    lifetime = usual_days(history)
    apply(history, [FakeReading("A", lifetime + 1500, at(5, 13))], now=at(6, 4))
    production = {D0 + timedelta(days=5): 100, D0 + timedelta(days=6): 1900}
    apply(
        history, [FakeReading("A", lifetime + 2000, at(6, 19))], now=at(7, 4), production=production
    )
    assert [history.daily("A", iso(n)) for n in (5, 6)] == [1500, 500]


def test_a_day_not_over_where_the_system_is_is_provisional():
    history = History()
    apply(history, [FakeReading("A", 1000, at(0, 19))], now=at(1, 4))
    _, result = apply(history, [FakeReading("A", 1800, at(1, 13))], now=at(1, 15))
    assert result.provisional == {"A": iso(1)}


def test_a_usual_day_and_a_panel_without_history_of_its_own_are_not_provisional():
    history = History()
    lifetime = usual_days(history)
    _, result = apply(history, [FakeReading("A", lifetime + 2000, at(5, 18, 30))], now=at(6, 4))
    assert not result.provisional and "provisional" not in entry_of(history, "A", iso(5))
    # a new panel's second day: judged by the system's usual end (19:00)
    apply(history, [FakeReading("B", 10, at(5, 19))], now=at(6, 4))
    _, result = apply(history, [FakeReading("B", 900, at(6, 12))], now=at(7, 4))
    assert result.provisional == {"B": iso(6)}


def test_a_cellular_site_uploading_every_6_hours_keeps_the_days_exact(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy(upload_every_hours=6))
    site = emulator.site
    path = write_config(tmp_path, emulator)
    first = site.days()[0]
    # The first night is read at 04:00 in Sydney (the midnight upload has the whole day) ...
    emulator.set_sim_time(emulator.night_of(first))
    config = load_config(path)
    update_history(config, enlighten_client(config), now=emulator.sim_now)
    errors: list[float] = []
    for n in range(1, 9):
        # ... then at 04:00 on a UTC host: 15:00 in Sydney, the last upload was at 12:00
        day = first + timedelta(days=n)
        now = datetime(day.year, day.month, day.day, 4, tzinfo=UTC)
        emulator.set_sim_time(now)
        config = load_config(path)
        history, run = update_history(config, enlighten_client(config), now=now)
        assert any(note.startswith(f"provisional: {day}") for note in run.notes), run.notes
        days = [first + timedelta(days=k) for k in range(1, n)]  # complete days since
        for serial in history.serials():
            assert entry_of(history, serial, day.isoformat())["provisional"] is True
            recorded = known([history.daily(serial, d.isoformat()) for d in days])
            truth = [site.truth_daily(serial, d) for d in days]
            so_far = site.truth_so_far(serial, day, now)
            # exact: the days since the first add up to what the panel made since
            assert (
                sum(recorded) + known([history.daily(serial, day.isoformat())])[0]
                == sum(truth) + so_far
            )
            if days:  # yesterday, re-split: no longer provisional, within the split's error
                assert not entry_of(history, serial, days[-1].isoformat()).get("provisional")
                errors.append(abs(recorded[-1] - truth[-1]) / truth[-1])
    assert len(errors) == 7 * 24
    assert max(errors) < 0.05, max(errors)
    saved = json.loads(load_config(path).history_path.read_text())
    serial = next(iter(saved["micro_inverters"]))
    assert saved["micro_inverters"][serial][day.isoformat()]["provisional"] is True


def test_a_counter_that_falls_after_a_provisional_day_keeps_that_day():
    history = History()
    lifetime = usual_days(history)
    apply(history, [FakeReading("A", lifetime + 1200, at(5, 13))], now=at(6, 4))
    apply(history, [FakeReading("A", 40, at(6, 19))], now=at(7, 4))
    assert history.daily("A", iso(5)) == 1200 and history.daily("A", iso(6)) is None
