"""A matter's life after assignment, as steps: who may take which, from which state.

The seed's 沟通对接机制: the court deals with the grid's liaison (镇、村网格长), who
may hand the work to a grid worker of the area (安排所在片区的网格员提供协助); when
the grid cannot be reached the town's centre (微网格治理服务中心) helps. So:

  liaison       签收 accept, 派给网格员 dispatch (or keep it), 不属本网格 return
  field worker  无法完成 fail (with a reason from FAIL_REASONS); the outcome (→ done)
                is models.outcomes', through the same `step`
  court         撤回 cancel, 催办 chase, 请镇街中心协助 escalate, 确认办结 confirm,
                退回补充 send back, 改派 re-route (to any grid), 选定网格 place a
                matter waiting in the review or manual queue (from the queue page)
  town centre   接办 take an escalated matter, 改派 re-dispatch inside its town,
                记录处理情况 note what it did (contacted the liaison...)
  committee     on a matter escalated to it or called urgent: 改派 re-assign inside
                its county, note
  court, too    紧急协助 urgent call (models.escalation: both levels told at once)
  nobody        the ladder's own rungs (reminder, to the town centre, to the
                committee), taken by models.escalation's pass, listed for their labels

STEPS is that table, as data; TRANSITIONS (models.matters) stays the one table of
which states follow which. "The liaison" is the person the roster names liaison of
the matter's primary grid today, and an account acts as the person it stands for
(accounts.person_id): a change on the roster moves the right to act with it. The
field worker is the person it was dispatched to (matters.field_worker_id).

Every step goes through two primitives. `begin` takes the matter's row lock (SELECT
… FOR UPDATE) and checks the version the asker's page showed; `step` checks who
and from where, moves the matter (Matter.move_to), writes the step's row
(matter_steps) and an audit record, and raises the version. Two people who press
签收 at once: one waits for the other's lock, then finds the version moved and is
told who took the step, and when.

Recording the outcome (models.outcomes) uses the same two: `matter = begin(session,
id, account, version=v)`, then `step(session, matter, account, "finish",
MatterState.done, data={...})` — "finish" in STEPS lets the grid worker it was
dispatched to (or the liaison) take it from 已派发 only; `available()` lists it when
the form should be offered. The caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, Index, String, Text, Uuid, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from models import clock
from models.access import Scope
from models.accounts import Role, User
from models.assignments import Assignment
from models.audit import Actor, append, current_actor
from models.base import db, uuid_pk
from models.grids import N_, Grid
from models.matters import (
    OPEN_STATES,
    WAITING_FOR_A_PERSON,
    Matter,
    MatterState,
    TransitionError,
)
from models.notifications import notify_step
from models.roster import Person, RosterEntry, RosterRole

S = MatterState

# Why the field work could not be done (无法完成); "other" needs words of its own.
FAIL_REASONS = {
    "not_found": N_("No such person"),  # 查无此人
    "refused": N_("Refused to sign"),  # 拒绝签收
    "whereabouts_unknown": N_("Whereabouts unknown"),  # 下落不明
    "no_property": N_("No property clues"),  # 无财产线索
    "other": N_("Other"),
}
# Why a court withdraws its request (撤回).
CANCEL_REASONS = {
    "settled": N_("Settled between the parties"),  # 执行和解
    "performed": N_("The debtor has performed"),  # 已履行
    "filed_in_error": N_("Filed in error"),  # 录入有误
    "other": N_("Other"),
}
OTHER = "other"


@dataclass(frozen=True)
class Step:
    label: str
    sources: tuple[MatterState, ...]  # the states it may be taken from
    to: MatterState | None  # None: the state stays (a chase)
    by: tuple[str, ...]  # liaison | field | court | town (see _is)
    reasons: dict[str, str] = field(default_factory=dict)  # a reason from this list
    needs_note: bool = False


_WITH_A_GRID = (S.assigned, S.accepted, S.dispatched, S.escalated)
_MOVABLE = (S.assigned, S.accepted, S.escalated)  # to another grid before anyone went out
STEPS: dict[str, Step] = {
    # Late is better than never: a matter escalated for want of an answer is still the
    # liaison's to accept (and the ladder stops there).
    "accept": Step(N_("Accept"), (S.assigned, S.escalated), S.accepted, ("liaison",)),
    "dispatch": Step(N_("Dispatch"), (S.accepted,), S.dispatched, ("liaison", "town")),
    "return": Step(N_("Not for our grid"), (S.assigned, S.accepted), S.returned, ("liaison",),
                   needs_note=True),
    "fail": Step(N_("Cannot be done"), (S.accepted, S.dispatched), S.failed, ("field",),
                 reasons=FAIL_REASONS),
    "finish": Step(N_("Record the outcome"), (S.dispatched,), S.done, ("field",)),
    "cancel": Step(N_("Withdraw"), OPEN_STATES, S.cancelled, ("court",),
                   reasons=CANCEL_REASONS),
    "chase": Step(N_("Chase"), _WITH_A_GRID, None, ("court",)),
    "escalate": Step(N_("Ask the town centre for help"), (S.assigned, S.accepted),
                     S.escalated, ("court",)),
    # The record form (models.record_forms): the grid signs it, then the court's
    # confirmation is its signature — only then is the matter completed and payable.
    "sign": Step(N_("Sign the record form"), (S.done,), None, ("field",)),
    "confirm": Step(N_("Confirm completion"), (S.done,), S.confirmed, ("court",)),
    "send_back": Step(N_("Send back for more"), (S.done,), S.dispatched, ("court",),
                      needs_note=True),
    "take": Step(N_("Take over"), (S.escalated,), S.accepted, ("town",)),
    "reroute": Step(N_("Re-route"), _MOVABLE, S.assigned, ("court",), needs_note=True),
    # From the queue page: a candidate the geocoder offered, or a point on the map.
    "place": Step(N_("Place in a grid"), WAITING_FOR_A_PERSON, S.assigned, ("court",)),
    "redispatch": Step(N_("Re-dispatch within the town"), _MOVABLE, S.assigned, ("town",),
                       needs_note=True),
    # The escalation ladder (models.escalation).
    "urgent": Step(N_("Urgent assistance"), (S.assigned, S.escalated), None, ("court",)),
    "reassign": Step(N_("Re-assign within the county"), _MOVABLE, S.assigned, ("committee",),
                     needs_note=True),
    "note": Step(N_("Note what was done"), _WITH_A_GRID, None, ("town", "committee"),
                 needs_note=True),
    "remind": Step(N_("Reminded to accept"), (), None, ()),
    "to_town": Step(N_("Escalated to the town centre"), (), None, ()),
    "to_committee": Step(N_("Escalated to the county committee"), (), None, ()),
}
del S


ILLEGAL = N_("This matter is %(state)s: %(step)s is not possible.")


class StepError(ValueError):
    """A refused step, said precisely. kind: "missing" (not found for the asker),
    "forbidden" (not theirs to take), "illegal" (not from this state), "invalid" (a
    reason or worker missing), "stale" (someone else moved it first)."""

    def __init__(self, kind: str, template: str, **params):
        self.kind, self.template, self.params = kind, template, params
        super().__init__(template % params)


_STATE = Enum(MatterState, name="matter_state", values_callable=lambda e: [m.value for m in e],
              create_type=False)


class MatterStep(db.Model):
    """One step of a matter's life: who took it, when, from which state to which, why."""

    __tablename__ = "matter_steps"
    __table_args__ = (Index("ix_matter_steps_matter_at", "matter_id", "at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    matter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"))
    county_code: Mapped[str] = mapped_column(String(6))  # the matter's
    step: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[MatterState] = mapped_column(_STATE)
    to_state: Mapped[MatterState] = mapped_column(_STATE)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # an account's or a token's
    actor_name: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason_code: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSONB)

    matter: Mapped[Matter] = relationship()

    @property
    def label(self) -> str:
        return STEPS[self.step].label if self.step in STEPS else self.step

    @property
    def reason_label(self) -> str | None:
        reasons = STEPS[self.step].reasons if self.step in STEPS else {}
        return reasons.get(self.reason_code, self.reason_code)


# --- who is who -------------------------------------------------------------------------

def actor_name(actor) -> str:
    if isinstance(actor, User):
        return actor.display_name
    if hasattr(actor, "token_hash"):  # a court system's API token
        return f"{actor.court.name}（{actor.label}）"
    return str(actor)


def _audit_actor(actor) -> Actor:
    """The audit trail's actor: the account or token taking the step, from where the
    request (or command) came."""
    base = current_actor()
    if isinstance(actor, User):
        return Actor(actor.username, str(actor.id), base.address)
    if hasattr(actor, "token_hash"):
        return Actor(f"token:{actor.prefix}", str(actor.id), base.address)
    return base


def liaison_person(session: Session, matter: Matter) -> uuid.UUID | None:
    """The person the roster names liaison of the matter's primary grid today."""
    primary = matter.primary_assignment
    if primary is None:
        return None
    return session.scalar(RosterEntry.current().with_only_columns(RosterEntry.person_id)
                          .where(RosterEntry.grid_id == primary.grid_id,
                                 RosterEntry.role == RosterRole.liaison))


def grid_workers(session: Session, matter: Matter) -> list[Person]:
    """The grid workers the roster has on the matter's primary grid today."""
    primary = matter.primary_assignment
    if primary is None:
        return []
    return list(session.scalars(
        select(Person).join(RosterEntry, RosterEntry.person_id == Person.id)
        .where(RosterEntry.id.in_(RosterEntry.current().with_only_columns(RosterEntry.id)),
               RosterEntry.grid_id == primary.grid_id,
               RosterEntry.role == RosterRole.grid_worker)
        .order_by(Person.name)))


def _is(session: Session, matter: Matter, actor, who: str) -> bool:
    scope = Scope.of(actor)
    person = getattr(actor, "person_id", None)
    if who == "liaison":
        return (scope.role is Role.liaison and person is not None
                and person == liaison_person(session, matter))
    if who == "field":
        if _is(session, matter, actor, "liaison"):
            return True
        return (scope.role is Role.grid_worker and person is not None
                and person == matter.field_worker_id)
    if who == "court":
        return scope.role in (Role.court_staff, Role.admin) and session.scalar(
            select(Matter.id).where(Matter.id == matter.id,
                                    scope.matters_to_act_on())) is not None
    if who == "town":
        primary = matter.primary_assignment
        return (scope.role is Role.town_centre and scope.area_code is not None
                and primary is not None and primary.grid.code.startswith(scope.area_code))
    if who == "committee":  # its county's, once escalated to it or called urgent
        primary = matter.primary_assignment
        return (scope.role is Role.committee and scope.area_code is not None
                and primary is not None and primary.grid.code.startswith(scope.area_code)
                and (matter.escalation_level >= 2 or matter.urgent_at is not None))
    raise ValueError(who)


def may_take(session: Session, matter: Matter, actor, name: str) -> bool:
    """Whether the actor is one of those who take this step on this matter (any state)."""
    rule = STEPS.get(name)
    return rule is not None and any(_is(session, matter, actor, who) for who in rule.by)


def available(session: Session, matter: Matter, actor) -> list[str]:
    """The steps the actor may take on the matter now, in the table's order. Of the
    record form's two signatures, the one that is due: the grid's, then the court's."""
    names = [name for name, rule in STEPS.items()
             if matter.state in rule.sources and may_take(session, matter, actor, name)
             and not (name == "urgent" and matter.urgent_at is not None)]  # called once
    if "sign" in names or "confirm" in names:
        from models.record_forms import current_form

        form = current_form(session, matter)
        signed = form is not None and form.worker_signed_at is not None
        names = [n for n in names if n != ("sign" if signed else "confirm")]
    return names


# --- the two primitives ------------------------------------------------------------------

def begin(session: Session, matter_id, actor, *, version: int | None = None) -> Matter:
    """The matter, read through the actor's scope and locked until the transaction
    ends; refused when the asker's page showed another version than the one now."""
    scope = Scope.of(actor)
    matter = session.scalar(
        select(Matter).where(Matter.id == matter_id, scope.matters())
        .with_for_update(of=Matter).execution_options(populate_existing=True)
        .options(selectinload(Matter.assignments).selectinload(Assignment.grid)))
    if matter is None:
        raise StepError("missing", N_("No such matter."))
    if version is not None and matter.version != version:
        raise stale(session, matter)
    return matter


def stale(session: Session, matter: Matter) -> StepError:
    last = session.scalar(select(MatterStep).where(MatterStep.matter_id == matter.id)
                          .order_by(MatterStep.at.desc()).limit(1))
    if last is None:
        return StepError("stale", N_("This matter changed since you opened it: look again."))
    return StepError("stale", N_("This matter was already handled by %(who)s at %(at)s: "
                                 "look again."), who=last.actor_name, at=last.at)


def step(session: Session, matter: Matter, actor, name: str, to_state: MatterState | None,
         *, reason: str | None = None, note: str | None = None, data: dict | None = None,
         move: Callable[[], None] | None = None) -> MatterStep:
    """Take one step on a matter from `begin`: who and from where are checked (for
    the steps of STEPS), the matter moves (Matter.move_to, or `move` where geo.assign
    moves it), and the step's row, an audit record, a new version and the time of the
    change are written. to_state None (or the state it is in): it stays."""
    rule = STEPS.get(name)
    if rule is not None:
        _check(session, matter, actor, name, rule, reason, note)
    from_state = matter.state
    to_state = to_state or from_state
    try:
        if move is not None:
            move()
        elif to_state is not from_state:
            matter.move_to(to_state)
    except TransitionError:
        raise StepError("illegal", ILLEGAL, state=from_state.value,
                        step=rule.label if rule else name) from None
    # The clock, not the transaction's start: steps of one transaction stay in order;
    # the database's clock, moved as the app's is (models.clock: a test's offset), so
    # that people's steps and the ladder's fall in the order they happened.
    now = session.scalar(select(func.clock_timestamp())) + clock.offset()
    matter.version = (matter.version or 0) + 1
    matter.updated_at = now
    row = MatterStep(matter_id=matter.id, county_code=matter.county_code, step=name,
                     from_state=from_state, to_state=matter.state, at=now,
                     actor_id=getattr(actor, "id", None), actor_name=actor_name(actor),
                     reason_code=reason or None, note=(note or "").strip() or None,
                     data=data or None)
    session.add(row)
    session.flush()
    append(session.connection(), "step", "matter", str(matter.id),
           before={"state": from_state.value},
           after={"step": name, "state": matter.state.value, "reason": row.reason_code,
                  "note": row.note, "version": matter.version, **(data or {})},
           actor=_audit_actor(actor))
    notify_step(session, matter, row)  # who hears of it (chase, send back, return, confirm)
    return row


def _check(session, matter, actor, name, rule: Step, reason=None, note=None) -> None:
    if not may_take(session, matter, actor, name):
        raise StepError("forbidden", N_("%(step)s is not yours to do on this matter."),
                        step=rule.label)
    if matter.state not in rule.sources:
        raise StepError("illegal", ILLEGAL, state=matter.state.value, step=rule.label)
    if rule.reasons and reason not in rule.reasons:
        raise StepError("invalid", N_("Choose a reason from the list."))
    if not rule.reasons and reason:
        raise StepError("invalid", N_("This step takes no reason from a list: write a note."))
    if (rule.needs_note or reason == OTHER) and len((note or "").strip()) < 2:
        raise StepError("invalid", N_("Say in a few words why (at least two characters)."))


# --- the steps, one rule each ------------------------------------------------------------


def dispatch(session, matter, actor, worker: Person | None, *, note=None) -> MatterStep:
    """To a grid worker on the primary grid's roster today, or (worker None) kept by
    the liaison, who then does the field work themselves."""
    _check(session, matter, actor, "dispatch", STEPS["dispatch"])
    if worker is None:
        keeper = getattr(actor, "person_id", None)
        if keeper is None or getattr(actor, "role", None) is not Role.liaison:
            raise StepError("invalid", N_("Choose the grid worker who goes."))
        worker = session.get(Person, keeper)
    elif worker.id not in {p.id for p in grid_workers(session, matter)}:
        raise StepError("invalid", N_("%(name)s is not a grid worker of this grid today."),
                        name=worker.name)
    def move():
        matter.move_to(STEPS["dispatch"].to)
        matter.field_worker_id = worker.id

    return step(session, matter, actor, "dispatch", STEPS["dispatch"].to, note=note, move=move,
                data={"worker": {"id": str(worker.id), "name": worker.name}})


# How a matter moves between grids is geo.assign's (return_matter, reroute). geo sits
# above models, so it lends those moves here when it is imported, as the web layer
# lends the audit trail its actor: name → function(session, matter, *args, actor=).
_MOVES: dict[str, Callable] = {}


def lend_move(name: str, function: Callable) -> None:
    _MOVES[name] = function


def _grid_move(name: str, session, matter, *args, actor, **kwargs) -> None:
    try:
        _MOVES[name](session, matter, *args, actor=actor, **kwargs)
    except ValueError as e:  # geo.assign.RoutingError
        if not hasattr(e, "template"):
            raise
        raise StepError("invalid", e.template, **e.params) from None
    matter.field_worker_id = None


def return_to_court(session, matter, actor, note: str) -> MatterStep:
    """不属本网格: the assignment ends with the reason (geo.assign.return_matter) and
    the matter goes back to the court's review queue."""
    def move():
        _grid_move("return", session, matter, note, actor=actor)

    return step(session, matter, actor, "return", STEPS["return"].to, note=note, move=move)




def chase(session, matter, actor, *, note=None) -> MatterStep:
    """催办: a note to the liaison, counted on the matter."""
    def count():
        matter.chases = (matter.chases or 0) + 1

    return step(session, matter, actor, "chase", None, note=note, move=count)


def move_to_grid(session, matter, actor, name: str, grid: Grid | None,
                 note: str) -> MatterStep:
    """改派: the primary assignment moves to another grid (geo.assign.reroute: the old
    one ends with the reason, a new one starts, effective from now) — by the filing
    court anywhere (reroute), by a town centre inside its town (redispatch). The new
    grid's accept and finish deadlines start now, by the rules of the day
    (models.deadlines); the court's own date stays."""
    _check(session, matter, actor, name, STEPS[name], note=note)
    scope = Scope.of(actor)
    if name in ("redispatch", "reassign") and (grid is None or not (
            scope.area_code and grid.code.startswith(scope.area_code))):
        raise StepError("invalid", N_("Choose a grid of your town.") if name == "redispatch"
                        else N_("Choose a grid of your county."))
    if grid is None:
        raise StepError("invalid", N_("Choose the grid the matter goes to."))

    def move():
        _grid_move("reroute", session, matter, grid, note, actor=actor)

    return step(session, matter, actor, name, STEPS[name].to, note=note, move=move,
                data={"grid": {"code": grid.code, "name": grid.name}})


def place(session, matter, actor, grid: Grid, *, method: str) -> MatterStep:
    """选定网格: the filing court places a matter waiting for a person (review, manual,
    or returned by a grid) in a grid — a candidate the geocoder offered ("candidate")
    or the grid under a point picked on the map ("map"); geo.assign.pick_grid assigns
    it. A step like the others: the history shows who placed it, when and where."""
    _check(session, matter, actor, "place", STEPS["place"])

    def move():
        _grid_move("place", session, matter, grid, actor=actor, method=method)

    return step(session, matter, actor, "place", STEPS["place"].to, move=move,
                data={"grid": {"code": grid.code, "name": grid.name}, "method": method})


def take_step(session: Session, matter: Matter, actor, name: str, *, reason=None, note=None,
              worker: Person | None = None, grid: Grid | None = None) -> MatterStep:
    """One step by its name, as the pages, the API and the command line ask for it."""
    if name not in STEPS or name in ("finish", "place"):
        raise StepError("invalid", N_("Unknown step: %(step)s."), step=name)
    if name == "dispatch":
        return dispatch(session, matter, actor, worker, note=note)
    if name == "return":
        return return_to_court(session, matter, actor, note)
    if name in ("reroute", "redispatch", "reassign"):
        return move_to_grid(session, matter, actor, name, grid, note)
    if name == "urgent":
        from models.escalation import urgent_call

        return urgent_call(session, matter, actor, note=note)
    if name == "chase":
        return chase(session, matter, actor, note=note)
    if name in ("sign", "confirm"):
        return sign_record_form(session, matter, actor, name, note=note)
    if not STEPS[name].by:
        raise StepError("invalid", N_("Unknown step: %(step)s."), step=name)
    return step(session, matter, actor, name, STEPS[name].to, reason=reason, note=note)


def sign_record_form(session, matter, actor, name: str, *, note=None) -> MatterStep:
    """The grid's signature on the current record form ("sign"), or the court's
    ("confirm": it posts the fee line, and the matter is confirmed)."""
    from models.record_forms import FormError, current_form, sign_as_court, sign_as_worker

    _check(session, matter, actor, name, STEPS[name], note=note)
    form = current_form(session, matter)
    if form is None:
        raise StepError("invalid", N_("This matter has no record form yet: its outcome is "
                                      "recorded first."))
    try:
        if name == "sign":
            sign_as_worker(session, form, actor)
            data = {"form_version": form.version}
        else:
            line = sign_as_court(session, form, actor)
            data = {"form_version": form.version,
                    "fee": str(line.amount) if line is not None else None}
    except FormError as refused:
        raise StepError("invalid", refused.template, **refused.params) from None
    return step(session, matter, actor, name, STEPS[name].to, note=note, data=data)


def history(session: Session, matter_id) -> list[MatterStep]:
    return list(session.scalars(select(MatterStep).where(MatterStep.matter_id == matter_id)
                                .order_by(MatterStep.at, MatterStep.id)))
