"""Home Assistant over MQTT against a real broker (mosquitto) on 127.0.0.1.

The discovery documents are checked against the keys Home Assistant documents for MQTT
discovery (sensor, binary_sensor; https://www.home-assistant.io/integrations/sensor.mqtt/,
/binary_sensor.mqtt/, /integrations/mqtt/#discovery-messages): the required ones and the
allowed values of device_class and state_class used here.
"""

from __future__ import annotations

import getpass
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import run_inverter_daily_stats
from panel_tracker.export.mqtt import Broker, MqttError, build_messages, publish
from panel_tracker.history import History, load_history
from panel_tracker.settings import load_config
from sandbox.site import SiteScenario
from tests.conftest import night, write_config

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)
needs_broker = pytest.mark.skipif(
    MOSQUITTO is None, reason="no mosquitto binary (apt-get install mosquitto; .ci/run does)"
)
SENSOR_KEYS = {
    "name",
    "unique_id",
    "object_id",
    "state_topic",
    "value_template",
    "unit_of_measurement",
    "device_class",
    "state_class",
    "device",
    "last_reset_value_template",
    "json_attributes_topic",
}
BINARY_KEYS = {
    "name",
    "unique_id",
    "object_id",
    "state_topic",
    "payload_on",
    "payload_off",
    "device_class",
    "json_attributes_topic",
    "device",
}
DEVICE_KEYS = {
    "identifiers",
    "name",
    "manufacturer",
    "model",
    "serial_number",
    "via_device",
    "suggested_area",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    assert MOSQUITTO is not None
    port = _free_port()
    passwd = tmp_path / "passwd"
    subprocess.run(
        [
            str(Path(MOSQUITTO).with_name("mosquitto_passwd"))
            if Path(MOSQUITTO).with_name("mosquitto_passwd").exists()
            else "mosquitto_passwd",
            "-b",
            "-c",
            str(passwd),
            "ha",
            "s3cret-pw",
        ],
        check=True,
        capture_output=True,
    )
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\n"
        "persistence false\n"
        # run as whoever runs the tests: as root, mosquitto would switch to a user that
        # cannot read the password file in pytest's private folder
        f"user {getpass.getuser()}\n"
    )
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.PIPE, text=True)
    try:
        _wait_running(proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_running(proc: subprocess.Popen[str]) -> None:
    """Read mosquitto's log until it says it is running (it logs that once listening)."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if " running" in line:
            return
    raise AssertionError("mosquitto did not start: " + "".join(seen))


def _history() -> History:
    return History(
        {
            "micro_inverters": {
                "121000000001": {"2025-06-01": {"daily_energy": 1500, "lifetime_energy": 9000}},
                "121000000002": {"2025-06-01": {"daily_energy": 1100, "lifetime_energy": 8000}},
            }
        }
    )


def _collect(port: int, expected: int) -> dict[str, tuple[str, bool]]:
    """Every retained message on the broker, as a NEW subscriber sees it."""
    got: dict[str, tuple[str, bool]] = {}
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set("ha", "s3cret-pw")

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        got[msg.topic] = (msg.payload.decode(), bool(msg.retain))
        if len(got) >= expected:
            done.set()

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    done.wait(10)
    client.loop_stop()
    client.disconnect()
    return got


@needs_broker
def test_discovery_and_states_are_retained_and_follow_the_schema(broker: int) -> None:
    target = Broker("127.0.0.1", broker, "ha", "s3cret-pw", topic_prefix="solar")
    messages = build_messages(target, _history(), None, system_id="42", system_name="Home")
    publish(target, messages)
    got = _collect(broker, len(messages))
    assert set(got) == {m.topic for m in messages}
    assert all(retained for _, retained in got.values())
    energy = json.loads(got["homeassistant/sensor/solar_121000000001/energy/config"][0])
    assert set(energy) <= SENSOR_KEYS and set(energy["device"]) <= DEVICE_KEYS
    assert (energy["device_class"], energy["state_class"], energy["unit_of_measurement"]) == (
        "energy",
        "total",
        "Wh",
    )
    assert energy["device"]["via_device"] == "enphase_system_42"
    weak = json.loads(got["homeassistant/binary_sensor/solar_121000000001/weak/config"][0])
    assert set(weak) <= BINARY_KEYS and weak["device_class"] == "problem"
    assert json.loads(got["solar/42/121000000001/state"][0]) == {
        "date": "2025-06-01",
        "energy_wh": 1500,
        "ratio": None,
    }
    assert got["solar/42/121000000002/weak"][0] == "OFF"
    assert json.loads(got["solar/42/array/state"][0])["energy_wh"] == 2600
    assert json.loads(got["solar/42/status"][0])["status"] == "ok"
    for message in messages:
        assert "+" not in message.topic and "#" not in message.topic


@needs_broker
def test_a_refused_login_is_an_mqtt_error_without_the_password(broker: int) -> None:
    target = Broker("127.0.0.1", broker, "ha", "wrong-password-xyz", topic_prefix="solar")
    with pytest.raises(MqttError) as caught:
        publish(target, [], timeout=5)
    assert "refused" in str(caught.value) and "wrong-password-xyz" not in str(caught.value)


def test_a_broker_that_is_down_is_an_mqtt_error() -> None:
    with pytest.raises(MqttError, match="cannot reach"):
        publish(Broker("127.0.0.1", _free_port()), [], timeout=2)


# --- the user's path: the nightly job with an ``mqtt`` section -------------------------------


def _job(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run_inverter_daily_stats.main(["--config", str(config), "--no-sheet"])
    out, err = capsys.readouterr()
    return code, out + err


@needs_broker
def test_the_nightly_job_publishes_and_a_refused_login_keeps_the_history(
    tmp_path: Path, enlighten: Any, broker: int, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = enlighten(SiteScenario.healthy())
    good = {"host": "127.0.0.1", "port": broker, "username": "ha", "password": "s3cret-pw"}
    config = write_config(tmp_path, emulator, mqtt=good)
    night(emulator, 0)
    night(emulator, 1)
    code, output = _job(config, capsys)
    assert code == 0, output
    assert "s3cret-pw" not in output
    history = load_history(load_config(config).history_path)
    serial = history.serials()[0]
    got = _collect(broker, 6 * len(history.serials()) + 4)
    assert f"homeassistant/sensor/panel_tracker_{serial}/energy/config" in got
    state = json.loads(got[f"panel_tracker/{emulator.site.system_id}/{serial}/state"][0])
    assert state["energy_wh"] == history.daily(serial, state["date"])

    raw = json.loads(config.read_text())
    raw["mqtt"]["password"] = "not-the-password-42"
    config.write_text(json.dumps(raw))
    before = load_config(config).history_path.read_bytes()
    night(emulator, 2)
    code, output = _job(config, capsys)
    assert code == 1
    assert "error: MQTT export failed" in output and "refused" in output
    assert "not-the-password-42" not in output
    assert load_config(config).history_path.read_bytes() != before  # the night was recorded


def test_a_topic_prefix_with_a_wildcard_is_exit_2_naming_the_key(
    tmp_path: Path, enlighten: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = enlighten(SiteScenario.healthy())
    config = write_config(tmp_path, emulator, mqtt={"host": "127.0.0.1", "topic_prefix": "a/#"})
    night(emulator, 0)
    code, output = _job(config, capsys)
    assert code == 2
    assert "error:" in output and "mqtt.topic_prefix" in output and "'a/#'" in output
