"""The Enlighten OAuth token lifecycle, as its own object (cf. pyenphase's ``EnvoyTokenAuth``).

``EnlightenOAuth`` holds the current access/refresh pair and when the access token
expires (its JWT ``exp``, else the stored expiry), refreshes only when needed, trades an
authorization code for the first pair, and calls ``token_updater`` with every new pair
before anything else happens: Enlighten rotates the refresh token on each refresh, so the
old one is dead the moment the answer arrives and the new one must reach disk first.
Its token calls go through the same ``Transport`` as the data calls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

from .errors import AUTHORIZE_HINT, AuthError
from .jwt import jwt_expiry
from .models import TokenPair, as_datetime
from .transport import Transport, error_detail

logger = logging.getLogger(__name__)

DEFAULT_REDIRECT_URI = "https://api.enphaseenergy.com/oauth/redirect_uri"
# Refresh a little before expiry so a token cannot die between the check and the call.
REFRESH_MARGIN = timedelta(minutes=5)

TokenUpdater = Callable[[TokenPair], None]


def expiry_setting(value: datetime | float | str | None) -> datetime | None:
    """A stored expiry (aware or naive datetime, epoch seconds, ISO text) as aware UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return as_datetime(value)


class EnlightenOAuth:
    """The token pair of one application and homeowner, kept fresh and saved at once."""

    def __init__(
        self,
        transport: Transport,
        *,
        client_id: str,
        client_secret: str,
        access_token: str | None,
        refresh_token: str | None,
        access_token_expires_at: datetime | float | str | None = None,
        token_updater: TokenUpdater | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._transport = transport
        self._client_id = client_id
        self._client_secret = client_secret
        self._access_token = access_token or None
        self._refresh_token = refresh_token or None
        self._access_expires_at = expiry_setting(access_token_expires_at)
        self._token_updater = token_updater
        self._clock = clock
        # Old tokens stay secret after rotation: a log line may still quote one.
        self._retired: set[str] = set()

    @property
    def access_token(self) -> str | None:
        return self._access_token

    @property
    def refresh_token(self) -> str | None:
        return self._refresh_token

    def secrets(self) -> list[str]:
        """The client secret and every token held now or before."""
        current = (self._client_secret, self._access_token, self._refresh_token)
        return [s for s in (*current, *self._retired) if s and len(s) >= 4]

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=timezone.utc)

    def access_expires_at(self) -> datetime | None:
        return jwt_expiry(self._access_token) or self._access_expires_at

    def needs_refresh(self) -> bool:
        """No access token, or one that has expired or expires within ``REFRESH_MARGIN``."""
        if not self._access_token:
            return True
        expires = self.access_expires_at()
        return expires is not None and expires - REFRESH_MARGIN <= self.now()

    def ensure_fresh(self) -> None:
        """Refresh only if the access token is missing, expired or about to expire."""
        if self.needs_refresh():
            logger.debug("the access token is missing or about to expire: refreshing")
            self.refresh()

    def refresh(self) -> TokenPair:
        """Trade the refresh token for a new pair, hand it to ``token_updater`` at once."""
        if not self._refresh_token:
            raise AuthError(
                "no Enlighten refresh token in the config", hint=AUTHORIZE_HINT, refresh_failed=True
            )
        logger.info("Enlighten: refreshing the access token")
        old_refresh = self._refresh_token

        def refused(detail: str, status: int) -> AuthError:
            return AuthError(
                f"Enlighten refused the refresh token (HTTP {status}{detail}); it has expired "
                "or was revoked",
                hint=f"the homeowner must consent again: {AUTHORIZE_HINT}",
                status=status,
                refresh_failed=True,
            )

        body = self._token_call(
            {"grant_type": "refresh_token", "refresh_token": old_refresh},
            what="token refresh",
            refused=refused,
        )
        pair = TokenPair.from_token_answer(body, self.now(), previous_refresh_token=old_refresh)
        self._adopt(pair)
        return pair

    def exchange_code(self, code: str, redirect_uri: str = DEFAULT_REDIRECT_URI) -> TokenPair:
        """Trade a one-time authorization code for the first token pair."""
        logger.info("Enlighten: exchanging the authorization code for tokens")

        def refused(detail: str, status: int) -> AuthError:
            return AuthError(
                f"Enlighten refused the authorization code (HTTP {status}{detail}); a code "
                "works once and only with the same redirect_uri",
                hint=f"open {self.authorize_url(redirect_uri)} for a new one",
                status=status,
            )

        body = self._token_call(
            {"grant_type": "authorization_code", "redirect_uri": redirect_uri, "code": code},
            what="authorization code exchange",
            refused=refused,
            extra_secrets=(code,),
        )
        pair = TokenPair.from_token_answer(body, self.now())
        self._adopt(pair)
        return pair

    def authorize_url(self, redirect_uri: str = DEFAULT_REDIRECT_URI) -> str:
        """Where the homeowner consents; the page then shows (or redirects with) a code."""
        query = urlencode(
            {"response_type": "code", "client_id": self._client_id, "redirect_uri": redirect_uri},
            quote_via=quote,
        )
        return f"{self._transport.base_url}oauth/authorize?{query}"

    def _adopt(self, pair: TokenPair) -> None:
        for old in (self._access_token, self._refresh_token):
            if old:
                self._retired.add(old)
        self._access_token = pair.access_token
        self._refresh_token = pair.refresh_token
        self._access_expires_at = pair.access_expires_at
        # The old refresh token is dead now: the new pair must be saved before anything else.
        if self._token_updater is not None:
            self._token_updater(pair)

    def _token_call(
        self,
        params: dict[str, str],
        *,
        what: str,
        refused: Callable[[str, int], AuthError],
        extra_secrets: Iterable[str] = (),
    ) -> Any:
        transport = self._transport
        response = transport.send(
            "POST",
            "oauth/token",
            params=params,
            kind="token",
            what=what,
            auth=(self._client_id, self._client_secret),
            extra_secrets=extra_secrets,
        )
        if response.status_code in (400, 401, 403):
            detail = transport.quote(error_detail(response), extra_secrets)
            raise refused(f": {detail}" if detail else "", response.status_code)
        if not response.ok:
            raise transport.error(response, what, extra_secrets)
        return transport.json(response, what, extra_secrets)
