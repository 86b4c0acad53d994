"""The CSV export: a wide file per year like the sheet, a long file with flags, any date format."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import run_inverter_daily_stats
from panel_tracker.export.csv import export_csv
from panel_tracker.history import History
from panel_tracker.settings import load_config


def _history() -> History:
    return History(
        {
            "micro_inverters": {
                "122000000002": {
                    "2024-12-31": {"daily_energy": None, "lifetime_energy": 10},
                    "2025-01-01": {"daily_energy": 5, "lifetime_energy": 15, "estimated": True},
                },
                "122000000001": {
                    "2025-01-01": {"daily_energy": 7, "lifetime_energy": 70, "provisional": True},
                },
            }
        }
    )


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_wide_files_per_year_and_a_long_file(tmp_path: Path) -> None:
    written = export_csv(tmp_path / "out", _history())
    assert [p.name for p in written] == ["panels-2024.csv", "panels-2025.csv", "panels-long.csv"]
    assert _read(tmp_path / "out" / "panels-2024.csv") == [
        ["date", "122000000001", "122000000002"],
        ["2024-12-31", "", ""],
    ]
    assert _read(tmp_path / "out" / "panels-2025.csv")[1] == ["2025-01-01", "7", "5"]
    assert _read(tmp_path / "out" / "panels-long.csv") == [
        ["date", "serial", "wh", "flags"],
        ["2024-12-31", "122000000002", "", "unknown"],
        ["2025-01-01", "122000000001", "7", "provisional"],
        ["2025-01-01", "122000000002", "5", "estimated"],
    ]
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_the_users_date_format(tmp_path: Path) -> None:
    export_csv(tmp_path, _history(), date_format="%d/%m/%Y")
    assert _read(tmp_path / "panels-2025.csv")[1][0] == "01/01/2025"


def test_export_csv_from_the_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "enlighten_v4_config.json"
    config.write_text(json.dumps({"name": "House", "system_id": 42}))
    history_path = load_config(config).history_path
    history_path.parent.mkdir(parents=True)
    history_path.write_text(json.dumps(_history().data))
    code = run_inverter_daily_stats.main(
        [
            "export",
            "--config",
            str(config),
            "--csv",
            str(tmp_path / "csv"),
            "--date-format",
            "%m/%d/%Y",
        ]
    )
    assert code == 0, capsys.readouterr()
    assert _read(tmp_path / "csv" / "panels-long.csv")[2][0] == "01/01/2025"


def test_a_date_format_without_the_day_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "enlighten_v4_config.json"
    config.write_text(json.dumps({"name": "House", "system_id": 42}))
    code = run_inverter_daily_stats.main(
        ["export", "--config", str(config), "--csv", str(tmp_path), "--date-format", "%Y"]
    )
    assert code == 2
    assert "csv_date_format" in capsys.readouterr().err
