"""`enlightenAPI_v4.py authorize` and `check` as a user runs them, against the emulator."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import enlightenAPI_v4
import run_inverter_daily_stats
from panel_tracker.app import daily
from panel_tracker.app.check import check_tokens
from panel_tracker.app.daily import sheets_client
from panel_tracker.enlighten.jwt import jwt_expiry
from panel_tracker.findings import Status, exit_status
from panel_tracker.history import load_history
from panel_tracker.settings import load_config
from panel_tracker.storage import run_lock
from sandbox.enlighten_emulator import EnlightenEmulator
from sandbox.sheets_emulator import SheetsEmulator
from sandbox.site import SiteScenario
from tests.conftest import (
    CLIENT_ID,
    REPO,
    STATIC_SECRETS,
    assert_no_secrets,
    config_secrets,
    night,
    set_tokens,
    write_config,
)

AUTHORIZE = ".venv/bin/python enlightenAPI_v4.py authorize"
NOW = datetime(2026, 11, 21, 5, 0, tzinfo=timezone.utc)


def cli(
    capsys: pytest.CaptureFixture[str], config: Path, *args: str, extra: tuple[str, ...] = ()
) -> tuple[int, str, str]:
    """Run ``enlightenAPI_v4.main`` and check that no secret, old or new, was printed."""
    before = config_secrets(config)
    code = enlightenAPI_v4.main([*args, "--config", str(config)])
    out, err = capsys.readouterr()
    assert_no_secrets(out + err, [*before, *config_secrets(config), *extra])
    return code, out, err


def fresh_config(folder: Path, emulator: EnlightenEmulator, **extra: object) -> Path:
    """A config as a new user has it before authorizing: keys filled in, no tokens."""
    return write_config(
        folder,
        emulator,
        access_token="<access_token: see README>",
        refresh_token="<refresh_token: see README>",
        **extra,
    )


def good_config(folder: Path, emulator: EnlightenEmulator, **extra: object) -> Path:
    path = write_config(folder, emulator, **extra)
    path.chmod(0o600)
    return path


def micro_count(emulator: EnlightenEmulator) -> int:
    return len({r["serial_number"] for r in emulator.site.inverter_records(emulator.sim_now)})


# --- authorize ------------------------------------------------------------------------------
def test_authorize_with_a_fresh_code_then_the_daily_job_works(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = fresh_config(tmp_path, emulator, timezone_note="kept as it is")
    before = json.loads(config.read_text())
    code = emulator.issue_authorization_code()

    status, out, err = cli(capsys, config, "authorize", f"--code={code}", extra=(code,))

    assert status == 0, err
    assert f"{emulator.url}oauth/authorize?response_type=code&client_id={CLIENT_ID}" in out
    assert "works ONCE" in out
    assert "refresh token is valid until" in out and "(in 30 days)" in out
    assert "enlightenAPI_v4.py check" in out
    after = json.loads(config.read_text())
    assert {k: v for k, v in after.items() if not k.endswith("_token")} == {
        k: v for k, v in before.items() if not k.endswith("_token")
    }
    assert emulator.access_token_valid(after["access_token"])
    assert emulator.refresh_token_valid(after["refresh_token"])
    if sys.platform != "win32":
        assert config.stat().st_mode & 0o777 == 0o600

    night(emulator, 0)
    job_status = run_inverter_daily_stats.main(["--config", str(config), "--no-sheet"])
    out, err = capsys.readouterr()
    assert_no_secrets(out + err, [*config_secrets(config), *STATIC_SECRETS])
    assert job_status == 0, err
    assert "Test house" in out


def test_a_reused_code_fails_clearly_and_leaves_the_config_byte_identical(
    tmp_path, enlighten, capsys
):
    emulator = enlighten(SiteScenario.healthy())
    config = fresh_config(tmp_path, emulator)
    code = emulator.issue_authorization_code()
    assert cli(capsys, config, "authorize", f"--code={code}", extra=(code,))[0] == 0
    authorized = config.read_bytes()

    status, _, err = cli(capsys, config, "authorize", f"--code={code}", extra=(code,))

    assert status == 1
    assert "refused the authorization code" in err and "works once" in err
    assert "oauth/authorize?" in err  # where to get a new one
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        err.splitlines()[-1]
    ]  # one clear line at the end
    assert "Traceback" not in err
    assert config.read_bytes() == authorized


def test_a_wrong_code_leaves_a_new_users_config_untouched(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = fresh_config(tmp_path, emulator)
    original = config.read_bytes()
    files = sorted(tmp_path.rglob("*"))
    status, _, err = cli(capsys, config, "authorize", "--code", "not-a-real-code")
    assert status == 1
    assert "refused the authorization code" in err
    assert config.read_bytes() == original
    assert emulator.count("/api/") == 0
    assert sorted(tmp_path.rglob("*")) == files  # no lock file, no data folder made for it


def test_while_the_daily_job_holds_the_lock_the_code_is_not_spent(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = fresh_config(tmp_path, emulator, lock_wait_seconds=0.2)
    original = config.read_bytes()
    code = emulator.issue_authorization_code()
    with run_lock(load_config(config).lock_path):
        status, _, err = cli(capsys, config, "authorize", f"--code={code}", extra=(code,))
    assert status == 1 and "another run holds the lock" in err
    assert emulator.count("/oauth/token") == 0
    assert config.read_bytes() == original
    assert cli(capsys, config, "authorize", f"--code={code}", extra=(code,))[0] == 0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_code_is_asked_for_and_a_pasted_redirect_address_works(
    tmp_path, enlighten, capsys, monkeypatch
):
    emulator = enlighten(SiteScenario.healthy())
    config = fresh_config(tmp_path, emulator)
    code = emulator.issue_authorization_code()
    pasted = f"https://api.enphaseenergy.com/oauth/redirect_uri?code={code}\n"
    monkeypatch.setattr(sys, "stdin", _Terminal(pasted))

    status, out, err = cli(capsys, config, "authorize", extra=(code,))

    assert status == 0, err
    assert "Paste the code here" in out
    assert emulator.refresh_token_valid(json.loads(config.read_text())["refresh_token"])


def test_authorize_needs_the_application_keys(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = fresh_config(tmp_path, emulator, app_client_secret="<your app's client secret>")
    original = config.read_bytes()
    status, _, err = cli(capsys, config, "authorize", "--code", "whatever")
    assert status == 2
    assert "app_client_secret" in err
    assert config.read_bytes() == original


def test_without_a_terminal_and_without_code_authorize_shows_the_address_and_exits_2(
    tmp_path, enlighten
):
    emulator = enlighten(SiteScenario.healthy())
    config = fresh_config(tmp_path, emulator)
    original = config.read_bytes()
    result = subprocess.run(
        [sys.executable, str(REPO / "enlightenAPI_v4.py"), "authorize", "--config", str(config)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"client_id={CLIENT_ID}" in result.stdout
    assert "pass it with --code" in result.stderr
    assert config.read_bytes() == original
    assert_no_secrets(result.stdout + result.stderr, list(STATIC_SECRETS))


# --- check ----------------------------------------------------------------------------------
def test_check_on_a_good_config_lists_the_system_and_its_micros(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    night(emulator, 3)
    config = good_config(tmp_path, emulator)
    original = config.read_bytes()

    status, out, err = cli(capsys, config, "check")

    assert status == 0, out + err
    system_id = emulator.site.system_id
    assert f"{system_id} 'Sandbox Array'" in out
    assert f"system {system_id}: {micro_count(emulator)} micro-inverters" in out
    assert "access token valid until" in out and "(in 24 h)" in out
    assert "refresh token valid until" in out and "(in 30 days)" in out
    assert "Google Sheet not configured" in out or "Google Sheet not checked" in out
    assert "PROBLEM" not in out
    assert "All checks passed" in out
    # Three data calls (the systems list, the inverter summary and its empty end page), no
    # token refresh.
    assert emulator.count("/api/v4/systems") == 3
    assert emulator.count("/oauth/token") == 0
    assert config.read_bytes() == original


def test_check_in_a_subprocess_renews_an_expired_access_token_and_says_so(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy())
    config = good_config(tmp_path, emulator)
    access, refresh = emulator.issue_tokens(access_expires_in=-60)
    set_tokens(config, access, refresh)
    before = config_secrets(config)
    result = subprocess.run(
        [sys.executable, str(REPO / "enlightenAPI_v4.py"), "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "tokens renewed during the check, saved to" in output
    assert "access token valid until" in output  # the new one
    assert emulator.count("/oauth/token") == 1
    assert emulator.refresh_token_valid(json.loads(config.read_text())["refresh_token"])
    assert_no_secrets(output, [*before, *config_secrets(config)])


def test_check_with_an_expired_refresh_token_says_authorize_and_calls_nothing(
    tmp_path, enlighten, capsys
):
    emulator = enlighten(SiteScenario.healthy())
    config = good_config(tmp_path, emulator)
    set_tokens(config, *emulator.issue_tokens(access_expires_in=-3600, refresh_expires_in=-60))
    original = config.read_bytes()

    status, out, _ = cli(capsys, config, "check")

    assert status == 1
    problem = next(line for line in out.splitlines() if "refresh token expired" in line)
    assert problem.startswith("PROBLEM") and f"-> run: {AUTHORIZE}" in problem
    assert "skipped Enlighten API not called" in out
    assert emulator.calls == []
    assert config.read_bytes() == original


def test_check_with_a_revoked_refresh_token_says_authorize(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = good_config(tmp_path, emulator)
    access, refresh = emulator.issue_tokens(access_expires_in=-60)
    emulator.expire_refresh_token(refresh)  # dead on the server, not yet by its JWT
    set_tokens(config, access, refresh)

    status, out, _ = cli(capsys, config, "check")

    assert status == 1
    assert "PROBLEM Enlighten refused the refresh token" in out
    assert f"-> run: {AUTHORIZE}" in out


def test_check_warns_a_week_before_the_refresh_token_dies(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = good_config(tmp_path, emulator)
    set_tokens(config, *emulator.issue_tokens(refresh_expires_in=3 * 86400))

    status, out, _ = cli(capsys, config, "check")

    assert status == 1
    line = next(line for line in out.splitlines() if "refresh token expires on" in line)
    assert line.startswith("PROBLEM") and "(in 3 days)" in line
    assert "the daily job rotates it" in line and AUTHORIZE in line


def test_check_with_a_wrong_api_key_names_the_mismatch_and_the_fix(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = good_config(tmp_path, emulator, app_api_key="KEY-of-another-application-0042")

    status, out, _ = cli(capsys, config, "check", extra=("KEY-of-another-application-0042",))

    assert status == 1
    line = next(line for line in out.splitlines() if "API Key - Client mismatch" in line)
    assert line.startswith("PROBLEM")
    assert "-> copy the API key of the same application as the client id" in line
    assert "micro-inverters" not in out


def test_check_lists_the_readable_systems_when_system_id_is_wrong_or_missing(
    tmp_path, enlighten, capsys
):
    emulator = enlighten(SiteScenario.healthy())
    system_id = str(emulator.site.system_id)
    config = good_config(tmp_path, emulator, system_id="12345")
    status, out, _ = cli(capsys, config, "check")
    assert status == 2
    assert "PROBLEM system_id 12345 is not among" in out and f"one of: {system_id}" in out

    config = good_config(tmp_path, emulator, system_id="<system/site_id>")
    status, out, _ = cli(capsys, config, "check")
    assert status == 2
    assert "PROBLEM system_id is not set" in out
    assert f"can read: {system_id} 'Sandbox Array'" in out


def test_check_reports_every_config_problem_at_once(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = fresh_config(
        tmp_path,
        emulator,
        app_api_key="<your app's api_key>",
        timezone="Mars/Olympus_Mons",
        http_timeout_seconds="soon",
    )
    config.chmod(0o644)

    status, out, _ = cli(capsys, config, "check")

    assert status == 2
    problems = [line for line in out.splitlines() if line.startswith("PROBLEM")]
    assert all(" -> " in line for line in problems)  # every problem comes with its fix
    text = "\n".join(problems)
    for expected in (
        "app_api_key",
        "Mars/Olympus_Mons",
        "http_timeout_seconds",
        "no Enlighten tokens",
        "chmod 600",
    ):
        assert expected in text
    assert emulator.calls == []


def test_check_reports_a_broken_history_without_touching_it(tmp_path, enlighten, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config = good_config(tmp_path, emulator)
    history = tmp_path / "data" / f"inverter_daily_data-{emulator.site.system_id}.json"
    history.parent.mkdir()
    history.write_text('{"micro_inverters": {')
    status, out, _ = cli(capsys, config, "check")
    assert status == 1
    assert "is not valid JSON" in out and "restore it from a backup" in out
    assert history.read_text() == '{"micro_inverters": {'


def test_check_of_a_config_that_is_not_json_exits_2_in_one_line(tmp_path, capsys):
    config = tmp_path / "enlighten_v4_config.json"
    config.write_text("{not json")
    assert enlightenAPI_v4.main(["check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON" in err and len(err.strip().splitlines()) == 1


# --- check: the Google Sheet ---------------------------------------------------------------
@pytest.fixture
def sheets() -> Iterator[SheetsEmulator]:
    with SheetsEmulator() as emulator:
        yield emulator


def sheet_config(
    folder: Path, emulator: EnlightenEmulator, sheets: SheetsEmulator
) -> tuple[Path, str]:
    """A good config with a spreadsheet, Google's token.json beside it, nothing laid out yet."""
    spreadsheet_id = sheets.create_spreadsheet("Solar panels")
    config = good_config(
        folder,
        emulator,
        spreadsheet_id=spreadsheet_id,
        sheets_api_url=sheets.url,
        google_token_uri=sheets.token_uri,
    )
    sheets.write_authorized_user_file(folder / "token.json")
    return config, spreadsheet_id


def lay_out(config: Path, spreadsheet_id: str, serials: list[str]) -> None:
    loaded = load_config(config)
    daily.lay_out(loaded, sheets_client(loaded), spreadsheet_id, serials, year=2026)


def google_secrets(folder: Path) -> list[str]:
    token = json.loads((folder / "token.json").read_text())
    return [token["token"], token["refresh_token"], token["client_secret"]]


def test_check_of_a_laid_out_sheet_then_one_missing_its_named_range(
    tmp_path, enlighten, sheets, capsys
):
    emulator = enlighten(SiteScenario.healthy())
    config, spreadsheet_id = sheet_config(tmp_path, emulator, sheets)
    serials = sorted({r["serial_number"] for r in emulator.site.inverter_records(emulator.sim_now)})
    lay_out(config, spreadsheet_id, serials)

    status, out, _ = cli(capsys, config, "check", extra=tuple(google_secrets(tmp_path)))
    assert status == 0, out
    assert f"ok      Google Sheet {spreadsheet_id} answers" in out
    assert f"ok      named range InverterSerialNumbers: {len(serials)} serials" in out

    named = sheets.spreadsheet(spreadsheet_id).named_range("InverterSerialNumbers")
    assert named is not None
    sheets.apply(spreadsheet_id, [{"deleteNamedRange": {"namedRangeId": named["namedRangeId"]}}])
    status, out, _ = cli(capsys, config, "check", extra=tuple(google_secrets(tmp_path)))
    assert status == 1
    line = next(line for line in out.splitlines() if "no named range" in line)
    assert line.startswith("PROBLEM")
    assert "-> run: .venv/bin/python populate_google_sheet.py --init" in line


def test_check_names_panels_of_the_history_that_have_no_column(tmp_path, enlighten, sheets, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config, spreadsheet_id = sheet_config(tmp_path, emulator, sheets)
    night(emulator, 0)
    assert run_inverter_daily_stats.main(["--config", str(config), "--no-sheet"]) == 0
    serials = load_history(load_config(config).history_path).serials()
    lay_out(config, spreadsheet_id, serials[1:])  # a replaced micro the sheet does not know

    status, out, _ = cli(capsys, config, "check", extra=tuple(google_secrets(tmp_path)))

    assert status == 1
    line = next(line for line in out.splitlines() if "no column in the sheet" in line)
    assert line.startswith("PROBLEM 1 panel(s)") and serials[0] in line
    assert line.endswith(
        "-> run: .venv/bin/python populate_google_sheet.py "
        "(the push adds their columns to InverterSerialNumbers)"
    )


def test_check_without_google_credentials_says_how_to_get_them(tmp_path, enlighten, sheets, capsys):
    emulator = enlighten(SiteScenario.healthy())
    config, _ = sheet_config(tmp_path, emulator, sheets)
    (tmp_path / "token.json").unlink()

    status, out, _ = cli(capsys, config, "check")

    assert status == 1
    line = next(line for line in out.splitlines() if "Google credentials" in line)
    assert line.startswith("PROBLEM") and "-> put the OAuth client file" in line
    assert sheets.count() == 0


# --- the token arithmetic, without the network ----------------------------------------------
def _jwt_expiring(at: datetime) -> str:
    import base64

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part({'exp': int(at.timestamp())})}.sig"


@pytest.mark.parametrize(
    ("access_in", "refresh_in", "statuses", "fix"),
    [
        (timedelta(hours=23), timedelta(days=29), [Status.OK, Status.OK], ""),
        (timedelta(hours=-2), timedelta(days=29), [Status.OK, Status.OK], ""),
        (timedelta(hours=23), timedelta(days=6), [Status.OK, Status.PROBLEM], "scheduled"),
        (timedelta(hours=-2), timedelta(days=6), [Status.OK, Status.PROBLEM], "daily job now"),
        (timedelta(hours=-2), timedelta(days=-1), [Status.OK, Status.PROBLEM], AUTHORIZE),
    ],
)
def test_token_expiry_findings(access_in, refresh_in, statuses, fix):
    findings = check_tokens(_jwt_expiring(NOW + access_in), _jwt_expiring(NOW + refresh_in), NOW)
    assert [f.status for f in findings] == statuses
    assert fix in findings[-1].fix
    assert exit_status(findings) == (1 if Status.PROBLEM in statuses else 0)


def test_tokens_that_are_not_jwts_are_not_guessed_at():
    findings = check_tokens("opaque-access", "opaque-refresh", NOW)
    assert [f.status for f in findings] == [Status.SKIPPED, Status.SKIPPED]
    assert exit_status(findings) == 0
    assert jwt_expiry("opaque-access") is None


def test_the_module_still_imports_under_its_original_name():
    assert enlightenAPI_v4.enlightenAPI_v4.__name__ == "enlightenAPI_v4"
    assert os.path.basename(enlightenAPI_v4.__file__ or "") == "enlightenAPI_v4.py"
