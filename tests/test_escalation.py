"""The escalation ladder (models.escalation) in one transaction, with the app's clock
moved: the liaison reminded once before the accept deadline; nobody accepts, so the
town centre, then the county committee, each once; a second pass changes nothing;
the ladder stops when the matter moves on; the court's urgent call reaches both
levels at once; each level can act. (Two workers, a restart and concurrent passes,
on a database of their own: test_escalation_workers.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from test_workflow import a_matter, account, go, refused

from models import (
    AuditRecord,
    Grid,
    Matter,
    MatterState,
    MatterStep,
    Notification,
    User,
    clock,
)
from models.access import Scope
from models.escalation import LADDER, run_pass, shows_urgent

S = MatterState
HOUR = 3600
CASE = "（2026）粤5302执7401号"
NEIGHBOUR = "445302001001"  # another village of 云城街道
QIANFENG_ADDRESS = "云浮市云城区前锋镇"  # in 云城区, outside 云城街道


@pytest.fixture(autouse=True)
def still_clock():
    clock.reset()
    yield
    clock.reset()


def due_in(session, hours: float, case: str = CASE) -> Matter:
    """A matter on 星岩社区 whose accept deadline is that far from now (the rules'
    job, models.deadlines: set here by hand)."""
    matter = a_matter(session, case)
    matter.accept_due_at = clock.now() + timedelta(hours=hours)
    session.flush()
    return matter


def notified(session, matter, kind: str | None = None) -> list[str]:
    """The usernames told about the matter (of that kind), one per notification."""
    rows = session.execute(
        select(Notification.account_id).where(Notification.matter_id == matter.id,
                                              *([Notification.kind == kind] if kind else []))
        .order_by(Notification.id)).scalars()
    return [session.get(User, a).username for a in rows]


def steps(session, matter) -> list[str]:
    return list(session.scalars(select(MatterStep.step).where(MatterStep.matter_id == matter.id)
                                .order_by(MatterStep.at, MatterStep.id)))


def audited(session, matter, step: str) -> int:
    return session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.entity == "matter", AuditRecord.entity_id == str(matter.id),
        AuditRecord.after["step"].astext == step))


def sees(session, username: str, matter) -> bool:
    scope = Scope.of(account(session, username))
    return session.scalar(select(Matter.id).where(Matter.id == matter.id,
                                                  scope.matters())) is not None


def a_pass(session, hours: float = 0):
    clock.move(hours * HOUR)
    counts = run_pass(session, clock.now())
    session.expire_all()
    return counts


# --- the ladder --------------------------------------------------------------------------

def test_the_liaison_is_reminded_once_before_the_accept_deadline(session):
    matter = due_in(session, 10)
    a_pass(session)
    assert notified(session, matter) == [] and matter.reminded_at is None  # not yet
    a_pass(session, 10 - LADDER.remind_before.total_seconds() / HOUR + 0.5)
    assert notified(session, matter, "reminder") == ["demo_liaison"]
    assert matter.reminded_at is not None and matter.state is S.assigned
    assert steps(session, matter) == ["remind"] and audited(session, matter, "remind") == 1
    assert a_pass(session, 0.25).changed == 0
    assert notified(session, matter) == ["demo_liaison"]


def test_nobody_accepts_town_centre_then_committee_once_each(session):
    matter = due_in(session, 1)
    assert not sees(session, "demo_yuncheng_committee", matter)

    first = a_pass(session, 2)  # the deadline passed an hour ago: it was never reminded
    assert first.to_town >= 1
    assert matter.state is S.escalated and matter.escalation_level == 1
    assert notified(session, matter) == ["demo_town_centre"]
    assert steps(session, matter) == ["to_town"] and audited(session, matter, "to_town") == 1
    assert sees(session, "demo_town_centre", matter)
    assert not sees(session, "demo_yuncheng_committee", matter)
    assert a_pass(session).changed == 0  # a second pass right after changes nothing

    a_pass(session, LADDER.committee_after.total_seconds() / HOUR - 1)
    assert matter.escalation_level == 1  # not yet

    a_pass(session, 1.5)
    assert matter.state is S.escalated and matter.escalation_level == 2
    assert notified(session, matter) == ["demo_town_centre", "demo_yuncheng_committee"]
    assert steps(session, matter) == ["to_town", "to_committee"]
    assert audited(session, matter, "to_committee") == 1
    assert sees(session, "demo_yuncheng_committee", matter)
    assert not sees(session, "demo_city_committee", matter)  # a county's, not the city's
    a_pass(session, 48)  # the top of the ladder: nothing more for this matter (the
    # demo's own matters falling due in those two days climb on their own)
    assert matter.escalation_level == 2 and steps(session, matter) == ["to_town", "to_committee"]
    assert notified(session, matter) == ["demo_town_centre", "demo_yuncheng_committee"]


def test_a_pass_after_downtime_does_what_is_due_once(session):
    """Days with no pass: one pass climbs as far as the matter's state says, once."""
    matter = due_in(session, 1)
    a_pass(session, 72)
    assert matter.escalation_level == 1  # one rung per pass: the town centre first
    a_pass(session, LADDER.committee_after.total_seconds() / HOUR)
    assert matter.escalation_level == 2
    assert notified(session, matter) == ["demo_town_centre", "demo_yuncheng_committee"]
    assert a_pass(session).changed == 0


def test_escalation_stops_when_the_liaison_accepts(session):
    matter = due_in(session, 1)
    go(session, matter, "demo_liaison", "accept")
    a_pass(session, 100)
    assert matter.state is S.accepted and matter.escalation_level == 0
    assert notified(session, matter) == [] and steps(session, matter) == ["accept"]


def test_escalation_stops_when_the_town_centre_takes_it(session):
    matter = due_in(session, 1)
    a_pass(session, 2)
    go(session, matter, "demo_town_centre", "take")
    a_pass(session, 100)
    assert matter.state is S.accepted and matter.escalation_level == 1
    assert notified(session, matter) == ["demo_town_centre"]


def test_the_parts_of_a_pass_together_move_every_matter_once(session):
    """The worker's pass runs in parts (every other county by code, the city court's
    own code among them): the parts together move each due matter once, as one pass."""
    city = due_in(session, 1, "（2026）粤53执7402号")  # filed by the city's court
    city.county_code = "445300"
    mine = due_in(session, 1)
    for matter in (city, mine):
        matter.accept_due_at = clock.now() - timedelta(hours=1)
    session.flush()
    now = clock.now()
    first = run_pass(session, now, part=0, parts=2)
    second = run_pass(session, now, part=1, parts=2)
    session.expire_all()
    assert first.to_town > 0 and second.to_town > 0
    assert city.state is S.escalated and mine.state is S.escalated
    assert steps(session, city) == ["to_town"] and steps(session, mine) == ["to_town"]
    assert run_pass(session, now).changed == 0  # nothing left for the whole province
    due = session.scalar(select(func.count()).select_from(Matter).where(
        Matter.state == S.escalated, Matter.escalated_at == now))
    # every matter a part moved, to the town centre or (the demo's) to the committee
    assert sum(p.to_town + p.to_committee for p in (first, second)) == due


def test_a_late_liaison_still_accepts_and_the_ladder_stops(session):
    """Escalated to the town centre because nobody answered, then the liaison answers:
    签收 is still theirs (the town centre's 接办 too), and the ladder climbs no further."""
    matter = due_in(session, 1)
    a_pass(session, 2)
    assert matter.state is S.escalated and matter.escalation_level == 1
    go(session, matter, "demo_liaison", "accept")
    assert matter.state is S.accepted
    a_pass(session, LADDER.committee_after.total_seconds() / HOUR + 1)
    assert matter.escalation_level == 1
    assert notified(session, matter) == ["demo_town_centre"]
    assert steps(session, matter) == ["to_town", "accept"]


def test_a_redispatched_matter_climbs_again_only_for_its_new_deadline(session):
    matter = due_in(session, 1)
    a_pass(session, 2)
    neighbour = session.scalar(Grid.current().where(Grid.code == NEIGHBOUR))
    go(session, matter, "demo_town_centre", "redispatch", grid=neighbour, note="换个网格")
    assert matter.state is S.assigned
    assert a_pass(session, 1).to_town == 0  # the old deadline was escalated already
    matter.accept_due_at = clock.now() + timedelta(hours=1)  # the new grid's (the rules')
    session.flush()
    a_pass(session, 2)
    assert matter.state is S.escalated and matter.escalation_level == 1
    assert steps(session, matter)[-1] == "to_town"
    assert notified(session, matter).count("demo_town_centre") == 2  # once per deadline


def test_the_courts_own_escalation_tells_the_town_centre(session):
    matter = due_in(session, 100)
    go(session, matter, "demo_court_yuncheng", "escalate")
    assert matter.escalation_level == 0
    a_pass(session)
    assert matter.escalation_level == 1 and notified(session, matter) == ["demo_town_centre"]


# --- the urgent call ---------------------------------------------------------------------

def test_the_urgent_call_reaches_both_levels_at_once_until_accepted(session):
    matter = due_in(session, 100)
    assert not shows_urgent(matter)
    row = go(session, matter, "demo_court_yuncheng", "urgent", note="联系不上网格长")
    assert row.step == "urgent" and matter.urgent_at is not None and shows_urgent(matter)
    assert sorted(notified(session, matter, "urgent")) == ["demo_town_centre",
                                                         "demo_yuncheng_committee"]
    assert sees(session, "demo_yuncheng_committee", matter)
    again = refused(session, matter, "demo_court_yuncheng", "urgent")
    assert again.kind == "invalid"
    assert len(notified(session, matter)) == 2
    assert refused(session, matter, "demo_liaison", "urgent").kind == "forbidden"
    go(session, matter, "demo_liaison", "accept")
    assert not shows_urgent(matter)


def test_the_urgent_call_is_the_filing_courts(session):
    matter = due_in(session, 100)
    assert refused(session, matter, "demo_town_centre", "urgent").kind == "forbidden"
    go(session, matter, "demo_liaison", "accept")
    assert refused(session, matter, "demo_court_yuncheng", "urgent").kind == "illegal"


# --- each level acts ---------------------------------------------------------------------

def test_the_town_centre_notes_what_it_did(session):
    matter = due_in(session, 1)
    a_pass(session, 2)
    row = go(session, matter, "demo_town_centre", "note", note="已电话联系网格长")
    assert (row.step, row.note, matter.state) == ("note", "已电话联系网格长", S.escalated)
    assert refused(session, matter, "demo_town_centre", "note").kind == "invalid"  # no words


def test_the_committee_reassigns_inside_its_county_and_notes(session):
    matter = due_in(session, 1)
    assert refused(session, matter, "demo_yuncheng_committee", "note").kind == "missing"
    a_pass(session, 2)
    a_pass(session, LADDER.committee_after.total_seconds() / HOUR + 1)
    go(session, matter, "demo_yuncheng_committee", "note", note="已督促镇街中心")
    outside = session.scalar(Grid.current().where(Grid.code.not_like("445302%"),
                                                  Grid.level == "village"))
    wrong = refused(session, matter, "demo_yuncheng_committee", "reassign", grid=outside,
                    note="改派")
    assert wrong.kind == "invalid"
    neighbour = session.scalar(Grid.current().where(Grid.code == NEIGHBOUR))
    row = go(session, matter, "demo_yuncheng_committee", "reassign", grid=neighbour,
             note="改派邻村")
    assert (row.step, matter.state) == ("reassign", S.assigned)
    assert matter.primary_assignment.grid.code == NEIGHBOUR
    # the grid accepts on its own from here; the committee still reads the matter
    assert refused(session, matter, "demo_yuncheng_committee", "take").kind == "forbidden"


def test_the_committee_reads_no_other_matter(session, client_as):
    matter = due_in(session, 100, case="（2026）粤5302执7402号")
    assert not sees(session, "demo_yuncheng_committee", matter)
    committee = client_as("demo_yuncheng_committee")
    assert committee.get(f"/admin/matter/details/?id={matter.id}").status_code in (302, 404)


def test_the_committee_sees_an_escalated_matter_masked(session, client_as):
    from test_matter_pages import XINGYAN_ADDRESS, YUNCHENG_COURT, file_directly, id_number

    matter = file_directly(session, YUNCHENG_COURT, "（2026）粤5302执7403号", XINGYAN_ADDRESS,
                           debtor_id_number=id_number("743"))
    matter.accept_due_at = clock.now() + timedelta(hours=1)
    session.flush()
    a_pass(session, 2)
    a_pass(session, LADDER.committee_after.total_seconds() / HOUR + 1)
    committee = client_as("demo_yuncheng_committee")
    page = committee.get(f"/admin/matter/details/?id={matter.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert matter.case_number in text and id_number("743") not in text
    listed = committee.get("/admin/matter/").get_data(as_text=True)
    assert matter.case_number in listed


def test_the_ladders_own_steps_are_nobodys_to_take(session):
    matter = due_in(session, 100)
    for name in ("remind", "to_town", "to_committee"):
        assert refused(session, matter, "demo_admin", name).kind == "invalid"


# --- pages, API, command line ------------------------------------------------------------

def test_the_urgent_call_from_the_courts_page_shows_at_every_level(session, client_as):
    matter = due_in(session, 100)
    court = client_as("demo_court_yuncheng")
    page = court.get(f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)
    assert 'id="gridlink-step-urgent"' in page
    answer = court.post(f"/admin/matter/{matter.id}/step/urgent/",
                        data={"version": matter.version, "note": "电话无人接听"})
    assert answer.status_code == 302
    session.expire_all()
    assert matter.urgent_at is not None
    page = court.get(f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)
    assert 'id="gridlink-urgent-call"' in page and 'id="gridlink-step-urgent"' not in page
    for username in ("demo_town_centre", "demo_yuncheng_committee"):
        home = client_as(username).get("/admin/").get_data(as_text=True)
        assert matter.case_number in home and "gridlink-urgent-call" in home, username
    liaison = client_as("demo_liaison")
    assert "gridlink-urgent-call" in liaison.get("/admin/").get_data(as_text=True)
    liaison.post(f"/admin/matter/{matter.id}/step/accept/", data={"version": matter.version})
    session.expire_all()
    assert matter.state is S.accepted
    assert "gridlink-urgent-call" not in court.get(
        f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)


def test_the_committee_reassigns_from_its_page(session, client_as):
    matter = due_in(session, 1)
    a_pass(session, 2)
    a_pass(session, LADDER.committee_after.total_seconds() / HOUR + 1)
    committee = client_as("demo_yuncheng_committee")
    page = committee.get(f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)
    assert 'id="step-reassign-grid"' in page and NEIGHBOUR in page
    assert 'data-step="to_committee"' in page and 'id="gridlink-escalation"' in page
    committee.post(f"/admin/matter/{matter.id}/step/reassign/",
                   data={"version": matter.version, "grid": NEIGHBOUR, "note": "改派邻村"})
    session.expire_all()
    assert matter.state is S.assigned and matter.primary_assignment.grid.code == NEIGHBOUR


def test_a_court_system_calls_urgent_through_the_api(session, runner, anonymous):
    matter = due_in(session, 100)
    secret = runner.invoke(args=["tokens", "issue", "云浮市云城区人民法院",
                                 "--label", "执行案件管理系统"]).output.strip()
    answer = anonymous.post(f"/api/v1/matters/{matter.id}/steps", json={"step": "urgent"},
                            headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.json
    assert sorted(notified(session, matter, "urgent")) == ["demo_town_centre",
                                                         "demo_yuncheng_committee"]


def test_escalate_once_says_what_it_did(session, runner):
    matter = due_in(session, 1)
    clock.move(2 * HOUR)
    said = runner.invoke(args=["escalate", "--once"])
    assert said.exit_code == 0, said.output
    assert "escalated to town centres:" in said.output
    assert "notifications written:" in said.output
    session.expire_all()
    assert matter.escalation_level == 1
    again = runner.invoke(args=["escalate", "--once"]).output
    assert all(line.rstrip().endswith(" 0") for line in again.splitlines())
    assert runner.invoke(args=["escalate"]).exit_code != 0  # the worker's job: --once asks


def test_the_command_line_takes_the_urgent_call(session, runner):
    matter = due_in(session, 100)
    said = runner.invoke(args=["matters", "step", str(matter.id), "urgent",
                               "--as", "demo_court_yuncheng", "--lang", "en"])
    assert said.exit_code == 0, said.output
    assert len(notified(session, matter, "urgent")) == 2


def test_the_committees_list_holds_only_what_was_brought_to_it(session, client_as):
    quiet = due_in(session, 100, case="（2026）粤5302执7404号")
    brought = due_in(session, 100, case="（2026）粤5302执7405号")
    go(session, brought, "demo_court_yuncheng", "urgent")
    listed = client_as("demo_yuncheng_committee").get("/admin/matter/").get_data(as_text=True)
    assert brought.case_number in listed and quiet.case_number not in listed
    city = client_as("demo_city_committee")
    assert city.get("/admin/matter/").status_code == 403  # the ladder stops at the county
    assert city.get(f"/admin/matter/details/?id={brought.id}").status_code == 403
