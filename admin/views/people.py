"""Admin views of courts, the liaison roster, people and standard addresses."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, jsonify, request, url_for
from flask_admin import expose
from flask_admin.contrib.geoa import ModelView as GeoModelView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import inspect, select, true
from sqlalchemy.orm import joinedload, selectinload
from wtforms.validators import ValidationError

from admin.auth import current_scope
from admin.views.formatters import enum_choices, level_label, mask_phone
from admin.views.grids import GridFormConverter, current_grids_loader
from admin.views.secure import ScopedAjaxLoader, ScopedModelView
from models import CourtKind, Person, RosterEntry, RosterRole, db
from models.audit import append
from models.roster import RosterError, hand_over, other_roles

COURT_KINDS = {
    CourtKind.intermediate: _l("Intermediate court"),
    CourtKind.base: _l("Base court"),
    CourtKind.tribunal: _l("People's tribunal"),
}
ROSTER_ROLES = {RosterRole.liaison: _l("Liaison"), RosterRole.grid_worker: _l("Grid worker")}


class CourtView(ScopedModelView):
    """Courts and tribunals with their contacts: every role may read them (the
    contact list is meant for grid workers too); only admins change them."""

    entity = "courts"
    column_list = ["name", "kind", "parent", "case_code", "phone", "contact_name",
                   "contact_phone"]
    column_labels = {
        "name": _l("Name"), "kind": _l("Kind"), "parent": _l("Parent court"),
        "case_code": _l("Case number code"), "county_code": _l("County code"),
        "address": _l("Address"), "phone": _l("Phone"), "contact_name": _l("Contact"),
        "contact_phone": _l("Contact phone"), "grids": _l("Grids served"),
        "tribunals": _l("Tribunals"),
    }
    column_formatters = {"kind": level_label(COURT_KINDS)}
    column_filters = ["kind", "county_code"]
    column_searchable_list = ["name", "contact_name"]
    column_default_sort = "county_code"
    can_view_details = True
    can_export = True
    full_phone_columns = ("phone", "contact_phone")  # meant to be called: counted
    form_columns = ["name", "kind", "parent", "case_code", "county_code", "address", "phone",
                    "contact_name", "contact_phone", "grids"]
    form_ajax_refs = {"grids": current_grids_loader("grids")}
    form_choices = {"kind": enum_choices(COURT_KINDS)}

    def scope_filter(self, scope):
        return scope.courts()

    def on_model_change(self, form, model, is_created):
        with db.session.no_autoflush:  # the new row is in the session, not yet complete
            model.kind = CourtKind(model.kind)
            if model.kind is CourtKind.tribunal and model.parent is None:
                raise ValidationError(_("A people's tribunal belongs to a base court: "
                                        "choose it."))
            if model.parent is not None and model.parent.id == model.id:
                raise ValidationError(_("A court cannot be its own parent."))


def _phone_cell(view, context, model, name):
    """The masked number, and for those who may, a button that shows it (audited)."""
    masked = mask_phone(model.person.phone)
    if not masked or not current_scope().may_reveal_phone():
        return masked
    url = url_for(".reveal", id=model.id)
    return Markup('{} <button type="button" class="btn btn-link btn-sm p-0 gridlink-reveal" '
                  'data-url="{}">{}</button>').format(masked, url, _("Show"))


def person_label(person: Person, on: date | None = None) -> str:
    """张辉（星岩社区 网格员，尾号0001）: two people of one name told apart by their grid
    and role today and the last four digits of their phone."""
    on = on or date.today()
    held = "、".join(f"{e.grid.name} {ROSTER_ROLES[RosterRole(e.role)]}" for e in person.entries
                    if e.valid_from <= on and (e.valid_to is None or e.valid_to > on))
    tail = (person.phone or "")[-4:]
    if held and tail:
        return _("%(name)s (%(held)s, phone ending %(tail)s)", name=person.name, held=held,
                 tail=tail)
    if held or tail:
        return _("%(name)s (%(what)s)", name=person.name,
                 what=held or _("phone ending %(tail)s", tail=tail))
    return person.name


class PersonLoader(ScopedAjaxLoader):
    """The person picker of the roster form: people in scope, each labelled so that
    namesakes can be told apart."""

    def get_query(self):
        return super().get_query().options(
            selectinload(Person.entries).joinedload(RosterEntry.grid))

    def format(self, model):
        return (model.id, person_label(model)) if model else None


def _masked_phone_export(view, context, model, name):
    return mask_phone(model.person.phone)


class PersonView(ScopedModelView):
    entity = "people"
    column_list = ["name", "phone"]
    column_labels = {"name": _l("Full name"), "phone": _l("Phone")}
    column_formatters = {"phone": lambda v, c, m, n: mask_phone(m.phone)}
    column_searchable_list = ["name"]
    form_columns = ["name", "phone"]

    def scope_filter(self, scope):
        return scope.people()


class RosterEntryView(ScopedModelView):
    """Who answers for each grid. Entries are closed with an end date, not deleted,
    so that the liaison of any past day can still be named. Phone numbers are
    masked in lists and exports; those who need one click to show it, and every
    showing is written to the audit trail."""

    entity = "roster"
    allow_delete = False
    can_export = True
    list_template = "gridlink/roster_list.html"
    column_list = ["grid", "grid.code", "role", "title", "person", "person.phone",
                   "valid_from", "valid_to"]
    column_labels = {
        "grid": _l("Grid"), "grid.code": _l("Division code"), "grid.name": _l("Grid"),
        "person.name": _l("Full name"), "role": _l("Role"),
        "title": _l("Title"), "person": _l("Full name"), "person.phone": _l("Phone"),
        "valid_from": _l("Valid from"), "valid_to": _l("Valid to"),
    }
    column_formatters = {"role": level_label(ROSTER_ROLES), "person.phone": _phone_cell}
    column_formatters_export = {"role": level_label(ROSTER_ROLES),
                                "person.phone": _masked_phone_export}
    column_filters = ["role", "grid.county_code", "valid_to"]
    column_searchable_list = ["person.name", "grid.name", "grid.code"]
    column_default_sort = [("grid.code", False), ("role", False)]
    form_columns = ["grid", "role", "title", "person", "valid_from", "valid_to"]
    form_ajax_refs = {"grid": current_grids_loader("grid"),
                      "person": PersonLoader("person", db, Person,
                                             lambda scope: scope.people(),
                                             fields=["name", "phone"], page_size=20)}
    form_choices = {"role": enum_choices(ROSTER_ROLES)}

    def scope_filter(self, scope):
        return scope.roster()

    def get_query(self):
        # Grid and person with the rows: no query per row, nothing left to load
        # while an export streams out.
        return self._in_force(super().get_query()).options(joinedload(RosterEntry.grid),
                                                           joinedload(RosterEntry.person))

    def get_count_query(self):
        return self._in_force(super().get_count_query())

    def _in_force(self, query):
        """The list and its export show the roster in force today, as approved;
        ?history=1 lists every entry, past and future. Details, edit and reveal
        reach any entry in scope."""
        listing = request.endpoint in (f"{self.endpoint}.index_view", f"{self.endpoint}.export")
        if not listing or request.args.get("history"):
            return query
        in_force = RosterEntry.current().with_only_columns(RosterEntry.id)
        return query.filter(RosterEntry.id.in_(in_force))

    @expose("/reveal/")
    def reveal(self):
        if not current_scope().may_reveal_phone():
            abort(403)
        entry = self.get_one(request.args.get("id", ""))
        if entry is None:
            abort(404)
        append(db.session.connection(), "reveal_phone", "person", str(entry.person_id),
               after={"field": "phone", "roster_entry": str(entry.id)})
        db.session.commit()
        return jsonify(phone=entry.person.phone)

    def on_model_change(self, form, model, is_created):
        with db.session.no_autoflush:  # the new row is in the session, not yet complete
            entry = model if is_created else self._handed_over(model)
            self._check(entry)
            for other in other_roles(db.session, entry):
                flash(_("%(name)s is also %(role)s of %(grid)s: one person in both roles "
                        "of a grid is allowed, but check it is meant.", name=entry.person.name,
                        role=ROSTER_ROLES[other.role], grid=entry.grid.name), "warning")

    def _handed_over(self, model: RosterEntry) -> RosterEntry:
        """The form changed who, where or which role: history is not rewritten. The
        entry keeps what it had and ends on the start date given (today, if that was
        left as it was); a new entry starts that day with what the form says."""
        state = inspect(model)
        if not any(state.attrs[a].history.deleted for a in ("person", "grid", "role")):
            return model
        new = {a: getattr(model, a) for a in ("person", "grid", "role", "title",
                                              "valid_from", "valid_to")}
        on = new["valid_from"] if state.attrs.valid_from.history.deleted else date.today()
        for name in new:
            history = state.attrs[name].history
            if history.deleted:
                setattr(model, name, history.deleted[0])
        try:
            successor = hand_over(db.session, model, on, person=new["person"], grid=new["grid"],
                                  role=RosterRole(new["role"]), title=new["title"],
                                  valid_to=new["valid_to"])
        except RosterError as e:
            raise ValidationError(_(e.template, **e.params)) from None
        flash(_("%(old)s's entry ends on %(date)s and %(new)s's starts that day: the roster "
                "keeps both.", old=model.person.name, new=successor.person.name,
                date=on.isoformat()), "success")
        return successor

    def _check(self, model):
        model.role = RosterRole(model.role)
        if model.valid_to is not None and model.valid_to <= model.valid_from:
            raise ValidationError(_("The end date must come after the start date."))
        if model.role is RosterRole.liaison and model.valid_to is None:
            other = db.session.scalar(select(RosterEntry).where(
                RosterEntry.grid_id == model.grid.id, RosterEntry.role == RosterRole.liaison,
                RosterEntry.valid_to.is_(None), RosterEntry.id != model.id))
            if other is not None:
                raise ValidationError(_(
                    "%(grid)s already has a liaison, %(name)s: give that entry an end date "
                    "first.", grid=model.grid.name, name=other.person.name))


class AddressPointView(ScopedModelView, GeoModelView):
    entity = "addresses"
    column_list = ["county_code", "road", "number"]
    column_labels = {"county_code": _l("County code"), "road": _l("Road"),
                     "number": _l("House number"), "geom": _l("Location")}
    column_searchable_list = ["road", "number"]
    column_filters = ["county_code", "road"]
    column_default_sort = [("county_code", False), ("road", False), ("number", False)]
    form_columns = ["county_code", "road", "number", "geom"]
    model_form_converter = GridFormConverter
    edit_template = "gridlink/grid_edit.html"
    create_template = "gridlink/grid_create.html"

    def scope_filter(self, scope):
        return true()  # admins only (see models.access.PERMISSIONS)
