"""The committee maps' precomputed shapes: county, town and village outlines per zoom
band (models.map_shapes), rebuilt by a job when boundaries change.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "map_shapes",
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("code", sa.String(15), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
                  nullable=False),
        sa.Column("label_point", Geometry("POINT", srid=4326, spatial_index=False),
                  nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("level", "band", "code", name=op.f("pk_map_shapes")),
    )
    op.create_index("idx_map_shapes_geom", "map_shapes", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    op.drop_table("map_shapes")
