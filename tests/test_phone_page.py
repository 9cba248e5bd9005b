"""我的事项 kept as text (admin/views/phone.py on admin.frame.kept_page): the page a
request gets is the page its template draws, to the byte, whoever asks and in either
language; what is kept for one account is never handed to another; and what changes with
each request (the counts, the cards, the bell, a flashed message) is always this
request's."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from test_matter_pages import XINGYAN_ADDRESS, YUNCHENG_COURT, english, file_directly

from models import Grid, Matter, Notification, User, clock

CSRF = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+"')


def same_text(page: str) -> str:
    """A page with its sign-out token blanked: a token is made anew for every form."""
    return CSRF.sub(r'\1"', page)


@pytest.mark.parametrize("username", ["demo_liaison", "demo_worker"])
@pytest.mark.parametrize("language", ["zh_Hans_CN", "en"])
def test_the_kept_page_is_the_page_the_template_draws(app, client_as, session, monkeypatch,
                                                      username, language):
    late = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执321号", XINGYAN_ADDRESS)
    session.execute(Matter.__table__.update().where(Matter.id == late.id)
                    .values(accept_due_at=clock.now() - timedelta(days=2), urgency="urgent"))
    client = client_as(username)
    client.get(f"/lang/{language}")
    kept = [client.get("/admin/").get_data(as_text=True) for _ in range(2)]  # drawn, kept
    monkeypatch.setitem(app.config, "KEEP_PAGES", False)
    drawn = client.get("/admin/").get_data(as_text=True)
    assert 'data-case="（2026）粤5302执321号"' in drawn and "\ue000" not in drawn
    assert same_text(kept[0]) == same_text(kept[1]) == same_text(drawn)


def test_a_kept_page_is_never_handed_to_another_account(client_as, session):
    """Two grids' people in one process, one after the other: each sees their own grid,
    name and links, never the other's (the kept text's key is the account)."""
    liaison, worker = client_as("demo_liaison"), client_as("demo_worker")
    other_grid = session.scalar(Grid.current().where(Grid.code == "445302001001"))
    worker_account = session.scalar(select(User).where(User.username == "demo_worker"))
    worker_account.grid_id = other_grid.id  # the worker now serves 下坪社区
    session.flush()
    mine, theirs = liaison.get("/admin/").get_data(as_text=True), \
        worker.get("/admin/").get_data(as_text=True)
    assert "星岩社区" in mine and other_grid.name not in mine.split("</nav>")[1][:400]
    assert other_grid.name in theirs.split("</nav>")[1][:400]
    name = re.compile(r'id="gridlink-account-name">([^<]+)<')
    assert name.search(mine).group(1) != name.search(theirs).group(1)
    assert liaison.get("/admin/").get_data(as_text=True).count("gridlink-account-name") == 1


def test_what_changes_is_this_requests(client_as, session):
    """The counts, the cards, the bell and a flashed message come with each request,
    though the rest of the page is kept: a matter filed, a notification come in and a
    message flashed all show at once."""
    client = english(client_as("demo_liaison"))
    account = session.scalar(select(User).where(User.username == "demo_liaison"))
    session.query(Notification).filter(Notification.account_id == account.id).delete()
    session.flush()
    before = client.get("/admin/").get_data(as_text=True)
    opened = int(re.search(r'data-count="open">(\d+)<', before).group(1))
    matter = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执322号", XINGYAN_ADDRESS)
    session.add(Notification(account_id=account.id, kind="urgent", matter_id=matter.id,
                             template="A new matter", params={},
                             dedup_key="test-phone-page-bell"))
    session.flush()
    with client.session_transaction() as kept_session:
        kept_session["_flashes"] = [("info", "Saved: 已签收")]
    after = client.get("/admin/").get_data(as_text=True)
    assert int(re.search(r'data-count="open">(\d+)<', after).group(1)) == opened + 1
    assert 'id="gridlink-unread">1<' in after and 'id="gridlink-unread"' not in before
    assert 'class="alert alert-info py-2">Saved: 已签收</div>' in after
    assert "Saved" not in client.get("/admin/").get_data(as_text=True)  # shown once


def _card(page: str, case: str) -> str:
    card = page[page.rindex('<div class="card', 0, page.index(f'data-case="{case}"')):]
    return card[:card.index("</div>\n  </div>")]


def test_a_kept_card_follows_its_matter_and_the_clock(client_as, session):
    """Each card's text is kept a minute, under everything it shows: a matter accepted
    shows its new state at once, and a deadline passing turns the card overdue though
    nothing in the database changed."""
    case = "（2026）粤5302执324号"
    matter = file_directly(session, YUNCHENG_COURT, case, XINGYAN_ADDRESS)
    session.execute(Matter.__table__.update().where(Matter.id == matter.id)
                    .values(accept_due_at=clock.now() + timedelta(days=5)))
    client = english(client_as("demo_liaison"))
    first = [_card(client.get("/admin/").get_data(as_text=True), case) for _ in range(2)]
    assert first[0] == first[1] and "Overdue" not in first[0] and "已超期" not in first[0]
    try:
        clock.move(6 * 24 * 3600)
        late = _card(client.get("/admin/").get_data(as_text=True), case)
    finally:
        clock.reset()
    assert "gridlink-overdue-card" in late and "gridlink-overdue-card" not in first[0]
    session.execute(Matter.__table__.update().where(Matter.id == matter.id)
                    .values(state="accepted", finish_due_at=clock.now() + timedelta(days=9)))
    accepted = _card(client.get("/admin/").get_data(as_text=True), case)
    assert ">Accepted<" in accepted and ">Accepted<" not in first[0]


def test_the_cards_words_are_in_chinese(client_as, session):
    """The cards' words come from admin/views/phone.py, not a template: each must be in
    the catalogue (a card with only the court's own date; a grid with nothing open)."""
    plain = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执323号", XINGYAN_ADDRESS)
    session.execute(Matter.__table__.update().where(Matter.id == plain.id)
                    .values(accept_due_at=None, finish_due_at=None))
    page = client_as("demo_liaison").get("/admin/").get_data(as_text=True)
    card = page[page.index('data-case="（2026）粤5302执323号"'):]
    card = card[:card.index("报告风险信息")]
    assert "办理期限: " in card and "Due by" not in page
    empty = session.execute(text(
        "SELECT g.id FROM grids g WHERE g.level = 'village' AND g.generation_high IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM matter_areas q WHERE q.village_code = g.code"
        " AND q.open) ORDER BY g.code LIMIT 1")).scalar()
    session.scalar(select(User).where(User.username == "demo_worker")).grid_id = empty
    session.flush()
    worker = client_as("demo_worker").get("/admin/").get_data(as_text=True)
    assert 'data-count="open">0<' in worker
    assert "本网格暂无在办事项。" in worker and "No open matters" not in worker


def test_the_pages_query_reads_the_consultations_the_liaison_may_read(session):
    """我的事项's one query brings the grid's latest questions' ids: the same, in the same
    order, as models.requests.advice_readable gives the liaison."""
    from models.access import Scope
    from models.deadlines import Marks
    from models.my_matters import grid_page
    from models.requests import LegalAdviceRequest, advice_readable

    liaison = session.scalar(select(User).where(User.username == "demo_liaison"))
    readable = session.scalars(
        select(LegalAdviceRequest.id).where(advice_readable(Scope.of(liaison), liaison))
        .order_by(LegalAdviceRequest.asked_at.desc()).limit(5)).all()
    page = grid_page(session, liaison.grid.code, 20, Marks(session),
                     advice_grid=liaison.grid_id, advice_limit=5)
    assert readable and page.advice == readable
    assert grid_page(session, liaison.grid.code, 20, Marks(session)).advice == []
