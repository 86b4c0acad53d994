"""The demo: the real daily job against the sandbox for 30 simulated nights.

No account, no network: an Enlighten emulator on 127.0.0.1 serves a simulated site (two
gateways, a shaded panel, a failing micro-inverter, a counter wrap, missed nights) and the
job runs each night exactly as cron would. With ``gateway``, the job reads the same site from
the loopback gateway emulator instead (``"source": "envoy"``, through pyenphase), as a config
reading the gateway on the home network does. Output goes to ``demo_output/`` (git-ignored).
"""

from __future__ import annotations

import logging
import os
import sys
import webbrowser
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jwt

from panel_tracker.app.daily import DailyRun, run_daily_job
from panel_tracker.app.envoy_source import envoy_source
from panel_tracker.app.sources import enlighten_client
from panel_tracker.errors import PanelTrackerError
from panel_tracker.health.assess import HealthReport
from panel_tracker.history import History, load_history
from panel_tracker.settings import Config, load_config
from panel_tracker.storage import SECRET_FILE_MODE, atomic_write_json

from .enlighten_emulator import EnlightenEmulator
from .envoy_emulator import EnvoyEmulator
from .sheets_bench import attach_sheets_emulator, last_sheet_rows
from .sheets_emulator import SheetsEmulator
from .site import SimulatedSite, SiteScenario

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo_output"
NIGHTS = 30
# The job "misses" these nights (host off, network down): gaps of 1 and of 5 nights.
MISSED_NIGHTS = frozenset({9, 18, 19, 20, 21, 22})
WEAK_MARK = "  <-- weak"
DEMO_GATEWAY = "8.2.4345_with_device_data"  # a recorded gateway whose firmware gives energy
# The owner's token as the gateway checks it (its expiry is what `check` shows).
DEMO_GATEWAY_TOKEN = jwt.encode(
    {"exp": 2_000_000_000, "enphaseUser": "owner"}, "demo-gateway-key-" + "d" * 24, "HS256"
)


def demo_scenario() -> SiteScenario:
    # Faults early enough that 30 nights show them: shade from day 0, the failing micro
    # declining from day 8 and dead from day 20, replaced on day 24, the wrap in week one.
    return SiteScenario(failing=(17, 8, 20), replacement_offset=24, soiling=None, reset=(20, 14))


def write_demo_config(
    folder: Path,
    emulator: EnlightenEmulator,
    site: SimulatedSite,
    gateway: EnvoyEmulator | None = None,
) -> Path:
    # An expired access token, so the first night shows the refresh and the saved rotation.
    access, refresh = emulator.issue_tokens(access_expires_in=-60)
    source: dict[str, Any] = emulator.config_keys(access, refresh)
    if gateway is not None:  # the local source: the gateway's address and token, no cloud keys
        source = {
            "system_id": str(site.system_id),
            "source": "envoy",
            "envoy_host": gateway.host,
            "envoy_token": gateway.token,
            "timezone": site.timezone,
        }
    first_day = site.days()[0]
    installed = sorted(
        (s for s in site.serials if site.truth_daily(s, first_day) is not None),
        key=lambda s: site.panel_of[s],
    )
    site_serials = installed
    config = {
        "name": "Demo house",
        **source,
        "spreadsheet_id": "<google sheet_id>",
        "data_dir": "data",
        "report_dir": "report",
        # The panels as they sit on the roof: two rows of twelve.
        "panel_layout": [site_serials[:12], site_serials[12:24]],
    }
    path = folder / "enlighten_v4_config.json"
    atomic_write_json(path, config, mode=SECRET_FILE_MODE, indent=4)
    return path


def last_week_table(
    history: History, days: list[str], layout_names: dict[str, str], report: HealthReport | None
) -> list[str]:
    """Wh per panel for the last days and its ratio to the array median as panel health
    computes it (the report's figure), the weak one marked."""
    lines = ["panel  serial        " + " ".join(f"{d[5:]:>6}" for d in days) + "   vs median"]
    for serial in sorted(history.serials(), key=lambda s: (layout_names.get(s, "?"), s)):
        if not any(history.entry(serial, d) for d in days):
            continue
        cells = [
            f"{value:>6}" if (value := history.daily(serial, day)) is not None else f"{'-':>6}"
            for day in days
        ]
        verdict = report.verdict(serial) if report is not None else None
        ratio = verdict.last7_ratio if verdict is not None else None
        shown = f"{ratio:>9.0%}" if ratio is not None else f"{'n/a':>9}"
        mark = WEAK_MARK if verdict is not None and verdict.weak else ""
        name = layout_names.get(serial, "?")
        lines.append(f"{name:>5}  {serial:<12} " + " ".join(cells) + f"  {shown}{mark}")
    return lines


def _fresh_demo_dir() -> None:
    # Every demo starts from nothing: its own history, sheet and tokens only.
    DEMO_DIR.mkdir(exist_ok=True)
    for old in (DEMO_DIR / "data").glob("*.json"):
        old.unlink()
    for name in ("sheets_state.json", "token.json"):
        (DEMO_DIR / name).unlink(missing_ok=True)


def _lay_out_sheet(config_path: Path, sheets: SheetsEmulator) -> None:
    """The user's first step with Sheets: ``populate_google_sheet.py --init``."""
    attach_sheets_emulator(config_path, sheets)
    import populate_google_sheet  # noqa: PLC0415 - a top-level script, loaded for the demo

    status = populate_google_sheet.main(["--config", str(config_path), "--init", "-q"])
    if status != 0:
        raise PanelTrackerError("the demo could not lay out the emulated Google Sheet")


def run_demo(
    *, quiet: bool = False, gateway: bool = False, out: Callable[[str], None] = print
) -> int:
    _fresh_demo_dir()
    site = SimulatedSite(demo_scenario())
    with (
        EnlightenEmulator(site) as emulator,
        EnvoyEmulator(DEMO_GATEWAY, token=DEMO_GATEWAY_TOKEN, site=site) as local,
        SheetsEmulator(DEMO_DIR / "sheets_state.json") as sheets,
    ):
        config_path = write_demo_config(DEMO_DIR, emulator, site, local if gateway else None)
        if not gateway:  # laid out from the serials Enlighten lists; the gateway's come below
            _lay_out_sheet(config_path, sheets)
        out(_headline(site, emulator, local if gateway else None))
        config, last_run = _run_nights(
            config_path, emulator, local, sheets, lay_out_after_first=gateway, quiet=quiet, out=out
        )
        history = load_history(config.history_path)
        calls = emulator.count("/api/v4/") + emulator.count("/oauth/token")
        gateway_calls = len(local.requests)
        sheet_calls = sheets.count()
        sheet_rows = last_sheet_rows(sheets, str(config.spreadsheet_id))
    last_days = history.dates()[-7:]
    names = {serial: f"P{site.panel_of[serial] + 1:02d}" for serial in site.serials}
    out("")
    out("Last 7 days, Wh per panel (the shaded panel stands out):")
    health = last_run.health.report if last_run else None
    for line in last_week_table(history, last_days, names, health):
        out("  " + line)
    out("")
    out("Panel health on the last night:")
    for line in last_run.health.lines if last_run else []:
        out("  " + line)
    out("")
    out("The emulated Google Sheet's last rows (date, then Wh per serial):")
    for line in sheet_rows:
        out("  " + line)
    out("")
    runs = len(set(range(NIGHTS)) - MISSED_NIGHTS)
    local_calls = f"the gateway {gateway_calls} (no quota), " if gateway else ""
    out(
        f"API calls for {runs} runs: Enlighten {calls}, {local_calls}Google Sheets "
        f"{sheet_calls} (including the one-time layout)"
    )
    out(f"History file: {config.history_path}")
    report = DEMO_DIR / "report" / "index.html"
    out(f"Report:       {report.as_uri()}")
    _open_in_browser(report)
    return 0


def _headline(
    site: SimulatedSite, emulator: EnlightenEmulator, gateway: EnvoyEmulator | None
) -> str:
    if gateway is None:
        return (
            f"Demo: {site.name}, {len(site.serials)} micro-inverters on 2 gateways, "
            f"time zone {site.timezone}; sandbox at {emulator.url}"
        )
    return (
        f"Demo: {site.name}, {len(site.serials)} micro-inverters, time zone {site.timezone}; "
        f'read from the loopback gateway at {gateway.url} ("source": "envoy", through pyenphase)'
    )


def _run_nights(
    config_path: Path,
    emulator: EnlightenEmulator,
    gateway: EnvoyEmulator,
    sheets: SheetsEmulator,
    *,
    lay_out_after_first: bool,
    quiet: bool,
    out: Callable[[str], None],
) -> tuple[Config, DailyRun | None]:
    """Every night the job runs, as cron runs it; the config as it stands after the last."""
    config = load_config(config_path)
    first = emulator.site.days()[0]
    # Each night's own summary line is printed below; the client's progress is noise here.
    logging.getLogger("panel_tracker").setLevel(logging.WARNING)
    last_run: DailyRun | None = None
    for night in range(NIGHTS):
        day = first + timedelta(days=night)
        if night in MISSED_NIGHTS:
            if not quiet:
                out(f"  {day}  (job did not run this night)")
            continue
        emulator.set_sim_time(emulator.night_of(day))
        gateway.sim_now = emulator.sim_now
        run = run_daily_job(config, envoy_source(config) or enlighten_client(config))
        if not quiet:
            out(_night_line(day, run))
        if lay_out_after_first and last_run is None:
            # The history's serials laid out (the gateway's, after its first night); a
            # replaced unit's successor needs no --init: the push gives it its column.
            _lay_out_sheet(config_path, sheets)
            config = load_config(config_path)
        last_run = run
    return config, last_run


def _open_in_browser(page: Path) -> None:
    # Only where a person sits at a screen: never in CI, never a text browser over SSH.
    if os.environ.get("CI") or not sys.stdout.isatty():
        return
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return
    webbrowser.open(page.as_uri())


def _night_line(day: date, run: DailyRun) -> str:
    extras = [w for w in run.warnings] + [
        n for n in run.notes if not n.startswith(("history:", "Google Sheet", "report:"))
    ]
    # The first night's days are unknown (null in the history), not 0 Wh.
    energy = f"{run.total_wh:>7,} Wh" if run.reporting > run.unknown else f"{'unknown':>10}"
    text = f"  {day}  {energy}  {run.reporting:>2}/{run.expected} panels"
    return text + ("  " + "; ".join(extras) if extras else "")
