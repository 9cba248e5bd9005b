"""The committee maps' kept counts: made once a minute, they answer the maps' first
view exactly as counting live would, in the reader's scope (in SQL), with overdue
still true the next day; a filter they do not keep, court staff, or counts gone
stale make the maps count live again."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select, text, update

from geo.map_counts import MAX_AGE, refresh_map_counts
from models import Assignment, Matter, MatterState, clock
from models.map_counts import MapCount

YUNCHENG = "445302"
WHOLE_CITY = "110.5,21.8,113,23.8"
OPEN = "/admin/maps/open/open/"
COMPLETION = "/admin/maps/density/completion/"


@pytest.fixture
def moved_clock():
    """Set the app's clock to a moment (then back to the real one)."""
    def to(moment: datetime) -> None:
        clock.reset()
        clock.move((moment - clock.now()).total_seconds())
    yield to
    clock.reset()


def _ask(client, url: str, level: str, **extra) -> dict:
    return client.get(url, query_string={"zoom": 8, "level": level, "bbox": WHOLE_CITY,
                                         **extra}).json


@pytest.mark.parametrize("url", [OPEN, COMPLETION])
@pytest.mark.parametrize("level", ["county", "town", "village"])
def test_kept_counts_answer_as_counting_live_does(client, session, url, level):
    live = _ask(client, url, level)
    assert "as_of" not in live  # nothing kept yet: counted live
    moment = clock.now()
    refresh_map_counts(session, moment)
    kept = _ask(client, url, level)
    assert kept["as_of"] == moment.strftime("%H:%M")
    assert kept["areas"] == live["areas"] and live["areas"]


@pytest.mark.parametrize("url", [OPEN, COMPLETION])
def test_kept_counts_keep_a_county_committee_in_its_county(client_as, session, url):
    refresh_map_counts(session, clock.now())
    committee = client_as("demo_yuncheng_committee")
    for level in ("county", "town", "village"):
        body = _ask(committee, url, level)
        assert body["as_of"] and body["areas"]
        assert all(a["code"].startswith(YUNCHENG) for a in body["areas"])
    # Attack: another county asked by the filter, which the kept counts answer too.
    assert _ask(committee, url, "county", county="445381")["areas"] == []
    wider = _ask(client_as("demo_admin"), url, "county", county="445381")
    assert [a["code"] for a in wider["areas"]] == ["445381000000"]


def test_court_staff_and_filters_the_counts_do_not_keep_are_counted_live(client_as,
                                                                         session):
    refresh_map_counts(session, clock.now())
    court = _ask(client_as("demo_court_yuncheng"), OPEN, "county")
    assert "as_of" not in court  # a court's matters are not an area's
    admin = client_as("demo_admin")
    assert "as_of" not in _ask(admin, OPEN, "county", type="service")
    assert "as_of" not in _ask(admin, COMPLETION, "county", since="2026-01-01")


def test_a_change_shows_at_the_next_refresh(client, session):
    refresh_map_counts(session, clock.now())
    before = sum(a["total"] for a in _ask(client, OPEN, "county")["areas"])
    matter_id = session.execute(text(
        "SELECT m.id FROM matters m JOIN assignments a ON a.matter_id = m.id AND "
        "a.role = 'primary' AND a.ended_at IS NULL WHERE m.state = 'assigned' "
        "ORDER BY m.case_number LIMIT 1")).scalar_one()
    session.execute(update(Matter).where(Matter.id == matter_id)
                    .values(state=MatterState.cancelled))
    assert sum(a["total"] for a in _ask(client, OPEN, "county")["areas"]) == before
    refresh_map_counts(session, clock.now())
    assert sum(a["total"] for a in _ask(client, OPEN, "county")["areas"]) == before - 1


def test_stale_counts_are_not_shown(client, session, moved_clock):
    refresh_map_counts(session, clock.now())
    moved_clock(clock.now() + MAX_AGE + timedelta(minutes=1))  # the worker is down
    assert "as_of" not in _ask(client, OPEN, "county")
    moved_clock(clock.now() - timedelta(hours=1))  # counted in the reader's future
    assert "as_of" not in _ask(client, COMPLETION, "county")


def test_a_matter_due_on_the_counts_day_is_overdue_after_midnight(client, session,
                                                                   moved_clock):
    """Counted at 23:55 with one matter due that day; read at 00:05 the next day, it
    is overdue, as counting live then says."""
    evening = datetime.combine(clock.today(), time(23, 55), tzinfo=clock.SITE_ZONE)
    moved_clock(evening)
    matter_id = session.execute(
        select(Matter.id).join(Assignment, (Assignment.matter_id == Matter.id)
                               & (Assignment.role == "primary") & Assignment.ended_at.is_(None))
        .where(Assignment.county_code == YUNCHENG, Matter.state == MatterState.assigned)
        .order_by(Matter.case_number).limit(1)).scalar_one()
    session.execute(update(Matter).where(Matter.id == matter_id).values(
        finish_due_at=evening.replace(hour=18)))  # due today
    refresh_map_counts(session, clock.now())
    kept_evening = _ask(client, OPEN, "county")
    assert kept_evening["as_of"] == "23:55"
    moved_clock(evening + timedelta(minutes=10))
    kept_night = _ask(client, OPEN, "county")
    assert kept_night["as_of"] == "23:55"
    yuncheng = {a["code"][:6]: a["overdue"] for a in kept_night["areas"]}[YUNCHENG]
    was = {a["code"][:6]: a["overdue"] for a in kept_evening["areas"]}[YUNCHENG]
    assert yuncheng == was + session.scalar(
        select(func.sum(MapCount.due_on_day)).where(MapCount.code == YUNCHENG + "000000"))
    assert yuncheng > was
    session.execute(MapCount.__table__.delete())  # counted live, on the new day
    live = {a["code"][:6]: a["overdue"] for a in _ask(client, OPEN, "county")["areas"]}
    assert live[YUNCHENG] == yuncheng


def test_the_command_counts_again(runner, session):
    result = runner.invoke(args=["maps", "refresh", "--counts"])
    assert result.exit_code == 0, result.output
    assert "areas" in result.output
    assert session.scalar(select(func.count()).select_from(MapCount)) > 0


def test_the_worker_refreshes_the_counts_every_minute():
    import admin.map_refresh  # noqa: F401 (the worker imports it: admin.jobs.runner)
    from admin.jobs import tasks

    [periodic] = [p for p in tasks.periodic_registry.periodic_tasks.values()
                  if p.task.name.split(":")[-1] == "map_counts"]
    assert periodic.cron == "* * * * *"
