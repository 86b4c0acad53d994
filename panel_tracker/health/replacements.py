"""Replaced micro-inverters: a new serial that took the place of one that went silent.

A unit that stopped reporting (``stopped_after_days``) and a serial whose first day came after
the silent one's last report are taken as one position of the roof: the old unit is retired
from that night on (no longer weak, silent or counted), and the new one is judged after its
own first days. Pairs are made in order: the longest silence with the earliest newcomer. The
roof's groups are not known yet, so a panel added to the array while another is silent is
taken as that one's replacement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..history import History


@dataclass(frozen=True, slots=True)
class Replacement:
    """``old`` went silent after ``last_seen``; ``new`` first reported on ``first_day``."""

    old: str
    new: str
    last_seen: str
    first_day: str


def find_replacements(
    history: History, silent: Mapping[str, str], reporting: Sequence[str]
) -> list[Replacement]:
    """The replacements among ``silent`` serials (each with its last day) and ``reporting``
    ones (see the module docstring)."""
    if not silent:
        return []
    firsts = {serial: min(days) for serial in reporting if (days := history.days_of(serial))}
    newcomers = sorted(firsts, key=lambda s: (firsts[s], s))
    found: list[Replacement] = []
    for old in sorted(silent, key=lambda s: (silent[s], s)):
        new = next((s for s in newcomers if firsts[s] > silent[old]), None)
        if new is not None:
            newcomers.remove(new)
            found.append(Replacement(old, new, silent[old], firsts[new]))
    return found
