"""Bulk filing of court matters from a spreadsheet: every bad row named by row and
column, the good rows filed once (re-importing files nothing new), as the
command line and as the upload page."""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from admin import matter_intake as intake
from admin.cli_matters import matters_cli
from models import Matter, User
from models.access import Scope
from models.identity import id_check_character
from models.matter_types import CREDENTIAL_LABELS, MATTER_TYPE_LABELS, MatterType

zh = intake.zh
COURT = "云浮市云城区人民法院"
OTHER_COURT = "云浮市云安区人民法院"
YEAR = date.today().year
HEADERS = [c.header for c in intake.template_columns()]
DIVISIONS = Path(__file__).resolve().parent.parent / "seeds/yunfu-divisions.tsv"


def _places() -> list[str]:
    """Villages of 云城区 written out in full, as a court would: they geocode."""
    with DIVISIONS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [f"云浮市{r['county']}{r['town']}{r['village']}" for r in rows
            if r["county_adcode"] == "445302"]


PLACES = _places()


def asks(kind: MatterType, name: str) -> str:
    """The heading of the column with this type's question `name`."""
    return next(c.header for c in intake.template_columns() if (s := c.spec_for(kind))
                and s.name == name)


def label(kind: MatterType, name: str, *values: str) -> str:
    spec = next(s for c in intake.template_columns() if (s := c.spec_for(kind))
                and s.name == name)
    labels = dict(spec.choices)
    return "、".join(zh(labels[v]) for v in values)


def id_number(n: int) -> str:
    first17 = f"445302{date(1970, 1, 1) + timedelta(days=n % 15000):%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_character(first17)


SERVICE = zh(MATTER_TYPE_LABELS[MatterType.service])


def good(n: int, changes: dict | None = None) -> dict:
    """A service matter for 云城区's court, row n."""
    row = {"法院": COURT, "案号": f"（{YEAR}）粤5302执{n}号", "事项类型": SERVICE,
           "承办人": "李明", "承办人电话": "0766-8888001", "被执行人类型": "自然人",
           "被执行人": f"张{n}", "证件号码": id_number(n), "户籍地": PLACES[n % len(PLACES)],
           asks(MatterType.service, "document_kinds"):
               label(MatterType.service, "document_kinds", "judgment", "ruling"),
           asks(MatterType.service, "method"): label(MatterType.service, "method", "direct")}
    row.update(changes or {})
    return {k: v for k, v in row.items() if v is not None}


def xlsx(rows: list[dict], headers: list[str] = HEADERS) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h) for h in headers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[dict], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(["" if row.get(h) is None else row.get(h) for h in HEADERS])
    return out.getvalue().encode(encoding)


def problems(report) -> dict[int, set[str]]:
    """Row number → the columns named as wrong."""
    return {row.line: {p.column for p in row.problems} for row in report.bad}


def matters(session) -> int:
    return session.scalar(select(func.count()).select_from(Matter))


def court_staff(session) -> Scope:
    return Scope.of(session.scalar(select(User).where(User.username == "demo_court_yuncheng")))


def test_the_template_headings_are_distinct():
    assert len(set(HEADERS)) == len(HEADERS)
    assert {"法院", "案号", "事项类型", "被执行人", "证件", "证件号码", "期限",
            "备注"} <= set(HEADERS)


# --- reading rows ------------------------------------------------------------------------

LOCATE = zh(MATTER_TYPE_LABELS[MatterType.locate_debtor])
NO_SERVICE_ANSWERS = {asks(MatterType.service, "document_kinds"): None,
                      asks(MatterType.service, "method"): None}

BAD_ROWS = {
    "bad case number": ({"案号": "2026粤5302执1"}, "案号"),
    "ID check digit": ({"证件号码": id_number(7)[:17] + ("0" if id_number(7)[17] != "0"
                                                         else "1")}, "证件号码"),
    "unknown type": ({"事项类型": "协助吃饭"}, "事项类型"),
    "missing type question": ({asks(MatterType.service, "method"): None},
                              asks(MatterType.service, "method")),
    "missing credential": ({"事项类型": LOCATE, **NO_SERVICE_ANSWERS,
                            asks(MatterType.locate_debtor, "clues_sought"): label(
                                MatterType.locate_debtor, "clues_sought", "address")}, "证件"),
    "unknown credential": ({"证件": "身份证"}, "证件"),
    "bad date": ({"期限": "明天"}, "期限"),
    "past deadline": ({"期限": "2020-01-01"}, "期限"),
    "unknown court": ({"法院": "云浮市不存在区人民法院"}, "法院"),
    "no address": ({"户籍地": None}, intake.ADDRESSES_HEADER),
    "bad phone": ({"被执行人电话": "12345"}, "被执行人电话"),
    "unknown choice": ({asks(MatterType.service, "document_kinds"): "判决书、菜单"},
                       asks(MatterType.service, "document_kinds")),
    "one choice only": ({asks(MatterType.service, "method"): label(
        MatterType.service, "method", "direct", "lodged")}, asks(MatterType.service, "method")),
    "question of another type": ({asks(MatterType.find_property, "property_kinds"): label(
        MatterType.find_property, "property_kinds", "house")},
        asks(MatterType.find_property, "property_kinds")),
    "bad yes/no": ({"紧急": "也许"}, "紧急"),
    "lonely longitude": ({"其他地址经度": 112.05}, "其他地址经度"),
    "ID typed as a number": ({"证件号码": 445302197001010011}, "证件号码"),
    "debtor kind": ({"被执行人类型": "外星人"}, "被执行人类型"),
    "officer missing": ({"承办人": None}, "承办人"),
    "template example": ({"备注": intake.EXAMPLE_NOTE}, "备注"),
}


@pytest.mark.parametrize("changes, column", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_row_is_named_by_row_and_column(session, changes, column):
    report = intake.prepare(session, xlsx([good(1), good(2, changes), good(3)]), "a.xlsx")
    assert column in problems(report)[3]
    assert [r.line for r in report.bad] == [3]
    assert report.counts() == {"rows": 3, "good": 2, "bad": 1, "duplicates": 0, "new": 2}
    for row in report.bad:
        for problem in row.problems:
            assert intake.say(problem, zh) and intake.say(problem, str)


def test_every_matter_type_reads_its_questions(session):
    kinds = {k: zh(v) for k, v in MATTER_TYPE_LABELS.items()}
    work_id = zh(CREDENTIAL_LABELS["work_id"])
    rows = [
        good(1, {"期限": datetime(YEAR + 1, 1, 2), "紧急": "是", "悬赏": "否",
                 "被执行人电话": "10007669001、0766-8888002"}),
        good(2, {"事项类型": kinds[MatterType.find_property], **NO_SERVICE_ANSWERS,
                 "证件": f"{zh(CREDENTIAL_LABELS['enforcement_basis'])}，work_id",
                 asks(MatterType.find_property, "property_kinds"): label(
                     MatterType.find_property, "property_kinds", "house") + "、vehicle",
                 "期限": f"{YEAR + 1}/1/2", "被执行人类型": "单位", "证件号码": None}),
        good(3, {"事项类型": "investigation", **NO_SERVICE_ANSWERS, "证件": work_id,
                 asks(MatterType.investigation, "subjects"): label(
                     MatterType.investigation, "subjects", "income", "dividends"),
                 asks(MatterType.investigation, "withdrawal"): "否",
                 "期限": f"{YEAR + 1}年1月2日"}),
        good(4, {"事项类型": kinds[MatterType.witness], **NO_SERVICE_ANSWERS, "证件": work_id,
                 asks(MatterType.witness, "participation"): label(
                     MatterType.witness, "participation", "witness"),
                 asks(MatterType.witness, "scheduled_on"): f"{YEAR + 1}.3.4"}),
        good(5, {"事项类型": kinds[MatterType.legal_education], **NO_SERVICE_ANSWERS,
                 asks(MatterType.legal_education, "direction"): label(
                     MatterType.legal_education, "direction", "court_to_village"),
                 asks(MatterType.legal_education, "topic"): "民法典进村"}),
        good(6, {"事项类型": kinds[MatterType.other], **NO_SERVICE_ANSWERS,
                 asks(MatterType.other, "purpose"): "mediation",
                 "其他地址": "云城区某处", "其他地址经度": "112.04", "其他地址纬度": 22.93}),
    ]
    report = intake.prepare(session, xlsx(rows), "a.xlsx")
    assert problems(report) == {}
    first, second, third, fourth, fifth, sixth = (r.data for r in report.rows)
    assert first.request == {"document_kinds": ["judgment", "ruling"], "method": "direct"}
    assert (first.deadline, first.urgency, first.bounty) == (date(YEAR + 1, 1, 2), "urgent",
                                                             False)
    assert first.debtor_phones == ["10007669001", "0766-8888002"]
    assert second.request == {"property_kinds": ["house", "vehicle"]}
    assert sorted(second.credentials) == ["enforcement_basis", "work_id"]
    assert (second.debtor_kind, second.deadline) == ("organisation", date(YEAR + 1, 1, 2))
    assert third.request == {"subjects": ["income", "dividends"], "withdrawal": False}
    assert third.deadline == date(YEAR + 1, 1, 2)
    assert fourth.request == {"participation": "witness", "scheduled_on": f"{YEAR + 1}-03-04"}
    assert fifth.request == {"direction": "court_to_village", "topic": "民法典进村"}
    assert [(a.kind, a.lon, a.lat) for a in sixth.addresses] == [
        ("household", None, None), ("other", 112.04, 22.93)]


def test_court_staff_file_only_for_their_own_court(session):
    rows = [good(1), good(2, {"法院": OTHER_COURT}), good(3, {"法院": None}),
            good(4, {"法院": "云浮市云城区人民法院腰古人民法庭"})]
    mine = intake.prepare(session, xlsx(rows), "a.xlsx", court_staff(session))
    assert problems(mine) == {3: {"法院"}}
    assert "云浮市云城区人民法院" in intake.say(mine.bad[0].problems[0], zh)
    assert mine.rows[2].data.court.name == COURT  # a blank court is one's own
    anyone = intake.prepare(session, xlsx(rows), "a.xlsx")
    assert problems(anyone) == {4: {"法院"}}  # the command line must name the court


def test_repeated_rows_are_reported_and_counted_once(session):
    report = intake.prepare(session, xlsx([good(1), good(2), good(1, {"承办人": "王五"})]),
                            "a.xlsx")
    assert [(r.status, r.repeats) for r in report.rows] == [("new", None), ("new", None),
                                                            ("repeat", 2)]
    assert report.counts()["new"] == 2


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_as_chinese_excel_saves_it(session, encoding):
    report = intake.prepare(session, csv_bytes([good(1), good(2, {"案号": "坏"})], encoding),
                            "事项.csv")
    assert problems(report) == {3: {"案号"}}
    assert report.rows[0].data.debtor_name == "张1"


def test_english_field_names_are_headings_too(session):
    names = {"法院": "court", "案号": "case_number", "事项类型": "matter_type",
             "承办人": "officer_name", "被执行人类型": "debtor_kind", "被执行人": "debtor_name",
             "户籍地": "household", asks(MatterType.service, "document_kinds"): "document_kinds",
             asks(MatterType.service, "method"): "method"}
    row = good(1)
    report = intake.prepare(session, xlsx([{names[k]: v for k, v in row.items() if k in names}],
                                          list(names.values())), "en.xlsx")
    assert problems(report) == {}
    assert report.rows[0].data.request["method"] == "direct"


BROKEN = {
    "not a workbook": (b"PK\x03\x04 not really a zip", "a.xlsx"),
    "a picture": (b"\x89PNG\r\n\x1a\n\0\0", "a.csv"),
    "old Excel": (b"\xd0\xcf\x11\xe0", "a.xls"),
    "a PDF": (b"%PDF-1.4", "a.pdf"),
    "no header": (xlsx([{"x": 1}], ["甲", "乙"]), "a.xlsx"),
    "unknown column": (xlsx([good(1)], [*HEADERS, "身高"]), "a.xlsx"),
    "missing column": (xlsx([good(1)], [h for h in HEADERS if h != "被执行人"]), "a.xlsx"),
    "empty": (xlsx([]), "a.xlsx"),
    "empty CSV": (b"", "a.csv"),
}


@pytest.mark.parametrize("data, name", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_is_one_clear_error(session, data, name):
    with pytest.raises(intake.IntakeError) as refused:
        intake.prepare(session, data, name)
    assert intake.say(intake.Problem("", refused.value.template, refused.value.params), zh)


@pytest.mark.parametrize("typed, expected", [
    ("2026-12-01", date(2026, 12, 1)), ("2026/12/1", date(2026, 12, 1)),
    ("2026年12月1日", date(2026, 12, 1)), ("2026.12.01", date(2026, 12, 1)),
    ("20261201", date(2026, 12, 1)), ("2026-12-01 00:00:00", date(2026, 12, 1)),
    (datetime(2026, 12, 1, 0, 0), date(2026, 12, 1)), (46357, date(2026, 12, 1)),
])
def test_dates_as_excel_and_people_write_them(typed, expected):
    assert intake.parse_date(typed) == expected


# --- writing -----------------------------------------------------------------------------

def spreadsheet_of(n: int, broken_every: int = 50, seed: int = 5302):
    """n rows, one in `broken_every` broken in one of several ways; returns the file
    and, for each broken row, its row number and the column at fault."""
    breakers = [v for k, v in BAD_ROWS.items() if k not in ("ID typed as a number",)]
    rng = random.Random(seed)
    rows, broken = [], {}
    for i in range(n):
        if i % broken_every == broken_every - 1:
            changes, column = rng.choice(breakers)
            rows.append(good(100_000 + i, changes))
            broken[i + 2] = column
        else:
            rows.append(good(100_000 + i))
    return xlsx(rows), broken


def test_ten_thousand_rows_file_once_and_report_every_bad_one(app, session):
    data, broken = spreadsheet_of(10_000)
    before = matters(session)
    with app.app_context():
        report = intake.prepare(session, data, "万行.xlsx")
        found = problems(report)
        assert found.keys() == broken.keys()
        assert all(broken[line] in columns for line, columns in found.items())
        states = intake.commit(session, report)
    assert matters(session) - before == 10_000 - len(broken) == sum(states.values())
    assert set(states) <= {"assigned", "review", "manual"}
    assert states["assigned"] > 0.9 * sum(states.values())

    with app.app_context():
        again = intake.prepare(session, data, "万行.xlsx")
        assert again.counts()["new"] == 0
        assert again.counts()["duplicates"] == 10_000 - len(broken)
        assert sum(intake.commit(session, again).values()) == 0
    assert matters(session) - before == 10_000 - len(broken)


def test_one_debtor_in_several_rows_is_one_debtor(app, session):
    rows = [good(1), good(2, {"证件号码": id_number(1), "被执行人": "张1",
                              "被执行人电话": "10007669002"})]
    with app.app_context():
        report = intake.prepare(session, xlsx(rows), "a.xlsx")
        intake.commit(session, report)
    first, second = (session.scalar(select(Matter).where(
        Matter.case_number == f"（{YEAR}）粤5302执{n}号")) for n in (1, 2))
    assert first.debtor_id == second.debtor_id
    assert first.debtor.phones == ["10007669002"]


def test_the_command_line_reports_and_writes_only_with_commit(app, session, runner,
                                                              tmp_path):
    path = tmp_path / "事项.xlsx"
    path.write_bytes(xlsx([good(1), good(2, {"案号": "坏"}), good(3), good(1)]))
    before = matters(session)
    dry = runner.invoke(matters_cli, ["import", str(path)])
    assert dry.exit_code == 1, dry.output
    assert "4 rows, 3 good, 1 bad, 1 already filed or repeated, 2 new" in dry.output
    assert "row 3\t案号\t" in dry.output
    assert "row 5\trepeats row 2" in dry.output
    assert "dry run" in dry.output
    assert matters(session) == before

    done = runner.invoke(matters_cli, ["import", str(path), "--commit", "--json",
                                       "--lang", "en"])
    lines = done.output.strip().splitlines()
    assert '"row": 3, "column": "案号"' in lines[0] and "case number" in lines[0]
    assert '"new": 2' in lines[-2] and '"committed": true' in lines[-2]
    assert matters(session) == before + 2
    again = runner.invoke(matters_cli, ["import", str(path), "--commit"])
    assert "4 rows, 3 good, 1 bad, 3 already filed or repeated, 0 new" in again.output
    assert matters(session) == before + 2

    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(b"not a workbook")
    refused = runner.invoke(matters_cli, ["import", str(bad)])
    assert refused.exit_code == 1 and ".xlsx" in refused.output


# --- the upload page ---------------------------------------------------------------------

def test_the_template_explains_itself_and_reads_back(client_as, session):
    court = client_as("demo_court_yuncheng")
    response = court.get("/admin/matter_import/template.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[2]] == HEADERS
    assert sheet["A3"].value == COURT
    assert {s.title for s in book.worksheets} >= {"填写说明", "选项"}
    explained = [row[0] for row in book["填写说明"].iter_rows(min_row=3, values_only=True)]
    assert explained == HEADERS
    picked = {str(v.sqref).split(":")[0] for v in sheet.data_validations.dataValidation}
    at = {h: sheet.cell(2, i + 1).column_letter for i, h in enumerate(HEADERS)}
    assert {at["事项类型"] + "3", at["被执行人类型"] + "3", at["紧急"] + "3"} <= picked
    # Left in, the examples are refused; with their note removed, they are good rows.
    report = intake.prepare(session, response.data, "模板.xlsx", court_staff(session))
    assert {line: cols for line, cols in problems(report).items()} == {3: {"备注"},
                                                                      4: {"备注"}}
    notes = HEADERS.index("备注") + 1
    for line in (3, 4):
        sheet.cell(line, notes).value = None
    out = io.BytesIO()
    book.save(out)
    assert problems(intake.prepare(session, out.getvalue(), "模板.xlsx")) == {}


def upload(client, data: bytes, name: str = "事项.xlsx"):
    return client.post("/admin/matter_import/", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_upload_report_write_once_and_fix_the_bad_rows(client_as, session):
    court = client_as("demo_court_yuncheng")
    data = xlsx([good(1), good(2, {"案号": "坏"}), good(3, {"法院": OTHER_COURT}), good(4)])
    response = upload(court, data)
    assert response.status_code == 302
    report_url = response.headers["Location"]
    page = court.get(report_url).get_data(as_text=True)
    assert 'data-count="bad">2<' in page and 'data-count="new">2<' in page
    assert 'data-row="3"' in page and 'data-row="4"' in page
    before = matters(session)

    written = court.post(report_url, data={}, follow_redirects=True).get_data(as_text=True)
    assert matters(session) == before + 2
    assert 'data-count="new">0<' in written
    court.post(report_url, data={})  # a second click
    assert upload(court, data).status_code == 302  # and a re-upload
    assert matters(session) == before + 2
    officer = session.scalar(select(User.id).where(User.username == "demo_court_yuncheng"))
    filed = session.scalars(select(Matter.created_by_id).where(Matter.case_number.in_(
        [f"（{YEAR}）粤5302执{n}号" for n in (1, 4)]))).all()
    assert filed == [officer, officer]

    bad = court.get(report_url.split("?")[0] + "/bad-rows.xlsx")
    assert bad.status_code == 200
    sheet = load_workbook(io.BytesIO(bad.data)).worksheets[0]
    assert [c.value for c in sheet[2]][-1] == intake.ERROR_HEADER
    assert [sheet.cell(r, 2).value for r in (3, 4)] == ["坏", f"（{YEAR}）粤5302执3号"]
    assert "案号" in sheet.cell(3, len(HEADERS) + 1).value
    sheet.cell(3, 2).value = f"（{YEAR}）粤5302执2号"  # fixed; row 4 still names 云安区's court
    out = io.BytesIO()
    sheet.parent.save(out)
    fixed = court.get(upload(court, out.getvalue(), "错误行.xlsx").headers["Location"])
    page = fixed.get_data(as_text=True)
    assert 'data-count="bad">1<' in page and 'data-count="new">1<' in page

    # Another account cannot see or write someone else's upload.
    admin = client_as("demo_admin")
    assert admin.get(report_url).status_code == 404
    assert admin.post(report_url, data={}).status_code == 404


def test_the_page_is_for_those_who_file_matters(client_as):
    assert client_as("demo_liaison").get("/admin/matter_import/").status_code == 403
    assert client_as("demo_city_committee").get("/admin/matter_import/").status_code == 403
    page = client_as("demo_admin").get("/admin/matter_import/")
    assert page.status_code == 200 and "gridlink-matter-upload" in page.get_data(as_text=True)


def test_a_broken_upload_says_why_and_keeps_nothing(client_as, session):
    court = client_as("demo_court_yuncheng")
    response = upload(court, b"not a workbook", "坏.xlsx")
    page = court.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "gridlink-matter-upload" in page
    old = court.post("/admin/matter_import/", data={"file": (io.BytesIO(b"x"), "a.xls")},
                     content_type="multipart/form-data").get_data(as_text=True)
    assert "a.xls" in old


# --- bounded reading -----------------------------------------------------------------------
# A stray cell in the last column (XFD) once made every row 16,384 cells wide: a 157 KB
# workbook took gigabytes. The readers read only as wide as the header, count rows as
# they come, and refuse what unpacks to more than a full file ever needs.

XFD = 16384


def with_stray_cells(rows: list[dict], stray_rows: int) -> bytes:
    """The rows, then `stray_rows` rows holding nothing but a cell in column XFD."""
    book = load_workbook(io.BytesIO(xlsx(rows)))
    sheet = book.worksheets[0]
    for line in range(2, len(rows) + stray_rows + 2):
        sheet.cell(line, XFD, "x")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_cell_in_the_last_column_makes_no_row_wider_than_the_header():
    table = intake.read_table(with_stray_cells([good(1), good(2)], 300), "a.xlsx")
    assert [line for line, _ in table.rows] == [2, 3]
    assert {len(cells) for _, cells in table.rows} == {len(HEADERS)}


def test_a_sheet_of_nothing_but_stray_cells_is_one_clear_error():
    with pytest.raises(intake.IntakeError) as refused:
        intake.read_table(with_stray_cells([], 500), "a.xlsx")
    assert refused.value.template == "The file holds no rows under the header."


def test_a_header_reaching_far_to_the_right_is_refused_naming_the_column():
    book = load_workbook(io.BytesIO(xlsx([good(1)])))
    book.worksheets[0].cell(1, XFD, "备注2")
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(intake.IntakeError) as refused:
        intake.read_table(out.getvalue(), "a.xlsx")
    assert refused.value.params == {"column": "XFD", "n": len(HEADERS)}


def unpacking_to(megabytes: int, headers: list[str], first_column: str = "A") -> bytes:
    """A small workbook whose sheet unpacks to `megabytes` of rows of one number each."""
    book = Workbook()
    book.active.append(headers)
    out = io.BytesIO()
    book.save(out)
    rows = []
    size, line = 0, 2
    while size < megabytes * 2**20:
        rows.append(f'<row r="{line}"><c r="{first_column}{line}"><v>1</v></c></row>')
        size, line = size + len(rows[-1]), line + 1
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as source, \
            zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</row></sheetData>",
                                    ("</row>" + "".join(rows) + "</sheetData>").encode())
            target.writestr(item, data)
    return bomb.getvalue()


def test_a_workbook_unpacking_to_more_than_a_full_file_needs_is_refused_before_reading():
    data = unpacking_to(33, HEADERS)
    assert len(data) < 4 * 2**20  # within what may be uploaded
    with pytest.raises(intake.IntakeError) as refused:
        intake.read_table(data, "a.xlsx")
    assert refused.value.params["max"] == 32


def test_more_rows_than_the_maximum_are_refused_naming_it(monkeypatch):
    monkeypatch.setattr(intake, "MAX_ROWS", 50)
    with pytest.raises(intake.IntakeError) as refused:
        intake.read_table(xlsx([good(n) for n in range(51)]), "a.xlsx")
    assert intake.say(intake.Problem("", refused.value.template, refused.value.params),
                      zh).count("50") == 1
    assert len(intake.read_table(xlsx([good(n) for n in range(50)]), "a.xlsx").rows) == 50


def test_csv_rows_are_read_only_as_wide_as_the_header():
    data = csv_bytes([good(1)]).replace(b"\r\n", b"," * XFD + b"\r\n", 2)
    table = intake.read_table(data, "a.csv")
    assert {len(cells) for _, cells in table.rows} == {len(HEADERS)}


def test_a_csv_line_longer_than_any_row_is_refused_naming_the_line(monkeypatch):
    data = csv_bytes([good(1), good(2, {"备注": "很长" * 40_000}), good(3)])
    with pytest.raises(intake.IntakeError) as refused:
        intake.read_table(data, "a.csv")
    assert refused.value.params == {"line": 3, "n": intake.MAX_LINE}
    monkeypatch.setattr(intake, "MAX_ROWS", 2)
    with pytest.raises(intake.IntakeError, match="more than 2 rows"):
        intake.read_table(csv_bytes([good(1), good(2), good(3)]), "a.csv")


def test_the_command_line_refuses_a_file_larger_than_the_maximum_unread(runner, tmp_path,
                                                                        monkeypatch):
    path = tmp_path / "大.csv"
    path.write_bytes(csv_bytes([good(n) for n in range(40)]))
    monkeypatch.setattr(intake, "MAX_FILE", 1000)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read it all"))
    refused = runner.invoke(matters_cli, ["import", str(path), "--lang", "en"])
    assert refused.exit_code == 1 and "split it" in refused.output


# --- writing many rows at once (models.bulk) --------------------------------------------------

def _outcome(session, since: int, case_numbers: list[str]) -> dict:
    """What a confirm wrote, without the random ids: per filing its state, addresses
    and assignments; and the audit records after `since`, ids and times masked."""
    from models import Assignment, AuditRecord

    found = {}
    for matter in session.scalars(select(Matter).where(Matter.case_number.in_(case_numbers))):
        assignments = session.scalars(select(Assignment).where(
            Assignment.matter_id == matter.id)).all()
        found[(matter.case_number, matter.debtor_key)] = (
            matter.state.value, matter.queue_reason, matter.debtor.id_number,
            tuple(matter.debtor.phones),
            tuple((a.kind.value, a.text, a.status, a.method, a.confidence,
                   a.grid.code if a.grid else None, str(a.candidates)) for a in
                  sorted(matter.addresses, key=lambda a: a.position)),
            tuple(sorted((a.grid.code, a.role.value, a.method, a.confidence,
                          str(a.liaison_id), a.address.position if a.address else None)
                         for a in assignments)))
    records = []
    for record in session.scalars(select(AuditRecord).where(AuditRecord.seq > since)):
        masked = {k: ("<id>" if v and (k == "id" or k.endswith("_id")) else v)
                  for k, v in (record.after or {}).items()}
        before = {k: v for k, v in (record.before or {}).items()}
        records.append(json.dumps([record.action, record.entity, before, masked],
                                  sort_keys=True, ensure_ascii=False, default=str))
    return {"matters": found, "audit": sorted(records)}


def _last_seq(session) -> int:
    from models import AuditRecord

    return session.scalar(select(func.coalesce(func.max(AuditRecord.seq), 0)))


# Four chunks of 125: in each, debtors repeated, rows for a person, rows with a point;
# four bad case numbers in all.
ROWS = 400


def test_a_large_confirm_writes_what_the_flush_wrote_and_the_per_row_path_assigns(
        app, session, monkeypatch):
    from geo.assign import file_matter
    from models.audit import Actor, set_actor

    set_actor(Actor("test"))
    monkeypatch.setattr(intake, "CHUNK", 125)  # several chunks: a debtor across two
    filed_before = good(90_000, {"证件号码": id_number(5)})  # a debtor already known
    with app.app_context():
        report = intake.prepare(session, xlsx([filed_before]), "a.xlsx")
        intake.commit(session, report)
    rows = []
    for n in range(1, ROWS + 1):
        changes = {}
        if n % 7 == 0:  # the same debtor as the row before, another phone
            changes = {"证件号码": id_number(n - 1), "被执行人": f"张{n - 1}",
                       "被执行人电话": f"1000766{n:04d}"}
        if n % 11 == 0:
            changes["户籍地"] = "云城区某处"  # waits for a person
        if n % 13 == 0:
            changes.update({"其他地址经度": 112.04, "其他地址纬度": 22.93})
        if n % 97 == 0:
            changes["案号"] = "坏"
        rows.append(good(n, changes))
    rows.append(good(3))  # a repeat
    data = xlsx(rows)
    cases = [f"（{YEAR}）粤5302执{n}号" for n in range(1, ROWS + 1)]

    def confirm(write=None) -> dict:
        since = _last_seq(session)
        savepoint = session.begin_nested()
        if write is not None:
            monkeypatch.setattr(intake, "write_new_matters", write)
        with app.app_context():
            report = intake.prepare(session, data, "a.xlsx")
            states = intake.commit(session, report)
        session.flush()
        session.expire_all()  # as the database has them
        outcome = _outcome(session, since, cases)
        counts = report.counts()
        assert len(outcome["matters"]) == counts["new"] == sum(states.values())
        savepoint.rollback()
        monkeypatch.undo()
        monkeypatch.setattr(intake, "CHUNK", 125)
        return outcome

    bulk = confirm()
    flushed = confirm(lambda session, matters: session.flush())  # as before models.bulk
    assert bulk["matters"] == flushed["matters"]
    assert bulk["audit"] == flushed["audit"]
    assert len(bulk["matters"]) == ROWS - ROWS // 97  # every good row once
    assert sum(1 for s, *_ in bulk["matters"].values() if s == "assigned") > 3 * ROWS // 4

    # Row by row (the filing form's way), the same matters land in the same grids.
    with app.app_context():
        report = intake.prepare(session, data, "a.xlsx")
    for row in report.rows:
        if row.status == "new":
            file_matter(session, row.data)
    session.flush()
    session.expire_all()
    by_row = _outcome(session, _last_seq(session), cases)["matters"]
    assert {k: (v[0], v[4], v[5]) for k, v in by_row.items()} == {
        k: (v[0], v[4], v[5]) for k, v in bulk["matters"].items()}


def test_the_bad_rows_download_writes_each_row_once_not_the_sheet_again(monkeypatch):
    """Styling each row by ws.max_row looked at every cell written so far: 20,000 bad
    rows took minutes. Every sheet handed out is written by admin.excel._sheet."""
    from openpyxl.worksheet.worksheet import Worksheet

    from admin.views.matter_import import bad_rows_workbook

    looked = []
    real = Worksheet.max_row
    monkeypatch.setattr(Worksheet, "max_row", property(lambda ws: looked.append(1)
                                                       or real.fget(ws)))
    rows = [intake.IntakeRow(n, [f"（{YEAR}）粤5302执{n}号"], problems=[
        intake.Problem("案号", "bad")]) for n in range(2, 502)]
    data = bad_rows_workbook(intake.IntakeReport("a.xlsx", ["案号"], rows), str)
    assert len(looked) < 10
    assert load_workbook(io.BytesIO(data)).worksheets[0].max_row == 502


def test_the_bad_rows_download_is_written_row_by_row_not_held_cell_by_cell():
    """Issue 10: no request over 500 MB on a file the limits accept. A workbook held
    whole keeps an object for every cell, about 400 bytes each: the 20,000 bad rows
    of a full template took 476 MB. Written as it is built (admin.excel.workbook),
    the download holds the rows it lists and the file, a few tens of bytes a cell.
    Measured by Python's allocator (tracemalloc), not the clock."""
    import tracemalloc

    from openpyxl.utils import get_column_letter

    from admin.views.matter_import import bad_rows_workbook

    typed = [good(2).get(h) for h in HEADERS] + ["=1+1"]
    case, extra, error = HEADERS.index("案号") + 1, len(HEADERS) + 1, len(HEADERS) + 2
    rows = [intake.IntakeRow(n, [*typed[:case - 1], f"（{YEAR}）粤5302执{n}号", *typed[case:]],
                             problems=[intake.Problem("案号", "bad")]) for n in range(2, 1002)]
    report = intake.IntakeReport("a.xlsx", [*HEADERS, "额外"], rows)
    tracemalloc.start()
    try:
        data = bad_rows_workbook(report, lambda problem: "不对")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    cells = len(rows) * (len(HEADERS) + 2)
    assert peak / cells < 100, f"{peak / cells:.0f} bytes a cell"

    # And the sheet is the one a normal workbook made: title across, header frozen,
    # columns as wide as what they hold, wrong cells shaded, errors in red, formulas text.
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.freeze_panes == "A3" and sheet.print_title_rows == "$2:$2"
    assert [str(r) for r in sheet.merged_cells.ranges] == [f"A1:{get_column_letter(error)}1"]
    assert sheet["A1"].font.bold and sheet["A2"].font.bold and sheet["A2"].border.left.style
    widest = 2 * len("（）粤执号") + len(f"{YEAR}53021001")  # Chinese: two columns each
    assert sheet.column_dimensions[get_column_letter(case)].width == widest + 4
    assert sheet.max_row == len(rows) + 2
    last = sheet.max_row
    assert sheet.cell(last, case).fill.fgColor.rgb == "00F8D7DA"
    assert sheet.cell(last, case + 1).fill.fill_type is None
    assert sheet.cell(last, error).value == "案号：不对"
    assert sheet.cell(last, error).font.color.rgb == "00C00000"
    assert sheet.cell(last, extra).value == "'=1+1" and sheet.cell(last, extra).data_type == "s"
