"""Fixtures: a private PostGIS for the session, the demo loaded once, and each test
in a transaction that is rolled back afterwards.

With DATABASE_URL set, the tests create (and drop) their own database on that
server instead of starting an embedded cluster; the app connects as the app's
role (gridlink_app), with GRIDLINK_TEST_APP_PASSWORD if that server wants one.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from sqlalchemy.pool import NullPool

from admin import create_app
from admin.kept import Kept
from models import accounts, db
from models.database import APP_ROLE, Cluster
from models.migrate import upgrade
from seeds.demo import load_demo

TEST_DB = f"gridlink_test_{os.getpid()}"


@pytest.fixture(autouse=True)
def nothing_kept_between_tests():
    """What pages keep a minute (admin.kept) was read from a database every test rolls
    back: one test's must not answer the next's."""
    Kept.forget_all()
    yield
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
    shutil.rmtree(root, ignore_errors=True)


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


def as_app_role(url: str) -> str:
    """The same database as the app's own role (loopback is trusted by the test
    cluster; on an outside server, give the role a password first, see app_role)."""
    app_url = make_url(url).set(username=APP_ROLE, password=os.environ.get(
        "GRIDLINK_TEST_APP_PASSWORD"))
    return app_url.render_as_string(hide_password=False)


def app_config(url: str) -> dict:
    """The tests' configuration: connected as the app's role, so that every test also
    proves its grants suffice; `gridlink db upgrade` runs as the owner."""
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": as_app_role(url),
            "OWNER_DATABASE_URI": url, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False}


def make_app(url: str):
    """The app as in production (app_config)."""
    return create_app(app_config(url))


@contextmanager
def cheapest_password_hashes():
    """Passwords hashed at argon2's cheapest cost while the test database's demo is
    loaded. A sign-in verifies at the cost its stored hash names: at the production
    cost (64 MiB, 3 passes: 0.1 s each) the suite's sign-ins, some thousand, took
    minutes. A password a test sets is hashed at the production cost (test_auth)."""
    production = accounts.hasher
    accounts.hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    try:
        yield
    finally:
        accounts.hasher = production


@pytest.fixture(scope="session")
def app(database_url):
    app = make_app(database_url)
    with app.app_context(), cheapest_password_hashes():
        load_demo(db.session)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def owner_engine(database_url):
    """Connections as the database's owner, closed on release (NullPool), so that a
    copy of the test database can still be made from it (scratch_database)."""
    engine = create_engine(database_url, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def session(app, owner_engine):
    """The test's own session, inside a transaction that is rolled back at the end.

    Requests and CLI commands run on the same connection through db.session, each
    in a savepoint, so their commits are visible to the test but never reach the
    database. The test body holds no app context: every request gets a fresh one
    (its own locale, its own g), as in production. Plain SQLAlchemy sessions on
    purpose: Flask-SQLAlchemy's Session ignores a `bind` and would use the engine.

    The connection signs in as the owner but works as the app's role (SET ROLE), so
    every request meets the app's grants, while a test that plays a superuser can
    step out with as_superuser()."""
    connection = owner_engine.connect()
    transaction = connection.begin()
    connection.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
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


@contextmanager
def as_superuser(session):
    """Within a test's session: what follows runs as the owner (a superuser on the
    test cluster), then back to the app's role. (After an error the rollback, to
    the savepoint or of the test, brings the app's role back.)"""
    session.execute(text("RESET ROLE"))
    yield session
    session.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
DEMO_PASSWORD = "Yunfu2026demo"


class Client(FlaskClient):
    """A test client that signs in like a person (through the form, with its CSRF
    token) and then sends that token with every form it posts, unless the test
    passes its own csrf_token (an empty one to attack)."""

    csrf: str | None = None

    def sign_in(self, username: str, password: str = DEMO_PASSWORD):
        page = self.get("/admin/auth/").get_data(as_text=True)
        self.csrf = CSRF_FIELD.search(page).group(1)
        return self.post("/admin/auth/", data={"username": username,
                                                   "password": password})

    def open(self, *args, **kwargs):
        data = kwargs.get("data")
        if self.csrf and isinstance(data, dict) and "csrf_token" not in data:
            kwargs["data"] = {**data, "csrf_token": self.csrf}
        return super().open(*args, **kwargs)


@pytest.fixture
def anonymous(app, session):
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def client_as(app, session):
    """client_as("demo_liaison"): a client signed in as that demo account."""
    def make(username: str) -> Client:
        app.test_client_class = Client
        client = app.test_client()
        response = client.sign_in(username)
        assert response.status_code == 302, f"{username} could not sign in"
        return client

    return make


@pytest.fixture
def client(client_as):
    """Signed in as the demo administrator."""
    return client_as("demo_admin")


@pytest.fixture
def runner(app, session):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def artifacts():
    """Where browser tests put their screenshots (`make screenshots`: docs/screenshots)."""
    where = Path(os.environ.get("GRIDLINK_SCREENSHOTS", ARTIFACTS))
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture(scope="session")
def scratch_database(server_url, database_url, app):
    """A copy of the demo database that a live server may change for real."""
    name = TEST_DB + "_live"
    with app.app_context():
        db.engine.dispose()  # a template database must have no other connections
    url = _create_database(server_url, name, template=TEST_DB)
    yield url
    _drop_database(server_url, name)


@pytest.fixture(scope="session")
def demo(scratch_database):
    """Read-only look at the live server's database."""
    engine = create_engine(scratch_database)
    with Session(engine) as session:
        yield session
    engine.dispose()


LIVE_APPS: dict = {}  # base URL → the live server's app (its config, its job runner)


@pytest.fixture
def live_app(live_server):
    return LIVE_APPS[live_server]


@pytest.fixture(scope="session")
def live_server(scratch_database):
    """The app served over HTTP on 127.0.0.1 for the browser, on its own database copy,
    with a local 256-pixel tile server configured as the base map."""
    import threading

    from werkzeug.serving import make_server

    app = make_app(scratch_database)
    app.add_url_rule("/test-tiles/<int:z>/<int:x>/<int:y>.png", "test_tile", _test_tile)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["TILE_URL"] = base + "/test-tiles/{z}/{x}/{y}.png"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    LIVE_APPS[base] = app
    yield base
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


def _test_tile(z, x, y):
    """A plain 256×256 PNG, like any XYZ tile server's."""
    import struct
    import zlib

    from flask import Response

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + bytes((235, 240, 230)) * 256 for _ in range(256))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return Response(png, mimetype="image/png")


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.fail(f"{executable} not found: `make test` installs Debian's chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def browser_sign_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(page.base + "/admin/auth/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#gridlink-login button[type=submit]")
    page.wait_for_url(page.base + "/admin/**")


@pytest.fixture
def new_page(browser, live_server):
    """new_page(): another browser, cookies and all, recording every request it makes."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url))
        page.base = live_server
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def anonymous_page(new_page):
    """A fresh page, signed in as nobody, that records every request it makes."""
    return new_page()


@pytest.fixture
def page(anonymous_page):
    """Signed in as the demo administrator; the sign-in's own requests forgotten."""
    browser_sign_in(anonymous_page, "demo_admin")
    anonymous_page.requests.clear()
    return anonymous_page
