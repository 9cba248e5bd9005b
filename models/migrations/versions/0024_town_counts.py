"""A town's matters counted by the database as they change, not on every page.

我的事项 of a town's liaison counted every open matter of the town on each visit, and
the town's matter list every matter: the busiest town of the synthetic province has
3,293 open of 3,293, an index-only count of a third of a millisecond and more on every
page, where a village's are a few dozen. Now each town's counts are kept, in two parts:
- `town_counts`: a town's matters (each once: its rows `town_first`) and open matters
  (`open AND town_first`: the rows the town's index by due moment holds), as of the
  last fold;
- `town_count_changes`: what each statement changed since, one row per town and
  statement, appended by statement triggers on matter_areas (its inserted, updated and
  deleted rows).
A count is the first plus the sum of the second. Writers only append, so two
transactions never wait for each other on a town's row (a counter row updated in
place would hold its lock until the writer commits: a bulk import's whole length).
`models.areas.fold_town_counts` moves the changes into the counts in one statement
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

# What a statement changed in each town, from its transition tables: each row added
# counts +1, each removed -1, in `matters` when it is its matter's one in the town and
# in `open` when that and open (an update: its new row added, its old one removed).
_APPEND = """INSERT INTO town_count_changes (town_code, matters, open)
  SELECT town_code, sum(matters), sum(open) FROM ({rows}) c
  GROUP BY town_code HAVING sum(matters) <> 0 OR sum(open) <> 0"""
_COUNTED = ("SELECT town_code, {sign} * town_first::integer AS matters,"
            " {sign} * (open AND town_first)::integer AS open FROM {table}")


def _function(name: str, rows: str) -> str:
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_APPEND.format(rows=rows)};
  RETURN NULL;
END $$;"""


UPGRADE = f"""
CREATE TABLE town_counts (
    town_code varchar(9) PRIMARY KEY,
    matters integer NOT NULL,
    open integer NOT NULL
);
CREATE TABLE town_count_changes (
    town_code varchar(9) NOT NULL,
    matters integer NOT NULL,
    open integer NOT NULL
);
CREATE INDEX ix_town_count_changes_town ON town_count_changes (town_code)
    INCLUDE (matters, open);

INSERT INTO town_counts (town_code, matters, open)
SELECT town_code, count(*), count(*) FILTER (WHERE open)
FROM matter_areas WHERE town_first GROUP BY town_code;

{_function("town_counts_added", _COUNTED.format(sign=1, table="added"))}
{_function("town_counts_removed", _COUNTED.format(sign=-1, table="removed"))}
{_function("town_counts_updated", _COUNTED.format(sign=1, table="now_rows") + " UNION ALL "
           + _COUNTED.format(sign=-1, table="was_rows"))}

CREATE TRIGGER town_counts_added AFTER INSERT ON matter_areas
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION town_counts_added();
CREATE TRIGGER town_counts_removed AFTER DELETE ON matter_areas
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
  EXECUTE FUNCTION town_counts_removed();
CREATE TRIGGER town_counts_updated AFTER UPDATE ON matter_areas
  REFERENCING OLD TABLE AS was_rows NEW TABLE AS now_rows
  FOR EACH STATEMENT EXECUTE FUNCTION town_counts_updated();

-- Truncating matter_areas would skip the triggers: refused (rebuild-areas deletes).
CREATE FUNCTION town_counts_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'matter_areas is not truncated (the towns'' counts would be wrong): '
                  'delete its rows, or run gridlink db rebuild-areas';
END $$;
CREATE TRIGGER town_counts_no_truncate BEFORE TRUNCATE ON matter_areas
  FOR EACH STATEMENT EXECUTE FUNCTION town_counts_no_truncate();
"""

DOWNGRADE = """
DROP TRIGGER town_counts_no_truncate ON matter_areas;
DROP TRIGGER town_counts_updated ON matter_areas;
DROP TRIGGER town_counts_removed ON matter_areas;
DROP TRIGGER town_counts_added ON matter_areas;
DROP FUNCTION town_counts_no_truncate();
DROP FUNCTION town_counts_updated();
DROP FUNCTION town_counts_removed();
DROP FUNCTION town_counts_added();
DROP TABLE town_count_changes;
DROP TABLE town_counts;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
