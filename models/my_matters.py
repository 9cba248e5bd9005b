"""我的事项: a grid's open matters as its liaison or grid worker sees them first —
how many, how many past their due moment or close to it, and the nearest ones.

When a matter is due is models.deadlines' `due_moment` (here `due_on`, `due_at`): the
rules' deadline that counts now (to accept while it waits, to finish once accepted),
else — a matter with no rule deadline, as one waiting in a queue — the end of the
court's own date. The marks (`due_mark`) use the same moments as
models.deadlines.Marks (its `now` and its `soon`), so a card and the matter's page agree.

The counts are SQL aggregates over every open matter of the scope, not a count of
the rows listed: a town liaison has thousands open and sees the nearest few.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import TextClause

from models.areas import TOWN_KEPT_SQL, in_area_sql, once_sql
from models.deadlines import Marks, due_moment, due_moment_of
from models.matter_types import MatterType
from models.matters import OPEN_STATES, Matter, MatterState, Urgency

# When a matter is due: models.deadlines decides, for every page.
due_on, due_at = due_moment, due_moment_of


def due_mark(due: datetime | None, marks: Marks) -> str | None:
    """"overdue", "due_soon" or None: the mark a due moment earns at the marks' time."""
    if due is None:
        return None
    if due < marks.now:
        return "overdue"
    if due <= marks.soon:
        return "due_soon"
    return None


def open_counts(session: Session, in_scope: ColumnElement[bool],
                marks: Marks | None = None) -> dict:
    """Open, overdue and due-soon matters of a scope (Scope.matters()), counted in one
    aggregate over all of them."""
    marks, due = marks or Marks(session), due_on()
    row = session.execute(
        select(func.count(),
               func.count().filter(due < marks.now),
               func.count().filter(due.between(marks.now, marks.soon)))
        .select_from(Matter).where(in_scope, Matter.state.in_(OPEN_STATES))).one()
    return {"open": row[0], "overdue": row[1], "due_soon": row[2]}


# --- 我的事项 of an area, from models.areas ---------------------------------------------------

@dataclass(frozen=True)
class Card:
    """What a card of 我的事项 shows of a matter: read with the page, no ORM object."""
    id: uuid.UUID
    case_number: str
    matter_type: MatterType
    state: MatterState
    urgency: Urgency
    urgent_at: datetime | None
    field_worker_id: uuid.UUID | None
    accept_due_at: datetime | None
    finish_due_at: datetime | None
    due_at: datetime | None
    court: str
    grid_id: uuid.UUID | None
    grid_name: str | None


# One round trip: the counts of every open matter of the area (each matter once,
# though it may have several assignments there) and the nearest `limit`, in the order of
# the index (a town's: ix_matter_areas_town_due, its rows each matter's one), then their
# cards' columns; and, for a liaison who may ask for legal advice, their grid's latest
# questions' ids (a liaison reads their grid's: models.requests.advice_readable), else
# none. The limits are written in (whole numbers, a few per page kind): as parameters,
# the server's generic plan guessed a tenth of the rows for them and was never chosen,
# so a town's query was planned anew on every request (0.5 ms of its 1.7).
_GRID_PAGE = """
WITH counts AS ({counts}),
advice AS (
    SELECT array(SELECT r.id FROM legal_advice_requests r
                 WHERE r.grid_id = :advice_grid ORDER BY r.asked_at DESC
                 LIMIT {advice_limit:d}) AS ids),
nearest AS (
    SELECT {each_on} q.matter_id, q.due_at, q.created_at
    FROM matter_areas q WHERE {area} AND q.open
    ORDER BY q.due_at, q.created_at, q.matter_id LIMIT {limit:d})
SELECT counts.open, counts.overdue, counts.due_soon, advice.ids AS advice,
       m.id, m.case_number, m.matter_type, m.state, m.urgency, m.urgent_at,
       m.field_worker_id, m.accept_due_at, m.finish_due_at, n.due_at, c.name AS court,
       g.id AS grid_id, g.name AS grid_name
FROM counts
CROSS JOIN advice
LEFT JOIN nearest n ON true
LEFT JOIN matters m ON m.id = n.matter_id
LEFT JOIN courts c ON c.id = m.court_id
LEFT JOIN assignments a ON a.matter_id = m.id AND a.role = 'primary' AND a.ended_at IS NULL
LEFT JOIN grids g ON g.id = a.grid_id
ORDER BY n.due_at, n.created_at, n.matter_id"""
# Each matter once: a town's rows say which one counts (models.areas.once_sql); in a
# village or a micro-grid, the few rows of a matter are sorted out (they agree).
_EACH = "DISTINCT", "DISTINCT ON (q.due_at, q.created_at, q.matter_id)"

# The counts of a village or a micro-grid: its few dozen open matters, counted.
_COUNTED = """
    SELECT count(*) AS open, count(*) FILTER (WHERE d.due_at < :now) AS overdue,
           count(*) FILTER (WHERE d.due_at >= :now AND d.due_at <= :soon) AS due_soon
    FROM (SELECT {each} q.due_at, q.created_at, q.matter_id
          FROM matter_areas q WHERE {area} AND q.open) d"""
# A town's (thousands): the open ones as the database keeps them (models.areas,
# migration 0024), the overdue and the due soon counted in the town's index by due
# moment, over the range they are in. Where most of a town's are overdue, the overdue
# are the open less those due later or never, which is the shorter range to count.
_TOWN_COUNTS = """
    SELECT kept.open, {overdue} AS overdue,
           (SELECT count(*) FROM matter_areas q WHERE {area} AND q.open
            AND q.due_at >= :now AND q.due_at <= :soon) AS due_soon
    FROM (SELECT {kept} AS open OFFSET 0) kept"""  # OFFSET 0: read once, not inlined twice
_OVERDUE = {
    False: "(SELECT count(*) FROM matter_areas q WHERE {area} AND q.open AND q.due_at < :now)",
    True: "kept.open - (SELECT count(*) FROM matter_areas q WHERE {area} AND q.open"
          " AND (q.due_at >= :now)) - (SELECT count(*) FROM matter_areas q"
          " WHERE {area} AND q.open AND q.due_at IS NULL)",
}
# Whether most of a town's open matters were overdue when its page was last read: which
# of the two ways counts fewer index entries (both give the same figure).
_MOSTLY_OVERDUE: dict[str, bool] = {}


@functools.lru_cache(maxsize=32)
def _statement(area: str, once: str | None, limit: int, advice_limit: int,
               mostly_overdue: bool = False) -> TextClause:
    """The page's statement for an area's condition (one per level) and limits: a few
    in all, each made once (a TextClause parses its parameters when made)."""
    if once:
        marked = f"{area} AND {once}"
        counts = _TOWN_COUNTS.format(area=marked, kept=TOWN_KEPT_SQL.format(column="open"),
                                     overdue=_OVERDUE[mostly_overdue].format(area=marked))
        each, each_on, area = "", "", marked
    else:
        each, each_on = _EACH
        counts = _COUNTED.format(each=each, area=area)
    return text(_GRID_PAGE.format(counts=counts, area=area, each=each, each_on=each_on,
                                  limit=limit, advice_limit=advice_limit))


def _driver_rows(session: Session, statement: TextClause, values: dict) -> list[tuple]:
    """The statement's rows (named tuples) from the driver, on the session's connection (in
    its transaction): the page's one query without SQLAlchemy's result machinery
    (0.24 ms of the 0.76 its call took, in process; the server's part, 0.35 ms, is the
    same). psycopg prepares it on the server as it does every statement it repeats. The
    engine's listeners see it as any other (admin.transactions, bench --explain). A
    failure is raised as SQLAlchemy raises it (a database gone: OperationalError, which
    the pages answer with 503) and the connection, if it broke, is not used again."""
    connection = session.connection()
    sql, events = _driver_sql(statement, connection.dialect), connection.dispatch
    raw = connection.connection.driver_connection
    try:
        with raw.cursor(row_factory=namedtuple_row) as cursor:
            events.before_cursor_execute(connection, cursor, sql, values, None, False)
            cursor.execute(sql, values)
            events.after_cursor_execute(connection, cursor, sql, values, None, False)
            return cursor.fetchall()
    except psycopg.Error as error:
        broke = connection.dialect.is_disconnect(error, connection.connection, None)
        if broke:
            connection.invalidate(error)
        raise DBAPIError.instance(sql, values, error, psycopg.Error,
                                  connection_invalidated=broke) from error


@functools.lru_cache(maxsize=32)
def _driver_sql(statement: TextClause, dialect) -> str:
    """The statement as the driver takes it (its parameters in the driver's style)."""
    return statement.compile(dialect=dialect).string


class GridPage(NamedTuple):
    cards: list[Card]
    counts: dict  # open, overdue, due_soon
    advice: list[uuid.UUID]  # the latest questions' ids, newest first (askers only)


def grid_page(session: Session, area_code: str, limit: int, marks: Marks, *,
              advice_grid: uuid.UUID | None = None, advice_limit: int = 0) -> GridPage:
    """我的事项 of an area (a liaison's or grid worker's grid): the nearest `limit` open
    matters as cards and the counts of all of them (open, overdue, due soon at the
    marks' moment), in one query over models.areas' rows (found through the
    matters, every one of a town's was read to sort them); with `advice_grid`, the
    ids of that grid's latest `advice_limit` questions for legal advice."""
    area = in_area_sql(area_code, "q")
    if area is None:
        return GridPage([], {"open": 0, "overdue": 0, "due_soon": 0}, [])
    once = once_sql(area_code, "q")
    statement = _statement(area, once, int(limit), int(advice_limit),
                           bool(once) and _MOSTLY_OVERDUE.get(area_code, False))
    rows = _driver_rows(session, statement, {
        "now": marks.now, "soon": marks.soon, "area": area_code, "village": area_code[:12],
        "advice_grid": advice_grid})
    first = rows[0]
    counts = {"open": first.open, "overdue": first.overdue, "due_soon": first.due_soon}
    if once:
        _MOSTLY_OVERDUE[area_code] = 2 * first.overdue > first.open
    cards = [Card(r.id, r.case_number, MatterType(r.matter_type), MatterState(r.state),
                  Urgency(r.urgency), r.urgent_at, r.field_worker_id, r.accept_due_at,
                  r.finish_due_at, r.due_at, r.court, r.grid_id, r.grid_name)
             for r in rows if r.id is not None]
    return GridPage(cards, counts, list(first.advice))
