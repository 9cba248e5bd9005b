"""Chinese first: zh_Hans_CN by default, English on request (?lang=en, kept in the session).

Our own strings are English msgids translated in admin/translations; Flask-Admin
and WTForms bring their own catalogues. The .po files are the source; they are
compiled to .mo on start when missing or older, so a checkout needs no build step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, redirect, request, session
from flask_babel import Babel, get_locale

TRANSLATIONS = Path(__file__).parent / "translations"
LOCALES = {"zh_Hans_CN": "中文", "en": "English"}
DEFAULT_LOCALE = "zh_Hans_CN"

babel = Babel()


def compile_catalogs(directory: Path = TRANSLATIONS) -> None:
    for po in directory.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        with mo.open("wb") as f:
            write_mo(f, catalog)


T = TypeVar("T")


def once_per_locale(make: Callable[[], T]) -> Callable[[], T]:
    """What depends only on the reader's language (a page's fixed words), made once per
    language and kept: the catalogues do not change while the app runs, and a page of
    cards asked the same words of gettext anew on every request."""
    made: dict[str, T] = {}

    @functools.wraps(make)
    def cached() -> T:
        locale = str(get_locale())
        if locale not in made:
            made[locale] = make()
        return made[locale]

    return cached


def select_locale() -> str:
    asked = request.args.get("lang")
    if asked in LOCALES:
        session["lang"] = asked
    return session.get("lang", DEFAULT_LOCALE)


def init_app(app: Flask) -> None:
    compile_catalogs()
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)

    @app.route("/lang/<code>")
    def set_language(code: str):
        if code in LOCALES:
            session["lang"] = code
        target = request.referrer or "/admin/"
        # Only ever go back to a page of this site.
        if not target.startswith(request.host_url):
            target = "/admin/"
        return redirect(target)

    @app.context_processor
    def languages():
        return {"gridlink_locales": LOCALES, "gridlink_locale": select_locale()}
