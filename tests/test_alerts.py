"""Alerts against loopback servers: a webhook, an SMTP server and a healthcheck endpoint.

Each episode (a panel turning weak, then recovering) must produce exactly one webhook POST and
one e-mail at its start and one at its end, however many days the job runs; a failing channel
is a warning, never a crash; no secret appears in the logs.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import socketserver
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from panel_tracker.errors import ConfigError
from panel_tracker.health.assess import assess
from panel_tracker.health.envelope import SharedLoss
from panel_tracker.health.episodes import AlertEvent, update_alert_state
from panel_tracker.health.thresholds import HealthSettings
from panel_tracker.history import History
from panel_tracker.notify import (
    AlertSettings,
    alert_secrets,
    ping_healthcheck,
    send_alerts,
    webhook_payload,
)
from panel_tracker.redaction import RedactingFilter
from panel_tracker.settings import load_config
from sandbox.health_bench import synthetic_history, synthetic_serials

if TYPE_CHECKING:  # imported by pytest_plugins below, first, so pytest can rewrite it
    from tests.loopback_servers import HttpRecorder, SmtpRecorder

SMTP_PASSWORD = "smtp-pa55word-never-logged"
WEBHOOK_TOKEN = "T0KEN-b7c1-webhook-secret"
PING_UUID = "5a0c5d3e-0b8f-4d8e-9b1e-ping-secret"
WEAK = synthetic_serials(12)[3]

pytest_plugins = ["tests.loopback_servers"]  # the webhook and smtp fixtures


def our_logs(caplog: pytest.LogCaptureFixture) -> str:
    """What this project logged (urllib3's debug lines are redacted by the handler's filter)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("panel_tracker"))


def closed_port() -> int:
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as probe:
        return int(probe.server_address[1])


def make_config(tmp_path: Path, alerts: Any) -> AlertSettings:
    """The alert settings of a config holding ``alerts``, parsed as the scripts parse it."""
    raw = {"name": "Test house", "system_id": "4130271", "alerts": alerts}
    path = tmp_path / "enlighten_v4_config.json"
    path.write_text(json.dumps(raw))
    return load_config(path).settings.alerts


def full_alerts(webhook: HttpRecorder, smtp: SmtpRecorder) -> dict[str, Any]:
    return {
        "webhook_url": f"{webhook.url}/services/{WEBHOOK_TOKEN}",
        "healthcheck_url": f"{webhook.url}/ping/{PING_UUID}",
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp.port,
            "starttls": False,
            "user": "solar@example.com",
            "password": SMTP_PASSWORD,
            "from": "Solar <solar@example.com>",
            "to": ["me@example.com", "you@example.com"],
        },
        "timeout_seconds": 5,
    }


def daily_runs(history: History, days: int, config: AlertSettings) -> list[tuple[int, list[str]]]:
    """Run health, alert state and delivery day by day; return (day, warnings) per run."""
    kept: dict[str, Any] = {}
    results = []
    all_days = sorted(history.dates())
    for n in range(1, days + 1):
        last = all_days[n - 1]
        current = History(
            copy.deepcopy(
                {
                    "micro_inverters": {
                        s: {d: e for d, e in entries.items() if d <= last}
                        for s, entries in history.micros.items()
                    }
                }
            )
        )
        current.data["health"] = kept
        report = assess(current, HealthSettings())
        events = update_alert_state(current, report)
        results.append(
            (n - 1, send_alerts(events, config, system_name="Test house", system_id="4130271"))
        )
        kept = current.data["health"]
    return results


# --- episodes -------------------------------------------------------------------------------


def test_one_message_per_episode_start_and_end_over_many_days(
    tmp_path: Path, webhook: HttpRecorder, smtp: SmtpRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path, full_alerts(webhook, smtp))
    history = synthetic_history(days=30, faults=[(3, 8, 18, 0.2)])
    with caplog.at_level(logging.DEBUG):
        runs = daily_runs(history, 30, config)
    assert all(warnings == [] for _, warnings in runs)

    posts = [
        json.loads(body)
        for method, path, body in webhook.requests
        if path == f"/services/{WEBHOOK_TOKEN}"
    ]
    assert [(p["event"], p["serial"]) for p in posts] == [("weak", WEAK), ("recovered", WEAK)]
    started, ended = posts
    start = date(2025, 6, 1)
    assert started["day"] == (start + timedelta(days=10)).isoformat()
    assert started["since"] == (start + timedelta(days=8)).isoformat()
    assert started["system"] == "Test house" and started["system_id"] == "4130271"
    assert 0.75 < started["episode_ratio"] < 0.85 and started["lost_wh"] > 0
    assert 0.85 < started["last7_ratio"] < 0.95  # four healthy days in the last seven
    assert f"panel {WEAK} is weak" in started["text"]
    assert ended["day"] == (start + timedelta(days=20)).isoformat()
    assert ended["lost_wh"] > started["lost_wh"]  # the whole episode's loss
    assert 0.75 < ended["episode_ratio"] < 0.85

    assert [m["Subject"] for m in smtp.messages] == [
        f"[Test house] panel {WEAK} is weak",
        f"[Test house] panel {WEAK} has recovered",
    ]
    assert smtp.envelopes[0] == ("solar@example.com", ["me@example.com", "you@example.com"])
    assert smtp.logins == [("solar@example.com", SMTP_PASSWORD)] * 2
    body = smtp.messages[0].get_payload()
    assert isinstance(body, str) and "since 2025-06-09" in body
    logged = our_logs(caplog)
    assert "webhook alert sent to http://127.0.0.1" in logged
    for secret in (SMTP_PASSWORD, WEBHOOK_TOKEN, PING_UUID):
        assert secret not in logged


def test_no_events_no_messages(tmp_path: Path, webhook: HttpRecorder, smtp: SmtpRecorder) -> None:
    config = make_config(tmp_path, full_alerts(webhook, smtp))
    runs = daily_runs(synthetic_history(days=15), 15, config)
    assert all(w == [] for _, w in runs)
    assert webhook.requests == [] and smtp.messages == []


def test_alerts_are_optional(tmp_path: Path) -> None:
    event = AlertEvent(kind="weak", serial=WEAK, day="2025-06-10", since="2025-06-08")
    for alerts in ({}, {"webhook_url": ""}, {"webhook_url": "<your webhook>"}):
        assert send_alerts([event], make_config(tmp_path, alerts), system_name="x") == []
    ping_healthcheck(make_config(tmp_path, {}), success=True)  # nothing configured: no-op


# --- failures are warnings ------------------------------------------------------------------


def test_failed_deliveries_are_warnings_without_secrets(
    tmp_path: Path, webhook: HttpRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    webhook.status = 500
    dead = closed_port()
    alerts = {
        "webhook_url": f"{webhook.url}/services/{WEBHOOK_TOKEN}",
        "smtp": {
            "host": "127.0.0.1",
            "port": dead,
            "starttls": False,
            "user": "u",
            "password": SMTP_PASSWORD,
            "from": "a@example.com",
            "to": "b@example.com",
        },
        "timeout_seconds": 2,
    }
    event = AlertEvent(kind="weak", serial=WEAK, day="2025-06-10", since="2025-06-08")
    with caplog.at_level(logging.WARNING):
        warnings = send_alerts([event], make_config(tmp_path, alerts), system_name="x")
    assert len(warnings) == 2
    assert warnings[0] == "webhook alert to http://127.0.0.1 failed: HTTP 500"
    assert warnings[1].startswith(f"e-mail alert via 127.0.0.1:{dead} failed: ")
    assert len(webhook.requests) == 1
    for warning in warnings:
        assert warning in caplog.text
    for secret in (SMTP_PASSWORD, WEBHOOK_TOKEN):
        assert secret not in caplog.text and all(secret not in w for w in warnings)


def test_unreachable_webhook_does_not_leak_its_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/services/{WEBHOOK_TOKEN}?token=query-s3cret"
    config = make_config(tmp_path, {"webhook_url": url, "timeout_seconds": 2})
    event = AlertEvent(kind="recovered", serial=WEAK, day="2025-06-20", since="2025-06-08")
    with caplog.at_level(logging.DEBUG):
        warnings = send_alerts([event], config, system_name="x")
    assert len(warnings) == 1 and "ConnectionError" in warnings[0]
    logged = our_logs(caplog)
    assert WEBHOOK_TOKEN not in logged and "query-s3cret" not in logged
    assert WEBHOOK_TOKEN in " ".join(alert_secrets(config))


def test_alert_secrets_redact_library_debug_lines(
    tmp_path: Path, webhook: HttpRecorder, smtp: SmtpRecorder
) -> None:
    config = make_config(tmp_path, full_alerts(webhook, smtp))
    secrets = alert_secrets(config)
    assert SMTP_PASSWORD in secrets
    # what urllib3 logs with -v, through the filter the scripts put on their log handler
    record = logging.LogRecord(
        "urllib3.connectionpool",
        logging.DEBUG,
        __file__,
        1,
        '%s "POST /services/%s HTTP/1.1" 200',
        (webhook.url, WEBHOOK_TOKEN),
        None,
    )
    RedactingFilter(lambda: secrets).filter(record)
    assert WEBHOOK_TOKEN not in record.getMessage() and "***" in record.getMessage()


@pytest.mark.parametrize(
    ("smtp_settings", "expected"),
    [
        ({"host": "127.0.0.1", "from": "a@b.c"}, "set alerts.smtp to"),
        ({"to": "a@b.c", "from": "a@b.c"}, "set alerts.smtp host"),
    ],
)
def test_incomplete_smtp_settings_are_warnings(
    tmp_path: Path, smtp_settings: Any, expected: str
) -> None:
    event = AlertEvent(kind="weak", serial=WEAK, day="2025-06-10")
    warnings = send_alerts([event], make_config(tmp_path, {"smtp": smtp_settings}), system_name="x")
    assert len(warnings) == 1 and expected in warnings[0]


@pytest.mark.parametrize(
    ("smtp_settings", "expected"),
    [
        ({"host": "h", "to": "a@b.c", "from": "a@b.c", "port": "25"}, "alerts.smtp.port is '25'"),
        ("smtp.example.com", "alerts.smtp is 'smtp.example.com', it must be an object"),
    ],
)
def test_smtp_settings_of_the_wrong_type_are_config_errors(
    tmp_path: Path, smtp_settings: Any, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        make_config(tmp_path, {"smtp": smtp_settings})


# --- healthcheck ----------------------------------------------------------------------------


def test_healthcheck_pings_success_and_failure(
    tmp_path: Path, webhook: HttpRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path, {"healthcheck_url": f"{webhook.url}/ping/{PING_UUID}/"})
    with caplog.at_level(logging.DEBUG):
        ping_healthcheck(config, success=True, message="recorded 2025-06-10: 24 panels")
        ping_healthcheck(
            config, success=False, message=f"error: network down (key={PING_UUID[:12]}xyz)"
        )
    assert [(m, p) for m, p, _ in webhook.requests] == [
        ("POST", f"/ping/{PING_UUID}/"),
        ("POST", f"/ping/{PING_UUID}/fail"),
    ]
    assert webhook.requests[0][2] == b"recorded 2025-06-10: 24 panels"
    assert webhook.requests[1][2].startswith(b"error: network down (key=***")
    assert PING_UUID not in our_logs(caplog)


def test_healthcheck_failure_is_only_a_warning(
    tmp_path: Path, webhook: HttpRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    webhook.status = 404
    config = make_config(tmp_path, {"healthcheck_url": f"{webhook.url}/ping/{PING_UUID}"})
    with caplog.at_level(logging.WARNING):
        ping_healthcheck(config, success=True)
    assert "healthcheck ping to http://127.0.0.1 failed: HTTP 404" in caplog.text
    dead = make_config(
        tmp_path,
        {
            "healthcheck_url": f"http://127.0.0.1:{closed_port()}/p/{PING_UUID}",
            "timeout_seconds": 2,
        },
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        ping_healthcheck(dead, success=False, message="boom")
    assert "healthcheck ping to http://127.0.0.1 failed: ConnectionError" in caplog.text
    assert PING_UUID not in our_logs(caplog)


def test_webhook_payload_shape() -> None:
    event = AlertEvent(
        kind="stopped", serial="482000000001", day="2025-06-10", last_seen="2025-06-07"
    )
    payload = webhook_payload(event, system_name="Roof", system_id="42")
    assert payload["event"] == "stopped" and payload["last_seen"] == "2025-06-07"
    assert payload["text"].startswith("Roof: panel 482000000001 stopped reporting.")
    json.dumps(payload)


def test_starttls_is_the_default_and_refusing_it_is_a_warning(
    tmp_path: Path, smtp: SmtpRecorder
) -> None:
    # a server without STARTTLS: the password must not go out in clear text
    alerts = {
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp.port,
            "user": "u",
            "password": SMTP_PASSWORD,
            "from": "a@example.com",
            "to": "b@example.com",
        }
    }
    event = AlertEvent(kind="weak", serial=WEAK, day="2025-06-10")
    warnings = send_alerts([event], make_config(tmp_path, alerts), system_name="x")
    assert len(warnings) == 1 and "STARTTLS" in warnings[0]
    assert smtp.logins == [] and smtp.messages == []


def test_a_shared_loss_is_alerted_on_its_second_night_and_a_one_night_loss_not_at_all() -> None:
    history = synthetic_history(days=10)
    quiet = assess(history, HealthSettings())
    loss = SharedLoss("array", "2025-06-05", 0.11, 5, True)

    def night(day: str, *shared: SharedLoss) -> list[str]:
        report = dataclasses.replace(quiet, day=day, shared=list(shared))
        return [e.kind for e in update_alert_state(history, report)]

    assert night("2025-06-06", loss) == []  # named once: nothing yet
    assert night("2025-06-06", loss) == []  # the same night again
    assert night("2025-06-07") == []  # gone the next night: never announced
    assert "array" not in history.data["health"]["shared"]
    assert night("2025-06-08", loss) == []
    assert night("2025-06-09", loss) == ["shared_loss"]
    assert night("2025-06-10", loss) == []  # once per episode
    assert night("2025-06-11") == ["shared_loss_over"]
    closed = history.data["health"]["closed"][-1]
    assert (closed["group"], closed["kind"], closed["until"]) == (
        "array",
        "shared_loss",
        "2025-06-11",
    )
