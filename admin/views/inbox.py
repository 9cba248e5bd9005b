"""Every account's inbox (通知): the bell in the top bar with the unread count, the
list newest first, marking read; and the same for court systems' and phones' JSON
(admin/api_notifications.py). Only the signed-in account's own notifications, ever: every
query and update names the account (models.notifications), so another's id is not
found. An API token stands for a court, not a person: it has no inbox.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import exists, select

from admin.auth import current_scope, safe_next
from admin.errors import MAX_PAGE, whole_number
from admin.views.secure import refuse
from models import Matter, db
from models.notifications import Notification, badge, inbox, mark_read, unread_count

PAGE_SIZE = 50


def say(notification: Notification) -> str:
    """The notification's text in the reader's language. A template whose parameters
    do not fit (written by an older version) is shown as it stands, not as an error."""
    try:
        return _(notification.template, **(notification.params or {}))
    except (KeyError, ValueError, TypeError):
        return notification.template


def listing(account_id, *, unread_only=False, limit=PAGE_SIZE, offset=0):
    """The account's notifications with, for each, whether its matter is one the
    account may read now (else no link: it moved on to another grid, say)."""
    visible = exists().where(Matter.id == Notification.matter_id, current_scope().matters())
    query = inbox(account_id, unread_only=unread_only).add_columns(visible.label("visible"))
    return db.session.execute(query.limit(limit).offset(offset)).all()


def _signed_in_account():
    return current_user if current_user.is_authenticated else None


class InboxView(BaseView):
    def is_visible(self):
        return False  # reached from the bell

    def is_accessible(self):
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        page = whole_number("page", 0, least=0, most=MAX_PAGE)
        unread_only = request.args.get("unread") == "1"
        rows = listing(current_user.id, unread_only=unread_only, limit=PAGE_SIZE + 1,
                        offset=page * PAGE_SIZE)
        return self.render("gridlink/inbox.html", rows=rows[:PAGE_SIZE], say=say,
                           page=page, more=len(rows) > PAGE_SIZE, unread_only=unread_only,
                           unread=unread_count(db.session, current_user.id),
                           form=SecureForm())

    @expose("/<int:id>/read", methods=("POST",))
    def read_one(self, id: int):
        self._check_form()
        if not mark_read(db.session, current_user.id, [id]) and not self._is_mine(id):
            abort(404)
        db.session.commit()
        target = request.form.get("next")
        return redirect(safe_next(target) if target else url_for(".index"))

    @expose("/read-all", methods=("POST",))
    def read_all(self):
        self._check_form()
        marked = mark_read(db.session, current_user.id)
        db.session.commit()
        flash(_("%(n)s notifications marked read.", n=marked), "success")
        return redirect(url_for(".index"))

    @staticmethod
    def _check_form():
        if not SecureForm(request.form).validate():
            abort(400)

    @staticmethod
    def _is_mine(id: int) -> bool:
        return db.session.scalar(select(Notification.id).where(
            Notification.id == id, Notification.account_id == current_user.id)) is not None


def bell() -> str | None:
    """The bell's figure for the signed-in account: "" when nothing is unread, "99+"
    past 99, None for nobody (or a court system's token). Asked by the template only,
    so a page without the frame pays nothing."""
    account = _signed_in_account()
    if account is None or g.get("api_token") is not None:
        return None
    count = account.unread  # loaded with the account (admin.auth.load_user)
    if count is None:  # the account was reloaded since, without it
        count = unread_count(db.session, account.id)
    return badge(count) if count else ""
