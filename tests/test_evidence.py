"""One panel's evidence for a warranty claim: ``panel_report.py --evidence SERIAL``.

Driven through ``panel_report.main(argv)`` over a config and a history written to disk with
``save_history``, as a user runs it; the files it writes are read back and held to the
history and to the health table computed from the same file.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import panel_report
from panel_tracker.health.assess import assess
from panel_tracker.health.table import ratio_table
from panel_tracker.health.thresholds import HealthSettings
from panel_tracker.history import History, load_history, save_history
from panel_tracker.report import evidence
from panel_tracker.report.evidence import CSV_COLUMNS, degradation_rate, others_ratio
from panel_tracker.settings import load_config
from sandbox.health_bench import synthetic_history, synthetic_serials

SYSTEM_ID = "4130271"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SERIALS = synthetic_serials(12)
WEAK = SERIALS[7]
RATED_WEAK = 300  # the others are 400 W: the median is scaled to each panel's rating
DECLINING = 3
ROOF = 24  # the decline is judged on a roof of the demo's size


def write_setup(tmp_path: Path, history: History, **config: Any) -> Path:
    raw = {"name": "Evidence", "system_id": SYSTEM_ID, **config}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "enlighten_v4_config.json"
    path.write_text(json.dumps(raw))
    save_history(tmp_path / "data" / f"inverter_daily_data-{SYSTEM_ID}.json", history)
    return path


def run_evidence(
    config: Path, serial: str, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[list[str], Path, Path]:
    assert panel_report.main(["--config", str(config), "--evidence", serial, *extra]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    csv_path, png_path = Path(out[-2]), Path(out[-1])
    assert (csv_path.name, png_path.name) == (f"evidence-{serial}.csv", f"evidence-{serial}.png")
    return out[:-2], csv_path, png_path


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [line[2:] for line in lines if line.startswith("# ")]
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    return header, rows


def check_png(path: Path) -> None:
    assert path.read_bytes().startswith(PNG_MAGIC)
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 600 and image.height > 400


def shaded_history() -> History:
    """60 days of 12 panels, one shaded by 12 % from day 30 and rated 300 W (its energy scaled
    to match); a missed night (estimated), an unknown day and a night with no report."""
    history = synthetic_history(days=60, faults=[(7, 30, None, 0.12)])
    for entry in history.micros[WEAK].values():
        entry["daily_energy"] = round(entry["daily_energy"] * RATED_WEAK / 400)
    for serial in SERIALS:
        history.micros[serial]["2025-07-10"]["estimated"] = True
    history.micros[WEAK]["2025-07-12"]["daily_energy"] = None
    del history.micros[WEAK]["2025-07-14"]
    return history


def test_the_csv_holds_the_history_and_the_health_tables_lost_energy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    watts = {serial: 400 for serial in SERIALS} | {WEAK: RATED_WEAK}
    config_path = write_setup(tmp_path, shaded_history(), panel_watts=watts)
    summary, csv_path, png_path = run_evidence(config_path, WEAK, capsys)
    assert csv_path.parent == tmp_path / "report"  # the report's folder by default
    check_png(png_path)

    config = load_config(config_path)
    history = load_history(config.history_path)  # what the script read, from the file
    settings = config.settings
    table = ratio_table(history, settings.health, panel_watts=settings.panel_watts)
    verdict = assess(history, settings.health, panel_watts=settings.panel_watts).verdict(WEAK)
    assert verdict is not None and verdict.weak and verdict.since is not None

    header, rows = read_csv(csv_path)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert header[:3] == summary[:3]  # the file says what the script printed
    assert f"rated {RATED_WEAK} W" in header[0]
    assert "degradation: not enough data" in header[2]
    days = [row["day"] for row in rows]
    assert days == table.days  # every calendar day, the one without a report included

    # the sums are the history's: the panel's energy and the whole array's
    stored = history.days_of(WEAK)
    energy = [int(row["energy_wh"]) for row in rows if row["energy_wh"]]
    assert sum(energy) == sum(e["daily_energy"] or 0 for e in stored.values())
    all_days = [e for s in history.serials() for e in history.days_of(s).values()]
    totals = [int(row["array_total_wh"]) for row in rows if row["array_total_wh"]]
    assert sum(totals) == sum(e["daily_energy"] or 0 for e in all_days)

    # the lost energy is the health table's: per day, to date, and over the weak episode
    column = table.column(WEAK)
    gap = table.expected[:, column] - table.energy[:, column]
    for row, expected, lost in zip(rows, table.expected[:, column], gap, strict=True):
        assert row["array_median_wh"] == ("" if np.isnan(expected) else f"{expected:.1f}")
        assert row["lost_wh"] == ("" if np.isnan(lost) else f"{lost:.1f}")
    assert float(rows[-1]["lost_to_date_wh"]) == pytest.approx(np.nansum(gap), abs=0.05)
    assert f"{np.nansum(gap):,.0f} Wh" in header[1]
    episode = [
        float(row["lost_wh"]) for row in rows if row["day"] >= verdict.since and row["lost_wh"]
    ]
    assert sum(episode) == pytest.approx(verdict.lost_wh, abs=1) and verdict.lost_wh > 1000
    # the median is scaled to the 300 W panel: three quarters of a 400 W panel's
    other = table.column(SERIALS[0])
    assert float(rows[0]["array_median_wh"]) == pytest.approx(
        table.expected[0, other] * RATED_WEAK / 400, abs=0.05
    )

    assert [row["weak"] == "1" for row in rows] == table.weak[:, column].tolist()
    assert f"({int(table.weak[:, column].sum())} weak days)" in header[1]
    data = {row["day"]: row["data"] for row in rows}
    assert data["2025-07-10"] == "estimated" and data["2025-07-12"] == "unknown"
    assert data["2025-07-14"] == "no report" and data["2025-07-13"] == "measured"
    by_day = {row["day"]: row for row in rows}
    assert by_day["2025-07-10"]["energy_wh"] and not by_day["2025-07-10"]["lost_wh"]


def declining_history(seed: int, years: int = 3) -> History:
    return synthetic_history(
        days=years * 365,
        panels=ROOF,
        start=date(2023, 1, 1),
        seed=seed,
        decline={DECLINING: 0.01},
    )


def test_a_known_one_percent_a_year_decline_lies_inside_the_stated_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_setup(tmp_path, declining_history(seed=7), panel_watts=400)
    serial = synthetic_serials(ROOF)[DECLINING]
    summary, csv_path, png_path = run_evidence(
        config, serial, capsys, "--out", str(tmp_path / "claim")
    )
    assert csv_path.parent == png_path.parent == tmp_path / "claim"
    check_png(png_path)
    header, _ = read_csv(csv_path)
    stated = re.search(
        r"degradation ([-+][\d.]+)%/year \(95% CI ([-+][\d.]+)% to ([-+][\d.]+)%", header[2]
    )
    assert stated is not None, header[2]
    rate, low, high = (float(value) for value in stated.groups())
    assert low <= rate <= high
    assert low <= -1.0 <= high
    assert high < 0  # a decline, told apart from no change
    assert "over 3.0 years" in header[2] and summary[2] == header[2]


def test_the_interval_holds_the_truth_on_other_seeds_and_is_reproducible() -> None:
    """Not one lucky history: each of these seeds' intervals holds the truth, and a healthy
    panel's holds zero."""
    for seed in range(4):
        table = ratio_table(declining_history(seed), HealthSettings())
        found = degradation_rate(others_ratio(table, DECLINING))
        assert found.rate is not None and found.low is not None and found.high is not None
        assert found.low <= -0.01 <= found.high, (seed, found)
        healthy = degradation_rate(others_ratio(table, 0))
        assert healthy.low is not None and healthy.high is not None
        assert healthy.low <= 0.0 <= healthy.high, (seed, healthy)
        again = degradation_rate(others_ratio(table, DECLINING))
        assert again == found  # seeded: the same interval


SMALL_ROOF = 12
UNBIASED_SEEDS = range(6)
# bench/bench_evidence.py: against a median the panel is one of, a 12-panel roof's 1 %/year
# read 0.92 %/year on average (0.08 points short); a six-history mean spreads about 0.03.
RATE_TOLERANCE = 0.0004


def test_a_decline_is_measured_against_the_others_so_it_does_not_read_toward_zero() -> None:
    """On a small roof a declining panel pulls a median it is part of down with it: the rate
    is taken against the median of the other panels instead, and over fixed seeds averages
    the true 1 %/year."""
    rates = []
    for seed in UNBIASED_SEEDS:
        history = synthetic_history(
            days=3 * 365,
            panels=SMALL_ROOF,
            start=date(2023, 1, 1),
            seed=seed,
            decline={DECLINING: 0.01},
        )
        table = ratio_table(history, HealthSettings())
        found = degradation_rate(others_ratio(table, DECLINING))
        assert found.rate is not None
        rates.append(found.rate)
    assert float(np.mean(rates)) == pytest.approx(-0.01, abs=RATE_TOLERANCE), rates


def test_the_reference_leaves_the_panel_out_and_is_the_tables_own_on_a_roof_of_groups() -> None:
    history = synthetic_history(days=40, panels=SMALL_ROOF, decline={DECLINING: 0.5})
    table = ratio_table(history, HealthSettings())
    per_watt = table.energy
    others = np.delete(per_watt, DECLINING, axis=1)
    judged = np.isfinite(table.ratio[:, DECLINING])
    expected = np.where(judged, per_watt[:, DECLINING] / np.median(others, axis=1), np.nan)
    np.testing.assert_array_equal(others_ratio(table, DECLINING), expected)
    assert not np.allclose(others_ratio(table, DECLINING)[judged], table.ratio[judged, DECLINING])

    east, west = SERIALS[:6], SERIALS[6:]
    for serial in west:  # a face in the afternoon sun: 30 % less than the east face
        for entry in history.micros[serial].values():
            entry["daily_energy"] = round(entry["daily_energy"] * 0.7)
    groups = HealthSettings(panel_groups=(("east", tuple(east)), ("west", tuple(west))))
    faced = ratio_table(history, groups)
    for column in (DECLINING, 9):
        np.testing.assert_array_equal(others_ratio(faced, column), faced.ratio[:, column])


def test_a_year_of_history_says_not_enough_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_setup(tmp_path, declining_history(seed=7, years=1))
    summary, csv_path, _ = run_evidence(config, synthetic_serials(ROOF)[DECLINING], capsys)
    header, rows = read_csv(csv_path)
    assert len(rows) == 365
    assert header[2] == "degradation: not enough data (1.0 years of judged days, 1.5 needed)"
    assert summary[2] == header[2]
    assert "%/year" not in csv_path.read_text(encoding="utf-8")


def test_an_unknown_serial_is_one_error_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_setup(tmp_path, synthetic_history(days=10))
    typo = WEAK[:-2] + WEAK[-1]  # a digit left out
    assert panel_report.main(["--config", str(config), "--evidence", typo]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"error: no panel {typo} in ")
    assert f"inverter_daily_data-{SYSTEM_ID}.json" in line and f"did you mean {WEAK}" in line
    assert all(serial in line for serial in SERIALS)  # 12 serials: all listed
    assert not (tmp_path / "report").exists()

    big = write_setup(tmp_path / "big", synthetic_history(days=10, panels=40))
    assert panel_report.main(["--config", str(big), "--evidence", "nope"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "its 40 serials are in the report's last-days table" in line
    assert "did you mean" not in line


def replaced_history(new_keeps: float = 1.0) -> tuple[History, str, str, list[str]]:
    """45 days of 12 panels: the fourth dead from day 30, a new serial from day 35 making
    ``new_keeps`` of what the first panel makes; (history, old, new, the old unit's days)."""
    history = synthetic_history(days=45)
    old, new = SERIALS[3], "121799999999"
    days = sorted(history.micros[old])
    for day in days[30:]:
        del history.micros[old][day]
    twin = history.micros[SERIALS[0]]
    history.micros[new] = {
        d: {**twin[d], "daily_energy": round(twin[d]["daily_energy"] * new_keeps)}
        for d in days[35:]
    }
    return history, old, new, days


def test_a_replaced_unit_names_its_successor_and_the_successor_its_predecessor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history, old, new, days = replaced_history()
    config = write_setup(tmp_path, history)
    _, csv_path, _ = run_evidence(config, old, capsys)
    header, rows = read_csv(csv_path)
    assert f"replaced by {new} (first report {days[35]})" in header
    assert rows[-1]["day"] == days[29]  # its days end with its last report
    _, csv_path, _ = run_evidence(config, new, capsys)
    header, rows = read_csv(csv_path)
    assert f"replaces {old} (first report {days[35]})" in header
    assert rows[0]["day"] == days[35]


def test_the_report_gives_each_flagged_panel_its_lost_energy_and_degradation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = declining_history(seed=7)
    weak = synthetic_serials(ROOF)[9]
    for day in sorted(history.micros[weak])[-20:]:  # shaded by 15 % over the last 20 days
        entry = history.micros[weak][day]
        entry["daily_energy"] = round(entry["daily_energy"] * 0.85)
    config = write_setup(tmp_path, history, panel_watts=400)
    assert panel_report.main(["--config", str(config), "-q"]) == 0
    capsys.readouterr()
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    status = page.split('id="status"', 1)[1].split("</section>", 1)[0]
    (line,) = re.findall(r'<ul class="hint" id="evidence"><li>(.*?)</li></ul>', status)
    assert line.startswith(f"{weak}: ") and "Wh lost against the array median to date" in line
    assert re.search(r"degradation [-+][\d.]+%/year \(95% CI [-+][\d.]+% to [-+][\d.]+%\)", line)

    short = write_setup(
        tmp_path / "short", synthetic_history(days=45, faults=[(7, 30, None, 0.12)])
    )
    assert panel_report.main(["--config", str(short), "-q"]) == 0
    page = (tmp_path / "short" / "report" / "index.html").read_text(encoding="utf-8")
    assert f"<li>{WEAK}: " in page and "degradation: not enough data" in page

    healthy = write_setup(tmp_path / "ok", synthetic_history(days=45))
    assert panel_report.main(["--config", str(healthy), "-q"]) == 0
    page = (tmp_path / "ok" / "report" / "index.html").read_text(encoding="utf-8")
    assert 'id="evidence"' not in page  # nothing singled out: no evidence lines


def test_a_panel_on_a_roof_of_two_faces_is_shown_beside_its_group_and_the_array(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = synthetic_history(days=60, faults=[(7, 30, None, 0.12)])
    east, west = SERIALS[:6], SERIALS[6:]
    for serial in west:  # the west face makes 30 % less: its own median, not the array's
        for entry in history.micros[serial].values():
            entry["daily_energy"] = round(entry["daily_energy"] * 0.7)
    config_path = write_setup(tmp_path, history, panel_groups={"east": east, "west": west})
    summary, csv_path, png_path = run_evidence(config_path, WEAK, capsys)
    check_png(png_path)
    settings = load_config(config_path).settings
    table = ratio_table(load_history(load_config(config_path).history_path), settings.health)
    assert table.groups is not None and table.groups.names == ("east", "west")
    column = table.column(WEAK)
    header, rows = read_csv(csv_path)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert header[1].startswith("energy lost against the west group's median to date")
    assert summary[1] == header[1]
    for row, group, array in zip(rows, table.expected[:, column], table.median, strict=True):
        assert row["group_median_wh"] == f"{group:.1f}"  # what the loss is taken against
        assert row["array_median_wh"] == f"{array:.1f}"  # the whole roof's
        assert float(row["group_median_wh"]) < 0.9 * float(row["array_median_wh"])
        if row["lost_wh"]:
            lost = float(row["group_median_wh"]) - int(row["energy_wh"])
            assert float(row["lost_wh"]) == pytest.approx(lost, abs=0.06)


def test_the_bootstrap_medians_are_each_resamples_median() -> None:
    """All resamples are reduced at once over ranks: each must still be ``np.median`` of the
    resample the seeded generator drew (odd and even counts, ties included)."""
    for count in (91, 730):
        values = np.round(np.random.default_rng(count).normal(0, 0.02, count), 3)
        found = evidence._block_bootstrap_medians(values, np.random.default_rng(1))
        rng = np.random.default_rng(1)
        block = evidence.BOOTSTRAP_BLOCK_DAYS
        starts = rng.integers(
            0, count - block + 1, size=(evidence.BOOTSTRAP_RESAMPLES, -(-count // block))
        )
        drawn = [np.concatenate([values[s : s + block] for s in row])[:count] for row in starts]
        np.testing.assert_array_equal(found, [np.median(resample) for resample in drawn])
        assert len(set(values.tolist())) < count  # ties: equal values of different ranks


def test_the_report_says_a_flagged_replacements_predecessor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history, old, new, days = replaced_history(new_keeps=0.85)  # weak from its first day
    config = write_setup(tmp_path, history)
    assert panel_report.main(["--config", str(config), "-q"]) == 0
    capsys.readouterr()
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    (line,) = re.findall(r'<ul class="hint" id="evidence"><li>(.*?)</li></ul>', page)
    assert line.startswith(f"{new}: ") and "weak days)" in line
    assert "degradation: not enough data" in line
    assert line.endswith(f"; replaces {old} (first report {days[35]})")
