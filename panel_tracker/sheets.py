"""Pushing the history into the yearly Google Sheet: one read and one write.

The layout is the original script's, so existing spreadsheets and their formulas keep working:
``Panel Data-<YEAR>`` holds one row per day from row 3 down (rows 1-2 are the template's
header), the date in column A (a real date, ``mm/dd/yyyy``), then each serial's Wh in the
order of the named range ``InverterSerialNumbers``, from column B. A new year's sheet is a
copy of ``Panel Data-TEMPLATE``.

What a push writes (the history is the data of record; the sheet is healed from it):
- The days to consider are those of the years that the last ``sheet_heal_days`` (31) days of
  the history touch. Every such day that the year's sheet lacks is written, in date order (a
  day older than the sheet's last date gets a row inserted at its place); every day of those
  last 31 that the sheet has is rewritten in place, all its rows. Days older than that and
  present are left alone, so a hand edit to last spring stays. ``only_date`` pushes one day.
- An unknown day is a blank cell (with the history's reason as a note, when it has one); an
  estimated day carries a note saying so. A serial in the sheet but not in the history keeps
  its cells; a serial in the history but not in the sheet is not written. Both are warnings.

The cost, and why there is a small state file: in the steady state, on a new year and for a
30-day heal alike, a push is ONE ``spreadsheets.get`` and ONE ``batchUpdate``. The read asks
for ``InverterSerialNumbers`` and column A of the year sheets (and the template, when a year
sheet must be created); the write duplicates the template with a chosen ``newSheetId`` and
fills the rows in the same atomic batch. The API fails the whole read with 400 when one range
names a sheet that does not exist, and ``ranges`` hides every sheet it does not touch, so the
read must already know which year sheets exist: ``<data_dir>/google_sheet-<system_id>.json``
remembers the year sheets seen. Without it (first push) one extra metadata read comes first;
when it is wrong (a sheet deleted or made by hand) the push finds out from the API's answer,
re-reads the sheet list and still succeeds, at one or two extra calls.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from .config import Config
from .errors import DataFileError
from .files import atomic_write_json, read_json
from .history import History
from .sheets_transport import SheetsClient, SheetsError, SheetsRangeError, a1_quote

logger = logging.getLogger(__name__)

TEMPLATE_TITLE = "Panel Data-TEMPLATE"
YEAR_TITLE_PREFIX = "Panel Data-"
SERIALS_RANGE = "InverterSerialNumbers"
FIRST_DATA_ROW = 2  # zero-based: rows 1-2 are the header, days start at row 3
DEFAULT_HEAL_DAYS = 31
DATE_PATTERN = "mm/dd/yyyy"
SERIAL_EPOCH = date(1899, 12, 30)  # Sheets' day 0
ESTIMATED_NOTE = (
    "Estimated: the day was missed, and the gap's energy was split over the missed days "
    "in proportion to the system's production."
)

_PROPERTIES = "properties(sheetId,title,index,gridProperties(rowCount,columnCount))"
META_FIELDS = f"sheets({_PROPERTIES}),namedRanges(name,namedRangeId,range)"
DATA_FIELDS = (
    f"sheets({_PROPERTIES},data(startRow,startColumn,rowData(values(effectiveValue,"
    "formattedValue)))),namedRanges(name,namedRangeId,range)"
)
_YEAR_TITLE = re.compile(re.escape(YEAR_TITLE_PREFIX) + r"(\d{4})")
_OTHER = "other"  # a column-A cell that is not a date (a header, a note, a total)


def year_title(year: int) -> str:
    return f"{YEAR_TITLE_PREFIX}{year}"


def date_serial(day: date) -> int:
    return (day - SERIAL_EPOCH).days


class SheetConfigError(SheetsError):
    """A Google Sheet setting in the config is missing or wrong (exit 2)."""

    exit_code = 2


class SheetNotConfiguredError(SheetConfigError):
    """No spreadsheet_id in the config: the user must set one or run --init."""


@dataclass(frozen=True)
class PushResult:
    spreadsheet_id: str
    days_written: list[str]
    rows_updated: int
    rows_added: int
    warnings: list[str]
    api_calls: int


def sheets_configured(config: Config) -> bool:
    """True when the config names a spreadsheet (not the template's placeholder)."""
    return config.spreadsheet_id is not None


# ----- what the tool remembers about the spreadsheet --------------------------------------------


@dataclass
class KnownSheets:
    """The year sheets seen last time: lets the one read ask only for ranges that exist."""

    path: Path
    spreadsheet_id: str
    year_sheets: dict[int, int] = field(default_factory=dict)  # year -> sheetId
    loaded: bool = False  # False: nothing usable on disk, read the sheet list first
    writable: bool = True  # False: the file does not parse, and is never overwritten

    @classmethod
    def load(cls, config: Config, spreadsheet_id: str) -> KnownSheets:
        path = config.data_dir / f"google_sheet-{config.system_id}.json"
        known = cls(path, spreadsheet_id)
        if not path.exists():
            return known
        try:
            data = read_json(path, what="Google Sheet state file")
        except DataFileError as exc:
            logger.warning("%s; the push reads the sheet list instead", exc)
            known.writable = False
            return known
        if isinstance(data, dict) and data.get("spreadsheet_id") == spreadsheet_id:
            years = data.get("year_sheets")
            if isinstance(years, dict):
                known.year_sheets = {int(y): int(i) for y, i in years.items() if str(y).isdigit()}
                known.loaded = True
        return known

    def learn(self, titles: dict[str, int], *, complete: bool) -> None:
        """Sheets seen in an answer; ``complete`` when it listed every sheet."""
        seen = {int(m.group(1)): i for t, i in titles.items() if (m := _YEAR_TITLE.fullmatch(t))}
        if complete:
            self.year_sheets = seen
            self.loaded = True
        else:
            self.year_sheets.update(seen)

    def save(self) -> None:
        if not self.writable:
            return
        years = {str(y): i for y, i in sorted(self.year_sheets.items())}
        atomic_write_json(
            self.path, {"spreadsheet_id": self.spreadsheet_id, "year_sheets": years}, indent=2
        )


# ----- reading the spreadsheet's answer --------------------------------------------------------


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


ColumnMark = date | str | None  # a date, _OTHER, or None for an empty cell


@dataclass
class Snapshot:
    """What the one read returned: the sheets it touched, the serials, column A per sheet."""

    sheets: dict[str, SheetInfo]
    serial_columns: list[str | None]
    column_a: dict[str, list[ColumnMark]]


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


_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y", "%d.%m.%Y")


def cell_date(cell: dict[str, Any]) -> ColumnMark:
    """A column-A cell: its date (a date serial or text Sheets did not parse), else a mark."""
    value = cell.get("effectiveValue") or {}
    if "numberValue" in value:
        number = float(value["numberValue"])
        if 1 <= number < 200_000:
            return SERIAL_EPOCH + timedelta(days=int(number))
        return _OTHER
    text = cell_text(cell)
    if text is None:
        return None
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return _OTHER


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


def parse_snapshot(response: dict[str, Any], ranges: list[tuple[str, str]]) -> Snapshot:
    """``ranges``: (kind, sheet title or named range) in request order; kind serials|column_a."""
    named = {n.get("name"): n.get("range", {}) for n in response.get("namedRanges", [])}
    serials_range = named.get(SERIALS_RANGE, {})
    sheets: dict[str, SheetInfo] = {}
    blocks: dict[int, list[dict[str, Any]]] = {}
    for sheet in response.get("sheets", []):
        info = SheetInfo.from_api(sheet.get("properties", {}))
        sheets[info.title] = info
        blocks[info.sheet_id] = list(sheet.get("data", []))
    by_id = {info.sheet_id: info for info in sheets.values()}
    serial_columns: list[str | None] = []
    column_a: dict[str, list[ColumnMark]] = {}
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
    return Snapshot(sheets, serial_columns, column_a)


def _span(grid_range: dict[str, Any], axis: str) -> int | None:
    end = grid_range.get(f"end{axis}Index")
    return None if end is None else int(end) - int(grid_range.get(f"start{axis}Index", 0))


# ----- the push --------------------------------------------------------------------------------


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


def push_history(
    config: Config,
    history: History,
    *,
    only_date: str | None = None,
    service: Any | None = None,
) -> PushResult:
    """Write the days the year sheets lack and rewrite the recent ones: one read, one write.

    ``service``: a ``SheetsClient`` or a ``googleapiclient`` service (tests, the benchmark);
    by default one is built from the config's credentials. Raises ``SheetsError``; each
    warning is logged as well as returned.
    """
    spreadsheet_id = config.spreadsheet_id
    if spreadsheet_id is None:
        raise SheetNotConfiguredError(
            f"{config.path}: spreadsheet_id is not set; set it to the id in the sheet's web "
            "address, or run populate_google_sheet.py --init to create a spreadsheet"
        )
    heal_days = _heal_days(config)
    days = days_to_push(history, only_date=only_date, heal_days=heal_days)
    if not days.by_year:
        note = f"the history has no day {only_date}" if only_date else "the history has no days"
        logger.warning("Google Sheet: nothing to push (%s)", note)
        return PushResult(spreadsheet_id, [], 0, 0, [f"nothing to push: {note}"], 0)
    client = service if isinstance(service, SheetsClient) else None
    if client is None:
        client = SheetsClient(service) if service is not None else SheetsClient.from_config(config)
    calls_before = client.calls
    known = KnownSheets.load(config, spreadsheet_id)
    push = _Push(client, spreadsheet_id, history, days, known)
    plan = push.run()
    known.save()
    for warning in plan.warnings:
        logger.warning("Google Sheet: %s", warning)
    result = PushResult(
        spreadsheet_id=spreadsheet_id,
        days_written=sorted(plan.added + plan.updated),
        rows_updated=len(plan.updated),
        rows_added=len(plan.added),
        warnings=plan.warnings,
        api_calls=client.calls - calls_before,
    )
    logger.info(
        "Google Sheet: %d days written (%d new, %d rewritten) in %d calls",
        len(result.days_written),
        result.rows_added,
        result.rows_updated,
        result.api_calls,
    )
    return result


def _heal_days(config: Config) -> int:
    value = config.raw.get("sheet_heal_days", DEFAULT_HEAL_DAYS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SheetConfigError(
            f"{config.path}: sheet_heal_days must be a whole number of days (default "
            f"{DEFAULT_HEAL_DAYS}), got {value!r}"
        )
    return value


@dataclass
class Plan:
    requests: list[dict[str, Any]] = field(default_factory=list)
    created: dict[int, int] = field(default_factory=dict)  # year -> new sheetId
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Push:
    """One push: read (with the fallbacks the module docstring names), plan, write."""

    def __init__(
        self,
        client: SheetsClient,
        spreadsheet_id: str,
        history: History,
        days: DaysToPush,
        known: KnownSheets,
    ) -> None:
        self.client, self.spreadsheet_id = client, spreadsheet_id
        self.history, self.days, self.known = history, days, known
        self.listed = False  # the full sheet list was read during this push

    def run(self) -> Plan:
        plan = self._plan(self._read())
        if not plan.requests:
            return plan
        try:
            self.client.batch_update(self.spreadsheet_id, plan.requests)
        except SheetsError as exc:
            # A sheet we meant to create may exist after all (made by hand, or by the
            # original script): the batch then fails as a whole. Look, and plan again once.
            if exc.status != 400 or not plan.created or self.listed:
                raise
            self._list_sheets()
            if not any(year in self.known.year_sheets for year in plan.created):
                raise
            plan = self._plan(self._read())
            self.client.batch_update(self.spreadsheet_id, plan.requests)
        self.known.year_sheets.update(plan.created)
        return plan

    # ----- the read -----

    def _list_sheets(self) -> dict[str, Any]:
        response = self.client.get(self.spreadsheet_id, fields=META_FIELDS)
        titles = {
            str(s["properties"].get("title")): int(s["properties"].get("sheetId", 0))
            for s in response.get("sheets", [])
        }
        self.known.learn(titles, complete=True)
        self.listed = True
        return {"titles": titles, "named": {n.get("name") for n in response.get("namedRanges", [])}}

    def _read(self) -> Snapshot:
        listing = None if self.known.loaded else self._list_sheets()
        while True:
            needs_template = any(y not in self.known.year_sheets for y in self.days.by_year)
            ranges: list[tuple[str, str]] = [("serials", SERIALS_RANGE)]
            ranges += [
                ("column_a", year_title(y))
                for y in self.days.by_year
                if y in self.known.year_sheets
            ]
            if needs_template:
                ranges.append(("template", TEMPLATE_TITLE))
            try:
                response = self.client.get(
                    self.spreadsheet_id,
                    ranges=[_a1(kind, target) for kind, target in ranges],
                    fields=DATA_FIELDS,
                    include_grid_data=True,
                )
            except SheetsRangeError:
                if listing is not None:
                    raise self._missing_piece(listing, needs_template) from None
                listing = self._list_sheets()
                continue
            snapshot = parse_snapshot(response, ranges)
            titles = {t: info.sheet_id for t, info in snapshot.sheets.items()}
            self.known.learn(titles, complete=False)
            return snapshot

    def _missing_piece(self, listing: dict[str, Any], needs_template: bool) -> SheetsError:
        if SERIALS_RANGE not in listing["named"]:
            return SheetsError(
                f"spreadsheet {self.spreadsheet_id} has no named range {SERIALS_RANGE} (the "
                "serials, in the order of the Panel Data columns); run populate_google_sheet.py "
                "--init to add what is missing (it changes no data)"
            )
        if needs_template and TEMPLATE_TITLE not in listing["titles"]:
            missing = [y for y in self.days.by_year if y not in self.known.year_sheets]
            return SheetsError(
                f"spreadsheet {self.spreadsheet_id} has no sheet '{TEMPLATE_TITLE}' to copy for "
                f"'{year_title(missing[0])}'; run populate_google_sheet.py --init to add it"
            )
        return SheetsError(f"spreadsheet {self.spreadsheet_id}: a range could not be read")

    # ----- the plan -----

    def _plan(self, snapshot: Snapshot) -> Plan:
        plan = Plan()
        columns = self._serial_columns(snapshot, plan)
        template = snapshot.sheets.get(TEMPLATE_TITLE)
        taken = {info.sheet_id for info in snapshot.sheets.values()}
        taken |= set(self.known.year_sheets.values())
        for year, year_days in sorted(self.days.by_year.items()):
            info = snapshot.sheets.get(year_title(year))
            if info is None:
                if template is None:
                    raise SheetsError(
                        f"spreadsheet {self.spreadsheet_id}: '{TEMPLATE_TITLE}' was not found "
                        f"to create '{year_title(year)}'; run populate_google_sheet.py --init"
                    )
                info = self._create_year_sheet(year, template, snapshot, taken, plan)
                marks: list[ColumnMark] = [_OTHER] * FIRST_DATA_ROW
            else:
                marks = list(snapshot.column_a.get(info.title, []))
            _YearWriter(self.history, info, marks, columns, plan).write(year_days, self.days)
        return plan

    def _serial_columns(self, snapshot: Snapshot, plan: Plan) -> list[tuple[int, str]]:
        """(column index, serial) for each serial the sheet has and the history knows."""
        if not any(snapshot.serial_columns):
            raise SheetsError(
                f"the named range {SERIALS_RANGE} of spreadsheet {self.spreadsheet_id} holds no "
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
            if serial not in self.history.micros:
                plan.warnings.append(
                    f"serial {serial} is in the sheet ({SERIALS_RANGE}) but not in the history; "
                    "its column was left as it is"
                )
                continue
            columns.append((1 + position, serial))
        pushed = {d for days in self.days.by_year.values() for d in days}
        for serial in self.history.serials():
            if serial not in seen and pushed & set(self.history.days_of(serial)):
                plan.warnings.append(
                    f"serial {serial} is in the history but not in the sheet's {SERIALS_RANGE}; "
                    "its days were not written (populate_google_sheet.py --init adds its column)"
                )
        return columns

    def _create_year_sheet(
        self, year: int, template: SheetInfo, snapshot: Snapshot, taken: set[int], plan: Plan
    ) -> SheetInfo:
        sheet_id = _new_sheet_id(taken)
        taken.add(sheet_id)
        # The newest year goes in front of the older ones; else where the template is.
        year_indexes = [
            info.index for title, info in snapshot.sheets.items() if _YEAR_TITLE.fullmatch(title)
        ]
        index = min(year_indexes) if year_indexes else template.index
        plan.requests.append(
            {
                "duplicateSheet": {
                    "sourceSheetId": template.sheet_id,
                    "insertSheetIndex": index,
                    "newSheetId": sheet_id,
                    "newSheetName": year_title(year),
                }
            }
        )
        plan.created[year] = sheet_id
        return SheetInfo(sheet_id, year_title(year), index, template.rows, template.columns)


def _a1(kind: str, target: str) -> str:
    if kind == "serials":
        return target
    if kind == "template":
        return f"{a1_quote(target)}!A1"
    return f"{a1_quote(target)}!A:A"


def _new_sheet_id(taken: set[int]) -> int:
    while True:
        candidate = random.randint(10**8, 2**31 - 1)
        if candidate not in taken:
            return candidate


class _YearWriter:
    """The requests for one year sheet: rows placed in date order, then their cells."""

    def __init__(
        self,
        history: History,
        sheet: SheetInfo,
        marks: list[ColumnMark],
        columns: list[tuple[int, str]],
        plan: Plan,
    ) -> None:
        self.history, self.sheet, self.columns, self.plan = history, sheet, columns, plan
        used = [i for i, mark in enumerate(marks) if mark is not None]
        last = max(used[-1] if used else 0, FIRST_DATA_ROW - 1)
        self.marks = (marks + [None] * (last + 1))[: last + 1]

    def write(self, year_days: list[str], days: DaysToPush) -> None:
        present = {m for m in self.marks[FIRST_DATA_ROW:] if isinstance(m, date)}
        missing = [d for d in year_days if date.fromisoformat(d) not in present]
        rewrite = [d for d in year_days if d in days.rewrite and date.fromisoformat(d) in present]
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
                self.plan.warnings.append(
                    f"{day} has {len(found)} rows in '{self.sheet.title}'; all were rewritten "
                    "(delete the extra rows)"
                )
            rows += [(i, day) for i in found]
        self._energies(sorted(rows))
        self.plan.added += missing
        self.plan.updated += rewrite

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
            self.plan.requests.append(
                {
                    "insertDimension": {
                        "range": {
                            "sheetId": self.sheet.sheet_id,
                            "dimension": "ROWS",
                            "startIndex": later,
                            "endIndex": later + 1,
                        },
                        "inheritFromBefore": later > FIRST_DATA_ROW,
                    }
                }
            )
            self.marks.insert(later, when)
            inserted += 1
        return inserted

    def _grow(self, inserted: int) -> None:
        rows_short = len(self.marks) - (self.sheet.rows + inserted)
        columns_short = max((c for c, _ in self.columns), default=0) + 1 - self.sheet.columns
        for dimension, short in (("ROWS", rows_short), ("COLUMNS", columns_short)):
            if short > 0:
                self.plan.requests.append(
                    {
                        "appendDimension": {
                            "sheetId": self.sheet.sheet_id,
                            "dimension": dimension,
                            "length": short,
                        }
                    }
                )

    def _dates(self, new_rows: list[int]) -> None:
        for start, run in _runs(new_rows):
            cells = [[_date_cell(self.marks[start + k])] for k in range(run)]
            self._update(start, 0, cells, "userEnteredValue,userEnteredFormat.numberFormat")

    def _energies(self, rows: list[tuple[int, str]]) -> None:
        column_runs = list(_runs([c for c, _ in self.columns]))
        serial_at = dict(self.columns)
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
        self.plan.requests.append(
            {
                "updateCells": {
                    "start": {
                        "sheetId": self.sheet.sheet_id,
                        "rowIndex": row,
                        "columnIndex": column,
                    },
                    "rows": [{"values": values} for values in cells],
                    "fields": fields,
                }
            }
        )


def _after(mark: ColumnMark, day: date) -> bool:
    return isinstance(mark, date) and mark > day


def _iso(mark: ColumnMark) -> str | None:
    return mark.isoformat() if isinstance(mark, date) else None


def _date_cell(mark: ColumnMark) -> dict[str, Any]:
    assert isinstance(mark, date)
    return {
        "userEnteredValue": {"numberValue": date_serial(mark)},
        "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": DATE_PATTERN}},
    }


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
