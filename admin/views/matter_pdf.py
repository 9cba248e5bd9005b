"""A matter's paper forms as PDF (admin/pdf.py), under the matter's own URL:
/admin/matter/<id>/pdf/<form>.pdf. Mixed into MatterView, so the matter is loaded
through its scope (Scope.matters(): anything else is a 404) like its page."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort
from flask_admin import expose

from admin.auth import current_scope
from admin.pdf import FORMS, PdfError, render
from models import MatterType, db
from models.audit import append
from models.record_forms import current_form

# Which forms a matter type has: the receipt is the service's, the survey the
# on-site investigation's (and a property search's, where income is asked about);
# every matter has its record form.
FORMS_OF = {
    "receipt": {MatterType.service},
    "survey": {MatterType.investigation, MatterType.find_property},
}


def forms_for(matter) -> list[str]:
    return [kind for kind in FORMS if matter.matter_type in FORMS_OF.get(kind, {
        matter.matter_type})]


def attachment_name(name: str, how: str = "inline", fallback: str = "form.pdf") -> str:
    """Content-Disposition with a Chinese file name (RFC 6266 / RFC 5987): an ASCII
    fallback for old clients and the UTF-8 name for the others."""
    return f"{how}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class MatterPdfMixin:
    def pdf_forms(self, matter) -> list[tuple[str, str]]:
        """(kind, the form's name) of the forms this matter prints."""
        return [(kind, FORMS[kind][1]) for kind in forms_for(matter)]

    @expose("/<uuid:id>/pdf/<kind>.pdf")
    def pdf_view(self, id, kind):
        matter = self._load(id)
        if kind not in forms_for(matter):
            abort(404)
        reveal = current_scope().may_reveal_debtor()
        try:
            data = render(kind, matter, current_form(db.session, matter), reveal)
        except PdfError:
            abort(503)
        # A printed form carries the debtor's identity in full for those who may see it.
        append(db.session.connection(), "print_form", "matter", str(matter.id),
               after={"form": kind, "full_identity": reveal})
        db.session.commit()
        response = Response(data, mimetype="application/pdf")
        response.headers["Content-Disposition"] = attachment_name(
            f"{FORMS[kind][1]}-{matter.case_number}.pdf")
        response.headers["Cache-Control"] = "no-store"
        return response
