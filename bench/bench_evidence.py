"""The evidence's degradation rate, how true and what it costs, printed (not asserted).

Run ``python bench/bench_evidence.py``.

* Accuracy: 40 simulated histories (seeds 0-19 on roofs of 12 and 24 panels, three years, one
  panel losing exactly 1 %/year), the rate and its 95 % interval taken the old way (against
  the array median, the panel one of its values: the health table's ratio) and the new way
  (against the median of the other panels of its group, ``others_ratio``): the mean rate,
  the lowest and highest, and on how many histories the interval holds the true -1 %/year.
* Cost, on a 100-panel, 10-year history: the whole-history ratio table the report builds
  when the night's table covers only the recent days, the reference of one panel, the
  bootstrap the old way (``np.median`` of every resample) and the new (one partition of
  ranks), and the report's evidence line of one flagged panel, old and new. Each figure is
  repeated; min and median are shown.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from panel_tracker.health.assess import assess
from panel_tracker.health.table import FloatArray, RatioTable, ratio_table
from panel_tracker.health.thresholds import HealthSettings
from panel_tracker.history import History
from panel_tracker.report import evidence
from panel_tracker.report.evidence import (
    BOOTSTRAP_BLOCK_DAYS,
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    degradation_rate,
    evidence_line,
    others_ratio,
    whole_table,
)
from sandbox.health_bench import synthetic_history, synthetic_serials

TRUE_RATE = -0.01
DECLINING = 3
SEEDS = range(20)
ROOFS = (12, 24)
YEARS = 3
COST_PANELS, COST_YEARS = 100, 10


def old_bootstrap_medians(values: FloatArray, rng: np.random.Generator) -> FloatArray:
    """The bootstrap as it was: every resample gathered as floats, ``np.median`` of each."""
    count = values.size
    block = min(BOOTSTRAP_BLOCK_DAYS, count)
    blocks = math.ceil(count / block)
    starts = rng.integers(0, count - block + 1, size=(BOOTSTRAP_RESAMPLES, blocks))
    rows: npt.NDArray[np.int64] = (starts[:, :, None] + np.arange(block)).reshape(
        BOOTSTRAP_RESAMPLES, -1
    )[:, :count]
    result: FloatArray = np.median(values[rows], axis=1)
    return result


def declining(panels: int, seed: int, years: int) -> History:
    return synthetic_history(
        days=years * 365,
        panels=panels,
        start=date(2023, 1, 1),
        seed=seed,
        decline={DECLINING: -TRUE_RATE},
    )


def accuracy() -> None:
    found: dict[str, list[tuple[float, bool, float]]] = {"old": [], "new": []}
    by_roof: dict[tuple[str, int], list[tuple[float, bool, float]]] = {}
    for panels in ROOFS:
        for seed in SEEDS:
            table = ratio_table(declining(panels, seed, YEARS), HealthSettings())
            ways = {"old": table.ratio[:, DECLINING], "new": others_ratio(table, DECLINING)}
            for way, ratio in ways.items():
                rate = degradation_rate(ratio)
                assert rate.rate is not None and rate.low is not None and rate.high is not None
                held = rate.low <= TRUE_RATE <= rate.high
                figure = (rate.rate, held, rate.high - rate.low)
                found[way].append(figure)
                by_roof.setdefault((way, panels), []).append(figure)
    count = len(SEEDS) * len(ROOFS)
    print(
        f"degradation of a panel losing {-TRUE_RATE:.0%}/year, {count} histories "
        f"(seeds {SEEDS.start}-{SEEDS.stop - 1}, roofs of {' and '.join(map(str, ROOFS))} "
        f"panels, {YEARS} years)"
    )
    print(f"{'reference':<34}{'roof':>6}{'mean':>9}{'min':>9}{'max':>9}{'CI width':>10}  held")
    names = {"old": "array median (panel in it)", "new": "others of its group"}
    for way in ("old", "new"):
        rows = [(str(p), by_roof[(way, p)]) for p in ROOFS] + [("all", found[way])]
        for roof, figures in rows:
            rates = [-rate for rate, _, _ in figures]  # said as a loss per year
            width = statistics.mean(w for _, _, w in figures)
            holding = sum(h for _, h, _ in figures)
            print(
                f"{names[way]:<34}{roof:>6}{statistics.mean(rates):>8.3%}"
                f"{min(rates):>8.3%} {max(rates):>8.3%}{width:>9.3%}   {holding} of {len(figures)}"
            )


def timed(label: str, body: Callable[[], object], repeat: int = 5) -> None:
    figures = []
    for _ in range(repeat):
        started = time.perf_counter()
        body()
        figures.append(time.perf_counter() - started)
    print(f"{label:<58} min {min(figures):6.3f} s   median {statistics.median(figures):6.3f} s")


def old_evidence_line(history: History, table: RatioTable, serial: str) -> str:
    """The report's line as it was: a rate against the array median, the old bootstrap."""
    column = table.column(serial)
    lost = float(np.nansum(table.expected[:, column] - table.energy[:, column]))
    saved = evidence._block_bootstrap_medians
    evidence._block_bootstrap_medians = old_bootstrap_medians
    try:
        rate = degradation_rate(table.ratio[:, column])
    finally:
        evidence._block_bootstrap_medians = saved
    return f"{serial}: {lost:,.0f} Wh, {rate.short()}"


def cost() -> None:
    history = declining(COST_PANELS, 7, COST_YEARS)
    settings = HealthSettings()
    serial = synthetic_serials(COST_PANELS)[DECLINING]
    report = assess(history, settings)
    assert report.table is not None and report.table.truncated  # the night's window
    table = ratio_table(history, settings)
    ratio = others_ratio(table, DECLINING)
    judged = ratio[:-365] * ratio[365:]
    values: FloatArray = (ratio[365:] / ratio[:-365] - 1.0)[np.isfinite(judged)]
    old = old_bootstrap_medians(values, np.random.default_rng(BOOTSTRAP_SEED))
    new = evidence._block_bootstrap_medians(values, np.random.default_rng(BOOTSTRAP_SEED))
    print(
        f"\ncost on {COST_PANELS} panels x {COST_YEARS} years ({values.size} day pairs); "
        f"old and new bootstrap medians identical: {np.array_equal(old, new)}"
    )
    timed(
        "whole-history ratio table (the night's is recent days only)",
        lambda: whole_table(history, report),
    )
    timed(
        "reference: median of the others of its group, one panel",
        lambda: others_ratio(table, DECLINING),
    )
    timed(
        f"bootstrap, old: np.median of {BOOTSTRAP_RESAMPLES} resamples",
        lambda: old_bootstrap_medians(values, np.random.default_rng(BOOTSTRAP_SEED)),
    )
    timed(
        "bootstrap, new: one partition of ranks",
        lambda: evidence._block_bootstrap_medians(values, np.random.default_rng(BOOTSTRAP_SEED)),
    )
    timed(
        "report line of one flagged panel, old (table given)",
        lambda: old_evidence_line(history, table, serial),
    )
    timed(
        "report line of one flagged panel, new (table given)",
        lambda: evidence_line(history, table, report, serial),
    )


def main() -> None:
    accuracy()
    cost()


if __name__ == "__main__":
    main()
