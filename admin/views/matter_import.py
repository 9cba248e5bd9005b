"""Bulk filing in the admin: download the template, upload a filled one, see the
report (admin.matter_intake, the same as `gridlink matters import`), write the
good rows, download the bad ones with their errors to fix and upload again.

The upload is kept server-side under a random token in a folder of the account
that uploaded it, so nobody else can see its report or write it; writing reads
that same file again, and files nothing that is already filed.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import zip_longest
from pathlib import Path

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from wtforms import FileField

from admin import matter_intake as intake
from admin import uploads
from admin.auth import current_scope
from admin.excel import TEXT, cell, save, titled_sheet, workbook
from admin.jobs import execute
from admin.views.directory import MAX_UPLOAD, download
from admin.views.jobs import say
from admin.views.secure import refuse
from models import Court, CourtKind, Grid, GridLevel, db, jobs
from models.access import Scope
from models.accounts import Role
from models.identity import id_check_character, uscc_check_character
from models.matter_types import (
    CREDENTIAL_LABELS,
    DEFAULT_DEADLINE_DAYS,
    MATTER_TYPE_LABELS,
    REQUIRED_CREDENTIALS,
    MatterType,
)

UPLOADS = intake.UPLOADS  # their folder in admin.uploads, then one per account
TOKEN = re.compile(r"^[0-9a-f]{32}\.(xlsx|xlsm|csv|txt)$")
SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt")
OLD_EXCEL = intake.OLD_EXCEL
SHOWN_PROBLEMS = 1000  # on the page; the bad-rows download has them all
BAD_FILL = PatternFill("solid", fgColor="F8D7DA")
ERROR_FONT = Font(color="C00000")
WRAPPED = Alignment(wrap_text=True, vertical="top")


class UploadForm(SecureForm):
    file = FileField(_l("Spreadsheet (.xlsx or .csv)"))


class MatterImportView(BaseView):
    def is_accessible(self):
        return current_scope().may("matters", "w")

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = UploadForm(request.form)
        if request.method == "POST" and form.validate():
            upload = request.files.get("file")
            name = (upload.filename or "") if upload else ""
            suffix = Path(name).suffix.lower()
            if suffix == ".xls":
                flash(_(OLD_EXCEL, file=name), "error")
            elif suffix not in SUFFIXES:
                flash(_("Choose an Excel workbook (.xlsx) or a CSV file (.csv)."), "error")
            elif _too_large(upload):
                flash(_("The file is larger than %(mb)d MB: split it.",
                        mb=MAX_UPLOAD // 2**20), "error")
            else:
                token = uploads.save(upload, suffix, *_folder())
                return redirect(url_for(".report", token=token, name=name))
        return self.render("gridlink/matter_import.html", form=form, report=None)

    def _prepare(self, token: str) -> intake.IntakeReport:
        path = uploads.find(token, *_folder())
        if not TOKEN.match(token) or path is None:
            abort(404)
        report = intake.prepare(db.session, path.read_bytes(), token, _scope())
        report.filename = request.args.get("name") or token
        return report

    @expose("/report/<token>", methods=("GET", "POST"))
    def report(self, token):
        form = SecureForm(request.form)
        if request.method == "POST":
            if not form.validate():
                abort(400)
            return self._confirm(token)
        try:
            report = self._prepare(token)
        except intake.IntakeError as e:
            flash(_(e.template, **e.params), "error")
            return redirect(url_for(".index"))
        problems = [(row, problem) for row in report.bad for problem in row.problems]
        return self.render("gridlink/matter_import.html", form=form, report=report,
                           counts=report.counts(), problems=problems[:SHOWN_PROBLEMS],
                           n_problems=len(problems), token=token,
                           repeats=[r for r in report.rows if r.status == "repeat"],
                           say=lambda p: intake.say(p, _), name=request.args.get("name"))

    def _confirm(self, token: str):
        """File the upload's new rows: while you wait for a small file; as a job with a
        progress page for a large one (admin.matter_intake.file_upload either way). A
        second click finds the first run."""
        path = uploads.find(token, *_folder())
        if not TOKEN.match(token) or path is None:
            abort(404)
        name = request.args.get("name") or token
        try:
            rows = len(intake.read_table(path.read_bytes(), token).rows)
        except intake.IntakeError as e:
            flash(_(e.template, **e.params), "error")
            return redirect(url_for(".index"))
        back = url_for(".report", token=token, name=name)
        queue = rows > current_app.config.get("IMPORT_INLINE_ROWS", intake.INLINE_ROWS)
        run, new = jobs.start(db.session, "matter_import", token, owner_id=current_user.id,
                              params={"name": name, "back": back}, total=rows, queue=queue)
        db.session.commit()
        if queue or not new:
            return redirect(url_for("jobs.run", id=run.id))
        run = execute(run.id)
        category = {"done": "success" if run.message == intake.FILED else "info"}
        flash(say(run), category.get(run.state.value, "error"))
        return redirect(back)

    @expose("/report/<token>/bad-rows.xlsx")
    def bad_rows(self, token):
        try:
            report = self._prepare(token)
        except intake.IntakeError:
            abort(404)
        name = Path(report.filename).stem
        return download(bad_rows_workbook(report, lambda p: intake.say(p, _)),
                        f"{name}-错误行.xlsx")

    @expose("/template.xlsx")
    def template(self):
        return download(template_workbook(db.session, _scope()), "联动事项导入模板.xlsx")


def _scope() -> Scope | None:
    scope = current_scope()
    return None if scope.role is Role.admin else scope


def _folder() -> tuple[str, str]:
    """The signed-in account's own uploads: a token is no use to anyone else. They stay
    (for the report and the bad rows) until admin.uploads sweeps them."""
    return UPLOADS, str(current_user.id)


def _too_large(upload) -> bool:
    upload.stream.seek(0, 2)
    size = upload.stream.tell()
    upload.stream.seek(0)
    return size > MAX_UPLOAD


# --- the workbooks handed out ----------------------------------------------------------
# Headings, explanations and values are in Chinese whatever the reader's language:
# the file is data in the template's layout, read back by admin.matter_intake.

def template_workbook(session, scope: Scope | None) -> bytes:
    """The template: the header, two example rows (marked, and refused if left in),
    lists to pick from, and a second sheet explaining every column."""
    columns = intake.template_columns()
    headers = [c.header for c in columns]
    wb = workbook()
    ws = wb.create_sheet("联动事项")
    text = {i for i, c in enumerate(columns) if c.key in TEXT_KEYS}
    for i in text:  # the rows still to be typed too
        ws.column_dimensions[get_column_letter(i + 1)].number_format = TEXT
    picks = _picks(columns)
    for n, (key, values) in enumerate(picks.items(), start=1):
        letter = get_column_letter(n)
        at = next(i for i, c in enumerate(columns, start=1) if c.key == key)
        pick = DataValidation(type="list", formula1=f"'选项'!${letter}$1:${letter}${len(values)}",
                              allow_blank=True, showErrorMessage=True)
        target = get_column_letter(at)
        pick.add(f"{target}3:{target}{intake.MAX_ROWS + 2}")
        ws.data_validations.append(pick)
    titled_sheet(ws, "执行联动事项批量导入表", headers, _examples(session, scope, columns),
           text_columns=text)
    lists = wb.create_sheet("选项")
    lists.sheet_state = "hidden"
    for row in zip_longest(*picks.values()):  # one list a column
        lists.append([cell(lists, value) for value in row])
    _explain(wb.create_sheet("填写说明"), columns)
    return save(wb)


TEXT_KEYS = ("case_number", "debtor_id_number", "officer_phone", "debtor_phones")


def _picks(columns) -> dict[str, list[str]]:
    """What each column with a list to pick from offers, by its key."""
    picks = {"matter_type": [intake.zh(label) for label in MATTER_TYPE_LABELS.values()],
             "debtor_kind": ["自然人", "单位"], "urgent": ["是", "否"], "bounty": ["是", "否"]}
    for column in columns:
        spec = column.asks[0][1] if column.asks else None
        if spec and spec.kind == "choice" and not spec.multiple:
            picks[column.key] = [intake.zh(label) for _, label in spec.choices]
        elif spec and spec.kind == "flag":
            picks[column.key] = ["是", "否"]
    return picks


def _examples(session, scope: Scope | None, columns) -> list[list]:
    """Two rows a court would file, in a court and a village the account knows."""
    court = session.get(Court, scope.court_id) if scope and scope.court_id else None
    court = court or session.scalar(select(Court).where(Court.kind == CourtKind.base)
                                    .order_by(Court.county_code)) or session.scalar(
        select(Court).order_by(Court.name))
    place = _example_place(session, court)
    year = date.today().year
    code = (court.case_code if court and court.case_code else "粤5302")
    person_id = "445302199001011" + "23"
    organisation = "91445302MA4W12345"
    kinds = {k: intake.zh(v) for k, v in MATTER_TYPE_LABELS.items()}
    credentials = {k: intake.zh(v) for k, v in CREDENTIAL_LABELS.items()}
    first = {"court": court.name if court else "", "case_number": f"（{year}）{code}执1号",
             "matter_type": kinds[MatterType.service], "officer_name": "李明",
             "officer_phone": "07668888001", "debtor_kind": "自然人", "debtor_name": "张三",
             "debtor_id_number": person_id + id_check_character(person_id),
             "debtor_phones": "10007669001", "household": place, "urgent": "否", "bounty": "否",
             "notes": intake.EXAMPLE_NOTE}
    second = {**first, "case_number": f"（{year}）{code}执2号",
              "matter_type": kinds[MatterType.find_property], "debtor_kind": "单位",
              "debtor_name": "云浮市示例贸易有限公司",
              "debtor_id_number": organisation + uscc_check_character(organisation),
              "debtor_phones": "", "household": "", "residence": place,
              "credentials": "、".join([credentials[c] for c in ("enforcement_basis", "work_id")]),
              "deadline": date.today() + timedelta(days=30), "urgent": "是", "bounty": "是"}
    for row, kind, answers in ((first, MatterType.service, (("document_kinds", 0, 2),
                                                            ("method", 0, 1))),
                               (second, MatterType.find_property, (("property_kinds", 0, 3),))):
        for column in columns:
            spec = column.spec_for(kind)
            for name, start, stop in answers:
                if spec is not None and spec.name == name:
                    row[column.key] = "、".join(intake.zh(label) for _, label
                                               in spec.choices[start:stop])
    return [[row.get(c.key, "") for c in columns] for row in (first, second)]


def _example_place(session, court: Court | None) -> str:
    """The first village of the court's county, written out county, town, village."""
    village = session.scalar(
        Grid.current().where(Grid.level == GridLevel.village,
                             Grid.code.startswith(court.county_code if court and not
                                                  court.county_code.endswith("00") else ""))
        .order_by(Grid.code))
    if village is None:
        return "云浮市云城区云城街道丰收村"
    names = dict(session.execute(select(Grid.code, Grid.name).where(
        Grid.generation_high.is_(None),
        Grid.code.in_([village.code[:6] + "000000", village.code[:9] + "000"]))).all())
    return (f"云浮市{names.get(village.code[:6] + '000000', '')}"
            f"{names.get(village.code[:9] + '000', '')}{village.name}")


FIXED_NOTES = {
    "court": ("必填", "法院全称，与系统中的法院名称完全一致，如“云浮市云城区人民法院”。"
                      "法院干警只能为本院及所属人民法庭导入；留空即本院。"),
    "case_number": ("必填", "如“（2026）粤5302执123号”，括号可用半角。"),
    "matter_type": ("必填", "下拉选择。"),
    "officer_name": ("必填", "承办法官或执行干警姓名。"),
    "officer_phone": ("选填", "手机号或带区号的固定电话。"),
    "debtor_kind": ("必填", "下拉选择。"),
    "debtor_name": ("必填", "姓名或单位名称。"),
    "debtor_id_number": ("选填", "自然人填18位公民身份号码，单位填18位统一社会信用代码；"
                                 "请按文本填写，不要让 Excel 变成数字。"),
    "debtor_phones": ("选填", "多个号码用“、”分隔。"),
    "household": ("至少填一个地址", "写到村（社区）或门牌，如“云浮市云城区云城街道丰收村”。"),
    "residence": ("至少填一个地址", "同上。"),
    "habitual": ("至少填一个地址", "同上。"),
    "other": ("至少填一个地址", "同上。"),
    "other_lon": ("选填", "其他地址的经度（WGS84，GPS、天地图），与纬度同时填写。"),
    "other_lat": ("选填", "其他地址的纬度（WGS84），与经度同时填写。"),
    "credentials": ("视事项类型", "法院出示的证件，多个用“、”分隔。"),
    "deadline": ("选填", "如 2026-12-01、2026/12/1 或 2026年12月1日；不填则按事项类型的默认"
                         "期限（" + "，".join(f"{intake.zh(MATTER_TYPE_LABELS[k])}{d}天"
                                           for k, d in DEFAULT_DEADLINE_DAYS.items()) + "）。"),
    "urgent": ("选填", "是 或 否，不填为否。"),
    "bounty": ("选填", "是否属于执行悬赏：是 或 否，不填为否。"),
    "notes": ("选填", "模板中的两行示例在备注中注明，导入前请删除。"),
}


def _explain(ws, columns) -> None:
    rows = []
    for column in columns:
        if column.asks:
            required = "；".join(
                f"{intake.zh(MATTER_TYPE_LABELS[kind])}{'必填' if spec.required else '选填'}"
                for kind, spec in column.asks)
            spec = column.asks[0][1]
            note = {"choice": "可多选，用“、”分隔。" if spec.multiple else "单选。",
                    "date": "日期，如 2026-12-01。", "flag": "是 或 否。",
                    "text": "文字。"}[spec.kind]
            allowed = "、".join(intake.zh(label) for _, label in spec.choices)
            rows.append([column.header, required, "仅以下事项类型填写：" + note, allowed])
            continue
        required, note = FIXED_NOTES[column.key]
        rows.append([column.header, required, note, _allowed(column.key)])
    titled_sheet(ws, "填写说明（每行一件联动事项；表头请勿修改）",
           ["列名", "是否必填", "说明", "可填写的值"], rows, restyle=_wrapped)


def _wrapped(_, cells) -> None:
    for made in cells:
        made.alignment = WRAPPED


def _allowed(key: str) -> str:
    if key == "matter_type":
        return "、".join(intake.zh(label) for label in MATTER_TYPE_LABELS.values())
    if key == "debtor_kind":
        return "自然人、单位"
    if key in ("urgent", "bounty"):
        return "是、否"
    if key == "credentials":
        names = {k: intake.zh(v) for k, v in CREDENTIAL_LABELS.items()}
        needs = [f"{intake.zh(MATTER_TYPE_LABELS[kind])}须出示"
                 + "及".join("/".join(sorted(names[c] for c in group)) for group in groups)
                 for kind, groups in REQUIRED_CREDENTIALS.items() if groups]
        return "、".join(names.values()) + "。" + "；".join(needs) + "。"
    return ""


def bad_rows_workbook(report: intake.IntakeReport, say) -> bytes:
    """The rows that were not filed, as they were typed, with a 错误 column and the
    wrong cells shaded: fix them and upload this file again. Written row by row
    (admin.excel.workbook): the 20,000 bad rows of a full file take no more memory
    than a few."""
    headers = [h for h in report.headers] + [intake.ERROR_HEADER]
    bad = report.bad
    rows = [[*row.cells[:len(report.headers)],
             *[None] * (len(report.headers) - len(row.cells)),
             "；".join(f"{p.column}：{say(p)}" for p in row.problems)] for row in bad]
    where = {h: i for i, h in enumerate(report.headers)}

    def shade(i: int, cells) -> None:
        for problem in bad[i].problems:
            if problem.column in where:
                cells[where[problem.column]].fill = BAD_FILL
        cells[-1].font = ERROR_FONT

    wb = workbook()
    titled_sheet(wb.create_sheet("未导入的行"), f"未导入的行（{report.filename}）", headers, rows,
           restyle=shade)
    return save(wb)
