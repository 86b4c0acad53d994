"""The push's one read: what it asks for, and what the answer says.

One ``spreadsheets.get`` names ranges of four kinds: ``serials`` (the named range
``InverterSerialNumbers``), ``column_a`` (a year sheet's dates), ``header`` (a year sheet's
row 1, so a new serial's column never lands on a column someone else's header holds) and
``template`` (one cell, for the template's sheet properties). ``ranges`` hides every sheet
it does not touch, and the answer's data blocks come per sheet, not per range, so
``parse_snapshot`` pairs them back up in request order. Serials typed as numbers and dates
typed as text read as what they mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .grid import SERIAL_EPOCH, SERIALS_RANGE, a1_quote

_PROPERTIES = "properties(sheetId,title,index,gridProperties(rowCount,columnCount))"
META_FIELDS = f"sheets({_PROPERTIES}),namedRanges(name,namedRangeId,range)"
DATA_FIELDS = (
    f"sheets({_PROPERTIES},data(startRow,startColumn,rowData(values(effectiveValue,"
    "formattedValue)))),namedRanges(name,namedRangeId,range)"
)
NOT_A_DATE = "other"  # a column-A cell that is not a date (a header, a note, a total)
_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y", "%d.%m.%Y")

ColumnMark = date | str | None  # a date, NOT_A_DATE, or None for an empty cell


@dataclass(frozen=True)
class SheetInfo:
    sheet_id: int
    title: str
    index: int
    rows: int
    columns: int

    @classmethod
    def from_api(cls, properties: dict[str, Any]) -> SheetInfo:
        grid = properties.get("gridProperties", {})
        return cls(
            sheet_id=int(properties.get("sheetId", 0)),
            title=str(properties.get("title", "")),
            index=int(properties.get("index", 0)),
            rows=int(grid.get("rowCount", 0)),
            columns=int(grid.get("columnCount", 0)),
        )


@dataclass
class Snapshot:
    """What the one read returned: the sheets it touched, the serials, column A per sheet."""

    sheets: dict[str, SheetInfo]
    serial_columns: list[str | None]
    column_a: dict[str, list[ColumnMark]]
    serials_named: dict[str, Any] = field(default_factory=dict)  # the API's NamedRange
    header_row: dict[str, list[str | None]] = field(default_factory=dict)  # row 1 per year sheet


def range_a1(kind: str, target: str) -> str:
    """The A1 range the read asks for, for one (kind, sheet title or named range)."""
    if kind == "serials":
        return target
    if kind == "template":
        return f"{a1_quote(target)}!A1"
    if kind == "header":
        return f"{a1_quote(target)}!1:1"
    return f"{a1_quote(target)}!A:A"


def cell_text(cell: dict[str, Any]) -> str | None:
    """A cell as text; a serial typed as a number reads as its digits, not 1.2E+11."""
    value = cell.get("effectiveValue") or {}
    if "numberValue" in value:
        number = float(value["numberValue"])
        return str(int(number)) if number == int(number) else str(number)
    if "stringValue" in value:
        return str(value["stringValue"]).strip() or None
    if "boolValue" in value:
        return str(value["boolValue"]).upper()
    text = cell.get("formattedValue")
    if text is None:
        return None
    return str(text).strip() or None


def cell_date(cell: dict[str, Any]) -> ColumnMark:
    """A column-A cell: its date (a date serial or text Sheets did not parse), else a mark."""
    value = cell.get("effectiveValue") or {}
    if "numberValue" in value:
        number = float(value["numberValue"])
        if 1 <= number < 200_000:
            return SERIAL_EPOCH + timedelta(days=int(number))
        return NOT_A_DATE
    text = cell_text(cell)
    if text is None:
        return None
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return NOT_A_DATE


def parse_snapshot(response: dict[str, Any], ranges: list[tuple[str, str]]) -> Snapshot:
    """``ranges``: (kind, sheet title or named range) in request order (``range_a1``'s kinds)."""
    named = {n.get("name"): n for n in response.get("namedRanges", [])}
    serials_named = dict(named.get(SERIALS_RANGE) or {})
    serials_range = serials_named.get("range", {})
    sheets: dict[str, SheetInfo] = {}
    blocks: dict[int, list[dict[str, Any]]] = {}
    for sheet in response.get("sheets", []):
        info = SheetInfo.from_api(sheet.get("properties", {}))
        sheets[info.title] = info
        blocks[info.sheet_id] = list(sheet.get("data", []))
    by_id = {info.sheet_id: info for info in sheets.values()}
    serial_columns: list[str | None] = []
    column_a: dict[str, list[ColumnMark]] = {}
    header_row: dict[str, list[str | None]] = {}
    for kind, target in ranges:
        if kind == "serials":
            sheet_id = int(serials_range.get("sheetId", 0))
        elif target in sheets:
            sheet_id = sheets[target].sheet_id
        else:
            continue
        queue = blocks.get(sheet_id, [])
        block = queue.pop(0) if queue else {}
        if kind == "serials":
            height = _span(serials_range, "Row")
            width = _span(serials_range, "Column")
            if height is None and sheet_id in by_id:  # an unbounded range runs to the grid's edge
                height = by_id[sheet_id].rows - int(serials_range.get("startRowIndex", 0))
            cells = _grid_values(block, height, width)
            serial_columns = [cell_text(c) for c in cells]
        elif kind == "column_a":
            column_a[target] = [cell_date(c) for c in _grid_values(block, None, 1)]
        elif kind == "header":
            header_row[target] = [cell_text(c) for c in _grid_values(block, 1, None)]
    return Snapshot(sheets, serial_columns, column_a, serials_named, header_row)


def _grid_values(block: dict[str, Any], height: int | None, width: int | None) -> list[Any]:
    """A data block's cells in row-major order, trailing blanks restored to the range's size."""
    rows = block.get("rowData", [])
    height = height if height is not None else len(rows)
    widest = max((len(r.get("values", [])) for r in rows), default=0)
    width = width if width is not None else widest
    cells = []
    for r in range(height):
        values = rows[r].get("values", []) if r < len(rows) else []
        cells += [values[c] if c < len(values) else {} for c in range(width)]
    return cells


def _span(grid_range: dict[str, Any], axis: str) -> int | None:
    end = grid_range.get(f"end{axis}Index")
    return None if end is None else int(end) - int(grid_range.get(f"start{axis}Index", 0))
