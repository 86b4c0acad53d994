"""Replaced micro-inverters: a new serial that took the place of one that went silent.

A unit that stopped reporting (``stopped_after_days``) and a serial whose first day came after
the silent one's last report are taken as one position of the roof: the old unit is retired
from that night on (no longer weak, silent or counted), and the new one is judged after its
own first days. Pairs are made in order: the longest silence with the earliest newcomer of
the same group (the roof face both sit on: the group each is listed in when the config names
the groups, a newcomer it leaves out joining the group its days match; the group the history
shows otherwise), so a panel added on another face while one is silent is no replacement.
A newcomer the config does not list has no group on its first night (its first day's energy
is unknown): it is taken as the successor that night, so the replacement is said on the
night the new serial first reports, and from its first measured day on its group decides:
one found on another face is no longer the silent unit's successor (the old unit is then
named as silent again). On a roof of one array every newcomer is of the silent unit's
group, as before groups.

The owner can say the same by hand (the config's ``replacements``: old serial -> new one):
such a pair applies once both serials are in the history, whether or not the old one went
silent, and wins over a recognised pair that names either of its serials.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
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
    history: History,
    silent: Mapping[str, str],
    reporting: Sequence[str],
    group_of: Mapping[str, str] | None = None,
) -> list[Replacement]:
    """The replacements among ``silent`` serials (each with its last day) and ``reporting``
    ones (see the module docstring); ``group_of``: each serial's group where it is known
    (None: one array)."""
    if not silent:
        return []
    firsts = {serial: min(days) for serial in reporting if (days := history.days_of(serial))}
    newcomers = sorted(firsts, key=lambda s: (firsts[s], s))
    found: list[Replacement] = []
    for old in sorted(silent, key=lambda s: (silent[s], s)):
        later = [s for s in newcomers if firsts[s] > silent[old]]
        if group_of is not None:
            # a newcomer known to sit in the silent unit's group first; one whose group is not
            # known yet (its first night) may be it; one known to sit elsewhere is not
            later = [s for s in later if s in group_of and group_of[s] == group_of.get(old)] + [
                s for s in later if s not in group_of
            ]
        if later:
            new = later[0]
            newcomers.remove(new)
            found.append(Replacement(old, new, silent[old], firsts[new]))
    return found


def with_given(
    found: Sequence[Replacement],
    given: Mapping[str, str],
    history: History,
    last_seen: Mapping[str, str | None],
    serials: Collection[str],
) -> list[Replacement]:
    """``found`` with the owner's ``given`` pairs (old -> new) among ``serials`` put first,
    and every found pair that shares a serial with one of them dropped; ``last_seen``: each
    serial's last day with a report."""
    pairs: list[Replacement] = []
    for old, new in sorted(given.items()):
        days = history.days_of(new)
        if old in serials and new in serials and days:
            seen = last_seen.get(old) or history.last_date(old) or ""
            pairs.append(Replacement(old, new, seen, min(days)))
    taken = {r.old for r in pairs} | {r.new for r in pairs}
    return pairs + [r for r in found if r.old not in taken and r.new not in taken]
