"""The boundary import page: upload, see the report and the shapes, then write."""

import io
import json
import re

from sqlalchemy import func, select, text

from models import Generation, Grid

XINGYAN = "445302001003"


def town_file(session) -> bytes:
    """星岩社区 drawn smaller (its neighbours now leave a gap), and a feature with a bad code."""
    smaller = session.scalar(text(
        "SELECT ST_AsGeoJSON(ST_Buffer(geom, -0.0003)) FROM grids "
        "WHERE code = :c AND generation_high IS NULL"), {"c": XINGYAN})
    features = [
        {"type": "Feature", "properties": {"code": XINGYAN, "name": "星岩社区"},
         "geometry": json.loads(smaller)},
        {"type": "Feature", "properties": {"code": "4453020019", "name": "坏代码村"},
         "geometry": json.loads(smaller)},
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def upload(client, data: bytes, name="村界.geojson"):
    return client.post("/admin/import/", data={
        "file": (io.BytesIO(data), name), "crs": "wgs84", "level": ""},
        content_type="multipart/form-data")


def test_upload_preview_and_write(client, session):
    response = upload(client, town_file(session))
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "村界.geojson: 2 features" in page
    assert re.search(r'data-status="ok".*?星岩社区', page, re.S)
    assert 'data-status="rejected"' in page
    assert "gridlink-import-topology" in page  # the shrunk village leaves a gap
    before = session.scalar(select(func.max(Generation.id)))

    refused = client.post(preview_url, data={}, follow_redirects=True)
    assert "勾选" in refused.get_data(as_text=True)
    assert session.scalar(select(func.max(Generation.id))) == before

    done = client.post(preview_url, data={"keep_good": "y", "accept_topology": "y"},
                       follow_redirects=True)
    assert "已写入新的边界版本" in done.get_data(as_text=True)
    session.expire_all()
    (generation,) = session.scalars(select(Generation).where(Generation.id > before)).all()
    assert generation.label == "import: 村界.geojson"
    village = session.scalar(Grid.current().where(Grid.code == XINGYAN))
    assert village.generation_low == generation.id


def test_wrong_files_are_refused_with_a_reason(client):
    page = client.post("/admin/import/", data={
        "file": (io.BytesIO(b"a,b"), "list.csv"), "crs": "wgs84", "level": ""},
        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "GeoJSON" in page and ".gpkg" in page
    broken = upload(client, b"{not json")
    page = client.get(broken.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "alert-danger" in page or "alert-error" in page


def test_only_those_who_may_change_grids_can_import(client_as, session):
    for username in ("demo_city_committee", "demo_town_centre", "demo_court_yuncheng"):
        assert client_as(username).get("/admin/import/").status_code == 403
    client = client_as("demo_admin")
    assert client.get("/admin/import/preview/..%2f..%2fetc%2fpasswd").status_code == 404
    assert client.get("/admin/import/preview/" + "0" * 32 + ".geojson").status_code == 404
