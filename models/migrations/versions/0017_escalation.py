"""The escalation ladder's pass finds its matters by partial indexes: those waiting
for acceptance by their accept deadline, and the escalated ones by since when.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_matters_awaiting_acceptance", "matters", ["accept_due_at"],
                    postgresql_where=sa.text("state = 'assigned'"))
    op.create_index("ix_matters_escalated_since", "matters", ["escalated_at"],
                    postgresql_where=sa.text("state = 'escalated'"))


def downgrade() -> None:
    op.drop_index("ix_matters_escalated_since", table_name="matters")
    op.drop_index("ix_matters_awaiting_acceptance", table_name="matters")
