"""Sheets calls per push, measured against the emulator, and helpers to set such a run up.

``bench_sheet_calls()`` lays out an emulated spreadsheet, fills December, then counts the
Sheets API requests (as the emulator saw them, retries included) of a daily push, of the
first push of a new year, of a push that heals 30 missing days and of the push after a
micro-inverter was replaced (its successor's column added). Each is 2: one
``spreadsheets.get``, one ``spreadsheets.batchUpdate``. (The original script made 3 to 5, with
a new service built for each.)
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from panel_tracker.app.daily import lay_out, sheet_target, sheets_client
from panel_tracker.history import History
from panel_tracker.settings import load_config
from panel_tracker.sheets.grid import a1_quote
from panel_tracker.sheets.layout import create_spreadsheet
from panel_tracker.sheets.push import push_history

from .sheets_emulator import SheetsEmulator

BENCH_SERIALS = [str(121_900_000_000 + i) for i in range(24)]


def add_days(history: History, serials: Iterable[str], first: date, count: int) -> None:
    """``count`` days of made-up but plausible energy for each serial, from ``first`` on."""
    for n in range(count):
        day = first + timedelta(days=n)
        for i, serial in enumerate(serials):
            days = history.micros.setdefault(serial, {})
            lifetime = max((e["lifetime_energy"] for e in days.values()), default=500_000 + i)
            wh = 1_200 + 37 * i + (day.toordinal() % 7) * 11
            days[day.isoformat()] = {"daily_energy": wh, "lifetime_energy": lifetime + wh}


def write_sheets_config(
    folder: Path, emulator: SheetsEmulator, *, spreadsheet_id: str | None = None, **extra: Any
) -> Path:
    """A config pointing the Sheets calls (and token refreshes) at the emulator, plus token.json."""
    emulator.write_authorized_user_file(folder / "token.json")
    config: dict[str, Any] = {
        "name": "Bench house",
        "system_id": "4242",
        "sheets_api_url": emulator.url,
        "google_token_file": "token.json",
        "google_token_uri": emulator.token_uri,
        "data_dir": "data",
    }
    if spreadsheet_id:
        config["spreadsheet_id"] = spreadsheet_id
    config.update(extra)
    path = folder / "enlighten_v4_config.json"
    path.write_text(json.dumps(config, indent=4), encoding="utf-8")
    path.chmod(0o600)
    return path


def attach_sheets_emulator(config_path: Path, emulator: SheetsEmulator) -> None:
    """Point an existing config (e.g. the demo's) at the emulator, with a fresh token.json.

    Then ``populate_google_sheet.main(["--config", ..., "--init", "-q"])`` creates and lays out
    the spreadsheet (saving ``spreadsheet_id``), and every daily job after that pushes to it.
    """
    config = load_config(config_path)
    emulator.write_authorized_user_file(config.folder / "token.json")
    config.save_setting("sheets_api_url", emulator.url)
    config.save_setting("google_token_file", "token.json")
    config.save_setting("google_token_uri", emulator.token_uri)


def last_sheet_rows(
    emulator: SheetsEmulator, spreadsheet_id: str, count: int = 5, *, columns: int = 4
) -> list[str]:
    """The newest year sheet's last rows, one line each, as the demo prints them: the date, the
    first ``columns`` panels, "..." and the last panel, every cell whole (never cut mid-number)."""
    years = [t for t in emulator.titles(spreadsheet_id) if t[len("Panel Data-") :].isdigit()]
    if not years:
        return []
    title = max(years)
    rows = emulator.values(spreadsheet_id, a1_quote(title))
    header, days = rows[:1], rows[2:]
    width = len(header[0]) if header else 0

    def excerpt(row: list[str]) -> str:
        cells = list(row) + [""] * (width - len(row))
        if width > columns + 2:
            cells = [*cells[: columns + 1], "...", cells[-1]]
        return "  ".join(f"{cell:>12}" for cell in cells)

    lines = [f"{title}: " + excerpt(row) for row in header]
    lines += [" " * (len(title) + 2) + excerpt(row) for row in days[-count:]]
    return lines


def bench_sheet_calls() -> dict[str, int]:
    """Sheets API requests per daily push, per new-year push, per 30-day heal and per push
    after a replacement."""
    with tempfile.TemporaryDirectory() as tmp, SheetsEmulator() as emulator:
        path = write_sheets_config(Path(tmp), emulator)
        config = load_config(path)
        client = sheets_client(config)
        config.save_setting("spreadsheet_id", create_spreadsheet(client, "Bench"))
        lay_out(
            config,
            client,
            str(config.spreadsheet_id),
            BENCH_SERIALS,
            year=2025,
            remove_default_sheet=True,
        )
        history = History()
        add_days(history, BENCH_SERIALS, date(2025, 12, 1), 30)
        push_history(sheet_target(config), history, service=client)

        def calls_of_push() -> int:
            emulator.reset_calls()
            push_history(sheet_target(config), history, service=client)
            return emulator.count()

        add_days(history, BENCH_SERIALS, date(2025, 12, 31), 1)
        daily = calls_of_push()
        add_days(history, BENCH_SERIALS, date(2026, 1, 1), 1)
        new_year = calls_of_push()
        add_days(history, BENCH_SERIALS, date(2026, 1, 2), 30)
        heal = calls_of_push()
        successor = str(121_900_000_000 + len(BENCH_SERIALS))
        add_days(history, [*BENCH_SERIALS[1:], successor], date(2026, 2, 1), 1)
        replaced = calls_of_push()
        return {
            "daily_push": daily,
            "new_year_push": new_year,
            "heal_30_days": heal,
            "push_after_a_replacement": replaced,
        }


if __name__ == "__main__":  # pragma: no cover - a quick look by hand
    for name, calls in bench_sheet_calls().items():
        print(f"{name}: {calls} Sheets calls")
