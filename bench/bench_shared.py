"""Losses the whole array shares, over many simulated years: run `python bench/bench_shared.py`.

``bench_daily.py`` prints the issue's roof table for two seeds; one seed's weather can flatter
a method, so this runs the same roofs (one, two and three faces, each with a 10 % shade, a
dying micro-inverter that is replaced, two weeks of 10 % soiling of the whole array from day
250, a ten-day overcast spell and three snow days) over seeds 1-10 (or the seeds given), night
by night as the daily job judges them, and prints per roof: after how many clear soiled days
the soiling was named (min / median / max), the days a shared loss was named with no soiling
going on (total, and on how many of the years), and the days named during overcast or snow.
Two processes share the work; figures are counts, not times.
"""

from __future__ import annotations

import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from panel_tracker.health.thresholds import HealthSettings
from sandbox.health_bench import ROOFS, RoofScore, roof_scenario, score_roof
from sandbox.site import SimulatedSite


def scored(job: tuple[str, int]) -> tuple[str, int, RoofScore]:
    roof, seed = job
    return roof, seed, score_roof(SimulatedSite(roof_scenario(roof, seed)), HealthSettings())


def main(seeds: list[int]) -> int:
    jobs = [(roof, seed) for roof in ROOFS for seed in seeds]
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(scored, jobs))
    print(f"Shared losses on {len(jobs)} simulated years (seeds {seeds[0]}-{seeds[-1]}):")
    print("roof                  soiling named after     shared-loss days     during overcast")
    print("                      clear days min/med/max  with no soiling      or snow (days)")
    for roof in ROOFS:
        scores = [score for r, _, score in results if r == roof]
        delays = [s.soiling_clear_days for s in scores]
        seen = sorted(d for d in delays if d is not None)
        missed = len(delays) - len(seen)
        named = (f"{seen[0]} / {statistics.median(seen):g} / {seen[-1]}" if seen else "never") + (
            f" ({missed} never)" if missed else ""
        )
        false_days = [s.shared_false_days for s in scores]
        years = sum(1 for n in false_days if n)
        in_overcast = sum(s.shared_in_overcast_or_snow for s in scores)
        print(
            f"{roof:21} {named:23} {sum(false_days):3} on {years} of {len(scores):2} years"
            f"     {in_overcast}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main([int(s) for s in sys.argv[1:]] or list(range(1, 11))))
