"""The shapes of the Enlighten v4 answers the project uses, as Enphase documents them.

Written from Enphase's published System API description (``System_API.json``, in the OpenAPI
conversion of github ``andrewdmontgomery/Enphase-OpenAPI``), the v4 quickstart's token answer
and the error bodies that description gives; ``tests/fixtures/enlighten/`` holds those
examples and a few real answers, with their sources. ``check(kind, body)`` lists what in an
answer breaks the contract (an empty list: it holds), so a test can hold the emulator to the
published API rather than to what the client expects.

The description lists no ``required`` properties for its answers; a field is required here
when every documented example and every real answer on record carries it, and optional (but
typed when present) otherwise. A field the description does not name is refused, so the
emulator cannot grow a field the client would come to lean on. Where the description's prose
and its examples differ, both are allowed and each is named: ``power_produced`` is an object
in one example and a bare integer in the developer portal's; ``last_report_date`` is epoch
seconds in v4 and ISO 8601 text with an offset in a community description's example; an error
``code`` is typed string but every example gives the status as a number. Dates: ``*_at`` and
``last_report_date`` are epoch seconds (integers, not milliseconds), ``*_date`` are
``YYYY-MM-DD``. ``energy.units`` is ``Wh`` or ``kJ`` (the v2 description's enum; v4 names no
other). ``granularity`` is one of ``5mins``, ``15mins``, ``day``, ``week``; a ``day`` answer
holds at most 288 intervals of 5 minutes, and an answer spans at most its granularity.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# Epoch seconds of 2000-01-01 and 2100-01-01: a value outside is milliseconds or nonsense.
EPOCH_RANGE = (946_684_800, 4_102_444_800)
GRANULARITIES = ("5mins", "15mins", "day", "week")
GRANULARITY_SECONDS = {"5mins": 300, "15mins": 900, "day": 86_400, "week": 7 * 86_400}
# A local day may be 25 hours long.
DST_SLACK_SECONDS = 3600
MAX_DAY_INTERVALS = 288
ENERGY_UNITS = ("Wh", "kJ")
SYSTEM_STATUSES = (
    "normal",
    "comm",
    "micro",
    "power",
    "meter",
    "battery",
    "storage_idle",
    "meter_issue",
    "enpower",
    "encharge",
    "enpower_issue",
    "encharge_issue",
)
CONNECTION_TYPES = ("ethernet", "wifi", "cellular")
ATTACHMENT_TYPES = ("rack_mount", "zep", "acm", "bipv", "frame_mount", "railless_mount")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_WITH_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)")

Problems = list[str]
Check = Callable[[Any, str, Problems], None]


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def integer(value: Any, where: str, problems: Problems) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{where}: an integer, not {_type_name(value)} {value!r}")


def number(value: Any, where: str, problems: Problems) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{where}: a number, not {_type_name(value)} {value!r}")


def text(value: Any, where: str, problems: Problems) -> None:
    if not isinstance(value, str):
        problems.append(f"{where}: a string, not {_type_name(value)} {value!r}")


def boolean(value: Any, where: str, problems: Problems) -> None:
    if not isinstance(value, bool):
        problems.append(f"{where}: true or false, not {_type_name(value)} {value!r}")


def epoch(value: Any, where: str, problems: Problems) -> None:
    """Epoch seconds, as the description gives every ``*_at`` time."""
    before = len(problems)
    integer(value, where, problems)
    if len(problems) == before and not EPOCH_RANGE[0] <= value < EPOCH_RANGE[1]:
        problems.append(f"{where}: epoch seconds, not {value!r} (milliseconds?)")


def iso_date(value: Any, where: str, problems: Problems) -> None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        problems.append(f"{where}: a date YYYY-MM-DD, not {value!r}")
        return
    try:
        date.fromisoformat(value)
    except ValueError:
        problems.append(f"{where}: {value!r} is not a day of the calendar")


def report_time(value: Any, where: str, problems: Problems) -> None:
    """``last_report_date``: epoch seconds (v4), or ISO 8601 text with its offset."""
    if isinstance(value, str):
        if not _ISO_WITH_OFFSET.fullmatch(value):
            problems.append(f"{where}: ISO 8601 text with an offset, not {value!r}")
            return
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"{where}: {value!r} is not a time")
        return
    epoch(value, where, problems)


def one_of(*values: str) -> Check:
    def check(value: Any, where: str, problems: Problems) -> None:
        if value not in values:
            problems.append(f"{where}: one of {', '.join(values)}, not {value!r}")

    return check


def equal(expected: Any) -> Check:
    def check(value: Any, where: str, problems: Problems) -> None:
        if value != expected:
            problems.append(f"{where}: {expected!r}, not {value!r}")

    return check


def nullable(inner: Check) -> Check:
    def check(value: Any, where: str, problems: Problems) -> None:
        if value is not None:
            inner(value, where, problems)

    return check


def list_of(item: Check) -> Check:
    def check(value: Any, where: str, problems: Problems) -> None:
        if not isinstance(value, list):
            problems.append(f"{where}: a list, not {_type_name(value)}")
            return
        for index, element in enumerate(value):
            item(element, f"{where}[{index}]", problems)

    return check


def either(first: Check, *others: Check) -> Check:
    """Any one of the checks (each documented somewhere); the problems of ``first`` if none
    holds."""

    def check(value: Any, where: str, problems: Problems) -> None:
        tried: Problems = []
        first(value, where, tried)
        for other in others:
            if not tried:
                return
            again: Problems = []
            other(value, where, again)
            if not again:
                return
        problems.extend(tried)

    return check


@dataclass(frozen=True)
class Shape:
    """A JSON object: the fields it must carry, those it may, and checks across fields."""

    required: Mapping[str, Check]
    optional: Mapping[str, Check] = field(default_factory=dict)
    rules: tuple[Callable[[Mapping[str, Any], str, Problems], None], ...] = ()

    def __call__(self, value: Any, where: str, problems: Problems) -> None:
        if not isinstance(value, Mapping):
            problems.append(f"{where or 'the answer'}: an object, not {_type_name(value)}")
            return
        prefix = f"{where}." if where else ""
        for name, check in self.required.items():
            if name not in value:
                problems.append(f"{prefix}{name}: required, missing")
            else:
                check(value[name], prefix + name, problems)
        for name, check in self.optional.items():
            if name in value:
                check(value[name], prefix + name, problems)
        for name in value:
            if name not in self.required and name not in self.optional:
                problems.append(f"{prefix}{name}: not a field of this answer")
        for rule in self.rules:
            rule(value, where, problems)


# --- the answers ---------------------------------------------------------------------------
ADDRESS = Shape(
    required={},
    optional={
        "city": text,
        "state": nullable(text),
        "country": nullable(text),
        "postal_code": nullable(text),
    },
)

# GET /api/v4/systems/{system_id}, and each element of GET /api/v4/systems
SYSTEM = Shape(
    required={
        "system_id": integer,
        "name": text,
        "public_name": text,
        "timezone": nullable(text),
        "address": ADDRESS,
        "connection_type": one_of(*CONNECTION_TYPES),
        "status": one_of(*SYSTEM_STATUSES),
        "last_report_at": epoch,
        "last_energy_at": nullable(epoch),
        "operational_at": nullable(epoch),
    },
    optional={
        # deprecated: "the API will always return this field as -1"
        "energy_lifetime": equal(-1),
        "energy_today": equal(-1),
        "system_size": equal(-1),
        "attachment_type": nullable(one_of(*ATTACHMENT_TYPES)),
        "interconnect_date": nullable(iso_date),
        "reference": text,
        "other_references": list_of(text),
    },
)


def _count_matches(body: Mapping[str, Any], where: str, problems: Problems) -> None:
    systems, count = body.get("systems"), body.get("count")
    if isinstance(systems, list) and isinstance(count, int) and count != len(systems):
        problems.append(f"count: {count}, but the page lists {len(systems)} systems")
    size = body.get("size")
    if isinstance(size, int) and not isinstance(size, bool) and not 1 <= size <= 100:
        problems.append(f"size: 1 to 100, not {size}")


SYSTEMS = Shape(
    required={
        "total": integer,
        "current_page": integer,
        "size": integer,
        "count": integer,
        "items": equal("systems"),
        "systems": list_of(SYSTEM),
    },
    rules=(_count_matches,),
)

POWER = Shape(required={"value": integer, "units": equal("W"), "precision": integer})
ENERGY = Shape(required={"value": integer, "units": one_of(*ENERGY_UNITS), "precision": integer})
MICRO = Shape(
    required={
        "id": integer,
        "serial_number": text,
        "model": text,
        "part_number": text,
        "sku": text,
        "status": text,
        "power_produced": either(POWER, integer),
        "proc_load": text,
        "param_table": text,
        "envoy_serial_number": text,
        "energy": ENERGY,
        "grid_profile": text,
        "last_report_date": report_time,
    }
)
GATEWAY = Shape(required={"signal_strength": integer, "micro_inverters": list_of(MICRO)})
# GET /api/v4/systems/inverters_summary_by_envoy_or_site: a list, one element per gateway
INVERTERS_SUMMARY = list_of(GATEWAY)

META = Shape(
    required={
        "status": one_of(*SYSTEM_STATUSES),
        "last_report_at": epoch,
        "last_energy_at": epoch,
        "operational_at": epoch,
    }
)

ENERGY_LIFETIME = Shape(
    required={
        "system_id": integer,
        "start_date": nullable(iso_date),  # "may be null if system has never produced"
        "production": list_of(integer),
        "meta": META,
    },
    optional={
        "meter_start_date": iso_date,  # "not present unless the system has a meter"
        "micro_production": nullable(list_of(integer)),
        "meter_production": nullable(list_of(integer)),
    },
)


def _one_start(body: Mapping[str, Any], where: str, problems: Problems) -> None:
    starts = [name for name in ("start_at", "start_date") if name in body]
    if len(starts) != 1:
        problems.append(
            "start_at or start_date: exactly one, not " + (" and ".join(starts) or "none")
        )


def _within_granularity(body: Mapping[str, Any], where: str, problems: Problems) -> None:
    """A ``day`` answer holds at most 288 intervals; ``end_at`` = min(now, start +
    granularity), and every interval ends between the start and ``end_at``."""
    intervals, granularity = body.get("intervals"), body.get("granularity")
    if not isinstance(intervals, list):
        return
    if granularity == "day" and len(intervals) > MAX_DAY_INTERVALS:
        problems.append(
            f"intervals: at most {MAX_DAY_INTERVALS} for granularity day, not {len(intervals)}"
        )
    start, end = body.get("start_at"), body.get("end_at")
    if not isinstance(start, int) or not isinstance(end, int):
        return
    span = GRANULARITY_SECONDS.get(str(granularity))
    if span is not None and end - start > span + DST_SLACK_SECONDS:
        problems.append(f"end_at: at most start_at + {granularity}, not {end - start} s after it")
    ends = [i.get("end_at") for i in intervals if isinstance(i, Mapping)]
    outside = [e for e in ends if isinstance(e, int) and not start <= e <= end]
    if outside:
        problems.append(f"intervals: end_at {outside[0]} outside start_at..end_at")


MICRO_INTERVAL = Shape(required={"end_at": epoch, "powr": integer, "enwh": integer})
# GET /api/v4/systems/{system_id}/devices/micros/{serial_no}/telemetry
MICRO_TELEMETRY = Shape(
    required={
        "system_id": integer,
        "serial_number": text,
        "granularity": one_of(*GRANULARITIES),
        "total_devices": equal(1),  # "shall always be 1"
        "end_at": epoch,
        "items": equal("intervals"),
        "intervals": list_of(MICRO_INTERVAL),
    },
    optional={"start_at": epoch, "start_date": iso_date},
    rules=(_one_start, _within_granularity),
)

PRODUCTION_INTERVAL = Shape(
    required={"end_at": epoch, "devices_reporting": integer, "powr": integer, "enwh": integer}
)
# GET /api/v4/systems/{system_id}/telemetry/production_micro (the original class's call). Its
# own example's intervals end years before its start_at, so only the shape is held.
PRODUCTION_MICRO = Shape(
    required={
        "system_id": integer,
        "granularity": one_of(*GRANULARITIES),
        "total_devices": integer,
        "end_at": epoch,
        "items": equal("intervals"),
        "intervals": list_of(PRODUCTION_INTERVAL),
        "meta": META,
    },
    optional={"start_at": epoch, "start_date": iso_date},
    rules=(_one_start,),
)

# POST /oauth/token (code exchange and refresh), as the v4 quickstart shows it
TOKEN = Shape(
    required={
        "access_token": text,
        "token_type": equal("bearer"),
        "refresh_token": text,
        "expires_in": integer,
        "scope": text,
        "jti": text,
    },
    optional={
        "enl_uid": text,
        "enl_cid": text,
        "enl_password_last_changed": text,
        "is_internal_app": boolean,
        "app_type": text,
    },
)

# Error bodies. ErrorResponse ({message, details, code}; a 429 adds the quota fields),
# ErrorResponseArray (405, 501: {reason, message: [...]}), a community description's
# {errorCode, errorMessages}, and for /oauth/token the
# OAuth 2 error fields (RFC 6749 section 5.2) beside them.
ERROR = Shape(
    required={"message": text, "details": text, "code": either(integer, text)},
    optional={
        "period": one_of("minute", "month"),
        "period_start": epoch,
        "period_end": epoch,
        "limit": integer,
    },
)
ERROR_ARRAY = Shape(required={"reason": text, "message": list_of(text)})
# A 500 of the community description (NathanBaulch/EnphaseOpenAPI): "Data is temporarily
# unavailable".
ERROR_CODES = Shape(required={"errorCode": integer, "errorMessages": list_of(text)})
OAUTH_ERROR = Shape(
    required={"error": text, "error_description": text},
    optional={"message": text, "details": text, "code": either(integer, text)},
)

SHAPES: dict[str, Check] = {
    "systems": SYSTEMS,
    "system": SYSTEM,
    "inverters_summary": INVERTERS_SUMMARY,
    "energy_lifetime": ENERGY_LIFETIME,
    "micro_telemetry": MICRO_TELEMETRY,
    "production_micro": PRODUCTION_MICRO,
    "token": TOKEN,
    "error": either(ERROR, ERROR_ARRAY, ERROR_CODES),
    "token_error": either(OAUTH_ERROR, ERROR),
}

_PATHS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("token", re.compile(r"/oauth/token")),
    ("systems", re.compile(r"/api/v4/systems")),
    ("inverters_summary", re.compile(r"/api/v4/systems/inverters_summary_by_envoy_or_site")),
    ("system", re.compile(r"/api/v4/systems/\d+")),
    ("energy_lifetime", re.compile(r"/api/v4/systems/\d+/energy_lifetime")),
    ("micro_telemetry", re.compile(r"/api/v4/systems/\d+/devices/micros/[^/]+/telemetry")),
    ("production_micro", re.compile(r"/api/v4/systems/\d+/telemetry/production_micro")),
)


def kind_of(path: str, status: int) -> str | None:
    """Which shape an answer of ``status`` to ``path`` must have; None for a path the
    project does not call."""
    for kind, pattern in _PATHS:
        if pattern.fullmatch(path):
            if 200 <= status < 300:
                return kind
            return "token_error" if kind == "token" else "error"
    return None


def check(kind: str, body: Any) -> list[str]:
    """What in ``body`` breaks the contract of ``kind`` (a key of ``SHAPES``); [] if nothing."""
    problems: Problems = []
    SHAPES[kind](body, "", problems)
    return problems
