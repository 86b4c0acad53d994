"""The exports (SQLite, CSV, Home Assistant over MQTT), after the history is saved.

Nothing here can lose or block the history: the daily job calls ``run_exports`` only once the
history is on disk, and every export failure becomes one of the run's failures (exit 1, the
next night catches up), never an exception out of the job. Bad export settings are a
ConfigError (exit 2) raised before anything is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from ..errors import PanelTrackerError
from ..export.csv import export_csv
from ..export.mqtt import Broker, build_messages, publish
from ..export.settings_keys import ExportSettings, MqttSettings, parse_export_settings
from ..export.sqlite import Layout, export_sqlite
from ..health.assess import HealthReport, assess
from ..health.groups import ONE_ARRAY
from ..history import History, load_history
from ..roof import PanelLayout, layout_serials
from ..settings import Config

logger = logging.getLogger(__name__)


def export_settings(config: Config) -> ExportSettings:
    return config.settings.exports


def export_secrets(config: Config) -> list[str]:
    """The MQTT password, for the scripts to register with redaction (like alert_secrets)."""
    mqtt = config.settings.exports.mqtt
    return [mqtt.password] if mqtt is not None and mqtt.password else []


def layout_of(layout: PanelLayout | None, groups: Mapping[str, str] | None = None) -> Layout:
    """Each serial's (group, position): position is its place in ``layout`` (the config's
    ``panel_layout``), read face by face and row by row from 1; group is the name of its face
    when the layout names faces, else its health group (``groups``: serial -> name, see
    ``health_groups``), None on a roof judged as one array."""
    faces = layout or ()
    position = {s: n for n, s in enumerate(layout_serials(layout), start=1)}
    face_of = {s: face.name for face in faces if face.name is not None for s in face.serials}
    given = groups or {}
    return {
        serial: (face_of.get(serial, given.get(serial)), position.get(serial))
        for serial in [*position, *(s for s in given if s not in position)]
    }


def health_groups(report: HealthReport | None) -> dict[str, str]:
    """Each serial's health group by name, when the roof was judged in groups (configured or
    found); empty for one array or without a verdict."""
    table = report.table if report is not None else None
    if table is None or table.groups is None or table.groups.source == ONE_ARRAY:
        return {}
    return table.group_names() or {}


def broker_of(mqtt: MqttSettings) -> Broker:
    return Broker(
        host=mqtt.host,
        port=mqtt.port,
        username=mqtt.username,
        password=mqtt.password,
        tls=mqtt.tls,
        topic_prefix=mqtt.topic_prefix,
        discovery_prefix=mqtt.discovery_prefix,
    )


def _resolve(config: Config, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else config.path.parent / path


def run_exports(
    config: Config, history: History, report: HealthReport | None, *, status: str = "ok"
) -> tuple[list[str], list[str]]:
    """Bring every configured export in step; (notes, failures) for the run's summary."""
    settings = export_settings(config)
    notes: list[str] = []
    failures: list[str] = []
    if settings.sqlite_file:
        path = _resolve(config, settings.sqlite_file)
        try:
            layout = layout_of(config.settings.report.panel_layout, health_groups(report))
            rows = export_sqlite(path, history, layout)
            notes.append(f"SQLite: {rows} day row(s) written to {path}")
        except PanelTrackerError as exc:
            failures.append(f"SQLite export failed: {exc} (the history is saved)")
    if settings.mqtt:
        broker = broker_of(settings.mqtt)
        try:
            messages = build_messages(
                broker,
                history,
                report,
                system_id=config.system_id,
                system_name=config.name,
                status=status,
            )
            publish(broker, messages)
            notes.append(f"MQTT: {len(messages)} retained message(s) to {broker.host}")
        except PanelTrackerError as exc:
            failures.append(f"MQTT export failed: {exc} (the history is saved)")
    return notes, failures


def export_command(
    config: Config,
    *,
    sqlite: Path | None,
    rebuild: bool,
    csv_dir: Path | None,
    date_format: str | None,
) -> list[str]:
    """``export --sqlite FILE [--rebuild]`` / ``export --csv DIR``: the lines to print."""
    settings = export_settings(config)
    if date_format is not None:
        parse_export_settings({"csv_date_format": date_format})  # same check as the key
    history = load_history(config.history_path)
    lines: list[str] = []
    if sqlite is not None:
        report = assess(
            history,
            config.settings.health,
            panel_watts=config.settings.panel_watts,
            replacements=config.settings.replacements,
        )
        layout = layout_of(config.settings.report.panel_layout, health_groups(report))
        rows = export_sqlite(sqlite, history, layout, rebuild=rebuild)
        lines.append(f"SQLite: {rows} day row(s) written to {sqlite}")
    if csv_dir is not None:
        fmt = date_format or settings.csv_date_format
        files = export_csv(csv_dir, history, fmt)
        lines.append(f"CSV: {len(files)} file(s) written to {csv_dir}")
    return lines
