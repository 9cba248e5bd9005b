"""法律咨询: a village liaison asks, the nearest tribunal of the county answers.

Two faces of one record (models.requests.LegalAdviceRequest): the liaison's
"我的咨询" (their village's questions and the answers, and the form to ask,
made for a phone), and the court's list (the questions waiting at the courts
its staff act for, each with an answer form and a transfer to another court).
The liaison's phone goes with the question, masked; the court's staff show it
in full with 显示, and each showing is audited.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length

from admin.auth import current_scope
from admin.views.formatters import mask_phone
from admin.views.matter_formatters import grid_path, label
from admin.views.risk_reports import say
from admin.views.secure import refuse
from models import Court, CourtKind, Grid, LegalAdviceRequest, db
from models.accounts import Role
from models.audit import append
from models.requests import (
    ADVICE_STATE_LABELS,
    ADVICE_TOPICS,
    ASKERS,
    MAX_TEXT,
    UNANSWERED,
    AdviceState,
    RequestError,
    advice_readable,
    advice_to_answer,
    answer_advice,
    ask_advice,
    ask_refusal,
    transfer_advice,
)

LISTED = 100
HOME_LISTED = 5
STATE_BADGES = {AdviceState.waiting: "warning", AdviceState.transferred: "info",
                AdviceState.answered: "success"}


class AskForm(SecureForm):
    topic = SelectField(_l("Topic"),
                        choices=lambda: [(k, _(v)) for k, v in ADVICE_TOPICS.items()])
    question = TextAreaField(_l("Your question"), validators=[Length(max=MAX_TEXT)])


class AnswerForm(SecureForm):
    answer = TextAreaField(_l("Answer"), validators=[Length(max=MAX_TEXT)])


class TransferForm(SecureForm):
    court = SelectField(_l("Transfer to"), choices=[])
    reason = TextAreaField(_l("Why it goes there"), validators=[Length(max=MAX_TEXT)])


def _options():
    """A request's grid and its parents by name (grid_path), without their polygons."""
    grid = joinedload(LegalAdviceRequest.grid).defer(Grid.geom)
    return (grid.joinedload(Grid.parent).defer(Grid.geom)
            .joinedload(Grid.parent).defer(Grid.geom),
            joinedload(LegalAdviceRequest.court),
            joinedload(LegalAdviceRequest.transferred_from))


def _page_labels() -> dict:
    return {"topics": ADVICE_TOPICS, "states": ADVICE_STATE_LABELS, "badges": STATE_BADGES,
            "label": label, "grid_path": grid_path, "mask_phone": mask_phone}


def home_requests(scope, mine: list | None = None) -> dict:
    """What a home page shows of legal advice: a liaison their latest questions and
    the answers (`mine`: their ids, newest first, when the page's own query read them,
    as 我的事项's does); court staff how many wait for them."""
    if scope.role in ASKERS and ask_refusal(current_user) is None:
        newest = LegalAdviceRequest.asked_at.desc()
        if mine is None:
            mine = db.session.scalars(
                select(LegalAdviceRequest.id).where(advice_readable(scope, current_user))
                .order_by(newest).limit(HOME_LISTED)).all()
        # A village that never asked (most, at every visit to 我的事项) pays no more;
        # the requests with their grid's path and courts when there are some.
        requests = db.session.scalars(
            select(LegalAdviceRequest).where(LegalAdviceRequest.id.in_(mine))
            .options(*_options()).order_by(newest)).all() if mine else []
        return {"advice": {"mine": requests, **_page_labels()}}
    if scope.role is Role.court_staff:
        waiting = db.session.scalar(select(func.count()).select_from(LegalAdviceRequest)
                                    .where(advice_to_answer(scope)))
        return {"advice": {"waiting": waiting}}
    return {}


class MyAdviceView(BaseView):
    """A liaison's questions to the court: the list, and the form to ask. (An
    administrator, who reads everything, may open the list; it is not in their menu.)"""

    def is_accessible(self):
        return current_user.is_authenticated and (
            ask_refusal(current_user) is None or current_user.role is Role.admin)

    def is_visible(self):
        return current_user.is_authenticated and ask_refusal(current_user) is None

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        mine = db.session.scalars(
            select(LegalAdviceRequest).where(advice_readable(current_scope(), current_user))
            .options(*_options()).order_by(LegalAdviceRequest.asked_at.desc())
            .limit(LISTED)).all()
        return self.render("gridlink/advice_mine.html", requests=mine,
                           may_ask=ask_refusal(current_user) is None, **_page_labels())

    @expose("/new/", methods=("GET", "POST"))
    def new(self):
        if ask_refusal(current_user) is not None:
            abort(403)
        form = AskForm(request.form if request.method == "POST" else None)
        if request.method == "POST":
            if not form.validate():
                if "csrf_token" in form.errors:
                    abort(400)
                flash(_("Choose a topic and write your question."), "error")
            else:
                try:
                    asked = ask_advice(db.session, current_user._get_current_object(),
                                       topic=form.topic.data, question=form.question.data)
                except RequestError as e:
                    db.session.rollback()
                    flash(say(e), "error")
                else:
                    db.session.commit()
                    flash(_("Your question was sent to %(court)s.", court=asked.court.name),
                          "success")
                    return redirect(url_for(".index"))
        return self.render("gridlink/advice_ask.html", form=form,
                           grid=grid_path(current_user.grid))


class AdviceView(BaseView):
    """The court's list: questions from the villages, answered or handed on here."""

    def is_accessible(self):
        return current_user.is_authenticated and current_user.role in (Role.admin,
                                                                        Role.court_staff)

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        scope = current_scope()
        rows = db.session.scalars(
            select(LegalAdviceRequest).where(advice_readable(scope, current_user))
            .options(*_options())
            .order_by(LegalAdviceRequest.state.in_(UNANSWERED).desc(),
                      LegalAdviceRequest.asked_at.desc())
            .limit(LISTED)).all()
        answerable = set(db.session.scalars(
            select(LegalAdviceRequest.id).where(
                LegalAdviceRequest.id.in_([r.id for r in rows]), advice_to_answer(scope))))
        transfer = TransferForm()
        transfer.court.choices = _transfer_choices()
        return self.render("gridlink/advice_list.html", requests=rows, answerable=answerable,
                           answer_form=AnswerForm(), transfer_form=transfer,
                           may_reveal=scope.may_reveal_phone(), **_page_labels())

    def _load(self, id: uuid.UUID, answer: bool) -> LegalAdviceRequest:
        scope = current_scope()
        readable = select(LegalAdviceRequest).where(LegalAdviceRequest.id == id,
                                                    advice_readable(scope, current_user))
        if not answer:
            found = db.session.scalar(readable)
        else:
            found = db.session.scalar(
                readable.where(advice_to_answer(scope)).with_for_update()
                .execution_options(populate_existing=True))
            if found is None and db.session.scalar(readable) is not None:
                abort(403)
        if found is None:
            abort(404)
        return found

    @expose("/<uuid:id>/answer/", methods=("POST",))
    def answer(self, id):
        form = AnswerForm(request.form)
        if not form.validate():
            abort(400)
        advice = self._load(id, answer=True)
        try:
            answer_advice(db.session, advice, current_user._get_current_object(),
                          form.answer.data)
        except RequestError as e:
            db.session.rollback()
            flash(say(e), "error")
            return redirect(url_for(".index", _anchor=f"advice-{id}"))
        db.session.commit()
        flash(_("Your answer was sent to %(asker)s.", asker=advice.asker_name), "success")
        return redirect(url_for(".index", _anchor=f"advice-{id}"))

    @expose("/<uuid:id>/transfer/", methods=("POST",))
    def transfer(self, id):
        form = TransferForm(request.form)
        form.court.choices = _transfer_choices()
        if not form.validate():
            if "csrf_token" in form.errors:
                abort(400)
            flash(_("Choose the court it goes to."), "error")
            return redirect(url_for(".index", _anchor=f"advice-{id}"))
        advice = self._load(id, answer=True)
        to = db.session.get(Court, uuid.UUID(form.court.data))
        try:
            transfer_advice(db.session, advice, to, form.reason.data)
        except RequestError as e:
            db.session.rollback()
            flash(say(e), "error")
            return redirect(url_for(".index", _anchor=f"advice-{id}"))
        db.session.commit()
        flash(_("The request was transferred to %(court)s.", court=to.name), "success")
        return redirect(url_for(".index"))

    @expose("/<uuid:id>/phone/")
    def phone(self, id):
        """The asker's phone in full, for the court that holds the question; audited."""
        if not current_scope().may_reveal_phone():
            abort(403)
        advice = self._load(id, answer=False)
        append(db.session.connection(), "reveal_phone", "legal_advice_request",
               str(advice.id), after={"field": "contact_phone"})
        db.session.commit()
        return jsonify(value=advice.contact_phone or "")


def _transfer_choices() -> list[tuple[str, str]]:
    """Tribunals and base courts, by county: where a question may be handed."""
    courts = db.session.scalars(select(Court).where(Court.kind != CourtKind.intermediate)
                                .order_by(Court.county_code, Court.kind, Court.name)).all()
    return [(str(c.id), c.name) for c in courts]
