"""The job runner's face: the procrastinate app, the tasks it knows, `gridlink worker`.

models.jobs keeps the queue's rules (what a JobRun is, how a job is asked for);
here each task opens the Flask app's context, works as the account that asked,
and records how it ended. The work itself lives with its domain (a spreadsheet's
confirm is admin.matter_intake.file_rows), which a small file also calls inline.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable

from flask import Flask
from procrastinate import App, Blueprint, PsycopgConnector
from sqlalchemy import make_url

from models import db
from models.audit import Actor, set_actor
from models.grids import N_
from models.jobs import QUEUE, JobRun, JobState, mark, progress_writer

log = logging.getLogger(__name__)
tasks = Blueprint()
NAMESPACE = "gridlink"
UNEXPECTED = N_("The job stopped on an unexpected error; the administrators can find it in "
                "the log (job %(id)s).")
_flask: Flask | None = None  # the app whose context the tasks run in (set by serve/worker)


class JobError(Exception):
    """A job that cannot do its work, with a message for the person who asked."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


_runners: dict[str, App] = {}


def runner(database_url: str, flask_app: Flask | None = None) -> App:
    """The procrastinate app on `database_url` (an SQLAlchemy URL), with our tasks: one
    per database in a process (a blueprint's tasks belong to one app)."""
    global _flask
    if flask_app is not None:
        _flask = flask_app
    url = make_url(database_url).set(drivername="postgresql")
    conninfo = url.render_as_string(hide_password=False)
    if conninfo not in _runners:
        # Their periodic tasks (the ladder, the maps' counts, the towns' open counts),
        # on the blueprint.
        from admin import escalate, map_refresh, town_counts  # noqa: F401

        app = App(connector=PsycopgConnector(conninfo=conninfo, min_size=1, max_size=3),
                  worker_defaults={"queues": [QUEUE], "name": "gridlink-worker"})
        app.add_tasks_from(tasks, namespace=NAMESPACE)
        _runners[conninfo] = app
    return _runners[conninfo]


def task_name(name: str) -> str:
    return f"{NAMESPACE}:{name}"


# --- running one job -----------------------------------------------------------------

Work = Callable[[object, JobRun, Callable], tuple[str, dict, dict | None]]
WORKS: dict[str, Work] = {}  # JobRun.kind → the function that does it


def work(kind: str):
    """Register the function that does a kind of job: (session, run, progress) →
    (message template, its parameters, result)."""
    def register(fn: Work) -> Work:
        WORKS[kind] = fn
        return fn
    return register


def execute(run_id: uuid.UUID, session=None) -> JobRun | None:
    """Do a queued run now, in this process: what the worker's task calls, and what a
    page calls inline for a small file. Commits its work with the run's ending, or
    rolls back and records the failure."""
    session = session or db.session
    # No row lock: procrastinate gives each job to one worker, and the progress is
    # written on other transactions, which a lock held here would block.
    run = session.get(JobRun, run_id)
    if run is None or run.finished:
        return run  # done already (a job retried after its worker died, say)
    owner = run.owner_id and session.get(_user_class(), run.owner_id)
    set_actor(Actor(owner.username, str(owner.id)) if owner else None)
    engine = db.engine  # progress and failures go on their own connections
    mark(engine, run_id, JobState.running)
    try:
        with progress_writer(engine, run.id) as progress:
            message, params, result = WORKS[run.kind](session, run, progress)
        run.state, run.message, run.message_params, run.result = (
            JobState.done, message, params, result)
        run.done = run.total or run.done
        run.finished_at = db.func.now()
        session.commit()
    except JobError as refused:
        session.rollback()
        _fail(session, run_id, refused.template, refused.params)
    except Exception:
        session.rollback()
        log.error("job %s (%s) failed:\n%s", run_id, run.kind, traceback.format_exc())
        _fail(session, run_id, UNEXPECTED, {"id": str(run_id)})
    finally:
        set_actor(None)
    return session.get(JobRun, run_id)


def _fail(session, run_id: uuid.UUID, message: str, params: dict) -> None:
    """After the work's rollback: the run says why, and nothing else is written."""
    run = session.get(JobRun, run_id)
    run.state, run.message, run.message_params = JobState.failed, message, params
    run.finished_at = db.func.now()
    session.commit()


def _user_class():
    from models.accounts import User
    return User


def _flask_app() -> Flask:
    if _flask is None:
        raise RuntimeError("the job runner was started without the Flask app")
    return _flask


def committed(work):
    """`work(db.session)` in the Flask app's context, committed, the session removed
    after: the body of a periodic task that writes (the maps' counts, the towns')."""
    with _flask_app().app_context():
        try:
            done = work(db.session)
            db.session.commit()
            return done
        finally:
            db.session.remove()


@tasks.task(name="run", queue=QUEUE)
def run_task(run_id: str) -> None:
    """Do the JobRun named. (Kinds of work are looked up in WORKS.)"""
    with _flask_app().app_context():
        try:
            execute(uuid.UUID(run_id))
        finally:
            db.session.remove()


# Nightly at 03:17: evidence of outcome forms never saved, older than a day.
@tasks.periodic(cron="17 3 * * *", periodic_id="evidence")
@tasks.task(name="sweep_evidence", queue=QUEUE)
def sweep_evidence_task(timestamp: int) -> None:
    if _flask is None:
        raise RuntimeError("the job runner was started without the Flask app")
    from admin.outcome_files import sweep_unsaved

    with _flask.app_context():
        try:
            swept = sweep_unsaved()
            log.info("evidence sweep: %d records, %d files", len(swept.records),
                     len(swept.files))
        finally:
            db.session.remove()
