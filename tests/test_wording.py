"""A count meets its noun in the right number, in the notes a person reads."""

from __future__ import annotations

from panel_tracker.app.daily import DailyRun, _account
from panel_tracker.energy import UpdateResult
from panel_tracker.history import History
from panel_tracker.wording import counted


def test_counted_says_one_panel_and_two_panels() -> None:
    assert counted(1, "panel") == "1 panel"
    assert counted(2, "panel") == "2 panels"
    assert counted(0, "day") == "0 days"
    assert counted(1_200, "call") == "1,200 calls"
    assert counted(2, "entry", "entries") == "2 entries"


def test_a_gap_of_one_panel_is_said_in_the_singular() -> None:
    history = History()
    history.micros["482000000001"] = {
        "2025-06-01": {"daily_energy": 1000, "lifetime_energy": 5000},
        "2025-06-02": {"daily_energy": 900, "lifetime_energy": 5900, "estimated": True},
        "2025-06-03": {"daily_energy": 950, "lifetime_energy": 6850, "estimated": True},
    }
    update = UpdateResult(
        day="2025-06-03", estimated_days={"482000000001": ["2025-06-02", "2025-06-03"]}
    )
    run = DailyRun(system="test")
    _account(history, run, update, weighted=True)
    (gap,) = [note for note in run.notes if note.startswith("gap:")]
    assert "(2 days, 1 panel)" in gap, gap


def test_a_night_of_unknown_days_says_unknown_not_0_wh() -> None:
    run = DailyRun(system="test", day="2025-06-01", reporting=24, unknown=24, expected=24)
    assert run.summary_lines()[0].startswith("test: 2025-06-01: unknown, 24 of 24")
    known = DailyRun(system="test", day="2025-06-02", total_wh=0, reporting=24, expected=24)
    assert "0 Wh" in known.summary_lines()[0]  # a known zero (snow) stays a number
