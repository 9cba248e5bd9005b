"""A matter's steps on its page, in the API and on the command line (models.workflow
behind all three): the actions offered, the history, late and illegal steps refused
with their reason, the town centre's list, polling for changes.

Pages are read in English (/lang/en) unless the test is about the Chinese."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from test_matter_pages import (
    XINGYAN_ADDRESS,
    YUNCHENG_COURT,
    english,
    file_directly,
    id_number,
)

from models import Grid, Matter, MatterState, User

S = MatterState
CITY_COURT = "云浮市中级人民法院"
QIANFENG_ADDRESS = "云浮市云城区前锋镇"


def a_matter(session, case="（2026）粤5302执7101号", court=YUNCHENG_COURT,
             address=XINGYAN_ADDRESS, **extra) -> Matter:
    return file_directly(session, court, case, address, **extra)


def page_of(client, matter) -> str:
    return client.get(f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)


def post_step(client, matter, name, **data):
    return client.post(f"/admin/matter/{matter.id}/step/{name}/", data=data,
                       follow_redirects=True)


def now_state(session, matter) -> MatterState:
    session.expire_all()
    return session.get(Matter, matter.id).state


def worker_person_id(session) -> str:
    return str(session.scalar(select(User.person_id).where(User.username == "demo_worker")))


def token_for(runner, court: str) -> dict:
    secret = runner.invoke(args=["tokens", "issue", court, "--label", "执行系统"]).output.strip()
    return {"Authorization": f"Bearer {secret}"}


# --- the page ------------------------------------------------------------------------------

def test_the_liaison_accepts_and_dispatches_on_the_page(client_as, session):
    matter = a_matter(session)
    liaison = english(client_as("demo_liaison"))
    page = page_of(liaison, matter)
    assert 'id="gridlink-step-accept"' in page and 'id="gridlink-return"' in page
    assert 'name="version" value="0"' in page
    assert 'id="gridlink-step-cancel"' not in page  # the court's, not the liaison's
    answer = post_step(liaison, matter, "accept", version="0").get_data(as_text=True)
    assert "Accept — done" in answer and now_state(session, matter) is S.accepted
    assert 'id="step-dispatch-worker"' in answer and "I do it myself" in answer
    answer = post_step(liaison, matter, "dispatch", version="1",
                       worker=worker_person_id(session)).get_data(as_text=True)
    assert now_state(session, matter) is S.dispatched
    history = answer[answer.index('id="gridlink-history"'):]
    assert re.findall(r'data-step="(\w+)"', history)[:2] == ["accept", "dispatch"]
    assert "星岩社区网格长（演示）" in history
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", history)  # Beijing time, to the minute
    # The grid worker it went to opens it and may say it cannot be done.
    worker = page_of(english(client_as("demo_worker")), matter)
    assert 'id="gridlink-step-fail"' in worker and "Whereabouts unknown" in worker


def test_a_late_step_is_refused_naming_who_took_the_matter_and_when(client_as, session):
    matter = a_matter(session)
    liaison = english(client_as("demo_liaison"))
    court = english(client_as("demo_court_yuncheng"))
    assert 'name="version" value="0"' in page_of(court, matter)  # the court's page, open
    post_step(liaison, matter, "accept", version="0")
    answer = post_step(court, matter, "chase", version="0", note="请尽快").get_data(
        as_text=True)
    assert re.search(r"already handled by 星岩社区网格长（演示） at \d{4}-\d\d-\d\d \d\d:\d\d",
                     answer)
    session.expire_all()
    assert session.get(Matter, matter.id).chases == 0


def test_an_illegal_step_is_refused_naming_the_state_in_chinese(client_as, session):
    matter = a_matter(session)
    liaison = client_as("demo_liaison")
    post_step(liaison, matter, "accept")
    answer = post_step(liaison, matter, "accept").get_data(as_text=True)
    assert "这件事项已接收，不能签收。" in answer


def test_the_court_cancels_with_a_reason_from_the_list(client_as, session):
    matter = a_matter(session)
    court = english(client_as("demo_court_yuncheng"))
    page = page_of(court, matter)
    assert 'id="gridlink-step-cancel"' in page and "Settled between the parties" in page
    assert 'id="gridlink-step-accept"' not in page
    refused = post_step(court, matter, "cancel", reason="other").get_data(as_text=True)
    assert "Say in a few words why" in refused and now_state(session, matter) is S.assigned
    post_step(court, matter, "cancel", reason="settled")
    assert now_state(session, matter) is S.cancelled


def test_chases_are_counted_on_the_page_and_the_list(client_as, session):
    matter = a_matter(session)
    court = english(client_as("demo_court_yuncheng"))
    post_step(court, matter, "chase", note="请尽快签收")
    post_step(court, matter, "chase")
    assert 'data-count="2"' in page_of(court, matter)
    liaison = page_of(english(client_as("demo_liaison")), matter)
    assert "Chased 2 times" in liaison and "请尽快签收" in liaison
    listing = court.get("/admin/matter/").get_data(as_text=True)
    assert re.search(r'class="col-chases">\s*2\s*<', listing)


def test_a_step_form_without_its_token_is_refused(client_as, session):
    matter = a_matter(session)
    liaison = client_as("demo_liaison")
    assert liaison.post(f"/admin/matter/{matter.id}/step/accept/",
                        data={"csrf_token": ""}).status_code == 400
    assert now_state(session, matter) is S.assigned


# --- the town centre -----------------------------------------------------------------------

def test_the_town_centre_lists_its_towns_matters_masked(client_as, session):
    ours = a_matter(session, debtor_id_number=id_number("711"), debtor_phones=["13800007111"])
    other = a_matter(session, "（2026）粤5302执7102号", address=QIANFENG_ADDRESS)
    centre = english(client_as("demo_town_centre"))
    home = centre.get("/admin/").get_data(as_text=True)
    assert "/admin/matter/" in home  # its 事项 menu
    listing = centre.get("/admin/matter/").get_data(as_text=True)
    assert ours.case_number in listing and other.case_number not in listing
    page = page_of(centre, ours)
    assert id_number("711") not in page and "13800007111" not in page
    assert "/reveal/" not in page.split('id="gridlink-debtor"')[1].split("</dl>")[0]
    assert centre.get(f"/admin/matter/details/?id={other.id}").status_code == 404


def test_the_town_centre_takes_an_escalated_matter(client_as, session):
    matter = a_matter(session)
    court = english(client_as("demo_court_yuncheng"))
    post_step(court, matter, "escalate", note="联系不上网格长")
    assert now_state(session, matter) is S.escalated
    centre = english(client_as("demo_town_centre"))
    home = centre.get("/admin/").get_data(as_text=True)
    assert matter.case_number in home[home.index('id="gridlink-escalated"'):]
    page = page_of(centre, matter)
    assert 'id="gridlink-step-take"' in page and 'id="gridlink-step-redispatch"' in page
    assert "丰收村" in page  # a grid of its town to re-dispatch to
    post_step(centre, matter, "take", version="1")
    assert now_state(session, matter) is S.accepted


def test_the_town_centre_redispatches_inside_its_town_only(client_as, session):
    matter = a_matter(session)
    centre = english(client_as("demo_town_centre"))
    outside = session.scalar(Grid.current().where(Grid.name == "前锋镇"))
    answer = post_step(centre, matter, "redispatch", grid=outside.code, note="改派")
    assert "Choose a grid of your town" in answer.get_data(as_text=True)
    post_step(centre, matter, "redispatch", grid="445302001001", note="实际住在丰收村")
    session.expire_all()
    assert session.get(Matter, matter.id).primary_assignment.grid.code == "445302001001"


# --- the API -------------------------------------------------------------------------------

def test_the_api_shows_the_steps_with_their_times(client_as, session):
    matter = a_matter(session)
    post_step(client_as("demo_liaison"), matter, "accept")
    data = client_as("demo_court_yuncheng").get(f"/api/v1/matters/{matter.id}").json
    assert data["version"] == 1 and data["state"] == "accepted"
    (step,) = data["steps"]
    assert (step["step"], step["from"], step["to"]) == ("accept", "assigned", "accepted")
    assert step["actor"] == "星岩社区网格长（演示）"
    assert datetime.fromisoformat(step["at"]).tzinfo is not None


def test_changed_since_lists_what_changed_in_the_courts_scope(client_as, session):
    before = datetime.now(UTC) - timedelta(seconds=1)
    old = a_matter(session)
    moved = a_matter(session, "（2026）粤5302执7103号")
    elsewhere = a_matter(session, "（2026）粤5381执7104号", court="罗定市人民法院")
    session.execute(Matter.__table__.update().where(Matter.id.in_([old.id, moved.id,
                                                                   elsewhere.id]))
                    .values(updated_at=before - timedelta(hours=1)))
    post_step(client_as("demo_liaison"), moved, "accept")
    post_step(client_as("demo_liaison"), elsewhere, "accept")
    court = client_as("demo_court_yuncheng")
    since = before.isoformat()
    found = court.get("/api/v1/matters", query_string={"changed_since": since}).json
    assert [m["id"] for m in found["matters"]] == [str(moved.id)]
    everything = court.get("/api/v1/matters", query_string={
        "changed_since": (before - timedelta(hours=2)).isoformat(), "limit": 1}).json
    assert len(everything["matters"]) == 1 and "after" in everything["next"]
    for bad in ("yesterday", "2026-12-04T09:30:00", "2026-13-40T00:00:00+08:00"):
        answer = court.get("/api/v1/matters", query_string={"changed_since": bad})
        assert answer.status_code == 400 and "changed_since" in answer.json["error"]


def test_a_court_system_steps_through_the_api(runner, anonymous, client_as, session):
    matter = a_matter(session)
    auth = token_for(runner, YUNCHENG_COURT)
    url = f"/api/v1/matters/{matter.id}/steps"
    chased = anonymous.post(url, headers=auth, json={"step": "chase", "note": "请尽快",
                                                     "version": 0})
    assert chased.status_code == 200, chased.json
    assert chased.json["matter"]["chases"] == 1 and chased.json["step"]["step"] == "chase"
    late = anonymous.post(url, headers=auth, json={"step": "chase", "version": 0})
    assert late.status_code == 409 and late.json["refused"] == "stale"
    assert late.json["version"] == 1
    illegal = anonymous.post(url, headers=auth, json={"step": "confirm"})
    assert illegal.status_code == 409 and illegal.json["refused"] == "illegal"
    assert illegal.json["state"] == "assigned"
    assert anonymous.post(url, headers=auth, json={"step": "accept"}).status_code == 400
    assert anonymous.post(url, headers=auth, json={"step": "cancel"}).status_code == 422
    done = anonymous.post(url, headers=auth, json={"step": "cancel", "reason": "performed"})
    assert done.status_code == 200 and done.json["matter"]["state"] == "cancelled"


def test_api_steps_need_a_token(client_as, session):
    matter = a_matter(session)
    answer = client_as("demo_court_yuncheng").post(f"/api/v1/matters/{matter.id}/steps",
                                                   json={"step": "chase"})
    assert answer.status_code == 403 and "token" in answer.json["error"]


# --- the command line ------------------------------------------------------------------------

def test_the_command_line_takes_a_step_or_says_why_not(runner, session):
    matter = a_matter(session)
    result = runner.invoke(args=["matters", "step", str(matter.id), "accept",
                                 "--as", "demo_liaison"])
    assert result.exit_code == 0, result.output
    assert "签收" in result.output and "已分派 → 已接收" in result.output
    again = runner.invoke(args=["matters", "step", str(matter.id), "accept",
                                "--as", "demo_liaison"])
    assert again.exit_code == 1 and "这件事项已接收，不能签收。" in again.output
    sent = runner.invoke(args=["matters", "step", str(matter.id), "dispatch",
                               "--as", "demo_liaison", "--worker", "demo_worker"])
    assert sent.exit_code == 0, sent.output
    assert now_state(session, matter) is S.dispatched
    stranger = runner.invoke(args=["matters", "step", str(matter.id), "fail",
                                   "--as", "demo_court_city", "--reason", "refused"])
    assert stranger.exit_code == 1


@pytest.mark.parametrize("args", [["nonsense-id", "accept"], ["{id}", "fly"]])
def test_the_command_line_refuses_what_it_does_not_know(runner, session, args):
    matter = a_matter(session)
    args = [a.format(id=matter.id) for a in args]
    result = runner.invoke(args=["matters", "step", *args, "--as", "demo_liaison"])
    assert result.exit_code == 1


# --- accounts stand for roster people ---------------------------------------------------------

def test_an_admin_ties_a_liaisons_account_to_its_roster_person_only(client, session):
    from models import Person
    person = session.get(Person, session.scalar(
        select(User.person_id).where(User.username == "demo_worker")))
    centre = session.scalar(select(User).where(User.username == "demo_town_centre"))
    form = english(client).get(f"/admin/account/edit/?id={centre.id}").get_data(as_text=True)
    assert 'name="person"' in form
    answer = client.post(f"/admin/account/edit/?id={centre.id}", data={
        "username": centre.username, "display_name": centre.display_name,
        "role": "town_centre", "grid": str(centre.grid_id), "person": str(person.id),
        "active": "y"}, follow_redirects=True)
    assert "stands for a person on the roster" in answer.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, centre.id).person_id is None


def test_the_audit_trail_names_each_step_with_who_and_why(client_as, session):
    matter = a_matter(session)
    client_as("demo_court_yuncheng").post(f"/admin/matter/{matter.id}/step/chase/",
                                          data={"note": "请尽快签收"})
    trail = client_as("demo_admin").get("/admin/audit/?search=demo_court_yuncheng").get_data(
        as_text=True)
    assert "办理步骤" in trail and "请尽快签收" in trail
