"""The paper forms as PDF: a real PDF, the CJK font embedded (no font, no PDF), the
case number in its text, a Chinese file name, and only for those who see the matter.

With GRIDLINK_PDF_PNG=DIR the first page of each form is also written there as PNG
(pdftoppm): that is how docs/pdf-*.png are made."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import DEMO_PASSWORD
from sqlalchemy import select
from test_matter_pages import XINGYAN_ADDRESS, YUNCHENG_COURT, id_number
from test_record_forms import account

from admin import pdf
from geo.assign import file_matter
from models import Court, MatterState, Role, User
from models.filing import AddressInput, MatterInput
from models.record_forms import make_form, sign_as_court, sign_as_worker


@pytest.fixture(scope="session")
def poppler():
    """pdffonts and pdftotext read back what was written (never skipped: a PDF that
    cannot be checked is not known to be right)."""
    if not (shutil.which("pdffonts") and shutil.which("pdftotext")):
        pytest.fail("poppler-utils not found: `make test` installs it (scripts/system-deps.sh)")

# The outcomes as models.outcomes.check_outcome keeps them (its field names).
KINDS = {
    "receipt": ("service", {"document_kinds": ["judgment", "notice"], "method": "lodged"},
                [], {"method": "lodged", "served_on": "2026-03-02",
                     "served_at": XINGYAN_ADDRESS, "refusal": "受送达人拒绝签收，留置送达",
                     "witnesses": ["李村委", "黄组长"]}),
    "survey": ("investigation", {"subjects": ["income", "dividends"], "withdrawal": True},
               ["work_id", "assistance_notice"],
               {"unit": "星岩社区居民委员会", "surveyed_on": "2026-03-05",
                "income_source": "村集体经济分红", "dividends": 3600.0,
                "period_from": "2025-01-01", "period_to": "2025-12-31",
                "officer": "李主任", "sealed": True, "withdrawn": 3600.0}),
    "record": ("find_property", {"property_kinds": ["house", "vehicle"]},
               ["enforcement_basis", "work_id"],
               {"items": [{"kind": "house", "description": "星岩社区三巷 5 号自建房一栋",
                           "value": 300000.0},
                          {"kind": "vehicle", "description": "粤W·12345 小型轿车一辆"}],
                "note": "经走访邻居及社区干部，确认被执行人仍在该处居住"}),
}


def file(session, kind: str, case: str, serial: str):
    matter_type, request, credentials, _ = KINDS[kind]
    court = session.scalar(select(Court).where(Court.name == YUNCHENG_COURT))
    matter, created = file_matter(session, MatterInput(
        court=court, officer_name="张执行", officer_phone="0766-8123456", case_number=case,
        matter_type=matter_type, debtor_kind="person", debtor_name="陈某某",
        debtor_id_number=id_number(serial), debtor_phones=["13800001111"],
        addresses=[AddressInput(kind="household", text=XINGYAN_ADDRESS)],
        request=request, credentials=credentials, bounty=kind == "record"))
    assert created
    for state in (MatterState.accepted, MatterState.dispatched, MatterState.done):
        matter.move_to(state)
    session.flush()
    return matter


@pytest.fixture
def signed_matters(session):
    """One matter per form, its outcome recorded and the record form signed by both."""
    worker, officer = account(session, "demo_worker"), account(session, "demo_court_yuncheng")
    matters = {}
    for n, kind in enumerate(KINDS):
        matter = file(session, kind, f"（2026）粤5302执70{n}号", f"70{n}")
        form = make_form(session, matter, KINDS[kind][3], actor=worker)
        sign_as_worker(session, form, worker)
        sign_as_court(session, form, officer)
        matters[kind] = matter
    session.flush()
    return matters


def fetch(client, matter, kind):
    return client.get(f"/admin/matter/{matter.id}/pdf/{kind}.pdf")


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_form_is_a_pdf_with_the_cjk_font_embedded_and_the_case_number(
        client_as, signed_matters, kind, tmp_path, poppler):
    matter = signed_matters[kind]
    response = fetch(client_as("demo_court_yuncheng"), matter, kind)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    body = response.get_data()
    assert body.startswith(b"%PDF")
    disposition = response.headers["Content-Disposition"]
    name = unquote(re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1))
    assert name == f"{pdf.FORMS[kind][1]}-{matter.case_number}.pdf"
    path = tmp_path / f"{kind}.pdf"
    path.write_bytes(body)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                           check=True).stdout
    cjk = [line for line in fonts.splitlines() if pdf.FONT_FAMILY in line]
    assert cjk and all(line.split()[-5] == "yes" for line in cjk), fonts  # emb = yes
    words = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                           text=True, check=True).stdout
    assert matter.case_number in words and pdf.FORMS[kind][1] in words.replace(" ", "")
    assert "陈某某" in words
    if kind == "record":
        assert "星岩社区网格员（演示）" in words and "执行悬赏" in words
    if kind == "survey":  # court staff may see the debtor in full: the number is there
        assert matter.debtor.id_number in words
    if os.environ.get("GRIDLINK_PDF_PNG"):
        out = Path(os.environ["GRIDLINK_PDF_PNG"])
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile",
                        str(path), str(out / f"pdf-{kind}")], check=True)


def test_without_the_cjk_font_no_pdf_is_made(client_as, signed_matters, monkeypatch, app):
    """Never a form of empty boxes: no font, a 503 and nothing else."""
    monkeypatch.setattr(pdf, "FONT_CANDIDATES", ("/nonexistent/wqy-zenhei.ttc",))
    monkeypatch.setitem(app.config, "PDF_FONT", None)
    response = fetch(client_as("demo_court_yuncheng"), signed_matters["record"], "record")
    assert response.status_code == 503


def test_a_form_the_matter_does_not_have_is_404(client_as, signed_matters):
    court = client_as("demo_court_yuncheng")
    assert fetch(court, signed_matters["record"], "receipt").status_code == 404
    assert fetch(court, signed_matters["record"], "nonsense").status_code == 404


@pytest.mark.parametrize("username", ["demo_court_city", "demo_worker", "demo_liaison"])
def test_those_who_read_the_matter_may_print_it(client_as, signed_matters, username):
    assert fetch(client_as(username), signed_matters["record"], "record").status_code == 200


def test_masked_for_those_who_may_not_see_the_debtor(signed_matters, app):
    """The data given to the template: the ID number and phones masked."""
    matter = signed_matters["survey"]
    with app.test_request_context():
        doc = pdf.document(matter, None, reveal=False)
    assert doc["id_number"] == matter.debtor.id_number[:6] + "********" + \
        matter.debtor.id_number[-4:]
    assert doc["phones"] == "138****1111"


@pytest.mark.parametrize("username", ["demo_yuncheng_committee"])
def test_roles_without_matters_get_no_pdf(client_as, signed_matters, username):
    assert fetch(client_as(username), signed_matters["record"], "record").status_code in (403,
                                                                                          404)


def test_another_countys_court_gets_404(client_as, session, signed_matters):
    other = User(username="t_luoding_officer", display_name="罗定干警", role=Role.court_staff,
                 court=session.scalar(select(Court).where(Court.name == "罗定市人民法院")))
    other.set_password(DEMO_PASSWORD, demo_account=True)
    session.add(other)
    session.flush()
    luoding = client_as("t_luoding_officer")
    for kind in KINDS:
        assert fetch(luoding, signed_matters[kind], kind).status_code == 404


def test_the_matter_page_links_its_forms(client_as, signed_matters):
    page = client_as("demo_court_yuncheng").get(
        f"/admin/matter/details/?id={signed_matters['receipt'].id}").get_data(as_text=True)
    assert f"/admin/matter/{signed_matters['receipt'].id}/pdf/receipt.pdf" in page
    assert f"/admin/matter/{signed_matters['receipt'].id}/pdf/record.pdf" in page
    assert "survey.pdf" not in page  # a service matter has no investigation form
