"""The record form (执行联动事项记录表): what the grid did for a matter, signed by both.

The source document (三、保障机制（三）实行奖补机制) has the courts record every
matter a grid worker helped complete, and both sides — the grid worker and the
court officer — sign the record form; the signed form is what the court pays the
labour fee on. So:

- a form is made when an outcome is recorded: a snapshot (JSONB) of the matter as
  it stood and the outcome's fields as filled, so that later edits of the matter
  do not rewrite what was signed;
- the grid worker signs first (their own account, a timestamp), then the court
  officer of the filing court; only a form signed by both makes the matter
  payable (models.fees posts its ledger line on the court's signature);
- a signed form is never edited. A correction is a new version, which both sign
  again; the old version stays, pointing at its successor (superseded_by). One
  version per matter is current (a partial unique index), and the database
  refuses to change a signed form's content or to take a signature back.

Wiring (models.workflow, models.outcomes): record_outcome calls make_form; the
confirm step calls sign_as_court, which does NOT move the matter — it returns the
ledger line it posted, and confirm then moves the matter done → confirmed
(`ready_to_confirm` says whether a matter's current form is fully signed).
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.accounts import Role, User
from models.audit import Actor, append
from models.base import db, uuid_pk
from models.grids import N_
from models.matters import Matter


class OutcomeKind(enum.StrEnum):
    """What the grid achieved, as far as the fee is concerned."""

    completed = "completed"  # 协助完成: the matter's purpose was achieved
    searched = "searched"  # 已查找未果: searched in earnest, nothing found


OUTCOME_KIND_LABELS = {
    OutcomeKind.completed: N_("Completed"),
    OutcomeKind.searched: N_("Searched, nothing found"),
}

# Who signs for the grid, and who for the court.
WORKER_ROLES = (Role.grid_worker, Role.liaison)
COURT_ROLES = (Role.court_staff,)


class FormError(ValueError):
    """A refused step on a record form: an English template and its parameters, so the
    page says it in the reader's language."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params if params else template)


class RecordForm(db.Model):
    __tablename__ = "record_forms"
    __table_args__ = (
        Index("uq_record_forms_current", "matter_id", unique=True,
              postgresql_where="superseded_by IS NULL"),
        Index("uq_record_forms_version", "matter_id", "version", unique=True),
        CheckConstraint("court_signed_at IS NULL OR worker_signed_at IS NOT NULL",
                        name="court_after_worker"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    matter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"))
    county_code: Mapped[str] = mapped_column(String(6))  # the matter's
    version: Mapped[int] = mapped_column(Integer)
    # The outcome this version was made from (models.outcomes; its foreign key comes
    # with that table).
    outcome_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("outcomes.id"))
    outcome_kind: Mapped[OutcomeKind] = mapped_column(
        Enum(OutcomeKind, name="outcome_kind", values_callable=lambda e: [m.value for m in e]))
    content: Mapped[dict] = mapped_column(JSONB)
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    made_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    made_by_name: Mapped[str] = mapped_column(String(100))
    worker_signed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    worker_signed_name: Mapped[str | None] = mapped_column(String(100))
    worker_signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    court_signed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    court_signed_name: Mapped[str | None] = mapped_column(String(100))
    court_signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Deferred: the old version points at its successor before that row is written
    # (only one version per matter may be current at any moment).
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("record_forms.id", deferrable=True, initially="DEFERRED"))

    matter: Mapped[Matter] = relationship()

    def __str__(self) -> str:
        return f"{self.content.get('matter', {}).get('case_number', '')} v{self.version}"

    @property
    def fully_signed(self) -> bool:
        return self.worker_signed_at is not None and self.court_signed_at is not None

    @property
    def current(self) -> bool:
        return self.superseded_by is None


def outcome_kind(outcome_data: dict) -> OutcomeKind:
    """Whether an outcome counts as completed (models.outcomes' answers): a service
    that could not be made, ending in the certificate that the person cannot be found
    after a search, is a search without result; every other outcome is the matter's
    purpose achieved (a search for the debtor or property that found nothing is a
    failed matter, not an outcome)."""
    if outcome_data.get("method") == "not_served":
        return OutcomeKind.searched
    return OutcomeKind.completed


def _grid_path(grid) -> list[str]:
    names = []
    while grid is not None:
        names.append(grid.name)
        grid = grid.parent
    return names[::-1]


def matter_summary(matter: Matter) -> dict:
    """What the form says about the matter, as it stands when the form is made."""
    primary = matter.primary_assignment
    return {
        "case_number": matter.case_number,
        "matter_type": matter.matter_type.value,
        "court": matter.court.name,
        "court_id": str(matter.court_id),
        "officer_name": matter.officer_name,
        "officer_phone": matter.officer_phone,
        "debtor": {"kind": matter.debtor.kind.value, "name": matter.debtor.name,
                   "id_number": matter.debtor.id_number,
                   "phones": list(matter.debtor.phones or [])},
        "addresses": [{"kind": a.kind.value, "text": a.text} for a in matter.addresses],
        "grid": ({"code": primary.grid.code, "path": _grid_path(primary.grid)}
                 if primary else None),
        "liaison": primary.liaison.name if primary and primary.liaison else None,
        "request": dict(matter.request or {}),
        "credentials": list(matter.credentials or []),
        "deadline": matter.deadline.isoformat() if matter.deadline else None,
        "bounty": bool(matter.bounty),
    }


def _who(actor) -> tuple[uuid.UUID | None, str]:
    if actor is None:
        return None, "system"
    return getattr(actor, "id", None), getattr(actor, "display_name", None) or str(actor)


def _audit(session: Session, action: str, form: RecordForm, actor, **after) -> None:
    actor_id, name = _who(actor)
    append(session.connection(), action, "record_form", str(form.id),
           after={"matter": str(form.matter_id), "version": form.version, **after},
           actor=Actor(name, str(actor_id) if actor_id else None) if actor else None)


def current_form(session: Session, matter: Matter | uuid.UUID) -> RecordForm | None:
    matter_id = matter.id if isinstance(matter, Matter) else matter
    return session.scalar(select(RecordForm).where(RecordForm.matter_id == matter_id,
                                                   RecordForm.superseded_by.is_(None)))


def ready_to_confirm(session: Session, matter: Matter) -> bool:
    """Whether the matter's current form is signed by both sides (confirm needs it)."""
    form = current_form(session, matter)
    return form is not None and form.fully_signed


def versions(session: Session, matter: Matter) -> list[RecordForm]:
    return list(session.scalars(select(RecordForm).where(RecordForm.matter_id == matter.id)
                                .order_by(RecordForm.version)))


def make_form(session: Session, matter: Matter, outcome_data: dict,
              outcome_id: uuid.UUID | None = None, actor: User | None = None,
              kind: OutcomeKind | None = None) -> RecordForm:
    """The form for a recorded outcome. When the matter already has a form (the
    outcome recorded again), the new one is its next version, as a correction is."""
    content = {"matter": matter_summary(matter), "outcome": dict(outcome_data)}
    previous = current_form(session, matter)
    if previous is not None:
        return _new_version(session, previous, content, actor, outcome_id, kind)
    made_by_id, made_by = _who(actor)
    form = RecordForm(matter_id=matter.id, county_code=matter.county_code, version=1,
                      outcome_id=outcome_id, outcome_kind=kind or outcome_kind(outcome_data),
                      content=content, made_at=datetime.now(UTC), made_by_id=made_by_id,
                      made_by_name=made_by)
    session.add(form)
    session.flush()
    return form


def _check_current(form: RecordForm) -> None:
    if not form.current:
        raise FormError(N_("Version %(version)d of this record form was replaced by a "
                           "correction: sign or correct the current version."),
                        version=form.version)


def _check_role(session: Session, form: RecordForm, actor: User, roles, template: str) -> None:
    """The signer has the side's role and reaches the matter: the grid's people a matter
    assigned to their grid, the court's officer a matter their court acts on
    (models.access, as every page decides it)."""
    from models.access import Scope  # access reads matters and grids; forms come later

    if actor is None or getattr(actor, "role", None) not in roles:
        raise FormError(template)
    scope = Scope.of(actor)
    reach = scope.matters_to_act_on()
    if session.scalar(select(Matter.id).where(Matter.id == form.matter_id, reach)) is None:
        raise FormError(N_("%(name)s does not act on this matter and cannot sign its "
                           "record form."), name=actor.display_name)


def sign_as_worker(session: Session, form: RecordForm, actor: User,
                   now: datetime | None = None) -> RecordForm:
    """The grid worker's signature: their account and the time (`now`: the demo's
    history and tests; a person signs at the server's time)."""
    _check_current(form)
    _check_role(session, form, actor, WORKER_ROLES,
                N_("Only a grid worker or liaison signs a record form for the grid."))
    if form.worker_signed_at is not None:
        raise FormError(N_("%(name)s already signed this record form for the grid."),
                        name=form.worker_signed_name)
    form.worker_signed_by_id, form.worker_signed_name = _who(actor)
    form.worker_signed_at = now or datetime.now(UTC)
    session.flush()
    _audit(session, "sign_record_worker", form, actor, signed_at=form.worker_signed_at)
    return form


def sign_as_court(session: Session, form: RecordForm, actor: User,
                  bounty_reward: Decimal | None = None, now: datetime | None = None):
    """The court officer's signature, after the grid worker's. It posts the form's
    ledger line (models.fees.post_ledger) and returns it; it does not move the
    matter: the confirm step does (done → confirmed) once this has succeeded."""
    from models.fees import post_ledger  # fees reads forms; the ledger follows a signature

    _check_current(form)
    _check_role(session, form, actor, COURT_ROLES,
                N_("Only the court's officer signs a record form for the court."))
    if form.worker_signed_at is None:
        raise FormError(N_("The grid worker signs the record form first; the court signs "
                           "after."))
    if form.court_signed_at is not None:
        raise FormError(N_("%(name)s already signed this record form for the court."),
                        name=form.court_signed_name)
    form.court_signed_by_id, form.court_signed_name = _who(actor)
    form.court_signed_at = now or datetime.now(UTC)
    if form.court_signed_at < form.worker_signed_at:
        raise FormError(N_("The grid worker signs the record form first; the court signs "
                           "after."))
    session.flush()
    _audit(session, "sign_record_court", form, actor, signed_at=form.court_signed_at)
    return post_ledger(session, form, bounty_reward=bounty_reward)


def edit(session: Session, form: RecordForm, new_content: dict) -> RecordForm:
    """Change a form nobody has signed yet; a signed one is corrected instead."""
    _check_current(form)
    if form.worker_signed_at is not None:
        raise FormError(N_("A signed record form cannot be edited: make a correction, which "
                           "both sides sign again."))
    form.content = new_content
    session.flush()
    return form


def correct(session: Session, form: RecordForm, new_content: dict, actor: User,
            reason: str | None = None) -> RecordForm:
    """A new version of a signed form, with the corrected content, unsigned: both sides
    sign it again. The old version stays as it was signed."""
    _check_current(form)
    if form.worker_signed_at is None:
        raise FormError(N_("Nobody has signed this record form yet: edit it instead of "
                           "correcting it."))
    new = _new_version(session, form, new_content, actor, form.outcome_id, None)
    _audit(session, "correct_record_form", new, actor, replaces=str(form.id), reason=reason)
    return new


def _new_version(session: Session, old: RecordForm, content: dict, actor,
                 outcome_id, kind: OutcomeKind | None) -> RecordForm:
    from models.fees import void_lines_of  # a replaced form's fee is no longer owed

    void_lines_of(session, old)
    made_by_id, made_by = _who(actor)
    new = RecordForm(id=uuid.uuid4(), matter_id=old.matter_id, county_code=old.county_code,
                     version=old.version + 1, outcome_id=outcome_id,
                     outcome_kind=kind or outcome_kind(content.get("outcome") or {}),
                     content=content, made_at=datetime.now(UTC), made_by_id=made_by_id,
                     made_by_name=made_by)
    # The old version stops being current before the new one is: one current per matter.
    old.superseded_by = new.id
    session.flush()
    session.add(new)
    session.flush()
    return new
