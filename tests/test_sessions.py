"""Sessions as attacks: a cookie forged with a published key, and a copied cookie
replayed after the session it belonged to has ended."""

import os
import stat

import pytest
from conftest import as_app_role
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from admin import create_app
from admin.secret_key import SecretKeyError
from models import AuditRecord, User, audit

PUBLISHED_KEY = "dev-only-change-me"  # what the README used to print


@pytest.fixture
def production_app(database_url, session, monkeypatch, tmp_path):
    """create_app as `make run` calls it: no SECRET_KEY anywhere, not TESTING."""
    for name in ("SECRET_KEY", "GRIDLINK_SECRET_KEY", "GRIDLINK_SECRET_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRIDLINK_VAR", str(tmp_path / "var"))

    def make(**config):
        return create_app({"SQLALCHEMY_DATABASE_URI": as_app_role(database_url),
                           "WTF_CSRF_ENABLED": False, **config})

    yield make
    audit.set_key("test")  # create_app keys the audit chain; the suite's demo used "test"


def forge_session(app: Flask, key: str, user: User) -> str:
    """The cookie an attacker who knows `key` writes for `user`: with the account's
    current session id and the identifier strong session protection expects."""
    from flask_login.utils import _create_identifier

    forger = Flask("forger")
    forger.secret_key = key
    with app.test_request_context():
        identifier = _create_identifier()
    payload = {"_user_id": user.get_id(), "_fresh": True, "_id": identifier}
    return SecureCookieSessionInterface().get_signing_serializer(forger).dumps(payload)


def test_a_cookie_forged_with_the_published_key_is_refused(production_app, session, tmp_path):
    app = production_app()
    admin = session.scalar(select(User).where(User.username == "demo_admin"))
    attacker = app.test_client()
    attacker.set_cookie("session", forge_session(app, PUBLISHED_KEY, admin))
    assert attacker.get("/admin/account/").status_code == 302  # to the sign-in page
    # The key was generated on first start, private to its owner, and kept.
    key_file = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert app.secret_key == key_file.read_text().strip() != PUBLISHED_KEY
    assert production_app().secret_key == app.secret_key  # a second worker agrees


@pytest.mark.parametrize("key", [PUBLISHED_KEY, "short"])
def test_the_published_or_a_weak_key_is_refused_outside_tests(production_app, key, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(SecretKeyError, match="SECRET_KEY"):
        production_app()


def test_the_key_file_must_be_private(production_app, tmp_path):
    key_file = tmp_path / "shared_key"
    key_file.write_text("a" * 64)
    key_file.chmod(0o644)
    with pytest.raises(SecretKeyError, match="chmod 600"):
        production_app(SECRET_KEY_FILE=str(key_file))


def copied_cookie(app, victim):
    """A second client carrying a copy of the victim's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", victim.get_cookie("session").value)
    assert thief.get("/admin/").status_code == 200  # the copy works while the session lives
    return thief


def test_a_copied_cookie_dies_when_its_owner_signs_out(app, client_as):
    victim = client_as("demo_liaison")
    thief = copied_cookie(app, victim)
    victim.post("/admin/auth/logout", data={})
    assert thief.get("/admin/").status_code == 302


def test_a_copied_cookie_dies_with_a_password_change(app, client_as):
    victim = client_as("demo_liaison")
    thief = copied_cookie(app, victim)
    changed = victim.post("/admin/auth/password", data={
        "current": "Yunfu2026demo", "new": "Xingyan2027ok", "repeat": "Xingyan2027ok"})
    assert changed.status_code == 302
    assert thief.get("/admin/").status_code == 302
    assert victim.get("/admin/").status_code == 200  # the one who changed it goes on


def test_disabling_an_account_ends_its_sessions_for_good(app, client, client_as, session):
    victim = client_as("demo_worker")
    thief = copied_cookie(app, victim)
    user = session.scalar(select(User).where(User.username == "demo_worker"))
    form = {"username": "demo_worker", "display_name": user.display_name,
            "role": "grid_worker", "grid": str(user.grid_id)}
    client.post(f"/admin/account/edit/?id={user.id}", data=form)  # "active" unticked
    client.post(f"/admin/account/edit/?id={user.id}", data={**form, "active": "y"})
    session.expire_all()
    assert session.get(User, user.id).active
    assert thief.get("/admin/").status_code == 302  # switched back on, the copy stays dead


def test_an_admin_signs_an_account_out_everywhere(app, client, client_as, session):
    victim = client_as("demo_court_city")
    thief = copied_cookie(app, victim)
    user = session.scalar(select(User).where(User.username == "demo_court_city"))
    listing = client.get("/admin/account/").get_data(as_text=True)
    assert "sign_out" in listing
    client.post("/admin/account/action/", data={"action": "sign_out", "rowid": str(user.id)})
    assert thief.get("/admin/").status_code == 302
    assert victim.get("/admin/").status_code == 302
    record = session.scalars(select(AuditRecord).where(AuditRecord.entity_id == str(user.id))
                             .order_by(AuditRecord.seq.desc())).first()
    assert record.action == "update" and "session_generation" in record.after


def test_others_may_not_sign_accounts_out(app, client_as, session):
    committee = client_as("demo_city_committee")
    user = session.scalar(select(User).where(User.username == "demo_admin"))
    before = user.session_generation
    committee.post("/admin/account/action/", data={"action": "sign_out", "rowid": str(user.id)})
    session.expire_all()
    assert session.get(User, user.id).session_generation == before


def test_a_key_file_that_cannot_be_made_is_said_plainly(production_app, tmp_path):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SecretKeyError, match="set SECRET_KEY"):
        production_app(SECRET_KEY_FILE=str(tmp_path / "a_file" / "secret_key"))


def test_the_command_line_signs_an_account_out_everywhere(app, client_as, runner):
    victim = client_as("demo_town_centre")
    thief = copied_cookie(app, victim)
    result = runner.invoke(args=["users", "sign-out", "demo_town_centre"])
    assert result.exit_code == 0, result.output
    assert thief.get("/admin/").status_code == 302
    assert runner.invoke(args=["users", "sign-out", "nobody_here"]).exit_code == 1
