"""OGC API – Features under /ogc/: the documents a client reads, paging, filters,
who sees what, and a real client (GDAL's OAPIF driver) reading every feature."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import make_app
from shapely.geometry import shape
from sqlalchemy import create_engine, func, select, text

from models import ApiToken, Court, Grid, GridLevel, db

LIAISON_VILLAGE = "445302001003"  # 星岩社区, demo_liaison's and demo_worker's grid
TOWN = "445302001000"  # 云城街道, demo_town_centre's town
COUNTY = "445302000000"  # 云城区
CITY_COUNTS = {"counties": 5, "towns": 72, "villages": 975, "microgrids": 0}
CONFORMANCE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def local(href: str) -> str:
    """A link's path and query, for the test client."""
    parts = urlsplit(href)
    assert parts.scheme == "http" and parts.netloc, f"links are absolute: {href}"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def rels(document: dict) -> dict[str, dict]:
    return {link["rel"]: link for link in document["links"]}


def codes(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [f["id"] for f in response.json["features"]]


@pytest.fixture
def public(app, anonymous, monkeypatch):
    """A client without an account, on a site that allows anonymous reading (no sign-in
    to pay for where only the parameters matter)."""
    monkeypatch.setitem(app.config, "OGC_ANONYMOUS", True)
    return anonymous


@pytest.fixture
def token(runner):
    result = runner.invoke(args=["tokens", "issue", "云浮市云城区人民法院", "--label", "GIS"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


# --- The documents a client starts from -----------------------------------------------

def test_anonymous_reader_is_refused_by_default(anonymous):
    for path in ("/ogc/", "/ogc", "/ogc/api", "/ogc/collections", "/ogc/conformance",
                 "/ogc/collections/villages/items", f"/ogc/collections/villages/items/{TOWN}"):
        response = anonymous.get(path)
        assert response.status_code == 401, path
        assert response.json["code"] == "Unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_landing_page_links_to_everything(client):
    response = client.get("/ogc/")
    assert response.status_code == 200 and response.mimetype == "application/json"
    links = rels(response.json)
    assert set(links) == {"self", "service-desc", "conformance", "data"}
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    for link in links.values():
        assert client.get(local(link["href"])).status_code == 200, link
    assert client.get("/ogc").status_code == 200  # without the slash too, no redirect


def all_hrefs(document) -> list[str]:
    if isinstance(document, dict):
        found = [document["href"]] if isinstance(document.get("href"), str) else []
        found += [document["url"]] if isinstance(document.get("url"), str) else []
        return found + [h for v in document.values() for h in all_hrefs(v)]
    if isinstance(document, list):
        return [h for v in document for h in all_hrefs(v)]
    return []


OGC_DOCUMENTS = ["/ogc/", "/ogc/api", "/ogc/collections", "/ogc/collections/villages",
                 "/ogc/collections/villages/items?limit=2&offset=2",
                 f"/ogc/collections/villages/items/{LIAISON_VILLAGE}"]


@pytest.mark.parametrize("url", OGC_DOCUMENTS)
def test_a_forged_host_header_never_reaches_the_links(public, url):
    response = public.get(url, headers={"Host": "evil.example"})
    assert response.status_code == 200
    body = json.loads(response.data)
    hrefs = all_hrefs(body)
    assert hrefs and not [h for h in hrefs if "evil.example" in h]
    assert all(h.startswith("http://localhost/ogc") for h in hrefs)  # the server's own


@pytest.mark.parametrize("url", OGC_DOCUMENTS)
def test_links_start_from_the_configured_public_url(app, public, monkeypatch, url):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://gridlink.intranet/")
    body = json.loads(public.get(url, headers={"Host": "evil.example"}).data)
    hrefs = all_hrefs(body)
    assert hrefs and all(h.startswith("https://gridlink.intranet/ogc") for h in hrefs)


def test_conformance_claims_core_geojson_and_openapi(client):
    assert client.get("/ogc/conformance").json == {
        "conformsTo": [CONFORMANCE + c for c in ("core", "geojson", "oas30")]}


def test_openapi_document_describes_each_collection(client):
    response = client.get("/ogc/api")
    assert response.mimetype == "application/vnd.oai.openapi+json"
    document = response.get_json(force=True)
    assert document["openapi"].startswith("3.0.") and document["info"]["version"]
    villages = document["paths"]["/collections/villages/items"]["get"]
    assert {p["name"] for p in villages["parameters"]} == {
        "limit", "offset", "bbox", "code", "parent_code", "f"}
    courts = document["paths"]["/collections/courts/items"]["get"]
    assert "code" not in {p["name"] for p in courts["parameters"]}
    assert "/collections/towns/items/{featureId}" in document["paths"]


def test_collections_with_extents_and_crs84(client):
    body = client.get("/ogc/collections").json
    assert client.get(local(rels(body)["self"]["href"])).status_code == 200
    by_id = {c["id"]: c for c in body["collections"]}
    assert list(by_id) == ["counties", "towns", "villages", "microgrids", "courts"]
    for collection in by_id.values():
        assert collection["crs"] == [CRS84] and collection["itemType"] == "feature"
        links = rels(collection)
        assert links["items"]["type"] == "application/geo+json"
        assert client.get(local(links["self"]["href"])).json == collection
    for name in ("counties", "towns", "villages", "courts"):
        [[minx, miny, maxx, maxy]] = by_id[name]["extent"]["spatial"]["bbox"]
        assert 111 < minx < maxx < 113 and 22 < miny < maxy < 24, name  # Yunfu
    assert "extent" not in by_id["microgrids"]  # the demo has none


def test_unknown_collection_feature_or_path_is_json_404(client):
    for path in ("/ogc/collections/parcels", "/ogc/collections/parcels/items",
                 "/ogc/collections/villages/items/999999999999",
                 f"/ogc/collections/counties/items/{LIAISON_VILLAGE}",
                 "/ogc/collections/courts/items/not-a-uuid", "/ogc/nowhere/at/all"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json["code"] == "NotFound" and response.json["description"]


def test_read_only(client):
    assert client.post("/ogc/collections/villages/items", data={}).status_code == 405


# --- Items ----------------------------------------------------------------------------

def test_counties_as_geojson_with_counter_clockwise_rings(client):
    response = client.get("/ogc/collections/counties/items")
    assert response.mimetype == "application/geo+json"
    body = response.json
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == body["numberReturned"] == 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timeStamp"])
    assert set(rels(body)) == {"self", "collection"}  # one page: no next, no prev
    yuncheng = next(f for f in body["features"] if f["id"] == COUNTY)
    assert yuncheng["properties"] == {"code": COUNTY, "name": "云城区", "level": "county",
                                      "parent_code": None}
    assert yuncheng["geometry"]["type"] == "MultiPolygon"
    for polygon in shape(yuncheng["geometry"]).geoms:
        assert polygon.exterior.is_ccw  # RFC 7946: exterior rings counter-clockwise


def test_paging_with_next_and_prev_links(client):
    seen, href, pages = [], "/ogc/collections/villages/items?limit=400", []
    while href:
        body = client.get(href).json
        pages.append(body)
        assert body["numberMatched"] == 975
        seen += [f["id"] for f in body["features"]]
        href = local(rels(body)["next"]["href"]) if "next" in rels(body) else None
    assert [p["numberReturned"] for p in pages] == [400, 400, 175]
    assert len(seen) == len(set(seen)) == 975 and seen == sorted(seen)
    last = rels(pages[-1])
    assert parse_qs(urlsplit(last["prev"]["href"]).query) == {"limit": ["400"],
                                                             "offset": ["400"]}
    assert "prev" not in rels(pages[0])


def test_limit_defaults_to_100_and_is_capped_at_1000(client):
    body = client.get("/ogc/collections/villages/items").json
    assert body["numberReturned"] == 100 and "limit=100" in rels(body)["next"]["href"]
    body = client.get("/ogc/collections/villages/items?limit=5000").json
    assert body["numberReturned"] == 975 and "next" not in rels(body)
    past = client.get("/ogc/collections/villages/items?offset=2000").json
    assert past["numberReturned"] == 0 and past["numberMatched"] == 975


def test_next_links_keep_the_filters(client):
    body = client.get(f"/ogc/collections/villages/items?parent_code={TOWN}&limit=2&f=json").json
    query = parse_qs(urlsplit(rels(body)["next"]["href"]).query)
    assert query == {"parent_code": [TOWN], "limit": ["2"], "offset": ["2"], "f": ["json"]}


def test_bbox_selects_what_intersects_it(client, session):
    point = session.execute(select(func.ST_X(func.ST_PointOnSurface(Grid.geom)),
                                   func.ST_Y(func.ST_PointOnSurface(Grid.geom)))
                            .where(Grid.code == LIAISON_VILLAGE)).one()
    x, y = point
    tiny = f"{x - 1e-5},{y - 1e-5},{x + 1e-5},{y + 1e-5}"
    assert codes(client.get(f"/ogc/collections/villages/items?bbox={tiny}")) == [LIAISON_VILLAGE]
    assert codes(client.get(f"/ogc/collections/towns/items?bbox={tiny}")) == [TOWN]
    box = f"{x - 0.05},{y - 0.05},{x + 0.05},{y + 0.05}"
    body = client.get(f"/ogc/collections/villages/items?bbox={box}&limit=1000").json
    expected = session.scalars(select(Grid.code).where(
        Grid.generation_high.is_(None), Grid.level == GridLevel.village,
        func.ST_Intersects(Grid.geom, func.ST_MakeEnvelope(x - 0.05, y - 0.05, x + 0.05,
                                                           y + 0.05, 4326)))
        .order_by(Grid.code)).all()
    assert 1 < body["numberMatched"] == len(expected) < 975
    assert [f["id"] for f in body["features"]] == expected
    assert codes(client.get("/ogc/collections/villages/items?bbox=0,0,1,1")) == []
    # minx > maxx: a box across the antimeridian, from 179°E to 113°E the long way round.
    across = client.get("/ogc/collections/counties/items?bbox=179,-90,113,90").json
    assert across["numberMatched"] == 5
    assert client.get("/ogc/collections/courts/items?bbox=111,22,113,24").json[
        "numberMatched"] == 0  # courts have no geometry


@pytest.mark.parametrize(("query", "fragment"), [
    ("bbox=1,2,3", "four numbers"),
    ("bbox=", "four numbers"),
    ("bbox=112,22,east,23", "'east' is not a number"),
    ("bbox=112,22,nan,23", "not a finite number"),
    ("bbox=200,22,201,23", "longitudes"),
    ("bbox=112,95,113,96", "latitudes"),
    ("bbox=112,23,113,22", "miny 23 is greater than maxy 22"),
    ("limit=ten", "limit must be a whole number, not 'ten'"),
    ("limit=1.5", "limit must be a whole number"),
    ("limit=0", "limit must be at least 1"),
    ("offset=-1", "offset must be at least 0"),
    ("parentcode=445302001000", "unknown query parameter 'parentcode'"),
    ("f=html", "JSON only"),
])
def test_bad_parameters_are_400_with_a_reason(public, query, fragment):
    response = public.get(f"/ogc/collections/villages/items?{query}")
    assert response.status_code == 400
    assert response.json["code"] == "InvalidParameterValue"
    assert fragment in response.json["description"]


def test_courts_take_no_code_filter(client):
    response = client.get("/ogc/collections/courts/items?code=445302000000")
    assert response.status_code == 400 and "'code'" in response.json["description"]


def test_code_and_parent_code_filters(client, session):
    assert codes(client.get(f"/ogc/collections/villages/items?code={LIAISON_VILLAGE}")) == [
        LIAISON_VILLAGE]
    in_town = session.scalars(Grid.current().with_only_columns(Grid.code)
                              .where(Grid.code.startswith(TOWN[:9]),
                                     Grid.level == GridLevel.village).order_by(Grid.code)).all()
    assert codes(client.get(f"/ogc/collections/villages/items?parent_code={TOWN}")) == in_town
    towns = codes(client.get(f"/ogc/collections/towns/items?parent_code={COUNTY}"))
    assert TOWN in towns and all(c.startswith(COUNTY[:6]) for c in towns)
    assert codes(client.get(f"/ogc/collections/towns/items?code={LIAISON_VILLAGE}")) == []


def test_single_feature(client):
    response = client.get(f"/ogc/collections/villages/items/{LIAISON_VILLAGE}")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    feature = response.json
    assert feature["type"] == "Feature" and feature["id"] == LIAISON_VILLAGE
    assert feature["properties"] == {"code": LIAISON_VILLAGE, "name": "星岩社区",
                                     "level": "village", "parent_code": TOWN}
    assert shape(feature["geometry"]).is_valid
    assert local(rels(feature)["self"]["href"]) == (
        f"/ogc/collections/villages/items/{LIAISON_VILLAGE}")


def test_courts_without_geometry_with_the_grids_they_serve(client, session):
    body = client.get("/ogc/collections/courts/items").json
    assert body["numberMatched"] == session.scalar(select(func.count()).select_from(Court))
    by_name = {f["properties"]["name"]: f for f in body["features"]}
    city = by_name["云浮市中级人民法院"]
    assert city["geometry"] is None
    assert city["properties"] | {"grid_codes": None} == {
        "name": "云浮市中级人民法院", "kind": "intermediate", "case_code": "粤53",
        "phone": "0766-8000000", "parent_court": None, "grid_codes": None}
    assert len(city["properties"]["grid_codes"]) == 5
    base = by_name["云浮市云城区人民法院"]["properties"]
    assert base["parent_court"] == "云浮市中级人民法院" and base["grid_codes"] == [COUNTY]
    tribunals = [f["properties"] for f in body["features"]
                 if f["properties"]["kind"] == "tribunal"]
    assert tribunals and all(p["parent_court"].endswith("人民法院") for p in tribunals)
    served = [c for p in tribunals for c in p["grid_codes"]]
    assert served and all(c.endswith("000") and not c.endswith("000000") for c in served)
    one = client.get(f"/ogc/collections/courts/items/{city['id']}").json
    assert one["properties"] == city["properties"] and one["geometry"] is None


# --- Who sees what --------------------------------------------------------------------

@pytest.mark.parametrize(("username", "visible"), [
    ("demo_liaison", {"counties": [], "towns": [], "villages": [LIAISON_VILLAGE]}),
    ("demo_worker", {"counties": [], "towns": [], "villages": [LIAISON_VILLAGE]}),
    ("demo_town_centre", {"counties": [], "towns": [TOWN], "villages": "in town"}),
    ("demo_yuncheng_committee", {"counties": [COUNTY], "towns": "in county",
                                 "villages": "in county"}),
    ("demo_court_yuncheng", {"counties": 5, "towns": 72, "villages": 975}),
    ("demo_city_committee", {"counties": 5, "towns": 72, "villages": 975}),
])
def test_each_role_sees_its_scope(client_as, username, visible):
    client = client_as(username)
    for collection, expected in visible.items():
        found = codes(client.get(f"/ogc/collections/{collection}/items?limit=1000"))
        if expected == "in town":
            assert found and all(c.startswith(TOWN[:9]) for c in found), collection
        elif expected == "in county":
            assert len(found) > 1 and all(c.startswith(COUNTY[:6]) for c in found)
        elif isinstance(expected, int):
            assert len(found) == expected, collection
        else:
            assert found == expected, collection
    courts = client.get("/ogc/collections/courts/items").json["features"]
    assert courts and all("phone" in f["properties"] for f in courts)


def test_out_of_scope_is_404_and_has_no_extent(client_as):
    liaison = client_as("demo_liaison")
    assert liaison.get(f"/ogc/collections/villages/items/{LIAISON_VILLAGE}").status_code == 200
    for path in (f"/ogc/collections/villages/items/{LIAISON_VILLAGE[:-1]}4",
                 f"/ogc/collections/towns/items/{TOWN}",
                 f"/ogc/collections/counties/items/{COUNTY}"):
        assert liaison.get(path).status_code == 404, path
    body = liaison.get("/ogc/collections/counties/items").json
    assert body["numberMatched"] == 0 and body["features"] == []
    collections = {c["id"]: c for c in liaison.get("/ogc/collections").json["collections"]}
    assert "extent" not in collections["counties"]
    assert "extent" in collections["villages"] and "extent" in collections["courts"]


def test_a_token_reads_as_its_courts_staff(anonymous, token, session):
    bearer = {"Authorization": f"Bearer {token}"}
    body = anonymous.get("/ogc/collections/villages/items?limit=1", headers=bearer).json
    assert body["numberMatched"] == 975
    court = anonymous.get("/ogc/collections/courts/items?limit=1", headers=bearer).json
    assert "phone" in court["features"][0]["properties"]
    stored = session.scalar(select(ApiToken).where(ApiToken.prefix == token[:12]))
    assert stored.last_used_at is not None
    forged = {"Authorization": "Bearer glk_" + "A" * 43}
    response = anonymous.get("/ogc/collections", headers=forged)
    assert response.status_code == 401 and response.json["code"] == "InvalidToken"


def test_anonymous_reading_when_enabled_hides_phones(public):
    assert public.get("/ogc/collections/villages/items?limit=1").json["numberMatched"] == 975
    courts = public.get("/ogc/collections/courts/items").json["features"]
    assert courts and not any("phone" in f["properties"] for f in courts)
    assert all(f["properties"]["grid_codes"] for f in courts)
    # A bad token is still refused: it never falls back to anonymous reading.
    forged = {"Authorization": "Bearer glk_" + "A" * 43}
    assert public.get("/ogc/collections", headers=forged).status_code == 401


def test_anonymous_reading_is_switched_on_from_the_environment(database_url, monkeypatch):
    monkeypatch.setenv("GRIDLINK_OGC_ANONYMOUS", "1")
    assert make_app(database_url).config["OGC_ANONYMOUS"]


# --- A real client: GDAL's OAPIF driver over HTTP ----------------------------------------

@pytest.fixture(scope="module")
def ogc_server(scratch_database):
    """The app over HTTP on the live copy of the demo, recording each request's path and
    query; with a court's token that exists only while these tests run (inserted without
    the ORM, so the shared copy's audit trail is untouched)."""
    from werkzeug.serving import make_server

    app = make_app(scratch_database)
    requests: list[str] = []
    inner = app.wsgi_app

    def recording(environ, start_response):
        requests.append(environ["PATH_INFO"] + "?" + environ.get("QUERY_STRING", ""))
        return inner(environ, start_response)

    app.wsgi_app = recording
    engine = create_engine(scratch_database)
    secret = ApiToken(label="ogrinfo").new_secret()
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO api_tokens (id, court_id, label, prefix, token_hash) "
            "SELECT gen_random_uuid(), id, 'ogrinfo', :prefix, :hash FROM courts "
            "WHERE name = '云浮市中级人民法院'"),
            {"prefix": secret[:12], "hash": ApiToken.digest(secret)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"app": app, "url": f"http://127.0.0.1:{server.server_port}/ogc",
           "token": secret, "requests": requests}
    server.shutdown()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM api_tokens WHERE prefix = :p"), {"p": secret[:12]})
    engine.dispose()
    with app.app_context():
        db.engine.dispose()


def ogrinfo(server, *args, token: bool = True) -> subprocess.CompletedProcess:
    executable = shutil.which("ogrinfo")
    if executable is None:
        pytest.fail("ogrinfo not found: `make test` installs gdal-bin")
    config = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {server['token']}"]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run([executable, *(config if token else []), "-ro", *args],
                          capture_output=True, text=True, timeout=120, env=env)


def test_ogrinfo_lists_the_collections_with_their_counts(ogc_server, demo):
    result = ogrinfo(ogc_server, "-al", "-so", "OAPIF:" + ogc_server["url"])
    assert result.returncode == 0, result.stderr
    layers = re.findall(r"Layer name: (\w+).*?Feature Count: (\d+)", result.stdout, re.S)
    courts = demo.scalar(select(func.count()).select_from(Court))
    assert [(name, int(n)) for name, n in layers] == [*CITY_COUNTS.items(), ("courts", courts)]
    assert "Extent: (111." in result.stdout


def test_ogrinfo_reads_every_feature_following_next_links(ogc_server, demo):
    ogc_server["requests"].clear()
    result = ogrinfo(ogc_server, "-al", "-geom=SUMMARY", "OAPIF:" + ogc_server["url"],
                     "counties", "towns", "villages", "courts")
    assert result.returncode == 0 and "ERROR" not in result.stderr, result.stderr
    read = {}
    for layer, block in re.findall(r"OGRFeature\((\w+)\):\d+\n(.*?)\n\n", result.stdout, re.S):
        code = re.search(r"^  (?:code|name) \(String\) = (.+)$", block, re.M).group(1)
        read.setdefault(layer, []).append(code)
    current = {level: set(demo.scalars(Grid.current().with_only_columns(Grid.code)
                                       .where(Grid.level == level)))
               for level in (GridLevel.county, GridLevel.town, GridLevel.village)}
    assert len(read["counties"]) == 5 and set(read["counties"]) == current[GridLevel.county]
    assert len(read["towns"]) == 72 and set(read["towns"]) == current[GridLevel.town]
    assert len(read["villages"]) == 975 and set(read["villages"]) == current[GridLevel.village]
    assert len(read["courts"]) == demo.scalar(select(func.count()).select_from(Court))
    assert result.stdout.count("MULTIPOLYGON : 1 geometries") >= 5 + 72 + 975
    pages = [r for r in ogc_server["requests"] if r.startswith("/ogc/collections/villages/items")]
    assert any("offset=" in r for r in pages)  # it followed our next links


def test_ogrinfo_filters_on_the_server(ogc_server):
    ogc_server["requests"].clear()
    result = ogrinfo(ogc_server, "-al", "-q", "-geom=NO", "OAPIF:" + ogc_server["url"],
                     "villages", "-where", f"parent_code = '{TOWN}'")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("OGRFeature(villages)") > 1
    assert all(f"parent_code (String) = {TOWN}" in block for block in
               result.stdout.split("OGRFeature(villages)")[1:])
    assert any(f"parent_code={TOWN}" in r for r in ogc_server["requests"])


def test_ogrinfo_without_credentials_is_refused_unless_anonymous(ogc_server):
    url = "OAPIF:" + ogc_server["url"]
    refused = ogrinfo(ogc_server, "-so", url, token=False)
    assert refused.returncode != 0 and "401" in refused.stderr
    ogc_server["app"].config["OGC_ANONYMOUS"] = True
    try:
        result = ogrinfo(ogc_server, "-al", "-geom=NO", url, "courts", token=False)
    finally:
        ogc_server["app"].config["OGC_ANONYMOUS"] = False
    assert result.returncode == 0, result.stderr
    assert "云浮市中级人民法院" in result.stdout and "phone (String)" not in result.stdout
