"""我的事项, the first page of a grid's liaison and grid worker: a light page outside
Flask-Admin's frame, the counts of every open matter of the grid (not of those
listed), the nearest matters as cards, the grid's polygon never loaded for it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import DateTime, case, cast, delete, event, func, inspect, select
from test_matter_pages import XINGYAN_ADDRESS, YUNCHENG_COURT, english, file_directly

from admin.auth import load_user
from models import LegalAdviceRequest, Matter, User, clock
from models.access import Scope
from models.deadlines import Marks
from models.matters import OPEN_STATES, WAITING_FOR_A_PERSON
from models.requests import ask_advice


def counts(page: str) -> dict:
    return {k: int(re.search(rf'data-count="{k}">(\d+)<', page).group(1))
            for k in ("open", "overdue", "due_soon")}


def due_moment():
    """Due: the rules' deadline that counts (to accept while waiting, to finish once
    accepted), else the end of the court's own date."""
    return func.coalesce(
        case((Matter.state.in_(["assigned", "escalated"]), Matter.accept_due_at),
             (Matter.state.in_(["accepted", "dispatched"]), Matter.finish_due_at)),
        func.timezone("Asia/Shanghai", cast(Matter.deadline, DateTime) + timedelta(days=1)))


@pytest.mark.parametrize("username", ["demo_liaison", "demo_worker"])
def test_a_grid_home_is_a_light_page_with_only_the_links_its_role_uses(client_as, username):
    page = english(client_as(username)).get("/admin/").get_data(as_text=True)
    assert "My grid: 星岩社区" in page
    assert 'id="admin-navbar-collapse"' not in page  # not Flask-Admin's frame and menu
    assert "/admin/account/" not in page and "/admin/grid/" not in page.replace(
        "/admin/grid/shapes", "")
    nav = page[page.index('id="gridlink-phone-nav"'):page.index("</nav>")]
    assert 'href="/admin/matter/"' in nav and 'action="/admin/auth/logout"' in nav
    assert 'href="/lang/zh_Hans_CN"' in nav
    assert ('href="/admin/my-advice/"' in nav) is (username == "demo_liaison")
    assert "<table" not in page  # cards, not a squeezed table
    assert not re.search(r"<script[^>]+leaflet", page)  # the map only when asked for


def test_a_village_that_never_asked_is_told_so_in_its_language_until_it_asks(
        client_as, session):
    """The words shown while a village has asked nothing are kept per language
    (admin.views.phone); its first question takes their place."""
    account = session.scalar(select(User).where(User.username == "demo_liaison"))
    session.execute(delete(LegalAdviceRequest)  # the demo's questions of the village
                    .where(LegalAdviceRequest.grid_id == account.grid_id))
    liaison = client_as("demo_liaison")
    chinese = liaison.get("/admin/").get_data(as_text=True)
    assert "本网格尚未提出法律咨询。" in chinese
    page = english(liaison).get("/admin/").get_data(as_text=True)
    assert "Your grid has not asked for legal advice yet." in page
    assert "尚未提出法律咨询" not in page and "我的咨询" not in page
    question = "宅基地纠纷可以先由村委会调解吗？"
    ask_advice(session, account, topic="land", question=question)
    page = liaison.get("/admin/").get_data(as_text=True)
    assert question in page and "has not asked" not in page


def test_the_counts_are_of_every_open_matter_not_of_those_listed(client_as, session,
                                                                 monkeypatch):
    now = clock.now()
    late = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执311号", XINGYAN_ADDRESS)
    soon = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执312号", XINGYAN_ADDRESS,
                         debtor_name="赵某")
    session.execute(Matter.__table__.update().where(Matter.id == late.id)
                    .values(accept_due_at=now - timedelta(days=3)))
    session.execute(Matter.__table__.update().where(Matter.id == soon.id)
                    .values(accept_due_at=now + timedelta(hours=2)))
    monkeypatch.setattr("admin.views.home.ON_A_PHONE", 1)
    liaison = session.scalar(select(User).where(User.username == "demo_liaison"))
    in_scope = Scope.of(liaison).matters()
    open_ = Matter.state.in_(OPEN_STATES)
    due = due_moment()
    soon_until = Marks(session).soon
    expected = {
        "open": session.scalar(select(func.count()).where(in_scope, open_)),
        "overdue": session.scalar(select(func.count()).where(in_scope, open_, due < now)),
        "due_soon": session.scalar(select(func.count()).where(
            in_scope, open_, due.between(now, soon_until)))}
    assert expected["open"] >= 2 and expected["overdue"] >= 1 and expected["due_soon"] >= 1

    page = english(client_as("demo_liaison")).get("/admin/").get_data(as_text=True)
    assert counts(page) == expected
    cards = re.findall(r'class="card[^"]*gridlink-matter-card[^"]*" data-case="([^"]+)"', page)
    assert len(cards) == 1
    assert f"The nearest 1 of {expected['open']} open matters." in page
    assert 'href="/admin/matter/">All matters' in page


def test_the_nearest_card_is_the_most_overdue_and_marked(client_as, session):
    late = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执313号", XINGYAN_ADDRESS)
    session.execute(Matter.__table__.update().where(Matter.id == late.id)
                    .values(accept_due_at=clock.now() - timedelta(days=400)))
    page = english(client_as("demo_worker")).get("/admin/").get_data(as_text=True)
    first = page[page.index("gridlink-matter-card"):]
    first = first[:first.index("gridlink-matter-card", 1)]
    assert late.case_number in first and "gridlink-overdue-card" in page.split(
        late.case_number)[0][-300:]
    assert "gridlink-mark-overdue" in first


def test_every_request_loads_the_accounts_grid_and_its_path_without_polygons(app, session):
    liaison = session.scalar(select(User).where(User.username == "demo_liaison"))
    session_id = liaison.get_id()
    session.expunge_all()
    sent = []

    def note(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(session.bind, "before_cursor_execute", note)
    try:
        with app.test_request_context():
            user = load_user(session_id)
            path = user.grid.path()
            assert [g.name for g in path] == ["云城区", "云城街道", "星岩社区"]
            selects = [s for s in sent if s.startswith("SELECT")]
            assert len(selects) == 1 and "geom" not in selects[0]  # one query, no polygon
            assert all("geom" in inspect(g).unloaded for g in path)
            assert user.grid.geom is not None  # still there for a page that draws it
    finally:
        event.remove(session.bind, "before_cursor_execute", note)


def test_a_courts_home_counts_all_that_waits_and_is_overdue_not_those_listed(
        client_as, session, monkeypatch):
    monkeypatch.setattr("admin.views.home.LISTED", 1)
    officer = session.scalar(select(User).where(User.username == "demo_court_yuncheng"))
    scope = Scope.of(officer)
    expected = {
        "waiting": session.scalar(select(func.count()).where(
            scope.matters_to_act_on(), Matter.state.in_(WAITING_FOR_A_PERSON))),
        "overdue": session.scalar(select(func.count()).where(
            scope.matters(), Matter.state.in_(OPEN_STATES), due_moment() < clock.now()))}
    assert expected["waiting"] > 1 and expected["overdue"] > 1
    page = english(client_as("demo_court_yuncheng")).get("/admin/").get_data(as_text=True)
    shown = {k: int(re.search(rf'data-count="{k}">(\d+)<', page).group(1))
             for k in ("waiting", "overdue")}
    assert shown == expected
