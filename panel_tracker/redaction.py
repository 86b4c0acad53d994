"""Keeping secrets out of output: every log record and error line passes through here.

The Enlighten API key travels in URLs (``?key=``) and tokens in headers, so any message
that quotes a URL or a response could carry one. Redaction is by value (whatever the
current secrets are, including a freshly rotated token) and by shape (``key=`` and
``token=`` query parameters, bearer headers), so a secret the tool does not know yet is
caught too.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable

REDACTED = "***"

_QUERY_SECRET = re.compile(
    r"(?i)\b(key|api_key|access_token|refresh_token|code|client_secret|token)=([^&\s'\"]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record's final message with secrets removed.

    Should the secrets source itself log, that inner record is redacted with the secrets last
    known instead of asking the source again, so the filter can never call itself without end
    (a RecursionError instead of the run's error line).
    """

    def __init__(self, secrets: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._secrets = secrets
        self._known: tuple[str, ...] = ()
        self._busy = threading.local()

    def current(self) -> tuple[str, ...]:
        """The secrets now, or the last known ones while the source is being asked."""
        if getattr(self._busy, "active", False):
            return self._known
        self._busy.active = True
        try:
            self._known = tuple(self._secrets())
        finally:
            self._busy.active = False
        return self._known

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.current()
        message = redact(record.getMessage(), secrets)
        record.msg = message
        record.args = None
        if record.exc_info:
            # Tracebacks quote exception text: render them now, redacted.
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info), secrets)
            record.exc_info = None
        return True
