"""The JSON API under /api/v1/, for court systems (token) and the app's own pages (session).

A court system sends `Authorization: Bearer glk_…`; the token acts with the scope
of its court's staff. Without a valid token or a signed-in session: 401. What is
out of scope is answered as if it did not exist (404), so codes cannot be probed.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import aliased

from admin.auth import current_principal, current_scope, load_bearer_token
from admin.views.formatters import mask_phone
from models import Grid, GridLevel, RosterEntry, RosterRole, db
from models.audit import append

api = Blueprint("api", __name__, url_prefix="/api/v1")


@api.before_request
def authenticate():
    token = load_bearer_token()
    if token is False:
        return jsonify(error="invalid or revoked token"), 401
    if token is None and current_principal() is None:
        return jsonify(error="sign in or send a token: Authorization: Bearer …"), 401
    return None


@api.after_request
def commit(response):
    if response.status_code < 400:
        db.session.commit()  # last_used_at, audit records of reveals
    return response


@api.errorhandler(404)
def not_found(error):
    return jsonify(error="not found"), 404


@api.errorhandler(403)
def forbidden(error):
    return jsonify(error="not allowed"), 403


@api.get("/me")
def me():
    principal, scope = current_principal(), current_scope()
    if hasattr(principal, "token_hash"):
        who = {"kind": "token", "token": principal.prefix, "court": principal.court.name}
    else:
        who = {"kind": "account", "username": principal.username,
               "court": principal.court.name if principal.court else None,
               "grid": principal.grid.code if principal.grid else None}
    return jsonify(who | {"role": scope.role.value})


def _grid_json(grid: Grid, parent_code: str | None) -> dict:
    return {"code": grid.code, "name": grid.name, "level": grid.level.value,
            "parent_code": parent_code}


@api.get("/grids")
def grids():
    scope = current_scope()
    if not scope.may("grids"):
        abort(403)
    parent = aliased(Grid)
    query = (select(Grid, parent.code).outerjoin(parent, parent.id == Grid.parent_id)
             .where(Grid.generation_high.is_(None), scope.grids(Grid)).order_by(Grid.code))
    level = request.args.get("level")
    if level:
        if level not in GridLevel.__members__:
            return jsonify(error=f"unknown level {level!r}"), 400
        query = query.where(Grid.level == GridLevel(level))
    if request.args.get("parent_code"):
        query = query.where(parent.code == request.args["parent_code"])
    try:
        limit = min(int(request.args.get("limit", 100)), 1000)
        offset = max(int(request.args.get("offset", 0)), 0)
    except ValueError:
        return jsonify(error="limit and offset are whole numbers"), 400
    rows = db.session.execute(query.limit(limit).offset(offset)).all()
    return jsonify(grids=[_grid_json(g_, p) for g_, p in rows], limit=limit, offset=offset)


def _grid_in_scope(code: str) -> Grid:
    scope = current_scope()
    if not scope.may("grids"):
        abort(403)
    grid = db.session.scalar(Grid.current().where(Grid.code == code, scope.grids(Grid)))
    if grid is None:
        abort(404)
    return grid


def _liaison(grid: Grid) -> RosterEntry | None:
    return db.session.scalar(RosterEntry.current().where(
        RosterEntry.grid_id == grid.id, RosterEntry.role == RosterRole.liaison,
        current_scope().roster()))


@api.get("/grids/<code>")
def grid(code: str):
    found = _grid_in_scope(code)
    entry = _liaison(found)
    liaison = None if entry is None else {
        "name": entry.person.name, "title": entry.title,
        "phone": mask_phone(entry.person.phone)}
    return jsonify(_grid_json(found, found.parent_code) | {"liaison": liaison})


@api.get("/grids/<code>/liaison/phone")
def liaison_phone(code: str):
    """The full number: for those who need it, and written to the audit trail."""
    if not current_scope().may_reveal_phone():
        abort(403)
    entry = _liaison(_grid_in_scope(code))
    if entry is None:
        abort(404)
    append(db.session.connection(), "reveal_phone", "person", str(entry.person_id),
           after={"field": "phone", "roster_entry": str(entry.id)})
    return jsonify(name=entry.person.name, phone=entry.person.phone)
