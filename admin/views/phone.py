"""我的事项 as a phone receives it: the page kept as text, this request's parts put in.

A liaison or grid worker opens this page many times a day, and most of it is the same
each time: the frame (their links, their name, the languages), their grid's name and
path, the headings, the map button. The page is kept as text a minute per account and
language like the admin's pages (admin.frame.kept_page: the templates stay the one
source of its HTML, and a kept page is never another account's); what changes with each
request is made anew and put in: the counts, the consultations, the cards and the line
under them (with the frame's CSP nonce and sign-out token).

The cards are made here as text (`cards_html`), with the words of the page's language
made once: twenty cards through the template's blocks and filters were the larger half
of the page's own work. Each card's text is kept a minute under everything it shows
(the card's values, its marks at this request's moment, the language, the links' root
and the reader's two flags), so a card whose matter or mark changed is drawn afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask import current_app, get_template_attribute, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from admin.frame import kept_page
from admin.i18n import once_per_locale
from admin.kept import Kept
from admin.views.deadline_marks import due_html, mark_of
from admin.views.formatters import local_time
from models.deadlines import Marks
from models.escalation import shows_urgent
from models.grids import N_
from models.matter_types import MATTER_TYPE_LABELS
from models.matters import STATE_LABELS, MatterState, Urgency
from models.my_matters import Card, due_mark

TEMPLATE = "gridlink/home_phone.html"


def my_matters_page(view, render: Callable[..., str], *, cards: list[Card], counts: dict,
                    marks: Marks, advice: dict | None, context: Callable[[], dict]) -> str:
    """我的事项 from its kept text with this request's parts. `render` is the view's
    (Flask-Admin's, which adds what its static URLs need); `context()` what the kept
    text shows (the grid, its path), asked only when the page is drawn."""
    slots = {f"count_{name}": Markup(counts[name]) for name in ("open", "overdue", "due_soon")}
    slots.update(
        advice_html=Markup(consultations_html(advice)),
        cards_html=Markup(cards_html(cards, marks, grid_id=current_user.grid_id,
                                     person_id=current_user.person_id)),
        shown_of=Markup(shown_of(len(cards), counts["open"])))
    return kept_page(view, lambda **c: render(TEMPLATE, **c), context, (TEMPLATE,), slots)


def consultations_html(advice: dict | None) -> str:
    """A liaison's latest questions for legal advice (admin.views.legal_advice)."""
    if not advice or "mine" not in advice:
        return ""
    def draw() -> str:
        return get_template_attribute("gridlink/phone_parts.html", "consultations")(advice)

    if advice["mine"]:
        return draw()
    # None asked yet (most villages, at every visit): the same words and links each time.
    return _NONE_ASKED.get((str(get_locale()), request.script_root), draw)


_NONE_ASKED = Kept(ttl=600.0, size=16)  # per language and URL root


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
        ("urgent", N_("Urgent")), ("due_by", N_("Due by")), ("overdue", N_("Overdue")),
        ("due_soon", N_("Due soon")), ("record", N_("Record the outcome")),
        ("risk", N_("Report a risk")), ("urgent_call", N_("Urgent assistance")),
        ("none", N_("No open matters for your grid.")))}
    said["types"] = {k: str(escape(_(v))) for k, v in MATTER_TYPE_LABELS.items()}
    said["states"] = {k: str(escape(_(v))) for k, v in STATE_LABELS.items()}
    said["language"] = str(get_locale())  # in each card's key
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
    words = card_words()
    if not cards:
        return f'\n  <p class="text-muted gridlink-none">{words["none"]}</p>\n'
    urls = _urls()
    out = []
    for card in cards:
        mark = due_mark(card.due_at, marks)
        rule = mark_of(card)
        other_grid = bool(card.grid_id and card.grid_id != grid_id)
        records = bool(card.state is MatterState.dispatched and person_id
                       and card.field_worker_id == person_id)
        draw = partial(_card_html, card, mark, other_grid, records, words, urls)
        if not current_app.config.get("KEEP_PAGES", True):  # every card drawn anew
            out.append(draw())
            continue
        key = (words["language"], urls, card, mark, rule, other_grid, records)
        out.append(_CARDS.get(key, draw))
    return "".join(out) + "\n"


# A card's text by everything it shows: some thousands of cards a worker, a minute each.
_CARDS = Kept(ttl=60.0, size=5000)


def _card_html(card: Card, mark: str | None, other_grid: bool, records: bool,
               words: dict, urls: tuple[str, str]) -> str:
    details, outcome = urls
    link = f"{details}{card.id}"
    case = escape(card.case_number)
    badges = ""
    if card.urgency is Urgency.urgent:
        badges += f' <span class="badge badge-danger">{words["urgent"]}</span>'
    if shows_urgent(card):
        badges += (' <span class="badge badge-danger gridlink-urgent-call">'
                   f'{words["urgent_call"]}</span>')
    where = escape(card.court)
    if other_grid:
        where += Markup(" · ") + escape(card.grid_name)
    record = ""
    if records:
        record = (f'\n      <a class="btn btn-primary btn-sm mt-2 gridlink-record" '
                  f'href="{outcome.format(card.id)}">{words["record"]}</a>')
    return (
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
