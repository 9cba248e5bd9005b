"""The application's own database role, and a session generation per account.

The app used to connect as the superuser, which can switch the audit trail's
trigger off (session_replication_role, ALTER TABLE … DISABLE TRIGGER). From
here it connects as APP_ROLE: no superuser, owner of nothing, rows in and out of
the tables it works on, only INSERT and SELECT on the audit records. The owner
(whoever runs the migrations) keeps the schema; tables made by later migrations
get the same grants through default privileges.

accounts.session_generation is part of every session cookie: signing out,
changing the password, disabling the account and an administrator's "sign out
everywhere" raise it, and every older cookie stops working.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.database import APP_ROLE

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels = None
depends_on = None

# The role is the cluster's, not the database's: it may exist already (another
# database on the same server). Its attributes are set again in any case.
CREATE_ROLE = f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    CREATE ROLE {APP_ROLE} LOGIN;
  END IF;
END $$;
ALTER ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
"""

GRANTS = f"""
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {APP_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
REVOKE UPDATE, DELETE ON audit_records FROM {APP_ROLE};
REVOKE DELETE ON audit_head FROM {APP_ROLE};
REVOKE INSERT, UPDATE, DELETE ON alembic_version, spatial_ref_sys FROM {APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};
"""

# ANALYZE is the table owner's. After a bulk import the app needs fresh statistics
# (geo.sql.refresh_statistics), so the owner lends it exactly that, and nothing else.
REFRESH_STATISTICS = f"""
CREATE FUNCTION gridlink_refresh_statistics() RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  ANALYZE grids, address_points;
END $$;
REVOKE ALL ON FUNCTION gridlink_refresh_statistics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gridlink_refresh_statistics() TO {APP_ROLE};
"""


def upgrade() -> None:
    op.add_column("accounts", sa.Column("session_generation", sa.Integer(),
                                        server_default="0", nullable=False))
    op.execute(CREATE_ROLE)
    op.execute(GRANTS)
    op.execute(REFRESH_STATISTICS)


def downgrade() -> None:
    op.execute("DROP FUNCTION gridlink_refresh_statistics()")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
               f"REVOKE ALL ON TABLES FROM {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
               f"REVOKE ALL ON SEQUENCES FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON SCHEMA public FROM {APP_ROLE}")
    op.drop_column("accounts", "session_generation")
