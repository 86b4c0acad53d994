"""The day arithmetic on its own: examples for each rule, then properties (hypothesis)."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from panel_tracker.energy import (
    WRAP_WH,
    DailyEnergyUpdate,
    UpdateResult,
    covering_span,
    split_exactly,
)
from panel_tracker.history import History, latest_days
from tests.support.builders import FakeReading, entry_of

SYDNEY = ZoneInfo("Australia/Sydney")
UTC = timezone.utc


def evening(day: date, tz: ZoneInfo = SYDNEY, hour: int = 18) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=tz).astimezone(UTC)


def applied(update: DailyEnergyUpdate, *args: Any) -> UpdateResult:
    """``update.apply``, holding the latest days it hands on (to the health check and the
    night's count, instead of a scan of every key) to a fresh scan of the history."""
    result = update.apply(*args)
    assert update.latest_days() == latest_days(update.history)
    return result


def run(history: History, readings: list[FakeReading], production=None):
    # half the runs start from latest days the caller found, as the daily job does
    seeded = latest_days(history) if len(history.micros) % 2 else None
    update = DailyEnergyUpdate(history, readings, SYDNEY, latest_days=seeded)
    span = covering_span(update.gaps().values())
    wanted = None
    if span is not None:
        days = [span[0] + timedelta(days=n) for n in range((span[1] - span[0]).days + 1)]
        wanted = {d: (production or {}).get(d, 1000) for d in days}
    return span, applied(update, wanted)


D0 = date(2026, 3, 1)


def day(n: int) -> str:
    return (D0 + timedelta(days=n)).isoformat()


def test_first_day_unknown_then_consecutive_days_are_differences():
    history = History()
    run(history, [FakeReading("A", 1000, evening(D0))])
    assert history.daily("A", day(0)) is None
    run(history, [FakeReading("A", 1750, evening(D0 + timedelta(days=1)))])
    assert history.daily("A", day(1)) == 750
    assert not history.is_estimated("A", day(1))


def test_reading_belongs_to_the_systems_local_date_not_utc():
    # 07:30 on 2 March in Sydney is still 1 March in UTC.
    history = History()
    morning = datetime(2026, 3, 2, 7, 30, tzinfo=SYDNEY).astimezone(UTC)
    assert morning.date() == date(2026, 3, 1)
    _, result = run(history, [FakeReading("A", 5, morning)])
    assert result.day == "2026-03-02"


def test_gap_is_split_by_production_and_conserved():
    history = History()
    run(history, [FakeReading("A", 0, evening(D0)), FakeReading("B", 10, evening(D0))])
    production = {D0 + timedelta(days=n): w for n, w in [(1, 100), (2, 300), (3, 0), (4, 600)]}
    span, result = run(
        history,
        [
            FakeReading("A", 1000, evening(D0 + timedelta(days=4))),
            FakeReading("B", 2010, evening(D0 + timedelta(days=4))),
        ],
        production,
    )
    assert span == (D0 + timedelta(days=1), D0 + timedelta(days=4))
    a_days = [history.daily("A", day(n)) for n in range(1, 5)]
    assert a_days == [100, 300, 0, 600]
    assert sum(history.daily("B", day(n)) or 0 for n in range(1, 5)) == 2000
    assert all(history.is_estimated("A", day(n)) for n in range(1, 5))
    assert result.estimated_days["A"] == [day(n) for n in range(1, 5)]


def test_trailing_unreported_days_get_a_share():
    history = History()
    run(history, [FakeReading("A", 0, evening(D0))])
    production = {D0 + timedelta(days=1): 500, D0 + timedelta(days=2): 0}
    run(history, [FakeReading("A", 1000, evening(D0 + timedelta(days=2)))], production)
    assert history.daily("A", day(1)) == 500
    assert history.daily("A", day(2)) == 500


def test_same_day_newer_replaces_older_or_equal_changes_nothing():
    history = History()
    run(history, [FakeReading("A", 100, evening(D0))])
    run(history, [FakeReading("A", 300, evening(D0 + timedelta(days=1), hour=12))])
    assert history.daily("A", day(1)) == 200
    run(history, [FakeReading("A", 450, evening(D0 + timedelta(days=1), hour=18))])
    assert history.daily("A", day(1)) == 350
    before = copy.deepcopy(history.data)
    _, result = run(history, [FakeReading("A", 450, evening(D0 + timedelta(days=1), hour=18))])
    assert history.data == before
    assert result.changed_days == set()
    _, result = run(history, [FakeReading("A", 999, evening(D0 + timedelta(days=1), hour=10))])
    assert history.data == before


def test_wrap_is_corrected():
    history = History()
    run(history, [FakeReading("A", WRAP_WH - 300, evening(D0))])
    _, result = run(history, [FakeReading("A", 1200, evening(D0 + timedelta(days=1)))])
    assert history.daily("A", day(1)) == 1500
    assert result.wrapped == ["A"]


def test_other_drop_is_a_reset_unknown_with_warning():
    history = History()
    run(history, [FakeReading("A", 500_000, evening(D0))])
    _, result = run(history, [FakeReading("A", 40, evening(D0 + timedelta(days=1)))])
    assert history.daily("A", day(1)) is None
    assert result.resets == ["A"]
    assert "A" in result.warnings[0]
    run(history, [FakeReading("A", 1040, evening(D0 + timedelta(days=2)))])
    assert history.daily("A", day(2)) == 1000


def test_stale_reading_of_a_silent_micro_changes_nothing():
    history = History()
    run(history, [FakeReading("A", 100, evening(D0)), FakeReading("B", 100, evening(D0))])
    run(
        history,
        [
            FakeReading("A", 900, evening(D0 + timedelta(days=1))),
            FakeReading("B", 100, evening(D0)),
        ],
    )
    assert history.last_date("B") == day(0)


def test_original_format_day_without_timestamp_is_replaced_only_by_higher_lifetime():
    history = History(
        {"micro_inverters": {"A": {day(0): {"daily_energy": 0, "lifetime_energy": 500}}}}
    )
    run(history, [FakeReading("A", 500, evening(D0))])
    assert history.entry("A", day(0)) == {"daily_energy": 0, "lifetime_energy": 500}
    run(history, [FakeReading("A", 900, evening(D0 + timedelta(days=1)))])
    assert history.daily("A", day(1)) == 400


@given(st.integers(0, 10**7), st.lists(st.integers(0, 10**6), min_size=1, max_size=40))
def test_split_is_exact_and_never_negative(total, weights):
    parts = split_exactly(total, weights)
    assert sum(parts) == total
    assert all(p >= 0 for p in parts)


nights = st.lists(
    st.tuples(st.integers(0, 3000), st.booleans()),  # (true Wh of the day, job ran that night)
    min_size=2,
    max_size=45,
)


@settings(max_examples=60, deadline=None)
@given(nights, st.integers(0, WRAP_WH - 1))
def test_history_conserves_energy_never_negative_and_reruns_change_nothing(plan, start):
    history = History()
    lifetime = start
    run(history, [FakeReading("A", start, evening(D0))])
    true_total = 0
    last_run_total = 0
    for offset, (produced, job_ran) in enumerate(plan, start=1):
        lifetime += produced
        true_total += produced
        if not job_ran and offset != len(plan):
            continue
        reading = FakeReading("A", lifetime % WRAP_WH, evening(D0 + timedelta(days=offset)))
        run(history, [reading])
        snapshot = copy.deepcopy(history.data)
        run(history, [reading])
        assert history.data == snapshot
        last_run_total = true_total
    values = [entry["daily_energy"] for _, entry in history.iter_days("A")][1:]
    assert all(v is not None and v >= 0 for v in values)
    assert sum(values) == last_run_total


# --- plausibility at the door (issue 9 item 3) -----------------------------------------
NOW = evening(D0 + timedelta(days=3), hour=20)


def screened(history: History, readings: list[FakeReading], **options):
    update = DailyEnergyUpdate(history, readings, SYDNEY, now=options.pop("now", NOW), **options)
    span = covering_span(update.gaps().values())
    wanted = None
    if span is not None:
        days = [span[0] + timedelta(days=n) for n in range((span[1] - span[0]).days + 1)]
        wanted = dict.fromkeys(days, 1000)
    return applied(update, wanted)


def two_days(history: History) -> None:
    screened(history, [FakeReading("A", 69_000, evening(D0))])
    screened(history, [FakeReading("A", 71_000, evening(D0 + timedelta(days=1)))])


def test_a_reading_dated_in_2099_is_rejected_named_and_not_recorded():
    history = History()
    two_days(history)
    before = copy.deepcopy(history.data)
    result = screened(history, [FakeReading("A", 72_000, datetime(2099, 1, 1, tzinfo=UTC))])
    assert history.data == before
    assert result.rejected == ["A"]
    assert any("serial A" in w and "future" in w for w in result.warnings)


def test_a_reading_within_the_clock_skew_allowance_is_kept():
    history = History()
    screened(history, [FakeReading("A", 5, NOW + timedelta(minutes=50))])
    assert history.days_of("A")


def test_non_finite_and_non_numeric_energies_are_rejected_by_serial():
    for bad in (float("nan"), float("inf"), "12", None):
        history = History()
        two_days(history)
        before = copy.deepcopy(history.data)
        reading = FakeReading("A", bad, evening(D0 + timedelta(days=2)))  # type: ignore[arg-type]
        result = screened(history, [reading, FakeReading("B", 10, evening(D0 + timedelta(days=2)))])
        assert history.data["micro_inverters"]["A"] == before["micro_inverters"]["A"]
        assert result.rejected == ["A"] and history.days_of("B")
        assert any("serial A" in w and "not a finite number" in w for w in result.warnings)


def test_a_lifetime_of_1e15_is_rejected_and_the_next_good_reading_fills_the_gap():
    history = History()
    two_days(history)
    result = screened(history, [FakeReading("A", 10**15, evening(D0 + timedelta(days=2)))])
    assert result.rejected == ["A"] and history.last_date("A") == day(1)
    result = screened(
        history,
        [FakeReading("A", 75_000, evening(D0 + timedelta(days=3)))],
        now=NOW + timedelta(days=1),
    )
    assert [history.daily("A", day(n)) for n in (2, 3)] == [2000, 2000]  # 4000 conserved
    assert history.is_estimated("A", day(2))


def test_more_than_panel_watts_for_24_hours_a_day_is_rejected():
    history = History()
    two_days(history)
    day2 = evening(D0 + timedelta(days=2))
    result = screened(history, [FakeReading("A", 71_000 + 300 * 24 + 1, day2)], panel_watts=300)
    assert result.rejected == ["A"] and "300 W" in result.warnings[0]
    result = screened(history, [FakeReading("A", 71_000 + 300 * 24, day2)], panel_watts={"A": 300})
    assert not result.rejected and history.daily("A", day(2)) == 7200
    # without panel_watts the default rating (500 W) decides
    history = History()
    two_days(history)
    assert screened(history, [FakeReading("A", 71_000 + 12_001, day2)]).rejected == ["A"]


def test_a_negative_lifetime_is_rejected():
    history = History()
    two_days(history)
    result = screened(history, [FakeReading("A", -5, evening(D0 + timedelta(days=2)))])
    assert result.rejected == ["A"] and history.last_date("A") == day(1)


def test_a_one_night_zero_that_comes_back_is_a_glitch_and_the_days_stay_right():
    # The case: a one-off 0 followed by the real value counted the whole lifetime.
    history = History()
    two_days(history)
    result = screened(history, [FakeReading("A", 0, evening(D0 + timedelta(days=2)))])
    assert history.daily("A", day(2)) is None and result.resets == ["A"]
    result = screened(
        history,
        [FakeReading("A", 74_000, evening(D0 + timedelta(days=3)))],
        now=NOW + timedelta(days=1),
    )
    assert result.glitches == ["A"]
    assert [history.daily("A", day(n)) for n in (2, 3)] == [1500, 1500]  # 3000, not 74,000
    assert entry_of(history, "A", day(3))["lifetime_energy"] == 74_000
    recorded = [history.daily("A", d) for d in history.days_of("A")]
    assert all(v is None or v < 5000 for v in recorded)


def test_a_real_reset_stays_a_reset_the_next_night():
    history = History()
    two_days(history)
    screened(history, [FakeReading("A", 100, evening(D0 + timedelta(days=2)))])
    result = screened(
        history,
        [FakeReading("A", 1900, evening(D0 + timedelta(days=3)))],
        now=NOW + timedelta(days=1),
    )
    assert not result.glitches
    assert history.daily("A", day(2)) is None and history.daily("A", day(3)) == 1800
