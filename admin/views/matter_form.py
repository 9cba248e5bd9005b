"""Filing a court matter (登记联动事项): one page, for court staff (their own court)
and admins (any court).

The form is plain HTML built from the tables of models.matter_types — the
type-specific questions, the credentials, the default deadlines — so a change
there changes the form. What was typed is read into a MatterInput and handed to
geo.assign.file_matter, which checks it (models.filing.check, the same rules as
the import and the API), files it and routes it. Every problem comes back tied
to its field and is shown there, with everything typed kept.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from admin.auth import current_scope
from admin.views.matter_formatters import DEBTOR_KINDS, URGENCY_LABELS, label, say
from admin.views.matters import where_it_is
from admin.views.secure import refuse
from geo.assign import file_matter
from models import Court, MatterState, Role, db
from models.filing import (
    AddressInput,
    FieldError,
    FilingError,
    MatterInput,
    check,
    find_existing,
    split_phones,
)
from models.grids import N_
from models.matter_types import (
    CREDENTIAL_LABELS,
    DEFAULT_DEADLINE_DAYS,
    MATTER_TYPE_LABELS,
    REQUEST_FIELDS,
    REQUIRED_CREDENTIALS,
    MatterType,
)
from models.matters import ADDRESS_KIND_LABELS, AddressKind

# The address rows of the form, in the order a court officer thinks of them.
ADDRESS_ROWS = (AddressKind.household, AddressKind.residence, AddressKind.habitual,
                AddressKind.other)


def request_field_name(kind: MatterType, name: str) -> str:
    return f"request-{kind.value}-{name}"


class Filing:
    """What the form posted, read into a MatterInput, with the problems of reading it
    (a longitude that is not a number) tied to the form's own field names."""

    def __init__(self, form: MultiDict, court: Court | None):
        self.form, self.errors = form, []
        self.rows: list[AddressKind] = []  # the kind of each address given, in order
        get = lambda name: (form.get(name) or "").strip()  # noqa: E731
        kind = get("matter_type")
        self.data = MatterInput(
            court=court, officer_name=get("officer_name"), case_number=get("case_number"),
            matter_type=kind, debtor_kind=get("debtor_kind"), debtor_name=get("debtor_name"),
            addresses=self._addresses(), officer_phone=get("officer_phone") or None,
            request=self._request(kind),
            credentials=[c for c in form.getlist("credentials") if c],
            deadline=self._date("deadline"), urgency=get("urgency") or "normal",
            bounty=bool(form.get("bounty")), notes=get("notes") or None,
            debtor_id_number=get("debtor_id_number") or None,
            debtor_phones=split_phones(form.get("debtor_phones")))

    def _date(self, name: str) -> date | None:
        text = (self.form.get(name) or "").strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.errors.append(FieldError(name, N_("%(value)s is not a date (YYYY-MM-DD)"),
                                          {"value": text}))
            return None

    def _number(self, name: str, kind: AddressKind) -> float | None:
        text = (self.form.get(name) or "").strip().replace("，", ",")
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            self.errors.append(FieldError(f"address-{kind.value}", N_(
                "longitude and latitude are decimal degrees, e.g. 112.04 and 22.93")))
            return None

    def _addresses(self) -> list[AddressInput]:
        given = []
        for kind in ADDRESS_ROWS:
            text = (self.form.get(f"address-{kind.value}-text") or "").strip()
            lon = self._number(f"address-{kind.value}-lon", kind)
            lat = self._number(f"address-{kind.value}-lat", kind)
            if text or lon is not None or lat is not None:
                given.append(AddressInput(kind=kind.value, text=text or None, lon=lon, lat=lat))
                self.rows.append(kind)
        return given

    def _request(self, kind: str) -> dict:
        if kind not in MatterType.__members__:
            return {}
        answers = {}
        for spec in REQUEST_FIELDS[MatterType(kind)]:
            name = request_field_name(MatterType(kind), spec.name)
            if spec.kind == "flag":
                if self.form.get(name):
                    answers[spec.name] = True
            elif spec.multiple:
                values = [v for v in self.form.getlist(name) if v]
                if values:
                    answers[spec.name] = values
            elif (self.form.get(name) or "").strip():
                answers[spec.name] = self.form.get(name).strip()
        return answers

    def field_of(self, error: FieldError) -> str:
        """The form field a problem belongs to: addresses.N is the Nth address given."""
        if error.field.startswith("addresses."):
            index = int(error.field.split(".")[1])
            if index < len(self.rows):
                return f"address-{self.rows[index].value}"
        if error.field.startswith("request.") and self.data.matter_type in MatterType.__members__:
            return request_field_name(MatterType(self.data.matter_type),
                                      error.field.removeprefix("request."))
        return error.field


# The form's own fields (beside the type-specific ones), where a problem is shown.
PLACED = {"court", "case_number", "officer_name", "officer_phone", "matter_type", "credentials",
          "deadline", "urgency", "debtor_kind", "debtor_name", "debtor_id_number",
          "debtor_phones", "addresses"} | {f"address-{k.value}" for k in ADDRESS_ROWS}


def placed(name: str) -> bool:
    return name in PLACED or name.startswith("request-")


def credential_needs() -> dict[MatterType, str]:
    """What each type needs shown, e.g. 传票 / 拘传票 / 拘留决定书；有效工作证件."""
    return {kind: "；".join(" / ".join(label(CREDENTIAL_LABELS, c) for c in sorted(group))
                           for group in groups)
            for kind, groups in REQUIRED_CREDENTIALS.items()}


def filing_courts() -> list[Court]:
    """The courts one may file for: court staff their own, admins any."""
    if current_user.role is Role.court_staff:
        return [current_user.court] if current_user.court else []
    return list(db.session.scalars(select(Court).order_by(Court.county_code, Court.name)))


class FilingView(BaseView):
    def is_accessible(self):
        return current_scope().may("matters", "w")

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    def _court(self, courts: list[Court], posted: str | None) -> Court | None:
        if current_user.role is Role.court_staff:
            return courts[0] if courts else None
        return next((c for c in courts if str(c.id) == posted), None)

    def _page(self, form: MultiDict, errors: dict[str, list[str]], courts):
        return self.render(
            "gridlink/matter_form.html", values=form, errors=errors, courts=courts,
            fixed_court=current_user.role is Role.court_staff, types=MATTER_TYPE_LABELS,
            request_fields=REQUEST_FIELDS, field_name=request_field_name,
            credentials=CREDENTIAL_LABELS, debtor_kinds=DEBTOR_KINDS,
            urgencies=URGENCY_LABELS, address_rows=ADDRESS_ROWS,
            address_labels=ADDRESS_KIND_LABELS,
            default_days={t.value: d for t, d in DEFAULT_DEADLINE_DAYS.items()},
            needs=credential_needs(), today=date.today().isoformat(), form=SecureForm(),
            unplaced=[m for name, messages in errors.items() if not placed(name)
                      for m in messages])

    @expose("/", methods=("GET",))
    def index(self):
        courts = filing_courts()
        defaults = MultiDict({"officer_name": current_user.display_name or "",
                              "debtor_kind": "person", "urgency": "normal"})
        if current_user.role is Role.court_staff and not courts:
            flash(_("Your account belongs to no court: ask an administrator to set it."),
                  "error")
        return self._page(defaults, {}, courts)

    @expose("/", methods=("POST",))
    def submit(self):
        if not SecureForm(request.form).validate():
            abort(400)
        courts = filing_courts()
        filing = Filing(request.form, self._court(courts, request.form.get("court")))
        problems = filing.errors + (check(filing.data) if filing.errors else [])
        matter = None
        if not problems:
            try:
                matter, created = file_matter(
                    db.session, filing.data, created_by=current_user._get_current_object(),
                    officer=(current_user._get_current_object()
                             if current_user.role is Role.court_staff else None))
                db.session.commit()
            except FilingError as e:
                db.session.rollback()
                problems = e.errors
            except IntegrityError:
                # The same filing, sent twice at once: the other request won.
                db.session.rollback()
                matter, created = find_existing(db.session, filing.data), False
                if matter is None:
                    raise
        if problems:
            errors: dict[str, list[str]] = {}
            for problem in problems:
                errors.setdefault(filing.field_of(problem), []).append(say(problem))
            return self._page(request.form, errors, courts)
        if not created:
            flash(Markup('{} <a href="{}" id="gridlink-existing">{}</a>').format(
                _("This filing was already made on %(day)s; nothing new was created:",
                  day=matter.created_at.date().isoformat()),
                url_for("matter.details_view", id=matter.id), matter.case_number), "warning")
        else:
            flash(_("%(case)s was filed. %(where)s", case=matter.case_number,
                    where=where_it_is(matter)),
                  "success" if matter.state is MatterState.assigned else "warning")
        return redirect(url_for("matter.details_view", id=matter.id))
