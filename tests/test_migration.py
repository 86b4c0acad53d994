"""An installation of the original script switches over without losing anything.

The fixtures in tests/fixtures/original/ are in the original's formats: its config
(with placeholder-free keys of the same names) and its history written by json.dump; the
token.pickle and the spreadsheet laid out as its template are made by the test.
"""

from __future__ import annotations

import json
import pickle
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from google.oauth2.credentials import Credentials

import run_inverter_daily_stats
from panel_tracker.history import load_history
from panel_tracker.sheets.auth import SCOPES
from sandbox.sheets_emulator import SheetsEmulator
from sandbox.site import SiteScenario
from tests.conftest import API_KEY, CLIENT_ID, CLIENT_SECRET, assert_no_secrets, night
from tests.legacy_sheet import legacy_spreadsheet

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "original"
SCENARIO = SiteScenario.healthy(initial_lifetime_wh=650_000)


def install_original(tmp_path: Path, emulator) -> Path:
    """Copy the original installation and point its config at the sandbox."""
    shutil.copytree(FIXTURES, tmp_path / "install")
    config_path = tmp_path / "install" / "enlighten_v4_config.json"
    config = json.loads(config_path.read_text())
    access, refresh = emulator.issue_tokens()
    config.update(
        api_url=emulator.url,
        app_api_key=API_KEY,
        app_client_id=CLIENT_ID,
        app_client_secret=CLIENT_SECRET,
        access_token=access,
        refresh_token=refresh,
    )
    config_path.write_text(json.dumps(config, indent=4))
    return config_path


def test_original_history_keeps_every_day_and_new_days_follow_on(tmp_path, enlighten, capsys):
    emulator = enlighten(SCENARIO)
    site = emulator.site
    config = install_original(tmp_path, emulator)
    history_path = config.parent / "data" / f"inverter_daily_data-{site.system_id}.json"
    original = json.loads(history_path.read_text())["micro_inverters"]
    for offset in range(3):
        night(emulator, offset)
        code = run_inverter_daily_stats.main(["--config", str(config)])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert_no_secrets(out + err, [API_KEY, CLIENT_SECRET])
    history = load_history(history_path)
    for serial, days in original.items():
        for day, entry in days.items():
            assert history.entry(serial, day) == entry  # every original day, untouched
    first = site.days()[0]
    for serial in original:
        for offset in range(3):
            day = first + timedelta(days=offset)
            # Continues from the original's last lifetime: the first new day is known.
            assert history.daily(serial, day.isoformat()) == site.truth_daily(serial, day)


def test_original_config_keys_keep_their_meaning(tmp_path, enlighten, capsys):
    emulator = enlighten(SCENARIO)
    config = install_original(tmp_path, emulator)
    night(emulator, 0)
    code = run_inverter_daily_stats.main(["--config", str(config), "--no-sheet"])
    capsys.readouterr()
    assert code == 0
    saved = json.loads(config.read_text())
    assert saved["name"] == "Home" and saved["spreadsheet_id"] == "<google sheet_id>"
    assert set(json.loads((FIXTURES / "enlighten_v4_config.json").read_text())) <= set(saved)


def test_original_token_pickle_and_spreadsheet_carry_over(tmp_path, enlighten, capsys):
    emulator = enlighten(SCENARIO)
    site = emulator.site
    config_path = install_original(tmp_path, emulator)
    install = config_path.parent
    history = load_history(install / "data" / f"inverter_daily_data-{site.system_id}.json")
    # The user typed the serials into the template in their own order, not sorted.
    serials = sorted(history.serials(), reverse=True)
    with SheetsEmulator() as sheets:
        sid = legacy_spreadsheet(sheets, serials, history, history.dates())
        legacy = Credentials(
            token=sheets.issue_access_token(),
            refresh_token=sheets.issue_refresh_token(),
            token_uri=sheets.token_uri,
            client_id=sheets.client_id,
            client_secret=sheets.client_secret,
            scopes=SCOPES,
        )
        (install / "token.pickle").write_bytes(pickle.dumps(legacy))
        config = json.loads(config_path.read_text())
        # Only what points the original's config at the sandbox instead of Google.
        config.update(
            spreadsheet_id=sid, sheets_api_url=sheets.url, google_token_uri=sheets.token_uri
        )
        config_path.write_text(json.dumps(config, indent=4))
        old_rows = sheets.values(sid, "'Panel Data-2025'!A1:Y")
        for offset in range(3):
            night(emulator, offset)
            code = run_inverter_daily_stats.main(["--config", str(config_path)])
            out, err = capsys.readouterr()
            assert code == 0, err
            assert_no_secrets(
                out + err, [API_KEY, CLIENT_SECRET, str(legacy.token), str(legacy.refresh_token)]
            )
        assert sheets.values(sid, "'Panel Data-2025'!A1:Y") == old_rows  # untouched
        new_rows = sheets.values(sid, "'Panel Data-2026'!A3:Y")
    assert json.loads((install / "token.json").read_text())["refresh_token"]
    first = site.days()[0]
    expected = [first + timedelta(days=n) for n in range(3)]
    assert [datetime.strptime(row[0], "%m/%d/%Y").date() for row in new_rows] == expected
    for row, day in zip(new_rows, expected, strict=True):
        assert [int(cell) for cell in row[1:]] == [site.truth_daily(s, day) for s in serials]
