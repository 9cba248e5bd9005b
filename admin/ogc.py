"""OGC API – Features (Part 1: Core, GeoJSON) under /ogc/: the current grids of each
level and the courts, read-only, for GIS clients (QGIS, GDAL's OAPIF driver, ArcGIS).

Who reads what follows models.access, as everywhere else: a signed-in session or a
court system's token (`Authorization: Bearer glk_…`). What is out of scope is left
out of every list and answered 404 when asked for by id. With OGC_ANONYMOUS
(GRIDLINK_OGC_ANONYMOUS=1) anyone may read without signing in: every current grid
of the city (boundaries are public facts) and the courts without their phone numbers.

Courts have no place of their own in the model, so their features have
`"geometry": null` (RFC 7946 allows it): a bbox never selects them, and the
collection's extent is that of the grids they serve.

Each page is one query in which PostGIS writes the GeoJSON features itself (rings
counter-clockwise, as RFC 7946 asks; 7 decimals, about 1 cm), plus one count: the
features never pass through Python objects, so a page of 1,000 villages stays cheap.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from sqlalchemy import JSON, Text, cast, false, func, literal_column, or_, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased, outerjoin

from admin.auth import current_principal, current_scope, load_bearer_token
from admin.errors import MAX_OFFSET, whole_number
from models import Court, Grid, GridLevel, court_grids, db

ogc = Blueprint("ogc", __name__, url_prefix="/ogc")

JSON_TYPE = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{name}"
               for name in ("core", "geojson", "oas30")]
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    level: GridLevel | None = None  # None: the courts

    @property
    def parameters(self) -> tuple[str, ...]:
        """The query parameters its items take; any other is refused (400)."""
        filters = ("code", "parent_code") if self.level else ()
        return ("limit", "offset", "bbox", *filters, "f")


GRID_PROPERTIES = "Properties: code (12 or 15 digits), name, level, parent_code."
COLLECTIONS = {c.id: c for c in (
    Collection("counties", "县（市、区）", "Counties of the city. " + GRID_PROPERTIES,
               GridLevel.county),
    Collection("towns", "镇（街道）", "Towns and streets. " + GRID_PROPERTIES, GridLevel.town),
    Collection("villages", "村（社区）", "Villages and communities. " + GRID_PROPERTIES,
               GridLevel.village),
    Collection("microgrids", "微网格", "Micro-grids inside villages. " + GRID_PROPERTIES,
               GridLevel.microgrid),
    Collection("courts", "法院和人民法庭",
               "Courts and people's tribunals, without geometry (null). Properties: name, "
               "kind, case_code, phone (not shown to anonymous readers), parent_court, "
               "grid_codes (the grids the court serves)."),
)}


class OgcError(Exception):
    """An answer in the OGC exception shape: {"code", "description"}."""

    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def _exception(status: int, code: str, description: str) -> Response:
    response = jsonify(code=code, description=description)
    response.status_code = status
    return response


@ogc.errorhandler(OgcError)
def ogc_error(error: OgcError):
    return _exception(error.status, error.code, error.description)


@ogc.before_request
def authenticate():
    if load_bearer_token() is False:
        return _exception(401, "InvalidToken", "invalid or revoked token")
    if current_principal() is None and not current_app.config.get("OGC_ANONYMOUS"):
        response = _exception(401, "Unauthorized",
                              "sign in or send a token: Authorization: Bearer glk_…")
        response.headers["WWW-Authenticate"] = 'Bearer realm="gridlink"'
        return response
    return None


@ogc.after_request
def commit(response):
    if response.status_code < 400:
        db.session.commit()  # a token's last use
    return response


# --- Who reads what -----------------------------------------------------------------

def _anonymous() -> bool:
    """Reading without an account: before_request let it through, so OGC_ANONYMOUS is on."""
    return current_principal() is None


def _grids_visible():
    """Filter on Grid: what this reader may see."""
    if _anonymous():
        return true()
    scope = current_scope()
    if not scope.may("grids"):
        raise OgcError(403, "Forbidden", "your account may not read grids")
    return scope.grids(Grid)


def _courts_visible():
    if _anonymous():
        return true()
    scope = current_scope()
    if not scope.may("courts"):
        raise OgcError(403, "Forbidden", "your account may not read courts")
    return scope.courts()


# --- Query parameters ---------------------------------------------------------------

def _invalid(description: str) -> OgcError:
    return OgcError(400, "InvalidParameterValue", description)


def _check_parameters(collection: Collection) -> None:
    unknown = sorted(set(request.args) - set(collection.parameters))
    if unknown:
        raise _invalid(f"unknown query parameter {unknown[0]!r}; collection "
                       f"{collection.id!r} takes {', '.join(collection.parameters)}")
    if request.args.get("f", "json") not in ("json", "geojson"):
        raise _invalid("f: this API speaks JSON only (f=json)")


def _bbox() -> tuple[float, float, float, float] | None:
    """bbox=minx,miny,maxx,maxy in longitude/latitude (CRS84); a 3D box's heights are
    ignored. minx > maxx means a box across the antimeridian, as the standard says."""
    raw = request.args.get("bbox")
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise _invalid(f"bbox takes four numbers, minx,miny,maxx,maxy (longitude and "
                       f"latitude, WGS84); got {len(parts)} in {raw!r}")
    numbers = []
    for part in parts:
        try:
            number = float(part)
        except ValueError:
            raise _invalid(f"bbox: {part.strip()!r} is not a number") from None
        if not math.isfinite(number):
            raise _invalid(f"bbox: {part.strip()!r} is not a finite number")
        numbers.append(number)
    if len(numbers) == 6:
        numbers = numbers[0:2] + numbers[3:5]
    minx, miny, maxx, maxy = numbers
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180):
        raise _invalid(f"bbox: longitudes lie between -180 and 180 ({raw!r})")
    if not -90 <= miny <= 90 or not -90 <= maxy <= 90:
        raise _invalid(f"bbox: latitudes lie between -90 and 90 ({raw!r})")
    if miny > maxy:
        raise _invalid(f"bbox: miny {miny:g} is greater than maxy {maxy:g}")
    return minx, miny, maxx, maxy


def _intersects(geom, bbox):
    minx, miny, maxx, maxy = bbox
    spans = [(minx, maxx)] if minx <= maxx else [(minx, 180.0), (-180.0, maxx)]
    return or_(*(func.ST_Intersects(geom, func.ST_MakeEnvelope(x0, miny, x1, maxy, 4326))
                 for x0, x1 in spans))


# --- Features, written by PostGIS -----------------------------------------------------

def _key(name: str):
    # json_build_object takes "any": a bound parameter would have no type, a literal has.
    return literal_column(f"'{name}'")


def _grid_features(collection: Collection) -> tuple:
    """The feature as GeoJSON text, the FROM clause, the conditions and the order."""
    parent = aliased(Grid)
    geometry = cast(func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(Grid.geom), 7), JSON)
    properties = func.json_build_object(_key("code"), Grid.code, _key("name"), Grid.name,
                                        _key("level"), Grid.level,
                                        _key("parent_code"), parent.code)
    feature = func.json_build_object(_key("type"), _key("Feature"), _key("id"), Grid.code,
                                     _key("geometry"), geometry, _key("properties"), properties)
    source = outerjoin(Grid, parent, parent.id == Grid.parent_id)
    conditions = [Grid.generation_high.is_(None), Grid.level == collection.level,
                  _grids_visible()]
    if request.args.get("code"):
        conditions.append(Grid.code == request.args["code"])
    if request.args.get("parent_code"):
        conditions.append(parent.code == request.args["parent_code"])
    return cast(feature, Text), source, conditions, (Grid.code,)


def _court_features(collection: Collection) -> tuple:
    parent = aliased(Court)
    codes = (select(func.json_agg(aggregate_order_by(Grid.code, Grid.code)))
             .select_from(court_grids.join(Grid, Grid.id == court_grids.c.grid_id))
             .where(court_grids.c.court_id == Court.id, Grid.generation_high.is_(None))
             .scalar_subquery())
    fields = [_key("name"), Court.name, _key("kind"), Court.kind,
              _key("case_code"), Court.case_code]
    if not _anonymous():
        fields += [_key("phone"), Court.phone]
    fields += [_key("parent_court"), parent.name,
               _key("grid_codes"), func.coalesce(codes, literal_column("'[]'::json"))]
    feature = func.json_build_object(
        _key("type"), _key("Feature"), _key("id"), cast(Court.id, Text),
        _key("geometry"), literal_column("NULL::json"),
        _key("properties"), func.json_build_object(*fields))
    source = outerjoin(Court, parent, parent.id == Court.parent_id)
    return cast(feature, Text), source, [_courts_visible()], (Court.county_code, Court.kind,
                                                              Court.name)


def _features(collection: Collection, bbox=None) -> tuple:
    if collection.level is None:
        feature, source, conditions, key = _court_features(collection)
        if bbox is not None:
            conditions.append(false())  # no geometry: no feature intersects a box
    else:
        feature, source, conditions, key = _grid_features(collection)
        if bbox is not None:
            conditions.append(_intersects(Grid.geom, bbox))
    return feature, source, conditions, key


def _collection(collection_id: str) -> Collection:
    if collection_id not in COLLECTIONS:
        raise OgcError(404, "NotFound", f"no collection {collection_id!r}; there are "
                                        f"{', '.join(COLLECTIONS)}")
    return COLLECTIONS[collection_id]


# --- Resources ----------------------------------------------------------------------

def _link(rel: str, media_type: str, href: str, title: str | None = None) -> dict:
    link = {"rel": rel, "type": media_type, "href": href}
    return link | {"title": title} if title else link


def _url(endpoint: str, **values) -> str:
    return _public_base() + url_for(endpoint, **values)


def _public_base() -> str:
    """Where links start: the site's public address when configured (PUBLIC_URL, e.g.
    https://gridlink.intranet, what clients behind a reverse proxy need), else the
    address the server itself listens on (the WSGI server's SERVER_NAME and
    SERVER_PORT). Never the request's Host header: anyone can send
    `Host: evil.example`, and a cache or a client following links built from it
    would be sent elsewhere. Links stay absolute: GDAL's OAPIF driver resolves a
    root-relative link against the collection's path (/ogc/ogc/...)."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return str(configured).rstrip("/")
    scheme, environ = request.scheme, request.environ
    host, port = environ.get("SERVER_NAME", "localhost"), str(environ.get("SERVER_PORT", ""))
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    usual = {"http": "80", "https": "443"}.get(scheme)
    return f"{scheme}://{host}" + ("" if port in ("", usual) else f":{port}")


@ogc.get("/", strict_slashes=False)
def landing():
    return jsonify(
        title="gridlink — 云浮市网格与法院",
        description="The city's grids (counties, towns, villages, micro-grids) and courts, "
                    "as OGC API – Features, GeoJSON in WGS84.",
        links=[_link("self", JSON_TYPE, _url(".landing"), "this document"),
               _link("service-desc", OPENAPI, _url(".openapi"), "the API definition"),
               _link("conformance", JSON_TYPE, _url(".conformance"), "conformance classes"),
               _link("data", JSON_TYPE, _url(".collections"), "the collections")])


@ogc.get("/conformance")
def conformance():
    return jsonify(conformsTo=CONFORMANCE)


def _extents(wanted: list[Collection]) -> dict[str, list[float]]:
    """The spatial extent of each collection, within what this reader may see; two
    queries at most (all grid levels grouped, then the courts' grids)."""
    found: dict[str, list[float]] = {}
    levels = {c.level: c.id for c in wanted if c.level is not None}
    box = func.ST_Extent(Grid.geom)
    corners = (func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
    if levels:
        rows = db.session.execute(
            select(Grid.level, *corners)
            .where(Grid.generation_high.is_(None), Grid.level.in_(list(levels)), _grids_visible())
            .group_by(Grid.level))
        found |= {levels[level]: list(bounds) for level, *bounds in rows}
    if any(c.level is None for c in wanted):
        bounds = db.session.execute(
            select(*corners).select_from(court_grids)
            .join(Grid, Grid.id == court_grids.c.grid_id)
            .join(Court, Court.id == court_grids.c.court_id)
            .where(Grid.generation_high.is_(None), _courts_visible())).one()
        if bounds[0] is not None:
            found["courts"] = list(bounds)
    return found


def _collection_json(collection: Collection, extent: list[float] | None) -> dict:
    body = {
        "id": collection.id, "title": collection.title,
        "description": collection.description, "itemType": "feature", "crs": [CRS84],
        "links": [
            _link("self", JSON_TYPE, _url(".collection", collection_id=collection.id)),
            _link("items", GEOJSON, _url(".items", collection_id=collection.id), "features"),
        ],
    }
    if extent:  # a collection with nothing in scope has no extent to tell
        body["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    return body


@ogc.get("/collections")
def collections():
    wanted = list(COLLECTIONS.values())
    extents = _extents(wanted)
    return jsonify(links=[_link("self", JSON_TYPE, _url(".collections"))],
                   collections=[_collection_json(c, extents.get(c.id)) for c in wanted])


@ogc.get("/collections/<collection_id>")
def collection(collection_id: str):
    found = _collection(collection_id)
    return jsonify(_collection_json(found, _extents([found]).get(found.id)))


def _page_links(collection_id: str, limit: int, offset: int, matched: int) -> list[dict]:
    kept = {k: v for k, v in request.args.items() if k not in ("limit", "offset")}

    def page(rel: str, start: int, title: str) -> dict:
        return _link(rel, GEOJSON, _url(".items", collection_id=collection_id, limit=limit,
                                        offset=start, **kept), title)

    links = [page("self", offset, "this page"),
             _link("collection", JSON_TYPE, _url(".collection", collection_id=collection_id))]
    if offset + limit < matched:
        links.append(page("next", offset + limit, "next page"))
    if offset > 0:
        links.append(page("prev", max(offset - limit, 0), "previous page"))
    return links


@ogc.get("/collections/<collection_id>/items")
def items(collection_id: str):
    found = _collection(collection_id)
    _check_parameters(found)
    limit = whole_number("limit", DEFAULT_LIMIT, least=1, most=MAX_LIMIT, clamp=True)
    offset = whole_number("offset", 0, least=0, most=MAX_OFFSET)
    feature, source, conditions, key = _features(found, _bbox())
    rows = db.session.scalars(select(feature).select_from(source).where(*conditions)
                              .order_by(*key).limit(limit).offset(offset)).all()
    matched = db.session.scalar(select(func.count()).select_from(source).where(*conditions))
    envelope = json.dumps({
        "numberMatched": matched, "numberReturned": len(rows),
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": _page_links(found.id, limit, offset, matched),
    }, ensure_ascii=False)
    body = '{"type":"FeatureCollection","features":[' + ",".join(rows) + "]," + envelope[1:]
    return Response(body, mimetype=GEOJSON)


@ogc.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    found = _collection(collection_id)
    feature, source, conditions, _ = _features(found)
    if found.level is None:
        try:
            conditions.append(Court.id == uuid.UUID(feature_id))
        except ValueError:
            conditions.append(false())
    else:
        conditions.append(Grid.code == feature_id)
    row = db.session.scalar(select(feature).select_from(source).where(*conditions))
    if row is None:
        raise OgcError(404, "NotFound", f"no feature {feature_id!r} in {found.id!r}")
    body = json.loads(row) | {"links": [
        _link("self", GEOJSON, _url(".item", collection_id=found.id, feature_id=feature_id)),
        _link("collection", JSON_TYPE, _url(".collection", collection_id=found.id))]}
    return Response(json.dumps(body, ensure_ascii=False), mimetype=GEOJSON)


@ogc.get("/<path:anything>")
def unknown(anything: str):
    raise OgcError(404, "NotFound", f"no resource /ogc/{anything}")


# --- The API definition (OpenAPI 3.0) -------------------------------------------------

def _parameter(name: str, description: str, schema: dict, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": where == "path",
            "description": description, "schema": schema}


ITEM_PARAMETERS = {
    "limit": _parameter("limit", f"features per page (default {DEFAULT_LIMIT}, at most "
                        f"{MAX_LIMIT})", {"type": "integer", "minimum": 1,
                                          "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    "offset": _parameter("offset", "features to skip", {"type": "integer", "minimum": 0,
                                                         "default": 0}),
    "bbox": {**_parameter("bbox", "minx,miny,maxx,maxy in WGS84 longitude/latitude",
                          {"type": "array", "minItems": 4, "maxItems": 6,
                           "items": {"type": "number"}}),
             "style": "form", "explode": False},
    "code": _parameter("code", "the grid's division code", {"type": "string"}),
    "parent_code": _parameter("parent_code", "the parent grid's division code",
                              {"type": "string"}),
    "f": _parameter("f", "format", {"type": "string", "enum": ["json", "geojson"]}),
}


def _operation(summary: str, media_type: str, parameters=(), errors=("401", "404")) -> dict:
    responses = {"200": {"description": summary, "content": {media_type: {}}}}
    responses |= {code: {"description": "error", "content": {JSON_TYPE: {}}} for code in errors}
    return {"get": {"summary": summary, "parameters": list(parameters), "responses": responses}}


@ogc.get("/api")
def openapi():
    paths = {
        "/": _operation("landing page", JSON_TYPE, errors=("401",)),
        "/api": _operation("this API definition", OPENAPI, errors=("401",)),
        "/conformance": _operation("conformance classes", JSON_TYPE, errors=("401",)),
        "/collections": _operation("the collections", JSON_TYPE, errors=("401",)),
    }
    feature_id = _parameter("featureId", "a grid's code, or a court's id", {"type": "string"},
                            "path")
    for c in COLLECTIONS.values():
        paths[f"/collections/{c.id}"] = _operation(c.title, JSON_TYPE)
        paths[f"/collections/{c.id}/items"] = _operation(
            f"{c.title}: features", GEOJSON, [ITEM_PARAMETERS[p] for p in c.parameters],
            errors=("400", "401", "404"))
        paths[f"/collections/{c.id}/items/{{featureId}}"] = _operation(
            f"{c.title}: one feature", GEOJSON, [feature_id])
    document = {"openapi": "3.0.3",
                "info": {"title": "gridlink OGC API – Features", "version": "1.0.0"},
                "servers": [{"url": _url(".landing").rstrip("/")}],
                "components": {"securitySchemes": {"token": {"type": "http",
                                                             "scheme": "bearer"}}},
                "security": [{"token": []}],
                "paths": paths}
    return Response(json.dumps(document, ensure_ascii=False), mimetype=OPENAPI)
