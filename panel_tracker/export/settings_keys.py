"""The export keys of the config, parsed into frozen settings (called from settings.py).

``sqlite_file`` (path, relative to the config's folder), ``csv_dir`` and ``csv_date_format``,
and an ``mqtt`` object: ``host``, ``port`` (default 1883), ``username``, ``password``,
``topic_prefix`` (default ``panel_tracker``, no ``+``/``#`` wildcards), ``tls`` (bool).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    topic_prefix: str = "panel_tracker"
    tls: bool = False
    discovery_prefix: str = "homeassistant"


@dataclass(frozen=True)
class ExportSettings:
    sqlite_file: str | None = None
    csv_dir: str | None = None
    csv_date_format: str = "%Y-%m-%d"
    mqtt: MqttSettings | None = None


def _bad(key: str, got: Any, wants: str) -> ConfigError:
    return ConfigError(f"config key {key!r} is {got!r}; it wants {wants}")


def _opt_str(raw: Mapping[str, Any], key: str, prefix: str = "") -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _bad(prefix + key, value, "a non-empty string")
    return value


def _mqtt(raw: Any) -> MqttSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _bad("mqtt", raw, "an object with host, port, username, password, topic_prefix, tls")
    host = _opt_str(raw, "host", "mqtt.")
    if host is None:
        raise _bad("mqtt.host", None, "the broker's host name")
    port = raw.get("port", 1883)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise _bad("mqtt.port", port, "an integer port 1-65535")
    tls = raw.get("tls", False)
    if not isinstance(tls, bool):
        raise _bad("mqtt.tls", tls, "true or false")
    prefix = _opt_str(raw, "topic_prefix", "mqtt.") or "panel_tracker"
    if any(c in prefix for c in "+#\0") or prefix.startswith("/") or prefix.endswith("/"):
        raise _bad("mqtt.topic_prefix", prefix, "a topic without + or # and no leading/trailing /")
    password = raw.get("password")
    if password is not None and not isinstance(password, str):
        raise ConfigError("config key 'mqtt.password' is not a string; it wants a string")
    return MqttSettings(
        host=host,
        port=port,
        username=_opt_str(raw, "username", "mqtt."),
        password=password,
        topic_prefix=prefix,
        tls=tls,
        discovery_prefix=_opt_str(raw, "discovery_prefix", "mqtt.") or "homeassistant",
    )


KEYS = frozenset({"sqlite_file", "csv_dir", "csv_date_format", "mqtt"})
"""The top-level config keys read here (the settings module adds them to the keys it knows)."""


def parse_export_settings(raw: Mapping[str, Any]) -> ExportSettings:
    """The export settings in ``raw`` (the whole config); ConfigError names a bad key."""
    date_format = _opt_str(raw, "csv_date_format") or "%Y-%m-%d"
    if "%d" not in date_format and "%j" not in date_format:
        raise _bad("csv_date_format", date_format, "a strftime format with the day, e.g. %d/%m/%Y")
    return ExportSettings(
        sqlite_file=_opt_str(raw, "sqlite_file"),
        csv_dir=_opt_str(raw, "csv_dir"),
        csv_date_format=date_format,
        mqtt=_mqtt(raw.get("mqtt")),
    )
