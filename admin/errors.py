"""What a request that cannot be answered gets back: a clear refusal, never a crash.

Three rules, applied to every request in one place:

- Input the database cannot hold is refused before it gets there: a NUL byte
  (PostgreSQL text has no room for one) anywhere in the path, the query string or
  a form is a 400, whatever the page.
- Paging numbers (page, limit, offset) are read by `whole_number`, which refuses
  what is not a whole number in range; no list passes a negative or a 20-digit
  number on to SQL.
- When the database cannot be reached, the answer is a 503 that says so — not a
  crash, and not the sign-in page (the account could not be loaded, which is not
  the same as not being signed in). Nothing is kept from the failure: the pool
  checks each connection before use (pool_pre_ping), so the next request after
  the database is back is served normally.

Errors speak the caller's language: JSON under /api/ ({"error": …}) and /ogc/
(OGC's {"code", "description"}), the app's error page elsewhere.
"""

from __future__ import annotations

import contextlib
import json

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import BadRequest, NotFound

from models import db

# More rows than any list here will ever hold, and far below PostgreSQL's bigint.
MAX_OFFSET = 10**9
MAX_PAGE = 10**6
NUL = "\x00"


class BadParameter(BadRequest):
    """A query parameter out of its range; the description names it and why."""


def whole_number(name: str, default: int, least: int = 0, most: int | None = None,
                 clamp: bool = False) -> int:
    """The query parameter `name` as a whole number in [least, most]. Above `most`:
    `most` when `clamp` (a limit larger than the maximum is the maximum, as OGC
    API Features asks), else refused."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadParameter(f"{name} must be a whole number, not {raw!r}") from None
    if value < least:
        raise BadParameter(f"{name} must be at least {least}, not {value}")
    if most is not None and value > most:
        if clamp:
            return most
        raise BadParameter(f"{name} must be at most {most}, not {value}")
    return value


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _json_body_holds_nul() -> bool:
    if not request.is_json:
        return False
    try:
        return _holds_nul(json.loads(request.get_data(cache=True) or b"null"))
    except ValueError:
        return False  # not JSON after all: the view says so


def refuse_nul_bytes() -> None:
    """Before every request: a NUL byte in the path, a query or form field (name or
    value) or a JSON body is a 400."""
    where = None
    if NUL in request.path:
        where = "path"
    elif any(NUL in k or NUL in v for k, v in request.args.items(multi=True)):
        where = "query"
    elif request.method in ("POST", "PUT", "PATCH") and (
            any(NUL in k or NUL in v for k, v in request.form.items(multi=True))
            or _json_body_holds_nul()):
        where = "form"
    if where:
        raise BadRequest(f"the request holds a NUL byte (in its {where}), "
                         "which no field can take")


# --- The answers ---------------------------------------------------------------------

def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/ogc"))


def _answer(status: int, title: str, message: str, code: str, detail: str) -> Response:
    """`detail` is the machine-facing English text (API, OGC), `message` the page's."""
    if request.path.startswith("/ogc"):
        response = jsonify(code=code, description=detail)
    elif request.path.startswith("/api/"):
        response = jsonify(error=detail)
    else:
        response = Response(render_template("gridlink/error.html", title=title,
                                            message=message))
    response.status_code = status
    return response


def _bad_request(error: BadRequest):
    detail = error.description if error.description != BadRequest.description else (
        "the request is not well formed")
    return _answer(400, _("Bad request"),
                   _("The address or the form holds something this page cannot take: %(why)s",
                     why=detail), "InvalidParameterValue", detail)


def _not_found(error: NotFound):
    return _answer(404, _("Not found"), _("There is nothing at this address."),
                   "NotFound", "not found")


def database_unreachable(error) -> Response:
    """503 while the database cannot be reached; any other database error is a bug and
    goes on to the 500 handler."""
    if isinstance(error, DBAPIError) and not _is_connection_failure(error):
        raise error
    with contextlib.suppress(DBAPIError):  # the connection is gone already
        db.session.rollback()
    # The page is drawn for nobody: who is signed in cannot be looked up just now
    # (Flask-Login keeps the user of the request in g._login_user).
    g._login_user = current_app.login_manager.anonymous_user()
    response = _answer(503, _("The database cannot be reached"),
                       _("The database cannot be reached just now. Try again in a moment."),
                       "ServiceUnavailable", "the database cannot be reached; try again later")
    response.headers["Retry-After"] = "30"
    return response


def _is_connection_failure(error: DBAPIError) -> bool:
    return bool(error.connection_invalidated) or isinstance(
        error, (OperationalError, InterfaceError))


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_bytes)
    app.register_error_handler(BadRequest, _bad_request)
    app.register_error_handler(NotFound, _not_found)
    for kind in (OperationalError, InterfaceError, DBAPIError):
        app.register_error_handler(kind, database_unreachable)
