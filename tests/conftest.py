"""Shared fixtures: a simulated site, the Enlighten emulator, configs, and a secrets guard.

Every secret the tests use is distinctive, and every test that drives a script hands its
captured output to ``assert_no_secrets``: no secret may appear in stdout, stderr or logs.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.enlighten_emulator import EnlightenEmulator
from sandbox.site import SimulatedSite, SiteScenario

REPO = Path(__file__).resolve().parent.parent
API_KEY = "KEY-d8a1f0c2-secret-api-key"
CLIENT_ID = "client-id-4417"
CLIENT_SECRET = "CLIENT-SECRET-77b9e3"
STATIC_SECRETS = (API_KEY, CLIENT_SECRET)


@pytest.fixture(autouse=True)
def _restore_log_levels() -> Iterator[None]:
    """A script's main() sets our loggers' levels (-q, -v); the next test starts afresh."""
    names = ("panel_tracker", "enlightenAPI_v4", "__main__", "sandbox", "")
    before = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


def start_emulator(site: SimulatedSite, **options: Any) -> EnlightenEmulator:
    emulator = EnlightenEmulator(
        site, api_key=API_KEY, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **options
    )
    emulator.start()
    return emulator


@pytest.fixture
def enlighten() -> Iterator[Callable[..., EnlightenEmulator]]:
    """A factory: ``enlighten(SiteScenario(...), plan="watt")`` -> a started emulator."""
    started: list[EnlightenEmulator] = []

    def make(scenario: SiteScenario | None = None, **options: Any) -> EnlightenEmulator:
        emulator = start_emulator(SimulatedSite(scenario or SiteScenario()), **options)
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


def write_config(folder: Path, emulator: EnlightenEmulator, **extra: Any) -> Path:
    access, refresh = emulator.issue_tokens()
    config: dict[str, Any] = {
        "name": "Test house",
        **emulator.config_keys(access, refresh),
        "spreadsheet_id": "<google sheet_id>",
    }
    config.update(extra)
    path = folder / "enlighten_v4_config.json"
    path.write_text(json.dumps(config, indent=4))
    return path


def set_tokens(config: Path, access: str, refresh: str, **extra: Any) -> None:
    """Put a token pair (and any other keys) into a config file, as a user would paste them."""
    raw = json.loads(config.read_text())
    raw.update(access_token=access, refresh_token=refresh, **extra)
    config.write_text(json.dumps(raw, indent=4))


def config_secrets(path: Path) -> list[str]:
    config = json.loads(path.read_text())
    return [config["access_token"], config["refresh_token"], *STATIC_SECRETS]


def assert_no_secrets(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, "a secret leaked into the output"
    for secret in secrets:
        # Tokens are long JWTs: any 20-character slice of one counts as a leak too.
        for start in range(0, max(len(secret) - 20, 0), 20):
            assert secret[start : start + 20] not in text, "part of a secret leaked"


def night(emulator: EnlightenEmulator, offset: int) -> date:
    """Move the site clock to 04:00 after day ``offset``; returns that day."""
    day = emulator.site.days()[0] + timedelta(days=offset)
    emulator.set_sim_time(emulator.night_of(day))
    return day


def run_script(
    script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run one of the project's scripts as a user would, in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / script), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
