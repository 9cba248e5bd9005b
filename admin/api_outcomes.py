"""A matter's outcome in the JSON API, and its evidence files behind the token.

    GET /api/v1/matters/<id>            gains "outcome" (admin.api_matters)
    GET /api/v1/evidence/<id>           one file, for a caller who may read its matter
    GET /api/v1/evidence/<id>/thumbnail its thumbnail (pictures)

The outcome's fields keep their stable English names (models.outcomes), choices
their codes, amounts in yuan as numbers, dates as YYYY-MM-DD.
"""

from __future__ import annotations

import uuid

from flask import abort, url_for
from sqlalchemy import select

from admin.api import api
from admin.auth import current_scope
from admin.outcome_files import send_evidence
from models import db
from models.evidence import Evidence
from models.matters import Matter
from models.outcomes import evidence_ids, latest


def evidence_json(evidence: Evidence) -> dict:
    point = evidence.point
    return {"id": str(evidence.id), "kind": evidence.kind, "format": evidence.format,
            "content_type": evidence.content_type, "size": evidence.size,
            "sha256": evidence.sha256,
            "taken_at": evidence.taken_at.isoformat() if evidence.taken_at else None,
            "gps": {"lon": point[0], "lat": point[1]} if point else None,
            "url": url_for("api.evidence_file", evidence_id=evidence.id, _external=True)}


def outcome_json(matter: Matter) -> dict | None:
    """The latest version of the matter's outcome, or None before one is recorded."""
    outcome = latest(db.session, matter.id)
    if outcome is None:
        return None
    ids = [uuid.UUID(i) for i in evidence_ids(matter.matter_type, outcome.data)]
    files = {e.id: e for e in db.session.scalars(select(Evidence).where(Evidence.id.in_(ids)))}
    return {"version": outcome.version, "recorded_by": outcome.recorded_by_name,
            "recorded_at": outcome.recorded_at.isoformat() if outcome.recorded_at else None,
            "fields": outcome.data,
            "evidence": [evidence_json(files[i]) for i in ids if i in files]}


def _evidence(evidence_id: str) -> Evidence:
    try:
        key = uuid.UUID(evidence_id)
    except ValueError:
        abort(404)
    found = db.session.scalar(select(Evidence).join(Matter, Matter.id == Evidence.matter_id)
                              .where(Evidence.id == key, current_scope().matters()))
    if found is None:
        abort(404)
    return found


@api.get("/evidence/<evidence_id>")
def evidence_file(evidence_id: str):
    return send_evidence(_evidence(evidence_id))


@api.get("/evidence/<evidence_id>/thumbnail")
def evidence_thumbnail(evidence_id: str):
    return send_evidence(_evidence(evidence_id), thumbnail=True)
