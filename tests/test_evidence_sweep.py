"""Evidence left by outcome forms never saved is swept after a day: the records no
outcome names and their files — but a file shared by hash with evidence in use is
never removed, nor a file uploaded again since the cutoff, nor anything younger."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from conftest import as_superuser
from sqlalchemy import select, update
from test_evidence import keep, picture, root  # noqa: F401 (root: a fixture)
from test_outcomes import make_matter

from admin.jobs import tasks
from models import MatterState, User, clock
from models.evidence import Evidence, path_of
from models.matter_types import MatterType
from models.outcome_answers import local_today
from models.outcomes import record_outcome


def age(session, folder, evidence: Evidence, hours: float) -> None:
    """As if uploaded `hours` ago: the record and its files."""
    with as_superuser(session):  # the app's role may not change evidence
        session.execute(update(Evidence).where(Evidence.id == evidence.id).values(
            uploaded_at=clock.now() - timedelta(hours=hours)))
    then = time.time() - hours * 3600
    for path in (path_of(folder, evidence.sha256), path_of(folder, evidence.sha256, True)):
        if path.exists():
            os.utime(path, (then, then))


@pytest.fixture
def evidence_set(session, root):  # noqa: F811 (root: the fixture)
    """One matter's files: a photo its outcome names (used), the same bytes sent again
    with a form never saved (shared), another photo of a form never saved (unused),
    and one sent an hour ago (fresh)."""
    matter = make_matter(session, MatterType.legal_education, "631",
                         state=MatterState.dispatched)
    used = keep(session, matter, picture(colour="navy"), "宣传现场.jpg", root)
    shared = keep(session, matter, picture(colour="navy"), "宣传现场（重发）.jpg", root)
    unused = keep(session, matter, picture(colour="olive"), "未保存.jpg", root)
    fresh = keep(session, matter, picture(colour="teal"), "刚上传.jpg", root)
    worker = session.scalar(select(User).where(User.username == "demo_worker"))
    record_outcome(session, matter, worker, {
        "held_on": local_today().isoformat(), "place": "星岩社区文化室", "attendance": "30",
        "photos": [str(used.id)]}, [used.id])
    for evidence, hours in ((used, 30), (shared, 30), (unused, 30), (fresh, 1)):
        age(session, root, evidence, hours)
    session.flush()
    return {"used": used.sha256, "shared": shared.sha256, "unused": unused.sha256,
            "fresh": fresh.sha256}


NAMES = ("宣传现场.jpg", "宣传现场（重发）.jpg", "未保存.jpg", "刚上传.jpg")


def remaining(session) -> set:
    """Which of this test's files are still recorded (the demo has files of its own)."""
    session.expire_all()
    return set(session.scalars(select(Evidence.name).where(Evidence.name.in_(NAMES))))


def test_the_sweep_removes_what_no_outcome_names_and_keeps_shared_files(
        runner, session, root, evidence_set):  # noqa: F811
    e = evidence_set
    result = runner.invoke(args=["evidence", "sweep"])
    assert result.exit_code == 0, result.output
    names = remaining(session)
    assert {"宣传现场.jpg", "刚上传.jpg"} <= names
    assert not {"宣传现场（重发）.jpg", "未保存.jpg"} & names
    # The used photo's file stays: the swept resend shares its hash.
    assert path_of(root, e["used"]).exists()
    assert path_of(root, e["used"], thumbnail=True).exists()
    assert not path_of(root, e["unused"]).exists()
    assert not path_of(root, e["unused"], thumbnail=True).exists()
    assert path_of(root, e["fresh"]).exists()
    assert "未保存.jpg" in result.output and "宣传现场（重发）.jpg" in result.output
    assert f"deleted file {path_of(root, e['unused'])}" in result.output
    assert "2 evidence records" in result.output and "2 files deleted" in result.output


def test_older_than_sets_the_age(runner, session, root, evidence_set):  # noqa: F811
    result = runner.invoke(args=["evidence", "sweep", "--older-than", "48"])
    assert result.exit_code == 0, result.output
    assert "0 evidence records" in result.output
    assert len(remaining(session)) == 4
    result = runner.invoke(args=["evidence", "sweep", "--older-than", "0.5"])
    assert "3 evidence records" in result.output  # the fresh one too, never the used
    assert remaining(session) == {"宣传现场.jpg"}
    assert path_of(root, evidence_set["used"]).exists()


def test_a_file_uploaded_again_since_the_cutoff_stays(runner, session, root,  # noqa: F811
                                                      evidence_set):
    unused = evidence_set["unused"]
    os.utime(path_of(root, unused))  # sent again just now (models.evidence._write)
    runner.invoke(args=["evidence", "sweep"])
    assert "未保存.jpg" not in remaining(session)
    assert path_of(root, unused).exists()


def test_the_sweep_runs_nightly_as_a_periodic_job():
    [periodic] = [p for p in tasks.periodic_registry.periodic_tasks.values()
                  if p.task.name.split(":")[-1] == "sweep_evidence"]  # namespaced in an app
    assert periodic.cron == "17 3 * * *"
