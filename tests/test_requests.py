"""Grid-side requests: risk reports on open matters, legal advice routed to the
nearest tribunal of the village's county — and the attacks: another grid, another
village, another court, a closed matter.

Pages are read in English (/lang/en) so that assertions do not depend on the
wording of the Chinese catalogue."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from test_matter_pages import XINGYAN_ADDRESS, YUNCHENG_COURT, english, file_directly

from models import AuditRecord, Court, Grid, LegalAdviceRequest, MatterState, RiskReport, User
from models.accounts import Role
from models.courts import CourtKind
from models.requests import (
    AdviceState,
    RequestError,
    answer_advice,
    ask_advice,
    report_risk,
    route,
    transfer_advice,
)

XINGYAN = "445302001003"  # 星岩社区 (云城区): demo_liaison's and demo_worker's village
YAOGU = "云浮市云城区人民法院腰古人民法庭"  # 云城区's only tribunal
LIUDU = "云浮市云安区人民法院六都人民法庭"  # over the county line, nearer to 星岩社区
NEIGHBOUR_ADDRESS = "云浮市云城区云城街道丰收村"  # same town, another village
QUESTION = "村民之间的土地承包经营权互换需要经过村委会同意吗？"


def user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def court(session, name: str) -> Court:
    return session.scalar(select(Court).where(Court.name == name))


def grid(session, code: str) -> Grid:
    return session.scalar(Grid.current().where(Grid.code == code))


def audits(session, entity: str) -> int:
    return session.scalar(select(func.count()).select_from(AuditRecord)
                          .where(AuditRecord.entity == entity))


# --- routing ---------------------------------------------------------------------------

def straight_line_nearest(session, code: str) -> list[tuple[str, float]]:
    """Every tribunal of the city by distance from the village, county ignored:
    the answer routing must NOT give when the nearest is over the county line."""
    return session.execute(text("""
        SELECT c.name, ST_Distance(ST_Centroid(ST_Collect(g.geom))::geography,
          (SELECT ST_PointOnSurface(geom)::geography FROM grids
           WHERE code = :code AND generation_high IS NULL)) AS metres
        FROM courts c JOIN court_grids cg ON cg.court_id = c.id JOIN grids g ON g.id = cg.grid_id
        WHERE c.kind = 'tribunal' GROUP BY c.id ORDER BY metres"""), {"code": code}).all()


def test_routing_picks_the_nearest_tribunal_of_the_county_not_over_the_line(session):
    by_distance = straight_line_nearest(session, XINGYAN)
    assert by_distance[0].name == LIUDU  # 云安区's tribunal is nearer in a straight line
    routed, metres = route(session, grid(session, XINGYAN))
    assert routed.name == YAOGU and routed.county_code == "445302"
    assert metres == pytest.approx(dict(by_distance)[YAOGU])
    assert metres > by_distance[0].metres


def test_routing_picks_the_nearer_of_a_countys_tribunals(session):
    """罗定市 has three tribunals: every village goes to its nearest one."""
    villages = session.scalars(Grid.current().where(
        Grid.code.startswith("445381"), Grid.level == "village").order_by(Grid.code)
        .limit(40)).all()
    chosen = set()
    for village in villages:
        routed, metres = route(session, village)
        ranked = [r for r in straight_line_nearest(session, village.code)
                  if court(session, r.name).county_code == "445381"]
        assert routed.name == ranked[0].name
        assert metres == pytest.approx(ranked[0].metres)
        chosen.add(routed.name)
    assert len(chosen) > 1  # the case is not trivial: more than one tribunal answers


def test_a_county_without_tribunals_goes_to_its_base_court(session):
    session.execute(text("UPDATE courts SET county_code = '445303' "
                         "WHERE kind = 'tribunal' AND county_code = '445302'"))
    routed, _ = route(session, grid(session, XINGYAN))
    assert routed.name == YUNCHENG_COURT and routed.kind is CourtKind.base


# --- legal advice: the model -----------------------------------------------------------

def test_asking_routes_answering_and_audits(session):
    before = audits(session, "legal_advice_request")
    liaison = user(session, "demo_liaison")
    asked = ask_advice(session, liaison, topic="land", question=QUESTION)
    assert asked.court.name == YAOGU and asked.state is AdviceState.waiting
    assert asked.county_code == "445302" and asked.grid.code == XINGYAN
    assert asked.contact_phone and asked.asker_name != liaison.display_name  # the roster's
    answer_advice(session, asked, user(session, "demo_tribunal"), "需要，应当报发包方备案。")
    assert asked.state is AdviceState.answered and asked.answered_at is not None
    assert audits(session, "legal_advice_request") == before + 2
    with pytest.raises(RequestError, match="already been answered"):
        answer_advice(session, asked, user(session, "demo_tribunal"), "再答一次")


def test_a_transfer_waits_at_the_other_court(session):
    asked = ask_advice(session, user(session, "demo_liaison"), topic="wages",
                       question="工资被拖欠怎么办？")
    with pytest.raises(RequestError, match="Write the"):
        transfer_advice(session, asked, court(session, YUNCHENG_COURT), "  ")
    transfer_advice(session, asked, court(session, YUNCHENG_COURT),
                    "涉及劳动仲裁，请诉讼服务中心答复")
    assert asked.state is AdviceState.transferred and asked.court.name == YUNCHENG_COURT
    assert asked.transferred_from.name == YAOGU


@pytest.mark.parametrize("username", ["demo_worker", "demo_court_yuncheng", "demo_admin",
                                      "demo_town_centre"])
def test_only_liaisons_ask(session, username):
    with pytest.raises(RequestError, match="liaison asks"):
        ask_advice(session, user(session, username), topic="land", question=QUESTION)


def test_a_question_needs_a_topic_and_text(session):
    liaison = user(session, "demo_liaison")
    with pytest.raises(RequestError, match="Choose what the question"):
        ask_advice(session, liaison, topic="astrology", question=QUESTION)
    with pytest.raises(RequestError, match="Write the"):
        ask_advice(session, liaison, topic="land", question="   ")


# --- legal advice: the pages -----------------------------------------------------------

def ask_through_the_page(client_as, question=QUESTION):
    client = english(client_as("demo_liaison"))
    response = client.post("/admin/my-advice/new/", data={"topic": "family",
                                                          "question": question})
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    return client


def the_request(session, question=QUESTION) -> LegalAdviceRequest:
    return session.scalar(select(LegalAdviceRequest)
                          .where(LegalAdviceRequest.question == question))


def test_the_liaison_asks_and_the_tribunal_answers(client_as, session):
    liaison = ask_through_the_page(client_as)
    asked = the_request(session)
    assert asked.court.name == YAOGU
    mine = liaison.get("/admin/my-advice/").get_data(as_text=True)
    assert QUESTION in mine and "Awaiting an answer" in mine
    tribunal = english(client_as("demo_tribunal"))
    home = tribunal.get("/admin/").get_data(as_text=True)
    assert 'data-count="advice">2<' in home  # the demo's waiting question, and this one
    listed = tribunal.get("/admin/advice/").get_data(as_text=True)
    assert QUESTION in listed and "星岩社区" in listed and asked.asker_name in listed
    assert asked.contact_phone not in listed  # masked until 显示
    assert tribunal.post(f"/admin/advice/{asked.id}/answer/",
                         data={"answer": "需要村民小组同意并报发包方备案。"}).status_code == 302
    session.refresh(asked)
    assert asked.state is AdviceState.answered and asked.answerer_name
    home = liaison.get("/admin/").get_data(as_text=True)
    assert "需要村民小组同意并报发包方备案。" in home


def test_showing_the_askers_phone_is_audited(client_as, session):
    ask_through_the_page(client_as)
    asked = the_request(session)
    before = session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "reveal_phone", AuditRecord.entity_id == str(asked.id)))
    shown = client_as("demo_tribunal").get(f"/admin/advice/{asked.id}/phone/")
    assert shown.json["value"] == asked.contact_phone
    assert session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "reveal_phone", AuditRecord.entity_id == str(asked.id))) \
        == before + 1


def test_the_base_court_answers_for_its_tribunals(client_as, session):
    ask_through_the_page(client_as)
    asked = the_request(session)
    base = client_as("demo_court_yuncheng")
    assert QUESTION in base.get("/admin/advice/").get_data(as_text=True)
    assert base.post(f"/admin/advice/{asked.id}/answer/",
                     data={"answer": "答复"}).status_code == 302


# --- legal advice: the attacks ---------------------------------------------------------

def other_village_liaison(session):
    """A liaison account for 丰收村, 星岩社区's neighbour in the same town."""
    neighbour = session.scalar(Grid.current().where(Grid.name == "丰收村",
                                                    Grid.code.startswith("445302001")))
    account = User(username="fengshou_liaison", display_name="丰收村网格长", role=Role.liaison,
                   grid=neighbour, active=True)
    account.set_password("Yunfu2026demo", demo_account=True)
    session.add(account)
    session.commit()
    return "fengshou_liaison"


def test_another_village_neither_sees_nor_answers(client_as, session):
    ask_through_the_page(client_as)
    asked = the_request(session)
    other = client_as(other_village_liaison(session))
    assert QUESTION not in other.get("/admin/my-advice/").get_data(as_text=True)
    assert QUESTION not in other.get("/admin/").get_data(as_text=True)
    for url in ("/admin/advice/", f"/admin/advice/{asked.id}/phone/"):
        assert other.get(url).status_code == 403
    assert other.post(f"/admin/advice/{asked.id}/answer/",
                      data={"answer": "x"}).status_code == 403


@pytest.mark.parametrize("username", ["demo_court_city", "demo_court_yuncheng_other"])
def test_another_court_neither_sees_nor_answers(client_as, session, username):
    """The intermediate court (not the tribunal's base court) and a court of another
    county: the question is not in their list, and answering or showing the phone is
    a 404, as for a question that does not exist."""
    if username == "demo_court_yuncheng_other":
        account = User(username=username, display_name="罗定法院干警", role=Role.court_staff,
                       court=court(session, "罗定市人民法院"), active=True)
        account.set_password("Yunfu2026demo", demo_account=True)
        session.add(account)
        session.commit()
    ask_through_the_page(client_as)
    asked = the_request(session)
    other = client_as(username)
    assert QUESTION not in other.get("/admin/advice/").get_data(as_text=True)
    assert other.get(f"/admin/advice/{asked.id}/phone/").status_code == 404
    assert other.post(f"/admin/advice/{asked.id}/answer/",
                      data={"answer": "x"}).status_code == 404
    assert other.post(f"/admin/advice/{asked.id}/transfer/",
                      data={"court": str(court(session, "罗定市人民法院").id),
                            "reason": "x"}).status_code == 404
    session.refresh(asked)
    assert asked.state is AdviceState.waiting and asked.answer is None


def test_the_transferring_court_reads_but_no_longer_answers(client_as, session):
    ask_through_the_page(client_as)
    asked = the_request(session)
    tribunal = client_as("demo_tribunal")
    assert tribunal.post(f"/admin/advice/{asked.id}/transfer/",
                         data={"court": str(court(session, "新兴县人民法院").id),
                               "reason": "当事人住新兴县"}).status_code == 302
    assert QUESTION in tribunal.get("/admin/advice/").get_data(as_text=True)
    assert tribunal.post(f"/admin/advice/{asked.id}/answer/",
                         data={"answer": "x"}).status_code == 403


@pytest.mark.parametrize("username", ["demo_worker", "demo_town_centre",
                                      "demo_yuncheng_committee"])
def test_roles_with_no_business_are_refused(client_as, username):
    client = client_as(username)
    for url in ("/admin/advice/", "/admin/my-advice/", "/admin/my-advice/new/",
                "/admin/risk/"):
        assert client.get(url).status_code == 403, url
    page = client.get("/admin/").get_data(as_text=True)
    assert "/admin/advice/" not in page and "/admin/my-advice/" not in page


def test_menus_only_for_those_who_use_them(client_as):
    assert "/admin/my-advice/" in client_as("demo_liaison").get("/admin/").get_data(as_text=True)
    court_home = client_as("demo_tribunal").get("/admin/").get_data(as_text=True)
    assert "/admin/advice/" in court_home and "/admin/risk/" in court_home
    assert "/admin/my-advice/" not in court_home


# --- risk reports ----------------------------------------------------------------------

@pytest.fixture
def matter(session):
    """An open matter of 云城区's court, with 星岩社区."""
    found = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执901号", XINGYAN_ADDRESS,
                          debtor_name="风险某")
    session.commit()
    assert found.primary_assignment.grid.code == XINGYAN
    return found


def post_risk(client, matter, **changes):
    data = {"kind": "agitated", "description": "被执行人扬言阻挠执行，家中备有农具。",
            "urgency": "urgent", **changes}
    return client.post(f"/admin/risk/{matter.id}/", data=data)


def test_the_grid_reports_and_the_court_sees_it(client_as, session, matter):
    before = audits(session, "risk_report")
    worker = english(client_as("demo_worker"))
    page = worker.get(f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)
    assert 'id="gridlink-risk-form"' in page
    assert post_risk(worker, matter).status_code == 302
    report = session.scalar(select(RiskReport).where(RiskReport.matter_id == matter.id))
    assert report.county_code == matter.county_code and report.grid.code == XINGYAN
    assert audits(session, "risk_report") == before + 1
    court_client = english(client_as("demo_court_yuncheng"))
    details = court_client.get(f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)
    assert "被执行人扬言阻挠执行" in details and 'id="gridlink-risk-form"' not in details
    assert "被执行人扬言阻挠执行" in court_client.get("/admin/risk/").get_data(as_text=True)
    # The tribunal of that court and the city's court read it too; another county's not.
    assert "被执行人扬言阻挠执行" in client_as("demo_court_city").get(
        "/admin/risk/").get_data(as_text=True)


def test_a_closed_matter_is_refused_with_a_reason(client_as, session, matter):
    matter.state = MatterState.cancelled
    session.commit()
    worker = english(client_as("demo_worker"))
    page = worker.get(f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)
    assert 'id="gridlink-risk-form"' not in page
    response = post_risk(worker, matter)
    assert response.status_code == 302
    shown = worker.get(response.headers["Location"]).get_data(as_text=True)
    assert "This matter is closed (Cancelled)" in shown
    assert session.scalar(select(func.count()).select_from(RiskReport)
                          .where(RiskReport.matter_id == matter.id)) == 0


def test_a_worker_of_another_grid_is_refused(session, matter):
    """A worker account of 丰收村: the page is out of its reach (404), and the rule
    itself says why."""
    neighbour = session.scalar(Grid.current().where(Grid.name == "丰收村",
                                                    Grid.code.startswith("445302001")))
    worker = User(username="fengshou_worker", display_name="丰收村网格员",
                  role=Role.grid_worker, grid=neighbour, active=True)
    with pytest.raises(RequestError, match="not with your grid"):
        report_risk(session, matter, worker, kind="other", description="x")


def test_a_worker_of_another_grid_gets_nothing_through_the_page(client_as, session, matter):
    neighbour = session.scalar(Grid.current().where(Grid.name == "丰收村",
                                                    Grid.code.startswith("445302001")))
    account = User(username="fengshou_worker", display_name="丰收村网格员",
                   role=Role.grid_worker, grid=neighbour, active=True)
    account.set_password("Yunfu2026demo", demo_account=True)
    session.add(account)
    session.commit()
    assert post_risk(client_as("fengshou_worker"), matter).status_code == 404
    assert session.scalar(select(func.count()).select_from(RiskReport)
                          .where(RiskReport.matter_id == matter.id)) == 0


def test_court_side_writes_nothing(client_as, session, matter):
    for username in ("demo_court_yuncheng", "demo_admin", "demo_tribunal"):
        assert post_risk(client_as(username), matter).status_code == 403
    assert session.scalar(select(func.count()).select_from(RiskReport)
                          .where(RiskReport.matter_id == matter.id)) == 0


def test_another_county_court_does_not_see_the_report(client_as, session, matter):
    report_risk(session, matter, user(session, "demo_worker"), kind="leaving",
                description="被执行人准备下周外出务工。")
    session.commit()
    account = User(username="luoding_staff", display_name="罗定法院干警", role=Role.court_staff,
                   court=court(session, "罗定市人民法院"), active=True)
    account.set_password("Yunfu2026demo", demo_account=True)
    session.add(account)
    session.commit()
    other = client_as("luoding_staff")
    assert "被执行人准备下周外出务工" not in other.get("/admin/risk/").get_data(as_text=True)
    assert other.get(f"/admin/matter/details/?id={matter.id}").status_code == 404


def test_an_administrator_reads_the_questions_but_does_not_ask(client):
    listed = client.get("/admin/my-advice/")
    assert listed.status_code == 200 and 'id="gridlink-advice-ask"' not in listed.get_data(
        as_text=True)
    assert client.get("/admin/my-advice/new/").status_code == 403
    assert client.post("/admin/my-advice/new/", data={"topic": "land",
                                                      "question": QUESTION}).status_code == 403
