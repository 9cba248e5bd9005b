"""Deadlines in the admin: 期限规则 (the rule table, effective-dated like the fee
table) and 节假日安排 (the holiday calendar: holidays and adjusted working days).

Admins alone change them; court staff, committees and town centres read them (they
explain the marks they see). A change never moves a deadline already fixed
(models.deadlines). Both are audited (models.AUDITED).
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash
from flask_admin import expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from admin.auth import current_scope
from admin.views.deadline_marks import forget_next_day_ends
from admin.views.matter_formatters import URGENCY_LABELS, label, say
from admin.views.matters import EnumFilter
from admin.views.secure import ScopedModelView
from models import Role, db
from models.deadlines import (
    DAY_KIND_LABELS,
    UNIT_LABELS,
    CalendarDay,
    DayKind,
    DeadlineError,
    DeadlineRule,
    Unit,
    set_rule,
    unknown_years,
)
from models.matter_types import MATTER_TYPE_LABELS, MatterType
from models.matters import Urgency

READERS = {Role.admin, Role.court_staff, Role.committee, Role.town_centre}
ANY_TYPE = "*"


def _unit_choices():
    return [SelectChoice(u.value, text) for u, text in UNIT_LABELS.items()]


class WarnsOfUnknownYears:
    """Both pages say when a year deadlines may reach has no calendar yet: its
    holidays would count as working days until the notice is entered."""

    @expose("/")
    def index_view(self):
        years = unknown_years(db.session)
        if years:
            flash(_("The holiday calendar has no day of %(years)s yet: deadlines falling "
                    "then count Monday to Friday as working days, holidays included, "
                    "until the State Council's notice is entered under Holiday calendar.",
                    years="、".join(str(y) for y in years)), "warning")
        return super().index_view()


def limit_text(amount: int, unit: str) -> str:
    """"1 working days" reads 1个工作日 in Chinese: the unit's label after the amount."""
    return f"{amount} {label(UNIT_LABELS, Unit(unit))}"


class DeadlineRuleForm(SecureForm):
    matter_type = SelectField(_l("Matter type"), choices=[
        SelectChoice(ANY_TYPE, _l("Any type"))] + [
        SelectChoice(t.value, text) for t, text in MATTER_TYPE_LABELS.items()])
    urgency = SelectField(_l("Urgency"), choices=[
        SelectChoice(u.value, text) for u, text in URGENCY_LABELS.items()])
    accept_amount = IntegerField(_l("Accept within"),
                                 validators=[InputRequired(), NumberRange(min=1, max=720)])
    accept_unit = SelectField(_l("Unit"), choices=_unit_choices())
    finish_amount = IntegerField(_l("Finish within"),
                                 validators=[InputRequired(), NumberRange(min=1, max=720)])
    finish_unit = SelectField(_l("Unit"), choices=_unit_choices())
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class DeadlineRuleView(WarnsOfUnknownYears, ScopedModelView):
    """The rules with their history. A new rule ends the one in force for the same
    type and urgency the day it starts (models.deadlines.set_rule)."""

    allow_create, allow_edit, allow_delete = True, False, False
    form = DeadlineRuleForm
    column_list = ["matter_type", "urgency", "accept", "finish", "valid_from", "valid_to",
                   "note"]
    column_labels = {"matter_type": _l("Matter type"), "urgency": _l("Urgency"),
                     "accept": _l("Accept within"), "finish": _l("Finish within"),
                     "valid_from": _l("Valid from"),
                     "valid_to": _l("Valid until (exclusive)"), "note": _l("Note")}
    column_formatters = {
        "matter_type": lambda v, c, m, n: (label(MATTER_TYPE_LABELS, m.matter_type)
                                           if m.matter_type else _("Any type")),
        "urgency": lambda v, c, m, n: label(URGENCY_LABELS, m.urgency),
        "accept": lambda v, c, m, n: limit_text(m.accept_amount, m.accept_unit),
        "finish": lambda v, c, m, n: limit_text(m.finish_amount, m.finish_unit)}
    column_default_sort = [("valid_from", True)]
    column_filters = [EnumFilter(DeadlineRule.urgency, _l("Urgency"), URGENCY_LABELS,
                                 Urgency), "valid_from"]

    def is_accessible(self):
        return current_scope().role in READERS

    def _may_write(self) -> bool:
        return current_scope().role is Role.admin

    def create_model(self, form):
        if not self.can_create:
            abort(403)
        kind = form.matter_type.data
        try:
            rule = set_rule(db.session, None if kind == ANY_TYPE else MatterType(kind),
                            Urgency(form.urgency.data),
                            (form.accept_amount.data, form.accept_unit.data),
                            (form.finish_amount.data, form.finish_unit.data),
                            form.valid_from.data, note=form.note.data or None)
            db.session.commit()
        except DeadlineError as e:
            db.session.rollback()
            flash(say(e), "error")
            return False
        return rule


class CalendarDayForm(SecureForm):
    day = DateField(_l("Day"), validators=[InputRequired()])
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice(k.value, text) for k, text in DAY_KIND_LABELS.items()])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=50)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class CalendarDayView(WarnsOfUnknownYears, ScopedModelView):
    """The exceptions to Monday–Friday. Deleting a day makes it ordinary again."""

    allow_create = allow_edit = allow_delete = True
    form = CalendarDayForm
    column_list = ["day", "weekday", "kind", "name", "note"]
    column_labels = {"day": _l("Day"), "weekday": _l("Weekday"), "kind": _l("Kind"),
                     "name": _l("Name"), "note": _l("Note")}
    column_formatters = {
        "weekday": lambda v, c, m, n: WEEKDAYS[m.day.weekday()],
        "kind": lambda v, c, m, n: Markup('<span class="badge badge-{}">{}</span>').format(
            "success" if m.kind is DayKind.workday else "secondary",
            label(DAY_KIND_LABELS, m.kind))}
    column_default_sort = ("day", False)
    column_filters = [EnumFilter(CalendarDay.kind, _l("Kind"), DAY_KIND_LABELS, DayKind), "day"]
    page_size = 100

    def is_accessible(self):
        return current_scope().role in READERS

    def _may_write(self) -> bool:
        return current_scope().role is Role.admin

    def get_one(self, id):
        try:
            return self.get_query().filter(CalendarDay.day == date.fromisoformat(id)) \
                .one_or_none()
        except (TypeError, ValueError):
            return None

    def on_model_change(self, form, model, is_created):
        model.kind = DayKind(form.kind.data)

    def after_model_change(self, form, model, is_created):
        forget_next_day_ends()  # this process's marks see the change at once

    def after_model_delete(self, model):
        forget_next_day_ends()


WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))
