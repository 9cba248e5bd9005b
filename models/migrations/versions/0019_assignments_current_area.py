"""An area's current assignments read from an index alone.

A liaison's, grid worker's, town centre's or committee's matters are those with a
current assignment to a grid of their area (models.access, Scope.matters): the area's
grids come from ix_grids_code_prefix (0012), then each grid's assignments from
(county_code, grid_id). That index holds every assignment ever made, so each grid's
entries were looked up in the table to drop the ended ones and to read the matter:
for the busiest town at province scale (634 grids, 3,460 current assignments) 5,359
pages read, 17 ms, before a single matter was looked at, on every list page and home
page of the town (bench/RESULTS.md, parts (i) and (k)). This one holds only the
current assignments and carries the matter's id: 1,928 pages, 6 ms, no table read.
The assignment paths (geo.assign's bulk one included) need nothing new: PostgreSQL
keeps the index.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_assignments_current_area ON assignments "
               "(county_code, grid_id) INCLUDE (matter_id) WHERE ended_at IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX ix_assignments_current_area")
