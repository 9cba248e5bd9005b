"""Which grid answers for a matter, and why.

An assignment ties a matter to a grid: the primary grid (decided by the first
address, in the matter type's precedence, that the geocoder resolved) or a
co-assisting grid (any other grid the debtor's addresses lie in). It records
how it was decided (method, confidence), the boundary generation in force and
the liaison on duty at that moment, so the record stays true after a redraw or
a change of liaison. Re-routing never edits an assignment: it ends it, with
the reason, and starts another.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, Enum, Float, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db, uuid_pk
from models.grids import N_, Grid
from models.matter_types import MatterType
from models.matters import AddressKind, Matter, MatterAddress
from models.roster import Person


class AssignmentRole(enum.StrEnum):
    primary = "primary"
    co_assisting = "co_assisting"


# How an assignment was decided; the first three are the geocoder's own.
METHOD_LABELS = {
    "address_point": N_("Standard address point"),
    "division": N_("Division names"),
    "point": N_("Point in polygon"),
    "candidate": N_("Candidate chosen by a person"),
    "map": N_("Picked on the map by a person"),
    "reroute": N_("Re-routed by a person"),
}


class Assignment(db.Model):
    __tablename__ = "assignments"
    __table_args__ = (
        Index("uq_assignments_primary", "matter_id", unique=True,
              postgresql_where="role = 'primary' AND ended_at IS NULL"),
        Index("ix_assignments_matter_id", "matter_id"),
        Index("ix_assignments_county_grid", "county_code", "grid_id"),
        # An area's current assignments, read from the index alone (Scope.matters).
        Index("ix_assignments_current_area", "county_code", "grid_id",
              postgresql_include=["matter_id"], postgresql_where="ended_at IS NULL"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    matter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"))
    county_code: Mapped[str] = mapped_column(String(6))  # the grid's
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grids.id", ondelete="RESTRICT"))
    role: Mapped[AssignmentRole] = mapped_column(
        Enum(AssignmentRole, name="assignment_role",
             values_callable=lambda e: [m.value for m in e]))
    method: Mapped[str] = mapped_column(String(30))
    confidence: Mapped[float] = mapped_column(Float)
    address_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("matter_addresses.id", ondelete="SET NULL"))
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id"))
    liaison_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)

    matter: Mapped[Matter] = relationship(back_populates="assignments")
    grid: Mapped[Grid] = relationship()
    address: Mapped[MatterAddress | None] = relationship()
    liaison: Mapped[Person | None] = relationship()

    def __str__(self) -> str:
        return f"{self.grid.name} ({self.role.value})"


# Which of the debtor's addresses decides, per matter type. Property and
# on-site investigation look where the debtor is registered (村委会 income and
# dividends follow the household register); serving documents and finding the
# debtor look where the debtor actually lives. Admins change the order on the
# precedence page; these are the defaults the migration writes.
DEFAULT_PRECEDENCE: dict[MatterType, tuple[AddressKind, ...]] = {
    MatterType.service: (AddressKind.habitual, AddressKind.residence, AddressKind.household,
                         AddressKind.other),
    MatterType.locate_debtor: (AddressKind.habitual, AddressKind.residence,
                               AddressKind.household, AddressKind.other),
    MatterType.find_property: (AddressKind.household, AddressKind.residence,
                               AddressKind.habitual, AddressKind.other),
    MatterType.investigation: (AddressKind.household, AddressKind.residence,
                               AddressKind.habitual, AddressKind.other),
    MatterType.witness: (AddressKind.residence, AddressKind.habitual, AddressKind.household,
                         AddressKind.other),
    MatterType.other: (AddressKind.habitual, AddressKind.residence, AddressKind.household,
                       AddressKind.other),
    MatterType.legal_education: (AddressKind.residence, AddressKind.habitual,
                                 AddressKind.household, AddressKind.other),
}


class Precedence(db.Model):
    """The editable order of address kinds for one matter type."""

    __tablename__ = "assignment_precedence"

    matter_type: Mapped[MatterType] = mapped_column(
        Enum(MatterType, name="matter_type", values_callable=lambda e: [m.value for m in e],
             create_type=False), primary_key=True)
    kinds: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now(), onupdate=func.now())

    def __str__(self) -> str:
        return self.matter_type.value

    def order(self) -> tuple[AddressKind, ...]:
        """The kinds in order; kinds missing from the row come last, in default order."""
        named = [AddressKind(k) for k in self.kinds if k in AddressKind.__members__]
        return tuple(named + [k for k in DEFAULT_PRECEDENCE[self.matter_type]
                              if k not in named])
