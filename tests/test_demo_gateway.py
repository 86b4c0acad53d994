"""`run_inverter_daily_stats.py --demo --gateway`: the demo's site read night after night from
the loopback gateway (the local source, through the real pyenphase) instead of the cloud."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

import run_inverter_daily_stats
from panel_tracker.envoy.reader import PYENPHASE_MISSING
from panel_tracker.history import load_history
from sandbox import demo
from sandbox.site import SimulatedSite

NIGHTS = 11  # the demo's first missed night (9) and the gap the next one fills


@pytest.mark.skipif(PYENPHASE_MISSING is not None, reason="pyenphase needs Python 3.11+")
def test_the_gateway_demo_records_the_sites_days_with_no_cloud_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "DEMO_DIR", tmp_path)
    monkeypatch.setattr(demo, "NIGHTS", NIGHTS)
    code = run_inverter_daily_stats.main(["--demo", "--gateway"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "read from the loopback gateway at https://127.0.0.1:" in out
    assert "API calls for 10 runs: Enlighten 0, the gateway " in out
    assert demo.DEMO_GATEWAY_TOKEN not in out + err

    config = json.loads((tmp_path / "enlighten_v4_config.json").read_text())
    assert config["source"] == "envoy" and "app_api_key" not in config
    site = SimulatedSite(demo.demo_scenario())
    history = load_history(tmp_path / "data" / f"inverter_daily_data-{site.system_id}.json")
    first = site.days()[0]
    installed = [s for s in site.serials if site.truth_daily(s, first) is not None]
    assert sorted(history.serials()) == sorted(installed)
    for serial in installed:
        for offset in range(1, NIGHTS):
            day = first + timedelta(days=offset)
            entry = history.entry(serial, day.isoformat())
            assert entry is not None, (serial, day)
            if offset not in (9, 10):  # the missed night's gap: its total, split evenly
                assert entry["daily_energy"] == site.truth_daily(serial, day), (serial, day)
    shaded = next(s for s in installed if site.panel_of[s] == 3)
    assert f"panel {shaded} weak since" in out
    assert "The emulated Google Sheet's last rows" in out and "Panel Data-2026" in out
