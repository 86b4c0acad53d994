"""A simulated year: every injected fault found within 3 days of reaching 10 % loss, no false alarm.

The history is built from the sandbox site's truth one day at a time, and the health check and
its alert state run after each day exactly as the daily job runs them.
"""

from __future__ import annotations

from datetime import date

import pytest

from panel_tracker.health.assess import assess
from panel_tracker.health.thresholds import HealthSettings
from sandbox.health_bench import (
    MISSED_RUNS,
    YearRun,
    detection_stats,
    fault_serials,
    healthy_serials,
    run_year,
    year_scenario,
)
from sandbox.site import SimulatedSite, SiteScenario

MAX_DELAY_DAYS = 3


@pytest.fixture(scope="module", params=[42, 7])
def year(request: pytest.FixtureRequest) -> YearRun:
    site = SimulatedSite(year_scenario(request.param))
    return run_year(site, missed=MISSED_RUNS)


def test_the_scenario_is_a_realistic_year(year: YearRun) -> None:
    site = year.site
    assert len(site.days()) == 365
    assert len({site.panel_of[s] for s in site.serials}) >= 24
    weather = [site.weather(d) for d in site.days()]
    assert min(weather) < 0.1 and max(weather) > 0.95  # dark winter days and clear summer ones
    assert set(fault_serials(site)) == {"shade", "failing", "soiling"}
    estimated = [d for d, e in year.history.micros[site.serials[0]].items() if e.get("estimated")]
    assert len(estimated) == len(MISSED_RUNS)


def test_each_fault_is_flagged_within_three_days_of_ten_percent_loss(year: YearRun) -> None:
    stats = detection_stats(year.site, run=year)
    for name, fault in stats["faults"].items():
        assert fault["flagged"] is not None, f"{name} never flagged"
        assert fault["delay_days"] <= MAX_DELAY_DAYS, f"{name}: {fault}"
        assert fault["flag_days_before_fault"] == 0, f"{name} flagged before its fault: {fault}"


def test_healthy_panels_are_never_flagged(year: YearRun) -> None:
    healthy = healthy_serials(year.site)
    assert len(healthy) >= 21  # 24 panels less three faults, plus the replacement micro
    flagged = {s: len(year.flagged_days.get(s, [])) for s in healthy}
    assert sum(flagged.values()) == 0, {s: n for s, n in flagged.items() if n}
    assert detection_stats(year.site, run=year)["false_alarm_days"] == 0


def test_alerts_go_out_once_per_episode(year: YearRun) -> None:
    faults = fault_serials(year.site)
    sent = [(e.kind, e.serial) for e in year.events]
    assert sorted(sent) == sorted(
        [
            ("weak", faults["shade"]),
            ("weak", faults["soiling"]),
            ("weak", faults["failing"]),
            ("stopped", faults["failing"]),  # the dead micro goes silent, then is replaced
            ("replaced", faults["failing"]),  # ... said once, with its weak episode's loss
        ]
    )
    replaced = next(e for e in year.events if e.kind == "replaced")
    weak = next(e for e in year.events if e.kind == "weak" and e.serial == faults["failing"])
    assert replaced.replaced_by is not None and replaced.replaced_by != faults["failing"]
    assert replaced.lost_wh >= weak.lost_wh > 0
    shade_alert = next(e for e in year.events if e.serial == faults["shade"])
    assert shade_alert.since is not None
    assert (
        date.fromisoformat(shade_alert.day) - date.fromisoformat(shade_alert.since)
        < date.resolution * 4
    )


def test_the_shaded_panel_is_named_with_its_loss_at_the_end(year: YearRun) -> None:
    faults = fault_serials(year.site)
    report = assess(year.history, HealthSettings(), panel_watts=year.site.rated_watts)
    weak = {v.serial: v for v in report.weak}
    assert set(weak) == {faults["shade"], faults["soiling"]}
    shade = weak[faults["shade"]]
    assert shade.last7_ratio is not None and 0.87 < shade.last7_ratio < 0.93
    # 10 % of a panel's daily energy, every day since the shade began
    since = date.fromisoformat(shade.since or "")
    days = [d for d in year.site.days() if d >= since]
    truth = sum(year.site.truth_daily(faults["shade"], d) or 0 for d in days) / 0.9 * 0.1
    assert 0.85 * truth < shade.lost_wh < 1.15 * truth
    assert any(
        line.startswith(f"panel {faults['shade']} weak since") for line in report.summary_lines()
    )
    # the replaced micro is no longer named once its successor has taken over
    assert faults["failing"] not in {v.serial for v in report.stopped}


def test_default_site_scenario_shade_from_day_one() -> None:
    site = SimulatedSite(SiteScenario(days=120))
    stats = detection_stats(site)
    assert stats["false_alarm_days"] == 0
    assert stats["faults"]["shade"]["delay_days"] <= MAX_DELAY_DAYS
    assert stats["faults"]["failing"]["delay_days"] <= MAX_DELAY_DAYS
