"""The tool's own exceptions. Each carries one line a user can act on.

Scripts map them to exit codes: ``UsageError`` (config, arguments) is 2, the rest is 1.
The Enlighten client has its own hierarchy in ``panel_tracker.enlighten.client``.
"""


class PanelTrackerError(Exception):
    """Base of every error the scripts turn into one clear line and an exit code."""

    exit_code = 1


class UsageError(PanelTrackerError):
    """The user must change how the tool is called or configured (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """The config file is missing, unreadable or lacks a required key."""


class DataFileError(PanelTrackerError):
    """A data file (history, token file) exists but cannot be used; it is left untouched."""


class LockHeldError(PanelTrackerError):
    """Another run for the same system holds the lock."""
