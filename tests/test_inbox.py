"""Every account's inbox (admin/views/inbox.py, admin/api_notifications.py): the bell's
count on every page, the list newest first with its matter's link where the account
may read it, mark read; only one's own notifications, whoever asks for another's; and
the steps of a matter that tell the person who must hear of them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import DateTime, Uuid, delete, func, literal, select, true, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from test_matter_pages import YUNCHENG_COURT
from test_workflow import a_matter, account, done, go, worker_person

from models import MatterState, Notification, Outbox, User, clock
from models import workflow as wf
from models.notifications import notify
from models.record_forms import make_form

CHASE = "%(court)s chased matter %(case)s: please act on it."
BELL = re.compile(r'id="gridlink-bell".*?</a>', re.S)


@pytest.fixture(autouse=True)
def empty_inboxes(session):
    """Each test counts its own notices: the demo's (seeds.demo_inbox) are taken away
    inside the test's transaction."""
    session.execute(delete(Notification))


def give(session, username: str, count: int, *, key: str = "t", matter=None,
         template: str = CHASE, kind: str = "test") -> list[int]:
    """`count` notifications to that account, the first the newest."""
    series = select(func.generate_series(1, count).label("i")).subquery()
    params = {"court": "云城区人民法院", "case": "（2026）粤5302执1号"}
    rows = select(
        User.id, literal(kind), literal(matter.id if matter else None, Uuid),
        literal(template), type_coerce(params, JSONB),
        func.concat(f"{key}:", User.id, ":", series.c.i),
        literal(clock.now(), DateTime(True)) - func.make_interval(0, 0, 0, 0, 0, series.c.i),
    ).select_from(User).join(series, true()).where(User.username == username)
    notify(session, rows)
    return list(session.scalars(select(Notification.id).where(
        Notification.dedup_key.like(f"{key}:%"), Notification.account_id == select(
            User.id).where(User.username == username).scalar_subquery())
        .order_by(Notification.created_at.desc())))


def bell(page: str) -> str:
    return BELL.search(page).group(0)


def test_the_bell_counts_unread_and_says_99_plus_past_99(client_as, session):
    liaison = client_as("demo_liaison")
    assert "gridlink-unread" not in bell(liaison.get("/admin/").get_data(as_text=True))
    give(session, "demo_liaison", 3)
    assert '"gridlink-unread">3<' in bell(liaison.get("/admin/").get_data(as_text=True))
    give(session, "demo_liaison", 120, key="many")
    page = liaison.get("/admin/matter/").get_data(as_text=True)  # every page has it
    assert '"gridlink-unread">99+<' in bell(page)
    # Someone else's notifications are not counted in this bell.
    other = client_as("demo_worker").get("/admin/").get_data(as_text=True)
    assert "gridlink-unread" not in bell(other)


def test_the_list_is_newest_first_in_chinese_in_beijing_time_with_links_it_may_follow(
        client_as, session):
    mine = a_matter(session, "（2026）粤5302执7301号")  # assigned to 星岩社区: the liaison's
    elsewhere = a_matter(session, "（2026）粤5302执7302号", address="云浮市云城区前锋镇")
    give(session, "demo_liaison", 1, key="visible", matter=mine)
    give(session, "demo_liaison", 1, key="hidden", matter=elsewhere)
    page = client_as("demo_liaison").get("/admin/inbox/").get_data(as_text=True)
    items = re.findall(r'<li class="list-group-item.*?</li>', page, re.S)
    assert len(items) == 2 and all("gridlink-unread" in i for i in items)
    assert "云城区人民法院催办事项（2026）粤5302执1号" in items[0]
    assert f"/admin/matter/details/?id={elsewhere.id}" not in page  # not in the liaison's area
    assert f"/admin/matter/details/?id={mine.id}" in page
    created = Notification.created_at
    newest = session.scalar(select(func.max(created)).where(
        Notification.dedup_key.like("hidden:%")))
    beijing = newest.astimezone(clock.SITE_ZONE).strftime("%Y-%m-%d %H:%M")
    assert beijing in items[0]  # newest first, in Beijing time


def test_marking_read_one_and_all(client_as, session):
    ids = give(session, "demo_liaison", 3)
    liaison = client_as("demo_liaison")
    response = liaison.post(f"/admin/inbox/{ids[0]}/read", data={"next": "/admin/inbox/"})
    assert response.status_code == 302
    assert '"gridlink-unread">2<' in bell(liaison.get("/admin/").get_data(as_text=True))
    assert liaison.post("/admin/inbox/read-all", data={}).status_code == 302
    assert "gridlink-unread" not in bell(liaison.get("/admin/").get_data(as_text=True))
    page = liaison.get("/admin/inbox/").get_data(as_text=True)
    assert "gridlink-unread" not in page and "gridlink-read-all" not in page


def test_an_account_cannot_read_or_mark_anothers_notifications(client_as, anonymous, session):
    theirs = give(session, "demo_worker", 2, key="theirs")
    give(session, "demo_liaison", 1, key="mine")
    liaison = client_as("demo_liaison")
    # The page lists the liaison's own only; another's id is not found, not marked.
    page = liaison.get("/admin/inbox/").get_data(as_text=True)
    assert all(f'data-id="{i}"' not in page for i in theirs)
    assert liaison.post(f"/admin/inbox/{theirs[0]}/read", data={}).status_code == 404
    liaison.post("/admin/inbox/read-all", data={})
    api = liaison.get("/api/v1/notifications").get_json()
    assert {n["id"] for n in api["notifications"]}.isdisjoint(theirs)
    assert liaison.post(f"/api/v1/notifications/{theirs[0]}/read", json={}).status_code == 404
    assert liaison.post("/api/v1/notifications/read", json={"ids": theirs}).get_json() == {
        "marked": 0}
    assert session.scalar(select(func.count()).select_from(Notification).where(
        Notification.id.in_(theirs), Notification.read_at.is_(None))) == 2
    # A forged form from another site carries the cookie but cannot send JSON; no CSRF
    # token, no mark on the page; nobody signed in, nothing at all.
    assert liaison.post("/api/v1/notifications/read", data={"all": "true"}).status_code == 400
    liaison.csrf = None
    assert liaison.post(f"/admin/inbox/{theirs[0]}/read", data={}).status_code == 400
    assert anonymous.get("/api/v1/notifications").status_code == 401
    assert anonymous.get("/admin/inbox/").status_code == 302


def test_a_court_systems_token_has_no_inbox(anonymous, session):
    from models import ApiToken, Court

    court = session.scalar(select(Court).where(Court.name == YUNCHENG_COURT))
    token = ApiToken(court_id=court.id, label="测试")
    secret = token.new_secret()
    session.add(token)
    session.flush()
    give(session, "demo_court_yuncheng", 1)
    headers = {"Authorization": f"Bearer {secret}"}
    assert anonymous.get("/api/v1/notifications", headers=headers).status_code == 403
    assert anonymous.post("/api/v1/notifications/read", json={"all": True},
                          headers=headers).status_code == 403


def test_the_api_lists_and_marks_read(client_as, session):
    matter = a_matter(session, "（2026）粤5302执7303号")
    ids = give(session, "demo_liaison", 3, matter=matter)
    liaison = client_as("demo_liaison")
    answer = liaison.get("/api/v1/notifications?limit=2").get_json()
    assert answer["unread"] == 3 and [n["id"] for n in answer["notifications"]] == ids[:2]
    first = answer["notifications"][0]
    assert first["text"].startswith("云城区人民法院催办事项") and first["read"] is False
    assert first["matter_id"] == str(matter.id) and first["created_at_local"]
    assert liaison.post(f"/api/v1/notifications/{ids[1]}/read", json={}).get_json() == {
        "marked": 1}
    assert liaison.post("/api/v1/notifications/read", json={"all": True}).get_json() == {
        "marked": 2}
    assert liaison.get("/api/v1/notifications?unread=1").get_json()["notifications"] == []
    assert liaison.post("/api/v1/notifications/read", json={"ids": "all"}).status_code == 400


# --- the steps that tell someone --------------------------------------------------------

def heard(session, username: str, kind: str) -> list[Notification]:
    return list(session.scalars(select(Notification).where(
        Notification.account_id == account(session, username).id, Notification.kind == kind)))


def test_the_courts_chase_tells_the_liaison_once_and_queues_an_sms(session):
    liaison = account(session, "demo_liaison")
    liaison.person.phone = "13800001111"
    matter = a_matter(session, "（2026）粤5302执7304号")
    go(session, matter, "demo_court_yuncheng", "chase", note="请尽快签收")
    [notice] = heard(session, "demo_liaison", "chase")
    assert notice.matter_id == matter.id and notice.params["case"] == matter.case_number
    [sms] = session.scalars(select(Outbox).where(Outbox.notification_id == notice.id))
    assert (sms.address, sms.state) == ("13800001111", "pending")
    assert heard(session, "demo_court_yuncheng", "chase") == []  # not the one who chased
    go(session, matter, "demo_court_yuncheng", "chase")  # a second chase is a new notice
    assert len(heard(session, "demo_liaison", "chase")) == 2


def test_a_return_tells_the_court_officer_send_back_and_confirm_the_field_worker(session):
    worker = worker_person(session)
    worker.phone = "13800002222"
    matter = a_matter(session, "（2026）粤5302执7305号")
    matter.officer_id = account(session, "demo_court_yuncheng").id
    go(session, matter, "demo_liaison", "return", note="被执行人已迁往外地")
    [returned] = heard(session, "demo_court_yuncheng", "returned")
    assert returned.params["note"] == "被执行人已迁往外地"

    finished = done(session, "（2026）粤5302执7306号")
    go(session, finished, "demo_court_yuncheng", "send_back", note="缺送达回证照片")
    [sent_back] = heard(session, "demo_worker", "sent_back")
    assert sent_back.matter_id == finished.id
    assert finished.state is MatterState.dispatched
    worker_account = account(session, "demo_worker")
    wf.step(session, wf.begin(session, finished.id, worker_account), worker_account, "finish",
            MatterState.done)
    make_form(session, finished, {"method": "direct"}, actor=worker_account)
    go(session, finished, "demo_worker", "sign")
    go(session, finished, "demo_court_yuncheng", "confirm")
    [confirmed] = heard(session, "demo_worker", "confirmed")
    assert confirmed.matter_id == finished.id
    # Neither informs by SMS: they wait in the inbox (models.notifications.SMS_KINDS).
    assert session.scalar(select(func.count()).select_from(Outbox).where(
        Outbox.notification_id.in_([returned.id, sent_back.id]))) == 0


@pytest.mark.parametrize("username", ["demo_liaison", "demo_worker"])
def test_the_inbox_page_reads_in_chinese(client_as, session, username):
    give(session, username, 1)
    page = client_as(username).get("/admin/inbox/").get_data(as_text=True)
    assert "通知" in page and "全部标为已读" in page and "标为已读" in page


def test_the_bell_costs_no_query_of_its_own(client_as, session, app):
    """The count comes with the account that every page loads anyway (admin.auth's
    user loader), in the same statement: the badge adds no round trip to a page."""
    from sqlalchemy import event


    give(session, "demo_liaison", 2)
    liaison = client_as("demo_liaison")
    statements = []

    def note(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        page = liaison.get("/admin/auth/password").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert '"gridlink-unread">2<' in bell(page)
    [counting] = [s for s in statements if "notifications" in s]
    assert "FROM accounts" in counting
