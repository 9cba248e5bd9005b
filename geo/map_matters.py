"""What the committee maps count: open matters per area, completion per area, and
one matter's summary, each aggregated in SQL and filtered by the account's scope.

A matter is placed at the grid of its current primary assignment; a micro-grid's
matters count for its village (the smallest area on the maps). Areas are named by
their division code as models.map_shapes stores them (12 digits: a county's code
ends in 000000, a town's in 000), so counts and outlines join on the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    and_,
    case,
    func,
    literal,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from models import clock
from models.assignments import Assignment, AssignmentRole
from models.courts import Court
from models.deadlines import due_day
from models.grids import Grid
from models.map_shapes import MapShape
from models.matter_types import MatterType
from models.matters import OPEN_STATES, Matter, MatterState
from models.workflow import MatterStep

COMPLETED_STATES = (MatterState.done, MatterState.confirmed, MatterState.paid)
MAX_MATTERS = 1500  # individual matters drawn in one box; beyond, the map clusters
MAX_AREAS = 3000


# --- when a matter is overdue: decided here, and only here ---------------------------

def due_date() -> ColumnElement:
    """The day a matter is due (models.deadlines.due_day: the deadline that counts now
    — to accept while it waits, to finish once accepted — else the court's own date)."""
    return due_day()


def is_overdue(today: date) -> ColumnElement[bool]:
    """Open and past its due day."""
    return and_(Matter.state.in_(OPEN_STATES), due_date() < today)


def days_overdue(today: date) -> ColumnElement:
    return case((is_overdue(today), literal(today) - due_date()), else_=0)


# --- what the maps are asked -----------------------------------------------------------

@dataclass(frozen=True)
class MapFilter:
    """The filters of both maps: a matter type, a court, a county, and a period (the
    day a matter was filed, both ends included, Beijing days)."""

    matter_type: MatterType | None = None
    court_id: object = None
    county_code: str | None = None
    since: date | None = None
    until: date | None = None

    def where(self) -> ColumnElement[bool]:
        terms = []
        if self.matter_type is not None:
            terms.append(Matter.matter_type == self.matter_type)
        if self.court_id is not None:
            terms.append(Matter.court_id == self.court_id)
        if self.county_code:
            terms.append(Assignment.county_code == self.county_code)
        if self.since:
            terms.append(Matter.created_at >= _start_of(self.since))
        if self.until:
            terms.append(Matter.created_at < _start_of(self.until + timedelta(days=1)))
        return and_(true(), *terms)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=clock.SITE_ZONE)


AREA_DIGITS = {"county": 6, "town": 9, "village": 12}


def area_code(level: str) -> ColumnElement:
    """The code of the area of `level` that a matter's grid lies in."""
    digits = AREA_DIGITS[level]
    return func.rpad(func.left(Grid.code, digits), 12, "0")


def _placed(scope_filter, flt: MapFilter, box, with_grid: bool = True):
    """Matters joined to their current primary assignment (and its grid), in scope and
    filtered, in the counties the box touches (assignments carry their grid's county
    code, indexed: a map zoomed in on one county reads that county's matters, not the
    province's)."""
    counties = select(MapShape.county_code).where(
        MapShape.level == "county", MapShape.band == 0,
        func.ST_Intersects(MapShape.geom, _in_box(box)))
    query = (select().select_from(Matter)
             .join(Assignment, and_(Assignment.matter_id == Matter.id,
                                    Assignment.role == AssignmentRole.primary,
                                    Assignment.ended_at.is_(None))))
    if with_grid:
        query = query.join(Grid, Grid.id == Assignment.grid_id)
    return query.where(scope_filter, flt.where(), Assignment.county_code.in_(counties))


def _no_jit(session: Session) -> None:
    """These aggregates run once per map move: PostgreSQL's JIT compiling costs more
    (half a second on a province) than it saves on them."""
    session.execute(text("SET LOCAL jit = off"))


def _in_box(box):
    return func.ST_MakeEnvelope(box[0], box[1], box[2], box[3], 4326)


def open_by_area(session: Session, scope_filter, flt: MapFilter, level: str, box,
                 today: date) -> list[dict]:
    """Open matters per area of `level` whose label point lies in the box: how many,
    how many overdue, and how many in each state (the map's clusters)."""
    # Counted per grid first, then per area: a million matters become a few thousand
    # rows before any grid is looked up.
    per_grid = (_placed(scope_filter, flt, box, with_grid=False)
                .add_columns(Assignment.grid_id, Matter.state, func.count().label("n"),
                             func.count().filter(is_overdue(today)).label("overdue"))
                .where(Matter.state.in_(OPEN_STATES))
                .group_by(Assignment.grid_id, Matter.state)).subquery()
    code = area_code(level).label("code")
    counts = (select(code, per_grid.c.state, func.sum(per_grid.c.n).label("n"),
                     func.sum(per_grid.c.overdue).label("overdue"))
              .join(Grid, Grid.id == per_grid.c.grid_id)
              .group_by(code, per_grid.c.state)).subquery()
    _no_jit(session)
    rows = session.execute(
        select(counts.c.code, MapShape.name, func.ST_X(MapShape.label_point),
               func.ST_Y(MapShape.label_point), counts.c.state, counts.c.n,
               counts.c.overdue)
        .join(MapShape, and_(MapShape.code == counts.c.code, MapShape.level == level,
                             MapShape.band == 0))
        .where(func.ST_Intersects(MapShape.label_point, _in_box(box)))
        .order_by(counts.c.code)).all()
    areas: dict[str, dict] = {}
    for code_, name, lon, lat, state, n, overdue in rows:
        area = areas.setdefault(code_, {"code": code_, "name": name, "lon": round(lon, 5),
                                        "lat": round(lat, 5), "total": 0, "overdue": 0,
                                        "states": {}})
        area["total"] += int(n)
        area["overdue"] += int(overdue)
        area["states"][state.value] = int(n)
    return list(areas.values())[:MAX_AREAS]


def open_matters(session: Session, scope_filter, flt: MapFilter, box,
                 today: date) -> list[dict]:
    """The open matters themselves, at their village's point (the browser spreads
    those of one village around it): for a map zoomed in far enough."""
    village = area_code("village")
    villages = (select(MapShape.code, MapShape.label_point)
                .where(MapShape.level == "village", MapShape.band == 0,
                       func.ST_Intersects(MapShape.label_point, _in_box(box)))).subquery()
    _no_jit(session)
    rows = session.execute(
        _placed(scope_filter, flt, box)
        .add_columns(Matter.id, Matter.state, is_overdue(today), villages.c.code,
                     func.ST_X(villages.c.label_point), func.ST_Y(villages.c.label_point))
        .join(villages, villages.c.code == village)
        .where(Matter.state.in_(OPEN_STATES))
        .order_by(villages.c.code, Matter.id).limit(MAX_MATTERS)).all()
    return [{"id": str(mid), "state": state.value, "overdue": bool(overdue),
             "village": code, "lon": round(lon, 5), "lat": round(lat, 5)}
            for mid, state, overdue, code, lon, lat in rows]


def done_moments():
    """When each matter was first done (its step to done): a subquery."""
    return (select(MatterStep.matter_id, func.min(MatterStep.at).label("at"))
            .where(MatterStep.to_state == MatterState.done)
            .group_by(MatterStep.matter_id)).subquery()


def completion_by_area(session: Session, scope_filter, flt: MapFilter, level: str,
                       today: date, box) -> list[dict]:
    """Per area of `level` whose label point lies in the box: the matters received
    (filed in the period and placed there), completed (done, confirmed or paid),
    failed, still open, overdue, the completion rate, and the median days from
    filing to done."""
    done_at = done_moments()
    code = area_code(level).label("code")
    completed = Matter.state.in_(COMPLETED_STATES)
    days = func.extract("epoch", done_at.c.at - Matter.created_at) / 86400.0
    counts = (_placed(scope_filter, flt, box)
              .add_columns(code, func.count().label("received"),
                           func.count().filter(completed).label("completed"),
                           func.count().filter(Matter.state == MatterState.failed)
                           .label("failed"),
                           func.count().filter(Matter.state.in_(OPEN_STATES)).label("open"),
                           func.count().filter(is_overdue(today)).label("overdue"),
                           func.percentile_cont(0.5).within_group(days)
                           .filter(completed).label("median_days"))
              .outerjoin(done_at, done_at.c.matter_id == Matter.id)
              .where(Matter.state != MatterState.cancelled)
              .group_by(code)).subquery()
    _no_jit(session)
    rows = session.execute(
        select(counts, MapShape.name, func.ST_X(MapShape.label_point).label("lon"),
               func.ST_Y(MapShape.label_point).label("lat"))
        .join(MapShape, and_(MapShape.code == counts.c.code, MapShape.level == level,
                             MapShape.band == 0))
        .where(func.ST_Intersects(MapShape.label_point, _in_box(box)))
        .order_by(counts.c.code).limit(MAX_AREAS)).all()
    return [{"code": r.code, "name": r.name, "lon": round(r.lon, 5), "lat": round(r.lat, 5),
             "received": r.received, "completed": r.completed, "failed": r.failed,
             "open": r.open, "overdue": r.overdue,
             "rate": round(r.completed / r.received, 4) if r.received else None,
             "median_days": round(r.median_days, 1) if r.median_days is not None else None}
            for r in rows]


def matter_summary(session: Session, scope_filter, matter_id, today: date):
    """One matter as the map's popup shows it, or None when out of scope: with its
    grid's outline. The caller decides what of the debtor to show."""
    row = session.execute(
        select(Matter, Court.name, Grid.id, Grid.name, Grid.code,
               func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(Grid.geom, 0.00005), 6),
               due_date(), days_overdue(today))
        .join(Court, Court.id == Matter.court_id)
        .outerjoin(Assignment, and_(Assignment.matter_id == Matter.id,
                                    Assignment.role == AssignmentRole.primary,
                                    Assignment.ended_at.is_(None)))
        .outerjoin(Grid, Grid.id == Assignment.grid_id)
        .where(Matter.id == matter_id, scope_filter)).first()
    return row


def refresh_hint(session: Session) -> bool:
    """Whether the precomputed shapes are missing (the maps then say so)."""
    return session.execute(text("SELECT NOT EXISTS (SELECT 1 FROM map_shapes)")).scalar_one()
