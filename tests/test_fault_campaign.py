"""The fault campaign (issue 9 item 9): the real daily job, as cron runs it, against bad answers,
dead or slow servers and bad history files.

Each case runs ``run_inverter_daily_stats.main`` in-process against the Enlighten emulator
(or a loopback socket that resets, truncates or never answers) after two good nights, with
the retry back-off injected (no test sleeps) and, for the server that never answers, the
client's timeout set small. For each
it asserts what the README's exit table promises: exit 0 with a warning naming the serial,
or exit 1/2 with one ``error:`` line; never a traceback or "unexpected"; and the history
after the run holds nothing lost or invented: unchanged on a failure; on a success every
untouched panel's new day is the simulated truth and the faulted panel's day is missing,
unknown or plausible, and once the next good night comes its days sum exactly to the truth,
each within 25 % of it (never a whole gap put on one day). Faults of the inverter summary,
energy_lifetime, a paid plan's telemetry, the token refresh and the system's details are
each taken in turn, then bad history files and bad settings.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

import run_inverter_daily_stats
from panel_tracker.settings import load_config
from sandbox.enlighten_emulator import MALFORMED, EnlightenEmulator
from sandbox.site import SimulatedSite, SiteScenario
from tests.conftest import (
    API_KEY,
    assert_no_secrets,
    config_secrets,
    night,
    start_emulator,
    write_config,
)

SUMMARY = "inverters_summary"
# panel_watts unset: the README's default of 500 W for 24 hours a day.
MAX_DAY_WH = 500 * 24
TIMEOUT_S = 0.3
GOOD_NIGHTS = 2  # night 0: first day unknown; night 1: a real day
FAULT_NIGHT = GOOD_NIGHTS


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    waits: list[float]

    @property
    def errors(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Site:
    """The emulator, a config pointing at it, and the job run against them."""

    emulator: EnlightenEmulator
    config: Path
    capsys: pytest.CaptureFixture[str]
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        # read once: a case may spoil the config itself
        self.history_path: Path = load_config(self.config).history_path

    def history(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.history_path.read_text(encoding="utf-8"))
        return data

    def run(self, offset: int) -> Outcome:
        night(self.emulator, offset)
        secrets = config_secrets(self.config)
        waits: list[float] = []
        code = run_inverter_daily_stats.main(
            ["--config", str(self.config), "--no-sheet"], sleep=waits.append
        )
        out, err = self.capsys.readouterr()
        assert_no_secrets(out + err, secrets + config_secrets(self.config))
        assert "Traceback" not in out + err
        assert "unexpected" not in (out + err).lower()
        outcome = Outcome(code, out, err, waits)
        self.outcomes.append(outcome)
        return outcome

    def day(self, offset: int) -> date:
        return self.emulator.site.days()[0] + timedelta(days=offset)

    def truth(self, serial: str, offset: int) -> int | None:
        return self.emulator.site.truth_daily(serial, self.day(offset))

    @property
    def serials(self) -> list[str]:
        return sorted(self.emulator.site.serials)

    def set_config(self, **keys: Any) -> None:
        raw = json.loads(self.config.read_text())
        raw.update(keys)
        self.config.write_text(json.dumps(raw, indent=4))

    def telemetry_answer(self, offset: int, serial: str, start: date) -> dict[str, Any]:
        """What the emulator answers on ``offset``'s night to the client's telemetry call."""
        night(self.emulator, offset)
        access, _ = self.emulator.issue_tokens()
        site = self.emulator.site
        answer = requests.get(
            f"{self.emulator.url.rstrip('/')}/api/v4/systems/{site.system_id}/devices/micros/{serial}"
            "/telemetry",
            params={"start_date": start.isoformat(), "granularity": "week", "key": API_KEY},
            headers={"Authorization": f"Bearer {access}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def summary_answer(self, offset: int) -> list[dict[str, Any]]:
        """What the emulator would answer on ``offset``'s night: a body to spoil."""
        night(self.emulator, offset)
        return self.emulator.site.inverter_summary(self.emulator.sim_now)


def recorded_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], **options: Any
) -> Iterator[Site]:
    """Four healthy panels (energies in Wh), two good nights recorded."""
    emulator = start_emulator(
        SimulatedSite(SiteScenario.healthy(n_panels=4, kj_serials=0)), **options
    )
    config = write_config(tmp_path, emulator)
    state = Site(emulator, config, capsys)
    try:
        for offset in range(GOOD_NIGHTS):
            assert state.run(offset).code == 0, state.outcomes[-1].text
        yield state
    finally:
        emulator.stop()


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Site]:
    """On the free Watt plan: a gap is split by the system's production."""
    yield from recorded_site(tmp_path, capsys)


@pytest.fixture
def paid_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Site]:
    """On the Kilowatt plan: a gap is filled from each micro's own telemetry."""
    yield from recorded_site(tmp_path, capsys, plan="kilowatt")


def assert_failed_cleanly(site: Site, outcome: Outcome, before: bytes, code: int = 1) -> str:
    """Exit ``code``, one ``error:`` line, the history byte for byte as before."""
    assert outcome.code == code, outcome.text
    assert len(outcome.errors) == 1, outcome.err
    assert site.history_path.read_bytes() == before
    return outcome.errors[0]


def assert_recorded_truth(site: Site, offset: int, *, except_serial: str | None = None) -> None:
    """Every panel but ``except_serial`` has day ``offset`` as the simulated truth."""
    micros = site.history()["micro_inverters"]
    for serial in site.serials:
        if serial == except_serial:
            continue
        entry = micros[serial][site.day(offset).isoformat()]
        assert entry["daily_energy"] == site.truth(serial, offset), (serial, entry)


def days_added(before: dict[str, Any], after: dict[str, Any], serial: str) -> dict[str, Any]:
    old = before["micro_inverters"].get(serial, {})
    return {d: e for d, e in after["micro_inverters"].get(serial, {}).items() if d not in old}


def assert_plausible(entries: dict[str, Any], site: Site) -> None:
    last = site.day(FAULT_NIGHT + 1).isoformat()
    for day, entry in entries.items():
        assert day <= last, f"a day in the future: {day}"
        value = entry["daily_energy"]
        assert value is None or 0 <= value <= MAX_DAY_WH, (day, entry)


def history_days_before(data: dict[str, Any], offset: int, site: Site) -> dict[str, Any]:
    """Every stored day before day ``offset``: what no later night may lose or change."""
    cut = site.day(offset).isoformat()
    return {
        serial: {day: entry for day, entry in days.items() if day < cut}
        for serial, days in data["micro_inverters"].items()
    }


def assert_conserved_after_recovery(site: Site, serials: list[str]) -> None:
    """The good night after the fault: every panel's last day is the truth or, for
    ``serials``, the fault night and the next sum exactly to the truth."""
    micros = site.history()["micro_inverters"]
    fault, after = site.day(FAULT_NIGHT).isoformat(), site.day(FAULT_NIGHT + 1).isoformat()
    for serial in site.serials:
        days = micros[serial]
        if serial in serials:
            made = [days[day]["daily_energy"] for day in (fault, after)]
            truth = [site.truth(serial, k) for k in (FAULT_NIGHT, FAULT_NIGHT + 1)]
            assert None not in made and sum(made) == sum(t or 0 for t in truth), (serial, made)
            assert all(0 <= m <= MAX_DAY_WH for m in made), (serial, made)
            # an estimate, not nonsense: a healthy site's days are alike, so a split by
            # sunshine or evenly lands near each day's truth, and a gap put on one day does not
            assert all(
                abs(m - (t or 0)) <= 0.25 * (t or 0) for m, t in zip(made, truth, strict=True)
            ), (
                serial,
                made,
                truth,
            )
        else:
            assert days[after]["daily_energy"] == site.truth(serial, FAULT_NIGHT + 1), serial


# --- one micro's reading spoiled: a warning naming it, exit 0, its energy kept ---------------
def set_energy(value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda micro: micro["energy"].update(value=value)


SPOILED_READINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "dated 2099": lambda micro: micro.update(last_report_date=4_070_908_800),
    # past the one-hour clock-skew allowance of the computer's own clock
    "dated 90 minutes ahead": lambda micro: micro.update(last_report_date=int(time.time()) + 5400),
    "dated not-a-date": lambda micro: micro.update(last_report_date="not-a-date"),
    "dated in milliseconds of 2099": lambda micro: micro.update(last_report_date=4_070_908_800_000),
    "dated 31 February": lambda micro: micro.update(last_report_date="2026-02-31T12:00:00+00:00"),
    "energy NaN": set_energy(math.nan),
    "energy Infinity": set_energy(math.inf),
    "energy 1e15": set_energy(1e15),
    "energy 2**64": set_energy(2**64),
    "energy -5": set_energy(-5),
    "energy 0": set_energy(0),
    "energy text": set_energy("lots"),
    "energy null": set_energy(None),
    "energy a unit unknown": lambda micro: micro["energy"].update(units="BTU"),
    "energy missing": lambda micro: micro.pop("energy"),
    "energy a bare list": lambda micro: micro.update(energy=[1, 2]),
    "report date missing": lambda micro: micro.pop("last_report_date"),
    "serial missing": lambda micro: micro.pop("serial_number"),
    "serial null": lambda micro: micro.update(serial_number=None),
    "entry not an object": lambda micro: micro.clear(),
}


@pytest.mark.parametrize("case", sorted(SPOILED_READINGS))
def test_a_spoiled_reading_is_a_warning_naming_the_serial_and_loses_nothing(
    site: Site, case: str
) -> None:
    body = site.summary_answer(FAULT_NIGHT)
    micro = body[0]["micro_inverters"][0]
    serial = micro["serial_number"]
    SPOILED_READINGS[case](micro)
    before = site.history()
    site.emulator.inject_fault(SUMMARY, 200, body=json.dumps(body))

    outcome = site.run(FAULT_NIGHT)

    assert outcome.code == 0, outcome.text
    assert outcome.errors == [], outcome.err
    warnings = [line for line in outcome.text.splitlines() if "warning" in line.lower()]
    named = [line for line in warnings if serial in line]
    assert named, outcome.text
    if micro.get("serial_number") is None:  # the entry that lost its serial cannot name it
        assert any("has not reported" in line for line in named), named
    else:
        # it did report: what was wrong with it is said, not that it fell silent
        assert not any("has not reported" in line for line in named), named
    after = site.history()
    assert history_days_before(after, FAULT_NIGHT, site) == history_days_before(
        before, FAULT_NIGHT, site
    )
    assert_recorded_truth(site, FAULT_NIGHT, except_serial=serial)
    assert_plausible(days_added(before, after, serial), site)

    recovered = site.run(FAULT_NIGHT + 1)

    assert recovered.code == 0, recovered.text
    assert history_days_before(site.history(), FAULT_NIGHT, site) == history_days_before(
        before, FAULT_NIGHT, site
    )
    assert_conserved_after_recovery(site, [serial])


# --- a whole answer bad: one error line, exit 1, the history untouched, the gap filled next ---
HTML_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"
RETRIES = [2.0, 4.0, 8.0]  # the documented back-off, injected


@dataclass(frozen=True)
class BadAnswer:
    status: int
    body: str
    count: int = 1
    waits: tuple[float, ...] = ()
    said: str = ""


BAD_ANSWERS: dict[str, BadAnswer] = {
    "HTML error page, 502 every time": BadAnswer(502, HTML_PAGE, 4, tuple(RETRIES), "HTTP 502"),
    "HTML page with 200": BadAnswer(200, HTML_PAGE, said="not JSON"),
    "JSON cut short": BadAnswer(200, MALFORMED, said="not JSON"),
    "an object, not a list": BadAnswer(200, json.dumps({"message": "ok"}), said="not a list"),
    "a list of numbers": BadAnswer(200, json.dumps([1, 2]), said="not a JSON object"),
    "no micro at all": BadAnswer(200, "[]", said="no micro-inverters"),
    "micro_inverters a number": BadAnswer(
        200, json.dumps([{"micro_inverters": 5}]), said="not a list"
    ),
    "500 with a JSON body every time": BadAnswer(
        500,
        json.dumps({"errorCode": 7, "errorMessages": ["Data is temporarily unavailable"]}),
        4,
        tuple(RETRIES),
        "Data is temporarily unavailable",
    ),
    # the first token and the one refreshed for the retry (a fresh pair is saved at once)
    "401 to each token": BadAnswer(401, "", 2, said="HTTP 401"),
    "403": BadAnswer(403, json.dumps({"message": "Forbidden", "details": "x", "code": 403})),
}


def assert_gap_filled(site: Site) -> None:
    """The good night after a failed one: both days of every panel, summing to the truth."""
    outcome = site.run(FAULT_NIGHT + 1)
    assert outcome.code == 0, outcome.text
    assert_conserved_after_recovery(site, site.serials)


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_a_bad_inverter_summary_fails_the_night_cleanly_and_the_next_fills_it(
    site: Site, case: str
) -> None:
    bad = BAD_ANSWERS[case]
    if bad.status == 401:
        site.emulator.inject_fault(SUMMARY, 401, count=bad.count)
    else:
        site.emulator.inject_fault(SUMMARY, bad.status, count=bad.count, body=bad.body)
    before = site.history_path.read_bytes()

    outcome = site.run(FAULT_NIGHT)

    error = assert_failed_cleanly(site, outcome, before)
    assert bad.said in error, error
    assert outcome.waits == list(bad.waits)
    assert_gap_filled(site)


def test_every_micro_unusable_is_one_error_not_a_night_of_silence(site: Site) -> None:
    body = site.summary_answer(FAULT_NIGHT)
    for gateway in body:
        for micro in gateway["micro_inverters"]:
            micro["energy"]["value"] = math.nan
    site.emulator.inject_fault(SUMMARY, 200, body=json.dumps(body))
    before = site.history_path.read_bytes()

    outcome = site.run(FAULT_NIGHT)

    error = assert_failed_cleanly(site, outcome, before)
    assert "no usable micro-inverter" in error
    assert_gap_filled(site)


class LoopbackSocket:
    """A TCP server on 127.0.0.1 that misbehaves: ``reset`` closes each connection with a
    reset after reading the request, ``truncate`` promises 1,000 bytes and sends 20,
    ``silent`` never accepts (the kernel does, so the client waits for an answer that
    never comes, only its own timeout ends it)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.thread: threading.Thread | None = None
        if mode != "silent":
            self.thread = threading.Thread(target=self._serve, daemon=True)
            self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.recv(65536)
                if self.mode == "truncate":
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b'Content-Length: 1000\r\n\r\n[{"signal_strength": 5'
                    )
                else:
                    # SO_LINGER with a zero timeout: close() sends RST, not FIN.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() that close() would not
        self.sock.close()
        if self.thread is not None:
            self.thread.join(timeout=5)


BROKEN_SERVERS = {
    # mode: (back-off waits, what the error line says)
    "reset": (RETRIES, "the connection was dropped after 4 attempts"),
    "silent": (RETRIES, f"timed out after 4 attempts (no answer within {TIMEOUT_S:g} s)"),
    "truncate": (RETRIES, "the answer was cut short after 4 attempts (IncompleteRead(22 bytes"),
}


@pytest.mark.parametrize("mode", sorted(BROKEN_SERVERS))
def test_a_reset_a_cut_answer_or_no_answer_fails_the_night_cleanly(site: Site, mode: str) -> None:
    waits, said = BROKEN_SERVERS[mode]
    server = LoopbackSocket(mode)
    # Only the server that never answers needs a short timeout: a loaded machine must not
    # make the good answers of every other case look like that one.
    site.set_config(api_url=server.url, http_timeout_seconds=TIMEOUT_S)
    before = site.history_path.read_bytes()
    try:
        outcome = site.run(FAULT_NIGHT)
    finally:
        server.close()

    error = assert_failed_cleanly(site, outcome, before)
    assert said in error, error
    assert outcome.waits == waits
    site.set_config(api_url=site.emulator.url, http_timeout_seconds=30)
    assert_gap_filled(site)


# --- the system production of a gap spoiled: the gap still conserved, split evenly -----------
def lifetime_body(start: str, production: list[Any]) -> str:
    return json.dumps({"system_id": 1, "start_date": start, "production": production, "meta": {}})


GAP_START = "2026-01-03"  # the site's first day is 2026-01-01; the missed night's day
IMPOSSIBLE = "is not possible for this site"
BAD_PRODUCTION: dict[str, tuple[int, str]] = {
    "NaN days": (200, lifetime_body(GAP_START, [math.nan, math.nan])),
    "an impossible day": (200, lifetime_body(GAP_START, [1e300, 1])),
    "ten megawatt-hours": (200, lifetime_body(GAP_START, [10_000_000, 5_000])),
    "negative days": (200, lifetime_body(GAP_START, [-5, -7])),
    "text days": (200, lifetime_body(GAP_START, ["a", None])),
    "a garbage start date": (200, lifetime_body("garbage", [1, 2])),
    "a start date in 2099": (200, lifetime_body("2099-01-01", [1, 2])),
    "no production list": (200, json.dumps({"system_id": 1})),
    "an HTML page with 500": (500, HTML_PAGE),
}


@pytest.mark.parametrize("case", sorted(BAD_PRODUCTION))
def test_a_spoiled_system_production_still_conserves_the_gap(site: Site, case: str) -> None:
    assert site.day(FAULT_NIGHT).isoformat() == GAP_START
    status, body = BAD_PRODUCTION[case]
    site.emulator.inject_fault("energy_lifetime", status, count=4, body=body)
    before = site.history()

    outcome = site.run(FAULT_NIGHT + 1)  # the fault night was missed: a gap of two days

    assert outcome.code == 0, outcome.text
    assert outcome.errors == [], outcome.err
    if case in ("an impossible day", "ten megawatt-hours"):
        # weighting the gap by it would put the whole gap on its first day
        assert f"warning: the system's production of {GAP_START}" in outcome.out
        assert IMPOSSIBLE in outcome.out
    assert history_days_before(site.history(), FAULT_NIGHT, site) == history_days_before(
        before, FAULT_NIGHT, site
    )
    for serial in site.serials:
        assert_plausible(days_added(before, site.history(), serial), site)
    assert_conserved_after_recovery(site, site.serials)


# --- a bad history file: one error line naming it, exit 1, the file untouched ----------------
def spoil_day(key: str, entry: Any) -> Callable[[dict[str, Any], str], bytes]:
    def change(data: dict[str, Any], serial: str) -> bytes:
        data["micro_inverters"][serial][key] = entry
        return json.dumps(data).encode()

    return change


BAD_HISTORIES: dict[str, tuple[Callable[[dict[str, Any], str], bytes], str]] = {
    # case: (what the file becomes, what the error line says besides its path)
    "cut short": (lambda data, serial: json.dumps(data).encode()[:-40], "JSON"),
    "empty": (lambda data, serial: b"", ""),
    "not UTF-8": (lambda data, serial: b"\xff\xfe{\x00}\x00garbage", ""),
    "a list": (lambda data, serial: b"[1, 2, 3]", ""),
    "NaN lifetime": (
        spoil_day("2026-01-02", {"daily_energy": 5, "lifetime_energy": math.nan}),
        "lifetime_energy",
    ),
    "Infinity daily": (
        spoil_day("2026-01-02", {"daily_energy": math.inf, "lifetime_energy": 9}),
        "daily_energy",
    ),
    "a day in 2099": (
        spoil_day("2099-01-01", {"daily_energy": 5, "lifetime_energy": 9}),
        "'2099-01-01'",
    ),
    "a garbage day": (
        spoil_day("yesterday", {"daily_energy": 5, "lifetime_energy": 9}),
        "'yesterday'",
    ),
    "a day missing its lifetime": (spoil_day("2026-01-02", {"daily_energy": 5}), "2026-01-02"),
}


@pytest.mark.parametrize("case", sorted(BAD_HISTORIES))
def test_a_bad_history_file_is_one_error_line_and_stays_as_it_is(site: Site, case: str) -> None:
    change, said = BAD_HISTORIES[case]
    serial = site.serials[1]
    bad = change(site.history(), serial)
    site.history_path.write_bytes(bad)

    outcome = site.run(FAULT_NIGHT)

    error = assert_failed_cleanly(site, outcome, bad)
    assert str(site.history_path) in error, error
    assert said in error, error


# --- a bad setting: exit 2 ---------------------------------------------------------------------
BAD_SETTINGS: dict[str, tuple[dict[str, Any], str]] = {
    "timeout text": ({"http_timeout_seconds": "fast"}, "http_timeout_seconds"),
    "timeout negative": ({"http_timeout_seconds": -1}, "http_timeout_seconds"),
    "api_url not a URL": ({"api_url": "enlighten"}, "api_url"),
    "unknown time zone": ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
}


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_a_bad_setting_is_exit_2_and_the_history_untouched(site: Site, case: str) -> None:
    keys, said = BAD_SETTINGS[case]
    site.set_config(**keys)
    before = site.history_path.read_bytes()

    outcome = site.run(FAULT_NIGHT)

    error = assert_failed_cleanly(site, outcome, before, code=2)
    assert said in error, error


# --- a paid plan's telemetry spoiled: the gap still conserved, never split by nonsense --------
def spoil_interval(field_name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        busy = max(body["intervals"], key=lambda interval: interval["enwh"])
        busy[field_name] = value

    return change


SPOILED_TELEMETRY: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    # case: (the change to the first panel's answer, what its warning says)
    "an interval of NaN Wh": (spoil_interval("enwh", math.nan), "does not add up"),
    "an interval of 1e15 Wh": (spoil_interval("enwh", 1e15), "outside 0.."),
    "an interval of -1e6 Wh": (spoil_interval("enwh", -1e6), "outside 0.."),
    "an interval ending in 2099": (spoil_interval("end_at", 4_070_908_800), "does not add up"),
    "an interval ending not-a-date": (spoil_interval("end_at", "not-a-date"), "does not add up"),
    "no intervals": (lambda body: body.update(intervals=[]), "does not add up"),
    "intervals a number": (lambda body: body.update(intervals=5), "telemetry unavailable"),
    "end_at garbage": (lambda body: body.update(end_at="soon"), ""),
}


@pytest.mark.parametrize("case", sorted(SPOILED_TELEMETRY))
def test_a_spoiled_telemetry_answer_still_conserves_the_gap(paid_site: Site, case: str) -> None:
    site = paid_site
    serial = site.serials[0]
    change, said = SPOILED_TELEMETRY[case]
    body = site.telemetry_answer(FAULT_NIGHT + 1, serial, site.day(FAULT_NIGHT))
    change(body)
    site.emulator.inject_fault(f"/micros/{serial}/telemetry", 200, body=json.dumps(body))
    before = site.history()

    outcome = site.run(FAULT_NIGHT + 1)  # the fault night was missed: a gap of two days

    assert outcome.code == 0, outcome.text
    assert outcome.errors == [], outcome.err
    assert said in outcome.out
    assert history_days_before(site.history(), FAULT_NIGHT, site) == history_days_before(
        before, FAULT_NIGHT, site
    )
    for each in site.serials:
        assert_plausible(days_added(before, site.history(), each), site)
    if said == "telemetry unavailable":
        # an answer that cannot be read ends the telemetry: every panel's gap is estimated
        assert_conserved_after_recovery(site, site.serials)
        return
    assert_conserved_after_recovery(site, [serial])
    micros = site.history()["micro_inverters"]
    for other in site.serials[1:]:  # filled exactly from their own telemetry
        assert micros[other][site.day(FAULT_NIGHT).isoformat()]["daily_energy"] == site.truth(
            other, FAULT_NIGHT
        )


# --- the token refresh spoiled: one error line, exit 1, history and tokens as they were --------
BAD_TOKEN_ANSWERS: dict[str, BadAnswer] = {
    "HTML page with 200": BadAnswer(200, HTML_PAGE, said="not JSON"),
    "JSON cut short": BadAnswer(200, MALFORMED, said="not JSON"),
    "no tokens in it": BadAnswer(200, json.dumps({"token_type": "bearer"}), said="lacks"),
    "HTML error page, 502 every time": BadAnswer(502, HTML_PAGE, 4, tuple(RETRIES), "HTTP 502"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKEN_ANSWERS))
def test_a_bad_token_answer_fails_the_night_and_keeps_the_tokens(site: Site, case: str) -> None:
    bad = BAD_TOKEN_ANSWERS[case]
    access, refresh = site.emulator.issue_tokens(access_expires_in=-60)  # due for a refresh
    site.set_config(access_token=access, refresh_token=refresh)
    config_before = site.config.read_bytes()
    site.emulator.inject_fault("/oauth/token", bad.status, count=bad.count, body=bad.body)
    before = site.history_path.read_bytes()

    outcome = site.run(FAULT_NIGHT)

    error = assert_failed_cleanly(site, outcome, before)
    assert bad.said in error, error
    assert outcome.waits == list(bad.waits)
    assert site.config.read_bytes() == config_before  # the refresh token still the live one
    assert site.emulator.refresh_token_valid(refresh)
    assert_gap_filled(site)


# --- the system's details spoiled on the first night: no history made, the exit as documented -
BAD_SYSTEMS: dict[str, tuple[Callable[[dict[str, Any]], None] | None, int, str]] = {
    # case: (the change to the system's answer, or None for an HTML page; exit; said)
    "an unknown time zone": (lambda body: body.update(timezone="Mars/Olympus"), 2, "Mars/Olympus"),
    "no time zone": (lambda body: body.update(timezone=None), 2, '"timezone"'),
    "a time zone of a number": (lambda body: body.update(timezone=5), 2, "time zone"),
    "an HTML page": (None, 1, "not JSON"),
}


@pytest.mark.parametrize("case", sorted(BAD_SYSTEMS))
def test_a_bad_system_answer_on_the_first_night_records_nothing(
    site: Site, tmp_path: Path, case: str
) -> None:
    change, code, said = BAD_SYSTEMS[case]
    (tmp_path / "fresh").mkdir()
    fresh = Site(site.emulator, write_config(tmp_path / "fresh", site.emulator), site.capsys)
    if change is None:
        body = HTML_PAGE
    else:
        night(site.emulator, FAULT_NIGHT)
        access, _ = site.emulator.issue_tokens()
        answer = requests.get(
            f"{site.emulator.url.rstrip('/')}/api/v4/systems/{site.emulator.site.system_id}",
            params={"key": API_KEY},
            headers={"Authorization": f"Bearer {access}"},
            timeout=10,
        ).json()
        change(answer)
        body = json.dumps(answer)
    site.emulator.inject_fault(f"/systems/{site.emulator.site.system_id}", 200, body=body)

    outcome = fresh.run(FAULT_NIGHT)

    assert outcome.code == code, outcome.text
    assert len(outcome.errors) == 1, outcome.err
    assert said in outcome.errors[0], outcome.errors[0]
    assert not fresh.history_path.exists()
