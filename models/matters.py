"""Court matters (联动事项), their debtors and the debtors' addresses.

A court files a matter about one debtor (被执行人: a person or an
organisation). The debtor's addresses — household registration 户籍地,
residence 住所地, habitual residence 经常居住地, others — decide which grid
answers for it (geo.assign). A matter's life is a small state machine, kept
here as data (TRANSITIONS): nothing moves a matter except `move_to`, which
refuses a step the table does not allow.

Every matter carries the county code of its requesting court and every
assignment that of its grid: the design's distribution key, so a court's
matters and a county's assignments stay on one shard.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import User
from models.base import db, uuid_pk
from models.courts import Court
from models.grids import N_, Grid
from models.matter_types import MatterType
from models.roster import Person


def _enum(cls, name):
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class DebtorKind(enum.StrEnum):
    person = "person"
    organisation = "organisation"


class AddressKind(enum.StrEnum):
    household = "household"  # 户籍地
    residence = "residence"  # 住所地
    habitual = "habitual"  # 经常居住地
    other = "other"  # 其他


ADDRESS_KIND_LABELS = {
    AddressKind.household: N_("Household registration"),
    AddressKind.residence: N_("Residence"),
    AddressKind.habitual: N_("Habitual residence"),
    AddressKind.other: N_("Other address"),
}


class Urgency(enum.StrEnum):
    normal = "normal"
    urgent = "urgent"


class MatterState(enum.StrEnum):
    new = "new"  # filed, its addresses not yet located (a bulk load before geo.assign runs)
    review = "review"  # geocoding was ambiguous: a person picks among candidates
    manual = "manual"  # geocoding found nothing: a person picks on the map
    assigned = "assigned"
    accepted = "accepted"
    dispatched = "dispatched"
    done = "done"
    confirmed = "confirmed"
    paid = "paid"
    returned = "returned"  # the grid says "not ours"; waits to be re-routed
    failed = "failed"
    cancelled = "cancelled"
    escalated = "escalated"


STATE_LABELS = {
    MatterState.new: N_("Being located"),
    MatterState.review: N_("Awaiting review"),
    MatterState.manual: N_("Awaiting manual location"),
    MatterState.assigned: N_("Assigned"),
    MatterState.accepted: N_("Accepted"),
    MatterState.dispatched: N_("Dispatched"),
    MatterState.done: N_("Done"),
    MatterState.confirmed: N_("Confirmed"),
    MatterState.paid: N_("Paid"),
    MatterState.returned: N_("Returned by the grid"),
    MatterState.failed: N_("Failed"),
    MatterState.cancelled: N_("Cancelled"),
    MatterState.escalated: N_("Escalated"),
}

S = MatterState
TRANSITIONS: dict[MatterState, frozenset[MatterState]] = {
    S.new: frozenset({S.assigned, S.review, S.manual, S.cancelled}),
    S.review: frozenset({S.assigned, S.cancelled}),
    S.manual: frozenset({S.assigned, S.cancelled}),
    S.assigned: frozenset({S.assigned, S.accepted, S.returned, S.escalated, S.cancelled}),
    # accepted → assigned: moved to another grid (a court's re-route, a town centre's
    # re-dispatch) before anyone went out.
    S.accepted: frozenset({S.assigned, S.dispatched, S.returned, S.failed, S.escalated,
                           S.cancelled}),
    S.dispatched: frozenset({S.done, S.failed, S.cancelled}),
    # done → dispatched: the court sends it back for what is missing.
    S.done: frozenset({S.confirmed, S.dispatched}),
    S.confirmed: frozenset({S.paid}),
    S.paid: frozenset(),
    S.returned: frozenset({S.assigned, S.cancelled}),
    S.failed: frozenset(),
    S.cancelled: frozenset(),
    S.escalated: frozenset({S.assigned, S.accepted, S.cancelled}),
}
# Matters a person must place on the map: the review and manual queues.
WAITING_FOR_A_PERSON = (S.review, S.manual, S.returned)
# A deadline this close (in days) is marked 即将到期 (due soon) wherever it is shown.
DUE_SOON_DAYS = 3
# Matters still open for their grid (not finished, failed or cancelled).
OPEN_STATES = (S.new, S.assigned, S.accepted, S.dispatched, S.escalated, S.returned,
               S.review, S.manual)
del S


class TransitionError(ValueError):
    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


class Debtor(db.Model):
    """被执行人. A person is identified by the 18-digit ID number, an organisation
    by its unified social credit code; either may be missing when the court
    does not know it, and then the name is all there is."""

    __tablename__ = "debtors"
    __table_args__ = (
        Index("uq_debtors_id_number", "id_number", unique=True,
              postgresql_where="id_number IS NOT NULL"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[DebtorKind] = mapped_column(_enum(DebtorKind, "debtor_kind"))
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(18))
    phones: Mapped[list[str]] = mapped_column(ARRAY(String(30)), default=list)

    matters: Mapped[list[Matter]] = relationship(back_populates="debtor")

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        """What makes two filings name the same debtor: the ID, else the name."""
        return self.id_number or f"name:{self.name}"


class Matter(db.Model):
    __tablename__ = "matters"
    __table_args__ = (
        # Filing the same request twice (a re-uploaded spreadsheet) finds this row. The
        # county (the court's) leads, as Citus wants of a unique key (docs/scaling.md).
        Index("uq_matters_filing", "county_code", "court_id", "case_number", "matter_type",
              "debtor_key", unique=True),
        Index("ix_matters_county_state", "county_code", "state"),
        Index("ix_matters_updated_at", "updated_at"),
        # The matter list's sorts and filters (admin/views/matters.py): migration 0015.
        Index("ix_matters_created_at", "created_at"),
        Index("ix_matters_court_created", "court_id", "created_at"),
        Index("ix_matters_state_created", "state", "created_at"),
        Index("ix_matters_type_created", "matter_type", "created_at"),
        Index("ix_matters_urgency_created", "urgency", "created_at"),
        Index("ix_matters_bounty_created", "bounty", "created_at"),
        Index("ix_matters_deadline", "deadline"),
        Index("ix_matters_case_number", "case_number"),
        Index("ix_matters_court_case_number", "court_id", "case_number"),  # 0022
        Index("ix_matters_case_number_trgm", "case_number", postgresql_using="gin",
              postgresql_ops={"case_number": "gin_trgm_ops"}),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    county_code: Mapped[str] = mapped_column(String(6))
    court_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courts.id", ondelete="RESTRICT"))
    officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    officer_name: Mapped[str] = mapped_column(String(50))
    officer_phone: Mapped[str | None] = mapped_column(String(30))
    case_number: Mapped[str] = mapped_column(String(40))
    matter_type: Mapped[MatterType] = mapped_column(_enum(MatterType, "matter_type"))
    request: Mapped[dict] = mapped_column(JSONB, default=dict)
    credentials: Mapped[list[str]] = mapped_column(ARRAY(String(30)), default=list)
    deadline: Mapped[date] = mapped_column(Date)
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency, "urgency"), default=Urgency.normal)
    bounty: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    debtor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("debtors.id", ondelete="RESTRICT"))
    debtor_key: Mapped[str] = mapped_column(String(120))
    state: Mapped[MatterState] = mapped_column(_enum(MatterState, "matter_state"))
    # Why the matter waits for a person (the geocoder's reason), shown in the queues: an
    # English template, translated where it is shown, and its parameters.
    queue_reason: Mapped[str | None] = mapped_column(Text)
    queue_params: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    # Raised by every step (models.workflow): a step sent with the version its page
    # showed is refused when someone else moved the matter in between.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The last change, for court systems that poll (?changed_since=).
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now(),
                                                 onupdate=func.now())
    chases: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 催办
    # Who does the field work: the grid worker it was dispatched to, or the liaison.
    field_worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    # Deadlines by the rules (models.deadlines), fixed when the matter is assigned:
    # by when the grid must accept it and finish it. `deadline` stays the court's date.
    accept_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finish_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The escalation ladder (models.escalation): 0 with the grid, 1 the town centre
    # (微网格治理服务中心), 2 the county committee; since when at this level.
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The court's 紧急协助 call: urgent at every level until someone accepts the matter.
    urgent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    court: Mapped[Court] = relationship()
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])
    debtor: Mapped[Debtor] = relationship(back_populates="matters")
    field_worker: Mapped[Person | None] = relationship()
    addresses: Mapped[list[MatterAddress]] = relationship(
        back_populates="matter", order_by="MatterAddress.position", cascade="all, delete-orphan")
    assignments: Mapped[list[Assignment]] = relationship(  # noqa: F821 (models.assignments)
        back_populates="matter", order_by="Assignment.created_at")

    def __str__(self) -> str:
        return f"{self.case_number} {self.debtor.name if self.debtor else ''}".strip()

    @property
    def primary_assignment(self):
        return next((a for a in self.assignments
                     if a.role.value == "primary" and a.ended_at is None), None)

    @property
    def co_assignments(self) -> list:
        return [a for a in self.assignments if a.role.value == "co_assisting"
                and a.ended_at is None]

    @property
    def queue_message(self) -> str | None:
        return _format(self.queue_reason, self.queue_params)

    def move_to(self, state: MatterState) -> None:
        """The one way a matter changes state; refuses what TRANSITIONS does not allow."""
        if self.state is not None and state not in TRANSITIONS[self.state]:
            raise TransitionError(N_("a matter that is %(state)s cannot become %(to)s"),
                                  state=self.state.value, to=state.value)
        self.state = state


class MatterAddress(db.Model):
    """One of the debtor's addresses as the court wrote it, and what the geocoder
    made of it (status, method, confidence, the grid or the candidates)."""

    __tablename__ = "matter_addresses"
    __table_args__ = (Index("ix_matter_addresses_matter_id", "matter_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    matter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"))
    county_code: Mapped[str] = mapped_column(String(6))  # the matter's
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[AddressKind] = mapped_column(_enum(AddressKind, "address_kind"))
    text: Mapped[str | None] = mapped_column(String(300))
    # A point given with the address (a map click, GPS, converted from GCJ-02).
    geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=True))
    status: Mapped[str | None] = mapped_column(String(12))  # matched | ambiguous | unmatched
    method: Mapped[str | None] = mapped_column(String(30))
    confidence: Mapped[float | None] = mapped_column(Float)
    grid_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("grids.id"))
    candidates: Mapped[list | None] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)  # a template, as Matter.queue_reason
    reason_params: Mapped[dict | None] = mapped_column(JSONB)

    matter: Mapped[Matter] = relationship(back_populates="addresses")
    grid: Mapped[Grid | None] = relationship()

    def __str__(self) -> str:
        return self.text or ""

    @property
    def reason_message(self) -> str | None:
        return _format(self.reason, self.reason_params)


def _format(template: str | None, params: dict | None) -> str | None:
    """A stored reason in English; pages translate the template themselves."""
    if template is None:
        return None
    try:
        return template % (params or {})
    except (KeyError, TypeError, ValueError):
        return template
