"""The daily job's last steps: judge the panels, tell the owner, draw the report.

None of this may cost the user their data: the history is saved whatever happens here,
and a failure of a judgement, an alert channel or a chart is a warning, not a failed run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ..errors import ConfigError
from ..health.assess import HealthReport, assess
from ..health.episodes import SYSTEM, AlertEvent, update_alert_state
from ..history import History
from ..notify import AlertSettings, send_alerts
from ..report.page import ReportOptions, write_report
from ..settings import Config

logger = logging.getLogger(__name__)


@dataclass
class HealthOutcome:
    """The verdict of one run and the alerts it raised (sent after the history is saved)."""

    report: HealthReport | None = None
    events: list[AlertEvent] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def judge_panels(
    config: Config, history: History, *, latest_days: Mapping[str, str] | None = None
) -> HealthOutcome:
    """Assess every panel and move the alert episodes on (state kept in the history);
    ``latest_days`` is each serial's latest day when the caller knows it already."""
    outcome = HealthOutcome()
    try:
        settings = config.settings
        outcome.report = assess(
            history,
            settings.health,
            panel_watts=settings.panel_watts,
            replacements=settings.replacements,
            latest_days=latest_days,
        )
        outcome.events = update_alert_state(history, outcome.report)
        outcome.lines = outcome.report.summary_lines()
        groups = outcome.report.groups_line()
        if groups is not None:
            outcome.lines.append(groups)
    except Exception as exc:  # a verdict is a bonus; the day's energy must be saved regardless
        logger.debug("panel health failed", exc_info=True)
        outcome.warnings.append(f"panel health could not be judged: {type(exc).__name__}: {exc}")
    return outcome


def hold_groups_to_history(config: Config, history: History) -> None:
    """A serial of the configured groups (``panel_groups``, or ``panel_layout``'s named faces
    standing in for them) the history has never seen is a typo: stop before any call.

    Checked where the history is known (the config alone cannot tell); an empty history (the
    first night) has nothing to check against."""
    groups = config.settings.health.panel_groups
    key = config.settings.groups_key
    what = "face" if key == "panel_layout" else "group"
    known = set(history.serials())
    if not groups or not known:
        return
    for name, members in groups:
        unknown = [serial for serial in members if serial not in known]
        if unknown:
            raise ConfigError(
                f"{config.settings.path}: {key}: {what} {name!r} names "
                f"{', '.join(unknown)}, not a serial of the history",
                hint="correct the serial (the sheet's header or `enlightenAPI_v4.py check` "
                "lists them), or leave a panel out until it has reported once",
            )


def system_alert(day: str | None, message: str) -> AlertEvent:
    return AlertEvent(kind=SYSTEM, serial="", day=day or "", message=message)


def announce(
    config: Config, history: History, outcome: HealthOutcome, *, system_name: str
) -> list[str]:
    """Send the alerts and write the report; returns warnings for a failed report.

    A failed alert delivery is logged as a warning by ``send_alerts`` itself."""
    settings = config.settings
    send_alerts(
        outcome.events,
        alert_settings(config),
        system_name=system_name,
        system_id=settings.system_id,
    )
    warnings: list[str] = []
    report_dir = settings.report.report_dir
    if report_dir is not None and outcome.report is not None:
        try:
            days = settings.report.report_days
            write_report(history, outcome.report, report_options(config), report_dir, days=days)
        except Exception as exc:  # a chart must never fail the night's run
            logger.debug("report failed", exc_info=True)
            warnings.append(f"the report could not be written: {type(exc).__name__}: {exc}")
    return warnings


def alert_settings(config: Config) -> AlertSettings:
    """The alert channels, with the config's current secrets to keep out of failure texts."""
    return replace(config.settings.alerts, secrets=tuple(config.secrets()))


def report_options(config: Config) -> ReportOptions:
    settings = config.settings
    return ReportOptions(
        name=settings.name,
        panel_layout=settings.report.panel_layout,
        panel_watts=settings.panel_watts,
    )
