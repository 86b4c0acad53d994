"""One run of the daily job, step by step, as design.md lays it out.

load config -> lock -> load history -> refresh token only if needed (saved at once) ->
one inverter-summary call -> (one energy_lifetime call if there is a gap) -> day
arithmetic -> save history atomically -> push to the sheet -> panel health, report, alerts.

Returns a ``DailyRun`` the script prints; raises only for failures that stop the run before
the history is saved. Later failures (the sheet, alerts) are collected so the history is
kept and the script can still exit 1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..energy import CLOCK_SKEW, DailyEnergyUpdate, Reading, UpdateResult
from ..enlighten.gaps import GapData, GapSource, fetch_gap_data
from ..enlighten.jwt import REFRESH_WARNING, jwt_expiry, relative, when
from ..errors import ConfigError, DataFileError, PanelTrackerError
from ..health.dc import dc_findings
from ..health.replacements import Replacement
from ..history import History, day_after, latest_days, load_history, save_history
from ..settings import TOKEN_KEYS, Config
from ..sheets.auth import ShowUrl, load_credentials
from ..sheets.layout import LayoutResult, lay_out_spreadsheet
from ..sheets.push import SheetTarget, push_history
from ..sheets.summaries import ColourThresholds
from ..sheets.transport import SheetsClient, open_client
from ..storage import (
    SECRET_FILE_MODE,
    adopt_save,
    adoptable_save,
    clean_stale_temp_files,
    run_lock,
)
from ..wording import counted
from .envoy_source import EnvoySource, hold_to_this_gateway
from .export_step import run_exports
from .health_step import (
    HealthOutcome,
    announce,
    hold_groups_to_history,
    judge_panels,
    system_alert,
)

logger = logging.getLogger(__name__)

# A serial silent for longer than this is taken as retired (replaced), not as a fault.
RETIRED_AFTER_DAYS = 30


class SystemDetails(Protocol):
    @property
    def timezone(self) -> str | None: ...


@runtime_checkable
class EnlightenSource(GapSource, Protocol):
    """The part of ``EnlightenClient`` the job uses (a fake fits in unit tests)."""

    def ensure_fresh_token(self) -> None: ...
    def inverter_readings(self) -> Sequence[Reading]: ...
    def unreadable_serials(self) -> Mapping[str, str]: ...
    def system(self) -> SystemDetails: ...


@dataclass
class DailyRun:
    """What the run did, for the printed summary and the exit status."""

    system: str
    day: str | None = None
    total_wh: int = 0
    reporting: int = 0
    unknown: int = 0
    expected: int = 0
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    health: HealthOutcome = field(default_factory=HealthOutcome)

    def summary_lines(self) -> list[str]:
        # A night with no known value has no total: the history holds null, never a made-up 0.
        energy = f"{self.total_wh:,} Wh" if self.reporting > self.unknown else "unknown"
        headline = (
            f"{self.system}: {self.day or 'no day'}: {energy}, "
            f"{self.reporting} of {self.expected} panels reporting"
        )
        if self.unknown:
            headline += f" ({self.unknown} with an unknown day)"
        lines = [headline]
        lines += [f"  {line}" for line in self.health.lines]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  {n}" for n in self.notes]
        return lines


def resolve_timezone(config: Config, history: History, source: EnlightenSource) -> ZoneInfo:
    """The system's time zone: config, else remembered in the history, else asked once."""
    system = history.section("system")
    name = config.timezone or system.get("timezone")
    if not name:
        name = source.system().timezone
        if not name:
            raise ConfigError(
                f"{config.path}: Enlighten did not say the system's time zone; "
                'set "timezone" (e.g. "Europe/Berlin") in the config'
            )
        system["timezone"] = name
        logger.info("system time zone is %s (remembered in the history)", name)
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f'{config.path}: unknown time zone "{name}"; use an IANA name like "America/Denver"'
        ) from None


def _tally(
    history: History,
    run: DailyRun,
    day: str,
    *,
    latest: Mapping[str, str],
    reported: Collection[str],
    gone: Collection[str],
) -> None:
    """The day's total and panels, and a warning for each panel gone silent; ``latest`` is
    each serial's latest day, ``reported`` the serials whose reading came but was rejected or
    unreadable (said elsewhere), ``gone`` the replaced ones (neither counted nor warned about)."""
    cutoff = (date.fromisoformat(day) - timedelta(days=RETIRED_AFTER_DAYS)).isoformat()
    for serial in sorted(latest):
        last = latest[serial]
        if last < cutoff or serial in gone:
            continue
        run.expected += 1
        value = history.daily(serial, day)
        if last == day:
            run.reporting += 1
            run.total_wh += value or 0
            run.unknown += value is None
        elif serial not in reported:
            run.warnings.append(f"serial {serial} has not reported since {last}")


def _account(
    history: History,
    run: DailyRun,
    update: UpdateResult,
    *,
    weighted: bool,
    unreadable: Mapping[str, str] | None = None,
    replaced: Sequence[Replacement] = (),
    latest: Mapping[str, str] | None = None,
) -> None:
    if update.day is None:
        return
    unreadable = unreadable or {}
    gone = {r.old for r in replaced}
    known = latest if latest is not None else latest_days(history)
    _tally(
        history, run, update.day, latest=known, reported={*update.rejected, *unreadable}, gone=gone
    )
    for serial, problem in sorted(unreadable.items()):
        run.warnings.append(f"serial {serial}: reading skipped, not recorded: {problem}")
    run.warnings.extend(update.warnings)
    run.notes.extend(update.notes)
    if len(update.new_serials) > 3:
        run.notes.append(
            f"{len(update.new_serials)} new serials: their histories start today "
            "(first day unknown)"
        )
    else:
        took = {r.new: r for r in replaced}
        for serial in update.new_serials:
            place = (
                f" in place of {took[serial].old} (silent since {took[serial].last_seen})"
                if serial in took
                else ""
            )
            run.notes.append(
                f"new serial {serial}{place}: its history starts today (first day unknown)"
            )
    for serial in update.wrapped:
        run.notes.append(f"serial {serial}: lifetime counter wrapped; corrected")
    spans: dict[tuple[str, str, int], int] = {}
    for days in update.estimated_days.values():
        key = (days[0], days[-1], len(days))
        spans[key] = spans.get(key, 0) + 1
    split = "by the system's daily production" if weighted else "evenly"
    for (first, last, length), panels in sorted(spans.items()):
        run.notes.append(
            f"gap: {first}..{last} ({counted(length, 'day')}, {counted(panels, 'panel')}) "
            f"split {split}, marked estimated"
        )
    if update.exact_days:
        run.notes.append(
            "gap filled exactly from per-micro telemetry for "
            + counted(len(update.exact_days), "panel")
        )


def _warn_if_refresh_token_expires_soon(
    config: Config, history: History, run: DailyRun, now: datetime
) -> None:
    expires = jwt_expiry(config.refresh_token)
    if expires is None or expires - now >= REFRESH_WARNING:
        return
    message = (
        f"the Enlighten refresh token expires on {when(expires)} "
        f"({relative(expires, now)}); after that the job stops until you run "
        "`.venv/bin/python enlightenAPI_v4.py authorize`: do it now, or make sure the job runs "
        "daily"
    )
    run.warnings.append(message)
    system = history.section("system")
    # Alert once per token, not every night of its last week.
    if system.get("refresh_expiry_alerted") != expires.isoformat():
        system["refresh_expiry_alerted"] = expires.isoformat()
        run.health.events.insert(0, system_alert(None, f"{config.name}: {message}"))


def _hold_to_run_day(
    config: Config, latest_by_serial: Mapping[str, str], now: datetime, tz: ZoneInfo
) -> None:
    # A day after the run's own (by the clock-skew allowance readings get too) would make
    # every real reading look older than the panel's last day, and be dropped night after night.
    latest = (now + CLOCK_SKEW).astimezone(tz).date().isoformat()
    found = day_after(latest_by_serial, latest)
    if found is not None:
        serial, day = found
        raise DataFileError(
            f"history file {config.history_path}: serial {serial}, day {day!r}: a date after "
            f"the run's day {latest} ({tz.key})",
            hint="the file was left untouched: fix that entry by hand or restore a backup "
            "(or set the computer's clock right)",
        )


def update_history(
    config: Config, source: EnlightenSource, *, now: datetime | None = None
) -> tuple[History, DailyRun]:
    """Steps up to the saved history: the part that must succeed for exit status 0 or 1."""
    run = DailyRun(system=f"{config.name} (system {config.system_id})")
    history = load_history(config.history_path)
    hold_groups_to_history(config, history)
    source.ensure_fresh_token()
    tz = resolve_timezone(config, history, source)
    now = now or datetime.now(timezone.utc)
    # Each serial's latest day, found once for the night: a scan of every key of the history.
    known = latest_days(history)
    _hold_to_run_day(config, known, now, tz)
    readings = source.inverter_readings()
    if isinstance(source, EnvoySource):
        hold_to_this_gateway(source.settings, history.serials(), readings)
    if not readings:
        raise PanelTrackerError(
            f"Enlighten returned no micro-inverters for system {config.system_id}; "
            "check system_id in the config"
        )
    update = DailyEnergyUpdate(
        history, readings, tz, now=now, panel_watts=config.settings.panel_watts, latest_days=known
    )
    if isinstance(source, EnvoySource):
        gap_data = GapData()  # no daily history on the gateway: its total exact, split evenly
    else:
        today = update.local_day() or ""
        gap_data = fetch_gap_data(source, history, update.gaps(), tz=tz, today=today)
    run.notes.extend(gap_data.notes)
    run.warnings.extend(gap_data.warnings)
    result = update.apply(gap_data.production, gap_data.exact)
    run.notes.extend(dc_findings(history, result.day))  # the gateway's DC: fault or shade
    known = update.latest_days()
    run.health = judge_panels(config, history, latest_days=known)
    run.warnings.extend(run.health.warnings)
    _warn_if_refresh_token_expires_soon(config, history, run, now)
    save_history(config.history_path, history)
    run.day = result.day
    report = run.health.report
    _account(
        history,
        run,
        result,
        weighted=bool(gap_data.production),
        unreadable=source.unreadable_serials(),
        replaced=report.replacements if report is not None else (),
        latest=known,
    )
    return history, run


SheetsClientFactory = Callable[[Config], SheetsClient]
SourceFactory = Callable[[Config], EnlightenSource]


def tokens_after_lock(config: Config) -> None:
    """Under the lock, before any token is used: put in place a token pair a killed run
    wrote but did not rename (saying so), remove the temp files of interrupted saves, and
    read the tokens now, so a run that waited for another uses the pair that one rotated."""
    started = time.time()
    leftover = adoptable_save(config.path, keys=TOKEN_KEYS, older_than=started)
    if leftover is not None:
        adopt_save(config.path, leftover, mode=SECRET_FILE_MODE)
        logger.warning(
            "%s: adopted the newer token pair an interrupted run had saved to %s",
            config.path,
            leftover.name,
        )
    rescue = config.path.with_name(config.path.name + ".new-tokens")
    clean_stale_temp_files([config.path, rescue, config.history_path], older_than=started)
    config.reread_tokens()


def sheets_client(
    config: Config,
    *,
    show_authorization_url: ShowUrl | None = None,
    credentials: Any | None = None,
    **options: Any,
) -> SheetsClient:
    """The Sheets client of this config: credentials (``sheets.auth``) and one service."""
    settings = config.settings
    if credentials is None:
        google = settings.sheets.google
        credentials = load_credentials(google, show_authorization_url=show_authorization_url)
    return open_client(
        credentials, timeout=settings.http_timeout, api_url=settings.sheets.api_url, **options
    )


def sheet_target(config: Config) -> SheetTarget:
    """The spreadsheet this config pushes to, and the tool's notes about it."""
    settings = config.settings
    return SheetTarget(
        spreadsheet_id=settings.sheets.spreadsheet_id,
        state_file=settings.data_dir / f"google_sheet-{settings.system_id}.json",
        config_path=config.path,
        heal_days=settings.sheets.heal_days,
    )


def lay_out(
    config: Config,
    client: SheetsClient,
    spreadsheet_id: str,
    serials: Sequence[str],
    *,
    year: int,
    remove_default_sheet: bool = False,
) -> LayoutResult:
    """``--init``: add what the config's spreadsheet lacks of the layout."""
    settings = config.settings
    return lay_out_spreadsheet(
        client,
        spreadsheet_id,
        serials,
        year=year,
        state_file=sheet_target(config).state_file,
        system_name=settings.name,
        panel_layout=settings.report.panel_layout,
        colours=ColourThresholds(
            weak=settings.health.weak_ratio, watch=settings.health.recover_ratio
        ),
        remove_default_sheet=remove_default_sheet,
    )


def run_daily_job(
    config: Config,
    source: EnlightenSource | SourceFactory,
    *,
    push_sheet: bool = True,
    sheets_client: SheetsClientFactory = sheets_client,
) -> DailyRun:
    """The whole job under the system's lock.

    ``sheets_client`` builds the Sheets client only when a push is due (a script passes one
    that registers the Google tokens for redaction). ``source`` may be a factory called
    under the lock, after the tokens are read (``tokens_after_lock``).
    """
    with run_lock(config.lock_path, wait_seconds=config.lock_wait_seconds):
        tokens_after_lock(config)
        if not isinstance(source, EnlightenSource):
            source = source(config)
        history, run = update_history(config, source)
        run.notes.append(f"history: {config.history_path}")
        _push_sheet(config, history, run, enabled=push_sheet, sheets_client=sheets_client)
        run.warnings.extend(announce(config, history, run.health, system_name=config.name))
        notes, failures = run_exports(config, history, run.health.report)
        run.notes.extend(notes)
        run.failures.extend(failures)
        report_dir = config.settings.report.report_dir
        if report_dir is not None:
            run.notes.append(f"report: {report_dir / 'index.html'}")
    return run


def _push_sheet(
    config: Config,
    history: History,
    run: DailyRun,
    *,
    enabled: bool,
    sheets_client: SheetsClientFactory,
) -> None:
    if not enabled:
        run.notes.append("Google Sheet: skipped (--no-sheet)")
        return
    target = sheet_target(config)
    if target.spreadsheet_id is None:
        run.notes.append(
            "Google Sheet: not configured (set spreadsheet_id, or run "
            "populate_google_sheet.py --init; see README)"
        )
        return
    try:
        result = push_history(target, history, service=sheets_client(config))
    except PanelTrackerError as exc:
        # The history is saved; the next run writes every day the sheet lacks.
        run.failures.append(
            f"Google Sheet push failed: {exc} (the history is saved; the next run fills the sheet)"
        )
        return
    days = result.days_written
    span = f"{days[0]}..{days[-1]}" if len(days) > 1 else (days[0] if days else "no day")
    run.notes.append(
        f"Google Sheet: {counted(len(days), 'day')} written ({span}) in "
        f"{counted(result.api_calls, 'call')}"
    )
