"""Telling a failing micro-inverter from shade or soiling by the gateway's DC readings."""

from __future__ import annotations

from panel_tracker.health.dc import LOW_LIGHT, MICRO_FAULT, DcDay, dc_cause, dc_findings
from panel_tracker.history import History

PEERS = [DcDay(f"p{n}", 1_500, 32.0, 8.0) for n in range(4)]


def test_dc_present_and_ac_missing_is_the_micro_inverter() -> None:
    assert dc_cause(DcDay("x", 40, 31.8, 7.9), [*PEERS, DcDay("x", 40, 31.8, 7.9)]) == MICRO_FAULT


def test_low_dc_current_or_voltage_is_shade_or_soiling() -> None:
    assert dc_cause(DcDay("x", 500, 31.0, 2.0), PEERS) == LOW_LIGHT
    assert dc_cause(DcDay("x", 500, 12.0, 7.0), PEERS) == LOW_LIGHT


def test_a_panel_that_is_not_weak_has_no_finding() -> None:
    assert dc_cause(DcDay("x", 1_400, 20.0, 1.0), PEERS) is None


def test_at_dusk_only_the_voltage_tells() -> None:
    dusk = [DcDay(f"p{n}", 1_500, 30.0, 0.02) for n in range(4)]
    assert dc_cause(DcDay("x", 30, 29.5, 0.0), dusk) == MICRO_FAULT
    assert dc_cause(DcDay("x", 30, 9.0, 0.0), dusk) == LOW_LIGHT


def test_too_few_panels_or_no_dc_readings_give_no_finding() -> None:
    assert dc_cause(DcDay("x", 40, 32.0, 8.0), PEERS[:2]) is None
    history = History({"micro_inverters": {"1": {"2026-06-01": {"daily_energy": 5}}}})
    assert dc_findings(history, "2026-06-01") == []
    assert dc_findings(history, None) == []


def test_findings_name_the_serial_and_the_cause() -> None:
    day = "2026-06-01"

    def entry(wh: int, volts: float, amps: float) -> dict[str, object]:
        return {
            "daily_energy": wh,
            "lifetime_energy": 9,
            "dc_voltage_v": volts,
            "dc_current_a": amps,
        }

    micros = {str(n): {day: entry(1_500, 32.0, 8.0)} for n in range(4)}
    micros["fault"] = {day: entry(20, 32.2, 8.1)}
    micros["shade"] = {day: entry(600, 31.0, 1.5)}
    micros["old"] = {day: {"daily_energy": 10, "lifetime_energy": 9}}  # cloud day: no DC
    lines = dc_findings(History({"micro_inverters": micros}), day)
    assert len(lines) == 2
    assert lines[0].startswith("serial fault on 2026-06-01: 20 Wh") and MICRO_FAULT in lines[0]
    assert lines[1].startswith("serial shade") and LOW_LIGHT in lines[1]
