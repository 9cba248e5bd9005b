"""Turning the geometry values the app handles into SQL expressions."""

from __future__ import annotations

from geoalchemy2 import WKBElement, WKTElement
from sqlalchemy import func, text
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


def refresh_statistics(session) -> None:
    """ANALYZE the tables point-in-polygon plans depend on, after a bulk write: with
    the statistics of an empty table the planner tests every point against every
    polygon (a second per 5,000 points on the demo) instead of using the GiST index
    (50 ms). Autovacuum would get there, but only after the first slow lookups.
    ANALYZE is the owner's: the app's role calls the owner's function for it."""
    session.execute(text("SELECT gridlink_refresh_statistics()"))
