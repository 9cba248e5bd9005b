"""The paper forms as PDF: 被执行人财产现场调查表 (the source document's attachment 1),
执行联动事项记录表 (attachment 2) and the 送达回证 (service receipt), laid out as the
paper forms — a title, bordered tables of fields, signature boxes — with the
matter's data filled in.

WeasyPrint renders them from HTML templates (admin/templates/pdf/): the forms are
tables, which HTML and CSS lay out (spanning cells, wrapping Chinese text, boxes of
a fixed height) with far less code than placing every cell by coordinates as
ReportLab would, and the templates read like the forms. Chinese is drawn in the
WenQuanYi Zen Hei font (Debian's fonts-wqy-zenhei), embedded as a subset, so the
PDF prints the same on any machine. Without that font no PDF is made: rather an
error than a form full of empty boxes.

The forms are in Chinese whatever the reader's language: they are the documents
courts and villages file, printed and signed on paper.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from flask import current_app, render_template
from flask_babel import force_locale

from admin.views.formatters import local_time, mask_phone
from admin.views.matter_formatters import (
    credential_labels,
    label,
    mask_id_number,
    request_lines,
)
from models.matter_types import MATTER_TYPE_LABELS, MatterType
from models.matters import AddressKind, Matter
from models.record_forms import OUTCOME_KIND_LABELS, OutcomeKind, RecordForm, matter_summary

# Where the CJK font may be: Debian/Ubuntu's fonts-wqy-zenhei, or GRIDLINK_PDF_FONT.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
)
FONT_FAMILY = "GridlinkCJK"
FORMS = {
    "survey": ("pdf/survey.html", "被执行人财产现场调查表"),
    "record": ("pdf/record.html", "执行联动事项记录表"),
    "receipt": ("pdf/receipt.html", "送达回证"),
}
ADDRESS_NAMES = {AddressKind.household: "户籍地", AddressKind.residence: "住所地",
                 AddressKind.habitual: "经常居住地", AddressKind.other: "其他地址"}
# Outcome fields by the stable names models.outcomes gives them; others show their name.
OUTCOME_NAMES = {
    "result": "结果", "method": "送达方式", "served_on": "送达日期", "recipient": "签收人",
    "place": "地点", "witnesses": "见证人", "address": "住址", "employer": "工作单位",
    "phone": "联系电话", "properties": "财产及线索", "income": "收入", "dividends": "分红",
    "amount": "金额（元）", "withdrawn": "协助提取", "description": "情况说明",
    "notes": "备注", "found_on": "查找日期", "investigated_on": "调查日期",
    "unit": "被调查单位", "handler": "经办人",
}

# The outcome's `result` values, as the form says them.
RESULT_NAMES = {"found": "已查找到", "not_found": "已查找，未发现", "served": "已送达",
                "completed": "已完成", "searched": "已查找，未发现", "nothing_found": "未发现"}


class PdfError(RuntimeError):
    """No PDF can be made here (the CJK font is missing)."""


def font_path() -> Path:
    configured = current_app.config.get("PDF_FONT")
    for candidate in ([configured] if configured else []) + list(FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise PdfError("no CJK font for the PDFs: install fonts-wqy-zenhei "
                   "(scripts/system-deps.sh run) or set GRIDLINK_PDF_FONT")


def _value(value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_value(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{OUTCOME_NAMES.get(k, k)}：{_value(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def outcome_lines(outcome: dict | None, leave_out=()) -> list[tuple[str, str]]:
    """The outcome's fields in the form's order (known names first; JSONB keeps no
    order of its own), each value as the form writes it."""
    order = {key: n for n, key in enumerate(OUTCOME_NAMES)}
    keys = sorted((k for k, v in (outcome or {}).items()
                   if v not in (None, "", []) and k not in leave_out),
                  key=lambda k: (order.get(k, len(order)), k))
    return [(OUTCOME_NAMES.get(k, k),
             RESULT_NAMES.get(outcome[k], outcome[k]) if k == "result" else _value(outcome[k]))
            for k in keys]


def document(matter: Matter, form: RecordForm | None, reveal: bool) -> dict:
    """What the templates fill in: from the signed snapshot when there is a record
    form, else from the matter as it stands. ID numbers and phones masked unless the
    reader may see them (models.access: may_reveal_debtor)."""
    summary = form.content.get("matter") if form else None
    summary = summary or matter_summary(matter)
    outcome = (form.content.get("outcome") if form else None) or {}
    debtor = summary["debtor"]
    typed = SimpleNamespace(matter_type=MatterType(summary["matter_type"]),
                            request=summary.get("request") or {})
    addresses: dict[str, list[str]] = {}
    for address in summary.get("addresses") or []:
        addresses.setdefault(ADDRESS_NAMES[AddressKind(address["kind"])], []).append(
            address.get("text") or "")
    grid = summary.get("grid") or {}
    return {
        "case_number": summary["case_number"], "court": summary["court"],
        "officer_name": summary.get("officer_name") or "",
        "officer_phone": summary.get("officer_phone") or "",
        "matter_type": label(MATTER_TYPE_LABELS, typed.matter_type),
        "debtor_name": debtor["name"],
        "debtor_is_person": debtor["kind"] == "person",
        "id_number": (debtor.get("id_number") or "") if reveal
        else mask_id_number(debtor.get("id_number")),
        "phones": "、".join(p if reveal else mask_phone(p) for p in debtor.get("phones") or []),
        "addresses": addresses,
        "household": "；".join(addresses.get("户籍地", [])),
        "residence": "；".join(addresses.get("住所地", []) + addresses.get("经常居住地", [])),
        "grid_path": "".join(grid.get("path") or []),
        "village": (grid.get("path") or [""])[-1],
        "liaison": summary.get("liaison") or "",
        "request": request_lines(typed),
        "request_values": typed.request,
        "credentials": "、".join(credential_labels(summary.get("credentials"))),
        "bounty": summary.get("bounty"),
        "deadline": summary.get("deadline") or "",
        "outcome": outcome_lines(outcome),
        # On the survey the unit and the withdrawal have boxes of their own.
        "survey_lines": outcome_lines(outcome, leave_out=("unit", "withdrawn")),
        "documents": len(typed.request.get("document_kinds") or []),
        "outcome_data": outcome,
        "outcome_kind": label(OUTCOME_KIND_LABELS, form.outcome_kind) if form else "",
        "completed": form is not None and form.outcome_kind is OutcomeKind.completed,
        "form": form,
        "worker_signed": (form.worker_signed_name, local_time(form.worker_signed_at))
        if form and form.worker_signed_at else None,
        "court_signed": (form.court_signed_name, local_time(form.court_signed_at))
        if form and form.court_signed_at else None,
        "number": f"{str(form.id)[:8].upper()}-{form.version}" if form else "",
    }


def render(kind: str, matter: Matter, form: RecordForm | None, reveal: bool) -> bytes:
    """The PDF of one of the FORMS for a matter, always in Chinese."""
    from weasyprint import HTML  # loaded on the first PDF: it pulls in Pango

    template, title = FORMS[kind]
    font = font_path()
    with force_locale("zh_Hans_CN"):
        html = render_template(template, title=title, doc=document(matter, form, reveal),
                               font_url=font.as_uri(), font_family=FONT_FAMILY)
    return HTML(string=html, base_url=str(font.parent)).write_pdf()
