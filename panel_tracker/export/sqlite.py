"""The history as an SQLite database, kept in step with it: for Datasette and Grafana.

One transaction per run (WAL mode), so a killed run leaves the previous state. The nightly run
re-writes only each serial's recent days (from its last exported day minus ``RESPLIT_DAYS``, the
window in which a gap or a provisional day can still be re-split); ``rebuild`` writes every row.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..errors import PanelTrackerError
from ..history import History

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


def _rows(history: History, since: Mapping[str, str]) -> Iterator[tuple[Any, ...]]:
    for serial, days in history.micros.items():
        start = since.get(serial, "")
        for day, entry in days.items():
            if day >= start:
                yield _day_row(serial, day, entry)


def _since(conn: sqlite3.Connection) -> dict[str, str]:
    found: dict[str, str] = {}
    for serial, last in conn.execute("SELECT serial, MAX(date) FROM days GROUP BY serial"):
        start = date.fromisoformat(last) - timedelta(days=RESPLIT_DAYS)
        found[serial] = start.isoformat()
    return found


def _panel_rows(history: History, layout: Layout) -> Iterator[tuple[Any, ...]]:
    replaced = history.data.get("replacements", {})
    for serial, days in history.micros.items():
        group, position = layout.get(serial, (None, None))
        first, last = (min(days), max(days)) if days else (None, None)
        by = replaced.get(serial) if isinstance(replaced, dict) else None
        yield serial, group, position, first, last, by


def _episode_rows(history: History) -> Iterator[tuple[Any, ...]]:
    section = history.data.get("health", {})
    if not isinstance(section, dict):
        return
    for item in section.get("closed", []) or []:
        if isinstance(item, dict) and item.get("since"):
            yield (
                item.get("serial"),
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


def _wide_view(conn: sqlite3.Connection, serials: list[str]) -> None:
    """``days_wide``: one row per day, one column of Wh per serial (like the sheet)."""
    columns = "".join(
        f", MAX(CASE WHEN serial = '{s}' THEN daily_wh END) AS \"{s}\""
        for s in serials
        if s.isalnum()
    )
    conn.execute("DROP VIEW IF EXISTS days_wide")
    # serials are restricted to letters and digits above, so the column names are safe
    sql = f"CREATE VIEW days_wide AS SELECT date{columns} FROM days GROUP BY date"  # noqa: S608
    conn.execute(sql)


def _write(conn: sqlite3.Connection, history: History, layout: Layout, rebuild: bool) -> int:
    conn.executescript(SCHEMA)
    conn.execute("BEGIN IMMEDIATE")
    try:
        if rebuild:
            for table in ("days", "panels", "health"):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        since = {} if rebuild else _since(conn)
        cur = conn.executemany(
            "INSERT OR REPLACE INTO days VALUES (?,?,?,?,?,?,?,?)", _rows(history, since)
        )
        written = cur.rowcount
        conn.execute("DELETE FROM panels")
        conn.executemany("INSERT INTO panels VALUES (?,?,?,?,?,?)", _panel_rows(history, layout))
        conn.execute("DELETE FROM health")
        conn.executemany("INSERT OR REPLACE INTO health VALUES (?,?,?,?,?)", _episode_rows(history))
        _wide_view(conn, sorted(history.micros))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    logger.info("SQLite export: %s day rows written", written)
    return written
