"""Background jobs: procrastinate's queue, and the runs people follow (job_runs).

The queue's schema is the pinned procrastinate package's own (its sql/schema.sql,
applied as it ships); upgrading procrastinate means a migration with its
sql/migrations scripts in between. The app's role gets rows in and out of the new
tables through the default privileges set in 0006, and may call the queue's
functions (EXECUTE is PUBLIC's by default).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence
from pathlib import Path

import procrastinate
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels = None
depends_on = None

SCHEMA = Path(procrastinate.__file__).parent / "sql" / "schema.sql"


def upgrade() -> None:
    op.execute(SCHEMA.read_text(encoding="utf-8"))
    state = postgresql.ENUM("queued", "running", "done", "failed", name="job_state",
                            create_type=False)
    state.create(op.get_bind())
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("owner_id", sa.Uuid(), sa.ForeignKey("accounts.id",
                  name="fk_job_runs_owner_id_accounts"), nullable=True),
        sa.Column("params", postgresql.JSONB(), nullable=False),
        sa.Column("state", state, nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("message_params", postgresql.JSONB(), nullable=True),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_job_runs"),
    )
    op.create_index("uq_job_runs_unfinished", "job_runs", ["kind", "subject"], unique=True,
                    postgresql_where=sa.text("state IN ('queued', 'running')"))
    op.create_index("ix_job_runs_owner_created", "job_runs", ["owner_id", "created_at"])


def downgrade() -> None:
    op.drop_table("job_runs")
    op.execute("DROP TYPE job_state")
    op.execute("""
DO $$ DECLARE f record; BEGIN
  DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
    procrastinate_jobs, procrastinate_workers CASCADE;
  FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
           WHERE p.proname LIKE 'procrastinate\\_%' LOOP
    EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE';
  END LOOP;
  DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
    procrastinate_job_status;
END $$;""")
