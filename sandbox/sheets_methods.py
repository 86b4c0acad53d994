"""What each Sheets v4 method does to the model, and the shape of its answer.

``spreadsheets.get``: ``ranges`` filters the ``sheets`` array (a sheet no range touches is not
in the answer), one ``data`` block per range, ``startRow``/``startColumn`` omitted when 0,
trailing empty rows and cells trimmed, the ``fields`` mask applied (it overrides
``includeGridData``). ``batchUpdate`` applies to a copy that replaces the spreadsheet only if
every request succeeds. The ``values`` methods read and write as the values API renders and
parses (``USER_ENTERED`` or ``RAW``).
"""

from __future__ import annotations

import copy
from typing import Any

from .sheets_fields import apply_mask, parse_fields
from .sheets_model import (
    Box,
    Cell,
    Json,
    Sheet,
    Spreadsheet,
    bad_request,
    effective_value,
    formatted_value,
    has_value,
    rendered,
    user_entered,
)
from .sheets_requests import BatchUpdate


def new_spreadsheet(spreadsheet_id: str, body: Json) -> Spreadsheet:
    """``spreadsheets.create``: the given properties and sheets, else one default sheet."""
    props = {
        "title": "Untitled spreadsheet",
        "locale": "en_US",
        "timeZone": "Etc/GMT",
        "autoRecalc": "ON_CHANGE",
    }
    props.update(body.get("properties", {}))
    book = Spreadsheet(spreadsheet_id, props)
    batch = BatchUpdate(book)
    for index, sheet in enumerate(body.get("sheets") or [{"properties": {"sheetId": 0}}]):
        properties = {"sheetId": 0 if index == 0 else None, **sheet.get("properties", {})}
        batch.add_sheet({"properties": properties}, "")
    return book


def created_body(book: Spreadsheet, fields: str | None, base_url: str) -> Json:
    """The answer to ``spreadsheets.create``."""
    body = spreadsheet_body(book, [], False, base_url)
    return apply_mask(body, parse_fields(fields)) if fields else body


def get_body(
    book: Spreadsheet, ranges: list[str], include_grid_data: bool, fields: str | None, base_url: str
) -> Json:
    """The answer to ``spreadsheets.get``."""
    grid = include_grid_data
    tree = parse_fields(fields) if fields else None
    if tree is not None:  # a field mask overrides includeGridData
        sheets_tree = tree.get("sheets", {})
        grid = "*" in tree or sheets_tree is None or "data" in sheets_tree
    body = spreadsheet_body(book, ranges, grid, base_url)
    masked: Json = apply_mask(body, tree)
    return masked


def batch_update(book: Spreadsheet, requests: list[Json]) -> tuple[Spreadsheet, list[Json]]:
    """The spreadsheet after every request, and the replies; the caller keeps it or not."""
    if not isinstance(requests, list) or not requests:
        raise bad_request("Must specify at least one request.")
    work = copy.deepcopy(book)
    replies = BatchUpdate(work).apply(requests)
    return work, replies


def grid_data(sheet: Sheet, box: Box) -> Json:
    """One ``GridData`` block as the API returns it: zero starts omitted, trailing blanks cut."""
    rows: list[Json] = []
    for r in range(box.r0, box.r1):
        values: list[Cell] = []
        for c in range(box.c0, box.c1):
            cell = sheet.cells.get((r, c))
            if not cell:
                values.append({})
                continue
            shown = copy.deepcopy(cell)
            if (effective := effective_value(cell)) is not None:
                shown["effectiveValue"] = effective
            if (formatted := formatted_value(cell)) is not None:
                shown["formattedValue"] = formatted
            values.append(shown)
        while values and not values[-1]:
            values.pop()
        rows.append({"values": values} if values else {})
    while rows and not rows[-1]:
        rows.pop()
    block: Json = {}
    if box.r0:
        block["startRow"] = box.r0
    if box.c0:
        block["startColumn"] = box.c0
    if rows:
        block["rowData"] = rows
    return block


def spreadsheet_body(book: Spreadsheet, ranges: list[str], grid: bool, base_url: str) -> Json:
    blocks: dict[int, list[Json]] = {}
    touched: set[int] = set()
    for a1 in ranges:
        sheet, box = book.resolve(a1)
        touched.add(sheet.sheet_id)
        blocks.setdefault(sheet.sheet_id, []).append(grid_data(sheet, box))
    sheets = []
    for sheet in book.sheets:
        if ranges and sheet.sheet_id not in touched:
            continue
        entry: Json = {"properties": copy.deepcopy(sheet.properties)}
        if sheet.conditional_formats:
            entry["conditionalFormats"] = copy.deepcopy(sheet.conditional_formats)
        if grid:
            entry["data"] = blocks.get(sheet.sheet_id) or [
                grid_data(sheet, Box(0, sheet.rows, 0, sheet.columns))
            ]
        sheets.append(entry)
    body: Json = {
        "spreadsheetId": book.spreadsheet_id,
        "properties": copy.deepcopy(book.properties),
        "sheets": sheets,
        "spreadsheetUrl": f"{base_url}spreadsheets/d/{book.spreadsheet_id}/edit",
    }
    if book.named_ranges:
        body["namedRanges"] = copy.deepcopy(book.named_ranges)
    return body


# ----- the values API -------------------------------------------------------------------------


def as_rows(payload: Json) -> list[list[Any]]:
    values = payload.get("values", [])
    if payload.get("majorDimension") == "COLUMNS":
        width = max((len(column) for column in values), default=0)
        return [[col[i] if i < len(col) else None for col in values] for i in range(width)]
    return list(values)


def value_rows(sheet: Sheet, box: Box, option: str) -> list[Any]:
    rows = []
    for r in range(box.r0, box.r1):
        row = [rendered(sheet.cells.get((r, c), {}), option) for c in range(box.c0, box.c1)]
        while row and row[-1] == "":
            row.pop()
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def value_range(book: Spreadsheet, sheet: Sheet, box: Box, option: str) -> Json:
    body: Json = {"range": book.a1_of(sheet, box), "majorDimension": "ROWS"}
    rows = value_rows(sheet, box, option)
    if rows:
        body["values"] = rows
    return body


def write_values(book: Spreadsheet, a1: str, rows: list[list[Any]], *, raw: bool) -> Json:
    """``values.update``: the rows from ``a1``'s top-left cell on; None leaves a cell alone."""
    sheet, box = book.resolve(a1)
    height, width = len(rows), max((len(r) for r in rows), default=0)
    if box.r0 + height > sheet.rows or box.c0 + width > sheet.columns:
        raise bad_request(
            f"Range ({a1}) exceeds grid limits. Max rows: {sheet.rows}, "
            f"max columns: {sheet.columns}"
        )
    for dr, row in enumerate(rows):
        for dc, value in enumerate(row):
            if value is None:
                continue
            cell = user_entered(value, raw=raw)
            key = (box.r0 + dr, box.c0 + dc)
            if cell:
                kept = sheet.cells.get(key, {})
                kept.pop("userEnteredValue", None)
                kept.update(cell)
                sheet.cells[key] = kept
            elif key in sheet.cells:
                sheet.cells[key].pop("userEnteredValue", None)
    written = Box(box.r0, box.r0 + max(height, 1), box.c0, box.c0 + max(width, 1))
    return {
        "updatedRange": book.a1_of(sheet, written),
        "updatedRows": height,
        "updatedColumns": width,
        "updatedCells": sum(len(r) for r in rows),
    }


def append_values(book: Spreadsheet, a1: str, rows: list[list[Any]], *, raw: bool) -> Json:
    """``values.append``: after the last row with data of the table ``a1`` starts."""
    sheet, box = book.resolve(a1)
    used = [
        r
        for (r, c), cell in sheet.cells.items()
        if box.c0 <= c < box.c1 and r >= box.r0 and has_value(cell)
    ]
    first = max(used) + 1 if used else box.r0
    if first + len(rows) > sheet.rows:
        sheet.grid("rowCount", first + len(rows))
    target = book.a1_of(sheet, Box(first, first + 1, box.c0, box.c0 + 1))
    written = write_values(book, target, rows, raw=raw)
    return {"tableRange": book.a1_of(sheet, box), "updates": written}
