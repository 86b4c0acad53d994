"""What a push writes: the days, the columns, the year sheets to create, as one batch.

The history is the data of record; the sheet is healed from it:
- The days to consider are those of the years that the last ``sheet_heal_days`` (31) days of
  the history touch. Every such day that the year's sheet lacks is written, in date order (a
  day older than the sheet's last date gets a row inserted at its place); every day of those
  last 31 that the sheet has is rewritten in place, all its rows. Days older than that and
  present are left alone, so a hand edit to last spring stays. ``only_date`` pushes one day.
- A serial in the sheet but not in the history keeps its cells (a warning); a serial in the
  history but not in the sheet (a replaced micro-inverter) gets its column in the same batch
  (``columns``), with every day of it that the year sheets show.
- A year without a sheet gets a copy of the template, with a ``newSheetId`` chosen here, so the
  same batch fills it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ..history import History
from .bodies import duplicate_sheet, new_sheet_id
from .columns import add_serial_columns, year_sheet_headers
from .grid import FIRST_DATA_ROW, SERIALS_RANGE, TEMPLATE_TITLE, year_of_title, year_title
from .read import NOT_A_DATE, ColumnMark, SheetInfo, Snapshot
from .rows import YearWrites, write_year_sheet
from .transport import SheetsError


@dataclass(frozen=True)
class DaysToPush:
    by_year: dict[int, list[str]]  # every history day of the years the push looks at
    rewrite: frozenset[str]  # days rewritten in place when the sheet has them


def days_to_push(history: History, *, only_date: str | None, heal_days: int) -> DaysToPush:
    dates = history.dates()
    if only_date is not None:
        if only_date not in dates:
            return DaysToPush({}, frozenset())
        return DaysToPush({int(only_date[:4]): [only_date]}, frozenset({only_date}))
    if not dates:
        return DaysToPush({}, frozenset())
    start = (date.fromisoformat(dates[-1]) - timedelta(days=heal_days - 1)).isoformat()
    recent = frozenset(d for d in dates if d >= start)
    years = sorted({int(d[:4]) for d in recent})
    return DaysToPush({y: [d for d in dates if int(d[:4]) == y] for y in years}, recent)


@dataclass
class Plan:
    requests: list[dict[str, Any]] = field(default_factory=list)
    created: dict[int, int] = field(default_factory=dict)  # year -> new sheetId
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, writes: YearWrites) -> None:
        self.requests += writes.requests
        self.added += writes.added
        self.updated += writes.updated
        self.warnings += writes.warnings


def plan_push(
    history: History,
    days: DaysToPush,
    snapshot: Snapshot,
    *,
    spreadsheet_id: str,
    known_ids: Iterable[int],
) -> Plan:
    """The batch that brings the sheets the snapshot shows up to the history.

    ``known_ids``: sheet ids taken beyond those in the snapshot (a new sheet must not reuse one).
    """
    plan = Plan()
    columns, missing = _serial_columns(history, days, snapshot, spreadsheet_id, plan)
    sheets = dict(snapshot.sheets)
    added = add_serial_columns(
        missing, snapshot.serial_columns, snapshot.serials_named, sheets, snapshot.header_row
    )
    # First in the batch: a year sheet copied from the template below copies the new header.
    plan.requests += added.requests
    plan.warnings += added.warnings
    sheets.update(added.grown)
    range_sheet = snapshot.serials_named.get("range", {}).get("sheetId", 0)
    template = sheets.get(TEMPLATE_TITLE)
    taken = {info.sheet_id for info in sheets.values()}
    taken |= set(known_ids)
    for year, year_days in sorted(days.by_year.items()):
        info = sheets.get(year_title(year))
        if info is None:
            if template is None:
                raise SheetsError(
                    f"spreadsheet {spreadsheet_id}: '{TEMPLATE_TITLE}' was not found "
                    f"to create '{year_title(year)}'; run populate_google_sheet.py --init"
                )
            info = _create_year_sheet(year, template, sheets, taken, plan)
            marks: list[ColumnMark] = [NOT_A_DATE] * FIRST_DATA_ROW
        else:
            marks = list(snapshot.column_a.get(info.title, []))
        if info.sheet_id != range_sheet:
            headers, info = year_sheet_headers(info, added.columns)
            plan.requests += headers
        writes = write_year_sheet(
            history,
            info,
            marks,
            columns + added.columns,
            year_days=year_days,
            rewrite=days.rewrite,
            new_columns=added.columns,
        )
        plan.add(writes)
    return plan


def _serial_columns(
    history: History, days: DaysToPush, snapshot: Snapshot, spreadsheet_id: str, plan: Plan
) -> tuple[list[tuple[int, str]], list[str]]:
    """(column index, serial) for each serial the sheet has and the history knows; and the
    serials with days to push that the sheet has no column for."""
    if not any(snapshot.serial_columns):
        raise SheetsError(
            f"the named range {SERIALS_RANGE} of spreadsheet {spreadsheet_id} holds no "
            "serials; put the serials in it, or run populate_google_sheet.py --init"
        )
    columns: list[tuple[int, str]] = []
    seen: set[str] = set()
    for position, serial in enumerate(snapshot.serial_columns):
        if serial is None:
            continue
        if serial in seen:
            plan.warnings.append(
                f"serial {serial} is in {SERIALS_RANGE} twice; only its first column is written"
            )
            continue
        seen.add(serial)
        if serial not in history.micros:
            plan.warnings.append(
                f"serial {serial} is in the sheet ({SERIALS_RANGE}) but not in the history; "
                "its column was left as it is"
            )
            continue
        columns.append((1 + position, serial))
    pushed = {d for year_days in days.by_year.values() for d in year_days}
    missing = [
        serial
        for serial in history.serials()
        if serial not in seen and pushed & set(history.days_of(serial))
    ]
    return columns, missing


def _create_year_sheet(
    year: int, template: SheetInfo, sheets: dict[str, SheetInfo], taken: set[int], plan: Plan
) -> SheetInfo:
    sheet_id = new_sheet_id(taken)
    taken.add(sheet_id)
    # The newest year goes in front of the older ones; else where the template is.
    year_indexes = [
        info.index for title, info in sheets.items() if year_of_title(title) is not None
    ]
    index = min(year_indexes) if year_indexes else template.index
    plan.requests.append(duplicate_sheet(template.sheet_id, sheet_id, year_title(year), index))
    plan.created[year] = sheet_id
    return SheetInfo(sheet_id, year_title(year), index, template.rows, template.columns)
