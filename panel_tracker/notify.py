"""Telling the owner: a webhook, an e-mail, and a healthcheck ping for the cron job itself.

Everything is optional, in the config's ``"alerts"`` object (the settings module checks it
and builds ``AlertSettings``; nothing here reads the config)::

    "alerts": {
      "webhook_url": "https://hooks.example.com/services/T000/B000/XXXX",
      "smtp": {"host": "smtp.example.com", "port": 587, "starttls": true, "ssl": false,
               "user": "me@example.com", "password": "...",
               "from": "solar@example.com", "to": ["me@example.com"]},
      "healthcheck_url": "https://hc-ping.com/<uuid>",
      "timeout_seconds": 10
    }

A failed delivery is a logged warning (and returned to the caller), never an exception: the
history is already saved when alerts go out, and a mail server being down must not turn a good
run into a failed one. The webhook and healthcheck URLs carry their secret in the path, and the
SMTP password is a secret: none of them is ever logged; a URL is named by its host only.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit

import requests

from .health.episodes import AlertEvent
from .redaction import redact

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
MAX_PING_BODY = 10_000  # healthchecks.io keeps the first 100 kB; a summary is much shorter
USER_AGENT = "enphase-panel-tracker alerts"


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """The alert channels; a URL that is None (or a placeholder) is off."""

    webhook_url: str | None = None
    healthcheck_url: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT
    smtp: Mapping[str, Any] | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Other secrets (the Enlighten tokens) to redact from failure texts."""


def _url(value: str | None) -> str | None:
    if not isinstance(value, str) or not value.strip() or value.strip().startswith("<"):
        return None
    return value.strip()


def where(url: str) -> str:
    """A URL as it may appear in a log: scheme and host, never the path that holds the token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" if parts.scheme else "the configured URL"


def alert_secrets(settings: AlertSettings) -> list[str]:
    """The secrets in the alerts settings, for ``cli.register_secrets`` (redaction by value)."""
    found: list[str] = []
    for value in (settings.webhook_url, settings.healthcheck_url):
        url = _url(value)
        if url:
            parts = urlsplit(url)
            found += [piece for piece in (parts.path.strip("/"), parts.query) if len(piece) >= 6]
            if parts.password:
                found.append(parts.password)
    smtp = settings.smtp
    if isinstance(smtp, Mapping):
        password = smtp.get("password")
        if isinstance(password, str) and password:
            found.append(password)
    return found


def _clean(text: str, settings: AlertSettings) -> str:
    return redact(text, [*alert_secrets(settings), *settings.secrets])


def _failure(what: str, exc: BaseException, settings: AlertSettings) -> str:
    # Exception texts of requests and smtplib quote URLs and server replies: redact them.
    return _clean(f"{what} failed: {type(exc).__name__}: {exc}", settings)


# --- alerts ----------------------------------------------------------------------------------


def send_alerts(
    events: list[AlertEvent], settings: AlertSettings, *, system_name: str, system_id: str = ""
) -> list[str]:
    """Send each event to every configured channel; return a warning per failed delivery."""
    if not events:
        return []
    warnings: list[str] = []
    webhook = _url(settings.webhook_url)
    timeout = settings.timeout_seconds
    if webhook:
        for event in events:
            body = webhook_payload(event, system_name=system_name, system_id=system_id)
            problem = _post_webhook(webhook, event, body, settings)
            if problem:
                warnings.append(problem)
    smtp = settings.smtp
    if smtp is not None:
        warnings += _send_mails(smtp, events, settings, system_name, timeout)
    for warning in warnings:
        logger.warning("%s", warning)
    if not webhook and smtp is None:
        logger.debug("no alert channel configured; %d event(s) only in the summary", len(events))
    return warnings


def webhook_payload(event: AlertEvent, *, system_name: str, system_id: str) -> dict[str, Any]:
    """The JSON body: the event's fields plus a ready-to-show ``text`` (Slack-style)."""
    return {
        "system": system_name,
        "system_id": system_id,
        "event": event.kind,
        **{k: v for k, v in event.as_dict().items() if k != "kind"},
        "text": f"{system_name}: {event.headline()}. {event.text()}",
    }


def _post_webhook(
    url: str, event: AlertEvent, body: dict[str, Any], settings: AlertSettings
) -> str | None:
    try:
        response = requests.post(
            url,
            data=json.dumps(body),
            timeout=settings.timeout_seconds,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
    except requests.RequestException as exc:
        return _failure(f"webhook alert to {where(url)}", exc, settings)
    if not response.ok:
        return f"webhook alert to {where(url)} failed: HTTP {response.status_code}"
    logger.info("webhook alert sent to %s: %s", where(url), event.headline())
    return None


def _addresses(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [str(part).strip() for part in value if str(part).strip()]
    return []


def _send_mails(
    smtp: Any, events: list[AlertEvent], settings: AlertSettings, system_name: str, timeout: float
) -> list[str]:
    if not isinstance(smtp, Mapping):
        return ["e-mail alerts: config 'alerts.smtp' must be an object; no e-mail sent"]
    host = smtp.get("host")
    recipients = _addresses(smtp.get("to"))
    sender = smtp.get("from") or smtp.get("user")
    missing = [
        name for name, value in (("host", host), ("to", recipients), ("from", sender)) if not value
    ]
    if missing:
        return [f"e-mail alerts: set alerts.smtp {', '.join(missing)}; no e-mail sent"]
    use_ssl = bool(smtp.get("ssl", False))
    starttls = bool(smtp.get("starttls", not use_ssl))
    port = smtp.get("port") or (465 if use_ssl else 587)
    if isinstance(port, bool) or not isinstance(port, int):
        return [f"e-mail alerts: alerts.smtp port must be a number, got {port!r}; no e-mail sent"]
    messages = [_mail(event, str(sender), recipients, system_name) for event in events]
    try:
        client: smtplib.SMTP
        if use_ssl:
            client = smtplib.SMTP_SSL(
                str(host), port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(str(host), port, timeout=timeout)
        with client:
            if starttls and not use_ssl:
                client.starttls(context=ssl.create_default_context())
            user, password = smtp.get("user"), smtp.get("password")
            if user and password:
                client.login(str(user), str(password))
            for message in messages:
                client.send_message(message)
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        return [_failure(f"e-mail alert via {host}:{port}", exc, settings)]
    logger.info("e-mail alert(s) sent to %s: %d message(s)", ", ".join(recipients), len(messages))
    return []


def _mail(event: AlertEvent, sender: str, recipients: list[str], system_name: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"[{system_name}] {event.headline()}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="panel-tracker.local")
    message.set_content(
        f"{event.text()}\n\nSystem: {system_name}\nDay: {event.day}\n"
        "\n-- the daily panel health check (alerts are sent once when a panel becomes weak or "
        "stops reporting, and once when it is fine again)\n"
    )
    return message


# --- healthcheck ------------------------------------------------------------------------------


def ping_healthcheck(settings: AlertSettings, *, success: bool, message: str = "") -> None:
    """Ping ``<url>`` after a good run and ``<url>/fail`` after a failed one (healthchecks.io).

    The message (e.g. the error line) goes along as the ping's body, redacted. A ping that
    cannot be delivered is a logged warning: the dead-man's switch on the other side will
    notice the missing ping on its own.
    """
    base = _url(settings.healthcheck_url)
    if not base:
        return
    url = base if success else base.rstrip("/") + "/fail"
    body = _clean(message, settings).encode("utf-8")[:MAX_PING_BODY]
    try:
        response = requests.post(
            url,
            data=body,
            timeout=settings.timeout_seconds,
            headers={"User-Agent": USER_AGENT, "Content-Type": "text/plain; charset=utf-8"},
        )
    except requests.RequestException as exc:
        logger.warning("%s", _failure(f"healthcheck ping to {where(base)}", exc, settings))
        return
    if not response.ok:
        logger.warning("healthcheck ping to %s failed: HTTP %s", where(base), response.status_code)
        return
    logger.info("healthcheck pinged (%s)", "success" if success else "failure")
