"""The matter list page's own work is small (issue 13, item 6): its rows are read as plain
values, not ORM objects; what changes seldom (the filters' choices, a count beyond the
cap) is kept a minute — and never shown to a reader it was not made for."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import event, select, text
from test_matter_list_scale import LIST_TAB, english, statements_sent

from models import Court, Matter, User, counting
from models.access import Scope

SMALL_CAP = 1000


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(counting, "EXACT_UP_TO", SMALL_CAP)


def _court_choices(page: str) -> set[str]:
    """The choices of the list's court filter (an English page)."""
    groups = json.loads(re.search(r'<div id="filter-groups-data" class="d-none">(.*?)</div>',
                                  page, re.S).group(1))
    return {name for f in groups.get("Court", []) for _value, name in f["options"] or []}


def test_a_list_page_puts_no_matter_in_the_session(client_as):
    """A page of rows was some 500 ORM objects (matters, debtors, assignments, grids,
    liaisons) in the session's identity map; now the rows are plain values."""
    admin = client_as("demo_admin")
    loaded = []

    def note(target, context):
        loaded.append(target)

    event.listen(Matter, "load", note)
    try:
        page = admin.get("/admin/matter/").get_data(as_text=True)
    finally:
        event.remove(Matter, "load", note)
    assert page.count("/admin/matter/details/?id=") == 20 and loaded == []


def test_a_row_shows_its_debtor_masked_its_grid_path_and_liaison(client_as, session):
    liaison = english(client_as("demo_liaison"))
    page = liaison.get("/admin/matter/").get_data(as_text=True)
    first = re.search(r'/admin/matter/details/\?id=([0-9a-f-]{36})', page).group(1)
    matter = session.get(Matter, first)
    row = page[page.index(first):].split("</tr>", 1)[0]
    primary = matter.primary_assignment
    assert matter.debtor.name in row and matter.debtor.id_number not in row
    assert (matter.debtor.id_number[:6] + "*") in row
    assert " / ".join(g.name for g in primary.grid.path()) in row
    assert primary.liaison.name in row


def test_grid_paths_are_read_once_a_minute_not_joined_to_every_page(client_as, session):
    """A row's grid path (the grid and its parents) is the same for every reader: kept a
    minute per grid, not joined four grids deep to every page's rows (admin.views.
    matter_rows). Each reader still sees only its own matters' grids."""
    admin, liaison = client_as("demo_admin"), english(client_as("demo_liaison"))
    admin.get("/admin/matter/")
    with statements_sent(session) as sent:
        assert admin.get("/admin/matter/").status_code == 200
    assert sent and not [s for s in sent if "path_1" in s]  # the grids of a path
    page = liaison.get("/admin/matter/").get_data(as_text=True)
    first = re.search(r'/admin/matter/details/\?id=([0-9a-f-]{36})', page).group(1)
    row = page[page.index(first):].split("</tr>", 1)[0]
    grid = session.get(Matter, first).primary_assignment.grid
    assert " / ".join(g.name for g in grid.path()) in row


def test_a_count_beyond_the_cap_is_kept_for_the_same_reader_only(client_as, session,
                                                                 small_cap):
    """The admin's "about N" is kept a minute; a court officer asking next gets its own
    count ("1,000+"), not the admin's."""
    admin = english(client_as("demo_admin"))
    first = LIST_TAB.search(admin.get("/admin/matter/").get_data(as_text=True)).group(1)
    with statements_sent(session) as sent:
        again = LIST_TAB.search(admin.get("/admin/matter/").get_data(as_text=True)).group(1)
    assert again == first and first.startswith("about ")
    assert not [s for s in sent if "count(" in s.lower() and "from matters" in s.lower()]
    court = english(client_as("demo_court_city"))
    assert LIST_TAB.search(court.get("/admin/matter/").get_data(as_text=True)).group(1) \
        == f"{SMALL_CAP:,}+"
    searched = admin.get("/admin/matter/?search=%E6%89%A7").get_data(as_text=True)
    assert LIST_TAB.search(searched).group(1) != first  # another list, counted anew


def test_a_count_under_the_cap_is_made_every_time(client_as, session):
    court = english(client_as("demo_court_yuncheng"))
    court.get("/admin/matter/")
    with statements_sent(session) as sent:
        court.get("/admin/matter/")
    assert [s for s in sent if "count(" in s.lower() and "from matters" in s.lower()]


def test_the_court_choices_are_the_readers_own_whoever_asked_first(client_as, session):
    """The filters' choices are kept a minute per language and reader's court: the
    admin's (every court) are never offered to a court officer."""
    admin = english(client_as("demo_admin"))
    court = english(client_as("demo_court_yuncheng"))
    every = _court_choices(admin.get("/admin/matter/").get_data(as_text=True))
    own = _court_choices(court.get("/admin/matter/").get_data(as_text=True))
    assert every == set(session.scalars(select(Court.name)))
    officer = Scope.of(session.scalar(select(User).where(User.username == "demo_court_yuncheng")))
    assert own == set(session.scalars(select(Court.name).where(officer.courts_read())))
    assert own and own < every
    assert _court_choices(admin.get("/admin/matter/").get_data(as_text=True)) == every


@pytest.mark.parametrize("arguments", [
    {},
    {"page": 3},
    {"sort": 0, "sort_desc": 1},
    {"page": 2, "sort": 5, "search": "（2026）粤5302执1号 & ?/#%+"},
    {"filters": [(0, "state", "assigned"), (3, "deadline", "2026-12-01")],
     "search": "执"},
    {"page_size": 50, "extra_args": {"lang": "en"}},
])
def test_a_list_url_is_the_one_flask_admin_would_make(app, arguments):
    """The list's sort, pager and way-back URLs are made from one url_for a request:
    they must be the very URLs Flask-Admin's url_for made."""
    from flask_admin.contrib.sqla import ModelView
    from flask_admin.model.base import ViewArgs
    from test_matter_list_scale import matter_view

    view = matter_view(app)
    with app.test_request_context("/admin/matter/"):
        args = ViewArgs(**arguments)
        assert view._get_list_url(args) == ModelView._get_list_url(view, args)
        assert view._get_list_url(args) == ModelView._get_list_url(view, args)  # kept path


def test_flask_admins_static_urls_are_made_once(client, monkeypatch):
    import flask

    client.get("/admin/matter/")
    built = []
    url_for = flask.url_for

    def counted(endpoint, **values):
        built.append(endpoint)
        return url_for(endpoint, **values)

    monkeypatch.setattr("admin.assets.url_for", counted)
    page = client.get("/admin/matter/").get_data(as_text=True)
    assert "/admin/static/vendor/jquery.min.js?v=" in page and built == []


@pytest.mark.parametrize("username", ["demo_town_centre", "demo_liaison"])
def test_an_areas_list_as_it_opens_is_its_newest_matters_and_its_count(client_as, session,
                                                                        username):
    """An area's list with no search, filter or sort is read from models.areas: the
    same matters, in the same order, and the same count as its scope finds them."""
    reader = english(client_as(username))
    scope = Scope.of(session.scalar(select(User).where(User.username == username)))
    newest = session.execute(select(Matter.case_number).where(scope.matters())
                             .order_by(Matter.created_at.desc(), Matter.id.desc())).scalars().all()
    assert newest
    for page in range(min(2, (len(newest) + 19) // 20)):  # the town centre's: two pages
        with statements_sent(session) as sent:
            html = reader.get(f"/admin/matter/?page={page}").get_data(as_text=True)
        # in index order: each matter once by a town's mark, else by DISTINCT ON
        assert any("FROM matter_areas" in s and ("matter_areas.town_first" in s) == (
            len(scope.area_code) == 9) and ("DISTINCT ON (matter_areas.created_at" in s) != (
            len(scope.area_code) == 9) for s in sent)
        assert LIST_TAB.search(html).group(1) == str(len(newest))
        shown = re.findall(r'<td class="col-case_number">([^<]*)</td>', html)
        assert shown == newest[page * 20:(page + 1) * 20]
    # Filtered, it is Flask-Admin's query again, in the same scope.
    html = reader.get("/admin/matter/?flt0_0=assigned").get_data(as_text=True)
    shown = set(re.findall(r'<td class="col-case_number">([^<]*)</td>', html))
    assigned = set(session.execute(select(Matter.case_number).where(
        scope.matters(), Matter.state == "assigned")).scalars())
    assert shown and shown <= assigned


def _choices(page: str, group: str) -> set[str]:
    groups = json.loads(re.search(r'<div id="filter-groups-data" class="d-none">(.*?)</div>',
                                  page, re.S).group(1))
    return {name for f in groups[group] for _value, name in f["options"] or []}


def test_the_state_and_type_choices_speak_the_pages_language(client_as):
    """They were the English msgids on the Chinese page (the labels are marked N_)."""
    court = client_as("demo_court_yuncheng")
    page = court.get("/admin/matter/?lang=zh_Hans_CN").get_data(as_text=True)
    assert "协助送达法律文书" in _choices(page, "事项类型")
    assert "Serve legal documents" not in _choices(page, "事项类型")
    assert "已分派" in _choices(page, "状态") and "Assigned" not in _choices(page, "状态")
    english = court.get("/admin/matter/?lang=en").get_data(as_text=True)
    assert "Serve legal documents" in _choices(english, "Matter type")
    assert "Assigned" in _choices(english, "State")


def test_a_court_officers_list_names_its_courts_for_the_planner(client_as, session):
    """The scope's subquery on courts stays (it decides what the officer reads); the
    officer's courts are named next to it, so the planner knows how few matters they
    are and reads a page sorted by case number from the court's index, not by walking
    every case number (1.1 s at province scale)."""
    court = english(client_as("demo_court_yuncheng"))
    with statements_sent(session) as sent:
        court.get("/admin/matter/?sort=0&desc=1")
    page = next(s for s in sent if "ORDER BY matters.case_number DESC" in s)
    assert re.search(r"matters\.court_id IN \(%\(\w+\)s::UUID", page), page
    assert "FROM courts" in page  # the scope's own condition


def test_a_courts_matters_by_case_number_are_read_from_an_index(session):
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_sort = off"))
    court = session.scalar(select(Court.id).limit(1))
    plan = "\n".join(session.scalars(text(
        "EXPLAIN SELECT id FROM matters WHERE court_id = :court "
        "ORDER BY case_number DESC LIMIT 20"), {"court": court}))
    assert "ix_matters_court_case_number" in plan, plan


@pytest.mark.parametrize("desc, page", [(True, 0), (False, 0), (True, 1)])
def test_an_officer_of_several_courts_sorted_by_case_number_court_by_court(
        client_as, session, desc, page):
    """Each court's first rows from its index, then the page among them: the same page
    as one sort of all the courts' matters would give."""
    officer = session.scalar(select(User).where(User.username == "demo_court_city"))
    scope = Scope.of(officer)
    city = english(client_as("demo_court_city"))
    path = f"/admin/matter/?sort=0{'&desc=1' if desc else ''}{f'&page={page}' if page else ''}"
    with statements_sent(session) as sent:
        html = city.get(path).get_data(as_text=True)
    assert any("UNION ALL" in s for s in sent)
    shown = re.findall(r'<td class="col-case_number">([^<]*)</td>', html)
    order = Matter.case_number.desc() if desc else Matter.case_number.asc()
    expected = session.scalars(select(Matter.case_number).where(scope.matters())
                               .order_by(order).limit(20).offset(page * 20)).all()
    assert len(expected) == 20 and shown == expected
