"""One line of ``enlightenAPI_v4.py check``: fine, a problem with its fix, or not checked.

A value low in the house (beside ``errors``) so every area can say what it found: the app
layer's config and API checks and the Sheets adapter's spreadsheet check return these, and
only the cli prints them. A fix is data (``fix``), often an error's ``hint``, never text
parsed out of a message.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import PanelTrackerError


class Status(enum.Enum):
    OK = "ok"
    PROBLEM = "PROBLEM"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Finding:
    """One line of the check: fine, a problem with its fix, or a check that could not run.

    ``config_unusable`` marks a problem in the config itself (exit status 2).
    """

    status: Status
    what: str
    fix: str = ""
    config_unusable: bool = False

    @classmethod
    def good(cls, what: str) -> Finding:
        return cls(Status.OK, what)

    @classmethod
    def problem(cls, what: str, fix: str, *, config_unusable: bool = False) -> Finding:
        return cls(Status.PROBLEM, what, fix, config_unusable)

    @classmethod
    def from_error(cls, exc: PanelTrackerError, *, prefix: str = "", fix: str = "") -> Finding:
        """An error as a problem: its message as what, its ``hint`` (else ``fix``) as the fix."""
        return cls.problem(f"{prefix}{exc.message}", exc.hint or fix)

    @classmethod
    def skipped(cls, what: str) -> Finding:
        return cls(Status.SKIPPED, what)

    @property
    def ok(self) -> bool:
        return self.status is not Status.PROBLEM

    def line(self) -> str:
        text = f"{self.status.value:<8}{self.what}"
        return f"{text} -> {self.fix}" if self.fix else text


def exit_status(findings: Sequence[Finding]) -> int:
    """0 when nothing is wrong, 2 when the config itself is unusable, else 1."""
    if any(f.config_unusable for f in findings if not f.ok):
        return 2
    return 1 if any(not f.ok for f in findings) else 0
