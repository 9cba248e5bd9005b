"""Data and its rules: grids and their boundary versions, courts, the liaison roster,
accounts, the audit trail, court matters and their assignments."""

from models.accounts import ApiToken, LoginAttempt, Role, User
from models.addresses import AddressPoint
from models.areas import MatterArea
from models.assignments import DEFAULT_PRECEDENCE, Assignment, AssignmentRole, Precedence
from models.audit import AUDITED, AuditHead, AuditRecord
from models.base import Base, db
from models.courts import Court, CourtKind, court_grids
from models.deadlines import CalendarDay, DeadlineRule
from models.directory import Submission, SubmissionRow, SubmissionState
from models.escalation import PassCounts, run_pass  # its indexes on matters, too
from models.fees import FeeRule, LedgerLine, Statement, StatementState
from models.grids import Generation, Grid, GridCodeError, GridLevel
from models.jobs import JobRun, JobState
from models.map_counts import MapCount
from models.map_shapes import MapShape
from models.matter_types import Credential, MatterType
from models.matters import (
    AddressKind,
    Debtor,
    DebtorKind,
    Matter,
    MatterAddress,
    MatterState,
    TransitionError,
    Urgency,
)
from models.notifications import Notification
from models.outbox import Outbox
from models.outcomes import Evidence, Outcome
from models.places import GazetteerVersion, PlaceAlias
from models.record_forms import OutcomeKind, RecordForm
from models.requests import AdviceState, LegalAdviceRequest, RiskReport
from models.roster import Person, RosterEntry, RosterRole
from models.workflow import MatterStep, StepError

# Changes to these are written to the audit trail, under these names.
AUDITED.update({
    Grid: "grid", Generation: "generation", RosterEntry: "roster_entry", Person: "person",
    Court: "court", AddressPoint: "address_point", User: "account", ApiToken: "api_token",
    Submission: "directory_submission", SubmissionRow: "directory_row",
    Matter: "matter", Debtor: "debtor", MatterAddress: "matter_address",
    Assignment: "assignment", Precedence: "assignment_precedence", PlaceAlias: "place_alias",
    Outcome: "outcome", Evidence: "evidence",
    RiskReport: "risk_report", LegalAdviceRequest: "legal_advice_request",
    RecordForm: "record_form", FeeRule: "fee_rule", LedgerLine: "ledger_line",
    Statement: "fee_statement", DeadlineRule: "deadline_rule", CalendarDay: "calendar_day",
})

__all__ = [
    "DEFAULT_PRECEDENCE",
    "AddressKind",
    "AddressPoint",
    "AdviceState",
    "ApiToken",
    "Assignment",
    "AssignmentRole",
    "AuditHead",
    "AuditRecord",
    "Base",
    "CalendarDay",
    "Court",
    "CourtKind",
    "Credential",
    "DeadlineRule",
    "Debtor",
    "DebtorKind",
    "Evidence",
    "FeeRule",
    "GazetteerVersion",
    "Generation",
    "Grid",
    "GridCodeError",
    "GridLevel",
    "JobRun",
    "JobState",
    "LedgerLine",
    "LegalAdviceRequest",
    "LoginAttempt",
    "MapCount",
    "MapShape",
    "Matter",
    "MatterAddress",
    "MatterArea",
    "MatterState",
    "MatterStep",
    "MatterType",
    "Notification",
    "Outbox",
    "Outcome",
    "OutcomeKind",
    "PassCounts",
    "Person",
    "PlaceAlias",
    "Precedence",
    "RecordForm",
    "RiskReport",
    "Role",
    "RosterEntry",
    "RosterRole",
    "Statement",
    "StatementState",
    "StepError",
    "Submission",
    "SubmissionRow",
    "SubmissionState",
    "TransitionError",
    "Urgency",
    "User",
    "court_grids",
    "db",
    "run_pass",
]
