"""The emulated spreadsheets: sheets, cells, named ranges, A1 ranges, and how a cell shows.

A ``Spreadsheet`` holds its ``Sheet``s (properties as the API shows them, cells keyed by
zero-based (row, column), conditional formats) and its named ranges, and turns to and from
JSON for the emulator's state file. ``resolve`` maps A1 notation, a sheet title or a named
range to a sheet and a ``Box``, failing as the API does ("Unable to parse range", "exceeds
grid limits"). A cell is stored as entered; its effective and formatted values are derived
(formulas are stored, never evaluated).
"""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ClassVar

from panel_tracker.sheets.grid import SERIAL_EPOCH, a1_quote, column_letters, date_serial

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

    def __init__(self, code: int, message: str, *, details: list[Json] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details

    def body(self) -> Json:
        """``{"error": {code, message, status[, details]}}``: no legacy ``errors`` array, as the
        Sheets API answers clients that do not ask for the old format with ``$.xgafv=1``."""
        error: Json = {
            "code": self.code,
            "message": self.message,
            "status": self.STATUS.get(self.code, "UNKNOWN"),
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


# ----- A1 notation ----------------------------------------------------------------------------


def _column_index(letters: str) -> int:
    value = 0
    for char in letters.upper():
        value = value * 26 + ord(char) - 64
    return value - 1


A1_CELLS = re.compile(r"(?i)([A-Z]{0,3})(\d{0,7})(?::([A-Z]{0,3})(\d{0,7}))?")


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
                raise bad_request(f"Unable to parse range: {a1}")
            title, i = title + text[i], i + 1
        raise bad_request(f"Unable to parse range: {a1}")
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
        match = A1_CELLS.fullmatch(a1_cells.replace("$", ""))
        if match is None:
            raise bad_request(f"Unable to parse range: {original}")
        col1, row1, col2, row2 = match.groups()
        if ":" not in a1_cells:
            if not (col1 and row1):
                raise bad_request(f"Unable to parse range: {original}")
            col2, row2 = col1, row1
        if not (col1 or row1) or not (col2 or row2) or row1 == "0" or row2 == "0":
            raise bad_request(f"Unable to parse range: {original}")
        c0, c1 = _column_index(col1) if col1 else 0, _column_index(col2) + 1 if col2 else None
        r0, r1 = int(row1) - 1 if row1 else 0, int(row2) if row2 else None
        c1 = self.columns if c1 is None else c1
        r1 = self.rows if r1 is None else r1
        r0, r1 = min(r0, r1 - 1), max(r0 + 1, r1)
        c0, c1 = min(c0, c1 - 1), max(c0 + 1, c1)
        if r1 > self.rows or c1 > self.columns or r0 >= self.rows or c0 >= self.columns:
            raise bad_request(
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
        used = [r for (r, _), cell in self.cells.items() if has_value(cell)]
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


def has_value(cell: Cell) -> bool:
    return bool(cell.get("userEnteredValue"))


@dataclass
class Spreadsheet:
    spreadsheet_id: str
    properties: Json
    sheets: list[Sheet] = field(default_factory=list)
    named_ranges: list[Json] = field(default_factory=list)

    def sheet_by_id(self, sheet_id: Any, what: str = "", noun: str = "grid") -> Sheet:
        """``noun``: "sheet" where Google says "No sheet with id: 7" (updateSheetProperties, on
        record), else "grid"."""
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise bad_request(f"{what}No {noun} with id: {sheet_id}")

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
            if not self.sheets or cells is None or not A1_CELLS.fullmatch(cells.replace("$", "")):
                raise bad_request(f"Unable to parse range: {a1}")
            return self.sheets[0], self.sheets[0].cells_box(cells, a1)
        titled = self.sheet_by_title(title)
        if titled is None:
            raise bad_request(f"Unable to parse range: {a1}")
        return titled, titled.cells_box(cells, a1)

    def a1_of(self, sheet: Sheet, box: Box) -> str:
        title = a1_quote(sheet.title)
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


# ----- how a cell shows -----------------------------------------------------------------------


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


def rendered(cell: Cell, option: str) -> Any:
    if option == "FORMULA" and "formulaValue" in cell.get("userEnteredValue", {}):
        return cell["userEnteredValue"]["formulaValue"]
    if option in ("UNFORMATTED_VALUE", "FORMULA"):
        value = effective_value(cell) or {}
        return next(iter(value.values()), "")
    return formatted_value(cell) or ""
