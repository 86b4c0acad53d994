"""The Google Sheet part of ``enlightenAPI_v4.py check``: can the daily push work?

No ``spreadsheet_id`` is a valid set-up (the history file alone). With one: the credentials
load (no browser flow: that belongs to ``populate_google_sheet.py``), the spreadsheet
answers, it has the named range ``InverterSerialNumbers`` and the template a new year's
sheet is copied from, and every panel that reported lately has a column. Two reads: the
sheet list, then the serials.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from ..app.check import Finding
from ..errors import DataFileError, PanelTrackerError
from ..history import load_history
from ..settings import Config
from .grid import SERIALS_RANGE, TEMPLATE_TITLE
from .read import DATA_FIELDS, META_FIELDS, parse_snapshot
from .transport import SheetsClient

INIT_COMMAND = "python populate_google_sheet.py --init"
# A serial silent for longer than this is taken as retired and needs no column.
RECENT_DAYS = 30
_MAX_LISTED = 5
# Where a Sheets message turns from what happened to what to do about it.
# Said for the daily push, not true of a check.
_PUSH_CONTEXT = re.compile(r"; the history is saved, the next run fills the sheet")
_ADVICE = re.compile(
    r"(?:; |: )(?=(?:run|put|share|check|delete|set|download|authorize|use|add|fix) )"
)


def check_sheet(config: Config, *, client: SheetsClient | None = None) -> list[Finding]:
    spreadsheet_id = config.spreadsheet_id
    if spreadsheet_id is None:
        return [
            Finding.good("Google Sheet not configured (no spreadsheet_id): the history file only")
        ]
    try:
        # A person is waiting: one retry, not the daily job's patient four.
        client = client or SheetsClient.from_config(config, num_retries=1)
        listing = client.get(spreadsheet_id, fields=META_FIELDS)
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
        response = client.get(
            spreadsheet_id, ranges=[SERIALS_RANGE], fields=DATA_FIELDS, include_grid_data=True
        )
    except PanelTrackerError as exc:
        return [*findings, _from_error(exc)]
    serials = {
        s for s in parse_snapshot(response, [("serials", SERIALS_RANGE)]).serial_columns if s
    }
    findings.append(Finding.good(f"named range {SERIALS_RANGE}: {len(serials)} serials"))
    findings += _serials_without_column(config, serials)
    return findings


def _serials_without_column(config: Config, in_sheet: set[str]) -> list[Finding]:
    try:
        history = load_history(config.history_path)
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
            "their days are not written there",
            f"run: {INIT_COMMAND} (adds them to {SERIALS_RANGE}, changes no data)",
        )
    ]


def _from_error(exc: PanelTrackerError) -> Finding:
    """A Sheets error as a finding, its own advice as the fix."""
    message = _PUSH_CONTEXT.sub("", str(exc))
    found = _ADVICE.search(message)
    if found is None:
        return Finding.problem(
            f"Google Sheet: {message}",
            "check the network and the Google settings in the config, then run check again",
        )
    return Finding.problem(f"Google Sheet: {message[: found.start()]}", message[found.end() :])
