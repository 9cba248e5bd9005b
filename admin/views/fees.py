"""Labour fees in the admin: 劳务费标准 (the fee table), 劳务费台账 (the ledger) and
结算单 (statements: made for a court and a month, exported to Excel, marked paid).

Who sees what (models.fees: ledger_filter, statement_filter, FEE_ACCESS): admins
everything and alone edit the fee table; court staff their court's ledger and
statements, and make and mark paid those of the courts they act for; a liaison
their grid's lines, a grid worker their own; a committee the totals of its area.
"""

from __future__ import annotations

import uuid
from datetime import date

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import false, select
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from admin.auth import current_scope
from admin.fees_excel import statement_workbook
from admin.views.grids import LiveOptions
from admin.views.matter_formatters import label, say
from admin.views.matter_pdf import attachment_name
from admin.views.matters import CourtFilter, EnumFilter
from admin.views.secure import ScopedModelView, refuse
from models import Court, Role, db
from models.audit import append
from models.fees import (
    STATEMENT_STATE_LABELS,
    FeeError,
    FeeRule,
    LedgerLine,
    Statement,
    StatementState,
    ledger_filter,
    ledger_totals,
    make_statement,
    mark_paid,
    record_reward,
    set_fee,
    statement_filter,
)
from models.matter_types import MATTER_TYPE_LABELS, MatterType
from models.record_forms import OUTCOME_KIND_LABELS, OutcomeKind

# Which role reaches which fee page (the fee table is read by all who see fees).
FEE_ACCESS = {
    "fee_rules": {Role.admin, Role.court_staff, Role.committee},
    "ledger": {Role.admin, Role.court_staff, Role.liaison, Role.grid_worker},
    "statements": {Role.admin, Role.court_staff},
    "totals": {Role.admin, Role.committee, Role.court_staff},
}


def _may(what: str) -> bool:
    return current_scope().role in FEE_ACCESS[what]


def type_cell(view, context, model, name):
    return label(MATTER_TYPE_LABELS, model.matter_type)


def kind_cell(view, context, model, name):
    return label(OUTCOME_KIND_LABELS, model.outcome_kind)


def month_cell(view, context, model, name):
    return f"{model.month:%Y-%m}"


def yes_no(view, context, model, name):
    return _("Yes") if getattr(model, name) else _("No")


def statement_state_cell(view, context, model, name):
    return label(STATEMENT_STATE_LABELS, model.state)


class FeeRuleForm(SecureForm):
    matter_type = SelectField(_l("Matter type"), choices=[
        SelectChoice(t.value, text) for t, text in MATTER_TYPE_LABELS.items()])
    outcome_kind = SelectField(_l("Outcome"), choices=[
        SelectChoice(k.value, text) for k, text in OUTCOME_KIND_LABELS.items()])
    amount = DecimalField(_l("Fee (yuan)"), places=2,
                          validators=[InputRequired(), NumberRange(min=0, max=99999)])
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class FeeRuleView(ScopedModelView):
    """The fee table with its history. A new fee is a new rule: the one in force ends
    the day the new one starts (models.fees.set_fee); nothing is edited in place."""

    entity = "fee_rules"
    allow_create, allow_edit, allow_delete = True, False, False
    form = FeeRuleForm
    column_list = ["matter_type", "outcome_kind", "amount", "valid_from", "valid_to", "note"]
    column_labels = {"matter_type": _l("Matter type"), "outcome_kind": _l("Outcome"),
                     "amount": _l("Fee (yuan)"), "valid_from": _l("Valid from"),
                     "valid_to": _l("Valid until (exclusive)"), "note": _l("Note")}
    column_formatters = {"matter_type": type_cell, "outcome_kind": kind_cell}
    column_default_sort = [("matter_type", False), ("valid_from", True)]
    column_filters = [EnumFilter(FeeRule.matter_type, _l("Matter type"), MATTER_TYPE_LABELS,
                                 MatterType), "valid_from"]

    def is_accessible(self):
        return _may("fee_rules")

    def _may_write(self) -> bool:
        return current_scope().role is Role.admin

    def create_model(self, form):
        if not self.can_create:
            abort(403)
        try:
            rule = set_fee(db.session, MatterType(form.matter_type.data),
                           OutcomeKind(form.outcome_kind.data), form.amount.data,
                           form.valid_from.data, note=form.note.data or None)
            db.session.commit()
        except FeeError as e:
            db.session.rollback()
            flash(say(e), "error")
            return False
        return rule


def court_choices(acting: bool = False):
    """Courts that pay fees (not tribunals) the asker reads, or acts for."""
    scope = current_scope()
    query = select(Court).where(Court.kind != "tribunal").order_by(Court.county_code,
                                                                   Court.name)
    if scope.role is Role.court_staff:
        query = query.where(scope.courts_acting() if acting else scope.courts_read())
    elif scope.role is not Role.admin:
        query = query.where(false())
    return [(str(c.id), c.name) for c in db.session.scalars(query)]


class LedgerView(ScopedModelView):
    entity = "ledger"
    allow_create = allow_edit = allow_delete = False
    column_list = ["month", "court", "worker_name", "case_number", "matter_type",
                   "outcome_kind", "signed_on", "amount", "bounty", "bounty_reward",
                   "statement"]
    column_labels = {"month": _l("Month"), "court": _l("Paying court"),
                     "worker_name": _l("Grid worker"), "case_number": _l("Case number"),
                     "matter_type": _l("Matter type"), "outcome_kind": _l("Outcome"),
                     "signed_on": _l("Confirmed by the court on"), "amount": _l("Fee (yuan)"),
                     "bounty": _l("Bounty"), "bounty_reward": _l("Reward (yuan)"),
                     "statement": _l("Statement")}
    column_formatters = {"matter_type": type_cell, "outcome_kind": kind_cell,
                         "month": month_cell, "bounty": yes_no,
                         "statement": lambda v, c, m, n: label(STATEMENT_STATE_LABELS,
                                                               m.statement.state)
                         if m.statement else ""}
    column_searchable_list = ["case_number", "worker_name"]
    column_default_sort = ("signed_on", True)
    column_filters = [CourtFilter(LedgerLine.court_id, _l("Paying court"),
                                  options=LiveOptions(court_choices)),
                      "worker_name", "month"]
    page_size = 100

    def is_accessible(self):
        return _may("ledger")

    def scope_filter(self, scope):
        return ledger_filter(scope, getattr(current_user, "id", None)) & \
            LedgerLine.voided_at.is_(None)

    def search_placeholder(self):
        return _("Case number or grid worker")


class StatementForm(SecureForm):
    court = SelectField(_l("Court"), validators=[InputRequired()])
    month = StringField(_l("Month (YYYY-MM)"), validators=[InputRequired(), Length(max=7)])


class RewardForm(SecureForm):
    amount = DecimalField(_l("Reward (yuan)"), places=2,
                          validators=[InputRequired(), NumberRange(min=0, max=9999999)])


class StatementView(ScopedModelView):
    entity = "statements"
    allow_create = allow_edit = allow_delete = False
    can_view_details = True
    details_template = "gridlink/statement_details.html"
    list_template = "gridlink/statement_list.html"
    column_list = ["court", "period_start", "state", "total", "bounty_total", "made_at",
                   "paid_at", "paid_by_name"]
    column_labels = {"court": _l("Court"), "period_start": _l("Period"),
                     "state": _l("State"), "total": _l("Fees (yuan)"),
                     "bounty_total": _l("Rewards (yuan)"), "made_at": _l("Made at"),
                     "paid_at": _l("Paid at"), "paid_by_name": _l("Marked paid by")}
    column_formatters = {"state": statement_state_cell,
                         "period_start": lambda v, c, m, n: m.period_label}
    column_default_sort = ("made_at", True)

    def is_accessible(self):
        return _may("statements")

    def scope_filter(self, scope):
        return statement_filter(scope)

    def _statement(self, id, act: bool = False) -> Statement:
        """A statement in scope (else 404); to change it, one of a court the asker acts
        for (else 403)."""
        scope = current_scope()
        found = db.session.scalar(select(Statement).where(Statement.id == id,
                                                          statement_filter(scope)))
        if found is None:
            abort(404)
        if act and scope.role is not Role.admin and db.session.scalar(
                select(Court.id).where(Court.id == found.court_id,
                                       scope.courts_acting())) is None:
            abort(403)
        return found

    def render(self, template, **kwargs):
        form = StatementForm()
        form.court.choices = [SelectChoice(v, t) for v, t in court_choices(acting=True)]
        return super().render(template, statement_form=form, **kwargs)

    @expose("/details/")
    def details_view(self):
        try:
            key = uuid.UUID(request.args.get("id", ""))
        except ValueError:
            abort(404)
        statement = self._statement(key)
        return self.render(self.details_template, statement=statement,
                           lines=[x for x in statement.lines if x.voided_at is None],
                           state_label=label(STATEMENT_STATE_LABELS, statement.state),
                           type_label=lambda t: label(MATTER_TYPE_LABELS, t),
                           kind_label=lambda k: label(OUTCOME_KIND_LABELS, k),
                           paid=statement.state is StatementState.paid,
                           pay_form=SecureForm(), reward_form=RewardForm())

    @expose("/make/", methods=("POST",))
    def make_view(self):
        form = StatementForm(request.form)
        form.court.choices = [SelectChoice(v, t) for v, t in court_choices(acting=True)]
        if not form.validate():
            flash(_("Choose a court and give the month as YYYY-MM."), "error")
            return redirect(url_for(".index_view"))
        try:
            month = date.fromisoformat(form.month.data.strip() + "-01")
        except ValueError:
            flash(_("Choose a court and give the month as YYYY-MM."), "error")
            return redirect(url_for(".index_view"))
        court = db.session.get(Court, uuid.UUID(form.court.data))
        try:
            statement = make_statement(db.session, court, month, actor=current_user)
            db.session.commit()
        except FeeError as e:
            db.session.rollback()
            flash(say(e), "error")
            return redirect(url_for(".index_view"))
        return redirect(url_for(".details_view", id=statement.id))

    @expose("/<uuid:id>/paid/", methods=("POST",))
    def paid_view(self, id):
        if not SecureForm(request.form).validate():
            abort(400)
        statement = self._statement(id, act=True)
        try:
            mark_paid(db.session, statement, current_user._get_current_object())
            db.session.commit()
        except (FeeError, ValueError) as e:
            db.session.rollback()
            flash(say(e), "error")
            return redirect(url_for(".details_view", id=id))
        flash(_("The statement was marked paid; its matters are now paid."), "success")
        return redirect(url_for(".details_view", id=id))

    @expose("/<uuid:id>/reward/<uuid:line_id>/", methods=("POST",))
    def reward_view(self, id, line_id):
        """The reward of one bounty line of a statement not yet paid."""
        form = RewardForm(request.form)
        if not form.validate():
            flash(_("Give the reward in yuan."), "error")
            return redirect(url_for(".details_view", id=id))
        statement = self._statement(id, act=True)
        line = next((x for x in statement.lines if x.id == line_id), None)
        if line is None:
            abort(404)
        try:
            record_reward(db.session, line, form.amount.data,
                          current_user._get_current_object())
            db.session.commit()
        except FeeError as e:
            db.session.rollback()
            flash(say(e), "error")
        return redirect(url_for(".details_view", id=id))

    @expose("/<uuid:id>/excel/")
    def excel_view(self, id):
        statement = self._statement(id)
        data = statement_workbook(db.session, statement)
        append(db.session.connection(), "export", "fee_statement", str(statement.id),
               after={"rows": len(statement.lines), "phones_full": 0})
        db.session.commit()
        response = Response(data, mimetype="application/vnd.openxmlformats-officedocument."
                                            "spreadsheetml.sheet")
        response.headers["Content-Disposition"] = attachment_name(
            f"劳务费结算单-{statement.court.name}-{statement.period_label}.xlsx",
            "attachment", "statement.xlsx")
        return response


class FeeTotalsView(BaseView):
    """Totals per court and month, without names: what a committee watches."""

    def is_accessible(self):
        return _may("totals")

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        rows = ledger_totals(db.session, current_scope())
        return self.render("gridlink/fee_totals.html", rows=rows)
