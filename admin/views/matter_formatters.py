"""How a court matter reads on the page: masked identifiers, translated labels,
grid paths and refusals in the reader's language."""

from __future__ import annotations

from datetime import datetime

from flask import g, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.views.formatters import local_time
from models.matter_types import CREDENTIAL_LABELS, MATTER_TYPE_LABELS, REQUEST_FIELDS
from models.matters import STATE_LABELS, DebtorKind, MatterState, Urgency

DEBTOR_KINDS = {DebtorKind.person: _l("Natural person"),
                DebtorKind.organisation: _l("Organisation")}
URGENCY_LABELS = {Urgency.normal: _l("Normal"), Urgency.urgent: _l("Urgent")}
# What the geocoder made of one address.
ADDRESS_STATUS = {"matched": _l("Located"), "ambiguous": _l("Ambiguous"),
                  "unmatched": _l("Not located")}
STATE_BADGES = {MatterState.review: "warning", MatterState.manual: "danger",
                MatterState.returned: "danger", MatterState.assigned: "primary",
                MatterState.accepted: "info", MatterState.escalated: "danger",
                MatterState.done: "success", MatterState.confirmed: "success",
                MatterState.paid: "success"}


def mask_id_number(value: str | None) -> str:
    """445302********123X: the issuing area and the last digits, not the birth date."""
    text = (value or "").strip()
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def label(labels: dict, value) -> str:
    """The translated label of an enum value (or its raw value when unknown); each
    translated once a request and language (a list page shows the same few labels on
    every row)."""
    if value is None:
        return ""
    if not has_request_context():
        return _label(labels, value)
    known = g.setdefault("gridlink_labels", {})
    key = (id(labels), value, str(get_locale()))  # force_locale: a PDF in Chinese
    if key not in known:
        known[key] = _label(labels, value)
    return known[key]


def _label(labels: dict, value) -> str:
    for key, text in labels.items():
        if key == value:
            return str(_(text))
    return str(value)


def grid_path(grid) -> str:
    """云城区 / 云城街道 / 星岩社区: the names from the county down."""
    return " / ".join(g.name for g in grid.path()) if grid is not None else ""


def candidate_path(candidate: dict) -> str:
    path = candidate.get("path") or []
    names = [p.get("name", "") if isinstance(p, dict) else str(p) for p in path]
    if not names or names[-1] != candidate.get("name"):
        names.append(candidate.get("name", ""))
    return " / ".join(n for n in names if n)


def request_lines(matter) -> list[tuple[str, str]]:
    """The type-specific request as (question, answer) pairs, translated."""
    lines = []
    for spec in REQUEST_FIELDS[matter.matter_type]:
        value = (matter.request or {}).get(spec.name)
        if value in (None, "", []):
            continue
        if spec.kind == "choice":
            choices = {v: text for v, text in spec.choices}
            values = value if isinstance(value, list) else [value]
            answer = "、".join(_(choices[v]) if v in choices else str(v) for v in values)
        elif spec.kind == "flag":
            answer = _("Yes") if value else _("No")
        else:
            answer = str(value)
        lines.append((_(spec.label), answer))
    return lines


def reason_text(template: str | None, params: dict | None = None) -> str:
    """A stored reason (an English template and its parameters) in the reader's language."""
    if not template:
        return ""
    text = _(template)
    try:
        return text % params if params else text
    except (KeyError, TypeError, ValueError):
        return template % params if params else template


def credential_labels(values) -> list[str]:
    return [label(CREDENTIAL_LABELS, v) for v in values or []]


def say(error) -> str:
    """A refusal (TransitionError, RoutingError, FieldError) in the reader's language,
    with states, credentials and kinds inside it translated too."""
    params = dict(getattr(error, "params", {}) or {})
    for key in ("state", "to"):
        if params.get(key) in MatterState.__members__:
            params[key] = label(STATE_LABELS, MatterState(params[key]))
    if "step" in params:  # a step's label (models.workflow.STEPS)
        params["step"] = _(params["step"])
    if isinstance(params.get("at"), datetime):
        params["at"] = local_time(params["at"])
    if "any_of" in params:
        params["any_of"] = " / ".join(label(CREDENTIAL_LABELS, v.strip())
                                      for v in str(params["any_of"]).split("/"))
    return _(error.template) % params if params else _(error.template)


# Column formatters of the matter list: (view, context, model, name) → text
def type_cell(view, context, model, name):
    return label(MATTER_TYPE_LABELS, model.matter_type)


def state_cell(view, context, model, name):
    return label(STATE_LABELS, model.state)


def urgency_cell(view, context, model, name):
    return label(URGENCY_LABELS, model.urgency)


def id_number_cell(view, context, model, name):
    return mask_id_number(model.debtor.id_number if model.debtor else None)


def primary_grid_cell(view, context, model, name):
    primary = model.primary_assignment
    return grid_path(primary.grid) if primary else ""


def liaison_cell(view, context, model, name):
    primary = model.primary_assignment
    return primary.liaison.name if primary and primary.liaison else ""


def bounty_cell(view, context, model, name):
    return _("Yes") if model.bounty else _("No")


def chases_cell(view, context, model, name):
    """How often the court chased (催办); nothing when it never did."""
    return model.chases or ""

