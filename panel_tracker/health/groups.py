"""The roof's groups: which panels share their sun, so each is judged against its own face.

From the config (``panel_groups``) when it names them, else found in the history: on a roof of
two faces the smaller face's ratio to the array median dips on clear days and comes back on
overcast ones, and every panel of that face does so together. Each panel's log ratio to the
array median over the recent lit days, less its own median (a panel shaded by a constant 10 %
keeps its face's ups and downs, so a fault does not move it), is a profile; the profiles are
clustered with k-means for 2 and 3 groups (while the history is young, see ``LEVEL_DAYS``, the
profiles keep each panel's level) and a split is kept only when it is clear: every
group at least ``MIN_GROUP_PANELS`` panels, the groups' mean profiles apart by ``MIN_FACE_GAP``
(rms) and a mean silhouette of ``MIN_SILHOUETTE``. Otherwise the roof is one array, as before.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..wording import counted

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

# How the groups came about (``PanelGroups.source``).
FROM_CONFIG = "config"
FROM_HISTORY = "history"
ONE_ARRAY = "one array"

MIN_GROUP_PANELS = 3  # a median of fewer is no reference (and a fault must not split off)
GROUP_DAYS = 60  # the recent lit days the profiles span
RECENT_DAYS = 10  # a panel clustered must have reported on half of the last lit days
MIN_GROUP_DAYS = 3  # fewer lit days than this and the roof is one array
# Until this many lit days the profiles keep each panel's level: a short history may hold no
# overcast day, and a face then differs only by its level (a fault of three panels at once in
# a history that young would be taken for a face).
LEVEL_DAYS = 20
MIN_FACE_GAP = 0.03  # rms of the mean profiles' difference, log ratio (3 %)
MIN_SILHOUETTE = 0.5
MIN_GAP_DAYS = 3  # days on which two groups must differ by MIN_FACE_GAP ...
MIN_GAP_SHARE = 0.1  # ... or this share of the days, if more
# A day below a group's median weighs this much beside one above it when a panel is placed
# (``place_others``): enough that a new panel of the lower face still matches it.
BELOW_WEIGHT = 0.05
PROFILE_CLIP = 0.3  # a dying panel's profile is clipped, so it cannot dominate the clustering
MAX_GROUPS = 3
KMEANS_ROUNDS = 20
KMEANS_STARTS = 8  # further starts from panels a fixed generator picks
KMEANS_SEED = 20_260_101

# The config's groups: (name, serials) pairs in the order given.
ConfiguredGroups = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class PanelGroups:
    """The groups each panel is judged in: ``names[g]`` holds ``members[g]``."""

    names: tuple[str, ...]
    members: tuple[tuple[str, ...], ...]
    source: str

    def describe(self, in_use: Collection[str] | None = None) -> str:
        """One short line for the summary and the report: which groups, found how; counted
        over ``in_use`` when given (a replaced or retired unit is on the roof no more)."""
        sizes = [sum(1 for s in m if in_use is None or s in in_use) for m in self.members]
        if len(self.names) == 1 and self.source == ONE_ARRAY:
            return f"groups: one array ({counted(sizes[0], 'panel')})"
        parts = ", ".join(f"{n} ({size})" for n, size in zip(self.names, sizes, strict=True))
        how = "from the config" if self.source == FROM_CONFIG else "found from the history"
        return f"groups {how}: {parts}"


def one_array(serials: Sequence[str]) -> PanelGroups:
    return PanelGroups(names=("array",), members=(tuple(serials),), source=ONE_ARRAY)


def labels_of(groups: PanelGroups, serials: Sequence[str]) -> IntArray:
    """Per serial its group's index; -1 for a serial no group names."""
    index = {s: g for g, members in enumerate(groups.members) for s in members}
    return np.array([index.get(s, -1) for s in serials], dtype=np.int64)


def recent_logs(per_watt: FloatArray, median: FloatArray, lit: BoolArray) -> FloatArray:
    """Each panel's log ratio to the array median on the recent lit days (days x panels; NaN
    where unknown)."""
    rows = np.flatnonzero(lit)[-GROUP_DAYS:]
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(per_watt[rows] / median[rows, None])
    logs[~np.isfinite(logs)] = np.nan
    result: FloatArray = logs
    return result


def log_profiles(logs: FloatArray) -> FloatArray:
    """The profiles to cluster: ``recent_logs`` less each panel's median (once the history
    holds ``LEVEL_DAYS`` lit days), clipped, 0 where unknown (panels x days)."""
    known = np.isfinite(logs)
    centre = np.zeros(logs.shape[1])
    some = known.any(axis=0)
    if some.any() and logs.shape[0] >= LEVEL_DAYS:
        centre[some] = np.nanmedian(logs[:, some], axis=0)
    centred = np.clip(logs - centre, -PROFILE_CLIP, PROFILE_CLIP)
    result: FloatArray = np.where(known, centred, 0.0).T
    return result


def find_groups(
    serials: Sequence[str], per_watt: FloatArray, median: FloatArray, lit: BoolArray
) -> PanelGroups:
    """The groups the history shows (see the module docstring), else one array."""
    if int(lit.sum()) < MIN_GROUP_DAYS or len(serials) < 2 * MIN_GROUP_PANELS:
        return one_array(serials)
    logs = recent_logs(per_watt, median, lit)
    profiles = log_profiles(logs)
    known = np.isfinite(logs).T
    # a panel with few known days (new, or silent) is placed afterwards, not clustered
    # ... and so is one silent of late (a dead micro-inverter's last days are a ramp)
    recent = known[:, -RECENT_DAYS:]
    steady = (known.sum(axis=1) >= max(MIN_GROUP_DAYS, (known.shape[1] + 1) // 2)) & (
        2 * recent.sum(axis=1) >= recent.shape[1]
    )
    if int(steady.sum()) < 2 * MIN_GROUP_PANELS:
        return one_array(serials)
    best: IntArray | None = None
    for k in range(2, MAX_GROUPS + 1):  # the most groups that are clearly apart
        labels = _kmeans(profiles[steady], k)
        if labels is None:
            continue
        score = _silhouette(profiles[steady], labels)
        if score >= MIN_SILHOUETTE and _apart(profiles[steady], labels):
            best = labels
    if best is None:
        return one_array(serials)
    full: IntArray = np.full(len(serials), -1, dtype=np.int64)
    full[steady] = best
    full = place_others(logs, full)
    return _named(serials, full)


def place_others(logs: FloatArray, labels: IntArray) -> IntArray:
    """Each unplaced (-1) panel in the group whose median log ratio its known days match best
    (a new micro-inverter makes what its face makes), or in the largest group without any.

    A day below a group's median counts ``BELOW_WEIGHT`` as much as one above it: a fault
    only takes energy away, so a dying micro-inverter's falling days say little about its
    face (counted in full they would match the lowest face), while days above a face's
    median do say the panel is not on it."""
    placed = labels >= 0
    groups = int(labels.max()) + 1 if placed.any() else 0
    if groups == 0 or placed.all():
        return labels
    result = labels.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a day none of a group reported
        centres = np.array([np.nanmedian(logs[:, labels == g], axis=1) for g in range(groups)])
    largest = int(np.bincount(labels[placed]).argmax())
    for panel in np.flatnonzero(~placed):
        days = np.isfinite(logs[:, panel]) & np.isfinite(centres).all(axis=0)
        if not days.any():
            result[panel] = largest
            continue
        differences = logs[days, panel] - centres[:, days]
        weights = np.where(differences < 0, BELOW_WEIGHT, 1.0)
        gaps = (weights * differences**2).mean(axis=1)
        result[panel] = int(np.argmin(gaps))
    placed_all: IntArray = result
    return placed_all


def _named(serials: Sequence[str], labels: IntArray) -> PanelGroups:
    """Groups largest first (then by first serial), named face 1, face 2, ..."""
    members = [
        tuple(s for s, g in zip(serials, labels, strict=True) if g == k) for k in set(labels)
    ]
    members.sort(key=lambda m: (-len(m), m[0]))
    return PanelGroups(
        names=tuple(f"face {n + 1}" for n in range(len(members))),
        members=tuple(members),
        source=FROM_HISTORY,
    )


def _kmeans(profiles: FloatArray, k: int) -> IntArray | None:
    """The tightest of a few k-means runs; None unless k groups of MIN_GROUP_PANELS remain.

    The first run's seeds are far apart among each panel's mean with its nearest neighbours,
    so one odd panel (a dying micro) is not taken for a face of its own; the others start
    from panels a fixed generator picks, so the answer depends on the history alone.
    """
    distance = _distances(profiles)
    near = np.argsort(distance, axis=1)[:, :MIN_GROUP_PANELS]
    smoothed = profiles[near].mean(axis=1)
    seeds = [int(np.argmin(((smoothed - smoothed.mean(axis=0)) ** 2).sum(axis=1)))]
    while len(seeds) < k:
        gaps = np.min([((smoothed - smoothed[s]) ** 2).sum(axis=1) for s in seeds], axis=0)
        seeds.append(int(np.argmax(gaps)))
    picker = np.random.default_rng(KMEANS_SEED)
    starts = [smoothed[seeds]] + [
        profiles[picker.choice(len(profiles), k, replace=False)] for _ in range(KMEANS_STARTS)
    ]
    best: IntArray | None = None
    best_inertia = np.inf
    for start in starts:
        labels = _lloyd(profiles, start)
        if labels is None:
            continue
        inertia = sum(
            float(((profiles[labels == g] - profiles[labels == g].mean(axis=0)) ** 2).sum())
            for g in range(k)
        )
        if inertia < best_inertia - 1e-12:
            best, best_inertia = labels, inertia
    return best


def _lloyd(profiles: FloatArray, centres: FloatArray) -> IntArray | None:
    """Lloyd's iterations from ``centres``; a group that falls under MIN_GROUP_PANELS ends the
    run (None)."""
    k = len(centres)
    labels = np.zeros(len(profiles), dtype=np.int64)
    for _ in range(KMEANS_ROUNDS):
        gaps = ((profiles[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = np.argmin(gaps, axis=1).astype(np.int64)
        if (np.bincount(labels, minlength=k) < MIN_GROUP_PANELS).any():
            return None
        moved = np.array([profiles[labels == g].mean(axis=0) for g in range(k)])
        if np.allclose(moved, centres):
            break
        centres = moved
    return labels


def _distances(profiles: FloatArray) -> FloatArray:
    squared = (profiles**2).sum(axis=1)
    gram = profiles @ profiles.T
    result: FloatArray = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * gram, 0.0))
    return result


def _silhouette(profiles: FloatArray, labels: IntArray) -> float:
    """The mean silhouette: how much nearer each panel is to its own group than to the next."""
    distance = _distances(profiles)
    groups = int(labels.max()) + 1
    own: FloatArray = np.zeros(len(labels))
    other: FloatArray = np.full(len(labels), np.inf)
    for g in range(groups):
        members = labels == g
        mean_to = distance[:, members].sum(axis=1)
        inside = members.sum()
        own = np.where(members, mean_to / max(inside - 1, 1), own)
        other = np.where(members, other, np.minimum(other, mean_to / inside))
    scale = np.maximum(own, other)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(scale > 0, (other - own) / scale, 0.0)
    return float(score.mean())


def _apart(profiles: FloatArray, labels: IntArray) -> bool:
    """Whether every two groups' mean profiles differ by MIN_FACE_GAP (rms over the days),
    and by that much on enough days (``MIN_GAP_DAYS``, or ``MIN_GAP_SHARE`` of the days): one
    odd day (partial snow) is no face."""
    groups = int(labels.max()) + 1
    centres = [profiles[labels == g].mean(axis=0) for g in range(groups)]
    days = profiles.shape[1]
    needed = max(MIN_GAP_DAYS, math.ceil(MIN_GAP_SHARE * days))
    for a in range(groups):
        for b in range(a + 1, groups):
            gap = np.abs(centres[a] - centres[b])
            if float(np.sqrt((gap**2).mean())) < MIN_FACE_GAP:
                return False
            if int((gap >= MIN_FACE_GAP).sum()) < needed:
                return False
    return True


def configured(groups: ConfiguredGroups, serials: Sequence[str]) -> PanelGroups:
    """The config's groups; a serial of the history none names is placed later by profile."""
    return PanelGroups(
        names=tuple(name for name, _ in groups),
        members=tuple(tuple(s for s in members if s in serials) for _, members in groups),
        source=FROM_CONFIG,
    )


def resolve_groups(
    given: ConfiguredGroups | None,
    serials: Sequence[str],
    per_watt: FloatArray,
    median: FloatArray,
    lit: BoolArray,
) -> tuple[PanelGroups, IntArray]:
    """The groups to judge in (the config's, else found) and each serial's group index.

    A serial of the history the config's groups do not name (a new micro-inverter) joins the
    group its profile matches; a configured group with no serial in the history is dropped.
    """
    if not given:
        groups = find_groups(serials, per_watt, median, lit)
        return groups, labels_of(groups, serials)
    groups = configured(given, serials)
    kept = [g for g, members in enumerate(groups.members) if members]
    groups = PanelGroups(
        names=tuple(groups.names[g] for g in kept),
        members=tuple(groups.members[g] for g in kept),
        source=FROM_CONFIG,
    )
    labels = labels_of(groups, serials)
    if (labels < 0).any() and groups.names:
        labels = place_others(recent_logs(per_watt, median, lit), labels)
        groups = PanelGroups(
            names=groups.names,
            members=tuple(
                tuple(s for s, g in zip(serials, labels, strict=True) if g == k)
                for k in range(len(groups.names))
            ),
            source=FROM_CONFIG,
        )
    elif not groups.names:
        groups = one_array(serials)
        labels = labels_of(groups, serials)
    return groups, labels
