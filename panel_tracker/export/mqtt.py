"""Home Assistant over MQTT: discovery documents and retained states, one device per micro.

Topics (``<p>`` is ``topic_prefix``, ``<d>`` the discovery prefix, default ``homeassistant``)::

  <d>/sensor/<p>_<serial>/energy/config         discovery (retained)
  <d>/sensor/<p>_<serial>/ratio/config
  <d>/binary_sensor/<p>_<serial>/weak/config
  <d>/sensor/<p>_<system>/array_energy/config
  <d>/sensor/<p>_<system>/run_status/config
  <p>/<system>/<serial>/state                   {"date", "energy_wh", "ratio"}   (retained)
  <p>/<system>/<serial>/weak                    ON/OFF                            (retained)
  <p>/<system>/<serial>/weak/attributes         {"since", "lost_wh", "weak_days"} (retained)
  <p>/<system>/array/state                      {"date", "energy_wh"}             (retained)
  <p>/<system>/status                           {"status", "date", "message"}     (retained)

Energy sensors are ``device_class: energy`` with ``state_class: total`` and a ``last_reset`` of
the day's start, so Home Assistant's long-term statistics take each day as its own total. The
client connects once, publishes with QoS 1 and waits a bounded time; a broker that is down or
refuses the login raises ``MqttError`` (never retried forever).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ..errors import PanelTrackerError
from ..health.assess import HealthReport
from ..history import History

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0


class MqttError(PanelTrackerError):
    """The broker could not be reached or refused; the history is saved regardless."""


@dataclass(frozen=True)
class Broker:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    topic_prefix: str = "panel_tracker"
    discovery_prefix: str = "homeassistant"


@dataclass(frozen=True)
class Message:
    topic: str
    payload: str
    retain: bool = True


def _device(system_id: str, serial: str, system_name: str) -> dict[str, Any]:
    return {
        "identifiers": [f"enphase_micro_{serial}"],
        "name": f"Micro-inverter {serial}",
        "manufacturer": "Enphase",
        "model": "Micro-inverter",
        "serial_number": serial,
        "via_device": f"enphase_system_{system_id}",
        "suggested_area": system_name,
    }


def _system_device(system_id: str, system_name: str) -> dict[str, Any]:
    return {
        "identifiers": [f"enphase_system_{system_id}"],
        "name": system_name,
        "manufacturer": "Enphase",
        "model": "Solar array",
    }


def _config(broker: Broker, component: str, node: str, obj: str, body: dict[str, Any]) -> Message:
    topic = f"{broker.discovery_prefix}/{component}/{broker.topic_prefix}_{node}/{obj}/config"
    return Message(topic, json.dumps(body, sort_keys=True))


def _daily_energy(
    name: str, unique_id: str, state_topic: str, device: dict[str, Any]
) -> dict[str, Any]:
    """A day's energy sensor: a total that resets each day, so Home Assistant's long-term
    statistics take every day as its own."""
    return {
        "name": name,
        "unique_id": unique_id,
        "object_id": unique_id,
        "state_topic": state_topic,
        "value_template": "{{ value_json.energy_wh }}",
        "unit_of_measurement": "Wh",
        "device_class": "energy",
        "state_class": "total",
        "last_reset_value_template": "{{ value_json.date }}T00:00:00",
        "device": device,
    }


def _panel_messages(
    broker: Broker, system_id: str, system_name: str, serial: str, report: HealthReport | None
) -> Iterator[Message]:
    base = f"{broker.topic_prefix}/{system_id}/{serial}"
    device = _device(system_id, serial, system_name)
    uid = f"{broker.topic_prefix}_{serial}"
    yield _config(
        broker,
        "sensor",
        serial,
        "energy",
        _daily_energy("Daily energy", f"{uid}_energy", f"{base}/state", device),
    )
    yield _config(
        broker,
        "sensor",
        serial,
        "ratio",
        {
            "name": "Ratio to group",
            "unique_id": f"{uid}_ratio",
            "object_id": f"{uid}_ratio",
            "state_topic": f"{base}/state",
            "value_template": "{{ value_json.ratio }}",
            "unit_of_measurement": "%",
            "state_class": "measurement",
            "device": device,
        },
    )
    yield _config(
        broker,
        "binary_sensor",
        serial,
        "weak",
        {
            "name": "Weak",
            "unique_id": f"{uid}_weak",
            "object_id": f"{uid}_weak",
            "state_topic": f"{base}/weak",
            "payload_on": "ON",
            "payload_off": "OFF",
            "device_class": "problem",
            "json_attributes_topic": f"{base}/weak/attributes",
            "device": device,
        },
    )
    verdict = report.verdict(serial) if report else None
    yield Message(f"{base}/weak", "ON" if verdict and verdict.weak else "OFF")
    yield Message(
        f"{base}/weak/attributes",
        json.dumps(
            {
                "since": verdict.since if verdict and verdict.weak else None,
                "lost_wh": verdict.lost_wh if verdict and verdict.weak else 0,
                "weak_days": verdict.weak_days if verdict else 0,
            },
            sort_keys=True,
        ),
    )


def _ratio(report: HealthReport | None, serial: str) -> float | None:
    verdict = report.verdict(serial) if report else None
    if verdict is None or verdict.last_ratio is None:
        return None
    return round(100 * verdict.last_ratio, 1)


def build_messages(
    broker: Broker,
    history: History,
    report: HealthReport | None,
    *,
    system_id: str,
    system_name: str,
    status: str = "ok",
    message: str = "",
) -> list[Message]:
    """Every message one run publishes (pure: tests check them without a broker too)."""
    day = max(history.dates(), default=None)
    out: list[Message] = []
    total = 0
    for serial in history.serials():
        out.extend(_panel_messages(broker, system_id, system_name, serial, report))
        wh = history.daily(serial, day) if day else None
        total += wh or 0
        out.append(
            Message(
                f"{broker.topic_prefix}/{system_id}/{serial}/state",
                json.dumps(
                    {"date": day, "energy_wh": wh, "ratio": _ratio(report, serial)}, sort_keys=True
                ),
            )
        )
    out.extend(_system_messages(broker, system_id, system_name))
    base = f"{broker.topic_prefix}/{system_id}"
    out.append(
        Message(
            f"{base}/array/state", json.dumps({"date": day, "energy_wh": total}, sort_keys=True)
        )
    )
    out.append(
        Message(
            f"{base}/status",
            json.dumps({"status": status, "date": day, "message": message}, sort_keys=True),
        )
    )
    return out


def _system_messages(broker: Broker, system_id: str, system_name: str) -> Iterator[Message]:
    base = f"{broker.topic_prefix}/{system_id}"
    device = _system_device(system_id, system_name)
    uid = f"{broker.topic_prefix}_{system_id}"
    yield _config(
        broker,
        "sensor",
        system_id,
        "array_energy",
        _daily_energy("Array daily energy", f"{uid}_array_energy", f"{base}/array/state", device),
    )
    yield _config(
        broker,
        "sensor",
        system_id,
        "run_status",
        {
            "name": "Last run",
            "unique_id": f"{uid}_run_status",
            "object_id": f"{uid}_run_status",
            "state_topic": f"{base}/status",
            "value_template": "{{ value_json.status }}",
            "json_attributes_topic": f"{base}/status",
            "device": device,
        },
    )


def publish(broker: Broker, messages: list[Message], *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Connect once, publish every message (QoS 1, retained) and disconnect; MqttError if not."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    where = f"MQTT broker {broker.host}:{broker.port}"
    hint = "check the mqtt section of the config (host, port, username, password, tls)"
    try:
        client.connect(broker.host, broker.port, keepalive=30)
    except (OSError, ValueError) as err:
        raise MqttError(f"cannot reach the {where}: {err}", hint=hint) from err
    connected = threading.Event()
    outcome: list[Any] = []

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        outcome.append(reason)
        connected.set()

    client.on_connect = on_connect
    client.loop_start()
    try:
        if not connected.wait(timeout):
            raise MqttError(f"the {where} did not answer in {timeout:g} s", hint=hint)
        if outcome[0].is_failure:
            raise MqttError(f"the {where} refused the connection: {outcome[0]}", hint=hint)
        _publish_all(client, messages, where, hint, timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    logger.info("MQTT: %s messages published to %s", len(messages), where)


def _publish_all(
    client: mqtt.Client, messages: list[Message], where: str, hint: str, timeout: float
) -> None:
    infos = [client.publish(m.topic, m.payload, qos=1, retain=m.retain) for m in messages]
    for info in infos:
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as err:
            raise MqttError(f"the {where} did not take the messages: {err}", hint=hint) from err
        if not info.is_published():
            raise MqttError(f"the {where} did not confirm the messages in {timeout:g} s", hint=hint)


def as_broker(settings: Mapping[str, Any]) -> Broker:
    """A Broker from plain values (the app layer passes them from the settings)."""
    return Broker(**settings)
