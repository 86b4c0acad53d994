"""What can go wrong with the Enlighten API, as one exception hierarchy.

Messages are redacted before an error is raised and say what to do; the hints below are
the fixes more than one message points to.
"""

from __future__ import annotations

from datetime import datetime

from ..errors import PanelTrackerError

AUTHORIZE_HINT = "run `.venv/bin/python enlightenAPI_v4.py authorize`"
WATT_PLAN_LIMITS = "the free Watt plan allows 10 calls a minute and 1,000 a month"


class EnlightenError(PanelTrackerError):
    """The Enlighten API could not be used; the message is redacted and says what to do."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class AuthError(EnlightenError):
    """401/403: a token or the API key was rejected.

    ``refresh_failed`` is true when the refresh token itself was refused: only the
    homeowner's consent in a browser can get a new pair.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        hint: str | None = None,
        refresh_failed: bool = False,
    ) -> None:
        super().__init__(message, status=status, hint=hint)
        self.refresh_failed = refresh_failed


class PlanNotAllowedError(AuthError):
    """Per-micro telemetry answered 401: the free Watt plan does not include it."""


class RateLimitError(EnlightenError):
    """429 with a reset too far away to wait for."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        hint: str | None = None,
        resets_at: datetime | None = None,
    ) -> None:
        super().__init__(message, status=status, hint=hint)
        self.resets_at = resets_at


class NotFoundError(EnlightenError):
    """404: usually a wrong system_id or serial."""


class ServerError(EnlightenError):
    """5xx, still failing after the retries."""


class NetworkError(EnlightenError):
    """Connection error or timeout, still failing after the retries."""


class BadResponseError(EnlightenError):
    """The answer is not JSON or not the shape the v4 API documents."""
