"""The liaison list workflow (联络员名单报送), through the admin pages: a town centre
fills in the Excel template and submits its list, the county committee reviews what
it changes and returns or approves it, the approved entries reach the roster the
courts read, and the lists go out as Excel in the document's layout.

Pages are read in English (/lang/en) so that the assertions do not depend on the
wording of the Chinese catalogue."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from admin.excel import COURT_HEADERS, LIAISON_HEADERS, TEMPLATE_HEADERS
from admin.views.formatters import mask_phone
from models import (
    AuditRecord,
    Grid,
    Person,
    Role,
    RosterEntry,
    RosterRole,
    Submission,
    SubmissionState,
    User,
)
from models.directory import LANDLINE, MOBILE, check, normalise_phone
from seeds.accounts import DEMO_PASSWORD

TOWN = "445302001000"  # 云城街道, the demo town centre's town
XINGYAN = "445302001003"  # 星岩社区, in 云城街道
LUODING_VILLAGE_PREFIX = "445381"  # 罗定市: another county
NEW_LIAISON = ("周新民", "13800001111")
XLSX_MAGIC = b"PK"


# --- helpers ---------------------------------------------------------------------------

def english(client):
    client.get("/lang/en")
    return client


@pytest.fixture
def town(client_as):
    return english(client_as("demo_town_centre"))


@pytest.fixture
def committee(client_as):
    return english(client_as("demo_yuncheng_committee"))


@pytest.fixture
def other_town_centre(session):
    """The centre of 前锋镇: in 云城区, but another town."""
    qianfeng = session.scalar(Grid.current().where(Grid.name == "前锋镇"))
    user = User(username="test_qianfeng_centre", display_name="前锋镇微网格中心",
                role=Role.town_centre, grid=qianfeng, active=True)
    user.set_password(DEMO_PASSWORD, demo_account=True)
    session.add(user)
    session.flush()
    return user


def start(client) -> str:
    response = client.post("/admin/directory/new/", data={})
    assert response.status_code == 302, response.get_data(as_text=True)
    return re.search(r"/admin/directory/([0-9a-f-]{36})/", response.headers["Location"]).group(1)


def template(client):
    response = client.get("/admin/directory/template.xlsx")
    assert response.status_code == 200 and response.data[:2] == XLSX_MAGIC
    return load_workbook(BytesIO(response.data))


def upload(client, submission_id: str, workbook) -> str:
    out = BytesIO()
    workbook.save(out)
    out.seek(0)
    response = client.post(f"/admin/directory/{submission_id}/upload/",
                           data={"file": (out, "名单.xlsx")}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def data_rows(sheet) -> list[list]:
    return [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)
            if any(v is not None for v in r)]


def set_liaison(sheet, code: str, name: str, phone: str) -> None:
    for row in sheet.iter_rows(min_row=3):
        if row[2].value == code and row[6].value == "联络员":
            row[3].value, row[5].value = name, phone
            return
    raise AssertionError(f"no liaison row for {code}")


def current_liaison(session, code: str, on: date | None = None) -> RosterEntry:
    session.expire_all()
    return session.scalar(RosterEntry.current(on).join(Grid, RosterEntry.grid_id == Grid.id)
                          .where(Grid.code == code, RosterEntry.role == RosterRole.liaison))


def state_of(session, submission_id: str) -> SubmissionState:
    session.expire_all()
    return session.get(Submission, submission_id).state


def step(client, submission_id: str, name: str, **form) -> str:
    response = client.post(f"/admin/directory/{submission_id}/{name}/", data=form,
                           follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def submitted_list(town, session) -> str:
    """A list that changes 星岩社区's liaison, submitted by the town."""
    submission_id = start(town)
    workbook = template(town)
    set_liaison(workbook.active, XINGYAN, *NEW_LIAISON)
    upload(town, submission_id, workbook)
    step(town, submission_id, "submit")
    assert state_of(session, submission_id) is SubmissionState.submitted
    return submission_id


# --- the rules of a row ---------------------------------------------------------------

@pytest.mark.parametrize(("typed", "kept", "valid"), [
    ("13800138000", "13800138000", True),
    ("138 0013 8000", "13800138000", True),
    ("１３８００１３８０００", "13800138000", True),  # typed with a full-width input method
    ("10007660001", "10007660001", True),  # the demo's numbers
    ("0766-8123456", "0766-8123456", True),
    ("07668123456", "0766-8123456", True),
    ("0766 8123456", "0766-8123456", True),
    ("0755-8123456", "0755-8123456", False),  # another city's landline
    ("1380013800", "1380013800", False),
    ("8123456", "8123456", False),
])
def test_phones_are_mobiles_or_yunfu_landlines(typed, kept, valid):
    phone = normalise_phone(typed)
    assert phone == kept
    assert bool(MOBILE.fullmatch(phone) or LANDLINE.fullmatch(phone)) is valid


# --- drafting and submitting -----------------------------------------------------------

def test_the_template_holds_the_towns_roster_to_correct(town, session):
    sheet = template(town).active
    assert [c.value for c in sheet[2]] == TEMPLATE_HEADERS
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A3"
    rows = data_rows(sheet)
    liaison = current_liaison(session, XINGYAN)
    assert ["云城街道", "星岩社区", XINGYAN, liaison.person.name, liaison.title,
            liaison.person.phone, "联络员"] in rows
    assert all(r[2].startswith(TOWN[:9]) for r in rows)
    assert sheet["C3"].number_format == "@"  # codes stay text in Excel


def test_bad_rows_are_listed_kept_and_block_submission_until_corrected(town, session):
    submission_id = start(town)
    workbook = template(town)
    sheet = workbook.active
    set_liaison(sheet, XINGYAN, *NEW_LIAISON)
    luoding = session.scalar(Grid.current().where(Grid.code.startswith(LUODING_VILLAGE_PREFIX),
                                                  Grid.level == "village").order_by(Grid.code))
    first = sheet.max_row + 1  # below the rows the template formats for typing
    for row in (["云城街道", "", "445302001999", "甲", "", "13800002222", "网格员"],
                ["云城街道", "", luoding.code, "乙", "", "13800003333", "网格员"],
                ["云城街道", "星岩社区", XINGYAN, "", "", "13800004444", "网格员"],
                ["云城街道", "星岩社区", XINGYAN, "丙", "网格员", "12345", "网格员"],
                ["云城街道", "星岩社区", XINGYAN, "丁", "社区网格长", "13800005555", "联络员"],
                ["云城街道", "星岩社区", XINGYAN, "戊", "网格员", "0766-8123456", "网格员"],
                ["云城街道", "星岩社区", XINGYAN, "戊", "网格员", "0766-8123456", "网格员"]):
        sheet.append(row)
    page = upload(town, submission_id, workbook)

    assert "unknown division code 445302001999" in page
    assert f"{luoding.code} is {luoding.name}, which is not in 云城街道" in page
    assert "the name is missing" in page
    assert "12345 is neither an 11-digit mobile number nor a 0766-xxxxxxx landline" in page
    assert "星岩社区 has more than one liaison" in page
    assert f"the same person is listed twice (rows {first + 5}、{first + 6})" in page
    for line in (first, first + 1, first + 2, first + 3, first + 4, first + 6):
        assert f'data-line="{line}" class="table-danger">' in page, line
    assert f'data-line="{first + 5}" >' in page  # the first of two copies is fine
    assert f'<a href="#row-{first}">{first}</a>' in page  # a link to each bad row
    # Nothing is lost: the good rows and the bad ones are all in the draft.
    submission = session.get(Submission, submission_id)
    assert len(submission.rows) == len(data_rows(sheet))
    assert NEW_LIAISON[0] in page

    page = step(town, submission_id, "submit")
    assert "Problems left in the list: 7. Correct them first." in page
    assert state_of(session, submission_id) is SubmissionState.draft

    # Correct the bad phone and the missing name by form, remove the other bad rows.
    rows = {r.line: r for r in session.get(Submission, submission_id).rows}
    town.post(f"/admin/directory/{submission_id}/rows/{rows[first + 3].id}/", data={
        "code": XINGYAN, "role": "grid_worker", "name": "丙", "title": "网格员",
        "phone": "138 0000 6666"})
    town.post(f"/admin/directory/{submission_id}/rows/{rows[first + 2].id}/", data={
        "code": XINGYAN, "role": "grid_worker", "name": "己", "title": "网格员",
        "phone": "0766 8123457"})
    for line in (first, first + 1, first + 4, first + 6):
        town.post(f"/admin/directory/{submission_id}/rows/{rows[line].id}/delete/", data={})
    session.expire_all()
    submission = session.get(Submission, submission_id)
    assert check(session, submission) == []
    assert {r.phone for r in submission.rows if r.name in ("丙", "己")} == {
        "13800006666", "0766-8123457"}

    page = step(town, submission_id, "submit")
    assert "The list was submitted to the political-legal committee." in page
    assert state_of(session, submission_id) is SubmissionState.submitted
    # A second click (or a second tab) changes nothing and says why.
    page = step(town, submission_id, "submit")
    assert "Cannot submit: the list is Submitted, and only a list that is Draft can be." in page
    assert state_of(session, submission_id) is SubmissionState.submitted


def test_rows_added_by_form_are_checked_like_uploaded_ones(town, session):
    submission_id = start(town)
    page = town.post(f"/admin/directory/{submission_id}/rows/", data={
        "code": XINGYAN, "role": "grid_worker", "name": "新网格员", "title": "网格员",
        "phone": "0766-812"}, follow_redirects=True).get_data(as_text=True)
    assert "0766-812 is neither an 11-digit mobile number" in page
    assert "Problems left in the list: 1." in step(town, submission_id, "submit")


def test_a_town_keeps_one_list_under_way(town):
    submission_id = start(town)
    page = town.post("/admin/directory/new/", data={}, follow_redirects=True).get_data(
        as_text=True)
    assert "云城街道 already has a list under way: carry on with it." in page
    listed = town.get("/admin/directory/").get_data(as_text=True)
    assert listed.count('<tr data-state="draft">') == 1 and submission_id in listed


def test_an_upload_that_is_no_workbook_leaves_the_draft_as_it_was(town, session):
    submission_id = start(town)
    before = len(session.get(Submission, submission_id).rows)
    page = town.post(f"/admin/directory/{submission_id}/upload/",
                     data={"file": (BytesIO(b"name,phone\n"), "list.xlsx")},
                     follow_redirects=True).get_data(as_text=True)
    assert "The file is not an Excel workbook (.xlsx)." in page
    session.expire_all()
    assert len(session.get(Submission, submission_id).rows) == before


def test_a_workbook_without_the_code_column_is_refused(town, session):
    submission_id = start(town)
    workbook = template(town)
    workbook.active["C2"] = "编码"
    assert "No header row with 区划代码 was found" in upload(town, submission_id, workbook)


# --- review and approval ---------------------------------------------------------------

def test_review_returns_then_approves_and_the_courts_see_the_new_liaison(
        town, committee, client_as, session):
    old = current_liaison(session, XINGYAN)
    old_name, old_id = old.person.name, old.id
    submission_id = submitted_list(town, session)

    page = committee.get(f"/admin/directory/{submission_id}/").get_data(as_text=True)
    change = re.search(rf'<tr data-kind="changed" data-code="{XINGYAN}".*?</tr>', page, re.S)
    assert change and old_name in change.group(0) and NEW_LIAISON[0] in change.group(0)
    assert "Full name、Phone" in change.group(0)
    assert page.count('data-kind="') == 1  # nothing else changes

    assert "Say why the list is returned." in step(committee, submission_id, "return",
                                                     comment="  ")
    assert state_of(session, submission_id) is SubmissionState.submitted
    step(committee, submission_id, "return", comment="星岩社区的职务请写全称")
    assert state_of(session, submission_id) is SubmissionState.returned
    page = town.get(f"/admin/directory/{submission_id}/").get_data(as_text=True)
    assert "星岩社区的职务请写全称" in page

    # The town takes it back, corrects the title and sends it again.
    step(town, submission_id, "revise")
    assert state_of(session, submission_id) is SubmissionState.draft
    row = next(r for r in session.get(Submission, submission_id).rows
               if r.code == XINGYAN and r.role is RosterRole.liaison)
    town.post(f"/admin/directory/{submission_id}/rows/{row.id}/", data={
        "code": XINGYAN, "role": "liaison", "name": NEW_LIAISON[0],
        "title": "星岩社区网格长", "phone": NEW_LIAISON[1]})
    step(town, submission_id, "submit")

    today = date.today()
    page = step(committee, submission_id, "approve", effective_from=today.isoformat())
    assert "The list was approved. Changes to the roster: 1, in effect from" in page
    assert state_of(session, submission_id) is SubmissionState.approved

    new = current_liaison(session, XINGYAN)
    assert (new.person.name, new.person.phone, new.title, new.valid_from) == (
        *NEW_LIAISON, "星岩社区网格长", today)
    assert session.get(RosterEntry, old_id).valid_to == today
    assert current_liaison(session, XINGYAN, today - timedelta(days=1)).id == old_id

    court = client_as("demo_court_yuncheng")
    roster = court.get(f"/admin/roster/?search={XINGYAN}").get_data(as_text=True)
    assert NEW_LIAISON[0] in roster and old_name not in roster
    history = court.get(f"/admin/roster/?search={XINGYAN}&history=1").get_data(as_text=True)
    assert old_name in history
    # Court staff read the approved list and what it changed.
    approved = court.get(f"/admin/directory/{submission_id}/").get_data(as_text=True)
    assert NEW_LIAISON[0] in approved and 'data-kind="changed"' in approved

    steps = session.scalars(select(AuditRecord.after["state"].astext).where(
        AuditRecord.entity == "directory_submission", AuditRecord.entity_id == submission_id,
        AuditRecord.action == "update").order_by(AuditRecord.seq)).all()
    assert [s for s in steps if s] == ["submitted", "returned", "draft", "submitted",
                                       "approved"]


def test_approval_from_a_later_date_keeps_the_old_liaison_until_then(town, committee,
                                                                     session):
    old_id = current_liaison(session, XINGYAN).id
    submission_id = submitted_list(town, session)
    later = date.today() + timedelta(days=10)
    step(committee, submission_id, "approve", effective_from=later.isoformat())
    assert current_liaison(session, XINGYAN).id == old_id
    assert current_liaison(session, XINGYAN, later).person.name == NEW_LIAISON[0]


def test_a_title_change_keeps_the_person_and_a_new_phone_makes_a_new_one(town, committee,
                                                                        session):
    entries = session.scalars(RosterEntry.current().join(Grid, RosterEntry.grid_id == Grid.id)
                              .where(Grid.code == XINGYAN,
                                     RosterEntry.role == RosterRole.grid_worker)
                              .order_by(RosterEntry.id)).all()
    retitled, renumbered = entries[0], entries[1]
    submission_id = start(town)
    workbook = template(town)
    for row in workbook.active.iter_rows(min_row=3):
        if row[2].value == XINGYAN and row[3].value == retitled.person.name:
            row[4].value = "专职网格员"
        if row[2].value == XINGYAN and row[3].value == renumbered.person.name:
            row[5].value = "13900001234"
    upload(town, submission_id, workbook)
    step(town, submission_id, "submit")
    step(committee, submission_id, "approve", effective_from=date.today().isoformat())
    session.expire_all()
    now = {e.person.name: e for e in session.scalars(
        RosterEntry.current().where(RosterEntry.grid_id == retitled.grid_id))}
    assert now[retitled.person.name].person_id == retitled.person_id
    assert now[retitled.person.name].title == "专职网格员"
    assert now[renumbered.person.name].person_id != renumbered.person_id
    assert session.get(Person, renumbered.person_id).phone != "13900001234"


def test_a_worker_left_out_leaves_the_roster_and_a_new_one_joins(town, committee, session):
    leaving = session.scalars(RosterEntry.current().join(Grid, RosterEntry.grid_id == Grid.id)
                              .where(Grid.code == XINGYAN,
                                     RosterEntry.role == RosterRole.grid_worker)).first()
    submission_id = start(town)
    rows = session.get(Submission, submission_id).rows
    gone = next(r for r in rows if r.code == XINGYAN and r.name == leaving.person.name)
    town.post(f"/admin/directory/{submission_id}/rows/{gone.id}/delete/", data={})
    town.post(f"/admin/directory/{submission_id}/rows/", data={
        "code": XINGYAN, "role": "grid_worker", "name": "新网格员", "title": "网格员",
        "phone": "13800001234"})
    step(town, submission_id, "submit")
    page = committee.get(f"/admin/directory/{submission_id}/").get_data(as_text=True)
    assert re.findall(r'data-kind="(\w+)"', page) == ["removed", "added"]
    step(committee, submission_id, "approve", effective_from=date.today().isoformat())
    session.expire_all()
    assert session.get(RosterEntry, leaving.id).valid_to == date.today()
    joined = session.scalar(RosterEntry.current().join(RosterEntry.person).where(
        Person.name == "新网格员"))
    assert joined.grid_id == leaving.grid_id and joined.role is RosterRole.grid_worker


def test_an_effective_date_before_the_entries_it_ends_is_refused(town, committee, session):
    submission_id = submitted_list(town, session)
    page = step(committee, submission_id, "approve", effective_from="2025-06-01")
    assert "The effective date must come after 2026-01-01" in page
    assert state_of(session, submission_id) is SubmissionState.submitted
    assert current_liaison(session, XINGYAN).person.name != NEW_LIAISON[0]


def test_wrong_steps_say_why_and_change_nothing(town, committee, session):
    submission_id = start(town)
    page = step(committee, submission_id, "approve", effective_from=date.today().isoformat())
    assert "Cannot approve: the list is Draft, and only a list that is Submitted can be." in page
    assert "Cannot revise: the list is Draft" in step(town, submission_id, "revise")
    assert "Your role may not approve a list." in step(
        town, submission_id, "approve", effective_from=date.today().isoformat())
    assert "Your role may not submit a list." in step(committee, submission_id, "submit")
    assert state_of(session, submission_id) is SubmissionState.draft

    step(town, submission_id, "submit")
    step(committee, submission_id, "approve", effective_from=date.today().isoformat())
    for name in ("approve", "return"):
        assert "the list is Approved" in step(committee, submission_id, name,
                                              effective_from=date.today().isoformat(),
                                              comment="再看看")
    page = town.post(f"/admin/directory/{submission_id}/rows/", data={
        "code": XINGYAN, "role": "grid_worker", "name": "晚到", "phone": "13800007777"},
        follow_redirects=True).get_data(as_text=True)
    assert "The list is Approved: only a draft can be changed." in page
    assert state_of(session, submission_id) is SubmissionState.approved
    assert not any(r.name == "晚到" for r in session.get(Submission, submission_id).rows)


# --- who may see and do what -----------------------------------------------------------

@pytest.mark.parametrize("username", ["demo_liaison", "demo_worker", "demo_town_liaison"])
def test_liaisons_and_workers_are_kept_out(client_as, town, session, username):
    submission_id = submitted_list(town, session)
    client = client_as(username)
    for url in ("/admin/directory/", f"/admin/directory/{submission_id}/",
                "/admin/directory/template.xlsx", "/admin/directory/export/liaisons.xlsx"):
        assert client.get(url).status_code == 403, url
    for name in ("approve", "return"):
        response = client.post(f"/admin/directory/{submission_id}/{name}/", data={
            "effective_from": date.today().isoformat(), "comment": "x"})
        assert response.status_code == 403
    assert state_of(session, submission_id) is SubmissionState.submitted


def test_another_towns_centre_cannot_reach_the_list(client_as, town, other_town_centre,
                                                   session):
    submission_id = start(town)
    row = session.get(Submission, submission_id).rows[0]
    other = client_as(other_town_centre.username)
    assert other.get(f"/admin/directory/{submission_id}/").status_code == 404
    assert other.get(f"/admin/directory/{submission_id}/rows/{row.id}/").status_code == 404
    assert other.post(f"/admin/directory/{submission_id}/submit/", data={}).status_code == 404
    assert other.post(f"/admin/directory/{submission_id}/rows/{row.id}/delete/",
                      data={}).status_code == 404
    assert other.post(f"/admin/directory/{submission_id}/rows/", data={
        "code": XINGYAN, "role": "liaison", "name": "冒名", "phone": "13800008888"},
    ).status_code == 404
    assert submission_id not in other.get("/admin/directory/").get_data(as_text=True)
    session.expire_all()
    submission = session.get(Submission, submission_id)
    assert submission.state is SubmissionState.draft
    assert not any(r.name == "冒名" for r in submission.rows)
    # Its own template holds its own town only.
    rows = data_rows(template(other).active)
    assert rows and all(r[0] == "前锋镇" for r in rows)


def test_court_staff_see_approved_lists_only(client_as, town, committee, session):
    submission_id = submitted_list(town, session)
    court = client_as("demo_court_yuncheng")
    assert court.get(f"/admin/directory/{submission_id}/").status_code == 404
    assert court.post(f"/admin/directory/{submission_id}/approve/", data={
        "effective_from": date.today().isoformat()}).status_code == 404
    assert submission_id not in court.get("/admin/directory/").get_data(as_text=True)
    assert state_of(session, submission_id) is SubmissionState.submitted
    step(committee, submission_id, "approve", effective_from=date.today().isoformat())
    assert court.get(f"/admin/directory/{submission_id}/").status_code == 200


def test_a_committee_reviews_only_its_own_county(client_as, town, session):
    submission_id = submitted_list(town, session)
    luoding = session.scalar(Grid.current().where(Grid.name == "罗定市"))
    stranger = User(username="test_luoding_committee", display_name="罗定市委政法委",
                    role=Role.committee, grid=luoding, active=True)
    stranger.set_password(DEMO_PASSWORD, demo_account=True)
    session.add(stranger)
    session.flush()
    other = client_as(stranger.username)
    assert other.get(f"/admin/directory/{submission_id}/").status_code == 404
    assert other.post(f"/admin/directory/{submission_id}/approve/", data={
        "effective_from": date.today().isoformat()}).status_code == 404
    city = english(client_as("demo_city_committee"))
    step(city, submission_id, "approve", effective_from=date.today().isoformat())
    assert state_of(session, submission_id) is SubmissionState.approved


def test_a_committee_cannot_edit_a_towns_rows(committee, town, session):
    submission_id = start(town)
    assert committee.post(f"/admin/directory/{submission_id}/rows/", data={
        "code": XINGYAN, "role": "liaison", "name": "代填", "phone": "13800009999"},
    ).status_code == 403


def test_posts_without_the_csrf_token_are_refused(town, session):
    submission_id = start(town)
    response = town.post(f"/admin/directory/{submission_id}/submit/", data={"csrf_token": ""})
    assert response.status_code == 400


# --- the Excel lists -------------------------------------------------------------------

def test_the_liaison_list_in_the_attachments_layout(client_as, session):
    response = client_as("demo_yuncheng_committee").get("/admin/directory/export/liaisons.xlsx")
    sheet = load_workbook(BytesIO(response.data)).active
    assert "联络员名单" in sheet["A1"].value and sheet["A1"].font.bold
    assert [c.value for c in sheet[2]] == LIAISON_HEADERS
    assert sheet.freeze_panes == "A3"
    assert sheet.column_dimensions["C"].width >= 10
    rows = data_rows(sheet)
    assert {r[0] for r in rows} == {"云城区"}  # the committee's county only
    town_row = next(i for i, r in enumerate(rows) if r[1] == "云城街道" and not r[2])
    liaison = current_liaison(session, XINGYAN)
    xingyan = next(r for r in rows if r[2] == "星岩社区")
    assert rows.index(xingyan) > town_row  # a town, then its villages
    # The committee may not see phones in full: masked, like on the pages.
    assert xingyan[3] == liaison.person.name and xingyan[4] == liaison.person.phone[:3] + \
        "****" + liaison.person.phone[-4:]
    record = session.scalar(select(AuditRecord).where(AuditRecord.action == "export")
                            .order_by(AuditRecord.seq.desc()).limit(1))
    assert record.actor == "demo_yuncheng_committee" and record.entity_id == "liaisons"
    assert record.after["phones"] == "masked" and record.after["rows"] == len(rows)


def test_court_staff_get_the_whole_city_with_phones_masked(client_as, session):
    response = client_as("demo_court_city").get("/admin/directory/export/liaisons.xlsx")
    rows = data_rows(load_workbook(BytesIO(response.data)).active)
    assert {r[0] for r in rows} == {"云城区", "云安区", "新兴县", "郁南县", "罗定市"}
    liaison = current_liaison(session, XINGYAN)
    assert [liaison.person.name, mask_phone(liaison.person.phone)] in [r[3:] for r in rows]
    assert len(rows) == session.scalar(select(func.count()).select_from(Grid).where(
        Grid.generation_high.is_(None), Grid.level.in_(["town", "village"])))


def test_a_town_centre_exports_its_own_town(town):
    rows = data_rows(load_workbook(BytesIO(
        town.get("/admin/directory/export/liaisons.xlsx").data)).active)
    assert rows and {r[1] for r in rows} == {"云城街道"}


def test_the_court_contact_list(client_as):
    response = client_as("demo_town_centre").get("/admin/directory/export/courts.xlsx")
    sheet = load_workbook(BytesIO(response.data)).active
    assert sheet["A1"].value == "各县（市、区）人民法院、人民法庭联系人员名单"
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A3"
    assert [c.value for c in sheet[2]] == COURT_HEADERS
    rows = data_rows(sheet)
    assert rows[0][:3] == ["市直", "云浮市中级人民法院", None]
    base = rows.index(next(r for r in rows if r[1] == "云浮市云城区人民法院" and not r[2]))
    assert rows[base + 1][:3] == ["云城区", "云浮市云城区人民法院", "腰古人民法庭"]
    assert all(r[3] and re.fullmatch(r"1\d{10}", r[4]) for r in rows)
    assert len(rows) == 1 + 5 + 11  # the intermediate court, 5 base courts, 11 tribunals


# --- bounded reading (as the matter intake: admin.excel.first_sheet) ------------------------

def test_a_stray_cell_in_the_last_column_costs_no_more_than_the_headers_width(
        town, session, monkeypatch):
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    widths = []
    real = ReadOnlyWorksheet._get_row

    def counted(self, row, min_col=1, max_col=None, values_only=False):
        cells = real(self, row, min_col, max_col, values_only)
        widths.append(len(cells))
        return cells

    monkeypatch.setattr(ReadOnlyWorksheet, "_get_row", counted)
    submission_id = start(town)
    workbook = template(town)
    sheet = workbook.active
    rows = len(data_rows(sheet))
    for line in range(3, 3 + rows + 300):
        sheet.cell(line, 16384, "x")
    page = upload(town, submission_id, workbook)
    assert f"Rows read from 名单.xlsx: {rows}." in page
    header_rows = 10  # read whole, to find the header in
    assert sum(widths) <= header_rows * 16384 + (rows + 300) * len(TEMPLATE_HEADERS)


def test_a_workbook_unpacking_to_more_than_a_list_needs_is_refused(town, session):
    from test_matter_intake import unpacking_to  # tests/ is on the path, as pytest puts it

    submission_id = start(town)
    before = len(session.get(Submission, submission_id).rows)
    data = unpacking_to(33, ["镇（街）", "村（社区）", "区划代码", "姓名", "职务", "联系电话",
                             "角色"], first_column="C")
    page = town.post(f"/admin/directory/{submission_id}/upload/",
                     data={"file": (BytesIO(data), "名单.xlsx")},
                     follow_redirects=True).get_data(as_text=True)
    assert "unpacks to" in page and "32 MB" in page
    session.expire_all()
    assert len(session.get(Submission, submission_id).rows) == before
