"""Notifications: a message to one account about one thing that happened (a reminder,
an escalation, the court's urgent call, a chase...), in that account's inbox until read.

Sent once, however many processes send it: each notification has a `dedup_key`
naming the event and the account (e.g. "escalate:1:<matter id>:<account id>"), and
`notify` inserts with ON CONFLICT DO NOTHING, so a second pass, a second worker or
a retried job adds nothing. `notify` takes a SELECT of the rows to write, so that a
pass over the province is one statement, not a loop.

The text is an English template (a msgid) and its parameters, translated when it is
shown, as Matter.queue_reason.

Some notifications also leave the system as an SMS (models.outbox): in the same
statement as the notification, so there is never one without the other.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    func,
    literal,
    select,
    text,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import clock
from models.accounts import User
from models.base import db
from models.grids import N_
from models.outbox import Outbox, wake_sender
from models.roster import Person, RosterEntry, RosterRole


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # reminder, escalated, urgent, chase...
    matter_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("matters.id", ondelete="CASCADE"))
    template: Mapped[str] = mapped_column(Text)
    params: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)

    __table_args__ = (
        Index("ix_notifications_unread", "account_id", postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_account_created", "account_id", "created_at"),
    )


COLUMNS = ("account_id", "kind", "matter_id", "template", "params", "dedup_key", "created_at")

# Which kinds also go out by SMS, to the account's person's phone. An SMS costs money
# and interrupts someone in the field, so only the calls to act against a clock: the
# reminder before the accept deadline, an escalation to the next level, the court's
# urgent call, and the court's chase (催办) — each asks a liaison or a centre to act
# today, and they are often out, away from the app. What only informs (a matter
# returned to the court, sent back, confirmed) waits in the inbox for the next visit.
SMS_KINDS = ("reminder", "escalated", "urgent", "chase")

def notify(session: Session, rows) -> int:
    """Write the notifications a SELECT yields, once each: `rows` gives, in this order,
    account_id, kind, matter_id, template, params (jsonb), dedup_key, created_at.
    Queues their SMS (see SMS_KINDS) and, if any, the job that sends them, all in
    the caller's transaction. Returns how many notifications were new."""
    table = Notification.__table__
    # One statement: the new notifications (a repeat adds nothing), then the SMS of
    # those whose kind goes out and whose account stands for a person with a phone.
    # Data-modifying CTEs share one snapshot: the outbox reads the RETURNING rows.
    new = (pg_insert(table).from_select([table.c[c] for c in COLUMNS], rows)
           .on_conflict_do_nothing(index_elements=["dedup_key"])
           .returning(table.c.id, table.c.account_id, table.c.kind, table.c.created_at)
           .cte("new"))
    outbox = Outbox.__table__
    sms = (select(new.c.id, literal("sms"), Person.phone, new.c.created_at)
           .join(User, User.id == new.c.account_id).join(Person, Person.id == User.person_id)
           .where(new.c.kind.in_(SMS_KINDS), User.active,
                  func.coalesce(func.btrim(Person.phone), "") != ""))
    queued = (pg_insert(outbox).from_select(
        ["notification_id", "channel", "address", "next_attempt_at"], sms)
        .on_conflict_do_nothing().returning(outbox.c.id).cte("queued"))
    counts = select(select(func.count()).select_from(new).scalar_subquery(),
                    select(func.count()).select_from(queued).scalar_subquery())
    written, to_send = session.execute(counts).one()
    if to_send:
        wake_sender(session)
    return written


# --- the inbox ---------------------------------------------------------------------------

BADGE_CAP = 99  # past it the bell says 99+


def unread_count(session: Session, account_id, cap: int = BADGE_CAP) -> int:
    """Unread notifications of an account, counted up to cap + 1 only: the bell
    needs no more, and the count stays a short walk of the partial index on unread
    however many thousands wait."""
    unread = (select(literal(1)).select_from(Notification)
              .where(Notification.account_id == account_id, Notification.read_at.is_(None))
              .limit(cap + 1).subquery())
    return session.scalar(select(func.count()).select_from(unread))


def unread_of_account(cap: int = BADGE_CAP):
    """unread_count as a column of the accounts row being loaded (see User.unread)."""
    unread = (select(literal(1)).select_from(Notification)
              .where(Notification.account_id == User.id, Notification.read_at.is_(None))
              .correlate(User).limit(cap + 1).subquery())
    return select(func.count()).select_from(unread).scalar_subquery()


def badge(count: int, cap: int = BADGE_CAP) -> str:
    return f"{cap}+" if count > cap else str(count)


def inbox(account_id, *, unread_only: bool = False):
    """An account's notifications, newest first (a select; the caller pages it)."""
    query = select(Notification).where(Notification.account_id == account_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query.order_by(Notification.created_at.desc(), Notification.id.desc())


def mark_read(session: Session, account_id, ids: list[int] | None = None) -> int:
    """Mark an account's notifications read: those named, or all. Another account's
    ids are simply not found. Returns how many were unread."""
    stmt = (update(Notification)
            .where(Notification.account_id == account_id, Notification.read_at.is_(None))
            .values(read_at=clock.now()).execution_options(synchronize_session=False))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    return session.execute(stmt).rowcount


# --- steps of a matter that tell someone ----------------------------------------------

# step → (kind, template, who hears of it). The grid's liaison hears of the court's
# chase; the field worker of a send-back and of the court's confirmation; the court
# officer of a grid's "not for our grid".
STEP_NOTICES = {
    "chase": ("chase", N_("%(court)s chased matter %(case)s: please act on it."), "liaison"),
    "send_back": ("sent_back", N_("Matter %(case)s was sent back for more: %(note)s"),
                  "field"),
    "return": ("returned", N_("Matter %(case)s was returned by the grid: %(note)s"),
               "officer"),
    "confirm": ("confirmed", N_("The court confirmed matter %(case)s as completed."), "field"),
}


def _recipients(session: Session, matter, who: str):
    """A condition on User: the accounts that hear of a step on this matter."""
    if who == "officer":
        officer = matter.officer_id or matter.created_by_id
        return User.id == officer if officer else None
    if who == "field":
        person = matter.field_worker_id
        return User.person_id == person if person else None
    primary = matter.primary_assignment
    if primary is None:
        return None
    return User.person_id.in_(
        RosterEntry.current().with_only_columns(RosterEntry.person_id)
        .where(RosterEntry.grid_id == primary.grid_id, RosterEntry.role == RosterRole.liaison))


def notify_step(session: Session, matter, row) -> int:
    """The notifications a step of STEP_NOTICES writes (none for other steps): once per
    step and account, never to the one who took it."""
    if row.step not in STEP_NOTICES:
        return 0
    kind, template, who = STEP_NOTICES[row.step]
    condition = _recipients(session, matter, who)
    if condition is None:
        return 0
    params = {"case": matter.case_number, "court": matter.court.name, "note": row.note or ""}
    rows = select(
        User.id, literal(kind), literal(matter.id, Notification.matter_id.type),
        literal(template), type_coerce(params, JSONB),
        func.concat(f"{row.step}:{row.id}:", User.id), literal(clock.now(), DateTime(True)),
    ).where(condition, User.active, User.id != row.actor_id if row.actor_id else true())
    return notify(session, rows)

