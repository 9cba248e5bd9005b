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
class PdfError(RuntimeError):
    """No PDF can be made here (the CJK font is missing)."""


def font_path() -> Path:
    configured = current_app.config.get("PDF_FONT")
    for candidate in ([configured] if configured else []) + list(FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise PdfError("no CJK font for the PDFs: install fonts-wqy-zenhei "
                   "(scripts/system-deps.sh run) or set GRIDLINK_PDF_FONT")


def outcome_lines(matter_type: MatterType, outcome: dict | None,
                  leave_out=()) -> list[tuple[str, str]]:
    """The outcome's answers in the form's order, each as the form writes it: the
    same questions and labels as the matter's page (models.outcomes)."""
    from admin.views.outcomes import outcome_lines as answered

    lines = []
    for line in answered(matter_type, outcome or {}):
        if line["name"] in leave_out:
            continue
        if "rows" in line:
            value = "；".join("，".join(f"{c}：{v}" for c, v in zip(line["columns"], row,
                                                                  strict=True) if v)
                             for row in line["rows"])
        elif "files" in line:
            value = f"附 {len(line['files'])} 个文件"
        else:
            value = line["text"]
        lines.append((line["label"], value))
    return lines


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
        "outcome": outcome_lines(typed.matter_type, outcome),
        # On the survey the unit and the withdrawal have boxes of their own.
        "survey_lines": outcome_lines(typed.matter_type, outcome,
                                      leave_out=("unit", "withdrawn")),
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
