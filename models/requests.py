"""Requests from the grid side: risk reports and requests for legal advice.

The source document has the grid speak first in two places. Before on-site
enforcement, grid workers "主动向人民法院收集、通报被执行人思想动态、现场执行可能
存在的风险等信息": a risk report (风险信息) about the debtor of an open matter,
sent on the grid's own initiative to the court that filed it. And in legal
education (普法宣传) the flow runs village → court: "镇、村在人民调解过程中需要人民
法院提供法律咨询服务的，可以按照就近原则向驻地人民法庭或辖区基层人民法院诉讼服务
中心提出" — a request for legal advice (法律咨询), routed on creation to the
nearest people's tribunal of the village's county, or to the county's base court
(its litigation service centre) where the county has no tribunal.

Who may do what is decided here, from the account's role and grid (accounts are
not linked to roster people; a liaison's name and phone are those of the current
liaison of their grid on the roster, a grid worker's name is the account's).
Both kinds of record are audited (models/__init__.py) and carry a county code,
the design's distribution key.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    false,
    select,
    text,
    true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.sql import ColumnElement

from models.accounts import Role, User
from models.base import db, uuid_pk
from models.courts import Court, CourtKind
from models.grids import N_, Grid, GridLevel
from models.matters import OPEN_STATES, STATE_LABELS, Matter, Urgency
from models.roster import Person, RosterEntry, RosterRole

# What a grid worker has seen, as the court needs to know it before going on site.
RISK_KINDS = {
    "agitated": N_("Agitated, or has said or done something extreme"),
    "hiding_property": N_("Moving or hiding property"),
    "leaving": N_("About to leave; whereabouts about to change"),
    "group": N_("Gathering or group risk"),
    "other": N_("Other"),
}
# What villages ask the tribunal about in their mediation work.
ADVICE_TOPICS = {
    "land": N_("Land contracts and homesteads"),
    "family": N_("Marriage and family"),
    "loans": N_("Loan disputes"),
    "wages": N_("Unpaid wages"),
    "enforcement": N_("Enforcement"),
    "other": N_("Other"),
}

# Who sends, who asks, who answers.
REPORTERS = (Role.liaison, Role.grid_worker)
ASKERS = (Role.liaison,)
# Grids whose liaison may ask for advice: the village (and a town, which the
# document names beside it: "镇、村").
ASKING_LEVELS = (GridLevel.village, GridLevel.town)
MAX_TEXT = 2000


class AdviceState(enum.StrEnum):
    waiting = "waiting"  # 待答复
    answered = "answered"  # 已答复
    transferred = "transferred"  # 已转交: waits at the court it was handed to


ADVICE_STATE_LABELS = {
    AdviceState.waiting: N_("Awaiting an answer"),
    AdviceState.answered: N_("Answered"),
    AdviceState.transferred: N_("Transferred"),
}
A = AdviceState
ADVICE_TRANSITIONS: dict[AdviceState, frozenset[AdviceState]] = {
    A.waiting: frozenset({A.answered, A.transferred}),
    A.transferred: frozenset({A.answered, A.transferred}),
    A.answered: frozenset(),
}
UNANSWERED = (A.waiting, A.transferred)
del A


class RequestError(ValueError):
    """A refused report, question, answer or transfer, said precisely (template and
    params, so the interface says it in the reader's language)."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


def _now() -> datetime:
    return datetime.now(UTC)


def _clean(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise RequestError(N_("Write the %(what)s."), what=what)
    if len(value) > MAX_TEXT:
        raise RequestError(N_("The %(what)s is longer than %(n)d characters."), what=what,
                           n=MAX_TEXT)
    return value


# --- risk reports ----------------------------------------------------------------------

class RiskReport(db.Model):
    __tablename__ = "risk_reports"
    __table_args__ = (Index("ix_risk_reports_county_matter", "county_code", "matter_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    matter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"))
    county_code: Mapped[str] = mapped_column(String(6))  # the matter's (its court's county)
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grids.id"))  # the reporter's
    reported_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    reporter_name: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20))  # a key of RISK_KINDS
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[Urgency] = mapped_column(
        Enum(Urgency, name="urgency", values_callable=lambda e: [m.value for m in e],
             create_type=False))

    matter: Mapped[Matter] = relationship()
    grid: Mapped[Grid] = relationship()
    reported_by: Mapped[User] = relationship()

    def __str__(self) -> str:
        return f"{self.reporter_name} {self.at:%Y-%m-%d}"


def roster_name(session: Session, user: User) -> str:
    """The reporter's name: a liaison's from the roster (the grid's current liaison),
    a grid worker's the account's own (worker accounts name no roster person)."""
    if user.role is Role.liaison:
        person = current_liaison(session, user.grid_id)
        if person is not None:
            return person.name
    return user.display_name


def current_liaison(session: Session, grid_id) -> Person | None:
    entry = session.scalar(RosterEntry.current().where(
        RosterEntry.grid_id == grid_id, RosterEntry.role == RosterRole.liaison))
    return entry.person if entry is not None else None


def _on_roster(session: Session, user: User) -> bool:
    role = RosterRole.liaison if user.role is Role.liaison else RosterRole.grid_worker
    return session.scalar(RosterEntry.current().with_only_columns(RosterEntry.id).where(
        RosterEntry.grid_id == user.grid_id, RosterEntry.role == role).limit(1)) is not None


def risk_refusal(session: Session, matter: Matter, user) -> tuple[str, dict] | None:
    """Why this account may not send a risk report on this matter (None: it may).
    A grid's liaison or worker, on the roster of the grid the matter is with (or of
    a town it lies in), while the matter is open."""
    if getattr(user, "role", None) not in REPORTERS or user.grid is None:
        return N_("Only the grid's liaison or grid workers send risk reports."), {}
    if matter.state not in OPEN_STATES:
        return N_("This matter is closed (%(state)s): risk reports are for open matters "
                  "only."), {"state": STATE_LABELS[matter.state]}
    primary = matter.primary_assignment
    if primary is None or not primary.grid.code.startswith(_area(user.grid)):
        return N_("This matter is not with your grid: only the grid it is assigned to "
                  "reports on it."), {}
    if not _on_roster(session, user):
        return N_("You are not on the current roster of %(grid)s."), {"grid": user.grid.name}
    return None


def _area(grid: Grid) -> str:
    """The code prefix of a grid and everything inside it."""
    return grid.code[:_PREFIX[grid.level]]


_PREFIX = {GridLevel.county: 6, GridLevel.town: 9, GridLevel.village: 12,
           GridLevel.microgrid: 15}


def report_risk(session: Session, matter: Matter, user: User, *, kind: str, description: str,
                urgency: Urgency | str = Urgency.normal) -> RiskReport:
    """A risk report from the grid on an open matter; flushes, the caller commits."""
    refusal = risk_refusal(session, matter, user)
    if refusal:
        raise RequestError(refusal[0], **refusal[1])
    if kind not in RISK_KINDS:
        raise RequestError(N_("Choose what kind of risk it is."))
    report = RiskReport(matter=matter, county_code=matter.county_code, grid=user.grid,
                        reported_by=user, reporter_name=roster_name(session, user), at=_now(),
                        kind=kind, description=_clean(description, N_("description of the risk")),
                        urgency=Urgency(urgency))
    session.add(report)
    session.flush()
    return report


def risk_reports_readable(scope) -> ColumnElement[bool]:
    """Filter on RiskReport: those on matters the scope reads (the court that filed
    it, the courts above it, the grid it is with; admins all)."""
    if not scope.may("matters"):
        return false()
    if scope.role is Role.admin:
        return true()
    return RiskReport.matter_id.in_(select(Matter.id).where(scope.matters()))


# --- legal advice ----------------------------------------------------------------------

class LegalAdviceRequest(db.Model):
    """法律咨询: a village's question to the court that answers for it."""

    __tablename__ = "legal_advice_requests"
    __table_args__ = (
        Index("ix_legal_advice_court_state", "court_id", "state"),
        Index("ix_legal_advice_county_grid", "county_code", "grid_id"),
        Index("ix_legal_advice_grid_asked", "grid_id", "asked_at"),  # a liaison's latest
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    county_code: Mapped[str] = mapped_column(String(6))  # the village's
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grids.id"))
    asked_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    asker_name: Mapped[str] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(String(30))  # the liaison's, from the roster
    topic: Mapped[str] = mapped_column(String(20))  # a key of ADVICE_TOPICS
    question: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Where it waits: the court routing chose, or the one it was transferred to.
    court_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courts.id"))
    # Metres from the village's point-on-surface to the court's place when routed.
    distance_m: Mapped[float | None] = mapped_column(Float)
    state: Mapped[AdviceState] = mapped_column(
        Enum(AdviceState, name="advice_state", values_callable=lambda e: [m.value for m in e]))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    answerer_name: Mapped[str | None] = mapped_column(String(50))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transferred_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("courts.id"))
    transfer_reason: Mapped[str | None] = mapped_column(Text)
    transferred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    grid: Mapped[Grid] = relationship()
    court: Mapped[Court] = relationship(foreign_keys=[court_id])
    transferred_from: Mapped[Court | None] = relationship(foreign_keys=[transferred_from_id])
    asked_by: Mapped[User] = relationship(foreign_keys=[asked_by_id])

    def __str__(self) -> str:
        return f"{self.asker_name} {self.asked_at:%Y-%m-%d}"

    def move_to(self, state: AdviceState) -> None:
        if state not in ADVICE_TRANSITIONS[self.state]:
            raise RequestError(N_("This request has already been answered."))
        self.state = state


# Where the advice goes, in one statement (set-based: every court of the county is
# measured at once, none in a Python loop). Courts have no location of their own in
# the model, so a court stands at the centroid of the current grids it serves (a
# tribunal its towns, a base court its county). Distances are on the geography
# (metres on the spheroid), from the village's point on surface (inside the
# village, unlike a centroid). Only the village's own county is considered: a
# tribunal over the county line may be nearer but does not answer for the village.
# Tribunals first (驻地人民法庭); the base court where the county has none.
ROUTE_SQL = text("""
WITH origin AS (
  SELECT county_code, ST_PointOnSurface(geom)::geography AS at
  FROM grids WHERE id = :grid_id
), placed AS (
  SELECT c.id, c.kind, ST_Centroid(ST_Collect(g.geom))::geography AS at
  FROM courts c
  JOIN court_grids cg ON cg.court_id = c.id
  JOIN grids g ON g.id = cg.grid_id AND g.generation_high IS NULL
  WHERE c.county_code = (SELECT county_code FROM origin)
    AND c.kind IN ('tribunal', 'base')
  GROUP BY c.id, c.kind
)
SELECT p.id, ST_Distance(p.at, o.at) AS metres
FROM placed p CROSS JOIN origin o
ORDER BY p.kind = 'tribunal' DESC, metres, p.id
LIMIT 1
""")


def route(session: Session, grid: Grid) -> tuple[Court, float] | None:
    """The court that answers this grid's legal questions, and how far it is."""
    row = session.execute(ROUTE_SQL, {"grid_id": grid.id}).first()
    if row is None:
        return None
    return session.get(Court, row.id), row.metres


def ask_refusal(user) -> tuple[str, dict] | None:
    if getattr(user, "role", None) not in ASKERS or user.grid is None \
            or user.grid.level not in ASKING_LEVELS:
        return N_("Only a village's (or town's) liaison asks for legal advice."), {}
    return None


def ask_advice(session: Session, user: User, *, topic: str,
               question: str) -> LegalAdviceRequest:
    """A liaison's question for their village, routed on creation; flushes."""
    refusal = ask_refusal(user)
    if refusal:
        raise RequestError(refusal[0], **refusal[1])
    if topic not in ADVICE_TOPICS:
        raise RequestError(N_("Choose what the question is about."))
    question = _clean(question, N_("question"))
    routed = route(session, user.grid)
    if routed is None:
        raise RequestError(N_("No court serves %(grid)s's county yet: ask the "
                              "administrator to add its courts."), grid=user.grid.name)
    court, metres = routed
    person = current_liaison(session, user.grid_id)
    request = LegalAdviceRequest(
        county_code=user.grid.code[:6], grid=user.grid, asked_by=user,
        asker_name=person.name if person else user.display_name,
        contact_phone=person.phone if person else None, topic=topic, question=question,
        asked_at=_now(), court=court, distance_m=metres, state=AdviceState.waiting)
    session.add(request)
    session.flush()
    return request


def answer_advice(session: Session, request: LegalAdviceRequest, user: User,
                  answer: str) -> None:
    request.move_to(AdviceState.answered)
    request.answer = _clean(answer, N_("answer"))
    request.answered_by_id, request.answerer_name = user.id, user.display_name
    request.answered_at = _now()
    session.flush()


def transfer_advice(session: Session, request: LegalAdviceRequest, to: Court,
                    reason: str) -> None:
    """Hand the question to another court (another tribunal, the base court's
    litigation service centre), with the reason; it waits there."""
    if to.id == request.court_id:
        raise RequestError(N_("The request is already with %(court)s."), court=to.name)
    if to.kind is CourtKind.intermediate:
        raise RequestError(N_("Legal advice goes to a tribunal or a base court."))
    reason = _clean(reason, N_("reason for the transfer"))
    request.move_to(AdviceState.transferred)
    request.transferred_from_id, request.court = request.court_id, to
    request.transfer_reason, request.transferred_at = reason, _now()
    session.flush()


def advice_readable(scope, user) -> ColumnElement[bool]:
    """Filter on LegalAdviceRequest: a liaison their grid's; court staff those
    waiting at (or transferred away from) the courts they act for; admins all."""
    if scope.role is Role.admin:
        return true()
    if scope.role is Role.liaison and user.grid_id is not None:
        return LegalAdviceRequest.grid_id == user.grid_id
    if scope.role is Role.court_staff and scope.court_id is not None:
        acting = select(Court.id).where(scope.courts_acting())
        return (LegalAdviceRequest.court_id.in_(acting)
                | LegalAdviceRequest.transferred_from_id.in_(acting))
    return false()


def advice_to_answer(scope) -> ColumnElement[bool]:
    """Filter on LegalAdviceRequest: those this court staff may answer or transfer."""
    if scope.role is not Role.court_staff or scope.court_id is None:
        return false()
    return (LegalAdviceRequest.court_id.in_(select(Court.id).where(scope.courts_acting()))
            & LegalAdviceRequest.state.in_(UNANSWERED))
