"""Readings and histories built for tests and benches, and typed accessors into a history.

One copy of each builder: the tests, ``bench/`` and the property tests use these rather than
their own. The accessors narrow what ``History`` returns (``None`` where nothing is stored)
so a test states, and mypy sees, that the value is there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from panel_tracker.history import History


@dataclass(frozen=True)
class FakeReading:
    """What a source gives for one micro-inverter: the shape the daily update reads."""

    serial: str
    lifetime_wh: int
    last_report: datetime


def entry_of(history: History, serial: str, day: str) -> dict[str, Any]:
    """The stored day entry, which the test expects to exist."""
    entry = history.entry(serial, day)
    assert entry is not None, f"{serial} has no entry for {day}"
    return entry


def known(values: list[int | None]) -> list[int]:
    """Daily values the test expects to be all known (none null)."""
    present = [v for v in values if v is not None]
    assert len(present) == len(values), f"unknown days among {values}"
    return present


def steady_history(
    panels: int, years: int, start: date | None = None
) -> tuple[dict[str, Any], list[date]]:
    """A history of ``panels`` x ``years`` of steady days (1,500-1,506 Wh each) and its days,
    ending the day before yesterday unless ``start`` says otherwise (no day in the future)."""
    if start is None:
        start = date.today() - timedelta(days=365 * years + 2)
    days = [start + timedelta(days=n) for n in range(365 * years)]
    micros = {}
    for p in range(panels):
        lifetime, entries = 0, {}
        for n, day in enumerate(days):
            lifetime += 1500 + (p % 7)
            entries[day.isoformat()] = {
                "daily_energy": 1500 + (p % 7),
                "lifetime_energy": lifetime,
                "last_report": 1_451_000_000 + n,
            }
        micros[steady_serial(p)] = entries
    return {"micro_inverters": micros}, days


def steady_serial(index: int) -> str:
    return f"4820{index:08d}"


def even_days(days: Sequence[str], wh: int = 1800) -> dict[str, dict[str, Any]]:
    """One serial's days, each making ``wh``: a panel no different from its neighbours."""
    return {day: {"daily_energy": wh, "lifetime_energy": 0} for day in days}


def even_roof(panels: int = 6, days: int = 30) -> tuple[dict[str, Any], list[str]]:
    """``panels`` serials (``1217`` and eight digits) making the same every day from
    2025-06-01, as a ``micro_inverters`` section, and its ISO days."""
    start = date(2025, 6, 1)
    dates = [(start + timedelta(days=k)).isoformat() for k in range(days)]
    return {f"1217{p:08d}": even_days(dates) for p in range(panels)}, dates
