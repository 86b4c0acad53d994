"""The SQLite export: real files; rebuild and the nightly incremental upsert give the same rows."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import run_inverter_daily_stats
from panel_tracker.app.export_step import layout_of
from panel_tracker.export.sqlite import ExportError, export_sqlite
from panel_tracker.history import History, load_history
from panel_tracker.roof import RoofFace
from panel_tracker.settings import load_config
from sandbox.site import SiteScenario
from tests.conftest import night, write_config

START = date(2024, 1, 1)


def _history(serials: int, days: int) -> History:
    micros: dict[str, Any] = {}
    for n in range(serials):
        serial = f"1220{n:04d}"
        lifetime = 1000 * n
        micros[serial] = {}
        for d in range(days):
            lifetime += 100 + n + d
            micros[serial][(START + timedelta(d)).isoformat()] = {
                "daily_energy": None if d == 0 else 100 + n + d,
                "lifetime_energy": lifetime,
            }
    return History({"micro_inverters": micros})


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}"))  # noqa: S608
            for table in ("days", "panels", "health", "days_wide", "group_daily")
        }
    finally:
        conn.close()


def _night(history: History, day: date, wh: int, estimated: bool = False) -> None:
    for days in history.micros.values():
        last = days[max(days)]
        days[day.isoformat()] = {
            "daily_energy": wh,
            "lifetime_energy": last["lifetime_energy"] + wh,
            **({"estimated": True} if estimated else {}),
        }


def test_a_fresh_export_has_every_day_and_the_views(tmp_path: Path) -> None:
    history = _history(3, 10)
    db = tmp_path / "panels.db"
    assert export_sqlite(db, history, {"12200000": ("east", 1)}) == 30
    rows = _rows(db)
    assert len(rows["days"]) == 30
    assert rows["days"][0][:4] == ("12200000", "2024-01-01", None, 100)
    assert rows["days_wide"][1] == ("2024-01-02", 101, 102, 103)
    assert ("12200000", "east", 1, "2024-01-01", "2024-01-10", None) in rows["panels"]
    assert ("2024-01-02", "all", 205, 2) in rows["group_daily"]
    assert ("2024-01-02", "east", 101, 1) in rows["group_daily"]
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    plan = " ".join(
        str(r)
        for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM days WHERE serial = '12200001' "
            "AND date BETWEEN '2014-01-01' AND '2024-12-31'"
        )
    )
    assert "PRIMARY KEY" in plan and "SCAN" not in plan
    conn.close()


def test_incremental_nights_equal_a_rebuild_including_a_resplit_day(tmp_path: Path) -> None:
    history = _history(2, 30)
    nightly, rebuilt = tmp_path / "nightly.db", tmp_path / "rebuilt.db"
    export_sqlite(nightly, history)
    _night(history, START + timedelta(30), 50, estimated=True)
    export_sqlite(nightly, history)
    # the next reading re-splits the provisional/estimated day before it
    for days in history.micros.values():
        days[(START + timedelta(30)).isoformat()]["daily_energy"] = 60
        days[(START + timedelta(30)).isoformat()].pop("estimated")
    _night(history, START + timedelta(31), 40)
    written = export_sqlite(nightly, history)
    assert written < 2 * 20  # only the recent window, not 64 rows
    export_sqlite(rebuilt, history, rebuild=True)
    assert _rows(nightly) == _rows(rebuilt)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.booleans()), min_size=1, max_size=6))
def test_property_any_sequence_of_nights_equals_a_rebuild(
    tmp_path_factory: pytest.TempPathFactory, nights: list[tuple[int, bool]]
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    history = _history(2, 3)
    export_sqlite(folder / "n.db", history)
    for offset, (wh, estimated) in enumerate(nights):
        _night(history, START + timedelta(3 + offset), wh, estimated)
        export_sqlite(folder / "n.db", history)
    export_sqlite(folder / "r.db", history, rebuild=True)
    assert _rows(folder / "n.db") == _rows(folder / "r.db")


def test_rebuild_replaces_rows_the_history_no_longer_has(tmp_path: Path) -> None:
    db = tmp_path / "panels.db"
    export_sqlite(db, _history(3, 5))
    export_sqlite(db, _history(2, 5), rebuild=True)
    assert {r[0] for r in _rows(db)["days"]} == {"12200000", "12200001"}


def test_closed_and_open_episodes_land_in_health(tmp_path: Path) -> None:
    history = _history(2, 5)
    history.data["health"] = {
        "open": {"12200001": {"weak": {"since": "2024-01-03", "noticed": "2024-01-05"}}},
        "closed": [
            {
                "serial": "12200000",
                "kind": "weak",
                "since": "2024-01-01",
                "until": "2024-01-02",
                "lost_wh": 120,
            }
        ],
    }
    db = tmp_path / "panels.db"
    export_sqlite(db, history)
    assert _rows(db)["health"] == [
        ("12200000", "weak", "2024-01-01", "2024-01-02", 120),
        ("12200001", "weak", "2024-01-03", None, None),
    ]


def test_losses_the_whole_array_shared_land_in_health_under_its_name(tmp_path: Path) -> None:
    history = _history(2, 5)
    history.data["health"] = {
        "open": {},
        "closed": [
            {"group": "array", "kind": "shared_loss", "since": "2024-01-01", "until": "2024-01-02"}
        ],
        "shared": {
            "east": {"since": "2024-01-04", "noticed": "2024-01-05", "loss": 0.11, "alerted": True},
            "west": {"since": "2024-01-05", "noticed": "2024-01-05", "loss": 0.12},  # one night
        },
    }
    db = tmp_path / "panels.db"
    export_sqlite(db, history)
    assert _rows(db)["health"] == [
        ("array", "shared_loss", "2024-01-01", "2024-01-02", None),
        ("east", "shared_loss", "2024-01-04", None, None),
    ]


def test_an_unwritable_path_is_an_export_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        export_sqlite(tmp_path / "no" / "such" / "panels.db", _history(1, 2))
    assert caught.value.hint and "sqlite_file" in caught.value.hint


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 shell is not installed")
def test_the_sqlite3_shell_reads_the_views(tmp_path: Path) -> None:
    db = tmp_path / "panels.db"
    export_sqlite(db, _history(2, 3))
    out = subprocess.run(
        ["sqlite3", str(db), "SELECT date, wh FROM array_daily ORDER BY date"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines() == ["2024-01-01|", "2024-01-02|203", "2024-01-03|205"]


# --- the user's paths: the nightly job with ``sqlite_file``, and ``export --sqlite`` -----------


def _job(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = run_inverter_daily_stats.main(["--config", str(config), "--no-sheet", *args])
    out, err = capsys.readouterr()
    return code, out + err


def test_one_key_keeps_the_database_in_step_each_night_and_equal_to_a_rebuild(
    tmp_path: Path, enlighten: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator, sqlite_file="panels.db")
    for offset in range(3):
        night(emulator, offset)
        code, output = _job(config, capsys)
        assert code == 0, output
    assert "SQLite:" in output
    code = run_inverter_daily_stats.main(
        ["export", "--config", str(config), "--sqlite", str(tmp_path / "r.db"), "--rebuild"]
    )
    assert code == 0, capsys.readouterr()
    assert _rows(tmp_path / "panels.db") == _rows(tmp_path / "r.db")
    history = load_history(load_config(config).history_path)
    assert len(_rows(tmp_path / "panels.db")["days"]) == sum(
        len(history.days_of(s)) for s in history.serials()
    )


def test_an_unwritable_database_is_exit_1_with_the_history_saved(
    tmp_path: Path, enlighten: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator, sqlite_file="missing-folder/panels.db")
    night(emulator, 0)
    code, output = _job(config, capsys)
    assert code == 1
    assert "error: SQLite export failed" in output and "history is saved" in output
    assert "unexpected" not in output and "Traceback" not in output
    assert load_history(load_config(config).history_path).serials()


def test_export_needs_an_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run_inverter_daily_stats.main(["export", "--config", str(tmp_path / "c.json")])
    assert caught.value.code == 2
    assert "--sqlite FILE or --csv DIR" in capsys.readouterr().err


def test_a_new_serial_joins_the_pivot_view_and_a_dropped_day_leaves_the_database(
    tmp_path: Path,
) -> None:
    history = _history(2, 20)
    nightly, rebuilt = tmp_path / "nightly.db", tmp_path / "rebuilt.db"
    export_sqlite(nightly, history)
    _night(history, START + timedelta(20), 70)
    # a replacement unit appears: the nightly run must add its column to days_wide
    history.micros["12209999"] = {
        (START + timedelta(20)).isoformat(): {"daily_energy": None, "lifetime_energy": 5}
    }
    # a glitch undone: the history no longer holds a day the database exported last night
    history.micros["12200001"].pop((START + timedelta(19)).isoformat())
    assert export_sqlite(nightly, history) == 2 + 1 + 1  # two new days, the new serial, one gone
    export_sqlite(rebuilt, history, rebuild=True)
    assert _rows(nightly) == _rows(rebuilt)
    conn = sqlite3.connect(nightly)
    columns = [c[1] for c in conn.execute("PRAGMA table_info(days_wide)")]
    conn.close()
    assert columns == ["date", "12200000", "12200001", "12209999"]


def test_a_night_with_nothing_new_writes_no_row(tmp_path: Path) -> None:
    history = _history(3, 30)
    db = tmp_path / "panels.db"
    export_sqlite(db, history)
    assert export_sqlite(db, history) == 0
    _night(history, START + timedelta(30), 70)
    assert export_sqlite(db, history) == 3  # one day per serial, not the 15-day window


def test_each_panel_gets_its_face_or_else_its_health_group_and_its_place_on_the_roof() -> None:
    faces = (
        RoofFace("east", (("a", "b"), ("c", None))),
        RoofFace("west", (("d", None, "e"), ("f",))),
    )
    assert layout_of(faces) == {
        "a": ("east", 1),
        "b": ("east", 2),
        "c": ("east", 3),
        "d": ("west", 4),
        "e": ("west", 5),
        "f": ("west", 6),
    }
    rows = (RoofFace(None, (("a", "b"),)),)
    found = {"a": "face 1", "b": "face 2", "new": "face 2"}
    assert layout_of(rows, found) == {
        "a": ("face 1", 1),
        "b": ("face 2", 2),
        "new": ("face 2", None),
    }
    assert layout_of(None) == {}
