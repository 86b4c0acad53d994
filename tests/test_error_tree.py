"""The exception tree drawn in ``errors.py`` is the tree the code has: every error class of
the package is in the drawing, under its real parent."""

from __future__ import annotations

import importlib
import pkgutil
import re

import panel_tracker
from panel_tracker import errors
from panel_tracker.errors import PanelTrackerError


def _all_error_classes() -> list[type[PanelTrackerError]]:
    for module in pkgutil.walk_packages(panel_tracker.__path__, "panel_tracker."):
        importlib.import_module(module.name)
    found: list[type[PanelTrackerError]] = []
    todo: list[type[PanelTrackerError]] = [PanelTrackerError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(c for c in cls.__subclasses__() if c.__module__.startswith("panel_tracker"))
    return found


def _drawn_parents() -> dict[str, str | None]:
    """Each class name in the docstring's drawing, mapped to the name drawn above it."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^(\s*(?:[│ ]\s*)*(?:[├└]── )?)([A-Z]\w+Error)\b", line)
        if not match:
            continue
        depth = len(match.group(1))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match.group(2)] = stack[-1][1] if stack else None
        stack.append((depth, match.group(2)))
    return parents


def test_every_error_class_is_drawn_under_its_parent():
    drawn = _drawn_parents()
    for cls in _all_error_classes():
        assert cls.__name__ in drawn, f"{cls.__module__}.{cls.__name__} is not in the drawing"
        if cls is not PanelTrackerError:
            assert drawn[cls.__name__] == cls.__bases__[0].__name__, cls.__name__
    assert set(drawn) == {cls.__name__ for cls in _all_error_classes()}, "drawn but not defined"
