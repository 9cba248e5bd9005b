"""A matter's life after assignment: its steps, a version for concurrent steps, the
time of its last change (for polling), its chases and who does the field work; and
the roster person an account of a grid's people stands for.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels = None
depends_on = None

STATE = postgresql.ENUM(name="matter_state", create_type=False)


def upgrade() -> None:
    op.add_column("matters", sa.Column("version", sa.Integer(), server_default="0",
                                       nullable=False))
    op.add_column("matters", sa.Column("updated_at", sa.DateTime(timezone=True),
                                       server_default=sa.text("now()"), nullable=False))
    op.add_column("matters", sa.Column("chases", sa.Integer(), server_default="0",
                                       nullable=False))
    op.add_column("matters", sa.Column("field_worker_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_matters_field_worker_id_people"), "matters", "people",
                          ["field_worker_id"], ["id"])
    op.execute("UPDATE matters SET updated_at = created_at")
    op.create_index("ix_matters_updated_at", "matters", ["updated_at"])

    op.add_column("accounts", sa.Column("person_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_accounts_person_id_people"), "accounts", "people",
                          ["person_id"], ["id"])
    op.create_index("uq_accounts_person_id", "accounts", ["person_id"], unique=True,
                    postgresql_where="person_id IS NOT NULL")

    op.create_table(
        "matter_steps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("matter_id", sa.Uuid(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("from_state", STATE, nullable=False),
        sa.Column("to_state", STATE, nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason_code", sa.String(length=30), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"],
                                name=op.f("fk_matter_steps_matter_id_matters"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matter_steps")),
    )
    op.create_index("ix_matter_steps_matter_at", "matter_steps", ["matter_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_matter_steps_matter_at", table_name="matter_steps")
    op.drop_table("matter_steps")
    op.drop_index("uq_accounts_person_id", table_name="accounts")
    op.drop_constraint(op.f("fk_accounts_person_id_people"), "accounts", type_="foreignkey")
    op.drop_column("accounts", "person_id")
    op.drop_index("ix_matters_updated_at", table_name="matters")
    op.drop_constraint(op.f("fk_matters_field_worker_id_people"), "matters",
                       type_="foreignkey")
    for column in ("field_worker_id", "chases", "updated_at", "version"):
        op.drop_column("matters", column)
