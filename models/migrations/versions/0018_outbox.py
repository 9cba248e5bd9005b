"""The outbox: messages that leave the system (an SMS) for notifications that call
someone to act, each delivered once by the job worker (models.outbox).

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=10), server_default="sms", nullable=False),
        sa.Column("address", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True),
                  server_default=sa.text("now()"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"], ondelete="CASCADE",
                                name=op.f("fk_outbox_notification_id_notifications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("notification_id", "channel",
                            name=op.f("uq_outbox_notification_id")),
        sa.CheckConstraint("state IN ('pending', 'sent', 'failed')",
                           name=op.f("ck_outbox_state")),
    )
    op.create_index("ix_outbox_due", "outbox", ["next_attempt_at"],
                    postgresql_where=sa.text("state = 'pending'"))


def downgrade() -> None:
    op.drop_table("outbox")
