"""The history as an SQLite database, kept in step with it: for Datasette and Grafana.

One transaction per run (WAL mode), so a killed run leaves the previous state. The nightly run
holds each serial's recent days (from its last exported day minus ``RESPLIT_DAYS``, the window
in which a gap or a provisional day can still be re-split) to the history and writes only the
rows that differ; the small tables and the pivot view are rewritten only when they changed.
``rebuild`` writes every row.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..errors import PanelTrackerError
from ..history import DayEntry, History

logger = logging.getLogger(__name__)

RESPLIT_DAYS = 14
DAY_FIELDS = ("daily_energy", "lifetime_energy", "last_report", "estimated", "provisional", "note")

SCHEMA = """
CREATE TABLE IF NOT EXISTS days (
  serial TEXT NOT NULL, date TEXT NOT NULL, daily_wh INTEGER, lifetime_wh INTEGER,
  last_report INTEGER, estimated INTEGER NOT NULL DEFAULT 0,
  provisional INTEGER NOT NULL DEFAULT 0, note TEXT,
  PRIMARY KEY (serial, date)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS days_by_date ON days (date, serial);
CREATE TABLE IF NOT EXISTS panels (
  serial TEXT PRIMARY KEY, grp TEXT, position INTEGER, first_day TEXT, last_day TEXT,
  replaced_by TEXT);
CREATE TABLE IF NOT EXISTS health (
  serial TEXT NOT NULL, kind TEXT NOT NULL, since TEXT NOT NULL, until TEXT, lost_wh INTEGER,
  PRIMARY KEY (serial, kind, since));
CREATE TABLE IF NOT EXISTS export_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE VIEW IF NOT EXISTS group_daily AS
  SELECT d.date, COALESCE(p.grp, 'all') AS grp, SUM(d.daily_wh) AS wh, COUNT(d.daily_wh) AS panels
  FROM days d LEFT JOIN panels p USING (serial) GROUP BY d.date, COALESCE(p.grp, 'all');
CREATE VIEW IF NOT EXISTS array_daily AS
  SELECT date, SUM(daily_wh) AS wh, COUNT(daily_wh) AS panels FROM days GROUP BY date;
"""

Layout = Mapping[str, tuple[str | None, int | None]]
Bounds = dict[str, tuple[str, str]]


class ExportError(PanelTrackerError):
    """An export could not be written; the history is untouched."""


def _day_row(serial: str, day: str, entry: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        serial,
        day,
        entry.get("daily_energy"),
        entry.get("lifetime_energy"),
        entry.get("last_report"),
        int(bool(entry.get("estimated"))),
        int(bool(entry.get("provisional"))),
        entry.get("note"),
    )


def _all_rows(history: History) -> Iterator[tuple[Any, ...]]:
    for serial, days in history.micros.items():
        for day, entry in days.items():
            yield _day_row(serial, day, entry)


def _export_start(conn: sqlite3.Connection, serial: str) -> str | None:
    """The first day of the serial's exported window: its last exported day minus
    ``RESPLIT_DAYS``; None when the database has none of its days (one primary-key seek)."""
    (last,) = conn.execute("SELECT MAX(date) FROM days WHERE serial = ?", (serial,)).fetchone()
    if last is None:
        return None
    return (date.fromisoformat(last) - timedelta(days=RESPLIT_DAYS)).isoformat()


def _recent_days(days: Mapping[str, DayEntry], start: str, latest: str) -> list[str]:
    """The stored days from ``start`` to ``latest``, looked up by calendar day (a night's dozen
    or so, whatever the years before them): a loaded history's keys are checked ISO dates."""
    if latest < start:
        return []
    first, last = date.fromisoformat(start), date.fromisoformat(latest)
    calendar = ((first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1))
    return [day for day in calendar if day in days]


def _sync_recent_days(conn: sqlite3.Connection, history: History, bounds: Bounds) -> int:
    """Hold each serial's exported window to the history; the number of rows changed."""
    changed: list[tuple[Any, ...]] = []
    gone: list[tuple[str, str]] = []
    for serial, days in history.micros.items():
        start = _export_start(conn, serial)
        if start is None:  # a serial new to the database: all of it
            changed.extend(_day_row(serial, day, entry) for day, entry in days.items())
            continue
        stored = {
            row[1]: row
            for row in conn.execute(
                "SELECT * FROM days WHERE serial = ? AND date >= ?", (serial, start)
            )
        }
        if serial in bounds:
            for day in _recent_days(days, start, bounds[serial][1]):
                row = _day_row(serial, day, days[day])
                if stored.pop(day, None) != row:
                    changed.append(row)
        gone.extend((serial, day) for day in stored)  # no longer in the history's window
    conn.executemany("INSERT OR REPLACE INTO days VALUES (?,?,?,?,?,?,?,?)", changed)
    conn.executemany("DELETE FROM days WHERE serial = ? AND date = ?", gone)
    return len(changed) + len(gone)


def _sync_table(conn: sqlite3.Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    """Replace a small table's rows when they differ from ``rows``."""
    if sorted(rows, key=repr) == sorted(conn.execute(f"SELECT * FROM {table}"), key=repr):  # noqa: S608
        return
    marks = ",".join("?" * len(rows[0])) if rows else ""
    conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    if rows:
        conn.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", rows)  # noqa: S608


def _bounds(history: History) -> Bounds:
    """Each serial's first and last stored day (two key scans in C per serial)."""
    return {serial: (min(days), max(days)) for serial, days in history.micros.items() if days}


def _panel_rows(history: History, layout: Layout, bounds: Bounds) -> Iterator[tuple[Any, ...]]:
    replaced = history.data.get("replacements", {})
    for serial in history.micros:
        group, position = layout.get(serial, (None, None))
        first, last = bounds.get(serial, (None, None))
        by = replaced.get(serial) if isinstance(replaced, dict) else None
        yield serial, group, position, first, last, by


def _episode_rows(history: History) -> Iterator[tuple[Any, ...]]:
    section = history.data.get("health", {})
    if not isinstance(section, dict):
        return
    for item in section.get("closed", []) or []:
        # a loss a whole group shared is keyed by the group's name ("array": the whole array)
        who = item.get("serial") or item.get("group") if isinstance(item, dict) else None
        if isinstance(item, dict) and item.get("since") and who:
            yield (
                who,
                item.get("kind"),
                item["since"],
                item.get("until"),
                item.get("lost_wh"),
            )
    for serial, kinds in (section.get("open", {}) or {}).items():
        for kind, state in (kinds or {}).items():
            since = state.get("since") or state.get("last_seen")
            if since:
                yield serial, kind, since, None, state.get("lost_wh")
    for group, state in (section.get("shared", {}) or {}).items():
        if isinstance(state, dict) and state.get("since") and state.get("alerted"):
            yield group, "shared_loss", state["since"], None, None


def connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(str(path), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as err:
        raise ExportError(
            f"cannot open the SQLite file {path}: {err}",
            hint="check that its folder exists and is writable (config key sqlite_file)",
        ) from err
    return conn


def export_sqlite(
    path: Path, history: History, layout: Layout | None = None, *, rebuild: bool = False
) -> int:
    """Bring the database at ``path`` in step with ``history``; the number of day rows written."""
    conn = connect(Path(path))
    try:
        return _write(conn, history, layout or {}, rebuild)
    except sqlite3.Error as err:
        raise ExportError(
            f"cannot write the SQLite file {path}: {err}",
            hint="check the disk and the file's permissions, or rebuild it with --rebuild",
        ) from err
    finally:
        conn.close()


def _wide_view(conn: sqlite3.Connection, serials: list[str], *, rebuild: bool) -> None:
    """``days_wide``: one row per day, one column of Wh per serial (like the sheet); made again
    only when the serials change (the export remembers which it was made for)."""
    wanted = " ".join(s for s in serials if s.isalnum())
    made_for = conn.execute("SELECT value FROM export_meta WHERE key = 'days_wide'").fetchone()
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'days_wide'").fetchone()
    if not rebuild and exists and made_for == (wanted,):
        return
    # serials are restricted to letters and digits, so the column names are safe
    columns = "".join(
        f", MAX(CASE WHEN serial = '{s}' THEN daily_wh END) AS \"{s}\"" for s in wanted.split()
    )
    conn.execute("DROP VIEW IF EXISTS days_wide")
    sql = f"CREATE VIEW days_wide AS SELECT date{columns} FROM days GROUP BY date"  # noqa: S608
    conn.execute(sql)
    conn.execute("INSERT OR REPLACE INTO export_meta VALUES ('days_wide', ?)", (wanted,))


def _write(conn: sqlite3.Connection, history: History, layout: Layout, rebuild: bool) -> int:
    conn.executescript(SCHEMA)
    conn.execute("BEGIN IMMEDIATE")
    try:
        bounds = _bounds(history)
        if rebuild:
            conn.execute("DELETE FROM days")
            cur = conn.executemany("INSERT INTO days VALUES (?,?,?,?,?,?,?,?)", _all_rows(history))
            written = cur.rowcount
        else:
            written = _sync_recent_days(conn, history, bounds)
        _sync_table(conn, "panels", list(_panel_rows(history, layout, bounds)))
        _sync_table(conn, "health", list(dict.fromkeys(_episode_rows(history))))
        _wide_view(conn, sorted(history.micros), rebuild=rebuild)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    logger.info("SQLite export: %s day rows written", written)
    return written
