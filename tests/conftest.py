"""Fixtures: a private PostGIS for the session, the demo loaded once, and each test
in a transaction that is rolled back afterwards.

With DATABASE_URL set, the tests create (and drop) their own database on that
server instead of starting an embedded cluster.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import scoped_session, sessionmaker

from admin import create_app
from models import db
from models.database import Cluster
from models.migrate import upgrade
from seeds.demo import load_demo

TEST_DB = f"gridlink_test_{os.getpid()}"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def server_url():
    """A PostgreSQL server URL (database `postgres`) that the tests may use freely."""
    outside = os.environ.get("DATABASE_URL")
    if outside:
        yield make_url(outside).set(drivername="postgresql+psycopg", database="postgres")
        return
    root = Path(tempfile.mkdtemp(prefix="gridlink-test-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    cluster = Cluster(root, throwaway=True)
    port = cluster.start()
    yield make_url(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
    cluster.stop()


def _create_database(server_url, name: str, template: str | None = None) -> str:
    admin_engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    admin_engine.dispose()
    return server_url.set(database=name).render_as_string(hide_password=False)


def _drop_database(server_url, name: str) -> None:
    admin_engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


@pytest.fixture(scope="session")
def database_url(server_url):
    """The test database: migrated, with the Yunfu demo committed once."""
    url = _create_database(server_url, TEST_DB)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    _drop_database(server_url, TEST_DB)


def make_app(url: str):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                       "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False})


@pytest.fixture(scope="session")
def app(database_url):
    app = make_app(database_url)
    with app.app_context():
        load_demo(db.session)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app):
    """The test's own session, inside a transaction that is rolled back at the end.

    Requests and CLI commands run on the same connection through db.session, each
    in a savepoint, so their commits are visible to the test but never reach the
    database. The test body holds no app context: every request gets a fresh one
    (its own locale, its own g), as in production. Plain SQLAlchemy sessions on
    purpose: Flask-SQLAlchemy's Session ignores a `bind` and would use the engine."""
    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    transaction = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    original = db.session
    db.session = scoped_session(factory, scopefunc=_app_ctx_id)
    test_session = factory()
    try:
        yield test_session
    finally:
        test_session.close()
        db.session = original
        transaction.rollback()
        connection.close()


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture
def runner(app, session):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def scratch_database(server_url, database_url, app):
    """A copy of the demo database that a live server may change for real."""
    name = TEST_DB + "_live"
    with app.app_context():
        db.engine.dispose()  # a template database must have no other connections
    url = _create_database(server_url, name, template=TEST_DB)
    yield url
    _drop_database(server_url, name)
