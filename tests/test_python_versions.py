"""Too old an interpreter gets one line and exit 2 from every entry point, never a traceback.

Runs each top-level script and ``run_tests.sh`` with the older interpreters this machine has
under pyenv (3.6 to 3.9); a machine without them skips these tests.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

PYENV = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"
OLD_PYTHONS = sorted(PYENV.glob("3.[6789].*/bin/python3"))
SCRIPTS = [
    "run_inverter_daily_stats.py",
    "populate_google_sheet.py",
    "panel_report.py",
    "enlightenAPI_v4.py",
]

needs_old_python = pytest.mark.skipif(
    not OLD_PYTHONS, reason=f"no Python older than 3.10 under {PYENV}"
)


def _version(python: Path) -> str:
    return python.parent.parent.name


@needs_old_python
@pytest.mark.parametrize("python", OLD_PYTHONS, ids=_version)
@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_says_in_one_line_which_python_it_found_and_needs(python, script, tmp_path):
    result = subprocess.run(
        [str(python), str(REPO / script), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"error: found Python {_version(python)} ({python}), {script} needs Python 3.10 "
        "or newer; run it with python3.10 or newer\n"
    )


@needs_old_python
def test_run_tests_says_in_one_line_which_python_it_found_and_how_to_choose(tmp_path):
    python = OLD_PYTHONS[-1]
    venv = tmp_path / "venv"
    result = subprocess.run(
        ["bash", str(REPO / "run_tests.sh")],
        cwd=REPO,
        env={"PATH": os.environ["PATH"], "PYTHON": str(python), "VENV": str(venv)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: found Python {_version(python)} at {python}")
    assert "needs Python 3.10 or newer" in result.stderr
    assert "PYTHON=" in result.stderr
    assert not venv.exists(), "nothing is installed for an interpreter that is too old"
