"""我的事项 of a town without sorting its matters out: each matter's one row per town
marked (`town_first`), and a grid's latest questions for legal advice from an index.

A matter may have several current assignments in one town (its household address in
one village, its residence in another). A town's counts and nearest matters counted
each once by a DISTINCT over all the town's open rows (the busiest town of the
synthetic province: 3,460 rows, a third of its query's time). Now exactly one row of
each matter in each town carries `town_first`, and the town's index of open matters by
due moment holds only those: its counts are an index-only count, its nearest the
index's first entries. The town's index by filing time carries the mark too, for its
list's page and count (models.areas.newest, count).

Kept by the triggers of 0021, made again here:
- rows added (an assignment made, or one changed and still current) are marked when
  their matter has no marked row in that town yet, the lowest assignment id among the
  statement's own first;
- rows removed (an assignment ended or deleted, a rebuild) that were marked pass the
  mark to the matter's lowest remaining row in that town, if any (a statement trigger
  on matter_areas itself, so every path that deletes is covered).
Two transactions adding the first assignments of one matter in one town at the same
moment could both mark theirs; a matter's assignments are written under its row's lock
(models.workflow, geo.assign), and `gridlink db rebuild-areas` repairs in any case.

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels = None
depends_on = None

_COLUMNS = ("INSERT INTO matter_areas (assignment_id, matter_id, county_code, town_code, "
            "village_code, grid_code, open, due_at, created_at, town_first)")


def _insert(source: str) -> str:
    """The rows of the current assignments among `source`, each marked when it is its
    matter's first in its town: first of the statement's own, and none marked before."""
    return f"""{_COLUMNS}
  SELECT r.id, r.matter_id, r.county_code, r.town_code, r.village_code, r.grid_code,
         r.open, r.due_at, r.created_at,
         r.town_rank = 1 AND NOT EXISTS (
             SELECT 1 FROM matter_areas e
             WHERE e.matter_id = r.matter_id AND e.town_code = r.town_code
               AND e.town_first)
  FROM (SELECT a.id, a.matter_id, left(g.code, 6) AS county_code,
               left(g.code, 9) AS town_code, left(g.code, 12) AS village_code,
               g.code AS grid_code, gridlink_matter_open(m.state) AS open,
               gridlink_matter_due(m.state, m.accept_due_at, m.finish_due_at,
                                   m.deadline) AS due_at,
               m.created_at,
               row_number() OVER (PARTITION BY a.matter_id, left(g.code, 9)
                                  ORDER BY a.id) AS town_rank
        FROM {source} a JOIN grids g ON g.id = a.grid_id
        JOIN matters m ON m.id = a.matter_id
        WHERE a.ended_at IS NULL) r"""


def _assignment_triggers(insert) -> str:
    """The two assignment triggers' functions (0021's), adding rows by `insert(source)`."""
    return f"""CREATE OR REPLACE FUNCTION matter_areas_assignments_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  {insert("added")};
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION matter_areas_assignments_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM matter_areas WHERE assignment_id IN (SELECT id FROM changed);
  {insert("changed")};
  RETURN NULL;
END $$;"""


UPGRADE = f"""
CREATE INDEX ix_legal_advice_grid_asked ON legal_advice_requests (grid_id, asked_at);

-- Every row marked, then the few that are a matter's second in a town unmarked: the
-- table is not rewritten (its rows stay where they are, its areas' rows together).
ALTER TABLE matter_areas ADD COLUMN town_first boolean NOT NULL DEFAULT true;
UPDATE matter_areas q SET town_first = false
FROM (SELECT assignment_id, row_number() OVER (PARTITION BY matter_id, town_code
                                               ORDER BY assignment_id) AS rank
      FROM matter_areas
      WHERE matter_id IN (SELECT matter_id FROM matter_areas GROUP BY matter_id
                          HAVING count(*) > 1)) f
WHERE q.assignment_id = f.assignment_id AND f.rank > 1;
ALTER TABLE matter_areas ALTER COLUMN town_first DROP DEFAULT;

DROP INDEX ix_matter_areas_town_due;
CREATE INDEX ix_matter_areas_town_due ON matter_areas
    (town_code, due_at, created_at, matter_id) WHERE open AND town_first;
-- A town's list (newest first) and its count read the mark from the index too.
DROP INDEX ix_matter_areas_town;
CREATE INDEX ix_matter_areas_town ON matter_areas (town_code, created_at, matter_id)
    INCLUDE (open, due_at, town_first);

{_assignment_triggers(_insert)}

CREATE FUNCTION matter_areas_pass_the_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE matter_areas q SET town_first = true
  FROM (SELECT DISTINCT ON (r.matter_id, r.town_code) r.assignment_id
        FROM matter_areas r
        JOIN (SELECT DISTINCT matter_id, town_code FROM gone WHERE town_first) o
          ON o.matter_id = r.matter_id AND o.town_code = r.town_code
        WHERE NOT EXISTS (SELECT 1 FROM matter_areas k WHERE k.matter_id = r.matter_id
                          AND k.town_code = r.town_code AND k.town_first)
        ORDER BY r.matter_id, r.town_code, r.assignment_id) p
  WHERE q.assignment_id = p.assignment_id;
  RETURN NULL;
END $$;
CREATE TRIGGER matter_areas_pass_the_mark AFTER DELETE ON matter_areas
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
  EXECUTE FUNCTION matter_areas_pass_the_mark();
"""


# 0021's, as they were.
_ROW_0021 = """SELECT a.id, a.matter_id, left(g.code, 6), left(g.code, 9), left(g.code, 12),
               g.code, gridlink_matter_open(m.state),
               gridlink_matter_due(m.state, m.accept_due_at, m.finish_due_at, m.deadline),
               m.created_at
        FROM {source} a JOIN grids g ON g.id = a.grid_id JOIN matters m ON m.id = a.matter_id
        WHERE a.ended_at IS NULL"""
_COLUMNS_0021 = ("INSERT INTO matter_areas (assignment_id, matter_id, county_code, town_code, "
                 "village_code, grid_code, open, due_at, created_at)")


def _insert_0021(source: str) -> str:
    return f"{_COLUMNS_0021}\n  {_ROW_0021.format(source=source)}"

DOWNGRADE = f"""
DROP TRIGGER matter_areas_pass_the_mark ON matter_areas;
DROP FUNCTION matter_areas_pass_the_mark();

{_assignment_triggers(_insert_0021)}

DROP INDEX ix_matter_areas_town_due;
DROP INDEX ix_matter_areas_town;
ALTER TABLE matter_areas DROP COLUMN town_first;
CREATE INDEX ix_matter_areas_town ON matter_areas (town_code, created_at, matter_id)
    INCLUDE (open, due_at);
CREATE INDEX ix_matter_areas_town_due ON matter_areas
    (town_code, due_at, created_at, matter_id) WHERE open;
DROP INDEX ix_legal_advice_grid_asked;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
