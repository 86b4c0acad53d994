"""Small words of the output: a count and its noun, in the right number."""

from __future__ import annotations


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``counted(1, "panel")`` is "1 panel", ``counted(2, "panel")`` "2 panels";
    ``plural`` for a noun that does not take an "s" (``counted(2, "entry", "entries")``)."""
    noun = singular if count == 1 else (plural or singular + "s")
    return f"{count:,} {noun}"
