"""Outcomes of matters, in versions, and their evidence files.

An outcome is never edited: a correction is a new version. The app's role may
add versions and read them, never change or remove one. Evidence rows describe
files kept outside the database (models.evidence); they are not changed either.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from models.database import APP_ROLE

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("matter_id", sa.Uuid(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gps", Geometry("POINT", srid=4326, spatial_index=False), nullable=True),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_by_name", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], ondelete="RESTRICT",
                                name=op.f("fk_evidence_matter_id_matters")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["accounts.id"],
                                name=op.f("fk_evidence_uploaded_by_id_accounts")),
        sa.CheckConstraint("size > 0 AND sha256 ~ '^[0-9a-f]{64}$'",
                           name=op.f("ck_evidence_size_and_hash")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    op.create_index("ix_evidence_matter_id", "evidence", ["matter_id"])
    op.create_index("ix_evidence_sha256", "evidence", ["sha256"])
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("matter_id", sa.Uuid(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by_name", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], ondelete="RESTRICT",
                                name=op.f("fk_outcomes_matter_id_matters")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["accounts.id"],
                                name=op.f("fk_outcomes_recorded_by_id_accounts")),
        sa.CheckConstraint("version > 0", name=op.f("ck_outcomes_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sa.UniqueConstraint("matter_id", "version", name="uq_outcomes_matter_version"),
    )
    op.create_index("ix_outcomes_county_matter", "outcomes", ["county_code", "matter_id"])
    # Versions are added, never rewritten; evidence rows are never rewritten.
    op.execute(f"REVOKE UPDATE, DELETE ON outcomes FROM {APP_ROLE}")
    op.execute(f"REVOKE UPDATE ON evidence FROM {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("outcomes")
    op.drop_table("evidence")
