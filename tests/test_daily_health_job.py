"""Panel health through the daily job: the verdict in the summary, alerts once per episode,
the healthcheck on success and failure, and the report, all driven as cron drives it."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import run_inverter_daily_stats
from sandbox.site import SiteScenario
from tests.conftest import assert_no_secrets, config_secrets, night, write_config

HOOK_TOKEN = "hook-T0KEN-5e1f"
PING_ID = "ping-3f9a-secret"

pytest_plugins = ["tests.loopback_servers"]  # the webhook and smtp fixtures


def alerting_config(tmp_path, emulator, webhook, smtp):
    return write_config(
        tmp_path,
        emulator,
        report_dir="report",
        alerts={
            "webhook_url": f"{webhook.url}/hooks/{HOOK_TOKEN}",
            "healthcheck_url": f"{webhook.url}/ping/{PING_ID}",
            "smtp": {
                "host": "127.0.0.1",
                "port": smtp.port,
                "starttls": False,
                "from": "solar@example.com",
                "to": ["owner@example.com"],
            },
        },
    )


def test_shaded_panel_is_flagged_alerted_once_and_tops_the_report(
    tmp_path, enlighten, webhook, smtp, capsys
):
    emulator = enlighten(SiteScenario.healthy(shade=(3, 0, 0.12)))
    shaded = next(s for s in emulator.site.serials if emulator.site.panel_of[s] == 3)
    config = alerting_config(tmp_path, emulator, webhook, smtp)
    outputs = []
    for offset in range(10):
        night(emulator, offset)
        code = run_inverter_daily_stats.main(["--config", str(config)])
        out, err = capsys.readouterr()
        assert code == 0, err
        outputs.append(out)
        assert_no_secrets(out + err, [*config_secrets(config), HOOK_TOKEN, PING_ID])
    assert f"panel {shaded} weak since" in outputs[-1]
    hooks = [json.loads(body) for _, path, body in webhook.requests if "/hooks/" in path]
    assert [(h["event"], h["serial"]) for h in hooks] == [("weak", shaded)]
    assert len(smtp.messages) == 1 and shaded in smtp.messages[0]["Subject"]
    pings = [path for _, path, _ in webhook.requests if "/ping/" in path]
    assert pings == [f"/ping/{PING_ID}"] * 10
    page = (tmp_path / "report" / "index.html").read_text()
    HTMLParser().feed(page)
    assert page.index(shaded) < min(
        page.index(s) for s in emulator.site.serials if s != shaded and s in page
    )


def test_a_failing_run_pings_the_healthcheck_failure_url(tmp_path, enlighten, webhook, smtp):
    emulator = enlighten(SiteScenario.healthy())
    config = alerting_config(tmp_path, emulator, webhook, smtp)
    emulator.inject_fault("inverters_summary", 403, count=5)
    code = run_inverter_daily_stats.main(["--config", str(config), "-q"])
    assert code == 1
    assert [path for _, path, _ in webhook.requests] == [f"/ping/{PING_ID}/fail"]
    body = webhook.requests[0][2].decode()
    assert "403" in body or "refused" in body
    assert_no_secrets(body, config_secrets(config))
