"""Signing in: passwords, throttling, CSRF, cookies, and court systems' API tokens."""

import re

import pytest
from argon2 import extract_parameters, profiles
from sqlalchemy import func, select

from models import ApiToken, LoginAttempt, Role, User
from models.accounts import PasswordRejected, check_password_policy

WRONG = "Wrong-password-1"
ANOTHER_ADDRESS = {"REMOTE_ADDR": "10.9.8.7"}


def sign_in_page(client, username, password, **environ):
    extra = {"environ_base": environ} if environ else {}
    return client.post("/admin/auth/", data={"username": username, "password": password},
                       follow_redirects=True, **extra)


def prime_csrf(client):
    page = client.get("/admin/auth/").get_data(as_text=True)
    client.csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_sign_in_and_out(anonymous):
    response = anonymous.sign_in("demo_liaison")
    assert response.status_code == 302
    assert "星岩社区网格长" in anonymous.get("/admin/").get_data(as_text=True)
    anonymous.post("/admin/auth/logout", data={})
    assert anonymous.get("/admin/").status_code == 302


def test_wrong_password_says_so_in_chinese_and_keeps_the_name(anonymous):
    prime_csrf(anonymous)
    page = sign_in_page(anonymous, "demo_liaison", WRONG).get_data(as_text=True)
    assert "用户名或密码错误" in page and 'value="demo_liaison"' in page
    assert anonymous.get("/admin/").status_code == 302


def test_unknown_user_gets_the_same_answer(anonymous):
    prime_csrf(anonymous)
    page = sign_in_page(anonymous, "nobody_here", WRONG).get_data(as_text=True)
    assert "用户名或密码错误" in page


def test_twenty_wrong_passwords_are_throttled(anonymous, session):
    prime_csrf(anonymous)
    answers = [sign_in_page(anonymous, "demo_worker", WRONG).get_data(as_text=True)
               for _ in range(20)]
    assert all("用户名或密码错误" in a for a in answers[:5])
    assert all("登录失败次数过多" in a for a in answers[5:])
    # Even the right password waits now.
    page = sign_in_page(anonymous, "demo_worker", "Yunfu2026demo").get_data(as_text=True)
    assert "登录失败次数过多" in page
    assert anonymous.get("/admin/").status_code == 302
    # Throttled attempts are not even checked: only the first five were recorded.
    failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.username == "demo_worker", LoginAttempt.succeeded.is_(False)))
    assert failures == 5


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(anonymous):
    prime_csrf(anonymous)
    for _ in range(20):
        sign_in_page(anonymous, "demo_worker", WRONG, **ANOTHER_ADDRESS)
    page = sign_in_page(anonymous, "demo_worker", "Yunfu2026demo", **ANOTHER_ADDRESS)
    assert "登录失败次数过多" in page.get_data(as_text=True)
    # The owner, at their own desk, signs in.
    owner = anonymous.post("/admin/auth/", data={"username": "demo_worker",
                                                 "password": "Yunfu2026demo"})
    assert owner.status_code == 302


def test_guessing_spread_over_many_addresses_meets_the_account_limit(anonymous, session):
    session.add_all(LoginAttempt(username="demo_worker", address=f"10.1.0.{n % 10}",
                                 succeeded=False) for n in range(50))
    session.flush()
    prime_csrf(anonymous)
    page = sign_in_page(anonymous, "demo_worker", "Yunfu2026demo").get_data(as_text=True)
    assert "登录失败次数过多" in page


def test_one_address_guessing_many_accounts_is_throttled(anonymous):
    prime_csrf(anonymous)
    for i in range(20):
        sign_in_page(anonymous, f"guess{i}", WRONG)
    page = sign_in_page(anonymous, "demo_admin", "Yunfu2026demo").get_data(as_text=True)
    assert "登录失败次数过多" in page
    # Someone else, from another address, is not locked out by it.
    prime_csrf(anonymous)
    ok = anonymous.post("/admin/auth/", data={"username": "demo_admin",
                                              "password": "Yunfu2026demo"},
                        environ_base=ANOTHER_ADDRESS)
    assert ok.status_code == 302


def test_sign_in_without_csrf_token_is_refused(anonymous):
    response = anonymous.post("/admin/auth/", data={"username": "demo_admin",
                                                    "password": "Yunfu2026demo"})
    assert response.status_code == 200  # the form again, not a redirect into the admin
    assert anonymous.get("/admin/").status_code == 302


def test_admin_form_without_csrf_token_changes_nothing(client, session):
    user = session.scalar(select(User).where(User.username == "demo_worker"))
    client.post(f"/admin/account/edit/?id={user.id}", data={
        "csrf_token": "", "username": "demo_worker", "display_name": "被篡改",
        "role": "grid_worker", "grid": str(user.grid_id), "active": "y"})
    session.expire_all()
    assert session.get(User, user.id).display_name != "被篡改"


def test_session_cookie_flags(anonymous):
    prime_csrf(anonymous)
    response = anonymous.post("/admin/auth/", data={"username": "demo_admin",
                                                    "password": "Yunfu2026demo"})
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_over_https(database_url):
    from admin import create_app

    secure = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                         "SECRET_KEY": "test", "HTTPS": True})
    response = secure.test_client().get("/lang/en", base_url="https://gridlink.intranet")
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert "Secure" in cookie


@pytest.mark.parametrize(("password", "fragment"), [
    ("Short1", "at least 10"),
    ("onlyletterspassword", "letters and digits"),
    ("12345678901234", "letters and digits"),
    ("demo_worker2026x", "user name"),
    ("1q2w3e4r5t", "row of keys"),
    ("aaaaaaaaa1", "repeated"),
    ("qwertyuiop1", "row of keys"),
    ("asdfghjkl12", "row of keys"),
    ("password1234", "too common"),
    ("Yunfu2026demo", "published demo password"),
])
def test_password_policy(password, fragment):
    with pytest.raises(PasswordRejected, match=fragment):
        check_password_policy(password, "demo_worker")


@pytest.mark.parametrize("password", ["Xingyan2027ok", "Officer2026abc", "river-lamp-2031"])
def test_passwords_hard_to_guess_pass(password):
    check_password_policy(password, "demo_worker")


def test_the_account_name_counts_as_a_guess():
    with pytest.raises(PasswordRejected):
        check_password_policy("Zhangwei1990", "zw_court", ("zhangwei",))


def test_an_admin_cannot_give_a_real_account_the_published_password(client, session):
    court = session.scalar(select(User).where(User.username == "demo_court_city")).court
    page = client.post("/admin/account/new/", data={
        "username": "real_officer", "display_name": "干警", "role": "court_staff",
        "court": str(court.id), "active": "y", "new_password": "Yunfu2026demo"},
        follow_redirects=True).get_data(as_text=True)
    assert "公开的演示密码" in page
    assert session.scalar(select(User).where(User.username == "real_officer")) is None


def test_passwords_are_stored_with_argon2(session):
    user = session.scalar(select(User).where(User.username == "demo_admin"))
    assert user.password_hash.startswith("$argon2id$")
    assert "Yunfu2026demo" not in user.password_hash
    # The test database's demo is hashed at the cheapest cost (conftest); a password
    # set in the app at RFC 9106's low-memory profile: 64 MiB, 3 passes.
    user.set_password("Gridlink-Cost-Check-9q")
    assert extract_parameters(user.password_hash) == profiles.RFC_9106_LOW_MEMORY
    assert user.check_password("Gridlink-Cost-Check-9q")


def test_change_password_applies_the_policy(client_as, session):
    client = client_as("demo_liaison")
    weak = client.post("/admin/auth/password", data={
        "current": "Yunfu2026demo", "new": "short1", "repeat": "short1"},
        follow_redirects=True).get_data(as_text=True)
    assert "密码至少需要 10 个字符" in weak
    client.post("/admin/auth/password", data={
        "current": "Yunfu2026demo", "new": "Xingyan2027ok", "repeat": "Xingyan2027ok"})
    session.expire_all()
    user = session.scalar(select(User).where(User.username == "demo_liaison"))
    assert user.check_password("Xingyan2027ok") and not user.check_password("Yunfu2026demo")


def test_admin_creates_an_account_bound_to_its_place(client, session):
    court = session.scalar(select(User).where(User.username == "demo_court_yuncheng")).court
    missing_court = client.post("/admin/account/new/", data={
        "username": "new_officer", "display_name": "新干警", "role": "court_staff",
        "active": "y", "new_password": "Officer2026abc"}, follow_redirects=True)
    assert "法院执行干警须隶属于法院" in missing_court.get_data(as_text=True)
    client.post("/admin/account/new/", data={
        "username": "new_officer", "display_name": "新干警", "role": "court_staff",
        "court": str(court.id), "active": "y", "new_password": "Officer2026abc"})
    created = session.scalar(select(User).where(User.username == "new_officer"))
    assert created.role is Role.court_staff and created.check_password("Officer2026abc")


# --- API tokens ------------------------------------------------------------------------

def issue(runner, court="云浮市云城区人民法院"):
    result = runner.invoke(args=["tokens", "issue", court, "--label", "执行案件管理系统"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_token_acts_as_its_courts_staff(anonymous, runner, session):
    token = issue(runner)
    bearer = {"Authorization": f"Bearer {token}"}
    me = anonymous.get("/api/v1/me", headers=bearer).json
    assert me == {"kind": "token", "token": token[:12], "court": "云浮市云城区人民法院",
                  "role": "court_staff"}
    assert anonymous.get("/api/v1/grids/445302001003", headers=bearer).status_code == 200
    stored = session.scalar(select(ApiToken).where(ApiToken.prefix == token[:12]))
    assert stored.token_hash != token and token not in stored.token_hash
    assert stored.last_used_at is not None
    # A token opens the API, not the admin.
    assert anonymous.get("/admin/roster/", headers=bearer).status_code == 302


def test_revoked_or_forged_tokens_are_refused(anonymous, runner):
    token = issue(runner)
    bearer = {"Authorization": f"Bearer {token}"}
    assert runner.invoke(args=["tokens", "revoke", token[:12]]).exit_code == 0
    assert anonymous.get("/api/v1/me", headers=bearer).status_code == 401
    forged = {"Authorization": "Bearer glk_" + "A" * 43}
    assert anonymous.get("/api/v1/me", headers=forged).status_code == 401


def test_tokens_issued_in_the_admin_show_once(client, session):
    court = session.scalar(select(User).where(User.username == "demo_court_city")).court
    page = client.post("/admin/token/new/", data={"court": str(court.id), "label": "测试系统"},
                       follow_redirects=True).get_data(as_text=True)
    shown = re.search(r"(glk_[A-Za-z0-9_-]{40,})", page).group(1)
    listing = client.get("/admin/token/").get_data(as_text=True)
    assert shown not in listing and shown[:12] in listing
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == shown[:12]))
    client.post("/admin/token/action/", data={"action": "revoke", "rowid": str(token.id)})
    session.expire_all()
    assert session.get(ApiToken, token.id).revoked_at is not None


def test_ensure_admin_from_environment_or_one_time_password(runner, session, monkeypatch):
    result = runner.invoke(args=["users", "ensure-admin"])
    assert "administrators: demo_admin" in result.output
    monkeypatch.setenv("GRIDLINK_ADMIN_USER", "chief")
    monkeypatch.setenv("GRIDLINK_ADMIN_PASSWORD", "short")
    assert "GRIDLINK_ADMIN_PASSWORD" in runner.invoke(args=["users", "ensure-admin"]).output
    monkeypatch.setenv("GRIDLINK_ADMIN_PASSWORD", "Yunfu2026boss")
    assert "created administrator chief" in runner.invoke(args=["users", "ensure-admin"]).output
    chief = session.scalar(select(User).where(User.username == "chief"))
    assert chief.role is Role.admin and chief.check_password("Yunfu2026boss")


def test_first_admin_gets_a_one_time_password(runner, anonymous, session, monkeypatch):
    monkeypatch.delenv("GRIDLINK_ADMIN_USER", raising=False)
    monkeypatch.delenv("GRIDLINK_ADMIN_PASSWORD", raising=False)
    demo_admin = session.scalar(select(User).where(User.username == "demo_admin"))
    demo_admin.active = False
    session.flush()
    output = runner.invoke(args=["users", "ensure-admin"]).output
    one_time = re.search(r"one-time password (\S+)", output).group(1)
    assert anonymous.sign_in("admin", one_time).headers["Location"].endswith(
        "/admin/auth/password")


# --- concurrent guesses ------------------------------------------------------------------

def test_concurrent_wrong_passwords_are_counted_one_at_a_time(scratch_database):
    """Ten wrong passwords at once, each in its own connection and transaction, for
    one account from one address: exactly five are checked, the rest throttled."""
    import threading

    from conftest import make_app

    from admin.auth import attempt_login
    from models import db

    app = make_app(scratch_database)
    address, start, answers = "10.77.0.1", threading.Barrier(10, timeout=60), []

    def guess():
        with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
            start.wait()
            _, problem = attempt_login("demo_town_liaison", WRONG, address)
            db.session.commit()
            answers.append(problem)
            db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        checked = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == "demo_town_liaison", LoginAttempt.address == address))
    with app.app_context():
        db.engine.dispose()
    assert checked == 5
    assert sum("用户名或密码错误" in a for a in answers) == 5 and len(answers) == 10
