"""Labour fees (劳务费): the effective-dated fee table, the ledger that always equals the
fully signed forms, statements, their Excel, and marking one paid."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from conftest import as_superuser
from openpyxl import load_workbook
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from test_record_forms import OUTCOME, account, done_matter

from admin.fees_excel import statement_workbook
from models import AuditRecord, Court, Grid, MatterState, MatterType, Role, User
from models.fees import (
    FeeError,
    FeeRule,
    LedgerLine,
    Statement,
    StatementState,
    local_day,
    make_statement,
    mark_paid,
    rule_in_force,
    set_fee,
)
from models.record_forms import OutcomeKind, RecordForm, make_form, sign_as_court, sign_as_worker

LUODING_COURT = "罗定市人民法院"
LUODING_VILLAGE = "云浮市罗定市罗镜镇云龙村三组12号"  # 罗定's 罗镜镇 has a tribunal


def at(day: date, hour: int = 3) -> datetime:
    """A moment of that day in China (03:00 UTC is 11:00 in Yunfu)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def person(session, username, role, *, court=None, grid_code=None) -> User:
    user = User(username=username, display_name=username, role=role, password_hash="x",
                court=session.scalar(select(Court).where(Court.name == court)) if court else None,
                grid=session.scalar(Grid.current().where(Grid.code == grid_code))
                if grid_code else None)
    session.add(user)
    session.flush()
    return user


def signed(session, matter, worker, officer, day: date, reward=None, kind_data=OUTCOME):
    form = make_form(session, matter, kind_data, actor=worker)
    sign_as_worker(session, form, worker, now=at(day, 1))
    line = sign_as_court(session, form, officer, bounty_reward=reward, now=at(day))
    matter.move_to(MatterState.confirmed)  # what the workflow's confirm then does
    session.flush()
    return form, line


# --- the fee table -------------------------------------------------------------------------

def test_a_new_fee_ends_the_old_rule_and_lines_use_the_rule_of_their_day(session):
    old = rule_in_force(session, MatterType.service, OutcomeKind.completed, date(2026, 3, 1))
    assert old is not None and old.valid_to is None
    new = set_fee(session, MatterType.service, OutcomeKind.completed, Decimal("130"),
                  date(2026, 6, 1))
    assert old.valid_to == date(2026, 6, 1) and old.amount == Decimal("100.00")  # kept
    assert rule_in_force(session, MatterType.service, OutcomeKind.completed,
                         date(2026, 5, 31)) is old
    assert rule_in_force(session, MatterType.service, OutcomeKind.completed,
                         date(2026, 6, 1)) is new
    worker, officer = account(session, "demo_worker"), account(session, "demo_court_yuncheng")
    _, may_line = signed(session, done_matter(session, "（2026）粤5302执401号", serial="401"),
                         worker, officer, date(2026, 5, 31))
    _, june_line = signed(session, done_matter(session, "（2026）粤5302执402号", serial="402"),
                          worker, officer, date(2026, 6, 1))
    assert (may_line.amount, may_line.fee_rule_id) == (Decimal("100.00"), old.id)
    assert (june_line.amount, june_line.fee_rule_id) == (Decimal("130.00"), new.id)
    assert may_line.month == date(2026, 5, 1) and june_line.month == date(2026, 6, 1)


def test_a_new_fee_must_start_after_the_one_in_force(session):
    with pytest.raises(FeeError, match="must start later"):
        set_fee(session, MatterType.service, OutcomeKind.completed, Decimal("1"),
                date(2025, 1, 1))


def test_the_database_refuses_to_change_a_fees_amount_in_place(session):
    rule = rule_in_force(session, MatterType.witness, OutcomeKind.completed, date(2026, 3, 1))
    with pytest.raises(DBAPIError, match="never changed"), session.begin_nested():
        session.execute(text("UPDATE fee_rules SET amount = 1 WHERE id = :id"), {"id": rule.id})


def test_a_search_without_result_is_not_paid_by_default(session):
    worker, officer = account(session, "demo_worker"), account(session, "demo_court_yuncheng")
    matter = done_matter(session, "（2026）粤5302执403号", serial="403")
    form, line = signed(session, matter, worker, officer, date(2026, 4, 2),
                        kind_data={"method": "not_served"})
    assert form.outcome_kind is OutcomeKind.searched
    assert (line.amount, line.fee_rule_id) == (Decimal("0.00"), None)


def test_the_night_before_midnight_in_china_is_the_next_day():
    """The day (and month) is the court's: 16:30 UTC on 31 March is 1 April in Yunfu."""
    assert local_day(datetime(2026, 3, 31, 16, 30, tzinfo=UTC)) == date(2026, 4, 1)


# --- the ledger equals the signed forms ------------------------------------------------------

@pytest.fixture
def year_of_work(session):
    """Two courts (one through its tribunal), three workers, three months, a bounty, a
    correction and an unsigned form: the ledger must still equal the signed forms. (The
    demo's own year of fees is set aside first, inside the test's transaction: these
    tests count their own lines.)"""
    with as_superuser(session):
        for table in ("ledger_lines", "fee_statements", "record_forms"):
            session.execute(text(f"DELETE FROM {table}"))
    yc_worker, yc_officer = account(session, "demo_worker"), account(session,
                                                                      "demo_court_yuncheng")
    yc_worker2 = person(session, "t_worker_xy2", Role.grid_worker, grid_code="445302001003")
    ld_worker = person(session, "t_worker_ld", Role.grid_worker,
                       grid_code=_grid_of(session, LUODING_VILLAGE))
    ld_officer = person(session, "t_officer_ld", Role.court_staff, court=LUODING_COURT)
    ld_tribunal_officer = person(session, "t_officer_ld_t", Role.court_staff,
                                 court="罗定市人民法院罗镜人民法庭")
    plan = [  # case, court, address, worker, officer, day, bounty reward
        ("（2026）粤5302执501号", "yc", yc_worker, yc_officer, date(2026, 2, 3), None),
        ("（2026）粤5302执502号", "yc", yc_worker2, yc_officer, date(2026, 2, 28), None),
        ("（2026）粤5302执503号", "yc", yc_worker, yc_officer, date(2026, 3, 9), Decimal("800")),
        ("（2026）粤5381执504号", "ld", ld_worker, ld_officer, date(2026, 2, 14), None),
        ("（2026）粤5381执505号", "ldt", ld_worker, ld_tribunal_officer, date(2026, 4, 1), None),
    ]
    courts = {"yc": "云浮市云城区人民法院", "ld": LUODING_COURT,
              "ldt": "罗定市人民法院罗镜人民法庭"}
    forms = []
    for n, (case, court, worker, officer, day, reward) in enumerate(plan):
        address = "云浮市云城区云城街道星岩社区" if court == "yc" else LUODING_VILLAGE
        matter = done_matter(session, case, courts[court], address, serial=f"5{n:02d}",
                             bounty=reward is not None)
        if n == 1:
            matter.matter_type = MatterType.find_property  # 200 yuan, not 100
        form, _ = signed(session, matter, worker, officer, day, reward)
        forms.append(form)
    # A correction of a signed form, signed again: only the new version counts.
    from models.record_forms import correct
    new = correct(session, forms[0], {**forms[0].content, "outcome": {"result": "served"}},
                  yc_officer)
    sign_as_worker(session, new, yc_worker, now=at(date(2026, 3, 2), 1))
    sign_as_court(session, new, yc_officer, now=at(date(2026, 3, 2)))
    # Made, signed by the worker only: owes nothing yet.
    half = make_form(session, done_matter(session, "（2026）粤5302执506号", serial="506"),
                     OUTCOME, actor=yc_worker)
    sign_as_worker(session, half, yc_worker)
    return {"yc": yc_officer, "ld": ld_officer}


def _grid_of(session, address):
    from geo.locate import locate_text
    return locate_text(session, address)["grid"]["code"]


def expected_fees(session) -> dict[tuple, Decimal]:
    """Straight from the forms: each current, fully signed form's fee by the rule of the
    court's day, per (paying court, worker, month)."""
    out: dict[tuple, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for form in session.scalars(select(RecordForm).where(
            RecordForm.superseded_by.is_(None), RecordForm.court_signed_at.is_not(None))):
        day = local_day(form.court_signed_at)
        rule = rule_in_force(session, form.matter.matter_type, form.outcome_kind, day)
        court = form.matter.court.parent if form.matter.court.parent and \
            form.matter.court.kind.value == "tribunal" else form.matter.court
        out[(court.id, form.worker_signed_by_id, day.replace(day=1))] += \
            rule.amount if rule else Decimal("0.00")
    return dict(out)


def ledger_fees(session) -> dict[tuple, Decimal]:
    return {(c, w, m): s for c, w, m, s in session.execute(
        select(LedgerLine.court_id, LedgerLine.worker_id, LedgerLine.month,
               func.sum(LedgerLine.amount)).where(LedgerLine.voided_at.is_(None))
        .group_by(LedgerLine.court_id, LedgerLine.worker_id, LedgerLine.month))}


def test_the_demo_years_ledger_equals_its_signed_forms(session):
    """The demo writes its year set-based (seeds.demo_life): the same invariant holds."""
    expected = expected_fees(session)
    assert expected and ledger_fees(session) == expected
    assert session.scalar(select(func.count()).select_from(LedgerLine)) == session.scalar(
        select(func.count()).select_from(RecordForm).where(
            RecordForm.court_signed_at.is_not(None)))


def test_ledger_totals_equal_the_fully_signed_forms(session, year_of_work):
    expected = expected_fees(session)
    assert ledger_fees(session) == expected
    # 云城: worker 2 in February, demo_worker in March (501 corrected into March, and 503);
    # 罗定: February, and April through its tribunal.
    assert len(expected) == 4
    # The bounty's reward is recorded beside its fee, never in it.
    bounty = session.scalar(select(LedgerLine).where(LedgerLine.bounty.is_(True),
                                                     LedgerLine.voided_at.is_(None)))
    assert (bounty.amount, bounty.bounty_reward) == (Decimal("100.00"), Decimal("800.00"))
    # The tribunal's matter is paid by its base court.
    luoding = session.scalar(select(Court).where(Court.name == LUODING_COURT))
    assert session.scalar(select(func.count()).select_from(LedgerLine).where(
        LedgerLine.court_id == luoding.id, LedgerLine.voided_at.is_(None))) == 2


def test_statements_sum_their_lines_and_the_excel_says_the_same(session, year_of_work):
    yuncheng = session.scalar(select(Court).where(Court.name == "云浮市云城区人民法院"))
    february = make_statement(session, yuncheng, date(2026, 2, 1))
    march = make_statement(session, yuncheng, date(2026, 3, 1))
    fees = ledger_fees(session)
    for statement, month in ((february, date(2026, 2, 1)), (march, date(2026, 3, 1))):
        assert statement.total == sum(v for (c, _, m), v in fees.items()
                                      if c == yuncheng.id and m == month)
    assert february.total == Decimal("200.00")  # 501 was corrected into March
    assert march.total == Decimal("200.00") and march.bounty_total == Decimal("800.00")

    book = load_workbook(BytesIO(statement_workbook(session, march)))
    lines, workers = book["结算明细"], book["按网格员汇总"]
    assert "云浮市云城区人民法院" in lines["A1"].value and "2026-03" in lines["A1"].value
    rows = list(lines.iter_rows(min_row=3, values_only=True))
    body, totals = rows[:-1], rows[-1]
    assert totals[0] == "合计" and totals[7] == float(march.total) == sum(r[7] for r in body)
    assert totals[9] == 800.0
    assert {r[1] for r in body} == {"（2026）粤5302执501号", "（2026）粤5302执503号"}
    worker_rows = list(workers.iter_rows(min_row=3, values_only=True))
    assert worker_rows[-1][4] == float(march.total) == sum(r[4] for r in worker_rows[:-1])

    with pytest.raises(FeeError, match="no unsettled fees"):
        make_statement(session, yuncheng, date(2026, 2, 1))  # already on a statement


def test_mark_paid_moves_the_matters_to_paid_once_and_is_audited(session, year_of_work):
    luoding = session.scalar(select(Court).where(Court.name == LUODING_COURT))
    statement = make_statement(session, luoding, (date(2026, 1, 1), date(2026, 7, 1)))
    assert len(statement.lines) == 2
    officer = year_of_work["ld"]
    mark_paid(session, statement, officer)
    assert statement.state is StatementState.paid and statement.paid_by_id == officer.id
    assert {line.matter.state for line in statement.lines} == {MatterState.paid}
    record = session.scalar(select(AuditRecord).where(
        AuditRecord.action == "mark_statement_paid",
        AuditRecord.entity_id == str(statement.id)))
    assert record.actor == officer.display_name and record.after["total"] == "200.00"
    with pytest.raises(FeeError, match="already marked paid"):
        mark_paid(session, statement, officer)
    # A paid form's fee cannot be corrected away.
    from models.record_forms import correct
    with pytest.raises(FeeError, match="can no longer be corrected"):
        correct(session, statement.lines[0].form, {}, officer)


def test_a_matter_not_yet_confirmed_cannot_be_paid(session):
    worker, officer = account(session, "demo_worker"), account(session, "demo_court_yuncheng")
    matter = done_matter(session, "（2026）粤5302执601号", serial="601")
    form = make_form(session, matter, OUTCOME, actor=worker)
    sign_as_worker(session, form, worker, now=at(date(2026, 8, 3), 1))
    sign_as_court(session, form, officer, now=at(date(2026, 8, 3)))  # not confirmed after
    statement = make_statement(session, matter.court, date(2026, 8, 1))
    with pytest.raises(FeeError, match="not confirmed yet"):
        mark_paid(session, statement, officer)


def test_a_reward_only_for_a_bounty_matter(session):
    worker, officer = account(session, "demo_worker"), account(session, "demo_court_yuncheng")
    matter = done_matter(session, "（2026）粤5302执602号", serial="602")
    form = make_form(session, matter, OUTCOME, actor=worker)
    sign_as_worker(session, form, worker)
    with pytest.raises(FeeError, match="only for a matter under an enforcement bounty"):
        sign_as_court(session, form, officer, bounty_reward=Decimal("500"))


def test_the_fee_table_keeps_history(session):
    before = session.scalar(select(func.count()).select_from(FeeRule))
    set_fee(session, MatterType.other, OutcomeKind.completed, Decimal("120"),
            date.today() + timedelta(days=30))
    assert session.scalar(select(func.count()).select_from(FeeRule)) == before + 1


# --- the pages -----------------------------------------------------------------------------

def english(client):
    client.get("/lang/en")
    return client


def test_the_admin_sets_a_new_fee_through_the_page_and_the_old_one_ends(client, session):
    response = client.post("/admin/fee_rule/new/", data={
        "matter_type": "witness", "outcome_kind": "completed", "amount": "140.00",
        "valid_from": "2027-01-01", "note": "调价"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    rules = session.scalars(select(FeeRule).where(
        FeeRule.matter_type == MatterType.witness,
        FeeRule.outcome_kind == OutcomeKind.completed).order_by(FeeRule.valid_from)).all()
    assert [(r.amount, r.valid_to) for r in rules] == [
        (Decimal("100.00"), date(2027, 1, 1)), (Decimal("140.00"), None)]
    page = client.get("/admin/fee_rule/").get_data(as_text=True)
    assert "140.00" in page and "100.00" in page


@pytest.mark.parametrize("username", ["demo_court_yuncheng", "demo_city_committee"])
def test_only_the_admin_changes_the_fee_table(client_as, session, username):
    user = client_as(username)
    assert user.get("/admin/fee_rule/").status_code == 200
    response = user.post("/admin/fee_rule/new/", data={
        "matter_type": "witness", "outcome_kind": "completed", "amount": "1",
        "valid_from": "2027-01-01"})
    assert response.status_code in (302, 403)
    assert session.scalar(select(func.count()).select_from(FeeRule).where(
        FeeRule.amount == Decimal("1"))) == 0


@pytest.mark.parametrize("username", ["demo_liaison", "demo_worker", "demo_town_centre",
                                      "demo_city_committee"])
def test_statements_are_for_courts_and_admins(client_as, username):
    assert client_as(username).get("/admin/statement/").status_code == 403


def test_a_court_makes_exports_and_pays_its_statement(client_as, session, year_of_work):
    court = english(client_as("demo_court_yuncheng"))
    yuncheng = session.scalar(select(Court).where(Court.name == "云浮市云城区人民法院"))
    response = court.post("/admin/statement/make/", data={"court": str(yuncheng.id),
                                                          "month": "2026-03"})
    assert response.status_code == 302
    statement = session.scalar(select(Statement).where(Statement.court_id == yuncheng.id))
    page = court.get(response.headers["Location"]).get_data(as_text=True)
    assert "（2026）粤5302执503号" in page and "200.00" in page
    excel = court.get(f"/admin/statement/{statement.id}/excel/")
    assert excel.status_code == 200 and "attachment" in excel.headers["Content-Disposition"]
    assert load_workbook(BytesIO(excel.get_data()))["结算明细"]["A1"].value.startswith(
        "云浮市云城区人民法院")
    paid = f"/admin/statement/{statement.id}/paid/"
    assert court.post(paid, data={}).status_code == 302
    session.expire_all()
    assert statement.state is StatementState.paid
    assert {line.matter.state for line in statement.lines} == {MatterState.paid}
    again = court.post(paid, data={}, follow_redirects=True)
    assert "already marked paid" in again.get_data(as_text=True)


def test_another_countys_court_cannot_see_or_pay_a_statement(client_as, session, year_of_work):
    luoding = session.scalar(select(Court).where(Court.name == LUODING_COURT))
    statement = make_statement(session, luoding, date(2026, 2, 1))
    court = client_as("demo_court_yuncheng")
    assert court.get(f"/admin/statement/details/?id={statement.id}").status_code == 404
    assert court.get(f"/admin/statement/{statement.id}/excel/").status_code == 404
    assert court.post(f"/admin/statement/{statement.id}/paid/", data={}).status_code == 404
    session.refresh(statement)
    assert statement.state is StatementState.draft
    assert "（2026）粤5381" not in court.get("/admin/ledger/").get_data(as_text=True)
    # Nor make one for a court it does not act for.
    response = court.post("/admin/statement/make/", data={"court": str(luoding.id),
                                                          "month": "2026-04"})
    assert session.scalar(select(func.count()).select_from(Statement).where(
        Statement.court_id == luoding.id)) == 1
    assert response.status_code == 302


def test_the_intermediate_court_reads_but_does_not_pay_a_base_courts_statement(
        client_as, session, year_of_work):
    luoding = session.scalar(select(Court).where(Court.name == LUODING_COURT))
    statement = make_statement(session, luoding, date(2026, 2, 1))
    city = client_as("demo_court_city")
    assert city.get(f"/admin/statement/details/?id={statement.id}").status_code == 200
    assert city.post(f"/admin/statement/{statement.id}/paid/", data={}).status_code == 403


def test_a_grid_worker_sees_only_their_own_lines(client_as, year_of_work):
    page = client_as("demo_worker").get("/admin/ledger/").get_data(as_text=True)
    assert "（2026）粤5302执503号" in page
    assert "（2026）粤5302执502号" not in page  # another worker's
    assert "（2026）粤5381" not in page


def test_a_committee_sees_totals_without_names(client_as, year_of_work):
    committee = client_as("demo_city_committee")
    assert committee.get("/admin/ledger/").status_code == 403
    page = committee.get("/admin/fee_totals/").get_data(as_text=True)
    assert "云浮市云城区人民法院" in page and "罗定市人民法院" in page
    assert "t_worker_ld" not in page
    county = client_as("demo_yuncheng_committee").get("/admin/fee_totals/")
    assert "罗定市人民法院" not in county.get_data(as_text=True)


@pytest.mark.parametrize("username, url", [
    ("demo_admin", "/admin/statement/"), ("demo_court_yuncheng", "/admin/statement/"),
    ("demo_admin", "/admin/ledger/?flt0_0=2026-03-01"), ("demo_liaison", "/admin/ledger/"),
    ("demo_court_city", "/admin/fee_totals/"), ("demo_admin", "/admin/fee_rule/new/"),
    ("demo_court_yuncheng", "/admin/ledger/?search=执503"),
])
def test_the_fee_pages_open(client_as, year_of_work, username, url):
    response = client_as(username).get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]


def test_the_make_form_offers_only_the_courts_acted_for(client_as, year_of_work):
    page = client_as("demo_court_yuncheng").get("/admin/statement/").get_data(as_text=True)
    form = page[page.index('id="gridlink-make-statement"'):]
    form = form[:form.index("</form>")]
    assert "云浮市云城区人民法院" in form and "罗定市人民法院" not in form


def test_a_correction_takes_the_line_off_its_unpaid_statement(session):
    worker, officer = account(session, "demo_worker"), account(session, "demo_court_yuncheng")
    matter = done_matter(session, "（2026）粤5302执603号", serial="603")
    form, line = signed(session, matter, worker, officer, date(2026, 9, 7))
    statement = make_statement(session, matter.court, date(2026, 9, 1))
    assert statement.total == Decimal("100.00")
    from models.record_forms import correct
    correct(session, form, {**form.content, "outcome": {"result": "served"}}, officer)
    assert line.voided_at is not None and line.statement is None
    assert statement.lines == [] and statement.total == Decimal("0.00")


def test_a_bounty_reward_is_recorded_on_the_statement_until_paid(client_as, session,
                                                                 year_of_work):
    yuncheng = session.scalar(select(Court).where(Court.name == "云浮市云城区人民法院"))
    statement = make_statement(session, yuncheng, date(2026, 3, 1))
    bounty = next(x for x in statement.lines if x.bounty)
    plain = next(x for x in statement.lines if not x.bounty)
    court = english(client_as("demo_court_yuncheng"))
    url = f"/admin/statement/{statement.id}/reward/"
    assert court.post(url + f"{bounty.id}/", data={"amount": "1200"}).status_code == 302
    session.expire_all()
    assert bounty.bounty_reward == Decimal("1200.00") and bounty.amount == Decimal("100.00")
    assert statement.bounty_total == Decimal("1200.00") and statement.total == Decimal("200.00")
    assert session.scalar(select(AuditRecord).where(
        AuditRecord.action == "record_bounty_reward",
        AuditRecord.entity_id == str(bounty.id))).before == {"bounty_reward": "800.00"}
    refused = court.post(url + f"{plain.id}/", data={"amount": "5"}, follow_redirects=True)
    assert "only for a matter under an enforcement bounty" in refused.get_data(as_text=True)
    mark_paid(session, statement, year_of_work["yc"])
    late = court.post(url + f"{bounty.id}/", data={"amount": "1"}, follow_redirects=True)
    assert "can no longer change" in late.get_data(as_text=True)
    assert client_as("demo_court_city").post(url + f"{bounty.id}/",
                                             data={"amount": "1"}).status_code == 403
