"""风险信息: a grid's risk report on a matter's debtor, and the court's list of them.

The grid side sends one from the matter's page (only where models.requests
allows it: their grid's open matter); the court reads them highlighted on the
matter's page and, all together, in its 风险信息 list — the reports on the
matters it reads (models.requests.risk_reports_readable), urgent first.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import Length

from admin.auth import current_scope
from admin.views.matter_formatters import grid_path, label
from admin.views.secure import refuse
from models import Grid, Matter, db
from models.accounts import Role
from models.matters import Urgency
from models.requests import (
    MAX_TEXT,
    REPORTERS,
    RISK_KINDS,
    RequestError,
    RiskReport,
    report_risk,
    risk_refusal,
    risk_reports_readable,
)

LISTED = 100
READERS = (Role.admin, Role.court_staff)
URGENCIES = {Urgency.normal: _l("Normal"), Urgency.urgent: _l("Urgent")}


class RiskForm(SecureForm):
    kind = SelectField(_l("Kind of risk"),
                       choices=lambda: [(k, _(v)) for k, v in RISK_KINDS.items()])
    description = TextAreaField(_l("What you saw or heard"),
                                validators=[Length(max=MAX_TEXT)])
    urgency = RadioField(_l("Urgency"), default=Urgency.normal.value,
                         choices=lambda: [(u.value, str(t)) for u, t in URGENCIES.items()])


def say(error: RequestError) -> str:
    params = {k: (_(v) if isinstance(v, str) and k in ("what", "state") else v)
              for k, v in error.params.items()}
    return _(error.template, **params)


def risk_context(matter: Matter) -> dict:
    """What the matter's page shows of risk reports, and whether the form is offered."""
    reports = db.session.scalars(
        select(RiskReport).where(RiskReport.matter_id == matter.id,
                                 risk_reports_readable(current_scope()))
        .order_by(RiskReport.at.desc())).all()
    allowed = (current_user.role in REPORTERS
               and risk_refusal(db.session, matter, current_user) is None)
    return {"risk_reports": reports, "may_report_risk": allowed,
            "risk_form": RiskForm() if allowed else None,
            "risk_kinds": RISK_KINDS, "risk_urgencies": URGENCIES}


class RiskView(BaseView):
    def is_accessible(self):
        return current_user.is_authenticated and current_user.role in (*READERS, *REPORTERS)

    def is_visible(self):
        return current_user.is_authenticated and current_user.role in READERS

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        if current_user.role not in READERS:
            abort(403)
        reports = db.session.scalars(
            select(RiskReport).where(risk_reports_readable(current_scope()))
            .options(joinedload(RiskReport.matter).joinedload(Matter.debtor),
                     joinedload(RiskReport.matter).joinedload(Matter.court),
                     joinedload(RiskReport.grid).joinedload(Grid.parent)
                     .joinedload(Grid.parent))
            .order_by((RiskReport.urgency == Urgency.urgent).desc(), RiskReport.at.desc())
            .limit(LISTED)).all()
        return self.render("gridlink/risk_list.html", reports=reports, kinds=RISK_KINDS,
                           urgencies=URGENCIES, label=label, grid_path=grid_path)

    @expose("/<uuid:matter_id>/", methods=("POST",))
    def report(self, matter_id: uuid.UUID):
        if current_user.role not in REPORTERS:
            abort(403)
        form = RiskForm(request.form)
        if not form.validate():
            abort(400)
        matter = db.session.scalar(select(Matter).where(
            Matter.id == matter_id, current_scope().matters()).with_for_update(of=Matter))
        if matter is None:
            abort(404)
        back = url_for("matter.details_view", id=matter.id, _anchor="gridlink-risk")
        try:
            report_risk(db.session, matter, current_user._get_current_object(),
                        kind=form.kind.data, description=form.description.data,
                        urgency=form.urgency.data)
        except RequestError as e:
            db.session.rollback()
            flash(say(e), "error")
            return redirect(back)
        db.session.commit()
        flash(_("Your risk report was sent to %(court)s.", court=matter.court.name), "success")
        return redirect(back)
