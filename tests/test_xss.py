"""Names that people type or files carry are text wherever a page shows them.

The attacks come through the real paths: an administrator renames a grid, a court
system files a matter through the API with an address and a point, a boundary
file carries a feature name. Every map label, tooltip and marker then shows the
name's characters literally and runs nothing. And every page carries a
Content-Security-Policy that runs only the app's own script files and the inline
scripts it signs with a nonce, so the next slip does not run either."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from conftest import ARTIFACTS, browser_sign_in
from sqlalchemy import func, select, text

from admin.headers import tile_origins
from admin.maps import basemap_layers
from geo.map_shapes import refresh_map_shapes
from models import ApiToken, Court, Grid, Matter, MatterState, PlaceAlias
from models.identity import id_check_character

IMG = "<img src=x onerror=window.__xss=1>"
SCRIPT = "<script>window.__xss=2</script>"
VILLAGE_CODE, VILLAGE = "445302001003", "星岩社区"  # 云城街道
NEIGHBOUR_CODE = "445302001001"  # 南山社区, next to 星岩社区
TOWN_CODE, TOWN = "445302001000", "云城街道"
COURT = "云浮市云城区人民法院"
LIAISON = "demo_liaison"  # 星岩社区's
HABITUAL = "经常居住地"


# ------------------------------------------------------------------ the policy

def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request.path}: no Content-Security-Policy"
    return {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}


INLINE_HANDLER = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.S)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.S)


def assert_strict(response):
    """The page's policy runs no inline script but its own nonce's, and the page
    needs none: every inline script carries the nonce, no element an on... handler."""
    directives = policy(response)
    scripts = directives["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    (nonce,) = [s[len("'nonce-"):-1] for s in scripts if s.startswith("'nonce-")]
    assert len(nonce) >= 16
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    page = response.get_data(as_text=True)
    for attributes in SCRIPT_TAG.findall(page):
        if "src=" in attributes or 'type="application/json"' in attributes:
            continue
        assert f'nonce="{nonce}"' in attributes, f"{response.request.path}: <script{attributes}>"
    handler = INLINE_HANDLER.search(page)
    assert handler is None, f"{response.request.path}: {handler and handler.group(0)[-80:]}"
    return nonce


def admin_pages(app) -> list[str]:
    """The index page of every view in the menu, and the dashboard."""
    (admin,) = app.extensions["admin"]
    return sorted({view.url.rstrip("/") + "/" for view in admin._views
                   if view.endpoint not in ("auth",)})


def test_every_admin_page_carries_a_strict_policy(app, client, session):
    village = session.scalar(Grid.current().where(Grid.code == VILLAGE_CODE))
    matter = session.scalars(select(Matter)).first()
    urls = [*admin_pages(app),
            f"/admin/grid/edit/?id={village.id}", f"/admin/grid/details/?id={village.id}",
            "/admin/grid/new/", f"/admin/locate/?q={VILLAGE}", "/admin/grid/?flt0_0=4453"]
    if matter is not None:
        urls.append(f"/admin/matter/details/?id={matter.id}")
    nonces = set()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "text/html"
        nonces.add(assert_strict(response))
    assert len(nonces) == len(urls)  # a new nonce for every response


def test_sign_in_refusals_and_redirects_carry_the_policy_too(anonymous, client_as):
    assert_strict(anonymous.get("/admin/auth/"))
    policy(anonymous.get("/admin/grid/"))  # the redirect to the sign-in page
    refused = client_as("demo_court_yuncheng").get("/admin/import/")
    assert refused.status_code == 403
    assert_strict(refused)


def test_json_answers_need_no_page_policy(client):
    assert client.get("/admin/grid/shapes/?level=town&bbox=111,22,112,23").mimetype \
        == "application/json"


def test_base_map_tiles_are_allowed_as_images_and_nothing_else(app, client):
    layers = basemap_layers({"TIANDITU_KEY": "k"})
    assert tile_origins(layers) == [f"https://t{i}.tianditu.gov.cn" for i in range(8)]
    intranet = basemap_layers({"TILE_URL": "http://{s}.tiles.local:8080/{z}/{x}/{y}.png",
                               "TILE_SUBDOMAINS": "ab"})
    assert tile_origins(intranet) == ["http://a.tiles.local:8080", "http://b.tiles.local:8080"]
    assert tile_origins(basemap_layers({"TILE_URL": "/tiles/{z}/{x}/{y}.png"})) == []

    app.config["TILE_URL"] = "http://tiles.intranet:8080/{z}/{x}/{y}.png"
    try:
        directives = policy(client.get("/admin/"))
    finally:
        del app.config["TILE_URL"]
    assert "http://tiles.intranet:8080" in directives["img-src"]
    assert "http://tiles.intranet:8080" not in directives["script-src"]
    assert directives["connect-src"] == ["'self'"]


# ------------------------------------------------- the names, escaped by the server

def test_planted_names_are_escaped_in_every_page_and_data_block(client, session):
    """Jinja escapes text; |tojson escapes < in the JSON blocks the maps read."""
    village = session.scalar(Grid.current().where(Grid.code == VILLAGE_CODE))
    form = {"code": village.code, "name": VILLAGE + IMG + SCRIPT, "level": "village",
            "parent": str(village.parent_id),
            "geom": session.scalar(text("SELECT ST_AsGeoJSON(geom) FROM grids WHERE id = :id"),
                                   {"id": village.id})}
    saved = client.post(f"/admin/grid/edit/?id={village.id}", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    session.expire_all()
    assert session.get(Grid, village.id).name == VILLAGE + IMG + SCRIPT
    for url in (f"/admin/grid/?search={village.code}", f"/admin/grid/details/?id={village.id}",
                f"/admin/grid/edit/?id={village.id}", f"/admin/locate/?q={village.code}"):
        page = client.get(url).get_data(as_text=True)
        assert IMG not in page and "<script>window" not in page, url


# ------------------------------------------------------------------ in Chromium

def id_number(serial: str) -> str:
    first17 = f"44530219850101{serial}"
    return first17 + id_check_character(first17)


def matter_body(lon: float, lat: float) -> dict:
    return {
        "case_number": f"（{date.today().year}）粤5302执9701号", "matter_type": "service",
        "officer_name": "李明", "officer_phone": "0766-8888001",
        "debtor": {"kind": "person", "name": "王某" + IMG, "id_number": id_number("971"),
                   "phones": ["13800009701"]},
        "addresses": [{"kind": "habitual", "text": VILLAGE + IMG, "lon": lon, "lat": lat}],
        "request": {"document_kinds": ["judgment"], "method": "direct"},
    }


def watch(page) -> list[str]:
    """Every Content-Security-Policy violation the page reports, from now on."""
    seen: list[str] = []
    page.expose_function("__gridlinkViolation", lambda violation: seen.append(violation))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => window.__gridlinkViolation("
        "e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));")
    page.on("console", lambda m: "Content Security Policy" in m.text and seen.append(m.text))
    return seen


OPEN_EVERY_LABEL = """selector => {
    const map = $(selector).data('map');
    map.eachLayer(l => {
        if (l.getTooltip && l.getTooltip() && !l.isTooltipOpen()) { l.openTooltip(); }
        if (l.getPopup && l.getPopup()) { l.openPopup(); }
    });
    return [...document.querySelectorAll(selector + ' .leaflet-tooltip, ' + selector
             + ' .leaflet-popup-content, ' + selector + ' .leaflet-marker-icon')]
        .map(e => e.textContent);
}"""


def labels_are_text(page, selector: str, expected: str) -> list[str]:
    """Open every tooltip and popup of the map; the planted name shows as typed,
    and nothing of it became an element or ran."""
    texts = page.evaluate(OPEN_EVERY_LABEL, selector)
    assert any(expected in t for t in texts), f"{expected} not among {len(texts)} labels"
    assert page.locator(f"{selector} img[src='x'], {selector} .leaflet-pane script").count() == 0
    assert page.evaluate("window.__xss") is None
    return texts


def signed_in(browser, base: str, username: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.base = base
    browser_sign_in(page, username)
    return context, page


@pytest.fixture(scope="module")
def planted(browser, live_server, demo):
    """The live database with the attacks in: the admin's renamed village and town
    (through the edit form); a court system's matter (through the API) with the
    address text, which the village's liaison returns to the review queue."""
    context, page = signed_in(browser, live_server, "demo_admin")
    grids = {code: demo.scalar(Grid.current().where(Grid.code == code))
             for code in (VILLAGE_CODE, TOWN_CODE)}
    for code, name in ((VILLAGE_CODE, VILLAGE + IMG), (TOWN_CODE, TOWN + SCRIPT)):
        page.goto(f"{live_server}/admin/grid/edit/?id={grids[code].id}")
        page.fill("#name", name)
        page.click("form.admin-form input[type=submit]")
        page.wait_for_url(re.compile(r".*/admin/grid/(\?.*)?$"))
    demo.expire_all()
    assert demo.get(Grid, grids[VILLAGE_CODE].id).name == VILLAGE + IMG

    token = ApiToken(court=demo.scalar(select(Court).where(Court.name == COURT)),
                     label="xss")
    secret = token.new_secret()
    demo.add(token)
    demo.commit()
    lon, lat = demo.execute(select(func.ST_X(func.ST_PointOnSurface(Grid.geom)),
                                   func.ST_Y(func.ST_PointOnSurface(Grid.geom)))
                            .where(Grid.id == grids[VILLAGE_CODE].id)).one()
    answer = context.request.post(f"{live_server}/api/v1/matters",
                                  data=json.dumps(matter_body(lon, lat)),
                                  headers={"Authorization": f"Bearer {secret}",
                                           "Content-Type": "application/json"})
    assert answer.status == 201, answer.text()
    matter_id = answer.json()["id"]
    assert answer.json()["state"] == "assigned"
    context.close()

    context, page = signed_in(browser, live_server, LIAISON)
    page.goto(f"{live_server}/admin/matter/details/?id={matter_id}")
    page.fill("#return-reason", "本社区无此人")
    page.click("#gridlink-return button[type=submit]")
    page.wait_for_selector(".alert-success")
    context.close()
    demo.expire_all()
    matter = demo.get(Matter, matter_id)
    assert matter.state is MatterState.returned
    yield {"matter": matter.id, "village": grids[VILLAGE_CODE], "point": (lon, lat)}
    for code, name in ((VILLAGE_CODE, VILLAGE), (TOWN_CODE, TOWN)):
        demo.execute(text("UPDATE grids SET name = :n WHERE id = :id"),
                     {"n": name, "id": grids[code].id})
    demo.execute(text("UPDATE api_tokens SET revoked_at = now() WHERE id = :id"),
                 {"id": token.id})
    demo.commit()


@pytest.fixture
def artifacts():
    """Screenshots of the attacks go to test-artifacts/ only, never to the docs."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def admin_page(page, artifacts):
    page.violations = watch(page)
    page.artifacts = artifacts
    return page


@pytest.mark.browser
def test_renamed_grids_are_text_on_the_home_map(planted, admin_page, artifacts):
    page = admin_page
    page.goto(page.base + "/admin/")
    page.wait_for_selector("[data-role=gridlink-overview][data-loaded]")
    labels_are_text(page, "[data-role=gridlink-overview]", TOWN + SCRIPT)
    page.screenshot(path=artifacts / "xss-home.png", full_page=True)
    assert page.violations == []


@pytest.mark.browser
def test_renamed_grids_are_text_among_the_neighbours_of_an_edited_grid(planted, admin_page,
                                                                       demo, artifacts):
    page = admin_page
    neighbour = demo.scalar(Grid.current().where(Grid.code == NEIGHBOUR_CODE))
    page.goto(f"{page.base}/admin/grid/edit/?id={neighbour.id}")
    page.wait_for_function("() => document.querySelectorAll('.gridlink-label').length > 3")
    page.wait_for_load_state("networkidle")
    assert VILLAGE + IMG in page.locator(".gridlink-label").all_inner_texts()
    labels_are_text(page, ".gridlink-editor", VILLAGE + IMG)
    assert page.locator(".leaflet-draw-toolbar").count() >= 1
    page.screenshot(path=artifacts / "xss-grid-edit.png", full_page=True)
    assert page.violations == []


@pytest.mark.browser
def test_renamed_grids_are_text_on_the_locate_page(planted, admin_page, artifacts):
    page = admin_page
    lon, lat = planted["point"]
    page.goto(f"{page.base}/admin/locate/?lonlat={lon},{lat}")
    page.wait_for_selector("#gridlink-locate-card")
    expected = VILLAGE + IMG
    assert page.locator("#gridlink-locate-grid h4").inner_text().startswith(expected)
    page.wait_for_function("() => document.querySelectorAll('#gridlink-locate-map .gridlink-label')"
                           ".length > 3")
    page.wait_for_load_state("networkidle")
    labels_are_text(page, "#gridlink-locate-map", expected)
    page.screenshot(path=artifacts / "xss-locate.png", full_page=True)
    assert page.violations == []


def hover_the_address_marker(page, selector: str) -> str:
    marker = page.locator(f"{selector} path[stroke='#c92a2a']").first
    marker.wait_for()
    marker.hover(force=True)
    tooltip = page.locator(f"{selector} .leaflet-tooltip", has_text=HABITUAL)
    tooltip.wait_for()
    return tooltip.inner_text()


@pytest.mark.browser
def test_a_court_systems_address_is_text_on_the_matter_page(planted, admin_page, artifacts):
    page = admin_page
    page.goto(f"{page.base}/admin/matter/details/?id={planted['matter']}")
    page.wait_for_selector("#gridlink-matter-map[data-ready]")
    assert hover_the_address_marker(page, "#gridlink-matter-map") == HABITUAL + "：" + VILLAGE + IMG
    page.evaluate("$('#gridlink-matter-map').data('map').setZoom(14, {animate: false})")
    page.wait_for_selector("#gridlink-matter-map[data-background=village]")
    page.wait_for_load_state("networkidle")
    labels_are_text(page, "#gridlink-matter-map", VILLAGE + IMG)
    page.screenshot(path=artifacts / "xss-matter.png", full_page=True)
    assert page.violations == []


@pytest.mark.browser
def test_a_court_systems_address_is_text_in_the_review_queue(planted, admin_page, artifacts):
    page = admin_page
    page.goto(f"{page.base}/admin/review_queue/#matter-{planted['matter']}")
    page.wait_for_selector(f"#gridlink-queue-map[data-selected='{planted['matter']}']")
    assert hover_the_address_marker(page, "#gridlink-queue-map") == HABITUAL + "：" + VILLAGE + IMG
    lon, lat = planted["point"]
    page.evaluate(f"$('#gridlink-queue-map').data('map').setView([{lat}, {lon}], 14, "
                  "{animate: false})")
    page.wait_for_selector("#gridlink-queue-map[data-background=village]")
    page.wait_for_load_state("networkidle")
    labels_are_text(page, "#gridlink-queue-map", VILLAGE + IMG)
    page.screenshot(path=artifacts / "xss-review-queue.png", full_page=True)
    assert page.violations == []


@pytest.fixture
def planted_shapes(planted, demo):
    """The committee maps' shapes rebuilt after the renaming (their names are copied
    from the grids when the shapes are made), put back by name afterwards."""
    refresh_map_shapes(demo)
    demo.commit()
    yield planted
    for code, name in ((VILLAGE_CODE, VILLAGE), (TOWN_CODE, TOWN)):
        demo.execute(text("UPDATE map_shapes SET name = :n WHERE code = :c"),
                     {"n": name, "c": code})
    demo.commit()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/admin/maps/open/", "/admin/maps/density/"])
def test_renamed_grids_are_text_on_the_committee_maps(planted_shapes, admin_page, artifacts,
                                                      path):
    """Outlines, clusters and choropleth tooltips name the areas: as text."""
    page = admin_page
    page.goto(f"{page.base}{path}?level=village")
    page.wait_for_selector("#gridlink-committee-map[data-areas]:not([data-loading])")
    page.wait_for_load_state("networkidle")
    texts = labels_are_text(page, "#gridlink-committee-map", VILLAGE + IMG)
    if "open" in path:  # a cluster's tooltip too, not only its outline's
        assert sum(VILLAGE + IMG in t for t in texts) >= 2
    page.screenshot(path=artifacts / f"xss-committee-{path.split('/')[-2]}.png")
    assert page.violations == []


def geojson_file(demo, name: str) -> bytes:
    shape = demo.scalar(text("SELECT ST_AsGeoJSON(geom) FROM grids WHERE code = :c "
                             "AND generation_high IS NULL"), {"c": VILLAGE_CODE})
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": VILLAGE_CODE, "name": name},
         "geometry": json.loads(shape)}]}, ensure_ascii=False).encode()


def kml_file(demo, name: str) -> bytes:
    ring = demo.scalar(text(
        "SELECT string_agg(ST_X(p.geom) || ',' || ST_Y(p.geom), ' ' ORDER BY p.path) FROM "
        "grids, ST_DumpPoints(ST_ExteriorRing(ST_GeometryN(geom, 1))) p "
        "WHERE code = :c AND generation_high IS NULL"), {"c": VILLAGE_CODE})
    escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Schema name="villages" id="villages"><SimpleField name="code" type="string"/></Schema>
<Folder><name>villages</name><Placemark><name>{escaped}</name>
<ExtendedData><SchemaData schemaUrl="#villages"><SimpleData name="code">{VILLAGE_CODE}</SimpleData>
</SchemaData></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing>
</outerBoundaryIs></Polygon></Placemark></Folder></Document></kml>""".encode()


@pytest.mark.browser
@pytest.mark.parametrize(("suffix", "make", "name"), [
    (".geojson", geojson_file, VILLAGE + IMG),
    (".kml", kml_file, VILLAGE + SCRIPT),
])
def test_a_boundary_files_names_are_text_in_the_import_preview(admin_page, demo, artifacts,
                                                               tmp_path, suffix, make, name):
    page = admin_page
    path = tmp_path / f"村界{suffix}"
    path.write_bytes(make(demo, name))
    page.goto(page.base + "/admin/import/")
    page.set_input_files("#file", str(path))
    page.click("#gridlink-import button[type=submit]")
    page.wait_for_selector("#gridlink-import-map[data-features]")
    assert name in page.locator("#gridlink-import-report").inner_text()
    page.wait_for_load_state("networkidle")
    labels_are_text(page, "#gridlink-import-map", f"{VILLAGE_CODE} {name}")
    page.screenshot(path=artifacts / f"xss-import-preview{suffix.replace('.', '-')}.png",
                    full_page=True)
    assert page.violations == []


@pytest.mark.browser
def test_a_configured_attribution_is_text(admin_page):
    """GRIDLINK_TILE_ATTRIBUTION is documented as text; Leaflet would write it as HTML."""
    page = admin_page
    page.goto(page.base + "/admin/")
    shown = page.evaluate("""attribution => {
        const block = document.getElementById('gridlink-basemap');
        block.textContent = JSON.stringify([{url: '/test-tiles/{z}/{x}/{y}.png', attribution}]);
        const div = document.createElement('div');
        div.style.height = '200px';
        document.body.appendChild(div);
        GridlinkMap.newMap(div);
        return div.querySelector('.leaflet-control-attribution').textContent;
    }""", "天地图" + IMG)
    assert shown.endswith("天地图" + IMG)
    assert page.locator("img[src='x']").count() == 0


# ------------------------------------------- Flask-Admin's pages under the policy

@pytest.mark.browser
def test_the_policy_refuses_injected_script(admin_page):
    page = admin_page
    page.goto(page.base + "/admin/")
    page.evaluate("""() => {
        document.body.insertAdjacentHTML('beforeend', '<img src=x onerror="window.__xss=1">');
        const s = document.createElement('script');
        s.textContent = 'window.__xss = 2';
        document.body.appendChild(s);
    }""")
    page.wait_for_function("() => document.querySelector('img[src=x]').complete")
    assert page.evaluate("window.__xss") is None
    assert any("script-src" in v for v in page.violations)


@pytest.mark.browser
def test_lists_filters_actions_and_deletions_work_under_the_policy(admin_page, demo):
    """Flask-Admin's inline handlers are gone from its pages; the same clicks still
    ask the same questions and do the same things."""
    page = admin_page
    dialogs: list[str] = []

    def answer(dialog, accept: bool):
        dialogs.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    alias = PlaceAlias(alias="测试别名", code=VILLAGE_CODE, note="xss")
    demo.add(alias)
    demo.commit()
    alias_id = alias.id
    try:
        # Delete asks first: no leaves the alias, yes removes it.
        page.goto(page.base + "/admin/alias/?search=测试别名")
        delete = page.locator("button[data-gridlink-confirm]")
        page.once("dialog", lambda d: answer(d, False))
        delete.click()
        page.wait_for_load_state("networkidle")
        assert len(dialogs) == 1 and page.locator("td", has_text="测试别名").count() == 1
        page.once("dialog", lambda d: answer(d, True))
        delete.click()
        page.wait_for_selector(".alert-success")
        assert page.locator("td", has_text="测试别名").count() == 0
        demo.expire_all()
        assert demo.get(PlaceAlias, alias_id) is None
    finally:
        demo.execute(text("DELETE FROM place_aliases WHERE alias = '测试别名'"))
        demo.commit()

    # An action with nothing selected says so; with a row selected it asks, then acts.
    token = ApiToken(court=demo.scalar(select(Court).where(Court.name == COURT)), label="xss")
    token.new_secret()
    demo.add(token)
    demo.commit()
    page.goto(page.base + "/admin/token/")
    page.once("dialog", lambda d: answer(d, True))
    page.click("text=选中的")
    page.click("[data-gridlink-action=revoke]")
    assert dialogs[-1] == "请至少选择一条记录"
    page.check(f"input.action-checkbox[value='{token.id}']")
    page.once("dialog", lambda d: answer(d, True))
    page.click("text=选中的")
    page.click("[data-gridlink-action=revoke]")
    page.wait_for_selector(".alert-success")
    assert len(dialogs) == 4  # asked to confirm
    demo.expire_all()
    assert demo.get(ApiToken, token.id).revoked_at is not None

    # A filter added from the menu, then applied.
    page.goto(page.base + "/admin/grid/")
    page.click("text=添加筛选器")
    page.locator("a.filter").first.click()
    page.locator("#filter_form .filters tr").first.wait_for()
    assert page.url.endswith("/admin/grid/")  # the filter's name is not a link to follow
    page.screenshot(path=page.artifacts / "xss-filters.png", full_page=True)
    assert page.violations == [], page.violations


@pytest.mark.browser
def test_roster_topology_and_languages_work_under_the_policy(admin_page):
    page = admin_page
    page.goto(page.base + f"/admin/roster/?search={VILLAGE}")
    reveal = page.locator(".gridlink-reveal").first
    reveal.evaluate("button => { button.parentElement.id = 'xss-phone'; }")
    reveal.click()
    page.wait_for_selector("#xss-phone:not(:has(.gridlink-reveal))")
    assert re.fullmatch(r"\d{11}", page.locator("#xss-phone").inner_text().strip())

    page.goto(page.base + "/admin/topology/")
    page.wait_for_selector("#gridlink-topology-map[data-problems]")

    page.goto(page.base + "/admin/")
    page.click("#gridlink-languages >> text=English")
    page.wait_for_selector("text=Dashboard")
    page.click("#gridlink-languages >> text=中文")
    page.wait_for_selector("text=首页")
    assert page.violations == [], page.violations
