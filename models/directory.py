"""Liaison list submissions (联络员名单报送): how the roster is kept up to date.

The source document (三、保障机制（一）) has the village grid heads' list collected
by the town, reported with the town's own list up to the political-legal
committee, which passes it on to the intermediate court. Here a *submission* is
one town's complete list — the town itself and each of its villages, with their
liaison and grid workers. The town centre drafts it (by hand or from the
standard Excel template), sends it when nothing is wrong with it, and the
committee compares it with the roster in force and approves it from a date, or
returns it with a comment. Approval ends the replaced roster entries on that
date and starts the new ones on it, so the roster keeps its history and the
courts only ever see approved entries; drafts never touch it.
"""

from __future__ import annotations

import enum
import re
import unicodedata
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    false,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship
from sqlalchemy.sql import ColumnElement

from models.access import Scope
from models.accounts import Role, User
from models.base import db, uuid_pk
from models.grids import N_, Grid, GridLevel
from models.roster import Person, RosterEntry, RosterRole


class SubmissionState(enum.StrEnum):
    draft = "draft"  # 草稿: the town is preparing it
    submitted = "submitted"  # 已报送: waiting for the committee
    approved = "approved"  # 已批准: in the roster from its effective date
    returned = "returned"  # 已退回: sent back with a comment, to be revised


@dataclass(frozen=True)
class Transition:
    source: SubmissionState
    target: SubmissionState
    roles: frozenset[Role]


S = SubmissionState
TOWN, REVIEWERS = frozenset({Role.town_centre}), frozenset({Role.committee, Role.admin})
# The life of a submission, once: each step, from which state to which, and who takes it.
TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(S.draft, S.submitted, TOWN),
    "approve": Transition(S.submitted, S.approved, REVIEWERS),
    "return": Transition(S.submitted, S.returned, REVIEWERS),
    "revise": Transition(S.returned, S.draft, TOWN),
}
# Rows are added, corrected and uploaded only in a draft, by the town's own centre.
EDITABLE, EDITORS = frozenset({S.draft}), TOWN
# Court staff read the outcome (approved lists), never a list under way.
APPROVED_ONLY = frozenset({Role.court_staff})

NAME_LENGTH = TITLE_LENGTH = 50  # as in people.name and roster_entries.title


class DirectoryError(ValueError):
    """A refused step, said precisely. `template` and `params` let the interface
    say it in the reader's language."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


class Submission(db.Model):
    __tablename__ = "directory_submissions"
    __table_args__ = (
        # One list under way per town: a second would be compared with a roster
        # that the first is about to change.
        Index("uq_directory_submissions_open_town", "town_id", unique=True,
              postgresql_where="state <> 'approved'"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    town_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grids.id", ondelete="RESTRICT"))
    state: Mapped[SubmissionState] = mapped_column(
        Enum(SubmissionState, name="directory_state",
             values_callable=lambda e: [m.value for m in e]), default=S.draft)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    review_comment: Mapped[str | None] = mapped_column(Text)
    effective_from: Mapped[date | None] = mapped_column(Date)
    # What approval changed in the roster (Change records), kept for the record.
    changes: Mapped[list | None] = mapped_column(JSONB)

    town: Mapped[Grid] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    rows: Mapped[list[SubmissionRow]] = relationship(
        back_populates="submission", cascade="all, delete-orphan",
        order_by="SubmissionRow.line")

    def __str__(self) -> str:
        return f"{self.town.name} {self.created_at:%Y-%m-%d}"

    @property
    def editable(self) -> bool:
        return self.state in EDITABLE

    def next_line(self) -> int:
        return max((r.line for r in self.rows), default=0) + 1


class SubmissionRow(db.Model):
    """One person in one grid, as the town gave it. Kept as given (an unknown code,
    a bad phone), so that nothing typed is lost; `problems` says what is wrong."""

    __tablename__ = "directory_rows"

    id: Mapped[uuid.UUID] = uuid_pk()
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("directory_submissions.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(Integer)  # the Excel row, or the order of entry
    code: Mapped[str | None] = mapped_column(String(30))
    role: Mapped[RosterRole | None] = mapped_column(
        Enum(RosterRole, name="roster_role", values_callable=lambda e: [m.value for m in e],
             create_type=False))
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(50))
    title: Mapped[str | None] = mapped_column(String(100))

    submission: Mapped[Submission] = relationship(back_populates="rows")


def visible(scope: Scope) -> ColumnElement[bool]:
    """The submissions a scope may see: those of the towns in its area (court staff:
    only approved ones). Out of scope is never loaded."""
    if not scope.may("directory"):
        return false()
    in_area = Submission.town_id.in_(select(Grid.id).where(scope.grids(Grid)))
    if scope.role in APPROVED_ONLY:
        return and_(in_area, Submission.state == S.approved)
    return in_area


# --- the rows' rules -------------------------------------------------------------------

# Mobile numbers have 11 digits and start with 1 (the demo's 100-0766-xxxx numbers
# too, on purpose); Yunfu landlines are 0766 and seven digits.
MOBILE = re.compile(r"1\d{10}")
LANDLINE = re.compile(r"0766-?(\d{7})")


def normalise_phone(text: str | None) -> str | None:
    """Full-width digits and spaces as people type them; landlines as 0766-xxxxxxx."""
    if text is None:
        return None
    compact = re.sub(r"\s", "", unicodedata.normalize("NFKC", str(text)))
    landline = LANDLINE.fullmatch(compact)
    if landline:
        return f"0766-{landline.group(1)}"
    return compact or None


@dataclass(frozen=True)
class Problem:
    template: str
    params: dict = field(default_factory=dict)
    row: uuid.UUID | None = None  # None: the list as a whole


def town_grids(session: Session, town: Grid) -> dict[str, Grid]:
    """The town and every current grid inside it, by code."""
    return {g.code: g for g in session.scalars(
        Grid.current().where(Grid.code.startswith(town.code[:9])).order_by(Grid.code))}


def _row_problems(row: SubmissionRow, town: Grid, grids: dict[str, Grid],
                  elsewhere: dict[str, Grid]) -> list[Problem]:
    found = []

    def say(template, **params):
        found.append(Problem(template, params, row.id))

    if not row.code:
        say(N_("the division code is missing"))
    elif row.code in elsewhere:
        say(N_("%(code)s is %(name)s, which is not in %(town)s"), code=row.code,
            name=elsewhere[row.code].name, town=town.name)
    elif row.code not in grids:
        say(N_("unknown division code %(code)s"), code=row.code)
    if row.role is None:
        say(N_("the role must be liaison or grid worker"))
    if not row.name:
        say(N_("the name is missing"))
    elif len(row.name) > NAME_LENGTH:
        say(N_("the name is longer than %(n)d characters"), n=NAME_LENGTH)
    if not row.phone:
        say(N_("the phone number is missing"))
    elif not (MOBILE.fullmatch(row.phone) or LANDLINE.fullmatch(row.phone)):
        say(N_("%(phone)s is neither an 11-digit mobile number nor a 0766-xxxxxxx landline"),
            phone=row.phone)
    if row.title and len(row.title) > TITLE_LENGTH:
        say(N_("the title is longer than %(n)d characters"), n=TITLE_LENGTH)
    return found


def _list_problems(rows: list[SubmissionRow], grids: dict[str, Grid]) -> list[Problem]:
    """Across rows: a person twice, two liaisons for one grid, a grid with none."""
    found = []
    same_person, liaisons = defaultdict(list), defaultdict(list)
    for row in rows:
        if row.code and row.name:
            same_person[(row.code, row.role, row.name)].append(row)
        if row.code in grids and row.role is RosterRole.liaison:
            liaisons[row.code].append(row)
    for group in same_person.values():
        lines = "、".join(str(r.line) for r in group)
        found += [Problem(N_("the same person is listed twice (rows %(lines)s)"),
                          {"lines": lines}, r.id) for r in group[1:]]
    for code, group in liaisons.items():
        lines = "、".join(str(r.line) for r in group)
        if len(group) > 1:
            found += [Problem(N_("%(grid)s has more than one liaison (rows %(lines)s)"),
                              {"grid": grids[code].name, "lines": lines}, r.id) for r in group]
    # The town and each village answer to the courts through their own liaison.
    for code, grid in grids.items():
        if grid.level in (GridLevel.town, GridLevel.village) and code not in liaisons:
            found.append(Problem(N_("%(grid)s has no liaison"), {"grid": grid.name}))
    return found


def check(session: Session, submission: Submission) -> list[Problem]:
    """Everything wrong with a list, row by row and as a whole (empty: it may be sent)."""
    grids = town_grids(session, submission.town)
    codes = {r.code for r in submission.rows if r.code and r.code not in grids}
    elsewhere = {g.code: g for g in session.scalars(Grid.current().where(Grid.code.in_(codes)))}
    found = []
    for row in submission.rows:
        found += _row_problems(row, submission.town, grids, elsewhere)
    return found + _list_problems(submission.rows, grids)


# --- the roster it replaces ------------------------------------------------------------

def standing_roster(session: Session, town: Grid) -> list[RosterEntry]:
    """The town's roster as approved so far: entries not closed (some may start later)."""
    return list(session.scalars(
        select(RosterEntry).join(Grid, RosterEntry.grid_id == Grid.id).join(RosterEntry.person)
        .where(RosterEntry.valid_to.is_(None), Grid.generation_high.is_(None),
               Grid.code.startswith(town.code[:9]))
        .options(joinedload(RosterEntry.grid), joinedload(RosterEntry.person))
        .order_by(Grid.code, RosterEntry.role, Person.name)))


def start_from_roster(session: Session, town: Grid, user: User) -> Submission:
    """A new draft holding the town's standing roster, to be corrected."""
    if user.role not in EDITORS:
        raise DirectoryError(N_("Only a town grid centre may start a list for its town."))
    if session.scalar(select(Submission.id).where(Submission.town_id == town.id,
                                                  Submission.state != S.approved)):
        raise DirectoryError(N_("%(town)s already has a list under way: carry on with it."),
                             town=town.name)
    submission = Submission(town=town, state=S.draft, created_by_id=user.id)
    for line, entry in enumerate(standing_roster(session, town), start=1):
        submission.rows.append(SubmissionRow(
            line=line, code=entry.grid.code, role=entry.role, name=entry.person.name,
            phone=entry.person.phone, title=entry.title))
    session.add(submission)
    session.flush()
    return submission


# --- what approval would change --------------------------------------------------------

@dataclass
class Change:
    """One difference between the standing roster and a list, per grid and role."""

    code: str
    grid: str
    role: str
    kind: str  # added, removed, changed
    before: dict | None = None  # name, phone, title
    after: dict | None = None
    fields: list[str] = field(default_factory=list)
    entry_id: str | None = None  # the standing entry that ends

    def as_dict(self) -> dict:
        return asdict(self)


def _held(entry: RosterEntry) -> dict:
    return {"name": entry.person.name, "phone": entry.person.phone, "title": entry.title or ""}


def _given(row: SubmissionRow) -> dict:
    return {"name": row.name, "phone": row.phone, "title": row.title or ""}


def _compare(grid: Grid, role: RosterRole, entries: list[RosterEntry],
             rows: list[SubmissionRow]) -> list[Change]:
    """People are matched by name within a grid and role; a grid has one liaison,
    so a new name in that post replaces the old one (a change, not two)."""
    def change(kind, entry=None, row=None):
        before, after = entry and _held(entry), row and _given(row)
        fields = [k for k in ("name", "phone", "title") if before and after
                  and before[k] != after[k]]
        return Change(grid.code, grid.name, role.value, kind, before, after, fields,
                      entry and str(entry.id))

    changes, left, unmatched = [], list(entries), []
    for row in rows:
        same = next((e for e in left if e.person.name == row.name), None)
        if same is None:
            unmatched.append(row)
            continue
        left.remove(same)
        if _held(same) != _given(row):
            changes.append(change("changed", same, row))
    while role is RosterRole.liaison and left and unmatched:
        changes.append(change("changed", left.pop(0), unmatched.pop(0)))
    return (changes + [change("removed", entry=e) for e in left]
            + [change("added", row=r) for r in unmatched])


def diff(session: Session, submission: Submission) -> list[Change]:
    """What approving the list would change, by grid code and role (rows that name
    no known grid of the town, or no role, are left out: they are problems)."""
    return _diff(town_grids(session, submission.town),
                 standing_roster(session, submission.town), submission.rows)


def _diff(grids: dict[str, Grid], entries: list[RosterEntry],
          rows: list[SubmissionRow]) -> list[Change]:
    held, given = defaultdict(list), defaultdict(list)
    for entry in entries:
        held[(entry.grid.code, entry.role)].append(entry)
    for row in rows:
        if row.code in grids and row.role is not None:
            given[(row.code, row.role)].append(row)
    changes = []
    for code, role in sorted(set(held) | set(given)):
        changes += _compare(grids[code], role, held[(code, role)], given[(code, role)])
    return changes


def _person(session: Session, grid_id: uuid.UUID, name: str, phone: str) -> Person:
    """The same person already on this grid's roster (same name and phone), or a new one.
    A new phone makes a new Person: the old entries keep the number they had."""
    known = session.scalar(
        select(Person).join(RosterEntry).where(RosterEntry.grid_id == grid_id,
                                               Person.name == name, Person.phone == phone)
        .limit(1))
    return known or Person(name=name, phone=phone)


def apply(session: Session, submission: Submission, on: date) -> list[Change]:
    """Make the list the roster from `on`: end what it replaces, start what it brings."""
    grids, entries = town_grids(session, submission.town), standing_roster(session, submission.town)
    changes = _diff(grids, entries, submission.rows)
    ending = {str(e.id): e for e in entries}
    for change in changes:
        entry = ending.get(change.entry_id)
        if entry is None:
            continue
        if on <= entry.valid_from:
            raise DirectoryError(
                N_("The effective date must come after %(date)s, when %(name)s started in "
                   "%(grid)s."), date=entry.valid_from.isoformat(), name=entry.person.name,
                grid=entry.grid.name)
        entry.valid_to = on
    session.flush()  # the old liaison ends before the new one starts (one per grid)
    for change in changes:
        if change.after is None:
            continue
        grid = grids[change.code]
        session.add(RosterEntry(
            person=_person(session, grid.id, change.after["name"], change.after["phone"]),
            grid_id=grid.id, role=RosterRole(change.role),
            title=change.after["title"] or None, valid_from=on))
    session.flush()
    return changes


# --- the steps -------------------------------------------------------------------------

def may_take(name: str, submission: Submission, role: Role | None) -> bool:
    """Whether this role may take this step now (to offer it; `take` decides)."""
    step = TRANSITIONS[name]
    return role in step.roles and submission.state is step.source


def take(session: Session, submission: Submission, name: str, user: User, *,
         comment: str | None = None, on: date | None = None) -> list[Change] | None:
    """Take a step of TRANSITIONS, or raise DirectoryError saying why not. The caller
    has locked the submission (SELECT … FOR UPDATE), so two clicks cannot both pass."""
    step = TRANSITIONS.get(name)
    if step is None:
        raise DirectoryError(N_("There is no step called %(action)s."), action=name)
    if user.role not in step.roles:
        raise DirectoryError(N_("Your role may not %(action)s a list."), action=name)
    if submission.state is not step.source:
        raise DirectoryError(
            N_("Cannot %(action)s: the list is %(state)s, and only a list that is "
               "%(allowed)s can be."), action=name, state=submission.state.value,
            allowed=step.source.value)
    problems = check(session, submission) if name in ("submit", "approve") else []
    if problems:
        raise DirectoryError(N_("Problems left in the list: %(n)d. Correct them first."),
                             n=len(problems))
    comment = (comment or "").strip() or None
    if name == "return" and comment is None:
        raise DirectoryError(N_("Say why the list is returned."))
    if name == "approve" and on is None:
        raise DirectoryError(N_("Give the date from which the list takes effect."))
    changes = apply(session, submission, on) if name == "approve" else None
    now = datetime.now(UTC)
    if name == "submit":
        submission.submitted_at = now
    elif name in ("approve", "return"):
        submission.reviewed_at, submission.reviewed_by_id = now, user.id
        submission.review_comment = comment
    if changes is not None:
        submission.effective_from, submission.changes = on, [c.as_dict() for c in changes]
    submission.state = step.target
    session.flush()
    return changes
