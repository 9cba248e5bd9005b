"""The record form (执行联动事项记录表): the grid worker signs, then the court; a signed
form is never edited, a correction is a new version both sign again, the old one
stays; every signature and correction is in the audit trail."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from test_matter_pages import XINGYAN_ADDRESS, YUNCHENG_COURT, file_directly, id_number

from models import AuditRecord, Court, Grid, Matter, MatterState, Role, User
from models.fees import LedgerLine
from models.record_forms import (
    FormError,
    OutcomeKind,
    RecordForm,
    correct,
    current_form,
    edit,
    make_form,
    ready_to_confirm,
    sign_as_court,
    sign_as_worker,
    versions,
)

OUTCOME = {"result": "served", "method": "direct", "served_on": "2026-03-02",
           "recipient": "王某本人"}


def account(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def done_matter(session, case: str = "（2026）粤5302执301号", court: str = YUNCHENG_COURT,
                address: str = XINGYAN_ADDRESS, serial: str = "301", **extra) -> Matter:
    """A matter the grid has finished (as models.workflow will leave it)."""
    matter = file_directly(session, court, case, address, debtor_id_number=id_number(serial),
                           **extra)
    for state in (MatterState.accepted, MatterState.dispatched, MatterState.done):
        matter.move_to(state)
    session.flush()
    return matter


@pytest.fixture
def worker(session):
    return account(session, "demo_worker")


@pytest.fixture
def officer(session):
    return account(session, "demo_court_yuncheng")


@pytest.fixture
def form(session, worker):
    return make_form(session, done_matter(session), OUTCOME, actor=worker)


def audit_actions(session, form_ids) -> list[str]:
    return list(session.scalars(select(AuditRecord.action).where(
        AuditRecord.entity == "record_form", AuditRecord.entity_id.in_(
            [str(i) for i in form_ids]), AuditRecord.action.not_in(["create", "update"]))
        .order_by(AuditRecord.seq)))


def test_a_form_holds_the_matter_and_the_outcome_as_filled(session, form):
    content = form.content
    assert content["matter"]["case_number"] == "（2026）粤5302执301号"
    assert content["matter"]["court"] == YUNCHENG_COURT
    assert content["matter"]["grid"]["path"] == ["云城区", "云城街道", "星岩社区"]
    assert content["outcome"] == OUTCOME
    assert form.version == 1 and form.current and form.outcome_kind is OutcomeKind.completed
    assert not ready_to_confirm(session, form.matter)


def test_the_court_cannot_sign_before_the_worker(session, form, officer):
    with pytest.raises(FormError, match="grid worker signs the record form first"):
        sign_as_court(session, form, officer)
    assert form.court_signed_at is None


def test_both_sign_in_order_and_the_matter_is_ready_to_confirm(session, form, worker, officer):
    sign_as_worker(session, form, worker)
    line = sign_as_court(session, form, officer)
    assert form.worker_signed_by_id == worker.id and form.court_signed_by_id == officer.id
    assert form.worker_signed_at <= form.court_signed_at
    assert ready_to_confirm(session, form.matter)
    # Signing does not move the matter: the confirm step of the workflow does.
    assert form.matter.state is MatterState.done
    assert line.form_id == form.id
    assert audit_actions(session, [form.id]) == ["sign_record_worker", "sign_record_court"]


@pytest.mark.parametrize("signer, side", [("demo_court_yuncheng", "worker"),
                                          ("demo_admin", "worker"),
                                          ("demo_worker", "court"),
                                          ("demo_liaison", "court")])
def test_each_side_signs_only_for_itself(session, form, signer, side, worker):
    if side == "court":
        sign_as_worker(session, form, worker)
    sign = sign_as_worker if side == "worker" else sign_as_court
    with pytest.raises(FormError, match="Only"):
        sign(session, form, account(session, signer))


def test_nobody_signs_twice(session, form, worker):
    sign_as_worker(session, form, worker)
    with pytest.raises(FormError, match="already signed"):
        sign_as_worker(session, form, account(session, "demo_liaison"))


def test_an_unsigned_form_may_be_edited_a_signed_one_refuses(session, form, worker):
    edit(session, form, {**form.content, "outcome": {**OUTCOME, "recipient": "王某之妻"}})
    assert form.content["outcome"]["recipient"] == "王某之妻"
    sign_as_worker(session, form, worker)
    with pytest.raises(FormError, match="signed record form cannot be edited"):
        edit(session, form, {**form.content, "outcome": {}})


def test_the_database_refuses_to_rewrite_a_signed_form(session, form, worker):
    """Whatever writes the row (a script, the ORM bypassed), the content stays."""
    sign_as_worker(session, form, worker)
    refused = "signed record form cannot be edited"
    with pytest.raises(DBAPIError, match=refused), session.begin_nested():
        session.execute(text("UPDATE record_forms SET content = '{}' WHERE id = :id"),
                        {"id": form.id})
    with pytest.raises(DBAPIError, match="cannot be undone"), session.begin_nested():
        session.execute(text("UPDATE record_forms SET worker_signed_at = NULL "
                             "WHERE id = :id"), {"id": form.id})


def test_a_correction_is_a_new_version_both_sign_again_the_old_stays(session, form, worker,
                                                                     officer):
    sign_as_worker(session, form, worker)
    first_line = sign_as_court(session, form, officer)
    fixed = {**form.content, "outcome": {**OUTCOME, "served_on": "2026-03-03"}}
    new = correct(session, form, fixed, officer, reason="送达日期写错")
    assert (new.version, form.version) == (2, 1)
    assert form.superseded_by == new.id and not form.current
    assert form.content["outcome"]["served_on"] == "2026-03-02"  # as it was signed
    assert form.fully_signed  # the old version keeps its signatures
    assert new.worker_signed_at is None and new.court_signed_at is None
    assert current_form(session, form.matter) is new
    assert not ready_to_confirm(session, form.matter)
    assert [f.version for f in versions(session, form.matter)] == [1, 2]
    # The old version's fee is no longer owed; the new one owes it once signed again.
    assert first_line.voided_at is not None
    with pytest.raises(FormError, match="first"):
        sign_as_court(session, new, officer)
    with pytest.raises(FormError, match="replaced by a correction"):
        sign_as_worker(session, form, worker)
    sign_as_worker(session, new, worker)
    second_line = sign_as_court(session, new, officer)
    assert ready_to_confirm(session, form.matter)
    live = session.scalars(LedgerLine.live().where(LedgerLine.matter_id == form.matter_id))
    assert list(live) == [second_line]
    assert audit_actions(session, [form.id, new.id]) == [
        "sign_record_worker", "sign_record_court", "correct_record_form",
        "sign_record_worker", "sign_record_court"]


def test_an_unsigned_form_is_edited_not_corrected(session, form, officer):
    with pytest.raises(FormError, match="edit it instead"):
        correct(session, form, form.content, officer)


def test_one_current_version_per_matter(session, form):
    """The partial unique index: a second current form for a matter is refused."""
    twin = RecordForm(id=uuid.uuid4(), matter_id=form.matter_id, county_code=form.county_code,
                      version=5, outcome_kind=OutcomeKind.completed, content={},
                      made_at=form.made_at, made_by_name="x")
    with pytest.raises(DBAPIError), session.begin_nested():
        session.add(twin)
        session.flush()


def test_recording_the_outcome_again_makes_the_next_version(session, form, worker):
    again = make_form(session, form.matter, {**OUTCOME, "method": "not_served"}, actor=worker)
    assert again.version == 2 and form.superseded_by == again.id
    assert again.outcome_kind is OutcomeKind.searched


def test_only_the_matters_own_court_and_grid_sign(session, form, worker):
    """Court staff of another court, a worker of another grid: refused."""
    other = User(username="t_other_court", display_name="别院干警", role=Role.court_staff,
                 password_hash="x", court=session.scalar(
                     select(Court).where(Court.name == "罗定市人民法院")))
    elsewhere = User(username="t_other_worker", display_name="别村网格员",
                     role=Role.grid_worker, password_hash="x",
                     grid=session.scalar(Grid.current().where(Grid.code == "445302001004")))
    session.add_all([other, elsewhere])
    session.flush()
    with pytest.raises(FormError, match="does not act on this matter"):
        sign_as_worker(session, form, elsewhere)
    sign_as_worker(session, form, worker)
    with pytest.raises(FormError, match="does not act on this matter"):
        sign_as_court(session, form, other)
    # The intermediate court reads the base court's matters but does not act on them.
    with pytest.raises(FormError, match="does not act on this matter"):
        sign_as_court(session, form, account(session, "demo_court_city"))
