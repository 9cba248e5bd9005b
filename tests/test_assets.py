"""Pages are light: compressed, static files under versioned URLs kept for a year,
and the map library only on pages with a map."""

import re

import pytest

LEAFLET = "vendor/leaflet/leaflet.js"


def test_pages_are_compressed_when_the_browser_accepts_it(client):
    for encoding in ("br", "gzip"):
        response = client.get("/admin/grid/", headers={"Accept-Encoding": encoding})
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
    plain = client.get("/admin/grid/", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and "区划与网格" in plain.get_data(as_text=True)


def test_static_files_have_versioned_urls_cached_for_a_year(client):
    page = client.get("/admin/").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/(?:admin/)?static/[^"]+)"', page)
    assert urls and all(re.search(r"[?&]v=[0-9a-f]{12}\b", u) for u in urls), urls
    for url in urls:
        with client.get(url.replace("&amp;", "&")) as response:
            assert response.status_code == 200
            cache = response.headers["Cache-Control"]
            assert "max-age=31536000" in cache and "immutable" in cache
    with client.get(re.sub(r"\?v=\w+", "", urls[0])) as unversioned:
        assert "no-cache" in unversioned.headers["Cache-Control"]
    with client.get(re.sub(r"v=\w+", "v=000000000000", urls[0])) as stale:
        assert "no-cache" in stale.headers["Cache-Control"]


@pytest.mark.parametrize("url, has_map", [
    ("/admin/grid/", False), ("/admin/roster/", False), ("/admin/court/", False),
    ("/admin/person/new/", False), ("/admin/audit/", False),
    ("/admin/", True), ("/admin/locate/", True), ("/admin/topology/", True),
])
def test_the_map_library_only_on_pages_with_a_map(client, url, has_map):
    assert (LEAFLET in client.get(url).get_data(as_text=True)) is has_map


def test_the_boundary_editor_has_the_drawing_tools(client, session):
    from models import Grid
    village = session.scalar(Grid.current().where(Grid.name == "星岩社区"))
    page = client.get(f"/admin/grid/edit/?id={village.id}").get_data(as_text=True)
    assert LEAFLET in page and "leaflet.draw.js" in page and "gridlink-map-texts" in page


def test_map_shapes_are_revalidated_not_sent_again(client):
    url = "/admin/grid/shapes/?level=town&bbox=110.5,21.8,113,23.8"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
