"""Fixtures of the Google Sheet tests: the Sheets emulator, the script as a user runs it, a port.

A test module that wants them says so with ``pytest_plugins = ["tests.sheets_fixtures"]``,
and imports ``Populate``, for its annotations, only under ``TYPE_CHECKING``: pytest must be
the first to import a plugin.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from populate_google_sheet import main
from sandbox.sheets_emulator import SheetsEmulator


class Populate(Protocol):
    def __call__(self, config_path: Path, *args: str) -> tuple[int, str, str]: ...


@pytest.fixture
def emu() -> Iterator[SheetsEmulator]:
    """The emulator; the test fails if the project sent a request that Google would refuse."""
    with SheetsEmulator() as emulator:
        yield emulator
        refused = emulator.contract_refusals
    assert not refused, f"requests Google would refuse: {refused}"


@pytest.fixture
def populate(capsys: pytest.CaptureFixture[str]) -> Populate:
    """``populate(config_path, *args)``: populate_google_sheet.py run -> (code, stdout, stderr)."""

    def run(config_path: Path, *args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config_path), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
