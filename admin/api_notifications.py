"""/api/v1/notifications: an account's inbox for phones and the court systems' own
clients signed in as a person (admin/views/inbox.py has the page and the rules).

An API token acts for a court, not for a person: it has no inbox (403). Marking
read needs a JSON body or content type, which a form posted from another site
cannot send, besides the cookie's SameSite=Lax.
"""

from __future__ import annotations

from flask import abort, g, jsonify, request
from flask_login import current_user
from sqlalchemy import func, select

from admin.api import api
from admin.errors import MAX_OFFSET, whole_number
from admin.views.formatters import local_time
from admin.views.inbox import PAGE_SIZE, listing, say
from models import db
from models.notifications import Notification, inbox, mark_read


def _account_or_refuse():
    if g.get("api_token") is not None:
        abort(403)  # a token acts for a court, not for a person with an inbox
    return current_user


def _json(notification: Notification, visible: bool) -> dict:
    return {"id": notification.id, "kind": notification.kind, "text": say(notification),
            "template": notification.template, "params": notification.params,
            "matter_id": str(notification.matter_id) if visible else None,
            "created_at": notification.created_at.isoformat(),
            "created_at_local": local_time(notification.created_at),
            "read": notification.read_at is not None}


@api.get("/notifications")
def notifications_list():
    account = _account_or_refuse()
    limit = whole_number("limit", PAGE_SIZE, least=0, most=200, clamp=True)
    offset = whole_number("offset", 0, least=0, most=MAX_OFFSET)
    unread_only = request.args.get("unread") in ("1", "true", "yes")
    rows = listing(account.id, unread_only=unread_only, limit=limit, offset=offset)
    unread = db.session.scalar(select(func.count()).select_from(
        inbox(account.id, unread_only=True).subquery()))
    return jsonify(notifications=[_json(n, visible) for n, visible in rows], unread=unread,
                   limit=limit, offset=offset)


@api.post("/notifications/read")
def notifications_read():
    account = _account_or_refuse()
    if not request.is_json or not isinstance(body := request.get_json(silent=True), dict):
        return jsonify(error="send a JSON object (Content-Type: application/json): "
                             '{"ids": [...]} or {"all": true}'), 400
    ids = body.get("ids")
    if body.get("all") is True:
        ids = None
    elif not (isinstance(ids, list) and ids and len(ids) <= 1000
              and all(isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        return jsonify(error='ids must be a list of notification ids, or send {"all": true}'), 400
    return jsonify(marked=mark_read(db.session, account.id, ids))


@api.post("/notifications/<int:id>/read")
def notification_read(id: int):
    account = _account_or_refuse()
    if not request.is_json:
        return jsonify(error="send Content-Type: application/json"), 400
    marked = mark_read(db.session, account.id, [id])
    if not marked and db.session.scalar(select(Notification.id).where(
            Notification.id == id, Notification.account_id == account.id)) is None:
        abort(404)
    return jsonify(marked=marked)
