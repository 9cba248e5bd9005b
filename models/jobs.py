"""Background jobs: work that outlasts a page request, and work on a timetable.

The runner is procrastinate, a job queue kept in PostgreSQL itself (tables
procrastinate_*, created by migration 0007 from the pinned package's own schema).
Why it and not a sleep loop, cron or pg_cron:
- the queue lives in the database we already back up and replicate: nothing new
  to run but `gridlink worker`, and a job survives a restart of anything;
- a job is deferred inside the same transaction as the row that asks for it
  (`defer` below), so there is never a job without its request, nor a request
  whose job was lost;
- workers take jobs with SELECT … FOR UPDATE SKIP LOCKED: with two servers, each
  job runs once; periodic tasks are deferred once per tick through a unique row
  (procrastinate_periodic_defers), however many workers run;
- pg_cron (Debian's postgresql-15-cron) needs shared_preload_libraries and can run
  only SQL, where our steps also send messages and write files.

A JobRun is what a person sees of a job: who asked, what, how far it has got
(done of total), and how it ended (a message template with its parameters,
translated where it is shown, and a result). Progress is written on its own short
transaction, so that the page sees it while the job's own work is still
uncommitted: an import that fails half-way leaves nothing but the failure.
"""

from __future__ import annotations

import enum
import json
import uuid
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import db, uuid_pk

QUEUE = "gridlink"
TASK = "gridlink:run"  # the one task (admin.jobs.run_task): do the JobRun named


class JobState(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class JobRun(db.Model):
    __tablename__ = "job_runs"
    __table_args__ = (
        # One unfinished run per thing: a second click on 确认导入 finds the first run.
        Index("uq_job_runs_unfinished", "kind", "subject", unique=True,
              postgresql_where=text("state IN ('queued', 'running')")),
        Index("ix_job_runs_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))  # what it works on (a file's token)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    params: Mapped[dict] = mapped_column(JSONB, default=dict)
    state: Mapped[JobState] = mapped_column(
        Enum(JobState, name="job_state", values_callable=lambda e: [m.value for m in e]),
        default=JobState.queued)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    # How it ended, for people: an English template and its parameters.
    message: Mapped[str | None] = mapped_column(Text)
    message_params: Mapped[dict | None] = mapped_column(JSONB)
    result: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def finished(self) -> bool:
        return self.state in (JobState.done, JobState.failed)

    @property
    def percent(self) -> int:
        if self.state is JobState.done:
            return 100
        if not self.total:
            return 0
        return min(99, self.done * 100 // self.total)


def unfinished(session: Session, kind: str, subject: str) -> JobRun | None:
    return session.query(JobRun).filter(
        JobRun.kind == kind, JobRun.subject == subject,
        JobRun.state.in_((JobState.queued, JobState.running))).one_or_none()


def start(session: Session, kind: str, subject: str, *, owner_id=None,
          params: dict | None = None, total: int | None = None,
          queue: bool = True) -> tuple[JobRun, bool]:
    """Ask for a job: a JobRun, and the procrastinate job that will do it, in the
    caller's transaction. If the same thing is already queued or running, that run
    is returned instead (False), whoever clicked twice. With queue=False the caller
    does the work itself, now (admin.jobs.execute), as for a small file."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                    {"k": f"job:{kind}:{subject}"})
    running = unfinished(session, kind, subject)
    if running is not None:
        return running, False
    run = JobRun(id=uuid.uuid4(), kind=kind, subject=subject, owner_id=owner_id,
                 params=params or {}, total=total, state=JobState.queued)
    session.add(run)
    session.flush()
    if queue:
        defer(session, TASK, {"run_id": str(run.id)})
    return run, True


def defer(session: Session, task: str, args: dict, *, lock: str | None = None) -> int:
    """Queue procrastinate's job for `task` in the caller's transaction (the same SQL
    function procrastinate's own defer calls; the package's version is pinned)."""
    return session.execute(text(
        "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :lock, NULL, "
        "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1]))"),
        {"queue": QUEUE, "task": task, "lock": lock, "args": json.dumps(args)}).scalar_one()


@contextmanager
def progress_writer(engine, run_id: uuid.UUID):
    """A function that records how far a run has got, each call on its own short
    transaction (visible at once to the page that polls)."""
    def report(done: int, total: int | None = None) -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE job_runs SET done = :d, total = COALESCE(:t, total) "
                              "WHERE id = :id"), {"d": done, "t": total, "id": run_id})
    yield report


def mark(engine, run_id: uuid.UUID, state: JobState, *, message: str | None = None,
         params: dict | None = None, result: dict | None = None) -> None:
    """Record a run's state on its own transaction (a failed job's own one is gone)."""
    column = "started_at" if state is JobState.running else "finished_at"
    with engine.begin() as conn:
        conn.execute(text(
            f"UPDATE job_runs SET state = :s, {column} = now(), "
            "message = COALESCE(:m, message), message_params = COALESCE(CAST(:p AS jsonb), "
            "message_params), result = COALESCE(CAST(:r AS jsonb), result) WHERE id = :id"),
            {"s": state.value, "m": message, "id": run_id,
             "p": json.dumps(params) if params is not None else None,
             "r": json.dumps(result) if result is not None else None})
