"""The config read once: every bad value is one ``error:`` line naming the key, exit 2.

Driven through the real daily script (``run_inverter_daily_stats.py --config bad.json``) as a
user runs it. The config is checked before anything happens, so these runs need no emulator:
``api_url`` points at a port nobody listens on, and a run that got that far would fail with
exit 1, not 2. The config and the history are never touched.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from panel_tracker.errors import ConfigError
from panel_tracker.redaction import RedactingFilter
from panel_tracker.settings import KNOWN_KEYS, load_config, parse_settings
from sandbox.site import SiteScenario
from tests.conftest import night, run_script, write_config

README = Path(__file__).resolve().parent.parent / "README.md"
SYSTEM_ID = "4130271"
HISTORY = {"micro_inverters": {"121": {"2026-05-01": {"daily_energy": 5, "lifetime_energy": 9}}}}
HARMLESS: dict[str, Any] = {
    "name": "Test house",
    "system_id": SYSTEM_ID,
    "api_url": "http://127.0.0.1:9/",  # discard port: nothing may be asked of it
    "app_api_key": "k" * 32,
    "app_client_id": "c" * 32,
    "app_client_secret": "s" * 32,
    "access_token": "a" * 40,
    "refresh_token": "r" * 40,
}


def setup(tmp_path: Path, **changes: Any) -> tuple[Path, Path]:
    """A config (the harmless one with ``changes``) and a history beside it."""
    raw = {**HARMLESS, **changes}
    config = tmp_path / "bad.json"
    config.write_text(json.dumps(raw, indent=4))
    history = tmp_path / "data" / f"inverter_daily_data-{SYSTEM_ID}.json"
    history.parent.mkdir()
    history.write_text(json.dumps(HISTORY))
    return config, history


BAD_VALUES: list[tuple[str, Any, str]] = [
    # (key, value, what the line must say it wants)
    ("http_timeout_seconds", "soon", "a number of seconds above 0"),
    ("http_timeout_seconds", 0, "a number of seconds above 0"),
    ("http_timeout_seconds", -3, "a number of seconds above 0"),
    ("http_timeout_seconds", True, "a number of seconds"),
    ("lock_wait_seconds", [], "a number of seconds from 0"),
    ("lock_wait_seconds", -1, "a number of seconds from 0"),
    ("timezone", "Mars/Olympus_Mons", "an IANA time zone"),
    ("timezone", 7, "a string"),
    ("data_dir", ["data"], "a folder path"),
    ("data_dir", 5, "a folder path"),
    ("access_token_expires_at", [], "epoch seconds or an ISO time"),
    ("system_id", "12ab", "a number"),
    ("system_id", True, "a number"),
    ("system_id", [1], "a number"),
    ("name", {"x": 1}, "a string"),
    ("api_url", "ftp.example.com", "a web address"),
    ("spreadsheet_id", 123, "a string"),
    ("google_oauth_port", 70000, "a whole number from 1 to 65535"),
    ("google_oauth_port", "8080", "a whole number"),
    ("sheet_heal_days", 0, "a whole number from 1"),
    ("sheet_heal_days", 2.5, "a whole number"),
    ("report_days", "30", "a whole number"),
    ("report_dir", False, "a string"),
    ("panel_watts", "400", "a positive whole number of watts"),
    ("panel_layout", "121,122", "a list of rows"),
    ("panel_layout", [["121", {"x": 1}]], "serials"),
    ("panel_layout", {"east": "121"}, "or an object of named faces"),
    ("panel_layout", {"east": [["121", True]]}, "serials"),
    ("panel_layout", {"east": [["121", "122"], [None]]}, "a face needs at least 3"),
    ("panel_layout", {"east": [["121", "122", "123"]], "west": [["123", "124", "125"]]}, "in both"),
    ("panel_groups", ["121", "122", "123"], "an object of named lists of serials"),
    ("panel_groups", {"east": "121"}, "a list of serials"),
    ("panel_groups", {"east": ["121", True, "123"]}, "a list of serials"),
    ("panel_groups", {"east": ["121", "122"]}, "a group needs at least 3"),
    ("panel_groups", {"east": ["121", "122", "123"], "west": ["123", "124", "125"]}, "in both"),
    ("health", 0, "an object"),
    ("health", [1, 2], "an object"),
    ("health", "", "an object"),
    ("health", {"weak_ratio": "0.9"}, "a number"),
    ("health", {"weak_ratio": 1.5}, "between 0 and 1"),
    ("alerts", 0, "an object"),
    ("alerts", True, "an object"),
    ("alerts", "", "an object"),
    ("alerts", [], "an object"),
    ("alerts", "https://hooks.example.com/x", "an object"),
    ("alerts", {"webhook_url": 5}, "a string"),
    ("alerts", {"timeout_seconds": "ten"}, "a number of seconds above 0"),
    ("alerts", {"smtp": "smtp.example.com"}, "an object"),
    ("alerts", {"smtp": {"host": "h", "port": "25"}}, "a whole number"),
    ("alerts", {"smtp": {"host": "h", "starttls": "yes"}}, "true or false"),
    ("alerts", {"smtp": {"host": "h", "to": [1]}}, "addresses"),
]


@pytest.mark.parametrize(
    ("key", "value", "wants"), BAD_VALUES, ids=[f"{k}={v!r}" for k, v, _ in BAD_VALUES]
)
def test_a_bad_value_is_one_error_line_exit_2_nothing_written(
    tmp_path: Path, key: str, value: Any, wants: str
) -> None:
    config, history = setup(tmp_path, **{key: value})
    config_before, history_before = config.read_bytes(), history.read_bytes()

    result = run_script("run_inverter_daily_stats.py", "--config", str(config), "--no-sheet")

    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert re.search(rf"\b{key}\b", lines[0]), lines[0]  # names the key...
    assert wants in lines[0]  # ...and what it wants
    assert "unexpected" not in lines[0] and "Traceback" not in result.stderr
    assert config.read_bytes() == config_before
    assert history.read_bytes() == history_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "data"]


def test_the_line_says_what_it_got(tmp_path: Path) -> None:
    config, _ = setup(tmp_path, http_timeout_seconds="soon")
    result = run_script("run_inverter_daily_stats.py", "--config", str(config))
    assert "http_timeout_seconds is 'soon', it must be" in result.stderr
    assert str(config) in result.stderr


def test_a_config_saved_with_a_byte_order_mark_is_accepted(tmp_path: Path, enlighten: Any) -> None:
    emulator = enlighten(SiteScenario.healthy())
    night(emulator, 3)
    config = write_config(tmp_path, emulator)
    config.write_bytes(codecs.BOM_UTF8 + config.read_bytes())  # Windows Notepad's "UTF-8 with BOM"

    result = run_script("run_inverter_daily_stats.py", "--config", str(config), "--no-sheet")

    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "data").glob("inverter_daily_data-*.json"))) == 1


def test_unknown_keys_are_kept_when_tokens_are_saved(tmp_path: Path) -> None:
    config, _ = setup(tmp_path, my_note="kept", alerts={"_comment": "off for now"})
    loaded = load_config(config)
    loaded.save_tokens("A" * 40, "R" * 40)
    saved = json.loads(config.read_text())
    assert saved["my_note"] == "kept" and saved["alerts"] == {"_comment": "off for now"}
    assert saved["access_token"] == "A" * 40 and saved["refresh_token"] == "R" * 40


def test_the_redaction_filter_cannot_recurse_when_its_source_logs() -> None:
    logger = logging.getLogger("panel_tracker.test_settings")

    def noisy_source() -> list[str]:
        logger.warning("asking for the secrets")  # what the alerts warning once did
        return ["sekrit-value"]

    handler = logging.Handler()
    seen: list[str] = []
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    handler.addFilter(RedactingFilter(noisy_source))
    logger.addHandler(handler)
    try:
        logger.warning("the token is sekrit-value")
    finally:
        logger.removeHandler(handler)
    assert "the token is ***" in seen
    assert all("sekrit-value" not in line for line in seen)


# --- the README's table and the parser know the same keys ------------------------------------


def readme_config_keys() -> set[str]:
    """Every `key` in the first column of the README's table under "### Config keys"."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Config keys", 1)[1].split("\n#", 1)[0]
    keys: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            keys.update(re.findall(r"`([a-z_]+)`", first_cell))
    return keys


def test_the_readme_config_table_lists_every_key_the_parser_knows() -> None:
    documented = readme_config_keys()
    assert documented, "no config table found in the README"
    assert documented - KNOWN_KEYS == set(), "documented but not read by settings.py"
    assert KNOWN_KEYS - documented == set(), "read by settings.py but not in the README"


def test_every_known_key_is_checked() -> None:
    # A string key given a number, for each: the parser looks at every key it says it knows.
    numbers_allowed = {
        "system_id",
        "http_timeout_seconds",
        "lock_wait_seconds",
        "google_oauth_port",
        "sheet_heal_days",
        "report_days",
        "panel_watts",
        "access_token_expires_at",
        "envoy_timeout_seconds",
    }
    # The gateway's keys are read when the gateway is the source.
    gateway = {"source": "envoy", "envoy_host": "envoy.local"}
    for key in sorted(KNOWN_KEYS - numbers_allowed):
        base = {**HARMLESS, **gateway} if key.startswith("envoy_") else HARMLESS
        with pytest.raises(ConfigError, match=rf"\b{key}\b"):
            parse_settings(Path("/nowhere/c.json"), {**base, key: 12345})
