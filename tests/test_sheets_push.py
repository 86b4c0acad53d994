"""Pushing the history into the yearly sheet: real googleapiclient against the Sheets emulator.

The spreadsheet starts as the original script's users have it: serials typed as numbers in
the template's named range, days appended as "MM/DD/YYYY" text that Sheets parsed into dates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from panel_tracker.app.daily import sheet_target, sheets_client
from panel_tracker.history import History, load_history, save_history
from panel_tracker.settings import load_config
from panel_tracker.sheets.push import push_history
from panel_tracker.sheets.rows import ESTIMATED_NOTE
from panel_tracker.sheets.transport import SheetsError
from sandbox.sheets_bench import add_days, write_sheets_config
from sandbox.sheets_emulator import SheetsEmulator
from tests.conftest import assert_no_secrets
from tests.legacy_sheet import TEMPLATE_ID, YEAR_ID, legacy_spreadsheet

if TYPE_CHECKING:  # imported by pytest_plugins below, first, so pytest can rewrite it
    from tests.sheets_fixtures import Populate

pytest_plugins = ["tests.sheets_fixtures"]  # the emu, populate and free_port fixtures

SERIALS = ["121900000001", "121900000002", "121900000003"]


def _iso(shown: str) -> str:
    return datetime.strptime(shown, "%m/%d/%Y").date().isoformat()


def days_from(first: str, count: int) -> list[str]:
    start = date.fromisoformat(first)
    return [(start + timedelta(days=n)).isoformat() for n in range(count)]


@dataclass
class World:
    emu: SheetsEmulator
    folder: Path
    config_path: Path
    history: History
    spreadsheet_id: str
    populate: Populate

    def save(self) -> None:
        save_history(load_config(self.config_path).history_path, self.history)

    def push(self, *args: str) -> tuple[int, str, str]:
        self.save()
        self.emu.reset_calls()
        return self.populate(self.config_path, *args)

    def rows(self, year: int, last_column: str = "D") -> list[list[str]]:
        """The year's rows as shown, the date as ISO (typed ones show as 6/1/2025, ours 06/01)."""
        rows: list[list[str]] = self.emu.values(
            self.spreadsheet_id, f"'Panel Data-{year}'!A3:{last_column}"
        )
        return [[_iso(row[0]), *row[1:]] for row in rows]

    def add(self, first: str, count: int, serials: list[str] = SERIALS) -> None:
        add_days(self.history, serials, date.fromisoformat(first), count)

    def expected_row(self, day: str, serials: list[str] = SERIALS) -> list[str]:
        values = [self.history.daily(s, day) for s in serials]
        return [day, *["" if v is None else str(v) for v in values]]


NewWorld = Callable[[list[str], tuple[str, int]], World]


@pytest.fixture
def new_world(tmp_path: Path, emu: SheetsEmulator, populate: Populate) -> NewWorld:
    """``new_world(sheet_days, (first history day, count))``: the legacy sheet and a history."""

    def make(sheet_days: list[str], history_days: tuple[str, int]) -> World:
        history = History()
        add_days(history, SERIALS, date.fromisoformat(history_days[0]), history_days[1])
        sid = legacy_spreadsheet(emu, SERIALS, history, sheet_days)
        path = write_sheets_config(tmp_path, emu, spreadsheet_id=sid)
        return World(emu, tmp_path, path, history, sid, populate)

    return make


def test_daily_push_is_one_read_and_one_write_and_a_rerun_changes_nothing(
    emu: SheetsEmulator, new_world: NewWorld
) -> None:
    world = new_world(days_from("2025-06-01", 10), ("2025-06-01", 11))
    # The very first push lists the sheets once (no state yet): 3 calls, then never again.
    code, out, _ = world.push()
    assert code == 0
    assert emu.count() == 3
    assert "1 new" in out
    assert world.rows(2025)[-1] == world.expected_row("2025-06-11")

    world.add("2025-06-12", 1)
    code, out, _ = world.push()
    assert code == 0
    assert emu.calls == {"spreadsheets.get": 1, "spreadsheets.batchUpdate": 1}
    assert "in 2 calls" in out
    rows = world.rows(2025)
    assert [r[0] for r in rows] == days_from("2025-06-01", 12)
    assert rows[-1] == world.expected_row("2025-06-12")

    before = emu.snapshot(world.spreadsheet_id)
    code, out, _ = world.push()
    assert code == 0
    assert emu.count() == 2
    assert "0 new" in out
    assert emu.snapshot(world.spreadsheet_id) == before  # same cells, no new row


def test_days_are_real_dates_in_column_a(emu: SheetsEmulator, new_world: NewWorld) -> None:
    world = new_world([], ("2025-03-01", 2))
    assert world.push()[0] == 0
    cell = emu.cell(world.spreadsheet_id, "'Panel Data-2025'!A3")
    assert cell["effectiveValue"] == {"numberValue": (date(2025, 3, 1) - date(1899, 12, 30)).days}
    assert cell["formattedValue"] == "03/01/2025"
    assert world.rows(2025) == [world.expected_row("2025-03-01"), world.expected_row("2025-03-02")]


def test_first_push_of_a_year_copies_the_template_in_the_same_two_calls(
    emu: SheetsEmulator, new_world: NewWorld
) -> None:
    world = new_world(days_from("2025-12-20", 12), ("2025-12-20", 12))
    assert world.push()[0] == 0  # December is all there: rewritten in place, state remembered
    world.add("2026-01-01", 1)
    code, _, _ = world.push()
    assert code == 0
    assert emu.calls == {"spreadsheets.get": 1, "spreadsheets.batchUpdate": 1}
    titles = emu.titles(world.spreadsheet_id)
    assert titles.index("Panel Data-2026") == titles.index("Panel Data-2025") - 1
    assert emu.values(world.spreadsheet_id, "'Panel Data-2026'!A1:B2", "FORMULA") == [
        ["Serial Number", 121900000001],
        ["Date", "=SUM(B3:B)"],  # the template's header, formulas and all
    ]
    assert world.rows(2026) == [world.expected_row("2026-01-01")]
    assert len(world.rows(2025)) == 12  # December was not duplicated


def test_days_across_new_year_go_to_their_own_sheets_in_one_batch(
    emu: SheetsEmulator, new_world: NewWorld
) -> None:
    world = new_world(days_from("2025-12-20", 10), ("2025-12-20", 10))
    assert world.push()[0] == 0
    world.add("2025-12-30", 4)  # Dec 30, Dec 31, Jan 1, Jan 2: the run was off over New Year
    code, _, _ = world.push()
    assert code == 0
    assert emu.count() == 2
    assert world.rows(2025)[-2:] == [
        world.expected_row("2025-12-30"),
        world.expected_row("2025-12-31"),
    ]
    assert world.rows(2026) == [world.expected_row("2026-01-01"), world.expected_row("2026-01-02")]


def test_thirty_missing_days_heal_in_two_calls_with_notes(
    emu: SheetsEmulator, new_world: NewWorld
) -> None:
    world = new_world(days_from("2025-06-01", 10), ("2025-06-01", 10))
    assert world.push()[0] == 0
    world.add("2025-06-11", 30)  # a month of Google outage: the history kept every day
    estimated = world.history.micros[SERIALS[0]]["2025-06-20"]
    estimated["estimated"] = True
    unknown = world.history.micros[SERIALS[1]]["2025-06-21"]
    unknown.update(daily_energy=None, note="lifetime counter reset")
    code, out, _ = world.push()
    assert code == 0
    assert emu.count() == 2
    assert "30 new" in out
    rows = world.rows(2025)
    assert [r[0] for r in rows] == days_from("2025-06-01", 40)
    assert rows[10:] == [world.expected_row(d) for d in days_from("2025-06-11", 30)]
    note = emu.cell(world.spreadsheet_id, "'Panel Data-2025'!B22")  # 2025-06-20, first serial
    assert note["note"] == ESTIMATED_NOTE
    blank = emu.cell(world.spreadsheet_id, "'Panel Data-2025'!C23")  # 2025-06-21, second serial
    assert "userEnteredValue" not in blank
    assert blank["note"] == "Unknown: lifetime counter reset"


def test_a_day_missing_inside_the_sheet_is_inserted_in_date_order(new_world: NewWorld) -> None:
    sheet_days = [d for d in days_from("2025-06-01", 10) if d != "2025-06-05"]
    world = new_world(sheet_days, ("2025-06-01", 10))
    code, out, _ = world.push()
    assert code == 0
    assert "1 new" in out
    assert world.rows(2025) == [world.expected_row(d) for d in days_from("2025-06-01", 10)]


def test_a_serial_the_history_lacks_is_a_warning_and_a_new_one_gets_its_column(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    retired, replacement = "121900000099", "121900000077"
    sheet_serials = [SERIALS[0], retired, SERIALS[1]]
    history = History()
    add_days(history, [*sheet_serials], date(2025, 6, 1), 5)  # the retired one reported then
    sid = legacy_spreadsheet(emu, sheet_serials, history, days_from("2025-06-01", 5))
    retired_wh = history.daily(retired, "2025-06-05")
    del history.micros[retired]  # ... and its history is gone (a fresh history file)
    add_days(history, [SERIALS[0], replacement, SERIALS[1]], date(2025, 6, 6), 1)
    world = World(
        emu,
        tmp_path,
        write_sheets_config(tmp_path, emu, spreadsheet_id=sid),
        history,
        sid,
        populate,
    )
    old_retired_cell = emu.values(sid, "'Panel Data-2025'!C7")
    code, _, err = world.push()
    assert code == 0
    assert f"serial {retired} is in the sheet" in err
    assert replacement not in err  # it got the next column, E: no warning, no --init
    rows = world.rows(2025, "E")
    assert rows[-1] == [
        "2025-06-06",
        str(history.daily(SERIALS[0], "2025-06-06")),
        "",
        str(history.daily(SERIALS[1], "2025-06-06")),
        str(history.daily(replacement, "2025-06-06")),
    ]
    assert emu.values(sid, "'Panel Data-2025'!E1:E2", "FORMULA") == [[replacement], ["=SUM(E3:E)"]]
    assert emu.values(sid, "'Panel Data-2025'!C7") == old_retired_cell  # left as it was
    assert old_retired_cell == [[str(retired_wh)]]


def test_date_flag_pushes_that_one_day(new_world: NewWorld) -> None:
    world = new_world(days_from("2025-06-01", 3), ("2025-06-01", 5))
    code, out, _ = world.push("--date", "2025-06-05")
    assert code == 0
    assert "1 day written (2025-06-05; 1 new, 0 rewritten)" in out
    assert [r[0] for r in world.rows(2025)] == [*days_from("2025-06-01", 3), "2025-06-05"]
    code, _, err = world.push("--date", "2024-01-01")
    assert code == 2
    assert "no day 2024-01-01" in err


def test_429_is_retried_and_a_5xx_page_that_is_not_json_is_one_clear_error(
    tmp_path: Path, emu: SheetsEmulator
) -> None:
    history = History()
    add_days(history, SERIALS, date(2025, 6, 1), 3)
    sid = legacy_spreadsheet(emu, SERIALS, history, [])
    config = load_config(write_sheets_config(tmp_path, emu, spreadsheet_id=sid))
    waits: list[float] = []
    client = sheets_client(config, sleep=waits.append, num_retries=3)
    emu.inject_fault("spreadsheets.get", 429, times=2)
    result = push_history(sheet_target(config), history, service=client)
    assert result.rows_added == 3
    assert emu.calls["spreadsheets.get"] == 4  # the sheet list, then one read tried three times
    assert waits == [1.0, 2.0]  # exponential backoff, on the injected sleep

    add_days(history, SERIALS, date(2025, 6, 4), 1)
    history_before = json.dumps(history.data)
    emu.inject_fault(
        "spreadsheets.batchUpdate", 503, times=10, body="<html><body><h1>Bad Gateway</h1></html>"
    )
    with pytest.raises(SheetsError) as failure:
        push_history(sheet_target(config), history, service=client)
    message = str(failure.value)
    assert "HTTP 503: Bad Gateway" in message
    assert "after 4 tries" in message
    assert "<" not in message
    assert json.dumps(history.data) == history_before  # a push never changes the history


def test_an_unreachable_sheets_endpoint_is_one_clear_error(
    tmp_path: Path, emu: SheetsEmulator, free_port: int
) -> None:
    dead = f"http://127.0.0.1:{free_port}/"  # nobody listens there
    path = write_sheets_config(tmp_path, emu, spreadsheet_id="1SomeSheet", sheets_api_url=dead)
    config = load_config(path)
    history = History()
    add_days(history, SERIALS, date(2025, 6, 1), 1)
    waits: list[float] = []
    client = sheets_client(config, sleep=waits.append, num_retries=2)
    with pytest.raises(
        SheetsError, match=r"cannot reach the Sheets emulator at http://127\.0\.0\.1"
    ):
        push_history(sheet_target(config), history, service=client)
    assert len(waits) == 2  # connection failures are retried too, on our clock


def test_missing_spreadsheet_exits_1_naming_the_id_and_leaves_the_history(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    path = write_sheets_config(tmp_path, emu, spreadsheet_id="1NoSuchSheetAbc")
    history = History()
    add_days(history, SERIALS, date(2025, 6, 1), 2)
    history_path = load_config(path).history_path
    save_history(history_path, history)
    before = history_path.read_bytes()
    code, _, err = populate(path)
    assert code == 1
    assert "1NoSuchSheetAbc" in err
    assert "spreadsheet_id" in err and "shared" in err
    assert "Traceback" not in err
    assert history_path.read_bytes() == before
    assert load_history(history_path).dates() == ["2025-06-01", "2025-06-02"]


def test_a_year_sheet_deleted_by_hand_is_noticed_and_made_again(
    emu: SheetsEmulator, new_world: NewWorld
) -> None:
    world = new_world(days_from("2025-06-01", 3), ("2025-06-01", 3))
    assert world.push()[0] == 0
    emu.apply(world.spreadsheet_id, [{"deleteSheet": {"sheetId": YEAR_ID}}])
    code, _, _ = world.push()
    assert code == 0
    # the read fails on the missing sheet (400), the sheet list is read, then read and write
    assert emu.calls == {"spreadsheets.get": 3, "spreadsheets.batchUpdate": 1}
    assert world.rows(2025) == [world.expected_row(d) for d in days_from("2025-06-01", 3)]


def test_a_year_sheet_made_by_hand_is_used_not_duplicated(
    emu: SheetsEmulator, new_world: NewWorld
) -> None:
    world = new_world(days_from("2025-12-30", 2), ("2025-12-30", 2))
    assert world.push()[0] == 0
    emu.apply(
        world.spreadsheet_id,
        [{"duplicateSheet": {"sourceSheetId": TEMPLATE_ID, "newSheetName": "Panel Data-2026"}}],
    )
    world.add("2026-01-01", 1)
    code, _, err = world.push()
    assert code == 0, err
    titles = emu.titles(world.spreadsheet_id)
    assert titles.count("Panel Data-2026") == 1
    assert world.rows(2026) == [world.expected_row("2026-01-01")]


def test_no_spreadsheet_id_is_a_usage_error(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    code, _, err = populate(write_sheets_config(tmp_path, emu))
    assert code == 2
    assert "spreadsheet_id is not set" in err and "--init" in err


def test_tokens_never_appear_in_verbose_output(
    tmp_path: Path, emu: SheetsEmulator, new_world: NewWorld
) -> None:
    world = new_world([], ("2025-06-01", 2))
    emu.write_authorized_user_file(tmp_path / "token.json", expired=True)  # forces a refresh
    code, out, err = world.push("-v")
    assert code == 0
    token: dict[str, Any] = json.loads((tmp_path / "token.json").read_text())
    assert_no_secrets(out + err, [token["token"], token["refresh_token"], token["client_secret"]])


# ----- the emulator answers as the real API does ---------------------------------------------


def _service(tmp_path: Path, emu: SheetsEmulator) -> Any:
    return sheets_client(load_config(write_sheets_config(tmp_path, emu))).service


def test_emulator_batch_update_is_all_or_nothing(tmp_path: Path, emu: SheetsEmulator) -> None:
    from googleapiclient.errors import HttpError

    service = _service(tmp_path, emu)
    sid = emu.create_spreadsheet()
    before = emu.snapshot(sid)
    body = {
        "requests": [
            {"addSheet": {"properties": {"title": "Kept?"}}},
            {"duplicateSheet": {"sourceSheetId": 999, "newSheetName": "Nope"}},
        ]
    }
    with pytest.raises(HttpError) as failure:
        service.spreadsheets().batchUpdate(spreadsheetId=sid, body=body).execute()
    assert failure.value.resp.status == 400
    assert b"No grid with id: 999" in failure.value.content
    assert emu.snapshot(sid) == before


def test_emulator_ranges_quoted_titles_and_the_sheets_they_touch(
    tmp_path: Path, emu: SheetsEmulator
) -> None:
    from googleapiclient.errors import HttpError

    service = _service(tmp_path, emu)
    sid = emu.create_spreadsheet()
    emu.apply(sid, [{"addSheet": {"properties": {"sheetId": 5, "title": "Bob's data"}}}])
    emu.set_values(sid, "'Bob''s data'!B2", [["x", 7]])
    answer = (
        service.spreadsheets()
        .get(spreadsheetId=sid, ranges=["'Bob''s data'!B2:C3"], includeGridData=True)
        .execute()
    )
    assert [s["properties"]["title"] for s in answer["sheets"]] == ["Bob's data"]  # not Sheet1
    block = answer["sheets"][0]["data"][0]
    assert (block["startRow"], block["startColumn"]) == (1, 1)
    assert [c["formattedValue"] for c in block["rowData"][0]["values"]] == ["x", "7"]
    for bad in ("'Nope'!A1", "NoSuchNamedRange"):
        with pytest.raises(HttpError) as failure:
            service.spreadsheets().get(spreadsheetId=sid, ranges=[bad]).execute()
        assert failure.value.resp.status == 400
        assert b"Unable to parse range" in failure.value.content


def test_emulator_takes_the_original_scripts_column_append_and_persists(
    tmp_path: Path,
) -> None:
    state = tmp_path / "sheets-state.json"
    with SheetsEmulator(state) as emu:
        service = _service(tmp_path, emu)
        sid = emu.create_spreadsheet()
        service.spreadsheets().values().append(
            spreadsheetId=sid,
            range="Sheet1!A3",
            valueInputOption="USER_ENTERED",
            body={"majorDimension": "COLUMNS", "values": [["06/01/2025"], [1200], [1300]]},
        ).execute()
        assert emu.calls == {"spreadsheets.values.append": 1}
    with SheetsEmulator(state) as again:
        assert again.values(sid, "Sheet1!A3:C3") == [["6/1/2025", "1200", "1300"]]
        assert again.cell(sid, "Sheet1!A3")["effectiveValue"]["numberValue"] == 45809
