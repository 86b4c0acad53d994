"""The Google Sheet part of ``enlightenAPI_v4.py check``: can the daily push work?

No ``spreadsheet_id`` is a valid set-up (the history file alone). With one: the credentials
load (no browser flow: that belongs to ``populate_google_sheet.py``), the spreadsheet
answers, it has the named range ``InverterSerialNumbers`` and the template a new year's
sheet is copied from, and every panel that reported lately has a column. Two reads: the
sheet list, then the serials.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from ..errors import DataFileError, PanelTrackerError
from ..findings import Finding
from ..history import load_history
from ..wording import counted
from .grid import SERIALS_RANGE, TEMPLATE_TITLE
from .read import DATA_FIELDS, META_FIELDS, parse_snapshot
from .transport import SheetsClient

INIT_COMMAND = ".venv/bin/python populate_google_sheet.py --init"
PUSH_COMMAND = ".venv/bin/python populate_google_sheet.py"
# A serial silent for longer than this is taken as retired and needs no column.
RECENT_DAYS = 30
_MAX_LISTED = 5
GENERAL_FIX = "check the network and the Google settings in the config, then run check again"

ClientFactory = Callable[[], SheetsClient]


def check_sheet(
    spreadsheet_id: str | None, history_path: Path, client: ClientFactory
) -> list[Finding]:
    """The spreadsheet's findings; ``client`` builds the Sheets client (credentials) when due."""
    if spreadsheet_id is None:
        return [
            Finding.good("Google Sheet not configured (no spreadsheet_id): the history file only")
        ]
    try:
        sheets = client()
        listing = sheets.get(spreadsheet_id, fields=META_FIELDS)
    except PanelTrackerError as exc:
        return [_from_error(exc)]
    titles = [str(s.get("properties", {}).get("title")) for s in listing.get("sheets", [])]
    named = {str(n.get("name")) for n in listing.get("namedRanges", [])}
    findings = [Finding.good(f"Google Sheet {spreadsheet_id} answers ({len(titles)} sheets)")]
    if TEMPLATE_TITLE not in titles:
        findings.append(
            Finding.problem(
                f"the spreadsheet has no sheet '{TEMPLATE_TITLE}' to copy for a new year",
                f"run: {INIT_COMMAND} (adds what is missing, changes no data)",
            )
        )
    if SERIALS_RANGE not in named:
        findings.append(
            Finding.problem(
                f"the spreadsheet has no named range {SERIALS_RANGE} (the serials, in the "
                "order of the Panel Data columns)",
                f"run: {INIT_COMMAND} (adds what is missing, changes no data)",
            )
        )
        return findings
    try:
        response = sheets.get(
            spreadsheet_id, ranges=[SERIALS_RANGE], fields=DATA_FIELDS, include_grid_data=True
        )
    except PanelTrackerError as exc:
        return [*findings, _from_error(exc)]
    serials = {
        s for s in parse_snapshot(response, [("serials", SERIALS_RANGE)]).serial_columns if s
    }
    findings.append(Finding.good(f"named range {SERIALS_RANGE}: {counted(len(serials), 'serial')}"))
    findings += _serials_without_column(history_path, serials)
    return findings


def _serials_without_column(history_path: Path, in_sheet: set[str]) -> list[Finding]:
    try:
        history = load_history(history_path)
    except DataFileError:
        return []  # the config check already reports the broken history
    last_days = {s: d for s in history.serials() if (d := history.last_date(s))}
    if not last_days:
        return []
    since = (date.fromisoformat(max(last_days.values())) - timedelta(days=RECENT_DAYS)).isoformat()
    missing = sorted(s for s, last in last_days.items() if last >= since and s not in in_sheet)
    if not missing:
        return []
    listed = ", ".join(missing[:_MAX_LISTED]) + (" ..." if len(missing) > _MAX_LISTED else "")
    return [
        Finding.problem(
            f"{len(missing)} panel(s) of the history have no column in the sheet ({listed}): "
            "their days are not written there yet",
            f"run: {PUSH_COMMAND} (the push adds their columns to {SERIALS_RANGE})",
        )
    ]


def _from_error(exc: PanelTrackerError) -> Finding:
    """A Sheets error as a finding: its own ``hint`` as the fix."""
    return Finding.from_error(exc, prefix="Google Sheet: ", fix=GENERAL_FIX)
