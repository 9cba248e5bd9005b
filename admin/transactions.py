"""How a request's transaction ends: a request that only read ends it with COMMIT.

psycopg prepares a statement on the server once a connection has run it five times,
and from then on the server neither parses nor plans it again (or plans it with a
kept generic plan). But psycopg forgets every prepared statement at each ROLLBACK
(DEALLOCATE ALL: a statement prepared in a failed transaction may not exist), and a
request whose view does not commit ends in a rollback when its session is closed: so
no page's statement was ever prepared, and the server parsed and planned each of
them on every request (我的事项's query alone: 1.2–1.7 ms of the database's time).

For a transaction that wrote nothing, COMMIT and ROLLBACK do the same, so a request
that succeeded (status below 400) and only read ends with COMMIT. "Only read" is
decided conservatively, statement by statement, from what the server answered: after
any statement whose status is not SELECT or a savepoint's (INSERT, UPDATE, DELETE,
SET, …), any failed statement, or with an ORM object added, changed or deleted but not
flushed, the request ends as before, in a rollback. A view that means to keep its
writes commits them itself, as every one does.
"""

from __future__ import annotations

from flask import Flask, g, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from models import db


def _wrote() -> None:
    if has_app_context():
        g.gridlink_not_only_read = True


def only_read() -> bool:
    """True while this request's statements all answered SELECT."""
    return not g.get("gridlink_not_only_read", False)


# What the server answers to a statement that leaves nothing behind: a query, and the
# savepoints a view (or the tests' request sessions) may open, release or roll back to.
READ_ONLY = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK")


# On every engine (the app's, and in the tests the connection a test's requests share),
# registered once: they only mark the request in hand.
@event.listens_for(Engine, "after_cursor_execute")
def _note(conn, cursor, statement, parameters, context, executemany):
    if not (getattr(cursor, "statusmessage", None) or "").startswith(READ_ONLY):
        _wrote()


@event.listens_for(Engine, "handle_error")
def _failed(context):
    _wrote()


def end_reading(response):
    """After a request: COMMIT when it succeeded and only read (see above)."""
    if not db.session.registry.has():  # no session this request (a static file): nothing
        return response
    session = db.session()  # this request's
    if response.status_code >= 400 or not only_read() or not session.in_transaction() \
            or session.new or session.dirty or session.deleted:
        return response  # closed with the request's context: a rollback
    try:
        session.commit()
    except SQLAlchemyError:  # nothing was written; the rollback that follows is all
        session.rollback()
    return response


def init_app(app: Flask) -> None:
    app.after_request(end_reading)
