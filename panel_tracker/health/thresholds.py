"""The health check's settings as a value: thresholds and the panels' ratings.

The settings module reads the config's ``"health"`` object and ``panel_watts`` and builds these
values once; an impossible threshold is a clear ``ConfigError`` before any panel is judged (see
``health`` for what the thresholds mean there). Nothing here reads the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

from ..errors import ConfigError
from .groups import ConfiguredGroups

# The panels' ratings: one for every panel, one per serial, or None (all alike).
PanelWatts: TypeAlias = int | Mapping[str, int] | None


@dataclass(frozen=True, slots=True)
class HealthSettings:
    """Thresholds of the health check; each one can be set in the config's ``"health"`` object.

    ``weak_ratio`` (0.92): a day is weak when the panel made less than 92 % of the array median
    (per rated W) ... ``z_threshold`` (3.0): ... and sits at least 3 robust sigmas below it.
    ``recover_ratio`` (0.95): a day is good again at 95 % or more.
    ``days_to_flag`` / ``days_to_clear`` (3 / 3): consecutive weak / good days to flag / clear.
    ``low_light_fraction`` (0.2): skip days whose array median is below 20 % of the recent
    clear-day level, which is the ``clear_day_percentile`` (90) of the array median over the last
    ``clear_day_window`` (30) days.
    ``max_spread`` (0.15): skip days whose robust sigma of the ratios exceeds this (partial snow).
    ``min_sigma`` (0.01): floor of the robust sigma, so a very even day does not turn a 1 %
    difference into a huge z.
    ``min_panels`` (3): fewer usable panels than this on a day and it is skipped.
    ``stopped_after_days`` (2): a panel without any entry for this many of the array's latest
    days has stopped reporting; after ``retired_after_days`` (30) it counts as removed (a
    replaced micro-inverter) and is no longer named.
    ``trend_warning`` (0.05): name a panel whose ratio fell by this much over 90 days even before
    it is weak (slow soiling or decline).
    ``last_days`` (7): the window of the "last days" ratio and table.
    ``shared_loss`` (0.1), ``shared_days_to_flag`` (5), ``clear_day_floor`` (0.83): a group
    (or the whole array) is below its clear-day level (a typical clear day for the time of
    year, learned from the history: see ``envelope``) when its last ``shared_days_to_flag``
    clear days made less than ``1 - 0.6 x shared_loss`` of it (their median, and their mean
    less the lowest); a day under ``clear_day_floor`` of the level is taken for an overcast
    one and not judged.
    ``panel_groups``: the config's ``panel_groups`` (name, serials); None: found from the
    history. Not a key of the ``"health"`` object.
    """

    weak_ratio: float = 0.92
    recover_ratio: float = 0.95
    z_threshold: float = 3.0
    days_to_flag: int = 3
    days_to_clear: int = 3
    low_light_fraction: float = 0.2
    clear_day_window: int = 30
    clear_day_percentile: float = 90.0
    max_spread: float = 0.15
    min_sigma: float = 0.01
    min_panels: int = 3
    stopped_after_days: int = 2
    retired_after_days: int = 30
    trend_warning: float = 0.05
    last_days: int = 7
    shared_loss: float = 0.1
    shared_days_to_flag: int = 5
    clear_day_floor: float = 0.83
    panel_groups: ConfiguredGroups | None = None

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.weak_ratio < 1:
            problems.append("weak_ratio must be between 0 and 1")
        if not self.weak_ratio <= self.recover_ratio <= 1.5:
            problems.append("recover_ratio must be at least weak_ratio (and at most 1.5)")
        if not 0 < self.shared_loss < self.clear_day_floor < 1:
            problems.append("shared_loss and clear_day_floor must be 0 < shared_loss < floor < 1")
        for name in ("z_threshold", "max_spread", "min_sigma", "trend_warning"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be above 0")
        if not 0 <= self.low_light_fraction < 1:
            problems.append("low_light_fraction must be from 0 up to 1")
        if not 0 < self.clear_day_percentile <= 100:
            problems.append("clear_day_percentile must be in 1..100")
        for name, least in (
            ("days_to_flag", 1),
            ("days_to_clear", 1),
            ("clear_day_window", 1),
            ("last_days", 1),
            ("stopped_after_days", 1),
            ("shared_days_to_flag", 2),  # the lowest of those days is left out
        ):
            if getattr(self, name) < least:
                problems.append(f"{name} must be {least} or more")
        if self.min_panels < 3:
            problems.append("min_panels must be 3 or more (a median of two is no reference)")
        if self.retired_after_days < self.stopped_after_days:
            problems.append("retired_after_days must be at least stopped_after_days")
        if problems:
            raise ConfigError("health settings: " + "; ".join(problems))
