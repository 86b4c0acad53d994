"""The ``batchUpdate`` requests the emulator takes, applied in order to a working copy.

Each handler checks what the API checks (sheet ids, titles, named-range names, grid limits)
and fails with the API's 400 message, prefixed by the failing request's place; the caller
throws the working copy away then, so a batch is all or nothing.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Callable
from typing import Any

from panel_tracker.sheets.grid import column_letters

from .sheets_fields import set_fields
from .sheets_model import A1_CELLS, Cell, Json, Sheet, Spreadsheet, bad_request

DEFAULT_ROWS, DEFAULT_COLUMNS = 1000, 26


class BatchUpdate:
    """The requests of one batchUpdate, applied in order to a working copy."""

    def __init__(self, book: Spreadsheet) -> None:
        self.book = book
        self.kinds: dict[str, Callable[[Json, str], Json]] = {
            "addSheet": self.add_sheet,
            "duplicateSheet": self.duplicate_sheet,
            "deleteSheet": self.delete_sheet,
            "updateSheetProperties": self.update_sheet_properties,
            "updateSpreadsheetProperties": self.update_spreadsheet_properties,
            "updateCells": self.update_cells,
            "appendCells": self.append_cells,
            "repeatCell": self.repeat_cell,
            "addNamedRange": self.add_named_range,
            "updateNamedRange": self.update_named_range,
            "deleteNamedRange": self.delete_named_range,
            "addConditionalFormatRule": self.add_conditional_format_rule,
            "insertDimension": self.insert_dimension,
            "appendDimension": self.append_dimension,
        }

    def apply(self, requests: list[Json]) -> list[Json]:
        replies = []
        for index, request in enumerate(requests):
            if not isinstance(request, dict) or len(request) != 1:
                raise bad_request(
                    f"Invalid requests[{index}]: exactly one kind of request is required."
                )
            ((kind, body),) = request.items()
            handler = self.kinds.get(kind)
            if handler is None:
                raise bad_request(
                    f'Invalid JSON payload received. Unknown name "{kind}" at '
                    f"'requests[{index}]': Cannot find field."
                )
            replies.append(handler(body, f"Invalid requests[{index}].{kind}: "))
        return replies

    # sheets
    def _insert(self, sheet: Sheet, index: int | None) -> None:
        at = len(self.book.sheets) if index is None else max(0, min(index, len(self.book.sheets)))
        self.book.sheets.insert(at, sheet)
        self.book.reindex()

    def _check_title(self, title: str, what: str) -> None:
        if not title:
            raise bad_request(f"{what}A sheet name must not be empty.")
        if self.book.sheet_by_title(title) is not None:
            raise bad_request(
                f'{what}A sheet with the name "{title}" already exists. Please enter another name.'
            )

    def _check_new_id(self, sheet_id: Any, what: str) -> int:
        if sheet_id is None:
            return self.book.new_sheet_id()
        if any(s.sheet_id == int(sheet_id) for s in self.book.sheets):
            raise bad_request(f"{what}Sheet with id {sheet_id} already exists.")
        return int(sheet_id)

    def add_sheet(self, body: Json, what: str) -> Json:
        props = copy.deepcopy(body.get("properties", {}))
        title = props.get("title") or f"Sheet{len(self.book.sheets) + 1}"
        self._check_title(title, what)
        grid = {"rowCount": DEFAULT_ROWS, "columnCount": DEFAULT_COLUMNS}
        grid.update(props.get("gridProperties", {}))
        props.update(
            sheetId=self._check_new_id(props.get("sheetId"), what),
            title=title,
            sheetType="GRID",
            gridProperties=grid,
        )
        sheet = Sheet(props)
        self._insert(sheet, props.get("index"))
        return {"addSheet": {"properties": copy.deepcopy(sheet.properties)}}

    def duplicate_sheet(self, body: Json, what: str) -> Json:
        source = self.book.sheet_by_id(body.get("sourceSheetId"), what)
        title = body.get("newSheetName") or f"Copy of {source.title}"
        self._check_title(title, what)
        props = copy.deepcopy(source.properties)
        props.update(sheetId=self._check_new_id(body.get("newSheetId"), what), title=title)
        sheet = Sheet(props, copy.deepcopy(source.cells), copy.deepcopy(source.conditional_formats))
        for rule in sheet.conditional_formats:
            for grid_range in rule.get("ranges", []):
                grid_range["sheetId"] = sheet.sheet_id
        self._insert(sheet, body.get("insertSheetIndex"))
        return {"duplicateSheet": {"properties": copy.deepcopy(sheet.properties)}}

    def delete_sheet(self, body: Json, what: str) -> Json:
        sheet = self.book.sheet_by_id(body.get("sheetId"), what)
        if len(self.book.sheets) == 1:
            raise bad_request(f"{what}You can't remove all the sheets in a document.")
        self.book.sheets.remove(sheet)
        self.book.named_ranges = [
            n for n in self.book.named_ranges if n["range"].get("sheetId", 0) != sheet.sheet_id
        ]
        self.book.reindex()
        return {}

    def update_sheet_properties(self, body: Json, what: str) -> Json:
        props = body.get("properties", {})
        sheet = self.book.sheet_by_id(props.get("sheetId", 0), what, "sheet")
        if "title" in props and props["title"] != sheet.title:
            self._check_title(props["title"], what)
        old_index = sheet.properties["index"]
        set_fields(sheet.properties, props, body.get("fields"), what)
        sheet.properties["sheetId"] = sheet.sheet_id
        if sheet.properties.get("index", old_index) != old_index:
            self.book.sheets.remove(sheet)
            self._insert(sheet, sheet.properties["index"])
        return {}

    def update_spreadsheet_properties(self, body: Json, what: str) -> Json:
        set_fields(self.book.properties, body.get("properties", {}), body.get("fields"), what)
        return {}

    # cells
    def _write(self, sheet: Sheet, r: int, c: int, source: Cell, *, fields: str, what: str) -> None:
        if r >= sheet.rows or c >= sheet.columns or r < 0 or c < 0:
            raise bad_request(
                f"{what}Range ('{sheet.title}'!{column_letters(max(c, 0))}{r + 1}) exceeds "
                f"grid limits. Max rows: {sheet.rows}, max columns: {sheet.columns}"
            )
        cell = sheet.cells.get((r, c), {})
        set_fields(cell, source, fields, what)
        if cell:
            sheet.cells[(r, c)] = cell
        else:
            sheet.cells.pop((r, c), None)

    def update_cells(self, body: Json, what: str) -> Json:
        rows = body.get("rows", [])
        if "start" in body:
            start = body["start"]
            sheet = self.book.sheet_by_id(start.get("sheetId", 0), what)
            r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
            for dr, row in enumerate(rows):
                for dc, cell in enumerate(row.get("values", [])):
                    self._write(
                        sheet, r0 + dr, c0 + dc, cell, fields=body.get("fields", ""), what=what
                    )
            return {}
        if "range" not in body:
            raise bad_request(f"{what}Either start or range must be set.")
        sheet = self.book.sheet_by_id(body["range"].get("sheetId", 0), what)
        box = sheet.box_of(body["range"])
        for r, c in box.cells():
            row_values = rows[r - box.r0].get("values", []) if r - box.r0 < len(rows) else []
            cell = row_values[c - box.c0] if c - box.c0 < len(row_values) else {}
            self._write(sheet, r, c, cell, fields=body.get("fields", ""), what=what)
        return {}

    def append_cells(self, body: Json, what: str) -> Json:
        sheet = self.book.sheet_by_id(body.get("sheetId", 0), what)
        rows = body.get("rows", [])
        first = sheet.last_row_with_data() + 1
        if first + len(rows) > sheet.rows:
            sheet.grid("rowCount", first + len(rows))
        for dr, row in enumerate(rows):
            for c, cell in enumerate(row.get("values", [])):
                self._write(sheet, first + dr, c, cell, fields=body.get("fields", ""), what=what)
        return {}

    def repeat_cell(self, body: Json, what: str) -> Json:
        sheet = self.book.sheet_by_id(body.get("range", {}).get("sheetId", 0), what)
        for r, c in sheet.box_of(body.get("range", {})).cells():
            self._write(sheet, r, c, body.get("cell", {}), fields=body.get("fields", ""), what=what)
        return {}

    # named ranges and formats
    def _check_range(self, grid_range: Json, what: str) -> None:
        sheet = self.book.sheet_by_id(grid_range.get("sheetId", 0), what)
        box = sheet.box_of(grid_range)
        if box.r1 > sheet.rows or box.c1 > sheet.columns or box.r0 >= box.r1 or box.c0 >= box.c1:
            raise bad_request(f"{what}The range is not within the sheet's grid.")

    def add_named_range(self, body: Json, what: str) -> Json:
        named = copy.deepcopy(body.get("namedRange", {}))
        name = str(named.get("name", ""))
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,249}", name) or A1_CELLS.fullmatch(name):
            raise bad_request(f"{what}The named range name '{name}' is invalid.")
        if self.book.named_range(name) is not None:
            raise bad_request(f"{what}A named range with the name {name} already exists.")
        self._check_range(named.get("range", {}), what)
        named.setdefault("namedRangeId", secrets.token_hex(6))
        self.book.named_ranges.append(named)
        return {"addNamedRange": {"namedRange": copy.deepcopy(named)}}

    def _named_by_id(self, range_id: Any, what: str) -> Json:
        for named in self.book.named_ranges:
            if named["namedRangeId"] == range_id:
                return named
        raise bad_request(f"{what}No named range with id: {range_id}")

    def update_named_range(self, body: Json, what: str) -> Json:
        update = body.get("namedRange", {})
        named = self._named_by_id(update.get("namedRangeId"), what)
        set_fields(named, update, body.get("fields"), what)
        named["namedRangeId"] = update.get("namedRangeId")
        self._check_range(named.get("range", {}), what)
        return {}

    def delete_named_range(self, body: Json, what: str) -> Json:
        named = self._named_by_id(body.get("namedRangeId"), what)
        self.book.named_ranges.remove(named)
        return {}

    def add_conditional_format_rule(self, body: Json, what: str) -> Json:
        rule = copy.deepcopy(body.get("rule", {}))
        ranges = rule.get("ranges") or []
        if not ranges or not ("booleanRule" in rule or "gradientRule" in rule):
            raise bad_request(f"{what}A rule needs ranges and a booleanRule or gradientRule.")
        for grid_range in ranges:
            self._check_range(grid_range, what)
        sheet = self.book.sheet_by_id(ranges[0].get("sheetId", 0), what)
        index = int(body.get("index", 0))
        sheet.conditional_formats.insert(min(index, len(sheet.conditional_formats)), rule)
        return {}

    # dimensions
    def insert_dimension(self, body: Json, what: str) -> Json:
        span = body.get("range", {})
        sheet = self.book.sheet_by_id(span.get("sheetId", 0), what)
        start, end = int(span.get("startIndex", 0)), int(span.get("endIndex", 0))
        rows = span.get("dimension") == "ROWS"
        limit = sheet.rows if rows else sheet.columns
        if start < 0 or end < 0:
            raise bad_request(f"{what}DimensionRange indexes must be >= 0")
        if not start < end or start > limit:
            raise bad_request(f"{what}Invalid dimension range [{start}, {end}).")
        if start == limit and not body.get("inheritFromBefore"):
            raise bad_request(f"{what}Cannot inherit from after the last row/column.")
        n = end - start
        sheet.cells = {
            (
                (r + n, c)
                if rows and r >= start
                else (r, c + n)
                if not rows and c >= start
                else (r, c)
            ): cell
            for (r, c), cell in sheet.cells.items()
        }
        sheet.grid("rowCount" if rows else "columnCount", limit + n)
        ranges = [n_["range"] for n_ in self.book.named_ranges]
        ranges += [g for rule in sheet.conditional_formats for g in rule.get("ranges", [])]
        for grid_range in ranges:
            if grid_range.get("sheetId", 0) != sheet.sheet_id:
                continue
            first, last = (
                ("startRowIndex", "endRowIndex") if rows else ("startColumnIndex", "endColumnIndex")
            )
            if first in grid_range and grid_range[first] >= start:
                grid_range[first] += n
            if last in grid_range and grid_range[last] > start:
                grid_range[last] += n
        return {}

    def append_dimension(self, body: Json, what: str) -> Json:
        sheet = self.book.sheet_by_id(body.get("sheetId", 0), what)
        length = int(body.get("length", 0))
        if length <= 0:
            raise bad_request(f"{what}length must be positive.")
        if body.get("dimension") == "ROWS":
            sheet.grid("rowCount", sheet.rows + length)
        elif body.get("dimension") == "COLUMNS":
            sheet.grid("columnCount", sheet.columns + length)
        else:
            raise bad_request(f"{what}dimension must be ROWS or COLUMNS.")
        return {}
