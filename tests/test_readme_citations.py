"""Every README section an error, hint or check line cites is a heading the README has, and
every command a hint tells a person to run is spelled the way the README spells it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CITATION = re.compile(r"README: '([^']+)'")
BARE_COMMAND = re.compile(r"""["'`](python [\w./-]+\.py\b[^"'`]*)["'`]""")


def sources() -> list[Path]:
    return sorted([*ROOT.glob("*.py"), *(ROOT / "panel_tracker").rglob("*.py")])


def headings() -> set[str]:
    text = README.read_text(encoding="utf-8")
    return {m.group(1).strip() for m in re.finditer(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def test_every_cited_readme_section_is_a_heading() -> None:
    cited = {
        (path.relative_to(ROOT).as_posix(), section)
        for path in sources()
        for section in CITATION.findall(path.read_text(encoding="utf-8"))
    }
    assert cited, "no citation found: the pattern no longer matches the code"
    missing = sorted((where, s) for where, s in cited if s not in headings())
    assert not missing, f"README has no such heading: {missing}"


def test_hints_spell_commands_as_the_readme_does() -> None:
    readme = README.read_text(encoding="utf-8")
    assert ".venv/bin/python enlightenAPI_v4.py" in readme
    bare = [
        (path.relative_to(ROOT).as_posix(), command)
        for path in sources()
        for command in BARE_COMMAND.findall(path.read_text(encoding="utf-8"))
    ]
    assert not bare, f"say .venv/bin/python, as the README does: {bare}"
