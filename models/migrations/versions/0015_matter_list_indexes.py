"""Indexes for the matter list at province scale: what its sorts and filters use.

The list (admin/views/matters.py) shows 50 matters at a time, newest first unless a
column is chosen. Without an index on the sort key every page sorted the million
matters (or all of a court's) to find its 50; with one, the page is the first 50
entries of the index, filtered or not. So each sortable column has one, and the
filters that pick a few of many (state, type, court) lead a composite index whose
second column is the default sort. Searching a case number (ILIKE '%…%') is served
by a trigram index.

And one for the way out (docs/scaling.md): on Citus a unique index of a distributed
table must include its distribution column, the county code. A court lies in one
county, so the filing's unique key (court, case number, type, debtor) is the same
with the county in front of it; it is made so here.

What this costs: a matter's insert or update writes these nine indexes too (its
updated_at already changes on every step, so no update was HOT before them either).

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_matters_created_at": "(created_at)",
    "ix_matters_court_created": "(court_id, created_at)",
    "ix_matters_state_created": "(state, created_at)",
    "ix_matters_type_created": "(matter_type, created_at)",
    "ix_matters_urgency_created": "(urgency, created_at)",
    "ix_matters_bounty_created": "(bounty, created_at)",
    "ix_matters_deadline": "(deadline)",
    "ix_matters_case_number": "(case_number)",
    "ix_matters_case_number_trgm": "USING gin (case_number gin_trgm_ops)",
}


FILING = "(court_id, case_number, matter_type, debtor_key)"
FILING_BY_COUNTY = "(county_code, court_id, case_number, matter_type, debtor_key)"


def _filing_key(columns: str) -> None:
    op.execute("DROP INDEX uq_matters_filing")
    op.execute(f"CREATE UNIQUE INDEX uq_matters_filing ON matters {columns}")


def upgrade() -> None:
    # pg_trgm is a trusted extension: the database's owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON matters {columns}")
    _filing_key(FILING_BY_COUNTY)


def downgrade() -> None:
    _filing_key(FILING)
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
