"""The outbox: a message leaving the system (an SMS) for a notification, delivered
once by the job worker, never by the page that caused it.

`notify` (models.notifications) queues a row here in the same statement as the
notification, and wakes the sender: a procrastinate job deferred in the same
transaction (so a page's commit is all it takes, and a rolled-back page queues
nothing), besides the worker's periodic pass that also takes the retries when due.

Once, whatever runs: a pass takes one message at a time with SELECT … FOR UPDATE
SKIP LOCKED, sends it while holding the row, and marks it sent (or when to try
again) before committing; a second worker skips the locked row and takes the
next. If a worker dies between sending and committing, the message is sent again
with the same idempotency key, which the gateway uses to drop the repeat.

A failed send is tried again after `backoff`, 2×, 4×… seconds by the app's clock,
and given up after `tries`, the last reason kept (`last_error`); a refusal that
cannot get better (the gateway says 4xx: a bad number, a bad key) is given up at
once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import clock
from models.base import db
from models.jobs import QUEUE

log = logging.getLogger(__name__)
DELIVER_TASK = "gridlink:deliver"  # admin.delivery


class Outbox(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel"),
        CheckConstraint("state IN ('pending', 'sent', 'failed')", name="state"),
        # What a pass looks for: small however many were ever sent.
        Index("ix_outbox_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10), server_default="sms")
    address: Mapped[str] = mapped_column(String(30))  # the phone number
    state: Mapped[str] = mapped_column(String(10), server_default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                      server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def wake_sender(session: Session) -> None:
    """Defer the delivery job in the caller's transaction, unless one is already
    waiting (two transactions may both defer one: the second finds nothing to send)."""
    session.execute(text(
        "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL, "
        "'{}'::jsonb, NULL)::procrastinate_job_to_defer_v1]) "
        "WHERE NOT EXISTS (SELECT 1 FROM procrastinate_jobs "
        "WHERE task_name = :task AND status = 'todo')"),
        {"queue": QUEUE, "task": DELIVER_TASK})


@dataclass(frozen=True)
class Message:
    key: str  # the idempotency key: the same for every try of one message
    address: str
    text: str
    kind: str


class SendError(Exception):
    """A message not delivered, and why; permanent when trying again cannot help."""

    def __init__(self, reason: str, permanent: bool = False):
        self.reason, self.permanent = reason, permanent
        super().__init__(reason)


class Sender:
    """Delivers one message or raises SendError (models.senders has the real ones)."""

    def send(self, message: Message) -> None:
        raise NotImplementedError


_CLAIM = text("""
SELECT o.id, o.address, o.attempts, o.channel, n.kind, n.template, n.params, n.dedup_key
FROM outbox o JOIN notifications n ON n.id = o.notification_id
WHERE o.state = 'pending' AND o.next_attempt_at <= :now
ORDER BY o.next_attempt_at, o.id
LIMIT 1
FOR UPDATE OF o SKIP LOCKED""")
_SENT = text("UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = :now, "
             "last_error = NULL WHERE id = :id")
_FAILED = text("UPDATE outbox SET attempts = attempts + 1, last_error = :reason, "
               "state = CASE WHEN :give_up THEN 'failed' ELSE 'pending' END, "
               "next_attempt_at = :retry_at WHERE id = :id")


def idempotency_key(dedup_key: str, channel: str) -> str:
    return hashlib.sha256(f"{dedup_key}|{channel}".encode()).hexdigest()[:32]


def deliver_due(begin: Callable[[], AbstractContextManager[Connection]], sender: Sender,
                render: Callable[[str, dict], str], *, tries: int = 6, backoff: float = 30.0,
                limit: int = 500) -> dict[str, int]:
    """One pass: send the messages due now, one transaction each (see the module's
    comment); `begin` opens one (an engine's `begin`). `render` turns a notification's
    template and parameters into the text. Returns how many were sent, put off for a
    retry, and given up."""
    done = {"sent": 0, "retry": 0, "failed": 0}
    for _ in range(limit):
        with begin() as conn:
            now = clock.now()
            row = conn.execute(_CLAIM, {"now": now}).first()
            if row is None:
                break
            message = Message(idempotency_key(row.dedup_key, row.channel), row.address,
                              render(row.template, row.params or {}), row.kind)
            try:
                sender.send(message)
            except SendError as failed:
                give_up = failed.permanent or row.attempts + 1 >= tries
                retry_at = now + timedelta(seconds=backoff * 2 ** row.attempts)
                conn.execute(_FAILED, {"id": row.id, "reason": failed.reason[:500],
                                       "give_up": give_up, "retry_at": retry_at})
                done["failed" if give_up else "retry"] += 1
                log.warning("outbox %s: %s (%s)", row.id, failed.reason,
                            "given up" if give_up else f"again at {retry_at:%H:%M:%S}")
            else:
                conn.execute(_SENT, {"id": row.id, "now": now})
                done["sent"] += 1
    return done
