"""The committee maps' kept counts: open, overdue and completion figures per county,
town and village (models.map_counts), refreshed every minute by a periodic job.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "map_counts",
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("code", sa.String(15), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("states", JSONB(), nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False),
        sa.Column("due_on_day", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("median_days", sa.Float(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("level", "code", name=op.f("pk_map_counts")),
    )


def downgrade() -> None:
    op.drop_table("map_counts")
