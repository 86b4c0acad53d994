"""``batchUpdate`` request bodies and the cells in them, built in one place.

The push and ``--init`` both write through these, so a request has one shape whoever sends it.
Boxes are (first row, end row, first column, end column), zero-based and end-exclusive, as in
the API's ``GridRange``.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import date
from typing import Any

from .grid import DATE_PATTERN, date_serial

Box = tuple[int, int, int, int]
NUMBER_FORMAT_FIELDS = "userEnteredFormat.numberFormat"
BOLD = {"userEnteredFormat": {"textFormat": {"bold": True}}}
BOLD_FIELDS = "userEnteredFormat.textFormat.bold"


def new_sheet_id(taken: Collection[int]) -> int:
    """A ``sheetId`` for a sheet a request creates: chosen by us, so the same batch can fill it."""
    while True:
        candidate = random.randint(10**8, 2**31 - 1)
        if candidate not in taken:
            return candidate


# ----- cells -----------------------------------------------------------------------------------


def text_cell(value: str) -> dict[str, Any]:
    return {"userEnteredValue": {"stringValue": value}}


def formula_cell(value: str) -> dict[str, Any]:
    return {"userEnteredValue": {"formulaValue": value}}


def date_format(pattern: str = DATE_PATTERN) -> dict[str, Any]:
    return {"userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": pattern}}}


def date_cell(day: date) -> dict[str, Any]:
    """A real date (a serial number shown as ``mm/dd/yyyy``), not text that looks like one."""
    return {"userEnteredValue": {"numberValue": date_serial(day)}, **date_format()}


# ----- requests --------------------------------------------------------------------------------


def grid_range(sheet_id: int, box: Box) -> dict[str, int]:
    r0, r1, c0, c1 = box
    return {
        "sheetId": sheet_id,
        "startRowIndex": r0,
        "endRowIndex": r1,
        "startColumnIndex": c0,
        "endColumnIndex": c1,
    }


def update_cells(
    sheet_id: int, row: int, column: int, rows: list[list[Any]], fields: str
) -> dict[str, Any]:
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": column},
            "rows": [{"values": values} for values in rows],
            "fields": fields,
        }
    }


def repeat_cell(sheet_id: int, box: Box, cell: dict[str, Any], fields: str) -> dict[str, Any]:
    return {"repeatCell": {"range": grid_range(sheet_id, box), "cell": cell, "fields": fields}}


def duplicate_sheet(source_id: int, new_id: int, title: str, index: int) -> dict[str, Any]:
    return {
        "duplicateSheet": {
            "sourceSheetId": source_id,
            "insertSheetIndex": index,
            "newSheetId": new_id,
            "newSheetName": title,
        }
    }


def insert_row(sheet_id: int, row: int, *, inherit_from_before: bool) -> dict[str, Any]:
    return {
        "insertDimension": {
            "range": {
                "sheetId": sheet_id,
                "dimension": "ROWS",
                "startIndex": row,
                "endIndex": row + 1,
            },
            "inheritFromBefore": inherit_from_before,
        }
    }


def append_dimension(sheet_id: int, dimension: str, length: int) -> dict[str, Any]:
    """``dimension``: ROWS or COLUMNS, added at the grid's end."""
    return {"appendDimension": {"sheetId": sheet_id, "dimension": dimension, "length": length}}


def colour_rule(
    sheet_id: int, box: Box, formula: str, colour: dict[str, float], *, index: int
) -> dict[str, Any]:
    """A conditional format: the box's cells where ``formula`` holds get ``colour``.

    Sheets applies the first rule that matches a cell, so ``index`` (the rule's place among
    the sheet's rules; Sheets shifts the later ones down) decides which colour wins."""
    return {
        "addConditionalFormatRule": {
            "index": index,
            "rule": {
                "ranges": [grid_range(sheet_id, box)],
                "booleanRule": {
                    "condition": {
                        "type": "CUSTOM_FORMULA",
                        "values": [{"userEnteredValue": formula}],
                    },
                    "format": {"backgroundColor": colour},
                },
            },
        }
    }
