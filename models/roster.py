"""The liaison roster (联络员名单库).

Town and village grid heads (镇、村网格长) serve as liaisons for the courts;
grid workers (网格员) belong to a grid and do the field work. An assignment is
effective-dated: a change of liaison closes the old entry (valid_to) and opens
a new one, so "who was the liaison on that day" always has an answer. A grid
has at most one current liaison.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date

from sqlalchemy import CheckConstraint, Date, Enum, ForeignKey, Index, Select, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import db, uuid_pk
from models.grids import N_, Grid


class RosterRole(enum.StrEnum):
    liaison = "liaison"  # 联络员（网格长）
    grid_worker = "grid_worker"  # 网格员


class Person(db.Model):
    __tablename__ = "people"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(30))

    entries: Mapped[list[RosterEntry]] = relationship(back_populates="person")

    def __str__(self) -> str:
        return self.name


class RosterEntry(db.Model):
    __tablename__ = "roster_entries"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        Index("uq_roster_current_liaison", "grid_id", unique=True,
              postgresql_where="role = 'liaison' AND valid_to IS NULL"),
        Index("ix_roster_entries_grid_id", "grid_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grids.id", ondelete="RESTRICT"))
    role: Mapped[RosterRole] = mapped_column(
        Enum(RosterRole, name="roster_role", values_callable=lambda e: [m.value for m in e])
    )
    title: Mapped[str | None] = mapped_column(String(50))  # e.g. 村网格长
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    person: Mapped[Person] = relationship(back_populates="entries")
    grid: Mapped[Grid] = relationship()

    def __str__(self) -> str:
        return f"{self.grid.name} {self.person.name}"

    @classmethod
    def current(cls, on: date | None = None) -> Select:
        on = on or date.today()
        return select(cls).where(
            cls.valid_from <= on, (cls.valid_to.is_(None)) | (cls.valid_to > on)
        )


class RosterError(ValueError):
    """A refused change of the roster, said precisely (template and params, so the
    interface says it in the reader's language)."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


def hand_over(session: Session, entry: RosterEntry, on: date, *, person: Person, grid: Grid,
              role: RosterRole, title: str | None,
              valid_to: date | None = None) -> RosterEntry:
    """Another person (or grid, or role) takes over an entry from `on`: the entry
    ends that day and a new one starts, so the days the first person served keep
    their name. Never an edit in place."""
    if entry.valid_to is not None and entry.valid_to <= on:
        raise RosterError(N_("This entry ended on %(date)s: add a new entry for %(name)s "
                             "instead."), date=entry.valid_to.isoformat(), name=person.name)
    if on <= entry.valid_from:
        raise RosterError(N_("%(name)s started on %(date)s: the change must take effect "
                             "later. Give the day of the change as the start date."),
                          name=entry.person.name, date=entry.valid_from.isoformat())
    entry.valid_to = on
    session.flush()  # the old entry ends before the new one starts (one liaison per grid)
    successor = RosterEntry(person=person, grid=grid, role=role, title=title, valid_from=on,
                            valid_to=valid_to)
    session.add(successor)
    return successor


def other_roles(session: Session, entry: RosterEntry) -> list[RosterEntry]:
    """The person's other entries on the same grid in force now, in another role
    (one person both liaison and grid worker of one grid: allowed, but worth a look)."""
    return list(session.scalars(RosterEntry.current().where(
        RosterEntry.person_id == entry.person.id, RosterEntry.grid_id == entry.grid.id,
        RosterEntry.role != entry.role, RosterEntry.id != entry.id)))
