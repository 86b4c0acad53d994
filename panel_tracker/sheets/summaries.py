"""The two summary sheets ``--init`` adds: ``Last 7 Days`` and ``Dashboard``.

- ``Last 7 Days``: the serials down column A (``TRANSPOSE`` of the named range), the last
  seven days of the year sheet beside them, the 7-day total and its share of the median.
- ``Dashboard``: the panels as they sit on the roof (``panel_layout`` in the config: a list of
  rows of serials, ``null`` for a gap, or named faces of such rows, drawn one after another,
  each under a row with its name; else in serial order), each with its 7-day energy.

Both colour a panel red below panel health's weak ratio of the array's median and amber below
its recover ratio (the thresholds come from the caller: the health settings), red first so the
stronger colour wins where both match.

Both are formulas over the year sheets, so they stay current without the tool writing them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..roof import PanelLayout, layout_serials
from .bodies import (
    BOLD,
    BOLD_FIELDS,
    NUMBER_FORMAT_FIELDS,
    colour_rule,
    date_format,
    formula_cell,
    repeat_cell,
    text_cell,
    update_cells,
)
from .grid import SERIALS_RANGE, column_letters

LAST_7_DAYS_TITLE = "Last 7 Days"
DASHBOARD_TITLE = "Dashboard"
RED = {"red": 0.96, "green": 0.6, "blue": 0.6}
AMBER = {"red": 1.0, "green": 0.85, "blue": 0.5}

# The dashboard's faces: each a name (None: the layout names none) and rows of serials (None:
# no panel there).
PanelGrid = list[tuple[str | None, list[list[str | None]]]]


def panel_grid(layout: PanelLayout | None, serials: Sequence[str]) -> tuple[PanelGrid, list[str]]:
    """The dashboard's faces of serials, and warnings about the layout.

    ``layout`` is the config's ``panel_layout`` as the settings module parsed and checked it."""
    known = sorted(set(serials))
    if not layout:
        width = max(1, math.ceil(math.sqrt(len(known))))
        return [(None, [list(known[i : i + width]) for i in range(0, len(known), width)])], []
    grid: PanelGrid = [(face.name, [list(row) for row in face.rows]) for face in layout]
    placed = set(layout_serials(layout))
    warnings = [
        f"panel_layout names serial {s}, which the history does not know"
        for s in sorted(placed - set(known))
    ]
    rest = [s for s in known if s not in placed]
    if rest:
        warnings.append(f"serials not in panel_layout, shown below it: {', '.join(rest)}")
        width = _width(grid) or 1
        named = any(name is not None for name, _ in grid)
        grid.append(
            (
                "not in panel_layout" if named else None,
                [list(rest[i : i + width]) for i in range(0, len(rest), width)],
            )
        )
    return grid, warnings


def _width(grid: PanelGrid) -> int:
    return max((len(row) for _, rows in grid for row in rows), default=0)


@dataclass(frozen=True)
class ColourThresholds:
    """Shares of the array's median below which a panel is red (weak) and amber (watch)."""

    weak: float
    watch: float


def _colour_rules(
    sheet_id: int,
    box: tuple[int, int, int, int],
    below: Callable[[float], str],
    thresholds: ColourThresholds,
) -> list[dict[str, Any]]:
    # Red at the top, amber after it: a panel below both thresholds is red.
    return [
        colour_rule(sheet_id, box, below(thresholds.weak), RED, index=0),
        colour_rule(sheet_id, box, below(thresholds.watch), AMBER, index=1),
    ]


def last_7_days_requests(sheet_id: int, thresholds: ColourThresholds) -> list[dict[str, Any]]:
    """The ``Last 7 Days`` sheet, with ``sheet_id``: its formulas, formats and colours."""
    year_sheet = '"\'"&$M$1&"\'!'
    header = [text_cell("Serial")]
    header.append(
        formula_cell(
            f'=IFERROR(TRANSPOSE(OFFSET(INDIRECT({year_sheet}A3"),MAX(0,$M$2-7),0,7,1)),"")'
        )
    )
    header += [{}] * 6 + [text_cell("7 days (Wh)"), text_cell("vs median"), {}]
    header += [text_cell("Year sheet"), formula_cell('="Panel Data-"&YEAR(TODAY()-1)')]
    row2 = [
        formula_cell(f"=TRANSPOSE({SERIALS_RANGE})"),
        formula_cell(
            f'=IFERROR(TRANSPOSE(OFFSET(INDIRECT({year_sheet}B3"),MAX(0,$M$2-7),0,7,'
            f'COUNTA({SERIALS_RANGE}))),"")'
        ),
    ]
    row2 += [{}] * 6 + [
        formula_cell('=ARRAYFORMULA(IF(LEN(A2:A),MMULT(IFERROR(B2:H*1,0),SEQUENCE(7,1,1,0)),""))'),
        formula_cell('=ARRAYFORMULA(IF(LEN(A2:A),IFERROR(I2:I/MEDIAN(I2:I),""),""))'),
        {},
        text_cell("Days in it"),
        formula_cell(f'=COUNT(INDIRECT({year_sheet}A3:A"))'),
    ]
    percent = {"userEnteredFormat": {"numberFormat": {"type": "PERCENT", "pattern": "0%"}}}
    return [
        _add_sheet(sheet_id, LAST_7_DAYS_TITLE, frozen_rows=1),
        update_cells(sheet_id, 0, 0, [header, row2], "userEnteredValue"),
        repeat_cell(sheet_id, (0, 1, 1, 8), date_format("mm/dd"), NUMBER_FORMAT_FIELDS),
        repeat_cell(sheet_id, (1, 1000, 9, 10), percent, NUMBER_FORMAT_FIELDS),
        repeat_cell(sheet_id, (0, 1, 0, 13), BOLD, BOLD_FIELDS),
        *_colour_rules(
            sheet_id, (1, 1000, 9, 10), lambda ratio: f"=AND(ISNUMBER(J2),J2<{ratio})", thresholds
        ),
    ]


def dashboard_requests(
    sheet_id: int, name: str, grid: PanelGrid, thresholds: ColourThresholds
) -> list[dict[str, Any]]:
    """The ``Dashboard`` sheet, with ``sheet_id``, for the system ``name``'s panel ``grid``."""
    width = max(_width(grid), 1)
    title = f"{name}: each panel's energy over the last 7 days (Wh)"
    legend = (
        f"Red: below {thresholds.weak:.0%} of the array's median; "
        f"amber: below {thresholds.watch:.0%}. "
        "Panel positions: panel_layout in the config."
    )
    rows: list[list[Any]] = [[text_cell(title)], [text_cell(legend)], []]
    name_rows: list[int] = []
    for face_name, face_rows in grid:
        if face_name is not None:  # a named face: its name on a row of its own, in column A
            name_rows.append(len(rows))
            rows.append([text_cell(face_name)])
        for grid_row in face_rows:
            rows.append([{}] + [text_cell(s) if s else {} for s in grid_row])
            rows.append([{}] + [_energy_lookup(s) if s else {} for s in grid_row])
    top, bottom = 3, len(rows)
    corner = f"$B$4:${column_letters(width)}${bottom}"
    return [
        _add_sheet(sheet_id, DASHBOARD_TITLE, columns=max(26, width + 2)),
        update_cells(sheet_id, 0, 0, rows, "userEnteredValue"),
        repeat_cell(sheet_id, (0, 1, 0, 1), BOLD, BOLD_FIELDS),
        *(repeat_cell(sheet_id, (r, r + 1, 0, 1), BOLD, BOLD_FIELDS) for r in name_rows),
        *_colour_rules(
            sheet_id,
            (top, bottom, 1, 1 + width),
            lambda ratio: f"=AND(ISNUMBER(B4),B4<{ratio}*MEDIAN({corner}))",
            thresholds,
        ),
    ]


def _energy_lookup(serial: str) -> dict[str, Any]:
    return formula_cell(f'=IFERROR(VLOOKUP("{serial}",\'{LAST_7_DAYS_TITLE}\'!$A$2:$I,9,FALSE),"")')


def _add_sheet(
    sheet_id: int, title: str, *, frozen_rows: int = 0, columns: int = 26
) -> dict[str, Any]:
    grid: dict[str, int] = {"rowCount": 1000, "columnCount": columns}
    if frozen_rows:
        grid["frozenRowCount"] = frozen_rows
    properties = {"sheetId": sheet_id, "title": title, "index": 0, "gridProperties": grid}
    return {"addSheet": {"properties": properties}}
