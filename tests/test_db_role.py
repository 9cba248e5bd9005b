"""The app's database role as an attack: connected as the app, switch off the
audit trail's protection or rewrite it. Every way is refused (the app owns no
table and is no superuser); the suite itself runs as that role (conftest.make_app),
which proves its grants suffice."""

import os

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from models import db
from models.database import APP_ROLE

ATTACKS = [
    "SET session_replication_role = replica",
    "ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only",
    "ALTER TABLE audit_records DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_records_append_only ON audit_records",
    "UPDATE audit_records SET actor = 'nobody' WHERE seq = 1",
    "DELETE FROM audit_records WHERE seq = 1",
    "TRUNCATE audit_records",
    "DELETE FROM audit_head",
    "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN NULL; END $$",
    "ALTER TABLE accounts ADD COLUMN backdoor text",
    "CREATE TABLE public.stash (x int)",
    "ALTER ROLE gridlink_app SUPERUSER",
    "SET ROLE postgres",
    "UPDATE alembic_version SET version_num = '0001'",
]


@pytest.fixture
def as_app(app):
    """A connection of the app's own pool, in a transaction rolled back afterwards."""
    with app.app_context():
        engine = db.engine
    with engine.connect() as connection:
        yield connection


def test_the_app_connects_as_its_own_role(as_app):
    who = as_app.execute(text(
        "SELECT current_user, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls "
        "FROM pg_roles WHERE rolname = current_user")).one()
    assert tuple(who) == (APP_ROLE, False, False, False, False)
    owned = as_app.execute(text(
        "SELECT count(*) FROM pg_class WHERE relowner = "
        "(SELECT oid FROM pg_roles WHERE rolname = current_user)")).scalar()
    assert owned == 0


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_app_cannot_switch_off_or_rewrite_the_audit_trail(as_app, attack):
    transaction = as_app.begin()
    try:
        with pytest.raises(DBAPIError, match=r"(?i)permission denied|must be|append-only"):
            as_app.execute(text(attack))
    finally:
        transaction.rollback()


def test_the_app_writes_what_it_works_on(as_app):
    transaction = as_app.begin()
    try:
        as_app.execute(text("UPDATE accounts SET display_name = display_name"))
        as_app.execute(text("INSERT INTO login_attempts (username, address, succeeded) "
                            "VALUES ('x', 'y', false)"))
        as_app.execute(text("SELECT gridlink_refresh_statistics()"))  # the owner's ANALYZE
    finally:
        transaction.rollback()


def test_the_owner_still_runs_migrations(database_url):
    """The schema stays the owner's: the app's role got grants, not ownership."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        owner = connection.execute(text(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'audit_records'"
        )).scalar()
    engine.dispose()
    assert owner != APP_ROLE


def test_db_upgrade_gives_the_app_role_its_password(runner, database_url, monkeypatch):
    password = os.environ.get("GRIDLINK_TEST_APP_PASSWORD", "test-only-password")
    app_url = make_url(database_url).set(username=APP_ROLE, password=password)
    monkeypatch.setenv("GRIDLINK_APP_DATABASE_URL", app_url.render_as_string(False))
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(text(
            "SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": APP_ROLE}).scalar()
    engine.dispose()
    assert stored and stored.startswith("SCRAM-SHA-256$") and password not in stored
    # Only the app's role gets a password this way: not the owner, not anyone else.
    monkeypatch.setenv("GRIDLINK_APP_DATABASE_URL", app_url.set(username="postgres")
                       .render_as_string(False))
    refused = runner.invoke(args=["db", "upgrade"])
    assert refused.exit_code == 1 and "must connect as gridlink_app" in refused.output
