"""我的事项 as a phone receives it: the page kept as text, the request's parts put in.

A liaison or grid worker opens this page many times a day, and most of it is the same
each time: the frame (their links, their name, the languages), their grid's name and
path, the headings, the map button. Only the counts, the cards, their consultations,
the bell's figure, the sign-out form's token and any flashed message change. So the
page's template (gridlink/home_phone.html on gridlink/phone_base.html) is drawn once a
minute per account, language and grid, with a stand-in (a `Slot`) for each part that
changes, and kept as the text between them (`KeptPage`); a request draws only its parts
and joins. The template stays the one source of the page's HTML: drawn with its real
values, it gives the same text (tests/test_phone_page.py).

The cards are made here as text (`cards_html`), with the words of the page's language
made once: twenty cards through the template's blocks and filters were the larger half
of the page's own work.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import (
    get_flashed_messages,
    get_template_attribute,
    request,
    url_for,
)
from flask_admin.form import SecureForm
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from admin.i18n import once_per_locale
from admin.kept import Kept
from admin.views.deadline_marks import due_html
from admin.views.formatters import local_time
from admin.views.inbox import bell
from models.deadlines import Marks
from models.escalation import shows_urgent
from models.matter_types import MATTER_TYPE_LABELS
from models.matters import STATE_LABELS, MatterState, Urgency
from models.my_matters import Card, due_mark

PAGE_TTL = 60.0
PAGES_KEPT = 1000  # accounts × languages seen within a minute, at most
KEEP = True  # False: the page drawn whole on every request, as it was

# The parts of 我的事项 that change with every request.
SLOTS = ("bell", "token", "flashes", "open", "overdue", "due_soon", "advice", "cards",
         "shown_of")
_SLOT = re.compile("\ue000([a-z_]+)\ue001")  # private-use characters: never escaped


def slot(name: str) -> Markup:
    """The stand-in for a part that changes: text no page can contain otherwise."""
    return Markup(f"\ue000{name}\ue001")


@dataclass(frozen=True)
class KeptPage:
    """A page drawn with stand-ins, kept as the text between them."""
    pieces: tuple[str, ...]  # text, slot name, text, slot name, …, text

    @classmethod
    def of(cls, html: str) -> KeptPage:
        return cls(tuple(_SLOT.split(html)))

    def fill(self, parts: dict[str, str]) -> str:
        pieces = list(self.pieces)
        pieces[1::2] = [parts[name] for name in self.pieces[1::2]]
        return "".join(pieces)


_PAGES = Kept(PAGE_TTL, PAGES_KEPT)
_BELLS = Kept(PAGE_TTL, 400)  # the bell per figure ("", "3", "99+"), language and prefix


def page_key(scope) -> tuple:
    """Everything the kept text depends on: who (the account, its role, grid and area,
    name, whether it may ask for advice), in which language, under which prefix."""
    user = current_user._get_current_object()
    return (user.id, user.role, user.grid_id, user.person_id, user.display_name,
            scope.area_code, str(get_locale()), request.script_root)


def my_matters_page(scope, render: Callable[..., str], *, cards: list[Card], counts: dict,
                    marks: Marks, advice: dict | None, context: Callable[[], dict]) -> str:
    """我的事项, its kept text filled in with this request's parts. `render` is the
    view's (Flask-Admin's, which adds what its static URLs need); `context()` what the
    kept text shows (the grid, its path), asked only when the text is drawn."""
    parts = page_parts(cards=cards, counts=counts, marks=marks, advice=advice,
                       grid_id=current_user.grid_id, person_id=current_user.person_id)
    if not KEEP:  # drawn whole, every part by the template (tests compare the two)
        return render("gridlink/home_phone.html", phone_kept=None, counts=counts,
                      **{f"{name}_html": Markup(parts[name]) for name in ("advice", "cards")},
                      shown_of=Markup(parts["shown_of"]), **context())
    kept = _PAGES.get(page_key(scope), lambda: KeptPage.of(render(
        "gridlink/home_phone.html", phone_kept={name: slot(name) for name in SLOTS},
        counts={name: slot(name) for name in ("open", "overdue", "due_soon")},
        advice_html=slot("advice"), cards_html=slot("cards"), shown_of=slot("shown_of"),
        **context())))
    return kept.fill({**frame_parts(), **parts})


def frame_parts() -> dict[str, str]:
    """The phone frame's parts that change with each request: the bell's figure, the
    sign-out form's token, any flashed message."""
    unread, flashed = bell(), get_flashed_messages(with_categories=True)
    return {
        "bell": _BELLS.get((unread, str(get_locale()), request.script_root),
                           lambda: str(_part("bell")(unread))),
        "token": str(SecureForm().csrf_token),  # the sign-out form's, as the frame draws it
        "flashes": str(_part("flashes")(flashed)) if flashed else "",
    }


def page_parts(*, cards: list[Card], counts: dict, marks: Marks, advice: dict | None,
               grid_id, person_id) -> dict[str, str]:
    """我的事项's parts that change with each request, as text."""
    return {
        "open": str(counts["open"]), "overdue": str(counts["overdue"]),
        "due_soon": str(counts["due_soon"]),
        "advice": consultations_html(advice),
        "cards": cards_html(cards, marks, grid_id=grid_id, person_id=person_id),
        "shown_of": shown_of(len(cards), counts["open"]),
    }


def _part(name: str):
    """A macro of gridlink/phone_parts.html: the parts' one source, kept page or not."""
    return get_template_attribute("gridlink/phone_parts.html", name)


def consultations_html(advice: dict | None) -> str:
    """A liaison's latest questions for legal advice (admin.views.legal_advice)."""
    if not advice or "mine" not in advice:
        return ""
    return _part("consultations")(advice)


def shown_of(shown: int, open_: int) -> str:
    if open_ <= shown:
        return ""
    return str(escape(_("The nearest %(shown)s of %(open)s open matters.", shown=shown,
                        open=open_))) + " "


# --- the cards ------------------------------------------------------------------------

@once_per_locale
def card_words() -> dict:
    """The cards' words in the reader's language, escaped, made once per language."""
    said = {key: str(escape(_(msgid))) for key, msgid in (
        ("urgent", "Urgent"), ("due_by", "Due by"), ("overdue", "Overdue"),
        ("due_soon", "Due soon"), ("record", "Record the outcome"),
        ("risk", "Report a risk"), ("urgent_call", "Urgent assistance"))}
    said["types"] = {k: str(escape(_(v))) for k, v in MATTER_TYPE_LABELS.items()}
    said["states"] = {k: str(escape(_(v))) for k, v in STATE_LABELS.items()}
    return said


def _urls() -> tuple[str, str]:
    """The matter page's and the outcome form's URLs, built once a page, ids put in."""
    some_id = "00000000-0000-0000-0000-000000000000"
    return (url_for("matter.details_view") + "?id=",
            url_for("matter.outcome_view", id=some_id).replace(some_id, "{}"))


def cards_html(cards: list[Card], marks: Marks, *, grid_id, person_id) -> str:
    """The cards of 我的事项, nearest deadline first: case number, state, type and
    urgency, court (and the grid, when another of the reader's), the deadline that
    counts with its mark, and the buttons a card offers."""
    if not cards:
        return ('\n  <p class="text-muted gridlink-none">'
                f'{escape(_("No open matters for your grid."))}</p>\n')
    words, (details, outcome) = card_words(), _urls()
    out = []
    for card in cards:
        mark = due_mark(card.due_at, marks)
        link = f"{details}{card.id}"
        case = escape(card.case_number)
        badges = ""
        if card.urgency is Urgency.urgent:
            badges += f' <span class="badge badge-danger">{words["urgent"]}</span>'
        if shows_urgent(card):
            badges += (' <span class="badge badge-danger gridlink-urgent-call">'
                       f'{words["urgent_call"]}</span>')
        where = escape(card.court)
        if card.grid_id and card.grid_id != grid_id:
            where += Markup(" · ") + escape(card.grid_name)
        record = ""
        if card.state is MatterState.dispatched and person_id \
                and card.field_worker_id == person_id:
            record = (f'\n      <a class="btn btn-primary btn-sm mt-2 gridlink-record" '
                      f'href="{outcome.format(card.id)}">{words["record"]}</a>')
        out.append(
            f'\n  <div class="card mb-2 gridlink-matter-card'
            f'{" gridlink-" + mark.replace("_", "-") + "-card" if mark else ""}"'
            f' data-case="{case}">\n'
            '    <div class="card-body p-2">\n'
            '      <div class="d-flex justify-content-between align-items-start">\n'
            f'        <a class="font-weight-bold gridlink-case" href="{link}">{case}</a>\n'
            f'        <span class="badge badge-light ml-2 text-nowrap">'
            f'{words["states"][card.state]}</span>\n'
            '      </div>\n'
            f'      <div>{words["types"][card.matter_type]}{badges}</div>\n'
            f'      <div class="small text-muted">{where}</div>\n'
            f'      <div class="small">{_deadline(card, mark, words)}</div>{record}\n'
            f'      <a class="btn btn-outline-danger btn-sm mt-2" href="{link}#gridlink-risk">'
            f'{words["risk"]}</a>\n'
            '    </div>\n'
            '  </div>')
    return "".join(out) + "\n"


def _deadline(card: Card, mark: str | None, words: dict) -> str:
    """The rules' deadline that counts (its words and mark), else the court's date."""
    rule = due_html(card)
    if rule:
        return str(rule)
    if card.due_at is None:
        return f"{words['due_by']}: —"
    badge = ""
    if mark == "overdue":
        badge = f' <span class="badge badge-danger gridlink-overdue">{words["overdue"]}</span>'
    elif mark == "due_soon":
        badge = f' <span class="badge badge-warning gridlink-due-soon">{words["due_soon"]}</span>'
    return (f'{words["due_by"]}: <span class="text-nowrap">{local_time(card.due_at)}</span>'
            f'{badge}')
