"""The history as CSV files: a wide file per year (date, then Wh per serial, like the sheet)
and one long file (date, serial, Wh, flags).

Streaming: rows are written as they are produced from the history dict already in memory;
no second copy of the history is built.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from ..history import DayEntry, History

logger = logging.getLogger(__name__)

LONG_FILE = "panels-long.csv"
LONG_HEADER = ("date", "serial", "wh", "flags")


def _flags(entry: DayEntry) -> str:
    names = [name for name in ("estimated", "provisional") if entry.get(name)]
    if entry.get("daily_energy") is None:
        names.append("unknown")
    return ";".join(names)


def _fmt(day: str, date_format: str) -> str:
    return date.fromisoformat(day).strftime(date_format)


def _wh(entry: DayEntry | None) -> str:
    value = None if entry is None else entry.get("daily_energy")
    return "" if value is None else str(int(value))


def _wide_rows(history: History, year: str, date_format: str) -> Iterator[list[str]]:
    serials = history.serials()
    yield ["date", *serials]
    days = sorted({d for s in serials for d in history.days_of(s) if d.startswith(year)})
    for day in days:
        yield [_fmt(day, date_format), *(_wh(history.entry(s, day)) for s in serials)]


def _write_csv(path: Path, rows: Iterator[list[str]] | Iterator[tuple[str, ...]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow(row)
    tmp.replace(path)


def _long_rows(history: History, date_format: str) -> Iterator[tuple[str, ...]]:
    yield LONG_HEADER
    for day in history.dates():
        for serial in history.serials():
            entry = history.entry(serial, day)
            if entry is not None:
                yield _fmt(day, date_format), serial, _wh(entry), _flags(entry)


def export_csv(directory: Path, history: History, date_format: str = "%Y-%m-%d") -> list[Path]:
    """Write ``panels-<year>.csv`` per year and ``panels-long.csv``; the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for year in sorted({d[:4] for d in history.dates()}):
        path = directory / f"panels-{year}.csv"
        _write_csv(path, _wide_rows(history, year, date_format))
        written.append(path)
    long_path = directory / LONG_FILE
    _write_csv(long_path, _long_rows(history, date_format))
    written.append(long_path)
    logger.info("CSV export: %s files in %s", len(written), directory)
    return written
