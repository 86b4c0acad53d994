"""A replaced micro-inverter, end to end: the sheet, the episodes and alerts, the config's pairs.

The daily job runs night after night against the Enlighten emulator (a simulated site whose
failing micro dies and is replaced), the Sheets emulator (every request held to Google's
discovery document) and a loopback webhook, as a user's cron runs it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import populate_google_sheet
import run_inverter_daily_stats
from panel_tracker.app.health_step import judge_panels
from panel_tracker.history import History, load_history, save_history
from panel_tracker.settings import load_config
from sandbox.sheets_bench import (
    add_days,
    attach_sheets_emulator,
    bench_sheet_calls,
    write_sheets_config,
)
from sandbox.sheets_emulator import SheetsEmulator
from sandbox.site import SiteScenario
from tests.conftest import night, run_script, write_config
from tests.legacy_sheet import legacy_spreadsheet
from tests.support.builders import even_days, even_roof

if TYPE_CHECKING:  # imported by pytest_plugins below, first, so pytest can rewrite it
    from sandbox.enlighten_emulator import EnlightenEmulator
    from tests.loopback_servers import HttpRecorder
    from tests.sheets_fixtures import Populate

pytest_plugins = ["tests.loopback_servers", "tests.sheets_fixtures"]

HOOK = "/services/hook"
# The failing micro declines from day 1, is dead from day 8, its successor reports from day 11.
SCENARIO = SiteScenario(
    failing=(17, 1, 8), replacement_offset=11, shade=None, soiling=None, wrap=None, reset=None
)
NIGHTS = 14


def _posts(webhook: HttpRecorder) -> list[dict[str, Any]]:
    return [json.loads(body) for _, path, body in webhook.requests if path == HOOK]


def _job(config_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_inverter_daily_stats.main(["--config", str(config_path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_night_of_a_replacement_the_sheet_gets_its_column_and_one_alert_says_so(
    tmp_path: Path,
    enlighten: Any,
    emu: SheetsEmulator,
    webhook: HttpRecorder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator: EnlightenEmulator = enlighten(SCENARIO)
    site = emulator.site
    config_path = write_config(tmp_path, emulator, alerts={"webhook_url": webhook.url + HOOK})
    attach_sheets_emulator(config_path, emu)
    night(emulator, 0)
    assert populate_google_sheet.main(["--config", str(config_path), "--init", "-q"]) == 0
    sid = str(load_config(config_path).spreadsheet_id)
    old, new = [s for s in site.serials if site.panel_of[s] == 17]
    laid_out = [str(c) for c in emu.values(sid, "InverterSerialNumbers")[0]]
    assert old in laid_out and new not in laid_out
    capsys.readouterr()

    replaced_on = site.days()[0] + timedelta(days=11)
    for offset in range(1, NIGHTS):
        night(emulator, offset)
        emu.reset_calls()
        code, out, err = _job(config_path, capsys)
        assert code == 0, out + err
        assert "not in the sheet" not in out + err and "--init" not in out + err
        if offset == 11:
            assert f"new serial {new} in place of {old}" in out + err
            assert emu.calls == {"spreadsheets.get": 1, "spreadsheets.batchUpdate": 1}

    # The successor's column: at the end of the named range, in the template and the year sheet.
    serials = [str(c) for c in emu.values(sid, "InverterSerialNumbers")[0]]
    assert serials == [*laid_out, new]  # the replaced unit's column stays
    column = chr(ord("A") + len(serials))
    year = f"'Panel Data-{replaced_on.year}'"
    assert emu.values(sid, f"{year}!{column}1:{column}2", "FORMULA") == [
        [new],
        [f"=SUM({column}3:{column})"],
    ]
    template = "'Panel Data-TEMPLATE'"
    assert emu.values(sid, f"{template}!{column}1:{column}2", "FORMULA")[0] == [new]
    rows = emu.values(sid, f"{year}!A3:{column}")
    history = load_history(load_config(config_path).history_path)
    for row in rows:
        day = date(int(row[0][6:]), int(row[0][:2]), int(row[0][3:5])).isoformat()
        cell = row[len(serials)] if len(row) > len(serials) else ""
        value = history.daily(new, day)
        assert cell == ("" if value is None else str(value)), (day, row)
    assert sum(1 for row in rows if len(row) > len(serials) and row[-1]) == 2  # days 12, 13

    # One alert for the replacement, on the night it was recognised, with the episode's loss.
    replaced = [p for p in _posts(webhook) if p["event"] == "replaced"]
    assert len(replaced) == 1, _posts(webhook)
    alert = replaced[0]
    assert alert["serial"] == old and alert["replaced_by"] == new
    assert alert["day"] == alert["first_day"] == replaced_on.isoformat()
    episode = next(
        c
        for c in history.data["health"]["closed"]
        if c["serial"] == old and c["kind"] == "weak" and c.get("replaced_by") == new
    )
    assert alert["lost_wh"] == episode["lost_wh"] > 0
    # counted up to the old unit's last report: what it made less than a healthy unit then
    last = date.fromisoformat(str(history.last_date(old)))
    reported = [d for d in site.days() if date.fromisoformat(episode["since"]) <= d <= last]
    truth = sum(
        (site.truth_daily(old, d) or 0) * f / (1 - f)
        for d in reported
        if (f := site.loss_fraction(old, d)) > 0
    )
    assert 0.9 * truth < episode["lost_wh"] < 1.1 * truth, (episode, truth)
    assert (
        f"Panel {old} was replaced by {new} (first report {replaced_on}); its episode is "
        f"closed with {episode['lost_wh']:,} Wh lost." in alert["text"]
    )
    kinds = [(p["event"], p["serial"]) for p in _posts(webhook) if p["serial"] == old]
    assert kinds == [("weak", old), ("stopped", old), ("replaced", old)]  # no "recovered"

    before = len(webhook.requests)
    assert _job(config_path, capsys)[0] == 0  # the same night again: nothing new to say
    assert len(webhook.requests) == before


def test_a_push_after_a_replacement_fills_the_new_column_on_every_row_in_one_write(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    serials = ["121900000001", "121900000002", "121900000003"]
    successor = "121900000044"
    history = History()
    add_days(history, serials, date(2025, 6, 1), 10)
    add_days(history, [serials[0], serials[1], successor], date(2025, 6, 11), 10)
    # The sheet has every day (an old version wrote them while it warned about the serial)...
    sid = legacy_spreadsheet(emu, serials, history, [f"2025-06-{d:02d}" for d in range(1, 21)])
    # ... and the push rewrites only the last 3 days in place: the new column gets all 10.
    config_path = write_sheets_config(tmp_path, emu, spreadsheet_id=sid, sheet_heal_days=3)
    save_history(load_config(config_path).history_path, history)
    code, _, err = populate(config_path)
    assert code == 0, err
    assert successor not in err
    assert emu.calls["spreadsheets.batchUpdate"] == 1
    assert [str(c) for c in emu.values(sid, "InverterSerialNumbers")[0]] == [*serials, successor]
    column = emu.values(sid, "'Panel Data-2025'!E1:E22", "FORMULA")
    assert [str(row[0]) if row else "" for row in column] == [
        successor,
        "=SUM(E3:E)",
        *[""] * 10,
        *[str(history.daily(successor, f"2025-06-{d}")) for d in range(11, 21)],
    ]
    emu.reset_calls()
    code, _, err = populate(config_path)  # once added, a column is the sheet's like any other
    assert code == 0 and successor not in err
    assert emu.count() == 2
    assert [str(c) for c in emu.values(sid, "InverterSerialNumbers")[0]] == [*serials, successor]


def test_a_new_serial_never_writes_over_a_column_the_owner_uses(
    tmp_path: Path, emu: SheetsEmulator, populate: Populate
) -> None:
    serials = ["121900000001", "121900000002", "121900000003"]
    successor = "121900000044"
    history = History()
    add_days(history, serials, date(2025, 6, 1), 5)
    add_days(history, [*serials[:2], successor], date(2025, 6, 6), 2)
    sid = legacy_spreadsheet(emu, serials, history, [f"2025-06-{d:02d}" for d in range(1, 6)])
    emu.set_values(sid, "'Panel Data-2025'!E1", [["Total"], ["=SUM(E3:E)"]])
    emu.set_values(sid, "'Panel Data-2025'!E3", [["=SUM(B3:D3)"]] * 5)
    owners = emu.values(sid, "'Panel Data-2025'!E1:E7", "FORMULA")
    config_path = write_sheets_config(tmp_path, emu, spreadsheet_id=sid)
    save_history(load_config(config_path).history_path, history)
    code, _, err = populate(config_path)
    assert code == 0, err
    assert (
        f"serial {successor} is in the history but not in the sheet's InverterSerialNumbers, "
        "and its column would be E of 'Panel Data-2025', which holds 'Total'" in err
    )
    assert emu.values(sid, "'Panel Data-2025'!E1:E7", "FORMULA") == owners
    assert [str(c) for c in emu.values(sid, "InverterSerialNumbers")[0]] == serials
    assert emu.calls["spreadsheets.batchUpdate"] == 1  # the other panels' days still written
    assert emu.values(sid, "'Panel Data-2025'!B9")[0] == [
        str(history.daily(serials[0], "2025-06-07"))
    ]


def test_the_sheets_bench_counts_two_calls_for_every_push_a_replacement_included() -> None:
    calls = bench_sheet_calls()
    assert calls["push_after_a_replacement"] == 2
    assert set(calls.values()) == {2}


# --- by hand: the config's replacements --------------------------------------------------------


def _history(days: int = 30) -> tuple[History, list[str]]:
    """Six panels; the sixth silent from day 25, a seventh joined before it went silent."""
    micros, dates = even_roof(days=days)
    micros["121700000099"] = even_days(dates[5:])
    for day in dates[25:]:
        del micros["121700000005"][day]
    return History({"micro_inverters": micros}), dates


def _config(tmp_path: Path, **extra: Any) -> Path:
    path = tmp_path / "enlighten_v4_config.json"
    path.write_text(json.dumps({"name": "Test house", "system_id": "4130271", **extra}))
    return path


def test_a_pair_given_in_the_config_is_a_replacement_announced_once(tmp_path: Path) -> None:
    history, dates = _history()
    old, new = "121700000005", "121700000099"
    plain = judge_panels(load_config(_config(tmp_path)), history)
    assert plain.report is not None and plain.report.replacements == []  # joined too early
    assert [v.serial for v in plain.report.stopped] == [old]

    history, dates = _history()
    config = load_config(_config(tmp_path, replacements={old: int(new)}))  # a number is fine
    first = judge_panels(config, history)
    assert first.report is not None
    assert [(r.old, r.new, r.last_seen, r.first_day) for r in first.report.replacements] == [
        (old, new, dates[24], dates[5])
    ]
    verdict = first.report.verdict(old)
    assert verdict is not None and verdict.retired and verdict.replaced_by == new
    assert first.report.stopped == [] and first.report.panel_count == 6
    assert [(e.kind, e.serial, e.replaced_by) for e in first.events] == [("replaced", old, new)]
    again = judge_panels(config, history)
    assert again.events == []  # the history's health section remembers it was said


def test_a_pair_given_by_hand_wins_over_a_recognised_one(tmp_path: Path) -> None:
    history, dates = _history()
    silent_first, newcomer = "121700000004", "121700000077"
    for day in dates[20:]:
        del history.micros[silent_first][day]  # silent longer: the recognised pair's old unit
    history.micros[newcomer] = even_days(dates[27:])
    found = judge_panels(load_config(_config(tmp_path)), history)
    assert found.report is not None
    assert [(r.old, r.new) for r in found.report.replacements] == [(silent_first, newcomer)]

    config = load_config(_config(tmp_path, replacements={"121700000005": newcomer}))
    given = judge_panels(config, history)
    assert given.report is not None
    assert [(r.old, r.new) for r in given.report.replacements] == [("121700000005", newcomer)]
    assert [v.serial for v in given.report.stopped] == [silent_first]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (["121700000005", "121700000099"], "replacements is a list, it must be an object"),
        ({"121700000005": "121700000005"}, "replacements maps serial 121700000005 to itself"),
        (
            {"121700000004": "121700000099", "121700000005": "121700000099"},
            "replacements gives new serial 121700000099 to 121700000004 and 121700000005",
        ),
        ({"121700000005": True}, "replacements.121700000005 is true, it must be the new serial"),
        ({" ": "121700000099"}, "it must be keyed by the old serial, not an empty name"),
    ],
    ids=["not-an-object", "to-itself", "new-serial-twice", "not-a-serial", "no-old-serial"],
)
def test_a_bad_replacements_value_is_one_error_line_exit_2(
    tmp_path: Path, value: Any, says: str
) -> None:
    history, _ = _history()
    config = _config(tmp_path, replacements=value)
    history_path = tmp_path / "data" / "inverter_daily_data-4130271.json"
    save_history(history_path, history)
    before = history_path.read_bytes()
    result = run_script("run_inverter_daily_stats.py", "--config", str(config), "--no-sheet")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert says in lines[0], lines[0]
    assert history_path.read_bytes() == before
