"""Admin pages of the assignment rules kept as data: which of the debtor's addresses
decides per matter type (models.assignments.Precedence), and the place aliases the
geocoder reads (models.places.PlaceAlias)."""

from __future__ import annotations

import re

from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from wtforms import SelectField
from wtforms.validators import DataRequired, Length, ValidationError

from admin.views.matter_formatters import label
from admin.views.secure import ScopedModelView
from models import Grid, db
from models.matter_types import MATTER_TYPE_LABELS
from models.matters import ADDRESS_KIND_LABELS, AddressKind

PLACES = (_l("First"), _l("Second"), _l("Third"), _l("Fourth"))
SLOTS = ("first", "second", "third", "fourth")


def _kind_choices():
    return [(k.value, text) for k, text in ADDRESS_KIND_LABELS.items()]


class PrecedenceForm(SecureForm):
    """The four kinds of address in order; each must come exactly once."""

    first = SelectField(PLACES[0], choices=_kind_choices)
    second = SelectField(PLACES[1], choices=_kind_choices)
    third = SelectField(PLACES[2], choices=_kind_choices)
    fourth = SelectField(PLACES[3], choices=_kind_choices)

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        seen = set()
        for name in SLOTS:
            field = self[name]
            if field.data in seen:
                field.errors.append(_("%(kind)s is already in an earlier place: each kind of "
                                      "address comes exactly once.",
                                      kind=label(ADDRESS_KIND_LABELS, AddressKind(field.data))))
            seen.add(field.data)
        return seen == set(AddressKind.__members__) and not any(self[n].errors for n in SLOTS)

    def order(self) -> list[str]:
        return [self[name].data for name in SLOTS]

    def populate_obj(self, obj):
        obj.kinds = self.order()


class _Slots:
    """A precedence row seen as the form's four places."""

    def __init__(self, row):
        order = [k.value for k in row.order()]
        for name, kind in zip(SLOTS, order, strict=True):
            setattr(self, name, kind)


def _type_cell(view, context, model, name):
    return label(MATTER_TYPE_LABELS, model.matter_type)


def _order_cell(view, context, model, name):
    return " → ".join(label(ADDRESS_KIND_LABELS, k) for k in model.order())


class PrecedenceView(ScopedModelView):
    """One row per matter type: the order in which the debtor's addresses decide
    the grid (the first one the geocoder resolves wins; the others' grids assist)."""

    entity = "precedence"
    allow_create = allow_delete = False
    form = PrecedenceForm
    column_list = ["matter_type", "kinds", "updated_at"]
    column_labels = {"matter_type": _l("Matter type"), "kinds": _l("Addresses, in order"),
                     "updated_at": _l("Changed at")}
    column_formatters = {"matter_type": _type_cell, "kinds": _order_cell}
    column_default_sort = "matter_type"

    def edit_form(self, obj=None):
        return super().edit_form(obj=_Slots(obj) if obj is not None else None)


def _known_code(form, field):
    """A current grid's code, or the first 2 (province) or 4 (city) digits of one."""
    code = (field.data or "").strip()
    field.data = code
    if not re.fullmatch(r"[0-9]+", code):
        raise ValidationError(_("A division code is made of digits."))
    if len(code) in (2, 4):
        known = exists(Grid.current().where(Grid.code.startswith(code)))
    else:
        known = exists(Grid.current().where(Grid.code == code))
    if not db.session.scalar(select(known)):
        raise ValidationError(_("%(code)s is neither the code of a current grid (12 digits, "
                                "e.g. 445302000000 for 云城区) nor the first 2 or 4 digits "
                                "of one.", code=code))


def _place_cell(view, context, model, name):
    grid = db.session.scalar(Grid.current().where(Grid.code == model.code))
    return grid.name if grid is not None else ""


class PlaceAliasView(ScopedModelView):
    """Other names of a place (an old name, a colloquial one) and the code they mean."""

    entity = "aliases"
    column_list = ["alias", "code", "place", "note", "created_at"]
    column_labels = {"alias": _l("Alias"), "code": _l("Division code"), "place": _l("Place"),
                     "note": _l("Note"), "created_at": _l("Created at")}
    column_formatters = {"place": _place_cell}
    column_searchable_list = ["alias", "code"]
    column_default_sort = "alias"
    form_columns = ["alias", "code", "note"]
    form_args = {
        "alias": {"label": _l("Alias"), "validators": [DataRequired(), Length(max=50)],
                  "filters": [lambda value: value.strip() if value else value]},
        "code": {"label": _l("Division code"), "validators": [DataRequired(), _known_code],
                 "description": _l("The 12-digit code of a current grid, or 44 (province) "
                                   "or 4453 (city) to narrow the search.")},
        "note": {"label": _l("Note")},
    }
