"""The matter list with a province's matters (issue 13, item 6): it never counts every
row, each sort is read from an index, and the queries a page sends do not grow with
its rows. Pages are read in English (/lang/en)."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, text

from models import Matter, User, counting
from models.access import Scope
from models.accounts import Role
from models.counting import Estimate, MoreThan, list_count

XINGYAN = "445302001003"  # 星岩社区: demo_liaison's grid
LIST_TAB = re.compile(r"List \(([^)]*)\)")


@contextmanager
def statements_sent(session):
    """The SQL statements the requests inside send (on the test's connection)."""
    sent = []

    def note(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(connection, "before_cursor_execute", note)


def english(client):
    client.get("/lang/en")
    return client


def matter_view(app):
    return next(v for v in app.extensions["admin"][0]._views if v.endpoint == "matter")


# The demo's year has 3,000 matters: counted exactly up to a thousand here, so that
# what the province's lists do beyond ten thousand happens on the demo.
SMALL_CAP = 1000


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(counting, "EXACT_UP_TO", SMALL_CAP)


def test_the_admins_list_is_estimated_not_counted_row_by_row(client, session, small_cap):
    """Flask-Admin counts every row the list's filters let through on every page view:
    for an admin, every matter of the province. The list counts up to a cap and
    estimates the whole table beyond it, shown as "about N"."""
    english(client)
    with statements_sent(session) as sent:
        page = client.get("/admin/matter/").get_data(as_text=True)
    counts = [s for s in sent if "count(" in s.lower()]
    assert counts, "the list shows how many matters it has"
    for statement in counts:
        assert "LIMIT" in statement.upper(), f"an unbounded count: {statement}"
    total = session.scalar(select(func.count()).select_from(Matter))
    assert total > SMALL_CAP
    shown = LIST_TAB.search(page).group(1)
    assert shown.startswith("about "), shown
    assert int(shown.removeprefix("about ").replace(",", "")) > SMALL_CAP


def test_a_narrowed_list_beyond_the_cap_says_more_than_not_a_guess(client_as, session,
                                                                   small_cap):
    """The planner's guess for a scope (a semi-join) can be far off (751,773 for a court
    with 18,093 at province scale): a narrowed list says only that it has more."""
    court = english(client_as("demo_court_city"))  # reads every court of the city
    page = court.get("/admin/matter/").get_data(as_text=True)
    assert LIST_TAB.search(page).group(1) == f"{SMALL_CAP:,}+"
    # no last page is offered, only the next one
    assert "page=1" in page and f"page={SMALL_CAP // 50 - 1}" not in page


def test_a_list_of_few_matters_is_counted_exactly(client_as, session):
    liaison = english(client_as("demo_liaison"))
    page = liaison.get("/admin/matter/").get_data(as_text=True)
    mine = session.scalar(select(func.count()).select_from(Matter).where(
        Scope(Role.liaison, XINGYAN).matters()))
    assert 0 < mine <= counting.EXACT_UP_TO
    assert LIST_TAB.search(page).group(1) == str(mine)


def test_the_estimate_is_never_below_what_was_counted(app, session):
    with app.app_context():
        query = session.query(Matter)
        exact = session.scalar(select(func.count()).select_from(Matter))
        assert list_count(session, query, exact_up_to=exact) == exact
        estimated = list_count(session, query, exact_up_to=10)
        narrowed = list_count(session, query.filter(Matter.bounty.is_(False)), exact_up_to=10)
    assert isinstance(estimated, Estimate) and estimated >= 11
    assert isinstance(narrowed, MoreThan) and narrowed == 11  # at least


@pytest.mark.parametrize("username", ["demo_admin", "demo_court_yuncheng",
                                      "demo_town_liaison"])
def test_the_queries_a_list_page_sends_do_not_grow_with_its_rows(
        app, client_as, session, monkeypatch, username):
    """No row loads its debtor, grid, the grid's parents or liaison one by one."""
    reader = client_as(username)
    view = matter_view(app)
    sent = {}
    # What a page keeps a minute made (the filters' choices, the rows' grid paths: at most
    # one query for those not kept yet, however many rows).
    monkeypatch.setattr(view, "page_size", 50)
    reader.get("/admin/matter/")
    for size in (5, 50):
        monkeypatch.setattr(view, "page_size", size)
        with statements_sent(session) as statements:
            page = reader.get("/admin/matter/").get_data(as_text=True)
        assert page.count("/admin/matter/details/?id=") == size  # a page full of matters
        sent[size] = len(statements)
    assert sent[50] == sent[5], sent


@pytest.mark.parametrize("column", ["created_at", "case_number", "matter_type", "state",
                                    "deadline", "urgency", "bounty"])
def test_each_sort_of_the_list_is_read_from_an_index(session, column):
    """The list's 50 rows in any of its orders are the first entries of an index, not a
    sort of every matter (migration 0015). The demo is small, so the planner is told
    to avoid sorting and reading the whole table where it has another way."""
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_sort = off"))
    plan = "\n".join(session.scalars(text(
        f"EXPLAIN SELECT id FROM matters ORDER BY {column} DESC LIMIT 50")))
    assert "Sort" not in plan and "Index" in plan, plan


def test_a_case_number_search_is_served_by_an_index(session):
    session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(session.scalars(text(
        "EXPLAIN SELECT id FROM matters WHERE case_number ILIKE '%粤5302执1%'")))
    assert "ix_matters_case_number_trgm" in plan, plan


def liaison_account(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def _counted_apart(sent) -> list[str]:
    """The statements counting matters apart from the page's (the bell counts its own):
    a count in the page's own statement (a window, or the area's count as a scalar
    subquery beside the rows) is not apart."""
    return [s for s in sent if "count(" in s.lower()
            and ("from matters" in s.lower() or "from matter_areas" in s.lower())
            and "over ()" not in s.lower() and "matters.case_number" not in s.lower()]


@pytest.mark.parametrize("state", [None, "assigned"])
def test_an_areas_list_is_counted_in_the_same_pass_as_its_page(client_as, session, state):
    """A town liaison's matters are found through the town's grids and every one is read
    to sort the page: the count comes with the page (a window count), exact, not from a
    second pass over the same matters. With a filter, it counts what the filter lets
    through."""
    liaison = english(client_as("demo_town_liaison"))
    town = Scope.of(liaison_account(session, "demo_town_liaison"))
    path = "/admin/matter/" + (f"?flt0_0={state}" if state else "")
    with statements_sent(session) as sent:
        page = liaison.get(path).get_data(as_text=True)
    condition = town.matters() if not state else town.matters() & (Matter.state == state)
    mine = session.scalar(select(func.count()).select_from(Matter).where(condition))
    assert mine > 0
    assert LIST_TAB.search(page).group(1) == str(mine)
    assert not _counted_apart(sent), _counted_apart(sent)


def test_a_page_past_an_areas_last_still_says_how_many(client_as, session):
    liaison = english(client_as("demo_town_liaison"))
    page = liaison.get("/admin/matter/?page=900").get_data(as_text=True)
    town = Scope.of(liaison_account(session, "demo_town_liaison"))
    mine = session.scalar(select(func.count()).select_from(Matter).where(town.matters()))
    assert LIST_TAB.search(page).group(1) == str(mine)


def test_a_courts_list_is_still_counted_apart_up_to_the_cap(client_as, session):
    """A court's matters come from an index in the page's order, 50 rows read: a window
    count would read all of them, so the count stays apart and capped."""
    court = english(client_as("demo_court_yuncheng"))
    with statements_sent(session) as sent:
        court.get("/admin/matter/")
    assert _counted_apart(sent) and all("LIMIT" in s.upper() for s in _counted_apart(sent))
    assert not any("over ()" in s.lower() for s in sent)


def test_a_list_pages_links_are_made_once_not_once_a_row(app, client_as, monkeypatch):
    """Flask-Admin made each row's link with url_for (a fifth of a 50-row page's time):
    the list makes the link once a page and gives each row its id. The links are the
    same: the matter's page, with the way back to this list."""
    reader = client_as("demo_admin")
    view = matter_view(app)
    made, get_url = {}, view.get_url
    for size in (5, 50):
        monkeypatch.setattr(view, "page_size", size)
        calls = []

        def counted(*args, calls=calls, **kwargs):
            calls.append(args)
            return get_url(*args, **kwargs)

        monkeypatch.setattr(view, "get_url", counted)
        page = reader.get("/admin/matter/?sort=0").get_data(as_text=True)
        made[size] = len(calls)
        links = re.findall(r'href="(/admin/matter/details/\?id=[^"]+)"', page)
        assert len(links) == size
        assert all("&amp;url=/admin/matter/?sort%3D0" in link for link in links), links[0]
    assert made[50] == made[5], made


def test_labels_remembered_for_a_request_follow_its_language(app):
    """The list's labels are translated once a request; a PDF or a message made in
    another language in the same request (force_locale) still gets its own."""
    from flask_babel import force_locale

    from admin.views.matter_formatters import label
    from models.matters import STATE_LABELS, MatterState

    with app.test_request_context():
        with force_locale("zh_Hans_CN"):
            assert label(STATE_LABELS, MatterState.assigned) == "已分派"
        with force_locale("en"):
            assert label(STATE_LABELS, MatterState.assigned) == "Assigned"


ROW_ID = re.compile(r'/admin/matter/details/\?id=([0-9a-f-]{36})')


def test_the_benchmarks_default_list_is_flask_admins_own(app, client_as, database_url):
    """bench.matter_list measures the list against Flask-Admin's default: that list must
    show the same matters in the same order and the same count as ours, drawn by
    Flask-Admin's own list template, not by the app's row maker or its kept page."""
    from conftest import Client, app_config
    from flask import template_rendered

    from bench.matter_list import default_list_app

    default = default_list_app(app_config(database_url))
    default.test_client_class = Client
    theirs = default.test_client()
    assert theirs.sign_in("demo_town_liaison").status_code == 302
    drawn = []

    def note(sender, template, context, **extra):
        drawn.append(("default" if sender is default else "ours", template.name))

    pages = {}
    with template_rendered.connected_to(note):
        for name, reader in (("ours", english(client_as("demo_town_liaison"))),
                             ("default", english(theirs))):
            page = reader.get("/admin/matter/")
            assert page.status_code == 200
            pages[name] = page.get_data(as_text=True)
    ours, theirs_page = pages["ours"], pages["default"]
    listed = ROW_ID.findall(ours)
    assert len(listed) == 20 and ROW_ID.findall(theirs_page) == listed
    assert LIST_TAB.search(theirs_page).group(1) == LIST_TAB.search(ours).group(1)
    lists = [(who, t) for who, t in drawn if "list" in t]
    assert lists == [("ours", "gridlink/matter_list.html"), ("default", "admin/model/list.html")]
    assert 'class="list-buttons-column"' in theirs_page  # Flask-Admin's row actions
