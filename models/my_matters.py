"""我的事项: a grid's open matters as its liaison or grid worker sees them first —
how many, how many past their due date or close to it, and the nearest ones.

The due date is decided here and only here (`due_on`, `due_date`): today the court's own
`deadline`; when the rule-based deadlines arrive (models.deadlines:
accept_due_at / finish_due_at) this is the one line to change, and the marks
(`due_mark`), the counts and the order follow.

The counts are SQL aggregates over every open matter of the scope, not a count of
the rows listed: a town liaison has thousands open and sees the nearest few.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql import ColumnElement

from models import clock
from models.assignments import Assignment
from models.grids import Grid
from models.matters import DUE_SOON_DAYS, OPEN_STATES, Matter


def due_on():
    """When a matter is due, in SQL: for the counts and the order."""
    return Matter.deadline


def soon_after(today: date) -> date:
    """The last day still marked 即将到期 (due soon)."""
    return today + timedelta(days=DUE_SOON_DAYS)


def due_date(matter: Matter) -> date | None:
    """When a matter is due, loaded: for the marks (the same as `due_on`)."""
    return matter.deadline


def due_mark(due: date | None, today: date) -> str | None:
    """"overdue", "due_soon" or None: the mark a due date earns today."""
    if due is None:
        return None
    if due < today:
        return "overdue"
    if due <= soon_after(today):
        return "due_soon"
    return None


def open_counts(session: Session, in_scope: ColumnElement[bool],
                today: date | None = None) -> dict:
    """Open, overdue and due-soon matters of a scope (Scope.matters()), counted in one
    aggregate over all of them."""
    today, due = today or clock.today(), due_on()
    row = session.execute(
        select(func.count(),
               func.count().filter(due < today),
               func.count().filter(due.between(today, soon_after(today))))
        .select_from(Matter).where(in_scope, Matter.state.in_(OPEN_STATES))).one()
    return {"open": row[0], "overdue": row[1], "due_soon": row[2]}


def nearest_open(session: Session, in_scope: ColumnElement[bool], limit: int) -> list[Matter]:
    """The scope's open matters, nearest due date first (undated last), with what a
    card shows: the court and the grid's name (not its polygon)."""
    return [m for m, *_ in session.execute(_nearest(in_scope, limit)).unique()]


def nearest_and_counts(session: Session, in_scope: ColumnElement[bool], limit: int,
                       today: date | None = None) -> tuple[list[Matter], dict]:
    """`nearest_open` and `open_counts` in one pass over the scope's open matters: the
    counts are window aggregates, taken over every row before the limit (a town's
    thousands of open matters are read once, not twice)."""
    today, due = today or clock.today(), due_on()
    rows = session.execute(_nearest(
        in_scope, limit, func.count().over(), func.count().filter(due < today).over(),
        func.count().filter(due.between(today, soon_after(today))).over())).unique().all()
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
