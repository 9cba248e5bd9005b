"""Background jobs (models/jobs.py, admin/jobs.py): a large spreadsheet's confirm is a
job with a progress page, done once by a real procrastinate worker; a run is its
owner's; a failed job says why and writes nothing."""

from __future__ import annotations

import io
import re
import threading
import uuid

import pytest
from conftest import Client, make_app
from sqlalchemy import create_engine, func, select, text
from test_matter_intake import YEAR, good, xlsx

from admin import matter_intake as intake
from admin.jobs import WORKS, execute, runner
from models import JobRun, JobState, Matter, db

JOB_URL = re.compile(r"/admin/jobs/([0-9a-f-]{36})/$")


def upload(client, data: bytes, name: str = "大批事项.xlsx") -> str:
    response = client.post("/admin/matter_import/", data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    return response.headers["Location"]


def filed(session, numbers) -> int:
    return session.scalar(select(func.count()).select_from(Matter).where(
        Matter.case_number.in_([f"（{YEAR}）粤5302执{n}号" for n in numbers])))


@pytest.fixture
def every_file_is_large(app, monkeypatch):
    """The threshold down to nothing: every confirm goes to the worker."""
    monkeypatch.setitem(app.config, "IMPORT_INLINE_ROWS", 0)


def test_a_large_confirm_is_queued_followed_and_filed_once(client_as, session, app,
                                                          every_file_is_large):
    court = client_as("demo_court_yuncheng")
    report = upload(court, xlsx([good(n) for n in (9101, 9102, 9103)]))
    response = court.post(report, data={})
    assert response.status_code == 302
    run_id = uuid.UUID(JOB_URL.search(response.headers["Location"]).group(1))
    assert filed(session, (9101, 9102, 9103)) == 0  # nothing yet: the worker files them

    page = court.get(f"/admin/jobs/{run_id}/").get_data(as_text=True)
    assert "等待后台处理" in page and "gridlink/job.js" in page
    status = court.get(f"/admin/jobs/{run_id}/status.json").get_json()
    assert status["state"] == "queued" and not status["finished"]
    # A second click finds the same run: one job in procrastinate's queue.
    again = court.post(report, data={})
    assert again.headers["Location"].endswith(f"/admin/jobs/{run_id}/")
    queued = session.execute(text(
        "SELECT task_name, args->>'run_id' FROM procrastinate_jobs "
        "WHERE args->>'run_id' = :id"), {"id": str(run_id)}).all()
    assert queued == [("gridlink:run", str(run_id))]
    # Nobody else learns of it, not even the court above.
    other = client_as("demo_court_city")
    assert other.get(f"/admin/jobs/{run_id}/").status_code == 404
    assert other.get(f"/admin/jobs/{run_id}/status.json").status_code == 404

    with app.app_context():
        run = execute(run_id)
    assert run.state is JobState.done and run.result["states"]
    assert filed(session, (9101, 9102, 9103)) == 3
    page = court.get(f"/admin/jobs/{run_id}/").get_data(as_text=True)
    assert "已立项 3 件" in page and "返回导入报告" in page
    assert "gridlink/job.js" not in page  # finished: nothing to poll
    listing = court.get("/admin/jobs/").get_data(as_text=True)
    assert "大批事项.xlsx" in listing and "已完成" in listing
    with app.app_context():  # the worker told twice does it once
        assert execute(run_id).state is JobState.done
    assert filed(session, (9101, 9102, 9103)) == 3


def test_a_job_whose_file_is_gone_fails_saying_so(client_as, session, app,
                                                   every_file_is_large):
    court = client_as("demo_court_yuncheng")
    report = upload(court, xlsx([good(9111)]))
    run_id = uuid.UUID(JOB_URL.search(court.post(report, data={}).headers["Location"]).group(1))
    token = report.split("/report/")[1].split("?")[0]
    run = session.get(JobRun, run_id)
    with app.app_context():
        intake.upload_path(token, run.owner_id).unlink()
        assert execute(run_id).state is JobState.failed
    assert filed(session, (9111,)) == 0
    page = court.get(f"/admin/jobs/{run_id}/").get_data(as_text=True)
    assert "大批事项.xlsx" in page and "请重新上传" in page and "alert-danger" in page


def test_a_job_that_breaks_half_way_writes_nothing(app, session, monkeypatch):
    """An unexpected error: the work's writes are rolled back, the run says to look in
    the log, with its id."""
    def breaks(session, run, progress):
        session.execute(text("UPDATE courts SET name = name || '!'"))
        raise RuntimeError("disk full")

    monkeypatch.setitem(WORKS, "breaks", breaks)
    with app.app_context():
        from models import jobs

        run, _ = jobs.start(db.session, "breaks", "x", queue=False)
        db.session.commit()
        ended = execute(run.id)
        assert ended.state is JobState.failed and ended.message_params == {"id": str(run.id)}
    assert session.scalar(text("SELECT count(*) FROM courts WHERE name LIKE '%!'")) == 0


def test_a_real_worker_does_a_queued_job_once(scratch_database):
    """Committed for real on the live copy of the demo: the page queues, procrastinate's
    worker (the one `gridlink worker` runs) takes the job, and it is done once."""
    app = make_app(scratch_database)
    app.config["IMPORT_INLINE_ROWS"] = 0
    app.test_client_class = Client
    court = app.test_client()
    assert court.sign_in("demo_court_yuncheng").status_code == 302
    numbers = (9121, 9122)
    report = upload(court, xlsx([good(n) for n in numbers]), "worker.xlsx")
    run_id = JOB_URL.search(court.post(report, data={}).headers["Location"]).group(1)

    jobs = runner(app.config["SQLALCHEMY_DATABASE_URI"], app)
    for _ in range(2):  # the second finds nothing left to do
        # A thread of its own: a browser test may have left an event loop in this one.
        worker = threading.Thread(target=jobs.run_worker,
                                  kwargs={"wait": False, "install_signal_handlers": False})
        worker.start()
        worker.join(timeout=120)

    engine = create_engine(scratch_database)
    with engine.connect() as conn:
        state, done, total = conn.execute(text(
            "SELECT state, done, total FROM job_runs WHERE id = :id"), {"id": run_id}).one()
        job = conn.execute(text("SELECT status, attempts FROM procrastinate_jobs "
                                "WHERE args->>'run_id' = :id"), {"id": run_id}).one()
        count = conn.execute(text("SELECT count(*) FROM matters WHERE case_number = ANY(:c)"),
                             {"c": [f"（{YEAR}）粤5302执{n}号" for n in numbers]}).scalar()
    engine.dispose()
    with app.app_context():
        db.engine.dispose()
    assert (state, done, total) == ("done", 2, 2)
    assert tuple(job) == ("succeeded", 1)
    assert count == 2
    status = court.get(f"/admin/jobs/{run_id}/status.json").get_json()
    assert status["finished"] and status["percent"] == 100 and "2" in status["message"]


def test_a_large_boundary_file_is_checked_and_written_by_jobs(client, session, app,
                                                              monkeypatch):
    from test_import_page import town_file
    from test_import_page import upload as upload_boundaries

    from models import Generation

    monkeypatch.setitem(app.config, "IMPORT_INLINE_BYTES", 0)
    preview_url = upload_boundaries(client, town_file(session)).headers["Location"]
    queued = client.get(preview_url)
    run_id = uuid.UUID(JOB_URL.search(queued.headers["Location"]).group(1))
    assert "等待后台处理" in client.get(f"/admin/jobs/{run_id}/").get_data(as_text=True)
    assert client.get(preview_url).headers["Location"] == queued.headers["Location"]

    with app.app_context():
        assert execute(run_id).state is JobState.done
    ready = client.get(f"/admin/jobs/{run_id}/")  # the check is done: back to its report
    assert ready.status_code == 302 and ready.headers["Location"].endswith(
        preview_url.split("localhost")[-1])
    page = client.get(preview_url).get_data(as_text=True)
    assert re.search(r'data-status="ok".*?星岩社区', page, re.S)
    assert 'data-status="rejected"' in page and "gridlink-import-topology" in page

    before = session.scalar(select(func.max(Generation.id)))
    written = client.post(preview_url, data={"keep_good": "y", "accept_topology": "y"})
    write_id = uuid.UUID(JOB_URL.search(written.headers["Location"]).group(1))
    assert session.scalar(select(func.max(Generation.id))) == before  # not yet
    with app.app_context():
        assert execute(write_id).state is JobState.done
    page = client.get(f"/admin/jobs/{write_id}/").get_data(as_text=True)
    assert "已写入新的边界版本" in page and "前往边界版本" in page
    generation = session.scalar(select(Generation).where(Generation.id > before))
    assert generation.label == "import: 村界.geojson"
    assert session.scalar(text(
        "SELECT count(*) FROM audit_records WHERE action = 'topology_override' "
        "AND entity_id = :g"), {"g": str(generation.id)}) == 1
