"""Labour fees (劳务费): the fee table, the ledger and the courts' statements.

The source document (三、保障机制（三）) pays grid workers for the matters they
helped complete, on the record form signed by both sides, out of the courts'
enforcement budgets (市中级人民法院、各基层法院在执行办案经费中保障). Hence:

- the fee table (FeeRule) gives an amount per matter type and outcome kind. The
  document pays for matters *completed* (协助完成联动事项); a search without result
  is not payable unless an admin adds a rule for it (the demo has none). Rules are
  effective-dated like the roster: a new amount ends the old rule on a day and
  starts a new one, never an edit in place (the database refuses one);
- every fully signed record form makes one ledger line (LedgerLine): the paying
  court (a people's tribunal has no budget of its own: its base court pays), the
  grid worker who signed, the month of the court's signature, and the amount of
  the rule in force on that day. A bounty matter (执行悬赏) is flagged and its reward,
  paid under the bounty rules, is recorded beside the fee, never in it;
- a statement (结算单) gathers a court's unsettled lines of a period; marking it
  paid (audited) moves its matters confirmed → paid.

A correction of a signed form voids its line (while unpaid) and the new version
posts its own once signed: the ledger always equals the fully signed current forms.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Numeric,
    Select,
    String,
    func,
    select,
    true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.sql import ColumnElement

from models.accounts import Role, User
from models.audit import Actor, append
from models.base import EffectiveDated, db, uuid_pk
from models.courts import Court, CourtKind
from models.grids import N_
from models.matter_types import MatterType
from models.matters import Matter, MatterState
from models.record_forms import FormError, OutcomeKind, RecordForm

# Months and days are the court's: China Standard Time, whatever the server says.
LOCAL = ZoneInfo("Asia/Shanghai")


def _enum(cls, name, create=True):
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e],
                create_type=create)


class FeeError(FormError):
    """A refused step on the fee table, the ledger or a statement."""


class FeeRule(EffectiveDated, db.Model):
    __tablename__ = "fee_rules"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("uq_fee_rules_current", "matter_type", "outcome_kind", unique=True,
              postgresql_where="valid_to IS NULL"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    matter_type: Mapped[MatterType] = mapped_column(_enum(MatterType, "matter_type", False))
    outcome_kind: Mapped[OutcomeKind] = mapped_column(_enum(OutcomeKind, "outcome_kind", False))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # yuan

    def __str__(self) -> str:
        return f"{self.matter_type.value}/{self.outcome_kind.value} {self.amount}"


class StatementState(enum.StrEnum):
    draft = "draft"
    paid = "paid"


STATEMENT_STATE_LABELS = {StatementState.draft: N_("Not yet paid"),
                          StatementState.paid: N_("Paid")}


class Statement(db.Model):
    """结算单: one court's lines of one period, paid together."""

    __tablename__ = "fee_statements"
    __table_args__ = (CheckConstraint("period_end > period_start", name="period"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    court_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courts.id", ondelete="RESTRICT"),
                                                index=True)
    county_code: Mapped[str] = mapped_column(String(6))  # the court's
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    state: Mapped[StatementState] = mapped_column(_enum(StatementState, "statement_state"),
                                                  default=StatementState.draft)
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                              server_default=func.now())
    made_by_name: Mapped[str | None] = mapped_column(String(100))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    paid_by_name: Mapped[str | None] = mapped_column(String(100))

    court: Mapped[Court] = relationship()
    lines: Mapped[list[LedgerLine]] = relationship(back_populates="statement",
                                                   order_by="LedgerLine.signed_on")

    def __str__(self) -> str:
        return f"{self.court.name if self.court else ''} {self.period_label}"

    @property
    def period_label(self) -> str:
        if self.period_end == _next_month(self.period_start) and self.period_start.day == 1:
            return f"{self.period_start:%Y-%m}"
        return f"{self.period_start.isoformat()}–{self.period_end.isoformat()}"

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.voided_at is None),
                   Decimal("0.00"))

    @property
    def bounty_total(self) -> Decimal:
        return sum((line.bounty_reward or Decimal("0.00") for line in self.lines
                    if line.voided_at is None), Decimal("0.00"))


class LedgerLine(db.Model):
    """One fully signed record form's fee, owed by a court to a grid worker."""

    __tablename__ = "ledger_lines"
    __table_args__ = (
        Index("uq_ledger_lines_form", "form_id", unique=True),
        Index("ix_ledger_lines_court_month", "court_id", "month"),
        Index("ix_ledger_lines_worker_month", "worker_id", "month"),
        CheckConstraint("bounty OR bounty_reward IS NULL", name="reward_only_for_bounty"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    county_code: Mapped[str] = mapped_column(String(6))  # the matter's
    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("record_forms.id",
                                                          ondelete="RESTRICT"))
    matter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"),
                                                 index=True)
    court_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courts.id"))  # the paying court
    worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    worker_name: Mapped[str] = mapped_column(String(100))
    grid_code: Mapped[str | None] = mapped_column(String(15))  # the matter's grid then
    case_number: Mapped[str] = mapped_column(String(40))
    matter_type: Mapped[MatterType] = mapped_column(_enum(MatterType, "matter_type", False))
    outcome_kind: Mapped[OutcomeKind] = mapped_column(_enum(OutcomeKind, "outcome_kind", False))
    signed_on: Mapped[date] = mapped_column(Date)  # the court's signature, China time
    month: Mapped[date] = mapped_column(Date)  # its first day
    fee_rule_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fee_rules.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    bounty: Mapped[bool] = mapped_column(Boolean, default=False)
    bounty_reward: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    statement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fee_statements.id"))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    court: Mapped[Court] = relationship()
    matter: Mapped[Matter] = relationship()
    form: Mapped[RecordForm] = relationship()
    statement: Mapped[Statement | None] = relationship(back_populates="lines")

    def __str__(self) -> str:
        return f"{self.case_number} {self.worker_name} {self.amount}"

    @classmethod
    def live(cls) -> Select:
        return select(cls).where(cls.voided_at.is_(None))


# --- the fee table -----------------------------------------------------------------------

def rule_in_force(session: Session, matter_type: MatterType, kind: OutcomeKind,
                  on: date) -> FeeRule | None:
    return session.scalar(select(FeeRule).where(
        FeeRule.matter_type == matter_type, FeeRule.outcome_kind == kind,
        FeeRule.valid_from <= on, (FeeRule.valid_to.is_(None)) | (FeeRule.valid_to > on)))


def set_fee(session: Session, matter_type: MatterType, kind: OutcomeKind, amount: Decimal,
            valid_from: date, note: str | None = None) -> FeeRule:
    """A new amount from `valid_from`: the rule in force then ends that day (kept, with
    its end date) and the new one starts. Never a change in place."""
    amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    if amount < 0:
        raise FeeError(N_("A fee cannot be negative."))
    latest = session.scalar(select(FeeRule).where(
        FeeRule.matter_type == matter_type, FeeRule.outcome_kind == kind,
        FeeRule.valid_to.is_(None)).with_for_update())
    if latest is not None:
        if valid_from <= latest.valid_from:
            raise FeeError(N_("The fee in force started on %(date)s: a new fee must start "
                              "later."), date=latest.valid_from.isoformat())
        latest.valid_to = valid_from
        session.flush()  # one open rule per type and kind
    later = session.scalar(select(FeeRule.id).where(
        FeeRule.matter_type == matter_type, FeeRule.outcome_kind == kind,
        FeeRule.valid_from >= valid_from).limit(1))
    if later is not None:
        raise FeeError(N_("A fee already starts on or after %(date)s."),
                       date=valid_from.isoformat())
    rule = FeeRule(matter_type=matter_type, outcome_kind=kind, amount=amount,
                   valid_from=valid_from, note=note)
    session.add(rule)
    session.flush()
    return rule


# --- the ledger --------------------------------------------------------------------------

def paying_court(court: Court) -> Court:
    """A people's tribunal's fees are paid by its base court."""
    return court.parent if court.kind is CourtKind.tribunal and court.parent else court


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL).date()


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def post_ledger(session: Session, form: RecordForm,
                bounty_reward: Decimal | None = None) -> LedgerLine:
    """The ledger line of a fully signed form, with the fee in force on the day the
    court signed (no rule in force: nothing payable, a line of 0.00 all the same, so
    every signed form shows in the ledger)."""
    if not form.fully_signed:
        raise FeeError(N_("Only a record form signed by both the grid worker and the court "
                          "makes a ledger line."))
    matter = form.matter
    if bounty_reward is not None and not matter.bounty:
        raise FeeError(N_("A reward is recorded only for a matter under an enforcement "
                          "bounty."))
    on = local_day(form.court_signed_at)
    rule = rule_in_force(session, matter.matter_type, form.outcome_kind, on)
    grid = (form.content.get("matter") or {}).get("grid") or {}
    line = LedgerLine(
        county_code=matter.county_code, form_id=form.id, matter_id=matter.id,
        court_id=paying_court(matter.court).id, worker_id=form.worker_signed_by_id,
        worker_name=form.worker_signed_name or "", grid_code=grid.get("code"),
        case_number=matter.case_number, matter_type=matter.matter_type,
        outcome_kind=form.outcome_kind, signed_on=on, month=on.replace(day=1),
        fee_rule_id=rule.id if rule else None,
        amount=rule.amount if rule else Decimal("0.00"), bounty=bool(matter.bounty),
        bounty_reward=(Decimal(str(bounty_reward)).quantize(Decimal("0.01"))
                       if bounty_reward is not None else None))
    session.add(line)
    session.flush()
    return line


def record_reward(session: Session, line: LedgerLine, amount: Decimal,
                  actor: User) -> LedgerLine:
    """The reward of a bounty matter (执行悬赏), decided under the bounty's own rules and
    recorded beside the fee; changeable until its statement is paid. Audited."""
    if not line.bounty:
        raise FeeError(N_("A reward is recorded only for a matter under an enforcement "
                          "bounty."))
    if line.voided_at is not None or (line.statement is not None
                                      and line.statement.state is StatementState.paid):
        raise FeeError(N_("This line is paid or replaced: its reward can no longer change."))
    amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    if amount < 0:
        raise FeeError(N_("A reward cannot be negative."))
    before = line.bounty_reward
    line.bounty_reward = amount
    session.flush()
    append(session.connection(), "record_bounty_reward", "ledger_line", str(line.id),
           before={"bounty_reward": str(before) if before is not None else None},
           after={"bounty_reward": str(amount), "case": line.case_number},
           actor=Actor(getattr(actor, "display_name", str(actor)),
                       str(getattr(actor, "id", "")) or None))
    return line


def void_lines_of(session: Session, form: RecordForm) -> None:
    """A form replaced by a correction owes nothing any more: its line is voided (and
    leaves its unpaid statement). A fee already paid cannot be taken back here."""
    for line in session.scalars(LedgerLine.live().where(LedgerLine.form_id == form.id)):
        if line.statement is not None and line.statement.state is StatementState.paid:
            raise FeeError(N_("The fee for this record form was paid on statement %(period)s: "
                              "it can no longer be corrected."),
                           period=line.statement.period_label)
        line.voided_at = datetime.now(UTC)
        line.statement = None
    session.flush()


# --- statements --------------------------------------------------------------------------

def month_period(month: date) -> tuple[date, date]:
    start = month.replace(day=1)
    return start, _next_month(start)


def make_statement(session: Session, court: Court, period: tuple[date, date] | date,
                   actor: User | None = None) -> Statement:
    """The statement of a court's unsettled lines whose month falls in the period (a
    month's first day, or (start, end) with end exclusive)."""
    start, end = month_period(period) if isinstance(period, date) else period
    court = paying_court(court)
    lines = session.scalars(LedgerLine.live().where(
        LedgerLine.court_id == court.id, LedgerLine.statement_id.is_(None),
        LedgerLine.month >= start, LedgerLine.month < end).with_for_update()).all()
    if not lines:
        raise FeeError(N_("%(court)s has no unsettled fees in %(period)s."),
                       court=court.name, period=f"{start.isoformat()}–{end.isoformat()}")
    statement = Statement(court=court, county_code=court.county_code, period_start=start,
                          period_end=end, state=StatementState.draft,
                          made_by_name=getattr(actor, "display_name", None))
    session.add(statement)
    session.flush()
    for line in lines:
        line.statement = statement
    session.flush()
    return statement


def mark_paid(session: Session, statement: Statement, actor: User) -> Statement:
    """The court paid the statement: its matters move confirmed → paid. Audited; a
    second marking is refused (the row is locked, so two clicks cannot both pass)."""
    session.refresh(statement, with_for_update=True)
    if statement.state is StatementState.paid:
        raise FeeError(N_("This statement was already marked paid on %(date)s by %(name)s."),
                       date=local_day(statement.paid_at).isoformat(),
                       name=statement.paid_by_name or "")
    lines = [line for line in statement.lines if line.voided_at is None]
    for line in lines:
        if line.matter.state is MatterState.confirmed:
            line.matter.move_to(MatterState.paid)
        elif line.matter.state is not MatterState.paid:
            raise FeeError(N_("Matter %(case)s is not confirmed yet: it cannot be paid."),
                           case=line.case_number)
    statement.state = StatementState.paid
    statement.paid_at = datetime.now(UTC)
    statement.paid_by_id = getattr(actor, "id", None)
    statement.paid_by_name = getattr(actor, "display_name", None) or str(actor)
    session.flush()
    append(session.connection(), "mark_statement_paid", "fee_statement", str(statement.id),
           after={"court": statement.court.name, "period": statement.period_label,
                  "lines": len(lines), "total": str(statement.total),
                  "bounty_total": str(statement.bounty_total)},
           actor=Actor(statement.paid_by_name, str(statement.paid_by_id)
                       if statement.paid_by_id else None))
    return statement


# --- who sees which lines ----------------------------------------------------------------

def ledger_filter(scope, account_id=None) -> ColumnElement[bool]:
    """Filter on LedgerLine: admins all; court staff the lines their court pays or
    supervises (models.access: courts_read); a grid worker their own lines; a liaison
    the lines of their grid; a committee only aggregates (ledger_totals)."""
    if scope.role is Role.admin:
        return true()
    if scope.role is Role.court_staff:
        return LedgerLine.court_id.in_(select(Court.id).where(scope.courts_read()))
    if scope.role is Role.grid_worker and account_id is not None:
        return LedgerLine.worker_id == account_id
    if scope.role is Role.liaison and scope.area_code:
        return LedgerLine.grid_code.startswith(scope.area_code)
    return LedgerLine.id.is_(None)


def aggregate_filter(scope) -> ColumnElement[bool]:
    """Filter on LedgerLine for totals (no names): a committee its area, others as above."""
    if scope.role is Role.committee:
        return true() if scope.area_code is None else \
            LedgerLine.grid_code.startswith(scope.area_code)
    return ledger_filter(scope)


def statement_filter(scope) -> ColumnElement[bool]:
    if scope.role is Role.admin:
        return true()
    if scope.role is Role.court_staff:
        return Statement.court_id.in_(select(Court.id).where(scope.courts_read()))
    return Statement.id.is_(None)


def ledger_totals(session: Session, scope) -> list[tuple]:
    """(month, court name, lines, fees, rewards) per court and month, in scope."""
    return session.execute(
        select(LedgerLine.month, Court.name, func.count(LedgerLine.id),
               func.sum(LedgerLine.amount), func.coalesce(func.sum(LedgerLine.bounty_reward), 0))
        .join(Court, Court.id == LedgerLine.court_id)
        .where(LedgerLine.voided_at.is_(None), aggregate_filter(scope))
        .group_by(LedgerLine.month, Court.name)
        .order_by(LedgerLine.month.desc(), Court.name)).all()
