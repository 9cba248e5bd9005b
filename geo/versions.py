"""Boundary versions over time: what changed between generations, and which grids
covered a point on a given day (see models.grids for what a generation is)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models import Generation, Grid


@dataclass
class Change:
    code: str
    name: str
    kind: str  # added | removed | redrawn
    area_change_m2: float | None

    def line(self) -> str:
        change = f" {self.area_change_m2:+,.0f} m²" if self.area_change_m2 is not None else ""
        return f"{self.kind:8} {self.code} {self.name}{change}"


# Each side is the set of versions valid in a generation (models.grids.Grid.in_generation);
# a grid that was redrawn has a different version row on each side with another shape.
DIFF = """
WITH a AS (SELECT id, code, name, geom FROM grids WHERE generation_low <= :old
             AND (generation_high IS NULL OR generation_high >= :old)),
     b AS (SELECT id, code, name, geom FROM grids WHERE generation_low <= :new
             AND (generation_high IS NULL OR generation_high >= :new))
SELECT coalesce(b.code, a.code), coalesce(b.name, a.name),
       CASE WHEN a.id IS NULL THEN 'added' WHEN b.id IS NULL THEN 'removed'
            ELSE 'redrawn' END,
       ST_Area(b.geom::geography) - ST_Area(a.geom::geography)
FROM a FULL JOIN b ON a.code = b.code
WHERE a.id IS NULL OR b.id IS NULL OR (a.id <> b.id AND NOT ST_Equals(a.geom, b.geom))
ORDER BY 1"""


def diff(session: Session, old: int, new: int) -> list[Change]:
    for number in (old, new):
        if session.get(Generation, number) is None:
            raise LookupError(f"there is no boundary generation {number}")
    rows = session.execute(text(DIFF), {"old": old, "new": new})
    return [Change(code, name, kind, area) for code, name, kind, area in rows]


def generation_on(session: Session, day: date) -> int | None:
    """The generation in force on a day: the newest that took effect by then."""
    return session.scalar(select(func.max(Generation.id)).where(Generation.valid_from <= day))


def grids_at_point(session: Session, lon: float, lat: float,
                   day: date | None = None) -> list[Grid]:
    """The grids (all levels) whose boundary, as it was on `day`, covers the point."""
    generation = generation_on(session, day or date.today())
    if generation is None:
        return []
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    return session.scalars(Grid.in_generation(generation)
                           .where(func.ST_Covers(Grid.geom, point))
                           .order_by(Grid.code)).all()


@dataclass
class MovedMatter:
    case_number: str
    assigned_code: str
    new_code: str | None  # None: the point now lies in no village
    new_name: str | None

    def line(self) -> str:
        where = f"{self.new_code} {self.new_name}" if self.new_code else "(no grid)"
        return f"matter   {self.case_number} {self.assigned_code} → {where}"


# An open matter located by a point keeps the grid it was assigned to; after a
# redraw its point may lie in another village. Only points move: a matter routed
# by names follows the named village, whatever its boundary.
MOVED = """
SELECT m.case_number, old.code, new.code, new.name
FROM assignments s
JOIN matters m ON m.id = s.matter_id AND m.state::text = ANY(:open)
JOIN matter_addresses a ON a.id = s.address_id AND a.geom IS NOT NULL
JOIN grids old ON old.id = s.grid_id
LEFT JOIN LATERAL (
  SELECT code, name FROM grids g WHERE g.level = 'village' AND g.generation_low <= :new
     AND (g.generation_high IS NULL OR g.generation_high >= :new) AND ST_Covers(g.geom, a.geom)
  ORDER BY code LIMIT 1) new ON true
WHERE s.role = 'primary' AND s.ended_at IS NULL AND new.code IS DISTINCT FROM old.code
ORDER BY m.case_number"""


def matters_moved(session: Session, new: int) -> list[MovedMatter]:
    """Open matters whose point lies, in generation `new`, outside their grid."""
    from models.matters import OPEN_STATES

    rows = session.execute(text(MOVED), {"new": new, "open": [s.value for s in OPEN_STATES]})
    return [MovedMatter(*row) for row in rows]
