"""What the tool remembers about the spreadsheet: its year sheets, beside the history.

The push's one read must name only ranges that exist (one missing sheet fails the whole read
with 400), so ``<data_dir>/google_sheet-<system_id>.json`` keeps the year sheets seen last
time. It is a cache, never the truth: a wrong one costs a push an extra read, not data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataFileError
from ..storage import atomic_write_json, read_json
from .grid import year_of_title

logger = logging.getLogger(__name__)


@dataclass
class KnownSheets:
    """The year sheets seen last time: lets the one read ask only for ranges that exist."""

    path: Path
    spreadsheet_id: str
    year_sheets: dict[int, int] = field(default_factory=dict)  # year -> sheetId
    loaded: bool = False  # False: nothing usable on disk, read the sheet list first
    writable: bool = True  # False: the file does not parse, and is never overwritten

    @classmethod
    def load_file(cls, path: Path, spreadsheet_id: str) -> KnownSheets:
        known = cls(path, spreadsheet_id)
        if not path.exists():
            return known
        try:
            data = read_json(path, what="Google Sheet state file")
        except DataFileError as exc:
            logger.warning("%s; the push reads the sheet list instead", exc)
            known.writable = False
            return known
        if isinstance(data, dict) and data.get("spreadsheet_id") == spreadsheet_id:
            years = data.get("year_sheets")
            if isinstance(years, dict):
                known.year_sheets = {int(y): int(i) for y, i in years.items() if str(y).isdigit()}
                known.loaded = True
        return known

    def learn(self, titles: dict[str, int], *, complete: bool) -> None:
        """Sheets seen in an answer; ``complete`` when it listed every sheet."""
        seen = {year: i for t, i in titles.items() if (year := year_of_title(t)) is not None}
        if complete:
            self.year_sheets = seen
            self.loaded = True
        else:
            self.year_sheets.update(seen)

    def save(self) -> None:
        if not self.writable:
            return
        years = {str(y): i for y, i in sorted(self.year_sheets.items())}
        atomic_write_json(
            self.path, {"spreadsheet_id": self.spreadsheet_id, "year_sheets": years}, indent=2
        )
