"""The admin frame's own work is small: the main menu drawn once a minute per account and
page (admin.frame), static files' versions known without looking at the disk on every
URL (admin.assets) — and neither ever shows one account what another may see."""

import re

from flask_admin.menu import MenuView

from admin.assets import Versions
from admin.kept import Kept
from models import User
from models.accounts import Role

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
