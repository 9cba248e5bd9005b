"""Notifications: a message to one account about one thing that happened (a reminder,
an escalation, the court's urgent call...), in that account's inbox until read.

Sent once, however many processes send it: each notification has a `dedup_key`
naming the event and the account (e.g. "escalate:1:<matter id>:<account id>"), and
`notify` inserts with ON CONFLICT DO NOTHING, so a second pass, a second worker or
a retried job adds nothing. `notify` takes a SELECT of the rows to write, so that a
pass over the province is one statement, not a loop.

The text is an English template (a msgid) and its parameters, translated when it is
shown, as Matter.queue_reason.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import db


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


def notify(session: Session, rows) -> int:
    """Write the notifications a SELECT yields, once each: `rows` gives, in this order,
    account_id, kind, matter_id, template, params (jsonb), dedup_key, created_at.
    Returns how many were new."""
    table = Notification.__table__
    stmt = (pg_insert(table).from_select([table.c[c] for c in COLUMNS], rows)
            .on_conflict_do_nothing(index_elements=["dedup_key"]).returning(table.c.id))
    return len(session.execute(stmt).all())
