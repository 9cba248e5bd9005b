"""Journeys in real headless Chromium: the maps draw, and nothing leaves the machine."""

import re

import pytest
from conftest import browser_sign_in

from models import Grid

pytestmark = pytest.mark.browser

EDITED_STROKE = "#d9480f"  # the editor's colour for the grid being edited


def only_local(page):
    outside = [u for u in page.requests if not u.startswith(page.base + "/")]
    assert page.requests and outside == []


def test_grid_edit_draws_the_grid_and_its_neighbours_offline(page, demo, artifacts):
    village = demo.scalar(Grid.current().where(Grid.name == "星岩社区"))
    neighbours = {g.name for g in demo.scalars(Grid.neighbours_of(village))}
    assert neighbours

    page.goto(f"{page.base}/admin/grid/edit/?id={village.id}")
    edited = page.locator(f'.gridlink-editor path[stroke="{EDITED_STROKE}"]')
    edited.first.wait_for()
    page.wait_for_function("() => document.querySelectorAll('.gridlink-label').length > 3")
    labels = set(page.locator(".gridlink-label").all_inner_texts())
    page.wait_for_load_state("networkidle")
    page.screenshot(path=artifacts / "grid-edit.png", full_page=True)

    assert edited.count() >= 1
    box = edited.first.bounding_box()
    assert box["width"] > 20 and box["height"] > 20  # a real shape, not a dot
    assert neighbours <= labels  # every neighbour is drawn and named
    assert "星岩社区" not in labels  # the grid itself is the editable shape, not a neighbour
    assert page.locator(".leaflet-draw-toolbar").count() >= 1
    only_local(page)


def test_base_map_tiles_are_256_pixels_at_the_maps_zoom(page, demo):
    village = demo.scalar(Grid.current().where(Grid.name == "星岩社区"))
    page.goto(f"{page.base}/admin/grid/edit/?id={village.id}")
    page.locator(".gridlink-editor img.leaflet-tile-loaded").first.wait_for()
    tiles = page.eval_on_selector_all(
        ".gridlink-editor img.leaflet-tile-loaded",
        "els => els.map(e => [e.src, e.naturalWidth, e.getBoundingClientRect().width])")
    zoom = page.evaluate("$('.gridlink-editor').data('map').getZoom()")
    assert tiles
    for src, natural, shown in tiles:
        z = int(re.search(r"/test-tiles/(\d+)/", src).group(1))
        assert z == round(zoom)  # no zoomOffset: tile zoom is the map's zoom
        assert natural == 256 and abs(shown - 256 * 2 ** (zoom - round(zoom))) < 1
    only_local(page)


def test_home_dashboard_map_and_language_switch(page, artifacts):
    page.goto(f"{page.base}/admin/")
    page.wait_for_selector("[data-role=gridlink-overview][data-loaded]")
    assert int(page.get_attribute("[data-role=gridlink-overview]", "data-loaded")) == 72
    assert page.locator("[data-level=village]").inner_text() == "975"
    page.wait_for_load_state("networkidle")
    page.screenshot(path=artifacts / "home.png", full_page=True)
    only_local(page)

    page.click("#gridlink-languages >> text=English")
    page.wait_for_selector("text=Dashboard")
    assert page.locator("h2").inner_text() == "Grid–court enforcement linkage"
    page.click("#gridlink-languages >> text=中文")
    page.wait_for_selector("text=首页")


@pytest.mark.parametrize(("name", "url", "expect"), [
    ("grid-list", "/admin/grid/?flt0_1=445302001000", "星岩社区"),
    ("roster", "/admin/roster/?search=星岩社区", "社区网格长"),
    ("courts", "/admin/court/", "云浮市中级人民法院"),
])
def test_list_pages_render_in_chinese(page, artifacts, name, url, expect):
    page.goto(page.base + url)
    page.wait_for_selector(f"text={expect}")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=artifacts / f"{name}.png", full_page=True)
    only_local(page)


def test_topology_report_goes_to_the_trouble_spot(page, demo, artifacts):
    """An overlap injected into the live database shows in red; a click on its row
    zooms the map to it."""
    from sqlalchemy import text

    village = demo.scalar(Grid.current().where(Grid.name == "分会村"))
    other = demo.scalars(Grid.neighbours_of(village).where(
        Grid.parent_id == village.parent_id)).first()
    original = demo.scalar(text("SELECT ST_AsEWKT(geom) FROM grids WHERE id = :id"),
                           {"id": village.id})
    demo.execute(text("""UPDATE grids v SET geom = ST_Multi(ST_Union(v.geom, ST_Intersection(
        ST_Expand(ST_PointOnSurface(o.geom), 0.002), o.geom))) FROM grids o
        WHERE v.id = :v AND o.id = :o"""), {"v": village.id, "o": other.id})
    demo.commit()
    try:
        page.goto(f"{page.base}/admin/topology/")
        page.wait_for_selector("#gridlink-problems tbody tr")
        row = page.locator("#gridlink-problems tbody tr", has_text=village.code)
        the_map = "$('#gridlink-topology-map').data('map')"
        page.evaluate(f"{the_map}.setView([23.25, 111.45], 12, {{animate: false}})")  # elsewhere
        lat, lon = float(row.get_attribute("data-lat")), float(row.get_attribute("data-lon"))
        assert not page.evaluate(f"{the_map}.getBounds().contains([{lat}, {lon}])")
        row.click()
        page.wait_for_function(f"() => {the_map}.getBounds().contains([{lat}, {lon}])")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=artifacts / "topology.png", full_page=True)
        assert int(page.get_attribute("#gridlink-topology-map", "data-problems")) >= 1
        assert "重叠" in row.inner_text()
        assert page.locator("#gridlink-topology-map path[stroke='#c92a2a']").count() >= 1
        only_local(page)
    finally:
        demo.execute(text("UPDATE grids SET geom = ST_GeomFromEWKT(:g) WHERE id = :id"),
                     {"g": original, "id": village.id})
        demo.commit()


def test_the_drawing_tools_speak_chinese(page, demo):
    village = demo.scalar(Grid.current().where(Grid.code == "445381112202"))
    page.goto(f"{page.base}/admin/grid/edit/?id={village.id}")
    page.locator(".leaflet-draw-draw-polygon").wait_for()
    assert page.get_attribute(".leaflet-draw-draw-polygon", "title") == "绘制多边形"
    assert page.get_attribute(".leaflet-draw-edit-edit", "title") == "编辑边界"
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "放大"
    page.click(".leaflet-draw-edit-edit")
    actions = page.locator(".leaflet-draw-actions:visible").inner_text()
    assert "完成" in actions and "取消" in actions and "Save" not in actions
    page.click(".leaflet-draw-actions a:has-text('取消')")


def test_dragging_a_vertex_inward_is_refused_for_the_gap(page, demo, artifacts):
    """The boundary editor, as an admin uses it: edit, drag one vertex towards the
    middle, keep the change, save — refused, naming the gap; nothing is saved."""
    village = demo.scalar(Grid.current().where(Grid.code == "445381112202"))  # 罗镜镇云龙村
    before = village.generation_low
    page.goto(f"{page.base}/admin/grid/edit/?id={village.id}")
    edited = page.locator(f'.gridlink-editor path[stroke="{EDITED_STROKE}"]').first
    edited.wait_for()
    page.click(".leaflet-draw-edit-edit")
    handles = page.locator(".leaflet-editing-icon")
    handles.first.wait_for()
    shape = edited.bounding_box()
    centre = (shape["x"] + shape["width"] / 2, shape["y"] + shape["height"] / 2)
    handle = handles.nth(handles.count() // 3).bounding_box()
    start = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    end = tuple(s + (c - s) * 0.35 for s, c in zip(start, centre, strict=True))
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()
    page.click(".leaflet-draw-actions a:has-text('完成')")
    page.click("form.admin-form input[type=submit]")
    message = page.locator(".alert-danger, .alert-error").first
    message.wait_for()
    page.screenshot(path=artifacts / "grid-edit-gap-refused.png", full_page=True)
    assert re.search(r"留下约 \d+ 平方米的空隙", message.inner_text())
    demo.expire_all()
    assert demo.get(Grid, village.id).generation_low == before  # nothing saved


@pytest.mark.parametrize("username, counties", [("demo_admin", 5),
                                                ("demo_yuncheng_committee", 1)])
def test_a_clean_topology_report_outlines_the_area_checked(new_page, artifacts, username,
                                                           counties):
    page = new_page()
    browser_sign_in(page, username)
    page.goto(f"{page.base}/admin/topology/")
    page.wait_for_selector("#gridlink-topology-map[data-outline]")
    assert page.locator("#gridlink-no-problems").count() == 1
    assert int(page.get_attribute("#gridlink-topology-map", "data-outline")) == counties
    assert page.locator("#gridlink-topology-map path[stroke='#2b8a3e']").count() == counties
    page.wait_for_load_state("networkidle")
    page.screenshot(path=artifacts / f"topology-clean-{username}.png", full_page=True)
