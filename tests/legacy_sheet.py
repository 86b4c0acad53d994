"""A spreadsheet laid out as the original script's template, with some days already in it."""

from __future__ import annotations

from datetime import date

from panel_tracker.history import History
from sandbox.sheets_emulator import SheetsEmulator

TEMPLATE_ID, YEAR_ID = 13, 2025


def legacy_spreadsheet(
    emu: SheetsEmulator, serials: list[str], history: History, days: list[str]
) -> str:
    """The original's layout, with ``days`` of the history already appended to 2025."""
    sid = emu.create_spreadsheet("Solar Performance")
    emu.apply(
        sid,
        [
            {"addSheet": {"properties": {"sheetId": 11, "title": "Dashboard"}}},
            {"addSheet": {"properties": {"sheetId": 12, "title": "Last 7 Days"}}},
            {
                "addSheet": {
                    "properties": {
                        "sheetId": TEMPLATE_ID,
                        "title": "Panel Data-TEMPLATE",
                        "gridProperties": {"rowCount": 50, "columnCount": max(8, 1 + len(serials))},
                    }
                }
            },
            {"deleteSheet": {"sheetId": 0}},
            {
                "addNamedRange": {
                    "namedRange": {
                        "name": "InverterSerialNumbers",
                        "range": {
                            "sheetId": TEMPLATE_ID,
                            "startRowIndex": 0,
                            "endRowIndex": 1,
                            "startColumnIndex": 1,
                            "endColumnIndex": 1 + len(serials),
                        },
                    }
                }
            },
        ],
    )
    emu.set_values(
        sid,
        "'Panel Data-TEMPLATE'!A1",
        [["Serial Number", *[int(s) for s in serials]], ["Date", *["=SUM(B3:B)"] * len(serials)]],
    )
    emu.apply(
        sid,
        [
            {
                "duplicateSheet": {
                    "sourceSheetId": TEMPLATE_ID,
                    "newSheetId": YEAR_ID,
                    "newSheetName": "Panel Data-2025",
                    "insertSheetIndex": 2,
                }
            }
        ],
    )
    rows = [[_us(d), *[history.daily(s, d) for s in serials]] for d in days]
    if rows:
        emu.set_values(sid, "'Panel Data-2025'!A3", rows)
    return sid


def _us(day: str) -> str:
    return date.fromisoformat(day).strftime("%m/%d/%Y")
