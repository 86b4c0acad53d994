"""``--init`` lays out a spreadsheet; Google credentials are found, refreshed, migrated, secret.

Real googleapiclient and google-auth against the Sheets emulator and its token endpoint.
"""

from __future__ import annotations

import json
import pickle
import stat
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from panel_tracker.history import History, save_history
from panel_tracker.settings import load_config
from panel_tracker.sheets.auth import SCOPES, load_credentials
from sandbox.enlighten_emulator import EnlightenEmulator
from sandbox.sheets_bench import add_days, attach_sheets_emulator, write_sheets_config
from sandbox.sheets_emulator import SheetsEmulator
from tests.conftest import assert_no_secrets, config_secrets, night, write_config

if TYPE_CHECKING:  # imported by pytest_plugins below, first, so pytest can rewrite it
    from tests.sheets_fixtures import Populate

pytest_plugins = ["tests.sheets_fixtures"]  # the emu, populate and free_port fixtures

SERIALS = ["121900000001", "121900000002", "121900000003"]
OURS = ["Dashboard", "Last 7 Days", "Panel Data-2025", "Panel Data-TEMPLATE"]


def setup_folder(
    folder: Path,
    emu: SheetsEmulator,
    *,
    days: int = 7,
    spreadsheet_id: str | None = None,
    serials: list[str] = SERIALS,
    **extra: Any,
) -> Path:
    path = write_sheets_config(folder, emu, spreadsheet_id=spreadsheet_id, **extra)
    history = History()
    add_days(history, serials, date(2025, 6, 1), days)
    save_history(load_config(path).history_path, history)
    return path


def token_secrets(folder: Path) -> list[str]:
    token = json.loads((folder / "token.json").read_text())
    return [token["token"], token["refresh_token"], token["client_secret"]]


# ----- --init ----------------------------------------------------------------------------------


def test_init_lays_out_an_empty_spreadsheet_then_pushes_and_again_changes_nothing(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    sid = emu.create_spreadsheet("Mine")
    path = setup_folder(tmp_path, emu, spreadsheet_id=sid)
    code, out, err = populate(path, "--init")
    assert code == 0, err
    assert "added sheet 'Panel Data-TEMPLATE'" in out and "7 new" in out
    titles = emu.titles(sid)
    assert [t for t in titles if t in OURS] == OURS
    assert "Sheet1" in titles  # a sheet the user had is never deleted
    assert emu.values(sid, "InverterSerialNumbers") == [SERIALS]
    rows = emu.values(sid, "'Panel Data-2025'!A3:D")
    assert [r[0] for r in rows] == [f"06/0{d}/2025" for d in range(1, 8)]
    assert rows[0][1:] == [
        str(1_200 + 37 * i + (date(2025, 6, 1).toordinal() % 7) * 11) for i in range(3)
    ]
    book = emu.snapshot(sid)
    dashboard = next(s for s in book["sheets"] if s["properties"]["title"] == "Dashboard")
    formulas = [
        rule["booleanRule"]["condition"]["values"][0]["userEnteredValue"]
        for rule in dashboard["conditionalFormats"]
    ]
    assert any("MEDIAN" in f and "0.92" in f for f in formulas)  # health's weak_ratio

    code, out, err = populate(path, "--init")
    assert code == 0, err
    assert "added nothing (the layout was complete)" in out
    assert emu.snapshot(sid) == book  # the layout, the rows, the formats: nothing changed

    history = History(json.loads(load_config(path).history_path.read_text()))
    add_days(history, SERIALS, date(2025, 6, 8), 1)
    save_history(load_config(path).history_path, history)
    emu.reset_calls()
    assert populate(path)[0] == 0
    assert emu.count() == 2  # --init left the state a daily push needs
    assert emu.values(sid, "'Panel Data-2025'!A10")[0][0] == "06/08/2025"


@pytest.mark.parametrize("health", [None, {"weak_ratio": 0.8, "recover_ratio": 0.9}])
def test_the_summary_sheets_colour_by_health_s_thresholds_red_winning(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate, health: dict[str, float] | None
) -> None:
    # Sheets applies the first rule that matches a cell: red must come before amber.
    extra: dict[str, Any] = {"health": health} if health else {}
    path = setup_folder(tmp_path, emu, **extra)
    code, _, err = populate(path, "--init")
    assert code == 0, err
    weak, watch = (health or {"weak_ratio": 0.92, "recover_ratio": 0.95}).values()
    sid = json.loads(path.read_text())["spreadsheet_id"]
    for title in ("Dashboard", "Last 7 Days"):
        sheet = next(s for s in emu.snapshot(sid)["sheets"] if s["properties"]["title"] == title)
        rules = [
            (
                rule["booleanRule"]["condition"]["values"][0]["userEnteredValue"],
                rule["booleanRule"]["format"]["backgroundColor"],
            )
            for rule in sheet["conditionalFormats"]
        ]
        assert len(rules) == 2, title
        (red_formula, red), (amber_formula, amber) = rules
        assert f"<{weak}" in red_formula and f"<{watch}" in amber_formula, title
        assert red["red"] > 0.9 and red["green"] < 0.7, title  # red
        assert amber["green"] > 0.8, title  # amber
    legend = emu.values(sid, "Dashboard!A2")[0][0]
    assert f"Red: below {weak:.0%}" in legend and f"amber: below {watch:.0%}" in legend


def test_init_without_a_spreadsheet_id_creates_one_and_saves_the_id(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    path = setup_folder(tmp_path, emu)
    code, out, err = populate(path, "--init")
    assert code == 0, err
    saved = json.loads(path.read_text())
    sid = saved["spreadsheet_id"]
    assert f"created spreadsheet {sid}" in out
    assert emu.titles(sid) == OURS  # the new spreadsheet's default sheet is gone
    assert saved["sheets_api_url"] == emu.url  # every other key kept
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(emu.values(sid, "'Panel Data-2025'!A3:A")) == 7


def test_panel_layout_places_the_panels_on_the_dashboard(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    layout = [[SERIALS[2], SERIALS[0]], [None, int(SERIALS[1])]]
    path = setup_folder(tmp_path, emu, panel_layout=layout)
    assert populate(path, "--init")[0] == 0
    sid = json.loads(path.read_text())["spreadsheet_id"]
    grid = emu.values(sid, "Dashboard!A4:C7", "FORMULA")
    assert grid[0] == ["", SERIALS[2], SERIALS[0]]
    assert grid[2] == ["", "", SERIALS[1]]
    assert SERIALS[0] in grid[1][2] and "VLOOKUP" in grid[1][2]
    dashboard = next(
        s for s in emu.snapshot(sid)["sheets"] if s["properties"]["title"] == "Dashboard"
    )
    red = dashboard["conditionalFormats"][0]
    assert red["ranges"][0]["startRowIndex"] == 3 and red["ranges"][0]["endRowIndex"] == 7
    assert red["booleanRule"]["format"]["backgroundColor"]["red"] > 0.9


def test_named_faces_are_drawn_one_after_another_each_under_its_name(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    serials = [f"12190000001{n}" for n in range(6)]
    faces = {"east": [serials[:3]], "west": [serials[3:5], [None, serials[5]]]}
    path = setup_folder(tmp_path, emu, serials=serials, panel_layout=faces)
    assert populate(path, "--init")[0] == 0
    sid = json.loads(path.read_text())["spreadsheet_id"]
    grid = emu.values(sid, "Dashboard!A4:D11", "FORMULA")
    assert grid[0] == ["east"] and grid[1] == ["", *serials[:3]]
    assert grid[3] == ["west"] and grid[4] == ["", *serials[3:5]]
    assert grid[6] == ["", "", serials[5]] and serials[5] in grid[7][2]
    dashboard = next(
        s for s in emu.snapshot(sid)["sheets"] if s["properties"]["title"] == "Dashboard"
    )
    red = dashboard["conditionalFormats"][0]
    assert red["ranges"][0]["startRowIndex"] == 3 and red["ranges"][0]["endRowIndex"] == 11


def test_init_adds_a_replacement_serial_to_the_named_range_and_keeps_the_data(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    path = setup_folder(tmp_path, emu)
    assert populate(path, "--init")[0] == 0
    sid = json.loads(path.read_text())["spreadsheet_id"]
    rows_before = emu.values(sid, "'Panel Data-2025'!A3:D9")
    new = "121900000044"
    history = History(json.loads(load_config(path).history_path.read_text()))
    add_days(history, [*SERIALS, new], date(2025, 6, 8), 1)
    save_history(load_config(path).history_path, history)
    code, out, err = populate(path, "--init")
    assert code == 0, err
    assert f"serials {new} to InverterSerialNumbers" in out
    assert emu.values(sid, "InverterSerialNumbers") == [[*SERIALS, new]]
    assert emu.values(sid, "'Panel Data-2025'!A3:D9") == rows_before
    assert emu.values(sid, "'Panel Data-2025'!E10") == [[str(history.daily(new, "2025-06-08"))]]
    # The year sheet names the new column too, and totals it, as the template does.
    assert emu.values(sid, "'Panel Data-2025'!E1") == [[new]]
    assert emu.values(sid, "'Panel Data-2025'!E2", "FORMULA") == [["=SUM(E3:E)"]]
    assert "not in the sheet" not in err


# ----- credentials -----------------------------------------------------------------------------


def test_token_json_is_refreshed_once_and_saved_with_mode_0600(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    path = setup_folder(tmp_path, emu)
    assert populate(path, "--init")[0] == 0
    emu.write_authorized_user_file(tmp_path / "token.json", expired=True)
    old = json.loads((tmp_path / "token.json").read_text())
    emu.reset_calls()
    code, out, err = populate(path, "-v")
    assert code == 0, err
    new = json.loads((tmp_path / "token.json").read_text())
    assert new["token"] != old["token"] and new["refresh_token"] == old["refresh_token"]
    assert datetime.fromisoformat(new["expiry"].replace("Z", "+00:00")) > datetime.now(timezone.utc)
    assert stat.S_IMODE((tmp_path / "token.json").stat().st_mode) == 0o600
    assert emu.calls == {"oauth.token": 1, "spreadsheets.get": 1, "spreadsheets.batchUpdate": 1}
    assert_no_secrets(out + err, [old["token"], *token_secrets(tmp_path)])
    emu.reset_calls()
    assert populate(path)[0] == 0
    assert emu.count("oauth.token") == 0  # the saved token is used, not refreshed again


def test_revoked_authorization_explains_the_testing_consent_trap(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    path = setup_folder(tmp_path, emu, spreadsheet_id=emu.create_spreadsheet())
    emu.write_authorized_user_file(tmp_path / "token.json", expired=True)
    before = (tmp_path / "token.json").read_bytes()
    emu.revoke_refresh_token(json.loads(before)["refresh_token"])
    code, out, err = populate(path)
    assert code == 1
    assert "expired or was revoked" in err and "In production" in err
    assert (tmp_path / "token.json").read_bytes() == before
    assert_no_secrets(out + err, token_secrets(tmp_path))


def test_token_pickle_of_the_original_script_is_migrated_once(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    from google.oauth2.credentials import Credentials

    path = setup_folder(tmp_path, emu, spreadsheet_id=emu.create_spreadsheet())
    (tmp_path / "token.json").unlink()
    legacy = Credentials(
        token=emu.issue_access_token(lifetime=-60),
        refresh_token=emu.issue_refresh_token(),
        token_uri=emu.token_uri,
        client_id=emu.client_id,
        client_secret=emu.client_secret,
        scopes=SCOPES,
        expiry=datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=1),
    )
    (tmp_path / "token.pickle").write_bytes(pickle.dumps(legacy))
    code, out, err = populate(path, "--init")
    assert code == 0, err
    assert "migrated the Google token" in err and "token.pickle" in err
    migrated = json.loads((tmp_path / "token.json").read_text())
    assert migrated["refresh_token"] == legacy.refresh_token
    assert stat.S_IMODE((tmp_path / "token.json").stat().st_mode) == 0o600
    assert (tmp_path / "token.pickle").exists()  # the user's file is theirs to delete
    assert_no_secrets(out + err, [str(legacy.token), *token_secrets(tmp_path)])
    code, out, err = populate(path)
    assert code == 0
    assert "token.pickle" not in err  # once


class _Booby:
    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, ("open('EXECUTED', 'w').close()",))


def test_a_token_pickle_that_is_not_credentials_is_never_run(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = setup_folder(tmp_path, emu, spreadsheet_id=emu.create_spreadsheet())
    (tmp_path / "token.json").unlink()
    (tmp_path / "token.pickle").write_bytes(pickle.dumps(_Booby()))
    monkeypatch.chdir(tmp_path)
    code, _, err = populate(path)
    assert code == 1
    assert "does not hold Google credentials" in err
    assert not (tmp_path / "EXECUTED").exists()
    assert not (tmp_path / "token.json").exists()


def test_no_credentials_at_all_is_a_setup_error(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    path = setup_folder(tmp_path, emu, spreadsheet_id=emu.create_spreadsheet())
    (tmp_path / "token.json").unlink()
    code, _, err = populate(path)
    assert code == 2
    assert "credentials.json" in err and "google_service_account_file" in err


def test_first_authorization_shows_the_address_and_saves_the_token(
    tmp_path: Path,
    emu: SheetsEmulator,
    populate: Populate,
    monkeypatch: pytest.MonkeyPatch,
    free_port: int,
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator's token URL is http
    path = setup_folder(
        tmp_path, emu, spreadsheet_id=emu.create_spreadsheet(), google_oauth_port=free_port
    )
    (tmp_path / "token.json").unlink()
    emu.write_client_secrets_file(tmp_path / "credentials.json")
    shown: list[str] = []

    def user_opens(url: str) -> None:
        # The person at the terminal opens it; the consent page redirects to the local server.
        shown.append(url)
        threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10}).start()

    credentials = load_credentials(
        load_config(path).settings.sheets.google, show_authorization_url=user_opens
    )
    assert credentials.valid
    assert len(shown) == 1
    assert shown[0].startswith(emu.url + "auth?") and "access_type=offline" in shown[0]
    assert f"localhost%3A{free_port}" in shown[0]
    saved = json.loads((tmp_path / "token.json").read_text())
    assert saved["refresh_token"] == credentials.refresh_token
    assert stat.S_IMODE((tmp_path / "token.json").stat().st_mode) == 0o600
    code, out, err = populate(path, "--init")  # and the token works for the sheet
    assert code == 0, err
    assert_no_secrets(out + err, token_secrets(tmp_path))


def test_a_service_account_needs_no_token_file(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account = {
        "type": "service_account",
        "project_id": "solar",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "tracker@solar.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    (tmp_path / "service_account.json").write_text(json.dumps(account))
    path = setup_folder(
        tmp_path,
        emu,
        spreadsheet_id=emu.create_spreadsheet(),
        google_service_account_file="service_account.json",
    )
    (tmp_path / "token.json").unlink()
    code, out, err = populate(path, "--init")
    assert code == 0, err
    assert emu.count("oauth.token") == 1
    assert not (tmp_path / "token.json").exists()
    assert "PRIVATE KEY" not in out + err


def test_init_with_an_empty_history_takes_the_serials_from_enlighten(
    tmp_path: Path,
    emu: SheetsEmulator,
    enlighten: Callable[..., EnlightenEmulator],
    populate: Populate,
) -> None:
    from panel_tracker.app.sources import enlighten_client

    site = enlighten()
    night(site, 0)
    path = write_config(tmp_path, site)
    attach_sheets_emulator(path, emu)
    code, out, err = populate(path, "--init")
    assert code == 0, err
    sid = json.loads(path.read_text())["spreadsheet_id"]
    reported = {r.serial for r in enlighten_client(load_config(path)).inverter_readings()}
    assert emu.values(sid, "InverterSerialNumbers") == [sorted(reported)]
    assert len(reported) > 10
    # no days yet: the layout is ready for the first night, which is not a warning
    assert "nothing to push yet (no night recorded yet" in err and "WARNING" not in err
    assert_no_secrets(out + err, config_secrets(path))


def test_a_push_without_a_spreadsheet_id_says_so_and_leaves_nothing_behind(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    config = write_sheets_config(tmp_path, emu, spreadsheet_id=None)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, _, err = populate(config)
    assert code == 2, err
    assert err.startswith("error:") and "spreadsheet_id" in err and "--init" in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
