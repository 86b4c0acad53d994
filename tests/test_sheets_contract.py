"""The Sheets emulator refuses what Google refuses, accepts what Google accepts, and the project
sends nothing Google would refuse.

Every call goes through the real googleapiclient over a loopback socket, so a refusal is the
``HttpError`` a user would get. The contract is the discovery document that the installed
google-api-python-client ships (read by the emulator at run time), plus Google's own answers as
users recorded them (``fixtures/sheets/recorded_errors.json``; sources in its README).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import googleapiclient
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

import populate_google_sheet
import run_inverter_daily_stats
from panel_tracker.history import History, save_history
from panel_tracker.settings import load_config
from sandbox.sheets_bench import add_days, attach_sheets_emulator, write_sheets_config
from sandbox.sheets_contract import DISCOVERY_PATH, discovery
from sandbox.sheets_emulator import SheetsEmulator
from sandbox.site import SiteScenario
from tests.conftest import night, write_config
from tests.legacy_sheet import legacy_spreadsheet

if TYPE_CHECKING:  # imported by pytest_plugins below, first, so pytest can rewrite it
    from tests.sheets_fixtures import Populate

pytest_plugins = ["tests.sheets_fixtures"]  # the emu and populate fixtures

RECORDED = json.loads(
    (Path(__file__).parent / "fixtures" / "sheets" / "recorded_errors.json").read_text("utf-8")
)["errors"]
STATUS = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
NAMED = "Serials"  # a named range on Sheet1!A1:C1 of every test's spreadsheet
UNKNOWN_SPREADSHEET = "1NoSuchSpreadsheetxxxxxxxxxxxxxxxxxxxxxxxxx"
SERIALS = ["121900000001", "121900000002", "121900000003"]

Call = Callable[[Any, str], Any]  # (service, spreadsheet id) -> an HttpRequest not yet executed


@dataclass
class Api:
    emu: SheetsEmulator
    service: Any
    sid: str


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[SheetsEmulator, Any]]:
    with SheetsEmulator() as emulator:
        credentials = Credentials(emulator.issue_access_token())
        service = build(
            "sheets",
            "v4",
            credentials=credentials,
            client_options={"api_endpoint": emulator.url},
            cache_discovery=False,
        )
        yield emulator, service


@pytest.fixture
def api(server: tuple[SheetsEmulator, Any]) -> Api:
    """A fresh spreadsheet: Sheet1 (sheetId 0, 1000x26) with the named range ``Serials``."""
    emulator, service = server
    sid = emulator.create_spreadsheet("contract")
    emulator.apply(
        sid,
        [
            {
                "addNamedRange": {
                    "namedRange": {
                        "name": NAMED,
                        "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1},
                    }
                }
            }
        ],
    )
    return Api(emulator, service, sid)


# ----- calls ----------------------------------------------------------------------------------


def batch(*requests: Any) -> Call:
    return lambda s, sid: s.spreadsheets().batchUpdate(
        spreadsheetId=sid, body={"requests": list(requests)}
    )


def batch_body(body: Any) -> Call:
    return lambda s, sid: s.spreadsheets().batchUpdate(spreadsheetId=sid, body=body)


def batch_to(spreadsheet_id: str, *requests: Any) -> Call:
    return lambda s, _: s.spreadsheets().batchUpdate(
        spreadsheetId=spreadsheet_id, body={"requests": list(requests)}
    )


def get(spreadsheet_id: str | None = None, **options: Any) -> Call:
    return lambda s, sid: s.spreadsheets().get(spreadsheetId=spreadsheet_id or sid, **options)


def create(body: Any) -> Call:
    return lambda s, _: s.spreadsheets().create(body=body)


def values_update(a1: str, body: Any, **options: Any) -> Call:
    return lambda s, sid: (
        s.spreadsheets().values().update(spreadsheetId=sid, range=a1, body=body, **options)
    )


def values_get(a1: str, **options: Any) -> Call:
    return lambda s, sid: s.spreadsheets().values().get(spreadsheetId=sid, range=a1, **options)


def rewritten(call: Call, old: str, new: str) -> Call:
    """The client checks a query parameter's enum itself: send what it would not, as a
    hand-written URL would."""

    def make(service: Any, sid: str) -> Any:
        request = call(service, sid)
        assert old in request.uri
        request.uri = request.uri.replace(old, new)
        return request

    return make


def cells(*values: dict[str, Any], sheet_id: int = 0) -> dict[str, Any]:
    return {"start": {"sheetId": sheet_id}, "rows": [{"values": list(values)}]}


def update_cells(fields: str, *values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"updateCells": {**cells(*values), "fields": fields, **extra}}


NUMBER = {"userEnteredValue": {"numberValue": 1}}
RANGE = {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0}


def repeat(fields: str, cell: Any, grid_range: Any = RANGE) -> dict[str, Any]:
    return {"repeatCell": {"range": grid_range, "cell": cell, "fields": fields}}


def rule(condition: Any, fmt: Any) -> dict[str, Any]:
    return {
        "addConditionalFormatRule": {
            "index": 0,
            "rule": {"ranges": [RANGE], "booleanRule": {"condition": condition, "format": fmt}},
        }
    }


def sheet_props(fields: str, **props: Any) -> dict[str, Any]:
    return {"updateSheetProperties": {"properties": {"sheetId": 0, **props}, "fields": fields}}


def rows_dimension(dimension: Any, start: Any = 0, end: Any = 1) -> dict[str, Any]:
    span = {"sheetId": 0, "dimension": dimension, "startIndex": start, "endIndex": end}
    return {"insertDimension": {"range": span, "inheritFromBefore": False}}


# ----- (a) what Google refuses ----------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    name: str
    why: str  # the rule Google applies
    call: Call
    says: str  # in Google's message
    status: int = 400
    parser: bool = False  # refused by the JSON parser: a BadRequest detail per problem
    contract: bool = True  # refused whatever the spreadsheet holds


def parsed(name: str, why: str, call: Call, says: str) -> Refused:
    return Refused(name, why, call, says, parser=True)


REFUSED = [
    # unknown fields, at any depth
    parsed(
        "unknown-top-level-field",
        "BatchUpdateSpreadsheetRequest has no such field",
        batch_body({"requests": [update_cells("userEnteredValue", NUMBER)], "dryRun": True}),
        'Unknown name "dryRun": Cannot find field.',
    ),
    parsed(
        "unknown-request-kind",
        "Request has no kind updateCell",
        batch({"updateCell": cells(NUMBER)}),
        "Unknown name \"updateCell\" at 'requests[0]': Cannot find field.",
    ),
    parsed(
        "field-of-another-request",
        "sheetId belongs in updateCells.start, not in updateCells",
        batch(update_cells("userEnteredValue", NUMBER, sheetId=0)),
        "Unknown name \"sheetId\" at 'requests[0].update_cells': Cannot find field.",
    ),
    parsed(
        "typo-deep-in-a-cell",
        "ExtendedValue has numberValue, not numberValu",
        batch(update_cells("userEnteredValue", {"userEnteredValue": {"numberValu": 1}})),
        'Unknown name "numberValu" at '
        "'requests[0].update_cells.rows[0].values[0].user_entered_value'",
    ),
    parsed(
        "inherit-before",
        "InsertDimensionRequest's field is inheritFromBefore",
        batch(
            {
                "insertDimension": {
                    "range": rows_dimension("ROWS")["insertDimension"]["range"],
                    "inheritBefore": True,
                }
            }
        ),
        "Unknown name \"inheritBefore\" at 'requests[0].insert_dimension'",
    ),
    parsed(
        "grid-properties-case",
        "names are case-sensitive: rowCount, not rowcount",
        batch({"addSheet": {"properties": {"title": "New", "gridProperties": {"rowcount": 5}}}}),
        "Unknown name \"rowcount\" at 'requests[0].add_sheet.properties.grid_properties'",
    ),
    parsed(
        "british-colour",
        "CellFormat has backgroundColor",
        batch(
            rule(
                {"type": "NUMBER_GREATER", "values": [{"userEnteredValue": "1"}]},
                {"backgroundColour": {"red": 1}},
            )
        ),
        'Unknown name "backgroundColour" at '
        "'requests[0].add_conditional_format_rule.rule.boolean_rule.format'",
    ),
    parsed(
        "unknown-spreadsheet-property",
        "SpreadsheetProperties has title, no name",
        create({"properties": {"title": "x", "name": "y"}}),
        "Unknown name \"name\" at 'properties': Cannot find field.",
    ),
    parsed(
        "query-option-in-the-body",
        "valueInputOption is a query parameter, not a ValueRange field",
        values_update(
            "Sheet1!A1", {"values": [[1]], "valueInputOption": "RAW"}, valueInputOption="RAW"
        ),
        'Unknown name "valueInputOption": Cannot find field.',
    ),
    parsed(
        "number-format-pattern-typo",
        "NumberFormat has pattern",
        batch(
            repeat(
                "userEnteredFormat.numberFormat",
                {"userEnteredFormat": {"numberFormat": {"type": "DATE", "patern": "yyyy"}}},
            )
        ),
        'Unknown name "patern" at '
        "'requests[0].repeat_cell.cell.user_entered_format.number_format'",
    ),
    # enums
    parsed(
        "dimension-row",
        "Dimension is ROWS or COLUMNS",
        batch(rows_dimension("ROW")),
        "Invalid value at 'requests[0].insert_dimension.range.dimension' "
        '(type.googleapis.com/google.apps.sheets.v4.Dimension), "ROW"',
    ),
    parsed(
        "append-dimension-column",
        "Dimension is ROWS or COLUMNS",
        batch({"appendDimension": {"sheetId": 0, "dimension": "COLUMN", "length": 1}}),
        "Invalid value at 'requests[0].append_dimension.dimension'",
    ),
    parsed(
        "number-format-type",
        "NumberFormat.type has DATE, not DATES",
        batch(
            repeat(
                "userEnteredFormat.numberFormat",
                {"userEnteredFormat": {"numberFormat": {"type": "DATES"}}},
            )
        ),
        "Invalid value at 'requests[0].repeat_cell.cell.user_entered_format.number_format.type'",
    ),
    parsed(
        "condition-type",
        "ConditionType has CUSTOM_FORMULA, not CUSTOM",
        batch(
            rule(
                {"type": "CUSTOM", "values": [{"userEnteredValue": "=A1>1"}]},
                {"backgroundColor": {"red": 1}},
            )
        ),
        ".boolean_rule.condition.type' (type.googleapis.com/google.apps.sheets.v4.ConditionType)"
        ', "CUSTOM"',
    ),
    parsed(
        "major-dimension-in-body",
        "ValueRange.majorDimension is ROWS or COLUMNS",
        values_update(
            "Sheet1!A1", {"values": [[1]], "majorDimension": "ROW"}, valueInputOption="RAW"
        ),
        "Invalid value at 'major_dimension' (type.googleapis.com/google.apps.sheets.v4.Dimension)",
    ),
    parsed(
        "sheet-type",
        "SheetType is GRID, OBJECT or DATA_SOURCE",
        batch({"addSheet": {"properties": {"title": "New", "sheetType": "SHEET"}}}),
        "Invalid value at 'requests[0].add_sheet.properties.sheet_type'",
    ),
    parsed(
        "value-render-option",
        "valueRenderOption has FORMATTED_VALUE, not FORMATTED",
        rewritten(
            values_get("Sheet1!A1", valueRenderOption="FORMATTED_VALUE"),
            "valueRenderOption=FORMATTED_VALUE",
            "valueRenderOption=FORMATTED",
        ),
        "Invalid value at 'value_render_option' "
        '(type.googleapis.com/google.apps.sheets.v4.ValueRenderOption), "FORMATTED"',
    ),
    # types
    parsed(
        "int-as-words",
        "rowIndex is an int32",
        batch(
            {
                "updateCells": {
                    "start": {"sheetId": 0, "rowIndex": "abc"},
                    "rows": [],
                    "fields": "userEnteredValue",
                }
            }
        ),
        "Invalid value at 'requests[0].update_cells.start.row_index' (TYPE_INT32), \"abc\"",
    ),
    parsed(
        "fractional-sheet-id",
        "sheetId is an int32",
        batch({"deleteSheet": {"sheetId": 1.5}}),
        "Invalid value at 'requests[0].delete_sheet.sheet_id' (TYPE_INT32), 1.5",
    ),
    parsed(
        "number-as-title",
        "title is a string",
        batch({"addSheet": {"properties": {"title": 2025}}}),
        "Invalid value at 'requests[0].add_sheet.properties.title' (TYPE_STRING), 2025",
    ),
    parsed(
        "a1-for-a-grid-range",
        "range is a GridRange object, not A1 notation",
        batch(repeat("userEnteredValue", NUMBER, "A1:B2")),
        "Invalid value at 'requests[0].repeat_cell.range' "
        '(type.googleapis.com/google.apps.sheets.v4.GridRange), "A1:B2"',
    ),
    parsed(
        "bool-as-word",
        "bold is a boolean",
        batch(
            repeat(
                "userEnteredFormat.textFormat.bold",
                {"userEnteredFormat": {"textFormat": {"bold": "yes"}}},
            )
        ),
        "Invalid value at 'requests[0].repeat_cell.cell.user_entered_format.text_format.bold' "
        '(TYPE_BOOL), "yes"',
    ),
    parsed(
        "int32-overflow",
        "rowCount is an int32",
        batch(
            {
                "addSheet": {
                    "properties": {"title": "Big", "gridProperties": {"rowCount": 3_000_000_000}}
                }
            }
        ),
        "Invalid value at 'requests[0].add_sheet.properties.grid_properties.row_count' "
        "(TYPE_INT32), 3000000000",
    ),
    parsed(
        "object-for-a-list",
        "rows is a list of RowData",
        batch(
            {
                "updateCells": {
                    "start": {"sheetId": 0},
                    "rows": {"values": [NUMBER]},
                    "fields": "userEnteredValue",
                }
            }
        ),
        "Invalid value at 'requests[0].update_cells.rows'",
    ),
    parsed(
        "list-for-an-object",
        "properties is one SheetProperties",
        batch({"updateSheetProperties": {"properties": [{"sheetId": 0}], "fields": "title"}}),
        "Unknown name \"properties\" at 'requests[0].update_sheet_properties': "
        "Proto field is not repeating, cannot start list.",
    ),
    parsed(
        "include-grid-data-yes",
        "includeGridData is a boolean",
        rewritten(get(includeGridData=True), "includeGridData=true", "includeGridData=yes"),
        "Invalid value at 'include_grid_data' (TYPE_BOOL), \"yes\"",
    ),
    Refused(
        "list-in-a-values-cell",
        "a cell of the values API is a number, string or boolean",
        values_update("Sheet1!A1", {"values": [[1, [2, 3]]]}, valueInputOption="RAW"),
        "Invalid values[0][1]: list_value",
    ),
    # field masks
    Refused(
        "update-cells-mask-typo",
        "CellData has userEnteredValue",
        batch(update_cells("userEnteredValu", NUMBER)),
        "Invalid requests[0].updateCells: ",
    ),
    Refused(
        "repeat-cell-mask-deep-typo",
        "NumberFormat has type",
        batch(repeat("userEnteredFormat.numberFormat.typ", {"userEnteredFormat": {}})),
        "Invalid requests[0].repeatCell: ",
    ),
    Refused(
        "sheet-properties-mask-typo",
        "GridProperties has frozenRowCount",
        batch(sheet_props("gridProperties.frozenRowCounts", gridProperties={"frozenRowCount": 1})),
        "Invalid requests[0].updateSheetProperties: ",
    ),
    Refused(
        "mask-names-its-root",
        "the root `properties` is implied and must not be named",
        batch(sheet_props("properties.title", title="New")),
        "Invalid requests[0].updateSheetProperties: ",
    ),
    Refused(
        "named-range-mask-plural",
        "NamedRange has range, not ranges",
        batch(
            {
                "updateNamedRange": {
                    "namedRange": {"namedRangeId": "x", "range": RANGE},
                    "fields": "ranges",
                }
            }
        ),
        "Invalid requests[0].updateNamedRange: ",
    ),
    Refused(
        "mask-missing",
        "an update must name at least one field",
        batch({"updateCells": cells(NUMBER)}),
        "Invalid requests[0].updateCells: At least one field must be specified.",
        contract=False,
    ),
    Refused(
        "selector-typo",
        "Spreadsheet.sheets has properties",
        get(fields="sheets.propertie"),
        "Request contains an invalid argument.",
    ),
    Refused(
        "selector-nested-typo",
        "SheetProperties has title",
        get(fields="sheets(properties(sheetId,titel))"),
        "Request contains an invalid argument.",
    ),
    Refused(
        "selector-with-a-space",
        "Sheets does not strip the space after a comma",
        get(fields="spreadsheetId, sheets.properties"),
        "Request contains an invalid argument.",
    ),
    # ids
    Refused(
        "cells-on-an-unknown-sheet",
        "no sheet has id 999",
        batch({"updateCells": {**cells(NUMBER, sheet_id=999), "fields": "userEnteredValue"}}),
        "Invalid requests[0].updateCells: No grid with id: 999",
        contract=False,
    ),
    Refused(
        "delete-an-unknown-sheet",
        "no sheet has id 999",
        batch({"deleteSheet": {"sheetId": 999}}),
        "Invalid requests[0].deleteSheet: No grid with id: 999",
        contract=False,
    ),
    Refused(
        "properties-of-an-unknown-sheet",
        "no sheet has id 999",
        batch(
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": 999, "title": "x"},
                    "fields": "title",
                }
            }
        ),
        "Invalid requests[0].updateSheetProperties: No sheet with id: 999",
        contract=False,
    ),
    Refused(
        "repeat-on-an-unknown-sheet",
        "no sheet has id 999",
        batch(repeat("userEnteredValue", NUMBER, {**RANGE, "sheetId": 999})),
        "No grid with id: 999",
        contract=False,
    ),
    Refused(
        "named-range-on-an-unknown-sheet",
        "no sheet has id 999",
        batch({"addNamedRange": {"namedRange": {"name": "Other", "range": {"sheetId": 999}}}}),
        "No grid with id: 999",
        contract=False,
    ),
    Refused(
        "unknown-named-range-id",
        "no named range has that id",
        batch(
            {
                "updateNamedRange": {
                    "namedRange": {"namedRangeId": "nope", "range": RANGE},
                    "fields": "range",
                }
            }
        ),
        "Invalid requests[0].updateNamedRange: No named range with id: nope",
        contract=False,
    ),
    Refused(
        "duplicate-into-a-taken-id",
        "sheet id 0 is taken",
        batch({"duplicateSheet": {"sourceSheetId": 0, "newSheetId": 0, "newSheetName": "Copy"}}),
        "Sheet with id 0 already exists.",
        contract=False,
    ),
    Refused(
        "batch-on-an-unknown-spreadsheet",
        "no such spreadsheet",
        batch_to(UNKNOWN_SPREADSHEET, {"deleteSheet": {"sheetId": 0}}),
        "Requested entity was not found.",
        status=404,
        contract=False,
    ),
    Refused(
        "get-an-unknown-spreadsheet",
        "no such spreadsheet",
        get(UNKNOWN_SPREADSHEET),
        "Requested entity was not found.",
        status=404,
        contract=False,
    ),
]


def refusal(api: Api, call: Call) -> tuple[HttpError, dict[str, Any]]:
    """The HttpError of ``call`` and Google's error object in it; the spreadsheet unchanged."""
    before = api.emu.snapshot(api.sid)
    with pytest.raises(HttpError) as caught:
        call(api.service, api.sid).execute()
    assert api.emu.snapshot(api.sid) == before  # a refused batch changes nothing
    body = json.loads(caught.value.content)
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) <= {"code", "message", "status", "details"}
    assert caught.value.reason == error["message"]  # what the client shows is Google's message
    return caught.value, error


def test_the_table_holds_every_kind_of_refusal() -> None:
    assert len(REFUSED) >= 26
    assert len({case.name for case in REFUSED}) == len(REFUSED)
    assert sum(case.parser for case in REFUSED) >= 20
    assert {case.status for case in REFUSED} == {400, 404}


@pytest.mark.parametrize("case", REFUSED, ids=[case.name for case in REFUSED])
def test_google_refuses_it_and_so_does_the_emulator(api: Api, case: Refused) -> None:
    exc, error = refusal(api, case.call)
    assert exc.status_code == error["code"] == case.status, case.why
    assert error["status"] == STATUS[case.status]
    assert case.says in error["message"]
    if case.parser:  # one BadRequest detail, a field violation per line of the message
        (detail,) = error["details"]
        assert detail["@type"] == BAD_REQUEST
        lines = error["message"].split("\n")
        assert [v["description"] for v in detail["fieldViolations"]] == lines
        assert exc.error_details == error["details"]
    elif not case.says.startswith("Request contains"):
        assert "details" not in error
    last = api.emu.refusals[-1]
    assert (last.status, last.message, last.contract) == (
        case.status,
        error["message"],
        case.contract,
    )


@pytest.mark.parametrize("record", RECORDED, ids=[r["id"] for r in RECORDED])
def test_google_s_recorded_answers_are_the_emulator_s(api: Api, record: dict[str, Any]) -> None:
    if record.get("setup"):
        api.emu.apply(api.sid, record["setup"])
    _, error = refusal(api, recorded_call(record["call"]))
    assert (error["code"], error["status"]) == (record["status"], record["status_name"])
    if record["match"] == "exact":
        assert error["message"] == record["message"]
    else:
        assert error["message"].startswith(record["message"])
    if record["details"] is None:
        assert "details" not in error
    else:
        (detail,) = error["details"]
        assert detail["@type"] == record["details"]
        violations = detail["fieldViolations"]
        if "field_violation" in record:
            assert violations[0]["field"] == record["field_violation"]
        if "description" in record:
            assert violations[0]["description"] == record["description"]


def recorded_call(spec: dict[str, Any]) -> Call:
    method = spec["method"]
    if method == "batchUpdate":
        call = batch_body(spec["body"])
    elif method == "get":
        options = {"fields": spec["fields"]} if "fields" in spec else {}
        call = get(spec.get("spreadsheetId"), **options)
    else:
        assert method == "values.update"
        options = (
            {"valueInputOption": spec["valueInputOption"]} if "valueInputOption" in spec else {}
        )
        call = values_update(spec["range"], spec["body"], **options)
    if "uri_replace" in spec:
        call = rewritten(call, *spec["uri_replace"])
    return call


# ----- (b) what Google accepts ----------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    name: str
    why: str
    call: Call
    then: Callable[[Api, Any], None]  # (api, answer): the request did what it says


def _sheet1(api: Api) -> dict[str, Any]:
    props: dict[str, Any] = api.emu.snapshot(api.sid)["sheets"][0]["properties"]
    return props


def _cell(api: Api, a1: str) -> dict[str, Any]:
    return dict(api.emu.cell(api.sid, a1))


ACCEPTED = [
    Accepted(
        "snake-case-names",
        "the proto3 JSON parser takes proto field names as well as JSON names",
        batch(
            {
                "update_sheet_properties": {
                    "properties": {"sheet_id": 0, "title": "Renamed"},
                    "fields": "title",
                }
            }
        ),
        lambda api, _: _assert(api.emu.titles(api.sid) == ["Renamed"]),
    ),
    Accepted(
        "int32-as-string",
        "an int32 may be a JSON string",
        batch(sheet_props("gridProperties.rowCount", gridProperties={"rowCount": "2000"})),
        lambda api, _: _assert(_sheet1(api)["gridProperties"]["rowCount"] == 2000),
    ),
    Accepted(
        "enum-by-number",
        "an enum may be its number (1: ROWS)",
        batch(rows_dimension(1)),
        lambda api, _: _assert(_sheet1(api)["gridProperties"]["rowCount"] == 1001),
    ),
    Accepted(
        "star-mask",
        "'*' names every field",
        batch(update_cells("*", {"userEnteredValue": {"stringValue": "hi"}})),
        lambda api, _: _assert(_cell(api, "Sheet1!A1")["formattedValue"] == "hi"),
    ),
    Accepted(
        "parenthesised-mask",
        "a mask may group subfields in parentheses",
        batch(
            repeat(
                "userEnteredFormat(numberFormat,textFormat)",
                {
                    "userEnteredFormat": {
                        "textFormat": {"bold": True},
                        "numberFormat": {"type": "PERCENT"},
                    }
                },
            )
        ),
        lambda api, _: _assert(
            _cell(api, "Sheet1!B2")["userEnteredFormat"]["textFormat"] == {"bold": True}
        ),
    ),
    Accepted(
        "snake-case-mask",
        "mask names may be snake_case",
        batch(
            repeat(
                "user_entered_format.text_format.bold",
                {"userEnteredFormat": {"textFormat": {"bold": True}}},
            )
        ),
        lambda api, _: _assert(
            _cell(api, "Sheet1!A1")["userEnteredFormat"] == {"textFormat": {"bold": True}}
        ),
    ),
    Accepted(
        "null-is-unset",
        "null leaves a field at its default",
        batch({"addSheet": {"properties": {"title": "New", "index": None, "tabColor": None}}}),
        lambda api, _: _assert(api.emu.titles(api.sid) == ["Sheet1", "New"]),
    ),
    Accepted(
        "double-as-string",
        "a double may be a JSON string",
        batch(update_cells("userEnteredValue", {"userEnteredValue": {"numberValue": "2.5"}})),
        lambda api, _: _assert(_cell(api, "Sheet1!A1")["effectiveValue"] == {"numberValue": 2.5}),
    ),
    Accepted(
        "the-project-s-read",
        "a selector of sheets, properties and cell values",
        get(
            ranges=[NAMED],
            includeGridData=True,
            fields="sheets(properties(sheetId,title,index,gridProperties),"
            "data.rowData.values(formattedValue,effectiveValue)),namedRanges",
        ),
        lambda _, answer: _assert(answer["namedRanges"][0]["name"] == NAMED),
    ),
    Accepted(
        "snake-case-selector",
        "selector names may be snake_case",
        get(fields="sheets.properties.sheet_id,spreadsheet_id"),
        lambda api, answer: _assert(
            answer == {"spreadsheetId": api.sid, "sheets": [{"properties": {"sheetId": 0}}]}
        ),
    ),
    Accepted(
        "star-selector",
        "'*' selects everything",
        get(fields="*"),
        lambda api, answer: _assert(answer["spreadsheetId"] == api.sid),
    ),
    Accepted(
        "values-by-column",
        "ValueRange with majorDimension COLUMNS",
        values_update(
            "Sheet1!A1",
            {"majorDimension": "COLUMNS", "values": [["a"], [1]]},
            valueInputOption="RAW",
        ),
        lambda api, _: _assert(api.emu.values(api.sid, "Sheet1!A1:B1") == [["a", "1"]]),
    ),
    Accepted(
        "values-read-unformatted",
        "values.get with a valueRenderOption",
        values_get(NAMED, valueRenderOption="UNFORMATTED_VALUE", majorDimension="ROWS"),
        lambda _, answer: _assert(answer["majorDimension"] == "ROWS"),
    ),
    Accepted(
        "create-with-sheets",
        "a spreadsheet with its sheets and locale",
        create(
            {
                "properties": {"title": "New", "locale": "en_GB"},
                "sheets": [{"properties": {"title": "Data", "gridProperties": {"rowCount": 5}}}],
            }
        ),
        lambda api, answer: _assert(api.emu.titles(answer["spreadsheetId"]) == ["Data"]),
    ),
    Accepted(
        "the-project-s-colour-rule",
        "a custom-formula conditional format",
        batch(
            rule(
                {"type": "CUSTOM_FORMULA", "values": [{"userEnteredValue": "=A1>1"}]},
                {"backgroundColor": {"red": 1.0, "green": 0.8, "blue": 0.8}},
            )
        ),
        lambda api, _: _assert(
            len(api.emu.snapshot(api.sid)["sheets"][0]["conditionalFormats"]) == 1
        ),
    ),
    Accepted(
        "update-named-range",
        "a named range moved, mask 'range'",
        lambda s, sid: batch(
            {
                "updateNamedRange": {
                    "namedRange": {"namedRangeId": _named_range_id(s, sid), "range": RANGE},
                    "fields": "range",
                }
            }
        )(s, sid),
        lambda api, _: _assert(api.emu.snapshot(api.sid)["namedRanges"][0]["range"] == RANGE),
    ),
]


def _named_range_id(service: Any, sid: str) -> str:
    """As a client finds it: read from the spreadsheet."""
    answer = service.spreadsheets().get(spreadsheetId=sid, fields="namedRanges").execute()
    return str(answer["namedRanges"][0]["namedRangeId"])


def _assert(condition: bool) -> None:
    assert condition


def test_the_accepted_table_holds_the_parser_s_leniencies() -> None:
    assert len(ACCEPTED) >= 12
    assert len({case.name for case in ACCEPTED}) == len(ACCEPTED)


@pytest.mark.parametrize("case", ACCEPTED, ids=[case.name for case in ACCEPTED])
def test_google_accepts_it_and_so_does_the_emulator(api: Api, case: Accepted) -> None:
    before = len(api.emu.refusals)
    answer = case.call(api.service, api.sid).execute()
    assert api.emu.refusals[before:] == []
    case.then(api, answer)


# ----- (c) what the project sends -------------------------------------------------------------


def test_the_contract_is_the_installed_client_s_discovery_document() -> None:
    assert DISCOVERY_PATH.is_relative_to(Path(googleapiclient.__file__).parent)
    assert discovery()["id"] == "sheets:v4"
    assert "updateCells" in discovery()["schemas"]["Request"]["properties"]


def test_init_push_and_the_daily_job_send_nothing_google_would_refuse(
    tmp_path: Path,
    emu: SheetsEmulator,
    populate: Populate,
    enlighten: Callable[..., Any],
) -> None:
    # --init on an empty spreadsheet, then pushes of the days after
    sid = emu.create_spreadsheet("Mine")
    (tmp_path / "init").mkdir()
    config_path = write_sheets_config(tmp_path / "init", emu, spreadsheet_id=sid)
    history = History()
    add_days(history, SERIALS, date(2025, 6, 1), 7)
    save_history(load_config(config_path).history_path, history)
    assert populate(config_path, "--init")[0] == 0
    add_days(history, SERIALS, date(2025, 6, 8), 2)
    save_history(load_config(config_path).history_path, history)
    assert populate(config_path)[0] == 0
    # a push into the original script's layout
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    legacy_id = legacy_spreadsheet(emu, SERIALS, history, [f"2025-06-0{d}" for d in (1, 2, 3)])
    legacy_path = write_sheets_config(legacy, emu, spreadsheet_id=legacy_id)
    save_history(load_config(legacy_path).history_path, history)
    assert populate(legacy_path)[0] == 0
    # the daily job: --init creates the spreadsheet, each night pushes
    site = enlighten(SiteScenario.healthy())
    job = tmp_path / "job"
    job.mkdir()
    job_config = write_config(job, site)
    attach_sheets_emulator(job_config, emu)
    night(site, 0)
    assert populate_google_sheet.main(["--config", str(job_config), "--init", "-q"]) == 0
    for offset in (1, 2):
        night(site, offset)
        assert run_inverter_daily_stats.main(["--config", str(job_config), "-q"]) == 0
    calls = emu.calls
    assert calls["spreadsheets.batchUpdate"] >= 6 and calls["spreadsheets.get"] >= 6
    assert calls["spreadsheets.create"] == 1
    assert emu.refusals == []  # not even one the spreadsheet's state refused
