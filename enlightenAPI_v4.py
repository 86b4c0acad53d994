"""The Enlighten v4 client under the name the original script's users know.

``from enlightenAPI_v4 import enlightenAPI_v4`` keeps working; the client itself lives in
``panel_tracker.enlighten``.
"""

from __future__ import annotations

import sys

from panel_tracker.enlighten import (
    DEFAULT_REDIRECT_URI,
    AuthError,
    BadResponseError,
    EnlightenClient,
    EnlightenError,
    InverterReading,
    NetworkError,
    NotFoundError,
    PlanNotAllowedError,
    RateLimitError,
    ServerError,
    SystemInfo,
    TokenPair,
)

enlightenAPI_v4 = EnlightenClient  # noqa: N816 - the original class name

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "AuthError",
    "BadResponseError",
    "EnlightenClient",
    "EnlightenError",
    "InverterReading",
    "NetworkError",
    "NotFoundError",
    "PlanNotAllowedError",
    "RateLimitError",
    "ServerError",
    "SystemInfo",
    "TokenPair",
    "enlightenAPI_v4",
]

if __name__ == "__main__":
    print("usage: import enlightenAPI_v4 (the client class); no commands yet", file=sys.stderr)
    sys.exit(2)
