"""The matter list as a spreadsheet (事项列表 → 导出 Excel): the matters the asker reads
under the list's own filters and search, one row each with what became of it — the
latest outcome in a line, the record form's two signatures, the labour fee and the
day the court confirmed it.

ID numbers follow the rule of the liaison list (admin.views.directory): in bulk they
go out in full only to a role that may take personal data in bulk *and* see a
debtor's number (models.access: may_export_phones and may_reveal_debtor — today the
admin alone); everyone else, the court that filed the matters included, gets them
masked, one number being one audited click away on the matter's page; so is a phone
number the grid found for the debtor, inside the outcome's line. Every export is
audited with its row count and how many numbers went out in full.
"""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO

from flask import abort, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin import excel
from admin.auth import current_scope
from admin.views.deadline_marks import mark_text
from admin.views.formatters import local_time, mask_phone
from admin.views.matter_formatters import grid_path, label, mask_id_number
from admin.views.matter_rows import row_options
from admin.views.outcomes import outcome_lines
from models import Matter, db
from models.accounts import Role
from models.audit import append
from models.counting import MoreThan, list_count
from models.fees import LedgerLine, local_day
from models.matter_types import MATTER_TYPE_LABELS
from models.matters import OPEN_STATES, STATE_LABELS
from models.outcomes import Outcome
from models.record_forms import RecordForm

HEADERS = ["案号", "法院", "承办人", "事项类型", "被执行人", "证件号码", "状态", "期限",
           "是否超期", "网格", "联络员", "办理人", "办理结果", "记录表签署", "劳务费（元）",
           "办结日期", "签收期限", "办结期限", "期限提示"]
WIDTHS = [26, 26, 14, 20, 16, 22, 10, 12, 10, 30, 10, 10, 60, 40, 12, 12, 17, 17, 30]
TEXT_COLUMNS = {0, 5}  # case numbers and ID numbers stay text
MAX_ROWS = 50_000  # a county's year is a few thousand; a province's wants a report
CHUNK = 1000  # matters loaded at a time: memory stays that of one chunk
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def outcome_text(matter: Matter, outcome: Outcome | None, full: bool = False) -> str:
    """The latest outcome's answers in one line, as the page labels them; a phone number
    found for the debtor is masked unless personal data goes out in full."""
    if outcome is None:
        return ""
    parts = []
    for line in outcome_lines(matter.matter_type, outcome.data):
        if "rows" in line:
            value = "；".join("，".join(v for v in row if v) for row in line["rows"])
        elif "files" in line:
            value = _("%(n)d files", n=len(line["files"]))
        else:
            value = line["text"] if full or line["name"] != "phone" else \
                mask_phone(line["text"])
        parts.append(f"{line['label']}：{value}")
    return "；".join(parts)


def _signed(name, at) -> str:
    return f"{name} {local_day(at).isoformat()}" if at else _("not yet")


def signatures(form: RecordForm | None) -> str:
    """Who signed the record form for each side, and on which day (China time)."""
    if form is None:
        return ""
    grid = _signed(form.worker_signed_name, form.worker_signed_at)
    court = _signed(form.court_signed_name, form.court_signed_at)
    return f"{_('Signed for the grid')}：{grid}；{_('Signed for the court')}：{court}"


def matter_row(matter: Matter, outcome, form, fee, full_ids: bool, today: date) -> list:
    primary = matter.primary_assignment
    number = matter.debtor.id_number if matter.debtor else None
    overdue = bool(matter.deadline and matter.deadline < today
                   and matter.state in OPEN_STATES)
    return [
        matter.case_number, matter.court.name if matter.court else "", matter.officer_name,
        label(MATTER_TYPE_LABELS, matter.matter_type),
        matter.debtor.name if matter.debtor else "",
        (number or "") if full_ids else mask_id_number(number),
        label(STATE_LABELS, matter.state), matter.deadline,
        _("Yes") if overdue else _("No"),
        grid_path(primary.grid) if primary else "",
        primary.liaison.name if primary and primary.liaison else "",
        matter.field_worker.name if matter.field_worker else "",
        outcome_text(matter, outcome, full_ids), signatures(form),
        fee.amount if fee is not None else None,
        local_day(form.court_signed_at) if form and form.court_signed_at else None,
        # The deadlines by the rules, in Beijing time, and the one that counts now.
        local_time(matter.accept_due_at), local_time(matter.finish_due_at), mark_text(matter),
    ]


def _latest(session, ids) -> tuple[dict, dict, dict]:
    """The latest outcome, current record form and live ledger line of these matters."""
    outcomes = {}
    for o in session.scalars(select(Outcome).where(Outcome.matter_id.in_(ids))
                             .order_by(Outcome.matter_id, Outcome.version)):
        outcomes[o.matter_id] = o
    forms = {f.matter_id: f for f in session.scalars(select(RecordForm).where(
        RecordForm.matter_id.in_(ids), RecordForm.superseded_by.is_(None)))}
    fees = {x.matter_id: x for x in session.scalars(LedgerLine.live().where(
        LedgerLine.matter_id.in_(ids)))}
    return outcomes, forms, fees


def write_workbook(session, query, full_ids: bool, today: date) -> tuple[bytes, int, int]:
    """The matters of the query, a chunk at a time, written row by row; the bytes, the
    row count and how many ID numbers went out in full."""
    wb = excel.workbook()
    ws = wb.create_sheet("联动事项")
    for i, width in enumerate(WIDTHS):
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    ws.freeze_panes = "A2"
    ws.append([excel.cell(ws, h, font=excel.BOLD, fill=excel.HEADER_FILL,
                          border=excel.BORDER, alignment=excel.HEADING) for h in HEADERS])
    plain = excel.cell(ws, border=excel.BORDER)._style
    text = excel.cell(ws, border=excel.BORDER, number_format=excel.TEXT)._style
    day = excel.cell(ws, border=excel.BORDER, number_format="yyyy-mm-dd")._style
    rows = full = 0
    with force_locale("zh_Hans_CN"):
        for start in range(0, MAX_ROWS, CHUNK):
            matters = query.limit(CHUNK).offset(start).all()
            if not matters:
                break
            outcomes, forms, fees = _latest(session, [m.id for m in matters])
            for m in matters:
                values = matter_row(m, outcomes.get(m.id), forms.get(m.id), fees.get(m.id),
                                    full_ids, today)
                cells = []
                for n, value in enumerate(values):
                    made = excel.cell(ws, value)
                    made._style = (text if n in TEXT_COLUMNS else
                                   day if isinstance(value, date) else plain)
                    cells.append(made)
                ws.append(cells)
                rows += 1
                full += bool(full_ids and m.debtor and m.debtor.id_number)
    out = BytesIO()
    wb.save(out)
    return out.getvalue(), rows, full


class MatterExport:
    """For MatterView: 导出 Excel of the list as filtered."""

    def _filtered_query(self):
        """The list's own query: scope, search, filters and sorting as on the page (and
        the id last, so that chunks of the same order never overlap)."""
        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        _, query = self.get_list(None, sort[0] if sort else None, args.sort_desc,
                                 args.search, args.filters, execute=False, page_size=0)
        # Exact up to the most an export takes; beyond it an estimate is enough to refuse.
        count = list_count(query.session, query, exact_up_to=MAX_ROWS)
        return count, query.order_by(Matter.id).options(
            *row_options(), selectinload(Matter.court), selectinload(Matter.field_worker))

    @property
    def may_export(self) -> bool:
        """Not a committee: it reads the matters brought to it one by one, to act."""
        return current_scope().role is not Role.committee

    @expose("/export.xlsx")
    def export_view(self):
        scope = current_scope()
        if not self.may_export:
            abort(403)
        count, query = self._filtered_query()
        back = url_for(".index_view", **request.args)
        if count > MAX_ROWS:
            flash(_("%(n)s matters match: the export takes at most %(max)s. Narrow the list "
                    "with its filters (state, type, court, deadline) and export again.",
                    n=f"{MAX_ROWS:,}+" if isinstance(count, MoreThan) else f"{count:,}",
                    max=f"{MAX_ROWS:,}"), "error")
            return redirect(back)
        full_ids = scope.may_export_phones() and scope.may_reveal_debtor()
        data, rows, full = write_workbook(db.session, query, full_ids, date.today())
        append(db.session.connection(), "export", "matters", "list",
               after={"rows": rows, "id_numbers": "full" if full else "masked",
                      "id_numbers_full": full, "area": scope.area_code or "city",
                      "filters": {k: v for k, v in request.args.items()}})
        db.session.commit()
        return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True,
                         download_name=f"联动事项{datetime.now():%Y%m%d}.xlsx")
