"""Record forms (执行联动事项记录表), the labour-fee table, ledger and statements.

Two rules are kept by the database itself, whatever writes the rows:
- a signed record form's content never changes, a signature is never taken back,
  and a replaced version stays replaced (corrections are new versions);
- a fee rule's amount, type, kind and start never change: a new amount ends the
  old rule (valid_to, set once) and starts a new one.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels = None
depends_on = None

MATTER_TYPE = postgresql.ENUM(name="matter_type", create_type=False)
OUTCOME_KIND = postgresql.ENUM("completed", "searched", name="outcome_kind", create_type=False)
STATEMENT_STATE = postgresql.ENUM("draft", "paid", name="statement_state", create_type=False)

TRIGGERS = """
CREATE FUNCTION record_forms_signed_stay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.worker_signed_at IS NOT NULL AND (
       NEW.content IS DISTINCT FROM OLD.content
       OR NEW.outcome_kind IS DISTINCT FROM OLD.outcome_kind
       OR NEW.matter_id IS DISTINCT FROM OLD.matter_id
       OR NEW.version IS DISTINCT FROM OLD.version) THEN
    RAISE EXCEPTION 'a signed record form cannot be edited: make a correction';
  END IF;
  IF (OLD.worker_signed_at IS NOT NULL AND (NEW.worker_signed_at IS DISTINCT FROM
        OLD.worker_signed_at OR NEW.worker_signed_by_id IS DISTINCT FROM OLD.worker_signed_by_id))
     OR (OLD.court_signed_at IS NOT NULL AND (NEW.court_signed_at IS DISTINCT FROM
        OLD.court_signed_at OR NEW.court_signed_by_id IS DISTINCT FROM OLD.court_signed_by_id))
     OR (OLD.superseded_by IS NOT NULL AND NEW.superseded_by IS DISTINCT FROM OLD.superseded_by)
  THEN
    RAISE EXCEPTION 'a signature or a replacement of a record form cannot be undone';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER record_forms_signed_stay BEFORE UPDATE ON record_forms
  FOR EACH ROW EXECUTE FUNCTION record_forms_signed_stay();

CREATE FUNCTION fee_rules_never_rewritten() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.amount IS DISTINCT FROM OLD.amount OR NEW.matter_type IS DISTINCT FROM OLD.matter_type
     OR NEW.outcome_kind IS DISTINCT FROM OLD.outcome_kind
     OR NEW.valid_from IS DISTINCT FROM OLD.valid_from
     OR (OLD.valid_to IS NOT NULL AND NEW.valid_to IS DISTINCT FROM OLD.valid_to) THEN
    RAISE EXCEPTION 'a fee rule is never changed: end it and start a new one';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fee_rules_never_rewritten BEFORE UPDATE ON fee_rules
  FOR EACH ROW EXECUTE FUNCTION fee_rules_never_rewritten();
"""


def upgrade() -> None:
    bind = op.get_bind()
    OUTCOME_KIND.create(bind, checkfirst=True)
    STATEMENT_STATE.create(bind, checkfirst=True)
    op.create_table(
        "record_forms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("matter_id", sa.Uuid(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.Uuid(), sa.ForeignKey("outcomes.id", name="fk_record_forms_outcome_id_outcomes"), nullable=True),
        sa.Column("outcome_kind", OUTCOME_KIND, nullable=False),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("made_by_id", sa.Uuid(), nullable=True),
        sa.Column("made_by_name", sa.String(length=100), nullable=False),
        sa.Column("worker_signed_by_id", sa.Uuid(), nullable=True),
        sa.Column("worker_signed_name", sa.String(length=100), nullable=True),
        sa.Column("worker_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("court_signed_by_id", sa.Uuid(), nullable=True),
        sa.Column("court_signed_name", sa.String(length=100), nullable=True),
        sa.Column("court_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint("court_signed_at IS NULL OR worker_signed_at IS NOT NULL",
                           name=op.f("ck_record_forms_court_after_worker")),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], ondelete="RESTRICT",
                                name=op.f("fk_record_forms_matter_id_matters")),
        sa.ForeignKeyConstraint(["made_by_id"], ["accounts.id"],
                                name=op.f("fk_record_forms_made_by_id_accounts")),
        sa.ForeignKeyConstraint(["worker_signed_by_id"], ["accounts.id"],
                                name=op.f("fk_record_forms_worker_signed_by_id_accounts")),
        sa.ForeignKeyConstraint(["court_signed_by_id"], ["accounts.id"],
                                name=op.f("fk_record_forms_court_signed_by_id_accounts")),
        sa.ForeignKeyConstraint(["superseded_by"], ["record_forms.id"], deferrable=True,
                                initially="DEFERRED",
                                name=op.f("fk_record_forms_superseded_by_record_forms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_forms")),
    )
    op.create_index("uq_record_forms_current", "record_forms", ["matter_id"], unique=True,
                    postgresql_where=sa.text("superseded_by IS NULL"))
    op.create_index("uq_record_forms_version", "record_forms", ["matter_id", "version"],
                    unique=True)

    op.create_table(
        "fee_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("matter_type", MATTER_TYPE, nullable=False),
        sa.Column("outcome_kind", OUTCOME_KIND, nullable=False),
        sa.Column("amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from",
                           name=op.f("ck_fee_rules_valid_range")),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_fee_rules_amount_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_rules")),
    )
    op.create_index("uq_fee_rules_current", "fee_rules", ["matter_type", "outcome_kind"],
                    unique=True, postgresql_where=sa.text("valid_to IS NULL"))

    op.create_table(
        "fee_statements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("court_id", sa.Uuid(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("state", STATEMENT_STATE, nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("made_by_name", sa.String(length=100), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by_id", sa.Uuid(), nullable=True),
        sa.Column("paid_by_name", sa.String(length=100), nullable=True),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_fee_statements_period")),
        sa.ForeignKeyConstraint(["court_id"], ["courts.id"], ondelete="RESTRICT",
                                name=op.f("fk_fee_statements_court_id_courts")),
        sa.ForeignKeyConstraint(["paid_by_id"], ["accounts.id"],
                                name=op.f("fk_fee_statements_paid_by_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_statements")),
    )
    op.create_index(op.f("ix_fee_statements_court_id"), "fee_statements", ["court_id"])

    op.create_table(
        "ledger_lines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.Column("matter_id", sa.Uuid(), nullable=False),
        sa.Column("court_id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=True),
        sa.Column("worker_name", sa.String(length=100), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("case_number", sa.String(length=40), nullable=False),
        sa.Column("matter_type", MATTER_TYPE, nullable=False),
        sa.Column("outcome_kind", OUTCOME_KIND, nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("fee_rule_id", sa.Uuid(), nullable=True),
        sa.Column("amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("bounty", sa.Boolean(), nullable=False),
        sa.Column("bounty_reward", sa.Numeric(10, 2), nullable=True),
        sa.Column("statement_id", sa.Uuid(), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("bounty OR bounty_reward IS NULL",
                           name=op.f("ck_ledger_lines_reward_only_for_bounty")),
        sa.ForeignKeyConstraint(["form_id"], ["record_forms.id"], ondelete="RESTRICT",
                                name=op.f("fk_ledger_lines_form_id_record_forms")),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], ondelete="RESTRICT",
                                name=op.f("fk_ledger_lines_matter_id_matters")),
        sa.ForeignKeyConstraint(["court_id"], ["courts.id"],
                                name=op.f("fk_ledger_lines_court_id_courts")),
        sa.ForeignKeyConstraint(["worker_id"], ["accounts.id"],
                                name=op.f("fk_ledger_lines_worker_id_accounts")),
        sa.ForeignKeyConstraint(["fee_rule_id"], ["fee_rules.id"],
                                name=op.f("fk_ledger_lines_fee_rule_id_fee_rules")),
        sa.ForeignKeyConstraint(["statement_id"], ["fee_statements.id"],
                                name=op.f("fk_ledger_lines_statement_id_fee_statements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_lines")),
    )
    op.create_index("uq_ledger_lines_form", "ledger_lines", ["form_id"], unique=True)
    op.create_index("ix_ledger_lines_court_month", "ledger_lines", ["court_id", "month"])
    op.create_index("ix_ledger_lines_worker_month", "ledger_lines", ["worker_id", "month"])
    op.create_index(op.f("ix_ledger_lines_matter_id"), "ledger_lines", ["matter_id"])
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.drop_table("ledger_lines")
    op.drop_table("fee_statements")
    op.drop_table("fee_rules")
    op.drop_table("record_forms")
    op.execute("DROP FUNCTION record_forms_signed_stay(); DROP FUNCTION fee_rules_never_rewritten()")
    STATEMENT_STATE.drop(op.get_bind(), checkfirst=True)
    OUTCOME_KIND.drop(op.get_bind(), checkfirst=True)
