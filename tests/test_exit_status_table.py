"""The README's exit-status table and the codes the scripts can return are the same set."""

from __future__ import annotations

import re
from pathlib import Path

from panel_tracker import cli, errors
from panel_tracker.enlighten import errors as enlighten_errors
from panel_tracker.sheets import push, transport

README = Path(__file__).resolve().parent.parent / "README.md"


def documented_statuses() -> set[int]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Exit status", 1)[1].split("\n#", 1)[0]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}


def returned_statuses() -> set[int]:
    codes = {value for name, value in vars(cli).items() if name.startswith("EXIT_")}
    for module in (errors, enlighten_errors, push, transport):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, errors.PanelTrackerError):
                codes.add(value.exit_code)
    return codes


def test_the_readme_table_names_every_status_the_scripts_return_and_no_other() -> None:
    assert documented_statuses() == returned_statuses()


def test_the_table_is_read_from_the_readme_not_made_up() -> None:
    assert {0, 1, 2} <= documented_statuses()
