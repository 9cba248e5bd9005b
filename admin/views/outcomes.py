"""A matter's outcome: the form a grid worker fills in on a phone, and how the
outcome reads on the matter's page; its evidence files, served by id.

The form is built from models.outcomes.OUTCOME_FIELDS, like the filing form from
the request's tables. Files come in with the form: each is checked on its own
(models.evidence.store) and, once accepted, kept — a refused file, or a missing
answer, sends the form back with everything typed and every accepted file
(by id, in hidden fields), and says which file was refused and why.

Mixed into MatterView (admin.views.matters), so the pages live under
/admin/matter/ and reach matters only through Scope.matters() (reading) and
Scope.matters_to_act_on() (recording).
"""

from __future__ import annotations

import re
import uuid

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from admin.auth import current_scope
from admin.outcome_files import evidence_max_bytes, evidence_root, send_evidence
from admin.views.formatters import local_time
from admin.views.matter_formatters import label, say
from models import Matter, MatterState, db
from models.evidence import FORMATS, Evidence, EvidenceError, store
from models.matter_types import CREDENTIAL_LABELS, MATTER_TYPE_LABELS, Credential, MatterType
from models.matters import STATE_LABELS
from models.outcome_answers import local_today
from models.outcomes import (
    FieldError,
    OutcomeError,
    check_outcome,
    fields_of,
    latest,
    may_record,
    points,
    prefilled,
    record_outcome,
    versions,
)

# o-items-3-description, o-items-3-point-lon: a column of the fourth row of items.
ROW = re.compile(r"^o-(?P<field>[a-z_]+)-(?P<index>\d{1,3})-(?P<column>[a-z_]+)(-lon|-lat)?$")


# --- reading the form --------------------------------------------------------------------

def _point(form: MultiDict, name: str) -> dict | None:
    lon, lat = (form.get(f"{name}-lon") or "").strip(), (form.get(f"{name}-lat") or "").strip()
    return {"lon": lon, "lat": lat} if lon or lat else None


def _value(spec, form: MultiDict, name: str):
    if spec.kind == "names":
        return [v for v in form.getlist(name) if v.strip()]
    if spec.kind == "point":
        return _point(form, name)
    if spec.kind == "files":
        return [v for v in form.getlist(f"{name}-kept") if v]
    return form.get(name, "")


def form_answers(matter_type: MatterType, form: MultiDict) -> dict:
    """What the form posted, shaped as an outcome's data (models.outcomes)."""
    answers = {}
    for spec in fields_of(matter_type):
        if spec.kind != "rows":
            answers[spec.name] = _value(spec, form, f"o-{spec.name}")
            continue
        indexes = sorted({int(m["index"]) for m in map(ROW.match, form.keys())
                          if m and m["field"] == spec.name})
        answers[spec.name] = [
            {c.name: _value(c, form, f"o-{spec.name}-{i}-{c.name}") for c in spec.columns}
            for i in indexes]
    return answers


def say_outcome(error: FieldError) -> str:
    """A refusal in the reader's language, the question's label translated too."""
    params = dict(error.params or {})
    if "label" in params:
        params["label"] = _(params["label"])
    if "fields" in params:
        params["fields"] = "、".join(_(f.strip()) for f in params["fields"].split(","))
    if params.get("state") in MatterState.__members__:
        params["state"] = label(STATE_LABELS, MatterState(params["state"]))
    if "credential" in params:
        params["credential"] = label(CREDENTIAL_LABELS, Credential(params["credential"]))
    if "step" in params or "at" in params:  # a refused step (models.workflow)
        return say(error)
    return _(error.template) % params if params else _(error.template)


# --- how an outcome reads -----------------------------------------------------------------

def yuan(value) -> str:
    text = f"{float(value):,.2f}".removesuffix(".00")
    return _("%(amount)s yuan", amount=text)


def show_value(spec, value) -> str:
    """One answer as the page shows it."""
    if value in (None, "", []):
        return ""
    if spec.kind == "choice":
        return label(dict(spec.choices), value)
    if spec.kind == "yuan":
        return yuan(value)
    if spec.kind == "flag":
        return _("Yes") if value else _("No")
    if spec.kind == "names":
        return "、".join(value)
    if spec.kind == "point":
        return f"{value['lon']:.5f}, {value['lat']:.5f}"
    return str(value)


def outcome_lines(matter_type: MatterType, data: dict) -> list[dict]:
    """The answered questions in order: {label, text} or {label, rows, columns} or
    {label, files} (evidence ids)."""
    lines = []
    for spec in fields_of(matter_type):
        value = data.get(spec.name)
        if (value in (None, "", [], False) and spec.kind != "flag") or (
                spec.kind == "flag" and spec.name not in data):
            continue
        if spec.kind == "rows":
            lines.append({"name": spec.name, "label": _(spec.label),
                          "columns": [_(c.label) for c in spec.columns],
                          "rows": [[show_value(c, row.get(c.name)) for c in spec.columns]
                                   for row in value]})
        elif spec.kind == "files":
            lines.append({"name": spec.name, "label": _(spec.label), "files": value})
        else:
            lines.append({"name": spec.name, "label": _(spec.label),
                          "text": show_value(spec, value)})
    return lines


def file_facts(evidence: Evidence) -> dict:
    point = evidence.point
    return {"id": str(evidence.id), "name": evidence.name, "picture": evidence.is_picture,
            "format": evidence.format.upper(), "size": f"{evidence.size / 1024:,.0f} KB",
            "taken_at": local_time(evidence.taken_at),
            "gps": f"{point[0]:.5f}, {point[1]:.5f}" if point else "",
            "url": url_for("matter.evidence_file", id=evidence.id),
            "thumb": (url_for("matter.evidence_thumbnail", id=evidence.id)
                      if evidence.is_picture else None)}


def files_by_id(ids) -> dict[str, dict]:
    keys = [uuid.UUID(str(i)) for i in ids]
    if not keys:
        return {}
    return {str(e.id): file_facts(e) for e in db.session.scalars(
        select(Evidence).where(Evidence.id.in_(keys)))}


def map_points(matter_type: MatterType, data: dict, files: dict, rows_label: str) -> list:
    """Points for the outcome's small map: the answers' points and where photos were taken."""
    found = []
    specs = {s.name: s for s in fields_of(matter_type)}
    for name, point, row in points(matter_type, data):
        text = row.get("description") if row else _(specs[name].label)
        found.append({"lon": point["lon"], "lat": point["lat"], "label": text or rows_label,
                      "kind": "answer"})
    for facts in files.values():
        if facts["gps"]:
            lon, lat = (float(v) for v in facts["gps"].split(", "))
            found.append({"lon": lon, "lat": lat, "kind": "photo",
                          "label": _("Photo taken here: %(name)s", name=facts["name"])})
    return found


def recording_allowed(matter: Matter) -> bool:
    """The signed-in account may record (or correct) this matter's outcome now."""
    return may_record(db.session, matter, current_user._get_current_object())


def outcome_context(matter: Matter) -> dict:
    """What the matter's page shows of its outcome (gridlink/outcome_details.html)."""
    outcome = latest(db.session, matter.id)
    data = outcome.data if outcome else {}
    lines = outcome_lines(matter.matter_type, data)
    files = files_by_id([i for line in lines for i in line.get("files", [])])
    return {
        "outcome": outcome, "outcome_lines": lines, "outcome_files": files,
        "outcome_history": versions(db.session, matter.id)[1:] if outcome else [],
        "outcome_map": map_points(matter.matter_type, data, files, _("Property found")),
        "may_record_outcome": recording_allowed(matter),
    }


# --- the pages -----------------------------------------------------------------------------

class OutcomePages:
    """Routes of MatterView: the outcome form and the evidence files."""

    def _form_page(self, matter, values, errors, kept):
        return self.render(
            "gridlink/outcome_form.html", matter=matter, values=values, errors=errors,
            specs=fields_of(matter.matter_type), files=kept, form=SecureForm(),
            type_label=label(MATTER_TYPE_LABELS, matter.matter_type),
            max_mb=f"{evidence_max_bytes() / 2**20:g}", max_bytes=evidence_max_bytes(),
            accept=",".join(["image/*", "application/pdf"]),
            formats="、".join(f.upper() for f in FORMATS),
            unplaced=[m for name, ms in errors.items() if not name for m in ms],
            correcting=latest(db.session, matter.id) is not None,
            today=local_today().isoformat())

    def _recordable(self, id) -> Matter:
        matter = self._load(id)
        if not recording_allowed(matter):
            abort(403)
        return matter

    @expose("/<uuid:id>/outcome/", methods=("GET",))
    def outcome_view(self, id):
        matter = self._recordable(id)
        previous = latest(db.session, matter.id)
        values = dict(previous.data) if previous else prefilled(matter)
        ids = [i for spec in fields_of(matter.matter_type) if spec.kind == "files"
               for i in values.get(spec.name) or []]
        return self._form_page(matter, values, {}, files_by_id(ids))

    @expose("/<uuid:id>/outcome/", methods=("POST",))
    def outcome_save(self, id):
        if not SecureForm(request.form).validate():
            abort(400)
        matter = self._recordable(id)
        answers = form_answers(matter.matter_type, request.form)
        kept, problems = self._files(matter, answers)
        db.session.commit()  # accepted files are kept, whatever becomes of the form
        matter = self._recordable(id)
        if problems:  # say the rest too, so that one round of corrections is enough
            refused = {p.field for p in problems}
            others = check_outcome(matter, answers, self._own_files(matter, kept))[1]
            problems += [p for p in others if p.field not in refused]
        else:
            try:
                ids = [i for spec in fields_of(matter.matter_type) if spec.kind == "files"
                       for i in answers.get(spec.name) or []]
                record_outcome(db.session, matter, current_user._get_current_object(),
                               answers, ids)
                db.session.commit()
            except OutcomeError as refused:
                db.session.rollback()
                problems = refused.errors
        if problems:
            errors: dict[str, list[str]] = {}
            for problem in problems:
                errors.setdefault(problem.field, []).append(say_outcome(problem))
            return self._form_page(matter, answers, errors, files_by_id(kept)), 422
        flash(_("The outcome of %(case)s was recorded.", case=matter.case_number), "success")
        return redirect(url_for(".details_view", id=matter.id))

    def _files(self, matter, answers) -> tuple[list[str], list[FieldError]]:
        """Store the files sent with the form; the ids kept per field go into answers.
        Files kept from an earlier try must be this matter's and that field's."""
        kept_all, problems = [], []
        for spec in fields_of(matter.matter_type):
            if spec.kind != "files":
                continue
            kept = [str(e.id) for e in self._own_files(matter, answers[spec.name], spec.name)]
            for upload in request.files.getlist(f"o-{spec.name}-file"):
                if not upload or not upload.filename:
                    continue
                try:
                    evidence = store(db.session, matter, spec.name, upload.stream,
                                     upload.filename, root=evidence_root(),
                                     max_bytes=evidence_max_bytes(),
                                     uploaded_by=current_user._get_current_object())
                    kept.append(str(evidence.id))
                except EvidenceError as refused:
                    problems.append(FieldError(spec.name, refused.template, refused.params))
            answers[spec.name] = kept
            kept_all += kept
        return kept_all, problems

    @staticmethod
    def _own_files(matter, ids, kind=None) -> list[Evidence]:
        keys = []
        for value in ids:
            try:
                keys.append(uuid.UUID(str(value)))
            except ValueError:
                continue
        if not keys:
            return []
        query = select(Evidence).where(Evidence.id.in_(keys), Evidence.matter_id == matter.id)
        if kind is not None:
            query = query.where(Evidence.kind == kind)
        return list(db.session.scalars(query))

    # --- evidence files ----------------------------------------------------------------

    @staticmethod
    def _evidence(id) -> Evidence:
        """A file of a matter the asker may read, else 404 (as if it did not exist)."""
        found = db.session.scalar(select(Evidence).join(Matter, Matter.id == Evidence.matter_id)
                                  .where(Evidence.id == id, current_scope().matters()))
        if found is None:
            abort(404)
        return found

    @expose("/evidence/<uuid:id>/")
    def evidence_file(self, id):
        return send_evidence(self._evidence(id))

    @expose("/evidence/<uuid:id>/thumbnail/")
    def evidence_thumbnail(self, id):
        return send_evidence(self._evidence(id), thumbnail=True)
