"""The daily job with a Google Sheet: pushed after the history, healed after an outage."""

from __future__ import annotations

from datetime import datetime, timedelta

import populate_google_sheet
import run_inverter_daily_stats
from panel_tracker.history import load_history
from panel_tracker.settings import load_config
from sandbox.sheets_bench import attach_sheets_emulator
from sandbox.sheets_emulator import SheetsEmulator
from sandbox.site import SiteScenario
from tests.conftest import assert_no_secrets, config_secrets, night, write_config


def test_a_sheets_outage_keeps_the_history_exits_1_and_the_next_run_heals(
    tmp_path, enlighten, capsys
):
    emulator = enlighten(SiteScenario.healthy())
    site = emulator.site
    config_path = write_config(tmp_path, emulator)
    with SheetsEmulator() as sheets:
        attach_sheets_emulator(config_path, sheets)
        night(emulator, 0)
        assert populate_google_sheet.main(["--config", str(config_path), "--init", "-q"]) == 0
        config = load_config(config_path)
        sid = str(config.spreadsheet_id)
        serials = [str(cell) for cell in sheets.values(sid, "InverterSerialNumbers")[0]]
        capsys.readouterr()
        statuses = []
        for offset, outage in ((1, False), (2, True), (3, False)):
            night(emulator, offset)
            if outage:
                sheets.inject_fault(None, 503, times=20)
            statuses.append(run_inverter_daily_stats.main(["--config", str(config_path)]))
            sheets.clear_faults()
            out, err = capsys.readouterr()
            assert_no_secrets(out + err, config_secrets(config_path))
            if outage:
                assert err.count("error:") == 1 and "Google Sheet push failed" in err
                assert "history is saved" in err
                assert (
                    load_history(config.history_path).last_date(serials[0])
                    == (site.days()[0] + timedelta(days=2)).isoformat()
                )
        assert statuses == [0, 1, 0]
        rows = sheets.values(sid, "'Panel Data-2026'!A3:Y")
    days = [datetime.strptime(row[0], "%m/%d/%Y").date() for row in rows]
    first = site.days()[0]
    assert days == [first + timedelta(days=n) for n in (1, 2, 3)]  # the outage day healed
    assert rows[0][1:] == [""] * len(serials) or len(rows[0]) == 1  # first day: unknown
    for row, day in zip(rows[1:], days[1:], strict=True):
        assert [int(cell) for cell in row[1:]] == [site.truth_daily(s, day) for s in serials]
