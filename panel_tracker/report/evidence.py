"""Evidence a warranty claim can use: one panel's days against its group, its loss, its ageing.

Per day: the panel's energy; what it would have made at its group's median (the health
table's ``expected``: per rated W, scaled to the panel's rating; on a roof of several groups
the median of the *other* panels of its group, on a roof of one face the array median); what
it would have made at the whole array's median (scaled the same way; on a roof of one face the
same figure); the array's total; whether the day was weak; the energy lost against its group's
median (signed: a day above the median counts against the loss); and whether the day was
measured, estimated or unknown. Lost energy is the health table's own figure, so the file and
the daily summary never disagree.

The degradation rate is the year-on-year method of the PV field's degradation studies
(Jordan et al., "Robust PV degradation methodology and application", IEEE J. Photovoltaics
8(2), 2018; NREL's RdTools): each judged day's ratio to its reference is divided by the same
day's ratio a year (365 days) earlier, and the median of those year-on-year changes is the
rate per year. The reference is the median per rated W of the other panels of its group on
the same day (``others_ratio``), never a median the panel is one of: a declining panel would
pull such a median down with it and read toward zero. Comparing a panel with its neighbours
on the same day cancels the weather, and comparing it with itself a year apart cancels the
season. The confidence interval comes from a bootstrap of that median over blocks of
consecutive days (a month of shared weather or soiling is one draw, not thirty), from a seeded
generator so the same history always gives the same interval; all resamples are drawn and
reduced at once. Below ``MIN_YEARS`` of judged days there is no rate: the file says so.
``bench/bench_evidence.py`` prints the rate's bias and its interval's coverage on simulated
roofs, and what it costs.
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import UsageError
from ..health.assess import HealthReport
from ..health.table import DAY_STATUS_NAMES, FloatArray, RatioTable, ratio_table
from ..health.thresholds import PanelWatts
from ..history import History
from ..storage import atomic_write_bytes, atomic_write_text
from ..wording import counted
from .charts import evidence_chart, png_bytes

logger = logging.getLogger(__name__)

# Less than this span of judged days and half the seasons have no year-earlier twin: no rate.
MIN_YEARS = 1.5
MIN_PAIRS = 90  # and at least this many day pairs a year apart
YEAR_DAYS = 365
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_BLOCK_DAYS = 30
BOOTSTRAP_SEED = 20260101  # any fixed seed: the same history gives the same interval
EVIDENCE_FILE_MODE = 0o644  # no secret in it; it is meant to be sent


@dataclass(frozen=True, slots=True)
class Degradation:
    """The yearly change of a panel's ratio to the others of its group (-0.01: 1 % less a year).

    ``rate``, ``low`` and ``high`` are None when there is not enough data; ``reason`` then
    says what is missing. ``years`` is the span of judged days, ``pairs`` the day pairs a
    year apart the median is taken over.
    """

    rate: float | None
    low: float | None
    high: float | None
    confidence: float
    pairs: int
    years: float
    reason: str | None = None

    def short(self) -> str:
        """The rate and its interval, or why there is none: for the report's line."""
        return self._said()

    def describe(self) -> str:
        """``short``, and what the rate was taken over: for the evidence file."""
        return self._said(
            f"; year-on-year median of {self.pairs} day pairs over {self.years:.1f} years"
        )

    def _said(self, basis: str = "") -> str:
        if self.rate is None or self.low is None or self.high is None:
            return f"degradation: not enough data ({self.reason})"
        return (
            f"degradation {self.rate:+.2%}/year "
            f"({self.confidence:.0%} CI {self.low:+.2%} to {self.high:+.2%}{basis})"
        )


def degradation_rate(
    ratio: FloatArray, *, confidence: float = CONFIDENCE, seed: int = BOOTSTRAP_SEED
) -> Degradation:
    """The year-on-year degradation rate of a daily ratio series (rows: consecutive days)."""
    judged = np.flatnonzero(np.isfinite(ratio) & (ratio > 0))
    years = float(judged[-1] - judged[0] + 1) / YEAR_DAYS if judged.size else 0.0
    if len(ratio) > YEAR_DAYS:
        earlier, later = ratio[:-YEAR_DAYS], ratio[YEAR_DAYS:]
        both = np.isfinite(earlier) & np.isfinite(later) & (earlier > 0)
        yoy = later[both] / earlier[both] - 1.0
    else:
        yoy = np.zeros(0)
    if years < MIN_YEARS or yoy.size < MIN_PAIRS:
        reason = (
            f"{years:.1f} years of judged days, {MIN_YEARS:g} needed"
            if years < MIN_YEARS
            else f"{yoy.size} day pairs a year apart, {MIN_PAIRS} needed"
        )
        return Degradation(None, None, None, confidence, int(yoy.size), years, reason)
    medians = _block_bootstrap_medians(yoy, np.random.default_rng(seed))
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(medians, [tail, 1.0 - tail])
    return Degradation(
        float(np.median(yoy)), float(low), float(high), confidence, int(yoy.size), years
    )


def _block_bootstrap_medians(values: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Medians of resamples made of random blocks of consecutive values (moving blocks).

    Each resample is the first ``values.size`` values of random blocks laid end to end. The
    values are replaced by their ranks (small integers: a quarter of the memory to gather and
    partition), each resample's middle ranks are found by one partition over all resamples
    at once, and mapped back to values: the very medians ``np.median`` gives, in about an
    eighth of the time (``bench/bench_evidence.py``)."""
    count = values.size
    block = min(BOOTSTRAP_BLOCK_DAYS, count)
    blocks = math.ceil(count / block)
    starts = rng.integers(0, count - block + 1, size=(BOOTSTRAP_RESAMPLES, blocks))
    order = np.argsort(values, kind="stable")
    ordered: FloatArray = values[order]
    rank: npt.NDArray[np.signedinteger[Any]] = np.empty(
        count, dtype=np.int16 if count <= np.iinfo(np.int16).max else np.int64
    )
    rank[order] = np.arange(count)
    windows = np.lib.stride_tricks.sliding_window_view(rank, block)
    ranks = windows[starts].reshape(BOOTSTRAP_RESAMPLES, -1)[:, :count]
    half = count // 2
    if count % 2:
        middle = np.partition(ranks, half, axis=1)
        odd: FloatArray = ordered[middle[:, half]]
        return odd
    middle = np.partition(ranks, (half - 1, half), axis=1)
    even: FloatArray = (ordered[middle[:, half - 1]] + ordered[middle[:, half]]) / 2.0
    return even


def others_ratio(table: RatioTable, column: int) -> FloatArray:
    """Per day, the panel's energy per rated W over the median per rated W of the other
    panels of its group that day; NaN on the days the health table did not judge.

    The degradation rate's reference. On a roof of several groups this is the health table's
    own ratio; on a roof of one face the table compares each panel with the array median,
    itself included, and a declining panel, one of the values that median is taken over,
    would pull it down and read slower than it declines."""
    with np.errstate(invalid="ignore", divide="ignore"):
        per_watt: FloatArray = table.energy / table.watts
    per_watt = np.where(np.isfinite(per_watt) & (per_watt >= 0), per_watt, np.nan)
    group = table.group_of
    if group is not None and group.size == len(table.serials):
        peers = group == group[column]
    else:
        peers = np.ones(len(table.serials), dtype=bool)
    peers[column] = False
    others = per_watt[:, peers]
    ratio: FloatArray = np.full(len(table.days), np.nan)
    rows = np.flatnonzero(np.isfinite(table.ratio[:, column]) & np.isfinite(others).any(axis=1))
    if rows.size:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio[rows] = per_watt[rows, column] / np.nanmedian(others[rows], axis=1)
    return ratio


def whole_table(
    history: History, report: HealthReport, panel_watts: PanelWatts = None
) -> RatioTable:
    """The report's own table when it spans the whole history, else one that does.

    The night's table reads the recent days only (``assess``); a loss to date and a rate per
    year need every day, and a history the night's window holds whole needs no second table.
    ``panel_watts`` must be the ratings ``report`` was assessed with.
    """
    table = report.table
    if table is not None and not table.truncated:
        return table
    return ratio_table(history, report.settings, panel_watts=panel_watts)


@dataclass(frozen=True, slots=True)
class EvidenceDay:
    """One row of the evidence file. Energies in Wh; None where there is no value.

    ``group_median`` is the health table's ``expected`` (what ``lost`` is taken against),
    ``array_median`` the whole array's median; both scaled to the panel's rating."""

    day: str
    energy: int | None
    group_median: float | None
    array_median: float | None
    array_total: int | None
    ratio: float | None
    judged: str
    weak: bool
    lost: float | None
    lost_to_date: float
    data: str  # measured, estimated, unknown (a null day) or no report (no entry)


@dataclass(frozen=True, slots=True)
class Replaced:
    """A panel's replacement either way: the unit that took its place or the one it took."""

    by: str | None = None
    replaces: str | None = None
    on: str | None = None

    def lines(self) -> list[str]:
        said = []
        if self.by:
            said.append(f"replaced by {self.by} (first report {self.on})")
        if self.replaces:
            said.append(f"replaces {self.replaces} (first report {self.on})")
        return said


def replaced_of(report: HealthReport, serial: str) -> Replaced:
    verdict = report.verdict(serial)
    replaced = next((r for r in report.replacements if serial in (r.old, r.new)), None)
    return Replaced(
        by=verdict.replaced_by if verdict else None,
        replaces=replaced.old if replaced and replaced.new == serial else None,
        on=replaced.first_day if replaced else None,
    )


@dataclass(frozen=True, slots=True)
class PanelEvidence:
    serial: str
    watts: float | None
    days: list[EvidenceDay]
    lost_to_date: float
    weak_days: int
    degradation: Degradation
    replaced: Replaced = Replaced()
    reference: str = "the array median"  # what the loss is taken against

    def summary_lines(self) -> list[str]:
        """The file's header: what the panel is, what it lost, how fast it ages."""
        first = self.days[0].day if self.days else "-"
        last = self.days[-1].day if self.days else "-"
        rating = f", rated {self.watts:g} W" if self.watts is not None else ""
        return [
            f"panel {self.serial}{rating}: {first} to {last}",
            f"energy lost against {self.reference} to date: {self.lost_to_date:,.0f} Wh "
            f"({counted(self.weak_days, 'weak day')})",
            self.degradation.describe(),
            *self.replaced.lines(),
        ]


def _reference(table: RatioTable, column: int) -> str:
    """What the health table compares the panel with, in words."""
    groups = table.groups
    group = int(table.group_of[column]) if table.group_of is not None else -1
    if groups is None or len(groups.names) == 1 or group < 0:
        return "the array median"
    return f"the {groups.names[group]} group's median"


def evidence_line(history: History, table: RatioTable, report: HealthReport, serial: str) -> str:
    """The report's line for a panel: energy lost to date, weak days, degradation per year,
    and its replacement if any.

    ``table`` must span the whole history (the rate needs every year)."""
    rows = _serial_rows(history, serial, table)
    column = table.column(serial)
    window = slice(rows.start, rows.stop)
    lost = float(np.nansum(table.expected[window, column] - table.energy[window, column]))
    weak = int(table.weak[window, column].sum())
    rate = degradation_rate(others_ratio(table, column)[window])
    replaced = "".join(f"; {line}" for line in replaced_of(report, serial).lines())
    return (
        f"{serial}: {lost:,.0f} Wh lost against {_reference(table, column)} to date "
        f"({counted(weak, 'weak day')}), {rate.short()}{replaced}"
    )


def _serial_rows(history: History, serial: str, table: RatioTable) -> range:
    """The table rows from the serial's first stored day to its last."""
    days = history.days_of(serial)
    index = {day: row for row, day in enumerate(table.days)}
    rows = sorted(index[d] for d in days if d in index)
    return range(rows[0], rows[-1] + 1) if rows else range(0)


def panel_evidence(
    history: History,
    table: RatioTable,
    report: HealthReport,
    serial: str,
    *,
    source: str = "the history",
) -> PanelEvidence:
    """The evidence for ``serial`` from a whole-history ``table`` and the night's ``report``.

    Raises ``UsageError`` for a serial the table does not hold, naming ``source`` (the
    history file) and the serials it does hold.
    """
    if serial not in table.serials:
        raise unknown_serial(serial, table.serials, source)
    column = table.column(serial)
    rows = _serial_rows(history, serial, table)
    lost = table.expected[:, column] - table.energy[:, column]
    array_median = table.median * table.watts[column]
    running = 0.0
    days: list[EvidenceDay] = []
    for row in rows:
        day = table.days[row]
        entry = history.entry(serial, day)
        energy = _wh(entry.get("daily_energy")) if entry else None
        if entry is None:
            data = "no report"
        elif energy is None:
            data = "unknown"
        else:
            data = "estimated" if entry.get("estimated") else "measured"
        day_lost = _number(lost[row])
        running += day_lost or 0.0
        days.append(
            EvidenceDay(
                day=day,
                energy=energy,
                group_median=_number(table.expected[row, column]),
                array_median=_number(array_median[row]),
                array_total=_array_total(history, table.serials, day),
                ratio=_number(table.ratio[row, column]),
                judged=DAY_STATUS_NAMES.get(int(table.status[row]), "?"),
                weak=bool(table.weak[row, column]),
                lost=day_lost,
                lost_to_date=running,
                data=data,
            )
        )
    # without panel_watts the table rates every panel 1 W: no rating to state
    watts = float(table.watts[column])
    return PanelEvidence(
        serial=serial,
        watts=watts if watts != 1.0 else None,
        days=days,
        lost_to_date=running,
        weak_days=sum(d.weak for d in days),
        degradation=degradation_rate(others_ratio(table, column)[rows.start : rows.stop]),
        replaced=replaced_of(report, serial),
        reference=_reference(table, column),
    )


# Up to this many serials are listed in full on the error line; beyond, the closest ones.
LISTED_SERIALS = 12


def unknown_serial(serial: str, serials: list[str], source: str) -> UsageError:
    """The error for a serial ``source`` does not hold: the closest serials, where all are."""
    if not serials:
        return UsageError(
            f"no panel {serial} in {source}: it holds no panel yet",
            hint="run run_inverter_daily_stats.py first",
        )
    close = difflib.get_close_matches(serial, serials, n=3, cutoff=0.6)
    guess = f"did you mean {' or '.join(close)}? " if close else ""
    listed = (
        f"its serials are {', '.join(serials)}"
        if len(serials) <= LISTED_SERIALS
        else f"its {len(serials)} serials are in the report's last-days table "
        "(panel_report.py) and the sheet's header row"
    )
    return UsageError(f"no panel {serial} in {source}", hint=guess + listed)


def _wh(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _number(value: float) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _array_total(history: History, serials: list[str], day: str) -> int | None:
    values = [
        wh
        for serial in serials
        if (entry := history.entry(serial, day))
        and (wh := _wh(entry.get("daily_energy"))) is not None
    ]
    return sum(values) if values else None


CSV_COLUMNS = (
    "day",
    "energy_wh",
    "array_median_wh",
    "array_total_wh",
    "ratio",
    "judged",
    "weak",
    "lost_wh",
    "lost_to_date_wh",
    "data",
    # after the first ten, so a reader of those finds them where they were
    "group_median_wh",
)


def evidence_csv(evidence: PanelEvidence) -> str:
    """The CSV: ``#`` header lines (the summary), the column names, one row per day."""
    buffer = io.StringIO()
    for line in evidence.summary_lines():
        buffer.write(f"# {line}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in evidence.days:
        writer.writerow(
            [
                d.day,
                _cell(d.energy),
                _cell(d.array_median, 1),
                _cell(d.array_total),
                _cell(d.ratio, 4),
                d.judged,
                int(d.weak),
                _cell(d.lost, 1),
                f"{d.lost_to_date:.1f}",
                d.data,
                _cell(d.group_median, 1),
            ]
        )
    return buffer.getvalue()


def _cell(value: float | None, decimals: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:.{decimals}f}" if decimals else str(int(value))


def write_evidence(evidence: PanelEvidence, out_dir: Path) -> tuple[Path, Path]:
    """Write ``evidence-<serial>.csv`` and ``.png`` into ``out_dir``; return both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"evidence-{evidence.serial}"
    csv_path, png_path = stem.with_suffix(".csv"), stem.with_suffix(".png")
    atomic_write_text(csv_path, evidence_csv(evidence), mode=EVIDENCE_FILE_MODE)
    figure = evidence_chart(
        [d.day for d in evidence.days],
        energy=[d.energy for d in evidence.days],
        group_median=[d.group_median for d in evidence.days],
        array_median=[d.array_median for d in evidence.days],
        reference=evidence.reference,
        weak=[d.weak for d in evidence.days],
        lost_to_date=[d.lost_to_date for d in evidence.days],
        title=evidence.summary_lines()[0],
        subtitle=evidence.degradation.describe(),
    )
    atomic_write_bytes(png_path, png_bytes(figure), mode=EVIDENCE_FILE_MODE)
    logger.info("evidence for %s written to %s and %s", evidence.serial, csv_path, png_path)
    return csv_path, png_path
