"""A loopback emulator of the Sheets v4 calls the project makes, plus Google's token endpoint.

The real ``googleapiclient`` talks to it over HTTP when ``sheets_api_url`` (``client_options
api_endpoint``) points here; the real ``google-auth`` refreshes an authorized-user token.json
against ``/token`` when the file's ``token_uri`` points here.

What it keeps faithful, because the project's correctness depends on it:
- URL shapes of the discovery document (``GET /v4/spreadsheets/<id>``, ``POST ...:batchUpdate``,
  ``/values/<range>`` with the range percent-encoded in the path, ``values:batchGet``).
- ``spreadsheets.get``: ``ranges`` filters the ``sheets`` array (a sheet no range touches is not
  in the answer), one ``data`` block per range, ``startRow``/``startColumn`` omitted when 0,
  trailing empty rows and cells trimmed, the ``fields`` mask applied (it overrides
  ``includeGridData``), and a range on a sheet or named range that does not exist fails the
  whole call with 400 "Unable to parse range".
- ``batchUpdate`` is atomic: its requests apply in order to a copy that replaces the
  spreadsheet only if every one succeeds. Sheet ids, named ranges, grid limits.
- Google's error bodies (400/401/404/429) and injectable faults, including bodies that are not
  JSON. Every HTTP request is counted by API method, faulted ones too (quota counts them).

What it leaves out: formulas are stored, never evaluated (a formula cell has no
``effectiveValue``), formats are stored without effect beyond date/number display.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode

from panel_tracker.files import SECRET_FILE_MODE, atomic_write_json

SCOPE = "https://www.googleapis.com/auth/spreadsheets"
DEFAULT_ROWS, DEFAULT_COLUMNS = 1000, 26
ACCESS_TOKEN_LIFETIME_S = 3600
SERIAL_EPOCH = date(1899, 12, 30)  # Sheets' day 0: date serial numbers count from here

Json = dict[str, Any]
Cell = dict[str, Any]


class ApiError(Exception):
    """An answer in Google's error shape."""

    STATUS: ClassVar[dict[int, str]] = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def body(self) -> Json:
        reason = {400: "badRequest", 404: "notFound", 429: "rateLimitExceeded"}
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [
                    {
                        "message": self.message,
                        "domain": "global",
                        "reason": reason.get(self.code, "backendError"),
                    }
                ],
                "status": self.STATUS.get(self.code, "UNKNOWN"),
            }
        }


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


# ----- A1 notation ----------------------------------------------------------------------------


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_index(letters: str) -> int:
    value = 0
    for char in letters.upper():
        value = value * 26 + ord(char) - 64
    return value - 1


_CELLS = re.compile(r"(?i)([A-Z]{0,3})(\d{0,7})(?::([A-Z]{0,3})(\d{0,7}))?")


def split_a1(a1: str) -> tuple[str | None, str | None]:
    """('Sheet title' or None, 'A1:B2' or None) from "'Sheet'!A1:B2", "Sheet!A:A", "Sheet", ..."""
    text = a1.strip()
    if text.startswith("'"):
        i, title = 1, ""
        while i < len(text):
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    title, i = title + "'", i + 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return title, None
                if rest.startswith("!"):
                    return title, rest[1:]
                raise _bad(f"Unable to parse range: {a1}")
            title, i = title + text[i], i + 1
        raise _bad(f"Unable to parse range: {a1}")
    if "!" in text:
        title, _, cells = text.rpartition("!")
        return title, cells
    return None, text


@dataclass(frozen=True)
class Box:
    """A resolved rectangle: rows [r0, r1), columns [c0, c1), zero-based."""

    r0: int
    r1: int
    c0: int
    c1: int

    def cells(self) -> Iterable[tuple[int, int]]:
        for r in range(self.r0, self.r1):
            for c in range(self.c0, self.c1):
                yield r, c


# ----- the spreadsheet model ------------------------------------------------------------------


@dataclass
class Sheet:
    properties: Json
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    conditional_formats: list[Json] = field(default_factory=list)

    @property
    def sheet_id(self) -> int:
        return int(self.properties["sheetId"])

    @property
    def title(self) -> str:
        return str(self.properties["title"])

    @property
    def rows(self) -> int:
        return int(self.properties["gridProperties"]["rowCount"])

    @property
    def columns(self) -> int:
        return int(self.properties["gridProperties"]["columnCount"])

    def grid(self, key: str, value: int) -> None:
        self.properties["gridProperties"][key] = value

    def cells_box(self, a1_cells: str | None, original: str) -> Box:
        """Cells like "A1:B2", "A:A", "A3:A", "3:3"; an unbounded side runs to the grid's edge."""
        if not a1_cells:
            return Box(0, self.rows, 0, self.columns)
        match = _CELLS.fullmatch(a1_cells.replace("$", ""))
        if match is None:
            raise _bad(f"Unable to parse range: {original}")
        col1, row1, col2, row2 = match.groups()
        if ":" not in a1_cells:
            if not (col1 and row1):
                raise _bad(f"Unable to parse range: {original}")
            col2, row2 = col1, row1
        if not (col1 or row1) or not (col2 or row2) or row1 == "0" or row2 == "0":
            raise _bad(f"Unable to parse range: {original}")
        c0, c1 = _column_index(col1) if col1 else 0, _column_index(col2) + 1 if col2 else None
        r0, r1 = int(row1) - 1 if row1 else 0, int(row2) if row2 else None
        c1 = self.columns if c1 is None else c1
        r1 = self.rows if r1 is None else r1
        r0, r1 = min(r0, r1 - 1), max(r0 + 1, r1)
        c0, c1 = min(c0, c1 - 1), max(c0 + 1, c1)
        if r1 > self.rows or c1 > self.columns or r0 >= self.rows or c0 >= self.columns:
            raise _bad(
                f"Range ({original}) exceeds grid limits. Max rows: {self.rows}, "
                f"max columns: {self.columns}"
            )
        return Box(r0, r1, c0, c1)

    def box_of(self, grid_range: Json) -> Box:
        return Box(
            int(grid_range.get("startRowIndex", 0)),
            int(grid_range.get("endRowIndex", self.rows)),
            int(grid_range.get("startColumnIndex", 0)),
            int(grid_range.get("endColumnIndex", self.columns)),
        )

    def last_row_with_data(self) -> int:
        used = [r for (r, _), cell in self.cells.items() if _has_value(cell)]
        return max(used) if used else -1

    def to_json(self) -> Json:
        return {
            "properties": self.properties,
            "cells": [[r, c, cell] for (r, c), cell in sorted(self.cells.items())],
            "conditionalFormats": self.conditional_formats,
        }

    @classmethod
    def from_json(cls, data: Json) -> Sheet:
        cells = {(int(r), int(c)): cell for r, c, cell in data.get("cells", [])}
        return cls(data["properties"], cells, data.get("conditionalFormats", []))


def _has_value(cell: Cell) -> bool:
    return bool(cell.get("userEnteredValue"))


@dataclass
class Spreadsheet:
    spreadsheet_id: str
    properties: Json
    sheets: list[Sheet] = field(default_factory=list)
    named_ranges: list[Json] = field(default_factory=list)

    def sheet_by_id(self, sheet_id: Any, what: str = "") -> Sheet:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise _bad(f"{what}No grid with id: {sheet_id}")

    def sheet_by_title(self, title: str) -> Sheet | None:
        return next((s for s in self.sheets if s.title == title), None)

    def named_range(self, name: str) -> Json | None:
        return next((n for n in self.named_ranges if n["name"] == name), None)

    def reindex(self) -> None:
        for index, sheet in enumerate(self.sheets):
            sheet.properties["index"] = index

    def resolve(self, a1: str) -> tuple[Sheet, Box]:
        """A1 notation, a sheet title or a named range -> (sheet, box); 400 when it cannot."""
        title, cells = split_a1(a1)
        if title is None:
            named = self.named_range(a1.strip())
            if named is not None:
                sheet = self.sheet_by_id(named["range"].get("sheetId", 0))
                return sheet, sheet.box_of(named["range"])
            by_title = self.sheet_by_title(a1.strip())
            if by_title is not None:
                return by_title, by_title.cells_box(None, a1)
            if not self.sheets or cells is None or not _CELLS.fullmatch(cells.replace("$", "")):
                raise _bad(f"Unable to parse range: {a1}")
            return self.sheets[0], self.sheets[0].cells_box(cells, a1)
        titled = self.sheet_by_title(title)
        if titled is None:
            raise _bad(f"Unable to parse range: {a1}")
        return titled, titled.cells_box(cells, a1)

    def a1_of(self, sheet: Sheet, box: Box) -> str:
        title = "'" + sheet.title.replace("'", "''") + "'"
        first = f"{column_letters(box.c0)}{box.r0 + 1}"
        last = f"{column_letters(box.c1 - 1)}{box.r1}"
        return f"{title}!{first}" if first == last else f"{title}!{first}:{last}"

    def new_sheet_id(self) -> int:
        taken = {s.sheet_id for s in self.sheets}
        while True:
            candidate = random.randint(10**8, 2**31 - 1)
            if candidate not in taken:
                return candidate

    def to_json(self) -> Json:
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": self.properties,
            "sheets": [s.to_json() for s in self.sheets],
            "namedRanges": self.named_ranges,
        }

    @classmethod
    def from_json(cls, data: Json) -> Spreadsheet:
        return cls(
            data["spreadsheetId"],
            data["properties"],
            [Sheet.from_json(s) for s in data.get("sheets", [])],
            data.get("namedRanges", []),
        )


# ----- cell values ----------------------------------------------------------------------------


def date_serial(day: date) -> int:
    return (day - SERIAL_EPOCH).days


def _format_date(serial: float, pattern: str) -> str:
    day = SERIAL_EPOCH + timedelta(days=int(serial))
    out, i, low = "", 0, pattern.lower()
    tokens = (
        ("yyyy", f"{day.year:04d}"),
        ("yy", f"{day.year % 100:02d}"),
        ("mm", f"{day.month:02d}"),
        ("m", str(day.month)),
        ("dd", f"{day.day:02d}"),
        ("d", str(day.day)),
    )
    while i < len(low):
        for token, text in tokens:
            if low.startswith(token, i):
                out, i = out + text, i + len(token)
                break
        else:
            out, i = out + pattern[i], i + 1
    return out


def effective_value(cell: Cell) -> Json | None:
    entered = cell.get("userEnteredValue")
    if not entered or "formulaValue" in entered:
        return None
    return dict(entered)


def formatted_value(cell: Cell) -> str | None:
    value = effective_value(cell)
    if value is None:
        return None
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return "TRUE" if value["boolValue"] else "FALSE"
    number = float(value.get("numberValue", 0))
    number_format = cell.get("userEnteredFormat", {}).get("numberFormat", {})
    if number_format.get("type") in ("DATE", "DATE_TIME"):
        return _format_date(number, number_format.get("pattern") or "M/d/yyyy")
    if number_format.get("type") == "PERCENT":
        return f"{number * 100:.0f}%"
    return str(int(number)) if number == int(number) else repr(number)


_ENTERED_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})|(\d{4})-(\d{2})-(\d{2})")


def user_entered(value: Any, *, raw: bool) -> Cell:  # noqa: PLR0911 - one return per type
    """A values-API value as a cell: USER_ENTERED parses numbers, formulas and dates."""
    if value is None or value == "":
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    text = str(value)
    if raw:
        return {"userEnteredValue": {"stringValue": text}}
    if text.startswith("="):
        return {"userEnteredValue": {"formulaValue": text}}
    with contextlib.suppress(ValueError):
        return {"userEnteredValue": {"numberValue": float(text) if "." in text else int(text)}}
    match = _ENTERED_DATE.fullmatch(text.strip())
    if match:
        m, d, y, iy, im, iday = match.groups()
        with contextlib.suppress(ValueError):
            day = date(int(y), int(m), int(d)) if y else date(int(iy), int(im), int(iday))
            return {
                "userEnteredValue": {"numberValue": date_serial(day)},
                "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "M/d/yyyy"}},
            }
    return {"userEnteredValue": {"stringValue": text}}


def _rendered(cell: Cell, option: str) -> Any:
    if option == "FORMULA" and "formulaValue" in cell.get("userEnteredValue", {}):
        return cell["userEnteredValue"]["formulaValue"]
    if option in ("UNFORMATTED_VALUE", "FORMULA"):
        value = effective_value(cell) or {}
        return next(iter(value.values()), "")
    return formatted_value(cell) or ""


# ----- field masks ----------------------------------------------------------------------------

FieldTree = dict[str, Any]  # name -> subtree, or None for "the whole value"


def parse_fields(text: str) -> FieldTree:
    """Google's partial-response syntax: ``a,b(c,d/e),f.g``."""
    tree: FieldTree = {}
    pos = _parse_field_list(text.replace(" ", ""), 0, tree)
    if pos != len(text.replace(" ", "")):
        raise _bad(f"Invalid field selection {text}")
    return tree


def _parse_field_list(text: str, pos: int, tree: FieldTree) -> int:
    while pos < len(text):
        match = re.compile(r"[A-Za-z_*][\w./*]*").match(text, pos)
        if match is None:
            raise _bad(f"Invalid field selection {text}")
        path = re.split(r"[./]", match.group(0))
        pos = match.end()
        sub: FieldTree | None = None
        if pos < len(text) and text[pos] == "(":
            sub = {}
            pos = _parse_field_list(text, pos + 1, sub)
            if pos >= len(text) or text[pos] != ")":
                raise _bad(f"Invalid field selection {text}")
            pos += 1
        node: FieldTree | None = tree
        for name in path[:-1]:
            assert node is not None
            if name in node and node[name] is None:
                node = None  # already selected whole
                break
            node = node.setdefault(name, {})
        if node is not None:
            last = path[-1]
            if sub is None or (last in node and node[last] is None):
                node[last] = None
            else:
                node.setdefault(last, {}).update(sub)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == ")":
            return pos
    return pos


def apply_mask(value: Any, tree: FieldTree | None) -> Any:
    if tree is None or "*" in tree:
        return value
    if isinstance(value, list):
        return [apply_mask(item, tree) for item in value]
    if isinstance(value, dict):
        return {k: apply_mask(v, tree[k]) for k, v in value.items() if k in tree}
    return value


def _mask_paths(tree: FieldTree, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for name, sub in tree.items():
        paths += [(*prefix, name)] if sub is None else _mask_paths(sub, (*prefix, name))
    return paths


def _set_fields(target: Json, source: Json, fields: str | None, what: str) -> None:
    """Write ``source`` into ``target`` for the fields of a batchUpdate field mask."""
    if not fields:
        raise _bad(f"{what}At least one field must be specified.")
    if fields.strip() == "*":
        target.clear()
        target.update(copy.deepcopy(source))
        return
    for path in _mask_paths(parse_fields(fields)):
        src: Any = source
        for name in path:
            src = src.get(name) if isinstance(src, dict) else None
        node = target
        for name in path[:-1]:
            node = node.setdefault(name, {})
        if src is None:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = copy.deepcopy(src)
    for key in [k for k, v in target.items() if v in ({}, None)]:
        del target[key]


# ----- batchUpdate requests -------------------------------------------------------------------


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
                raise _bad(f"Invalid requests[{index}]: exactly one kind of request is required.")
            ((kind, body),) = request.items()
            handler = self.kinds.get(kind)
            if handler is None:
                raise _bad(
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
            raise _bad(f"{what}A sheet name must not be empty.")
        if self.book.sheet_by_title(title) is not None:
            raise _bad(
                f'{what}A sheet with the name "{title}" already exists. Please enter another name.'
            )

    def _check_new_id(self, sheet_id: Any, what: str) -> int:
        if sheet_id is None:
            return self.book.new_sheet_id()
        if any(s.sheet_id == int(sheet_id) for s in self.book.sheets):
            raise _bad(f"{what}Sheet with id {sheet_id} already exists.")
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
            raise _bad(f"{what}You can't remove all the sheets in a document.")
        self.book.sheets.remove(sheet)
        self.book.named_ranges = [
            n for n in self.book.named_ranges if n["range"].get("sheetId", 0) != sheet.sheet_id
        ]
        self.book.reindex()
        return {}

    def update_sheet_properties(self, body: Json, what: str) -> Json:
        props = body.get("properties", {})
        sheet = self.book.sheet_by_id(props.get("sheetId", 0), what)
        if "title" in props and props["title"] != sheet.title:
            self._check_title(props["title"], what)
        old_index = sheet.properties["index"]
        _set_fields(sheet.properties, props, body.get("fields"), what)
        sheet.properties["sheetId"] = sheet.sheet_id
        if sheet.properties.get("index", old_index) != old_index:
            self.book.sheets.remove(sheet)
            self._insert(sheet, sheet.properties["index"])
        return {}

    def update_spreadsheet_properties(self, body: Json, what: str) -> Json:
        _set_fields(self.book.properties, body.get("properties", {}), body.get("fields"), what)
        return {}

    # cells
    def _write(self, sheet: Sheet, r: int, c: int, source: Cell, *, fields: str, what: str) -> None:
        if r >= sheet.rows or c >= sheet.columns or r < 0 or c < 0:
            raise _bad(
                f"{what}Range ('{sheet.title}'!{column_letters(max(c, 0))}{r + 1}) exceeds "
                f"grid limits. Max rows: {sheet.rows}, max columns: {sheet.columns}"
            )
        cell = sheet.cells.get((r, c), {})
        _set_fields(cell, source, fields, what)
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
            raise _bad(f"{what}Either start or range must be set.")
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
            raise _bad(f"{what}The range is not within the sheet's grid.")

    def add_named_range(self, body: Json, what: str) -> Json:
        named = copy.deepcopy(body.get("namedRange", {}))
        name = str(named.get("name", ""))
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,249}", name) or _CELLS.fullmatch(name):
            raise _bad(f"{what}The named range name '{name}' is invalid.")
        if self.book.named_range(name) is not None:
            raise _bad(f"{what}A named range with the name {name} already exists.")
        self._check_range(named.get("range", {}), what)
        named.setdefault("namedRangeId", secrets.token_hex(6))
        self.book.named_ranges.append(named)
        return {"addNamedRange": {"namedRange": copy.deepcopy(named)}}

    def _named_by_id(self, range_id: Any, what: str) -> Json:
        for named in self.book.named_ranges:
            if named["namedRangeId"] == range_id:
                return named
        raise _bad(f"{what}No named range with id: {range_id}")

    def update_named_range(self, body: Json, what: str) -> Json:
        update = body.get("namedRange", {})
        named = self._named_by_id(update.get("namedRangeId"), what)
        _set_fields(named, update, body.get("fields"), what)
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
            raise _bad(f"{what}A rule needs ranges and a booleanRule or gradientRule.")
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
        if not 0 <= start < end or start > limit:
            raise _bad(f"{what}Invalid dimension range [{start}, {end}).")
        if start == limit and not body.get("inheritFromBefore"):
            raise _bad(f"{what}Cannot inherit from after the last row/column.")
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
            raise _bad(f"{what}length must be positive.")
        if body.get("dimension") == "ROWS":
            sheet.grid("rowCount", sheet.rows + length)
        elif body.get("dimension") == "COLUMNS":
            sheet.grid("columnCount", sheet.columns + length)
        else:
            raise _bad(f"{what}dimension must be ROWS or COLUMNS.")
        return {}


# ----- reading --------------------------------------------------------------------------------


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


# ----- the server -----------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


def _json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload).encode())


@dataclass
class _Fault:
    method: str | None
    status: int
    times: int
    body: bytes | None
    content_type: str


@dataclass
class _Request:
    method: str
    path: str  # still percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Json:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise _bad("Invalid JSON payload received.") from None
        if not isinstance(data, dict):
            raise _bad("Invalid JSON payload received.")
        return data


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/token"), "oauth.token"),
    ("GET", re.compile(r"/auth"), "oauth.authorize"),
    ("POST", re.compile(r"/v4/spreadsheets"), "spreadsheets.create"),
    ("GET", re.compile(r"/v4/spreadsheets/([^/:]+)"), "spreadsheets.get"),
    ("POST", re.compile(r"/v4/spreadsheets/([^/:]+):batchUpdate"), "spreadsheets.batchUpdate"),
    (
        "GET",
        re.compile(r"/v4/spreadsheets/([^/:]+)/values:batchGet"),
        "spreadsheets.values.batchGet",
    ),
    (
        "POST",
        re.compile(r"/v4/spreadsheets/([^/:]+)/values/([^/:]+):append"),
        "spreadsheets.values.append",
    ),
    ("GET", re.compile(r"/v4/spreadsheets/([^/:]+)/values/([^/:]+)"), "spreadsheets.values.get"),
    ("PUT", re.compile(r"/v4/spreadsheets/([^/:]+)/values/([^/:]+)"), "spreadsheets.values.update"),
]


_READS = {"spreadsheets.get", "spreadsheets.values.get", "spreadsheets.values.batchGet"}


class SheetsEmulator:
    """Sheets v4 and Google's token endpoint on 127.0.0.1, in a daemon thread."""

    def __init__(
        self,
        state_file: Path | None = None,
        *,
        client_id: str = "sheets-emulator-client.apps.googleusercontent.com",
        client_secret: str = "SHEETS-EMULATOR-CLIENT-SECRET",
        require_auth: bool = True,
    ) -> None:
        self.state_file = Path(state_file) if state_file else None
        self.client_id, self.client_secret = client_id, client_secret
        self.require_auth = require_auth
        self.url = ""
        self._lock = threading.RLock()
        self._books: dict[str, Spreadsheet] = {}
        self._access: dict[str, float] = {}  # access token -> expiry (epoch)
        self._refresh: set[str] = set()
        self._codes: dict[str, str | None] = {}  # authorization code -> PKCE challenge
        self._calls: Counter[str] = Counter()
        self._faults: list[_Fault] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        if self.state_file and self.state_file.exists():
            self._load()

    # ----- lifecycle -----

    def start(self) -> str:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.emulator = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True, name="sheets-emulator"
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SheetsEmulator:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def token_uri(self) -> str:
        return self.url + "token"

    # ----- persistence -----

    def _load(self) -> None:
        assert self.state_file is not None
        data = json.loads(self.state_file.read_text(encoding="utf-8"))
        self._books = {
            key: Spreadsheet.from_json(book) for key, book in data.get("spreadsheets", {}).items()
        }
        self._access = {k: float(v) for k, v in data.get("access_tokens", {}).items()}
        self._refresh = set(data.get("refresh_tokens", []))

    def _save(self) -> None:
        if self.state_file is None:
            return
        data = {
            "spreadsheets": {key: book.to_json() for key, book in self._books.items()},
            "access_tokens": self._access,
            "refresh_tokens": sorted(self._refresh),
        }
        atomic_write_json(self.state_file, data, mode=SECRET_FILE_MODE)

    # ----- direct access for tests and the demo (no HTTP, not counted) -----

    def create_spreadsheet(self, title: str = "Untitled spreadsheet") -> str:
        with self._lock:
            book = self._new_book({"properties": {"title": title}})
            self._save()
            return book.spreadsheet_id

    def spreadsheet(self, spreadsheet_id: str) -> Spreadsheet:
        """The live model (a deep copy, so a test cannot change it by accident)."""
        with self._lock:
            return copy.deepcopy(self._books[spreadsheet_id])

    def apply(self, spreadsheet_id: str, requests: list[Json]) -> list[Json]:
        """Apply batchUpdate requests directly, e.g. to build a legacy layout in a test."""
        with self._lock:
            replies = self._batch_update(spreadsheet_id, requests)
            self._save()
            return replies

    def set_values(self, spreadsheet_id: str, a1: str, rows: list[list[Any]]) -> None:
        """Write values as a user typing them would (USER_ENTERED), not counted."""
        with self._lock:
            self._write_values(self._book(spreadsheet_id), a1, rows, raw=False)
            self._save()

    def values(self, spreadsheet_id: str, a1: str, option: str = "FORMATTED_VALUE") -> list[Any]:
        """The values of a range as ``values.get`` renders them (trailing blanks cut)."""
        with self._lock:
            book = self._book(spreadsheet_id)
            sheet, box = book.resolve(a1)
            return _value_rows(sheet, box, option)

    def cell(self, spreadsheet_id: str, a1: str) -> Cell:
        """One cell with its effective and formatted value, as ``spreadsheets.get`` shows it."""
        with self._lock:
            sheet, box = self._book(spreadsheet_id).resolve(a1)
            rows = grid_data(sheet, Box(box.r0, box.r0 + 1, box.c0, box.c0 + 1)).get("rowData")
            return rows[0]["values"][0] if rows and rows[0].get("values") else {}

    def titles(self, spreadsheet_id: str) -> list[str]:
        with self._lock:
            return [s.title for s in self._book(spreadsheet_id).sheets]

    def snapshot(self, spreadsheet_id: str) -> Json:
        """Everything the spreadsheet holds, for before/after comparisons."""
        with self._lock:
            return copy.deepcopy(self._book(spreadsheet_id).to_json())

    # ----- tokens -----

    def issue_access_token(self, lifetime: float = ACCESS_TOKEN_LIFETIME_S) -> str:
        token = "ya29.emu-" + secrets.token_urlsafe(24)
        with self._lock:
            self._access[token] = time.time() + lifetime
            self._save()
        return token

    def issue_refresh_token(self) -> str:
        token = "1//emu-" + secrets.token_urlsafe(24)
        with self._lock:
            self._refresh.add(token)
            self._save()
        return token

    def revoke_refresh_token(self, token: str) -> None:
        with self._lock:
            self._refresh.discard(token)
            self._save()

    def write_authorized_user_file(self, path: Path, *, expired: bool = False) -> Path:
        """A token.json as ``Credentials.to_json()`` writes it, refreshable against /token."""
        lifetime = -600 if expired else ACCESS_TOKEN_LIFETIME_S
        expiry = datetime.now(timezone.utc) + timedelta(seconds=lifetime)
        info = {
            "token": self.issue_access_token(lifetime),
            "refresh_token": self.issue_refresh_token(),
            "token_uri": self.token_uri,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scopes": [SCOPE],
            "universe_domain": "googleapis.com",
            "account": "",
            "expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        atomic_write_json(Path(path), info, mode=SECRET_FILE_MODE)
        return Path(path)

    def write_client_secrets_file(self, path: Path) -> Path:
        """A credentials.json of an "installed" OAuth client whose endpoints are this emulator."""
        info = {
            "installed": {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "auth_uri": self.url + "auth",
                "token_uri": self.token_uri,
                "redirect_uris": ["http://localhost"],
            }
        }
        atomic_write_json(Path(path), info, mode=SECRET_FILE_MODE)
        return Path(path)

    # ----- faults and counts -----

    def inject_fault(
        self,
        method: str | None,
        status: int,
        *,
        times: int = 1,
        body: str | bytes | None = None,
        content_type: str = "text/html; charset=UTF-8",
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (e.g. "spreadsheets.get"; None: any).

        Without ``body`` the answer is Google's JSON error for ``status``; with one, that body
        as it is (an HTML page from a proxy, say).
        """
        raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._faults.append(_Fault(method, status, times, raw, content_type))

    @property
    def calls(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    def count(self, method: str | None = None) -> int:
        """Calls of one method, or every Sheets API call (not the token endpoint) with None."""
        with self._lock:
            if method is not None:
                return self._calls[method]
            return sum(n for name, n in self._calls.items() if name.startswith("spreadsheets."))

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # ----- request handling -----

    def handle(self, req: _Request) -> Reply:
        route = next(
            (
                (name, m)
                for verb, pattern, name in _ROUTES
                if verb == req.method and (m := pattern.fullmatch(req.path))
            ),
            None,
        )
        if route is None:
            return _json_reply(404, ApiError(404, f"Not found: {req.path}").body())
        name, match = route
        with self._lock:
            self._calls[name] += 1
            fault = self._take_fault(name)
        if fault is not None:
            if fault.body is not None:
                return Reply(fault.status, fault.body, fault.content_type)
            return _json_reply(fault.status, _fault_error(fault.status, name).body())
        try:
            if name.startswith("oauth."):
                return self._oauth(name, req)
            self._check_auth(req)
            with self._lock:
                payload = self._api(name, [unquote(g) for g in match.groups()], req)
                if name not in _READS:
                    self._save()
            return _json_reply(200, payload)
        except ApiError as exc:
            return _json_reply(exc.code, exc.body())

    def _take_fault(self, name: str) -> _Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.method in (None, name):
                fault.times -= 1
                return fault
        return None

    def _check_auth(self, req: _Request) -> None:
        if not self.require_auth:
            return
        auth = req.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        with self._lock:
            expiry = self._access.get(token)
        if expiry is None or expiry < time.time():
            raise ApiError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
            )

    def _book(self, spreadsheet_id: str) -> Spreadsheet:
        book = self._books.get(spreadsheet_id)
        if book is None:
            raise ApiError(404, "Requested entity was not found.")
        return book

    def _new_book(self, body: Json) -> Spreadsheet:
        spreadsheet_id = "emu" + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
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
        self._books[spreadsheet_id] = book
        return book

    def _batch_update(self, spreadsheet_id: str, requests: list[Json]) -> list[Json]:
        book = self._book(spreadsheet_id)
        if not isinstance(requests, list) or not requests:
            raise _bad("Must specify at least one request.")
        work = copy.deepcopy(book)
        replies = BatchUpdate(work).apply(requests)
        self._books[spreadsheet_id] = work  # all or nothing
        return replies

    def _api(self, name: str, args: list[str], req: _Request) -> Json:  # noqa: PLR0911
        fields = req.param("fields")
        if name == "spreadsheets.create":
            book = self._new_book(req.json())
            body = spreadsheet_body(book, [], False, self.url)
            return apply_mask(body, parse_fields(fields)) if fields else body
        book = self._book(args[0])
        if name == "spreadsheets.get":
            grid = req.param("includeGridData", "false") == "true"
            tree = parse_fields(fields) if fields else None
            if tree is not None:  # a field mask overrides includeGridData
                sheets_tree = tree.get("sheets", {})
                grid = "*" in tree or sheets_tree is None or "data" in sheets_tree
            body = spreadsheet_body(book, req.query.get("ranges", []), grid, self.url)
            masked: Json = apply_mask(body, tree)
            return masked
        if name == "spreadsheets.batchUpdate":
            replies = self._batch_update(args[0], req.json().get("requests", []))
            return {"spreadsheetId": args[0], "replies": replies}
        option = req.param("valueRenderOption", "FORMATTED_VALUE") or "FORMATTED_VALUE"
        if name == "spreadsheets.values.get":
            sheet, box = book.resolve(args[1])
            return _value_range(book, sheet, box, option)
        if name == "spreadsheets.values.batchGet":
            ranges = [book.resolve(a1) for a1 in req.query.get("ranges", [])]
            value_ranges = [_value_range(book, sheet, box, option) for sheet, box in ranges]
            return {"spreadsheetId": args[0], "valueRanges": value_ranges}
        raw = self._value_input(req)
        rows = _as_rows(req.json())
        if name == "spreadsheets.values.update":
            return {"spreadsheetId": args[0], **self._write_values(book, args[1], rows, raw=raw)}
        sheet, box = book.resolve(args[1])  # values.append: after the table's last row
        used = [
            r
            for (r, c), cell in sheet.cells.items()
            if box.c0 <= c < box.c1 and r >= box.r0 and _has_value(cell)
        ]
        first = max(used) + 1 if used else box.r0
        if first + len(rows) > sheet.rows:
            sheet.grid("rowCount", first + len(rows))
        target = book.a1_of(sheet, Box(first, first + 1, box.c0, box.c0 + 1))
        written = self._write_values(book, target, rows, raw=raw)
        return {"spreadsheetId": args[0], "tableRange": book.a1_of(sheet, box), "updates": written}

    @staticmethod
    def _value_input(req: _Request) -> bool:
        option = req.param("valueInputOption")
        if option not in ("RAW", "USER_ENTERED"):
            raise _bad("'valueInputOption' is required but not specified")
        return option == "RAW"

    def _write_values(
        self, book: Spreadsheet, a1: str, rows: list[list[Any]], *, raw: bool
    ) -> Json:
        sheet, box = book.resolve(a1)
        height, width = len(rows), max((len(r) for r in rows), default=0)
        if box.r0 + height > sheet.rows or box.c0 + width > sheet.columns:
            raise _bad(
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

    # ----- OAuth -----

    def _oauth(self, name: str, req: _Request) -> Reply:  # noqa: PLR0911 - one per grant
        if name == "oauth.authorize":
            return self._authorize(req)
        form = dict(parse_qsl(req.body.decode("utf-8", "replace")))
        grant = form.get("grant_type", "")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            if form.get("assertion", "").count(".") != 2:
                return _oauth_error("invalid_grant", "Invalid JWT Signature.")
            return self._token_reply(with_refresh=False)
        client = (form.get("client_id"), form.get("client_secret"))
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("basic "):  # Google takes the client in the body or as Basic
            with contextlib.suppress(ValueError):
                decoded = base64.b64decode(auth[6:].strip()).decode()
                client_id, _, secret = decoded.partition(":")
                client = (unquote(client_id), unquote(secret))
        if client != (self.client_id, self.client_secret):
            return _oauth_error("invalid_client", "The OAuth client was not found.", 401)
        if grant == "refresh_token":
            with self._lock:
                known = form.get("refresh_token") in self._refresh
            if not known:
                return _oauth_error("invalid_grant", "Token has been expired or revoked.")
            return self._token_reply(with_refresh=False)
        if grant == "authorization_code":
            with self._lock:
                if form.get("code") not in self._codes:
                    return _oauth_error("invalid_grant", "Malformed auth code.")
                challenge = self._codes.pop(form.get("code", ""))
            verifier = form.get("code_verifier", "")
            if challenge is not None and _s256(verifier) != challenge:
                return _oauth_error("invalid_grant", "Invalid code verifier.")
            return self._token_reply(with_refresh=True)
        return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _authorize(self, req: _Request) -> Reply:
        """The consent page, already agreed to: redirect back with a code, as Google does."""
        redirect = req.param("redirect_uri") or ""
        if req.param("client_id") != self.client_id or not redirect.startswith("http://localhost"):
            return Reply(400, b"<html>Error 400: invalid_request</html>", "text/html")
        code = "4/emu-" + secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = req.param("code_challenge")
        query = urlencode({"state": req.param("state") or "", "code": code, "scope": SCOPE})
        return Reply(302, b"", "text/html", {"Location": f"{redirect}?{query}"})

    def _token_reply(self, *, with_refresh: bool) -> Reply:
        body: Json = {
            "access_token": self.issue_access_token(),
            "expires_in": ACCESS_TOKEN_LIFETIME_S - 1,
            "scope": SCOPE,
            "token_type": "Bearer",
        }
        if with_refresh:
            body["refresh_token"] = self.issue_refresh_token()
        return _json_reply(200, body)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _oauth_error(error: str, description: str, status: int = 400) -> Reply:
    return _json_reply(status, {"error": error, "error_description": description})


def _fault_error(status: int, method: str) -> ApiError:
    if status == 429:
        kind = "Read" if method.endswith("get") or method.endswith("Get") else "Write"
        return ApiError(
            429,
            f"Quota exceeded for quota metric '{kind} requests' and limit '{kind} requests per "
            "minute per user' of service 'sheets.googleapis.com'.",
        )
    messages = {
        404: "Requested entity was not found.",
        403: "The caller does not have permission",
        500: "Internal error encountered.",
        503: "The service is currently unavailable.",
    }
    return ApiError(status, messages.get(status, "Request failed."))


def _as_rows(payload: Json) -> list[list[Any]]:
    values = payload.get("values", [])
    if payload.get("majorDimension") == "COLUMNS":
        width = max((len(column) for column in values), default=0)
        return [[col[i] if i < len(col) else None for col in values] for i in range(width)]
    return list(values)


def _value_rows(sheet: Sheet, box: Box, option: str) -> list[Any]:
    rows = []
    for r in range(box.r0, box.r1):
        row = [_rendered(sheet.cells.get((r, c), {}), option) for c in range(box.c0, box.c1)]
        while row and row[-1] == "":
            row.pop()
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _value_range(book: Spreadsheet, sheet: Sheet, box: Box, option: str) -> Json:
    body: Json = {"range": book.a1_of(sheet, box), "majorDimension": "ROWS"}
    rows = _value_rows(sheet, box, option)
    if rows:
        body["values"] = rows
    return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: SheetsEmulator


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulator prints nothing."""

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = _Request(self.command, path, parse_qs(query), headers, body)
        reply = self.server.emulator.handle(request)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)
