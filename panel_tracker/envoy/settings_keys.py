"""The config keys of the local gateway source, parsed into frozen settings.

``parse_envoy_settings`` is pure: the settings module calls it with the raw config. It returns
None when the config's ``source`` is the cloud (the default), else ``EnvoySettings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

SOURCES = ("enlighten", "envoy")
KEYS = frozenset(
    {
        "source",
        "envoy_host",
        "envoy_token",
        "envoy_username",
        "envoy_password",
        "envoy_timeout_seconds",
    }
)
"""The top-level config keys read here (the settings module adds them to the keys it knows)."""
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class EnvoySettings:
    """Where the gateway is and how to get in: a token, or the Enlighten login.

    Neither is needed for firmware before 7 (pyenphase logs in as the local installer);
    firmware 7 and later refuses without one, which the reader says clearly.
    """

    host: str
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.token, self.password) if s]


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f'"{key}" must be text, got {type(value).__name__}',
            hint=f'set "{key}" to a string in the config, or remove it',
        )
    return value.strip()


def _host(raw: Mapping[str, Any]) -> str:
    host = _text(raw, "envoy_host")
    if host is None:
        raise ConfigError(
            '"envoy_host" is missing: "source": "envoy" needs the gateway\'s address',
            hint='set "envoy_host" to its IP address or name, e.g. "192.168.1.50" or "envoy.local"',
        )
    if "://" in host or "/" in host or " " in host:
        raise ConfigError(
            f'"envoy_host" must be a bare address, got {host!r}',
            hint='give only the address (and an optional :port), e.g. "192.168.1.50"',
        )
    return host


def _timeout(raw: Mapping[str, Any]) -> float:
    value = raw.get("envoy_timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 300:
        raise ConfigError(
            f'"envoy_timeout_seconds" must be a number of seconds from 1 to 300, got {value!r}',
            hint='remove it for the default of 30, or set e.g. "envoy_timeout_seconds": 30',
        )
    return float(value)


def parse_envoy_settings(raw: Mapping[str, Any]) -> EnvoySettings | None:
    """The gateway settings when ``"source": "envoy"``; None for the cloud source."""
    source = raw.get("source", "enlighten")
    if source not in SOURCES:
        raise ConfigError(
            f'"source" must be "enlighten" or "envoy", got {source!r}',
            hint='use "envoy" for the gateway on your network, or remove it for the cloud',
        )
    if source != "envoy":
        return None
    token = _text(raw, "envoy_token")
    username = _text(raw, "envoy_username")
    password = _text(raw, "envoy_password")
    if (username is None) != (password is None):
        given, missing = (
            ("envoy_username", "envoy_password")
            if username
            else (
                "envoy_password",
                "envoy_username",
            )
        )
        raise ConfigError(
            f'"{missing}" is missing: got "{given}" alone',
            hint="give the Enlighten login as both envoy_username and envoy_password, "
            "or set envoy_token instead",
        )
    return EnvoySettings(
        host=_host(raw),
        token=token,
        username=username,
        password=password,
        timeout_seconds=_timeout(raw),
    )
