"""A loopback Enphase gateway (Envoy / IQ Gateway) that replays answers recorded from real ones.

Each folder of ``tests/fixtures/envoy/<firmware>/`` holds one real gateway's answers, one file
per endpoint, named the way pyenphase's fixture collector names them (the path and query with
``/ ? = &`` turned into ``_``), with ``<name>_log.json`` beside it holding the recorded status
and headers. The emulator serves exactly those bytes with that status and content type; what
the recording lacks is a 404, as on a gateway without that endpoint; except that a query the
recording lacks (``/production.json?details=1``) gets the recorded answer of its bare path, which
a gateway gives too (``details=1`` only adds per-phase lines; several recordings hold only the
bare one). Firmware 7 and later is
served over HTTPS with a self-signed certificate made at start (as a real gateway's is) and
wants the owner's token (``/auth/check_jwt``); older firmware is plain HTTP.

For multi-night tests a test may move a micro's counters: ``set_micro`` rewrites only that
micro's lifetime and last-report fields in the recorded device data. Or the gateway serves a
simulated site (``site=``, at ``sim_now``): one device per micro the site lists, shaped as the
recording's first micro, with the site's serial, lifetime counter and report time, and no DC
readings (the site does not model them). Everything else stays the recording. (A gateway
that is down is a closed port: no emulator needed.)
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .loopback_server import LoopbackEmulator, LoopbackServer, QuietHandler
from .site import SimulatedSite

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "envoy"
DEVICE_DATA = "ivp_pdm_device_data"


def fixture_name(target: str) -> str:
    """The recording's file name for a request target, as pyenphase's collector names it.

    >>> fixture_name("/production.json?details=1")
    'production.json_details_1'
    """
    return re.sub(r"[/?=& ]", "_", target).lstrip("_")


def firmware_major(folder: Path) -> int:
    """The major version in the recorded ``/info`` (``<software>D8.2.4345</software>``)."""
    found = re.search(rb"<software>\D*(\d+)\.", (folder / "info").read_bytes())
    return int(found.group(1)) if found else 0


@dataclass
class Recorded:
    status: int
    content_type: str
    body: bytes


def recorded(folder: Path, name: str) -> Recorded | None:
    """One endpoint's recorded answer, or None when the gateway was not asked it."""
    path = folder / name
    if not path.is_file():
        return None
    status, content_type = 200, "text/xml" if name == "info" else "application/json"
    log = folder / f"{name}_log.json"
    if log.is_file():
        meta = json.loads(log.read_text(encoding="utf-8"))
        status = int(meta.get("code", 200))
        content_type = meta.get("headers", {}).get("content-type", content_type)
    return Recorded(status, content_type, path.read_bytes())


def _jwt_exp(token: str) -> int | None:
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return int(data["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def self_signed_context(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "envoy.local")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


class _Server(LoopbackServer):
    emulator: EnvoyEmulator


class _Handler(QuietHandler):
    server: _Server

    def _serve(self) -> None:
        emulator = self.server.emulator
        emulator.requests.append(self.path)
        reply = emulator.answer(self.path, self.headers.get("Authorization", ""))
        self.send_reply(reply.status, reply.content_type, reply.body)


class EnvoyEmulator(LoopbackEmulator):
    """One recorded gateway on 127.0.0.1; ``host`` is what a config's ``envoy_host`` takes."""

    thread_name = "envoy-emulator"

    def __init__(
        self,
        firmware: str,
        *,
        token: str | None = None,
        now: int | None = None,
        site: SimulatedSite | None = None,
    ) -> None:
        super().__init__()
        self.site = site
        self.sim_now: dt.datetime | None = None  # the site's clock, with ``site``
        self.folder = FIXTURES / firmware
        if not (self.folder / "info").is_file():
            raise FileNotFoundError(f"no recorded gateway {firmware!r} in {FIXTURES}")
        self.secure = firmware_major(self.folder) >= 7
        self.token = token
        self.now = now  # the clock a token's expiry is judged by (epoch seconds)
        self.requests: list[str] = []
        self._micros: dict[str, tuple[int, int]] = {}
        self._renamed: dict[str, str] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="envoy-emulator-")
        self.certificate = Path(self._tmp.name) / "cert.pem"  # written at start (HTTPS only)

    @property
    def host(self) -> str:
        return self.url.split("//", 1)[1].rstrip("/")

    def _make_server(self) -> LoopbackServer:
        server = _Server(_Handler, self)
        if self.secure:
            context = self_signed_context(Path(self._tmp.name))
            server.socket = context.wrap_socket(server.socket, server_side=True)
        return server

    def start(self) -> str:
        url = super().start()
        if self.secure:
            self.url = url = url.replace("http://", "https://", 1)
        return url

    def stop(self) -> None:
        super().stop()
        self._tmp.cleanup()

    def set_micro(self, serial: str, *, lifetime_joules: int, end_date: int) -> None:
        """Move one micro's counters (the simulated site) in the device-data answer."""
        self._micros[serial] = (lifetime_joules, end_date)

    def replace_micro(self, old: str, new: str, *, lifetime_joules: int, end_date: int) -> None:
        """The installer swapped micro ``old`` for ``new`` (fresh counters) in its place."""
        self._renamed[old] = new
        self._micros[new] = (lifetime_joules, end_date)

    def answer(self, target: str, authorization: str) -> Recorded:
        name = fixture_name(target)
        if self.secure and name == "auth_check_jwt":
            return self._check_jwt(authorization)
        if self.secure and name != "info" and not self._token_ok(authorization):
            return Recorded(401, "text/html", b"<html><body>401 Unauthorized</body></html>")
        found = recorded(self.folder, name)
        if found is None and "?" in target:
            found = recorded(self.folder, fixture_name(target.partition("?")[0]))
        if found is None:
            return Recorded(404, "text/html", b"<html><body>404 Not Found</body></html>")
        if name == DEVICE_DATA and self.site is not None:
            found = Recorded(found.status, found.content_type, self._site_devices(found.body))
        elif name == DEVICE_DATA and (self._micros or self._renamed):
            found = Recorded(found.status, found.content_type, self._moved(found.body))
        return found

    def _site_devices(self, body: bytes) -> bytes:
        assert self.site is not None and self.sim_now is not None, "set sim_now first"
        data: dict[str, Any] = json.loads(body)
        first, template = next(
            (key, device)
            for key, device in data.items()
            if isinstance(device, dict) and device.get("devName") == "pcu"
        )
        devices: dict[str, Any] = {
            key: value for key, value in data.items() if not isinstance(value, dict)
        }
        counters = self.site.counters(self.sim_now)
        for index, (serial, lifetime_wh, when) in enumerate(counters):
            device = json.loads(json.dumps(template))
            device.update(sn=serial, active=True)
            channel = device["channels"][0]
            channel["lifetime"]["joulesProduced"] = lifetime_wh * 3600
            reading = channel["lastReading"]
            reading["endDate"] = int(when.timestamp())
            for key in ("dcVoltageINmV", "dcCurrentINmA", "channelTemp"):
                reading.pop(key, None)
            devices[str(int(first) + 256 * index)] = device  # the gateway's device ids
        devices["deviceCount"] = len(counters)
        return json.dumps(devices).encode()

    def _token_ok(self, authorization: str) -> bool:
        if self.token is None:
            return True
        given = authorization.removeprefix("Bearer ").strip()
        exp = _jwt_exp(given)
        return given == self.token and (self.now is None or (exp is not None and exp > self.now))

    def _check_jwt(self, authorization: str) -> Recorded:
        if self._token_ok(authorization):
            return Recorded(200, "text/html", b"<!DOCTYPE html><h2>Valid token.</h2>")
        return Recorded(401, "text/html", b"<html><body>401 Unauthorized</body></html>")

    def _moved(self, body: bytes) -> bytes:
        data: dict[str, Any] = json.loads(body)
        for device in data.values():
            if isinstance(device, dict) and device.get("sn") in self._renamed:
                device["sn"] = self._renamed[device["sn"]]
            if not isinstance(device, dict) or device.get("sn") not in self._micros:
                continue
            joules, end = self._micros[device["sn"]]
            channel = device["channels"][0]
            channel["lifetime"]["joulesProduced"] = joules
            channel["lastReading"]["endDate"] = end
        return json.dumps(data).encode()
