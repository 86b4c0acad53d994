"""The tool's own exceptions. Each says what went wrong and, as data, what to do about it.

The whole tree (areas add their own leaves under these; ``cli`` maps them to exit codes)::

    PanelTrackerError                 exit 1: the run failed
    ├── UsageError                    exit 2: change how the tool is called or configured
    │   └── ConfigError               the config is missing, unreadable or has a bad value
    │       └── SettingError          (settings) one key's value is wrong; names the key
    ├── DataFileError                 a data file exists but cannot be used; left untouched
    ├── LockHeldError                 another run for the same system holds the lock
    ├── EnlightenError                (enlighten.errors) the Enlighten API could not be used
    │   ├── AuthError                 401/403: a token or the API key was rejected
    │   │   └── PlanNotAllowedError   per-micro telemetry is not in the plan
    │   ├── RateLimitError            429 with a reset too far away to wait for
    │   ├── NotFoundError             404: usually a wrong system_id or serial
    │   ├── ServerError               5xx after the retries
    │   ├── NetworkError              connection error or timeout after the retries
    │   ├── BadResponseError          not JSON, or not the documented shape
    │   └── NoDailyHistoryError       (app.envoy_source) the gateway keeps no per-day history
    ├── GatewayError                  (envoy.reader) the gateway on the home network
    │   ├── GatewayUnreachableError   it does not answer
    │   ├── GatewayAuthError          it refused the token or login
    │   └── NoLifetimeEnergyError     its firmware gives no per-micro lifetime energy
    ├── SheetsError                   (sheets.transport) Google Sheets could not be used
    │   ├── SheetsRangeError          a range the sheet does not have
    │   ├── GoogleAuthError           Google refused or could not renew the credentials
    │   │   └── GoogleAuthSetupError  the credentials are missing or unusable
    │   └── SheetConfigError          (sheets.push) the spreadsheet settings are wrong
    │       └── SheetNotConfiguredError  no spreadsheet_id yet
    ├── ExportError                   (export.sqlite) the database could not be written
    └── MqttError                     (export.mqtt) the broker is down or refused the login

``message`` says what is wrong (and where); ``hint`` says what to do, or is None. Nobody
parses one out of the other: ``check`` shows ``hint`` after ``->``, the scripts print
``str(error)``, which is the two joined on one line.
"""

from __future__ import annotations


class PanelTrackerError(Exception):
    """Base of every error the scripts turn into one clear line and an exit code."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}" if self.hint else self.message


class UsageError(PanelTrackerError):
    """The user must change how the tool is called or configured (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """The config file is missing, unreadable or has a bad value."""


class DataFileError(PanelTrackerError):
    """A data file (history, token file) exists but cannot be used; it is left untouched."""


class LockHeldError(PanelTrackerError):
    """Another run for the same system holds the lock."""
