"""Cost and speed of the daily job, printed (not asserted): run `python bench/bench_daily.py`.

* Enlighten calls per run in each situation the issue names (the cost users pay: the free
  Watt plan allows 1,000 calls a month).
* Time to update a 100-panel history of 5 and 10 years by one day (load, apply, save).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from panel_tracker.app.daily import run_daily_job
from panel_tracker.energy import DailyEnergyUpdate
from panel_tracker.enlighten.client import EnlightenClient
from panel_tracker.health.assess import HealthSettings, assess
from panel_tracker.history import History, load_history, save_history
from panel_tracker.settings import load_config
from sandbox.enlighten_emulator import EnlightenEmulator
from sandbox.health_bench import main as health_bench
from sandbox.sheets_bench import bench_sheet_calls
from sandbox.site import SimulatedSite, SiteScenario


def _config(folder: Path, emulator: EnlightenEmulator, access: str, refresh: str) -> Path:
    path = folder / "enlighten_v4_config.json"
    path.write_text(json.dumps(emulator.config_keys(access, refresh)))
    return path


def enlighten_calls() -> list[tuple[str, int]]:
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        EnlightenEmulator(SimulatedSite(SiteScenario.healthy())) as emulator,
    ):
        config_path = _config(Path(tmp), emulator, *emulator.issue_tokens())
        first = emulator.site.days()[0]

        def night(offset: int, label: str) -> None:
            config = load_config(config_path)
            emulator.set_sim_time(emulator.night_of(first + timedelta(days=offset)))
            emulator.reset_calls()
            run_daily_job(config, EnlightenClient.from_config(config), push_sheet=False)
            rows.append((label, len(emulator.calls)))

        night(0, "first run (asks the time zone once)")
        night(1, "daily run, access token valid")
        raw = json.loads(config_path.read_text())
        raw["access_token"], _ = emulator.issue_tokens(access_expires_in=-1)
        config_path.write_text(json.dumps(raw))
        night(2, "daily run, access token expired")
        night(4, "after 1 missed night (+1 plan probe, once)")
        night(10, "after 5 missed nights")
        night(41, "after 30 missed nights")
    return rows


@dataclass(frozen=True)
class _Reading:
    serial: str
    lifetime_wh: int
    last_report: datetime


def history_update_seconds(panels: int, years: int) -> tuple[float, float, int]:
    """Seconds to update the history by one day, and the same with the panel-health
    verdict the daily job adds, plus the file's size."""
    tz = ZoneInfo("America/Denver")
    start = date(2016, 1, 1)
    days = [start + timedelta(days=n) for n in range(365 * years)]
    micros = {}
    for p in range(panels):
        lifetime, entries = 0, {}
        for n, day in enumerate(days):
            lifetime += 1500
            entries[day.isoformat()] = {
                "daily_energy": 1500,
                "lifetime_energy": lifetime,
                "last_report": 1_451_000_000 + n,
            }
        micros[f"4820{p:08d}"] = entries
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inverter_daily_data-1.json"
        save_history(path, History({"micro_inverters": micros}))
        size = path.stat().st_size
        next_day = days[-1] + timedelta(days=1)
        report = datetime(next_day.year, next_day.month, next_day.day, 18, tzinfo=tz)
        readings = [
            _Reading(serial, 1500 * (len(days) + 1), report.astimezone(timezone.utc))
            for serial in micros
        ]
        began = time.perf_counter()
        history = load_history(path)
        update = DailyEnergyUpdate(history, readings, tz)
        assert not update.gaps()
        update.apply(None)
        save_history(path, history)
        update_only = time.perf_counter() - began
        began = time.perf_counter()
        history = load_history(path)
        DailyEnergyUpdate(history, readings, tz).apply(None)
        assess(history, HealthSettings())
        save_history(path, history)
        return update_only, time.perf_counter() - began, size


def main() -> None:
    print("Enlighten API calls per daily run (target: 1 data call; +1 token call only when")
    print("the access token expired; +1 time-zone call on the first run; +1 for any gap;")
    print("the first gap also asks once whether the plan has per-micro telemetry):")
    for label, calls in enlighten_calls():
        print(f"  {label:<40} {calls}")
    print()
    print("Updating a history by one day (load + day arithmetic + atomic save; target < 0.5 s),")
    print("and the same with the panel-health verdict of the daily job:")
    for panels, years in ((100, 1), (100, 5), (100, 10)):
        update_only, with_health, size = history_update_seconds(panels, years)
        print(
            f"  {panels} panels x {years:>2} years ({size / 1e6:5.1f} MB): "
            f"{update_only:.3f} s, with health {with_health:.3f} s"
        )
    print()
    print("Google Sheets calls per push (target: 1 read + 1 write; the original made 3 to 5):")
    for label, calls in bench_sheet_calls().items():
        print(f"  {label.replace('_', ' '):<40} {calls}")
    print()
    print("Panel health on a simulated year (detection delay after a fault crosses 10 % loss;")
    print("false-alarm days on healthy panels):")
    health_bench(seeds=(42, 7))


if __name__ == "__main__":
    main()
