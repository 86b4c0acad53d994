"""When a JWT expires, read from its ``exp`` claim without verifying it.

Enlighten's access and refresh tokens are JWTs. Knowing their expiry lets the daily job
refresh only when needed, with no network call. The signature is not checked: the token
came from our own config file and the server will judge it anyway.

The daily job's warning and ``check`` share how early to warn about a dying refresh token
and how an expiry is said to a person (``when``, ``relative``).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timedelta, timezone
from typing import Any

# Warn this long before the refresh token dies: after that only the homeowner can fix it.
REFRESH_WARNING = timedelta(days=7)
TIME_FORMAT = "%Y-%m-%d %H:%M"


def jwt_expiry(token: str | None) -> datetime | None:
    """The ``exp`` claim of ``token`` as an aware UTC datetime, or None if it has none."""
    exp = _claims(token or "").get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(exp, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _claims(token: str) -> dict[str, Any]:
    """The payload of a ``header.payload.signature`` token, or {} if it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload_b64 = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        payload = json.loads(base64.urlsafe_b64decode(payload_b64.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def when(moment: datetime) -> str:
    return moment.astimezone().strftime(TIME_FORMAT)


def relative(moment: datetime, now: datetime) -> str:
    """``in 23 h``, ``in 29 days``, ``3 days ago``."""
    delta = moment - now
    seconds = abs(delta.total_seconds())
    if seconds < 3600:
        amount = f"{max(round(seconds / 60), 1)} min"
    elif seconds < 2 * 86400:
        amount = f"{round(seconds / 3600)} h"
    else:
        amount = f"{round(seconds / 86400)} days"
    return f"in {amount}" if delta.total_seconds() >= 0 else f"{amount} ago"
