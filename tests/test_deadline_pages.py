"""The admin's deadline rules and holiday calendar pages; marks where matters appear."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from test_api_matters import court_system as court_system  # a fixture
from test_matter_export import rows_of
from test_matter_pages import XINGYAN_ADDRESS, YUNCHENG_COURT, file_directly

from admin.views.deadline_marks import MarkFilter
from models import AuditRecord, CalendarDay, DeadlineRule, Urgency, clock
from models.deadlines import DayKind
from models.matter_types import MatterType


def local(moment: datetime) -> str:
    """As pages show a moment: Beijing time, to the minute."""
    return f"{moment.astimezone(clock.SITE_ZONE):%Y-%m-%d %H:%M}"


def test_the_admin_sets_a_new_rule_through_the_page_and_the_old_one_ends(client, session):
    response = client.post("/admin/deadline_rule/new/", data={
        "matter_type": "*", "urgency": "normal", "accept_amount": "2",
        "accept_unit": "working_days", "finish_amount": "10", "finish_unit": "working_days",
        "valid_from": "2027-01-01", "note": "新规"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    rules = session.scalars(select(DeadlineRule).where(
        DeadlineRule.matter_type.is_(None), DeadlineRule.urgency == Urgency.normal)
        .order_by(DeadlineRule.valid_from)).all()
    assert [(r.accept_amount, r.finish_amount, r.valid_to) for r in rules] == [
        (1, 7, date(2027, 1, 1)), (2, 10, None)]
    assert session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.entity == "deadline_rule")) >= 2  # the old one ended, the new one
    page = client.get("/admin/deadline_rule/").get_data(as_text=True)
    assert "2 个工作日" in page and "10 个工作日" in page and "2 小时" in page
    assert "期限规则" in page and "任意类型" in page


def test_a_rule_for_one_type_and_a_refused_start(client, session):
    response = client.post("/admin/deadline_rule/new/", data={
        "matter_type": "find_property", "urgency": "urgent", "accept_amount": "4",
        "accept_unit": "hours", "finish_amount": "5", "finish_unit": "working_days",
        "valid_from": "2027-01-01"})
    assert response.status_code == 302
    assert session.scalar(select(DeadlineRule).where(
        DeadlineRule.matter_type == MatterType.find_property)).accept_amount == 4
    again = client.post("/admin/deadline_rule/new/", data={
        "matter_type": "find_property", "urgency": "urgent", "accept_amount": "3",
        "accept_unit": "hours", "finish_amount": "5", "finish_unit": "working_days",
        "valid_from": "2026-12-01"}, follow_redirects=True)
    assert "新规则须晚于" in again.get_data(as_text=True)


@pytest.mark.parametrize("username", ["demo_court_yuncheng", "demo_city_committee",
                                      "demo_town_centre"])
def test_only_the_admin_changes_rules_and_calendar(client_as, session, username):
    user = client_as(username)
    assert user.get("/admin/deadline_rule/").status_code == 200
    assert user.get("/admin/calendar/").status_code == 200
    user.post("/admin/deadline_rule/new/", data={
        "matter_type": "*", "urgency": "normal", "accept_amount": "9",
        "accept_unit": "hours", "finish_amount": "9", "finish_unit": "hours",
        "valid_from": "2027-01-01"})
    user.post("/admin/calendar/new/", data={"day": "2027-01-01", "kind": "holiday"})
    user.post("/admin/calendar/delete/", data={"id": "2026-10-01"})
    assert session.scalar(select(func.count()).select_from(DeadlineRule).where(
        DeadlineRule.accept_amount == 9)) == 0
    assert session.get(CalendarDay, date(2027, 1, 1)) is None
    assert session.get(CalendarDay, date(2026, 10, 1)) is not None


@pytest.mark.parametrize("username", ["demo_liaison", "demo_worker"])
def test_the_grid_does_not_see_the_rule_pages(client_as, username):
    user = client_as(username)
    assert user.get("/admin/deadline_rule/").status_code == 403
    assert user.get("/admin/calendar/").status_code == 403


def test_the_admin_keeps_the_calendar(client, session):
    page = client.get("/admin/calendar/").get_data(as_text=True)
    assert "节假日安排" in page and "国庆节" in page and "调休上班" in page
    response = client.post("/admin/calendar/new/", data={
        "day": "2027-01-01", "kind": "holiday", "name": "元旦", "note": "待国务院通知"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert session.get(CalendarDay, date(2027, 1, 1)).kind is DayKind.holiday
    edited = client.post("/admin/calendar/edit/?id=2026-10-10", data={
        "day": "2026-10-10", "kind": "holiday", "name": "国庆节"})
    assert edited.status_code == 302
    session.expire_all()
    assert session.get(CalendarDay, date(2026, 10, 10)).kind is DayKind.holiday
    assert client.post("/admin/calendar/delete/", data={"id": "2026-10-10"}).status_code == 302
    assert session.get(CalendarDay, date(2026, 10, 10)) is None
    actions = session.scalars(select(AuditRecord.action).where(
        AuditRecord.entity == "calendar_day")).all()
    assert {"create", "update", "delete"} <= set(actions)


# --- the marks where the matter appears -----------------------------------------------------

@pytest.fixture
def late_matter(session):
    """A matter of 星岩社区 (the demo liaison's grid), its accept deadline two hours past."""
    matter = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执777号", XINGYAN_ADDRESS)
    matter.accept_due_at = clock.now() - timedelta(hours=2)
    matter.finish_due_at = clock.now() + timedelta(days=9)
    session.flush()
    return matter


def test_the_matter_page_shows_both_deadlines_in_beijing_time_and_the_mark(client, late_matter):
    page = client.get(f"/admin/matter/details/?id={late_matter.id}").get_data(as_text=True)
    accept = page[page.index('id="gridlink-accept-due"'):][:200]
    assert local(late_matter.accept_due_at) in accept and "签收已超期" in accept
    finish = page[page.index('id="gridlink-finish-due"'):][:200]
    assert local(late_matter.finish_due_at) in finish and "gridlink-mark" not in finish
    assert late_matter.accept_due_at.isoformat()[:16] not in page  # no raw ISO


def test_the_matter_list_and_the_liaisons_home_mark_it(client_as, late_matter):
    liaison = client_as("demo_liaison")
    listed = liaison.get("/admin/matter/?search=粤5302执777号").get_data(as_text=True)
    assert "签收已超期" in listed and local(late_matter.accept_due_at) in listed
    home = liaison.get("/admin/").get_data(as_text=True)
    row = home[home.index('data-case="（2026）粤5302执777号"'):][:1500]
    assert "签收已超期" in row


def test_the_api_gives_the_deadlines_and_the_mark(court_system, late_matter):
    found = court_system.get(f"/api/v1/matters/{late_matter.id}").get_json()
    assert found["deadline"]  # the court's own date stays
    assert datetime.fromisoformat(found["accept_due_at"]) == late_matter.accept_due_at
    assert datetime.fromisoformat(found["finish_due_at"]) == late_matter.finish_due_at
    assert found["deadline_mark"]["which"] == "accept"
    assert found["deadline_mark"]["mark"] == "overdue"
    rows = court_system.get("/api/v1/matters?limit=20").get_json()["matters"]
    assert rows and all("deadline_mark" in r and "finish_due_at" in r for r in rows)
    assert next(r for r in rows if r["id"] == str(late_matter.id))["deadline_mark"]["label"]


def test_the_spreadsheet_has_the_deadlines_and_the_mark(client, late_matter):
    response = client.get("/admin/matter/export.xlsx?search=粤5302执777号")
    (row,) = rows_of(response)
    assert row["签收期限"] == local(late_matter.accept_due_at)
    assert row["办结期限"] == local(late_matter.finish_due_at)
    assert row["期限提示"].startswith("签收期限") and row["期限提示"].endswith("签收已超期")


def test_the_matter_list_filters_what_is_overdue_and_due_soon(app, client, late_matter, session):
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "matter")
    index = next(i for i, f in enumerate(view._filters) if isinstance(f, MarkFilter))
    overdue = client.get(f"/admin/matter/?flt0_{index}=overdue&search=粤5302执777")
    assert "（2026）粤5302执777号" in overdue.get_data(as_text=True)
    soon = client.get(f"/admin/matter/?flt0_{index}=due_soon&search=粤5302执777")
    assert "（2026）粤5302执777号" not in soon.get_data(as_text=True)
    assert client.get(f"/admin/matter/?flt0_{index}=nonsense").status_code in (200, 400)
