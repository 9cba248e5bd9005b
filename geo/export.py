"""Grids out as GeoJSON (RFC 7946)."""

from __future__ import annotations

import json
from typing import TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from models import Grid, GridLevel


def grid_features(session: Session, level: str | None = None):
    """Current grids as (properties, geometry JSON text), parents' codes joined in SQL.

    RFC 7946: WGS84 lon/lat, exterior rings counter-clockwise (ST_ForcePolygonCCW),
    no `crs` member. Coordinates keep their full precision: rounding them would
    open hairline gaps between neighbours that share an edge exactly."""
    parent = aliased(Grid)
    query = (
        select(Grid.code, Grid.name, Grid.level, parent.code,
               func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(Grid.geom), 15))
        .outerjoin(parent, parent.id == Grid.parent_id)
        .where(Grid.generation_high.is_(None))
        .order_by(Grid.code)
    )
    if level:
        query = query.where(Grid.level == GridLevel(level))
    for code, name, lvl, parent_code, geometry in session.execute(query):
        yield {"code": code, "name": name, "level": lvl.value,
               "parent_code": parent_code}, geometry


def write_geojson(session: Session, out: TextIO, level: str | None = None) -> int:
    """Stream a FeatureCollection to `out`; return the number of features."""
    out.write('{"type":"FeatureCollection","features":[\n')
    n = 0
    for properties, geometry in grid_features(session, level):
        if n:
            out.write(",\n")
        props = json.dumps(properties, ensure_ascii=False)
        out.write(f'{{"type":"Feature","properties":{props},"geometry":{geometry}}}')
        n += 1
    out.write("\n]}\n")
    return n
