"""Notifications are written once per event and account, whoever writes them again."""

from __future__ import annotations

from sqlalchemy import func, literal, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from models import Notification, User
from models.notifications import notify


def _rows(usernames: list[str], key: str):
    return select(
        User.id, literal("reminder"), literal(None).cast(Notification.matter_id.type),
        literal("A test notice for %(name)s"),
        type_coerce({"name": "x"}, JSONB),
        func.concat(key, ":", User.id), func.now(),
    ).where(User.username.in_(usernames))


def test_a_notification_is_written_once_however_often_it_is_sent(session):
    first = notify(session, _rows(["demo_admin", "demo_court_yuncheng"], "test-once"))
    again = notify(session, _rows(["demo_admin", "demo_court_yuncheng"], "test-once"))
    other_event = notify(session, _rows(["demo_admin"], "test-other"))
    assert (first, again, other_event) == (2, 0, 1)
    assert session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.dedup_key.like("test-%"))) == 3
