"""Pages are light: compressed, static files under versioned URLs kept for a year,
and the map library only on pages with a map."""

import gzip
import re

import brotli
import pytest

from admin import compression

LEAFLET = "vendor/leaflet/leaflet.js"
CHROMIUM = "gzip, deflate, br, zstd"  # what Debian's Chromium 156 asks, measured


def _decoded(response) -> bytes:
    encoding = response.headers.get("Content-Encoding")
    return {None: lambda d: d, "gzip": gzip.decompress, "br": brotli.decompress,
            "zstd": compression.zstd.decompress}[encoding](response.data)


def test_pages_are_compressed_when_the_browser_accepts_it(client):
    plain = client.get("/admin/grid/", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and "区划与网格" in plain.get_data(as_text=True)
    for encoding in ("zstd", "br", "gzip"):
        response = client.get("/admin/grid/", headers={"Accept-Encoding": encoding})
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert len(response.data) < len(plain.data) / 4
        assert _decoded(response).decode().count("区划与网格") == plain.get_data(
            as_text=True).count("区划与网格")
    assert client.get("/admin/grid/", headers={"Accept-Encoding": CHROMIUM}
                      ).headers["Content-Encoding"] == "zstd"


def test_a_large_response_is_compressed_harder_than_a_page(client):
    """The maps' outlines are hundreds of KB: from compression.LARGE bytes on, a
    stronger level (fewer bytes for each pan and zoom), still decoded whole."""
    url = "/admin/grid/shapes/?level=village&bbox=110.5,21.8,113,23.8"
    plain = client.get(url, headers={"Accept-Encoding": "identity"}).data
    assert len(plain) >= compression.LARGE
    for encoding in ("zstd", "br"):
        response = client.get(url, headers={"Accept-Encoding": encoding})
        assert _decoded(response) == plain
        assert len(response.data) < len(compression.FAST[encoding](plain))
    small = client.get("/admin/auth/password", headers={"Accept-Encoding": "zstd"})
    page = _decoded(small)
    assert len(page) < compression.LARGE
    assert small.data == compression.FAST["zstd"](page)  # a page: the fast level


@pytest.mark.parametrize("asked, answered", [
    (CHROMIUM, "zstd"), ("br, gzip", "br"), ("gzip, deflate", "gzip"),
    ("gzip;q=1.0, br;q=0.5", "gzip"), ("zstd;q=0, br", "br"), ("BR", "br"),
    ("*", "zstd"), ("*, zstd;q=0", "br"), ("gzip;q=0", None), ("identity", None),
    ("deflate", None), ("", None), ("gzip;q=x", None), (" , ;", None),
])
def test_the_encoding_is_the_best_the_browser_accepts(asked, answered):
    assert compression.chosen(asked) == answered


def test_a_static_file_is_compressed_once_and_served_whole(client, monkeypatch):
    page = client.get("/admin/").get_data(as_text=True)
    url = re.search(r'src="([^"]*' + re.escape(LEAFLET) + r'[^"]*)"', page).group(1)
    with client.get(url, headers={"Accept-Encoding": "identity"}) as plain:
        whole = plain.data
    made = []
    best = dict(compression.BEST)

    def counted(name):
        return lambda data: made.append(name) or best[name](data)
    monkeypatch.setattr(compression, "BEST", {name: counted(name) for name in best})
    compression._static.clear()
    for _ in range(3):
        for encoding in ("zstd", "br", "gzip"):
            with client.get(url, headers={"Accept-Encoding": encoding}) as response:
                assert response.headers["Content-Encoding"] == encoding
                assert _decoded(response) == whole and len(response.data) < len(whole) / 3
                assert response.headers["ETag"].endswith(f':{encoding}"')
    assert made == ["zstd", "br", "gzip"]  # once each, then kept


def test_a_revalidation_is_answered_for_the_encoding_the_browser_has(client):
    url = "/admin/grid/shapes/?level=town&bbox=110.5,21.8,113,23.8"
    first = client.get(url, headers={"Accept-Encoding": "br"})
    assert first.headers["Content-Encoding"] == "br" and first.headers["ETag"].endswith(':br"')
    again = client.get(url, headers={"Accept-Encoding": "br",
                                     "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    other = client.get(url, headers={"Accept-Encoding": "gzip",
                                     "If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200 and other.headers["Content-Encoding"] == "gzip"


def test_small_bodies_and_errors_are_sent_as_they_are(client):
    small = client.get("/api/v1/me", headers={"Accept-Encoding": CHROMIUM})
    assert len(small.data) < compression.MIN_SIZE and "Content-Encoding" not in small.headers
    missing = client.get("/admin/no-such-page/", headers={"Accept-Encoding": CHROMIUM})
    assert missing.status_code == 404 and "Content-Encoding" not in missing.headers


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
