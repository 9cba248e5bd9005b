"""Court matters in the JSON API: a court system files a matter and reads where it went.

    POST /api/v1/matters             file one matter (court systems, with their token)
    GET  /api/v1/matters             the caller's matters, newest first (?state=, ?limit=);
                                     with ?changed_since=<ISO 8601> those changed since,
                                     oldest change first, paged (?after=<id> of the last)
    GET  /api/v1/matters/<id>        one of them, with its steps
    POST /api/v1/matters/<id>/steps  a court's step: cancel, chase, confirm, send_back

Filing takes the same checks as the form and the spreadsheet (models.filing) and
is idempotent on court + case number + type + debtor: the same filing sent twice
answers 200 with the matter filed the first time, not a second matter. Problems
answer 422 with every field and reason, nothing kept. Filing needs a token: the
admin's pages have their own form (with CSRF protection), and a token files only
for its own court. Reading is scoped like the pages: court staff see their
court's matters (with its tribunals'), a liaison or grid worker the matters of
their grid; anything else answers 404. ID numbers and phones are masked.

A step (models.workflow, as on the matter's page) carries the version the court
system last read; a lost race or a step the state does not allow answers 409 with
the reason, a step that is not the court's 403, a missing reason 422.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from flask import abort, g, jsonify, request
from flask_babel import gettext
from sqlalchemy import select

from admin.api import api
from admin.api_outcomes import outcome_json
from admin.auth import current_scope
from admin.errors import whole_number
from admin.views.deadline_marks import mark_json
from admin.views.formatters import mask_phone
from admin.views.matter_formatters import mask_id_number, say
from geo.assign import file_matter
from models import db, workflow
from models.filing import AddressInput, FieldError, FilingError, MatterInput
from models.matter_types import MATTER_TYPE_LABELS
from models.matters import Matter, MatterState

MAX_LIST = 500


def _grid_json(grid) -> dict | None:
    if grid is None:
        return None
    return {"code": grid.code, "name": grid.name, "level": grid.level.value,
            "path": [p.name for p in grid.path()]}


def _say(template: str | None, params: dict | None) -> str | None:
    if template is None:
        return None
    return gettext(template) % params if params else gettext(template)


def matter_json(matter: Matter, with_outcome: bool = False) -> dict:
    """One matter; its outcome (two more queries) only where one matter is asked for."""
    primary = matter.primary_assignment
    found = {
        "id": str(matter.id), "case_number": matter.case_number,
        "court": matter.court.name, "county_code": matter.county_code,
        "matter_type": matter.matter_type.value,
        "matter_type_label": gettext(MATTER_TYPE_LABELS[matter.matter_type]),
        "state": matter.state.value, "version": matter.version,
        "updated_at": matter.updated_at.isoformat() if matter.updated_at else None,
        "chases": matter.chases,
        "deadline": matter.deadline.isoformat() if matter.deadline else None,
        "urgency": matter.urgency.value, "bounty": matter.bounty,
        # Deadlines by the rules (fixed when assigned) and the one that counts now.
        "accept_due_at": matter.accept_due_at.isoformat() if matter.accept_due_at else None,
        "finish_due_at": matter.finish_due_at.isoformat() if matter.finish_due_at else None,
        "deadline_mark": mark_json(matter),
        "filed_at": matter.created_at.isoformat() if matter.created_at else None,
        "debtor": {"kind": matter.debtor.kind.value, "name": matter.debtor.name,
                   "id_number": mask_id_number(matter.debtor.id_number) or None,
                   "phones": [mask_phone(p) for p in matter.debtor.phones or ()]},
        "grid": _grid_json(primary.grid) if primary else None,
        "liaison": ({"name": primary.liaison.name, "phone": mask_phone(primary.liaison.phone)}
                    if primary and primary.liaison else None),
        "method": primary.method if primary else None,
        "confidence": primary.confidence if primary else None,
        "co_assisting": [_grid_json(a.grid) for a in matter.co_assignments],
        "waiting_because": _say(matter.queue_reason, matter.queue_params),
        "addresses": [{"kind": a.kind.value, "text": a.text, "status": a.status,
                       "method": a.method, "confidence": a.confidence,
                       "grid": _grid_json(a.grid), "candidates": a.candidates or [],
                       "reason": _say(a.reason, a.reason_params)}
                      for a in sorted(matter.addresses, key=lambda a: a.position)],
    }
    if with_outcome:
        found["outcome"] = outcome_json(matter)
    return found


class BadRequest(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message


def _text(body: dict, name: str, default: str | None = "") -> str | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, str):
        raise BadRequest(name, "must be a string")
    return value


def _number(value, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(name, "must be a number")
    return float(value)


def _input(body, court) -> MatterInput:
    """The JSON body as a MatterInput; only its shape is checked here, its content
    by models.filing like every other way of filing."""
    if not isinstance(body, dict):
        raise BadRequest("", "send a JSON object")
    debtor = body.get("debtor") or {}
    addresses = body.get("addresses") or []
    if not isinstance(debtor, dict):
        raise BadRequest("debtor", "must be an object")
    if not isinstance(addresses, list) or not all(isinstance(a, dict) for a in addresses):
        raise BadRequest("addresses", "must be a list of objects")
    deadline = _text(body, "deadline", None)
    try:
        deadline = date.fromisoformat(deadline) if deadline else None
    except ValueError:
        raise BadRequest("deadline", "must be a date (YYYY-MM-DD)") from None
    phones = debtor.get("phones") or []
    credentials = body.get("credentials") or []
    if not isinstance(phones, list) or not isinstance(credentials, list):
        raise BadRequest("debtor.phones" if not isinstance(phones, list) else "credentials",
                         "must be a list")
    request_fields = body.get("request") or {}
    if not isinstance(request_fields, dict):
        raise BadRequest("request", "must be an object")
    return MatterInput(
        court=court, officer_name=_text(body, "officer_name"),
        case_number=_text(body, "case_number"), matter_type=_text(body, "matter_type"),
        officer_phone=_text(body, "officer_phone", None),
        debtor_kind=_text(debtor, "kind", "person"), debtor_name=_text(debtor, "name"),
        debtor_id_number=_text(debtor, "id_number", None),
        debtor_phones=[str(p) for p in phones],
        addresses=[AddressInput(kind=_text(a, "kind", "other"), text=_text(a, "text", None),
                                lon=_number(a.get("lon"), f"addresses.{i}.lon"),
                                lat=_number(a.get("lat"), f"addresses.{i}.lat"))
                   for i, a in enumerate(addresses)],
        request=request_fields, credentials=[str(c) for c in credentials],
        deadline=deadline, urgency=_text(body, "urgency", "normal"),
        bounty=bool(body.get("bounty", False)), notes=_text(body, "notes", None))


def _problems(errors: list[FieldError]) -> list[dict]:
    return [{"field": e.field, "message": say(e), "template": e.template,
             "params": e.params} for e in errors]


@api.post("/matters")
def file():
    token = g.get("api_token")
    if token is None:
        return jsonify(error="filing through the API needs a court system's token; "
                             "people file on the admin's form"), 403
    try:
        data = _input(request.get_json(silent=True), token.court)
    except BadRequest as e:
        return jsonify(error="the request is not a matter",
                       problems=[{"field": e.field, "message": e.message}]), 400
    try:
        matter, created = file_matter(db.session, data)
    except FilingError as refused:
        db.session.rollback()
        return jsonify(error="the matter was not filed",
                       problems=_problems(refused.errors)), 422
    return jsonify(matter_json(matter) | {"created": created}), 201 if created else 200


def step_json(row: workflow.MatterStep) -> dict:
    return {"step": row.step, "label": gettext(row.label), "from": row.from_state.value,
            "to": row.to_state.value, "at": row.at.isoformat(), "actor": row.actor_name,
            "reason": row.reason_code,
            "reason_label": gettext(row.reason_label) if row.reason_code else None,
            "note": row.note}


def _changed_since(query):
    """?changed_since=<ISO 8601 with offset>[&after=<id>]: oldest change first, so a
    poller asks again from the last one it got (and the id, for changes at one moment)."""
    raw = request.args.get("changed_since", "")
    try:
        since = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        since = None
    if since is None or since.tzinfo is None:
        raise BadRequest("changed_since", "must be an ISO 8601 time with its offset, "
                                          "e.g. 2026-12-04T09:30:00+08:00")
    after = request.args.get("after")
    if after:
        try:
            after = uuid.UUID(after)
        except ValueError:
            raise BadRequest("after", "must be the id of a matter") from None
        query = query.where((Matter.updated_at > since)
                            | ((Matter.updated_at == since) & (Matter.id > after)))
    else:
        query = query.where(Matter.updated_at > since)
    return query.order_by(Matter.updated_at, Matter.id)


@api.get("/matters")
def matters():
    scope = current_scope()
    if not scope.may("matters"):
        abort(403)
    query = select(Matter).where(scope.matters())
    polling = "changed_since" in request.args
    if polling:
        try:
            query = _changed_since(query)
        except BadRequest as e:
            return jsonify(error=f"{e.field} {e.message}"), 400
    state = request.args.get("state")
    if state:
        if state not in MatterState.__members__:
            return jsonify(error=f"unknown state {state!r}: one of "
                                 f"{', '.join(MatterState.__members__)}"), 400
        query = query.where(Matter.state == MatterState(state))
    limit = whole_number("limit", 100, least=1, most=MAX_LIST, clamp=True)
    if not polling:
        query = query.order_by(Matter.created_at.desc())
    found = db.session.scalars(query.limit(limit)).all()
    answer = {"matters": [matter_json(m) for m in found]}
    if polling and len(found) == limit:
        answer["next"] = {"changed_since": found[-1].updated_at.isoformat(),
                          "after": str(found[-1].id)}
    return jsonify(answer)


@api.get("/matters/<matter_id>")
def matter(matter_id: str):
    try:
        key = uuid.UUID(matter_id)
    except ValueError:
        abort(404)
    found = db.session.scalar(select(Matter).where(Matter.id == key,
                                                   current_scope().matters()))
    if found is None:
        abort(404)
    steps = workflow.history(db.session, found.id)
    return jsonify(matter_json(found, with_outcome=True) | {"steps": [step_json(s) for s in steps]})


# The steps a court system takes through the API; the grid's steps are taken by people.
API_STEPS = ("cancel", "chase", "confirm", "send_back", "urgent")
REFUSAL_STATUS = {"missing": 404, "forbidden": 403, "illegal": 409, "stale": 409,
                  "invalid": 422}


@api.post("/matters/<matter_id>/steps")
def take_step(matter_id: str):
    token = g.get("api_token")
    if token is None:
        return jsonify(error="steps through the API need a court system's token; "
                             "people take them on the matter's page"), 403
    body = request.get_json(silent=True)
    try:
        key = uuid.UUID(matter_id)
        if not isinstance(body, dict):
            raise BadRequest("", "send a JSON object")
        name, version = body.get("step"), body.get("version")
        if name not in API_STEPS:
            raise BadRequest("step", f"must be one of {', '.join(API_STEPS)}")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise BadRequest("version", "must be a whole number")
        reason, note = _text(body, "reason", None), _text(body, "note", None)
    except ValueError as e:
        if isinstance(e, BadRequest):
            return jsonify(error=f"{e.field} {e.message}".strip()), 400
        abort(404)
    try:
        matter = workflow.begin(db.session, key, token, version=version)
        row = workflow.take_step(db.session, matter, token, name, reason=reason, note=note)
    except workflow.StepError as refused:
        db.session.rollback()
        return jsonify(error=say(refused), refused=refused.kind,
                       **_now(key)), REFUSAL_STATUS[refused.kind]
    db.session.commit()
    return jsonify(step=step_json(row), matter=matter_json(matter))


def _now(key) -> dict:
    """Where the matter stands now, for a refused step (when the caller sees it)."""
    found = db.session.scalar(select(Matter).where(Matter.id == key, current_scope().matters()))
    return {"state": found.state.value, "version": found.version} if found else {}
