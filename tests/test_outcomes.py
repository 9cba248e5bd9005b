"""Outcomes per matter type (models.outcomes): every type's questions checked by the
one reader — required answers, choices, the two witnesses of a lodged service,
amounts, dates, the withdrawal that needs the court's notice — and the record kept
in versions, the matter moving to done once."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from geo.assign import file_matter
from models import AuditRecord, Court, Matter, MatterState, Person, User, workflow
from models.evidence import store
from models.filing import AddressInput, MatterInput
from models.identity import id_check_character
from models.matter_types import MatterType
from models.outcome_answers import local_today
from models.outcomes import (
    OUTCOME_FIELDS,
    Outcome,
    OutcomeError,
    check_outcome,
    latest,
    prefilled,
    record_outcome,
    versions,
)

XINGYAN_ADDRESS = "云浮市云城区云城街道星岩社区"
YESTERDAY = (local_today() - timedelta(days=1)).isoformat()
TOMORROW = (local_today() + timedelta(days=1)).isoformat()

REQUESTS = {
    MatterType.service: ({"document_kinds": ["judgment"], "method": "direct"}, []),
    MatterType.locate_debtor: ({"clues_sought": ["address"]}, ["summons", "work_id"]),
    MatterType.find_property: ({"property_kinds": ["house"]}, ["enforcement_basis", "work_id"]),
    MatterType.investigation: ({"subjects": ["income"]}, ["work_id"]),
    MatterType.witness: ({"participation": "witness", "scheduled_on": "2026-03-02",
                          "place": "星岩社区村委会"}, ["work_id"]),
    MatterType.other: ({"purpose": "risk"}, []),
    MatterType.legal_education: ({"direction": "court_to_village", "topic": "执行悬赏"}, []),
}


def png_bytes(colour="red") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PNG")
    return out.getvalue()


def make_matter(session, kind: MatterType, serial: str, state=MatterState.dispatched,
                credentials=None) -> Matter:
    request, needed = REQUESTS[kind]
    first17 = f"44530219850317{serial}"
    court = session.scalar(select(Court).where(Court.name == "云浮市云城区人民法院"))
    matter, _ = file_matter(session, MatterInput(
        court=court, officer_name="测试干警", case_number=f"（2026）粤5302执{serial}号",
        matter_type=kind.value, debtor_kind="person", debtor_name="李某",
        debtor_id_number=first17 + id_check_character(first17),
        addresses=[AddressInput(kind="household", text=XINGYAN_ADDRESS)],
        request=request, credentials=credentials if credentials is not None else needed))
    # Where a grid worker finds it: accepted by 星岩社区's liaison, dispatched to its
    # grid worker (models.workflow, as the pages take those steps).
    if state in (MatterState.accepted, MatterState.dispatched):
        liaison = session.scalar(select(User).where(User.username == "demo_liaison"))
        worker = session.scalar(select(User).where(User.username == "demo_worker"))
        workflow.take_step(session, workflow.begin(session, matter.id, liaison), liaison,
                           "accept")
        if state is MatterState.dispatched:
            workflow.dispatch(session, workflow.begin(session, matter.id, liaison), liaison,
                              session.get(Person, worker.person_id))
    else:
        matter.state = state
    session.flush()
    return matter


@pytest.fixture
def worker(session):
    return session.scalar(select(User).where(User.username == "demo_worker"))


@pytest.fixture
def evidence_root(tmp_path):
    return tmp_path / "evidence"


def add_file(session, matter, kind, root, colour="red"):
    return store(session, matter, kind, io.BytesIO(png_bytes(colour)), f"{kind}.png",
                 root=root)


def fields(errors) -> dict[str, str]:
    return {e.field: e.template for e in errors}


# --- the reader ----------------------------------------------------------------------------

def test_every_type_has_its_questions_and_every_label_is_a_message():
    assert set(OUTCOME_FIELDS) == set(MatterType)
    for specs in OUTCOME_FIELDS.values():
        names = [s.name for s in specs]
        assert len(names) == len(set(names))
        for spec in specs:
            assert spec.kind in ("line", "text", "choice", "date", "yuan", "count", "flag",
                                 "names", "point", "files", "rows")
            assert spec.when is None or spec.when[0] in names


def test_direct_service_needs_date_place_signer_and_the_receipt(session, evidence_root):
    matter = make_matter(session, MatterType.service, "501")
    answers, errors = check_outcome(matter, {"method": "direct"})
    assert set(fields(errors)) == {"served_on", "served_at", "signed_by", "receipt"}
    receipt = add_file(session, matter, "receipt", evidence_root)
    answers, errors = check_outcome(matter, {
        "method": "direct", "served_on": YESTERDAY, "served_at": "星岩社区二组12号",
        "signed_by": "family", "signer_name": "李母", "relation": "母亲",
        "witnesses": ["不该", "保留"]}, [receipt])
    assert errors == []
    assert answers["receipt"] == [str(receipt.id)]
    assert "witnesses" not in answers  # not asked of a direct service: not kept


def test_a_family_member_signing_says_the_relation(session):
    matter = make_matter(session, MatterType.service, "502")
    _, errors = check_outcome(matter, {"method": "direct", "served_on": YESTERDAY,
                                       "served_at": "家中", "signed_by": "family"})
    assert {"signer_name", "relation"} <= set(fields(errors))


@pytest.mark.parametrize("witnesses, ok", [
    (["王见证", "赵见证"], True),
    ("王见证、赵见证", True),  # one box, the usual separator
    (["王见证"], False),
    (["王见证", "王见证"], False),
    ([], False),
])
def test_lodged_service_needs_two_witnesses(session, evidence_root, witnesses, ok):
    matter = make_matter(session, MatterType.service, "503")
    receipt = add_file(session, matter, "receipt", evidence_root)
    answers, errors = check_outcome(matter, {
        "method": "lodged", "served_on": YESTERDAY, "served_at": "家门口",
        "refusal": "拒绝签收，将文书留在门口", "witnesses": witnesses}, [receipt])
    assert ("witnesses" not in fields(errors)) is ok
    if ok:
        assert answers["witnesses"] == ["王见证", "赵见证"] and errors == []


def test_not_served_needs_the_search_and_the_certificate(session, evidence_root):
    matter = make_matter(session, MatterType.service, "504")
    _, errors = check_outcome(matter, {"method": "not_served"})
    assert set(fields(errors)) == {"search", "missing_certificate"}
    _, errors = check_outcome(matter, {"method": "posted"})
    assert fields(errors)["method"] == "%(value)s is not one of the choices"


@pytest.mark.parametrize("day, problem", [
    ("2026-02-30", "%(value)s is not a date (YYYY-MM-DD)"),
    (TOMORROW, "%(value)s is in the future"),
    ("昨天", "%(value)s is not a date (YYYY-MM-DD)"),
])
def test_dates_are_real_and_not_in_the_future(session, day, problem):
    matter = make_matter(session, MatterType.witness, "505")
    _, errors = check_outcome(matter, {"held_on": day, "participants": "张三"})
    assert fields(errors)["held_on"] == problem


def test_finding_the_debtor_needs_a_clue_and_its_source(session):
    matter = make_matter(session, MatterType.locate_debtor, "506")
    _, errors = check_outcome(matter, {"source": "邻居"})
    assert fields(errors) == {"address": "give at least one clue: %(fields)s"}
    answers, errors = check_outcome(matter, {"phone": "13800001111", "source": "邻居",
                                             "point": {"lon": "112.04", "lat": "22.93"}})
    assert errors == [] and answers["point"] == {"lon": 112.04, "lat": 22.93}
    _, errors = check_outcome(matter, {"phone": "1", "source": "x",
                                       "point": {"lon": "22.93", "lat": "112.04"}})
    assert "point" in fields(errors)  # swapped


def test_property_items_each_with_kind_description_point_and_value(session):
    matter = make_matter(session, MatterType.find_property, "507")
    _, errors = check_outcome(matter, {"items": []})
    assert fields(errors) == {"items": "give at least one item"}
    answers, errors = check_outcome(matter, {"items": [
        {"kind": "house", "description": "两层砖混楼房", "value": "120,000元",
         "point": {"lon": 112.04, "lat": 22.93}},
        {"kind": "livestock", "description": "生猪30头", "value": ""},
        {"kind": "", "description": "", "value": ""},  # an empty row added and left: ignored
    ]})
    assert errors == []
    assert answers["items"][0]["value"] == 120000.0
    assert "value" not in answers["items"][1]
    _, errors = check_outcome(matter, {"items": [
        {"kind": "yacht", "description": "x"}, {"kind": "vehicle", "description": "车",
                                                 "value": "-5"},
        {"kind": "deposit", "description": "存款", "value": "10.005"}]})
    assert set(fields(errors)) == {"items.0.kind", "items.1.value", "items.2.value"}


def test_investigation_withdrawal_needs_the_notice_of_assistance(session, evidence_root):
    without = make_matter(session, MatterType.investigation, "508")
    scan = add_file(session, without, "survey_form", evidence_root)
    base = {"unit": "星岩社区居委会", "surveyed_on": YESTERDAY, "income": "3500.50",
            "dividends": "1200", "period_from": "2025-01-01", "period_to": "2025-12-31",
            "officer": "周主任", "sealed": "1", "withdrawn": "1200"}
    _, errors = check_outcome(without, base, [scan])
    assert fields(errors) == {
        "withdrawn": "the court has shown no %(credential)s: this cannot be recorded"}
    with_notice = make_matter(session, MatterType.investigation, "509",
                              credentials=["work_id", "assistance_notice"])
    scan = add_file(session, with_notice, "survey_form", evidence_root)
    answers, errors = check_outcome(with_notice, base, [scan])
    assert errors == []
    assert answers["withdrawn"] == 1200.0 and answers["sealed"] is True
    _, errors = check_outcome(with_notice, {**base, "period_to": "2024-12-31"}, [scan])
    assert fields(errors) == {"period_to": "%(value)s is before %(other)s"}
    _, errors = check_outcome(with_notice, {**base, "withdrawn": ""})
    assert fields(errors) == {"survey_form": "%(label)s is required"}


def test_other_work_asks_what_the_purpose_needs(session):
    matter = make_matter(session, MatterType.other, "510")
    assert prefilled(matter) == {"purpose": "risk"}
    _, errors = check_outcome(matter, {"purpose": "risk", "reported_on": YESTERDAY})
    assert set(fields(errors)) == {"state_of_mind", "risks"}
    _, errors = check_outcome(matter, {"purpose": "mediation", "reported_on": YESTERDAY,
                                       "mediation": "settled"})
    assert set(fields(errors)) == {"terms"}
    _, errors = check_outcome(matter, {"purpose": "mediation", "reported_on": YESTERDAY,
                                       "mediation": "not_settled"})
    assert errors == []


@pytest.mark.parametrize("attendance, ok", [("45", True), ("4.5", False), ("-3", False),
                                            ("四十", False)])
def test_legal_education_counts_people_and_wants_photos(session, evidence_root, attendance,
                                                         ok):
    matter = make_matter(session, MatterType.legal_education, "511")
    photo = add_file(session, matter, "photos", evidence_root)
    _, errors = check_outcome(matter, {"held_on": YESTERDAY, "place": "村委会礼堂",
                                       "attendance": attendance}, [photo])
    assert ("attendance" not in fields(errors)) is ok
    _, errors = check_outcome(matter, {"held_on": YESTERDAY, "place": "礼堂",
                                       "attendance": "45"})
    assert set(fields(errors)) == {"photos"}


def test_a_file_of_another_matter_or_field_is_refused(session, evidence_root, worker):
    matter = make_matter(session, MatterType.legal_education, "512")
    other = make_matter(session, MatterType.legal_education, "513")
    foreign = add_file(session, other, "photos", evidence_root)
    wrong_field = add_file(session, matter, "receipt", evidence_root)
    data = {"held_on": YESTERDAY, "place": "礼堂", "attendance": "5"}
    with pytest.raises(OutcomeError) as refused:
        record_outcome(session, matter, worker, data, [foreign.id])
    assert refused.value.errors[0].template == "a file given is not one of this matter's files"
    _, errors = check_outcome(matter, {**data, "photos": [str(wrong_field.id)]},
                              [wrong_field])
    assert fields(errors) == {"photos": "a file given is not one of this matter's files"}


# --- the record ----------------------------------------------------------------------------

def test_recording_moves_the_matter_to_done_and_a_correction_is_a_new_version(
        session, evidence_root, worker):
    matter = make_matter(session, MatterType.legal_education, "514",
                         state=MatterState.dispatched)
    photo = add_file(session, matter, "photos", evidence_root)
    first = record_outcome(session, matter, worker, {
        "held_on": YESTERDAY, "place": "村委会礼堂", "attendance": "45"}, [photo.id])
    session.refresh(matter)
    assert matter.state is MatterState.done
    assert (first.version, first.recorded_by_name) == (1, worker.display_name)
    assert first.data["photos"] == [str(photo.id)] and first.county_code == matter.county_code
    steps = session.scalars(select(AuditRecord).where(
        AuditRecord.entity_id == str(matter.id), AuditRecord.action == "step",
        AuditRecord.after["step"].astext == "finish")).all()
    assert len(steps) == 1 and steps[0].actor == worker.username

    second = record_outcome(session, matter, worker, {
        "held_on": YESTERDAY, "place": "村委会礼堂", "attendance": "52"}, [photo.id])
    assert second.version == 2 and matter.state is MatterState.done
    assert [o.data["attendance"] for o in versions(session, matter.id)] == [52, 45]
    assert latest(session, matter.id).id == second.id


def test_versions_cannot_be_rewritten_by_the_app(session, evidence_root, worker):
    matter = make_matter(session, MatterType.other, "515")
    outcome = record_outcome(session, matter, worker, {
        "purpose": "mediation", "reported_on": YESTERDAY, "mediation": "not_settled"}, [])
    session.flush()
    with pytest.raises(DBAPIError, match="permission denied"), session.begin_nested():
        session.execute(text("UPDATE outcomes SET data = '{}' WHERE id = :id"),
                        {"id": outcome.id})
    with pytest.raises(DBAPIError, match="permission denied"), session.begin_nested():
        session.execute(text("DELETE FROM outcomes WHERE id = :id"), {"id": outcome.id})


@pytest.mark.parametrize("state", [MatterState.assigned, MatterState.confirmed,
                                   MatterState.cancelled])
def test_no_outcome_outside_the_working_states(session, worker, state):
    matter = make_matter(session, MatterType.other, "516", state=state)
    with pytest.raises(OutcomeError):
        record_outcome(session, matter, worker, {
            "purpose": "mediation", "reported_on": YESTERDAY, "mediation": "not_settled"}, [])
    assert session.scalar(select(Outcome).where(Outcome.matter_id == matter.id)) is None


def test_a_refused_outcome_leaves_the_matter_as_it_was(session, worker):
    matter = make_matter(session, MatterType.other, "517")
    with pytest.raises(OutcomeError) as refused:
        record_outcome(session, matter, worker, {"purpose": "risk"}, [])
    assert {e.field for e in refused.value.errors} == {"reported_on", "state_of_mind", "risks"}
    assert matter.state is MatterState.dispatched


def test_today_is_the_day_in_beijing(session):
    """A worker recording just after midnight Beijing time (16:00 UTC) records today."""
    matter = make_matter(session, MatterType.witness, "518")
    _, errors = check_outcome(matter, {"held_on": local_today().isoformat(),
                                       "participants": "张三"})
    assert "held_on" not in fields(errors)
