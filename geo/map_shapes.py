"""The committee maps' outlines: built once per boundary change, read per box.

`refresh_map_shapes` rebuilds models.map_shapes from the current villages:
- towns and counties are the union of their villages (on a 0.1 m grid, so that
  neighbours that almost meet do not leave slivers), so a map's areas are exactly
  the places its counts come from;
- each level is simplified per zoom band as a *coverage* (GEOS's coverage
  simplifier, through shapely: PostGIS 3.3's GEOS is too old for it): an edge two
  neighbours share is simplified once and used by both, so they still meet exactly
  at every zoom, where simplifying each polygon alone opens gaps and overlaps.
It runs in Python on the whole province at once (about a minute for 26,000
villages): per county, the edges on a county's border would be simplified twice,
differently.

`shapes_in_box` is what a map asks when it moves: the band of its zoom, inside
its box, in the account's scope, as GeoJSON made by PostGIS.
"""

from __future__ import annotations

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from models.jobs import start
from models.map_shapes import BANDS, LEVELS, band_of

GRID_SIZE = 1e-6  # degrees, about 0.1 m: where villages' shared edges are snapped
MAX_FEATURES = 3000  # a box never brings more areas than this
MAP_SHAPES_JOB = "map_shapes"  # the job that runs refresh_map_shapes (admin.views.committee_maps)


def _current(session: Session, level: str) -> list:
    return session.execute(text(
        "SELECT code, name, ST_AsBinary(geom) FROM grids "
        "WHERE generation_high IS NULL AND level = :level ORDER BY code"),
        {"level": level}).all()


def _parent_code(code: str, level: str) -> str:
    return code[:9] + "000" if level == "town" else code[:6] + "000000"


def _united(codes: list[str], geoms: np.ndarray, level: str):
    """The areas of `level` (town, county) as unions of the areas below."""
    parents = np.array([_parent_code(c, level) for c in codes])
    order = np.argsort(parents, kind="stable")
    keys, starts = np.unique(parents[order], return_index=True)
    groups = np.split(order, starts[1:])
    return list(keys), np.array([shapely.union_all(geoms[g], grid_size=GRID_SIZE)
                                 for g in groups])


def build_levels(session: Session) -> dict[str, tuple[list[str], np.ndarray]]:
    """Every level's codes and full-detail shapes: villages as stored, towns and
    counties united from them."""
    villages = _current(session, "village")
    codes = [c for c, _, _ in villages]
    geoms = shapely.from_wkb([bytes(w) for _, _, w in villages])
    levels = {"village": (codes, geoms)}
    levels["town"] = _united(codes, geoms, "town")
    levels["county"] = _united(*levels["town"], "county")
    return levels


def refresh_map_shapes(session: Session, progress=None) -> dict[str, int]:
    """Rebuild every precomputed shape from the current boundaries; flush, no commit.
    Returns the number of areas per level."""
    levels = build_levels(session)
    names = {c: n for level in LEVELS for c, n, _ in _names(session, level)}
    session.execute(text("DELETE FROM map_shapes"))
    steps, done = len(LEVELS) * len(BANDS), 0
    for level in LEVELS:
        codes, full = levels[level]
        points = shapely.to_wkb(shapely.point_on_surface(full))
        for band, (_, tolerance, _) in enumerate(BANDS):
            simple = shapely.coverage_simplify(full, tolerance)
            rows = [{"level": level, "band": band, "code": code, "county": code[:6],
                     "name": names.get(code, code), "geom": shapely.to_wkb(g),
                     "point": p}
                    for code, g, p in zip(codes, simple, points, strict=True)
                    if not g.is_empty]
            if rows:
                session.execute(text(
                    "INSERT INTO map_shapes (level, band, code, county_code, name, geom, "
                    "label_point) VALUES (:level, :band, :code, :county, :name, "
                    "ST_Multi(ST_CollectionExtract(ST_GeomFromWKB(:geom, 4326), 3)), "
                    "ST_GeomFromWKB(:point, 4326))"), rows)
            done += 1
            if progress:
                progress(done, steps)
    session.flush()
    return {level: len(levels[level][0]) for level in LEVELS}


def _names(session: Session, level: str):
    return session.execute(text(
        "SELECT code, name, NULL FROM grids WHERE generation_high IS NULL AND level = :l"),
        {"l": level}).all()


def shapes_in_box(session: Session, scope, level: str, zoom: float,
                  box: tuple[float, float, float, float]) -> str:
    """The outlines of `level` for a map at `zoom` showing `box` (west, south, east,
    north), in scope, as a GeoJSON FeatureCollection (built by PostGIS: one string,
    no per-feature Python)."""
    band = band_of(zoom)
    digits = BANDS[band][2]
    prefix = scope_prefix(scope)
    row = session.execute(text(f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features',
                                 coalesce(json_agg(f ORDER BY code), '[]'))::text
        FROM (SELECT code, json_build_object(
                  'type', 'Feature', 'id', code,
                  'geometry', ST_AsGeoJSON(geom, {digits})::json,
                  'properties', json_build_object('code', code, 'name', name)) AS f
              FROM map_shapes
              WHERE level = :level AND band = :band AND code LIKE :prefix
                AND geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)
              ORDER BY code LIMIT {MAX_FEATURES}) AS features"""),
        {"level": level, "band": band, "prefix": prefix + "%",
         "w": box[0], "s": box[1], "e": box[2], "n": box[3]}).scalar_one()
    return row


def scope_prefix(scope) -> str:
    """The code prefix of the areas a scope's maps show ('' for the whole city)."""
    if scope.sees_whole_city:
        return ""
    return scope.area_code or "-"  # "-" matches no code: nothing in scope


def scope_bounds(session: Session, scope) -> list[float] | None:
    """[west, south, east, north] of the counties in scope: where a map first looks."""
    row = session.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) "
        "AS e FROM map_shapes WHERE level = 'county' AND band = 0 AND code LIKE :p) AS x"),
        {"p": scope_prefix(scope)[:6] + "%"}).one()
    return None if row[0] is None else [round(v, 4) for v in row]


def request_map_refresh(session: Session, owner_id=None) -> None:
    """Boundaries changed: queue a rebuild of the maps' shapes, in the caller's
    transaction (once, however many changes ask before it runs)."""
    start(session, MAP_SHAPES_JOB, "province", owner_id=owner_id)
