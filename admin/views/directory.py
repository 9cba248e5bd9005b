"""The liaison list pages (联络员名单报送): a town centre drafts and submits its list,
the committee reviews what it would change and approves or returns it, and the
approved roster goes out as Excel.

Every submission is loaded through models.directory.visible(scope) in SQL, so a
list outside the account's area (or, for court staff, not yet approved) is a 404
whatever the URL; every change also needs the role its step names in
models.directory.TRANSITIONS, and is taken on the row locked FOR UPDATE.
"""

from __future__ import annotations

import uuid
from datetime import date
from io import BytesIO

from flask import abort, flash, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from wtforms import DateField, FileField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from admin import excel
from admin.auth import current_scope
from admin.views.formatters import mask_phone
from admin.views.people import ROSTER_ROLES
from admin.views.secure import refuse
from models import Grid, RosterRole, Submission, SubmissionRow, SubmissionState, db
from models.audit import append
from models.directory import (
    EDITORS,
    TRANSITIONS,
    Change,
    DirectoryError,
    check,
    diff,
    may_take,
    normalise_phone,
    standing_roster,
    start_from_roster,
    take,
    town_grids,
    visible,
)
from models.grids import N_

STATES = {SubmissionState.draft: _l("Draft"), SubmissionState.submitted: _l("Submitted"),
          SubmissionState.approved: _l("Approved"), SubmissionState.returned: _l("Returned")}
# The steps as verbs, for "cannot …" messages; the buttons carry their own words.
STEPS = {"submit": _l("submit"), "approve": _l("approve"), "return": _l("return"),
         "revise": _l("revise")}
CHANGES = {"added": _l("Added"), "removed": _l("Removed"), "changed": _l("Changed")}
FIELDS = {"name": _l("Full name"), "phone": _l("Phone"), "title": _l("Title")}
MAX_UPLOAD = 5 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RowForm(SecureForm):
    code = SelectField(_l("Grid"), choices=[], validate_choice=False)
    role = SelectField(_l("Role"), choices=[SelectChoice("", "—")] + [
        SelectChoice(r.value, label) for r, label in ROSTER_ROLES.items()])
    name = StringField(_l("Full name"), validators=[Length(max=100)])
    title = StringField(_l("Title"), validators=[Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Length(max=50)])


class UploadForm(SecureForm):
    file = FileField(_l("Excel file (.xlsx)"))


class ApproveForm(SecureForm):
    effective_from = DateField(_l("Effective from"), default=date.today)
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])


class ReturnForm(SecureForm):
    comment = TextAreaField(_l("Why it is returned"), validators=[Length(max=2000)])


def say(error: DirectoryError) -> str:
    """A refusal in the reader's language, its states and steps translated too."""
    params = dict(error.params)
    for key in ("state", "allowed"):
        if key in params:
            params[key] = STATES[SubmissionState(params[key])]
    if params.get("action") in STEPS:
        params["action"] = STEPS[params["action"]]
    return _(error.template, **params)


def download(data: bytes, name: str):
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


class DirectoryView(BaseView):
    def is_accessible(self):
        return current_scope().may("directory")

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    # --- loading, always through the scope ---------------------------------------------

    def _load(self, id: uuid.UUID, lock: bool = False) -> Submission:
        query = (select(Submission).where(Submission.id == id, visible(current_scope()))
                 .options(joinedload(Submission.town)))
        if lock:
            query = query.with_for_update(of=Submission).execution_options(
                populate_existing=True)
        submission = db.session.scalar(query)
        if submission is None:
            abort(404)
        return submission

    def _for_editing(self, id: uuid.UUID, lock: bool = True) -> Submission:
        """The list, locked, for its town's centre; a 403 for anyone else."""
        if current_user.role not in EDITORS or not current_scope().may("directory", "w"):
            abort(403)
        return self._load(id, lock=lock)

    def _refuse_unless_draft(self, submission: Submission):
        if submission.editable:
            return None
        flash(_("The list is %(state)s: only a draft can be changed.",
                state=STATES[submission.state]), "error")
        return redirect(url_for(".details", id=submission.id))

    # --- the list of submissions ---------------------------------------------------------

    @expose("/")
    def index(self):
        scope = current_scope()
        submissions = db.session.scalars(
            select(Submission).join(Grid, Submission.town_id == Grid.id)
            .where(visible(scope)).options(joinedload(Submission.town))
            .order_by(Submission.created_at.desc()).limit(200)).all()
        town = current_user.grid if current_user.role in EDITORS else None
        open_one = next((s for s in submissions if town and s.town_id == town.id
                         and s.state is not SubmissionState.approved), None)
        return self.render("gridlink/directory_list.html", submissions=submissions,
                           states=STATES, town=town, open_one=open_one, form=SecureForm())

    @expose("/new/", methods=("POST",))
    def new(self):
        if not SecureForm(request.form).validate():
            abort(400)
        if current_user.role not in EDITORS or not current_scope().may("directory", "w"):
            abort(403)
        town = current_user.grid
        try:
            submission = start_from_roster(db.session, town, current_user)
        except (DirectoryError, IntegrityError) as e:
            # IntegrityError: a second click won the race for the one open list.
            db.session.rollback()
            flash(say(e) if isinstance(e, DirectoryError) else _(
                "%(town)s already has a list under way: carry on with it.", town=town.name),
                "error")
            return redirect(url_for(".index"))
        db.session.commit()
        flash(_("A new list, filled with the roster in force: correct it, or upload the "
                "template."), "success")
        return redirect(url_for(".details", id=submission.id))

    # --- one submission ------------------------------------------------------------------

    @expose("/<uuid:id>/")
    def details(self, id):
        submission = self._load(id)
        problems = check(db.session, submission)
        by_row: dict = {}
        for problem in problems:
            by_row.setdefault(problem.row, []).append(_(problem.template, **problem.params))
        if submission.state is SubmissionState.approved:
            changes = [Change(**c) for c in submission.changes or []]
        else:
            changes = diff(db.session, submission)
        role = current_user.role
        return self.render(
            "gridlink/directory_submission.html", submission=submission, states=STATES,
            problems=by_row, n_problems=len(problems), changes=changes,
            grids=town_grids(db.session, submission.town), roles=ROSTER_ROLES,
            change_kinds=CHANGES, fields=FIELDS, reveal=current_scope().may_export_phones(),
            mask=mask_phone, editable=submission.editable and role in EDITORS,
            steps={name: may_take(name, submission, role) for name in TRANSITIONS},
            row_form=self._row_form(submission), upload_form=UploadForm(),
            approve_form=ApproveForm(), return_form=ReturnForm(), form=SecureForm())

    def _row_form(self, submission: Submission, row: SubmissionRow | None = None) -> RowForm:
        form = RowForm(request.form if request.method == "POST" else None, obj=row)
        form.code.choices = [SelectChoice("", "—")] + [
            SelectChoice(code, f"{grid.name}（{code}）")
            for code, grid in town_grids(db.session, submission.town).items()]
        return form

    @expose("/<uuid:id>/rows/", methods=("POST",))
    def add_row(self, id):
        submission = self._for_editing(id)
        refused = self._refuse_unless_draft(submission)
        if refused:
            return refused
        form = self._row_form(submission)
        if not form.validate():
            abort(400)
        row = SubmissionRow(line=submission.next_line())
        _fill(row, form)
        submission.rows.append(row)
        db.session.commit()
        flash(_("Row %(line)d added.", line=row.line), "success")
        return redirect(url_for(".details", id=id, _anchor="rows"))

    def _draft_row(self, id, row_id, lock: bool = True):
        """A row of a list and the list; a 404 if there is no such row, and the
        refusal to show when the list is no longer a draft."""
        submission = self._for_editing(id, lock=lock)
        row = next((r for r in submission.rows if r.id == row_id), None)
        if row is None:
            abort(404)
        return submission, row, self._refuse_unless_draft(submission)

    @expose("/<uuid:id>/rows/<uuid:row_id>/", methods=("GET", "POST"))
    def edit_row(self, id, row_id):
        submission, row, refused = self._draft_row(id, row_id, lock=request.method == "POST")
        if refused:
            return refused
        form = self._row_form(submission, row)
        if request.method == "POST" and form.validate():
            _fill(row, form)
            db.session.commit()
            flash(_("Row %(line)d saved.", line=row.line), "success")
            return redirect(url_for(".details", id=id, _anchor="rows"))
        return self.render("gridlink/directory_row.html", submission=submission, row=row,
                           form=form)

    @expose("/<uuid:id>/rows/<uuid:row_id>/delete/", methods=("POST",))
    def delete_row(self, id, row_id):
        if not SecureForm(request.form).validate():
            abort(400)
        submission, row, refused = self._draft_row(id, row_id)
        if refused:
            return refused
        submission.rows.remove(row)
        db.session.commit()
        flash(_("Row %(line)d removed.", line=row.line), "success")
        return redirect(url_for(".details", id=id, _anchor="rows"))

    @expose("/<uuid:id>/upload/", methods=("POST",))
    def upload(self, id):
        if not UploadForm(request.form).validate():
            abort(400)
        submission = self._for_editing(id)
        refused = self._refuse_unless_draft(submission)
        if refused:
            return refused
        file = request.files.get("file")
        try:
            rows = excel.read_submission(_checked_upload(file))
        except DirectoryError as e:
            flash(say(e), "error")  # the draft is left as it was
            return redirect(url_for(".details", id=id))
        # The file is the whole list: it replaces the draft's rows.
        submission.rows = [SubmissionRow(line=r.line, code=r.code, role=r.role, name=r.name,
                                         phone=r.phone, title=r.title) for r in rows]
        db.session.flush()
        problems = check(db.session, submission)
        db.session.commit()
        flash(_("Rows read from %(file)s: %(n)d. Problems: %(bad)d, listed below.",
                n=len(rows), file=file.filename, bad=len(problems)),
              "warning" if problems else "success")
        return redirect(url_for(".details", id=id, _anchor="rows"))

    @expose("/<uuid:id>/<any(submit,approve,return,revise):step>/", methods=("POST",))
    def step(self, id, step):
        form = {"approve": ApproveForm, "return": ReturnForm}.get(step, SecureForm)(
            request.form)
        if not form.validate():
            if "csrf_token" in form.errors:
                abort(400)
            flash(_("The form is incomplete: %(errors)s", errors="; ".join(
                f"{form[k].label.text}: {', '.join(v)}" for k, v in form.errors.items())),
                "error")
            return redirect(url_for(".details", id=id))
        submission = self._load(id, lock=True)
        try:
            changes = take(db.session, submission, step, current_user._get_current_object(),
                           comment=form.data.get("comment"), on=form.data.get("effective_from"))
        except DirectoryError as e:
            db.session.rollback()
            flash(say(e), "error")
            return redirect(url_for(".details", id=id))
        db.session.commit()
        flash(_done(step, submission, changes), "success")
        return redirect(url_for(".details", id=id))

    # --- Excel ---------------------------------------------------------------------------

    @expose("/template.xlsx")
    def template(self):
        """The standard template; a town centre gets it filled with its roster."""
        town = current_user.grid if current_user.role in EDITORS else None
        entries = standing_roster(db.session, town) if town else []
        _audit_export("template", len(entries), full=sum(1 for e in entries if e.person.phone))
        name = f"{town.name if town else ''}联络员名单报送表.xlsx"
        return download(excel.template_workbook(town, entries), name)

    @expose("/export/liaisons.xlsx")
    def export_liaisons(self):
        """Phones in full only for those who may take them in bulk; masked for the
        rest, court staff included (one number is one audited click away)."""
        scope, today = current_scope(), date.today()
        rows = excel.liaison_rows(db.session, scope, today)
        full = scope.may_export_phones()
        for row in rows:
            row[4] = row[4] if full else mask_phone(row[4])
        _audit_export("liaisons", len(rows), full=sum(1 for r in rows if r[4]) if full else 0)
        return download(excel.liaison_workbook(rows, today), f"联络员名单{today:%Y%m%d}.xlsx")

    @expose("/export/courts.xlsx")
    def export_courts(self):
        """The courts' contacts are there to be called by the grids: in full, as on
        the court list page, and counted."""
        rows = excel.court_rows(db.session, current_scope())
        _audit_export("courts", len(rows), full=sum(1 for r in rows if r[4]))
        return download(excel.court_workbook(rows), "法院联系人员名单.xlsx")


def _fill(row: SubmissionRow, form: RowForm) -> None:
    row.code = form.code.data or None
    row.role = RosterRole(form.role.data) if form.role.data else None
    row.name = (form.name.data or "").strip() or None
    row.title = (form.title.data or "").strip() or None
    row.phone = normalise_phone(form.phone.data)


def _checked_upload(file):
    if file is None or not file.filename:
        raise DirectoryError(N_("Choose the Excel file to upload."))
    file.stream.seek(0, 2)
    if file.stream.tell() > MAX_UPLOAD:
        raise DirectoryError(N_("The file is larger than %(mb)d MB: is it the right one?"),
                             mb=MAX_UPLOAD // 2**20)
    file.stream.seek(0)
    return file.stream


def _done(step: str, submission: Submission, changes) -> str:
    if step == "submit":
        return _("The list was submitted to the political-legal committee.")
    if step == "approve":
        return _("The list was approved. Changes to the roster: %(n)d, in effect from %(date)s.",
                 n=len(changes or []), date=submission.effective_from.isoformat())
    if step == "return":
        return _("The list was returned to %(town)s with your comment.",
                 town=submission.town.name)
    return _("The list is a draft again: correct it, then submit it.")


def _audit_export(what: str, rows: int, full: int) -> None:
    """Personal data leaving the system: who took which list, and how many phone
    numbers went out in full."""
    scope = current_scope()
    append(db.session.connection(), "export", "directory", what,
           after={"rows": rows, "phones": "full" if full else "masked", "phones_full": full,
                  "area": scope.area_code or "city"})
    db.session.commit()
