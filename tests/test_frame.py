"""The admin frame's own work is small: the main menu drawn once a minute per account and
page (admin.frame), the matter list page kept as text with its per-request parts put in
on each request (admin.frame.kept_page), static files' versions known without looking at
the disk on every URL (admin.assets) — and none of them ever shows one account what
another may see."""

import re
from datetime import timedelta

import pytest
from flask import template_rendered
from flask_admin.menu import MenuView
from sqlalchemy import select

from admin.assets import Versions
from admin.kept import Kept
from models import Matter, User, clock
from models.accounts import Role
from models.notifications import Notification

ACCOUNTS_LINK = 'href="/admin/account/"'


def _menu(page: str) -> str:
    return re.search(r'<ul class="nav navbar-nav mr-auto">(.*?)</ul>\s*<ul',
                     page, re.S).group(1)


def test_a_menu_drawn_for_the_admin_is_never_shown_to_a_court_officer(client_as):
    admin = client_as("demo_admin")
    officer = client_as("demo_court_yuncheng")
    for _ in range(2):  # each asks twice: the second from what was kept, if anything
        assert ACCOUNTS_LINK in _menu(admin.get("/admin/matter/").get_data(as_text=True))
        officer_page = officer.get("/admin/matter/").get_data(as_text=True)
        assert ACCOUNTS_LINK not in _menu(officer_page)
        assert 'href="/admin/matter/"' in _menu(officer_page)


def test_an_account_whose_role_changes_gets_its_new_menu_at_once(client_as, session):
    admin = client_as("demo_admin")
    assert ACCOUNTS_LINK in _menu(admin.get("/admin/auth/password").get_data(as_text=True))
    user = session.query(User).filter_by(username="demo_admin").one()
    user.role = Role.committee  # the city's committee: no accounts, no matters
    session.flush()
    page = admin.get("/admin/auth/password").get_data(as_text=True)
    assert ACCOUNTS_LINK not in _menu(page) and 'href="/admin/matter/"' not in _menu(page)


def test_the_menu_marks_the_open_page_and_speaks_the_asked_language(client_as):
    admin = client_as("demo_admin")
    matters = _menu(admin.get("/admin/matter/").get_data(as_text=True))
    grids = _menu(admin.get("/admin/grid/").get_data(as_text=True))
    assert re.search(r'dropdown-item active\s*"\s*href="/admin/matter/"', matters)
    assert not re.search(r'dropdown-item active\s*"\s*href="/admin/matter/"', grids)
    assert re.search(r'dropdown-item active\s*"\s*href="/admin/grid/"', grids)
    assert "账号" in matters
    english = _menu(admin.get("/admin/matter/?lang=en").get_data(as_text=True))
    assert "Accounts" in english and "账号" not in english


def test_the_menu_is_drawn_once_for_an_account_and_page(client_as, monkeypatch):
    admin = client_as("demo_admin")
    admin.get("/admin/matter/")
    asked = []
    original = MenuView.is_accessible
    monkeypatch.setattr(MenuView, "is_accessible",
                        lambda self: asked.append(self) or original(self))
    assert admin.get("/admin/matter/").status_code == 200
    assert asked == []


def test_what_is_kept_is_kept_for_its_time_and_the_oldest_dropped():
    drawn, made = Kept(ttl=60, size=2), []

    def draw(text):
        return lambda: made.append(text) or text

    assert drawn.get(("a",), draw("A")) == "A" and drawn.get(("a",), draw("A2")) == "A"
    drawn.get(("b",), draw("B"))
    drawn.get(("c",), draw("C"))  # three keys, two kept: "a" goes
    assert drawn.get(("a",), draw("A3")) == "A3"
    assert made == ["A", "B", "C", "A3"]
    stale = Kept(ttl=0, size=2)
    stale.get(("a",), draw("old"))
    assert stale.get(("a",), draw("new")) == "new"


def test_static_versions_are_not_looked_up_on_disk_for_every_url(client, monkeypatch):
    client.get("/admin/")
    looked = []
    original = Versions._path
    monkeypatch.setattr(Versions, "_path",
                        staticmethod(lambda *a: looked.append(a) or original(*a)))
    page = client.get("/admin/").get_data(as_text=True)
    assert re.search(r"\?v=[0-9a-f]{12}", page) and looked == []


def test_a_static_file_changed_on_disk_gets_a_new_version(tmp_path, monkeypatch):
    monkeypatch.setattr(Versions, "RECHECK", 0.0)
    (tmp_path / "app.js").write_text("one")
    versions = Versions()
    first = versions.of(str(tmp_path), "app.js")
    assert first and versions.of(str(tmp_path), "app.js") == first
    (tmp_path / "app.js").write_text("two, longer")
    assert versions.of(str(tmp_path), "app.js") not in (None, first)
    assert versions.of(str(tmp_path), "../outside.js") is None
    assert versions.of(str(tmp_path), "later.js") is None
    (tmp_path / "later.js").write_text("now here")
    assert versions.of(str(tmp_path), "later.js")


# --- the list page kept as text ------------------------------------------------------------

NONCE = re.compile(r'nonce="[^"]+"')
TOKEN = re.compile(r'(name="csrf_token" type="hidden" value=")([^"]+)')
LIST_SHAPES = ["/admin/matter/", "/admin/matter/?page=1", "/admin/matter/?flt0_0=accepted",
               "/admin/matter/?search=2026", "/admin/matter/?sort=0&desc=1"]


def _without_tokens(page: str) -> str:
    """The page with its per-request parts (the CSP nonce, the CSRF token) blanked."""
    return TOKEN.sub(r"\1…", NONCE.sub('nonce="…"', page))


def _rendered_now(app, reader, path: str) -> str:
    app.config["KEEP_PAGES"] = False
    try:
        return reader.get(path).get_data(as_text=True)
    finally:
        app.config["KEEP_PAGES"] = True


@pytest.mark.parametrize("username", ["demo_admin", "demo_court_yuncheng",
                                      "demo_town_liaison", "demo_liaison"])
@pytest.mark.parametrize("language", ["zh_Hans_CN", "en"])
def test_a_kept_list_page_is_the_page_rendered_now(app, client_as, username, language):
    reader = client_as(username)
    reader.get(f"/lang/{language}")
    for path in LIST_SHAPES:
        now = _rendered_now(app, reader, path)
        first, kept = (reader.get(path) for _ in range(2))  # the second from the pieces
        assert first.status_code == kept.status_code == 200
        first, kept = first.get_data(as_text=True), kept.get_data(as_text=True)
        assert _without_tokens(kept) == _without_tokens(first) == _without_tokens(now)
        assert NONCE.findall(kept) != NONCE.findall(first)  # a nonce of its own each time
        assert "/admin/matter/details/?id=" in kept or "/admin/matter/?page=1" in path


def test_a_list_page_is_rendered_once_for_a_reader_and_url(app, client):
    rendered = []

    def note(sender, template, context, **extra):
        rendered.append(template.name)

    template_rendered.connect(note, app)
    try:
        for path in ("/admin/matter/", "/admin/matter/", "/admin/matter/?page=1",
                     "/admin/matter/?page=1", "/admin/matter/"):
            assert client.get(path).status_code == 200
    finally:
        template_rendered.disconnect(note, app)
    assert rendered == ["gridlink/matter_list.html"] * 2


def test_a_kept_page_carries_this_responses_nonce(client):
    client.get("/admin/matter/")
    response = client.get("/admin/matter/")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    nonces = set(NONCE.findall(response.get_data(as_text=True)))
    assert nonces == {f'nonce="{nonce.group(1)}"'}


def test_a_list_page_kept_for_one_account_is_never_shown_to_another(client_as):
    """The same URL asked by the admin, then by a court officer, then by the admin again:
    each gets its own menu, name, count and rows."""
    admin, officer = client_as("demo_admin"), client_as("demo_court_yuncheng")
    admin_page = admin.get("/admin/matter/").get_data(as_text=True)
    officer_page = officer.get("/admin/matter/").get_data(as_text=True)
    assert "系统管理员（演示）" in admin_page and "系统管理员（演示）" not in officer_page
    assert "云城区法院执行干警（演示）" in officer_page
    assert ACCOUNTS_LINK in admin_page and ACCOUNTS_LINK not in officer_page
    count = re.compile(r'class="nav-link active">[^<(]*\(([^)]*)\)</a>')
    assert count.search(admin_page).group(1) != count.search(officer_page).group(1)
    again = admin.get("/admin/matter/").get_data(as_text=True)
    assert _without_tokens(again) != _without_tokens(officer_page)
    assert "云城区法院执行干警（演示）" not in again


def test_the_sign_out_form_of_a_kept_page_carries_this_sessions_token(client_as):
    """Two sessions of one account: the page kept from the first is given to the second
    with the second session's CSRF token, which signs it out; the first's would not."""
    first, second = client_as("demo_admin"), client_as("demo_admin")
    first_token = TOKEN.search(first.get("/admin/matter/").get_data(as_text=True)).group(2)
    page = second.get("/admin/matter/").get_data(as_text=True)
    token = TOKEN.search(page).group(2)
    assert token != first_token
    refused = second.post("/admin/auth/logout", data={"csrf_token": first_token})
    assert second.get("/api/v1/me").status_code == 200, refused.status_code
    assert second.post("/admin/auth/logout", data={"csrf_token": token}).status_code == 302
    assert second.get("/api/v1/me").status_code != 200


def test_flashed_messages_show_on_a_kept_page_once(client):
    client.get("/admin/matter/")
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "A message for this request")]
    assert "A message for this request" in client.get("/admin/matter/").get_data(as_text=True)
    assert "A message for this request" not in client.get("/admin/matter/").get_data(
        as_text=True)


def test_a_kept_page_shows_new_notifications_and_rows_at_once(client_as, session):
    officer = client_as("demo_court_yuncheng")
    user = session.scalar(select(User).where(User.username == "demo_court_yuncheng"))
    path = "/admin/matter/?sort=0"  # by case number: the same first row every time
    page = officer.get(path).get_data(as_text=True)
    assert 'id="gridlink-unread"' not in page
    session.add(Notification(account_id=user.id, kind="chase", template="Chased",
                             params={}, dedup_key="test-kept-page-bell"))
    first = session.scalar(select(Matter).where(Matter.court_id == user.court_id)
                           .order_by(Matter.case_number).limit(1))
    first.chases = 97
    session.flush()
    page = officer.get(path).get_data(as_text=True)
    assert re.search(r'id="gridlink-unread">\d+</span>', page)
    assert '<td class="col-chases">97</td>' in page


def test_a_kept_row_follows_the_clock(client_as, session):
    """A list row's text is kept a minute under everything it shows, its deadline's mark
    at this moment included: a deadline passing turns the row overdue at once."""
    officer = client_as("demo_court_yuncheng")
    user = session.scalar(select(User).where(User.username == "demo_court_yuncheng"))
    first = session.scalar(select(Matter).where(Matter.court_id == user.court_id)
                           .order_by(Matter.case_number).limit(1))
    first.state, first.accept_due_at = "assigned", clock.now() + timedelta(days=2)
    session.flush()
    path = "/admin/matter/?sort=0"  # by case number: the same first row every time

    def first_row() -> str:
        page = officer.get(path).get_data(as_text=True)
        return page[page.index(str(first.id)):].split("</tr>", 1)[0]

    before = [first_row() for _ in range(2)]
    assert before[0] == before[1] and "gridlink-mark-overdue" not in before[0]
    try:
        clock.move(3 * 24 * 3600)
        assert "gridlink-mark-overdue" in first_row()
    finally:
        clock.reset()
