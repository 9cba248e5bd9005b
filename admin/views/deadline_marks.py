"""The deadline that counts and its mark (即将到期 / 已超期), as pages, the API and the
spreadsheet show it. models.deadlines decides; this only says it, in Beijing time.
The marks are made once per request (one moment, one calendar lookup for all rows)."""

from __future__ import annotations

from flask import g, has_request_context
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from admin.views.formatters import local_time
from models import db
from models.deadlines import (
    DUE_SOON_MARK,
    OVERDUE,
    WHICH_LABELS,
    Mark,
    Marks,
    counting,
    counting_due,
)
from models.matters import Matter

BADGES = {OVERDUE: "danger"}


def marks() -> Marks:
    if not has_request_context():
        return Marks(db.session)
    if "gridlink_marks" not in g:
        g.gridlink_marks = Marks(db.session)
    return g.gridlink_marks


def mark_of(matter: Matter) -> Mark | None:
    if counting(matter) is None:  # no deadline counts: the moment (a query) is not needed
        return None
    return marks().of(matter)


def mark_text(matter: Matter) -> str:
    """"签收期限 2026-12-08 23:59 已超期", or "" when no deadline counts now."""
    found = mark_of(matter)
    if found is None:
        return ""
    words = f"{_(WHICH_LABELS[found.which])} {local_time(found.due_at)}"
    return f"{words} {_(found.label)}" if found.label else words


def mark_badge(matter: Matter, found: Mark | None = None) -> Markup:
    """The mark alone, as a badge (nothing while in time); `found`: its mark, if known."""
    found = found or mark_of(matter)
    if found is None or found.label is None:
        return Markup("")
    return Markup('<span class="badge badge-{} gridlink-mark gridlink-mark-{}">{}</span>').format(
        BADGES.get(found.state, "warning"), found.state.replace("_", "-"), _(found.label))


def due_html(matter: Matter) -> Markup:
    """The deadline that counts, when, and its badge: a list cell, a page line."""
    found = mark_of(matter)
    if found is None:
        return Markup("")
    return Markup('<span class="text-nowrap gridlink-due" data-which="{}">{} {}</span> {}').format(
        found.which, _(WHICH_LABELS[found.which]), local_time(found.due_at),
        mark_badge(matter, found))


def due_cell(view, context, model, name):
    return due_html(model)


def mark_json(matter: Matter) -> dict | None:
    """The API's: which deadline counts, when (ISO, with its offset), and the mark."""
    found = mark_of(matter)
    if found is None:
        return None
    return {"which": found.which, "due_at": found.due_at.isoformat(), "mark": found.state,
            "label": _(found.label) if found.label else None}


class MarkFilter(BaseSQLAFilter):
    """The matter list's 办理时限 filter: the matters whose counting deadline is past, or
    due soon, now."""

    def __init__(self, name):
        super().__init__(counting_due(), name, options=[
            (OVERDUE, _l("Overdue")), (DUE_SOON_MARK, _l("Due soon"))])

    def apply(self, query, value, alias=None):
        now = marks()
        return query.filter(now.overdue() if value == OVERDUE else now.due_soon())

    def operation(self):
        return admin_lazy_gettext("equals")

    def validate(self, value):
        return value in (OVERDUE, DUE_SOON_MARK)
