"""Where the app builds its data sources from the config: the one place that knows both.

Adapters (``enlighten.client``) take plain values; this module reads them from today's
``Config`` and wires the config's token saving in as the client's ``token_updater``, so a
rotated pair is written (atomically, mode 0600) before anything else happens.
"""

from __future__ import annotations

from typing import Any

from ..enlighten.client import EnlightenClient
from ..enlighten.models import TokenPair
from ..settings import Config


def enlighten_client(config: Config, **overrides: Any) -> EnlightenClient:
    """A client for the config's system whose rotated tokens are saved into the config.

    An override replaces the config's setting unread (``sleep``, ``retry``, ``session``
    and the like are the client's own options): set-up passes ``system_id=""`` for a
    config that has none yet.
    """
    config.require("app_api_key", "app_client_id", "app_client_secret")

    def save(pair: TokenPair) -> None:
        config.save_tokens(pair.access_token, pair.refresh_token)

    options: dict[str, Any] = {
        "api_url": config.api_url,
        "api_key": config.app_api_key,
        "client_id": config.app_client_id,
        "client_secret": config.app_client_secret,
        "access_token": config.access_token,
        "refresh_token": config.refresh_token,
        "token_updater": save,
        "access_token_expires_at": config.access_token_expires_at,
        **overrides,
    }
    # Read only when needed: either may be missing or unusable in a config being set up.
    if "system_id" not in options:
        options["system_id"] = config.system_id
    if "timeout" not in options:
        options["timeout"] = config.http_timeout
    return EnlightenClient(**options)
