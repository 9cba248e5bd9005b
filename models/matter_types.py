"""The seven kinds of court matter (联动事项) of the source document, as data.

Each kind says what the court must ask for (its request fields), which
credentials the court must show before grid workers help (the document's
"经人民法院出示……"), and how many days the grid has by default. The filing
form, the spreadsheet import, the API and the reports all read these tables,
so a change here changes them all.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from models.grids import N_


class MatterType(enum.StrEnum):
    service = "service"  # 协助送达法律文书
    locate_debtor = "locate_debtor"  # 协助查找被执行人下落
    find_property = "find_property"  # 协助查找被执行人财产
    investigation = "investigation"  # 协助开展现场调查
    witness = "witness"  # 参与执行、见证执行
    other = "other"  # 协助开展其他执行工作（执行和解、风险研判）
    legal_education = "legal_education"  # 共同开展普法宣传活动


MATTER_TYPE_LABELS = {
    MatterType.service: N_("Serve legal documents"),
    MatterType.locate_debtor: N_("Find the debtor"),
    MatterType.find_property: N_("Find the debtor's property"),
    MatterType.investigation: N_("On-site investigation"),
    MatterType.witness: N_("Take part in or witness enforcement"),
    MatterType.other: N_("Other enforcement work"),
    MatterType.legal_education: N_("Legal education"),
}


class Credential(enum.StrEnum):
    summons = "summons"  # 传票
    warrant = "warrant"  # 拘传票
    detention = "detention"  # 拘留决定书
    enforcement_basis = "enforcement_basis"  # 执行依据
    assistance_notice = "assistance_notice"  # 协助执行通知书
    work_id = "work_id"  # 有效工作证件


CREDENTIAL_LABELS = {
    Credential.summons: N_("Summons"),
    Credential.warrant: N_("Warrant to appear"),
    Credential.detention: N_("Detention decision"),
    Credential.enforcement_basis: N_("Enforcement basis"),
    Credential.assistance_notice: N_("Notice of assistance in enforcement"),
    Credential.work_id: N_("Work ID"),
}


@dataclass(frozen=True)
class RequestField:
    """One type-specific question on the filing form. `choices` are (value, label);
    `multiple` allows several; kind is choice, text, date or flag."""

    name: str
    label: str
    kind: str = "choice"
    choices: tuple[tuple[str, str], ...] = ()
    multiple: bool = False
    required: bool = True


DOCUMENT_KINDS = (
    ("judgment", N_("Judgment")), ("ruling", N_("Ruling")), ("decision", N_("Decision")),
    ("order", N_("Order")), ("notice", N_("Notice")), ("announcement", N_("Announcement")),
    ("commission", N_("Letter of commission")), ("letter", N_("Letter")),
)
SERVICE_METHODS = (
    ("direct", N_("Direct service")), ("lodged", N_("Lodged service, with witnesses")),
    ("public_notice", N_("Service by public notice")),
    ("missing_certificate", N_("Certificate that the person cannot be found")),
)

REQUEST_FIELDS: dict[MatterType, tuple[RequestField, ...]] = {
    MatterType.service: (
        RequestField("document_kinds", N_("Documents to serve"), choices=DOCUMENT_KINDS,
                     multiple=True),
        RequestField("method", N_("Method of service"), choices=SERVICE_METHODS),
    ),
    MatterType.locate_debtor: (
        RequestField("clues_sought", N_("Clues sought"), multiple=True, choices=(
            ("address", N_("Address")), ("employer", N_("Employer")),
            ("phone", N_("Phone number")))),
    ),
    MatterType.find_property: (
        RequestField("property_kinds", N_("Property sought"), multiple=True, choices=(
            ("house", N_("Houses")), ("land", N_("Land contract rights")),
            ("vehicle", N_("Vehicles")), ("income", N_("Income and dividends")),
            ("other", N_("Other property")))),
    ),
    MatterType.investigation: (
        RequestField("subjects", N_("To investigate"), multiple=True, choices=(
            ("income", N_("Income")), ("dividends", N_("Dividends")),
            ("other", N_("Other property")))),
        RequestField("withdrawal", N_("Help withdraw what is found"), kind="flag",
                     required=False),
    ),
    MatterType.witness: (
        RequestField("participation", N_("Role of the grid"), choices=(
            ("take_part", N_("Take part in enforcement")),
            ("witness", N_("Witness enforcement")))),
        RequestField("scheduled_on", N_("Date of enforcement"), kind="date"),
        RequestField("place", N_("Place"), kind="text", required=False),
    ),
    MatterType.other: (
        RequestField("purpose", N_("Purpose"), choices=(
            ("mediation", N_("Settlement mediation")),
            ("risk", N_("Risk intelligence before on-site enforcement")))),
    ),
    MatterType.legal_education: (
        RequestField("direction", N_("Direction"), choices=(
            ("court_to_village", N_("Court brings legal education to the village")),
            ("village_asks_court", N_("Village asks the court for legal advice")))),
        RequestField("topic", N_("Topic"), kind="text"),
        RequestField("scheduled_on", N_("Date"), kind="date", required=False),
    ),
}

# Credentials the court must show: each inner set is one requirement, met by any
# one of its members (a summons, a warrant or a detention decision will do).
REQUIRED_CREDENTIALS: dict[MatterType, tuple[frozenset[Credential], ...]] = {
    MatterType.service: (),
    MatterType.locate_debtor: (
        frozenset({Credential.summons, Credential.warrant, Credential.detention}),
        frozenset({Credential.work_id}),
    ),
    MatterType.find_property: (
        frozenset({Credential.enforcement_basis}), frozenset({Credential.work_id}),
    ),
    MatterType.investigation: (frozenset({Credential.work_id}),),
    MatterType.witness: (frozenset({Credential.work_id}),),
    MatterType.other: (),
    MatterType.legal_education: (),
}

# Withdrawing income found on site needs the court's notice of assistance.
WITHDRAWAL_NEEDS = Credential.assistance_notice

# Days the grid has when the court sets no deadline.
DEFAULT_DEADLINE_DAYS: dict[MatterType, int] = {
    MatterType.service: 15, MatterType.locate_debtor: 15, MatterType.find_property: 30,
    MatterType.investigation: 15, MatterType.witness: 7, MatterType.other: 15,
    MatterType.legal_education: 30,
}
