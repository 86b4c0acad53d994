"""Which health episodes are open, so each one is announced once: when it starts and when it ends.

The state lives in the history file's ``health`` section (the history is saved by the daily job
right after), so it survives across runs and travels with the data::

    "health": {
      "open": {"<serial>": {"weak": {"since": "2024-06-01", "noticed": "2024-06-03"},
                            "stopped": {"last_seen": "2024-06-10", "noticed": "2024-06-12"}}},
      "closed": [{"serial": ..., "kind": "weak", "since": ..., "until": ..., "lost_wh": ...}],
      "replaced": {"<old serial>": {"by": "<new serial>", "first_day": "2024-06-14",
                                    "noticed": "2024-06-14", "lost_wh": 5400}},
      "shared": {"array": {"since": "2024-07-02", "noticed": "2024-07-09", "loss": 0.11,
                           "alerted": true}},
      "last_assessed": "2024-06-12"
    }

Running the job twice on the same day finds the same episodes open and announces nothing new.
A panel that has been silent long enough to count as removed, or that was replaced, has its
episodes closed quietly (no "recovered", no "reporting again"): its replacement is the news,
said once in a ``replaced`` alert on the night it is recognised (``replaced`` remembers it).
The lost energy it names is the closed weak episode's: counted over the days the old unit
reported, up to its last report; its silent days are unknown, never a made-up 0.

A loss a whole group or the array shares (``HealthReport.shared``: soiling, snow, a dead
gateway, curtailment) is an episode of its own, keyed by the group's name (``array`` for the
whole array): announced on the second night it is named (one night alone is no shared loss)
and once more when it is no longer.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import DataFileError
from ..history import History
from .assess import HealthReport, PanelVerdict

logger = logging.getLogger(__name__)

SECTION = "health"
MAX_CLOSED = 500  # a ten-year log of episodes stays small

WEAK = "weak"
RECOVERED = "recovered"
STOPPED = "stopped"
REPORTING = "reporting"
SYSTEM = "system"
REPLACED = "replaced"
SHARED_LOSS = "shared_loss"
SHARED_LOSS_OVER = "shared_loss_over"
ARRAY = "array"  # the ``group`` of a loss the whole array shares


@dataclass(frozen=True)
class AlertEvent:
    """The start or end of one episode of one panel (or of a group's shared loss), as
    announced to the owner."""

    kind: str  # weak | recovered | stopped | reporting | replaced | shared_loss[_over] | system
    serial: str  # "" for a shared loss and a system event
    day: str  # the day the job noticed it
    since: str | None = None  # first weak day (weak, recovered)
    last7_ratio: float | None = None
    episode_ratio: float | None = None  # energy against the median since ``since``
    lost_wh: int = 0
    last_seen: str | None = None  # last day with a report (stopped, reporting)
    message: str | None = None  # kind "system": about the set-up, not a panel
    replaced_by: str | None = None  # kind "replaced": the successor's serial ...
    first_day: str | None = None  # ... and its first day in the history
    group: str | None = None  # kind shared_loss[_over]: the group's name, or "array" ...
    loss: float | None = None  # ... and its loss, a share of its clear-day level

    @property
    def is_problem(self) -> bool:
        return self.kind in (WEAK, STOPPED, SYSTEM, SHARED_LOSS)

    @property
    def _who(self) -> str:
        return "the whole array" if self.group == ARRAY else f"group {self.group}"

    def headline(self) -> str:
        return _HEADLINES.get(self.kind, _HEADLINES[REPORTING]).format(
            serial=self.serial, replaced_by=self.replaced_by, who=self._who
        )

    def text(self) -> str:
        if self.kind == SYSTEM:
            return self.message or ""
        if self.kind == SHARED_LOSS:
            return (
                f"Since {self.since}, {self._who} has made about {_percent(self.loss)} less "
                "than its usual clear-day output on clear days, every panel alike. Look for "
                "soiling, snow, a tripped breaker or a dead gateway, or curtailment."
            )
        if self.kind == SHARED_LOSS_OVER:
            return (
                f"{self._who.capitalize()} is making its usual clear-day output again; it was "
                f"about {_percent(self.loss)} below from {self.since}."
            )
        return self._panel_text()

    def _panel_text(self) -> str:
        if self.kind == WEAK:
            ratio = _percent(self.episode_ratio)
            return (
                f"Panel {self.serial} has made less than its neighbours since {self.since}: "
                f"{ratio} of the array median, {self.lost_wh:,} Wh lost against the median so "
                "far. Look for shade, dirt, damage or a failing micro-inverter."
            )
        if self.kind == RECOVERED:
            return (
                f"Panel {self.serial} is back in line with the array ({_percent(self.last7_ratio)}"
                f" of the median over the last days); it was weak from {self.since} and lost "
                f"{self.lost_wh:,} Wh against the median."
            )
        if self.kind == STOPPED:
            return (
                f"Panel {self.serial} has not reported since {self.last_seen} while the rest "
                "of the array has. Check the micro-inverter and the gateway in Enlighten."
            )
        if self.kind == REPLACED:
            return (
                f"Panel {self.serial} was replaced by {self.replaced_by} (first report "
                f"{self.first_day}); its episode is closed with {self.lost_wh:,} Wh lost."
            )
        return f"Panel {self.serial} is reporting again (last report {self.last_seen})."

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_HEADLINES = {
    SYSTEM: "the solar tracker needs your attention",
    WEAK: "panel {serial} is weak",
    RECOVERED: "panel {serial} has recovered",
    STOPPED: "panel {serial} stopped reporting",
    REPLACED: "panel {serial} was replaced by {replaced_by}",
    SHARED_LOSS: "{who} is below its clear-day level",
    SHARED_LOSS_OVER: "{who} is back at its clear-day level",
    REPORTING: "panel {serial} is reporting again",
}


def _percent(ratio: float | None) -> str:
    return f"{ratio:.0%}" if ratio is not None else "an unknown share"


def _open_episodes(history: History) -> dict[str, dict[str, Any]]:
    section = history.section(SECTION)
    opened = section.setdefault("open", {})
    if not isinstance(opened, dict):
        raise DataFileError("history section 'health.open' is not an object")
    return opened


def open_episodes(history: History) -> dict[str, dict[str, Any]]:
    """The open episodes by serial (``{"weak": {...}, "stopped": {...}}``), read-only use."""
    return dict(_open_episodes(history))


def update_alert_state(history: History, report: HealthReport) -> list[AlertEvent]:
    """Record the report's episodes in ``history``; return only the ones that start or end now."""
    if report.day is None:
        return []
    section = history.section(SECTION)
    opened = _open_episodes(history)
    closed = section.setdefault("closed", [])
    if not isinstance(closed, list):
        raise DataFileError("history section 'health.closed' is not a list")
    day = report.day
    events: list[AlertEvent] = []
    seen: set[str] = set()
    for verdict in report.panels:
        seen.add(verdict.serial)
        state = opened.get(verdict.serial)
        if not isinstance(state, dict):
            state = {}
        events += _weak_episode(verdict, state, day, closed)
        events += _stopped_episode(verdict, state, day, closed)
        if state:
            opened[verdict.serial] = state
        else:
            opened.pop(verdict.serial, None)
    for serial in [s for s in opened if s not in seen]:
        # the serial left the history altogether (edited by hand): nothing left to announce
        del opened[serial]
    events += _replacements(report, section, closed, day)
    events += _shared_losses(report, section, closed, day)
    del closed[:-MAX_CLOSED]
    section["last_assessed"] = day
    for event in events:
        logger.info("health: %s", event.headline())
    return events


def _event(kind: str, verdict: PanelVerdict, day: str, since: str | None) -> AlertEvent:
    return AlertEvent(
        kind=kind,
        serial=verdict.serial,
        day=day,
        since=since,
        last7_ratio=verdict.last7_ratio,
        episode_ratio=verdict.episode_ratio,
        lost_wh=verdict.lost_wh,
        last_seen=verdict.last_seen,
    )


def _weak_episode(
    verdict: PanelVerdict, state: dict[str, Any], day: str, closed: list[Any]
) -> list[AlertEvent]:
    episode = state.get(WEAK)
    if verdict.weak:
        if isinstance(episode, dict):
            episode["lost_wh"] = verdict.lost_wh
            episode["ratio"] = verdict.episode_ratio
            return []
        state[WEAK] = {
            "since": verdict.since,
            "noticed": day,
            "lost_wh": verdict.lost_wh,
            "ratio": verdict.episode_ratio,
        }
        return [_event(WEAK, verdict, day, verdict.since)]
    if episode is None:
        return []
    del state[WEAK]
    record = episode if isinstance(episode, dict) else {}
    since = record.get("since")
    lost = int(record.get("lost_wh") or 0)
    ratio = record.get("ratio") if isinstance(record.get("ratio"), float | int) else None
    closed.append(
        {
            "serial": verdict.serial,
            "kind": WEAK,
            "since": since,
            "until": day,
            "lost_wh": lost,
            "ratio": ratio,
            "retired": verdict.retired,
            **({"replaced_by": verdict.replaced_by} if verdict.replaced_by else {}),
        }
    )
    if verdict.retired:
        return []
    event = _event(RECOVERED, verdict, day, since)
    # the report no longer counts a recovered panel's losses: keep the episode's own figures
    return [AlertEvent(**{**event.as_dict(), "lost_wh": lost, "episode_ratio": ratio})]


def _stopped_episode(
    verdict: PanelVerdict, state: dict[str, Any], day: str, closed: list[Any]
) -> list[AlertEvent]:
    silent = verdict.stopped_reporting and not verdict.retired
    episode = state.get(STOPPED)
    if silent:
        if episode is not None:
            return []
        state[STOPPED] = {"last_seen": verdict.last_seen, "noticed": day}
        return [_event(STOPPED, verdict, day, None)]
    if episode is None:
        return []
    del state[STOPPED]
    closed.append(
        {
            "serial": verdict.serial,
            "kind": STOPPED,
            "since": episode.get("last_seen") if isinstance(episode, dict) else None,
            "until": day,
            "retired": verdict.retired,
            **({"replaced_by": verdict.replaced_by} if verdict.replaced_by else {}),
        }
    )
    return [] if verdict.retired else [_event(REPORTING, verdict, day, None)]


def _replacements(
    report: HealthReport, section: dict[str, Any], closed: list[Any], day: str
) -> list[AlertEvent]:
    """One ``replaced`` event per replacement, on the first night it is known, never again."""
    told = section.setdefault("replaced", {})
    if not isinstance(told, dict):
        raise DataFileError("history section 'health.replaced' is not an object")
    events: list[AlertEvent] = []
    for pair in report.replacements:
        if isinstance(told.get(pair.old), dict) and told[pair.old].get("by") == pair.new:
            continue
        lost = sum(
            int(record.get("lost_wh") or 0)
            for record in closed
            if isinstance(record, dict)
            and record.get("serial") == pair.old
            and record.get("kind") == WEAK
            and record.get("replaced_by") == pair.new
        )
        told[pair.old] = {
            "by": pair.new,
            "first_day": pair.first_day,
            "noticed": day,
            "lost_wh": lost,
        }
        events.append(
            AlertEvent(
                kind=REPLACED,
                serial=pair.old,
                day=day,
                lost_wh=lost,
                last_seen=pair.last_seen,
                replaced_by=pair.new,
                first_day=pair.first_day,
            )
        )
    return events


def _shared_losses(
    report: HealthReport, section: dict[str, Any], closed: list[Any], day: str
) -> list[AlertEvent]:
    """A ``shared_loss`` event when a group's (or the array's) loss is named on a second
    night, and a ``shared_loss_over`` one when an announced loss is no longer named; the
    open ones live in ``shared``. A loss named on one night only (a run of hazy days the rule
    took for a short clear spell) is dropped without a word: a shared loss lasts for days."""
    opened = section.setdefault("shared", {})
    if not isinstance(opened, dict):
        raise DataFileError("history section 'health.shared' is not an object")
    events: list[AlertEvent] = []
    named = {ARRAY if loss.whole_array else loss.name: loss for loss in report.shared}
    for group, loss in sorted(named.items()):
        episode = opened.get(group)
        if not isinstance(episode, dict):
            opened[group] = {"since": loss.since, "noticed": day, "loss": round(loss.loss, 4)}
            continue
        episode["loss"] = round(loss.loss, 4)
        if episode.get("alerted") or not day > str(episode.get("noticed", day)):
            continue
        episode["alerted"] = True
        events.append(_shared_event(SHARED_LOSS, group, day, loss.since, loss.loss))
    for group in sorted(g for g in opened if g not in named):
        record = opened.pop(group)
        record = record if isinstance(record, dict) else {}
        if not record.get("alerted"):
            continue
        loss_share = record.get("loss") if isinstance(record.get("loss"), float | int) else None
        since = record.get("since") if isinstance(record.get("since"), str) else None
        closed.append(
            {"group": group, "kind": SHARED_LOSS, "since": since, "until": day, "loss": loss_share}
        )
        share = None if loss_share is None else float(loss_share)
        events.append(_shared_event(SHARED_LOSS_OVER, group, day, since, share))
    return events


def _shared_event(
    kind: str, group: str, day: str, since: str | None, loss: float | None
) -> AlertEvent:
    return AlertEvent(kind=kind, serial="", day=day, since=since, group=group, loss=loss)
