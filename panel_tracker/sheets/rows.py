"""The requests that write one year sheet: rows placed in date order, then their cells.

A day the sheet lacks gets a row after the last used one, or a row inserted at its place when
a later day is already there (the grid grows when it must); its date goes in column A as a
real date. Then every written day's energies go in, one ``updateCells`` per block of
consecutive rows and columns. An unknown day is a blank cell (with the history's reason as a
note, when it has one); an estimated day carries a note saying so. A column new to the sheet (a
replaced micro-inverter's successor) gets every day of its serial that the sheet has a row for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..history import History
from .bodies import append_dimension, date_cell, insert_row, update_cells
from .grid import FIRST_DATA_ROW
from .read import ColumnMark, SheetInfo

ESTIMATED_NOTE = (
    "Estimated: the day was missed, and the gap's energy was split over the missed days "
    "in proportion to the system's production."
)


@dataclass
class YearWrites:
    """One year sheet's requests, the days they add and rewrite, and what to warn about."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def write_year_sheet(
    history: History,
    sheet: SheetInfo,
    marks: list[ColumnMark],
    columns: list[tuple[int, str]],
    *,
    year_days: list[str],
    rewrite: frozenset[str],
    new_columns: Sequence[tuple[int, str]] = (),
) -> YearWrites:
    """Add the ``year_days`` the sheet lacks, rewrite those of ``rewrite`` that it has.

    ``marks``: column A as read (row by row); ``columns``: (column index, serial) to write;
    ``new_columns``: those of them new to the sheet, filled on every row their serial has.
    """
    writer = _YearWriter(history, sheet, marks, columns)
    writer.write(year_days, rewrite)
    writer.fill(new_columns)
    return writer.out


class _YearWriter:
    def __init__(
        self,
        history: History,
        sheet: SheetInfo,
        marks: list[ColumnMark],
        columns: list[tuple[int, str]],
    ) -> None:
        self.history, self.sheet, self.columns = history, sheet, columns
        self.out = YearWrites()
        used = [i for i, mark in enumerate(marks) if mark is not None]
        last = max(used[-1] if used else 0, FIRST_DATA_ROW - 1)
        self.marks = (marks + [None] * (last + 1))[: last + 1]

    def write(self, year_days: list[str], rewrite_days: frozenset[str]) -> None:
        present = {m for m in self.marks[FIRST_DATA_ROW:] if isinstance(m, date)}
        missing = [d for d in year_days if date.fromisoformat(d) not in present]
        rewrite = [d for d in year_days if d in rewrite_days and date.fromisoformat(d) in present]
        if not missing and not rewrite:
            return
        inserted = self._place(missing)
        self._grow(inserted)
        new_rows = [i for i, m in enumerate(self.marks) if _iso(m) in set(missing)]
        self._dates(new_rows)
        rows: list[tuple[int, str]] = []
        for day in sorted(missing + rewrite):
            found = [i for i, m in enumerate(self.marks) if i >= FIRST_DATA_ROW and _iso(m) == day]
            if len(found) > 1:
                self.out.warnings.append(
                    f"{day} has {len(found)} rows in '{self.sheet.title}'; all were rewritten "
                    "(delete the extra rows)"
                )
            rows += [(i, day) for i in found]
        self._energies(sorted(rows), self.columns)
        self.out.added += missing
        self.out.updated += rewrite

    def fill(self, columns: Sequence[tuple[int, str]]) -> None:
        """The days of new ``columns`` on rows ``write`` left alone (older than the rewrite)."""
        written = set(self.out.added) | set(self.out.updated)
        for column, serial in columns:
            has = set(self.history.days_of(serial)) - written
            rows = [
                (i, day)
                for i, mark in enumerate(self.marks)
                if i >= FIRST_DATA_ROW and (day := _iso(mark)) is not None and day in has
            ]
            self._energies(rows, [(column, serial)])

    def _place(self, missing: list[str]) -> int:
        """Rows for the missing days: appended after the last used row, or inserted in order."""
        inserted = 0
        for day in missing:
            when = date.fromisoformat(day)
            later = next(
                (i for i in range(FIRST_DATA_ROW, len(self.marks)) if _after(self.marks[i], when)),
                None,
            )
            if later is None:
                self.marks.append(when)
                continue
            self.out.requests.append(
                insert_row(self.sheet.sheet_id, later, inherit_from_before=later > FIRST_DATA_ROW)
            )
            self.marks.insert(later, when)
            inserted += 1
        return inserted

    def _grow(self, inserted: int) -> None:
        rows_short = len(self.marks) - (self.sheet.rows + inserted)
        columns_short = max((c for c, _ in self.columns), default=0) + 1 - self.sheet.columns
        for dimension, short in (("ROWS", rows_short), ("COLUMNS", columns_short)):
            if short > 0:
                self.out.requests.append(append_dimension(self.sheet.sheet_id, dimension, short))

    def _dates(self, new_rows: list[int]) -> None:
        for start, run in _runs(new_rows):
            cells = [[_date_cell(self.marks[start + k])] for k in range(run)]
            self._update(start, 0, cells, "userEnteredValue,userEnteredFormat.numberFormat")

    def _energies(self, rows: list[tuple[int, str]], columns: Sequence[tuple[int, str]]) -> None:
        column_runs = list(_runs([c for c, _ in columns]))
        serial_at = dict(columns)
        days_by_row = dict(rows)
        for start, run in _runs([i for i, _ in rows]):
            for first_col, width in column_runs:
                cells = [
                    [
                        self._energy_cell(serial_at[first_col + k], days_by_row[start + r])
                        for k in range(width)
                    ]
                    for r in range(run)
                ]
                self._update(start, first_col, cells, "userEnteredValue,note")

    def _energy_cell(self, serial: str, day: str) -> dict[str, Any]:
        entry = self.history.entry(serial, day)
        if entry is None:
            return {}
        value = entry.get("daily_energy")
        if value is None:
            note = entry.get("note")
            return {"note": f"Unknown: {note}"} if note else {}
        cell: dict[str, Any] = {"userEnteredValue": {"numberValue": int(value)}}
        if entry.get("estimated"):
            cell["note"] = ESTIMATED_NOTE
        return cell

    def _update(self, row: int, column: int, cells: list[list[Any]], fields: str) -> None:
        self.out.requests.append(update_cells(self.sheet.sheet_id, row, column, cells, fields))


def _after(mark: ColumnMark, day: date) -> bool:
    return isinstance(mark, date) and mark > day


def _iso(mark: ColumnMark) -> str | None:
    return mark.isoformat() if isinstance(mark, date) else None


def _date_cell(mark: ColumnMark) -> dict[str, Any]:
    assert isinstance(mark, date)
    return date_cell(mark)


def _runs(indexes: Iterable[int]) -> Iterable[tuple[int, int]]:
    """(start, length) of each run of consecutive indexes."""
    ordered = sorted(set(indexes))
    start = None
    for i, index in enumerate(ordered):
        if start is None:
            start, length = index, 1
        elif index == ordered[i - 1] + 1:
            length += 1
        else:
            yield start, length
            start, length = index, 1
    if start is not None:
        yield start, length
