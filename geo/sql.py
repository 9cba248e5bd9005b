"""Turning the geometry values the app handles into SQL expressions."""

from __future__ import annotations

from geoalchemy2 import WKBElement, WKTElement
from sqlalchemy import func
from sqlalchemy.sql import ColumnElement


def as_sql(value: WKBElement | WKTElement | str) -> ColumnElement:
    """A geometry from the database (WKB), from a form (EWKT text) or WKT element."""
    if isinstance(value, WKBElement):
        return func.ST_GeomFromEWKB(bytes(value.data)) if value.extended else \
            func.ST_GeomFromWKB(bytes(value.data), value.srid)
    if isinstance(value, WKTElement):
        return func.ST_GeomFromEWKT(value.desc) if value.extended else \
            func.ST_GeomFromText(value.desc, value.srid)
    return func.ST_GeomFromEWKT(value)
