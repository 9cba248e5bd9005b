"""The court's pick from the review or manual queue is a step of the matter's life:
placing it writes a matter_steps row and an audit record like every other step, so
the matter's history shows who placed it, when and in which grid."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_matter_pages import (
    AMBIGUOUS_ADDRESS,
    XINGYAN_ADDRESS,
    YUNCHENG_COURT,
    english,
    file_directly,
)

from models import AuditRecord, Matter, MatterState, MatterStep, User
from models.workflow import StepError, place


def steps_of(session, matter) -> list[MatterStep]:
    return list(session.scalars(select(MatterStep).where(MatterStep.matter_id == matter.id)
                                .order_by(MatterStep.at)))


@pytest.fixture
def waiting(session) -> Matter:
    matter = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执321号", AMBIGUOUS_ADDRESS)
    assert matter.state is MatterState.review
    return matter


def candidate_codes(matter) -> list[str]:
    return sorted({c["code"] for a in matter.addresses for c in a.candidates or []})


def test_placing_from_the_queue_is_a_step_with_who_when_and_where(client_as, session,
                                                                 waiting):
    court = english(client_as("demo_court_yuncheng"))
    code = candidate_codes(waiting)[0]
    court.post(f"/admin/review_queue/{waiting.id}/pick/",
               data={"code": code, "method": "candidate"})
    session.expire_all()
    matter = session.get(Matter, waiting.id)
    assert matter.state is MatterState.assigned
    [step] = steps_of(session, matter)
    officer = session.scalar(select(User).where(User.username == "demo_court_yuncheng"))
    assert (step.step, step.from_state, step.to_state) == (
        "place", MatterState.review, MatterState.assigned)
    assert step.actor_id == officer.id and step.actor_name == officer.display_name
    assert step.data["grid"]["code"] == code and step.data["method"] == "candidate"
    assert matter.version == 1
    audit = session.scalar(select(AuditRecord).where(
        AuditRecord.action == "step", AuditRecord.entity_id == str(matter.id)))
    assert audit.actor == "demo_court_yuncheng"
    assert audit.after["step"] == "place" and audit.after["grid"]["code"] == code
    page = court.get(f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)
    history = page[page.index('id="gridlink-history"'):]
    assert 'data-step="place"' in history and "Place in a grid" in history
    assert officer.display_name in history
    assert f"To {step.data['grid']['name']}" in history


def test_a_court_that_only_supervises_cannot_place_it_and_leaves_no_step(client_as, session,
                                                                          waiting):
    other = english(client_as("demo_court_city"))  # reads the base court's matters
    response = other.post(f"/admin/review_queue/{waiting.id}/pick/",
                          data={"code": candidate_codes(waiting)[0], "method": "candidate"})
    assert response.status_code in (403, 404)
    session.expire_all()
    assert session.get(Matter, waiting.id).state is MatterState.review
    assert steps_of(session, waiting) == []


def test_a_matter_with_a_grid_is_not_placed_again(session):
    matter = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执322号", XINGYAN_ADDRESS)
    officer = session.scalar(select(User).where(User.username == "demo_court_yuncheng"))
    with pytest.raises(StepError) as refused:
        place(session, matter, officer, matter.primary_assignment.grid, method="candidate")
    assert refused.value.kind == "illegal" and refused.value.params["state"] == "assigned"
    assert steps_of(session, matter) == []


def test_the_matter_page_offers_no_place_button(client_as, session, waiting):
    page = english(client_as("demo_court_yuncheng")).get(
        f"/admin/matter/details/?id={waiting.id}").get_data(as_text=True)
    assert 'id="gridlink-step-place"' not in page and 'data-step="place"' not in page
