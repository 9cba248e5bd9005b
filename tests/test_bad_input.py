"""Requests that used to crash (500) and now get a clear refusal: unknown filter values,
NUL bytes, paging numbers out of range, a grid posted without its shape, exports cut
off mid-stream, and a database that has gone away (503, recovering by itself)."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import socket
import threading

import pytest
from conftest import Client, make_app
from markupsafe import escape
from sqlalchemy import func, make_url, select

from models import AddressPoint, ApiToken, AuditRecord, Grid

LISTS = ["grid", "grid_history", "generation", "address", "alias", "court", "roster",
         "person", "matter", "precedence", "account", "token", "audit"]
EXPORTS = ["grid", "court", "roster", "audit"]  # the lists with a CSV export
ROLES = ["demo_admin", "demo_city_committee", "demo_yuncheng_committee", "demo_town_centre",
         "demo_court_yuncheng", "demo_court_city", "demo_town_liaison", "demo_liaison",
         "demo_worker"]
XINGYAN = "445302001003"
# The roster's filters: 0 role (an enum), then the county code, then the end date.
ENUM_FILTERS = [("roster", 0), ("roster", 1), ("court", 0), ("court", 1), ("account", 0),
                ("account", 1)]
NOT_A_VALUE = ["<unknown>", "zzz", "-1", "99999999999999999999", "1e400", ""]


def refused(response, status: int = 400) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


# --- List filters -------------------------------------------------------------------------

@pytest.mark.parametrize("value", NOT_A_VALUE)
@pytest.mark.parametrize(("view", "index"), ENUM_FILTERS)
def test_an_enum_filter_with_an_unknown_value_is_a_400_naming_it(client, view, index, value):
    page = refused(client.get(f"/admin/{view}/", query_string={f"flt1_{index}": value}))
    assert str(escape(repr(value))) in page


@pytest.mark.parametrize("view", LISTS)
def test_no_filter_value_crashes_a_list(client, view):
    for index in range(8):
        for value in [*NOT_A_VALUE, "2026-13-45", "abc,def"]:
            response = client.get(f"/admin/{view}/", query_string={f"flt1_{index}": value})
            assert response.status_code in (200, 400), (index, value)


def test_a_valid_enum_filter_still_filters(client):
    assert client.get("/admin/roster/?flt1_0=liaison").status_code == 200


# --- NUL bytes ----------------------------------------------------------------------------

NUL_REQUESTS = (
    [f"/admin/{view}/?search=%E6%98%9F%00" for view in LISTS]
    + ["/admin/roster/?flt1_1=4453%0002", "/admin/court/?flt1_2=%00",
       "/admin/grid/details/?id=%00", "/admin/grid/edit/?id=abc%00",
       "/api/v1/grids?code=44%00", "/api/v1/grids?parent_code=%00",
       f"/api/v1/grids/{XINGYAN}%00", "/api/v1/locate?address=%E4%BA%91%00",
       "/api/v1/matters?state=%00", "/ogc/collections/villages/items?code=%00",
       "/ogc/collections/villages/items?parent_code=44%00",
       f"/ogc/collections/villages/items/{XINGYAN}%00", "/ogc/collections/%00",
       "/admin/%00/", "/admin/directory/%00/"]
)


@pytest.mark.parametrize("url", NUL_REQUESTS)
def test_a_nul_byte_anywhere_in_the_address_is_a_400(client, url):
    response = client.get(url)
    text = refused(response)
    assert "NUL" in text
    if url.startswith(("/api/", "/ogc/")):
        assert response.is_json
    if url.startswith("/ogc/"):
        assert response.json["code"] == "InvalidParameterValue"


def test_a_nul_byte_in_a_form_or_json_body_is_a_400(client, anonymous):
    refused(anonymous.post("/admin/auth/", data={"username": "demo\x00admin", "password": "x"}))
    refused(client.post("/admin/roster/new/", data={"title": "\x00"}))
    response = client.post("/api/v1/matters", json={"case_number": "（2026）粤5302执1号\x00"})
    assert refused(response) and response.json["error"].startswith("the request holds a NUL")


# --- Paging -------------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["-1", "-99999999999", "99999999999999999999", "1000001"])
@pytest.mark.parametrize("view", LISTS)
def test_a_page_out_of_range_is_a_400_on_every_admin_list(client, view, page):
    assert "page" in refused(client.get(f"/admin/{view}/", query_string={"page": page}))


@pytest.mark.parametrize("view", EXPORTS)
def test_an_export_with_a_page_out_of_range_is_a_400(client, view):
    refused(client.get(f"/admin/{view}/export/csv/?page=-1"))


COLLECTIONS = ["/api/v1/grids", "/api/v1/matters", "/ogc/collections/villages/items",
               "/ogc/collections/courts/items"]


@pytest.mark.parametrize(("name", "value"), [
    ("limit", "-1"), ("limit", "-99999999999999999999"), ("offset", "-1"),
    ("offset", "99999999999999999999"), ("offset", "1000000001"), ("limit", "ten"),
])
@pytest.mark.parametrize("url", COLLECTIONS)
def test_paging_out_of_range_is_a_json_400_on_every_collection(client, url, name, value):
    if url == "/api/v1/matters" and name == "offset":
        pytest.skip("the matters list takes no offset")
    response = client.get(url, query_string={name: value})
    refused(response)
    description = response.json.get("error") or response.json.get("description")
    assert name in description


@pytest.mark.parametrize("url", COLLECTIONS)
def test_a_huge_limit_is_the_largest_page(client, url):
    response = client.get(url, query_string={"limit": "99999999999999999999"})
    assert response.status_code == 200


# --- A shape missing from a form ----------------------------------------------------------

GEOM_FLAGGED = re.compile(r'class="form-control is-invalid" data-geometry-type="[A-Z]+"[^>]*'
                          r'id="geom"')


@pytest.mark.parametrize("geom", [None, "", "null", "{}", "garbage", '{"type": "Point"}',
                                  '{"type": "Polygon", "coordinates": "x"}',
                                  '{"type": "LineString", "coordinates": [[0, 0], [1e400, 1]]}'])
def test_a_grid_posted_without_a_usable_shape_is_a_form_error(client, session, geom):
    grid = session.scalar(Grid.current().where(Grid.code == XINGYAN))
    data = {"code": grid.code, "name": grid.name, "level": "village",
            "parent": str(grid.parent_id)}
    if geom is not None:
        data["geom"] = geom
    response = client.post(f"/admin/grid/edit/?id={grid.id}&lang=en", data=data)
    page = refused(response, 200)  # the form again, with the reason on the field
    assert GEOM_FLAGGED.search(page)
    session.expire_all()
    assert session.scalar(Grid.current().where(Grid.code == XINGYAN)).geom is not None


def test_an_address_point_posted_without_its_point_is_a_form_error(client, session):
    point = session.scalar(select(AddressPoint).limit(1))
    response = client.post(f"/admin/address/edit/?id={point.id}&lang=en",
                           data={"county_code": point.county_code, "road": "某路", "number": "1"})
    assert GEOM_FLAGGED.search(refused(response, 200))


# --- Exports read to the end --------------------------------------------------------------

@pytest.mark.parametrize("username", ROLES)
def test_every_csv_export_a_role_may_take_is_complete(client_as, username):
    client = client_as(username)
    taken = 0
    for view in EXPORTS:
        response = client.get(f"/admin/{view}/export/csv/")
        if response.status_code in (302, 403):
            continue  # not this role's list
        assert response.status_code == 200, view
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows), view
        taken += 1
    assert taken >= 3  # grids, courts and roster for everyone


def test_the_court_export_names_each_tribunals_parent(client):
    rows = list(csv.DictReader(io.StringIO(
        client.get("/admin/court/export/csv/").get_data(as_text=True))))
    assert any(r.get("上级法院") or r.get("Parent court") for r in rows)


# --- API tokens do not flood the audit trail ---------------------------------------------

def test_a_busy_token_notes_its_last_use_without_audit_records(anonymous, runner, session):
    secret = runner.invoke(args=["tokens", "issue", "云浮市云城区人民法院",
                                 "--label", "压力测试"]).output.strip()
    bearer = {"Authorization": f"Bearer {secret}"}
    before = session.scalar(select(func.count()).select_from(AuditRecord))
    for _ in range(20):
        assert anonymous.get("/api/v1/me", headers=bearer).status_code == 200
        assert anonymous.get("/ogc/collections/counties", headers=bearer).status_code == 200
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditRecord)) == before
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == secret[:12]))
    assert token.last_used_at is not None


# --- The database going away --------------------------------------------------------------

class Relay:
    """A TCP relay in front of the database: stop() is the database going away (every
    connection cut, nothing listening on the port), start() its return."""

    def __init__(self, host: str, port: int):
        self.target, self.port, self.listener, self.open = (host, port), 0, None, []
        self.lock = threading.Lock()

    def start(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                near, _ = listener.accept()
            except OSError:
                return
            far = socket.create_connection(self.target)
            with self.lock:  # stop() may have run meanwhile: then these close here
                if self.listener is not listener:
                    near.close()
                    far.close()
                    return
                self.open += [near, far]
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for end in (a, b):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def stop(self):
        if self.listener is None:
            return
        with self.lock:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in its thread
            self.listener.close()
            self.listener = None
            ends, self.open = self.open, []
        for end in ends:  # closed even when the other side hung up first (ENOTCONN)
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


@pytest.fixture
def database_away(scratch_database):
    """A signed-in admin on an app whose database can be taken away and brought back."""
    url = make_url(scratch_database)
    relay = Relay(url.host, url.port)
    relay.start()
    app = make_app(url.set(port=relay.port).render_as_string(hide_password=False))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.test_client_class = Client
    client = app.test_client()
    assert client.sign_in("demo_admin").status_code == 302
    yield client, relay
    relay.stop()
    with app.app_context():
        from models import db

        db.engine.dispose()


def test_without_the_database_pages_say_so_with_a_503_and_recover(database_away):
    client, relay = database_away
    assert client.get("/admin/grid/").status_code == 200
    relay.stop()
    for url in ("/admin/grid/", "/admin/", "/admin/roster/", "/admin/auth/"):
        page = refused(client.get(url), 503)
        assert "数据库暂时无法连接" in page, url  # not the sign-in page
    api = client.get("/api/v1/grids")
    assert refused(api, 503) and "database" in api.json["error"]
    ogc = client.get("/ogc/collections")
    assert refused(ogc, 503) and ogc.json["code"] == "ServiceUnavailable"
    relay.start()  # the database is back: nothing to restart
    assert client.get("/admin/grid/").status_code == 200
    assert client.get("/api/v1/grids").status_code == 200


def test_the_database_gone_during_my_matters_own_query_is_a_503_too(database_away,
                                                                    monkeypatch):
    """我的事项 reads its matters on the driver's own cursor (models.my_matters): the
    database gone after the account was loaded, as that query is sent, still answers
    503, the broken connection is dropped, and the next visit draws the page."""
    from models import my_matters

    client, relay = database_away
    assert client.sign_in("demo_liaison").status_code == 302
    assert "gridlink-matter-card" in client.get("/admin/").get_data(as_text=True)
    real = my_matters._driver_sql

    def gone(statement, dialect):
        relay.stop()
        return real(statement, dialect)

    monkeypatch.setattr(my_matters, "_driver_sql", gone)
    assert "数据库暂时无法连接" in refused(client.get("/admin/"), 503)
    monkeypatch.setattr(my_matters, "_driver_sql", real)
    relay.start()
    assert "gridlink-matter-card" in client.get("/admin/").get_data(as_text=True)
