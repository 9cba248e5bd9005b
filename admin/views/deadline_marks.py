"""The deadline that counts and its mark (即将到期 / 已超期), as pages, the API and the
spreadsheet show it. models.deadlines decides; this only says it, in Beijing time.
The marks are made once per request (one moment, one calendar lookup for all rows)."""

from __future__ import annotations

from datetime import datetime

from flask import g, has_request_context
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from admin.kept import Kept
from admin.views.formatters import local_time
from models import clock, db
from models.deadlines import (
    DUE_SOON_MARK,
    OVERDUE,
    WHICH_LABELS,
    Mark,
    Marks,
    counting,
    counting_due,
    next_working_day_end,
)
from models.matters import Matter

BADGES = {OVERDUE: "danger"}


# The end of the next working day, per Beijing date: a calendar query on every page
# that marks deadlines (1.4 ms of the database's time), the same all day. Kept a
# minute: an admin's change to the calendar shows on every worker within it.
_NEXT_DAY_END = Kept(ttl=60.0, size=8)


def next_day_end() -> datetime:
    now = clock.now()
    return _NEXT_DAY_END.get((now.astimezone(clock.SITE_ZONE).date(),),
                             lambda: next_working_day_end(db.session, now))


def forget_next_day_ends() -> None:
    _NEXT_DAY_END.clear()


def marks() -> Marks:
    if not has_request_context():
        return Marks(db.session)
    if "gridlink_marks" not in g:
        g.gridlink_marks = Marks(db.session, next_day_end=next_day_end())
    return g.gridlink_marks


def said(msgid: str) -> str:
    """A mark's words in the request's language, translated once a request (a page of
    rows says the same few words again and again)."""
    if not has_request_context():
        return _(msgid)
    words = g.get("gridlink_mark_words")
    if words is None:
        words = g.gridlink_mark_words = {}
    if msgid not in words:
        words[msgid] = _(msgid)
    return words[msgid]


def mark_of(matter: Matter) -> Mark | None:
    if counting(matter) is None:  # no deadline counts: the moment is not needed
        return None
    return marks().of(matter)


def mark_text(matter: Matter) -> str:
    """"签收期限 2026-12-08 23:59 已超期", or "" when no deadline counts now."""
    found = mark_of(matter)
    if found is None:
        return ""
    words = f"{said(WHICH_LABELS[found.which])} {local_time(found.due_at)}"
    return f"{words} {said(found.label)}" if found.label else words


def mark_badge(matter: Matter) -> Markup:
    """The mark alone, as a badge (nothing while in time)."""
    return _badge(mark_of(matter))


def _badge(found: Mark | None) -> Markup:
    if found is None or found.label is None:
        return Markup("")
    return Markup(f'<span class="badge badge-{escape(BADGES.get(found.state, "warning"))}'
                  f' gridlink-mark gridlink-mark-{escape(found.state.replace("_", "-"))}">'
                  f'{escape(said(found.label))}</span>')


def due_html(matter: Matter) -> Markup:
    """The deadline that counts, when, and its badge: a list cell, a page line."""
    found = mark_of(matter)
    if found is None:
        return Markup("")
    # Written out rather than Markup.format (a string.Formatter per call, a page of cards
    # or rows calls it for each): the same escaping, the same text.
    return Markup(f'<span class="text-nowrap gridlink-due" data-which="{escape(found.which)}">'
                  f'{escape(said(WHICH_LABELS[found.which]))} {escape(local_time(found.due_at))}'
                  f'</span> {_badge(found)}')


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
