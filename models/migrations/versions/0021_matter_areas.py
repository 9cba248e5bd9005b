"""Where each matter is now, for an area's lists (models.areas): one row per current
assignment with its grid's area codes and the matter's sort keys, kept by triggers.

An area's newest or nearest matters were found through its grids' assignments and
every one of them looked up in matters to be sorted (the busiest town of the synthetic
province: 3,293 matters, 13,000 pages, on every home and list page). Here they come in
order from an index.

The triggers:
- an assignment inserted adds its row when current (set-based: one statement for a
  bulk assignment's million rows);
- an assignment updated (ended by a re-route, a return, a reassignment) is taken out,
  and put back if it is still current;
- an assignment deleted takes its row with it (the foreign key);
- a matter updated so that it opens or closes, or its due moment or filing time moves,
  updates its rows. The ladder's escalation (assigned → escalated) changes none of
  these: the trigger's condition skips those rows without running anything.
`gridlink_matter_due` is models.deadlines.due_moment (tests/test_areas.py checks they
agree for every matter); `gridlink_matter_open` is models.matters.OPEN_STATES.

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels = None
depends_on = None

_ROW = """SELECT a.id, a.matter_id, left(g.code, 6), left(g.code, 9), left(g.code, 12),
               g.code, gridlink_matter_open(m.state),
               gridlink_matter_due(m.state, m.accept_due_at, m.finish_due_at, m.deadline),
               m.created_at
        FROM {source} a JOIN grids g ON g.id = a.grid_id JOIN matters m ON m.id = a.matter_id
        WHERE a.ended_at IS NULL"""
_COLUMNS = ("INSERT INTO matter_areas (assignment_id, matter_id, county_code, town_code, "
            "village_code, grid_code, open, due_at, created_at)")

_OPEN = ("'new', 'assigned', 'accepted', 'dispatched', 'escalated', 'returned', 'review', "
         "'manual'")


def _due(row: str) -> str:
    return (f"coalesce(CASE WHEN {row}.state IN ('assigned', 'escalated') THEN {row}.accept_due_at"
            f" WHEN {row}.state IN ('accepted', 'dispatched') THEN {row}.finish_due_at END,"
            f" (({row}.deadline + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'))")


def _when() -> str:
    """The matters' trigger's condition, written out rather than calling the two
    functions: it is evaluated for every row an UPDATE touches (the ladder's 110,000 a
    pass), and a SQL function called there cost the pass 2–3 s of CPU (RESULTS (m))."""
    return (f"(OLD.state IN ({_OPEN})) IS DISTINCT FROM (NEW.state IN ({_OPEN}))"
            f" OR {_due('OLD')} IS DISTINCT FROM {_due('NEW')}"
            " OR OLD.created_at IS DISTINCT FROM NEW.created_at")


UPGRADE = f"""
CREATE TABLE matter_areas (
    assignment_id uuid NOT NULL,
    matter_id uuid NOT NULL,
    county_code varchar(6) NOT NULL,
    town_code varchar(9) NOT NULL,
    village_code varchar(12) NOT NULL,
    grid_code varchar(15) NOT NULL,
    open boolean NOT NULL,
    due_at timestamptz,
    created_at timestamptz NOT NULL,
    CONSTRAINT pk_matter_areas PRIMARY KEY (assignment_id),
    CONSTRAINT fk_matter_areas_assignment_id_assignments FOREIGN KEY (assignment_id)
        REFERENCES assignments (id) ON DELETE CASCADE
);

CREATE FUNCTION gridlink_matter_open(state matter_state) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT state IN ('new', 'assigned', 'accepted', 'dispatched', 'escalated', 'returned',
                   'review', 'manual')
$$;

CREATE FUNCTION gridlink_matter_due(state matter_state, accept_due_at timestamptz,
                                    finish_due_at timestamptz, deadline date)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(CASE WHEN state IN ('assigned', 'escalated') THEN accept_due_at
                       WHEN state IN ('accepted', 'dispatched') THEN finish_due_at END,
                  ((deadline + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'))
$$;

{_COLUMNS}
{_ROW.format(source="assignments")};

CREATE INDEX ix_matter_areas_matter ON matter_areas (matter_id);
CREATE INDEX ix_matter_areas_county ON matter_areas (county_code, created_at, matter_id)
    INCLUDE (open, due_at);
CREATE INDEX ix_matter_areas_town ON matter_areas (town_code, created_at, matter_id)
    INCLUDE (open, due_at);
CREATE INDEX ix_matter_areas_village ON matter_areas (village_code, created_at, matter_id)
    INCLUDE (open, due_at, grid_code);
CREATE INDEX ix_matter_areas_town_due ON matter_areas
    (town_code, due_at, created_at, matter_id) WHERE open;

CREATE FUNCTION matter_areas_assignments_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_COLUMNS}
  {_ROW.format(source="added")};
  RETURN NULL;
END $$;
CREATE TRIGGER matter_areas_assignments_added AFTER INSERT ON assignments
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT
  EXECUTE FUNCTION matter_areas_assignments_added();

CREATE FUNCTION matter_areas_assignments_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM matter_areas WHERE assignment_id IN (SELECT id FROM changed);
  {_COLUMNS}
  {_ROW.format(source="changed")};
  RETURN NULL;
END $$;
CREATE TRIGGER matter_areas_assignments_changed AFTER UPDATE ON assignments
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
  EXECUTE FUNCTION matter_areas_assignments_changed();

CREATE FUNCTION matter_areas_matter_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE matter_areas
  SET open = gridlink_matter_open(NEW.state),
      due_at = gridlink_matter_due(NEW.state, NEW.accept_due_at, NEW.finish_due_at,
                                   NEW.deadline),
      created_at = NEW.created_at
  WHERE matter_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER matter_areas_matter_changed AFTER UPDATE ON matters FOR EACH ROW
  WHEN ({_when()})
  EXECUTE FUNCTION matter_areas_matter_changed();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("""
        DROP TRIGGER matter_areas_matter_changed ON matters;
        DROP TRIGGER matter_areas_assignments_changed ON assignments;
        DROP TRIGGER matter_areas_assignments_added ON assignments;
        DROP FUNCTION matter_areas_matter_changed();
        DROP FUNCTION matter_areas_assignments_changed();
        DROP FUNCTION matter_areas_assignments_added();
        DROP TABLE matter_areas;
        DROP FUNCTION gridlink_matter_due(matter_state, timestamptz, timestamptz, date);
        DROP FUNCTION gridlink_matter_open(matter_state);
    """)
