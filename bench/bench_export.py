"""Speed of the exports, printed (not asserted): run `python bench/bench_export.py`.

* ``export --sqlite --rebuild`` of a 100-panel, 10-year history (365,000 days).
* The nightly incremental upsert after one more day.
* A ten-year query of one panel (the primary key (serial, date) answers it).
* The CSV export of the same history.
Each figure is repeated; min and median are shown.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from panel_tracker.export.csv import export_csv
from panel_tracker.export.sqlite import export_sqlite
from panel_tracker.history import History

START = date(2016, 1, 1)


def build(panels: int, years: int) -> History:
    micros: dict[str, Any] = {}
    days = [(START + timedelta(d)).isoformat() for d in range(365 * years)]
    for n in range(panels):
        lifetime = 0
        entries: dict[str, Any] = {}
        for d, day in enumerate(days):
            wh = 800 + (d * 7 + n) % 900
            lifetime += wh
            entries[day] = {"daily_energy": wh, "lifetime_energy": lifetime, "last_report": 0}
        micros[f"1220{n:08d}"] = entries
    return History({"micro_inverters": micros})


def timed(label: str, body: Callable[[], object], repeat: int = 3) -> None:
    figures = []
    for _ in range(repeat):
        started = time.perf_counter()
        body()
        figures.append(time.perf_counter() - started)
    print(f"{label:<48} min {min(figures):8.4f} s   median {statistics.median(figures):8.4f} s")


def add_day(history: History) -> None:
    for days in history.micros.values():
        last = max(days)
        day = (date.fromisoformat(last) + timedelta(1)).isoformat()
        days[day] = {"daily_energy": 1000, "lifetime_energy": days[last]["lifetime_energy"] + 1000}


def main() -> None:
    history = build(100, 10)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "panels.db"
        timed(
            "sqlite rebuild, 100 panels x 10 years",
            lambda: export_sqlite(db, history, rebuild=True),
        )

        def nightly() -> None:
            add_day(history)
            export_sqlite(db, history)

        timed("sqlite nightly upsert (one more day)", nightly, repeat=5)
        conn = sqlite3.connect(db)
        query = "SELECT date, daily_wh FROM days WHERE serial = ? AND date >= ? ORDER BY date"
        timed(
            "ten-year query of one panel",
            lambda: conn.execute(query, ("122000000042", "2016-01-01")).fetchall(),
            repeat=20,
        )
        conn.close()
        timed(
            "csv export (wide per year + long)", lambda: export_csv(Path(folder) / "csv", history)
        )


if __name__ == "__main__":
    main()
