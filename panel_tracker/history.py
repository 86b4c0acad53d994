"""The history file: the user's data of record, in the original script's format.

``{"micro_inverters": {serial: {"YYYY-MM-DD": {"daily_energy": Wh|null,
"lifetime_energy": Wh, ...}}}}``. Fields beyond those two are additive:
``estimated`` (true when a gap's energy was apportioned), ``last_report`` (epoch seconds
of the reading), ``note`` (why a day is unknown), ``fell_from`` (the level the counter fell
from on an unknown day, to tell a glitch from a reset), ``provisional`` (true when the
reading came before the panel's usual end of production; the next reading re-splits it).
Other top-level sections (``system``, ``health``, ...) are the tool's own bookkeeping;
the original script ignores them.

The raw dict is kept as the in-memory form on purpose: a 100-panel, 10-year history is
365,000 day entries, and wrapping each one in an object would cost more than the update.
"""

from __future__ import annotations

import gc
import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
from xxhash import xxh3_64_hexdigest

from .errors import DataFileError
from .storage import atomic_write_bytes, atomic_write_text, read_json

logger = logging.getLogger(__name__)

MICROS = "micro_inverters"
DayEntry = dict[str, Any]

# What a stored energy may be: a whole number of Wh in these bounds (or null). A lifetime
# beyond 2**53 is not exact in JSON readers; no micro-inverter makes a MWh in one day.
MAX_LIFETIME_WH = 2**53 - 1
MAX_DAILY_WH = 1_000_000
ENERGY_FIELDS = {"daily_energy": MAX_DAILY_WH, "lifetime_energy": MAX_LIFETIME_WH}
# The tool's own additive fields that hold numbers: epoch seconds, the level a counter fell from.
OPTIONAL_INT_FIELDS = ("last_report", "fell_from")
# The latest local date anywhere on Earth is UTC+14: no system's run can be after that day.
LATEST_ZONE_AHEAD = timedelta(hours=14)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_RESTORE_HINT = "the file was left untouched: fix that entry by hand or restore a backup"


class History:
    """Typed access over the raw history dict; mutations go through the day arithmetic."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = data if data is not None else {}
        self.data.setdefault(MICROS, {})

    # --- reading ------------------------------------------------------------------------
    @property
    def micros(self) -> dict[str, dict[str, DayEntry]]:
        micros: dict[str, dict[str, DayEntry]] = self.data[MICROS]
        return micros

    def serials(self) -> list[str]:
        return sorted(self.micros)

    def days_of(self, serial: str) -> dict[str, DayEntry]:
        return self.micros.get(serial, {})

    def entry(self, serial: str, day: str) -> DayEntry | None:
        return self.micros.get(serial, {}).get(day)

    def daily(self, serial: str, day: str) -> int | None:
        """The day's Wh, or None when unknown or not recorded."""
        entry = self.entry(serial, day)
        if entry is None:
            return None
        value = entry.get("daily_energy")
        return int(value) if value is not None else None

    def is_estimated(self, serial: str, day: str) -> bool:
        entry = self.entry(serial, day)
        return bool(entry and entry.get("estimated"))

    def dates(self) -> list[str]:
        """Every date that any serial has, sorted."""
        found: set[str] = set()
        for days in self.micros.values():
            found.update(days)
        return sorted(found)

    def last_date(self, serial: str) -> str | None:
        days = self.micros.get(serial)
        return max(days) if days else None

    def iter_days(self, serial: str) -> Iterator[tuple[str, DayEntry]]:
        days = self.micros.get(serial, {})
        for day in sorted(days):
            yield day, days[day]

    def section(self, name: str) -> dict[str, Any]:
        """A top-level bookkeeping section (``system``, ``health``, ...), created on demand."""
        value = self.data.setdefault(name, {})
        if not isinstance(value, dict):
            raise DataFileError(f"history section {name!r} is not an object")
        return value


def load_history(path: Path, *, not_after: date | None = None) -> History:
    """The history at ``path``, or an empty one if the file does not exist yet.

    A file that exists but does not parse, or holds an entry that is not a valid day (see
    ``validate_history``), raises ``DataFileError`` naming the file, serial and day, and is
    left untouched. ``not_after`` is the latest day allowed (default: today's date in the
    zone furthest ahead of UTC, which no system's run day can pass).
    """
    path = Path(path)
    if not path.exists():
        return History()
    raw = path.read_bytes()
    data = _parse(path, raw)
    if not isinstance(data, dict) or not isinstance(data.get(MICROS, {}), dict):
        got = _kind(data) if not isinstance(data, dict) else f"{MICROS!r} is {_kind(data[MICROS])}"
        raise DataFileError(
            f"history file {path} is not a history: it wants an object with a "
            f"{MICROS!r} object (got {got})",
            hint="it was left untouched: restore it from a backup",
        )
    problem = section_problem(data)
    if problem is not None:
        raise DataFileError(f"history file {path}: {problem}", hint=_RESTORE_HINT)
    if not_after is None:
        not_after = (datetime.now(timezone.utc) + LATEST_ZONE_AHEAD).date()
    if not _checked_before(path, raw):
        problem = validate_history(data.get(MICROS, {}), not_after=not_after)
        if problem is not None:
            raise DataFileError(f"history file {path}: {problem}", hint=_RESTORE_HINT)
    return History(data)


# Checking every entry costs more than parsing the file (a second per 25 years of 300
# panels), so it is done once per content: a file byte-identical to what this tool last
# wrote (it writes only entries it made) is not checked again. Any edit, a restored backup
# or a newer set of checks changes the mark and the whole file is checked. The mark tells
# edits apart, it guards against no one: a 64-bit XXH3 and the length, computed five times
# faster than zlib's CRC-32 (which cost a tenth of a second per 25 years of 300 panels).
_CHECKS_VERSION = "2"


def _check_mark_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.checked")


def _checked_before(path: Path, raw: bytes) -> bool:
    try:
        return _check_mark_path(path).read_text(encoding="ascii") == _mark_of(raw)
    except (OSError, UnicodeDecodeError):
        return False


def _mark_of(payload: bytes) -> str:
    return f"checks {_CHECKS_VERSION} xxh3 {xxh3_64_hexdigest(payload)} bytes {len(payload)}\n"


# The tool's own top-level sections and what each must be; a section the tool does not know
# is kept as it is. Inside ``health``, ``open`` maps serials to episodes, ``closed`` lists them.
SECTION_TYPES: dict[str, type] = {"system": dict, "health": dict, "replacements": dict}
_HEALTH_PARTS: dict[str, type] = {"open": dict, "closed": list}


def section_problem(data: dict[str, Any]) -> str | None:
    """The first bookkeeping section of a history that has the wrong JSON type, in words."""
    for name, wanted in SECTION_TYPES.items():
        value = data.get(name)
        if value is not None and not isinstance(value, wanted):
            return f"section {name!r} is {_kind(value)}, it must be {_wanted(wanted)}"
    health = data.get("health")
    for name, wanted in _HEALTH_PARTS.items():
        value = health.get(name) if isinstance(health, dict) else None
        if value is not None and not isinstance(value, wanted):
            return f"section 'health.{name}' is {_kind(value)}, it must be {_wanted(wanted)}"
    return None


def _wanted(kind: type) -> str:
    return "an object" if kind is dict else "a list"


def latest_days(history: History) -> dict[str, str]:
    """Each serial's latest stored day (one scan of its keys, in C)."""
    return {serial: max(days) for serial, days in history.micros.items() if days}


def day_after(latest_by_serial: Mapping[str, str], latest: str) -> tuple[str, str] | None:
    """A (serial, day) of ``latest_by_serial`` (see ``latest_days``) later than ``latest``
    (ISO date), else None.

    ``load_history`` can only bound dates by the latest zone on Earth; once the system's zone
    is known, the caller holds the history to the run's own day with this."""
    for serial in sorted(latest_by_serial):
        if latest_by_serial[serial] > latest:
            return serial, latest_by_serial[serial]
    return None


def validate_history(micros: dict[str, Any], *, not_after: date) -> str | None:
    """The first bad entry of a history's ``micro_inverters``, said in words; None if all good.

    A serial maps to an object whose keys are ISO dates no later than ``not_after``; each day
    is an object whose ``lifetime_energy`` is a whole number of Wh in range and whose
    ``daily_energy`` is one too, or null (unknown). Other fields are not checked.
    """
    latest = not_after.isoformat()
    for serial, days in micros.items():
        if not isinstance(days, dict):
            return f"serial {serial} is {_kind(days)}, it must be an object of days"
        for day, entry in days.items():
            problem = _day_problem(day, entry, latest)
            if problem is not None:
                return f"serial {serial}, day {day!r}: {problem}"
    return None


def _is_iso_day(day: str) -> bool:
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return bool(_ISO_DAY.fullmatch(day))


def _day_problem(day: str, entry: Any, latest: str) -> str | None:
    if not _is_iso_day(day):
        return "not a date (YYYY-MM-DD)"
    if day > latest:
        return f"a date in the future (after {latest})"
    if not isinstance(entry, dict):
        return f"not an object with daily_energy and lifetime_energy (got {_kind(entry)})"
    return _energy_problem(entry)


def _energy_problem(entry: dict[str, Any]) -> str | None:
    for key in OPTIONAL_INT_FIELDS:
        value = entry.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 2**53
        ):
            return f"{key} is not a whole number (got {_kind(value)})"
    for key, ceiling in ENERGY_FIELDS.items():
        if key not in entry:
            return f"no {key}"
        value = entry[key]
        if value is None and key == "daily_energy":
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            return f"{key} is not a whole number of Wh (got {_kind(value)})"
        if not 0 <= value <= ceiling:
            return f"{key} {value} is out of range (0..{ceiling} Wh)"
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return f"the text {value[:20]!r}"
    return "a list" if isinstance(value, list) else "an object"


def _parse(path: Path, raw: bytes) -> Any:
    """The file's JSON, read with orjson (the format it is written in).

    orjson refuses some files the standard library accepts (NaN, integers beyond 64 bits,
    both of which the original script's ``json.dump`` can write) and gives no line/column:
    whenever it refuses, the standard library reads the file instead, with its checks and
    error messages (``read_json``), so an old file still loads and a broken one is named.
    """
    try:
        with _collector_paused(keep_out=len(raw) >= _LONG_LIVED_BYTES):
            return orjson.loads(raw)
    except (orjson.JSONDecodeError, OSError):
        return read_json(path, what="history file")


# A history this large (a few years of 100 panels) is kept out of the cyclic collector's
# sight once loaded; smaller ones cost it nothing worth the step.
_LONG_LIVED_BYTES = 4_000_000


@contextmanager
def _collector_paused(*, keep_out: bool = False) -> Iterator[None]:
    # A 25-year history is millions of new dicts at once: each allocation burst sets off the
    # cyclic collector, which walks the growing tree again and again (about two thirds of
    # the load at 300 panels x 25 years). JSON cannot hold a cycle, so nothing is left for
    # it to find; it resumes as it was. Resumed, its next collections would still walk the
    # whole tree (a quarter of a second at 300 x 25); ``keep_out`` moves what is alive into
    # its permanent generation first (``gc.freeze``): the tree lives as long as the run, and
    # reference counting still frees it.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if keep_out:
            gc.freeze()
    finally:
        if was_enabled:
            gc.enable()


def save_history(path: Path, history: History) -> None:
    """Write the history atomically, compact like the original script wrote it.

    orjson serializes a 10-year, 100-panel history about five times faster than the
    standard library, which keeps a daily update well under half a second.
    """
    try:
        payload = orjson.dumps(history.data)
    except orjson.JSONEncodeError:
        # an integer beyond 64 bits (kept from an old file): the standard library writes it
        payload = json.dumps(history.data, separators=(",", ":"), ensure_ascii=False).encode()
    atomic_write_bytes(Path(path), payload)
    # After the file, never before: a kill or power cut in between leaves an old mark (so no
    # fsync is needed for it), and the next load checks the whole file again.
    atomic_write_text(_check_mark_path(Path(path)), _mark_of(payload), durable=False)
