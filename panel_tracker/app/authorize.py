"""Set-up access to Enlighten: the homeowner's consent turned into saved tokens.

``enlightenAPI_v4.py authorize`` prints the consent address; the page shows a one-time
code, and trading it for the first token pair replaces the Postman (or curl) step of the
original set-up. The pair reaches the config through the client's ``token_updater``
(``Config.save_tokens``: atomic, mode 0600, every other key kept) and under the daily job's
lock, so a job running at the same moment cannot save its own pair over it. A refused code
leaves the config as it was.

A config being set up may lack its ``system_id`` or tokens yet; ``authorize`` and ``check``
load it anyway (``config.read_config``, ``setup_client``) so a new user learns everything
that is missing in one go.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..enlighten.client import EnlightenClient
from ..enlighten.models import TokenPair
from ..enlighten.oauth import DEFAULT_REDIRECT_URI
from ..errors import UsageError
from ..settings import Config
from ..storage import run_lock
from .sources import enlighten_client

logger = logging.getLogger(__name__)

APP_KEYS = ("app_api_key", "app_client_id", "app_client_secret")


def valid_system_id(config: Config) -> str | None:
    value = config.given_system_id
    return value.strip() if value is not None and value.strip().isdigit() else None


def setup_client(config: Config, **overrides: Any) -> EnlightenClient:
    """A client whose new tokens are saved into the config, even without a ``system_id``."""
    if valid_system_id(config) is None:
        # No system yet, and the timeout read leniently: ``check`` reports a bad one.
        setup: dict[str, Any] = {
            "system_id": "",
            "access_token_expires_at": None,
            "timeout": config.http_timeout,
        }
        overrides = {**setup, **overrides}
    return enlighten_client(config, **overrides)


@contextlib.contextmanager
def system_lock(config: Config) -> Iterator[None]:
    """The daily job's lock, so tokens are never rotated by two processes at once.

    Without a valid ``system_id`` there is no job that could run, and no lock to take.
    """
    if valid_system_id(config) is None:
        yield
        return
    with run_lock(config.lock_path, wait_seconds=config.lock_wait_seconds):
        yield


def redirect_uri_of(config: Config, override: str | None = None) -> str:
    """The ``--redirect-uri``, else the config's ``redirect_uri``, else Enphase's page."""
    return override or config.redirect_uri or DEFAULT_REDIRECT_URI


def code_from(text: str) -> str:
    """The code itself, also when the whole redirect address was pasted."""
    text = text.strip()
    if "code=" in text:
        found = parse_qs(urlsplit(text).query).get("code") or parse_qs(text).get("code")
        if found:
            return found[0].strip()
    if not text or any(ch.isspace() for ch in text):
        raise UsageError(
            "that is not an authorization code: copy the short code the consent page shows"
        )
    return text


def exchange(config: Config, client: EnlightenClient, code: str, redirect_uri: str) -> TokenPair:
    """Trade ``code`` for the first pair; the client's updater has saved it on return.

    The lock is taken before the code is spent: if the daily job holds it, the code is
    still good for another try.
    """
    with system_lock(config):
        return client.exchange_code(code_from(code), redirect_uri)
