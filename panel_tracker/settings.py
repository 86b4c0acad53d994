"""The config file: load, validate ONCE into frozen settings, and save rotated tokens safely.

Keys of the original script keep their meaning; every new key is optional. Paths in the
config are relative to the config file's folder, never to the current directory, so cron
(which starts in $HOME) and a user in the project folder see the same files.

``load_config`` checks every key the project knows (``KNOWN_KEYS``, the README's config table)
and builds a frozen ``Settings``; a bad value is one ``ConfigError`` naming the key, what it
got and what it wants (exit 2), before anything is written. The file stays the user's: its raw
dict is kept only here, so saving a rotated token pair preserves every other key.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .envoy.settings_keys import KEYS as ENVOY_KEYS
from .envoy.settings_keys import EnvoySettings, parse_envoy_settings
from .errors import ConfigError, DataFileError
from .export.settings_keys import KEYS as EXPORT_KEYS
from .export.settings_keys import ExportSettings, parse_export_settings
from .health.groups import MIN_GROUP_PANELS, ConfiguredGroups
from .health.thresholds import HealthSettings, PanelWatts
from .notify import DEFAULT_TIMEOUT as DEFAULT_ALERT_TIMEOUT
from .notify import AlertSettings
from .roof import PanelLayout, PanelRows, RoofFace, named_faces
from .sheets.auth import DEFAULT_OAUTH_PORT, LEGACY_PICKLE_FILE, CredentialFiles, GoogleAccess
from .storage import SECRET_FILE_MODE, atomic_write_json, read_json

logger = logging.getLogger(__name__)

CONFIG_FILENAME = "enlighten_v4_config.json"
CONFIG_ENV_VAR = "ENLIGHTEN_CONFIG"
DEFAULT_API_URL = "https://api.enphaseenergy.com/"
SECRET_KEYS = ("app_api_key", "app_client_secret", "access_token", "refresh_token")
TOKEN_KEYS = ("access_token", "refresh_token")


def default_config_path(script_dir: Path) -> Path:
    """``$ENLIGHTEN_CONFIG`` if set, else the config beside the scripts."""
    from_env = os.environ.get(CONFIG_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return script_dir / CONFIG_FILENAME


def _is_placeholder(value: Any) -> bool:
    # The shipped template says "<your app's api_key>"; an unedited key is as good as missing.
    return isinstance(value, str) and (not value.strip() or value.strip().startswith("<"))


@dataclass
class Config:
    """A loaded config. ``raw`` keeps every key so saving tokens preserves the rest."""

    path: Path
    raw: dict[str, Any] = field(repr=False)
    _settings: Settings | None = field(default=None, repr=False, compare=False)

    @property
    def settings(self) -> Settings:
        """The whole config, checked and typed (``ConfigError`` names a bad key)."""
        if self._settings is None:
            self._settings = parse_settings(self.path, self.raw)
        return self._settings

    # --- identity and API -------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def name(self) -> str:
        value = self.raw.get("name")
        return str(value) if value and not _is_placeholder(value) else f"system {self.system_id}"

    @property
    def system_id(self) -> str:
        return str(self.raw["system_id"])

    @property
    def api_url(self) -> str:
        url = str(self.raw.get("api_url") or DEFAULT_API_URL)
        return url if url.endswith("/") else url + "/"

    def get_str(self, key: str) -> str | None:
        """A string setting, or None when absent, empty or still the template's placeholder."""
        value = self.raw.get(key)
        if value is None or _is_placeholder(value):
            return None
        return str(value)

    def missing(self, *keys: str) -> list[str]:
        """Those of ``keys`` absent, empty or still the template's placeholder."""
        return [key for key in keys if self.get_str(key) is None]

    @property
    def given_system_id(self) -> str | None:
        """``system_id`` as written (set-up and ``check`` read a config not yet checked)."""
        value = self.get_str("system_id")
        return value.strip() if value is not None else None

    @property
    def given_name(self) -> str | None:
        return self.get_str("name")

    @property
    def redirect_uri(self) -> str | None:
        return self.get_str("redirect_uri")

    def problems(self, *, skip: frozenset[str] = frozenset()) -> list[ConfigError]:
        """Every bad key at once (see ``config_problems``)."""
        return config_problems(self.path, self.raw, skip=skip)

    def require(self, *keys: str) -> None:
        missing = self.missing(*keys)
        if missing:
            raise ConfigError(
                f"{self.path}: set {', '.join(missing)} (see README: 'Connect your Enphase system')"
            )

    @property
    def app_api_key(self) -> str:
        return self.get_str("app_api_key") or ""

    @property
    def app_client_id(self) -> str:
        return self.get_str("app_client_id") or ""

    @property
    def app_client_secret(self) -> str:
        return self.get_str("app_client_secret") or ""

    @property
    def access_token(self) -> str | None:
        return self.get_str("access_token")

    @property
    def refresh_token(self) -> str | None:
        return self.get_str("refresh_token")

    @property
    def uses_gateway(self) -> bool:
        """``"source": "envoy"``: readings come from the gateway, not Enlighten's cloud."""
        return self.raw.get("source") == "envoy"

    @property
    def access_token_expires_at(self) -> int | float | str | None:
        value = self.raw.get("access_token_expires_at")
        return value if isinstance(value, int | float | str) else None

    def reread_tokens(self) -> None:
        """Take the token pair from the file as it is now (another run may have rotated it)."""
        on_disk = _read_config_file(self.path)
        if isinstance(on_disk, dict):
            self.raw.update({key: on_disk.get(key) for key in TOKEN_KEYS})

    @property
    def timezone(self) -> str | None:
        return self.get_str("timezone")

    @property
    def spreadsheet_id(self) -> str | None:
        return self.get_str("spreadsheet_id")

    @property
    def sheets_api_url(self) -> str | None:
        return self.get_str("sheets_api_url")

    @property
    def http_timeout(self) -> float:
        """As checked by ``load_config``; a config being set up (not yet checked: ``check``
        reports a bad value) gets the default for a value that is not a positive number."""
        return self._lenient_seconds("http_timeout_seconds", 30.0, above=True)

    @property
    def lock_wait_seconds(self) -> float:
        return self._lenient_seconds("lock_wait_seconds", 10.0, above=False)

    def _lenient_seconds(self, key: str, default: float, *, above: bool) -> float:
        try:
            return _Reader(self.path, self.raw).number(key, default, minimum=0, above=above)
        except ConfigError:
            return default

    # --- paths ------------------------------------------------------------------------
    def resolve(self, value: str | os.PathLike[str]) -> Path:
        """A path from the config, relative to the config file's folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.folder / path

    def path_setting(self, key: str, default: str | None = None) -> Path | None:
        value = self.get_str(key) or default
        return self.resolve(value) if value else None

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.get_str("data_dir") or "data")

    @property
    def history_path(self) -> Path:
        return self.data_dir / f"inverter_daily_data-{self.system_id}.json"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / f".run-{self.system_id}.lock"

    # --- secrets ----------------------------------------------------------------------
    def secrets(self) -> list[str]:
        """Every secret value of this config, for redaction of logs and messages."""
        values = (self.get_str(key) for key in SECRET_KEYS)
        return [value for value in values if value and len(value) >= 4]

    def save_tokens(self, access_token: str, refresh_token: str) -> None:
        """Write the rotated pair into the config file at once, atomically, mode 0600.

        Every other key is kept as it is on disk (re-read first, so a hand edit made while
        the job ran is not undone). If the file no longer parses (edited mid-run), it is
        not overwritten: the pair goes to a rescue file beside it, since the old refresh
        token is already dead, and the error says how to put it back.
        """
        try:
            on_disk = _read_config_file(self.path)
        except DataFileError:
            on_disk = None
        if not isinstance(on_disk, dict):
            rescue = self.path.with_name(self.path.name + ".new-tokens")
            pair = {"access_token": access_token, "refresh_token": refresh_token}
            atomic_write_json(rescue, pair, mode=SECRET_FILE_MODE, indent=4)
            self.raw.update(pair)
            raise ConfigError(
                f"{self.path} no longer parses, so it was left untouched; the new tokens "
                f"are in {rescue}: fix the config, then copy access_token and refresh_token "
                "from that file into it (the old refresh token no longer works)"
            )
        on_disk["access_token"] = access_token
        on_disk["refresh_token"] = refresh_token
        atomic_write_json(self.path, on_disk, mode=SECRET_FILE_MODE, indent=4)
        self.raw = on_disk
        logger.info("saved the new token pair to %s", self.path)

    def save_setting(self, key: str, value: Any) -> None:
        """Add or change one key in the config file (e.g. the new spreadsheet id)."""
        on_disk = _read_config_file(self.path)
        if not isinstance(on_disk, dict):
            raise ConfigError(f"{self.path}: the config must be a JSON object")
        on_disk[key] = value
        atomic_write_json(self.path, on_disk, mode=SECRET_FILE_MODE, indent=4)
        self.raw = on_disk
        self._settings = None  # parsed again from what is now on disk


def expand_config_paths(paths: list[Path]) -> list[Path]:
    """Config files named directly, plus every config (a JSON object with a ``system_id``)
    in a folder given instead of a file, in name order."""
    found: list[Path] = []
    for given in paths:
        path = Path(given).expanduser()
        if not path.is_dir():
            found.append(path)
            continue
        in_folder = [p for p in sorted(path.glob("*.json")) if _looks_like_config(p)]
        if not in_folder:
            raise ConfigError(f"no config files (JSON with a system_id) in the folder {path}")
        found.extend(in_folder)
    return found


def _looks_like_config(path: Path) -> bool:
    try:
        data = _read_config_file(path)
    except DataFileError:
        return True  # a broken config is still a config: loading it reports the problem
    return isinstance(data, dict) and "system_id" in data


def _read_config_json(path: Path) -> Any:
    """The config's JSON; a byte-order mark (Notepad's "UTF-8 with BOM") is accepted."""
    try:
        return _read_config_file(path)
    except DataFileError as exc:
        raise ConfigError(exc.message, hint=exc.hint) from None


def _read_config_file(path: Path) -> Any:
    return read_json(path, what="config", encoding="utf-8-sig")


def read_config(path: Path) -> Config:
    """The config as written, settings unchecked: set-up may lack ``system_id`` or tokens yet.

    Only a missing file, or one that is not a JSON object, is unusable here (``ConfigError``);
    ``load_config`` checks the settings too.
    """
    path = Path(path).expanduser().absolute()
    if not path.exists():
        raise ConfigError(
            f"config file {path} not found",
            hint="copy enlighten_v4_config.json there or pass --config",
        )
    raw = _read_config_json(path)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: the config must be a JSON object, got {_kind(raw)}",
            hint='start it with "{" as in enlighten_v4_config.json',
        )
    return Config(path=path, raw=raw)


def load_config(path: Path) -> Config:
    """Load and check the whole config; ``ConfigError`` (exit 2) names the key to fix."""
    config = read_config(path)
    config._settings = parse_settings(config.path, config.raw)
    return config


# --- the settings, typed and frozen -------------------------------------------------------

DEFAULT_TOKEN_FILE = "token.json"  # noqa: S105 (a file name, not a secret)
DEFAULT_CLIENT_SECRETS_FILE = "credentials.json"
DEFAULT_HEAL_DAYS = 31
DEFAULT_REPORT_DAYS = 30


@dataclass(frozen=True, slots=True)
class SheetsSettings:
    """Where the Google Sheet is and how the tool reaches it."""

    spreadsheet_id: str | None
    api_url: str | None
    heal_days: int
    google: GoogleAccess


@dataclass(frozen=True, slots=True)
class ReportSettings:
    report_dir: Path | None
    report_days: int
    panel_layout: PanelLayout | None


@dataclass(frozen=True, slots=True)
class Settings:
    """Every key of the config, read once; nothing else in the project reads the file."""

    path: Path
    name: str
    system_id: str
    api_url: str
    redirect_uri: str | None
    timezone: str | None
    data_dir: Path
    http_timeout: float
    lock_wait_seconds: float
    sheets: SheetsSettings
    health: HealthSettings
    panel_watts: PanelWatts
    report: ReportSettings
    alerts: AlertSettings
    envoy: EnvoySettings | None  # None: the cloud source (the default)
    exports: ExportSettings
    replacements: Mapping[str, str] = field(default_factory=dict)  # old serial -> new serial
    # the key health.panel_groups was read from: panel_groups, or panel_layout's named faces
    groups_key: str = "panel_groups"

    @property
    def history_path(self) -> Path:
        return self.data_dir / f"inverter_daily_data-{self.system_id}.json"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / f".run-{self.system_id}.lock"


STRING_KEYS = (
    "name",
    "api_url",
    "app_api_key",
    "app_client_id",
    "app_client_secret",
    "access_token",
    "refresh_token",
    "spreadsheet_id",
    "timezone",
    "sheets_api_url",
    "google_token_uri",
    "redirect_uri",
)
PATH_KEYS = (
    "data_dir",
    "report_dir",
    "google_service_account_file",
    "google_token_file",
    "google_client_secrets_file",
)
KNOWN_KEYS = frozenset(
    {
        *STRING_KEYS,
        *PATH_KEYS,
        "system_id",
        "http_timeout_seconds",
        "lock_wait_seconds",
        "google_oauth_port",
        "sheet_heal_days",
        "report_days",
        "health",
        "panel_watts",
        "panel_layout",
        "replacements",
        "panel_groups",
        "alerts",
        "access_token_expires_at",
        *ENVOY_KEYS,
        *EXPORT_KEYS,
    }
)
"""Every top-level key the project reads; the README's config table lists the same set."""


_KINDS = ((list, "a list"), (dict, "an object"))


class SettingError(ConfigError):
    """One key of the config holds a bad value; ``key`` names it (``alerts.smtp.port``)."""

    def __init__(self, message: str, *, key: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.key = key


def _kind(value: Any) -> str:
    """A value as an error line quotes it: short, JSON's words."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    for kind, words in _KINDS:
        if isinstance(value, kind):
            return words
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__} of {len(text)} characters"


class _Reader:
    """Reads keys of one JSON object, each check raising one ``ConfigError`` naming the key."""

    def __init__(self, path: Path, raw: Mapping[str, Any], prefix: str = "") -> None:
        self.path = path
        self.raw = raw
        self.prefix = prefix

    def bad(self, key: str, value: Any, wants: str) -> SettingError:
        name = f"{self.prefix}{key}"
        return SettingError(
            f"{self.path}: {name} is {_kind(value)}, it must be {wants}",
            key=name,
            hint=f"fix {name} in the config, or remove it for the default",
        )

    def string(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.bad(key, value, "a string")
        return None if _is_placeholder(value) else value.strip()

    def path_value(self, key: str, default: str | None = None) -> Path | None:
        value = self.string(key) or default
        if value is None:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.path.parent / path

    def number(self, key: str, default: float, *, minimum: float, above: bool) -> float:
        value = self.raw.get(key, default)
        wants = f"a number of seconds {'above' if above else 'from'} {minimum:g}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.bad(key, value, wants)
        if not math.isfinite(value) or value < minimum or (above and value == minimum):
            raise self.bad(key, value, wants)
        return float(value)

    def whole(self, key: str, default: int, *, low: int, high: int | None = None) -> int:
        value = self.raw.get(key, default)
        wants = f"a whole number from {low}" + (f" to {high}" if high is not None else " up")
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole:
            raise self.bad(key, value, wants)
        number = int(value)
        if number < low or (high is not None and number > high):
            raise self.bad(key, value, wants)
        return number

    def section(self, key: str) -> Mapping[str, Any]:
        value = self.raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.bad(key, value, "an object of settings")
        return value


def parse_settings(path: Path, raw: Mapping[str, Any]) -> Settings:
    """Check every key of ``raw`` (the config at ``path``) and build the frozen settings."""
    read = _Reader(path, raw)
    for key in STRING_KEYS:
        read.string(key)
    system_id = _system_id(read)
    zone = read.string("timezone")
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise read.bad("timezone", zone, 'an IANA time zone like "America/Denver"') from None
    expires = raw.get("access_token_expires_at")
    if expires is not None and (
        isinstance(expires, bool) or not isinstance(expires, int | float | str)
    ):
        raise read.bad("access_token_expires_at", expires, "epoch seconds or an ISO time")
    data_dir = raw.get("data_dir")
    if data_dir is not None and not isinstance(data_dir, str):
        raise read.bad("data_dir", data_dir, "a folder path (a string)")
    name = read.string("name")
    api_url = read.string("api_url") or DEFAULT_API_URL
    if not api_url.startswith(("https://", "http://")):
        raise read.bad("api_url", api_url, 'a web address like "https://api.enphaseenergy.com/"')
    http_timeout = read.number("http_timeout_seconds", 30, minimum=0, above=True)
    layout = _panel_layout(read)
    groups, groups_key = _roof_groups(read, layout)
    return Settings(
        path=path,
        name=name or f"system {system_id}",
        system_id=system_id,
        api_url=api_url if api_url.endswith("/") else api_url + "/",
        redirect_uri=read.string("redirect_uri"),
        timezone=zone,
        data_dir=read.path_value("data_dir", "data") or path.parent / "data",
        http_timeout=http_timeout,
        lock_wait_seconds=read.number("lock_wait_seconds", 10, minimum=0, above=False),
        sheets=_sheets(read, http_timeout),
        health=replace(_health(read), panel_groups=groups),
        panel_watts=_panel_watts(read),
        report=ReportSettings(
            report_dir=read.path_value("report_dir"),
            report_days=read.whole("report_days", DEFAULT_REPORT_DAYS, low=1),
            panel_layout=layout,
        ),
        alerts=_alerts(read),
        envoy=parse_envoy_settings(raw),
        exports=parse_export_settings(raw),
        replacements=_replacements(read),
        groups_key=groups_key,
    )


def config_problems(
    path: Path, raw: Mapping[str, Any], *, skip: frozenset[str] = frozenset()
) -> list[ConfigError]:
    """Every bad key at once but those in ``skip``, each as ``parse_settings`` words it (for
    ``check``, which reports a missing or bad ``system_id`` in its own words)."""
    problems: list[ConfigError] = []
    try:
        base = {"system_id": _system_id(_Reader(path, raw))}
    except ConfigError as exc:
        if "system_id" not in skip:
            problems.append(exc)
        base = {"system_id": "1"}
    said: set[str] = set()
    for key in sorted(KNOWN_KEYS - {"system_id"} - skip):
        if key in raw:
            trial = {**base, key: raw[key]}
            if key in ENVOY_KEYS:  # the gateway's keys only make sense together
                trial.update({k: raw[k] for k in ENVOY_KEYS if k in raw})
            try:
                parse_settings(path, trial)
            except ConfigError as exc:
                if str(exc) not in said:
                    said.add(str(exc))
                    problems.append(exc)
    return problems


def _system_id(read: _Reader) -> str:
    value = read.raw.get("system_id")
    if value is None or _is_placeholder(value):
        raise ConfigError(
            f"{read.path}: system_id is missing",
            hint="set it to your System ID (the number in the Enlighten web address)",
        )
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise read.bad("system_id", value, "a number (your System ID)")
    text = str(value).strip()
    if not text.isdigit():
        raise ConfigError(
            f"{read.path}: system_id must be a number, got {value!r}",
            hint="set it to the number in the Enlighten web address",
        )
    return text


def _sheets(read: _Reader, timeout: float) -> SheetsSettings:
    folder = read.path.parent
    files = CredentialFiles(
        service_account=read.path_value("google_service_account_file"),
        token=read.path_value("google_token_file") or folder / DEFAULT_TOKEN_FILE,
        legacy_pickle=folder / LEGACY_PICKLE_FILE,
        client_secrets=(
            read.path_value("google_client_secrets_file") or folder / DEFAULT_CLIENT_SECRETS_FILE
        ),
    )
    return SheetsSettings(
        spreadsheet_id=read.string("spreadsheet_id"),
        api_url=read.string("sheets_api_url"),
        heal_days=read.whole("sheet_heal_days", DEFAULT_HEAL_DAYS, low=1),
        google=GoogleAccess(
            files=files,
            config_path=read.path,
            timeout=timeout,
            token_uri=read.string("google_token_uri"),
            oauth_port=read.whole("google_oauth_port", DEFAULT_OAUTH_PORT, low=1, high=65535),
        ),
    )


def _health(read: _Reader) -> HealthSettings:
    """The optional ``"health"`` object; an unknown key is logged (a typo?) and ignored."""
    section = read.section("health")
    inner = _Reader(read.path, section, prefix="health.")
    known = {f.name: f for f in fields(HealthSettings) if f.name != "panel_groups"}
    values: dict[str, Any] = {}
    for key, value in section.items():
        spec = known.get(key)
        if spec is None:
            if not str(key).startswith("_"):  # "_comment" keys are documentation
                logger.warning("config 'health': unknown setting %r ignored", key)
            continue
        if spec.type in (int, "int"):
            values[key] = inner.whole(key, 0, low=-(2**31))
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise inner.bad(key, value, "a number")
        elif not math.isfinite(value):
            raise inner.bad(key, value, "a finite number")
        else:
            values[key] = float(value)
    try:
        return HealthSettings(**values)
    except ConfigError as exc:
        raise ConfigError(f"{read.path}: {exc.message}", hint=exc.hint) from None


def _panel_watts(read: _Reader) -> PanelWatts:
    """One rating for all panels, or ``{serial: W}``."""
    value = read.raw.get("panel_watts")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, Mapping) and all(
        isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in value.values()
    ):
        return {str(serial): int(w) for serial, w in value.items()}
    raise read.bad(
        "panel_watts",
        value,
        'a positive whole number of watts, or an object {"<serial>": watts, ...}',
    )


def _panel_groups(read: _Reader) -> ConfiguredGroups | None:
    """Named groups of serials (roof faces): ``{"east": ["121...", ...], ...}``.

    Whether each serial is in the history is only known where the history is read (the app
    layer checks it)."""
    value = read.raw.get("panel_groups")
    if value is None or value == {}:
        return None
    wants = 'an object of named lists of serials, e.g. {"east": ["121", ...], "west": [...]}'
    if not isinstance(value, Mapping):
        raise read.bad("panel_groups", value, wants)
    named: list[tuple[str, tuple[str, ...]]] = []
    for name, members in value.items():
        key = f"panel_groups.{name}"
        if not isinstance(members, list):
            raise read.bad(key, members, "a list of serials")
        serials: list[str] = []
        for given in members:
            cell = int(given) if isinstance(given, float) and given.is_integer() else given
            if isinstance(cell, bool) or not isinstance(cell, str | int) or not str(cell).strip():
                raise read.bad(key, given, "a list of serials (strings or numbers)")
            serials.append(str(cell).strip())
        named.append((str(name), tuple(serials)))
    return _checked_groups(read, "panel_groups", named)


def _checked_groups(
    read: _Reader, key: str, named: list[tuple[str, tuple[str, ...]]]
) -> ConfiguredGroups:
    """``named`` groups (``panel_groups``, or ``panel_layout``'s faces) as the health check
    takes them: each serial in one group, each group of ``MIN_GROUP_PANELS`` or more."""
    what = "face" if key == "panel_layout" else "group"
    seen: dict[str, str] = {}
    for name, serials in named:
        for serial in serials:
            if serial in seen:
                raise SettingError(
                    f"{read.path}: {key}: serial {serial} is in both {seen[serial]!r} and {name!r}",
                    key=f"{key}.{name}",
                    hint=f"a panel shares the sun of one {what}: keep it in one of them",
                )
            seen[serial] = name
        if len(serials) < MIN_GROUP_PANELS:
            undo = (
                "give panel_layout as rows without names"
                if key == "panel_layout"
                else "remove panel_groups"
            )
            raise SettingError(
                f"{read.path}: {key}: {what} {name!r} has {len(serials)} serial(s); "
                f"a {what} needs at least {MIN_GROUP_PANELS}",
                key=f"{key}.{name}",
                hint=f"join it to the {what} nearest in sun, or {undo} to have "
                "the groups found from the history",
            )
    return tuple(named)


def _panel_layout(read: _Reader) -> PanelLayout | None:
    """The panels as they sit on the roof: rows of serials (null for a gap), or an object of
    named faces, each such rows (see ``roof``)."""
    value = read.raw.get("panel_layout")
    if value is None or value in ([], {}):
        return None
    if isinstance(value, Mapping):
        faces = tuple(
            RoofFace(str(name), _layout_rows(read, f"panel_layout.{name}", rows))
            for name, rows in value.items()
        )
    else:
        faces = (RoofFace(None, _layout_rows(read, "panel_layout", value)),)
    return faces if any(face.serials for face in faces) else None


def _layout_rows(read: _Reader, key: str, value: Any) -> PanelRows:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise read.bad(
            key,
            value,
            'a list of rows, each a list of serials (null for a gap), e.g. [["121", "122"]], '
            'or an object of named faces, each such rows, e.g. {"east": [["121", "122"]]}',
        )
    rows: list[tuple[str | None, ...]] = []
    for row in value:
        cells: list[str | None] = []
        for given in row:
            cell = int(given) if isinstance(given, float) and given.is_integer() else given
            if cell is None or cell == "":
                cells.append(None)
            elif isinstance(cell, str | int) and not isinstance(cell, bool):
                cells.append(str(cell).strip() or None)
            else:
                raise read.bad(key, cell, "serials (strings or numbers) or null")
        rows.append(tuple(cells))
    return tuple(rows)


def _roof_groups(read: _Reader, layout: PanelLayout | None) -> tuple[ConfiguredGroups | None, str]:
    """The configured groups and the key they come from: ``panel_groups``, else the named
    faces of ``panel_layout`` (checked as groups are). With both, ``panel_groups`` is used and
    must split the panels as the faces do."""
    groups = _panel_groups(read)
    faces = named_faces(layout)
    if faces is None:
        return groups, "panel_groups"
    if groups is None:
        return _checked_groups(read, "panel_layout", list(faces)), "panel_layout"
    _same_split(read, faces, groups)
    return groups, "panel_groups"


def _same_split(read: _Reader, faces: ConfiguredGroups, groups: ConfiguredGroups) -> None:
    """Stop when a serial both keys name is on one face but in another face's group: each
    face's serials must be in one group, and each group's on one face."""
    group_of = {serial: name for name, members in groups for serial in members}
    face_to_group: dict[str, str] = {}
    group_to_face: dict[str, str] = {}
    for face, members in faces:
        for serial in members:
            group = group_of.get(serial)
            if group is None:
                continue
            was_group = face_to_group.setdefault(face, group)
            was_face = group_to_face.setdefault(group, face)
            if was_group != group or was_face != face:
                other = (
                    f"panel_groups puts the rest of face {face!r} in group {was_group!r}"
                    if was_group != group
                    else f"the rest of group {group!r} is on face {was_face!r}"
                )
                raise SettingError(
                    f"{read.path}: panel_layout and panel_groups disagree: serial {serial} "
                    f"is on face {face!r} of panel_layout and in group {group!r} of "
                    f"panel_groups, but {other}",
                    key="panel_groups",
                    hint="put each panel in the same group in both keys, or give "
                    "panel_layout as rows without names",
                )


def _replacements(read: _Reader) -> dict[str, str]:
    """Replaced micro-inverters the owner names by hand: ``{"<old serial>": "<new serial>"}``."""
    value = read.raw.get("replacements")
    if value is None:
        return {}
    wants = 'an object {"<old serial>": "<new serial>", ...}'
    if not isinstance(value, Mapping):
        raise read.bad("replacements", value, wants)
    pairs: dict[str, str] = {}
    for old, given in value.items():
        new = int(given) if isinstance(given, float) and given.is_integer() else given
        if isinstance(new, bool) or not isinstance(new, str | int) or not str(new).strip():
            raise read.bad(f"replacements.{old}", given, "the new serial (a string)")
        if not str(old).strip():
            raise read.bad("replacements", value, "keyed by the old serial, not an empty name")
        pairs[str(old).strip()] = str(new).strip()
    for old, new in pairs.items():
        if old == new:
            raise SettingError(
                f"{read.path}: replacements maps serial {old} to itself",
                key="replacements",
                hint="give the serial of the micro-inverter that took its place",
            )
        twice = sorted(o for o, n in pairs.items() if n == new)
        if len(twice) > 1:
            raise SettingError(
                f"{read.path}: replacements gives new serial {new} to {' and '.join(twice)}",
                key="replacements",
                hint="a new micro-inverter replaces one unit: keep one of those entries",
            )
    return pairs


def _alerts(read: _Reader) -> AlertSettings:
    section = read.section("alerts")
    inner = _Reader(read.path, section, prefix="alerts.")
    webhook = inner.string("webhook_url")
    healthcheck = inner.string("healthcheck_url")
    timeout = inner.number("timeout_seconds", DEFAULT_ALERT_TIMEOUT, minimum=0, above=True)
    smtp = section.get("smtp")
    if smtp is not None:
        if not isinstance(smtp, Mapping):
            raise inner.bad("smtp", smtp, "an object with host, from and to")
        mail = _Reader(read.path, smtp, prefix="alerts.smtp.")
        for key in ("host", "user", "password", "from"):
            mail.string(key)
        if smtp.get("port") is not None:
            mail.whole("port", 0, low=1, high=65535)
        for key in ("starttls", "ssl"):
            if smtp.get(key) is not None and not isinstance(smtp.get(key), bool):
                raise mail.bad(key, smtp.get(key), "true or false")
        to = smtp.get("to")
        if to is not None and not isinstance(to, str | list):
            raise mail.bad("to", to, "an address or a list of addresses")
        if isinstance(to, list) and not all(isinstance(a, str) for a in to):
            raise mail.bad("to", to, "a list of addresses (strings)")
    return AlertSettings(
        webhook_url=webhook,
        healthcheck_url=healthcheck,
        timeout_seconds=timeout,
        smtp=smtp,
    )
