"""The config file: load, validate, resolve paths, and save rotated tokens safely.

Keys of the original script keep their meaning; every new key is optional. Paths in the
config are relative to the config file's folder, never to the current directory, so cron
(which starts in $HOME) and a user in the project folder see the same files.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, DataFileError
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

    def require(self, *keys: str) -> None:
        missing = [key for key in keys if self.get_str(key) is None]
        if missing:
            raise ConfigError(
                f"{self.path}: set {', '.join(missing)} (see README: 'Connect your system')"
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
        return float(self.raw.get("http_timeout_seconds", 30))

    @property
    def lock_wait_seconds(self) -> float:
        return float(self.raw.get("lock_wait_seconds", 10))

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
            on_disk = read_json(self.path, what="config")
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
        on_disk = read_json(self.path, what="config")
        if not isinstance(on_disk, dict):
            raise ConfigError(f"{self.path}: the config must be a JSON object")
        on_disk[key] = value
        atomic_write_json(self.path, on_disk, mode=SECRET_FILE_MODE, indent=4)
        self.raw = on_disk


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
        data = read_json(path, what="config")
    except DataFileError:
        return True  # a broken config is still a config: loading it reports the problem
    return isinstance(data, dict) and "system_id" in data


def read_config(path: Path) -> Config:
    """The config as written, settings unchecked: set-up may lack ``system_id`` or tokens yet.

    Only a missing file, or one that is not a JSON object, is unusable here (``ConfigError``);
    ``load_config`` checks the settings too.
    """
    path = Path(path).expanduser().absolute()
    if not path.exists():
        raise ConfigError(
            f"config file {path} not found; copy enlighten_v4_config.json there or pass --config"
        )
    try:
        raw = read_json(path, what="config")
    except DataFileError as exc:
        raise ConfigError(str(exc)) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a JSON object")
    return Config(path=path, raw=raw)


def load_config(path: Path) -> Config:
    """Load and check a config; ``ConfigError`` (exit 2) says what to fix."""
    config = read_config(path)
    system_id = config.raw.get("system_id")
    if system_id is None or _is_placeholder(system_id):
        raise ConfigError(
            f"{config.path}: system_id is missing; set it to your System ID "
            "(the number in the Enlighten web address)"
        )
    if not str(system_id).strip().isdigit():
        raise ConfigError(f"{config.path}: system_id must be a number, got {system_id!r}")
    return config
