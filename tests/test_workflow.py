"""A matter's life after assignment (models.workflow): each step's happy path, each
illegal step refused naming the state, the wrong people refused, two accepts at once,
and the steps as the pages, the API and the command line show them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from test_matter_pages import XINGYAN_ADDRESS, YUNCHENG_COURT, file_directly

from models import AuditRecord, Grid, Matter, MatterState, MatterStep, RosterEntry, User
from models import workflow as wf
from models.record_forms import current_form, make_form
from models.roster import Person, RosterRole
from models.workflow import StepError

S = MatterState
CITY_COURT = "云浮市中级人民法院"
NEIGHBOUR = "445302001001"  # another village of 云城街道
QIANFENG_ADDRESS = "云浮市云城区前锋镇"  # in 云城区, outside 云城街道


def account(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def a_matter(session, case: str = "（2026）粤5302执7001号", court: str = YUNCHENG_COURT,
             address: str = XINGYAN_ADDRESS) -> Matter:
    return file_directly(session, court, case, address)


def worker_person(session) -> Person:
    return session.get(Person, account(session, "demo_worker").person_id)


def go(session, matter, username, name, **kwargs):
    """Take one step as that account, through begin and the named step."""
    actor = account(session, username)
    version = kwargs.pop("version", None)
    locked = wf.begin(session, matter.id, actor, version=version)
    return wf.take_step(session, locked, actor, name, **kwargs)


def refused(session, matter, username, name, **kwargs) -> StepError:
    with pytest.raises(StepError) as caught:
        go(session, matter, username, name, **kwargs)
    return caught.value


def accepted_and_dispatched(session, case="（2026）粤5302执7002号") -> Matter:
    matter = a_matter(session, case)
    go(session, matter, "demo_liaison", "accept")
    go(session, matter, "demo_liaison", "dispatch", worker=worker_person(session))
    return matter


def done(session, case) -> Matter:
    """Dispatched, then the outcome recorded through the contract models.outcomes uses."""
    matter = accepted_and_dispatched(session, case)
    actor = account(session, "demo_worker")
    locked = wf.begin(session, matter.id, actor, version=matter.version)
    wf.step(session, locked, actor, "finish", S.done, data={"outcome": "served"})
    return matter


# --- the happy paths -----------------------------------------------------------------------

def test_the_liaison_accepts_and_dispatches_to_a_grid_worker(session):
    matter = a_matter(session)
    assert matter.state is S.assigned and matter.version == 0
    row = go(session, matter, "demo_liaison", "accept", version=0)
    assert matter.state is S.accepted and matter.version == 1
    assert (row.step, row.from_state, row.to_state) == ("accept", S.assigned, S.accepted)
    assert row.actor_name == "星岩社区网格长（演示）" and row.county_code == matter.county_code
    worker = worker_person(session)
    go(session, matter, "demo_liaison", "dispatch", worker=worker, version=1)
    assert matter.state is S.dispatched and matter.field_worker_id == worker.id
    steps = wf.history(session, matter.id)
    assert [s.step for s in steps] == ["accept", "dispatch"]
    assert steps[1].data == {"worker": {"id": str(worker.id), "name": worker.name}}
    audit = session.scalars(select(AuditRecord).where(
        AuditRecord.action == "step", AuditRecord.entity_id == str(matter.id))
        .order_by(AuditRecord.seq)).all()
    assert [(a.actor, a.after["step"]) for a in audit] == [("demo_liaison", "accept"),
                                                           ("demo_liaison", "dispatch")]


def test_the_liaison_may_keep_it_and_do_the_field_work(session):
    matter = a_matter(session)
    go(session, matter, "demo_liaison", "accept")
    go(session, matter, "demo_liaison", "dispatch", worker=None)
    assert matter.field_worker_id == account(session, "demo_liaison").person_id
    go(session, matter, "demo_liaison", "fail", reason="refused")
    assert matter.state is S.failed


def test_a_worker_of_another_grid_cannot_be_sent(session):
    matter = a_matter(session)
    go(session, matter, "demo_liaison", "accept")
    stranger = session.scalar(RosterEntry.current().join(Grid, RosterEntry.grid_id == Grid.id)
                              .where(Grid.code == NEIGHBOUR,
                                     RosterEntry.role == RosterRole.grid_worker).limit(1)).person
    error = refused(session, matter, "demo_liaison", "dispatch", worker=stranger)
    assert error.kind == "invalid" and stranger.name in str(error)


def test_the_grid_worker_fails_it_with_a_reason_from_the_list(session):
    matter = accepted_and_dispatched(session)
    assert refused(session, matter, "demo_worker", "fail", reason="bored").kind == "invalid"
    assert refused(session, matter, "demo_worker", "fail", reason="other").kind == "invalid"
    row = go(session, matter, "demo_worker", "fail", reason="other", note="被执行人已去世")
    assert matter.state is S.failed and (row.reason_code, row.note) == ("other", "被执行人已去世")
    assert row.reason_label == "Other"


def test_the_liaison_returns_it_through_the_steps(session):
    matter = a_matter(session)
    go(session, matter, "demo_liaison", "accept")
    assert refused(session, matter, "demo_liaison", "return", note=" ").kind == "invalid"
    go(session, matter, "demo_liaison", "return", note="被执行人已迁往外地")
    assert matter.state is S.returned and matter.primary_assignment is None
    assert wf.history(session, matter.id)[-1].note == "被执行人已迁往外地"


def test_the_court_cancels_chases_confirms_and_sends_back(session):
    matter = a_matter(session)
    go(session, matter, "demo_court_yuncheng", "chase", note="请尽快签收")
    go(session, matter, "demo_court_yuncheng", "chase")
    assert matter.chases == 2 and matter.state is S.assigned and matter.version == 2
    go(session, matter, "demo_court_yuncheng", "cancel", reason="settled")
    assert matter.state is S.cancelled

    finished = done(session, "（2026）粤5302执7003号")
    assert finished.state is S.done
    assert refused(session, finished, "demo_court_yuncheng", "send_back").kind == "invalid"
    go(session, finished, "demo_court_yuncheng", "send_back", note="缺送达回证照片")
    assert finished.state is S.dispatched
    actor = account(session, "demo_worker")
    wf.step(session, wf.begin(session, finished.id, actor), actor, "finish", S.done)
    make_form(session, finished, {"method": "direct"}, actor=actor)  # the outcome's form
    assert refused(session, finished, "demo_court_yuncheng", "confirm").kind == "invalid"
    go(session, finished, "demo_worker", "sign")  # the grid signs first
    go(session, finished, "demo_court_yuncheng", "confirm")
    assert finished.state is S.confirmed
    assert current_form(session, finished).court_signed_name
    assert [s.step for s in wf.history(session, finished.id)] == [
        "accept", "dispatch", "finish", "send_back", "finish", "sign", "confirm"]


def test_the_town_centre_takes_an_escalated_matter_and_redispatches_in_its_town(session):
    matter = a_matter(session)
    go(session, matter, "demo_court_yuncheng", "escalate", note="联系不上网格长")
    assert matter.state is S.escalated
    go(session, matter, "demo_town_centre", "take")
    assert matter.state is S.accepted
    neighbour = session.scalar(Grid.current().where(Grid.code == NEIGHBOUR))
    go(session, matter, "demo_town_centre", "redispatch", grid=neighbour, note="实际居住在丰收村")
    assert matter.state is S.assigned and matter.primary_assignment.grid.code == NEIGHBOUR
    ended = [a for a in matter.assignments if a.ended_at is not None]
    assert ended and ended[0].end_reason == "实际居住在丰收村"
    # The new grid's liaison takes it from here; the old one no longer can.
    assert refused(session, matter, "demo_liaison", "accept").kind in ("missing", "forbidden")


def test_the_town_centre_dispatches_what_it_took(session):
    matter = a_matter(session)
    go(session, matter, "demo_court_yuncheng", "escalate")
    go(session, matter, "demo_town_centre", "take")
    go(session, matter, "demo_town_centre", "dispatch", worker=worker_person(session))
    assert matter.state is S.dispatched


# --- illegal steps: refused, naming the state ---------------------------------------------

@pytest.mark.parametrize(("username", "name", "kwargs"), [
    ("demo_liaison", "accept", {}),
    ("demo_liaison", "dispatch", {"worker": None}),
    ("demo_court_yuncheng", "cancel", {"reason": "settled"}),
    ("demo_court_yuncheng", "chase", {}),
    ("demo_court_yuncheng", "send_back", {"note": "缺照片"}),
])
def test_a_done_matter_refuses_earlier_steps_naming_its_state(session, username, name, kwargs):
    matter = done(session, "（2026）粤5302执7004号")
    error = refused(session, matter, username, name, **kwargs) if name != "send_back" else None
    if error is None:  # send_back is legal from done: take it, then it is dispatched
        go(session, matter, username, name, **kwargs)
        error = refused(session, matter, "demo_court_yuncheng", "confirm")
        assert error.params["state"] == "dispatched"
        return
    assert error.kind == "illegal" and error.params["state"] == "done"


def test_the_refusal_reads_in_chinese(client_as, session):
    matter = done(session, "（2026）粤5302执7005号")
    from flask import Flask  # noqa: F401  (an app context for the translation)

    from admin.views.matter_formatters import say
    error = refused(session, matter, "demo_liaison", "accept")
    with client_as("demo_liaison").application.test_request_context():
        assert say(error) == "这件事项已完成，不能签收。"


def test_confirm_before_done_is_refused(session):
    matter = accepted_and_dispatched(session)
    error = refused(session, matter, "demo_court_yuncheng", "confirm")
    assert error.kind == "illegal" and error.params["state"] == "dispatched"


# --- the wrong people -----------------------------------------------------------------------

def test_only_the_rosters_liaison_accepts(session):
    matter = a_matter(session)
    # The town's liaison reads the village's matters but is not its liaison.
    assert refused(session, matter, "demo_town_liaison", "accept").kind == "forbidden"
    assert refused(session, matter, "demo_worker", "accept").kind == "forbidden"
    assert refused(session, matter, "demo_court_yuncheng", "accept").kind == "forbidden"
    # A new liaison on the roster takes the right with them.
    liaison = account(session, "demo_liaison")
    entry = session.scalar(RosterEntry.current().where(
        RosterEntry.person_id == liaison.person_id, RosterEntry.role == RosterRole.liaison))
    entry.valid_to = datetime.now(UTC).date()
    session.flush()
    assert refused(session, matter, "demo_liaison", "accept").kind == "forbidden"


def test_a_liaison_of_another_grid_does_not_even_find_it(session):
    matter = a_matter(session, address="云浮市云城区云城街道丰收村")
    assert refused(session, matter, "demo_liaison", "accept").kind == "missing"


def test_a_grid_worker_not_dispatched_cannot_fail_it(session):
    matter = a_matter(session)
    go(session, matter, "demo_liaison", "accept")
    other = session.scalar(RosterEntry.current().where(
        RosterEntry.grid_id == matter.primary_assignment.grid_id,
        RosterEntry.role == RosterRole.grid_worker,
        RosterEntry.person_id != worker_person(session).id).limit(1)).person
    go(session, matter, "demo_liaison", "dispatch", worker=other)
    assert refused(session, matter, "demo_worker", "fail", reason="refused").kind == "forbidden"


def test_the_intermediate_court_may_only_read_a_base_courts_matter(session):
    matter = a_matter(session)
    for name, kwargs in (("cancel", {"reason": "settled"}), ("chase", {}), ("escalate", {})):
        assert refused(session, matter, "demo_court_city", name, **kwargs).kind == "forbidden"
    own = a_matter(session, "（2026）粤53执7006号", court=CITY_COURT)
    go(session, own, "demo_court_city", "chase")
    assert own.chases == 1


def test_the_town_centre_outside_its_town_finds_nothing(session):
    matter = a_matter(session, address=QIANFENG_ADDRESS)
    assert matter.state is S.assigned
    matter.move_to(S.escalated)
    session.flush()
    assert refused(session, matter, "demo_town_centre", "take").kind == "missing"


def test_the_town_centre_redispatches_only_inside_its_town(session):
    matter = a_matter(session)
    outside = session.scalar(Grid.current().where(Grid.name == "前锋镇"))
    error = refused(session, matter, "demo_town_centre", "redispatch", grid=outside,
                    note="改派到前锋镇")
    assert error.kind == "invalid"
    assert matter.primary_assignment.grid.code.startswith("445302001")


# --- versions and races ---------------------------------------------------------------------

def test_a_stale_version_is_refused_naming_who_and_when(session):
    matter = a_matter(session)
    go(session, matter, "demo_liaison", "accept", version=0)
    error = refused(session, matter, "demo_court_yuncheng", "chase", version=0)
    assert error.kind == "stale" and error.params["who"] == "星岩社区网格长（演示）"
    assert abs(error.params["at"] - datetime.now(UTC)) < timedelta(days=1)


def test_two_accepts_at_once_one_wins(scratch_database):
    """Two liaison sessions press 签收 on the same page version at the same moment, each
    in its own connection and transaction: exactly one accepts; the other is told who
    was first."""
    from conftest import make_app

    from models import db

    app = make_app(scratch_database)
    with app.app_context():
        matter = file_directly(db.session, YUNCHENG_COURT, "（2026）粤5302执7099号",
                               XINGYAN_ADDRESS)
        db.session.commit()
        key, version = matter.id, matter.version
    start, answers = threading.Barrier(2, timeout=60), []

    def press():
        with app.app_context():
            actor = db.session.scalar(select(User).where(User.username == "demo_liaison"))
            start.wait()
            try:
                locked = wf.begin(db.session, key, actor, version=version)
                wf.take_step(db.session, locked, actor, "accept")
                db.session.commit()
                answers.append("won")
            except StepError as e:
                db.session.rollback()
                answers.append(e.kind)
            db.session.remove()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        steps = db.session.scalars(select(MatterStep).where(MatterStep.matter_id == key)).all()
        state = db.session.get(Matter, key).state
        db.session.remove()
        db.engine.dispose()
    assert sorted(answers) == ["stale", "won"]
    assert len(steps) == 1 and state is S.accepted


# --- the rule table itself -----------------------------------------------------------------

def test_every_step_follows_the_transition_table():
    from models.matters import TRANSITIONS
    for name, rule in wf.STEPS.items():
        for source in rule.sources:
            assert rule.to is None or rule.to in TRANSITIONS[source], (name, source)


def test_available_steps_follow_role_and_state(session):
    matter = a_matter(session)
    assert wf.available(session, matter, account(session, "demo_liaison")) == ["accept",
                                                                                 "return"]
    assert wf.available(session, matter, account(session, "demo_court_city")) == []
    assert wf.available(session, matter, account(session, "demo_worker")) == []
    assert set(wf.available(session, matter, account(session, "demo_court_yuncheng"))) == {
        "cancel", "chase", "escalate", "reroute", "urgent"}
    assert wf.available(session, matter, account(session, "demo_town_centre")) == [
        "redispatch", "note"]


def test_seeding_the_demo_again_ties_older_demo_accounts_to_their_roster_people(session):
    from seeds.demo import load_demo
    liaison = account(session, "demo_liaison")
    person = liaison.person_id
    liaison.person_id = None
    session.flush()
    assert "1 demo accounts now name their roster person" in load_demo(session)
    assert account(session, "demo_liaison").person_id == person


def test_the_courts_reroute_is_a_step_too(client_as, session):
    matter = a_matter(session)
    go(session, matter, "demo_liaison", "accept")
    court = client_as("demo_court_yuncheng")
    court.post(f"/admin/matter/{matter.id}/reroute/",
               data={"code": NEIGHBOUR, "reason": "住在丰收村", "version": "1"})
    session.expire_all()
    moved = session.get(Matter, matter.id)
    assert moved.state is S.assigned and moved.primary_assignment.grid.code == NEIGHBOUR
    assert moved.version == 2
    last = wf.history(session, matter.id)[-1]
    assert (last.step, last.from_state, last.note) == ("reroute", S.accepted, "住在丰收村")
    # A page still showing the old version is refused.
    late = court.post(f"/admin/matter/{matter.id}/reroute/", follow_redirects=True,
                      data={"code": "445302001003", "reason": "改回", "version": "1"})
    assert "云城区法院执行干警（演示）" in late.get_data(as_text=True)
