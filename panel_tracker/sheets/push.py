"""Pushing the history into the yearly Google Sheet: one read and one write.

The layout is the original script's (``sheet_format``); what a push writes, and why the
history heals the sheet, is ``sheet_plan``'s docstring. This module runs the push: the read
(``sheet_snapshot``), the plan, the write, and the fallbacks when the sheet is not what the
tool remembers.

The cost, and why there is a small state file: in the steady state, on a new year and for a
30-day heal alike, a push is ONE ``spreadsheets.get`` and ONE ``batchUpdate``. The read asks
for ``InverterSerialNumbers`` and column A and row 1 of the year sheets (and the template,
when a year sheet must be created); the write duplicates the template with a chosen
``newSheetId``, adds a replaced micro-inverter's successor's column (``columns``) and
fills the rows in the same atomic batch. The API fails the whole read with 400 when one range
names a sheet that does not exist, and ``ranges`` hides every sheet it does not touch, so the
read must already know which year sheets exist: ``<data_dir>/google_sheet-<system_id>.json``
(``sheet_state``) remembers the year sheets seen. Without it (first push) one extra metadata
read comes first; when it is wrong (a sheet deleted or made by hand) the push finds out from
the API's answer, re-reads the sheet list and still succeeds, at one or two extra calls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..history import History
from .grid import SERIALS_RANGE, TEMPLATE_TITLE, year_title
from .plan import DaysToPush, Plan, days_to_push, plan_push
from .read import DATA_FIELDS, META_FIELDS, Snapshot, parse_snapshot, range_a1
from .state import KnownSheets
from .transport import SheetsClient, SheetsError, SheetsRangeError

logger = logging.getLogger(__name__)

DEFAULT_HEAL_DAYS = 31


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


@dataclass(frozen=True, slots=True)
class SheetTarget:
    """Which spreadsheet a push writes, and where the tool keeps what it knows of it."""

    spreadsheet_id: str | None
    state_file: Path  # <data_dir>/google_sheet-<system_id>.json
    config_path: Path  # named when spreadsheet_id is missing
    heal_days: int = DEFAULT_HEAL_DAYS


def push_history(
    target: SheetTarget,
    history: History,
    *,
    only_date: str | None = None,
    service: Any,
) -> PushResult:
    """Write the days the year sheets lack and rewrite the recent ones: one read, one write.

    ``service``: a ``SheetsClient`` (the app layer builds it from the settings) or a
    ``googleapiclient`` service (tests, the benchmark). Raises ``SheetsError``; each
    warning is logged as well as returned.
    """
    spreadsheet_id = target.spreadsheet_id
    if spreadsheet_id is None:
        raise SheetNotConfiguredError(
            f"{target.config_path}: spreadsheet_id is not set",
            hint="set it to the id in the sheet's web address, or run "
            "populate_google_sheet.py --init to create a spreadsheet",
        )
    heal_days = target.heal_days
    days = days_to_push(history, only_date=only_date, heal_days=heal_days)
    if not days.by_year:
        if only_date:
            note = f"the history has no day {only_date}"
            logger.warning("Google Sheet: nothing to push (%s)", note)
        else:
            # A new set-up, not a fault: the first night records where each panel starts.
            note = "no night recorded yet: the first night records where each panel starts"
            logger.info("Google Sheet: nothing to push yet (%s)", note)
        return PushResult(spreadsheet_id, [], 0, 0, [f"nothing to push: {note}"], 0)
    client = service if isinstance(service, SheetsClient) else SheetsClient(service)
    calls_before = client.calls
    known = KnownSheets.load_file(target.state_file, spreadsheet_id)
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
            for year in self.days.by_year:
                if year in self.known.year_sheets:
                    ranges += [("column_a", year_title(year)), ("header", year_title(year))]
            if needs_template:
                ranges.append(("template", TEMPLATE_TITLE))
            try:
                response = self.client.get(
                    self.spreadsheet_id,
                    ranges=[range_a1(kind, target) for kind, target in ranges],
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

    def _plan(self, snapshot: Snapshot) -> Plan:
        return plan_push(
            self.history,
            self.days,
            snapshot,
            spreadsheet_id=self.spreadsheet_id,
            known_ids=self.known.year_sheets.values(),
        )
