"""Cost and speed of the daily job, printed (not asserted): run `python bench/bench_daily.py`.

* Enlighten calls per run in each situation the issue names (the cost users pay: the free
  Watt plan allows 1,000 calls a month).
* The whole nightly update (load, one day, health, save) at 100 x 10 and 300 x 25 years,
  beside the floor (bare orjson load + dump) and the original script's json load + dump.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from panel_tracker.app.daily import run_daily_job
from panel_tracker.app.sources import enlighten_client
from panel_tracker.energy import DailyEnergyUpdate
from panel_tracker.health.assess import assess
from panel_tracker.health.episodes import update_alert_state
from panel_tracker.health.thresholds import HealthSettings
from panel_tracker.history import History, latest_days, load_history, save_history
from panel_tracker.settings import load_config
from sandbox.enlighten_emulator import EnlightenEmulator
from sandbox.health_bench import main as health_bench
from sandbox.sheets_bench import bench_sheet_calls
from sandbox.site import SimulatedSite, SiteScenario
from tests.support.builders import FakeReading, steady_history, steady_serial


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
            run_daily_job(config, enlighten_client(config), push_sheet=False)
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


def _timed(run: Callable[[], None], prepare: Callable[[], None], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        prepare()
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return times


def nightly_figures(panels: int, years: int, repeats: int) -> dict[str, Any]:
    """The whole nightly update against the floor and the original script's method, timed."""
    tz = ZoneInfo("America/Denver")
    data, days = steady_history(panels, years)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inverter_daily_data-1.json"
        save_history(path, History(data))
        del data
        pristine = path.read_bytes()
        # the mark of the content the tool last saved and checked: last night's, in real life
        mark = path.with_name(f".{path.name}.checked")
        pristine_mark = mark.read_bytes()
        next_day = days[-1] + timedelta(days=1)
        report = datetime(next_day.year, next_day.month, next_day.day, 18, tzinfo=tz)
        serials = [steady_serial(p) for p in range(panels)]
        readings = [
            FakeReading(s, (1500 + p % 7) * (len(days) + 1), report.astimezone(timezone.utc))
            for p, s in enumerate(serials)
        ]
        settings = HealthSettings()

        def restore() -> None:
            path.write_bytes(pristine)
            mark.write_bytes(pristine_mark)
            # The restored file's writeback belongs to no run: done before the clock starts,
            # it cannot land in the next run's time (the update's own fsyncs still do).
            if hasattr(os, "sync"):  # POSIX only
                os.sync()

        def project() -> None:
            history = load_history(path)
            # as the daily job does: the latest days found once, kept by the update
            update = DailyEnergyUpdate(history, readings, tz, latest_days=latest_days(history))
            update.apply(None)
            report = assess(history, settings, latest_days=update.latest_days())
            update_alert_state(history, report)
            save_history(path, history)

        def floor() -> None:
            path.write_bytes(orjson.dumps(orjson.loads(path.read_bytes())))

        def original() -> None:
            with open(path, encoding="utf-8") as handle:
                loaded = json.load(handle)
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(loaded, handle)

        def health_only() -> None:
            assess(history, settings)

        figures = {
            "size_mb": len(pristine) / 1e6,
            "project": _timed(project, restore, repeats),
            "floor": _timed(floor, restore, repeats),
            "original": _timed(original, restore, repeats),
        }
        restore()
        history = load_history(path)
        figures["health"] = _timed(health_only, lambda: None, repeats)
        return figures


def _mm(times: list[float]) -> str:
    return f"{min(times):6.3f} / {statistics.median(times):6.3f}"


def main() -> None:
    print("Enlighten API calls per daily run (target: 2 data calls, a page and the empty one")
    print("that ends the list; +1 token call only when")
    print("the access token expired; +1 time-zone call on the first run; +1 for any gap;")
    print("the first gap also asks once whether the plan has per-micro telemetry):")
    for label, calls in enlighten_calls():
        print(f"  {label:<40} {calls}")
    print()
    repeats = 5
    print(f"The nightly update, seconds, min / median of {repeats} runs (target: project within")
    print("1.3x the floor). project = load + one day + health verdict and episodes + atomic")
    print("save; floor = bare orjson load + dump of the same file; original = json.load +")
    print("json.dump of the whole file, as the original script did; health = the verdict alone:")
    for panels, years in ((100, 10), (300, 25)):
        f = nightly_figures(panels, years, repeats)
        ratio = statistics.median(f["project"]) / statistics.median(f["floor"])
        ratio_min = min(f["project"]) / min(f["floor"])
        print(
            f"  {panels} panels x {years:>2} years ({f['size_mb']:5.1f} MB): "
            f"project {_mm(f['project'])}  floor {_mm(f['floor'])}  "
            f"original {_mm(f['original'])}  health {_mm(f['health'])}  "
            f"project/floor {ratio_min:.2f} (min) {ratio:.2f} (median)",
            flush=True,
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
