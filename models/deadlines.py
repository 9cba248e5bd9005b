"""Deadlines by the rules: how long a grid has to accept a matter and to finish it,
counted on the holiday calendar, fixed when the matter is assigned, and marked
即将到期 / 已超期 wherever the matter is shown.

- The rule table (DeadlineRule) gives, per matter type (or for any type) and urgency,
  an amount and a unit for each deadline. It is effective-dated like the fee table:
  a new rule ends the one in force on the day it starts; nothing is edited in place
  (the database refuses it). A rule for the type wins over the rule for any type.
- The calendar (CalendarDay) lists the exceptions to "Monday to Friday": a holiday
  (a weekday off) or an adjusted working day (调休: a Saturday or Sunday worked),
  as the State Council publishes them each year (seeds.calendar_cn).
- The arithmetic is SQL (migration 0016: gridlink_due, gridlink_deadlines), so that
  a set-based assignment of a million matters fixes their deadlines in the same
  statement; `due` and `deadlines_at` are thin wrappers for the single-matter paths.

What "within N working days" means: by the end (23:59:59, Beijing) of the Nth
working day after the day the matter was assigned — the day of assignment never
counts, whatever the hour, and a matter assigned on a holiday starts counting on the
next working day. "Within N hours" is N hours on the clock from the minute of
assignment, nights, weekends and holidays included: an urgent matter does not wait
for Monday.

Deadlines are fixed when a matter becomes assigned to a grid: the first assignment
(geo.assign, single or set-based), a person's pick from a queue, and a move to
another grid (a court's re-route, a town centre's re-dispatch). A move restarts both
clocks: the new grid starts from nothing, and the old grid's lateness stays in the
history, not on the new grid. The court's own date (`matters.deadline`) never
changes. A later change of rule or calendar never moves a deadline already fixed:
the deadlines are stored, not computed when read.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Index,
    Integer,
    String,
    Text,
    case,
    cast,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import ColumnElement

from models import clock
from models.base import EffectiveDated, db, uuid_pk
from models.grids import N_
from models.matter_types import MatterType
from models.matters import Matter, MatterState, Urgency


def _enum(cls, name, create=True):
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e],
                create_type=create)


class Unit(enum.StrEnum):
    hours = "hours"
    working_days = "working_days"


UNIT_LABELS = {Unit.hours: N_("hours"), Unit.working_days: N_("working days")}


class DayKind(enum.StrEnum):
    holiday = "holiday"  # 放假: a day off, even a weekday
    workday = "workday"  # 调休上班: a Saturday or Sunday worked


DAY_KIND_LABELS = {DayKind.holiday: N_("Holiday"),
                   DayKind.workday: N_("Adjusted working day")}

_UNITS = "'hours', 'working_days'"


class DeadlineRule(EffectiveDated, db.Model):
    __tablename__ = "deadline_rules"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        CheckConstraint(f"accept_unit IN ({_UNITS}) AND finish_unit IN ({_UNITS})",
                        name="units"),
        CheckConstraint("accept_amount BETWEEN 1 AND 720 AND finish_amount BETWEEN 1 AND 720"
                        " AND (accept_unit = 'hours' OR accept_amount <= 60)"
                        " AND (finish_unit = 'hours' OR finish_amount <= 60)", name="amounts"),
        # One rule in force per type (NULL: any type, as one value) and urgency.
        Index("uq_deadline_rules_current", "matter_type", "urgency", unique=True,
              postgresql_where="valid_to IS NULL", postgresql_nulls_not_distinct=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    matter_type: Mapped[MatterType | None] = mapped_column(
        _enum(MatterType, "matter_type", False))  # None: any type
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency, "urgency", False))
    accept_amount: Mapped[int] = mapped_column(Integer)
    accept_unit: Mapped[str] = mapped_column(String(12))
    finish_amount: Mapped[int] = mapped_column(Integer)
    finish_unit: Mapped[str] = mapped_column(String(12))

    def __str__(self) -> str:
        kind = self.matter_type.value if self.matter_type else "*"
        return (f"{kind}/{self.urgency.value} {self.accept_amount} {self.accept_unit}, "
                f"{self.finish_amount} {self.finish_unit}")


class CalendarDay(db.Model):
    """An exception to Monday–Friday: a holiday, or an adjusted working day."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[DayKind] = mapped_column(_enum(DayKind, "calendar_day_kind"))
    name: Mapped[str | None] = mapped_column(String(50))  # 春节, 国庆节…
    note: Mapped[str | None] = mapped_column(Text)

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.name or self.kind.value}"


class DeadlineError(ValueError):
    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


# --- the rule table ----------------------------------------------------------------------

def _same_key(matter_type: MatterType | None, urgency: Urgency):
    kind = (DeadlineRule.matter_type.is_(None) if matter_type is None
            else DeadlineRule.matter_type == matter_type)
    return kind & (DeadlineRule.urgency == urgency)


def rule_in_force(session: Session, matter_type: MatterType, urgency: Urgency,
                  on: date) -> DeadlineRule | None:
    """The rule for this type (else for any type) and urgency on that day."""
    return session.scalar(
        select(DeadlineRule).where(
            (DeadlineRule.matter_type == matter_type) | DeadlineRule.matter_type.is_(None),
            DeadlineRule.urgency == urgency, DeadlineRule.valid_from <= on,
            DeadlineRule.valid_to.is_(None) | (DeadlineRule.valid_to > on))
        .order_by(DeadlineRule.matter_type.is_(None)).limit(1))


def set_rule(session: Session, matter_type: MatterType | None, urgency: Urgency,
             accept: tuple[int, Unit | str], finish: tuple[int, Unit | str],
             valid_from: date, note: str | None = None) -> DeadlineRule:
    """A new rule from `valid_from` (matter_type None: for any type): the rule in force
    for the same type and urgency ends that day (kept, with its end) and the new one
    starts. Never a change in place, never two rules on one day."""
    (accept_amount, accept_unit), (finish_amount, finish_unit) = accept, finish
    for amount, unit in (accept, finish):
        if unit not in Unit.__members__:
            raise DeadlineError(N_("Unknown unit: %(unit)s."), unit=str(unit))
        most = 720 if unit == Unit.hours else 60
        if not 1 <= int(amount) <= most:
            raise DeadlineError(N_("A time limit is between 1 and %(most)s %(unit)s."),
                                most=most, unit=str(unit))
    latest = session.scalar(select(DeadlineRule).where(
        _same_key(matter_type, urgency), DeadlineRule.valid_to.is_(None)).with_for_update())
    if latest is not None:
        if valid_from <= latest.valid_from:
            raise DeadlineError(N_("The rule in force started on %(date)s: a new rule must "
                                   "start later."), date=latest.valid_from.isoformat())
        latest.valid_to = valid_from
        session.flush()  # one open rule per type and urgency
    later = session.scalar(select(DeadlineRule.id).where(
        _same_key(matter_type, urgency), DeadlineRule.valid_from >= valid_from).limit(1))
    if later is not None:
        raise DeadlineError(N_("A rule already starts on or after %(date)s."),
                            date=valid_from.isoformat())
    rule = DeadlineRule(matter_type=matter_type, urgency=urgency,
                        accept_amount=int(accept_amount), accept_unit=str(accept_unit),
                        finish_amount=int(finish_amount), finish_unit=str(finish_unit),
                        valid_from=valid_from, note=note)
    session.add(rule)
    session.flush()
    return rule


# --- the arithmetic (SQL; see the module's comment) -------------------------------------

def due(session: Session, start: datetime, amount: int, unit: Unit | str) -> datetime:
    """The deadline `amount` `unit` after `start`, on the calendar (gridlink_due)."""
    return session.scalar(text("SELECT gridlink_due(:start, :amount, :unit)"),
                          {"start": start, "amount": amount, "unit": str(unit)})


def next_working_day_end(session: Session, now: datetime) -> datetime:
    """The end of the working day after now's Beijing date: what makes a deadline due
    soon (Marks). It depends on the date and the calendar only, not on the hour."""
    return due(session, now, 1, Unit.working_days)


def is_working_day(session: Session, day: date) -> bool:
    return session.scalar(text("SELECT gridlink_is_working_day(:day)"), {"day": day})


# How far ahead the calendar should know its days: deadlines are days or weeks away,
# so from mid-November a year's calendar wants the next one's.
CALENDAR_AHEAD = timedelta(days=45)


def unknown_years(session: Session, today: date | None = None) -> list[int]:
    """The years a deadline fixed now may fall in that have no day on the calendar:
    for them the arithmetic counts Monday to Friday (no holiday, no adjusted working
    day) until an admin enters the State Council's notice. Empty when all is known."""
    today = today or clock.today()
    years = range(today.year, (today + CALENDAR_AHEAD).year + 1)
    known = set(session.scalars(
        select(func.extract("year", CalendarDay.day).cast(Integer)).distinct()
        .where(CalendarDay.day >= date(years[0], 1, 1),
               CalendarDay.day < date(years[-1] + 1, 1, 1))))
    return [y for y in years if y not in known]


def deadlines_at(session: Session, at: datetime, matter_type: MatterType,
                 urgency: Urgency) -> tuple[datetime | None, datetime | None]:
    """(accept by, finish by) for a matter of this type and urgency assigned at `at`,
    by the rule in force that day; (None, None) when no rule applies."""
    row = session.execute(text("SELECT * FROM gridlink_deadlines(:at, CAST(:kind AS "
                               "matter_type), CAST(:urgency AS urgency))"),
                          {"at": at, "kind": matter_type.value,
                           "urgency": urgency.value}).first()
    return (row.accept_due, row.finish_due) if row else (None, None)


def fix(session: Session, matter: Matter, at: datetime | None = None, cache=None) -> None:
    """Fix the matter's deadlines as assigned at `at` (the app's clock by default).
    `cache`: a dict kept by the caller over many matters assigned at one moment."""
    at = at or clock.now()
    key = (matter.matter_type, matter.urgency or Urgency.normal, at)
    if cache is None or key not in cache:
        found = deadlines_at(session, at, *key[:2])
        if cache is None:
            matter.accept_due_at, matter.finish_due_at = found
            return
        cache[key] = found
    matter.accept_due_at, matter.finish_due_at = cache[key]


# Every type and urgency with its deadlines if assigned at :at (NULLs: no rule), for a
# set-based assignment to join on (matter_type, urgency): the rules are read once per
# pair, not once per matter.
DUES_BY_KIND = """
    SELECT t.kind, u.urg, g.accept_due, g.finish_due
    FROM unnest(enum_range(NULL::matter_type)) t(kind)
    CROSS JOIN unnest(enum_range(NULL::urgency)) u(urg)
    LEFT JOIN LATERAL gridlink_deadlines(CAST(:at AS timestamptz), t.kind, u.urg) g ON true"""


# --- which deadline counts now, and its mark -------------------------------------------

# The accept deadline counts until someone accepts (a matter the court escalated waits
# for the town centre to take it); the finish deadline until the outcome is recorded.
ACCEPT_STATES = (MatterState.assigned, MatterState.escalated)
FINISH_STATES = (MatterState.accepted, MatterState.dispatched)
# 即将到期 (due soon): the deadline falls before the end of the next working day, and
# at least a day's notice — on a Saturday, what is due on Monday is due soon; an urgent
# matter's two hours are due soon from the start, which is what urgent means.
DUE_SOON = timedelta(hours=24)

OVERDUE, DUE_SOON_MARK = "overdue", "due_soon"
MARK_LABELS = {
    ("accept", OVERDUE): N_("Acceptance overdue"),
    ("accept", DUE_SOON_MARK): N_("Acceptance due soon"),
    ("finish", OVERDUE): N_("Completion overdue"),
    ("finish", DUE_SOON_MARK): N_("Completion due soon"),
}
WHICH_LABELS = {"accept": N_("Accept by"), "finish": N_("Finish by")}


@dataclass(frozen=True)
class Mark:
    which: str  # "accept" | "finish": the deadline that counts now
    due_at: datetime
    state: str | None  # OVERDUE | DUE_SOON_MARK | None (in time)

    @property
    def label(self) -> str | None:
        return MARK_LABELS.get((self.which, self.state))


def counting(matter: Matter) -> tuple[str, datetime] | None:
    """The deadline that counts for the matter now: ("accept" | "finish", when)."""
    if matter.state in ACCEPT_STATES and matter.accept_due_at is not None:
        return "accept", matter.accept_due_at
    if matter.state in FINISH_STATES and matter.finish_due_at is not None:
        return "finish", matter.finish_due_at
    return None


def counting_due() -> ColumnElement:
    """The same choice in SQL, on Matter: the deadline that counts now, or NULL."""
    return case((Matter.state.in_(ACCEPT_STATES), Matter.accept_due_at),
                (Matter.state.in_(FINISH_STATES), Matter.finish_due_at), else_=None)


# --- when a matter is due: one definition for every page --------------------------------
# The deadline that counts now (above), else — a matter with no rule deadline, such as
# one that waited in a queue — the end of the court's own date. Overdue once past it:
# the marks, 我的事项, the court's home. The committee's pages (maps, the overdue list)
# count by Beijing days: due on day D, overdue from D + 1, so that the counts kept each
# minute and the live ones agree (geo.map_counts).

def due_moment() -> ColumnElement:
    """When a matter is due, in SQL on Matter."""
    court_day_end = func.timezone(str(clock.SITE_ZONE),
                                  cast(Matter.deadline, DateTime) + timedelta(days=1))
    return func.coalesce(counting_due(), court_day_end)


def due_moment_of(matter: Matter) -> datetime | None:
    """When a loaded matter is due (the same as `due_moment`)."""
    found = counting(matter)
    if found is not None:
        return found[1]
    if matter.deadline is None:
        return None
    return datetime.combine(matter.deadline + timedelta(days=1), time(), clock.SITE_ZONE)


def due_day() -> ColumnElement:
    """The Beijing day a matter is due, in SQL on Matter: the committee's pages'."""
    return func.coalesce(cast(func.timezone(str(clock.SITE_ZONE), counting_due()), Date),
                         Matter.deadline)


def _states(states) -> str:
    return ", ".join(f"'{s.value}'" for s in states)


def due_moment_sql(m: str = "m") -> str:
    """`due_moment` as SQL text on the matters aliased `m` (models.statistics)."""
    return (f"coalesce(CASE WHEN {m}.state IN ({_states(ACCEPT_STATES)}) THEN {m}.accept_due_at"
            f" WHEN {m}.state IN ({_states(FINISH_STATES)}) THEN {m}.finish_due_at END,"
            f" (({m}.deadline + 1)::timestamp AT TIME ZONE '{clock.SITE_ZONE}'))")


def due_day_sql(m: str = "m") -> str:
    """`due_day` as SQL text on the matters aliased `m`."""
    return (f"coalesce((CASE WHEN {m}.state IN ({_states(ACCEPT_STATES)}) THEN {m}.accept_due_at"
            f" WHEN {m}.state IN ({_states(FINISH_STATES)}) THEN {m}.finish_due_at END"
            f" AT TIME ZONE '{clock.SITE_ZONE}')::date, {m}.deadline)")


class Marks:
    """The marks at one moment (the app's clock by default): made once per page or
    export, then asked for each matter (`of`), or as SQL conditions for lists."""

    def __init__(self, session: Session | None, now: datetime | None = None,
                 next_day_end: datetime | None = None):
        """`next_day_end`: the end of the working day after now's (Beijing) date, when
        the caller knows it (next_working_day_end); else the calendar is asked."""
        self.now = now or clock.now()
        self.soon = max(self.now + DUE_SOON,
                        next_day_end or next_working_day_end(session, self.now))

    def of(self, matter: Matter) -> Mark | None:
        """Which deadline counts, when, and whether it is past (已超期) or due soon
        (即将到期). None: no deadline counts for the matter now."""
        found = counting(matter)
        if found is None:
            return None
        which, at = found
        state = OVERDUE if at < self.now else DUE_SOON_MARK if at <= self.soon else None
        return Mark(which, at, state)

    def overdue(self) -> ColumnElement[bool]:
        return counting_due() < self.now

    def due_soon(self) -> ColumnElement[bool]:
        return counting_due().between(self.now, self.soon)
