"""The committee maps' kept counts (models.map_counts): made once a minute for every
county, town and village, read by the maps' first view instead of counting a
province's million matters per request.

They answer what the unfiltered maps ask (a county filter too): the open matters
per area and state, the overdue ones, and the completion figures. A matter type, a
court or a period are not kept: with one of those, and for court staff (whose
matters are their courts', wherever placed, not an area's), the maps count live
(geo.map_matters). Counts older than MAX_AGE are not used either (the worker that
refreshes them is down): the maps then count live, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    and_,
    case,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.orm import Session

from geo.map_matters import (
    COMPLETED_STATES,
    MAX_AREAS,
    MapFilter,
    _in_box,
    area_code,
    done_moments,
    due_date,
)
from models import clock
from models.accounts import Role
from models.assignments import Assignment, AssignmentRole
from models.grids import Grid
from models.map_counts import MapCount
from models.map_shapes import MapShape
from models.matters import OPEN_STATES, Matter, MatterState

MAX_AGE = timedelta(minutes=15)  # older counts are not shown: the maps count live
LOCK = 0x6D6170  # an advisory lock: one refresh at a time ("map")


@dataclass(frozen=True)
class Kept:
    """The kept counts as a reader sees them: made on `day`, at `refreshed_at`,
    read on `today` (the same day or the next)."""

    day: date
    refreshed_at: datetime
    today: date

    def overdue(self):
        """Overdue as of today: the matters due on the counts' day became overdue at
        midnight when today is the next day."""
        if self.today > self.day:
            return MapCount.overdue + MapCount.due_on_day
        return MapCount.overdue

    def as_of(self) -> str:
        return self.refreshed_at.astimezone(clock.SITE_ZONE).strftime("%H:%M")


def area_prefix(scope) -> str | None:
    """The code prefix of the areas whose every matter the scope sees on the maps
    ('' for the whole province), or None when its maps' scope is not a whole county
    or province: court staff's (their courts' matters), or a committee of a smaller
    area than a county, whose county would be counted whole in the kept rows."""
    if scope.role is Role.admin:
        return ""
    if scope.role is Role.committee:
        if scope.area_code is None:
            return ""
        return scope.area_code if len(scope.area_code) <= 6 else None
    return None


def kept_counts(session: Session, scope, flt: MapFilter, now: datetime) -> tuple[Kept, str] | None:
    """The kept counts and the scope's prefix, when they can answer this reader and
    this filter; None when the maps must count live."""
    prefix = area_prefix(scope)
    if prefix is None or flt.matter_type or flt.court_id or flt.since or flt.until:
        return None
    row = session.execute(select(MapCount.day, MapCount.refreshed_at).limit(1)).first()
    if row is None:
        return None
    today = now.astimezone(clock.SITE_ZONE).date()
    fresh = timedelta(0) <= now - row.refreshed_at <= MAX_AGE
    if not fresh or not row.day <= today <= row.day + timedelta(days=1):
        return None
    return Kept(row.day, row.refreshed_at, today), prefix


def _kept_rows(kept: Kept, prefix: str, flt: MapFilter, level: str, box, *columns):
    query = (select(MapCount.code, MapShape.name, func.ST_X(MapShape.label_point),
                    func.ST_Y(MapShape.label_point), *columns)
             .join(MapShape, and_(MapShape.code == MapCount.code, MapShape.level == level,
                                  MapShape.band == 0))
             .where(MapCount.level == level, MapCount.code.startswith(prefix),
                    func.ST_Intersects(MapShape.label_point, _in_box(box)))
             .order_by(MapCount.code).limit(MAX_AREAS))
    if flt.county_code:
        query = query.where(MapCount.county_code == flt.county_code)
    return query


def open_by_area_kept(session: Session, kept: Kept, prefix: str, flt: MapFilter,
                      level: str, box) -> list[dict]:
    """geo.map_matters.open_by_area, from the kept counts."""
    rows = session.execute(_kept_rows(kept, prefix, flt, level, box, MapCount.open,
                                      kept.overdue(), MapCount.states)
                           .where(MapCount.open > 0)).all()
    return [{"code": code, "name": name, "lon": round(lon, 5), "lat": round(lat, 5),
             "total": total, "overdue": overdue, "states": states}
            for code, name, lon, lat, total, overdue, states in rows]


def completion_by_area_kept(session: Session, kept: Kept, prefix: str, flt: MapFilter,
                            level: str, box) -> list[dict]:
    """geo.map_matters.completion_by_area, from the kept counts."""
    rows = session.execute(_kept_rows(kept, prefix, flt, level, box, MapCount.received,
                                      MapCount.completed, MapCount.failed, MapCount.open,
                                      kept.overdue(), MapCount.median_days)
                           .where(MapCount.received > 0)).all()
    return [{"code": code, "name": name, "lon": round(lon, 5), "lat": round(lat, 5),
             "received": received, "completed": completed, "failed": failed,
             "open": open_, "overdue": overdue,
             "rate": round(completed / received, 4) if received else None,
             "median_days": round(median, 1) if median is not None else None}
            for code, name, lon, lat, received, completed, failed, open_, overdue, median
            in rows]


# --- the refresh: one pass over the matters, every level at once ---------------------

def refresh_map_counts(session: Session, now: datetime | None = None) -> int:
    """Count again every area's matters as of `now` (the app's clock); flush, no commit.
    Returns the number of areas kept. Readers see the old counts until the caller
    commits; two refreshes at once take turns."""
    now = now or clock.now()
    today = now.astimezone(clock.SITE_ZONE).date()
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK})
    session.execute(text("SET LOCAL jit = off"))
    done_at = done_moments()
    placed = (select(area_code("county").label("county"), area_code("town").label("town"),
                     area_code("village").label("village"), Matter.state,
                     due_date().label("due"),
                     (func.extract("epoch", done_at.c.at - Matter.created_at) / 86400.0)
                     .label("days"))
              .join(Assignment, and_(Assignment.matter_id == Matter.id,
                                     Assignment.role == AssignmentRole.primary,
                                     Assignment.ended_at.is_(None)))
              .join(Grid, Grid.id == Assignment.grid_id)
              .outerjoin(done_at, done_at.c.matter_id == Matter.id)
              .where(Matter.state != MatterState.cancelled)).subquery()
    is_open = placed.c.state.in_(OPEN_STATES)
    completed = placed.c.state.in_(COMPLETED_STATES)
    # One pass, three groupings (GROUPING SETS): medians do not add up from villages
    # to towns, so each level is counted from the matters, not from the level below.
    by_village = func.grouping(placed.c.village) == 0
    by_town = func.grouping(placed.c.town) == 0
    level = case((by_village, "village"), (by_town, "town"), else_="county")
    code = case((by_village, placed.c.village), (by_town, placed.c.town),
                else_=placed.c.county)
    states = func.jsonb_strip_nulls(func.jsonb_build_object(*[
        part for s in OPEN_STATES
        for part in (s.value, func.nullif(func.count().filter(placed.c.state == s), 0))]))
    counted = (select(level, code, func.left(code, 6), states,
                      func.count().filter(is_open),
                      func.count().filter(and_(is_open, placed.c.due < today)),
                      func.count().filter(and_(is_open, placed.c.due == today)),
                      func.count(), func.count().filter(completed),
                      func.count().filter(placed.c.state == MatterState.failed),
                      func.percentile_cont(0.5).within_group(placed.c.days)
                      .filter(completed),
                      literal(today), literal(now))
               .group_by(func.grouping_sets(placed.c.county, placed.c.town,
                                            placed.c.village)))
    session.execute(MapCount.__table__.delete())
    session.execute(insert(MapCount).from_select(
        ["level", "code", "county_code", "states", "open", "overdue", "due_on_day",
         "received", "completed", "failed", "median_days", "day", "refreshed_at"],
        counted.select_from(placed)))
    session.flush()
    return session.scalar(select(func.count()).select_from(MapCount))
