"""Topology checks of the current grids: do they still form a clean hierarchy?

Grids of one level must tile their parent: each valid, inside its parent, not
overlapping a sibling, together leaving no gap, and with no sliver left over
from editing. Each check is one set-based SQL statement over the whole city
(PostGIS does the geometry; a loop per grid would be a thousand round trips).
Areas are measured on the spheroid (geography), in square metres; a problem is
located by a point on it (ST_PointOnSurface), so an admin can go straight there.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

DEFAULT_TOLERANCE_M = 1.0  # smaller overlaps, gaps and spills are drawing noise, not problems
SLIVER_THINNESS = 0.05  # 4πA/P²: 1 for a circle, near 0 for a thread
SLIVER_MAX_AREA_M2 = 5000.0


@dataclass
class Problem:
    kind: str  # invalid | outside_parent | overlap | gap | sliver
    codes: list[str]
    names: list[str]
    detail: str
    area_m2: float | None = None
    lon: float | None = None
    lat: float | None = None
    geometry: dict | None = field(default=None, repr=False)

    def line(self) -> str:
        where = f" at {self.lon:.6f},{self.lat:.6f}" if self.lon is not None else ""
        area = f" ({self.area_m2:,.1f} m²)" if self.area_m2 is not None else ""
        return f"{self.kind:15} {' / '.join(self.codes):30} {self.detail}{area}{where}"

    def as_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


# The grids to check: current versions, optionally narrowed to codes with a prefix
# (a scope) — the parent itself may lie outside the prefix.
def current(alias: str = "grids") -> str:
    return f"{alias}.generation_high IS NULL AND {alias}.code LIKE :prefix"


INVALID = f"""
SELECT code, name, ST_IsValidReason(geom),
       ST_X(ST_PointOnSurface(ST_Envelope(geom))), ST_Y(ST_PointOnSurface(ST_Envelope(geom)))
FROM grids WHERE {current()} AND NOT ST_IsValid(geom)"""

OUTSIDE_PARENT = f"""
WITH spill AS (
  SELECT c.code, c.name, p.code AS parent_code, p.name AS parent_name,
         ST_Difference(c.geom, p.geom) AS part
  FROM grids c JOIN grids p ON p.id = c.parent_id
  WHERE {current("c")} AND ST_IsValid(c.geom) AND ST_IsValid(p.geom)
    AND NOT ST_CoveredBy(c.geom, p.geom))
SELECT s.code, s.name, s.parent_code, s.parent_name, ST_Area(s.part::geography),
       ST_X(ST_PointOnSurface(s.part)), ST_Y(ST_PointOnSurface(s.part)), ST_AsGeoJSON(s.part, 7)
FROM spill s, grids p WHERE p.code = s.parent_code AND p.generation_high IS NULL
  AND NOT ST_IsEmpty(s.part)
  AND NOT ST_CoveredBy(s.part, ST_Buffer(p.geom::geography, :tolerance)::geometry)"""

OVERLAPS = f"""
WITH pair AS (
  SELECT a.code AS a_code, a.name AS a_name, b.code AS b_code, b.name AS b_name,
         ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) AS part
  FROM grids a JOIN grids b
    ON a.parent_id IS NOT DISTINCT FROM b.parent_id AND a.level = b.level AND a.code < b.code
   AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, '2********')
  WHERE {current("a")} AND b.generation_high IS NULL
    AND ST_IsValid(a.geom) AND ST_IsValid(b.geom))
SELECT a_code, a_name, b_code, b_name, ST_Area(part::geography),
       ST_X(ST_PointOnSurface(part)), ST_Y(ST_PointOnSurface(part)), ST_AsGeoJSON(part, 7)
FROM pair WHERE ST_Area(part::geography) > :min_area
  AND 2 * ST_Area(part::geography) / ST_Perimeter(part::geography) > :tolerance"""

GAPS = f"""
WITH parent AS (SELECT id, code, name, geom FROM grids p WHERE {current("p")}),
cover AS (
  SELECT parent_id, ST_Union(geom) AS geom FROM grids
  WHERE generation_high IS NULL AND ST_IsValid(geom)
    AND parent_id IN (SELECT id FROM parent) GROUP BY parent_id),
hole AS (
  SELECT parent.code, parent.name, (ST_Dump(ST_Difference(parent.geom, cover.geom))).geom
         AS part
  FROM parent JOIN cover ON cover.parent_id = parent.id)
SELECT code, name, ST_Area(part::geography),
       ST_X(ST_PointOnSurface(part)), ST_Y(ST_PointOnSurface(part)), ST_AsGeoJSON(part, 7)
FROM hole WHERE ST_Area(part::geography) > :min_area
  AND 2 * ST_Area(part::geography) / ST_Perimeter(part::geography) > :tolerance"""

SLIVERS = f"""
WITH piece AS (
  SELECT code, name, (ST_Dump(geom)).geom AS part FROM grids
  WHERE {current()} AND ST_IsValid(geom) AND ST_NumGeometries(geom) > 1)
SELECT code, name, ST_Area(part::geography),
       4 * pi() * ST_Area(part::geography) / ST_Perimeter(part::geography) ^ 2,
       ST_X(ST_PointOnSurface(part)), ST_Y(ST_PointOnSurface(part)), ST_AsGeoJSON(part, 7)
FROM piece
WHERE ST_Area(part::geography) < :max_area
  AND 4 * pi() * ST_Area(part::geography) / ST_Perimeter(part::geography) ^ 2 < :thinness"""


def _params(prefix: str, tolerance_m: float) -> dict:
    return {"prefix": prefix + "%", "min_area": tolerance_m ** 2, "tolerance": tolerance_m}


def check(session: Session, prefix: str = "", tolerance_m: float = DEFAULT_TOLERANCE_M
          ) -> list[Problem]:
    """All problems among the current grids whose code starts with `prefix`.

    The tolerance is a length: a grid may stray that far outside its parent, and an
    overlap or gap is ignored when it is smaller than a square of that side or
    narrower than that on average (2·area/perimeter): shared edges drawn by hand
    never meet exactly, and a hairline along a whole edge is still a hairline."""
    p = _params(prefix, tolerance_m)
    problems = [Problem("invalid", [c], [n], reason, None, x, y)
                for c, n, reason, x, y in session.execute(text(INVALID), p)]
    for c, n, pc, pn, area, x, y, g in session.execute(text(OUTSIDE_PARENT), p):
        problems.append(Problem("outside_parent", [c, pc], [n, pn],
                                f"{n} spills outside its parent {pn}", area, x, y,
                                json.loads(g)))
    for a, an, b, bn, area, x, y, g in session.execute(text(OVERLAPS), p):
        problems.append(Problem("overlap", [a, b], [an, bn], f"{an} overlaps {bn}",
                                area, x, y, json.loads(g)))
    for c, n, area, x, y, g in session.execute(text(GAPS), p):
        problems.append(Problem("gap", [c], [n], f"part of {n} is covered by none of its "
                                "children", area, x, y, json.loads(g)))
    for c, n, area, thin, x, y, g in session.execute(
            text(SLIVERS), p | {"max_area": SLIVER_MAX_AREA_M2, "thinness": SLIVER_THINNESS}):
        problems.append(Problem("sliver", [c], [n], f"a thin piece of {n} "
                                f"(thinness {thin:.3f})", area, x, y, json.loads(g)))
    return problems


def overlaps_with_siblings(session: Session, grid_id, geom_sql: str, params: dict,
                           tolerance_m: float = DEFAULT_TOLERANCE_M) -> list[Problem]:
    """Overlaps of a boundary being saved (not yet written) with the grid's siblings."""
    rows = session.execute(text(f"""
        WITH new AS (SELECT {geom_sql} AS geom)
        SELECT s.code, s.name, ST_Area(x.part::geography),
               ST_X(ST_PointOnSurface(x.part)), ST_Y(ST_PointOnSurface(x.part))
        FROM grids s, new, LATERAL (SELECT ST_CollectionExtract(
                 ST_Intersection(s.geom, new.geom), 3) AS part) x
        WHERE s.generation_high IS NULL AND s.id IS DISTINCT FROM :grid_id
          AND s.level = :level AND s.parent_id IS NOT DISTINCT FROM :parent_id
          AND s.geom && new.geom AND ST_Relate(s.geom, new.geom, '2********')
          AND ST_Area(x.part::geography) > :min_area
          AND 2 * ST_Area(x.part::geography) / ST_Perimeter(x.part::geography) > :tolerance"""),
        params | {"grid_id": grid_id, "min_area": tolerance_m ** 2,
                  "tolerance": tolerance_m}).all()
    return [Problem("overlap", [c], [n], f"overlaps {n}", area, x, y)
            for c, n, area, x, y in rows]


def outside_parent(session: Session, parent_id, geom_sql: str, params: dict,
                   tolerance_m: float = DEFAULT_TOLERANCE_M) -> list[Problem]:
    """The part of a boundary being saved that lies outside its parent, beyond tolerance."""
    rows = session.execute(text(f"""
        WITH new AS (SELECT {geom_sql} AS geom)
        SELECT p.code, p.name, ST_Area(ST_Difference(new.geom, p.geom)::geography),
               ST_X(ST_PointOnSurface(ST_Difference(new.geom, p.geom))),
               ST_Y(ST_PointOnSurface(ST_Difference(new.geom, p.geom)))
        FROM grids p, new WHERE p.id = :parent_id
          AND NOT ST_CoveredBy(new.geom, ST_Buffer(p.geom::geography, :tolerance)::geometry)"""),
        params | {"parent_id": parent_id, "tolerance": tolerance_m}).all()
    return [Problem("outside_parent", [c], [n], f"spills outside {n}", area, x, y)
            for c, n, area, x, y in rows]


def gaps_left(session: Session, grid_id, geom_sql: str, params: dict,
              tolerance_m: float = DEFAULT_TOLERANCE_M) -> list[Problem]:
    """The ground a redrawn boundary gives up that none of its siblings covers: a
    hole it would open in its parent (a vertex dragged inward). A new grid gives
    nothing up."""
    rows = session.execute(text(f"""
        WITH new AS (SELECT {geom_sql} AS geom),
        given_up AS (
          SELECT ST_Difference(g.geom, new.geom) AS part FROM grids g, new WHERE g.id = :grid_id),
        neighbours AS (
          SELECT ST_Union(s.geom) AS geom FROM grids s, given_up u
          WHERE s.generation_high IS NULL AND s.id <> :grid_id AND s.level = :level
            AND s.parent_id IS NOT DISTINCT FROM :parent_id AND s.geom && u.part),
        hole AS (
          SELECT (ST_Dump(COALESCE(ST_Difference(u.part, n.geom), u.part))).geom AS part
          FROM given_up u, neighbours n)
        SELECT ST_Area(part::geography), ST_X(ST_PointOnSurface(part)),
               ST_Y(ST_PointOnSurface(part))
        FROM hole WHERE ST_Dimension(part) = 2 AND ST_Area(part::geography) > :min_area
          AND 2 * ST_Area(part::geography) / ST_Perimeter(part::geography) > :tolerance"""),
        params | {"grid_id": grid_id, "min_area": tolerance_m ** 2,
                  "tolerance": tolerance_m}).all()
    return [Problem("gap", [], [], "leaves a gap no neighbour covers", area, x, y)
            for area, x, y in rows]
