"""One simulated site read night after night through both sources: the cloud (the Enlighten
emulator) and the gateway on the home network (the loopback gateway serving the same site's
counters, through the real pyenphase). A reading is a reading: the same history days, the same
panel-health verdict, the same sheet rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import populate_google_sheet
import run_inverter_daily_stats
from panel_tracker.settings import load_config
from sandbox.envoy_emulator import EnvoyEmulator
from sandbox.sheets_bench import attach_sheets_emulator
from sandbox.sheets_emulator import SheetsEmulator
from sandbox.site import SiteScenario
from tests.conftest import assert_no_secrets, config_secrets, night
from tests.conftest import write_config as cloud_config
from tests.test_envoy_source import TOKEN, WITH_ENERGY, needs_pyenphase
from tests.test_envoy_source import write_config as gateway_config

NIGHTS = 10  # enough for panel health to call the shaded panel weak
SHADED_PANEL = 3


def history_days(config: Path) -> dict[str, dict[str, tuple[Any, ...]]]:
    """serial -> day -> what the day arithmetic made of it (the gateway adds DC fields besides,
    which the simulated site leaves out)."""
    raw = json.loads(load_config(config).history_path.read_bytes())["micro_inverters"]
    return {
        serial: {
            day: (entry["daily_energy"], entry["lifetime_energy"], entry.get("estimated", False))
            for day, entry in days.items()
        }
        for serial, days in raw.items()
    }


def verdict(output: str) -> list[str]:
    """The panel-health lines of a night's summary (indented under its headline)."""
    return [line.strip() for line in output.splitlines() if "weak since" in line]


@needs_pyenphase
def test_the_cloud_and_the_gateway_give_the_same_history_health_and_sheet(
    tmp_path: Path, enlighten: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    cloud = enlighten(SiteScenario.healthy(shade=(SHADED_PANEL, 0, 0.12)))
    site = cloud.site
    (tmp_path / "cloud").mkdir()
    (tmp_path / "gateway").mkdir()
    configs = {"cloud": cloud_config(tmp_path / "cloud", cloud)}
    with (
        EnvoyEmulator(WITH_ENERGY, token=TOKEN, site=site) as gateway,
        SheetsEmulator() as sheets,
    ):
        configs["gateway"] = gateway_config(
            tmp_path / "gateway", gateway.host, timezone=site.timezone
        )
        outputs: dict[str, list[str]] = {"cloud": [], "gateway": []}
        for offset in range(NIGHTS):
            night(cloud, offset)
            gateway.sim_now = cloud.sim_now
            for source, config in configs.items():
                secrets = config_secrets(config) if source == "cloud" else [TOKEN]
                code = run_inverter_daily_stats.main(["--config", str(config)])
                out, err = capsys.readouterr()
                assert code == 0, (source, out + err)
                assert_no_secrets(out + err, secrets)
                outputs[source].append(out)
                if offset == 0:  # the sheet is laid out from the first night's serials
                    attach_sheets_emulator(config, sheets)
                    init = ["--config", str(config), "--init", "-q"]
                    assert populate_google_sheet.main(init) == 0
                    capsys.readouterr()
        rows = {
            source: sheets.values(str(load_config(config).spreadsheet_id), "'Panel Data-2026'!A1:Z")
            for source, config in configs.items()
        }

    cloud_days, gateway_days = history_days(configs["cloud"]), history_days(configs["gateway"])
    assert len(cloud_days) == 24 and len(next(iter(cloud_days.values()))) == NIGHTS
    assert gateway_days == cloud_days
    shaded = next(s for s in site.serials if site.panel_of[s] == SHADED_PANEL)
    assert verdict(outputs["gateway"][-1]) == verdict(outputs["cloud"][-1])
    assert any(f"panel {shaded} weak since" in line for line in verdict(outputs["cloud"][-1]))
    # The same headline each night (day, total, panels reporting), bar the system's name.
    headlines = {
        source: [out.splitlines()[0].partition("): ")[2] for out in outputs[source]]
        for source in configs
    }
    assert headlines["gateway"] == headlines["cloud"]
    assert headlines["cloud"][-1].endswith("24 of 24 panels reporting")
    assert len(rows["cloud"]) == 2 + NIGHTS  # header, totals, a row a night
    assert rows["gateway"] == rows["cloud"]
