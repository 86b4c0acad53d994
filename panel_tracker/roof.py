"""The roof as the owner lays it out (the config's ``panel_layout``): rows of serials on one
face, or on several named ones.

``panel_layout`` is either a list of rows (``null`` for a gap), one face without a name, or an
object of named faces, each a list of rows: ``{"east": [["121", "122"], ["123", null]], ...}``.
Named faces are also the roof's groups when the config gives no ``panel_groups``. The settings
module parses and checks the key; the report, the sheet's Dashboard and the exports read the
plain values here.
"""

from __future__ import annotations

from dataclasses import dataclass

PanelRows = tuple[tuple[str | None, ...], ...]


@dataclass(frozen=True, slots=True)
class RoofFace:
    """One face of the roof: its rows of serials (None for a gap); ``name`` None when the
    layout names no faces."""

    name: str | None
    rows: PanelRows

    @property
    def serials(self) -> tuple[str, ...]:
        """The face's serials, row by row."""
        return tuple(serial for row in self.rows for serial in row if serial is not None)


PanelLayout = tuple[RoofFace, ...]


def layout_serials(layout: PanelLayout | None) -> list[str]:
    """Every serial the layout places, face by face and row by row."""
    return [serial for face in layout or () for serial in face.serials]


def named_faces(layout: PanelLayout | None) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """The layout's faces as (name, serials) groups, or None when it names no faces."""
    if not layout or any(face.name is None for face in layout):
        return None
    return tuple((face.name, face.serials) for face in layout if face.name is not None)
