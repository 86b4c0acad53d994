"""A serial the history has and the sheet lacks (a replaced micro-inverter) gets its column.

The push adds it in the batch it already sends, so a replacement costs no call and needs no
``--init``: the serial goes in the first empty cell at the end of ``InverterSerialNumbers``,
else in the column right after it (the named range is extended, the grid grown when it must),
and every year sheet the push writes gets the serial's header cell and its total formula. The
new column goes at the end, never beside the unit it replaced: inserting a column would move
every column to its right, and with them the users' own formulas and charts that point there.
The replaced unit's column stays as it was; its history is kept. A column whose row 1 holds
something else on a year sheet (a user's own "Total" column right of the serials) is never
written over: the serial then waits, with a warning, for the owner to make room.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .bodies import (
    BOLD,
    BOLD_FIELDS,
    append_dimension,
    formula_cell,
    repeat_cell,
    text_cell,
    update_cells,
)
from .grid import FIRST_DATA_ROW, SERIALS_RANGE, column_letters
from .read import SheetInfo


@dataclass
class NewColumns:
    """Where the new serials went, the requests that put them there, and what could not be."""

    columns: list[tuple[int, str]] = field(default_factory=list)  # (year-sheet column, serial)
    requests: list[dict[str, Any]] = field(default_factory=list)
    grown: dict[str, SheetInfo] = field(default_factory=dict)  # sheets whose grid was widened
    warnings: list[str] = field(default_factory=list)


def add_serial_columns(
    new: Sequence[str],
    serial_columns: Sequence[str | None],
    named_range: dict[str, Any],
    sheets: dict[str, SheetInfo],
    headers: Mapping[str, Sequence[str | None]],
) -> NewColumns:
    """Put ``new`` serials in ``InverterSerialNumbers`` (``named_range``: the API's
    ``NamedRange``, with its ``namedRangeId``); ``serial_columns``: the range's cells as read;
    ``headers``: row 1 of the year sheets the push writes, by title."""
    out = NewColumns()
    if not new:
        return out
    grid_range = dict(named_range.get("range") or {})
    sheet = next((s for s in sheets.values() if s.sheet_id == grid_range.get("sheetId", 0)), None)
    start_row = int(grid_range.get("startRowIndex", 0))
    one_row = grid_range.get("endRowIndex") is not None and (
        int(grid_range["endRowIndex"]) - start_row == 1
    )
    if sheet is None or not one_row or "namedRangeId" not in named_range:
        out.warnings += [
            f"serial {serial} is in the history but not in the sheet's {SERIALS_RANGE}, which "
            "is not one row the push can extend; its days were not written (add its column "
            "to the named range by hand)"
            for serial in new
        ]
        return out
    first_column = int(grid_range.get("startColumnIndex", 0))
    width = len(serial_columns)
    free = width
    while free > 0 and serial_columns[free - 1] is None:
        free -= 1  # the empty cells at the range's end are the serials' own
    positions = [free + k for k in range(len(new))]
    taken = _taken(headers, [(1 + p, serial) for p, serial in zip(positions, new, strict=True)])
    if taken:
        out.warnings += [
            f"serial {serial} is in the history but not in the sheet's {SERIALS_RANGE}, and its "
            f"column would be {taken}; its days were not written (move that column, or add "
            "the serial to the named range by hand)"
            for serial in new
        ]
        return out
    end = max(width, positions[-1] + 1)
    needed = first_column + end
    if needed > sheet.columns:
        out.requests.append(append_dimension(sheet.sheet_id, "COLUMNS", needed - sheet.columns))
        out.grown[sheet.title] = _widened(sheet, needed)
    cells = [[text_cell(serial) for serial in new]]
    out.requests.append(
        update_cells(sheet.sheet_id, start_row, first_column + free, cells, "userEnteredValue")
    )
    if start_row == 0:  # the template's own header: its copies get the total formula too
        out.requests.append(_totals(sheet.sheet_id, first_column + free, len(new)))
    if end > width:
        grid_range["endColumnIndex"] = first_column + end
        out.requests.append(
            {
                "updateNamedRange": {
                    "namedRange": {
                        "namedRangeId": named_range["namedRangeId"],
                        "range": grid_range,
                    },
                    "fields": "range",
                }
            }
        )
    # A year sheet's columns follow the range's order from column B, as the push writes them.
    out.columns = [(1 + position, serial) for position, serial in zip(positions, new, strict=True)]
    return out


def year_sheet_headers(
    sheet: SheetInfo, columns: Sequence[tuple[int, str]]
) -> tuple[list[dict[str, Any]], SheetInfo]:
    """The header cell and total formula of each new column on one year sheet; the sheet as it
    is after them (its grid widened when the columns lie beyond it)."""
    if not columns:
        return [], sheet
    first = min(c for c, _ in columns)
    serials = [serial for _, serial in sorted(columns)]
    return header_requests(sheet.sheet_id, sheet.columns, first, serials), _widened(
        sheet, first + len(serials)
    )


def header_requests(
    sheet_id: int, column_count: int, first: int, serials: Sequence[str]
) -> list[dict[str, Any]]:
    """``serials``' header (bold) and total cells on a year sheet of ``column_count`` columns,
    from column ``first`` on; the grid grows first when they lie beyond it."""
    requests: list[dict[str, Any]] = []
    if first + len(serials) > column_count:
        requests.append(append_dimension(sheet_id, "COLUMNS", first + len(serials) - column_count))
    requests.append(update_cells(sheet_id, 0, first, [[text_cell(s) for s in serials]], _VALUE))
    requests.append(_totals(sheet_id, first, len(serials)))
    requests.append(
        repeat_cell(sheet_id, (0, FIRST_DATA_ROW, first, first + len(serials)), BOLD, BOLD_FIELDS)
    )
    return requests


_VALUE = "userEnteredValue"


def _totals(sheet_id: int, first: int, count: int) -> dict[str, Any]:
    letters = [column_letters(first + k) for k in range(count)]
    cells = [[formula_cell(f"=SUM({letter}3:{letter})") for letter in letters]]
    return update_cells(sheet_id, 1, first, cells, _VALUE)


def _taken(
    headers: Mapping[str, Sequence[str | None]], columns: Sequence[tuple[int, str]]
) -> str | None:
    """Where a year sheet's row 1 already names something else in one of ``columns``."""
    for title, row in sorted(headers.items()):
        for column, serial in columns:
            held = row[column] if column < len(row) else None
            if held is not None and held != serial:
                return f"{column_letters(column)} of '{title}', which holds '{held}'"
    return None


def _widened(sheet: SheetInfo, columns: int) -> SheetInfo:
    if columns <= sheet.columns:
        return sheet
    return SheetInfo(sheet.sheet_id, sheet.title, sheet.index, sheet.rows, columns)
