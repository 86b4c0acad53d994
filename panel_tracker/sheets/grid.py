"""The spreadsheet's fixed format, which the push, ``--init`` and ``check`` agree on.

The original script's layout, kept so existing spreadsheets and their formulas keep working:
``Panel Data-<YEAR>`` holds one row per day from row 3 down (rows 1-2 are the template's
header), the date in column A (a real date, ``mm/dd/yyyy``), then each serial's Wh in the
order of the named range ``InverterSerialNumbers``, from column B. A new year's sheet is a
copy of ``Panel Data-TEMPLATE``. Also here: how Sheets stores a date, and A1 notation.
Pure functions only (the sandbox's emulator uses them too).
"""

from __future__ import annotations

import re
from datetime import date

TEMPLATE_TITLE = "Panel Data-TEMPLATE"
YEAR_TITLE_PREFIX = "Panel Data-"
SERIALS_RANGE = "InverterSerialNumbers"
FIRST_DATA_ROW = 2  # zero-based: rows 1-2 are the header, days start at row 3
DATE_PATTERN = "mm/dd/yyyy"
SERIAL_EPOCH = date(1899, 12, 30)  # Sheets' day 0

_YEAR_TITLE = re.compile(re.escape(YEAR_TITLE_PREFIX) + r"(\d{4})")


def year_title(year: int) -> str:
    return f"{YEAR_TITLE_PREFIX}{year}"


def year_of_title(title: str) -> int | None:
    """The year of a ``Panel Data-<YEAR>`` title; None for any other sheet."""
    match = _YEAR_TITLE.fullmatch(title)
    return int(match.group(1)) if match else None


def date_serial(day: date) -> int:
    return (day - SERIAL_EPOCH).days


def a1_quote(title: str) -> str:
    """A sheet title as A1 notation wants it: in single quotes, inner quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
