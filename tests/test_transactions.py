"""How a request's transaction ends (admin/transactions.py): one that succeeded and only
read ends with COMMIT, so psycopg keeps the statements it prepared; anything else ends
as before, in a rollback, and loses what it did not commit itself."""

from __future__ import annotations

import pytest
from flask import Response
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from admin.transactions import end_reading, only_read
from models import Notification, User, db


def prepared(session) -> int:
    return session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()


def test_pages_that_only_read_keep_their_prepared_statements(client_as, session):
    """psycopg prepares a statement run five times on a connection, and forgets all at a
    rollback: pages that ended in one were parsed and planned anew every time."""
    client = client_as("demo_liaison")
    for _ in range(7):
        assert client.get("/admin/").status_code == 200
    assert prepared(session) > 0


def _in_a_request(app, work, status: int = 200) -> bool:
    """Run `work` in a request, end it as the app does; True when it was committed."""
    with app.test_request_context("/admin/"):
        work(db.session)
        end_reading(Response(status=status))
        committed = not db.session().in_transaction()
        db.session.remove()
    return committed


def test_a_request_that_only_read_is_committed(app, session):
    assert _in_a_request(app, lambda s: s.execute(select(User.id)).all())


def _write(s):
    account = s.scalar(select(User.id).where(User.username == "demo_liaison"))
    s.execute(text("INSERT INTO notifications (account_id, kind, template, dedup_key)"
                   " VALUES (:a, 'chase', 'written, never committed', 'test-uncommitted')"),
              {"a": account})


def test_a_write_the_view_did_not_commit_is_rolled_back(app, session):
    assert not _in_a_request(app, _write)
    assert session.scalar(select(Notification.id).where(
        Notification.dedup_key == "test-uncommitted")) is None


def test_an_object_added_but_not_flushed_is_not_committed(app, session):
    def add(s):
        account = s.scalar(select(User.id).where(User.username == "demo_liaison"))
        s.add(Notification(account_id=account, kind="chase", template="pending",
                           dedup_key="test-pending"))

    assert not _in_a_request(app, add)
    assert session.scalar(select(Notification.id).where(
        Notification.dedup_key == "test-pending")) is None


def test_a_failed_request_is_not_committed(app, session):
    assert not _in_a_request(app, lambda s: s.execute(select(User.id)).all(), status=404)

    def fails(s):
        with pytest.raises(ProgrammingError):
            s.execute(text("SELECT no_such_column FROM accounts"))
        assert not only_read()

    assert not _in_a_request(app, fails)
