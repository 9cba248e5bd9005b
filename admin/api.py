"""The JSON API under /api/v1/, for court systems (token) and the app's own pages (session).

A court system sends `Authorization: Bearer glk_…`; the token acts with the scope
of its court's staff. Without a valid token or a signed-in session: 401. What is
out of scope is answered as if it did not exist (404), so codes cannot be probed.
"""

from __future__ import annotations

import json
import math

from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased, joinedload

from admin.auth import current_principal, current_scope, load_bearer_token
from admin.errors import MAX_OFFSET, whole_number
from admin.views.formatters import mask_phone
from geo.gcj02 import gcj02_to_wgs84
from geo.locate import locate_point, locate_points, locate_text, locate_texts
from models import Court, CourtKind, Grid, GridLevel, RosterEntry, RosterRole, court_grids, db
from models.audit import append
from models.grids import N_

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
    limit = whole_number("limit", 100, least=0, most=1000, clamp=True)
    offset = whole_number("offset", 0, least=0, most=MAX_OFFSET)
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
    answer = _grid_json(found, found.parent_code) | {"liaison": liaison}
    if request.args.get("details") in ("1", "true", "yes"):
        answer["details"] = _grid_details(found)
    return jsonify(answer)


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


# --- locate: which grid answers for an address or a point --------------------------------
#
# The geocoder (geo.locate) answers for the whole city with full phone numbers; the API
# narrows its answer to the caller: grids and candidates out of scope are dropped (a
# match outside the caller's area becomes "unmatched", with that reason), and the
# liaison's phone is masked: the full number is one audited call away,
# /grids/<code>/liaison/phone.

LOCATE_BATCH_MAX = 1000
LOCATE_CRS = ("wgs84", "cgcs2000", "gcj02")  # CGCS2000 and WGS84 agree to centimetres
OUTLINE_MAX_POINTS = 20_000  # beyond this an outline is simplified for the page
COURT_ORDER = [CourtKind.tribunal, CourtKind.base, CourtKind.intermediate]
OUTSIDE_SCOPE = N_("This place lies outside the area your account answers for.")
EMPTY_ADDRESS = N_("The address is empty.")


class LocateInputError(ValueError):
    """A request the geocoder cannot be asked: answered 400 with this text."""


def _coordinate(value, name: str, bound: float) -> float:
    if isinstance(value, bool):
        raise LocateInputError(f"{name} must be a number, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise LocateInputError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise LocateInputError(f"{name} must lie between -{bound:g} and {bound:g}, not {value!r}")
    return number


def _point(lon, lat) -> tuple[float, float]:
    return _coordinate(lon, "lon", 180), _coordinate(lat, "lat", 90)


def _crs(value: str | None) -> str:
    crs = (value or "wgs84").strip().lower()
    if crs not in LOCATE_CRS:
        raise LocateInputError(f"unknown crs {value!r}: use one of {', '.join(LOCATE_CRS)}")
    return crs


def _to_wgs84(points: list[tuple[float, float]], crs: str) -> list[tuple[float, float]]:
    if crs != "gcj02" or not points:
        return points
    lon, lat = gcj02_to_wgs84([p[0] for p in points], [p[1] for p in points])
    return [(float(x), float(y)) for x, y in zip(lon.tolist(), lat.tolist(), strict=True)]


def unmatched(given: str, template: str, /, **params) -> dict:
    """The contract's object for an input that was not looked up at all."""
    return {"input": given, "status": "unmatched", "grid": None, "liaison": None,
            "method": None, "confidence": 0.0, "candidates": [],
            "reason": template % params if params else template,
            "reason_template": template, "reason_params": params, "flags": []}


def _codes_in_scope(results: list[dict]) -> set[str]:
    """One query for a whole batch: which of the grids named in it the caller may see."""
    codes = {r["grid"]["code"] for r in results if r.get("grid")}
    codes |= {c["code"] for r in results for c in r.get("candidates") or ()}
    if not codes:
        return set()
    return set(db.session.scalars(select(Grid.code).where(
        Grid.generation_high.is_(None), Grid.code.in_(codes), current_scope().grids(Grid))))


def _for_caller(result: dict, visible: set[str]) -> dict:
    grid = result.get("grid")
    candidates = [c for c in result.get("candidates") or () if c["code"] in visible]
    if (grid and grid["code"] not in visible) or (not grid and result["candidates"]
                                                   and not candidates):
        # The grid that answers (by rule, on a shared edge too) is someone else's.
        return unmatched(result["input"], OUTSIDE_SCOPE) | {
            "flags": [*result.get("flags", ()), "outside_scope"]}
    out = dict(result, candidates=candidates)
    if grid and [c["code"] for c in candidates] == [grid["code"]]:
        out["candidates"] = []  # the others were out of scope: nothing left to choose
    if out.get("liaison"):
        out["liaison"] = dict(out["liaison"], phone=mask_phone(out["liaison"].get("phone")))
    return out


def _scoped(results: list[dict]) -> list[dict]:
    visible = _codes_in_scope(results)
    return [_for_caller(r, visible) for r in results]


def _grid_details(grid: Grid) -> dict:
    """What the locate page shows beside a grid: its outline, its grid workers (masked
    phones) and the courts serving it: a court serves a grid, its town or its county."""
    scope = current_scope()
    geom = Grid.geom
    outline = db.session.scalar(select(func.ST_AsGeoJSON(case(
        (func.ST_NPoints(geom) > OUTLINE_MAX_POINTS,
         func.ST_SimplifyPreserveTopology(geom, 0.00001)), else_=geom), 6))
        .where(Grid.id == grid.id))
    workers = db.session.scalars(RosterEntry.current().where(
        RosterEntry.grid_id == grid.id, RosterEntry.role == RosterRole.grid_worker,
        scope.roster()).options(joinedload(RosterEntry.person))).all()
    path = grid.path()
    depth = {g.id: i for i, g in enumerate(path)}
    served = db.session.execute(
        select(Court, court_grids.c.grid_id).join(court_grids, court_grids.c.court_id == Court.id)
        .where(court_grids.c.grid_id.in_(list(depth)), scope.courts())).all()
    # The nearest court first: a tribunal, then the base court, then the city's.
    served.sort(key=lambda row: (-depth[row[1]], COURT_ORDER.index(row[0].kind), row[0].name))
    courts, seen = [], set()
    for court, _grid_id in served:
        if court.id not in seen:
            seen.add(court.id)
            courts.append({"name": court.name, "kind": court.kind.value, "phone": court.phone})
    return {"code": grid.code,
            "outline": json.loads(outline) if outline else None,
            "workers": [{"name": w.person.name, "title": w.title,
                         "phone": mask_phone(w.person.phone)} for w in workers],
            "courts": courts}


def _reason_text(result: dict) -> str | None:
    """The reason in the reader's language (the template is a catalogue message)."""
    if not result.get("reason_template"):
        return result.get("reason")
    try:
        return gettext(result["reason_template"], **(result.get("reason_params") or {}))
    except (KeyError, TypeError, ValueError):
        return result.get("reason")


def _with_details(result: dict) -> dict:
    codes = [result["grid"]["code"]] if result.get("grid") else []
    codes += [c["code"] for c in result["candidates"]]
    grids = {g.code: g for g in db.session.scalars(Grid.current().where(Grid.code.in_(codes)))}
    details = {"reason_text": _reason_text(result), "grid": None, "candidates": []}
    if result.get("grid") and result["grid"]["code"] in grids:
        details["grid"] = _grid_details(grids[result["grid"]["code"]])
    if result["candidates"]:
        rows = db.session.execute(select(Grid.code, func.ST_AsGeoJSON(
            func.ST_SimplifyPreserveTopology(Grid.geom, 0.00005), 6)).where(
            Grid.generation_high.is_(None), Grid.code.in_(list(grids)))).all()
        outlines = dict(rows)
        details["candidates"] = [
            {"code": c["code"], "outline": json.loads(outlines[c["code"]])}
            for c in result["candidates"] if c["code"] in outlines]
    return result | {"details": details}


def _locate_one(args) -> dict:
    crs = _crs(args.get("crs"))
    if "address" in args:
        if "lon" in args or "lat" in args:
            raise LocateInputError("give address=… or lon=…&lat=…, not both")
        address = args["address"].strip()
        if not address:
            raise LocateInputError("address is empty")
        return locate_text(db.session, address)
    if "lon" in args or "lat" in args:
        if "lon" not in args or "lat" not in args:
            raise LocateInputError("give both lon and lat")
        (lon, lat), = _to_wgs84([_point(args["lon"], args["lat"])], crs)
        return locate_point(db.session, lon, lat)
    raise LocateInputError("give address=… or lon=…&lat=…")


@api.get("/locate")
def locate():
    """Which grid answers for an address (?address=) or a point (?lon=&lat=[&crs=gcj02]).
    ?details=1 adds what the locate page draws: outlines, grid workers, courts."""
    if not current_scope().may("grids"):
        abort(403)
    try:
        result = _locate_one(request.args)
    except LocateInputError as e:
        return jsonify(error=str(e)), 400
    result, = _scoped([result])
    if request.args.get("details") in ("1", "true", "yes"):
        result = _with_details(result)
    return jsonify(result)


def _batch(body) -> list[dict]:
    if not isinstance(body, dict) or ("addresses" in body) == ("points" in body):
        raise LocateInputError('send JSON {"addresses": [...]} or {"points": [[lon, lat], ...]}')
    items = body.get("addresses", body.get("points"))
    if not isinstance(items, list):
        raise LocateInputError("addresses or points must be a list")
    if len(items) > LOCATE_BATCH_MAX:
        raise LocateInputError(f"at most {LOCATE_BATCH_MAX} per request, not {len(items)}")
    crs = _crs(body.get("crs"))
    if "points" in body:
        points = []
        for i, item in enumerate(items):
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise LocateInputError(f"points[{i}] must be [lon, lat], not {item!r}")
            try:
                points.append(_point(*item))
            except LocateInputError as e:
                raise LocateInputError(f"points[{i}]: {e}") from None
        return locate_points(db.session, _to_wgs84(points, crs))
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise LocateInputError(f"addresses[{i}] must be text, not {item!r}")
    texts = [item.strip() for item in items]
    found = iter(locate_texts(db.session, [t for t in texts if t]))
    # An empty address keeps its place in the answer, so results line up with the input.
    return [next(found) if t else unmatched(item, EMPTY_ADDRESS)
            for t, item in zip(texts, items, strict=True)]


@api.post("/locate")
def locate_batch():
    """Many at once, answered in order: {"addresses": [...]} or {"points": [[lon, lat]]}."""
    if not current_scope().may("grids"):
        abort(403)
    try:
        results = _batch(request.get_json(silent=True))
    except LocateInputError as e:
        return jsonify(error=str(e)), 400
    return jsonify(results=_scoped(results))
