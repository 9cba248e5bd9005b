"""grids, generations, courts, roster, address points

Revision ID: 0001
Revises:
Create Date: 2026-11-28 02:12:37.704030

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table('address_points',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('road', sa.String(length=100), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_address_points'))
    )
    op.create_geospatial_index('idx_address_points_geom', 'address_points', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('uq_address_points_county_road_number', 'address_points', ['county_code', 'road', 'number'], unique=True)
    op.create_table('courts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('intermediate', 'base', 'tribunal', name='court_kind'), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('case_code', sa.String(length=10), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('contact_name', sa.String(length=50), nullable=True),
    sa.Column('contact_phone', sa.String(length=30), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['courts.id'], name=op.f('fk_courts_parent_id_courts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courts')),
    sa.UniqueConstraint('name', name=op.f('uq_courts_name'))
    )
    op.create_index(op.f('ix_courts_county_code'), 'courts', ['county_code'], unique=False)
    op.create_table('generations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generations'))
    )
    op.create_table('people',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people'))
    )
    op.create_geospatial_table('grids',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=15), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.Enum('county', 'town', 'village', 'microgrid', name='grid_level'), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('county_code', sa.String(length=6), sa.Computed('left(code, 6)', persisted=True), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('generation_low', sa.Integer(), nullable=False),
    sa.Column('generation_high', sa.Integer(), nullable=True),
    sa.CheckConstraint("code ~ '^[0-9]+$' AND char_length(code) = CASE WHEN level = 'microgrid' THEN 15 ELSE 12 END", name=op.f('ck_grids_code_fits_level')),
    sa.CheckConstraint('ST_IsValid(geom)', name=op.f('ck_grids_geom_valid')),
    sa.CheckConstraint('generation_high IS NULL OR generation_high >= generation_low', name=op.f('ck_grids_generation_range')),
    sa.ForeignKeyConstraint(['generation_high'], ['generations.id'], name=op.f('fk_grids_generation_high_generations')),
    sa.ForeignKeyConstraint(['generation_low'], ['generations.id'], name=op.f('fk_grids_generation_low_generations')),
    sa.ForeignKeyConstraint(['parent_id'], ['grids.id'], name=op.f('fk_grids_parent_id_grids'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grids'))
    )
    op.create_geospatial_index('idx_grids_geom', 'grids', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_grids_county_level', 'grids', ['county_code', 'level'], unique=False)
    op.create_index('ix_grids_parent_id', 'grids', ['parent_id'], unique=False)
    op.create_index('uq_grids_current_code', 'grids', ['code'], unique=True, postgresql_where='generation_high IS NULL')
    op.create_table('court_grids',
    sa.Column('court_id', sa.Uuid(), nullable=False),
    sa.Column('grid_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['court_id'], ['courts.id'], name=op.f('fk_court_grids_court_id_courts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_court_grids_grid_id_grids'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('court_id', 'grid_id', name=op.f('pk_court_grids'))
    )
    op.create_table('roster_entries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('grid_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.Enum('liaison', 'grid_worker', name='roster_role'), nullable=False),
    sa.Column('title', sa.String(length=50), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_roster_entries_valid_range')),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_roster_entries_grid_id_grids'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_roster_entries_person_id_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_entries'))
    )
    op.create_index('ix_roster_entries_grid_id', 'roster_entries', ['grid_id'], unique=False)
    op.create_index('uq_roster_current_liaison', 'roster_entries', ['grid_id'], unique=True, postgresql_where="role = 'liaison' AND valid_to IS NULL")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('uq_roster_current_liaison', table_name='roster_entries', postgresql_where="role = 'liaison' AND valid_to IS NULL")
    op.drop_index('ix_roster_entries_grid_id', table_name='roster_entries')
    op.drop_table('roster_entries')
    op.drop_table('court_grids')
    op.drop_index('uq_grids_current_code', table_name='grids', postgresql_where='generation_high IS NULL')
    op.drop_index('ix_grids_parent_id', table_name='grids')
    op.drop_index('ix_grids_county_level', table_name='grids')
    op.drop_geospatial_index('idx_grids_geom', table_name='grids', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('grids')
    op.drop_table('people')
    op.drop_table('generations')
    op.drop_index(op.f('ix_courts_county_code'), table_name='courts')
    op.drop_table('courts')
    op.drop_index('uq_address_points_county_road_number', table_name='address_points')
    op.drop_geospatial_index('idx_address_points_geom', table_name='address_points', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('address_points')
    for enum_type in ("roster_role", "grid_level", "court_kind"):
        op.execute(f"DROP TYPE IF EXISTS {enum_type}")
