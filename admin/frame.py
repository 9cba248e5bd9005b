"""The admin frame's main menu, drawn once a minute per account and page, not per request.

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

from flask import Flask, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from admin.auth import current_scope
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

    @app.template_global("gridlink_menu")
    def gridlink_menu(admin_view, draw) -> Markup:
        """The main menu for this account and page (`draw`: the template's macro that
        draws it, called when it is not kept)."""
        return menus.get(menu_key(admin_view), lambda: Markup(draw()), keep=lambda _: True)
