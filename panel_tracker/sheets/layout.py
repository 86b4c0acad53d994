"""``--init``: a complete spreadsheet laid out by the tool, or what an existing one lacks.

The layout the original's users copied by hand from a stranger's template, built instead:
- ``Panel Data-TEMPLATE``: row 1 the serials (the named range ``InverterSerialNumbers``,
  B1 onwards), row 2 each serial's year total, days from row 3 (column A formatted as dates).
- ``Panel Data-<YEAR>``: a copy of the template for the current year.
- ``Last 7 Days`` and ``Dashboard``: the summaries (``sheet_summaries``).

Idempotent and careful: a sheet or named range that exists is left as it is (never
rewritten), so running ``--init`` on a laid-out spreadsheet changes no data. The one
addition to an existing layout is a serial the history has and the named range lacks (a
replaced micro-inverter): it is appended to the named range when the cells to its right are
empty. Everything missing is added in one ``batchUpdate``; the spreadsheet is read at most
twice (the sheet list, then the serials when the named range exists).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..roof import PanelLayout
from ..wording import counted
from .bodies import (
    BOLD,
    BOLD_FIELDS,
    NUMBER_FORMAT_FIELDS,
    append_dimension,
    date_format,
    duplicate_sheet,
    formula_cell,
    new_sheet_id,
    repeat_cell,
    text_cell,
    update_cells,
)
from .columns import header_requests
from .grid import (
    FIRST_DATA_ROW,
    SERIALS_RANGE,
    TEMPLATE_TITLE,
    a1_quote,
    column_letters,
    year_title,
)
from .read import META_FIELDS, SheetInfo, cell_text
from .state import KnownSheets
from .summaries import (
    DASHBOARD_TITLE,
    LAST_7_DAYS_TITLE,
    ColourThresholds,
    dashboard_requests,
    last_7_days_requests,
    panel_grid,
)
from .transport import SheetsClient, SheetsError

logger = logging.getLogger(__name__)

TEMPLATE_ROWS = 400  # a year of days and the header; a push adds rows when it needs them


@dataclass(frozen=True)
class LayoutResult:
    spreadsheet_id: str
    added: list[str]
    warnings: list[str]
    api_calls: int


def create_spreadsheet(client: SheetsClient, title: str) -> str:
    """A new, empty spreadsheet; the caller saves its id into the config at once."""
    response = client.create({"properties": {"title": title}}, fields="spreadsheetId")
    spreadsheet_id = str(response.get("spreadsheetId") or "")
    if not spreadsheet_id:
        raise SheetsError("Google Sheets created a spreadsheet but did not say its id")
    logger.info("created spreadsheet %s", spreadsheet_id)
    return spreadsheet_id


def lay_out_spreadsheet(
    client: SheetsClient,
    spreadsheet_id: str,
    serials: Sequence[str],
    *,
    year: int,
    state_file: Path,
    system_name: str,
    panel_layout: PanelLayout | None,
    colours: ColourThresholds,
    remove_default_sheet: bool = False,
) -> LayoutResult:
    """Add what the spreadsheet lacks of the layout (see the module docstring).

    ``state_file`` is where the tool keeps the sheet ids it learns; ``system_name`` and
    ``panel_layout`` (rows of serials, as the roof shows them) title and arrange the Dashboard;
    ``colours`` are the shares of the median below which the summary sheets colour a panel.
    """
    calls_before = client.calls
    layout = _Layout(
        client, spreadsheet_id, sorted(set(serials)), year, system_name, panel_layout, colours
    )
    layout.read()
    layout.plan(remove_default_sheet=remove_default_sheet)
    if layout.requests:
        client.batch_update(spreadsheet_id, layout.requests)
    known = KnownSheets.load_file(state_file, spreadsheet_id)
    titles = {title: info.sheet_id for title, info in layout.sheets.items()}
    titles.update(layout.new_ids)
    known.learn(titles, complete=True)
    known.save()
    for warning in layout.warnings:
        logger.warning("Google Sheet layout: %s", warning)
    return LayoutResult(spreadsheet_id, layout.added, layout.warnings, client.calls - calls_before)


@dataclass
class _Layout:
    client: SheetsClient
    spreadsheet_id: str
    serials: list[str]
    year: int
    system_name: str
    panel_layout: PanelLayout | None
    colours: ColourThresholds
    sheets: dict[str, SheetInfo] = field(default_factory=dict)
    named: dict[str, dict[str, Any]] = field(default_factory=dict)
    sheet_serials: list[str | None] = field(default_factory=list)
    room_right: bool = True  # the cells right of the named range are empty
    template_row: list[str | None] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    new_ids: dict[str, int] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    # ----- reading -----

    def read(self) -> None:
        meta = self.client.get(self.spreadsheet_id, fields=META_FIELDS)
        for sheet in meta.get("sheets", []):
            info = SheetInfo.from_api(sheet.get("properties", {}))
            self.sheets[info.title] = info
        self.named = {n["name"]: n for n in meta.get("namedRanges", []) if "name" in n}
        ranges: list[str] = []
        serials_range = self.named.get(SERIALS_RANGE, {}).get("range")
        right = self._right_of(serials_range) if serials_range else None
        template = self.sheets.get(TEMPLATE_TITLE)
        if serials_range:
            ranges.append(SERIALS_RANGE)
            if right:
                ranges.append(right)
        elif template is not None and template.columns > 1:
            ranges.append(f"{a1_quote(TEMPLATE_TITLE)}!B1:{column_letters(template.columns - 1)}1")
        if not ranges:
            return
        response = self.client.get(
            self.spreadsheet_id, ranges=ranges, fields=_VALUES_FIELDS, include_grid_data=True
        )
        blocks = _in_request_order(response, ranges, self.named, self.sheets)
        if serials_range:
            self.sheet_serials = _flat_texts(blocks[0])
            if right:
                self.room_right = not any(_flat_texts(blocks[1]))
        else:
            self.template_row = _flat_texts(blocks[0])

    def _right_of(self, grid_range: dict[str, Any]) -> str | None:
        """The cells right of a one-row named range where new serials would go."""
        start, end = grid_range.get("startRowIndex", 0), grid_range.get("endRowIndex")
        sheet = next(
            (s for s in self.sheets.values() if s.sheet_id == grid_range.get("sheetId", 0)), None
        )
        if sheet is None or end is None or end - start != 1:
            return None
        first = int(grid_range.get("endColumnIndex", sheet.columns))
        if first >= sheet.columns:
            return None  # beyond the grid: empty by definition
        last = min(sheet.columns, first + len(self.serials)) - 1
        row = int(start) + 1
        return f"{a1_quote(sheet.title)}!{column_letters(first)}{row}:{column_letters(last)}{row}"

    # ----- planning -----

    def plan(self, *, remove_default_sheet: bool) -> None:
        # The order users know: Dashboard, Last 7 Days, the years (newest first), the template.
        template_id, template_index = self._template()
        self._year_sheet(template_id, template_index)
        if LAST_7_DAYS_TITLE not in self.sheets:
            self.requests += last_7_days_requests(self._new_id(LAST_7_DAYS_TITLE), self.colours)
            self.added.append(f"sheet '{LAST_7_DAYS_TITLE}'")
        if DASHBOARD_TITLE not in self.sheets:
            grid, warnings = panel_grid(self.panel_layout, self.serials)
            self.warnings += warnings
            sheet_id = self._new_id(DASHBOARD_TITLE)
            self.requests += dashboard_requests(sheet_id, self.system_name, grid, self.colours)
            self.added.append(f"sheet '{DASHBOARD_TITLE}'")
        if remove_default_sheet:
            ours = {TEMPLATE_TITLE, year_title(self.year), LAST_7_DAYS_TITLE, DASHBOARD_TITLE}
            for title, info in self.sheets.items():
                if title not in ours:
                    self.requests.append({"deleteSheet": {"sheetId": info.sheet_id}})

    def _new_id(self, title: str) -> int:
        taken = {s.sheet_id for s in self.sheets.values()} | set(self.new_ids.values())
        self.new_ids[title] = new_sheet_id(taken)
        return self.new_ids[title]

    def _template(self) -> tuple[int, int]:
        """The template's sheet id and index, adding it (or its named range) when missing."""
        template = self.sheets.get(TEMPLATE_TITLE)
        has_range = SERIALS_RANGE in self.named
        if template is not None:
            if has_range:
                self._add_new_serials()
            elif any(self.template_row):
                width = len(self.template_row)
                self._named_range(template.sheet_id, width)
                self.added.append(f"named range {SERIALS_RANGE} over the template's row 1")
            else:
                self._template_header(template.sheet_id, rows=template.rows)
                self._named_range(template.sheet_id, len(self.serials))
                self.added.append(
                    f"named range {SERIALS_RANGE} ({counted(len(self.serials), 'serial')})"
                )
            return template.sheet_id, template.index
        sheet_id = self._new_id(TEMPLATE_TITLE)
        columns = max(26, len(self.serials) + 1)
        self.requests.append(
            {
                "addSheet": {
                    "properties": {
                        "sheetId": sheet_id,
                        "title": TEMPLATE_TITLE,
                        "gridProperties": {
                            "rowCount": TEMPLATE_ROWS,
                            "columnCount": columns,
                            "frozenRowCount": FIRST_DATA_ROW,
                            "frozenColumnCount": 1,
                        },
                    }
                }
            }
        )
        self.added.append(f"sheet '{TEMPLATE_TITLE}'")
        header = self.serials
        if has_range:
            self.warnings.append(
                f"{SERIALS_RANGE} exists outside '{TEMPLATE_TITLE}'; the new template copies "
                "its serials as the header and the named range stays where it is"
            )
            header = [s for s in self.sheet_serials if s] or self.serials
        self._template_header(sheet_id, header, rows=TEMPLATE_ROWS)
        if not has_range:
            self._named_range(sheet_id, len(self.serials))
            self.added.append(
                f"named range {SERIALS_RANGE} ({counted(len(self.serials), 'serial')})"
            )
        return sheet_id, len(self.sheets)

    def _template_header(
        self, sheet_id: int, serials: Sequence[str] | None = None, *, rows: int
    ) -> None:
        serials = list(self.serials if serials is None else serials)
        row1 = [text_cell("Serial")] + [text_cell(s) for s in serials]
        row2 = [text_cell("Total (Wh)")] + [
            formula_cell(f"=SUM({column_letters(1 + i)}3:{column_letters(1 + i)})")
            for i in range(len(serials))
        ]
        self._cells(sheet_id, 0, 0, [row1, row2], "userEnteredValue")
        self.requests += [
            repeat_cell(sheet_id, (0, FIRST_DATA_ROW, 0, len(serials) + 1), BOLD, BOLD_FIELDS),
            repeat_cell(
                sheet_id,
                (FIRST_DATA_ROW, max(rows, FIRST_DATA_ROW + 1), 0, 1),
                date_format(),
                NUMBER_FORMAT_FIELDS,
            ),
        ]

    def _named_range(self, sheet_id: int, width: int) -> None:
        self.requests.append(
            {
                "addNamedRange": {
                    "namedRange": {
                        "name": SERIALS_RANGE,
                        "range": {
                            "sheetId": sheet_id,
                            "startRowIndex": 0,
                            "endRowIndex": 1,
                            "startColumnIndex": 1,
                            "endColumnIndex": 1 + max(width, 1),
                        },
                    }
                }
            }
        )

    def _add_new_serials(self) -> None:
        """A serial the history has and the named range lacks: appended to it, if there is room."""
        have = {s for s in self.sheet_serials if s}
        new = [s for s in self.serials if s not in have]
        if not new:
            return
        named = self.named[SERIALS_RANGE]
        grid_range = dict(named["range"])
        sheet = next(
            (s for s in self.sheets.values() if s.sheet_id == grid_range.get("sheetId", 0)), None
        )
        one_row = grid_range.get("endRowIndex", 0) - grid_range.get("startRowIndex", 0) == 1
        if sheet is None or not one_row or not self.room_right:
            self.warnings.append(
                f"serials {', '.join(new)} are not in {SERIALS_RANGE}, and the cells to its "
                "right are not free: add them to the named range by hand"
            )
            return
        first = int(grid_range.get("endColumnIndex", sheet.columns))
        if first + len(new) > sheet.columns:
            self.requests.append(
                append_dimension(sheet.sheet_id, "COLUMNS", first + len(new) - sheet.columns)
            )
        row = int(grid_range.get("startRowIndex", 0))
        self._cells(sheet.sheet_id, row, first, [[text_cell(s) for s in new]], "userEnteredValue")
        year = self.sheets.get(year_title(self.year))
        if year is not None and year.sheet_id != sheet.sheet_id:
            # The year sheet was copied from the template before: without its own header cell
            # the new serial's days would sit in a column no one can name.
            self._year_header(year, first, new)
        grid_range["endColumnIndex"] = first + len(new)
        self.requests.append(
            {
                "updateNamedRange": {
                    "namedRange": {"namedRangeId": named["namedRangeId"], "range": grid_range},
                    "fields": "range",
                }
            }
        )
        self.added.append(f"serials {', '.join(new)} to {SERIALS_RANGE}")

    def _year_header(self, year: SheetInfo, first: int, serials: Sequence[str]) -> None:
        """``serials``' header and total cells on an existing year sheet, from column ``first``."""
        self.requests += header_requests(year.sheet_id, year.columns, first, serials)

    def _year_sheet(self, template_id: int, template_index: int) -> None:
        title = year_title(self.year)
        if title in self.sheets:
            return
        self.requests.append(
            duplicate_sheet(template_id, self._new_id(title), title, template_index)
        )
        self.added.append(f"sheet '{title}'")

    def _cells(
        self, sheet_id: int, row: int, column: int, rows: list[list[Any]], fields: str
    ) -> None:
        self.requests.append(update_cells(sheet_id, row, column, rows, fields))


_VALUES_FIELDS = (
    "sheets(properties(sheetId,title),data(startRow,startColumn,rowData(values(effectiveValue,"
    "formattedValue)))),namedRanges(name,range)"
)


def _flat_texts(block: dict[str, Any]) -> list[str | None]:
    return [cell_text(c) for row in block.get("rowData", []) for c in row.get("values", [])]


def _in_request_order(
    response: dict[str, Any],
    ranges: list[str],
    named: dict[str, dict[str, Any]],
    sheets: dict[str, SheetInfo],
) -> list[dict[str, Any]]:
    """The data blocks, one per requested range, in the order the ranges were asked for."""
    queues = {
        int(s.get("properties", {}).get("sheetId", 0)): list(s.get("data", []))
        for s in response.get("sheets", [])
    }
    ordered = []
    for a1 in ranges:
        if a1 in named:
            sheet_id = int(named[a1]["range"].get("sheetId", 0))
        else:
            title = a1.rsplit("!", 1)[0][1:-1].replace("''", "'")  # always quoted by us
            sheet_id = sheets[title].sheet_id if title in sheets else -1
        queue = queues.get(sheet_id, [])
        ordered.append(queue.pop(0) if queue else {})
    return ordered
