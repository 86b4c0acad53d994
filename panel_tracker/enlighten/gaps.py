"""Where the days of a gap (missed runs) come from.

On a paid Enphase plan each micro-inverter's own telemetry fills its gap exactly
(``granularity=week``: one call per 7 days of gap when the server answers a week).
Otherwise the gap's energy is apportioned by the system's daily production, which one
``energy_lifetime`` call gives whatever the gap's length. The free plan's 401 to the
telemetry call is remembered in the history, so later gaps cost no extra call; it is asked
again after a while, since users upgrade.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from ..energy import covering_span
from ..errors import PanelTrackerError
from ..history import History
from .errors import AuthError, EnlightenError, PlanNotAllowedError
from .telemetry import WINDOW_DAYS

logger = logging.getLogger(__name__)

PLAN_RECHECK_DAYS = 90
PLAN_KEY = "per_micro_telemetry"


class GapSource(Protocol):
    """The Enlighten calls a gap may need (``EnlightenClient`` fits)."""

    def energy_lifetime(self, start: date, end: date) -> dict[date, int]: ...
    def micro_daily_telemetry(
        self, serial: str, start: date, *, tz: ZoneInfo | None = None
    ) -> dict[date, int]: ...


@dataclass
class GapData:
    """What ``DailyEnergyUpdate.apply`` needs for this run's gaps, and what to tell the user."""

    production: dict[date, int] | None = None
    exact: dict[str, dict[date, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def fetch_gap_data(
    source: GapSource,
    history: History,
    gaps: dict[str, tuple[date, date]],
    *,
    tz: ZoneInfo,
    today: str,
) -> GapData:
    data = GapData()
    if not gaps:
        return data
    data.exact = _exact_days(source, history, gaps, tz=tz, today=today, data=data)
    span = covering_span(span for serial, span in gaps.items() if serial not in data.exact)
    if span is not None:
        try:
            data.production = source.energy_lifetime(*span)
        except PanelTrackerError as exc:
            # The gap is still conserved, only split evenly instead of by sunshine.
            data.warnings.append(f"system production for the gap unavailable ({exc}); split evenly")
    return data


def _telemetry_known_missing(history: History, today: str) -> bool:
    verdict = history.section("system").get(PLAN_KEY)
    if not isinstance(verdict, dict) or verdict.get("available") is not False:
        return False
    recheck = (date.fromisoformat(today) - timedelta(days=PLAN_RECHECK_DAYS)).isoformat()
    return str(verdict.get("checked", "")) >= recheck


def _exact_days(
    source: GapSource,
    history: History,
    gaps: dict[str, tuple[date, date]],
    *,
    tz: ZoneInfo,
    today: str,
    data: GapData,
) -> dict[str, dict[date, int]]:
    """Each gap serial's own days from its telemetry; {} on the free plan."""
    if _telemetry_known_missing(history, today):
        return {}
    system = history.section("system")
    exact: dict[str, dict[date, int]] = {}
    try:
        for serial, (first, last) in sorted(gaps.items()):
            days: dict[date, int] = {}
            start = first
            while start <= last:
                days.update(source.micro_daily_telemetry(serial, start, tz=tz))
                start += timedelta(days=WINDOW_DAYS)
            exact[serial] = days
    except PlanNotAllowedError:
        system[PLAN_KEY] = {"available": False, "checked": today}
        data.notes.append(
            "per-micro telemetry needs a paid Enphase plan: gaps are estimated "
            f"(remembered; asked again after {PLAN_RECHECK_DAYS} days)"
        )
        return {}
    except AuthError:
        raise  # a revoked grant or another app's key: the fix is the user's, not an estimate
    except EnlightenError as exc:
        # Serials fetched in full keep their exact days; the rest are estimated.
        data.warnings.append(f"per-micro telemetry unavailable ({exc}); the gap is estimated")
        return exact
    system[PLAN_KEY] = {"available": True, "checked": today}
    return exact
