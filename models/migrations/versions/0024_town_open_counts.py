"""A town's open matters counted by the database as they change, not on every page.

我的事项 of a town's liaison counted every open matter of the town on each visit: the
busiest town of the synthetic province has 3,293, an index-only count of a third of a
millisecond on every page, where a village's is a few dozen. Now each town's count is
kept, in two parts:
- `town_open_counts`: a town's count as of the last fold;
- `town_open_changes`: what each statement changed since, one row per town and
  statement, appended by statement triggers on matter_areas (its inserted, updated and
  deleted rows, each counted when it is `open AND town_first`: the rows the town's
  open index holds).
The count is the first plus the sum of the second. Writers only append, so two
transactions never wait for each other on a town's row (a counter row updated in
place would hold its lock until the writer commits: a bulk import's whole length).
`models.areas.fold_open_counts` moves the changes into the counts in one statement
(every minute, by the worker); `gridlink db rebuild-areas` makes both again.

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels = None
depends_on = None

# What a statement changed in each town: +1 for each counted row it added or made
# counted, -1 for each it removed or made uncounted (UNION ALL of `plus` and `minus`).
_APPEND = """INSERT INTO town_open_changes (town_code, change)
  SELECT town_code, sum(change) FROM ({rows}) c
  GROUP BY town_code HAVING sum(change) <> 0"""
_COUNTED = "SELECT town_code, {sign} AS change FROM {table} WHERE open AND town_first"

UPGRADE = f"""
CREATE TABLE town_open_counts (
    town_code varchar(9) PRIMARY KEY,
    open integer NOT NULL
);
CREATE TABLE town_open_changes (
    town_code varchar(9) NOT NULL,
    change integer NOT NULL
);
CREATE INDEX ix_town_open_changes_town ON town_open_changes (town_code) INCLUDE (change);

INSERT INTO town_open_counts (town_code, open)
SELECT town_code, count(*) FROM matter_areas WHERE open AND town_first GROUP BY town_code;

CREATE FUNCTION town_open_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_APPEND.format(rows=_COUNTED.format(sign=1, table="added"))};
  RETURN NULL;
END $$;
CREATE FUNCTION town_open_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_APPEND.format(rows=_COUNTED.format(sign=-1, table="removed"))};
  RETURN NULL;
END $$;
CREATE FUNCTION town_open_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_APPEND.format(rows=_COUNTED.format(sign=1, table="now_rows") + " UNION ALL "
                  + _COUNTED.format(sign=-1, table="was_rows"))};
  RETURN NULL;
END $$;

CREATE TRIGGER town_open_added AFTER INSERT ON matter_areas
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION town_open_added();
CREATE TRIGGER town_open_removed AFTER DELETE ON matter_areas
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION town_open_removed();
CREATE TRIGGER town_open_updated AFTER UPDATE ON matter_areas
  REFERENCING OLD TABLE AS was_rows NEW TABLE AS now_rows
  FOR EACH STATEMENT EXECUTE FUNCTION town_open_updated();

-- Truncating matter_areas would skip the triggers: refused (rebuild-areas deletes).
CREATE FUNCTION town_open_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'matter_areas is not truncated (the towns'' open counts would be '
                  'wrong): delete its rows, or run gridlink db rebuild-areas';
END $$;
CREATE TRIGGER town_open_no_truncate BEFORE TRUNCATE ON matter_areas
  FOR EACH STATEMENT EXECUTE FUNCTION town_open_no_truncate();

"""

DOWNGRADE = """
DROP TRIGGER town_open_no_truncate ON matter_areas;
DROP TRIGGER town_open_updated ON matter_areas;
DROP TRIGGER town_open_removed ON matter_areas;
DROP TRIGGER town_open_added ON matter_areas;
DROP FUNCTION town_open_no_truncate();
DROP FUNCTION town_open_updated();
DROP FUNCTION town_open_removed();
DROP FUNCTION town_open_added();
DROP TABLE town_open_changes;
DROP TABLE town_open_counts;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
