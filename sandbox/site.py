"""A simulated Enphase site: panels, weather and injected faults, with the exact truth known.

Everything is computed once in the constructor from the scenario's seed (a 400-day, 30-panel site
takes a few milliseconds), so the same seed always gives the same numbers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WRAP_WH = 1_193_046  # 2**32 J in Wh, integer; the client corrects a drop by adding exactly this

PEAK_SUN_HOURS = 5.0  # daily Wh = rated W x this x weather on a clear summer day
NOISE = 0.02  # per panel per day, so healthy panels stay within a few % of the median
FIRST_REPORT_MIN = 6 * 60  # micros report every 15 minutes from 06:00 ...
LAST_REPORT_MIN = 19 * 60  # ... to 19:00 local; nothing at night
REPORT_EVERY_MIN = 15
LAST_SLOT = (LAST_REPORT_MIN - FIRST_REPORT_MIN) // REPORT_EVERY_MIN
DAYLIGHT_HOURS = (LAST_REPORT_MIN - FIRST_REPORT_MIN) / 60
WRAP_HEADROOM_WH = 9_000  # the wrap panel starts this far below WRAP_WH: wraps in ~5 days
RESET_TO_WH = 12  # a reset counter restarts from this small value
FAIL_MAX_LOSS = 0.9  # a failing micro loses up to this much just before it dies
STATUS_POWER_LOSS = 0.3  # the cloud flags "power" (production issue) beyond this loss
SOILING_MAX_LOSS = 0.5
SNOW_KEEP_MAX = 0.08  # a snow-covered panel makes 0..8 % of the day's output
# A face's drop scales with the day's clearness: all of it from CLEAR_CLOUDS, none at or below
# OVERCAST_CLOUDS (diffuse light reaches every face alike).
OVERCAST_CLOUDS = 0.3
CLEAR_CLOUDS = 0.94
GHOST_LAG = timedelta(days=2)  # the ghost duplicate is this far behind the real report
DULL_DAY_CHANCE = 0.08
CLOUDY_DAY_CHANCE = 0.27
CLEAR_DAY_CLOUDS = 0.88  # a clear day lets through this much or more
OVERCAST_LOW, OVERCAST_HIGH = 0.35, 0.6  # a forced overcast day's clouds, from its own draw
_SOUTHERN_ZONES = (
    "Australia/",
    "Antarctica/",
    "NZ",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Fiji",
    "America/Argentina",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/Montevideo",
    "Africa/Johannesburg",
    "Africa/Maputo",
    "Africa/Windhoek",
    "Indian/Mauritius",
)


@dataclass(frozen=True)
class SiteScenario:
    """What the simulated site looks like; day offsets count from start_date (offset 0)."""

    seed: int = 42
    timezone: str = "Australia/Sydney"  # far from UTC on purpose
    start_date: date = date(2026, 1, 1)  # first local day with production
    days: int = 400
    n_panels: int = 24  # split over two gateways: first half, second half
    rated_watts: int = 400
    kj_serials: int = 3  # the first panels of the second gateway report energy in kJ
    shade: tuple[int, int, float] | None = (3, 0, 0.10)  # (panel, from offset, loss)
    failing: tuple[int, int, int] | None = (17, 45, 75)  # (panel, decline from, dead from)
    replacement_offset: int | None = 90  # a new micro on the failing panel from this offset
    soiling: tuple[int, int, float] | None = (9, 120, 0.001)  # (panel, from offset, loss/day)
    wrap: int | None = 6  # panel whose counter starts WRAP_HEADROOM_WH below WRAP_WH
    reset: tuple[int, int] | None = (20, 150)  # (panel, offset): reported counter restarts
    ghost_duplicate: bool = True  # panel 1's serial also appears, stale, on the second gateway
    # Added to every original micro's starting counter: a system already years old, as an
    # upgraded installation of the original script is.
    initial_lifetime_wh: int = 0
    iso_dates_on: int = 1  # the last panels give last_report_date as ISO-8601 text
    # Cellular upload lag: the gateways upload every this many hours from local midnight, so
    # the cloud knows each micro's reports (and the day's production) only up to the last
    # upload; None: reports reach the cloud at once.
    upload_every_hours: int | None = None
    int_power_on: int = 1  # the panels before those give power_produced as a bare integer
    # Roof faces in panel order: (panel count, drop on a clear day); None: one face. A face
    # with drop 0.25 makes 22-25 % less than a drop-0 face on clear days, about as much on
    # overcast ones.
    faces: tuple[tuple[int, float], ...] | None = None
    # Every panel dirty at once: (from offset, for how many days, loss), then washed clean.
    array_soiling: tuple[int, int, float] | None = None
    snow_days: tuple[int, ...] = ()  # offsets on which snow covers every panel
    overcast_days: tuple[int, ...] = ()  # offsets made overcast (clouds let 35-60 % through)

    def __post_init__(self) -> None:
        _check_counts(self)
        _check_faults(self)
        _check_roof(self)

    @classmethod
    def healthy(cls, **changes: Any) -> SiteScenario:
        """A scenario without faults (format quirks such as kJ stay); `changes` override."""
        fields: dict[str, Any] = {
            "shade": None,
            "failing": None,
            "replacement_offset": None,
            "soiling": None,
            "wrap": None,
            "reset": None,
            "ghost_duplicate": False,
        }
        fields.update(changes)
        return cls(**fields)


def _check_counts(sc: SiteScenario) -> None:
    if sc.days < 1 or sc.n_panels < 2:
        raise ValueError("a scenario needs at least one day and two panels")
    second_gateway = sc.n_panels - sc.n_panels // 2
    if not 0 <= sc.kj_serials <= second_gateway:
        raise ValueError(f"kj_serials must be 0..{second_gateway}")
    quirks = (sc.iso_dates_on, sc.int_power_on)
    if min(quirks) < 0 or sum(quirks) > second_gateway:
        raise ValueError("iso_dates_on + int_power_on must fit on the second gateway")


def _check_faults(sc: SiteScenario) -> None:
    panels = [f[0] for f in (sc.shade, sc.failing, sc.soiling, sc.reset) if f is not None]
    if sc.wrap is not None:
        panels.append(sc.wrap)
    if any(not 0 <= p < sc.n_panels for p in panels):
        raise ValueError(f"fault panel index out of range 0..{sc.n_panels - 1}")
    if sc.failing is not None and sc.failing[2] <= sc.failing[1]:
        raise ValueError("failing: dead_offset must come after decline_start_offset")
    if sc.replacement_offset is not None and (sc.failing is None or sc.replacement_offset < 1):
        raise ValueError("replacement_offset needs a failing panel and must be 1 or later")


def _check_roof(sc: SiteScenario) -> None:
    if sc.faces is not None:
        if sum(count for count, _ in sc.faces) != sc.n_panels or min(sc.faces)[0] < 1:
            raise ValueError("faces: the panel counts must be 1 or more and add up to n_panels")
        if not all(0 <= drop < 1 for _, drop in sc.faces):
            raise ValueError("faces: each drop must be from 0 up to 1")
    if sc.array_soiling is not None and not 0 < sc.array_soiling[2] < 1:
        raise ValueError("array_soiling: the loss must be between 0 and 1")
    if any(not 0 <= k < sc.days for k in (*sc.snow_days, *sc.overcast_days)):
        raise ValueError("snow_days and overcast_days must be day offsets within the scenario")


@dataclass
class _Micro:
    """One micro-inverter's identity and precomputed truth (lists indexed by day offset)."""

    serial: str
    panel: int
    envoy: str
    micro_id: int
    first_day: int
    end_day: int  # first offset it is no longer installed (exclusive)
    dead_from: int  # first offset without reports (== end_day when it never dies)
    initial_wh: int
    daily: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)  # true lifetime at the end of each day


class SimulatedSite:
    """Panels, gateways and weather of one site; the truth and what the cloud reports of it."""

    def __init__(self, scenario: SiteScenario | None = None) -> None:
        self.scenario = scenario or SiteScenario()
        sc = self.scenario
        self.system_id = 4_130_271
        self.name = "Sandbox Array"
        self.timezone = sc.timezone
        self.tz = ZoneInfo(sc.timezone)
        self._weather, self._clouds = _weather_series(
            sc.seed, sc.start_date, sc.days, _southern(sc.timezone)
        )
        for k in sc.overcast_days:  # after every draw, so the other days stay as they were
            clouds = OVERCAST_LOW + (OVERCAST_HIGH - OVERCAST_LOW) * self._clouds[k]
            self._weather[k] *= clouds / self._clouds[k]
            self._clouds[k] = clouds
        self.face_of_panel = _faces_of_panels(sc)
        rng = random.Random(f"{sc.seed}:serials")
        taken: set[str] = set()
        self.envoys = [_new_serial(rng, "1220", taken), _new_serial(rng, "1220", taken)]
        self.signal_strength = {self.envoys[0]: 5, self.envoys[1]: 3}
        self._micros = self._build_micros(rng, taken)
        self._by_serial = {m.serial: m for m in self._micros}
        self.serials = [m.serial for m in self._micros]
        self.gateways = {e: [m.serial for m in self._micros if m.envoy == e] for e in self.envoys}
        self.panel_of = {m.serial: m.panel for m in self._micros}
        self.rated_watts = {m.serial: sc.rated_watts for m in self._micros}
        self.kj_panels = set(range(sc.n_panels // 2, sc.n_panels // 2 + sc.kj_serials))
        self.iso_panels = set(range(sc.n_panels - sc.iso_dates_on, sc.n_panels))
        first_int = sc.n_panels - sc.iso_dates_on - sc.int_power_on
        self.int_power_panels = set(range(first_int, first_int + sc.int_power_on))
        for m in self._micros:
            self._simulate(m)
        self._system_daily = [sum(m.daily[k] for m in self._micros) for k in range(sc.days)]

    # ----- construction -----

    def _build_micros(self, rng: random.Random, taken: set[str]) -> list[_Micro]:
        sc = self.scenario
        micros: list[_Micro] = []
        for panel in range(sc.n_panels):
            envoy = self.envoys[0 if panel < sc.n_panels // 2 else 1]
            end_day, dead_from = sc.days, sc.days
            initial = sc.initial_lifetime_wh + rng.randrange(0, 40)
            if sc.failing is not None and panel == sc.failing[0]:
                end_day = min(sc.replacement_offset or sc.days, sc.days)
                dead_from = min(sc.failing[2], end_day)
            if panel == sc.wrap:
                initial = WRAP_WH - WRAP_HEADROOM_WH
            serial = _new_serial(rng, "4820", taken)
            micros.append(
                _Micro(
                    serial,
                    panel,
                    envoy,
                    1_059_689_800 + 7 * len(micros),
                    0,
                    end_day,
                    dead_from,
                    initial,
                )
            )
            if end_day < sc.days:
                # the new micro sits at the same panel position, starting near 0
                new = _new_serial(rng, "4820", taken)
                micros.append(
                    _Micro(
                        new,
                        panel,
                        envoy,
                        1_059_689_800 + 7 * len(micros),
                        end_day,
                        sc.days,
                        sc.days,
                        rng.randrange(1, 25),
                    )
                )
        return micros

    def _simulate(self, m: _Micro) -> None:
        sc = self.scenario
        noise = random.Random(f"{sc.seed}:noise:{m.panel}:{m.serial}")
        total = m.initial_wh
        for k in range(sc.days):
            factor = noise.uniform(1 - NOISE, 1 + NOISE)  # drawn every day: stable series
            wh = 0
            if m.first_day <= k < m.dead_from:
                clear = sc.rated_watts * PEAK_SUN_HOURS * self._weather[k] * factor
                shared = self._face_keep(m.panel, k) * self._shared_keep(m.panel, k)
                if shared != 1.0:  # today's scenarios multiply nothing: their numbers stay
                    clear *= shared
                wh = round(clear * (1 - self._loss(m, k)))
            total += wh
            m.daily.append(wh)
            m.ends.append(total)

    # ----- the roof and losses every panel shares -----

    def _face_keep(self, panel: int, k: int) -> float:
        faces = self.scenario.faces
        if faces is None:
            return 1.0
        drop = faces[self.face_of_panel[panel]][1]
        share = (self._clouds[k] - OVERCAST_CLOUDS) / (CLEAR_CLOUDS - OVERCAST_CLOUDS)
        return 1.0 - drop * min(1.0, max(0.0, share))

    def _shared_keep(self, panel: int, k: int) -> float:
        keep = 1.0 - self.array_loss_at(k)
        if k in self.scenario.snow_days:
            snow = random.Random(f"{self.scenario.seed}:snow:{k}:{panel}")
            keep *= snow.uniform(0.0, SNOW_KEEP_MAX)
        return keep

    def array_loss_at(self, k: int) -> float:
        """The whole-array soiling's loss on day offset ``k`` (0.0 outside it)."""
        s = self.scenario.array_soiling
        return s[2] if s is not None and s[0] <= k < s[0] + s[1] else 0.0

    def array_loss(self, day: date) -> float:
        """The loss every panel shares that day (the whole-array soiling), known truth."""
        return self.array_loss_at(self.offset(day))

    def is_overcast(self, day: date) -> bool:
        """One of the scenario's forced overcast days."""
        return self.offset(day) in self.scenario.overcast_days

    def is_snow(self, day: date) -> bool:
        return self.offset(day) in self.scenario.snow_days

    def is_clear(self, day: date) -> bool:
        """A clear day: clouds let through at least 88 % (the weather's clear-day draw)."""
        return self._clouds[self.offset(day)] >= CLEAR_DAY_CLOUDS and not self.is_snow(day)

    def face(self, serial: str) -> int:
        """The roof face (index into ``scenario.faces``, 0 with one face) of a serial."""
        return self.face_of_panel[self.panel_of[serial]]

    # ----- injected losses -----

    def _loss(self, m: _Micro, k: int) -> float:
        losses = [x for x in (self._shade(m, k), self._soiling(m, k), self._failing(m, k)) if x]
        if len(losses) <= 1:
            return losses[0] if losses else 0.0  # exact, so tests can compare with ==
        keep = 1.0
        for x in losses:
            keep *= 1 - x
        return 1 - keep

    def _shade(self, m: _Micro, k: int) -> float:
        s = self.scenario.shade
        return s[2] if s is not None and m.panel == s[0] and k >= s[1] else 0.0

    def _soiling(self, m: _Micro, k: int) -> float:
        s = self.scenario.soiling
        if s is None or m.panel != s[0] or k < s[1]:
            return 0.0
        return min(SOILING_MAX_LOSS, s[2] * (k - s[1] + 1))

    def _failing(self, m: _Micro, k: int) -> float:
        f = self.scenario.failing
        if f is None or m.panel != f[0] or m.first_day != 0:
            return 0.0  # only the original micro fails; its replacement is healthy
        _, start, dead = f
        if k >= dead:
            return 1.0
        if k < start:
            return 0.0
        return FAIL_MAX_LOSS * ((k - start + 1) / (dead - start)) ** 2

    # ----- the truth -----

    def days(self) -> list[date]:
        """Every local day the truth covers."""
        start = self.scenario.start_date
        return [start + timedelta(days=k) for k in range(self.scenario.days)]

    def offset(self, day: date) -> int:
        """Day offset from start_date (0 for the first day)."""
        return (day - self.scenario.start_date).days

    def weather(self, day: date) -> float:
        """Clear-sky fraction 0.05..1.0 of a covered day (season and clouds)."""
        k = self.offset(day)
        if not 0 <= k < self.scenario.days:
            raise ValueError(f"{day} is outside the simulated days")
        return self._weather[k]

    def truth_daily(self, serial: str, day: date) -> int | None:
        """Exact Wh the micro produced that local day; None when not installed that day."""
        m, k = self._by_serial[serial], self.offset(day)
        if not m.first_day <= k < min(m.end_day, self.scenario.days):
            return None
        return m.daily[k]

    def truth_lifetime_end_of(self, serial: str, day: date) -> int:
        """True (unwrapped, never reset) lifetime Wh at the end of `day`."""
        m, k = self._by_serial[serial], self.offset(day)
        if k < 0:
            return m.initial_wh
        return m.ends[min(k, self.scenario.days - 1)]

    def system_daily_production(self, day: date) -> int:
        """Sum of all micros' truth that day (0 outside the simulated days)."""
        k = self.offset(day)
        return self._system_daily[k] if 0 <= k < self.scenario.days else 0

    def system_production_so_far(self, day: date, now: datetime) -> int:
        """What the cloud knows of `day`'s production at `now` (the full day once it is over)."""
        k = self.offset(day)
        if not 0 <= k < self.scenario.days:
            return 0
        return sum(self._so_far(m, k, now) for m in self._micros)

    def truth_so_far(self, serial: str, day: date, now: datetime) -> int | None:
        """Wh the micro made on `day` up to its latest report at `now`; None when not installed."""
        m, k = self._by_serial[serial], self.offset(day)
        if not m.first_day <= k < min(m.end_day, self.scenario.days):
            return None
        return self._so_far(m, k, now)

    def loss_fraction(self, serial: str, day: date) -> float:
        """The injected loss (shade, failing, soiling) that day; 0.0 when healthy or absent."""
        m, k = self._by_serial[serial], self.offset(day)
        if not m.first_day <= k < min(m.end_day, self.scenario.days):
            return 0.0
        return self._loss(m, k)

    # ----- what the cloud reports -----

    def reading_at(self, serial: str, now: datetime) -> tuple[int, datetime] | None:
        """(reported lifetime Wh, its report time) at `now`; None before the first report."""
        m = self._by_serial[serial]
        report = self._latest_report(m, now)
        if report is None:
            return None
        k, slot = report
        return self._reported_wh(m, k, self._true_at(m, k, slot)), self._report_time(k, slot)

    def inverter_records(self, now: datetime) -> list[dict[str, Any]]:
        """Every listed micro at `now`, API-shaped, flattened in gateway order (ghost last)."""
        records = [self._record(m, envoy, report, now) for m, envoy, report in self._reports(now)]
        if self.scenario.ghost_duplicate:
            records.append(self._ghost_record(now))
        return records

    def counters(self, now: datetime) -> list[tuple[str, int, datetime]]:
        """(serial, lifetime Wh, report time) of every listed micro at `now`: the counters the
        cloud reports, without its ghost duplicate (a gateway lists each of its micros once)."""
        return [
            (
                m.serial,
                self._reported_wh(m, k, self._true_at(m, k, slot)),
                self._report_time(k, slot),
            )
            for m, _envoy, (k, slot) in self._reports(now)
        ]

    def _reports(self, now: datetime) -> list[tuple[_Micro, str, tuple[int, int]]]:
        """(micro, its gateway, its latest report) of every listed micro, in gateway order."""
        found = []
        for envoy in self.envoys:
            for serial in self.gateways[envoy]:
                m = self._by_serial[serial]
                report = self._latest_report(m, now)
                if report is not None and self._listed(m, now):
                    found.append((m, envoy, report))
        return found

    def inverter_summary(self, now: datetime) -> list[dict[str, Any]]:
        """The inverters_summary_by_envoy_or_site answer at `now`: one element per gateway."""
        return self.group_by_envoy(self.inverter_records(now))

    def group_by_envoy(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Regroup flattened micro records by gateway, keeping their order."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for rec in records:
            groups.setdefault(rec["envoy_serial_number"], []).append(rec)
        return [
            {"signal_strength": self.signal_strength[envoy], "micro_inverters": micros}
            for envoy, micros in groups.items()
        ]

    def last_report(self, now: datetime) -> datetime | None:
        """The latest report time of any micro at `now`."""
        times = [r[1] for s in self.serials if (r := self.reading_at(s, now)) is not None]
        return max(times, default=None)

    def is_dead(self, serial: str, day: date) -> bool:
        """True when the micro no longer reports on `day`."""
        m = self._by_serial[serial]
        return self.offset(day) >= m.dead_from

    # ----- internals of reporting -----

    def _latest_report(self, m: _Micro, now: datetime) -> tuple[int, int] | None:
        """(day offset, 15-minute slot) of the micro's latest report at or before `now`."""
        local = now.astimezone(self.tz)
        every = self.scenario.upload_every_hours
        if every:
            local = local.replace(hour=local.hour // every * every, minute=0, second=0)
        k = self.offset(local.date())
        minute = local.hour * 60 + local.minute
        if minute < FIRST_REPORT_MIN:
            k, slot = k - 1, LAST_SLOT  # night: yesterday's last daylight report
        else:
            slot = min((minute - FIRST_REPORT_MIN) // REPORT_EVERY_MIN, LAST_SLOT)
        last_day = min(m.dead_from, self.scenario.days) - 1
        if k > last_day:
            k, slot = last_day, LAST_SLOT
        return None if k < m.first_day else (k, slot)

    def _so_far(self, m: _Micro, k: int, now: datetime) -> int:
        report = self._latest_report(m, now)
        if report is None or report[0] < k:
            return 0
        return m.daily[k] if report[0] > k else _elapsed(m.daily[k], report[1])

    def _listed(self, m: _Micro, now: datetime) -> bool:
        """The replaced micro leaves the summary once its replacement has reported."""
        if m.end_day >= self.scenario.days:
            return True
        successor = next(x for x in self._micros if x.panel == m.panel and x.first_day > 0)
        return self._latest_report(successor, now) is None

    def _true_at(self, m: _Micro, k: int, slot: int) -> int:
        before = m.ends[k - 1] if k > 0 else m.initial_wh
        return before + _elapsed(m.daily[k], slot)

    def _reported_wh(self, m: _Micro, k: int, true_wh: int) -> int:
        reset = self.scenario.reset
        if reset is not None and m.panel == reset[0] and m.first_day == 0 and k >= reset[1]:
            at = reset[1]
            true_wh = true_wh - (m.ends[at - 1] if at > 0 else m.initial_wh) + RESET_TO_WH
        return true_wh % WRAP_WH

    def _report_time(self, k: int, slot: int) -> datetime:
        day = self.scenario.start_date + timedelta(days=k)
        minute = FIRST_REPORT_MIN + slot * REPORT_EVERY_MIN
        return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=self.tz)

    def _status(self, m: _Micro, now: datetime) -> str:
        today = self.offset(now.astimezone(self.tz).date())
        if today > m.dead_from:
            return "micro"  # not reporting for more than a day
        k = min(today, self.scenario.days - 1)
        return "power" if self._failing(m, k) >= STATUS_POWER_LOSS else "normal"

    def _record(
        self, m: _Micro, envoy: str, report: tuple[int, int], now: datetime
    ) -> dict[str, Any]:
        k, slot = report
        power = m.daily[k] * math.pi / (2 * DAYLIGHT_HOURS) * math.sin(math.pi * slot / LAST_SLOT)
        wh = self._reported_wh(m, k, self._true_at(m, k, slot))
        return self._api_shape(
            m,
            envoy,
            wh,
            self._report_time(k, slot),
            power=round(power),
            status=self._status(m, now),
        )

    def _ghost_record(self, now: datetime) -> dict[str, Any]:
        """Panel 1's serial seen on the second gateway, GHOST_LAG behind (or before the start)."""
        m = self._micros[min(1, len(self._micros) - 1)]
        report = self._latest_report(m, now - GHOST_LAG)
        if report is None:
            start = self.scenario.start_date - timedelta(days=1)
            when = datetime(start.year, start.month, start.day, 12, tzinfo=self.tz)
            return self._api_shape(m, self.envoys[1], m.initial_wh, when, power=0, status="normal")
        k, slot = report
        wh = self._reported_wh(m, k, self._true_at(m, k, slot))
        return self._api_shape(
            m, self.envoys[1], wh, self._report_time(k, slot), power=0, status="normal"
        )

    def _api_shape(
        self, m: _Micro, envoy: str, wh: int, when: datetime, *, power: int, status: str
    ) -> dict[str, Any]:
        energy = (
            {"value": round(wh * 3.6), "units": "kJ", "precision": 0}
            if m.panel in self.kj_panels
            else {"value": wh, "units": "Wh", "precision": 0}
        )
        return {
            "id": m.micro_id,
            "serial_number": m.serial,
            "model": "IQ8M",
            "part_number": "800-01367-r02",
            "sku": "IQ8M-72-2-INT",
            "status": status,
            "power_produced": power
            if m.panel in self.int_power_panels
            else {"value": power, "units": "W", "precision": 0},
            "proc_load": "520-00082-r01-v04.27.04",
            "param_table": "540-00242-r01-v04.22.09",
            "envoy_serial_number": envoy,
            "energy": energy,
            "grid_profile": "5f3e2b8a1c9d7e6f4a0b1c2d",
            "last_report_date": when.isoformat()
            if m.panel in self.iso_panels
            else int(when.timestamp()),
        }


def _elapsed(daily: int, slot: int) -> int:
    """Wh produced by `slot`: the integral of a sine-shaped power curve over the daylight."""
    if slot >= LAST_SLOT:
        return daily
    return math.floor(daily * (1 - math.cos(math.pi * slot / LAST_SLOT)) / 2)


def _new_serial(rng: random.Random, prefix: str, taken: set[str]) -> str:
    """A fresh 12-digit serial."""
    while True:
        serial = f"{prefix}{rng.randrange(10**8):08d}"
        if serial not in taken:
            taken.add(serial)
            return serial


def _southern(timezone: str) -> bool:
    return timezone.startswith(_SOUTHERN_ZONES)


def _faces_of_panels(sc: SiteScenario) -> list[int]:
    if sc.faces is None:
        return [0] * sc.n_panels
    return [face for face, (count, _) in enumerate(sc.faces) for _ in range(count)]


def _weather_series(
    seed: int, start: date, days: int, southern: bool
) -> tuple[list[float], list[float]]:
    """Each day's clear-sky fraction (season and clouds), and its clouds alone."""
    rng = random.Random(f"{seed}:weather")
    peak_day_of_year = 355 if southern else 172  # summer solstice
    pairs = [_day_weather(rng, start + timedelta(days=k), peak_day_of_year) for k in range(days)]
    return [value for value, _ in pairs], [clouds for _, clouds in pairs]


def _day_weather(rng: random.Random, day: date, peak_day_of_year: int) -> tuple[float, float]:
    angle = 2 * math.pi * (day.timetuple().tm_yday - peak_day_of_year) / 365.25
    season = 0.72 + 0.28 * math.cos(angle)  # winter sun gives about 45 % of summer's
    roll = rng.random()
    if roll < DULL_DAY_CHANCE:
        clouds = rng.uniform(0.05, 0.3)
    elif roll < DULL_DAY_CHANCE + CLOUDY_DAY_CHANCE:
        clouds = rng.uniform(0.35, 0.85)
    else:
        clouds = rng.uniform(CLEAR_DAY_CLOUDS, 1.0)
    return min(1.0, max(0.05, season * clouds)), clouds
