"""A b-tree on grid codes that answers "every grid whose code starts with …".

A liaison's, grid worker's or town centre's matters are those assigned to the grids
of their area: codes starting with the area's (models.access, Scope.matters). The
database's collation (C.UTF-8) is not plain C, so the unique index on current codes
cannot serve LIKE 'prefix%', and the planner read every current assignment of the
county (10,000 at province scale) and looked each one's grid up: 100–230 ms for
every home page of a liaison, however few matters they had (bench/RESULTS.md,
part (i)). With text_pattern_ops the area's grids are a range scan, and their
assignments come from the (county_code, grid_id) index: 0.6 ms for a village.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_grids_code_prefix ON grids (code text_pattern_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_grids_code_prefix")
