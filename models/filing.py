"""Filing a court matter: what a valid filing is, checked once for every way in.

The filing form, the spreadsheet import and the API all turn what they were
given into a `MatterInput` and call `check` (every problem, each tied to its
field) and `build_matter` (the unsaved Matter, or the matter already filed
with the same court, case number, type and debtor — so filing twice, or
re-uploading a spreadsheet, creates nothing new). Locating the grid is the
geocoder's business (geo.assign), not this module's.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.courts import Court
from models.grids import N_
from models.identity import (
    IdentifierError,
    check_case_number,
    check_credit_code,
    check_id_number,
    check_phone,
)
from models.matter_types import (
    DEFAULT_DEADLINE_DAYS,
    REQUEST_FIELDS,
    REQUIRED_CREDENTIALS,
    WITHDRAWAL_NEEDS,
    Credential,
    MatterType,
)
from models.matters import (
    AddressKind,
    Debtor,
    DebtorKind,
    Matter,
    MatterAddress,
    MatterState,
    Urgency,
)

# Mainland China, generously: a point outside this box is a typo or swapped lon/lat.
LON_RANGE, LAT_RANGE = (73.0, 136.0), (3.0, 54.0)


@dataclass
class AddressInput:
    kind: str
    text: str | None = None
    lon: float | None = None
    lat: float | None = None


@dataclass
class MatterInput:
    court: Court | None
    officer_name: str
    case_number: str
    matter_type: str
    debtor_kind: str
    debtor_name: str
    addresses: list[AddressInput]
    officer_phone: str | None = None
    request: dict = field(default_factory=dict)
    credentials: list[str] = field(default_factory=list)
    deadline: date | None = None
    urgency: str = Urgency.normal.value
    bounty: bool = False
    notes: str | None = None
    debtor_id_number: str | None = None
    debtor_phones: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FieldError:
    field: str
    template: str
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template % self.params


class FilingError(ValueError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


def split_phones(text: str | None) -> list[str]:
    """Phones as people type them in one cell: separated by commas, 、, ; or spaces."""
    return [p for p in re.split(r"[,，、;；/\s]+", text or "") if p]


def check(data: MatterInput) -> list[FieldError]:
    """Every problem with a filing, each naming its field."""
    errors: list[FieldError] = []
    if data.court is None:
        errors.append(FieldError("court", N_("choose the requesting court")))
    if not (data.officer_name or "").strip():
        errors.append(FieldError("officer_name", N_("the officer's name is required")))
    errors += _too_long("officer_name", data.officer_name, 50)
    if not (data.case_number or "").strip():
        errors.append(FieldError("case_number", N_("the case number is required")))
    else:
        errors += _identifier("case_number", check_case_number, data.case_number)
    if data.officer_phone:
        errors += _identifier("officer_phone", check_phone, data.officer_phone)
    if data.matter_type not in MatterType.__members__:
        errors.append(FieldError("matter_type", N_("unknown matter type %(value)s"),
                                 {"value": data.matter_type}))
    else:
        kind = MatterType(data.matter_type)
        errors += _request_errors(kind, data.request)
        errors += _credential_errors(kind, data.credentials, data.request)
    if data.urgency not in Urgency.__members__:
        errors.append(FieldError("urgency", N_("urgency must be normal or urgent")))
    if data.deadline is not None and data.deadline < date.today():
        errors.append(FieldError("deadline", N_("the deadline %(value)s has passed"),
                                 {"value": data.deadline.isoformat()}))
    errors += _debtor_errors(data)
    errors += _address_errors(data.addresses)
    return errors


def _too_long(name: str, value: str | None, limit: int) -> list[FieldError]:
    if len((value or "").strip()) > limit:
        return [FieldError(name, N_("at most %(n)d characters"), {"n": limit})]
    return []


def _identifier(name: str, checker, value) -> list[FieldError]:
    try:
        checker(value or "")
    except IdentifierError as error:
        return [FieldError(name, error.template, error.params)]
    return []


def _request_errors(kind: MatterType, request: dict) -> list[FieldError]:
    errors, known = [], {f.name for f in REQUEST_FIELDS[kind]}
    for name in sorted(set(request) - known):
        errors.append(FieldError(f"request.{name}", N_("%(name)s is not asked for this "
                                                       "matter type"), {"name": name}))
    for spec in REQUEST_FIELDS[kind]:
        value, where = request.get(spec.name), f"request.{spec.name}"
        if value in (None, "", [], False):
            if spec.required and spec.kind != "flag":
                errors.append(FieldError(where, N_("this matter type needs this field")))
            continue
        if spec.kind == "choice":
            values = value if spec.multiple else [value]
            allowed = {v for v, _ in spec.choices}
            if not isinstance(values, list) or any(v not in allowed for v in values):
                errors.append(FieldError(where, N_("%(value)s is not one of %(allowed)s"),
                                         {"value": value, "allowed": ", ".join(sorted(allowed))}))
        elif spec.kind == "date":
            try:
                date.fromisoformat(str(value))
            except ValueError:
                errors.append(FieldError(where, N_("%(value)s is not a date (YYYY-MM-DD)"),
                                         {"value": value}))
        elif spec.kind == "flag" and not isinstance(value, bool):
            errors.append(FieldError(where, N_("must be yes or no")))
    return errors


def _credential_errors(kind: MatterType, credentials: list[str], request: dict):
    errors = [FieldError("credentials", N_("unknown credential %(value)s"), {"value": c})
              for c in credentials if c not in Credential.__members__]
    shown = {Credential(c) for c in credentials if c in Credential.__members__}
    for needed in REQUIRED_CREDENTIALS[kind]:
        if not shown & needed:
            errors.append(FieldError("credentials", N_("this matter type needs the court to "
                                                       "show: %(any_of)s"),
                                     {"any_of": " / ".join(sorted(c.value for c in needed))}))
    if request.get("withdrawal") is True and WITHDRAWAL_NEEDS not in shown:
        errors.append(FieldError("credentials", N_("withdrawing income needs the notice of "
                                                   "assistance in enforcement")))
    return errors


def _debtor_errors(data: MatterInput) -> list[FieldError]:
    errors = []
    if not (data.debtor_name or "").strip():
        errors.append(FieldError("debtor_name", N_("the debtor's name is required")))
    errors += _too_long("debtor_name", data.debtor_name, 100)
    if data.debtor_kind not in DebtorKind.__members__:
        errors.append(FieldError("debtor_kind", N_("the debtor is a person or an organisation")))
    elif data.debtor_id_number:
        checker = (check_id_number if data.debtor_kind == DebtorKind.person
                   else check_credit_code)
        errors += _identifier("debtor_id_number", checker, data.debtor_id_number)
    for phone in data.debtor_phones:
        errors += _identifier("debtor_phones", check_phone, phone)
    return errors


def _address_errors(addresses: list[AddressInput]) -> list[FieldError]:
    errors = []
    given = [a for a in addresses if (a.text or "").strip() or a.lon is not None]
    if not given:
        errors.append(FieldError("addresses", N_("give at least one of the debtor's "
                                                 "addresses")))
    for i, address in enumerate(given):
        where = f"addresses.{i}"
        if address.kind not in AddressKind.__members__:
            errors.append(FieldError(where, N_("unknown kind of address %(value)s"),
                                     {"value": address.kind}))
        if len(address.text or "") > 300:
            errors.append(FieldError(where, N_("an address has at most 300 characters")))
        if (address.lon is None) != (address.lat is None):
            errors.append(FieldError(where, N_("a point needs both longitude and latitude")))
        elif address.lon is not None and not (LON_RANGE[0] <= address.lon <= LON_RANGE[1]
                                              and LAT_RANGE[0] <= address.lat <= LAT_RANGE[1]):
            errors.append(FieldError(where, N_("%(lon)s, %(lat)s is not in China (longitude "
                                               "first, then latitude)"),
                                     {"lon": address.lon, "lat": address.lat}))
    return errors


def debtor_key(data: MatterInput) -> str:
    number = (data.debtor_id_number or "").strip().upper()
    return number or f"name:{data.debtor_name.strip()}"


def find_existing(session: Session, data: MatterInput) -> Matter | None:
    return session.scalar(select(Matter).where(
        Matter.court_id == data.court.id,
        Matter.case_number == check_case_number(data.case_number),
        Matter.matter_type == MatterType(data.matter_type),
        Matter.debtor_key == debtor_key(data)))


@contextmanager
def prefetched(session: Session, inputs: list[MatterInput]):
    """Within this block build_matter asks the database nothing per row: the filings
    and debtors these (checked) inputs may repeat are read here, a thousand keys a
    query. For bulk intake; the answers hold only inside the caller's transaction."""
    keys, numbers = {}, {}
    for data in inputs:
        try:
            keys[_key(data)] = data
            if data.debtor_id_number:
                numbers[_number(data)] = data
        except IdentifierError:
            continue  # build_matter refuses it with the reason
    pending = session.info.setdefault("pending_matters", {})
    debtors = session.info.setdefault("pending_debtors", {})
    absent_keys, absent_numbers = set(keys), set(numbers)
    with session.no_autoflush:
        for chunk in _chunks(list(keys), 1000):
            for matter in session.scalars(select(Matter).where(
                    Matter.court_id.in_({k[0] for k in chunk}),
                    Matter.case_number.in_({k[1] for k in chunk}))):
                key = (matter.court_id, matter.case_number, matter.matter_type.value,
                       matter.debtor_key)
                if key in keys:
                    pending[key] = matter
                    absent_keys.discard(key)
        for chunk in _chunks(list(numbers), 1000):
            for debtor in session.scalars(select(Debtor).where(Debtor.id_number.in_(chunk))):
                debtors[debtor.id_number] = debtor
                absent_numbers.discard(debtor.id_number)
    session.info["absent_matters"], session.info["absent_debtors"] = absent_keys, absent_numbers
    try:
        yield
    finally:
        session.info.pop("absent_matters", None)
        session.info.pop("absent_debtors", None)


def _chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _key(data: MatterInput) -> tuple:
    return (data.court.id, check_case_number(data.case_number), data.matter_type,
            debtor_key(data))


def _number(data: MatterInput) -> str:
    return (check_id_number(data.debtor_id_number) if data.debtor_kind == "person"
            else check_credit_code(data.debtor_id_number))


def build_matter(session: Session, data: MatterInput, *, officer=None,
                 created_by=None) -> tuple[Matter, bool]:
    """The new, unsaved matter (state new until it is located), or the one
    already filed for the same court, case number, type and debtor, with False.
    Raises FilingError listing every problem."""
    errors = check(data)
    if errors:
        raise FilingError(errors)
    key = _key(data)
    pending = session.info.setdefault("pending_matters", {})
    with session.no_autoflush:
        existing = pending.get(key)
        if existing is None or existing not in session:
            absent = session.info.get("absent_matters")
            existing = None if absent and key in absent else find_existing(session, data)
        if existing is not None:
            return existing, False
        matter = Matter(
            county_code=data.court.county_code, court=data.court, officer=officer,
            officer_name=data.officer_name.strip(), officer_phone=data.officer_phone or None,
            case_number=check_case_number(data.case_number),
            matter_type=MatterType(data.matter_type), request=dict(data.request),
            credentials=sorted(set(data.credentials)),
            deadline=data.deadline or date.today() + timedelta(
                days=DEFAULT_DEADLINE_DAYS[MatterType(data.matter_type)]),
            urgency=Urgency(data.urgency), bounty=bool(data.bounty), notes=data.notes or None,
            debtor=_debtor(session, data), debtor_key=debtor_key(data),
            state=MatterState.new, created_by_id=getattr(created_by, "id", None),
        )
        for position, address in enumerate(
                a for a in data.addresses if (a.text or "").strip() or a.lon is not None):
            matter.addresses.append(_address(matter, position, address))
    session.add(matter)
    pending[key] = matter  # the same filing again in this batch finds it before a flush
    return matter, True


def _debtor(session: Session, data: MatterInput) -> Debtor:
    phones = [check_phone(p) for p in data.debtor_phones]
    number = None
    if data.debtor_id_number:
        number = _number(data)
        # A debtor filed earlier in the same batch is not in the database yet.
        pending = session.info.setdefault("pending_debtors", {})
        known = pending.get(number)
        if known is None or known not in session:
            absent = session.info.get("absent_debtors")
            known = None if absent and number in absent else session.scalar(
                select(Debtor).where(Debtor.id_number == number))
        if known is not None:
            known.phones = sorted(set(known.phones or []) | set(phones))
            return known
    debtor = Debtor(kind=DebtorKind(data.debtor_kind), name=data.debtor_name.strip(),
                    id_number=number, phones=phones)
    if number:
        session.info.setdefault("pending_debtors", {})[number] = debtor
    return debtor


def _address(matter: Matter, position: int, address: AddressInput) -> MatterAddress:
    geom = None
    if address.lon is not None:
        geom = f"SRID=4326;POINT({address.lon} {address.lat})"
    return MatterAddress(county_code=matter.county_code, position=position,
                         kind=AddressKind(address.kind),
                         text=(address.text or "").strip() or None, geom=geom)
