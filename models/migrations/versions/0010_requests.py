"""Requests from the grid side: risk reports (风险信息) and legal advice (法律咨询).

The app's role gets rows in and out of both tables through the default
privileges set in 0006.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("matter_id", sa.Uuid(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("grid_id", sa.Uuid(), nullable=False),
        sa.Column("reported_by_id", sa.Uuid(), nullable=False),
        sa.Column("reporter_name", sa.String(length=50), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("urgency", postgresql.ENUM(name="urgency", create_type=False),
                  nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], ondelete="CASCADE",
                                name="fk_risk_reports_matter_id_matters"),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"],
                                name="fk_risk_reports_grid_id_grids"),
        sa.ForeignKeyConstraint(["reported_by_id"], ["accounts.id"],
                                name="fk_risk_reports_reported_by_id_accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_risk_reports"),
    )
    op.create_index("ix_risk_reports_county_matter", "risk_reports",
                    ["county_code", "matter_id"])
    advice_state = postgresql.ENUM("waiting", "answered", "transferred", name="advice_state")
    advice_state.create(op.get_bind())
    op.create_table(
        "legal_advice_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("grid_id", sa.Uuid(), nullable=False),
        sa.Column("asked_by_id", sa.Uuid(), nullable=False),
        sa.Column("asker_name", sa.String(length=50), nullable=False),
        sa.Column("contact_phone", sa.String(length=30), nullable=True),
        sa.Column("topic", sa.String(length=20), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("court_id", sa.Uuid(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("state", postgresql.ENUM(name="advice_state", create_type=False),
                  nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by_id", sa.Uuid(), nullable=True),
        sa.Column("answerer_name", sa.String(length=50), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transferred_from_id", sa.Uuid(), nullable=True),
        sa.Column("transfer_reason", sa.Text(), nullable=True),
        sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"],
                                name="fk_legal_advice_requests_grid_id_grids"),
        sa.ForeignKeyConstraint(["asked_by_id"], ["accounts.id"],
                                name="fk_legal_advice_requests_asked_by_id_accounts"),
        sa.ForeignKeyConstraint(["court_id"], ["courts.id"],
                                name="fk_legal_advice_requests_court_id_courts"),
        sa.ForeignKeyConstraint(["answered_by_id"], ["accounts.id"],
                                name="fk_legal_advice_requests_answered_by_id_accounts"),
        sa.ForeignKeyConstraint(["transferred_from_id"], ["courts.id"],
                                name="fk_legal_advice_requests_transferred_from_id_courts"),
        sa.PrimaryKeyConstraint("id", name="pk_legal_advice_requests"),
    )
    op.create_index("ix_legal_advice_court_state", "legal_advice_requests",
                    ["court_id", "state"])
    op.create_index("ix_legal_advice_county_grid", "legal_advice_requests",
                    ["county_code", "grid_id"])


def downgrade() -> None:
    op.drop_table("legal_advice_requests")
    op.drop_table("risk_reports")
    postgresql.ENUM(name="advice_state").drop(op.get_bind())
