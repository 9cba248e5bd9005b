"""Court matters through the JSON API: a court system files with its token and
reads where the matter went; the same filing twice is one matter; bad input is
refused with every reason and nothing kept; reading is scoped like the pages."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from models import AuditRecord, Matter
from models.identity import id_check_character

XINGYAN = "445302001003"  # 星岩社区, 云城街道
XINGYAN_ADDRESS = "云浮市云城区云城街道星岩社区"
YEAR = date.today().year


def id_number(serial: str) -> str:
    first17 = f"44530219850101{serial}"
    return first17 + id_check_character(first17)


def body(**changes) -> dict:
    matter = {
        "case_number": f"（{YEAR}）粤5302执7001号", "matter_type": "service",
        "officer_name": "李明", "officer_phone": "0766-8888001",
        "debtor": {"kind": "person", "name": "王某", "id_number": id_number("701"),
                   "phones": ["13800007001"]},
        "addresses": [{"kind": "habitual", "text": XINGYAN_ADDRESS}],
        "request": {"document_kinds": ["judgment"], "method": "direct"},
    }
    matter.update(changes)
    return matter


@pytest.fixture
def court_system(runner, anonymous):
    secret = runner.invoke(args=["tokens", "issue", "云浮市云城区人民法院",
                                 "--label", "执行案件管理系统"]).output.strip()

    class System:
        def post(self, json):
            return anonymous.post("/api/v1/matters", json=json,
                                  headers={"Authorization": f"Bearer {secret}"})

        def get(self, url, **kw):
            return anonymous.get(url, headers={"Authorization": f"Bearer {secret}"}, **kw)

    return System()


def count(session) -> int:
    return session.scalar(select(func.count(Matter.id)))


def test_a_court_system_files_and_the_village_liaison_has_it(court_system, session):
    answer = court_system.post(body())
    assert answer.status_code == 201, answer.json
    matter = answer.json
    assert matter["created"] is True and matter["state"] == "assigned"
    assert matter["court"] == "云浮市云城区人民法院" and matter["county_code"] == "445302"
    assert matter["grid"]["code"] == XINGYAN
    assert matter["grid"]["path"] == ["云城区", "云城街道", "星岩社区"]
    assert matter["liaison"]["name"] and "****" in matter["liaison"]["phone"]
    assert "*" in matter["debtor"]["id_number"] and "****" in matter["debtor"]["phones"][0]
    assert matter["addresses"][0]["status"] == "matched"
    # It can be read back, and is in the court's list.
    again = court_system.get(f"/api/v1/matters/{matter['id']}")
    assert again.status_code == 200 and again.json["grid"]["code"] == XINGYAN
    listed = court_system.get("/api/v1/matters", query_string={"state": "assigned"}).json
    assert matter["id"] in {m["id"] for m in listed["matters"]}
    # Filed by the token: audited.
    assert session.scalar(select(func.count(AuditRecord.seq)).where(
        AuditRecord.entity == "matter", AuditRecord.entity_id == matter["id"])) >= 1


def test_the_same_filing_twice_is_one_matter(court_system, session):
    first = court_system.post(body())
    before = count(session)
    second = court_system.post(body())
    assert second.status_code == 200 and second.json["created"] is False
    assert second.json["id"] == first.json["id"]
    assert count(session) == before


def test_a_village_of_two_towns_waits_for_review_with_its_candidates(court_system):
    answer = court_system.post(body(addresses=[{"kind": "habitual", "text": "罗定市三和村"}]))
    assert answer.status_code == 201
    assert answer.json["state"] == "review" and answer.json["grid"] is None
    assert len(answer.json["addresses"][0]["candidates"]) == 2
    assert "三和村" in answer.json["waiting_because"]


def test_bad_input_names_every_field_and_keeps_nothing(court_system, session):
    before = count(session)
    answer = court_system.post(body(
        case_number="2026执1号", matter_type="service",
        debtor={"kind": "person", "name": "", "id_number": "445302198501017010"},
        addresses=[]))
    assert answer.status_code == 422
    fields = {p["field"] for p in answer.json["problems"]}
    assert {"case_number", "debtor_name", "debtor_id_number", "addresses"} <= fields
    assert all(p["message"] for p in answer.json["problems"])
    assert count(session) == before


@pytest.mark.parametrize("payload, field", [
    ([1, 2], ""),
    ({"debtor": "王某"}, "debtor"),
    ({"addresses": "罗定市"}, "addresses"),
    ({"deadline": "next week"}, "deadline"),
    ({"addresses": [{"kind": "habitual", "lon": "112"}]}, "addresses.0.lon"),
])
def test_a_body_of_the_wrong_shape_is_a_400(court_system, payload, field):
    answer = court_system.post(body(**payload) if isinstance(payload, dict) else payload)
    assert answer.status_code == 400
    assert answer.json["problems"][0]["field"] == field


def test_people_file_on_the_form_not_the_api(client_as):
    answer = client_as("demo_court_yuncheng").post("/api/v1/matters", json=body())
    assert answer.status_code == 403


def test_reading_is_scoped(court_system, client_as, anonymous, runner):
    matter_id = court_system.post(body()).json["id"]
    assert anonymous.get(f"/api/v1/matters/{matter_id}").status_code == 401
    # The liaison of 星岩社区 sees it; another court and a committee do not.
    assert client_as("demo_liaison").get(f"/api/v1/matters/{matter_id}").status_code == 200
    other = runner.invoke(args=["tokens", "issue", "罗定市人民法院", "--label", "x"]).output
    luoding = {"Authorization": f"Bearer {other.strip()}"}
    assert anonymous.get(f"/api/v1/matters/{matter_id}", headers=luoding).status_code == 404
    assert matter_id not in {m["id"] for m in anonymous.get(
        "/api/v1/matters", headers=luoding).json["matters"]}
    assert client_as("demo_city_committee").get("/api/v1/matters").status_code == 403
    assert court_system.get("/api/v1/matters/not-a-uuid").status_code == 404
    assert court_system.get("/api/v1/matters", query_string={"state": "x"}).status_code == 400
