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

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql import ColumnElement

from models.assignments import Assignment
from models.deadlines import Marks, due_moment, due_moment_of
from models.grids import Grid
from models.matters import OPEN_STATES, Matter

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


def nearest_open(session: Session, in_scope: ColumnElement[bool], limit: int) -> list[Matter]:
    """The scope's open matters, nearest due date first (undated last), with what a
    card shows: the court and the grid's name (not its polygon)."""
    return [m for m, *_ in session.execute(_nearest(in_scope, limit)).unique()]


def nearest_and_counts(session: Session, in_scope: ColumnElement[bool], limit: int,
                       marks: Marks | None = None) -> tuple[list[Matter], dict]:
    """`nearest_open` and `open_counts` in one pass over the scope's open matters: the
    counts are window aggregates, taken over every row before the limit (a town's
    thousands of open matters are read once, not twice)."""
    marks, due = marks or Marks(session), due_on()
    rows = session.execute(_nearest(
        in_scope, limit, func.count().over(), func.count().filter(due < marks.now).over(),
        func.count().filter(due.between(marks.now, marks.soon)).over())).unique().all()
    counts = dict(zip(("open", "overdue", "due_soon"), rows[0][1:] if rows else (0, 0, 0),
                      strict=True))
    return [row[0] for row in rows], counts


def _nearest(in_scope, limit: int, *columns):
    return (select(Matter, *columns).where(in_scope, Matter.state.in_(OPEN_STATES))
            .options(joinedload(Matter.court),
                     joinedload(Matter.assignments).joinedload(Assignment.grid)
                     .defer(Grid.geom))
            .order_by(due_on().asc().nulls_last(), Matter.created_at)
            .limit(limit))
