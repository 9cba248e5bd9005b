"""What the grid found or did (the outcome of a matter), per matter type, as data.

Each kind of matter of the source document ends in its own record: a service
ends in the signed 送达回证 (or a witnessed refusal, or the certificate that the
person cannot be found after a search); a search for the debtor in clues
(address, employer, phone); a search for property in a list of items; an
on-site investigation in the 被执行人财产现场调查表 signed or sealed by the
village officer (and the amount withdrawn, where the court holds a 协助执行通知书);
taking part in enforcement in the signed 执行笔录; mediation in a settlement or a
risk report; legal education in a date, a place and the people who came.

OUTCOME_FIELDS holds those questions per type, as models.matter_types holds the
request's; `check_outcome` is the one reader every way in (the page, the API,
tests) goes through. What it returns is stored as a new version in `outcomes`:
a correction is a new version, never an edit, so what was recorded first stays
readable. Evidence files (models.evidence) are named in the data by their ids,
under the field they prove.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import db, uuid_pk
from models.evidence import Evidence
from models.filing import FieldError
from models.grids import N_
from models.matter_types import Credential, MatterType
from models.matters import Matter, MatterState
from models.outcome_answers import Bad, blank, read_answer


@dataclass(frozen=True)
class OutcomeField:
    """One question of an outcome form.

    kind: line (one line of text), text (several lines), choice, date, yuan (an
    amount in yuan, two decimals), count (a whole number), flag, names (people's
    names; `count` of them exactly when set), point (lon/lat in WGS84), files
    (evidence ids), rows (a list of items, each with `columns`).
    `when` = (other field, values): the question applies only when the other field
    has one of those values (otherwise it is neither asked nor kept).
    `needs`: the question applies only when the court showed that credential.
    `prefill`: the request's answer of that name fills it in on a new form.
    """

    name: str
    label: str
    kind: str = "line"
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = True
    when: tuple[str, tuple[str, ...]] | None = None
    needs: Credential | None = None
    count: int | None = None
    columns: tuple[OutcomeField, ...] = ()
    prefill: str | None = None
    not_before: str | None = None  # a date field: not earlier than this other date field
    hint: str | None = None


F = OutcomeField
SERVED = ("direct", "lodged")

SERVICE_RESULTS = (
    ("direct", N_("Direct service")),
    ("lodged", N_("Lodged service (the person refused; two witnesses)")),
    ("not_served", N_("Could not be served")),
)
SIGNERS = (
    ("debtor", N_("The person served")),
    ("family", N_("An adult family member living with them")),
    ("colleague", N_("A colleague or the employer")),
    ("other", N_("Someone else")),
)
PROPERTY_KINDS = (
    ("house", N_("House")), ("vehicle", N_("Vehicle")), ("deposit", N_("Deposit")),
    ("land", N_("Land contract rights")), ("dividend", N_("Collective dividend")),
    ("livestock", N_("Livestock or fish farming")), ("other", N_("Other")),
)
PURPOSES = (
    ("mediation", N_("Settlement mediation")),
    ("risk", N_("Risk intelligence before on-site enforcement")),
)
MEDIATION_RESULTS = (("settled", N_("Settlement reached")),
                     ("not_settled", N_("No settlement")))
NOTE = F("note", N_("Notes"), kind="text", required=False)
PHOTOS = F("photos", N_("Photos"), kind="files", required=False)

OUTCOME_FIELDS: dict[MatterType, tuple[OutcomeField, ...]] = {
    MatterType.service: (
        F("method", N_("How it was served"), kind="choice", choices=SERVICE_RESULTS),
        F("served_on", N_("Date served"), kind="date", when=("method", SERVED)),
        F("served_at", N_("Place served"), when=("method", SERVED)),
        F("served_point", N_("Where it was served, on the map"), kind="point", required=False,
          when=("method", SERVED)),
        F("signed_by", N_("Who signed the service receipt"), kind="choice", choices=SIGNERS,
          when=("method", ("direct",))),
        F("signer_name", N_("Name of who signed"), when=("signed_by", ("family", "colleague",
                                                                         "other"))),
        F("relation", N_("Relation to the person served"), when=("signed_by", ("family",)),
          hint=N_("e.g. spouse, son, mother")),
        F("refusal", N_("The refusal, as it happened"), kind="text", when=("method", ("lodged",))),
        F("witnesses", N_("Witnesses"), kind="names", count=2, when=("method", ("lodged",))),
        F("receipt", N_("Photo or scan of the signed service receipt"), kind="files",
          when=("method", SERVED)),
        F("search", N_("Where the person was searched for"), kind="text",
          when=("method", ("not_served",))),
        F("missing_certificate", N_("Certificate that the person cannot be found"),
          kind="files", when=("method", ("not_served",))),
        NOTE,
    ),
    MatterType.locate_debtor: (
        F("address", N_("Address found"), required=False),
        F("point", N_("Where the address is"), kind="point", required=False),
        F("employer", N_("Employer"), required=False),
        F("phone", N_("Phone number"), required=False),
        F("last_seen_on", N_("Last seen on"), kind="date", required=False),
        F("last_seen_at", N_("Last seen at"), required=False),
        F("source", N_("Source of the clue"), hint=N_("e.g. neighbours, the village committee")),
        NOTE,
    ),
    MatterType.find_property: (
        F("items", N_("Property found"), kind="rows", columns=(
            F("kind", N_("Kind"), kind="choice", choices=PROPERTY_KINDS),
            F("description", N_("Description")),
            F("point", N_("Location"), kind="point", required=False),
            F("value", N_("Estimated value (yuan)"), kind="yuan", required=False),
        )),
        PHOTOS,
        NOTE,
    ),
    MatterType.investigation: (
        F("unit", N_("Unit investigated"), hint=N_("e.g. the village committee")),
        F("surveyed_on", N_("Date of the investigation"), kind="date"),
        F("income", N_("Income found (yuan)"), kind="yuan", required=False),
        F("income_source", N_("Source of the income"), required=False),
        F("dividends", N_("Dividends found (yuan)"), kind="yuan", required=False),
        F("period_from", N_("Period from"), kind="date", required=False),
        F("period_to", N_("Period to"), kind="date", required=False, not_before="period_from"),
        F("other_property", N_("Other property found"), kind="text", required=False),
        F("officer", N_("Officer who signed the form")),
        F("officer_title", N_("Officer's post"), required=False),
        F("sealed", N_("Sealed with the unit's seal"), kind="flag", required=False),
        F("survey_form", N_("Scan of the signed investigation form"), kind="files"),
        F("withdrawn", N_("Amount withdrawn under the notice of assistance (yuan)"),
          kind="yuan", required=False, needs=Credential.assistance_notice),
        NOTE,
    ),
    MatterType.witness: (
        F("held_on", N_("Date of enforcement"), kind="date", prefill="scheduled_on"),
        F("place", N_("Place"), required=False, prefill="place"),
        F("participants", N_("Participants from the grid"), kind="names"),
        F("record", N_("Scan of the signed enforcement record"), kind="files"),
        NOTE,
    ),
    MatterType.other: (
        F("purpose", N_("Purpose"), kind="choice", choices=PURPOSES, prefill="purpose"),
        F("reported_on", N_("Date"), kind="date"),
        F("mediation", N_("Result of the mediation"), kind="choice", choices=MEDIATION_RESULTS,
          when=("purpose", ("mediation",))),
        F("terms", N_("Terms of the settlement, in a line"), when=("mediation", ("settled",))),
        F("state_of_mind", N_("The debtor's state of mind"), kind="text",
          when=("purpose", ("risk",))),
        F("risks", N_("Risks of on-site enforcement"), kind="text", when=("purpose", ("risk",))),
        NOTE,
    ),
    MatterType.legal_education: (
        F("held_on", N_("Date"), kind="date", prefill="scheduled_on"),
        F("place", N_("Place")),
        F("topic", N_("Topic"), required=False, prefill="topic"),
        F("attendance", N_("Attendance (people)"), kind="count"),
        F("photos", N_("Photos"), kind="files"),
        NOTE,
    ),
}
del F

# At least one of these must be answered (a search for the debtor that found nothing
# is a failed matter, not an outcome).
AT_LEAST_ONE: dict[MatterType, tuple[str, ...]] = {
    MatterType.locate_debtor: ("address", "employer", "phone", "last_seen_at"),
}
# A matter in these states may get its outcome (and then becomes done: the step
# "finish" of models.workflow); a done matter may have it corrected (a new version)
# until the court confirms it. Who: the step's own rule — the grid worker it was
# dispatched to, or the grid's liaison (who dispatches it to themselves to do it).
RECORDING_STATES = (MatterState.dispatched,)
CORRECTING_STATES = (MatterState.done,)
MAX_ROWS = 50


class OutcomeError(ValueError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


def may_record(session: Session, matter: Matter, actor) -> bool:
    """The actor may record (or correct) this matter's outcome now."""
    from models import workflow

    return (matter.state in RECORDING_STATES + CORRECTING_STATES
            and workflow.may_take(session, matter, actor, "finish"))


def fields_of(matter_type: MatterType | str) -> tuple[OutcomeField, ...]:
    return OUTCOME_FIELDS[MatterType(matter_type)]


def applies(spec: OutcomeField, answers: Mapping, credentials: Iterable[str] = ()) -> bool:
    """Is this question asked, given the other answers and the court's credentials?"""
    if spec.needs is not None and spec.needs.value not in set(credentials or ()):
        return False
    if spec.when is None:
        return True
    other, values = spec.when
    return answers.get(other) in values


def _read(specs, raw: Mapping, kind_of, credentials, prefix: str, errors: list) -> dict:
    answers: dict = {}
    for spec in specs:
        value = raw.get(spec.name)
        if spec.kind == "files" and blank(value):
            value = [i for i, kind in kind_of.items() if kind == spec.name] or None
        if not applies(spec, {**raw, **answers}, credentials):
            if spec.needs is not None and not blank(value):
                errors.append(FieldError(prefix + spec.name, N_(
                    "the court has shown no %(credential)s: this cannot be recorded"),
                    {"credential": spec.needs.value}))
            continue
        if spec.kind == "flag" and blank(value):
            answers[spec.name] = False
            continue
        if spec.kind == "rows":
            answers[spec.name] = _rows(spec, value, kind_of, credentials, prefix, errors)
            continue
        if blank(value) or (spec.kind in ("line", "text") and not str(value).strip()):
            if spec.required:
                errors.append(FieldError(prefix + spec.name, N_("%(label)s is required"),
                                         {"label": spec.label}))
            continue
        try:
            answers[spec.name] = read_answer(spec, value, kind_of)
        except Bad as e:
            errors.append(FieldError(prefix + spec.name, e.template,
                                     {"value": _shown(value), "label": spec.label, **e.params}))
    for spec in specs:
        if spec.not_before and spec.name in answers and spec.not_before in answers \
                and answers[spec.name] < answers[spec.not_before]:
            errors.append(FieldError(prefix + spec.name, N_("%(value)s is before %(other)s"),
                                     {"value": answers[spec.name],
                                      "other": answers[spec.not_before]}))
    return answers


def _rows(spec, value, kind_of, credentials, prefix, errors) -> list[dict]:
    rows = [r for r in (value if isinstance(value, list) else []) if isinstance(r, Mapping)
            and not all(blank(v) for v in r.values())]
    if not rows and spec.required:
        errors.append(FieldError(prefix + spec.name, N_("give at least one item"), {}))
    if len(rows) > MAX_ROWS:
        errors.append(FieldError(prefix + spec.name, N_("at most %(n)d items"),
                                 {"n": MAX_ROWS}))
        rows = rows[:MAX_ROWS]
    return [_read(spec.columns, row, kind_of, credentials, f"{prefix}{spec.name}.{i}.", errors)
            for i, row in enumerate(rows)]


def _shown(value) -> str:
    if isinstance(value, Mapping):
        return ", ".join(str(v) for v in value.values())
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def check_outcome(matter: Matter, raw: Mapping,
                  evidence: Iterable[Evidence] = ()) -> tuple[dict, list[FieldError]]:
    """The outcome of this matter as given (a dict of answers by field name; rows as
    lists of dicts; points as {lon, lat}; files as evidence ids), cleaned, and every
    problem tied to its field. Files of the matter not named in `raw` go under the
    field they were uploaded for."""
    kind_of = {str(e.id): e.kind for e in evidence}
    errors: list[FieldError] = []
    specs = fields_of(matter.matter_type)
    answers = _read(specs, raw, kind_of, matter.credentials or [], "", errors)
    group = AT_LEAST_ONE.get(matter.matter_type)
    if group and not any(name in answers for name in group):
        labels = {s.name: s.label for s in specs}
        errors.append(FieldError(group[0], N_("give at least one clue: %(fields)s"),
                                 {"fields": ", ".join(labels[n] for n in group)}))
    return answers, errors


def prefilled(matter: Matter) -> dict:
    """A new form's answers taken from the request (the date planned, the purpose)."""
    return {spec.name: matter.request[spec.prefill]
            for spec in fields_of(matter.matter_type)
            if spec.prefill and not blank((matter.request or {}).get(spec.prefill))}


def evidence_ids(matter_type: MatterType, data: Mapping) -> list[str]:
    """The ids of the files an outcome's data names, in the order of its fields."""
    ids = []
    for spec in fields_of(matter_type):
        if spec.kind == "files":
            ids += [i for i in data.get(spec.name) or [] if i not in ids]
    return ids


def points(matter_type: MatterType, data: Mapping) -> list[tuple[str, dict, dict]]:
    """(field, point, the row it belongs to or {}) for every point of an outcome."""
    found = []
    for spec in fields_of(matter_type):
        if spec.kind == "point" and data.get(spec.name):
            found.append((spec.name, data[spec.name], {}))
        if spec.kind == "rows":
            for row in data.get(spec.name) or []:
                for column in spec.columns:
                    if column.kind == "point" and row.get(column.name):
                        found.append((column.name, row[column.name], row))
    return found


# --- the record ------------------------------------------------------------------------------

class Outcome(db.Model):
    """One version of a matter's outcome. Rows are only ever added: the app's
    database role may not change or delete them (migration 0009)."""

    __tablename__ = "outcomes"
    __table_args__ = (
        UniqueConstraint("matter_id", "version", name="uq_outcomes_matter_version"),
        Index("ix_outcomes_county_matter", "county_code", "matter_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    matter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"))
    county_code: Mapped[str] = mapped_column(String(6))  # the matter's
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSONB)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    recorded_by_name: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())

    def __str__(self) -> str:
        return f"v{self.version}"


def latest(session: Session, matter_id) -> Outcome | None:
    return session.scalar(select(Outcome).where(Outcome.matter_id == matter_id)
                          .order_by(Outcome.version.desc()).limit(1))


def versions(session: Session, matter_id) -> list[Outcome]:
    return list(session.scalars(select(Outcome).where(Outcome.matter_id == matter_id)
                                .order_by(Outcome.version.desc())))


def record_outcome(session: Session, matter: Matter, actor, data: Mapping,
                   evidence_ids: Iterable) -> Outcome:
    """Save the outcome as the matter's next version, naming its evidence files, and
    move the matter to done (a correction of a done matter only adds the version).
    `actor` is the account recording it. Raises OutcomeError with every problem."""
    if matter.state not in RECORDING_STATES + CORRECTING_STATES:
        raise OutcomeError([FieldError("", N_("a matter that is %(state)s takes no outcome"),
                                       {"state": matter.state.value})])
    wanted = {uuid.UUID(str(i)) for i in evidence_ids}
    files = list(session.scalars(select(Evidence).where(
        Evidence.id.in_(wanted), Evidence.matter_id == matter.id))) if wanted else []
    errors = []
    if len(files) != len(wanted):
        errors.append(FieldError("", N_("a file given is not one of this matter's files"), {}))
    answers, problems = check_outcome(matter, data, files)
    if errors or problems:
        raise OutcomeError(errors + problems)
    if matter.state in RECORDING_STATES:
        matter = _finish(session, matter, actor)
    previous = session.scalar(select(func.max(Outcome.version))
                              .where(Outcome.matter_id == matter.id)) or 0
    outcome = Outcome(matter_id=matter.id, county_code=matter.county_code,
                      version=previous + 1, data=answers,
                      recorded_by_id=getattr(actor, "id", None),
                      recorded_by_name=_name(actor))
    session.add(outcome)
    session.flush()
    # The record form (执行联动事项记录表) is made with it, for both sides to sign.
    from models.record_forms import make_form

    make_form(session, matter, answers, outcome_id=outcome.id, actor=actor)
    return outcome


def _name(actor) -> str:
    return (getattr(actor, "display_name", None) or getattr(actor, "username", None)
            or getattr(actor, "name", None) or "system")[:100]


def _finish(session: Session, matter: Matter, actor) -> Matter:
    """The step to done, as models.workflow takes every step: the row locked, who and
    from where checked, the history, the audit record, the new version."""
    from models import workflow

    try:
        locked = workflow.begin(session, matter.id, actor)
        workflow.step(session, locked, actor, "finish", MatterState.done)
    except workflow.StepError as refused:
        raise OutcomeError([FieldError("", refused.template, refused.params)]) from None
    return locked
