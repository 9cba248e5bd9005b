"""Data and its rules: grids and their boundary versions, courts, the liaison roster,
accounts and the audit trail."""

from models.accounts import ApiToken, LoginAttempt, Role, User
from models.addresses import AddressPoint
from models.audit import AUDITED, AuditHead, AuditRecord
from models.base import Base, db
from models.courts import Court, CourtKind, court_grids
from models.directory import Submission, SubmissionRow, SubmissionState
from models.grids import Generation, Grid, GridCodeError, GridLevel
from models.roster import Person, RosterEntry, RosterRole

# Changes to these are written to the audit trail, under these names.
AUDITED.update({
    Grid: "grid", Generation: "generation", RosterEntry: "roster_entry", Person: "person",
    Court: "court", AddressPoint: "address_point", User: "account", ApiToken: "api_token",
    Submission: "directory_submission", SubmissionRow: "directory_row",
})

__all__ = [
    "AddressPoint",
    "ApiToken",
    "AuditHead",
    "AuditRecord",
    "Base",
    "Court",
    "CourtKind",
    "Generation",
    "Grid",
    "GridCodeError",
    "GridLevel",
    "LoginAttempt",
    "Person",
    "Role",
    "RosterEntry",
    "RosterRole",
    "Submission",
    "SubmissionRow",
    "SubmissionState",
    "User",
    "court_grids",
    "db",
]
