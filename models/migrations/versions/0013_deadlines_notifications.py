"""Deadlines people feel: a matter's accept and finish deadlines (fixed when it is
assigned), its place on the escalation ladder, its reminder and the court's urgent
call; and notifications, each written once (a unique key per event and account).

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels = None
depends_on = None

MATTER_COLUMNS = ("accept_due_at", "finish_due_at", "escalated_at", "reminded_at", "urgent_at")


def upgrade() -> None:
    for name in MATTER_COLUMNS:
        op.add_column("matters", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column("matters", sa.Column("escalation_level", sa.SmallInteger(),
                                       server_default="0", nullable=False))
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("matter_id", sa.Uuid(), nullable=True),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'{}'"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                name=op.f("fk_notifications_account_id_accounts")),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], ondelete="CASCADE",
                                name=op.f("fk_notifications_matter_id_matters")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_notifications_dedup_key")),
    )
    op.create_index("ix_notifications_unread", "notifications", ["account_id"],
                    postgresql_where=sa.text("read_at IS NULL"))
    op.create_index("ix_notifications_account_created", "notifications",
                    ["account_id", "created_at"])


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_column("matters", "escalation_level")
    for name in MATTER_COLUMNS:
        op.drop_column("matters", name)
