"""The admin frame's main menu, drawn once a minute per account and page, not per request;
and a whole page kept as text, its per-request parts put in on each request (kept_page).

Flask-Admin draws the menu on every page: each of some forty views asked whether the
account may open it and see it, each entry's URL built. That was a third of the
lightest page in the frame (the password form). What decides the menu is who asks
(the account, its role, its area and court), the language, and which page is open
(its entry is marked active); so the drawn HTML is kept under exactly that key, for
MENU_TTL seconds, and never handed to anyone else: another account, or the same one
after its role or area changed, has another key. What may change under the same key
(a view's own rule reading the account's grid, say) shows within the minute.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask, current_app, request, session
from flask_admin.form import SecureForm
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from admin.auth import current_principal, current_scope
from admin.kept import Kept

MENU_TTL = 60.0
MENU_KEPT = 1000  # menus kept at most (accounts × pages × languages seen in a minute)


def menu_key(admin_view) -> tuple:
    """Everything the menu's drawing depends on: who asks, in which language, from which
    page, under which URL prefix."""
    scope = current_scope()
    user = current_user._get_current_object()
    signed_in = bool(getattr(user, "is_authenticated", False))
    return (getattr(user, "id", None) if signed_in else None,
            getattr(user, "grid_id", None) if signed_in else None,
            scope.role, scope.area_code, scope.court_id, str(get_locale()),
            admin_view.endpoint, request.script_root)


def init_app(app: Flask) -> None:
    menus = Kept(MENU_TTL, MENU_KEPT)
    app.extensions["gridlink_menus"] = menus
    app.extensions["gridlink_pages"] = Kept(PAGE_TTL, PAGES_KEPT)

    @app.template_global("gridlink_menu")
    def gridlink_menu(admin_view, draw) -> Markup:
        """The main menu for this account and page (`draw`: the template's macro that
        draws it, called when it is not kept)."""
        return menus.get(menu_key(admin_view), lambda: Markup(draw()), keep=lambda _: True)


# --- The whole page kept as text --------------------------------------------------------
#
# A page in the admin frame is Flask-Admin's five templates rendered for who asks: the
# head, the menu, the bell, the account's links, the sign-out form, the page's own body,
# the tail's scripts. For one account on one page (the menu's key), one URL and the
# values a view names (a list's count and its number of rows, say), the only parts that
# change from one request to the next are the response's CSP nonce, the CSRF token of
# its forms and the slots the view fills itself (a list's rows). So the page is rendered
# once, as it always is (the templates stay the one source of its HTML), cut at those
# parts, and kept PAGE_TTL seconds; the next request under the same key puts its own
# nonce, token and slots between the kept pieces. Never handed to another key: another
# account, role, area, court, language, page, URL, bell figure or display name renders
# anew. A request with flashed messages to show renders anew too (and keeps nothing):
# showing them is taking them out of the session.
PAGE_TTL = 60.0
PAGES_KEPT = 300  # pages kept at most per process (about 30–50 KB each)
_SLOT = "\ue000gridlink-slot-{}\ue001"  # private-use characters: no page has them


def page_key(view, key: tuple) -> tuple:
    """Everything a kept page depends on besides its slots: the menu's key, the URL, the
    bell's figure, the account's name as the frame shows it, and the view's own `key`."""
    user = current_principal()
    return (*menu_key(view), request.full_path, current_app.jinja_env.globals[
        "gridlink_bell"](), getattr(user, "display_name", None), str(user), *key)


def kept_page(view, render: Callable[..., str], context: dict | Callable[[], dict],
              key: tuple, slots: dict) -> str:
    """`render(**context, **slots)` (the view's page: Flask-Admin's render of its
    template), from the pieces kept for this key when there are (see above). `slots`:
    name → this request's HTML (Markup) for the template variables that change with
    every request. `context` may be a function, asked only when the page is drawn
    (what it reads is the same for the key, a minute)."""
    form = SecureForm()  # the frame's sign-out form, with this request's CSRF token
    make_nonce = view.admin.csp_nonce_generator
    nonce, token = make_nonce() if make_nonce else "", form.csrf_token.current_token or ""

    def full() -> dict:
        return dict(context() if callable(context) else context, logout_form=form)

    pages = current_app.extensions["gridlink_pages"]
    if not current_app.config.get("KEEP_PAGES", True) or session.get("_flashes"):
        return render(**full(), **slots)
    values = {"nonce": nonce, "token": token, **{n: str(v) for n, v in slots.items()}}

    def cut() -> tuple[str, ...]:
        page = render(**full(), **{n: Markup(_SLOT.format(n)) for n in slots})
        found = {text: name for text, name in ((nonce, "nonce"), (token, "token")) if text}
        found.update({_SLOT.format(n): n for n in slots})
        pieces = re.split("(" + "|".join(map(re.escape, found)) + ")", page)
        return tuple(found[p] if i % 2 else p for i, p in enumerate(pieces))

    pieces = pages.get(page_key(view, key), cut, keep=lambda _: True)
    return "".join(values[p] if i % 2 else p for i, p in enumerate(pieces))
