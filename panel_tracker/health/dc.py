"""Why a panel is weak, from the gateway's DC readings: the micro-inverter, or the light.

A micro-inverter turns the panel's DC into AC. When the panel's DC is there (its voltage and
current like its neighbours') but little AC energy came out, the micro-inverter is failing;
when the DC itself is low, the panel got less light (shade, soiling, a bird's nest). Only the
local gateway source records DC (``dc_voltage_v``, ``dc_current_a`` in the day entry, a snapshot
at the micro's last report), so days without it give no finding.

The thresholds are deliberately coarse: the DC values are one snapshot, not a day's mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from ..history import History

WEAK_RATIO = 0.5  # a day under half the group's median energy is weak
DC_PRESENT_RATIO = 0.8  # DC voltage and current at least this share of the group's median
DC_LOW_RATIO = 0.5  # voltage or current under this share of the group's median
MIN_CURRENT_A = 0.1  # below this median current (dusk) only voltage is compared
MIN_PANELS = 3

MICRO_FAULT = "micro-inverter fault (DC present, AC missing)"
LOW_LIGHT = "shade or soiling (DC low)"


@dataclass(frozen=True)
class DcDay:
    """One panel's day: its AC energy and the DC snapshot at its last report."""

    serial: str
    daily_wh: int
    dc_voltage_v: float
    dc_current_a: float


def dc_cause(panel: DcDay, group: Sequence[DcDay]) -> str | None:
    """``MICRO_FAULT``, ``LOW_LIGHT`` or None (not weak, or no telling) for one weak panel.

    >>> peers = [DcDay(s, 1500, 32.0, 8.0) for s in "abc"]
    >>> dc_cause(DcDay("x", 40, 32.1, 7.9), peers)
    'micro-inverter fault (DC present, AC missing)'
    >>> dc_cause(DcDay("x", 600, 31.0, 2.0), peers)
    'shade or soiling (DC low)'
    >>> dc_cause(DcDay("x", 1450, 32.0, 7.5), peers) is None
    True
    """
    if len(group) < MIN_PANELS:
        return None
    energy = median(p.daily_wh for p in group)
    if energy <= 0 or panel.daily_wh >= WEAK_RATIO * energy:
        return None
    volts = median(p.dc_voltage_v for p in group)
    amps = median(p.dc_current_a for p in group)
    compare_amps = amps >= MIN_CURRENT_A
    if panel.dc_voltage_v < DC_LOW_RATIO * volts or (
        compare_amps and panel.dc_current_a < DC_LOW_RATIO * amps
    ):
        return LOW_LIGHT
    if panel.dc_voltage_v >= DC_PRESENT_RATIO * volts and (
        not compare_amps or panel.dc_current_a >= DC_PRESENT_RATIO * amps
    ):
        return MICRO_FAULT
    return None


_DC_KEYS = ("dc_voltage_v", "dc_current_a")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def dc_days(history: History, day: str) -> list[DcDay]:
    """The day's panels that have a known energy and a DC snapshot."""
    found = []
    for serial in history.serials():
        entry = history.entry(serial, day) or {}
        wh, volts, amps = (_number(entry.get(key)) for key in ("daily_energy", *_DC_KEYS))
        if wh is not None and volts is not None and amps is not None:
            found.append(DcDay(serial, int(wh), volts, amps))
    return found


def dc_findings(history: History, day: str | None) -> list[str]:
    """One summary line per weak panel whose DC tells why; [] without DC readings."""
    if not day:
        return []
    group = dc_days(history, day)
    lines = []
    for panel in group:
        cause = dc_cause(panel, group)
        if cause is not None:
            lines.append(
                f"serial {panel.serial} on {day}: {panel.daily_wh:,} Wh, DC "
                f"{panel.dc_voltage_v:.1f} V {panel.dc_current_a:.2f} A at its last report: "
                f"likely {cause}"
            )
    return lines
