"""The court matter pages: filing through the form, the matter's page, the queues, a
grid's "not ours", a court's re-route, the precedence and alias pages — and the
attacks: other courts' matters, other grids' matters, roles with no business here.

Pages are read in English (/lang/en) so that assertions do not depend on the
wording of the Chinese catalogue."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from geo.assign import file_matter
from models import Assignment, Court, Grid, Matter, MatterState, Precedence, RosterEntry, clock
from models.filing import AddressInput, MatterInput
from models.identity import id_check_character
from models.places import PlaceAlias
from models.roster import RosterRole

XINGYAN = "445302001003"  # 星岩社区, in 云城街道: demo_liaison's and demo_worker's grid
XINGYAN_ADDRESS = "云浮市云城区云城街道星岩社区"
NEIGHBOUR_ADDRESS = "云浮市云城区云城街道丰收村"  # same town, another village
AMBIGUOUS_ADDRESS = "罗定市三和村"  # 分界镇 and 生江镇 both have a 三和村
YUNCHENG_COURT = "云浮市云城区人民法院"
LUODING_COURT = "罗定市人民法院"


def id_number(serial: str = "123") -> str:
    first17 = f"44530219850317{serial}"
    return first17 + id_check_character(first17)


DEBTOR_ID = id_number()
WRONG_CHECK_DIGIT = DEBTOR_ID[:17] + ("1" if DEBTOR_ID[17] == "0" else "0")


def english(client):
    client.get("/lang/en")
    return client


def form(**changes) -> dict:
    """A complete filing of the find-property kind, as the form posts it."""
    data = {
        "case_number": "（2026）粤5302执101号", "officer_name": "张执行",
        "officer_phone": "0766-8123456", "matter_type": "find_property",
        "request-find_property-property_kinds": ["house", "income"],
        "credentials": ["enforcement_basis", "work_id"], "urgency": "normal",
        "debtor_kind": "person", "debtor_name": "陈某某", "debtor_id_number": DEBTOR_ID,
        "debtor_phones": "13800001111", "address-household-text": XINGYAN_ADDRESS,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def liaison_of(session, code: str) -> str:
    return session.scalar(RosterEntry.current().join(Grid, RosterEntry.grid_id == Grid.id)
                          .where(Grid.code == code, RosterEntry.role == RosterRole.liaison)
                          ).person.name


def matter_id(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return uuid.UUID(re.search(r"id=([0-9a-f-]{36})", response.headers["Location"]).group(1))


def file_directly(session, court_name: str, case: str, address: str, **extra) -> Matter:
    """A matter filed through geo.assign, as the import or the API would."""
    court = session.scalar(select(Court).where(Court.name == court_name))
    data = MatterInput(
        court=court, officer_name="测试干警", case_number=case, matter_type="service",
        debtor_kind="person", debtor_name=extra.pop("debtor_name", "李某"),
        addresses=[AddressInput(kind="habitual", text=address)],
        request={"document_kinds": ["judgment"], "method": "direct"}, **extra)
    matter, created = file_matter(session, data)
    assert created
    session.flush()
    return matter


@pytest.fixture
def court(client_as):
    return english(client_as("demo_court_yuncheng"))


@pytest.fixture
def xingyan_matter(session):
    return file_directly(session, YUNCHENG_COURT, "（2026）粤5302执201号", XINGYAN_ADDRESS,
                         debtor_id_number=id_number("201"))


# --- filing through the form -------------------------------------------------------------

def test_a_filing_lands_with_the_villages_liaison(court, session):
    response = court.post("/admin/filing/", data=form())
    matter = session.get(Matter, matter_id(response))
    assert matter.state is MatterState.assigned
    assert matter.court.name == YUNCHENG_COURT  # the officer's own court, not chosen
    primary = matter.primary_assignment
    assert primary.grid.code == XINGYAN
    liaison = liaison_of(session, XINGYAN)
    assert primary.liaison.name == liaison
    page = court.get(response.headers["Location"]).get_data(as_text=True)
    assert "was filed" in page and liaison in page and "星岩社区" in page
    assert DEBTOR_ID not in page and DEBTOR_ID[:6] + "********" + DEBTOR_ID[-4:] in page
    assert "13800001111" not in page and "138****1111" in page


def test_validation_errors_are_shown_by_their_fields_and_keep_the_input(court, session):
    bad = form(debtor_id_number=WRONG_CHECK_DIGIT, credentials=["work_id"],
               **{"address-habitual-text": "云城区某地", "address-habitual-lon": "东经112",
                  "deadline": "2020-01-01"})
    response = court.post("/admin/filing/", data=bad)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    errors = dict(re.findall(r'data-field="([^"]+)">([^<]+)<', page))
    assert "check digit" in errors["debtor_id_number"]
    assert "Enforcement basis" in errors["credentials"]  # named by its label
    assert "decimal degrees" in errors["address-habitual"]
    assert "has passed" in errors["deadline"]
    # What was typed is all still there.
    for typed in ("（2026）粤5302执101号", "陈某某", WRONG_CHECK_DIGIT, XINGYAN_ADDRESS,
                  "云城区某地", "东经112", "13800001111", "2020-01-01"):
        assert f'value="{typed}"' in page, typed
    assert re.search(r'value="house"\s+checked', page)
    assert re.search(r'value="work_id"\s+checked', page)
    assert not re.search(r'value="enforcement_basis"\s+checked', page)
    assert session.scalar(select(func.count()).select_from(Matter)
                          .where(Matter.case_number == "（2026）粤5302执101号")) == 0


def test_type_specific_fields_are_required_for_their_type_only(court):
    page = court.post("/admin/filing/", data=form(**{
        "request-find_property-property_kinds": None,
        "request-service-method": "direct"})).get_data(as_text=True)
    errors = dict(re.findall(r'data-field="([^"]+)">([^<]+)<', page))
    assert "needs this field" in errors["request-find_property-property_kinds"]
    assert not any(name.startswith("request-service") for name in errors)


def test_filing_twice_says_it_was_filed_and_links_to_it(court, session):
    first = matter_id(court.post("/admin/filing/", data=form()))
    again = court.post("/admin/filing/", data=form(case_number="(2026)粤5302执101号"))
    assert matter_id(again) == first
    page = court.get(again.headers["Location"]).get_data(as_text=True)
    assert "already made" in page and 'id="gridlink-existing"' in page
    assert session.scalar(select(func.count()).select_from(Matter)
                          .where(Matter.case_number == "（2026）粤5302执101号")) == 1


def test_an_ambiguous_address_waits_in_the_review_queue_and_a_candidate_places_it(
        court, session):
    response = court.post("/admin/filing/", data=form(**{
        "address-household-text": AMBIGUOUS_ADDRESS}))
    matter = session.get(Matter, matter_id(response))
    assert matter.state is MatterState.review
    assert "review queue" in court.get(response.headers["Location"]).get_data(as_text=True)
    queue = court.get("/admin/review_queue/").get_data(as_text=True)
    assert matter.case_number in queue
    card = queue[queue.index(f'id="matter-{matter.id}"'):]  # its own card (the demo queues others)
    card = card[:card.index('class="card mb-2 gridlink-queue-card"')] \
        if 'class="card mb-2 gridlink-queue-card"' in card else card
    codes = sorted(set(re.findall(r'class="d-inline gridlink-pick" data-code="(\d+)"', card)))
    assert len(codes) == 2
    # A grid the geocoder did not offer is refused as a "candidate".
    court.post(f"/admin/review_queue/{matter.id}/pick/", data={"code": XINGYAN,
                                                              "method": "candidate"})
    session.expire_all()
    assert session.get(Matter, matter.id).state is MatterState.review
    done = court.post(f"/admin/review_queue/{matter.id}/pick/",
                      data={"code": codes[1], "method": "candidate"}, follow_redirects=True)
    assert matter.case_number in done.get_data(as_text=True)
    session.expire_all()
    placed = session.get(Matter, matter.id)
    assert placed.state is MatterState.assigned
    assert placed.primary_assignment.grid.code == codes[1]
    assert placed.primary_assignment.method == "candidate"
    assert matter.case_number not in court.get("/admin/review_queue/").get_data(as_text=True)


def test_the_admin_chooses_the_court(client, session):
    admin = english(client)
    luoding = session.scalar(select(Court).where(Court.name == LUODING_COURT))
    page = admin.post("/admin/filing/", data=form()).get_data(as_text=True)
    assert "choose the requesting court" in page
    response = admin.post("/admin/filing/", data=form(court=str(luoding.id),
                                                     case_number="（2026）粤5381执7号"))
    assert session.get(Matter, matter_id(response)).court_id == luoding.id


# --- the list and the matter's page ------------------------------------------------------

def test_the_list_masks_the_id_number_and_shows_grid_and_liaison(court, session,
                                                                 xingyan_matter):
    page = court.get("/admin/matter/").get_data(as_text=True)
    number = xingyan_matter.debtor.id_number
    assert xingyan_matter.case_number in page
    assert number not in page and number[:6] + "********" + number[-4:] in page
    assert "星岩社区" in page and liaison_of(session, XINGYAN) in page
    found = court.get("/admin/matter/?search=粤5302执201").get_data(as_text=True)
    assert xingyan_matter.case_number in found


def test_the_bounty_column_says_no_rather_than_nothing(court, xingyan_matter):
    page = court.get("/admin/matter/").get_data(as_text=True)
    row = page[page.index(xingyan_matter.case_number):]
    row = row[:row.index("</tr>")]
    assert re.search(r'col-bounty">\s*No\s*<', row), row


def test_the_matter_page_shows_addresses_geocoding_and_assignments(court, xingyan_matter):
    page = court.get(f"/admin/matter/details/?id={xingyan_matter.id}").get_data(as_text=True)
    assert "Habitual residence" in page and XINGYAN_ADDRESS in page
    assert 'id="gridlink-assignments"' in page and XINGYAN in page
    assert 'id="gridlink-matter-map"' in page and '"primary": {"code": "' + XINGYAN in page


# --- scope attacks -----------------------------------------------------------------------

def test_another_courts_matter_is_hidden_and_404(court, session):
    other = file_directly(session, LUODING_COURT, "（2026）粤5381执9号", XINGYAN_ADDRESS)
    listing = court.get("/admin/matter/").get_data(as_text=True)
    assert other.case_number not in listing
    assert LUODING_COURT not in listing  # not even among the court filter's choices
    assert court.get(f"/admin/matter/details/?id={other.id}").status_code == 404
    for step, data in (("reroute", {"code": XINGYAN, "reason": "x"}),):
        assert court.post(f"/admin/matter/{other.id}/{step}/", data=data).status_code == 404
    assert court.post(f"/admin/review_queue/{other.id}/pick/",
                      data={"code": XINGYAN, "method": "map"}).status_code == 404


def test_a_liaison_sees_only_their_grids_matters(client_as, session, xingyan_matter):
    elsewhere = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执202号",
                              NEIGHBOUR_ADDRESS)
    assert elsewhere.state is MatterState.assigned
    liaison = english(client_as("demo_liaison"))
    page = liaison.get("/admin/matter/").get_data(as_text=True)
    assert xingyan_matter.case_number in page and elsewhere.case_number not in page
    assert liaison.get(f"/admin/matter/details/?id={elsewhere.id}").status_code == 404
    assert liaison.post(f"/admin/matter/{elsewhere.id}/return/",
                        data={"reason": "不在本社区"}).status_code == 404
    # The town's liaison answers for the town's villages: both.
    town = client_as("demo_town_liaison").get("/admin/matter/").get_data(as_text=True)
    assert xingyan_matter.case_number in town and elsewhere.case_number in town


@pytest.mark.parametrize("username", ["demo_city_committee", "demo_yuncheng_committee",
                                      "demo_town_centre"])
@pytest.mark.parametrize("url", ["/admin/matter/", "/admin/filing/", "/admin/review_queue/",
                                 "/admin/manual_queue/", "/admin/precedence/",
                                 "/admin/alias/"])
def test_roles_without_matters_are_refused(client_as, username, url):
    if username == "demo_town_centre" and url == "/admin/matter/":
        return  # the town centre's list of its town's matters (tests/test_workflow_pages.py)
    if username == "demo_yuncheng_committee" and url == "/admin/matter/":
        return  # the matters the ladder brought to it (tests/test_escalation.py)
    assert client_as(username).get(url).status_code == 403


@pytest.mark.parametrize("username", ["demo_liaison", "demo_worker"])
@pytest.mark.parametrize("url", ["/admin/filing/", "/admin/review_queue/",
                                 "/admin/manual_queue/", "/admin/precedence/",
                                 "/admin/matter/grids/?q=星岩"])
def test_grids_cannot_file_or_route(client_as, username, url):
    assert client_as(username).get(url).status_code == 403


def test_a_grid_worker_cannot_reroute_or_file(client_as, xingyan_matter):
    worker = client_as("demo_worker")
    assert worker.post("/admin/filing/", data=form()).status_code == 403
    assert worker.post(f"/admin/matter/{xingyan_matter.id}/reroute/",
                       data={"code": XINGYAN, "reason": "x"}).status_code == 403


# --- "not ours" and re-routing ----------------------------------------------------------

def test_returning_a_matter_needs_a_reason(client_as, session, court, xingyan_matter):
    liaison = english(client_as("demo_liaison"))
    page = liaison.get(f"/admin/matter/details/?id={xingyan_matter.id}").get_data(as_text=True)
    assert 'id="gridlink-return"' in page and 'id="gridlink-reroute"' not in page
    refused = liaison.post(f"/admin/matter/{xingyan_matter.id}/return/", data={"reason": "  "},
                           follow_redirects=True)
    assert "Say why" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Matter, xingyan_matter.id).state is MatterState.assigned
    liaison.post(f"/admin/matter/{xingyan_matter.id}/return/",
                 data={"reason": "被执行人已迁往外地"})
    session.expire_all()
    returned = session.get(Matter, xingyan_matter.id)
    assert returned.state is MatterState.returned
    ended = session.scalars(select(Assignment).where(Assignment.matter_id == returned.id)).all()
    assert any(a.end_reason == "被执行人已迁往外地" for a in ended)
    # Out of the grid's hands; in the court's review queue, with the grid's reason.
    assert liaison.get(f"/admin/matter/details/?id={returned.id}").status_code == 404
    queue = court.get("/admin/review_queue/").get_data(as_text=True)
    assert returned.case_number in queue and "被执行人已迁往外地" in queue


def test_a_returned_matter_offers_the_debtors_other_located_address_on_a_drawn_map(
        client_as, session, court):
    """The 经常居住地's grid returns it: the queue offers the 户籍地's grid (located, but
    not chosen first) and draws both the candidate and the grid that returned it."""
    court_row = session.scalar(select(Court).where(Court.name == YUNCHENG_COURT))
    matter, _ = file_matter(session, MatterInput(
        court=court_row, officer_name="测试干警", case_number="（2026）粤5302执203号",
        matter_type="service", debtor_kind="person", debtor_name="李某",
        addresses=[AddressInput(kind="habitual", text=XINGYAN_ADDRESS),
                   AddressInput(kind="household", text=NEIGHBOUR_ADDRESS)],
        request={"document_kinds": ["judgment"], "method": "direct"}))
    session.flush()
    assert matter.primary_assignment.grid.code == XINGYAN
    household = next(a.grid.code for a in matter.addresses if a.kind.value == "household")
    english(client_as("demo_liaison")).post(f"/admin/matter/{matter.id}/return/",
                                            data={"reason": "不在本社区居住"})
    queue = court.get("/admin/review_queue/").get_data(as_text=True)
    codes = set(re.findall(r'class="d-inline gridlink-pick" data-code="(\d+)"', queue))
    assert household in codes and XINGYAN not in codes  # not back to the grid that said no
    data = json.loads(re.search(r'id="gridlink-queue-data">(.*?)</script>', queue).group(1))
    card = next(c for c in data if c["id"] == str(matter.id))
    assert card["returned_from"] == XINGYAN and card["returned"]["geometry"]["coordinates"]
    candidates = json.loads(re.search(r'id="gridlink-queue-candidates">(.*?)</script>',
                                      queue).group(1))
    drawn = [c for cs in candidates for c in cs if c["code"] == household]
    assert drawn and drawn[0]["geometry"]["coordinates"]
    # One click places it there.
    court.post(f"/admin/review_queue/{matter.id}/pick/",
               data={"code": household, "method": "candidate"})
    session.expire_all()
    assert session.get(Matter, matter.id).primary_assignment.grid.code == household


def test_the_court_reroutes_with_a_reason_and_a_grid(court, session, xingyan_matter):
    page = court.get(f"/admin/matter/details/?id={xingyan_matter.id}").get_data(as_text=True)
    assert 'id="gridlink-reroute"' in page and 'id="gridlink-return"' not in page
    lookup = court.get("/admin/matter/grids/?q=丰收村").json["grids"]
    target = next(g for g in lookup if g["code"].startswith("445302001"))
    court.post(f"/admin/matter/{xingyan_matter.id}/reroute/", data={"code": target["code"]})
    session.expire_all()
    assert session.get(Matter, xingyan_matter.id).primary_assignment.grid.code == XINGYAN
    court.post(f"/admin/matter/{xingyan_matter.id}/reroute/",
               data={"code": target["code"], "reason": "债务人实际住在丰收村"})
    session.expire_all()
    moved = session.get(Matter, xingyan_matter.id)
    assert moved.primary_assignment.grid.code == target["code"]
    assert any(a.end_reason for a in moved.assignments if a.ended_at)


# --- precedence and aliases --------------------------------------------------------------

def test_the_precedence_form_refuses_a_kind_twice(client, session):
    admin = english(client)
    page = admin.get("/admin/precedence/").get_data(as_text=True)
    assert "Household registration → Residence" in page  # find_property's default order
    bad = {"first": "household", "second": "household", "third": "habitual",
           "fourth": "other"}
    response = admin.post("/admin/precedence/edit/?id=service", data=bad)
    assert response.status_code == 200
    assert "comes exactly once" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Precedence, "service").kinds[0] == "habitual"
    good = {"first": "household", "second": "habitual", "third": "residence",
            "fourth": "other"}
    assert admin.post("/admin/precedence/edit/?id=service", data=good).status_code == 302
    session.expire_all()
    assert session.get(Precedence, "service").kinds == list(good.values())


def test_the_court_cannot_change_the_precedence(court):
    assert court.get("/admin/precedence/").status_code == 403
    assert court.post("/admin/precedence/edit/?id=service",
                      data={"first": "other"}).status_code == 403


@pytest.mark.parametrize(("code", "accepted"), [
    (XINGYAN, True), ("4453", True), ("44", True), ("445302", False),
    ("445302999999", False), ("4499", False), ("云城", False)])
def test_an_alias_names_a_current_grid_or_a_prefix(client, session, code, accepted):
    admin = english(client)
    response = admin.post("/admin/alias/new/", data={"alias": "测试别名", "code": code})
    saved = session.scalar(select(PlaceAlias).where(PlaceAlias.alias == "测试别名"))
    assert (saved is not None) is accepted, response.get_data(as_text=True)[:500]
    if not accepted:
        assert response.status_code == 200


def test_default_deadline_follows_the_type(court, session):
    response = court.post("/admin/filing/", data=form(matter_type="find_property"))
    matter = session.get(Matter, matter_id(response))
    assert matter.deadline == date.today() + timedelta(days=30)


def test_filters_by_state_and_type(court, session, xingyan_matter):
    waiting = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执203号", AMBIGUOUS_ADDRESS)
    assert waiting.state is MatterState.review
    # Filters are numbered in the view's order: state 0, type 1, court 2, deadline 3….
    only_review = court.get("/admin/matter/?flt0_0=review").get_data(as_text=True)
    assert waiting.case_number in only_review and xingyan_matter.case_number not in only_review
    services = court.get("/admin/matter/?flt0_1=service").get_data(as_text=True)
    assert waiting.case_number in services and xingyan_matter.case_number in services
    assert xingyan_matter.case_number not in court.get(
        "/admin/matter/?flt0_1=witness").get_data(as_text=True)


def test_forms_without_their_token_are_refused(court, xingyan_matter):
    assert court.post("/admin/filing/", data=form(csrf_token="")).status_code == 400
    assert court.post(f"/admin/matter/{xingyan_matter.id}/reroute/",
                      data={"code": XINGYAN, "reason": "理由", "csrf_token": ""}
                      ).status_code == 400


def test_the_filing_form_names_types_credentials_and_addresses_in_chinese(client_as):
    page = client_as("demo_court_yuncheng").get("/admin/filing/").get_data(as_text=True)
    for chinese in ("协助查找被执行人财产", "协助送达法律文书", "传票", "协助执行通知书",
                    "户籍地", "经常居住地"):
        assert chinese in page
    for english in ("Find the debtor's property", "Summons", "Household registration"):
        assert english not in page


# --- home pages by role --------------------------------------------------------------------

def test_a_liaisons_home_is_their_grid_and_its_open_matters_by_deadline(client_as, session):
    from datetime import date, timedelta

    def counts(page) -> dict:  # the demo's year has 星岩社区 matters of its own
        return {k: int(re.search(rf'data-count="{k}">(\d+)<', page).group(1))
                for k in ("overdue", "due_soon")}

    before = {u: counts(client_as(u).get("/admin/").get_data(as_text=True))
              for u in ("demo_liaison", "demo_worker")}
    later = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执301号", XINGYAN_ADDRESS,
                          deadline=date.today() + timedelta(days=20))
    soon = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执302号", XINGYAN_ADDRESS,
                         deadline=date.today() + timedelta(days=1), debtor_name="赵某")
    elsewhere = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执303号",
                              NEIGHBOUR_ADDRESS)
    # The rules' deadlines (models.deadlines) are what the marks follow: to accept.
    session.execute(Matter.__table__.update().where(Matter.id == later.id)
                    .values(accept_due_at=clock.now() - timedelta(days=2)))  # now overdue
    session.execute(Matter.__table__.update().where(Matter.id == soon.id)
                    .values(accept_due_at=clock.now() + timedelta(hours=2)))
    for username in ("demo_liaison", "demo_worker"):
        page = english(client_as(username)).get("/admin/").get_data(as_text=True)
        assert "My grid: 星岩社区" in page and "云城区 / 云城街道 / 星岩社区" in page
        table = page[page.index('id="gridlink-open"'):]
        assert table.index(later.case_number) < table.index(soon.case_number)
        assert elsewhere.case_number not in page
        assert counts(page) == {k: n + 1 for k, n in before[username].items()}
        assert "gridlink-mark-overdue" in table and "gridlink-mark-due-soon" in table
        assert 'data-role="gridlink-overview"' in page  # their grid, on a map


def test_a_courts_home_shows_what_waits_for_it_and_what_is_overdue(client_as, session):
    from datetime import timedelta
    waiting = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执304号",
                            AMBIGUOUS_ADDRESS)
    late = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执305号", XINGYAN_ADDRESS)
    other = file_directly(session, LUODING_COURT, "（2026）粤5381执306号", XINGYAN_ADDRESS)
    session.execute(Matter.__table__.update().where(Matter.id.in_([late.id, other.id]))
                    .values(accept_due_at=clock.now() - timedelta(days=1)))
    page = english(client_as("demo_court_yuncheng")).get("/admin/").get_data(as_text=True)
    assert waiting.state is MatterState.review
    assert waiting.case_number in page[page.index('id="gridlink-waiting"'):]
    assert late.case_number in page[page.index('id="gridlink-overdue"'):]
    assert other.case_number not in page
    assert 'data-role="gridlink-overview"' not in page  # no map library on this page


# --- showing what is masked, audited -------------------------------------------------------

def test_the_grid_shows_the_debtors_id_and_phones_to_find_them_audited(client_as, session):
    from models import AuditRecord
    matter = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执401号", XINGYAN_ADDRESS,
                           debtor_id_number=id_number("401"), debtor_phones=["13800004011"])
    liaison = client_as("demo_liaison")
    page = liaison.get(f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)
    assert matter.debtor.id_number not in page and "13800004011" not in page
    assert f"/admin/matter/{matter.id}/reveal/id_number/" in page
    assert f"/admin/matter/{matter.id}/reveal/phones/" in page
    assert liaison.get(f"/admin/matter/{matter.id}/reveal/id_number/").json == {
        "value": matter.debtor.id_number}
    assert client_as("demo_worker").get(
        f"/admin/matter/{matter.id}/reveal/phones/").json == {"value": "13800004011"}
    shown = session.scalars(select(AuditRecord).where(
        AuditRecord.action.in_(["reveal_id_number", "reveal_phone"]),
        AuditRecord.entity == "debtor")).all()
    assert {(r.actor, r.after["field"]) for r in shown} == {("demo_liaison", "id_number"),
                                                           ("demo_worker", "phones")}
    # Out of the grid's scope: not even found.
    other = client_as("demo_town_centre")  # sees no matters (no "matters" right)
    assert other.get(f"/admin/matter/{matter.id}/reveal/phones/").status_code in (403, 404)


def test_the_court_shows_the_liaisons_phone_audited_and_workers_may_not(client_as, session,
                                                                       xingyan_matter):
    from models import AuditRecord
    court = client_as("demo_court_yuncheng")
    page = court.get(f"/admin/matter/details/?id={xingyan_matter.id}").get_data(as_text=True)
    assert f"/admin/matter/{xingyan_matter.id}/reveal/liaison/" in page
    phone = xingyan_matter.primary_assignment.liaison.phone
    assert phone not in page
    assert court.get(f"/admin/matter/{xingyan_matter.id}/reveal/liaison/").json == {
        "value": phone}
    record = session.scalar(select(AuditRecord).where(AuditRecord.action == "reveal_phone",
                                                      AuditRecord.actor == "demo_court_yuncheng"))
    assert record.after == {"field": "liaison", "matter": str(xingyan_matter.id)}
    assert phone not in json.dumps(record.after)
    worker = client_as("demo_worker")
    assert worker.get(f"/admin/matter/{xingyan_matter.id}/reveal/liaison/").status_code == 403
    assert worker.get(f"/admin/matter/{xingyan_matter.id}/reveal/nonsense/").status_code == 404
