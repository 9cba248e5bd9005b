"""liaison list submissions (联络员名单报送): submissions and their rows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 03:21:14.188327

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('directory_submissions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('town_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'submitted', 'approved', 'returned', name='directory_state'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Uuid(), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('effective_from', sa.Date(), nullable=True),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['accounts.id'], name=op.f('fk_directory_submissions_created_by_id_accounts')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['accounts.id'], name=op.f('fk_directory_submissions_reviewed_by_id_accounts')),
    sa.ForeignKeyConstraint(['town_id'], ['grids.id'], name=op.f('fk_directory_submissions_town_id_grids'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_submissions'))
    )
    op.create_index('uq_directory_submissions_open_town', 'directory_submissions', ['town_id'], unique=True, postgresql_where="state <> 'approved'")
    op.create_table('directory_rows',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('submission_id', sa.Uuid(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=True),
    # The roster's own role type, made by 0001.
    sa.Column('role', postgresql.ENUM('liaison', 'grid_worker', name='roster_role', create_type=False), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['submission_id'], ['directory_submissions.id'], name=op.f('fk_directory_rows_submission_id_directory_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_rows'))
    )
    op.create_index(op.f('ix_directory_rows_submission_id'), 'directory_rows', ['submission_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_directory_rows_submission_id'), table_name='directory_rows')
    op.drop_table('directory_rows')
    op.drop_index('uq_directory_submissions_open_town', table_name='directory_submissions', postgresql_where="state <> 'approved'")
    op.drop_table('directory_submissions')
    op.execute("DROP TYPE IF EXISTS directory_state")
