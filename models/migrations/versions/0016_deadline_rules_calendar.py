"""Deadline rules (effective-dated, per matter type or any, and urgency), the holiday
calendar (holidays and adjusted working days, 调休), and the working-time arithmetic
in SQL (models.deadlines explains the rule of "within N working days").

The defaults of the issue are written here, as the address precedence's were: for any
matter type, normal — accept within 1 working day, finish within 7; urgent — accept
within 2 hours, finish within 3 working days; from 2026-01-01. A rule is never
rewritten (the database refuses it, as for the fee table): a new rule ends the old.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels = None
depends_on = None

MATTER_TYPE = postgresql.ENUM(name="matter_type", create_type=False)
URGENCY = postgresql.ENUM(name="urgency", create_type=False)
DAY_KIND = postgresql.ENUM("holiday", "workday", name="calendar_day_kind", create_type=False)
UNITS = "'hours', 'working_days'"

FUNCTIONS = """
CREATE FUNCTION gridlink_is_working_day(d date) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT COALESCE((SELECT c.kind = 'workday' FROM calendar_days c WHERE c.day = d),
                  extract(isodow FROM d) < 6)
$$;

-- The nth Monday-to-Friday after d (from a Saturday or Sunday: as from the Friday).
CREATE FUNCTION gridlink_weekday_after(d date, n integer) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT f + n + 2 * ((extract(isodow FROM f)::integer - 1 + n) / 5)
  FROM (SELECT d - greatest(extract(isodow FROM d)::integer - 5, 0) AS f) s
$$;

-- The nth working day after d: the nth weekday, then the calendar's exceptions in
-- order, as far as the answer reaches: a weekday holiday pushes it a weekday later,
-- a worked Saturday or Sunday pulls it a weekday earlier (never before that day).
-- Reads only the exceptions, not every day: three times faster than counting days.
CREATE FUNCTION gridlink_working_day_after(d date, n integer) RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  r date := gridlink_weekday_after(d, n);
  e record;
BEGIN
  FOR e IN SELECT c.day, c.kind FROM calendar_days c WHERE c.day > d ORDER BY c.day LOOP
    EXIT WHEN e.day > r;
    IF e.kind = 'holiday' AND extract(isodow FROM e.day) < 6 THEN
      r := gridlink_weekday_after(r, 1);
    ELSIF e.kind = 'workday' AND extract(isodow FROM e.day) > 5 THEN
      r := greatest(e.day, r - CASE extract(isodow FROM r)::integer
                                  WHEN 1 THEN 3 WHEN 7 THEN 2 ELSE 1 END);
    END IF;
  END LOOP;
  RETURN r;
END $$;

CREATE FUNCTION gridlink_due(start timestamptz, amount integer, unit text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE unit
    WHEN 'hours' THEN date_trunc('minute', start) + make_interval(hours => amount)
    WHEN 'working_days' THEN
      (gridlink_working_day_after((start AT TIME ZONE 'Asia/Shanghai')::date, amount) + 1)
        ::timestamp AT TIME ZONE 'Asia/Shanghai' - interval '1 second'
  END
$$;

CREATE FUNCTION gridlink_deadlines(at timestamptz, kind matter_type, urg urgency,
                                   OUT accept_due timestamptz, OUT finish_due timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT gridlink_due(at, r.accept_amount, r.accept_unit),
         gridlink_due(at, r.finish_amount, r.finish_unit)
  FROM deadline_rules r
  WHERE r.urgency = urg AND (r.matter_type = kind OR r.matter_type IS NULL)
    AND r.valid_from <= (at AT TIME ZONE 'Asia/Shanghai')::date
    AND (r.valid_to IS NULL OR r.valid_to > (at AT TIME ZONE 'Asia/Shanghai')::date)
  ORDER BY r.matter_type IS NULL
  LIMIT 1
$$;

CREATE FUNCTION deadline_rules_never_rewritten() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.matter_type IS DISTINCT FROM OLD.matter_type OR NEW.urgency IS DISTINCT FROM OLD.urgency
     OR NEW.accept_amount IS DISTINCT FROM OLD.accept_amount
     OR NEW.accept_unit IS DISTINCT FROM OLD.accept_unit
     OR NEW.finish_amount IS DISTINCT FROM OLD.finish_amount
     OR NEW.finish_unit IS DISTINCT FROM OLD.finish_unit
     OR NEW.valid_from IS DISTINCT FROM OLD.valid_from
     OR (OLD.valid_to IS NOT NULL AND NEW.valid_to IS DISTINCT FROM OLD.valid_to) THEN
    RAISE EXCEPTION 'a deadline rule is never changed: end it and start a new one';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER deadline_rules_never_rewritten BEFORE UPDATE ON deadline_rules
  FOR EACH ROW EXECUTE FUNCTION deadline_rules_never_rewritten();
"""

DEFAULTS = """
INSERT INTO deadline_rules (id, matter_type, urgency, accept_amount, accept_unit,
                            finish_amount, finish_unit, valid_from, note)
VALUES (gen_random_uuid(), NULL, 'normal', 1, 'working_days', 7, 'working_days',
        DATE '2026-01-01', '默认规则（问题12）'),
       (gen_random_uuid(), NULL, 'urgent', 2, 'hours', 3, 'working_days',
        DATE '2026-01-01', '默认规则（问题12）')
"""


def upgrade() -> None:
    DAY_KIND.create(op.get_bind(), checkfirst=True)
    op.create_table(
        "deadline_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("matter_type", MATTER_TYPE, nullable=True),
        sa.Column("urgency", URGENCY, nullable=False),
        sa.Column("accept_amount", sa.Integer(), nullable=False),
        sa.Column("accept_unit", sa.String(length=12), nullable=False),
        sa.Column("finish_amount", sa.Integer(), nullable=False),
        sa.Column("finish_unit", sa.String(length=12), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from",
                           name=op.f("ck_deadline_rules_valid_range")),
        sa.CheckConstraint(f"accept_unit IN ({UNITS}) AND finish_unit IN ({UNITS})",
                           name=op.f("ck_deadline_rules_units")),
        sa.CheckConstraint("accept_amount BETWEEN 1 AND 720 AND finish_amount BETWEEN 1 AND 720"
                           " AND (accept_unit = 'hours' OR accept_amount <= 60)"
                           " AND (finish_unit = 'hours' OR finish_amount <= 60)",
                           name=op.f("ck_deadline_rules_amounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_rules")),
    )
    op.create_index("uq_deadline_rules_current", "deadline_rules", ["matter_type", "urgency"],
                    unique=True, postgresql_where=sa.text("valid_to IS NULL"),
                    postgresql_nulls_not_distinct=True)
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", DAY_KIND, nullable=False),
        sa.Column("name", sa.String(length=50), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.execute(FUNCTIONS)
    op.execute(DEFAULTS)


def downgrade() -> None:
    for name in ("gridlink_deadlines(timestamptz, matter_type, urgency)",
                 "gridlink_due(timestamptz, integer, text)",
                 "gridlink_working_day_after(date, integer)",
                 "gridlink_weekday_after(date, integer)",
                 "gridlink_is_working_day(date)"):
        op.execute(f"DROP FUNCTION {name}")
    op.drop_table("calendar_days")
    op.drop_table("deadline_rules")
    op.execute("DROP FUNCTION deadline_rules_never_rewritten()")
    DAY_KIND.drop(op.get_bind(), checkfirst=True)
