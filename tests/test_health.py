"""Panel health on small synthetic histories: the rules one at a time, and the alert state."""

from __future__ import annotations

import copy
import json
import logging
import random
import re
import warnings
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from panel_tracker.errors import ConfigError
from panel_tracker.health.assess import assess
from panel_tracker.health.episodes import AlertEvent, update_alert_state
from panel_tracker.health.table import _run_rule, ratio_table, run_rule_reference
from panel_tracker.health.thresholds import HealthSettings
from panel_tracker.history import History
from panel_tracker.settings import Settings, parse_settings
from sandbox.health_bench import synthetic_history, synthetic_serials
from tests.support.builders import even_days, even_roof

DEFAULTS = HealthSettings()
SERIALS = synthetic_serials(12)
WEAK = SERIALS[3]


def day_of(k: int) -> str:
    return (date(2025, 6, 1) + timedelta(days=k)).isoformat()


def truncated(history: History, days: int) -> History:
    """The history as it stood after ``days`` days."""
    last = day_of(days - 1)
    data = {
        "micro_inverters": {
            s: {d: e for d, e in entries.items() if d <= last}
            for s, entries in history.micros.items()
        }
    }
    return History(copy.deepcopy(data))


# --- flagging and clearing ------------------------------------------------------------------


def test_healthy_array_has_no_weak_panel_and_says_so() -> None:
    history = synthetic_history(days=60)
    report = assess(history, DEFAULTS)
    assert report.day == day_of(59)
    assert report.weak == [] and report.stopped == [] and report.declining == []
    assert len(report.panels) == 12
    assert all(0.97 < (v.last7_ratio or 0) < 1.03 for v in report.panels)
    assert report.summary_lines() == [f"panel health on {day_of(59)}: all 12 panels ok"]


def test_weak_panel_is_flagged_on_its_third_weak_day_with_since_and_loss() -> None:
    history = synthetic_history(days=20, faults=[(3, 10, None, 0.15)])
    assert not assess(truncated(history, 12), DEFAULTS).weak  # days 10, 11: two weak days
    report = assess(truncated(history, 13), DEFAULTS)
    assert [v.serial for v in report.weak] == [WEAK]
    verdict = report.weak[0]
    assert verdict.since == day_of(10)
    assert verdict.weak_days == 3
    # what it lost: the array median (per W) x its rating, less what it made, days 10..12
    table = report.table
    assert table is not None
    column = table.column(WEAK)
    expected = sum(table.median[k] - table.energy[k, column] for k in (10, 11, 12))
    assert verdict.lost_wh == round(expected)
    assert 0.13 * 3 * 1200 < verdict.lost_wh < 0.17 * 3 * 2000
    line = report.summary_lines()[0]
    assert line.startswith(f"panel {WEAK} weak since {day_of(10)}: ")
    assert f"{verdict.lost_wh:,} Wh lost vs the median" in line


def test_flag_clears_after_three_good_days_not_before() -> None:
    history = synthetic_history(days=30, faults=[(3, 5, 15, 0.2)])
    assert assess(truncated(history, 15), DEFAULTS).verdict(WEAK).weak  # type: ignore[union-attr]
    assert assess(truncated(history, 17), DEFAULTS).verdict(WEAK).weak  # type: ignore[union-attr]
    cleared = assess(truncated(history, 18), DEFAULTS).verdict(WEAK)
    assert cleared is not None and not cleared.weak and cleared.since is None
    assert cleared.lost_wh == 0


def test_one_or_two_bad_days_never_flag() -> None:
    # a bird on the panel for two days, twice
    history = synthetic_history(days=30, faults=[(3, 5, 7, 0.5), (3, 12, 14, 0.5)])
    flags = [assess(truncated(history, n), DEFAULTS).weak for n in range(1, 31)]
    assert all(not weak for weak in flags)


def test_days_in_between_weak_and_good_keep_the_count() -> None:
    # a panel at 93-94 % is neither weak nor good: it neither adds to nor resets the run
    history = synthetic_history(days=20, faults=[(3, 10, 11, 0.2), (3, 13, None, 0.2)])
    for k in (11, 12):
        others = sorted(history.micros[s][day_of(k)]["daily_energy"] for s in SERIALS if s != WEAK)
        median = (others[5] + others[6]) / 2  # equal to the median of all 12 within 0.5 %
        history.micros[WEAK][day_of(k)]["daily_energy"] = round(median * 0.935)
    table = ratio_table(history, DEFAULTS)
    column = table.column(WEAK)
    assert not table.weak[11:13, column].any() and not table.good[11:13, column].any()
    report = assess(truncated(history, 15), DEFAULTS)
    assert [v.serial for v in report.weak] == [WEAK]
    assert report.weak[0].since == day_of(10)


def test_threshold_settings_change_the_verdict() -> None:
    history = synthetic_history(days=20, faults=[(3, 10, None, 0.15)])
    strict = HealthSettings(days_to_flag=5)
    assert not assess(truncated(history, 14), strict).weak
    assert assess(truncated(history, 15), strict).weak
    lenient = HealthSettings(weak_ratio=0.8)
    assert not assess(history, lenient).weak


# --- what is not judged ---------------------------------------------------------------------


def test_low_light_days_are_skipped_not_counted() -> None:
    weather = [0.9] * 30
    for k in (11, 12):
        weather[k] = 0.05  # snow: 5 % of a clear day
    history = synthetic_history(days=30, weather=weather, faults=[(3, 10, None, 0.3)])
    # on the snow days the weak panel reads zero: that must not count as two more weak days
    for k in (11, 12):
        history.micros[WEAK][day_of(k)]["daily_energy"] = 0
    table = ratio_table(history, DEFAULTS)
    assert [table.status[k] for k in (11, 12)] == [3, 3]  # LOW_LIGHT
    assert not assess(truncated(history, 13), DEFAULTS).weak  # only day 10 counted so far
    report = assess(truncated(history, 15), DEFAULTS)
    assert [v.serial for v in report.weak] == [WEAK]  # days 10, 13, 14
    assert report.weak[0].since == day_of(10)


def test_a_dark_day_is_skipped_quietly() -> None:
    history = synthetic_history(days=10)
    for serial in SERIALS:  # snow: nothing at all
        history.micros[serial][day_of(5)]["daily_energy"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning may reach a cron mail
        report = assess(history, DEFAULTS)
    assert report.table is not None and report.table.status[5] == 3  # LOW_LIGHT
    assert report.weak == []


def test_uneven_days_are_skipped() -> None:
    history = synthetic_history(days=20)
    rng = random.Random(3)
    for serial in SERIALS:  # partial snow: every panel somewhere between 40 and 100 %
        entry = history.micros[serial][day_of(15)]
        entry["daily_energy"] = round(entry["daily_energy"] * rng.uniform(0.4, 1.0))
    table = ratio_table(history, DEFAULTS)
    assert table.status[15] == 4  # UNEVEN
    assert not table.weak[15].any() and not table.good[15].any()


def test_noisy_day_needs_a_large_robust_z() -> None:
    history = synthetic_history(days=12)
    rng = random.Random(5)
    for serial in SERIALS:  # a scattered (but not skipped) day: robust sigma ~ 8 %
        entry = history.micros[serial][day_of(11)]
        entry["daily_energy"] = round(entry["daily_energy"] * rng.uniform(0.88, 1.12))
    scattered = sorted(history.micros[s][day_of(11)]["daily_energy"] for s in SERIALS)
    history.micros[WEAK][day_of(11)]["daily_energy"] = round(
        (scattered[5] + scattered[6]) / 2 * 0.86
    )
    table = ratio_table(history, DEFAULTS)
    column = table.column(WEAK)
    assert table.ratio[11, column] < DEFAULTS.weak_ratio
    assert table.z[11, column] > -DEFAULTS.z_threshold
    assert not table.weak[11, column]


def test_estimated_and_unknown_days_are_never_used() -> None:
    history = synthetic_history(days=20, faults=[(3, 10, None, 0.5)])
    for k in range(10, 20):
        entry = history.micros[WEAK][day_of(k)]
        if k % 2:
            entry["estimated"] = True
        else:
            entry["daily_energy"] = None
    report = assess(history, DEFAULTS)
    assert report.weak == []
    table = report.table
    assert table is not None
    assert np.isnan(table.ratio[10:, table.column(WEAK)]).all()


def test_a_gap_marked_estimated_for_the_whole_array_is_skipped() -> None:
    history = synthetic_history(days=20)
    for serial in SERIALS:
        for k in (12, 13):
            history.micros[serial][day_of(k)]["estimated"] = True
    table = ratio_table(history, DEFAULTS)
    assert [table.status[k] for k in (12, 13)] == [1, 1]  # NO_DATA


def test_panel_watts_normalizes_different_panels() -> None:
    history = synthetic_history(days=20)
    for entry in history.micros[WEAK].values():  # a 300 W panel among 400 W ones
        entry["daily_energy"] = round(entry["daily_energy"] * 0.75)
    assert [v.serial for v in assess(history, DEFAULTS).weak] == [WEAK]
    ratings = dict.fromkeys(SERIALS, 400) | {WEAK: 300}
    report = assess(history, DEFAULTS, panel_watts=ratings)
    assert report.weak == []
    assert 0.97 < (report.verdict(WEAK).last7_ratio or 0) < 1.03  # type: ignore[union-attr]
    assert assess(history, DEFAULTS, panel_watts=400).verdict(WEAK).weak  # type: ignore[union-attr]


def test_a_serial_missing_from_panel_watts_gets_the_usual_rating(
    caplog: pytest.LogCaptureFixture,
) -> None:
    history = synthetic_history(days=10)
    with caplog.at_level(logging.WARNING):
        report = assess(history, DEFAULTS, panel_watts={SERIALS[0]: 400, SERIALS[1]: 400})
    assert report.weak == []
    assert "no rating for 10 serial(s)" in caplog.text


# --- stopped, retired, declining ------------------------------------------------------------


def test_panel_that_stops_reporting_is_named_then_retired() -> None:
    history = synthetic_history(days=60)
    silent = SERIALS[5]
    for k in range(20, 60):
        del history.micros[silent][day_of(k)]
    one_day = assess(truncated(history, 21), DEFAULTS).verdict(silent)
    assert one_day is not None and not one_day.stopped_reporting  # a late report is normal
    report = assess(truncated(history, 22), DEFAULTS)
    assert [v.serial for v in report.stopped] == [silent]
    assert report.summary_lines() == [
        f"panel {silent} stopped reporting: no report since {day_of(19)}"
    ]
    later = assess(truncated(history, 20 + DEFAULTS.retired_after_days), DEFAULTS)
    verdict = later.verdict(silent)
    assert verdict is not None and verdict.retired and later.stopped == []
    assert later.summary_lines()[0].endswith("all 11 panels ok")


def test_slow_decline_shows_in_the_trend_before_it_is_weak() -> None:
    history = synthetic_history(days=120)
    for k in range(30, 120):  # -0.08 % a day: -7 % over the last 90 days, never below 92 %
        entry = history.micros[WEAK][day_of(k)]
        entry["daily_energy"] = round(entry["daily_energy"] * (1 - 0.0008 * (k - 29)))
    report = assess(history, DEFAULTS)
    verdict = report.verdict(WEAK)
    assert verdict is not None and not verdict.weak
    assert verdict.trend_90 is not None and -0.09 < verdict.trend_90 < -0.05
    assert verdict.trend_30 is not None and -0.04 < verdict.trend_30 < 0
    assert verdict.trend_365 is None  # 120 days say nothing about a year
    assert [v.serial for v in report.declining] == [WEAK]
    assert report.summary_lines()[0].startswith(f"panel {WEAK} declining: ratio -")
    healthy = report.verdict(SERIALS[0])
    assert healthy is not None and abs(healthy.trend_90 or 1) < 0.02


def test_trend_needs_enough_days() -> None:
    report = assess(synthetic_history(days=4), DEFAULTS)
    assert all(v.trend_30 is None and v.trend_90 is None for v in report.panels)


# --- edges ----------------------------------------------------------------------------------


def test_empty_history() -> None:
    report = assess(History(), DEFAULTS)
    assert report.day is None and report.panels == [] and report.weak == []
    assert report.summary_lines() == ["panel health: no data yet"]
    assert update_alert_state(History(), report) == []


def test_too_few_panels_to_judge() -> None:
    history = synthetic_history(days=10, panels=2, faults=[(1, 0, None, 0.5)])
    report = assess(history, DEFAULTS)
    assert report.weak == []
    assert report.table is not None and set(report.table.status.tolist()) == {2}
    assert report.summary_lines() == [
        f"panel health on {day_of(9)}: no comparable day yet (2 panels)"
    ]


def test_malformed_entries_are_ignored() -> None:
    history = synthetic_history(days=10)
    history.micros[SERIALS[0]]["not-a-date"] = {"daily_energy": 5}
    history.micros[SERIALS[1]][day_of(3)] = "garbage"  # type: ignore[assignment]
    history.micros[SERIALS[2]][day_of(4)] = {"daily_energy": "12"}
    report = assess(history, DEFAULTS)
    assert report.day == day_of(9) and report.weak == []


def test_assess_reads_only() -> None:
    history = synthetic_history(days=20, faults=[(3, 10, None, 0.15)])
    before = json.dumps(history.data, sort_keys=True)
    assess(history, DEFAULTS, panel_watts=400)
    assert json.dumps(history.data, sort_keys=True) == before


# --- the run rule ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    days=st.lists(st.sampled_from(["weak", "good", "neither"]), min_size=0, max_size=60),
    flag_after=st.integers(1, 4),
    clear_after=st.integers(1, 4),
)
def test_vectorized_run_rule_equals_the_day_by_day_rule(
    days: list[str], flag_after: int, clear_after: int
) -> None:
    weak = [d == "weak" for d in days]
    good = [d == "good" for d in days]
    rules = HealthSettings(days_to_flag=flag_after, days_to_clear=clear_after)
    matrix = _run_rule(
        np.array(weak, dtype=bool).reshape(-1, 1), np.array(good, dtype=bool).reshape(-1, 1), rules
    )
    assert matrix[:, 0].tolist() == run_rule_reference(weak, good, flag_after, clear_after)


# --- settings -------------------------------------------------------------------------------


def parsed(**raw: Any) -> Settings:
    """The settings of a config holding ``raw`` (as the scripts parse it)."""
    return parse_settings(Path("/nowhere/c.json"), {"system_id": "1", **raw})


def test_settings_defaults_and_overrides() -> None:
    assert parsed().health == DEFAULTS
    assert parsed(health={}).health == DEFAULTS
    assert parsed(health=None).health == DEFAULTS
    custom = parsed(health={"weak_ratio": 0.9, "days_to_flag": 4}).health
    assert custom.weak_ratio == 0.9 and custom.days_to_flag == 4
    assert custom.recover_ratio == DEFAULTS.recover_ratio


@pytest.mark.parametrize(
    ("health", "message"),
    [
        ({"weak_ratio": "0.9"}, "health.weak_ratio is '0.9', it must be a number"),
        ({"days_to_flag": 2.5}, "health.days_to_flag is 2.5, it must be a whole number"),
        ({"weak_ratio": 1.2}, "weak_ratio must be between 0 and 1"),
        ({"weak_ratio": 0.96}, "recover_ratio must be at least weak_ratio"),
        ({"days_to_flag": 0}, "days_to_flag must be 1 or more"),
        ({"min_panels": 2}, "min_panels must be 3 or more"),
        ({"days_to_clear": True}, "health.days_to_clear is true, it must be a whole number"),
        ({"max_spread": float("nan")}, "must be a finite number"),
        ([1, 2], "health is a list, it must be an object"),
        (0, "health is 0, it must be an object"),
    ],
)
def test_bad_settings_are_config_errors(health: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parsed(health=health)


def test_unknown_setting_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert parsed(health={"weak_ratoi": 0.9, "_comment": "x"}).health == DEFAULTS
    assert "weak_ratoi" in caplog.text and "_comment" not in caplog.text


def test_panel_watts_settings() -> None:
    assert parsed().panel_watts is None
    assert parsed(panel_watts=400).panel_watts == 400
    assert parsed(panel_watts={"1": 400, "2": 300}).panel_watts == {"1": 400, "2": 300}
    for bad in (0, -5, "400", {"1": 0}, {"1": "x"}, True):
        with pytest.raises(ConfigError, match="panel_watts"):
            parsed(panel_watts=bad)


# --- alert state ----------------------------------------------------------------------------


def replay_alert_state(
    history: History, days: int, health_settings: HealthSettings = DEFAULTS
) -> tuple[History, list[tuple[int, AlertEvent]]]:
    """Judge the history night after night as it stood, the alert state carried over.

    Returns the last night's history and each night's new events with the night's index.
    """
    kept = History()
    events: list[tuple[int, AlertEvent]] = []
    for n in range(1, days + 1):
        current = truncated(history, n)
        current.data["health"] = kept.data.get("health", {})
        report = assess(current, health_settings)
        new = update_alert_state(current, report)
        assert update_alert_state(current, report) == []  # the same day again: nothing new
        events += [(n - 1, e) for e in new]
        kept = current
    return kept, events


def test_alert_state_announces_each_episode_once() -> None:
    history = synthetic_history(days=40, faults=[(3, 10, 20, 0.2)])
    silent = SERIALS[7]
    for k in range(30, 40):
        del history.micros[silent][day_of(k)]
    kept, events = replay_alert_state(history, 40)
    kinds = [(k, e.kind, e.serial) for k, e in events]
    assert kinds == [
        (12, "weak", WEAK),
        (22, "recovered", WEAK),
        (31, "stopped", silent),
    ]
    weak_event, recovered = events[0][1], events[1][1]
    assert weak_event.since == day_of(10) and weak_event.day == day_of(12)
    assert recovered.since == day_of(10)
    assert recovered.lost_wh > 0  # the episode's total, kept though the panel is fine now
    health = kept.section("health")
    assert health["last_assessed"] == day_of(39)
    assert [c["kind"] for c in health["closed"]] == ["weak"]
    assert set(health["open"]) == {silent}
    json.dumps(kept.data)  # the state is plain JSON for the history file


def test_retired_panel_episodes_close_quietly_and_resumed_reports_are_news() -> None:
    history = synthetic_history(days=60)
    silent = SERIALS[5]
    for k in range(20, 45):
        del history.micros[silent][day_of(k)]
    _, events = replay_alert_state(history, 60)
    # stopped on day 21, reporting again on day 45 (before it would have counted as removed)
    assert [(k, e.kind) for k, e in events] == [(21, "stopped"), (45, "reporting")]
    _, events = replay_alert_state(history, 60, HealthSettings(retired_after_days=10))
    # removed after 10 silent days: closed without a word; its return is then a new panel
    assert [(k, e.kind) for k, e in events] == [(21, "stopped")]


# --- a bounded nightly window (its speed is measured in bench/, not here) ------------------


def test_ten_years_of_a_hundred_panels_find_the_one_weak_since_the_first_day() -> None:
    rng = random.Random(11)
    start = date(2016, 1, 1)
    days = [(start + timedelta(days=k)).isoformat() for k in range(3650)]
    micros = {}
    for p in range(100):
        loss = 0.15 if p == 42 else 0.0
        micros[f"1217{p:08d}"] = {
            d: {
                "daily_energy": round(1800 * rng.uniform(0.98, 1.02) * (1 - loss)),
                "lifetime_energy": 0,
            }
            for d in days
        }
    history = History({"micro_inverters": micros})
    report = assess(history, DEFAULTS, panel_watts=400)
    assert [v.serial for v in report.weak] == ["121700000042"]
    assert report.weak[0].since == days[0]  # the window widened back to the episode's start
    assert report.verdict("121700000042") == assess(
        history, DEFAULTS, panel_watts=400, whole_history=True
    ).verdict("121700000042")


def _years_of_events(*, undecided_panel: bool = False, weak_from: int = 1300) -> History:
    """Four years of 12 panels with episodes that reach back past the nightly window."""
    rng = random.Random(5)
    start = date(2020, 1, 1)
    micros: dict[str, dict[str, dict[str, object]]] = {}
    for p in range(12):
        entries: dict[str, dict[str, object]] = {}
        for k in range(4 * 365):
            day = start + timedelta(days=k)
            level = 1.0
            if p == 0 and 200 <= k < 260:  # weak for two months in year one, then recovered
                level = 0.8
            if p == 1 and k >= weak_from:  # weak since then, still weak
                level = 0.85
            if p == 2 and undecided_panel:  # always between weak and good: never decided
                level = 0.935
            if p == 3 and k >= 300:  # removed in year one
                continue
            if p == 4 and 1000 <= k < 1100:  # silent for 100 days, then back
                continue
            if p == 5 and k % 3 == 0:  # an estimated day now and then
                entries[day.isoformat()] = {"daily_energy": 0, "estimated": True}
                continue
            sun = 0.1 if k % 40 == 0 else 1.0  # a dark day now and then
            noise = 1.0 if p == 2 and undecided_panel else rng.uniform(0.99, 1.01)
            value = round(1800 * sun * level * noise)
            entries[day.isoformat()] = {"daily_energy": value, "lifetime_energy": 0}
        micros[f"1217{p:08d}"] = entries
    return History({"micro_inverters": micros})


@pytest.mark.parametrize(
    ("undecided_panel", "weak_from", "bounded"),
    [
        (False, 1300, True),  # every panel decided within the last year: the window suffices
        (False, 610, False),  # weak for two years: widened back to the episode's start
        (True, 1300, False),  # a panel never weak nor good: its state comes from day one
    ],
)
def test_the_nightly_window_gives_the_verdict_of_the_whole_history(
    undecided_panel: bool, weak_from: int, bounded: bool
) -> None:
    history = _years_of_events(undecided_panel=undecided_panel, weak_from=weak_from)
    window = assess(history, DEFAULTS)
    whole = assess(history, DEFAULTS, whole_history=True)
    assert window.table is not None and whole.table is not None
    assert window.table.truncated is bounded
    assert (len(window.table.days) < len(whole.table.days)) is bounded
    assert window.day == whole.day
    for mine, reference in zip(window.panels, whole.panels, strict=True):
        if mine.serial == "121700000003":
            # removed three years ago: retired, last seen on its last day; its last ratio,
            # years old, is the one thing the window does not look up
            assert mine.retired and reference.retired
            assert mine.last_seen == reference.last_seen == "2020-10-26"
            if bounded:
                assert mine.last_ratio is None
            continue
        assert mine == reference
    assert [v.serial for v in window.weak] == ["121700000001"]
    first_weak = (date(2020, 1, 1) + timedelta(days=weak_from)).isoformat()
    assert window.weak[0].since == whole.weak[0].since == first_weak
    assert window.summary_lines() == whole.summary_lines()


def test_a_window_reads_the_days_exactly_as_the_whole_history_does() -> None:
    # A history built in memory is not checked as a loaded one is: the window's fast read
    # must still agree with the whole-history read on every odd entry (a flag, a text, an
    # entry that is not an object, an estimated, an unknown and an absent day).
    start = date(2024, 1, 1)
    days = [(start + timedelta(days=k)).isoformat() for k in range(60)]
    plain: dict[str, Any] = {
        d: {"daily_energy": 1500 + k, "lifetime_energy": 0} for k, d in enumerate(days)
    }
    odd = copy.deepcopy(plain)
    odd[days[50]] = {"daily_energy": True, "lifetime_energy": 0}
    odd[days[51]] = {"daily_energy": "15", "lifetime_energy": 0}
    odd[days[52]] = "not an object"
    odd[days[53]] = {"daily_energy": 900, "lifetime_energy": 0, "estimated": True}
    odd[days[54]] = {"daily_energy": None, "lifetime_energy": 0}
    del odd[days[55]]
    history = History({"micro_inverters": {"A": plain, "B": odd, "C": copy.deepcopy(plain)}})
    whole = ratio_table(history, DEFAULTS)
    since, end = date.fromisoformat(days[40]), date.fromisoformat(days[-1])
    window = ratio_table(history, DEFAULTS, since=since, end=end)
    rows = slice(len(whole.days) - len(window.days), None)
    assert window.days == whole.days[rows]
    np.testing.assert_array_equal(window.present, whole.present[rows])
    np.testing.assert_array_equal(window.energy, whole.energy[rows])
    column_b = window.serials.index("B")
    assert np.isnan(window.energy[-10:-4, column_b]).all()  # the six odd days: no energy
    assert not window.present[-5, column_b]  # the absent one


def test_a_unit_silent_since_a_new_serial_appeared_is_replaced_not_counted_nor_weak() -> None:
    micros, days = even_roof()
    dying = micros["121700000005"]
    for k, day in enumerate(days):
        if k >= 15:
            dying[day]["daily_energy"] = 900  # weak from day 15 ...
        if k >= 22:
            del dying[day]  # ... and dead from day 22
    micros["121700000099"] = even_days(days[25:])
    report = assess(History({"micro_inverters": micros}), DEFAULTS)
    old = report.verdict("121700000005")
    assert old is not None and old.replaced_by == "121700000099" and old.retired
    assert not old.weak and not old.stopped_reporting
    assert [(r.old, r.new, r.last_seen, r.first_day) for r in report.replacements] == [
        ("121700000005", "121700000099", days[21], days[25])
    ]
    assert report.panel_count == 6 and report.weak == [] and report.stopped == []
    assert report.groups_line() == "groups: one array (6 panels)"  # one count everywhere
    assert report.summary_lines() == [f"panel health on {days[-1]}: all 6 panels ok"]


def test_a_silent_unit_with_no_newcomer_after_it_stays_silent() -> None:
    micros, days = even_roof()
    # a serial that joined before the other went silent is not its replacement
    micros["121700000099"] = even_days(days[5:])
    for day in days[25:]:
        del micros["121700000005"][day]
    report = assess(History({"micro_inverters": micros}), DEFAULTS)
    assert report.replacements == []
    assert [v.serial for v in report.stopped] == ["121700000005"]
    assert report.panel_count == 7
